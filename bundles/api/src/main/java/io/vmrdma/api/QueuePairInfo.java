package io.vmrdma.api;

import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpState;

/**
 * One queue pair as the engine holds it at one moment, for operators: where it is connected, how full its work
 * queues are and what it has moved.
 *
 * <p>Since 0.3.0 of this package.
 *
 * @param domid          the domain that owns it
 * @param devid          the device of that domain (the guest process's verbs context) that made it; since 0.9.0
 * @param qpn            its queue pair number, unique on this node
 * @param state          its state
 * @param remote         the queue pair it is connected to (any node), or null before RTR
 * @param pkey           its partition key, -1 before it has one
 * @param sendDepth      capacity of its send queue (work requests)
 * @param sendQueued     send work requests posted and not yet completed
 * @param recvDepth      capacity of its receive queue
 * @param recvQueued     receive work requests posted and not yet consumed
 * @param requesterOps   SEND, RDMA WRITE and RDMA READ operations it carried out as requester
 * @param requesterBytes payload bytes of those operations
 * @param recvOps        receives consumed by incoming messages
 * @param recvBytes      bytes placed into its receive buffers
 */
public record QueuePairInfo(int domid, int devid, int qpn, QpState state, QpAddress remote, int pkey, int sendDepth,
                            int sendQueued, int recvDepth, int recvQueued, long requesterOps, long requesterBytes,
                            long recvOps, long recvBytes) {
}
