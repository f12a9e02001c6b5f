/**
 * The contract between the protocol engine and a NIC driver binding ({@code nic.packet}, {@code nic.udp},
 * {@code nic.loopback}).
 *
 * <h2>Who calls whom</h2>
 * A binding has no thread of its own: the engine's duty cycle calls {@link io.vmrdma.api.nic.NicPort#poll} to
 * receive a batch and {@link io.vmrdma.api.nic.NicPort#tryClaim} / {@link io.vmrdma.api.nic.NicPort#commit} /
 * {@link io.vmrdma.api.nic.NicPort#flush} to send one. A port is used by one engine thread at a time.
 *
 * <h2>Idle</h2>
 * When the engine has nothing to do it calls {@link io.vmrdma.api.nic.NicPort#awaitFrames} (since 0.6.0): a binding
 * over a socket sleeps on the socket's readiness, so an idle engine costs no wake-ups while frames still end its
 * sleep at once. {@link io.vmrdma.api.nic.NicPort#awaitFramesOr} (since 0.9.0) waits on the socket and one more
 * descriptor together, the hypervisor's event channel, so an engine that serves guests too sleeps until either
 * speaks. A binding whose waits another thread can end says so through
 * {@link io.vmrdma.api.nic.NicPort#wakeable()} and ends them in {@link io.vmrdma.api.nic.NicPort#wake()} (since
 * 0.10.0): the engine then sleeps there until its next timer (a second when it has nothing to serve) and wakes the
 * port when a command comes; on other bindings its sleeps stay short.
 *
 * <h2>Who owns the buffers</h2>
 * The binding owns every frame buffer (its PACKET_MMAP ring, its datagram staging area). It lends the engine a
 * window into one for the length of a callback or a claim and never touches the window while it is lent. The
 * engine copies payload straight between guest memory and that window, so a frame is written once. A binding that
 * sends a batch of preallocated slots per flush keeps its claims, commits and unsent frames in a
 * {@link io.vmrdma.api.nic.TransmitBatch} (since 0.4.0), shared by nic.udp and nic.packet.
 *
 * <h2>Gather</h2>
 * A binding that can send a frame in pieces says so through {@link io.vmrdma.api.nic.NicPort#gathers()} (since
 * 0.8.0): the engine then commits a data frame as its header and trailer in the window and its payload where it lies
 * in registered memory ({@link io.vmrdma.api.nic.NicPort#commitGather}), and the kernel reads the payload from there,
 * so the engine does not copy it. Other bindings take the same call and copy the payload into the window.
 *
 * <h2>Broadcast</h2>
 * A binding whose link has a broadcast address says so through {@link io.vmrdma.api.nic.NicPort#broadcastAddress()}
 * (since 0.2.0): a frame claimed to that address reaches every other port on the segment, and the engine uses it
 * to discover peers. A binding without one (UDP) leaves it empty: its peers come from the static peer table only.
 *
 * <h2>Counters</h2>
 * A binding counts what it drops before the engine sees it (frames cut short, too long, for another host; the
 * kernel's own drops) and the calls that fail, and reports them by name through
 * {@link io.vmrdma.api.nic.NicPort#bindingCounters()} (since 0.3.0) for the console.
 *
 * <h2>Receive timestamps</h2>
 * A binding whose kernel stamps received frames says how long each one waited before the poll that read it
 * ({@link io.vmrdma.api.nic.NicPort#frameWaitNanos()}, since 0.7.0), so the engine's round trips leave out the time
 * its own thread was away.
 *
 * <h2>Hot swap</h2>
 * A binding's bundle may stop at any time. It unregisters its {@code NicPort} service first; the engine, in its
 * unbind, stops using the port and releases every window before the binding frees its buffers.
 */
@Export
@Version("0.10.0")
package io.vmrdma.api.nic;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
