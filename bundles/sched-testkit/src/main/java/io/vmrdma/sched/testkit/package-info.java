/**
 * A deterministic bench for scheduler policies: a {@link io.vmrdma.sched.testkit.SimulatedLink} with its own clock
 * drives a {@link io.vmrdma.api.sched.Scheduler} the way the engine's data agent does, over per-VM FIFOs of
 * numbered frames, and checks that no frame is lost, duplicated or reordered, also across policy swaps.
 */
package io.vmrdma.sched.testkit;
