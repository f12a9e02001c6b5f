package io.vmrdma.guest;

import static io.vmrdma.api.guest.GuestAbi.*;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import io.vmrdma.api.guest.SharedRing;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.ScatterGatherList;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.SuspendHandler;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenbusState;

/**
 * A guest's vmrdma device: the verbs an application calls, over the frontend of docs/guest-abi.md. Opening runs the
 * xenbus handshake with dom0's backend ({@link XenbusFrontend}); every verb is a request on the command ring
 * ({@link CommandRing}: control verbs wait for their response, posts do not); completions and connection events
 * arrive on the event ring. Waiting blocks on the event channel unless the device was opened for polling. Not
 * thread-safe: one application thread drives a device. Mirrors native/src/verbs.c and cm.c.
 */
public final class GuestDevice implements AutoCloseable {

    /** errno values of the library's own failures. */
    public static final int EIO = 5;
    public static final int ETIMEDOUT = 110;
    public static final int ENOTCONN = 107;
    public static final int ENODEV = 19;

    /** Longest a wait holds the device: a suspend waits at most this long for a waiting application to step aside. */
    static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

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

        /** Completions the event ring delivered, oldest first. */
        ArrayDeque<WorkCompletion> ready() {
            return ready;
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

    private final XenbusFrontend frontend;
    private final Options options;
    private CommandRing ring;
    private int nodeId;
    /**
     * The address the next buffer gets: from a random page in [2^32, 2^46), so a peer that wants into a region must
     * guess its address as well as its rkey.
     */
    private long nextAddress = randomAddressBase();
    private boolean closed;
    /**
     * Held by every verb while it runs, and by the domain's kernel from a suspend to the resume: a verb called meanwhile
     * waits until the domain runs again (on whichever host), as an application's thread is frozen while its VM is
     * suspended.
     */
    private final ReentrantLock gate = new ReentrantLock();
    /** A suspend waits for the gate: verbs step aside for it rather than take the gate back at once. */
    private volatile boolean suspendWanted;
    /** Why the device has no backend since its domain moved, or null. */
    private VerbsException lost;
    private AutoCloseable suspendHandler = () -> {
    };

    private GuestDevice(XenbusFrontend frontend, Options options) {
        this.frontend = frontend;
        this.options = options;
    }

    /**
     * Opens a device of this guest under the lowest free device number and connects it to dom0's engine: what a
     * process does when several processes of one VM use vmrdma at once. Its objects are its own; closing it (or the
     * process ending) frees them alone.
     */
    public static GuestDevice open(Hypervisor guest, Options options) throws VerbsException {
        return open(guest, -1, options);
    }

    /** Opens device {@code devid} of this guest (or a free one for -1) and connects it to dom0's engine. */
    public static GuestDevice open(Hypervisor guest, int devid, Options options) throws VerbsException {
        GuestDevice device;
        try {
            device = new GuestDevice(new XenbusFrontend(guest, devid, options), options);
        } catch (XenException e) {
            throw new VerbsException(EIO, "cannot open Xen access: " + e.getMessage());
        }
        try {
            device.attach(options.straightToConnected());
            device.suspendHandler = guest.onSuspend(device.new Suspender());
            return device;
        } catch (VerbsException e) {
            device.release();
            throw e;
        }
    }

    private void attach(boolean jump) throws VerbsException {
        try {
            XenbusFrontend.Connection connection = frontend.connect(jump);
            ring = connection.ring();
            nodeId = connection.nodeId();
        } catch (XenException e) {
            throw new VerbsException(EIO, (ring == null ? "handshake failed: " : "re-attach failed: ")
                    + e.getMessage());
        }
    }

    /**
     * Whether dom0's backend is connected. It is not after dom0's vmrdma stopped (or closed this device); then every
     * call fails with ENOTCONN until {@link #reattach()}.
     */
    public boolean connected() {
        return !closed && frontend.backendState() == XenbusState.CONNECTED;
    }

    /**
     * Attaches again, with fresh rings, to a backend that closed (dom0's vmrdma restarted), as a Xen frontend
     * does when its backend comes back: goes to Initialising and runs the handshake, waiting up to the open
     * timeout for a backend. Every protection domain, completion queue, queue pair and registration of the old
     * connection is gone; buffers stay allocated and can be registered again.
     */
    public void reattach() throws VerbsException {
        guarded(() -> {
            if (closed) {
                throw new VerbsException(ENOTCONN, "device closed");
            }
            ring.release(true);
            attach(false);
            return null;
        });
    }

    /** The engine's node id, with {@link #domid()} and a qpn the address peers use. */
    public int nodeId() {
        return nodeId;
    }

    public int domid() {
        return frontend.domid();
    }

    // ---- memory ----

    /** Allocates {@code bytes} (rounded up to whole pages) of memory the guest grants to dom0. */
    public GuestBuffer allocate(int bytes) throws VerbsException {
        return guarded(() -> {
            int pages = (bytes + Hypervisor.PAGE_SIZE - 1) / Hypervisor.PAGE_SIZE;
            try {
                SharedPages p = frontend.sharer().sharePages(0, Math.max(pages, 1), true);
                GuestBuffer b = new GuestBuffer(p, nextAddress, bytes);
                // A page of gap between buffers, so an address one past a buffer never lands in the next one.
                nextAddress += (long) (p.pageCount() + 1) * Hypervisor.PAGE_SIZE;
                return b;
            } catch (XenException e) {
                throw new VerbsException(VerbsErrno.ENOMEM, "cannot allocate " + bytes + " bytes: " + e.getMessage());
            }
        });
    }

    /** Frees a buffer; deregister it first (dom0 keeps its grants mapped until then). */
    public void free(GuestBuffer buffer) throws VerbsException {
        guarded(() -> {
            try {
                buffer.pages().close();
            } catch (XenException e) {
                throw new VerbsException(VerbsErrno.EBUSY, "buffer still mapped by dom0: " + e.getMessage());
            }
            return null;
        });
    }

    /** Registers a buffer: dom0 maps its grants once and keeps them until {@link #deregister}. */
    public Region register(Pd pd, GuestBuffer buffer, int access) throws VerbsException {
        return guarded(() -> {
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
                    indirect = frontend.sharer().sharePages(0, n, false);
                    ByteBuffer list = indirect.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < count; i++) {
                        list.putInt(4 * i, pages.ref(i));
                    }
                }
                int at = begin(OP_REG_MR, useIndirect ? FLAG_INDIRECT : 0);
                ByteBuffer r = ring.area();
                r.putInt(at + MR_PD, pd.handle());
                r.putInt(at + MR_ACCESS, access);
                r.putLong(at + MR_ADDRESS, buffer.address());
                r.putLong(at + MR_LENGTH, buffer.length());
                r.putInt(at + MR_PAGES, count);
                int refs = useIndirect ? indirect.pageCount() : count;
                for (int i = 0; i < refs; i++) {
                    r.putInt(at + MR_REFS + 4 * i, useIndirect ? indirect.ref(i) : pages.ref(i));
                }
                CommandRing.Response answer = ring.call();
                return new Region(buffer, answer.result0(), answer.result1(), access);
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
        });
    }

    public void deregister(Region region) throws VerbsException {
        guarded(() -> {
            simple(OP_DEREG_MR, region.lkey());
            return null;
        });
    }

    // ---- objects ----

    public Pd allocPd() throws VerbsException {
        return guarded(() -> {
            begin(OP_ALLOC_PD, 0);
            return new Pd(ring.call().result0());
        });
    }

    public void deallocPd(Pd pd) throws VerbsException {
        guarded(() -> {
            simple(OP_DEALLOC_PD, pd.handle());
            return null;
        });
    }

    public Cq createCq(int depth) throws VerbsException {
        return guarded(() -> {
            int at = begin(OP_CREATE_CQ, 0);
            ring.area().putInt(at + REQ_ARG0, depth);
            Cq cq = new Cq(ring.call().result0());
            ring.track(cq);
            return cq;
        });
    }

    public void destroyCq(Cq cq) throws VerbsException {
        guarded(() -> {
            simple(OP_DESTROY_CQ, cq.handle);
            ring.untrack(cq);
            return null;
        });
    }

    /** Creates an RC queue pair in RESET; at most {@link io.vmrdma.api.guest.GuestAbi#MAX_SGE} SGEs per request. */
    public Qp createQp(Pd pd, Cq sendCq, Cq recvCq, int maxSendWr, int maxRecvWr, int maxSge, boolean signalAll)
            throws VerbsException {
        return guarded(() -> {
            int at = begin(OP_CREATE_QP, signalAll ? FLAG_SIGNAL_ALL : 0);
            ByteBuffer r = ring.area();
            r.putInt(at + REQ_ARG0, pd.handle());
            r.putInt(at + REQ_ARG1, sendCq.handle);
            r.putInt(at + REQ_ARG2, recvCq.handle);
            r.putInt(at + REQ_ARG3, maxSendWr);
            r.putInt(at + REQ_ARG4, maxRecvWr);
            r.putInt(at + REQ_ARG5, maxSge);
            return new Qp(new QpAddress(nodeId, frontend.domid(), ring.call().result0()));
        });
    }

    public void modifyQp(Qp qp, QpAttributes a) throws VerbsException {
        guarded(() -> {
            int at = begin(OP_MODIFY_QP, a.remote() != null ? FLAG_REMOTE : 0);
            ByteBuffer r = ring.area();
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
            ring.call();
            return null;
        });
    }

    public void destroyQp(Qp qp) throws VerbsException {
        guarded(() -> {
            simple(OP_DESTROY_QP, qp.qpn());
            return null;
        });
    }

    // ---- data path ----

    /**
     * Posts a send-queue request without waiting: the engine's refusal (EINVAL for a bad state, a full queue ...)
     * is thrown by the next post or poll.
     */
    public void postSend(Qp qp, SendWorkRequest wr) throws VerbsException {
        enter();
        try {
            ring.throwDeferred();
            int at = beginPost(OP_POST_SEND, qp, wr.wrId(), wr.sgl());
            ByteBuffer r = ring.area();
            r.put(at + POST_OPCODE, (byte) wr.opcode().code());
            r.put(at + POST_SEND_FLAGS, (byte) wr.sendFlags());
            r.putLong(at + POST_REMOTE_ADDRESS, wr.remoteAddress());
            r.putInt(at + POST_RKEY, wr.rkey());
            r.putInt(at + POST_IMM, wr.immData());
            ring.submit(false);
        } finally {
            gate.unlock();
        }
    }

    /** Posts a receive request without waiting, as {@link #postSend}. */
    public void postRecv(Qp qp, RecvWorkRequest wr) throws VerbsException {
        enter();
        try {
            ring.throwDeferred();
            beginPost(OP_POST_RECV, qp, wr.wrId(), wr.sgl());
            ring.submit(false);
        } finally {
            gate.unlock();
        }
    }

    private int beginPost(int op, Qp qp, long wrId, ScatterGatherList sgl) throws VerbsException {
        if (sgl.count() > MAX_SGE) {
            throw new VerbsException(VerbsErrno.EINVAL, sgl.count() + " scatter/gather entries, at most " + MAX_SGE);
        }
        int at = begin(op, 0);
        ByteBuffer r = ring.area();
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
        enter();
        try {
            return ring.pollCq(cq, into);
        } finally {
            gate.unlock();
        }
    }

    /**
     * As {@link #pollCq}, waiting up to {@code timeoutNanos} (blocking on the event channel, or spinning); in slices of
     * at most {@link #WAIT_SLICE_NANOS}, between which a suspend may take its turn.
     */
    public boolean waitCq(Cq cq, WorkCompletion into, long timeoutNanos) throws VerbsException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            enter();
            try {
                long left = deadline - System.nanoTime();
                ring.waitFor(() -> !cq.ready.isEmpty(), Math.min(left, WAIT_SLICE_NANOS));
                boolean got = ring.pollCq(cq, into);
                if (got || left <= WAIT_SLICE_NANOS) {
                    return got;
                }
            } finally {
                gate.unlock();
            }
        }
    }

    // ---- connection manager ----

    public void listen(long serviceId) throws VerbsException {
        guarded(() -> {
            int at = begin(OP_LISTEN, 0);
            ring.area().putLong(at + CM_ID, serviceId);
            ring.call();
            return null;
        });
    }

    public void stopListening(long serviceId) throws VerbsException {
        guarded(() -> {
            int at = begin(OP_STOP_LISTEN, 0);
            ring.area().putLong(at + CM_ID, serviceId);
            ring.call();
            return null;
        });
    }

    /** Connects {@code qp} (in RESET) to {@code serviceId} at {@code node}; the answer comes as a CM event. */
    public long connect(Qp qp, int node, long serviceId, int pkey, byte[] privateData) throws VerbsException {
        return guarded(() -> {
            int at = cm(OP_CONNECT, qp, serviceId, privateData);
            ByteBuffer r = ring.area();
            r.putShort(at + CM_NODE, (short) node);
            r.putInt(at + CM_PKEY, pkey);
            return ring.call().result64();
        });
    }

    public void accept(long connectionId, Qp qp, byte[] privateData) throws VerbsException {
        guarded(() -> {
            cm(OP_ACCEPT, qp, connectionId, privateData);
            ring.call();
            return null;
        });
    }

    public void reject(long connectionId, String reason) throws VerbsException {
        guarded(() -> {
            byte[] text = reason.getBytes(UTF_8);
            cm(OP_REJECT, null, connectionId, java.util.Arrays.copyOf(text, Math.min(text.length, MAX_PRIVATE_DATA)));
            ring.call();
            return null;
        });
    }

    public void disconnect(Qp qp) throws VerbsException {
        guarded(() -> {
            simple(OP_DISCONNECT, qp.qpn());
            return null;
        });
    }

    private int cm(int op, Qp qp, long id, byte[] data) throws VerbsException {
        byte[] d = data == null ? new byte[0] : data;
        if (d.length > MAX_PRIVATE_DATA) {
            throw new VerbsException(VerbsErrno.EINVAL, "at most " + MAX_PRIVATE_DATA + " bytes of private data");
        }
        int at = begin(op, 0);
        ByteBuffer r = ring.area();
        r.putInt(at + CM_QPN, qp == null ? 0 : qp.qpn());
        r.putLong(at + CM_ID, id);
        r.put(at + CM_DATA_LENGTH, (byte) d.length);
        r.put(at + CM_DATA, d);
        return at;
    }

    public boolean pollCmEvent(CmEvent into) throws VerbsException {
        return guarded(() -> {
            return ring.pollCmEvent(into);
        });
    }

    /** As {@link #pollCmEvent}, waiting up to {@code timeoutNanos}, in slices as {@link #waitCq}. */
    public boolean waitCmEvent(CmEvent into, long timeoutNanos) throws VerbsException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            enter();
            try {
                long left = deadline - System.nanoTime();
                ring.awaitCmEvent(Math.min(left, WAIT_SLICE_NANOS));
                boolean got = ring.pollCmEvent(into);
                if (got || left <= WAIT_SLICE_NANOS) {
                    return got;
                }
            } finally {
                gate.unlock();
            }
        }
    }

    // ---- requests ----

    private void simple(int op, int arg) throws VerbsException {
        int at = begin(op, 0);
        ring.area().putInt(at + REQ_ARG0, arg);
        ring.call();
    }

    /** Claims the next request slot of an open device and writes the header. */
    private int begin(int op, int flags) throws VerbsException {
        if (closed) {
            throw new VerbsException(ENOTCONN, "device closed");
        }
        if (lost != null) {
            throw lost;
        }
        return ring.begin(op, flags);
    }

    /**
     * One turn of a busy-poll: a spin hint, and every 32nd turn (about a microsecond) a yield. Where the spinner has
     * a core of its own the yield returns at once; where it shares one with dom0's data agent or the peer it waits
     * for, the yield hands the core over within a microsecond instead of at the end of the scheduler's slice. Measured
     * on two cores with two polling guests: never yielding put the p99 at 0.6 ms, yielding every 256th turn (about
     * 11 µs) gave p50 14-16 µs, every 32nd 11 µs.
     */
    public static void spinOrYield(int turn) {
        if ((turn & 31) == 0) {
            Thread.yield();
        } else {
            Thread.onSpinWait();
        }
    }

    /**
     * Submits a raw 112-byte entry as the next request (its id is overwritten) and returns the response status:
     * what a misbehaving frontend does, for tests of the backend's validation.
     */
    int rawRequest(byte[] entry) throws VerbsException {
        int at = begin(0, 0);
        ByteBuffer r = ring.area();
        int id = r.getInt(at + REQ_ID);
        r.put(at, entry, 0, ENTRY_LENGTH);
        r.putInt(at + REQ_ID, id);
        return ring.callForStatus();
    }

    private static long randomAddressBase() {
        long low = 1L << 32;
        long span = (1L << 46) - low;
        return low + (new java.security.SecureRandom().nextLong(span) & -Hypervisor.PAGE_SIZE);
    }

    /** Notifies the backend with no request posted, as a guest that notifies in a loop does (tests). */
    void notifyWithoutRequest() throws VerbsException {
        ring.kick();
    }

    /** The two result words of the last answered request, for tests that build requests by hand. */
    int[] rawResults() {
        return new int[] {ring.response().result0(), ring.response().result1()};
    }

    /** The shared command ring, for tests that break the ring protocol on purpose. */
    SharedRing commandRing() {
        return ring.commands();
    }

    // ---- suspend and resume ----

    /** A verb's body, run holding the gate. */
    private interface Verb<T> {
        T run() throws VerbsException;
    }

    private <T> T guarded(Verb<T> verb) throws VerbsException {
        enter();
        try {
            return verb.run();
        } finally {
            gate.unlock();
        }
    }

    /** Takes the gate, after a suspend that wants it has had it (and the domain runs again). */
    private void enter() {
        while (suspendWanted && !gate.isHeldByCurrentThread()) {
            LockSupport.parkNanos(50_000);
        }
        gate.lock();
    }

    /**
     * The device's part in its domain's suspend (as a xenbus frontend's suspend and resume callbacks). Suspend: waits
     * for the verb under way, then for the backend to answer every request, and takes the events it published; the
     * application's verbs wait from then on. Resume where it was: nothing changed, the verbs go on. Resume on another
     * host: the events the old backend published before it paused are taken from the old rings (the memory came
     * along), then the frontend makes its device again under the same number on the new host, with new rings and a
     * new event channel; the backend there has the device's objects from the engine's migration, so every protection
     * domain, completion queue, queue pair and region (with its keys) goes on as it was, and completions of work posted
     * before the move arrive after it.
     */
    private final class Suspender implements SuspendHandler {

        @Override
        public void suspend() throws XenException {
            suspendWanted = true;
            gate.lock();
            try {
                if (!closed) {
                    ring.quiesce();
                }
            } catch (VerbsException e) {
                suspendWanted = false;
                gate.unlock();
                throw new XenException("vmrdma suspend", e.errno(), e.getMessage());
            }
        }

        @Override
        public void resume(boolean moved) {
            try {
                if (moved && !closed) {
                    reconnect();
                }
            } finally {
                suspendWanted = false;
                gate.unlock();
            }
        }

        private void reconnect() {
            CommandRing old = ring;
            frontend.moved();
            try {
                XenbusFrontend.Connection connection = frontend.connect(false);
                old.handOver(connection.ring());
                old.release(false);
                ring = connection.ring();
                nodeId = connection.nodeId();
            } catch (XenException | VerbsException e) {
                // Every verb that reaches the rings fails from here on: the application sees why.
                lost = new VerbsException(ENOTCONN, "the device did not reconnect after its domain moved: "
                        + e.getMessage());
            }
        }
    }

    // ---- teardown ----

    /**
     * Closes the device through Closing and Closed, as a frontend does; dom0 closes this guest's verbs (queue
     * pairs flushed, peers told) and unmaps everything. Buffers stay allocated until freed.
     */
    @Override
    public void close() {
        enter();
        try {
            if (closed) {
                return;
            }
            closed = true;
            closeQuietly(suspendHandler);
            frontend.close();
            release();
        } finally {
            gate.unlock();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // a registration's close does not fail
        }
    }

    private void release() {
        closed = true;
        if (ring != null) {
            ring.release(false);
        }
        frontend.release();
    }

    @Override
    public String toString() {
        return "vmrdma device of dom " + frontend.domid() + " (" + frontend.hypervisor().kind() + ")";
    }
}
