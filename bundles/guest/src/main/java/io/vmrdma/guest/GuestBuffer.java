package io.vmrdma.guest;

import java.nio.ByteBuffer;

import io.vmrdma.api.xen.SharedPages;

/**
 * Memory the library allocated for RDMA: whole pages the guest granted to dom0. {@link #buffer()} is the
 * application's view; {@link #address()} is the address work requests use for its first byte.
 */
public final class GuestBuffer {

    private final SharedPages pages;
    private final long address;
    private final int length;

    GuestBuffer(SharedPages pages, long address, int length) {
        this.pages = pages;
        this.address = address;
        this.length = length;
    }

    /** The bytes, {@link #length()} long, little-endian. */
    public ByteBuffer buffer() {
        return pages.buffer().slice(0, length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** The address of byte 0 in work requests and as a registered region's address. */
    public long address() {
        return address;
    }

    public int length() {
        return length;
    }

    SharedPages pages() {
        return pages;
    }
}
