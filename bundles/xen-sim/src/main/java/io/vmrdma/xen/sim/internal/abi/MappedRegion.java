package io.vmrdma.xen.sim.internal.abi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.sun.jna.Pointer;

/** A range of this process's address space mapped with mmap; {@link #close()} unmaps it. */
public final class MappedRegion implements AutoCloseable {

    private final long address;
    private final long length;
    private boolean closed;

    MappedRegion(long address, long length) {
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }

    /** A direct buffer in native order over {@code length} bytes at {@code offset}; valid until close. */
    public ByteBuffer buffer(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > this.length) {
            throw new IndexOutOfBoundsException(offset + "+" + length + " outside a region of " + this.length);
        }
        return new Pointer(address + offset).getByteBuffer(0, length).order(ByteOrder.nativeOrder());
    }

    /** Unmaps the region; any buffer over it must not be touched afterwards. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            LibC.munmap(new Pointer(address), length);
        }
    }
}
