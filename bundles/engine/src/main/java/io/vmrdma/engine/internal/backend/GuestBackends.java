package io.vmrdma.engine.internal.backend;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenStorePermission;
import io.vmrdma.api.xen.XenbusState;
import io.vmrdma.engine.internal.Doorbell;
import io.vmrdma.engine.internal.status.LogBudget;
import io.vmrdma.engine.internal.verbs.DomainArrival;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import org.agrona.collections.IntHashSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every guest's vmrdma backend on this node: offers each domain a {@code device/vmrdma} directory it owns (a real
 * toolstack makes {@code device/} read-only for the guest and knows no vmrdma device type), watches XenStore for
 * frontends under {@code /local/domain/<domid>/device/vmrdma/<devid>}, runs each device's handshake and gives each
 * connected device a turn per duty cycle. Confined to the data agent's thread; made when a hypervisor is bound and closed
 * (guests see their backend close) when it goes.
 */
public final class GuestBackends implements Doorbell, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GuestBackends.class);
    private static final String WATCH_DOMAINS = "/local/domain";
    private static final String RELEASE = "@releaseDomain";
    private static final String TOKEN = "vmrdma-backend";
    /** Watch events read per duty cycle; the rest wait in the store's queue for the next cycle. */
    static final int WATCH_EVENTS_PER_CYCLE = 256;

    private final VerbsEngine engine;
    private final XenStore xs;
    private final GrantMapper mapper;
    private final EventChannel evtchn;
    /** At most one warning a second: a guest can make the same failure happen on every turn. */
    private final LogBudget log = new LogBudget(LOG, "backend warnings", 1, TimeUnit.SECONDS.toNanos(1),
            System::nanoTime);
    private final Map<Long, GuestBackend> devices = new ConcurrentSkipListMap<>();
    /** The devices in turn order, remade when one comes or goes: the duty cycle walks it without an iterator. */
    private GuestBackend[] turnOrder = new GuestBackend[0];
    private final GrantBudget grants;
    private final ArrivingDevices arrivals;
    /** Domains named by this cycle's watch events, each rescanned once. */
    private final IntHashSet changedDomains = new IntHashSet();
    /** Whether a guest served in the last cycle that served any sleeps on its event channel (none polls). */
    private boolean servedGuestsSleep;
    private volatile long watchEvents;
    /** Frontend directories ignored for their name: not a device number, or past the domain's first few. */
    private volatile long ignoredDevices;
    /** {@link GuestBackend#processesGone} of the devices already forgotten. */
    private volatile long processesGone;
    private volatile long internalErrors;

    /** Opens dom0's handles on {@code xen} and starts watching for frontends. */
    public GuestBackends(Hypervisor xen, VerbsEngine engine) throws XenException {
        this.engine = engine;
        this.xs = xen.openXenStore();
        this.mapper = xen.openGrantMapper();
        this.evtchn = xen.openEventChannel();
        this.grants = new GrantBudget(engine);
        this.arrivals = new ArrivingDevices(mapper, grants, domid -> exists("/local/domain/" + domid));
        xs.watch(WATCH_DOMAINS, TOKEN);
        xs.watch(RELEASE, TOKEN);
    }

    /**
     * One duty cycle: XenStore changes, then a turn of every connected device. Each part is bounded, so guests that
     * write XenStore without pause cost the cycle a fixed amount, not all of it. Event channels are not looked at:
     * the rings are served every cycle anyway, and a notification that arrives meanwhile stays pending on its port
     * (every port is unmasked again as soon as it is taken) and ends the next {@link #await} at once.
     */
    public int doWork() {
        int work = 0;
        try {
            work += readWatches();
        } catch (XenException e) {
            log.warn("XenStore failed: {}", e.getMessage());
        }
        boolean served = false;
        boolean asleep = false;
        for (GuestBackend device : turnOrder) {
            try {
                int done = device.turn();
                if (done > 0) {
                    served = true;
                    asleep |= device.guestSleeps();
                }
                work += done;
            } catch (RuntimeException e) {
                // A gap in the engine's checks that one guest's requests reached: that device goes, the cycle and the
                // other guests go on.
                internalErrors++;
                device.fail("internal error, device disconnected: " + e);
            }
        }
        if (served) {
            servedGuestsSleep = asleep;
        }
        return work;
    }

    /**
     * Reads at most {@link #WATCH_EVENTS_PER_CYCLE} watch events and re-reads each domain they name once: a guest
     * writing its XenStore in a loop makes one rescan of its own devices per cycle, however many events it causes.
     */
    private int readWatches() throws XenException {
        int events = 0;
        boolean everything = false;
        XenStore.WatchEvent event;
        while (events < WATCH_EVENTS_PER_CYCLE && (event = xs.readWatch(0)) != null) {
            events++;
            int domid = domidOf(event.path());
            if (domid < 0) {
                everything = true;
            } else if (domid > 0) {
                changedDomains.add(domid);
            }
        }
        if (everything) {
            for (String child : list(WATCH_DOMAINS)) {
                changedDomains.add(parse(child));
            }
            for (GuestBackend device : devices.values()) {
                changedDomains.add(device.domid());
            }
        }
        if (!changedDomains.isEmpty()) {
            for (IntHashSet.IntIterator it = changedDomains.iterator(); it.hasNext();) {
                rescan(it.nextValue());
            }
            changedDomains.clear();
        }
        // Counted once their changes are applied: a reader that sees the count knows the rescans are done.
        watchEvents += events;
        return events;
    }

    /**
     * Where the engine gets a domain migrating here from (the engine's {@code MigrationManager.arrival}): its regions'
     * memory through the grants the hypervisor copied with it, and its devices, which wait for their frontends.
     */
    public DomainArrival arrivals() {
        return arrivals;
    }

    @Override
    public boolean hasDevices() {
        return !devices.isEmpty();
    }

    /**
     * Arms every connected device's command ring before the data agent sleeps; stops at the first that has a request
     * waiting. Allocates nothing: the agent arms on every idle cycle.
     */
    @Override
    public boolean arm() {
        for (GuestBackend device : turnOrder) {
            if (!device.armRequests()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Sleeps up to {@code maxNanos} or until a guest notifies: the data agent's wait when it has nothing to do, so
     * a guest's post wakes it instead of waiting out a park. The port that fired is unmasked at once.
     */
    @Override
    public boolean await(long maxNanos) {
        try {
            int port = evtchn.waitPending(maxNanos);
            if (port > 0) {
                evtchn.unmask(port);
                return true;
            }
            return false;
        } catch (XenException e) {
            LockSupport.parkNanos(maxNanos);
            return false;
        }
    }

    @Override
    public int pollFd() {
        return evtchn.pollFd();
    }

    /**
     * A descriptor that is readable while a XenStore watch event waits (a guest's new device, a domain gone), for the
     * agent to sleep on when no device is connected; -1 when the hypervisor gives none.
     */
    public int watchFd() {
        return xs.watchFd();
    }

    @Override
    public boolean guestsSleep() {
        return servedGuestsSleep;
    }

    /** Requests served to the devices there are now (a device that goes takes its count), on the agent's thread. */
    public long requestsServed() {
        long served = 0;
        for (GuestBackend device : turnOrder) {
            served += device.served();
        }
        return served;
    }

    /**
     * Re-reads the vmrdma devices of {@code domid}: new ones, known ones, vanished ones. Only the first
     * {@link VerbsEngine#maxDevices()} + 1 device numbers a domain lists (each 0..{@link GuestAbi#MAX_DEVICE_NUMBER})
     * are looked at, so a guest that makes many device directories costs no more than its limit allows; the one past
     * the limit is looked at so that its frontend hears the refusal (EDQUOT), and the others are counted
     * ({@link #ignoredDevices()}) on every rescan that skips them.
     */
    private void rescan(int domid) throws XenException {
        if (domid <= 0) {
            return;
        }
        if (!exists("/local/domain/" + domid)) {
            arrivals.forget(domid);
        }
        offerDevices(domid);
        List<String> children = list(GuestAbi.devicesPath(domid));
        // The devices served stay whatever the listing's order; new ones fill the rest of the bound.
        List<Integer> devids = new ArrayList<>();
        for (String child : children) {
            int devid = parse(child);
            if (devid >= 0 && devid <= GuestAbi.MAX_DEVICE_NUMBER && devices.containsKey(key(domid, devid))) {
                devids.add(devid);
            }
        }
        int looked = Math.max(devids.size(), engine.maxDevices() + 1);
        for (String child : children) {
            int devid = parse(child);
            if (devid < 0 || devid > GuestAbi.MAX_DEVICE_NUMBER) {
                ignoredDevices++;
            } else if (!devids.contains(devid)) {
                if (devids.size() < looked) {
                    devids.add(devid);
                } else {
                    ignoredDevices++;
                }
            }
        }
        for (GuestBackend device : List.copyOf(devices.values())) {
            if (device.domid() == domid && !devids.contains(device.devid())) {
                devices.remove(key(domid, device.devid()));
                turnOrder = devices.values().toArray(GuestBackend[]::new);
                device.gone();
                processesGone += device.processesGone();
                LOG.info("dom {} device {}: vmrdma device gone", domid, device.devid());
            }
        }
        for (int devid : devids) {
            evaluate(domid, devid);
        }
    }

    /**
     * Creates {@code /local/domain/<domid>/device/vmrdma}, owned by the guest, once the toolstack has made the
     * domain's {@code device/} directory: the guest then creates its devices under it. In one transaction with the
     * check that the domain's home still exists, so a domain the toolstack is removing is not given a new tree.
     */
    private void offerDevices(int domid) throws XenException {
        String devices = GuestAbi.devicesPath(domid);
        if (exists(devices)) {
            return;
        }
        for (int attempt = 0; attempt < 3; attempt++) {
            int tx = xs.transactionStart();
            if (!exists(tx, "/local/domain/" + domid + "/device")) {
                xs.transactionEnd(tx, true);
                return;
            }
            try {
                xs.mkdir(tx, devices);
                xs.setPermissions(tx, devices, List.of(new XenStorePermission(domid, XenStorePermission.Access.NONE)));
            } catch (XenException e) {
                xs.transactionEnd(tx, true);
                throw e;
            }
            if (xs.transactionEnd(tx, false)) {
                LOG.info("dom {}: offered {}", domid, devices);
                return;
            }
        }
    }

    /** A device the domain lists: a new backend for a frontend that starts, or the known one told its state. */
    private void evaluate(int domid, int devid) throws XenException {
        XenbusState fe = frontendState(domid, devid);
        GuestBackend device = devices.get(key(domid, devid));
        if (device == null) {
            if (fe == XenbusState.UNKNOWN || fe.value() > XenbusState.CONNECTED.value()) {
                return;
            }
            // A frontend past Initialising that names a backend already was connected before this one started.
            boolean stale = fe.value() >= XenbusState.INITIALISED.value()
                    && exists(GuestAbi.frontendPath(domid, devid) + "/" + GuestAbi.KEY_BACKEND);
            device = new GuestBackend(domid, devid, engine, xs, mapper, evtchn, log, grants, arrivals);
            devices.put(key(domid, devid), device);
            turnOrder = devices.values().toArray(GuestBackend[]::new);
            device.probe(stale);
            LOG.info("dom {} device {}: vmrdma frontend found", domid, devid);
        }
        device.frontendChanged(fe);
    }

    static long key(int domid, int devid) {
        return ((long) domid << 32) | devid;
    }

    private XenbusState frontendState(int domid, int devid) {
        try {
            return XenbusState.parse(new String(xs.read(XenStore.NO_TRANSACTION,
                    GuestAbi.frontendPath(domid, devid) + "/" + GuestAbi.KEY_STATE), UTF_8));
        } catch (XenException e) {
            return XenbusState.UNKNOWN;
        }
    }

    private boolean exists(String path) {
        return exists(XenStore.NO_TRANSACTION, path);
    }

    private boolean exists(int tx, String path) {
        try {
            xs.read(tx, path);
            return true;
        } catch (XenException e) {
            return false;
        }
    }

    private List<String> list(String path) {
        try {
            return xs.directory(XenStore.NO_TRANSACTION, path);
        } catch (XenException e) {
            return List.of();
        }
    }

    /** The domid a watch path under {@code /local/domain/<domid>} names, or -1 for anything else. */
    static int domidOf(String path) {
        String prefix = WATCH_DOMAINS + "/";
        if (!path.startsWith(prefix)) {
            return -1;
        }
        int end = path.indexOf('/', prefix.length());
        return parse(end < 0 ? path.substring(prefix.length()) : path.substring(prefix.length(), end));
    }

    private static int parse(String text) {
        try {
            int v = Integer.parseInt(text);
            return v >= 0 ? v : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The devices, for the console and tests. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        devices.values().forEach(d -> out.add("dom " + d.domid() + " device " + d.devid()
                + (d.processId() > 0 ? " process " + d.processId() : "")
                + (d.connected() ? " connected" : d.disabled() ? " disabled" : " not connected")
                + ", requests " + d.served() + ", bad " + d.badRequests() + ", unexpected " + d.unexpected()));
        return out;
    }

    /** Frontend directories skipped for their name (not a device number, or past the domain's first 16). */
    public long ignoredDevices() {
        return ignoredDevices;
    }

    /** Watch events read since the backends started. */
    public long watchEvents() {
        return watchEvents;
    }

    /** Device turns the engine threw on (each disconnected that device); 0 when healthy. */
    public long internalErrors() {
        return internalErrors;
    }

    /** Grant pages dom0 holds mapped for every guest together. */
    public long grantPagesMapped() {
        return grants.mapped();
    }

    /** Requests of {@code domid}'s device the engine threw on unexpectedly (refused as EINVAL); 0 when healthy. */
    public long unexpected(int domid) {
        return devices.values().stream().filter(d -> d.domid() == domid).mapToLong(GuestBackend::unexpected).sum();
    }

    /** How many devices of {@code domid} are connected: one per guest process using vmrdma. */
    public int connectedDevices(int domid) {
        return (int) devices.values().stream().filter(d -> d.domid() == domid && d.connected()).count();
    }

    /** Devices whose process was found gone (it died without closing them), since the backends started. */
    public long processesGone() {
        return processesGone + devices.values().stream().mapToLong(GuestBackend::processesGone).sum();
    }

    /** Whether the device of {@code domid} is connected. */
    public boolean connected(int domid) {
        return devices.values().stream().anyMatch(d -> d.domid() == domid && d.connected());
    }

    /** Whether the device of {@code domid} was disabled for breaking the ring protocol. */
    public boolean disabled(int domid) {
        return devices.values().stream().anyMatch(d -> d.domid() == domid && d.disabled());
    }

    /** Closes every device (guests see Closed and may re-attach to a new backend) and dom0's handles. */
    @Override
    public void close() {
        for (GuestBackend device : devices.values()) {
            device.shutdown();
        }
        devices.clear();
        turnOrder = new GuestBackend[0];
        for (AutoCloseable c : new AutoCloseable[] {evtchn, mapper, xs}) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing a Xen handle: {}", e.getMessage());
            }
        }
    }
}
