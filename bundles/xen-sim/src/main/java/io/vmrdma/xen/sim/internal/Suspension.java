package io.vmrdma.xen.sim.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * A domain's suspend, as the toolstack and the guest go through it: the toolstack asks ({@code control/shutdown} =
 * {@code suspend}), the guest's kernel acknowledges with {@link SimAbi#OP_SCHED_SUSPEND}, and that hypercall is
 * answered only when the toolstack resumes the domain, where it was or on another host.
 */
final class Suspension {

    private SimIo.SimConnection caller;
    private int reqId;
    private boolean answered;

    /** The guest suspended through {@code c}'s request {@code id}; false when it had done so already. */
    synchronized boolean suspended(SimIo.SimConnection c, int id) {
        if (caller != null || answered) {
            return false;
        }
        caller = c;
        reqId = id;
        notifyAll();
        return true;
    }

    /** Waits up to {@code millis} for the guest to suspend. */
    synchronized boolean awaitSuspended(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (caller == null) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    /** Resumes the guest where it was: its suspend hypercall returns {@link SimAbi#SUSPEND_CANCELLED}. */
    void cancel() {
        answer(SimAbi.SUSPEND_CANCELLED, "");
    }

    /** Resumes the guest on another host, whose domain directory it is now to use. */
    void moved(String domainDirectory) {
        answer(SimAbi.SUSPEND_MOVED, domainDirectory);
    }

    private synchronized void answer(int result, String directory) {
        if (answered || caller == null) {
            answered = true;
            return;
        }
        answered = true;
        byte[] path = directory.getBytes(StandardCharsets.UTF_8);
        ByteBuffer reply = ByteBuffer.allocate(4 + path.length).order(ByteOrder.LITTLE_ENDIAN);
        reply.putInt(result).put(path);
        caller.send(SimAbi.OP_SCHED_SUSPEND, reqId, 0, reply.array());
    }
}
