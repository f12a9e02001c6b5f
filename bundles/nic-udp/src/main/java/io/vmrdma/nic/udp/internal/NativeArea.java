package io.vmrdma.nic.udp.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * A direct buffer the kernel reads or writes through a system call, with its native address. Headers are read
 * and written in the machine's byte order through the buffer (an intrinsic, where a JNA {@code Pointer} access is a
 * native call per field); the memory goes with the buffer when it is collected.
 */
final class NativeArea {

    private final ByteBuffer buffer;
    private final long address;

    /** {@code bytes} of zeroed memory, in native byte order (for headers) or big-endian (for frames). */
    NativeArea(int bytes, ByteOrder order) {
        buffer = ByteBuffer.allocateDirect(bytes).order(order);
        address = Pointer.nativeValue(Native.getDirectBufferPointer(buffer));
    }

    ByteBuffer buffer() {
        return buffer;
    }

    /** The native address of byte {@code offset}. */
    long address(int offset) {
        return address + offset;
    }
}
