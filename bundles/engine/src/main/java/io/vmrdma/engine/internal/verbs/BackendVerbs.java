package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;

import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.VerbsException;

/**
 * What a guest's backend needs of a device beyond verbs, so that the device can migrate: registrations that say which
 * grants their memory is, and completion queues named by the handles a migration keeps.
 */
public interface BackendVerbs {

    /** As {@code regMr}, over the memory of {@code grants}. */
    MemoryRegion regMr(ProtectionDomain pd, ByteBuffer memory, long address, int access, RegionGrants grants)
            throws VerbsException;

    /** The handle a completion queue of this device keeps wherever the device goes. */
    int handleOf(CompletionQueue cq);

    /** The grants a region of this device lies over, as it was registered. */
    RegionGrants grantsOf(MemoryRegion region);

    /** The device's number in its domain. */
    int devid();
}
