package io.vmrdma.guest;

import static io.vmrdma.api.guest.GuestAbi.*;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.concurrent.TimeUnit;

import io.vmrdma.api.guest.SharedRing;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenbusState;

/**
 * The xenbus side of a guest's vmrdma device (docs/guest-abi.md): this domain's Xen handles, the wait for dom0's
 * offer of {@code device/vmrdma}, the handshake that shares both rings and binds the event channel, the backend's
 * state, and the close through Closing and Closed. Mirrors native/src/frontend.c.
 */
final class XenbusFrontend {

    private final Hypervisor xen;
    private final int domid;
    /** Its device number; -1 until {@link #claimDevice} finds a free one for a device opened without a number. */
    private int devid;
    private String frontend;
    private String backend;
    private final GuestDevice.Options options;
    private final XenStore xs;
    private final GrantSharer sharer;
    private final EventChannel evtchn;
    private boolean watching;
    /** The domain moved to another host: the next connect waits for that host's offer first. */
    private boolean moved;

    /**
     * Opens this domain's XenStore, grant sharer and event channel handles, for device {@code devid}, or for the
     * lowest free device number when {@code devid} is -1.
     */
    XenbusFrontend(Hypervisor xen, int devid, GuestDevice.Options options) throws XenException {
        this.xen = xen;
        this.domid = xen.selfDomid();
        this.devid = devid;
        if (devid >= 0) {
            this.frontend = frontendPath(domid, devid);
            this.backend = backendPath(domid, devid);
        }
        this.options = options;
        XenStore store = xen.openXenStore();
        try {
            this.sharer = xen.openGrantSharer();
            try {
                this.evtchn = xen.openEventChannel();
            } catch (XenException | RuntimeException e) {
                sharer.close();
                throw e;
            }
        } catch (XenException | RuntimeException e) {
            store.close();
            throw e;
        }
        this.xs = store;
    }

    int domid() {
        return domid;
    }

    /**
     * The domain resumed on another host: its XenStore there has no device of this frontend yet, so the next
     * {@link #connect} waits for that host's backend to offer {@code device/vmrdma} and makes the device again under
     * its number (the XenStore connection and its watches followed the domain).
     */
    void moved() {
        moved = true;
    }

    /** Its device number; -1 before the first connect of a device opened without one. */
    int devid() {
        return devid;
    }

    Hypervisor hypervisor() {
        return xen;
    }

    /** Shares this domain's pages with dom0: the rings' and the application's buffers. */
    GrantSharer sharer() {
        return sharer;
    }

    /**
     * Runs the handshake: waits for dom0's offer (the first time), goes to Initialising and reads the backend's
     * limits (unless {@code jump}: straight to Connected, as netfront does), shares both rings, binds the event
     * channel, publishes them in one transaction and waits until the backend is Connected.
     *
     * @return the rings of the new connection and the engine's node id
     */
    Connection connect(boolean jump) throws XenException, VerbsException {
        if (!watching || moved) {
            awaitOffer();
            moved = false;
        }
        if (!watching) {
            if (devid < 0) {
                claimDevice();
            }
            xs.watch(backend + "/" + KEY_STATE, "backend");
            watching = true;
        }
        int order = options.ringPageOrder();
        if (!jump) {
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.INITIALISING));
            awaitBackend(XenbusState.INIT_WAIT);
            int max = Integer.parseInt(read(backend + "/" + KEY_MAX_RING_PAGE_ORDER));
            order = Math.min(order, max);
            String version = read(backend + "/" + KEY_PROTOCOL_VERSION);
            if (!Integer.toString(PROTOCOL_VERSION).equals(version)) {
                throw new VerbsException(GuestDevice.EIO, "backend speaks protocol " + version + ", this library "
                        + PROTOCOL_VERSION);
            }
        }
        int pages = 1 << order;
        SharedPages commandPages = sharer.sharePages(0, pages, true);
        SharedPages eventPages = null;
        try {
            eventPages = sharer.sharePages(0, pages, true);
            return publish(commandPages, eventPages, order, jump);
        } catch (XenException | VerbsException | RuntimeException e) {
            CommandRing.closeQuietly(commandPages);
            CommandRing.closeQuietly(eventPages);
            throw e;
        }
    }

    private Connection publish(SharedPages commandPages, SharedPages eventPages, int order, boolean jump)
            throws XenException, VerbsException {
        int pages = 1 << order;
        SharedRing commands = new SharedRing(commandPages.buffer(), ENTRY_LENGTH);
        SharedRing events = new SharedRing(eventPages.buffer(), ENTRY_LENGTH);
        commands.initialise();
        events.initialise();
        // The event ring's requests are credit: every slot is free for the backend to fill.
        events.set(SharedRing.REQ_PROD, events.size());
        int port = evtchn.bindUnboundPort(0);
        CommandRing ring = new CommandRing(commandPages, commands, eventPages, events, evtchn, port, this, options);
        XenbusState next = jump ? XenbusState.CONNECTED : XenbusState.INITIALISED;
        int tx;
        do {
            tx = xs.transactionStart();
            write(tx, KEY_PROTOCOL_VERSION, Integer.toString(PROTOCOL_VERSION));
            write(tx, KEY_FEATURES, FEATURES);
            write(tx, KEY_RING_PAGE_ORDER, Integer.toString(order));
            for (int i = 0; i < pages; i++) {
                write(tx, KEY_RING_REF + i, Integer.toString(commandPages.ref(i)));
                write(tx, KEY_EVENT_RING_REF + i, Integer.toString(eventPages.ref(i)));
            }
            write(tx, KEY_EVENT_CHANNEL, Integer.toString(port));
            write(tx, KEY_PROCESS, Long.toString(ProcessHandle.current().pid()));
            write(tx, KEY_STATE, Integer.toString(next.value()));
        } while (!xs.transactionEnd(tx, false));
        awaitBackend(XenbusState.CONNECTED);
        int nodeId = Integer.parseInt(read(backend + "/" + KEY_NODE_ID));
        if (next != XenbusState.CONNECTED) {
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.CONNECTED));
        }
        return new Connection(ring, nodeId);
    }

    /** A connected device's rings and the node id of the engine behind them. */
    record Connection(CommandRing ring, int nodeId) {
    }

    /**
     * Waits until dom0's backend has offered this domain its {@code device/vmrdma} directory: the guest may create
     * devices only in it (the toolstack's {@code device/} is read-only for guests).
     */
    private void awaitOffer() throws XenException, VerbsException {
        String devices = devicesPath(domid);
        xs.watch(devices, "offer");
        long deadline = System.nanoTime() + options.timeoutNanos();
        while (!exists(devices)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new VerbsException(GuestDevice.ENODEV, "dom0 offers this domain no vmrdma device (" + devices
                        + " does not exist): is dom0's vmrdma running and serving domain " + domid + "?");
            }
            xs.readWatch(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
        }
        xs.unwatch(devices, "offer");
    }

    /**
     * Takes the lowest device number no other process of this domain uses: its directory made, in state
     * Initialising, in one transaction that fails if another process made it meanwhile.
     */
    private void claimDevice() throws XenException, VerbsException {
        for (int candidate = 0; candidate <= MAX_DEVICE_NUMBER; candidate++) {
            String path = frontendPath(domid, candidate);
            while (true) {
                int tx = xs.transactionStart();
                if (existsIn(tx, path)) {
                    xs.transactionEnd(tx, true);
                    break;
                }
                xs.write(tx, path + "/" + KEY_STATE, state(XenbusState.INITIALISING));
                if (xs.transactionEnd(tx, false)) {
                    devid = candidate;
                    frontend = path;
                    backend = backendPath(domid, candidate);
                    return;
                }
            }
        }
        throw new VerbsException(GuestDevice.ENODEV, "every vmrdma device number of domain " + domid + " is taken");
    }

    private boolean existsIn(int tx, String path) throws XenException {
        try {
            xs.read(tx, path);
            return true;
        } catch (XenException e) {
            if (e.errno() == XenErrno.ENOENT) {
                return false;
            }
            throw e;
        }
    }

    private boolean exists(String path) throws XenException {
        return existsIn(XenStore.NO_TRANSACTION, path);
    }

    private void awaitBackend(XenbusState wanted) throws XenException, VerbsException {
        long deadline = System.nanoTime() + options.timeoutNanos();
        while (true) {
            XenbusState s = backendState();
            if (s == wanted) {
                return;
            }
            // Waiting for InitWait, a Closed backend may be the one before a restart: it moves on our Initialising.
            if (wanted == XenbusState.CONNECTED && (s == XenbusState.CLOSING || s == XenbusState.CLOSED)) {
                throw new VerbsException(GuestDevice.ENOTCONN, "backend closed the device: " + backendError());
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new VerbsException(GuestDevice.ETIMEDOUT, "backend did not reach " + wanted + " (it is " + s
                        + ")");
            }
            xs.readWatch(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
        }
    }

    /** The backend's xenbus state; Unknown when it cannot be read. */
    XenbusState backendState() {
        try {
            return XenbusState.parse(read(backend + "/" + KEY_STATE));
        } catch (XenException e) {
            return XenbusState.UNKNOWN;
        }
    }

    private String backendError() {
        try {
            return read(backend + "/" + KEY_ERROR);
        } catch (XenException e) {
            return "no reason given";
        }
    }

    /** Throws ENOTCONN, with the backend's reason, unless the backend is Connected. */
    void checkBackend() throws VerbsException {
        XenbusState s = backendState();
        if (s != XenbusState.CONNECTED) {
            throw new VerbsException(GuestDevice.ENOTCONN, "backend is " + s + ": " + backendError());
        }
    }

    /** Goes through Closing and Closed, waiting for the backend to follow, and removes the frontend directory. */
    void close() {
        if (frontend == null) {
            return; // no device number was ever claimed
        }
        try {
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.CLOSING));
            awaitClosed(XenbusState.CLOSING);
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.CLOSED));
            awaitClosed(XenbusState.CLOSED);
            xs.rm(0, frontend);
        } catch (XenException e) {
            // the store is gone: so is dom0's backend
        }
    }

    private void awaitClosed(XenbusState wanted) throws XenException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            XenbusState s = backendState();
            if (s.value() >= wanted.value() || s == XenbusState.UNKNOWN) {
                return;
            }
            xs.readWatch(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    /** Closes this domain's handles. */
    void release() {
        for (AutoCloseable c : new AutoCloseable[] {evtchn, sharer, xs}) {
            try {
                c.close();
            } catch (Exception e) {
                // releasing everything anyway
            }
        }
    }

    private void write(int tx, String key, String value) throws XenException {
        xs.write(tx, frontend + "/" + key, value.getBytes(UTF_8));
    }

    private String read(String path) throws XenException {
        return new String(xs.read(0, path), UTF_8);
    }

    private static byte[] state(XenbusState s) {
        return Integer.toString(s.value()).getBytes(UTF_8);
    }
}
