/**
 * Xen access for vmrdma: what dom0's backend and a guest's frontend need from the hypervisor, in the shape of
 * Xen 4.17's user-space libraries ({@code libxengnttab}, {@code libxenevtchn}, {@code libxenstore}).
 *
 * <p>A {@link io.vmrdma.api.xen.Hypervisor} is provided either by {@code xen.sim} (a simulated hypervisor for
 * hosts without Xen) or by {@code xen.native} (JNA over Debian's libraries); the engine cannot tell them apart.
 * Failures carry Xen's errno in a {@link io.vmrdma.api.xen.XenException}. A hypervisor that lets dom0 create and
 * destroy guests also provides {@link io.vmrdma.api.xen.DomainControl} (0.2.0). A guest's drivers take part in
 * its suspend and resume for live migration through {@link io.vmrdma.api.xen.SuspendHandler} (0.4.0). An
 * {@link io.vmrdma.api.xen.EventChannel} may give a descriptor to sleep on beside others (0.5.0), and so may a
 * {@link io.vmrdma.api.xen.XenStore} for its fired watches (0.6.0).
 *
 * <h2>Memory lifetime</h2>
 * A {@link io.vmrdma.api.xen.GrantMapping} or {@link io.vmrdma.api.xen.SharedPages} buffer aliases foreign or
 * shared memory. Touching it after {@code close()} is a SIGSEGV that kills the JVM, not an exception; so a
 * provider unregisters its {@code Hypervisor} service before it releases any mapping it handed out, and a
 * consumer stops touching mappings in its unbind and closes them there.
 */
@Export
@Version("0.6.0")
package io.vmrdma.api.xen;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
