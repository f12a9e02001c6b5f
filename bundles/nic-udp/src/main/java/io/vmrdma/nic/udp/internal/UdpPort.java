package io.vmrdma.nic.udp.internal;

import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.nic.TransmitBatch;
import io.vmrdma.nic.udp.UdpAddress;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A NIC port over one non-blocking UDP socket: one vmrdma frame per datagram, IPv4 or IPv6. No thread of its own:
 * the engine's data agent polls, claims, commits and flushes.
 *
 * <p>Two preallocated direct buffers of {@code batchSize} slots, each slot one MTU (rounded up to 64 bytes): the
 * receive batch, filled by {@code receive} calls and handed up in place, and the transmit batch, written in place
 * by the engine and put on the wire by {@link #flush()}, one {@code send} per datagram (NIO has no sendmmsg). A
 * receive slot has one byte more than the MTU, so a datagram too large for a frame shows up as filling it: it was
 * truncated by the kernel, so it is dropped and counted rather than handed up cut short.
 *
 * <p>When the kernel's send buffer is full, flush stops and keeps the unsent frames for the next flush (the batch
 * stays full, so claims are refused meanwhile: back-pressure). A frame the kernel refuses outright (no route,
 * message too long) is dropped and counted, and the first such error of each kind is logged.
 */
@Component(service = NicPort.class, configurationPid = UdpPort.PID,
        property = NicPort.BINDING_PROPERTY + "=udp")
@Designate(ocd = UdpConfig.class)
public final class UdpPort implements NicPort, AutoCloseable {

    static final String PID = "io.vmrdma.nic.udp";

    private static final Logger LOG = LoggerFactory.getLogger(UdpPort.class);

    private final DatagramChannel channel;
    private final LinkAddress address;
    private final String interfaceName;
    private final int mtu;
    private final int batchSize;
    private final int slotSize;
    private final Endpoints endpoints;

    private final ByteBuffer rx;
    /** The receive batch as the socket sees it: its position and limit move; {@link #rx}'s never do. */
    private final ByteBuffer rxWindow;
    private final int[] rxLengths;
    private final LinkAddress[] rxSources;

    private final ByteBuffer tx;
    /** The transmit batch as the socket sees it; the engine writes into {@link #tx} with absolute puts. */
    private final ByteBuffer txWindow;
    private final int[] txLengths;
    private final InetSocketAddress[] txDestinations;
    private final TransmitBatch batch;

    private long oversized;
    private long sendErrors;
    private long receiveErrors;
    private final ErrorLog errors = new ErrorLog();

    @Activate
    public UdpPort(UdpConfig config) {
        this(UdpSettings.from(config));
    }

    /**
     * Opens and binds the socket.
     *
     * @throws IllegalStateException naming the address when it cannot be bound
     */
    UdpPort(UdpSettings settings) {
        InetSocketAddress bind = settings.bind();
        ProtocolFamily family = bind.getAddress() instanceof Inet4Address
                ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
        try {
            channel = DatagramChannel.open(family);
        } catch (IOException | UnsupportedOperationException e) {
            throw refuse("cannot open a " + family + " UDP socket for " + endpoint(bind) + ": " + e.getMessage(), e);
        }
        InetSocketAddress local;
        try {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.SO_RCVBUF, settings.receiveBufferBytes());
            channel.setOption(StandardSocketOptions.SO_SNDBUF, settings.sendBufferBytes());
            channel.bind(bind);
            local = (InetSocketAddress) channel.getLocalAddress();
            warnIfCapped(local, "receive", settings.receiveBufferBytes(),
                    channel.getOption(StandardSocketOptions.SO_RCVBUF), "rmem_max");
            warnIfCapped(local, "send", settings.sendBufferBytes(),
                    channel.getOption(StandardSocketOptions.SO_SNDBUF), "wmem_max");
        } catch (IOException e) {
            closeQuietly();
            String why = e instanceof BindException
                    ? e.getMessage() + " (is the port free, and the address one of this host's?)" : e.getMessage();
            throw refuse("cannot bind UDP " + endpoint(bind) + ": " + why, e);
        }
        address = UdpAddress.of(local);
        interfaceName = endpoint(local);
        mtu = settings.mtu();
        batchSize = settings.batchSize();
        int scopeId = local.getAddress() instanceof Inet6Address v6 ? v6.getScopeId() : 0;
        endpoints = new Endpoints(settings.addressCacheSize(), family == StandardProtocolFamily.INET, scopeId);

        // Nothing reads a receive slot's extra byte: it only tells a truncated datagram apart.
        slotSize = (mtu + 1 + 63) & ~63;
        rx = ByteBuffer.allocateDirect(batchSize * slotSize);
        rxWindow = rx.duplicate();
        rxLengths = new int[batchSize];
        rxSources = new LinkAddress[batchSize];
        tx = ByteBuffer.allocateDirect(batchSize * slotSize);
        txWindow = tx.duplicate();
        txLengths = new int[batchSize];
        txDestinations = new InetSocketAddress[batchSize];
        batch = new TransmitBatch(batchSize, ByteBuffer.allocateDirect(mtu));
        LOG.info("nic.udp bound to {}, MTU {}, batch {}", interfaceName, mtu, batchSize);
    }

    /** Closes the socket. DS calls this only after the service is unregistered, so no engine still uses it. */
    @Deactivate
    @Override
    public void close() {
        closeQuietly();
    }

    @Override
    public String binding() {
        return "udp";
    }

    @Override
    public String interfaceName() {
        return interfaceName;
    }

    /** The bound address and port, in the encoding of {@link UdpAddress}. */
    @Override
    public LinkAddress address() {
        return address;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    /** Up while the socket is open: UDP has no carrier to follow. */
    @Override
    public LinkState linkState() {
        return channel.isOpen() ? LinkState.UP : LinkState.DOWN;
    }

    /** Each datagram read counts toward the limit, dropped ones too, so a flood of them cannot hold the agent. */
    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        int limit = Math.min(frameLimit, batchSize);
        int frames = 0;
        for (int reads = 0; reads < limit; reads++) {
            int start = frames * slotSize;
            rxWindow.limit(start + mtu + 1).position(start);
            SocketAddress sender;
            try {
                sender = channel.receive(rxWindow);
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException e) {
                receiveErrors++;
                errors.once("receive", null, e);
                break;
            }
            if (sender == null) {
                break;
            }
            int length = rxWindow.position() - start;
            if (length > mtu) {
                oversized++;
                continue;
            }
            rxLengths[frames] = length;
            rxSources[frames] = endpoints.source(sender);
            frames++;
        }
        for (int i = 0; i < frames; i++) {
            handler.onFrame(rx, i * slotSize, rxLengths[i], rxSources[i]);
        }
        return frames;
    }

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        batch.checkClaim(length, mtu);
        InetSocketAddress socket = endpoints.destination(destination);
        if (socket == Endpoints.UNROUTABLE) {
            batch.lendDiscard(claim, length);
            return true;
        }
        if (batch.isFull()) {
            return false;
        }
        int slot = batch.nextSlot();
        txDestinations[slot] = socket;
        batch.lend(claim, tx, slot * slotSize, length);
        return true;
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        int slot = batch.commit(claim, length);
        if (slot >= 0) {
            txLengths[slot] = length;
        }
    }

    @Override
    public void abort(FrameClaim claim) {
        batch.abort(claim);
    }

    @Override
    public int flush() {
        int sent = 0;
        while (batch.pending() > 0) {
            int slot = batch.head();
            int start = slot * slotSize;
            txWindow.limit(start + txLengths[slot]).position(start);
            try {
                // 0 bytes written means the kernel's send buffer is full, except for an empty frame, where it cannot
                // be told from success: such a frame carries nothing, so it counts as sent either way.
                if (channel.send(txWindow, txDestinations[slot]) == 0 && txLengths[slot] > 0) {
                    break;
                }
                sent++;
            } catch (ClosedChannelException e) {
                // Frames sent through a closed port are lost, as on a link that went down.
                batch.dropPending();
                break;
            } catch (IOException | RuntimeException e) {
                sendErrors++;
                errors.once("send to", txDestinations[slot], e);
            }
            batch.advance(1);
        }
        return sent;
    }

    /** Every count below, for the console. */
    @Override
    public Map<String, Long> bindingCounters() {
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("oversized", oversized);
        counters.put("unroutable", batch.discarded());
        counters.put("sendErrors", sendErrors);
        counters.put("receiveErrors", receiveErrors);
        counters.put("uncachedAddresses", endpoints.uncached());
        return counters;
    }

    /** Frames dropped because their destination is not a UDP endpoint this port can reach. */
    public long unroutable() {
        return batch.discarded();
    }

    /** Datagrams dropped because they were larger than the MTU. */
    public long oversized() {
        return oversized;
    }

    /** Frames the kernel refused to send. */
    public long sendErrors() {
        return sendErrors;
    }

    /** Receive calls that failed. */
    public long receiveErrors() {
        return receiveErrors;
    }

    /** Frames whose endpoint's address could not be kept in the address cache, so were translated afresh. */
    public long uncachedAddresses() {
        return endpoints.uncached();
    }

    private static void warnIfCapped(InetSocketAddress local, String which, int asked, int got, String sysctl) {
        // Linux reports twice what it grants (the doubling covers its bookkeeping), so this warns only when capped.
        if (got < asked) {
            LOG.warn("nic.udp {}: asked for a {} buffer of {} bytes, got {}; raise net.core.{} for more",
                    endpoint(local), which, asked, got, sysctl);
        }
    }

    private IllegalStateException refuse(String message, Exception cause) {
        LOG.error("nic.udp not started: {}", message);
        return new IllegalStateException(message, cause);
    }

    private void closeQuietly() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("nic.udp close", e);
        }
    }

    private static String endpoint(InetSocketAddress socket) {
        String ip = socket.getAddress().getHostAddress();
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + socket.getPort();
    }

    /** Logs the first error of each kind (exception class), so a broken route does not flood the log. */
    private static final class ErrorLog {
        private final Set<Class<?>> seen = new HashSet<>();

        void once(String what, Object where, Exception e) {
            if (seen.add(e.getClass())) {
                LOG.warn("nic.udp {}{} failed: {} (further {} are counted, not logged)", what,
                        where == null ? "" : " " + where, e, e.getClass().getSimpleName());
            }
        }
    }
}
