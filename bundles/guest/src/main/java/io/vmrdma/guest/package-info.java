/**
 * The vmrdma guest library: verbs for applications in a guest domain. {@link io.vmrdma.guest.GuestDevice#open}
 * runs the frontend's half of the xenbus handshake with dom0's engine (docs/guest-abi.md); buffers come from the
 * library ({@link io.vmrdma.guest.GuestDevice#allocate}: pages the guest grants) and are then registered; work
 * requests go through the shared command ring and completions come back through the event ring, polled or
 * waited for on the event channel. Plain Java: needs only the API jar and a guest {@code Hypervisor}.
 */
@Export
@Version("0.1.0")
package io.vmrdma.guest;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
