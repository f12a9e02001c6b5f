/** The deficit round-robin policy's implementation; nothing here is exported. */
package io.vmrdma.sched.drr.internal;
