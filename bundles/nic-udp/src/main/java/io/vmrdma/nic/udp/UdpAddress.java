package io.vmrdma.nic.udp;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

import io.vmrdma.api.nic.LinkAddress;

/**
 * The link address of a {@code nic.udp} port: the IP address in network order (4 bytes for IPv4, 16 for IPv6)
 * followed by the UDP port, 2 bytes big-endian; 6 or 18 bytes in all. {@code 127.0.0.1:4792} is
 * {@code 7f:00:00:01:12:b8}.
 *
 * <p>An IPv6 scope (the {@code %eth0} of a link-local address) is not part of the address: a port sends to
 * link-local peers through the interface of its own bind address.
 */
public final class UdpAddress {

    /** Bytes in the address of an IPv4 endpoint. */
    public static final int IPV4_LENGTH = 6;
    /** Bytes in the address of an IPv6 endpoint. */
    public static final int IPV6_LENGTH = 18;

    private UdpAddress() {
    }

    /** The link address of a socket address with a resolved IP address. */
    public static LinkAddress of(InetSocketAddress endpoint) {
        InetAddress ip = endpoint.getAddress();
        if (ip == null) {
            throw new IllegalArgumentException("not a resolved address: " + endpoint);
        }
        byte[] address = ip.getAddress();
        byte[] bytes = new byte[address.length + 2];
        System.arraycopy(address, 0, bytes, 0, address.length);
        bytes[address.length] = (byte) (endpoint.getPort() >>> 8);
        bytes[address.length + 1] = (byte) endpoint.getPort();
        return LinkAddress.of(bytes);
    }

    /**
     * The link address of an endpoint written {@code 192.0.2.1:4792} or {@code [fe80::1]:4792}; the IP address
     * must be a literal (no name is looked up) and a scope, if any, is dropped.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static LinkAddress parse(String endpoint) {
        int colon = endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1) {
            throw new IllegalArgumentException("not an endpoint (address:port): '" + endpoint + "'");
        }
        String host = endpoint.substring(0, colon);
        boolean bracketed = host.startsWith("[") && host.endsWith("]");
        if (bracketed) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("write an IPv6 endpoint as [address]:port, not '" + endpoint + "'");
        }
        int port;
        try {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("not a UDP port (1..65535) in '" + endpoint + "'");
        }
        return of(new InetSocketAddress(literal(host), port));
    }

    /**
     * An IP address literal, never looked up by name.
     *
     * @throws IllegalArgumentException when {@code text} is not one
     */
    public static InetAddress literal(String text) {
        String address = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        int scope = address.indexOf('%');
        String bare = scope < 0 ? address : address.substring(0, scope);
        boolean v4 = isDottedQuad(bare);
        boolean v6 = bare.indexOf(':') >= 0 && bare.chars().allMatch(c -> c == ':' || c == '.'
                || Character.digit(c, 16) >= 0);
        if (!v4 && !v6 || v4 && scope >= 0) {
            throw new IllegalArgumentException("not an IP address literal: '" + text + "'");
        }
        try {
            // With only digits, dots, colons and hex, getByName parses and never asks a resolver.
            return InetAddress.getByName(address);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address literal: '" + text + "' (" + e.getMessage() + ")");
        }
    }

    private static boolean isDottedQuad(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')
                    || Integer.parseInt(part) > 255) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code address} has the length of a UDP endpoint's link address. */
    public static boolean isUdp(LinkAddress address) {
        return address.length() == IPV4_LENGTH || address.length() == IPV6_LENGTH;
    }

    /** The UDP port of a {@code nic.udp} link address. */
    public static int port(LinkAddress address) {
        requireUdp(address);
        int n = address.length();
        return (address.byteAt(n - 2) & 0xFF) << 8 | address.byteAt(n - 1) & 0xFF;
    }

    /**
     * The socket address a {@code nic.udp} link address stands for; a link-local IPv6 address gets
     * {@code scopeId} (0 for none).
     */
    public static InetSocketAddress toSocketAddress(LinkAddress address, int scopeId) {
        requireUdp(address);
        byte[] ip = new byte[address.length() - 2];
        for (int i = 0; i < ip.length; i++) {
            ip[i] = address.byteAt(i);
        }
        try {
            InetAddress inet = InetAddress.getByAddress(ip);
            if (inet instanceof Inet6Address && inet.isLinkLocalAddress() && scopeId != 0) {
                inet = Inet6Address.getByAddress(null, ip, scopeId);
            }
            return new InetSocketAddress(inet, port(address));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not a UDP link address: " + address, e);
        }
    }

    /** The endpoint for people: {@code 192.0.2.1:4792}, {@code [::1]:4792}. */
    public static String toString(LinkAddress address) {
        InetSocketAddress endpoint = toSocketAddress(address, 0);
        String ip = endpoint.getAddress().getHostAddress();
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + endpoint.getPort();
    }

    private static void requireUdp(LinkAddress address) {
        if (!isUdp(address)) {
            throw new IllegalArgumentException("a UDP link address has 6 or 18 bytes, not " + address.length()
                    + ": " + address);
        }
    }
}
