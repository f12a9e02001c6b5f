package io.vmrdma.nic.packet.internal;

import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.nic.TransmitBatch;
import io.vmrdma.nic.socket.ReceiveTimestamps;
import io.vmrdma.nic.socket.SocketCalls;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A NIC port over one AF_PACKET raw socket: one vmrdma frame per Ethernet frame, after a 14-byte Ethernet header
 * (destination MAC, this port's MAC, the EtherType) that the port writes and strips. No thread of its own: the
 * engine's data agent polls, claims, commits and flushes.
 *
 * <p>Two preallocated {@link MessageBatch}es of {@code batchSize} slots, each slot one Ethernet header and one MTU
 * (rounded up to 64 bytes): the receive batch, filled by one recvmmsg and handed up in place, and the transmit
 * batch, whose slots carry this port's MAC and EtherType from the start, written in place by the engine and put
 * on the wire by one sendmmsg per {@link #flush()}. A frame committed in pieces ({@link #commitGather}) leaves with
 * its payload read by the kernel straight from where the engine keeps it, so the payload is copied once, by the
 * kernel, instead of twice. A frame larger than a receive slot arrives truncated
 * (MSG_TRUNC), so it is dropped and counted rather than handed up cut short. The kernel timestamps each frame
 * received ({@link ReceiveTimestamps}), so the engine learns how long a frame waited before its poll.
 *
 * <p>When the kernel cannot take more (EAGAIN, ENOBUFS), flush keeps the unsent frames for the next flush (the
 * batch stays full, so claims are refused meanwhile: back-pressure). A frame the kernel refuses outright (link
 * down, message too long) is dropped and counted, and the first error of each errno is logged.
 *
 * <p>The MTU is the interface's when the port opens (a changed MTU takes effect when the component restarts, as
 * after a configuration change); the link state is read from the interface at every call.
 *
 * <p>Immediate: the socket is opened when the configuration is satisfied and closed before a new configuration
 * opens the next, on one thread. Created lazily on the first consumer's request instead, a configuration change
 * racing that request could leave one socket bound with no component to close it.
 */
@Component(service = NicPort.class, immediate = true, configurationPid = PacketPort.PID,
        property = NicPort.BINDING_PROPERTY + "=packet")
@Designate(ocd = PacketConfig.class)
public final class PacketPort implements NicPort, AutoCloseable {

    static final String PID = "io.vmrdma.nic.packet";
    static final int ETHERNET_HEADER = 14;
    private static final int SOURCE_CACHE = 1024;
    private static final Logger LOG = LoggerFactory.getLogger(PacketPort.class);
    /** Polls between two reads of the kernel's drop count: one getsockopt per 1024 recvmmsg calls. */
    private static final int POLLS_PER_DROP_READ = 1024;

    private final PacketSocket socket;
    private final LinkAddress address;
    private final int mtu;
    private final int batchSize;
    private final MessageBatch rx;
    private final ByteBuffer rxBuffer;
    private final MessageBatch tx;
    private final ByteBuffer txBuffer;
    private final TransmitBatch batch;
    /**
     * Per transmit slot, the payload a gathered frame reads from memory outside the slot (null for a frame whole in its
     * slot), and where: kept so that a frame still unsent when a flush returns can be copied into its slot.
     */
    private final ByteBuffer[] gatheredFrom;
    private final int[] gatheredOffset;
    private final int[] gatheredHead;
    private final int[] gatheredLength;
    private final int[] gatheredTail;
    /** The direct buffer last gathered from and its native address: regions are few and long-lived. */
    private ByteBuffer addressed;
    private long addressedAt;
    private final SourceCache sources = new SourceCache(SOURCE_CACHE);
    private final ReceiveTimestamps timestamps;
    /** {@link #frameWaitNanos()} of the frame being handed up. */
    private long frameWaitNanos;
    private boolean closed;

    private long oversized;
    private long runts;
    private long otherHost;
    private long sendErrors;
    private long receiveErrors;
    private long kernelDrops;
    private int pollsSinceDropRead;
    private final BitSet loggedErrors = new BitSet(256);
    private final int socketBufferBytes;

    @Activate
    public PacketPort(PacketConfig config) {
        this(PacketSettings.from(config));
    }

    /**
     * Opens and binds the socket in the calling thread's network namespace.
     *
     * @throws IllegalStateException naming the cause: {@code no such interface: X}, a missing CAP_NET_RAW, an
     *                               interface that is not Ethernet or has an MTU below 1500
     */
    PacketPort(PacketSettings settings) {
        socket = new PacketSocket(settings);
        try {
            int interfaceMtu = socket.mtu();
            if (interfaceMtu < MIN_MTU) {
                throw new IllegalStateException("nic.packet: " + settings.interfaceName() + " has MTU "
                        + interfaceMtu + "; vmrdma needs at least " + MIN_MTU);
            }
            // lo reports 65536; a vmrdma frame carries its length in 16 bits.
            mtu = Math.min(interfaceMtu, MAX_MTU);
            byte[] mac = socket.macAddress();
            address = LinkAddress.of(mac);
            batchSize = settings.batchSize();
            socketBufferBytes = settings.socketBufferBytes();
            int slotSize = (ETHERNET_HEADER + mtu + 63) & ~63;
            rx = new MessageBatch(batchSize, slotSize, true);
            rxBuffer = rx.buffer();
            for (int i = 0; i < batchSize; i++) {
                rx.length(i, ETHERNET_HEADER + mtu);
            }
            tx = new MessageBatch(batchSize, slotSize, false);
            txBuffer = tx.buffer();
            for (int i = 0; i < batchSize; i++) {
                int at = tx.slot(i);
                txBuffer.put(at + 6, mac);
                txBuffer.putShort(at + 12, (short) settings.etherType());
            }
            batch = new TransmitBatch(batchSize, ByteBuffer.allocateDirect(mtu));
            gatheredFrom = new ByteBuffer[batchSize];
            gatheredOffset = new int[batchSize];
            gatheredHead = new int[batchSize];
            gatheredLength = new int[batchSize];
            gatheredTail = new int[batchSize];
            timestamps = socket.receiveTimestamps();
        } catch (RuntimeException e) {
            socket.close();
            LOG.error("nic.packet not started: {}", e.getMessage());
            throw e;
        }
        LOG.info("nic.packet bound to {} ({}), EtherType 0x{}, MTU {}, batch {}{}{}", socket.interfaceName(),
                address, Integer.toHexString(settings.etherType()).toUpperCase(), mtu, batchSize,
                settings.qdiscBypass() ? ", qdisc bypassed" : "",
                timestamps.enabled() ? "" : ", without receive timestamps");
    }

    /** Closes the socket and frees the batches. DS calls this only after the service is unregistered. */
    @Deactivate
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            socket.close();
            rx.close();
            tx.close();
            timestamps.close();
        }
    }

    @Override
    public String binding() {
        return "packet";
    }

    @Override
    public String interfaceName() {
        return socket.interfaceName();
    }

    /** The interface's MAC address. */
    @Override
    public LinkAddress address() {
        return address;
    }

    /**
     * {@code ff:ff:ff:ff:ff:ff}: a frame to it reaches every port on the segment (the kernel hands broadcast frames
     * up as PACKET_BROADCAST, which {@link #poll} passes on like frames for this MAC).
     */
    @Override
    public java.util.Optional<LinkAddress> broadcastAddress() {
        return java.util.Optional.of(LinkAddress.ETHERNET_BROADCAST);
    }

    /** The interface MTU when the port opened (at most 65535): the vmrdma frame is the whole Ethernet payload. */
    @Override
    public int mtu() {
        return mtu;
    }

    /** Up while the port is open and the interface is up and running (carrier); one ioctl per call. */
    @Override
    public LinkState linkState() {
        return closed ? LinkState.DOWN : socket.linkState();
    }

    /** Sleeps on the socket's readiness: a frame for this port, or a {@link #wake}, ends the wait. */
    @Override
    public void awaitFrames(long timeoutNanos) {
        socket.awaitFrames(timeoutNanos);
    }

    /** Sleeps on the socket's readiness and {@code fd}'s together. */
    @Override
    public boolean awaitFramesOr(int fd, long timeoutNanos) {
        return socket.awaitFramesOr(fd, timeoutNanos);
    }

    @Override
    public boolean wakeable() {
        return true;
    }

    @Override
    public void wake() {
        socket.wake();
    }

    /** Each frame received counts toward the limit, dropped ones too, so a flood cannot hold the agent. */
    @Override
    public int poll(FrameHandler handler, int frameLimit) {
        int limit = Math.min(frameLimit, batchSize);
        if (closed || limit <= 0) {
            return 0;
        }
        if (++pollsSinceDropRead >= POLLS_PER_DROP_READ) {
            readKernelDrops();
        }
        timestamps.pollBegins();
        int received = socket.receive(rx.messages(0), limit);
        timestamps.pollReturned(received);
        if (received < 0) {
            int errno = Native.getLastError();
            if (errno != SocketCalls.EAGAIN && errno != SocketCalls.EINTR) {
                receiveErrors++;
                logOnce("recvmmsg", errno);
            }
            return 0;
        }
        int frames = 0;
        ByteBuffer controls = rx.headerView();
        for (int i = 0; i < received; i++) {
            frameWaitNanos = timestamps.waitedNanos(controls, rx.control(i), rx.controlLength(i));
            rx.rearm(i);
            int length = rx.received(i);
            if (rx.truncated(i)) {
                oversized++;
                continue;
            }
            if (length < ETHERNET_HEADER) {
                runts++;
                continue;
            }
            int type = rx.packetType(i);
            // PACKET_IGNORE_OUTGOING already keeps this port's own frames out; kernels before 4.20 lack it.
            if (type == Libc.PACKET_OUTGOING) {
                continue;
            }
            // A packet socket sees every frame the interface passes up, and veth, bridges and promiscuous NICs
            // pass up frames for other MACs: those are not this node's.
            if (type == Libc.PACKET_OTHERHOST) {
                otherHost++;
                continue;
            }
            int at = rx.slot(i);
            handler.onFrame(rxBuffer, at + ETHERNET_HEADER, length - ETHERNET_HEADER, sources.lookup(rxBuffer, at + 6));
            frames++;
        }
        return frames;
    }

    /** From the kernel's receive timestamp of the frame being handed up; 0 when the kernel does not stamp them. */
    @Override
    public long frameWaitNanos() {
        return frameWaitNanos;
    }

    @Override
    public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
        batch.checkClaim(length, mtu);
        if (destination.length() != 6 || closed) {
            batch.lendDiscard(claim, length);
            return true;
        }
        if (batch.isFull()) {
            return false;
        }
        int at = tx.slot(batch.nextSlot());
        for (int i = 0; i < 6; i++) {
            txBuffer.put(at + i, destination.byteAt(i));
        }
        batch.lend(claim, txBuffer, at + ETHERNET_HEADER, length);
        return true;
    }

    @Override
    public void commit(FrameClaim claim, int length) {
        int slot = batch.commit(claim, length);
        if (slot >= 0) {
            tx.length(slot, ETHERNET_HEADER + length);
            gatheredFrom[slot] = null;
        }
    }

    /** True: sendmmsg reads a committed payload from where it lies, as the second of three iovecs. */
    @Override
    public boolean gathers() {
        return true;
    }

    /**
     * Queues the frame as three iovecs: the slot's Ethernet header and the window's {@code head}, the payload where it
     * lies, the window's {@code tail}. A payload that is not direct memory is copied into the window instead.
     */
    @Override
    public void commitGather(FrameClaim claim, int head, ByteBuffer payload, int payloadOffset, int payloadLength,
                             int tail) {
        if (!payload.isDirect()) {
            claim.placePayload(head, payload, payloadOffset, payloadLength, tail);
            commit(claim, head + payloadLength + tail);
            return;
        }
        if (payloadOffset < 0 || payloadLength < 0 || payloadOffset > payload.capacity() - payloadLength) {
            throw new IndexOutOfBoundsException("payload of " + payloadLength + " bytes at " + payloadOffset
                    + " in a buffer of " + payload.capacity());
        }
        int slot = batch.commit(claim, head + payloadLength + tail);
        if (slot < 0) {
            return;
        }
        tx.gather(slot, ETHERNET_HEADER + head, addressOf(payload) + payloadOffset, payloadLength, tail);
        gatheredFrom[slot] = payload;
        gatheredOffset[slot] = payloadOffset;
        gatheredHead[slot] = head;
        gatheredLength[slot] = payloadLength;
        gatheredTail[slot] = tail;
    }

    private long addressOf(ByteBuffer direct) {
        if (direct != addressed) {
            addressedAt = Pointer.nativeValue(Native.getDirectBufferPointer(direct));
            addressed = direct;
        }
        return addressedAt;
    }

    @Override
    public void abort(FrameClaim claim) {
        batch.abort(claim);
    }

    @Override
    public int flush() {
        if (closed) {
            // Frames sent through a closed port are lost, as on a link that went down.
            batch.dropPending();
            return 0;
        }
        int sent = 0;
        while (batch.pending() > 0) {
            int done = socket.send(tx.messages(batch.head()), batch.pending());
            if (done > 0) {
                batch.advance(done);
                sent += done;
                continue;
            }
            int errno = Native.getLastError();
            if (errno == SocketCalls.EAGAIN || errno == SocketCalls.ENOBUFS || errno == SocketCalls.EINTR) {
                break;
            }
            sendErrors++;
            logOnce("sendmmsg", errno);
            batch.advance(1);
        }
        keepUnsentWhole();
        return sent;
    }

    /**
     * Copies the payload of every gathered frame the kernel did not take into its slot: its memory is the engine's
     * only until this flush returns.
     */
    private void keepUnsentWhole() {
        for (int i = 0, slot = batch.head(); i < batch.pending(); i++, slot++) {
            ByteBuffer payload = gatheredFrom[slot];
            if (payload != null) {
                int window = tx.slot(slot) + ETHERNET_HEADER;
                int head = gatheredHead[slot];
                int length = gatheredLength[slot];
                int tail = gatheredTail[slot];
                txBuffer.put(window + head + length, txBuffer, window + head, tail);
                txBuffer.put(window + head, payload, gatheredOffset[slot], length);
                tx.length(slot, ETHERNET_HEADER + head + length + tail);
                gatheredFrom[slot] = null;
            }
        }
    }

    /** Every count below, for the console; the kernel's drops as last read on the port's thread. */
    @Override
    public Map<String, Long> bindingCounters() {
        Map<String, Long> counters = new LinkedHashMap<>();
        counters.put("kernelDrops", kernelDrops);
        counters.put("runts", runts);
        counters.put("oversized", oversized);
        counters.put("otherHost", otherHost);
        counters.put("unroutable", batch.discarded());
        counters.put("sendErrors", sendErrors);
        counters.put("receiveErrors", receiveErrors);
        counters.put("uncachedAddresses", sources.uncached());
        return counters;
    }

    /** The kernel's drops as last read (every {@link #POLLS_PER_DROP_READ} polls), without reading them afresh. */
    @Override
    public long receiveDrops() {
        return kernelDrops;
    }

    /** Frames dropped because their destination is not a 6-byte MAC, or the port was closed. */
    public long unroutable() {
        return batch.discarded();
    }

    /** Frames dropped because they were larger than an Ethernet header and the MTU. */
    public long oversized() {
        return oversized;
    }

    /** Frames dropped because they were shorter than an Ethernet header. */
    public long runts() {
        return runts;
    }

    /** Frames dropped because they were addressed to another MAC. */
    public long otherHost() {
        return otherHost;
    }

    /** Frames the kernel refused to send. */
    public long sendErrors() {
        return sendErrors;
    }

    /** Receive calls that failed. */
    public long receiveErrors() {
        return receiveErrors;
    }

    /**
     * Frames the kernel dropped before this port could read them, its socket's receive buffer being full (the
     * engine's retransmission recovers them); read afresh by this call. On the port's thread, as {@link #poll}.
     */
    public long kernelDrops() {
        readKernelDrops();
        return kernelDrops;
    }

    /** Frames whose sender's address could not be kept in the source cache, so was made afresh. */
    public long uncachedAddresses() {
        return sources.uncached();
    }

    private void readKernelDrops() {
        pollsSinceDropRead = 0;
        int dropped = socket.takeDrops();
        if (dropped > 0) {
            if (kernelDrops == 0) {
                LOG.warn("nic.packet on {}: the kernel dropped {} received frames, the socket's receive buffer "
                        + "(socketBufferBytes = {}) being full; peers send them again. If this recurs, raise "
                        + "socketBufferBytes (further drops are counted, not logged)", socket.interfaceName(), dropped,
                        socketBufferBytes);
            }
            kernelDrops += dropped;
        }
    }

    /** Logs the first failure of each errno, so a link that is down does not flood the log. */
    private void logOnce(String call, int errno) {
        if (!loggedErrors.get(errno & 0xFF)) {
            loggedErrors.set(errno & 0xFF);
            LOG.warn("nic.packet {} on {} failed: {} (further ones are counted, not logged)", call,
                    socket.interfaceName(), PacketSocket.error(errno));
        }
    }
}
