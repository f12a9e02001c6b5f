/** The strict-priority policy's implementation; nothing here is exported. */
package io.vmrdma.sched.priority.internal;
