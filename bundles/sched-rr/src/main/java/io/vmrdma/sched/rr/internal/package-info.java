/** The round-robin policy's implementation; nothing here is exported. */
package io.vmrdma.sched.rr.internal;
