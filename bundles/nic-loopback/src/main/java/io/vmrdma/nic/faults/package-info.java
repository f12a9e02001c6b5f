/**
 * Fault injection for any NIC binding: a {@link io.vmrdma.nic.faults.FaultyNicPort} wraps a port and, per
 * direction, loses, duplicates, reorders, corrupts and delays frames, from a seed, so a failing run can be repeated.
 * Meant for tests and for trying a deployment against a bad wire.
 */
@Export
@Version("0.3.0")
package io.vmrdma.nic.faults;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
