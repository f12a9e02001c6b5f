package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;

/**
 * A test's hypervisor on the destination of a migration: it has every domain, and each region arrives in a copy of
 * the source's memory taken while the domain is paused, as Xen's stop-and-copy moves a guest's pages. Tests say
 * where a region's memory lies and keep the copy; what arrives and what is abandoned is theirs.
 */
abstract class CopiedMemoryArrival implements DomainArrival {

    /** The memory on the source that the region registered at {@code address} lies in, whole. */
    abstract ByteBuffer sourceMemory(long address);

    /** The region registered at {@code address} lies in {@code copy} from now on. */
    abstract void copied(long address, ByteBuffer copy);

    @Override
    public boolean hosts(int domid, String name) {
        return true;
    }

    @Override
    public ByteBuffer regionMemory(int domid, String name, long address, int length, int access,
                                   RegionGrants grants) {
        ByteBuffer copy = ByteBuffer.allocateDirect(length);
        copy.put(sourceMemory(address).duplicate().clear());
        copy.clear();
        copied(address, copy);
        return copy;
    }
}
