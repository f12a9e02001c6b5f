/**
 * The scheduler-policy SPI: how dom0 shares the wire (and its own copy time) between guest domains.
 *
 * <p>The engine keeps one {@link io.vmrdma.api.sched.TransmitQueue} per VM with work. It tells the active
 * {@link io.vmrdma.api.sched.Scheduler} when a queue becomes {@link io.vmrdma.api.sched.Scheduler#backlogged
 * backlogged} or {@link io.vmrdma.api.sched.Scheduler#idle idle}, asks it for the {@link
 * io.vmrdma.api.sched.Scheduler#next next turn} (which queue, how many bytes), and reports what was {@link
 * io.vmrdma.api.sched.Scheduler#sent sent}. Time comes in as an argument (an injected clock), so policies are
 * tested deterministically and never read the wall clock. A decision should cost O(1) or O(log n) in the number
 * of backlogged queues and allocate nothing.
 *
 * <p>Order within a queue pair is the engine's: a policy only chooses between VMs, never reorders one VM's frames.
 * All calls come from the engine's scheduling thread; a scheduler needs no locks.
 *
 * <p>A {@link io.vmrdma.api.sched.TransmitShaper} (since 0.2) wraps the active ordering policy's scheduler with
 * per-VM rate caps. {@link io.vmrdma.api.sched.SchedulingControl} (since 0.2) is the engine's handle for the
 * console: policies, the shaper switch and per-VM settings by domain name.
 */
@Export
@Version("0.2.0")
package io.vmrdma.api.sched;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
