package io.vmrdma.nic.loopback.internal;

import java.util.concurrent.atomic.AtomicReferenceArray;

import io.vmrdma.api.nic.LinkAddress;

/**
 * An in-memory link segment: every attached port has an {@link Inbox} that any other port of the same wire may
 * write frames into. Addresses are 16-bit port numbers; {@link #BROADCAST} ({@code ff:ff}) reaches every attached
 * port but the sender.
 */
public final class LoopbackWire {

    /** Highest port number plus one. */
    public static final int MAX_PORTS = 1024;

    /** The broadcast address of every loopback wire: {@code ff:ff}, which is no port. */
    public static final LinkAddress BROADCAST = LinkAddress.of((byte) 0xFF, (byte) 0xFF);

    private static final LoopbackWire SHARED = new LoopbackWire();

    private final AtomicReferenceArray<Inbox> inboxes = new AtomicReferenceArray<>(MAX_PORTS);
    private final LinkAddress[] addresses = new LinkAddress[MAX_PORTS];

    public LoopbackWire() {
        for (int i = 0; i < MAX_PORTS; i++) {
            addresses[i] = LinkAddress.of((byte) (i >>> 8), (byte) i);
        }
    }

    /** The wire every loopback port of this JVM attaches to unless given another. */
    public static LoopbackWire shared() {
        return SHARED;
    }

    /** The address of port {@code port}. */
    public LinkAddress address(int port) {
        return addresses[checkPort(port)];
    }

    /** The port number of an address on this wire, or -1 when it is not one. */
    public int portOf(LinkAddress address) {
        if (address.length() != 2) {
            return -1;
        }
        int port = (address.byteAt(0) & 0xFF) << 8 | address.byteAt(1) & 0xFF;
        return port < MAX_PORTS ? port : -1;
    }

    /**
     * Attaches port {@code port} with an inbox of {@code inboxBytes} (a power of two) for frames up to {@code mtu}.
     *
     * @throws IllegalStateException when the port is taken
     */
    Inbox attach(int port, int inboxBytes, int mtu) {
        checkPort(port);
        if (Integer.bitCount(inboxBytes) != 1) {
            throw new IllegalArgumentException("inbox size must be a power of two, not " + inboxBytes);
        }
        Inbox inbox = new Inbox(inboxBytes, mtu);
        if (!inboxes.compareAndSet(port, null, inbox)) {
            throw new IllegalStateException("loopback port " + port + " is already attached");
        }
        return inbox;
    }

    /** Detaches a port; frames sent to it from now on are dropped. */
    void detach(int port, Inbox inbox) {
        inboxes.compareAndSet(port, inbox, null);
    }

    /**
     * Delivers a copy of {@code length} bytes at {@code offset} in {@code frame} to every attached port but
     * {@code sourcePort}; a port whose inbox is full misses it, as a congested host misses a broadcast.
     *
     * @return how many ports missed it
     */
    int broadcast(java.nio.ByteBuffer frame, int offset, int length, int sourcePort) {
        int missed = 0;
        for (int p = 0; p < MAX_PORTS; p++) {
            Inbox inbox = p == sourcePort ? null : inboxes.get(p);
            if (inbox == null) {
                continue;
            }
            int at = inbox.claim();
            if (at < 0) {
                missed++;
                continue;
            }
            inbox.byteBuffer().put(at, frame, offset, length);
            inbox.commit(at, length, sourcePort);
        }
        return missed;
    }

    /** The inbox of {@code port}, or null when nothing is attached there. */
    Inbox inbox(int port) {
        return inboxes.get(port);
    }

    private static int checkPort(int port) {
        if (port < 0 || port >= MAX_PORTS) {
            throw new IllegalArgumentException("loopback port out of range 0.." + (MAX_PORTS - 1) + ": " + port);
        }
        return port;
    }
}
