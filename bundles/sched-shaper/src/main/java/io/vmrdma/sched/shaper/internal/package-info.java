/** The token-bucket shaper's implementation; nothing here is exported. */
package io.vmrdma.sched.shaper.internal;
