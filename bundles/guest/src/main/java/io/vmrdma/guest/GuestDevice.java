package io.vmrdma.guest;

import static io.vmrdma.api.guest.GuestAbi.*;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.vmrdma.api.guest.SharedRing;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenbusState;

/**
 * A guest's vmrdma device: the frontend of docs/guest-abi.md and the verbs an application calls. Opening runs the
 * xenbus handshake with dom0's backend; every verb is a request on the command ring (control verbs wait for their
 * response, posts do not); completions and connection events arrive on the event ring. Waiting blocks on the event
 * channel unless the device was opened for polling. Not thread-safe: one application thread drives a device.
 */
public final class GuestDevice implements AutoCloseable {

    /** errno values of the library's own failures. */
    public static final int EIO = 5;
    public static final int ETIMEDOUT = 110;
    public static final int ENOTCONN = 107;
    public static final int ENODEV = 19;
    /** How often a polling wait looks at whether the backend is still connected. */
    private static final long CHECK_BACKEND_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** A protection domain. */
    public record Pd(int handle) {
    }

    /** A queue pair: its number and where peers find it. */
    public record Qp(QpAddress address) {
        public int qpn() {
            return address.qpn();
        }
    }

    /** A registered buffer with its keys. */
    public record Region(GuestBuffer buffer, int lkey, int rkey, int access) {
        public long address() {
            return buffer.address();
        }
    }

    /** A completion queue; completions for it wait here once the event ring delivered them. */
    public static final class Cq {
        private final int handle;
        private final ArrayDeque<WorkCompletion> ready = new ArrayDeque<>();

        Cq(int handle) {
            this.handle = handle;
        }

        public int handle() {
            return handle;
        }
    }

    /** How to open a device. */
    public record Options(int ringPageOrder, boolean polling, boolean straightToConnected, long timeoutNanos) {
        /** Four-page rings (128 entries each), blocking waits, the full handshake, 30 s to connect. */
        public static Options defaults() {
            return new Options(2, false, false, TimeUnit.SECONDS.toNanos(30));
        }

        public Options polling(boolean poll) {
            return new Options(ringPageOrder, poll, straightToConnected, timeoutNanos);
        }

        /** Skip Initialised and write Connected with the keys, as netfront does. */
        public Options straightToConnected(boolean jump) {
            return new Options(ringPageOrder, polling, jump, timeoutNanos);
        }

        public Options ringPageOrder(int order) {
            return new Options(order, polling, straightToConnected, timeoutNanos);
        }
    }

    private final Hypervisor xen;
    private final int domid;
    private final String frontend;
    private final String backend;
    private final Options options;
    private final XenStore xs;
    private final GrantSharer sharer;
    private final EventChannel evtchn;
    private final Map<Integer, Cq> cqs = new HashMap<>();
    private final ArrayDeque<CmEvent> cmEvents = new ArrayDeque<>();
    /** Completions handed back by pollCq, reused so that steady polling allocates nothing. */
    private final ArrayDeque<WorkCompletion> spare = new ArrayDeque<>();
    private SharedPages commandPages;
    private SharedPages eventPages;
    private SharedRing commands;
    private SharedRing events;
    private boolean[] waiting;
    private int port;
    private int nodeId;
    private int reqProdPvt;
    private int rspCons;
    private int evtCons;
    /**
     * The address the next buffer gets: from a random page in [2^32, 2^46), so a peer that wants into a region must
     * guess its address as well as its rkey.
     */
    private long nextAddress = randomAddressBase();
    private boolean answered;
    private int status;
    private int result0;
    private int result1;
    private long result64;
    private VerbsException deferred;
    private boolean closed;

    private GuestDevice(Hypervisor xen, int devid, Options options) throws XenException {
        this.xen = xen;
        this.domid = xen.selfDomid();
        this.frontend = frontendPath(domid, devid);
        this.backend = backendPath(domid, devid);
        this.options = options;
        this.xs = xen.openXenStore();
        this.sharer = xen.openGrantSharer();
        this.evtchn = xen.openEventChannel();
    }

    /** Opens device {@code devid} (normally 0) of this guest and connects it to dom0's engine. */
    public static GuestDevice open(Hypervisor guest, int devid, Options options) throws VerbsException {
        GuestDevice device;
        try {
            device = new GuestDevice(guest, devid, options);
        } catch (XenException e) {
            throw new VerbsException(EIO, "cannot open Xen access: " + e.getMessage());
        }
        try {
            device.handshake(options.straightToConnected());
            return device;
        } catch (VerbsException e) {
            device.release();
            throw e;
        } catch (XenException e) {
            device.release();
            throw new VerbsException(EIO, "handshake failed: " + e.getMessage());
        }
    }

    private void handshake(boolean jump) throws XenException, VerbsException {
        if (commands == null) {
            xs.watch(backend + "/" + KEY_STATE, "backend");
            awaitOffer();
        }
        int order = options.ringPageOrder();
        if (!jump) {
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.INITIALISING));
            awaitBackend(XenbusState.INIT_WAIT);
            int max = Integer.parseInt(read(backend + "/" + KEY_MAX_RING_PAGE_ORDER));
            order = Math.min(order, max);
            String version = read(backend + "/" + KEY_PROTOCOL_VERSION);
            if (!Integer.toString(PROTOCOL_VERSION).equals(version)) {
                throw new VerbsException(EIO, "backend speaks protocol " + version + ", this library "
                        + PROTOCOL_VERSION);
            }
        }
        int pages = 1 << order;
        commandPages = sharer.sharePages(0, pages, true);
        eventPages = sharer.sharePages(0, pages, true);
        commands = new SharedRing(commandPages.buffer(), ENTRY_LENGTH);
        events = new SharedRing(eventPages.buffer(), ENTRY_LENGTH);
        commands.initialise();
        events.initialise();
        // The event ring's requests are credit: every slot is free for the backend to fill.
        events.set(SharedRing.REQ_PROD, events.size());
        waiting = new boolean[commands.size()];
        port = evtchn.bindUnboundPort(0);
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
            write(tx, KEY_STATE, Integer.toString(next.value()));
        } while (!xs.transactionEnd(tx, false));
        awaitBackend(XenbusState.CONNECTED);
        nodeId = Integer.parseInt(read(backend + "/" + KEY_NODE_ID));
        if (next != XenbusState.CONNECTED) {
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.CONNECTED));
        }
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
                throw new VerbsException(ENODEV, "dom0 offers this domain no vmrdma device (" + devices
                        + " does not exist): is dom0's vmrdma running and serving domain " + domid + "?");
            }
            xs.readWatch(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
        }
        xs.unwatch(devices, "offer");
    }

    private boolean exists(String path) throws XenException {
        try {
            xs.read(0, path);
            return true;
        } catch (XenException e) {
            if (e.errno() == io.vmrdma.api.xen.XenErrno.ENOENT) {
                return false;
            }
            throw e;
        }
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
                throw new VerbsException(ENOTCONN, "backend closed the device: " + backendError());
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new VerbsException(ETIMEDOUT, "backend did not reach " + wanted + " (it is " + s + ")");
            }
            xs.readWatch(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
        }
    }

    private XenbusState backendState() {
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

    /**
     * Whether dom0's backend is connected. It is not after dom0's vmrdma stopped (or closed this device); then every
     * call fails with ENOTCONN until {@link #reattach()}.
     */
    public boolean connected() {
        return !closed && backendState() == XenbusState.CONNECTED;
    }

    /**
     * Attaches again, with fresh rings, to a backend that closed (dom0's vmrdma restarted), as a Xen frontend
     * does when its backend comes back: goes to Initialising and runs the handshake, waiting up to the open
     * timeout for a backend. Every protection domain, completion queue, queue pair and registration of the old
     * connection is gone; buffers stay allocated and can be registered again.
     */
    public void reattach() throws VerbsException {
        if (closed) {
            throw new VerbsException(ENOTCONN, "device closed");
        }
        cqs.clear();
        cmEvents.clear();
        deferred = null;
        try {
            evtchn.unbind(port);
        } catch (XenException e) {
            // the old backend's end is gone; the port goes with it
        }
        for (SharedPages pages : new SharedPages[] {commandPages, eventPages}) {
            try {
                pages.close();
            } catch (XenException e) {
                // revoked later by the sharer, once nobody maps them
            }
        }
        reqProdPvt = 0;
        rspCons = 0;
        evtCons = 0;
        try {
            handshake(false);
        } catch (XenException e) {
            throw new VerbsException(EIO, "re-attach failed: " + e.getMessage());
        }
    }

    /** The engine's node id, with {@link #domid()} and a qpn the address peers use. */
    public int nodeId() {
        return nodeId;
    }

    public int domid() {
        return domid;
    }

    // ---- memory ----

    /** Allocates {@code bytes} (rounded up to whole pages) of memory the guest grants to dom0. */
    public GuestBuffer allocate(int bytes) throws VerbsException {
        int pages = (bytes + Hypervisor.PAGE_SIZE - 1) / Hypervisor.PAGE_SIZE;
        try {
            SharedPages p = sharer.sharePages(0, Math.max(pages, 1), true);
            GuestBuffer b = new GuestBuffer(p, nextAddress, bytes);
            // A page of gap between buffers, so an address one past a buffer never lands in the next one.
            nextAddress += (long) (p.pageCount() + 1) * Hypervisor.PAGE_SIZE;
            return b;
        } catch (XenException e) {
            throw new VerbsException(VerbsErrno.ENOMEM, "cannot allocate " + bytes + " bytes: " + e.getMessage());
        }
    }

    /** Frees a buffer; deregister it first (dom0 keeps its grants mapped until then). */
    public void free(GuestBuffer buffer) throws VerbsException {
        try {
            buffer.pages().close();
        } catch (XenException e) {
            throw new VerbsException(VerbsErrno.EBUSY, "buffer still mapped by dom0: " + e.getMessage());
        }
    }

    /** Registers a buffer: dom0 maps its grants once and keeps them until {@link #deregister}. */
    public Region register(Pd pd, GuestBuffer buffer, int access) throws VerbsException {
        SharedPages pages = buffer.pages();
        int count = pages.pageCount();
        SharedPages indirect = null;
        try {
            boolean useIndirect = count > MR_REFS_INLINE;
            if (useIndirect) {
                int n = (count + REFS_PER_INDIRECT_PAGE - 1) / REFS_PER_INDIRECT_PAGE;
                if (n > MR_REFS_INLINE) {
                    throw new VerbsException(VerbsErrno.EINVAL, "a region is at most "
                            + (MR_REFS_INLINE * REFS_PER_INDIRECT_PAGE) + " pages");
                }
                indirect = sharer.sharePages(0, n, false);
                ByteBuffer list = indirect.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < count; i++) {
                    list.putInt(4 * i, pages.ref(i));
                }
            }
            int at = begin(OP_REG_MR, useIndirect ? FLAG_INDIRECT : 0);
            ByteBuffer r = commands.area();
            r.putInt(at + MR_PD, pd.handle());
            r.putInt(at + MR_ACCESS, access);
            r.putLong(at + MR_ADDRESS, buffer.address());
            r.putLong(at + MR_LENGTH, buffer.length());
            r.putInt(at + MR_PAGES, count);
            int refs = useIndirect ? indirect.pageCount() : count;
            for (int i = 0; i < refs; i++) {
                r.putInt(at + MR_REFS + 4 * i, useIndirect ? indirect.ref(i) : pages.ref(i));
            }
            call();
            return new Region(buffer, result0, result1, access);
        } catch (XenException e) {
            throw new VerbsException(VerbsErrno.ENOMEM, "cannot share the indirect pages: " + e.getMessage());
        } finally {
            if (indirect != null) {
                try {
                    indirect.close();
                } catch (XenException e) {
                    // dom0 unmaps indirect pages before answering; a failure here only leaks a page
                }
            }
        }
    }

    public void deregister(Region region) throws VerbsException {
        simple(OP_DEREG_MR, region.lkey());
    }

    // ---- objects ----

    public Pd allocPd() throws VerbsException {
        begin(OP_ALLOC_PD, 0);
        call();
        return new Pd(result0);
    }

    public void deallocPd(Pd pd) throws VerbsException {
        simple(OP_DEALLOC_PD, pd.handle());
    }

    public Cq createCq(int depth) throws VerbsException {
        int at = begin(OP_CREATE_CQ, 0);
        commands.area().putInt(at + REQ_ARG0, depth);
        call();
        Cq cq = new Cq(result0);
        cqs.put(cq.handle, cq);
        return cq;
    }

    public void destroyCq(Cq cq) throws VerbsException {
        simple(OP_DESTROY_CQ, cq.handle);
        cqs.remove(cq.handle);
    }

    /** Creates an RC queue pair in RESET; at most {@link io.vmrdma.api.guest.GuestAbi#MAX_SGE} SGEs per request. */
    public Qp createQp(Pd pd, Cq sendCq, Cq recvCq, int maxSendWr, int maxRecvWr, int maxSge, boolean signalAll)
            throws VerbsException {
        int at = begin(OP_CREATE_QP, signalAll ? FLAG_SIGNAL_ALL : 0);
        ByteBuffer r = commands.area();
        r.putInt(at + REQ_ARG0, pd.handle());
        r.putInt(at + REQ_ARG1, sendCq.handle);
        r.putInt(at + REQ_ARG2, recvCq.handle);
        r.putInt(at + REQ_ARG3, maxSendWr);
        r.putInt(at + REQ_ARG4, maxRecvWr);
        r.putInt(at + REQ_ARG5, maxSge);
        call();
        return new Qp(new QpAddress(nodeId, domid, result0));
    }

    public void modifyQp(Qp qp, QpAttributes a) throws VerbsException {
        int at = begin(OP_MODIFY_QP, a.remote() != null ? FLAG_REMOTE : 0);
        ByteBuffer r = commands.area();
        r.putInt(at + REQ_ARG0, qp.qpn());
        r.putInt(at + REQ_ARG1, a.state() == null ? -1 : a.state().value());
        r.putInt(at + REQ_ARG2, a.pkey());
        r.putInt(at + REQ_ARG3, a.retryCount());
        r.putInt(at + REQ_ARG4, a.rnrRetry());
        if (a.remote() != null) {
            r.putShort(at + MODIFY_REMOTE_NODE, (short) a.remote().node());
            r.putShort(at + MODIFY_REMOTE_DOMID, (short) a.remote().domid());
            r.putInt(at + MODIFY_REMOTE_QPN, a.remote().qpn());
        }
        call();
    }

    public void destroyQp(Qp qp) throws VerbsException {
        simple(OP_DESTROY_QP, qp.qpn());
    }

    // ---- data path ----

    /**
     * Posts a send-queue request without waiting: the engine's refusal (EINVAL for a bad state, a full queue ...)
     * is thrown by the next post or poll.
     */
    public void postSend(Qp qp, SendWorkRequest wr) throws VerbsException {
        throwDeferred();
        int at = beginPost(OP_POST_SEND, qp, wr.wrId(), wr.sgl());
        ByteBuffer r = commands.area();
        r.put(at + POST_OPCODE, (byte) wr.opcode().code());
        r.put(at + POST_SEND_FLAGS, (byte) wr.sendFlags());
        r.putLong(at + POST_REMOTE_ADDRESS, wr.remoteAddress());
        r.putInt(at + POST_RKEY, wr.rkey());
        r.putInt(at + POST_IMM, wr.immData());
        submit(false);
    }

    /** Posts a receive request without waiting, as {@link #postSend}. */
    public void postRecv(Qp qp, RecvWorkRequest wr) throws VerbsException {
        throwDeferred();
        beginPost(OP_POST_RECV, qp, wr.wrId(), wr.sgl());
        submit(false);
    }

    private int beginPost(int op, Qp qp, long wrId, ScatterGatherList sgl) throws VerbsException {
        if (sgl.count() > MAX_SGE) {
            throw new VerbsException(VerbsErrno.EINVAL, sgl.count() + " scatter/gather entries, at most " + MAX_SGE);
        }
        int at = begin(op, 0);
        ByteBuffer r = commands.area();
        r.putInt(at + POST_QPN, qp.qpn());
        r.put(at + POST_NUM_SGE, (byte) sgl.count());
        r.putLong(at + POST_WR_ID, wrId);
        for (int i = 0; i < sgl.count(); i++) {
            int e = at + POST_SGE + i * SGE_LENGTH;
            r.putLong(e, sgl.address(i));
            r.putInt(e + 8, sgl.length(i));
            r.putInt(e + 12, sgl.lkey(i));
        }
        return at;
    }

    /** Moves the oldest completion of {@code cq} into {@code into}; false when there is none. Never blocks. */
    public boolean pollCq(Cq cq, WorkCompletion into) throws VerbsException {
        if (cq.ready.isEmpty()) {
            reap();
        }
        throwDeferred();
        WorkCompletion wc = cq.ready.poll();
        if (wc == null) {
            return false;
        }
        into.set(wc.wrId(), wc.status(), wc.opcode(), wc.byteLength(), wc.qpn(), wc.withImm(), wc.immData());
        spare.add(wc);
        return true;
    }

    /** As {@link #pollCq}, waiting up to {@code timeoutNanos} (blocking on the event channel, or spinning). */
    public boolean waitCq(Cq cq, WorkCompletion into, long timeoutNanos) throws VerbsException {
        waitFor(() -> !cq.ready.isEmpty(), timeoutNanos);
        return pollCq(cq, into);
    }

    // ---- connection manager ----

    public void listen(long serviceId) throws VerbsException {
        int at = begin(OP_LISTEN, 0);
        commands.area().putLong(at + CM_ID, serviceId);
        call();
    }

    public void stopListening(long serviceId) throws VerbsException {
        int at = begin(OP_STOP_LISTEN, 0);
        commands.area().putLong(at + CM_ID, serviceId);
        call();
    }

    /** Connects {@code qp} (in RESET) to {@code serviceId} at {@code node}; the answer comes as a CM event. */
    public long connect(Qp qp, int node, long serviceId, int pkey, byte[] privateData) throws VerbsException {
        int at = cm(OP_CONNECT, qp, serviceId, privateData);
        ByteBuffer r = commands.area();
        r.putShort(at + CM_NODE, (short) node);
        r.putInt(at + CM_PKEY, pkey);
        call();
        return result64;
    }

    public void accept(long connectionId, Qp qp, byte[] privateData) throws VerbsException {
        cm(OP_ACCEPT, qp, connectionId, privateData);
        call();
    }

    public void reject(long connectionId, String reason) throws VerbsException {
        byte[] text = reason.getBytes(UTF_8);
        cm(OP_REJECT, null, connectionId, java.util.Arrays.copyOf(text, Math.min(text.length, MAX_PRIVATE_DATA)));
        call();
    }

    public void disconnect(Qp qp) throws VerbsException {
        simple(OP_DISCONNECT, qp.qpn());
    }

    private int cm(int op, Qp qp, long id, byte[] data) throws VerbsException {
        byte[] d = data == null ? new byte[0] : data;
        if (d.length > MAX_PRIVATE_DATA) {
            throw new VerbsException(VerbsErrno.EINVAL, "at most " + MAX_PRIVATE_DATA + " bytes of private data");
        }
        int at = begin(op, 0);
        ByteBuffer r = commands.area();
        r.putInt(at + CM_QPN, qp == null ? 0 : qp.qpn());
        r.putLong(at + CM_ID, id);
        r.put(at + CM_DATA_LENGTH, (byte) d.length);
        r.put(at + CM_DATA, d);
        return at;
    }

    public boolean pollCmEvent(CmEvent into) throws VerbsException {
        if (cmEvents.isEmpty()) {
            reap();
        }
        CmEvent e = cmEvents.poll();
        if (e == null) {
            return false;
        }
        byte[] data = e.privateData();
        into.set(e.type(), e.connectionId(), e.serviceId(), e.localQpn(), e.remote(), e.pkey(), e.reason(), data,
                data.length);
        return true;
    }

    public boolean waitCmEvent(CmEvent into, long timeoutNanos) throws VerbsException {
        waitFor(() -> !cmEvents.isEmpty(), timeoutNanos);
        return pollCmEvent(into);
    }

    // ---- rings ----

    private void simple(int op, int arg) throws VerbsException {
        int at = begin(op, 0);
        commands.area().putInt(at + REQ_ARG0, arg);
        call();
    }

    /** Claims the next request slot (waiting for one if the ring is full) and writes the header. */
    private int begin(int op, int flags) throws VerbsException {
        if (closed) {
            throw new VerbsException(ENOTCONN, "device closed");
        }
        if (reqProdPvt - rspCons == commands.size()) {
            waitFor(() -> reqProdPvt - rspCons < commands.size(), options.timeoutNanos());
            if (reqProdPvt - rspCons == commands.size()) {
                throw new VerbsException(ETIMEDOUT, "the command ring stayed full");
            }
        }
        int at = commands.offset(reqProdPvt);
        ByteBuffer r = commands.area();
        for (int i = 0; i < ENTRY_LENGTH; i += 8) {
            r.putLong(at + i, 0);
        }
        r.put(at + REQ_OP, (byte) op);
        r.put(at + REQ_FLAGS, (byte) flags);
        r.putInt(at + REQ_ID, reqProdPvt);
        return at;
    }

    private void submit(boolean wait) throws VerbsException {
        waiting[reqProdPvt & (commands.size() - 1)] = wait;
        reqProdPvt++;
        if (commands.push(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, reqProdPvt)) {
            kick();
        }
    }

    /** Submits the request begun last and waits for its response; a failure status is thrown. */
    private void call() throws VerbsException {
        answered = false;
        submit(true);
        waitFor(() -> answered, options.timeoutNanos());
        if (!answered) {
            throw new VerbsException(ETIMEDOUT, "no response from the backend");
        }
        if (status != 0) {
            throw new VerbsException(-status, "refused by the engine (errno " + -status + ")");
        }
    }

    private void kick() throws VerbsException {
        try {
            evtchn.notify(port);
        } catch (XenException e) {
            throw new VerbsException(ENOTCONN, "event channel: " + e.getMessage());
        }
    }

    /** Consumes every response and event the backend has published. */
    private void reap() throws VerbsException {
        int prod = commands.get(SharedRing.RSP_PROD);
        ByteBuffer r = commands.area();
        while (rspCons != prod) {
            int at = commands.offset(rspCons);
            int s = r.getInt(at + RSP_STATUS);
            if (waiting[rspCons & (commands.size() - 1)]) {
                status = s;
                result0 = r.getInt(at + RSP_RESULT0);
                result1 = r.getInt(at + RSP_RESULT1);
                result64 = r.getLong(at + RSP_RESULT64);
                answered = true;
            } else if (s != 0 && deferred == null) {
                deferred = new VerbsException(-s, "post refused by the engine (errno " + -s + ")");
            }
            rspCons++;
        }
        int eprod = events.get(SharedRing.RSP_PROD);
        if (evtCons == eprod) {
            return;
        }
        ByteBuffer e = events.area();
        while (evtCons != eprod) {
            int at = events.offset(evtCons++);
            int type = e.get(at + EVT_TYPE);
            if (type == EVT_WC) {
                Cq cq = cqs.get(e.getInt(at + WC_CQ));
                if (cq != null) {
                    WorkCompletion free = spare.poll();
                    cq.ready.add((free != null ? free : new WorkCompletion()).set(e.getLong(at + WC_WR_ID),
                            WcStatus.ofCode(e.get(at + WC_STATUS) & 0xFF), wcOpcode(e.getShort(at + WC_OPCODE)),
                            e.getInt(at + WC_BYTE_LENGTH), e.getInt(at + WC_QPN), e.get(at + WC_WITH_IMM) != 0,
                            e.getInt(at + WC_IMM)));
                }
            } else if (type == EVT_CM) {
                cmEvents.add(cmEvent(e, at));
            }
        }
        // Give the slots back as credit.
        if (events.push(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, evtCons + events.size())) {
            kick();
        }
    }

    private static WcOpcode wcOpcode(int code) {
        for (WcOpcode o : WcOpcode.values()) {
            if (o.code() == code) {
                return o;
            }
        }
        return WcOpcode.SEND;
    }

    private static CmEvent cmEvent(ByteBuffer e, int at) {
        CmEventType[] types = CmEventType.values();
        int t = e.get(at + CME_TYPE) & 0xFF;
        int n = Math.min(e.get(at + CME_DATA_LENGTH) & 0xFF, MAX_PRIVATE_DATA);
        int rl = Math.min(e.get(at + CME_REASON_LENGTH) & 0xFF, MAX_EVENT_REASON);
        byte[] data = new byte[n];
        e.get(at + CME_DATA, data);
        byte[] reason = new byte[rl];
        e.get(at + CME_REASON, reason);
        QpAddress remote = e.get(at + CME_REMOTE_VALID) == 0 ? null
                : new QpAddress(e.getShort(at + CME_REMOTE_NODE) & 0xFFFF, e.getShort(at + CME_REMOTE_DOMID) & 0xFFFF,
                        e.getInt(at + CME_REMOTE_QPN));
        return new CmEvent().set(t < types.length ? types[t] : CmEventType.DISCONNECTED, e.getLong(at + CME_CONNECTION),
                e.getLong(at + CME_SERVICE), e.getInt(at + CME_LOCAL_QPN), remote, e.getShort(at + CME_PKEY) & 0xFFFF,
                new String(reason, UTF_8), data, n);
    }

    /**
     * Reaps until {@code done} holds or the time is up: spinning when polling, otherwise re-arming both rings'
     * response events (ring.h's final check) and blocking on the event channel.
     */
    /**
     * One turn of a busy-poll: a spin hint, and every 256th turn a yield. A guest that polls shares the host's cores
     * with dom0's data agent and the other guests; one that never yields waits out the scheduler's time slices
     * (milliseconds) whenever there are fewer cores than spinners.
     */
    public static void spinOrYield(int turn) {
        if ((turn & 255) == 0) {
            Thread.yield();
        } else {
            Thread.onSpinWait();
        }
    }

    private void waitFor(BooleanSupplier done, long timeoutNanos) throws VerbsException {
        long deadline = System.nanoTime() + timeoutNanos;
        long nextCheck = System.nanoTime() + CHECK_BACKEND_NANOS;
        for (int spins = 1; ; spins++) {
            reap();
            if (done.getAsBoolean()) {
                return;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            if (options.polling()) {
                // A XenStore read is a round trip: look at the backend's state only now and then.
                if (System.nanoTime() - nextCheck > 0) {
                    checkBackend();
                    nextCheck = System.nanoTime() + CHECK_BACKEND_NANOS;
                }
                spinOrYield(spins);
                continue;
            }
            if (commands.finalCheck(SharedRing.RSP_PROD, SharedRing.RSP_EVENT, rspCons)
                    | events.finalCheck(SharedRing.RSP_PROD, SharedRing.RSP_EVENT, evtCons)) {
                continue;
            }
            try {
                int p = evtchn.waitPending(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
                if (p > 0) {
                    evtchn.unmask(p);
                } else {
                    checkBackend();
                }
            } catch (XenException e) {
                throw new VerbsException(ENOTCONN, "event channel: " + e.getMessage());
            }
        }
    }

    private void checkBackend() throws VerbsException {
        XenbusState s = backendState();
        if (s != XenbusState.CONNECTED) {
            throw new VerbsException(ENOTCONN, "backend is " + s + ": " + backendError());
        }
    }

    private void throwDeferred() throws VerbsException {
        if (deferred != null) {
            VerbsException e = deferred;
            deferred = null;
            throw e;
        }
    }

    /**
     * Submits a raw 112-byte entry as the next request (its id is overwritten) and returns the response status:
     * what a misbehaving frontend does, for tests of the backend's validation.
     */
    int rawRequest(byte[] entry) throws VerbsException {
        int at = begin(0, 0);
        int id = commands.area().getInt(at + REQ_ID);
        commands.area().put(at, entry, 0, ENTRY_LENGTH);
        commands.area().putInt(at + REQ_ID, id);
        answered = false;
        submit(true);
        waitFor(() -> answered, options.timeoutNanos());
        return answered ? status : Integer.MIN_VALUE;
    }

    private static long randomAddressBase() {
        long low = 1L << 32;
        long span = (1L << 46) - low;
        return low + (new java.security.SecureRandom().nextLong(span) & -Hypervisor.PAGE_SIZE);
    }

    /** Notifies the backend with no request posted, as a guest that notifies in a loop does (tests). */
    void notifyWithoutRequest() throws VerbsException {
        kick();
    }

    /** The two result words of the last answered request, for tests that build requests by hand. */
    int[] rawResults() {
        return new int[] {result0, result1};
    }

    /** The shared command ring, for tests that break the ring protocol on purpose. */
    SharedRing commandRing() {
        return commands;
    }

    // ---- teardown ----

    /**
     * Closes the device through Closing and Closed, as a frontend does; dom0 closes this guest's verbs (queue
     * pairs flushed, peers told) and unmaps everything. Buffers stay allocated until freed.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.CLOSING));
            awaitClosed(XenbusState.CLOSING);
            xs.write(0, frontend + "/" + KEY_STATE, state(XenbusState.CLOSED));
            awaitClosed(XenbusState.CLOSED);
            xs.rm(0, frontend);
        } catch (XenException e) {
            // the store is gone: so is dom0's backend
        }
        release();
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

    private void release() {
        closed = true;
        for (AutoCloseable c : new AutoCloseable[] {commandPages, eventPages, evtchn, sharer, xs}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    // releasing everything anyway
                }
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

    @Override
    public String toString() {
        return "vmrdma device of dom " + domid + " (" + xen.kind() + ")";
    }
}
