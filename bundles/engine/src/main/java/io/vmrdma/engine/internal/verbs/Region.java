package io.vmrdma.engine.internal.verbs;

import java.nio.ByteBuffer;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A registered memory region. Every access names a key and an address range; {@link #allows} checks all of it
 * (live, owner, protection domain, access flag, bounds, with no arithmetic overflow) before a byte moves.
 */
final class Region implements MemoryRegion {

    private final Pd pd;
    private final UnsafeBuffer memory;
    private final long address;
    private final int length;
    private final int access;
    private final int lkey;
    private final int rkey;
    private final RegionGrants grants;
    private boolean live = true;

    Region(Pd pd, ByteBuffer memory, long address, int access, int lkey, int rkey, RegionGrants grants) {
        this.grants = grants;
        this.pd = pd;
        this.memory = new UnsafeBuffer(memory, 0, memory.capacity());
        this.address = address;
        this.length = memory.capacity();
        this.access = access;
        this.lkey = lkey;
        this.rkey = rkey;
    }

    /**
     * Whether {@code pd} may reach {@code [start, start + bytes)} of this region with {@code requiredAccess}
     * ({@link AccessFlags} bits; 0 for a local read). Addresses are unsigned 64-bit values, as a guest's are: every
     * comparison is unsigned and written so that no sum can wrap ({@code offset <= length - bytes}).
     */
    boolean allows(Pd requester, long start, long bytes, int requiredAccess) {
        return live
                && requester == pd
                && (access & requiredAccess) == requiredAccess
                && bytes >= 0
                && bytes <= length
                && Long.compareUnsigned(start, address) >= 0
                && Long.compareUnsigned(start - address, length - bytes) <= 0;
    }

    /**
     * Whether a region of {@code length} bytes at {@code address} would reach past the top of the 64-bit address
     * space, where its addresses would wrap to 0 and alias the bottom of it.
     */
    static boolean wraps(long address, long length) {
        return Long.compareUnsigned(address, -length) > 0;
    }

    /** Offset in {@link #memory()} of an address {@link #allows} accepted. */
    int offsetOf(long start) {
        return (int) (start - address);
    }

    UnsafeBuffer memory() {
        return memory;
    }

    boolean isLive() {
        return live;
    }

    /** Ends the region; the engine drops its reference to the memory at once. */
    void kill() {
        live = false;
        memory.wrap(new byte[0]);
    }

    @Override
    public Pd pd() {
        return pd;
    }

    @Override
    public long address() {
        return address;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public int access() {
        return access;
    }

    /** The grants its memory lies over, as the guest's backend registered it. */
    RegionGrants grants() {
        return grants;
    }

    @Override
    public int lkey() {
        return lkey;
    }

    @Override
    public int rkey() {
        return rkey;
    }

    @Override
    public String toString() {
        return "mr lkey=0x" + Integer.toHexString(lkey) + " [0x" + Long.toHexString(address) + ", +" + length + ") "
                + AccessFlags.toString(access);
    }
}
