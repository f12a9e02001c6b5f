/** The raw Ethernet binding's implementation; nothing here is exported. */
package io.vmrdma.nic.packet.internal;
