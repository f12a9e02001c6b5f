package io.vmrdma.nic.udp.internal;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.Map;

import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.nic.udp.UdpAddress;

/**
 * The two translations a UDP port makes for every frame, {@link LinkAddress} to socket address on the way out and
 * back on the way in, each done once per endpoint and kept: a frame to or from a known endpoint costs a map
 * lookup (no allocation: both key types hash and compare their bytes in place), and a burst to or from one
 * endpoint costs an identity check.
 *
 * <p>Each map holds at most {@code capacity} endpoints, so datagrams from spoofed or scanning sources cannot grow
 * it; past that, an endpoint is translated afresh for every frame (allocating) and {@link #uncached()} counts it.
 */
final class Endpoints {

    /** Stands for a destination this port cannot send to. */
    static final InetSocketAddress UNROUTABLE = InetSocketAddress.createUnresolved("unroutable", 0);

    private final int capacity;
    private final boolean ipv4Only;
    private final int scopeId;
    private final Map<LinkAddress, InetSocketAddress> destinations;
    private final Map<SocketAddress, LinkAddress> sources;
    private LinkAddress lastDestination;
    private InetSocketAddress lastDestinationSocket;
    private SocketAddress lastSourceSocket;
    private LinkAddress lastSource;
    private long uncached;

    /**
     * @param ipv4Only whether the socket is IPv4 and so cannot reach IPv6 endpoints
     * @param scopeId  the interface index link-local IPv6 destinations go out of, 0 when the port has none
     */
    Endpoints(int capacity, boolean ipv4Only, int scopeId) {
        this.capacity = capacity;
        this.ipv4Only = ipv4Only;
        this.scopeId = scopeId;
        this.destinations = new HashMap<>(capacity * 2);
        this.sources = new HashMap<>(capacity * 2);
    }

    /** Where to send a frame for {@code destination}, or {@link #UNROUTABLE}. */
    InetSocketAddress destination(LinkAddress destination) {
        if (destination == lastDestination) {
            return lastDestinationSocket;
        }
        InetSocketAddress socket = destinations.get(destination);
        if (socket == null) {
            socket = resolve(destination);
            if (destinations.size() < capacity) {
                destinations.put(destination, socket);
            } else {
                uncached++;
            }
        }
        lastDestination = destination;
        lastDestinationSocket = socket;
        return socket;
    }

    /** The link address of the sender of a datagram. */
    LinkAddress source(SocketAddress sender) {
        if (sender == lastSourceSocket) {
            return lastSource;
        }
        LinkAddress link = sources.get(sender);
        if (link == null) {
            link = UdpAddress.of((InetSocketAddress) sender);
            if (sources.size() < capacity) {
                sources.put(sender, link);
            } else {
                uncached++;
            }
        }
        lastSourceSocket = sender;
        lastSource = link;
        return link;
    }

    /** Translations that could not be kept because the maps were full. */
    long uncached() {
        return uncached;
    }

    private InetSocketAddress resolve(LinkAddress link) {
        if (!UdpAddress.isUdp(link) || UdpAddress.port(link) == 0
                || ipv4Only && link.length() == UdpAddress.IPV6_LENGTH) {
            return UNROUTABLE;
        }
        InetSocketAddress socket = UdpAddress.toSocketAddress(link, scopeId);
        // Without a scope the JDK would search the interfaces for one on every send, and allocate.
        if (socket.getAddress() instanceof Inet6Address v6 && v6.isLinkLocalAddress() && v6.getScopeId() == 0) {
            return UNROUTABLE;
        }
        return socket;
    }
}
