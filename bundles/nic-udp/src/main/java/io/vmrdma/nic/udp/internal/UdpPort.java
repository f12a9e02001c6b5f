package io.vmrdma.nic.udp.internal;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

import com.sun.jna.Native;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.nic.TransmitBatch;
import io.vmrdma.nic.socket.SocketCalls;
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
 * <p>Frames go out by sendmmsg from a {@link SendBatch} the engine writes in place, and come in by recvmmsg into a
 * {@link ReceiveBatch} they are handed up from in place. Where the kernel has them (checked when the port opens,
 * each can be turned off by configuration), two offloads cut the per-datagram cost of the stack: UDP_SEGMENT sends
 * a run of same-sized frames to one peer as one super-datagram the stack cuts back into those datagrams, and
 * UDP_GRO receives datagrams of one flow coalesced into one buffer with their size, which the port splits back into
 * frames. Neither changes what crosses the wire: each datagram is still one frame.
 *
 * <p>When the kernel cannot take more (EAGAIN, ENOBUFS), flush keeps the unsent frames for the next flush (the batch
 * stays full, so claims are refused meanwhile: back-pressure). A frame the kernel refuses outright (no route) is
 * dropped and counted, and the first failure of each errno is logged. A super-datagram the kernel refuses (a route
 * whose MTU is below the segment size, a device that cannot checksum it) turns segmentation off for the port, which
 * then sends the same frames one datagram each.
 *
 * <p>Immediate: the socket is opened when the configuration is satisfied and closed before a new configuration
 * opens the next, on one thread. Created lazily on the first consumer's request instead, a configuration change
 * racing that request could leave one socket bound with no component to close it.
 */
@Component(service = NicPort.class, immediate = true, configurationPid = UdpPort.PID,
        property = NicPort.BINDING_PROPERTY + "=udp")
@Designate(ocd = UdpConfig.class)
public final class UdpPort implements NicPort, AutoCloseable {

    static final String PID = "io.vmrdma.nic.udp";

    private static final Logger LOG = LoggerFactory.getLogger(UdpPort.class);
    /** The largest buffer UDP_GRO hands up: a 64 KiB IP packet's UDP payload fits. */
    private static final int COALESCED_SLOT = 65536;
    private static final String BY_CONFIGURATION = "turned off by configuration";

    private final UdpSocket socket;
    private final LinkAddress address;
    private final String interfaceName;
    private final int mtu;
    private final int batchSize;
    private final Endpoints endpoints;
    private final SendBatch tx;
    private final ByteBuffer txFrames;
    private final TransmitBatch batch;
    private final ReceiveBatch rx;
    private final ByteBuffer rxFrames;
    private final boolean coalescing;
    private boolean segmenting;
    private final boolean segmentingAtStart;

    /** Messages of the last receive not yet handed up in full: [rxNext, rxReceived), rxNext from rxOffset on. */
    private int rxReceived;
    private int rxNext;
    private int rxOffset;
    private int rxLength;
    private int rxSegment;
    private LinkAddress rxSource;

    private long oversized;
    private long sendErrors;
    private long receiveErrors;
    private long controlErrors;
    private long superDatagramsSent;
    private long segmentationRefused;
    private long coalescedReceived;
    private final BitSet loggedErrors = new BitSet(256);

    @Activate
    public UdpPort(UdpConfig config) {
        this(UdpSettings.from(config));
    }

    /**
     * Opens and binds the socket and turns on the offloads the settings ask for and the kernel has.
     *
     * @throws IllegalStateException naming the address when it cannot be bound
     */
    UdpPort(UdpSettings settings) {
        try {
            socket = new UdpSocket(settings.bind());
        } catch (IllegalStateException e) {
            LOG.error("nic.udp not started: {}", e.getMessage());
            throw e;
        }
        InetSocketAddress local;
        try {
            local = socket.localAddress();
            warnIfCapped(local, "receive", settings.receiveBufferBytes(),
                    socket.bufferSize(SocketCalls.SO_RCVBUF, settings.receiveBufferBytes()), "rmem_max");
            warnIfCapped(local, "send", settings.sendBufferBytes(),
                    socket.bufferSize(SocketCalls.SO_SNDBUF, settings.sendBufferBytes()), "wmem_max");
        } catch (IllegalStateException e) {
            socket.close();
            LOG.error("nic.udp not started: {}", e.getMessage());
            throw e;
        }
        address = UdpAddress.of(local);
        interfaceName = endpoint(local);
        mtu = settings.mtu();
        batchSize = settings.batchSize();
        int scopeId = local.getAddress() instanceof Inet6Address v6 ? v6.getScopeId() : 0;
        endpoints = new Endpoints(socket.ipv6(), scopeId, settings.addressCacheSize());

        // Setting UDP_SEGMENT to 0 probes for it without segmenting every send: each run says its own size.
        String noSegmenting = settings.udpSegment() ? socket.setUdpOption(UdpConstants.UDP_SEGMENT, 0)
                : BY_CONFIGURATION;
        segmenting = noSegmenting == null;
        segmentingAtStart = segmenting;
        String noCoalescing = settings.udpGro() ? socket.setUdpOption(UdpConstants.UDP_GRO, 1) : BY_CONFIGURATION;
        coalescing = noCoalescing == null;

        int slotSize = (mtu + 63) & ~63;
        tx = new SendBatch(batchSize, slotSize);
        txFrames = tx.frames();
        batch = new TransmitBatch(batchSize, ByteBuffer.allocateDirect(mtu));
        rx = new ReceiveBatch(batchSize, coalescing ? Math.max(slotSize, COALESCED_SLOT) : slotSize,
                socket.ipv6() ? Endpoints.SOCKADDR_IN6_SIZE : Endpoints.SOCKADDR_IN_SIZE);
        rxFrames = rx.frames();
        LOG.info("nic.udp bound to {}, MTU {}, batch {}; UDP_SEGMENT {}, UDP_GRO {}", interfaceName, mtu, batchSize,
                segmenting ? "on" : "off (" + noSegmenting + ")", coalescing ? "on" : "off (" + noCoalescing + ")");
    }

    /** Closes the socket. DS calls this only after the service is unregistered, so no engine still uses it. */
    @Deactivate
    @Override
    public void close() {
        socket.close();
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
        return socket.isOpen() ? LinkState.UP : LinkState.DOWN;
    }

    /**
     * Sleeps on the socket's readiness; not at all while frames of a coalesced buffer already read wait to be handed
     * up, since no new datagram would end that wait.
     */
    @Override
    public void awaitFrames(long timeoutNanos) {
        if (rxNext == rxReceived) {
            socket.awaitDatagrams(timeoutNanos);
        }
    }

    /** As {@link #awaitFrames}, ended by {@code fd}'s readiness too. */
    @Override
    public boolean awaitFramesOr(int fd, long timeoutNanos) {
        return rxNext != rxReceived || socket.awaitDatagramsOr(fd, timeoutNanos);
    }

    @Override
    public boolean wakeable() {
        return true;
    }

    /** Ends the wait on the socket's readiness; any thread. */
    @Override
    public void wake() {
        socket.wake();
    }

    /**
     * Each frame read counts toward the limit, dropped ones too, so a flood cannot hold the agent. Frames of a
     * coalesced buffer beyond the limit wait for the next poll, before anything new is received.
     */
    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        int limit = Math.min(frameLimit, batchSize);
        if (!socket.isOpen()) {
            return 0;
        }
        int reads = 0;
        int frames = 0;
        while (reads < limit) {
            if (rxNext == rxReceived && !receive(limit - reads)) {
                break;
            }
            if (rxOffset == 0 && !open(rxNext)) {
                reads++;
                rxNext++;
                continue;
            }
            int length = Math.min(rxSegment, rxLength - rxOffset);
            if (length > mtu) {
                oversized++;
            } else {
                handler.onFrame(rxFrames, rx.slot(rxNext) + rxOffset, length, rxSource);
                frames++;
            }
            reads++;
            rxOffset += length;
            if (rxOffset >= rxLength) {
                rxNext++;
                rxOffset = 0;
            }
        }
        return frames;
    }

    /** One recvmmsg of up to {@code messages}; false when nothing came. */
    private boolean receive(int messages) {
        int received = socket.receive(rx, messages);
        if (received <= 0) {
            if (received < 0) {
                int errno = Native.getLastError();
                if (errno != SocketCalls.EAGAIN && errno != SocketCalls.EINTR) {
                    receiveErrors++;
                    logOnce("recvmmsg", errno);
                }
            }
            return false;
        }
        rxReceived = received;
        rxNext = 0;
        rxOffset = 0;
        return true;
    }

    /**
     * Reads what the kernel wrote about message {@code i} (its length, sender and segment size) and readies its
     * slot for the next receive; false when the whole message is dropped.
     */
    private boolean open(int i) {
        rxLength = rx.length(i);
        boolean truncated = rx.truncated(i);
        int segment = rx.segmentSize(i);
        rxSource = endpoints.source(rx.headers(), rx.name(i));
        rx.rearm(i);
        if (truncated) {
            oversized++;
            return false;
        }
        if (segment == ControlMessages.MALFORMED) {
            // Without a trusted segment size the buffer is taken as one datagram: handed up if it fits a frame.
            controlErrors++;
            segment = 0;
        }
        if (segment == 0 || segment >= rxLength) {
            rxSegment = rxLength;
        } else {
            rxSegment = segment;
            coalescedReceived++;
        }
        return true;
    }

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        batch.checkClaim(length, mtu);
        if (!endpoints.routable(destination)) {
            batch.lendDiscard(claim, length);
            return true;
        }
        if (batch.isFull()) {
            return false;
        }
        int slot = batch.nextSlot();
        tx.address(slot, destination, endpoints);
        batch.lend(claim, txFrames, tx.slot(slot), length);
        return true;
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        int slot = batch.commit(claim, length);
        if (slot >= 0) {
            tx.commit(slot, length);
        }
    }

    @Override
    public void abort(FrameClaim claim) {
        batch.abort(claim);
    }

    @Override
    public int flush() {
        if (!socket.isOpen()) {
            // Frames sent through a closed port are lost, as on a link that went down.
            batch.dropPending();
            return 0;
        }
        int sent = 0;
        while (batch.pending() > 0) {
            int messages = tx.plan(batch.head(), batch.head() + batch.pending(), segmenting);
            int done = socket.send(tx, messages);
            if (done > 0) {
                int frames = 0;
                for (int m = 0; m < done; m++) {
                    frames += tx.framesOf(m);
                    if (tx.segmented(m)) {
                        superDatagramsSent++;
                    }
                }
                batch.advance(frames);
                sent += frames;
                continue;
            }
            int errno = Native.getLastError();
            if (errno == SocketCalls.EAGAIN || errno == SocketCalls.ENOBUFS || errno == SocketCalls.EINTR) {
                break;
            }
            // A segment plus its headers larger than the route's MTU: EMSGSIZE (EINVAL before Linux 6.x); a device
            // that cannot checksum the segments: EIO.
            if (tx.segmented(0) && (errno == UdpConstants.EMSGSIZE || errno == UdpConstants.EINVAL
                    || errno == UdpConstants.EIO)) {
                refuseSegmentation(errno);
                continue;
            }
            sendErrors += tx.framesOf(0);
            logOnce("sendmmsg", errno);
            batch.advance(tx.framesOf(0));
        }
        return sent;
    }

    /**
     * Every count below, for the console; while an offload is on, what it did ({@code gsoSends} super-datagrams
     * sent, {@code groReceives} coalesced buffers received): a port that fell back to plain datagrams shows neither.
     */
    @Override
    public Map<String, Long> bindingCounters() {
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("oversized", oversized);
        counters.put("unroutable", batch.discarded());
        counters.put("sendErrors", sendErrors);
        counters.put("receiveErrors", receiveErrors);
        counters.put("controlErrors", controlErrors);
        counters.put("uncachedAddresses", endpoints.uncached());
        if (segmenting) {
            counters.put("gsoSends", superDatagramsSent);
        }
        if (segmentingAtStart) {
            counters.put("gsoRefused", segmentationRefused);
        }
        if (coalescing) {
            counters.put("groReceives", coalescedReceived);
        }
        return counters;
    }

    /** Whether runs of frames go out as UDP_SEGMENT super-datagrams (on, and not refused since). */
    public boolean segmenting() {
        return segmenting;
    }

    /** Whether the socket receives coalesced datagrams (UDP_GRO). */
    public boolean coalescing() {
        return coalescing;
    }

    /** Super-datagrams (more than one frame each) sent with UDP_SEGMENT. */
    public long superDatagramsSent() {
        return superDatagramsSent;
    }

    /** Buffers received holding more than one datagram (UDP_GRO). */
    public long coalescedReceived() {
        return coalescedReceived;
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

    /** Received messages whose control messages were cut short or could not be read. */
    public long controlErrors() {
        return controlErrors;
    }

    /** Datagrams whose sender's address could not be kept in the address table, so was made afresh. */
    public long uncachedAddresses() {
        return endpoints.uncached();
    }

    private void refuseSegmentation(int errno) {
        segmenting = false;
        segmentationRefused++;
        LOG.warn("nic.udp {}: the kernel refused a UDP_SEGMENT send ({}): the route's MTU is below the frame size "
                + "or the device cannot offload it; sending one datagram per frame from now on", interfaceName,
                SocketCalls.error(errno));
    }

    private static void warnIfCapped(InetSocketAddress local, String which, int asked, int got, String sysctl) {
        // Linux reports twice what it grants (the doubling covers its bookkeeping), so this warns only when capped.
        if (got < asked) {
            LOG.warn("nic.udp {}: asked for a {} buffer of {} bytes, got {}; raise net.core.{} for more",
                    endpoint(local), which, asked, got, sysctl);
        }
    }

    /** Logs the first failure of each errno, so a broken route does not flood the log. */
    private void logOnce(String call, int errno) {
        if (!loggedErrors.get(errno & 0xFF)) {
            loggedErrors.set(errno & 0xFF);
            LOG.warn("nic.udp {} on {} failed: {} (further ones are counted, not logged)", call, interfaceName,
                    SocketCalls.error(errno));
        }
    }

    static String endpoint(InetSocketAddress socket) {
        String ip = socket.getAddress().getHostAddress();
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + socket.getPort();
    }
}
