package io.vmrdma.nic.udp.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

import io.vmrdma.api.nic.LinkAddress;

/**
 * The two translations a UDP port makes for every frame, between a {@link LinkAddress} and the kernel's
 * {@code struct sockaddr_in} / {@code sockaddr_in6} in native memory: a destination is written straight from the
 * link address's bytes (nothing to look up, nothing allocated), and a sender is found by its bytes in a table of the
 * link addresses already made, so a datagram from a known sender costs a probe, a burst from one sender a compare.
 *
 * <p>An IPv6 socket speaks to IPv4 peers through mapped addresses ({@code ::ffff:192.0.2.1}); their link
 * addresses stay 6 bytes both ways. The table holds at most {@code capacity} senders, so datagrams from spoofed or
 * scanning sources cannot grow it; past that, a sender's link address is made afresh for each datagram (allocating)
 * and {@link #uncached()} counts it.
 *
 * <pre>
 *  sockaddr_in  (16): family u16 (host order) | port u16 (big-endian) | address 4 | zero 8
 *  sockaddr_in6 (28): family u16 (host order) | port u16 (big-endian) | flow info 4 | address 16 | scope id u32
 * </pre>
 */
final class Endpoints {

    /** Room for either socket address, 8-byte aligned. */
    static final int SOCKADDR_ROOM = 32;
    static final int SOCKADDR_IN_SIZE = 16;
    static final int SOCKADDR_IN6_SIZE = 28;
    private static final int FAMILY = 0;
    private static final int PORT = 2;
    private static final int IN_ADDRESS = 4;
    private static final int IN6_FLOW_INFO = 4;
    private static final int IN6_ADDRESS = 8;
    private static final int IN6_SCOPE_ID = 24;
    /** Where an IPv4 address sits in its mapped IPv6 form, after ten zero bytes and ff:ff. */
    private static final int MAPPED_IPV4 = 12;

    private final boolean ipv6;
    private final int scopeId;
    private final int capacity;
    private final int mask;
    private final LinkAddress[] senders;
    private int size;
    private LinkAddress lastSender;
    private long uncached;

    /**
     * @param ipv6     whether the socket is IPv6 (and so reaches IPv4 peers through mapped addresses)
     * @param scopeId  the interface index link-local IPv6 destinations go out of, 0 when the port has none
     * @param capacity senders whose link addresses are kept
     */
    Endpoints(boolean ipv6, int scopeId, int capacity) {
        this.ipv6 = ipv6;
        this.scopeId = scopeId;
        this.capacity = capacity;
        int tableSize = Integer.highestOneBit(Math.max(2, capacity) * 2 - 1) << 1;
        mask = tableSize - 1;
        senders = new LinkAddress[tableSize];
    }

    /**
     * Whether this port can send to {@code destination}: not if it is not 6 or 18 bytes, has port 0, is IPv6 on an
     * IPv4 socket, or is link-local while the port has no scope (the kernel would need one to pick the interface).
     */
    boolean routable(LinkAddress destination) {
        int length = destination.length();
        boolean v6 = length == 18;
        return (length == 6 || v6 && ipv6) && port(destination) != 0 && !(isLinkLocal(destination) && scopeId == 0);
    }

    /** Writes the socket address of a {@link #routable} {@code destination} at {@code at}; returns its length. */
    int writeDestination(LinkAddress destination, ByteBuffer area, int at) {
        int length = destination.length();
        boolean v6 = length == 18;
        int port = port(destination);
        boolean linkLocal = isLinkLocal(destination);
        area.put(at + PORT, (byte) (port >>> 8)).put(at + PORT + 1, (byte) port);
        if (!ipv6) {
            area.putShort(at + FAMILY, (short) UdpConstants.AF_INET);
            for (int i = 0; i < 4; i++) {
                area.put(at + IN_ADDRESS + i, destination.byteAt(i));
            }
            area.putLong(at + IN_ADDRESS + 4, 0);
            return SOCKADDR_IN_SIZE;
        }
        area.putShort(at + FAMILY, (short) UdpConstants.AF_INET6).putInt(at + IN6_FLOW_INFO, 0);
        if (v6) {
            for (int i = 0; i < 16; i++) {
                area.put(at + IN6_ADDRESS + i, destination.byteAt(i));
            }
        } else {
            area.putLong(at + IN6_ADDRESS, 0).putShort(at + IN6_ADDRESS + 8, (short) 0)
                    .putShort(at + IN6_ADDRESS + 10, (short) 0xFFFF);
            for (int i = 0; i < 4; i++) {
                area.put(at + IN6_ADDRESS + MAPPED_IPV4 + i, destination.byteAt(i));
            }
        }
        area.putInt(at + IN6_SCOPE_ID, linkLocal ? scopeId : 0);
        return SOCKADDR_IN6_SIZE;
    }

    /** The link address of the sender whose socket address the kernel wrote at {@code at}. */
    LinkAddress source(ByteBuffer area, int at) {
        int ipAt;
        int ipLength;
        if ((area.getShort(at + FAMILY) & 0xFFFF) != UdpConstants.AF_INET6) {
            ipAt = at + IN_ADDRESS;
            ipLength = 4;
        } else if (isMappedIpv4(area, at + IN6_ADDRESS)) {
            ipAt = at + IN6_ADDRESS + MAPPED_IPV4;
            ipLength = 4;
        } else {
            ipAt = at + IN6_ADDRESS;
            ipLength = 16;
        }
        int portAt = at + PORT;
        if (lastSender != null && matches(lastSender, area, ipAt, ipLength, portAt)) {
            return lastSender;
        }
        int hash = area.getShort(portAt);
        for (int i = 0; i < ipLength; i += 4) {
            hash = hash * 0x9E37_79B9 + area.getInt(ipAt + i);
        }
        int index = (hash ^ hash >>> 16) & mask;
        LinkAddress entry;
        while ((entry = senders[index]) != null && !matches(entry, area, ipAt, ipLength, portAt)) {
            index = (index + 1) & mask;
        }
        if (entry == null) {
            entry = linkAddress(area, ipAt, ipLength, portAt);
            if (size < capacity) {
                senders[index] = entry;
                size++;
            } else {
                uncached++;
            }
        }
        lastSender = entry;
        return entry;
    }

    /** Datagrams whose sender could not be kept because the table was full. */
    long uncached() {
        return uncached;
    }

    /** Writes {@code endpoint} (to bind to) at {@code at} as the family of the socket; returns its length. */
    static int writeBindAddress(InetSocketAddress endpoint, boolean ipv6, ByteBuffer area, int at) {
        byte[] ip = endpoint.getAddress().getAddress();
        int port = endpoint.getPort();
        area.put(at + PORT, (byte) (port >>> 8)).put(at + PORT + 1, (byte) port);
        if (!ipv6) {
            area.putShort(at + FAMILY, (short) UdpConstants.AF_INET).put(at + IN_ADDRESS, ip).putLong(at + 8, 0);
            return SOCKADDR_IN_SIZE;
        }
        area.putShort(at + FAMILY, (short) UdpConstants.AF_INET6).putInt(at + IN6_FLOW_INFO, 0)
                .put(at + IN6_ADDRESS, ip)
                .putInt(at + IN6_SCOPE_ID, endpoint.getAddress() instanceof Inet6Address v6 ? v6.getScopeId() : 0);
        return SOCKADDR_IN6_SIZE;
    }

    /** The socket address the kernel wrote at {@code at} (as getsockname does), with its IPv6 scope. */
    static InetSocketAddress readSocketAddress(ByteBuffer area, int at) {
        int port = (area.get(at + PORT) & 0xFF) << 8 | area.get(at + PORT + 1) & 0xFF;
        boolean v6 = (area.getShort(at + FAMILY) & 0xFFFF) == UdpConstants.AF_INET6;
        byte[] ip = new byte[v6 ? 16 : 4];
        area.get(at + (v6 ? IN6_ADDRESS : IN_ADDRESS), ip);
        try {
            int scope = v6 ? area.getInt(at + IN6_SCOPE_ID) : 0;
            InetAddress address = scope != 0 ? Inet6Address.getByAddress(null, ip, scope)
                    : InetAddress.getByAddress(ip);
            return new InetSocketAddress(address, port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("the kernel wrote a socket address of " + ip.length + " bytes", e);
        }
    }

    private static int port(LinkAddress link) {
        int n = link.length();
        return n < 2 ? 0 : (link.byteAt(n - 2) & 0xFF) << 8 | link.byteAt(n - 1) & 0xFF;
    }

    /** Whether an 18-byte link address is an IPv6 link-local (fe80::/10) endpoint. */
    private static boolean isLinkLocal(LinkAddress link) {
        return link.length() == 18 && link.byteAt(0) == (byte) 0xFE && (link.byteAt(1) & 0xC0) == 0x80;
    }

    private static boolean isMappedIpv4(ByteBuffer area, int address) {
        return area.getLong(address) == 0 && area.getShort(address + 8) == 0 && area.getShort(address + 10) == -1;
    }

    private static boolean matches(LinkAddress link, ByteBuffer area, int ipAt, int ipLength, int portAt) {
        if (link.length() != ipLength + 2) {
            return false;
        }
        for (int i = 0; i < ipLength; i++) {
            if (link.byteAt(i) != area.get(ipAt + i)) {
                return false;
            }
        }
        return link.byteAt(ipLength) == area.get(portAt) && link.byteAt(ipLength + 1) == area.get(portAt + 1);
    }

    private static LinkAddress linkAddress(ByteBuffer area, int ipAt, int ipLength, int portAt) {
        byte[] bytes = new byte[ipLength + 2];
        area.get(ipAt, bytes, 0, ipLength);
        bytes[ipLength] = area.get(portAt);
        bytes[ipLength + 1] = area.get(portAt + 1);
        return LinkAddress.of(bytes);
    }
}
