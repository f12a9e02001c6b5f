package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.nic.testkit.ReceivedFrames;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Frames committed in pieces ({@link PacketPort#commitGather}): a head and a tail in the port's slot, a payload read by
 * the kernel from memory of the sender's, across a real veth pair. What arrives is the frame as committed, whether the
 * kernel takes it at the first flush or only later.
 */
class PacketGatherTest {

    private final List<AutoCloseable> open = new ArrayList<>();
    private final FrameClaim claim = new FrameClaim();

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private PacketPort port(NetworkNamespace namespace, String interfaceName) {
        PacketPort port = namespace.call(() -> new PacketPort(PacketSettings.of(interfaceName)));
        open.add(port);
        return port;
    }

    /**
     * Commits head, then {@code length} bytes of {@code payload} at {@code offset}, then tail, and returns the frame
     * those pieces make.
     */
    private byte[] gather(PacketPort from, LinkAddress to, byte[] head, ByteBuffer payload, int offset, int length,
                          byte[] tail) {
        assertThat(from.tryClaim(to, head.length + length + tail.length, claim)).isTrue();
        claim.buffer().put(claim.offset(), head);
        claim.buffer().put(claim.offset() + head.length, tail);
        from.commitGather(claim, head.length, payload, offset, length, tail.length);
        byte[] frame = new byte[head.length + length + tail.length];
        System.arraycopy(head, 0, frame, 0, head.length);
        payload.get(offset, frame, head.length, length);
        System.arraycopy(tail, 0, frame, head.length + length, tail.length);
        return frame;
    }

    private static byte[] bytes(Random random, int length) {
        byte[] b = new byte[length];
        random.nextBytes(b);
        return b;
    }

    @ParameterizedTest
    @ValueSource(ints = {1500, 9000, 65535})
    void gatheredFramesArriveAsCommittedBesideWholeOnes(int mtu) throws InterruptedException {
        VethLink link = VethLink.create(mtu);
        open.add(link);
        PacketPort a = port(link.a, link.interfaceA);
        PacketPort b = port(link.b, link.interfaceB);
        assertThat(a.gathers()).isTrue();
        ByteBuffer direct = ByteBuffer.allocateDirect(2 * mtu);
        ByteBuffer heap = ByteBuffer.allocate(2 * mtu);
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        direct.put(0, bytes(random, 2 * mtu));
        heap.put(0, bytes(random, 2 * mtu));
        List<byte[]> sent = new ArrayList<>();
        ReceivedFrames received = new ReceivedFrames();
        for (int batch = 0; batch < 8; batch++) {
            for (int i = 0; i < 32; i++) {
                byte[] head = bytes(random, random.nextInt(65));
                byte[] tail = bytes(random, random.nextInt(9));
                int room = mtu - head.length - tail.length;
                int length = switch (i) {
                    case 0 -> room;
                    case 1 -> 0;
                    default -> random.nextInt(room + 1);
                };
                int offset = random.nextInt(2 * mtu - length + 1);
                if (i % 4 == 3) {
                    // A frame written whole between gathered ones reuses a slot that carried pieces.
                    byte[] frame = bytes(random, random.nextInt(mtu + 1));
                    assertThat(a.tryClaim(b.address(), frame.length, claim)).isTrue();
                    claim.buffer().put(claim.offset(), frame);
                    a.commit(claim, frame.length);
                    sent.add(frame);
                } else {
                    // A payload outside direct memory is copied into the slot instead.
                    sent.add(gather(a, b.address(), head, i % 4 == 2 ? heap : direct, offset, length, tail));
                }
            }
            assertThat(a.flush()).as("seed %d", seed).isEqualTo(32);
            received.await(b, sent.size());
        }
        assertThat(received.frames).as("seed %d", seed).hasSize(sent.size());
        for (int i = 0; i < sent.size(); i++) {
            assertThat(received.frames.get(i)).as("frame %d, seed %d", i, seed).isEqualTo(sent.get(i));
        }
        assertThat(a.sendErrors() + b.oversized() + b.runts()).isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {1500, 9000, 65535})
    void writesAndReadsBetweenEnginesCarryPayloadsGatheredFromRegisteredMemory(int mtu) throws Exception {
        VethLink link = VethLink.create(mtu);
        open.add(link);
        PacketPort a = port(link.a, link.interfaceA);
        PacketPort b = port(link.b, link.interfaceB);
        // Frames carry payload CRCs (no authentication): the requester gathers WRITE payloads, the responder READ
        // responses.
        Hosts hosts = new Hosts(a, b);
        List<Hosts.Transfer> transfers = Hosts.list();
        transfers.add(hosts.transfer(0, 1, (1 << 20) + 17, 41));
        transfers.add(hosts.read(0, 1, (1 << 20) + 5, 42));
        transfers.add(hosts.read(1, 0, 3 * mtu, 43));
        for (Hosts.Transfer t : transfers) {
            t.post();
        }
        hosts.runUntilAllDone(transfers);
        for (Hosts.Transfer t : transfers) {
            t.assertArrivedByteIdentical();
        }
        assertThat(hosts.engines[0].counter(Counter.PAYLOAD_CRC_ERRORS)
                + hosts.engines[1].counter(Counter.PAYLOAD_CRC_ERRORS)).isZero();
    }

    @Test
    void framesTheKernelDoesNotTakeAtOnceKeepThePayloadTheyWereCommittedWith() throws Exception {
        VethLink link = VethLink.create(1500);
        open.add(link);
        // A slow queue that holds three frames: the kernel refuses the rest of a batch (ENOBUFS), so the port keeps
        // them for later flushes.
        VethLink.ip("netns", "exec", link.a.name(), "tc", "qdisc", "add", "dev", link.interfaceA, "root", "tbf",
                "rate", "10mbit", "burst", "1600", "limit", "4500");
        PacketPort a = port(link.a, link.interfaceA);
        PacketPort b = port(link.b, link.interfaceB);
        Random random = new Random(17);
        ByteBuffer payload = ByteBuffer.allocateDirect(32 * 1400);
        payload.put(0, bytes(random, 32 * 1400));
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            sent.add(gather(a, b.address(), bytes(random, 40), payload, i * 1400, 1400, bytes(random, 4)));
        }
        int flushed = a.flush();
        assertThat(flushed).as("the queue took only part of the batch").isLessThan(32);
        // The payload's memory is the sender's again once the flush returned: what it writes there now must not
        // reach the wire.
        payload.put(0, new byte[32 * 1400]);
        ReceivedFrames received = new ReceivedFrames();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (flushed < 32) {
            assertThat(System.nanoTime()).as("the queue drains").isLessThan(deadline);
            Thread.sleep(2);
            flushed += a.flush();
            received.drain(b, 64);
        }
        received.await(b, 32);
        assertThat(received.frames).hasSize(32);
        for (int i = 0; i < 32; i++) {
            assertThat(received.frames.get(i)).as("frame %d", i).isEqualTo(sent.get(i));
        }
    }
}
