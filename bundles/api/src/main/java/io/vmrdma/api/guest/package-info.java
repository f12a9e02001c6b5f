/**
 * The guest ABI of vmrdma (docs/guest-abi.md) as Java constants and a flyweight: the XenStore keys of the
 * handshake, the two shared rings in Xen's {@code ring.h} layout and the byte offsets of every request, response
 * and event entry. Both ends use it: the dom0 backend in the engine and the guest library. A C guest uses the
 * document, which is normative; these constants mirror it.
 */
@Export
@Version("0.3.0")
package io.vmrdma.api.guest;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
