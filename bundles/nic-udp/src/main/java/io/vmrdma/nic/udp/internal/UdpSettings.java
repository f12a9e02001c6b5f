package io.vmrdma.nic.udp.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import io.vmrdma.nic.udp.UdpAddress;

/**
 * A {@link UdpPort}'s settings, checked: a bad value is refused with a message naming it, before any socket is
 * opened.
 *
 * @param bind               the address and port to bind (port 0: any free port)
 * @param mtu                largest frame, which is the UDP payload: 1452 (IPv6 on a 1500-byte link) to 65507
 *                           (the largest IPv4 UDP payload, used for IPv6 too)
 * @param receiveBufferBytes SO_RCVBUF to ask for
 * @param sendBufferBytes    SO_SNDBUF to ask for
 * @param batchSize          datagrams per receive batch and per transmit batch
 * @param addressCacheSize   senders whose link addresses are kept
 * @param udpSegment         whether runs of same-sized frames to one peer go out as UDP_SEGMENT super-datagrams,
 *                           where the kernel has it
 * @param udpGro             whether the socket receives coalesced datagrams (UDP_GRO), where the kernel has it
 */
record UdpSettings(InetSocketAddress bind, int mtu, int receiveBufferBytes, int sendBufferBytes, int batchSize,
                   int addressCacheSize, boolean udpSegment, boolean udpGro) {

    /** Not 4791: that is RoCEv2's port, which the kernel's soft-RoCE (rdma_rxe) holds when loaded. */
    static final int DEFAULT_PORT = 4792;
    /** A 9000-byte link less the IPv4 and UDP headers. */
    static final int DEFAULT_MTU = 8972;
    /** 1500-byte link less the IPv6 (40) and UDP (8) headers. */
    static final int MIN_MTU = 1452;
    /** 65535 less the IPv4 (20) and UDP (8) headers. */
    static final int MAX_MTU = 65507;
    static final int DEFAULT_SOCKET_BUFFER = 8 * 1024 * 1024;
    static final int MIN_SOCKET_BUFFER = 64 * 1024;
    static final int DEFAULT_BATCH = 32;
    static final int MAX_BATCH = 1024;
    static final int DEFAULT_ADDRESS_CACHE = 1024;
    /** Two tables of this many entries are allocated at activation; past this they would cost more than peers. */
    static final int MAX_ADDRESS_CACHE = 1 << 16;

    UdpSettings {
        if (mtu < MIN_MTU || mtu > MAX_MTU) {
            throw new IllegalArgumentException("nic.udp mtu must be " + MIN_MTU + " to " + MAX_MTU + ", not " + mtu);
        }
        if (receiveBufferBytes < MIN_SOCKET_BUFFER || sendBufferBytes < MIN_SOCKET_BUFFER) {
            throw new IllegalArgumentException("nic.udp socket buffers must be at least " + MIN_SOCKET_BUFFER
                    + " bytes, not receive " + receiveBufferBytes + " / send " + sendBufferBytes);
        }
        if (batchSize < 1 || batchSize > MAX_BATCH) {
            throw new IllegalArgumentException("nic.udp batchSize must be 1 to " + MAX_BATCH + ", not " + batchSize);
        }
        if (addressCacheSize < 1 || addressCacheSize > MAX_ADDRESS_CACHE) {
            throw new IllegalArgumentException("nic.udp addressCacheSize must be 1 to " + MAX_ADDRESS_CACHE + ", not "
                    + addressCacheSize);
        }
    }

    /** Defaults for everything but where to bind. */
    static UdpSettings of(InetAddress address, int port) {
        return new UdpSettings(endpoint(address, port), DEFAULT_MTU, DEFAULT_SOCKET_BUFFER, DEFAULT_SOCKET_BUFFER,
                DEFAULT_BATCH, DEFAULT_ADDRESS_CACHE, true, true);
    }

    static UdpSettings from(UdpConfig config) {
        return new UdpSettings(endpoint(UdpAddress.literal(config.bindAddress().trim()), config.port()), config.mtu(),
                config.receiveBufferBytes(), config.sendBufferBytes(), config.batchSize(), config.addressCacheSize(),
                config.udpSegment(), config.udpGro());
    }

    UdpSettings withMtu(int newMtu) {
        return new UdpSettings(bind, newMtu, receiveBufferBytes, sendBufferBytes, batchSize, addressCacheSize,
                udpSegment, udpGro);
    }

    UdpSettings withBatchSize(int newBatchSize) {
        return new UdpSettings(bind, mtu, receiveBufferBytes, sendBufferBytes, newBatchSize, addressCacheSize,
                udpSegment, udpGro);
    }

    UdpSettings withAddressCacheSize(int size) {
        return new UdpSettings(bind, mtu, receiveBufferBytes, sendBufferBytes, batchSize, size, udpSegment, udpGro);
    }

    /** These settings with the two offloads as given (both false: plain datagrams, as on a kernel without them). */
    UdpSettings withOffloads(boolean segment, boolean gro) {
        return new UdpSettings(bind, mtu, receiveBufferBytes, sendBufferBytes, batchSize, addressCacheSize, segment,
                gro);
    }

    private static InetSocketAddress endpoint(InetAddress address, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("nic.udp port must be 0 to 65535, not " + port);
        }
        return new InetSocketAddress(address, port);
    }
}
