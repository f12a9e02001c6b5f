package io.vmrdma.engine.internal.verbs;

import java.nio.charset.StandardCharsets;

import io.vmrdma.engine.internal.wire.Frame;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The byte layout of a {@link DomainImage}: little-endian fields one after the other. Writing grows the buffer;
 * reading checks every field against the end of what arrived, since the image comes from the wire: a short or
 * lying image ends in {@link Truncated}, never in a read past its end.
 */
final class ImageBuffer {

    /** The image ended before a field it announced. */
    static final class Truncated extends Exception {
        private static final long serialVersionUID = 1L;

        Truncated(int at) {
            super("the domain image ends before byte " + at);
        }
    }

    private final ExpandableArrayBuffer out;
    private final DirectBuffer in;
    private final int end;
    private int at;

    private ImageBuffer(ExpandableArrayBuffer out, DirectBuffer in, int end) {
        this.out = out;
        this.in = in;
        this.end = end;
    }

    static ImageBuffer writer() {
        return new ImageBuffer(new ExpandableArrayBuffer(4096), null, 0);
    }

    static ImageBuffer reader(byte[] image) {
        return new ImageBuffer(null, new UnsafeBuffer(image), image.length);
    }

    byte[] bytes() {
        byte[] copy = new byte[at];
        out.getBytes(0, copy);
        return copy;
    }

    ImageBuffer u8(int v) {
        out.putByte(at, (byte) v);
        at += 1;
        return this;
    }

    ImageBuffer u16(int v) {
        out.putShort(at, (short) v, Frame.ORDER);
        at += 2;
        return this;
    }

    ImageBuffer u32(int v) {
        out.putInt(at, v, Frame.ORDER);
        at += 4;
        return this;
    }

    ImageBuffer u64(long v) {
        out.putLong(at, v, Frame.ORDER);
        at += 8;
        return this;
    }

    ImageBuffer text(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        u16(utf8.length);
        out.putBytes(at, utf8);
        at += utf8.length;
        return this;
    }

    private int take(int n) throws Truncated {
        if (n > end - at) {
            throw new Truncated(at + n);
        }
        int from = at;
        at += n;
        return from;
    }

    int u8() throws Truncated {
        return in.getByte(take(1)) & 0xFF;
    }

    int u16() throws Truncated {
        return in.getShort(take(2), Frame.ORDER) & 0xFFFF;
    }

    int u32() throws Truncated {
        return in.getInt(take(4), Frame.ORDER);
    }

    long u64() throws Truncated {
        return in.getLong(take(8), Frame.ORDER);
    }

    /** A count of entries of at least {@code entryBytes} each: no larger than the rest of the image could hold. */
    int count(int entryBytes) throws Truncated {
        int n = u32();
        if (n < 0 || (long) n * entryBytes > end - at) {
            throw new Truncated(at + (int) Math.min(Integer.MAX_VALUE, (long) Math.max(n, 1) * entryBytes));
        }
        return n;
    }

    String text() throws Truncated {
        int length = u16();
        byte[] utf8 = new byte[length];
        in.getBytes(take(length), utf8);
        return new String(utf8, StandardCharsets.UTF_8);
    }

    boolean atEnd() {
        return at == end;
    }
}
