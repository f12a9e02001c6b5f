/** Counters of the engine: fixed blocks with stable ids, written by one thread, read by any. */
package io.vmrdma.engine.internal.status;
