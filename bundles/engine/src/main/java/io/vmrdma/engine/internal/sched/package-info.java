/**
 * Which scheduling policy the engine's send scheduler runs, and each domain's scheduling settings: the policy
 * selection ({@code io.vmrdma.sched}), the per-VM settings book ({@code io.vmrdma.sched.vm}), the console's control
 * service, and the {@link io.vmrdma.engine.internal.verbs.SchedulerSource} the verbs engine builds its scheduler from.
 *
 * <p>The same convention as {@link io.vmrdma.engine.internal.config}: {@code *Config} is the metatype annotation
 * interface (what the operator may write, with its defaults), {@code *Settings} the checked, immutable values parsed
 * from the raw properties as a whole ({@link io.vmrdma.engine.internal.sched.SchedulingSettings},
 * {@link io.vmrdma.engine.internal.sched.DomainSettings} per domain); a refused file leaves the settings in force.
 */
package io.vmrdma.engine.internal.sched;
