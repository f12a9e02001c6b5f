package io.vmrdma.api.nic;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The address of a port on its link: a 6-byte MAC for raw Ethernet, an IP address and UDP port for
 * {@code nic.udp}, a small integer for the loopback wire. Immutable; the engine creates one per peer, never one
 * per frame.
 */
public final class LinkAddress {

    private static final HexFormat COLONS = HexFormat.ofDelimiter(":");

    /** The Ethernet broadcast address, {@code ff:ff:ff:ff:ff:ff} (since 0.2.0 of this package). */
    public static final LinkAddress ETHERNET_BROADCAST = new LinkAddress(new byte[] {-1, -1, -1, -1, -1, -1});

    private final byte[] bytes;

    private LinkAddress(byte[] bytes) {
        this.bytes = bytes;
    }

    /**
     * An address made from a copy of the given bytes.
     *
     * @throws IllegalArgumentException if there are no bytes or more than 18 (an IPv6 address and a port)
     */
    public static LinkAddress of(byte... bytes) {
        if (bytes.length == 0 || bytes.length > 18) {
            throw new IllegalArgumentException("a link address has 1 to 18 bytes, not " + bytes.length);
        }
        return new LinkAddress(bytes.clone());
    }

    /**
     * An address written as colon-separated hex bytes, 1 to 18 of them: {@code 02:00:00:00:00:01}, {@code 00:02}.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static LinkAddress parse(String text) {
        byte[] parsed;
        try {
            parsed = COLONS.parseHex(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a link address (colon-separated hex bytes): '" + text + "'");
        }
        return of(parsed);
    }

    /** A 6-byte MAC address written as six colon-separated hex pairs, such as {@code 02:00:00:00:00:01}. */
    public static LinkAddress ofMac(String mac) {
        byte[] parsed = COLONS.parseHex(mac);
        if (parsed.length != 6) {
            throw new IllegalArgumentException("not a MAC address: " + mac);
        }
        return new LinkAddress(parsed);
    }

    /** Number of bytes in this address. */
    public int length() {
        return bytes.length;
    }

    /** The address bytes (a copy). */
    public byte[] toByteArray() {
        return bytes.clone();
    }

    /** Byte {@code index} of the address, without copying. */
    public byte byteAt(int index) {
        return bytes[index];
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof LinkAddress that && Arrays.equals(bytes, that.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** Colon-separated hex, as MAC addresses are written. */
    @Override
    public String toString() {
        return COLONS.formatHex(bytes);
    }
}
