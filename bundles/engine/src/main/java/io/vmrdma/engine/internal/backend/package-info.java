/**
 * The per-guest backends of the engine (docs/guest-abi.md): the xenbus handshake with each guest's vmrdma
 * frontend, its two shared rings mapped once, the event channel, and the translation of ring requests into the
 * engine's verbs and of completions and connection events back into the guest's event ring. Runs on the data
 * agent; everything a guest writes is copied once and validated before use.
 */
package io.vmrdma.engine.internal.backend;
