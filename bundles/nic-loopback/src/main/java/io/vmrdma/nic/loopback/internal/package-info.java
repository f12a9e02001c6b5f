/** The loopback binding's implementation; nothing here is exported. */
package io.vmrdma.nic.loopback.internal;
