/** The UDP binding's implementation; nothing here is exported. */
package io.vmrdma.nic.udp.internal;
