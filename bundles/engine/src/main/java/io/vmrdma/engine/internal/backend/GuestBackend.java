package io.vmrdma.engine.internal.backend;

import static io.vmrdma.api.guest.GuestAbi.*;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import io.vmrdma.api.guest.SharedRing;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantMapper;
import io.vmrdma.api.xen.GrantMapping;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenStorePermission;
import io.vmrdma.api.xen.XenbusState;
import io.vmrdma.engine.internal.status.LogBudget;
import io.vmrdma.engine.internal.verbs.EventSource;
import io.vmrdma.engine.internal.verbs.VerbsEngine;

/**
 * The backend of one guest's vmrdma device: its half of the xenbus handshake, the command and event rings mapped
 * at connect, the event channel, and the duty-cycle turn that serves the rings. A guest that breaks the ring
 * protocol is disconnected and its device left Closed until its frontend goes away.
 */
final class GuestBackend {

    /** Requests served per turn, so one guest's flood cannot hold the data agent. */
    static final int BATCH = 64;
    /**
     * Turns between looks at whether the frontend's process still holds its event channel: about a second while
     * the data agent idles (it waits up to 1 ms a turn), far less when busy.
     */
    static final int LIVENESS_TURNS = 1024;

    private final int domid;
    private final int devid;
    private final String frontend;
    private final String backend;
    private final VerbsEngine engine;
    private final XenStore xs;
    private final GrantMapper mapper;
    private final EventChannel evtchn;
    private final LogBudget log;
    private final GrantBudget grants;
    private final ArrivingDevices arrivals;
    private final ByteBuffer request = ByteBuffer.allocate(ENTRY_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
    private final WorkCompletion wc = new WorkCompletion();
    private final CmEvent cm = new CmEvent();
    private XenbusState state = XenbusState.UNKNOWN;
    private boolean disabled;
    private boolean stale;
    private String staleTransport = "";
    /** Ring pages reserved in the node's grant budget while the rings are mapped. */
    private int ringPages;
    private GrantMapping commandPages;
    private GrantMapping eventPages;
    private SharedRing commands;
    private SharedRing events;
    private GuestCommands verbs;
    private long process = -1;
    /** Turns since the backend last looked whether the frontend still holds its end of the event channel. */
    private int turnsSinceLivenessCheck;
    /** The last liveness look found the frontend's end of the event channel unbound. */
    private boolean peerClosedSeen;
    private long processesGone;
    private int port = -1;
    private int reqCons;
    private int rspProdPvt;
    private int evtProdPvt;
    private long served;
    /** The guest asked to be notified of the last responses or events it got: it sleeps on its event channel. */
    private boolean guestSleeps;
    /** The domain's {@link EventSource#eventsAdded} when its queues were last drained into the event ring. */
    private long eventsSeen = -1;
    /** The last drain filled every credit the frontend gave: more may be waiting. */
    private boolean deliveryCutShort;

    GuestBackend(int domid, int devid, VerbsEngine engine, XenStore xs, GrantMapper mapper, EventChannel evtchn,
                 LogBudget log, GrantBudget grants, ArrivingDevices arrivals) {
        this.grants = grants;
        this.arrivals = arrivals;
        this.domid = domid;
        this.devid = devid;
        this.frontend = frontendPath(domid, devid);
        this.backend = backendPath(domid, devid);
        this.engine = engine;
        this.xs = xs;
        this.mapper = mapper;
        this.evtchn = evtchn;
        this.log = log;
    }

    int domid() {
        return domid;
    }

    int devid() {
        return devid;
    }

    int port() {
        return port;
    }

    boolean connected() {
        return state == XenbusState.CONNECTED;
    }

    boolean disabled() {
        return disabled;
    }

    long served() {
        return served;
    }

    /** Whether the guest waited on its event channel for what it was given last, rather than polling its rings. */
    boolean guestSleeps() {
        return guestSleeps;
    }

    long badRequests() {
        return verbs == null ? 0 : verbs.badRequests();
    }

    long unexpected() {
        return verbs == null ? 0 : verbs.unexpected();
    }

    /**
     * Creates the backend directory (the guest may read it) and parks in InitWait, as a probed backend does.
     *
     * @param stale the frontend was connected to an earlier backend (dom0's vmrdma restarted): its rings belong
     *              to a connection that is gone, so this backend waits for it to start over from Initialising
     */
    void probe(boolean stale) throws XenException {
        this.stale = stale;
        this.staleTransport = stale ? transport() : "";
        int tx;
        do {
            tx = xs.transactionStart();
            // Permissions first: the keys below inherit them, so the guest can read every one.
            xs.mkdir(tx, backend);
            xs.setPermissions(tx, backend, List.of(new XenStorePermission(0, XenStorePermission.Access.NONE),
                    new XenStorePermission(domid, XenStorePermission.Access.READ)));
            xs.write(tx, backend + "/" + KEY_FRONTEND, frontend.getBytes(UTF_8));
            xs.write(tx, backend + "/" + KEY_FRONTEND_ID, Integer.toString(domid).getBytes(UTF_8));
            xs.write(tx, backend + "/" + KEY_ONLINE, "1".getBytes(UTF_8));
            xs.write(tx, backend + "/" + KEY_NODE_ID, Integer.toString(engine.nodeId()).getBytes(UTF_8));
            xs.write(tx, backend + "/" + KEY_PROTOCOL_VERSION, Integer.toString(PROTOCOL_VERSION).getBytes(UTF_8));
            xs.write(tx, backend + "/" + KEY_MAX_RING_PAGE_ORDER,
                    Integer.toString(MAX_RING_PAGE_ORDER).getBytes(UTF_8));
            xs.write(tx, backend + "/" + KEY_FEATURES, FEATURES.getBytes(UTF_8));
            xs.rm(tx, backend + "/" + KEY_ERROR);
            xs.write(tx, frontend + "/" + KEY_BACKEND, backend.getBytes(UTF_8));
            xs.write(tx, frontend + "/" + KEY_BACKEND_ID, "0".getBytes(UTF_8));
        } while (!xs.transactionEnd(tx, false));
        switchState(XenbusState.INIT_WAIT);
    }

    /**
     * Reacts to the frontend's state, re-read by the caller while the frontend's directory exists. A disabled
     * backend stays Closed whatever the frontend writes, until its directory goes ({@link #gone}).
     */
    void frontendChanged(XenbusState fe) {
        if (disabled) {
            return;
        }
        switch (fe) {
            case INITIALISED, CONNECTED -> {
                // Only from InitWait: a failed connect waits in Closing for the frontend to start over.
                // A stale frontend has started over once it publishes other rings (watches may coalesce, so its
                // pass through Initialising can go unseen).
                if (stale && !transport().equals(staleTransport)) {
                    stale = false;
                }
                if (!disabled && state == XenbusState.INIT_WAIT && !stale) {
                    connect();
                }
            }
            case CLOSING -> {
                disconnect();
                switchState(XenbusState.CLOSING);
            }
            case CLOSED -> {
                disconnect();
                switchState(XenbusState.CLOSED);
            }
            case INITIALISING, INIT_WAIT -> {
                stale = false;
                if (!disabled && state != XenbusState.INIT_WAIT) {
                    // The frontend starts over (a re-attach, or a guest that restarted its driver): whatever it
                    // had is gone; offer the device again.
                    disconnect();
                    switchState(XenbusState.INIT_WAIT);
                }
            }
            default -> breakDown("frontend state " + fe + ": not one a vmrdma frontend goes through");
        }
    }

    /** The frontend's directory is gone (device removed, or domain dead): release everything, remove the backend's. */
    void gone() {
        disconnect();
        remove();
    }

    private void connect() {
        try {
            String version = read(frontend + "/" + KEY_PROTOCOL_VERSION);
            if (!Integer.toString(PROTOCOL_VERSION).equals(version)) {
                fail("protocol-version " + version + " not supported; this backend speaks " + PROTOCOL_VERSION);
                return;
            }
            int order = Integer.parseInt(read(frontend + "/" + KEY_RING_PAGE_ORDER));
            if (order < 0 || order > MAX_RING_PAGE_ORDER) {
                fail("ring-page-order " + order + " out of range 0.." + MAX_RING_PAGE_ORDER);
                return;
            }
            int[] cmdRefs = refs(KEY_RING_REF, 1 << order);
            int[] evtRefs = refs(KEY_EVENT_RING_REF, 1 << order);
            int remotePort = Integer.parseInt(read(frontend + "/" + KEY_EVENT_CHANNEL));
            String name = domainName();
            grants.reserveNode(domid, 2 << order);
            ringPages = 2 << order;
            commandPages = mapper.mapDomainGrantRefs(domid, cmdRefs, true);
            eventPages = mapper.mapDomainGrantRefs(domid, evtRefs, true);
            commands = new SharedRing(commandPages.buffer(), ENTRY_LENGTH);
            events = new SharedRing(eventPages.buffer(), ENTRY_LENGTH);
            // Attach as ring.h's BACK_RING_ATTACH: the private indices start from what the frontend published.
            reqCons = commands.get(SharedRing.RSP_PROD);
            rspProdPvt = reqCons;
            evtProdPvt = events.get(SharedRing.RSP_PROD);
            process = process();
            // A device that migrated here goes on with its objects; any other starts empty.
            GuestCommands arrived = arrivals.take(domid, devid);
            verbs = arrived != null ? arrived
                    : new GuestCommands(domid, engine.openDevice(domid, devid, name, process), mapper, grants);
            port = evtchn.bindInterdomain(domid, remotePort);
            peerClosedSeen = false;
            switchState(XenbusState.CONNECTED);
        } catch (XenException | VerbsException | NumberFormatException e) {
            fail("cannot connect: " + e.getMessage());
        }
    }

    /** The frontend's first command-ring ref and its port: what changes when it sets up a new connection. */
    private String transport() {
        try {
            return read(frontend + "/" + KEY_RING_REF + "0") + "/" + read(frontend + "/" + KEY_EVENT_CHANNEL);
        } catch (XenException e) {
            return "";
        }
    }

    private int[] refs(String prefix, int count) throws XenException {
        int[] refs = new int[count];
        for (int i = 0; i < count; i++) {
            refs[i] = Integer.parseInt(read(frontend + "/" + prefix + i));
        }
        return refs;
    }

    /** The process id the frontend says it runs in, for operators; -1 when it says none or nothing sensible. */
    private long process() {
        try {
            long pid = Long.parseLong(read(frontend + "/" + KEY_PROCESS));
            return pid >= 1 && pid <= MAX_PROCESS_ID ? pid : -1;
        } catch (XenException | NumberFormatException e) {
            return -1;
        }
    }

    /** The guest process this device serves, as its frontend tells it, or -1. */
    long processId() {
        return process;
    }

    private String domainName() {
        try {
            return read("/local/domain/" + domid + "/name");
        } catch (XenException e) {
            return "dom" + domid;
        }
    }

    /**
     * One turn: serve up to {@link #BATCH} requests, move completions and connection events into the event ring
     * while it has room, and notify the guest once if either ring asks for it.
     *
     * @return the amount of work done
     */
    int turn() {
        if (state != XenbusState.CONNECTED) {
            return 0;
        }
        if (++turnsSinceLivenessCheck >= LIVENESS_TURNS) {
            turnsSinceLivenessCheck = 0;
            if (processLooksGone()) {
                processGone();
                return 1;
            }
        }
        int size = commands.size();
        int reqProd = commands.get(SharedRing.REQ_PROD);
        if (Integer.compareUnsigned(reqProd - rspProdPvt, size) > 0) {
            breakDown("request producer " + Integer.toUnsignedString(reqProd) + " is more than " + size
                    + " ahead of the responses at " + Integer.toUnsignedString(rspProdPvt));
            return 1;
        }
        int work = 0;
        ByteBuffer ring = commands.area();
        while (reqCons != reqProd && work < BATCH) {
            // One copy out of shared memory; everything after reads the copy.
            int from = commands.offset(reqCons);
            for (int i = 0; i < ENTRY_LENGTH; i += 8) {
                request.putLong(i, ring.getLong(from + i));
            }
            reqCons++;
            int to = commands.offset(rspProdPvt);
            for (int i = 0; i < ENTRY_LENGTH; i += 8) {
                ring.putLong(to + i, 0);
            }
            verbs.execute(request, ring, to);
            rspProdPvt++;
            work++;
        }
        boolean notify = false;
        if (work > 0) {
            served += work;
            notify = commands.push(SharedRing.RSP_PROD, SharedRing.RSP_EVENT, rspProdPvt);
        }
        if (state != XenbusState.CONNECTED) {
            return work;
        }
        int produced = 0;
        // The engine's domains count what they add to their queues.
        long added = ((EventSource) verbs.context()).eventsAdded();
        if (added != eventsSeen || deliveryCutShort) {
            // Only when the domain has new completions or connection events, or some did not fit last time: with
            // many guests, most have nothing new on most turns.
            eventsSeen = added;
            produced = deliverEvents();
            if (produced < 0) {
                return work + 1;
            }
        }
        if (produced > 0) {
            notify |= events.push(SharedRing.RSP_PROD, SharedRing.RSP_EVENT, evtProdPvt);
        }
        if (work + produced > 0) {
            guestSleeps = notify;
        }
        if (notify) {
            try {
                evtchn.notify(port);
            } catch (XenException e) {
                log.warn("dom {}: notify failed: {}", domid, e.getMessage());
            }
        }
        return work + produced;
    }

    /**
     * Asks the guest to notify on its next request (ring.h's final check), for the data agent about to sleep; false
     * when a request came meanwhile, so the agent takes it instead of sleeping. Only then: while the agent cycles it
     * looks at the ring anyway, and a guest that sees no event index to cross posts without a hypercall.
     */
    boolean armRequests() {
        return state != XenbusState.CONNECTED
                || !commands.finalCheck(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, reqCons);
    }

    /** Completions and connection events into the event ring, within the credit the frontend gave; -1 if broken. */
    private int deliverEvents() {
        int size = events.size();
        int credit = events.get(SharedRing.REQ_PROD) - evtProdPvt;
        if (Integer.compareUnsigned(credit, size) > 0) {
            breakDown("event ring credit " + Integer.toUnsignedString(credit) + " exceeds its " + size + " slots");
            return -1;
        }
        int produced = 0;
        ByteBuffer ring = events.area();
        for (var entry : verbs.cqs().entrySet()) {
            CompletionQueue cq = entry.getValue();
            while (produced < credit && cq.poll(wc)) {
                int at = events.offset(evtProdPvt++);
                clear(ring, at);
                ring.put(at + EVT_TYPE, (byte) EVT_WC);
                ring.putInt(at + WC_CQ, entry.getKey());
                ring.putLong(at + WC_WR_ID, wc.wrId());
                ring.put(at + WC_STATUS, (byte) wc.status().code());
                ring.put(at + WC_WITH_IMM, (byte) (wc.withImm() ? 1 : 0));
                ring.putShort(at + WC_OPCODE, (short) wc.opcode().code());
                ring.putInt(at + WC_BYTE_LENGTH, wc.byteLength());
                ring.putInt(at + WC_QPN, wc.qpn());
                ring.putInt(at + WC_IMM, wc.immData());
                produced++;
            }
        }
        while (produced < credit && verbs.context().pollCmEvent(cm)) {
            int at = events.offset(evtProdPvt++);
            clear(ring, at);
            writeCm(ring, at, cm);
            produced++;
        }
        deliveryCutShort = produced == credit;
        if (deliveryCutShort) {
            // Out of room: ask to be told when the frontend returns credit.
            events.finalCheck(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, evtProdPvt);
        }
        return produced;
    }

    private static void writeCm(ByteBuffer ring, int at, CmEvent e) {
        ring.put(at + EVT_TYPE, (byte) EVT_CM);
        ring.put(at + CME_TYPE, (byte) e.type().ordinal());
        int n = e.privateDataLength();
        ring.put(at + CME_DATA_LENGTH, (byte) n);
        ring.putInt(at + CME_LOCAL_QPN, e.localQpn());
        ring.putLong(at + CME_CONNECTION, e.connectionId());
        ring.putLong(at + CME_SERVICE, e.serviceId());
        QpAddress remote = e.remote();
        if (remote != null) {
            ring.putShort(at + CME_REMOTE_NODE, (short) remote.node());
            ring.putShort(at + CME_REMOTE_DOMID, (short) remote.domid());
            ring.putInt(at + CME_REMOTE_QPN, remote.qpn());
            ring.put(at + CME_REMOTE_VALID, (byte) 1);
        }
        ring.putShort(at + CME_PKEY, (short) Math.max(0, e.pkey()));
        byte[] reason = e.reason().getBytes(UTF_8);
        int r = Math.min(reason.length, MAX_EVENT_REASON);
        ring.put(at + CME_REASON_LENGTH, (byte) r);
        ring.put(at + CME_REASON, reason, 0, r);
        for (int i = 0; i < n; i++) {
            ring.put(at + CME_DATA + i, e.privateData(i));
        }
    }

    private static void clear(ByteBuffer ring, int at) {
        for (int i = 0; i < ENTRY_LENGTH; i += 8) {
            ring.putLong(at + i, 0);
        }
    }

    /**
     * Whether the frontend's process is gone: its end of the event channel unbound at two looks in a row while the
     * frontend still says Initialised or Connected. A frontend that reconnects unbinds its old port too, but writes
     * Initialising right after, so the second look (a liveness period later) no longer counts it.
     */
    private boolean processLooksGone() {
        if (!evtchn.peerClosed(port)) {
            peerClosedSeen = false;
            return false;
        }
        if (!peerClosedSeen) {
            peerClosedSeen = true;
            return false;
        }
        try {
            XenbusState fe = XenbusState.parse(read(frontend + "/" + KEY_STATE));
            return fe == XenbusState.INITIALISED || fe == XenbusState.CONNECTED;
        } catch (XenException e) {
            return false; // its directory is going: the rescan will see it
        }
    }

    /**
     * The process that used this device let go of its event channel (it died without closing the device): its
     * objects go as a close would free them, and its frontend directory is removed so the number is free again;
     * the domain's other devices go on.
     */
    private void processGone() {
        log.warn("dom {} device {}: the frontend closed its event channel; its process is gone", domid, devid);
        processesGone++;
        disconnect();
        writeError("the frontend's process is gone");
        switchState(XenbusState.CLOSED);
        try {
            xs.rm(XenStore.NO_TRANSACTION, frontend);
        } catch (XenException e) {
            // the domain is going: its whole home goes
        }
    }

    /** Times this device's process was found gone (0 or 1 per connection). */
    long processesGone() {
        return processesGone;
    }

    /** The guest broke the ring protocol: one (rate-limited) line, and its device is disconnected for good. */
    private void breakDown(String why) {
        log.warn("dom {} device {}: backend disabled: {}", domid, devid, why);
        disabled = true;
        disconnect();
        writeError(why);
        switchState(XenbusState.CLOSED);
    }

    /** Disconnects the device with {@code why} in its error node; the frontend may start over from Initialising. */
    void fail(String why) {
        log.warn("dom {} device {}: {}", domid, devid, why);
        disconnect();
        writeError(why);
        switchState(XenbusState.CLOSING);
    }

    private void writeError(String why) {
        try {
            xs.write(XenStore.NO_TRANSACTION, backend + "/" + KEY_ERROR, why.getBytes(UTF_8));
        } catch (XenException e) {
            // the state change still tells the frontend
        }
    }

    /**
     * Releases everything this device had: the engine closes the device's verbs first (its queue pairs flushed, peers
     * told, regions deregistered; the domain's other devices go on), so no mapping is touched after it goes; then
     * the mappings and the port.
     */
    void disconnect() {
        if (verbs != null) {
            engine.closeDevice(domid, devid);
            verbs.releaseMappings();
            verbs = null;
        }
        if (port != -1) {
            try {
                evtchn.unbind(port);
            } catch (XenException e) {
                // the port dies with its domain anyway
            }
            port = -1;
        }
        commands = null;
        events = null;
        commandPages = close(commandPages);
        eventPages = close(eventPages);
        grants.releaseNode(ringPages);
        ringPages = 0;
        if (state == XenbusState.CONNECTED) {
            state = XenbusState.CLOSING;
        }
    }

    private static GrantMapping close(GrantMapping mapping) {
        if (mapping != null) {
            try {
                mapping.close();
            } catch (XenException e) {
                // nothing more to do from here
            }
        }
        return null;
    }

    /** The device is gone (frontend removed or domain dead): remove the backend directory too. */
    void remove() {
        try {
            xs.rm(XenStore.NO_TRANSACTION, backend);
        } catch (XenException e) {
            // dom0's store went away; nothing to clean
        }
    }

    /** dom0's vmrdma stops: the guest sees its backend close and may re-attach when it returns. */
    void shutdown() {
        disconnect();
        switchState(XenbusState.CLOSED);
    }

    private void switchState(XenbusState next) {
        state = next;
        try {
            xs.write(XenStore.NO_TRANSACTION, backend + "/" + KEY_STATE,
                    Integer.toString(next.value()).getBytes(UTF_8));
        } catch (XenException e) {
            log.warn("dom {} device {}: cannot write state {}: {}", domid, devid, next, e.getMessage());
        }
    }

    private String read(String path) throws XenException {
        return new String(xs.read(XenStore.NO_TRANSACTION, path), UTF_8);
    }
}
