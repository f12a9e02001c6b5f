/**
 * Congestion control: how many payload bytes this node may have unacknowledged towards each peer, from what that
 * peer's acknowledgements say (round trips, losses, a receiver asking senders to back off). The transport asks a
 * {@link io.vmrdma.engine.internal.congestion.CongestionControl} per peer and tells it what happened; which algorithm
 * answers is chosen by {@link io.vmrdma.engine.internal.congestion.CongestionSettings}, so another one is added here
 * without touching the transport. The send scheduler still decides which domain's frames go next; congestion
 * control only decides how much may be on the way to each peer.
 */
package io.vmrdma.engine.internal.congestion;
