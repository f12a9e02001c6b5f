/** Counters of the engine (fixed blocks with stable ids, written by one thread, read by any) and its log budgets. */
package io.vmrdma.engine.internal.status;
