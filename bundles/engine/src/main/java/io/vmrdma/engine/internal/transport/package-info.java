/**
 * The reliable transport between nodes, over whatever NIC binding is bound: the port and the receive path with its
 * validation ({@link io.vmrdma.engine.internal.transport.WireTransport}), the peer table with discovery and liveness
 * ({@link io.vmrdma.engine.internal.transport.PeerTable}, {@link io.vmrdma.engine.internal.transport.Peer}), the
 * requester and responder halves of the protocol and the per-queue-pair state they share
 * ({@link io.vmrdma.engine.internal.transport.WireQp}), and the connection manager's frames
 * ({@link io.vmrdma.engine.internal.transport.CmFrames}). The frame layouts are in {@code internal.wire}.
 *
 * <p>The transport reaches the verbs only through {@link io.vmrdma.engine.internal.transport.WireEndpoint}, a queue
 * pair as the transport sees it (its send work by position, its memory through a cursor positioned after the verbs'
 * own checks, completions), and hands connection-manager frames to the
 * {@link io.vmrdma.engine.internal.transport.WireTransport.ConnectionFrames} handler. Everything here runs on the
 * engine's data agent, except the peer snapshots the console reads.
 */
package io.vmrdma.engine.internal.transport;
