package io.vmrdma.engine.internal.verbs;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;

/**
 * A completion queue: a bounded ring of completions kept in parallel arrays, so completing and polling allocate
 * nothing. A completion that finds the ring full overflows it: as in verbs that is an asynchronous error, the
 * queue stops accepting completions and the engine moves its queue pairs to ERR.
 */
final class Cq implements CompletionQueue {

    private static final WcStatus[] STATUSES = WcStatus.values();
    private static final WcOpcode[] OPCODES = WcOpcode.values();

    private final DeviceVerbs owner;
    private final int handle;
    private final int depth;
    private final long[] wrIds;
    private final byte[] statuses;
    private final byte[] opcodes;
    private final int[] byteLengths;
    private final int[] qpns;
    private final int[] imms;
    private final boolean[] withImm;
    private long head;
    private long tail;
    private boolean overflowed;
    /** Whether the engine has already moved this queue's queue pairs to ERR for its overflow. */
    boolean overflowHandled;
    int users;
    boolean live = true;

    Cq(DeviceVerbs owner, int handle, int depth) {
        this.owner = owner;
        this.handle = handle;
        this.depth = depth;
        wrIds = new long[depth];
        statuses = new byte[depth];
        opcodes = new byte[depth];
        byteLengths = new int[depth];
        qpns = new int[depth];
        imms = new int[depth];
        withImm = new boolean[depth];
    }

    DeviceVerbs owner() {
        return owner;
    }

    int handle() {
        return handle;
    }

    @Override
    public int depth() {
        return depth;
    }

    boolean overflowed() {
        return overflowed;
    }

    int size() {
        return (int) (tail - head);
    }

    /**
     * Appends a completion and counts it at the queue pair's level.
     *
     * @return false when the queue overflowed (now or before): the completion is lost and the caller must move the
     *         queue pairs on this queue to ERR
     */
    boolean complete(Qp qp, long wrId, WcStatus status, WcOpcode opcode, int byteLength, boolean hasImm, int imm) {
        qp.counters().increment(Counter.completions(status));
        if (overflowed || tail - head == depth) {
            if (!overflowed) {
                overflowed = true;
                qp.counters().increment(Counter.CQ_OVERFLOWS);
            }
            return false;
        }
        int i = (int) (tail % depth);
        wrIds[i] = wrId;
        statuses[i] = (byte) status.ordinal();
        opcodes[i] = (byte) opcode.ordinal();
        byteLengths[i] = byteLength;
        qpns[i] = qp.address().qpn();
        withImm[i] = hasImm;
        imms[i] = imm;
        tail++;
        owner.eventAdded();
        return true;
    }

    /** The {@code k}-th completion waiting to be polled (0: the oldest), copied into {@code into}. */
    void peek(int k, WorkCompletion into) {
        int i = (int) ((head + k) % depth);
        into.set(wrIds[i], STATUSES[statuses[i]], OPCODES[opcodes[i]], byteLengths[i], qpns[i], withImm[i], imms[i]);
    }

    /** Appends a completion carried over from another node, as it was; false when the queue is full. */
    boolean restore(WorkCompletion wc) {
        if (tail - head == depth) {
            return false;
        }
        int i = (int) (tail % depth);
        wrIds[i] = wc.wrId();
        statuses[i] = (byte) wc.status().ordinal();
        opcodes[i] = (byte) wc.opcode().ordinal();
        byteLengths[i] = wc.byteLength();
        qpns[i] = wc.qpn();
        withImm[i] = wc.withImm();
        imms[i] = wc.immData();
        tail++;
        return true;
    }

    /** The queue overflowed on the node the domain came from: it stays overflowed here. */
    void restoreOverflow() {
        overflowed = true;
        overflowHandled = true;
    }

    /** Nothing is polled from a paused domain: its completions travel with it. */
    @Override
    public boolean poll(WorkCompletion into) {
        if (head == tail || owner.paused()) {
            return false;
        }
        int i = (int) (head % depth);
        into.set(wrIds[i], STATUSES[statuses[i]], OPCODES[opcodes[i]], byteLengths[i], qpns[i], withImm[i], imms[i]);
        head++;
        return true;
    }

    @Override
    public String toString() {
        return "cq " + handle + " of dom " + owner.domid() + " (" + size() + "/" + depth + ")";
    }
}
