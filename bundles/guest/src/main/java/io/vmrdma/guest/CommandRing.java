package io.vmrdma.guest;

import static io.vmrdma.api.guest.GuestAbi.*;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.vmrdma.api.guest.SharedRing;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenException;

/**
 * One connection's two shared rings (docs/guest-abi.md): requests go out on the command ring, control verbs wait
 * for their {@link Response}, posts do not (the engine's refusal of a post is kept and thrown by the next post or
 * poll); completions and connection events arrive on the event ring and wait in their completion queue or the CM
 * event queue until the application takes them. Waiting blocks on the event channel, or spins when the device was
 * opened for polling. Made by {@link XenbusFrontend#connect}; a re-attach makes a new one. Mirrors
 * native/src/cmd_ring.c.
 */
final class CommandRing {

    /** How often a polling wait looks at whether the backend is still connected. */
    private static final long CHECK_BACKEND_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** What the backend answered to the last request a caller waited for. */
    static final class Response {
        private boolean answered;
        private int status;
        private int result0;
        private int result1;
        private long result64;

        /** 0, or the negative errno the engine refused the request with. */
        int status() {
            return status;
        }

        int result0() {
            return result0;
        }

        int result1() {
            return result1;
        }

        long result64() {
            return result64;
        }
    }

    private final SharedPages commandPages;
    private final SharedPages eventPages;
    private final SharedRing commands;
    private final SharedRing events;
    private final EventChannel evtchn;
    private final int port;
    private final XenbusFrontend frontend;
    private final GuestDevice.Options options;
    private final boolean[] waiting;
    private final Response response = new Response();
    private final Map<Integer, GuestDevice.Cq> cqs = new HashMap<>();
    private final ArrayDeque<CmEvent> cmEvents = new ArrayDeque<>();
    /** Completions handed back by {@link #recycle}, reused so that steady polling allocates nothing. */
    private final ArrayDeque<WorkCompletion> spare = new ArrayDeque<>();
    private int reqProdPvt;
    private int rspCons;
    private int evtCons;
    private VerbsException deferred;

    CommandRing(SharedPages commandPages, SharedRing commands, SharedPages eventPages, SharedRing events,
                EventChannel evtchn, int port, XenbusFrontend frontend, GuestDevice.Options options) {
        this.commandPages = commandPages;
        this.commands = commands;
        this.eventPages = eventPages;
        this.events = events;
        this.evtchn = evtchn;
        this.port = port;
        this.frontend = frontend;
        this.options = options;
        this.waiting = new boolean[commands.size()];
    }

    /** The command ring's entries, for writing the request {@link #begin} returned the offset of. */
    ByteBuffer area() {
        return commands.area();
    }

    /** The shared command ring itself, for tests that break the ring protocol on purpose. */
    SharedRing commands() {
        return commands;
    }

    /** Where completions of the completion queue {@code cq} go from now on. */
    void track(GuestDevice.Cq cq) {
        cqs.put(cq.handle(), cq);
    }

    void untrack(GuestDevice.Cq cq) {
        cqs.remove(cq.handle());
    }

    /**
     * Claims the next request slot (waiting for one if the ring is full), zeroes it and writes the header; returns
     * its offset in {@link #area()}.
     */
    int begin(int op, int flags) throws VerbsException {
        if (reqProdPvt - rspCons == commands.size()) {
            waitFor(() -> reqProdPvt - rspCons < commands.size(), options.timeoutNanos());
            if (reqProdPvt - rspCons == commands.size()) {
                throw new VerbsException(GuestDevice.ETIMEDOUT, "the command ring stayed full");
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

    /** Publishes the request begun last; {@code wait}: its response is the one {@link #response()} will hold. */
    void submit(boolean wait) throws VerbsException {
        waiting[reqProdPvt & (commands.size() - 1)] = wait;
        reqProdPvt++;
        if (commands.push(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, reqProdPvt)) {
            kick();
        }
    }

    /** Submits the request begun last and waits for its response; a failure status is thrown. */
    Response call() throws VerbsException {
        response.answered = false;
        submit(true);
        waitFor(() -> response.answered, options.timeoutNanos());
        if (!response.answered) {
            throw new VerbsException(GuestDevice.ETIMEDOUT, "no response from the backend");
        }
        if (response.status != 0) {
            throw new VerbsException(-response.status, "refused by the engine (errno " + -response.status + ")");
        }
        return response;
    }

    /** As {@link #call}, but returns the status instead of throwing it: Integer.MIN_VALUE when none came (tests). */
    int callForStatus() throws VerbsException {
        response.answered = false;
        submit(true);
        waitFor(() -> response.answered, options.timeoutNanos());
        return response.answered ? response.status : Integer.MIN_VALUE;
    }

    /** The last response a caller waited for. */
    Response response() {
        return response;
    }

    /** Notifies the backend. */
    void kick() throws VerbsException {
        try {
            evtchn.notify(port);
        } catch (XenException e) {
            throw new VerbsException(GuestDevice.ENOTCONN, "event channel: " + e.getMessage());
        }
    }

    /** Throws, once, the engine's refusal of an earlier post. */
    void throwDeferred() throws VerbsException {
        if (deferred != null) {
            VerbsException e = deferred;
            deferred = null;
            throw e;
        }
    }

    /** Moves the oldest completion of {@code cq} into {@code into}; false when there is none. Never blocks. */
    boolean pollCq(GuestDevice.Cq cq, WorkCompletion into) throws VerbsException {
        if (cq.ready().isEmpty()) {
            reap();
        }
        throwDeferred();
        WorkCompletion wc = cq.ready().poll();
        if (wc == null) {
            return false;
        }
        into.set(wc.wrId(), wc.status(), wc.opcode(), wc.byteLength(), wc.qpn(), wc.withImm(), wc.immData());
        spare.add(wc);
        return true;
    }

    /** Moves the oldest connection event into {@code into}; false when there is none. Never blocks. */
    boolean pollCmEvent(CmEvent into) throws VerbsException {
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

    /** Waits up to {@code timeoutNanos} for a connection event to be queued. */
    void awaitCmEvent(long timeoutNanos) throws VerbsException {
        waitFor(() -> !cmEvents.isEmpty(), timeoutNanos);
    }

    /**
     * Waits until the backend has answered every request, taking every event it published meanwhile: a device that
     * suspends leaves nothing in flight on its rings.
     */
    void quiesce() throws VerbsException {
        waitFor(() -> rspCons == reqProdPvt, options.timeoutNanos());
        if (rspCons != reqProdPvt) {
            throw new VerbsException(GuestDevice.ETIMEDOUT, (reqProdPvt - rspCons) + " requests unanswered");
        }
    }

    /**
     * After the domain moved: takes the events the old host's backend published up to its pause (the guest's memory,
     * these rings included, came along), without notifying it, which is gone; then hands the completion queues, the
     * connection events not yet polled and a post's refusal not yet thrown to {@code next}, the new connection's rings.
     */
    void handOver(CommandRing next) throws VerbsException {
        reap(false);
        next.cqs.putAll(cqs);
        next.cmEvents.addAll(cmEvents);
        if (next.deferred == null) {
            next.deferred = deferred;
        }
    }

    /** Consumes every response and event the backend has published. */
    private void reap() throws VerbsException {
        reap(true);
    }

    /** As {@link #reap()}; {@code credit}: gives the event slots back to the backend (notifying it if it asks). */
    private void reap(boolean credit) throws VerbsException {
        int prod = commands.get(SharedRing.RSP_PROD);
        ByteBuffer r = commands.area();
        while (rspCons != prod) {
            int at = commands.offset(rspCons);
            int s = r.getInt(at + RSP_STATUS);
            if (waiting[rspCons & (commands.size() - 1)]) {
                response.status = s;
                response.result0 = r.getInt(at + RSP_RESULT0);
                response.result1 = r.getInt(at + RSP_RESULT1);
                response.result64 = r.getLong(at + RSP_RESULT64);
                response.answered = true;
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
                GuestDevice.Cq cq = cqs.get(e.getInt(at + WC_CQ));
                if (cq != null) {
                    WorkCompletion free = spare.poll();
                    cq.ready().add((free != null ? free : new WorkCompletion()).set(e.getLong(at + WC_WR_ID),
                            WcStatus.ofCode(e.get(at + WC_STATUS) & 0xFF), wcOpcode(e.getShort(at + WC_OPCODE)),
                            e.getInt(at + WC_BYTE_LENGTH), e.getInt(at + WC_QPN), e.get(at + WC_WITH_IMM) != 0,
                            e.getInt(at + WC_IMM)));
                }
            } else if (type == EVT_CM) {
                cmEvents.add(cmEvent(e, at));
            }
        }
        // Give the slots back as credit.
        if (credit && events.push(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, evtCons + events.size())) {
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
    void waitFor(BooleanSupplier done, long timeoutNanos) throws VerbsException {
        long deadline = System.nanoTime() + timeoutNanos;
        long nextCheck = System.nanoTime() + CHECK_BACKEND_NANOS;
        for (int spins = 1;; spins++) {
            reap();
            if (done.getAsBoolean()) {
                return;
            }
            if (options.polling()) {
                // The clock costs as much as a look at the rings: read it on the first turn and every 64th after.
                // A XenStore read is a round trip: look at the backend's state only now and then.
                if ((spins & 63) == 1) {
                    long now = System.nanoTime();
                    if (deadline - now <= 0) {
                        return;
                    }
                    if (now - nextCheck > 0) {
                        frontend.checkBackend();
                        nextCheck = now + CHECK_BACKEND_NANOS;
                    }
                }
                GuestDevice.spinOrYield(spins);
                continue;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
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
                    frontend.checkBackend();
                }
            } catch (XenException e) {
                throw new VerbsException(GuestDevice.ENOTCONN, "event channel: " + e.getMessage());
            }
        }
    }

    /** Unbinds the event channel (when {@code unbind}) and stops sharing both rings' pages. */
    void release(boolean unbind) {
        if (unbind) {
            try {
                evtchn.unbind(port);
            } catch (XenException e) {
                // the old backend's end is gone; the port goes with it
            }
        }
        closeQuietly(commandPages);
        closeQuietly(eventPages);
    }

    /** Stops sharing {@code pages} (null: nothing); a failure only means dom0 still maps them: revoked later. */
    static void closeQuietly(SharedPages pages) {
        if (pages != null) {
            try {
                pages.close();
            } catch (XenException e) {
                // revoked later by the sharer, once nobody maps them
            }
        }
    }
}
