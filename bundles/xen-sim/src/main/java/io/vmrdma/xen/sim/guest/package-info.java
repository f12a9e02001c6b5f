/**
 * The guest side of the simulated hypervisor, in plain Java: {@link io.vmrdma.xen.sim.guest.SimGuest} gives a
 * guest process the same {@link io.vmrdma.api.xen.Hypervisor} contract dom0 has, {@link
 * io.vmrdma.xen.sim.guest.GuestMain} is the launcher a guest process runs, and {@link
 * io.vmrdma.xen.sim.guest.SimAbi} names the files, sockets and message numbers of {@code docs/sim-abi.md}.
 * Usable outside OSGi (needs the API jar and JNA on the class path).
 */
@Export
@Version("0.2.0")
package io.vmrdma.xen.sim.guest;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
