package io.vmrdma.nic.packet.internal;

import java.nio.charset.StandardCharsets;

/**
 * A {@link PacketPort}'s settings, checked: a bad value is refused with a message naming it, before any socket is
 * opened.
 *
 * @param interfaceName     the interface to bind
 * @param etherType         EtherType of vmrdma frames, 0x0600 to 0xFFFF (smaller values are 802.3 lengths)
 * @param batchSize         frames per recvmmsg and per sendmmsg
 * @param socketBufferBytes SO_RCVBUF and SO_SNDBUF to ask for
 * @param qdiscBypass       whether to set PACKET_QDISC_BYPASS
 */
record PacketSettings(String interfaceName, int etherType, int batchSize, int socketBufferBytes,
                      boolean qdiscBypass) {

    static final String DEFAULT_INTERFACE = "eth0";
    /** IEEE 802 local experimental EtherType 1. */
    static final int DEFAULT_ETHER_TYPE = 0x88B5;
    static final String DEFAULT_ETHER_TYPE_TEXT = "0x88B5";
    static final int DEFAULT_BATCH = 32;
    static final int MAX_BATCH = 1024;
    static final int DEFAULT_SOCKET_BUFFER = 8 * 1024 * 1024;
    static final int MIN_SOCKET_BUFFER = 64 * 1024;
    /** IFNAMSIZ less the terminating NUL. */
    static final int MAX_INTERFACE_NAME = 15;

    PacketSettings {
        if (interfaceName == null || interfaceName.isEmpty()
                || interfaceName.getBytes(StandardCharsets.UTF_8).length > MAX_INTERFACE_NAME
                || interfaceName.chars().anyMatch(c -> c <= ' ' || c == '/' || c == ':' || c > '~')) {
            throw new IllegalArgumentException("nic.packet interfaceName must be 1 to " + MAX_INTERFACE_NAME
                    + " printable characters without '/', ':' or spaces, not '" + interfaceName + "'");
        }
        if (etherType < 0x0600 || etherType > 0xFFFF) {
            throw new IllegalArgumentException(String.format(
                    "nic.packet etherType must be 0x0600 to 0xFFFF, not 0x%X", etherType));
        }
        if (batchSize < 1 || batchSize > MAX_BATCH) {
            throw new IllegalArgumentException("nic.packet batchSize must be 1 to " + MAX_BATCH + ", not "
                    + batchSize);
        }
        if (socketBufferBytes < MIN_SOCKET_BUFFER) {
            throw new IllegalArgumentException("nic.packet socketBufferBytes must be at least " + MIN_SOCKET_BUFFER
                    + ", not " + socketBufferBytes);
        }
    }

    /** Defaults for everything but the interface. */
    static PacketSettings of(String interfaceName) {
        return new PacketSettings(interfaceName, DEFAULT_ETHER_TYPE, DEFAULT_BATCH, DEFAULT_SOCKET_BUFFER, false);
    }

    static PacketSettings from(PacketConfig config) {
        return new PacketSettings(config.interfaceName().trim(), etherType(config.etherType()), config.batchSize(),
                config.socketBufferBytes(), config.qdiscBypass());
    }

    /** Parses {@code 0x88B5}, {@code 0X88b5} or {@code 34997}. */
    static int etherType(String text) {
        try {
            return Integer.decode(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("nic.packet etherType is not a number (0x88B5 or 34997): '" + text
                    + "'");
        }
    }

    PacketSettings withEtherType(int type) {
        return new PacketSettings(interfaceName, type, batchSize, socketBufferBytes, qdiscBypass);
    }

    PacketSettings withBatchSize(int size) {
        return new PacketSettings(interfaceName, etherType, size, socketBufferBytes, qdiscBypass);
    }

    PacketSettings withSocketBufferBytes(int bytes) {
        return new PacketSettings(interfaceName, etherType, batchSize, bytes, qdiscBypass);
    }

    PacketSettings withQdiscBypass(boolean bypass) {
        return new PacketSettings(interfaceName, etherType, batchSize, socketBufferBytes, bypass);
    }
}
