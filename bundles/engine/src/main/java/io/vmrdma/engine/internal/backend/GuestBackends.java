package io.vmrdma.engine.internal.backend;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenbusState;
import io.vmrdma.engine.internal.status.LogBudget;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every guest's vmrdma backend on this node: watches XenStore for frontends under
 * {@code /local/domain/<domid>/device/vmrdma/<devid>}, runs each device's handshake and gives each connected
 * device a turn per duty cycle. Confined to the data agent's thread; made when a hypervisor is bound and closed
 * (guests see their backend close) when it goes.
 */
public final class GuestBackends implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GuestBackends.class);
    private static final String WATCH_DOMAINS = "/local/domain";
    private static final String RELEASE = "@releaseDomain";
    private static final String TOKEN = "vmrdma-backend";

    private final VerbsEngine engine;
    private final XenStore xs;
    private final GrantMapper mapper;
    private final EventChannel evtchn;
    /** At most one warning a second: a guest can make the same failure happen on every turn. */
    private final LogBudget log = new LogBudget(LOG, "backend warnings", 1, TimeUnit.SECONDS.toNanos(1),
            System::nanoTime);
    private final Map<Long, GuestBackend> devices = new ConcurrentSkipListMap<>();

    /** Opens dom0's handles on {@code xen} and starts watching for frontends. */
    public GuestBackends(Hypervisor xen, VerbsEngine engine) throws XenException {
        this.engine = engine;
        this.xs = xen.openXenStore();
        this.mapper = xen.openGrantMapper();
        this.evtchn = xen.openEventChannel();
        xs.watch(WATCH_DOMAINS, TOKEN);
        xs.watch(RELEASE, TOKEN);
    }

    /** One duty cycle: XenStore changes, event-channel wake-ups, then a turn of every connected device. */
    public int doWork() {
        int work = 0;
        try {
            XenStore.WatchEvent event;
            while ((event = xs.readWatch(0)) != null) {
                changed(event.path());
                work++;
            }
            int port;
            while ((port = evtchn.waitPending(0)) > 0) {
                // The rings are served every cycle; the event only has to be re-armed.
                evtchn.unmask(port);
                work++;
            }
        } catch (XenException e) {
            log.warn("XenStore or event channel failed: {}", e.getMessage());
        }
        for (GuestBackend device : devices.values()) {
            work += device.turn();
        }
        return work;
    }

    /**
     * Sleeps up to {@code maxNanos} or until a guest notifies: the data agent's park when it has nothing to do, so
     * a guest's post wakes it instead of waiting out the park.
     */
    public void awaitEvent(long maxNanos) {
        try {
            int port = evtchn.waitPending(maxNanos);
            if (port > 0) {
                evtchn.unmask(port);
            }
        } catch (XenException e) {
            java.util.concurrent.locks.LockSupport.parkNanos(maxNanos);
        }
    }

    private void changed(String path) throws XenException {
        int domid = domidOf(path);
        if (domid < 0) {
            for (String child : list(WATCH_DOMAINS)) {
                rescan(parse(child));
            }
            for (GuestBackend device : List.copyOf(devices.values())) {
                rescan(device.domid());
            }
        } else {
            rescan(domid);
        }
    }

    /** Re-reads every vmrdma device of {@code domid}: new ones, known ones, vanished ones. */
    private void rescan(int domid) throws XenException {
        if (domid <= 0) {
            return;
        }
        List<Integer> devids = new ArrayList<>();
        for (String child : list("/local/domain/" + domid + "/device/" + GuestAbi.DEVICE_TYPE)) {
            int devid = parse(child);
            if (devid >= 0) {
                devids.add(devid);
            }
        }
        for (GuestBackend device : List.copyOf(devices.values())) {
            if (device.domid() == domid && !devids.contains(device.devid())) {
                evaluate(domid, device.devid());
            }
        }
        for (int devid : devids) {
            evaluate(domid, devid);
        }
    }

    private void evaluate(int domid, int devid) throws XenException {
        XenbusState fe = frontendState(domid, devid);
        long key = ((long) domid << 32) | devid;
        GuestBackend device = devices.get(key);
        if (device == null) {
            if (fe == XenbusState.UNKNOWN || fe.value() > XenbusState.CONNECTED.value()) {
                return;
            }
            // A frontend past Initialising that names a backend already was connected before this one started.
            boolean stale = fe.value() >= XenbusState.INITIALISED.value()
                    && exists(GuestAbi.frontendPath(domid, devid) + "/" + GuestAbi.KEY_BACKEND);
            device = new GuestBackend(domid, devid, engine, xs, mapper, evtchn, log);
            devices.put(key, device);
            device.probe(stale);
            LOG.info("dom {} device {}: vmrdma frontend found", domid, devid);
        }
        if (!device.frontendChanged(fe)) {
            devices.remove(key);
            LOG.info("dom {} device {}: vmrdma device gone", domid, devid);
        }
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
        try {
            xs.read(XenStore.NO_TRANSACTION, path);
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
                + (d.connected() ? " connected" : d.disabled() ? " disabled" : " not connected")
                + ", requests " + d.served() + ", bad " + d.badRequests() + ", unexpected " + d.unexpected()));
        return out;
    }

    /** Requests of {@code domid}'s device the engine threw on unexpectedly (refused as EINVAL); 0 when healthy. */
    public long unexpected(int domid) {
        return devices.values().stream().filter(d -> d.domid() == domid).mapToLong(GuestBackend::unexpected).sum();
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
        for (AutoCloseable c : new AutoCloseable[] {evtchn, mapper, xs}) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing a Xen handle: {}", e.getMessage());
            }
        }
    }
}
