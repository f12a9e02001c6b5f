/**
 * The {@code nic.udp} binding's public part: how a UDP endpoint is written as a
 * {@link io.vmrdma.api.nic.LinkAddress} ({@link io.vmrdma.nic.udp.UdpAddress}), for peer tables and tools. The
 * binding itself is a DS component in an internal package, reached through the {@code NicPort} service.
 */
@Export
@Version("0.1.0")
package io.vmrdma.nic.udp;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
