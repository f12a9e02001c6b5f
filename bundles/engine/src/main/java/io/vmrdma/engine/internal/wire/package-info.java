/**
 * The vmrdma wire protocol: frame layouts as flyweights over direct buffers (the authentication trailer among them),
 * and the frame check. The layout is
 * documented byte by byte in docs/wire-protocol.md; the constants here are the source of truth.
 */
package io.vmrdma.engine.internal.wire;
