/**
 * Xen through JNA over Debian's Xen 4.17 libraries: the bindings, the handles implementing the
 * {@code io.vmrdma.api.xen} contracts, and the DS component that registers the native hypervisor. Not exported.
 */
package io.vmrdma.xen.jna.internal;
