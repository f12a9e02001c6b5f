package io.vmrdma.sched.testkit;

/** Told about every frame that leaves on the simulated link. */
@FunctionalInterface
public interface Departure {

    /**
     * @param queue        the VM's queue
     * @param bytes        the frame's length
     * @param arrivedNanos when the frame joined the queue
     * @param leftNanos    when its last byte left the link
     */
    void departed(SimQueue queue, int bytes, long arrivedNanos, long leftNanos);
}
