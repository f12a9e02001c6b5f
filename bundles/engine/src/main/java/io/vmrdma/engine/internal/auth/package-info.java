/**
 * Frame authentication (docs/wire-protocol.md §8): the cluster secret and the keys derived from it (HKDF over
 * HMAC-SHA256, one key per ordered pair of nodes), the tag every frame carries, this node's epoch and frame counter,
 * and what it keeps per peer to refuse replays (the confirmed epoch, a window of frame counters, the challenge of its
 * last HELLO). The transport ({@code internal.verbs.WireTransport}) decides what to do with a frame; this package
 * only says whether to believe it.
 */
package io.vmrdma.engine.internal.auth;
