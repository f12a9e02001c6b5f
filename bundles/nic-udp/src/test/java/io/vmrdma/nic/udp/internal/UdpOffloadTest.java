package io.vmrdma.nic.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.nic.testkit.ReceivedFrames;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * UDP_SEGMENT and UDP_GRO between real sockets on loopback: runs of frames leave as super-datagrams and arrive
 * coalesced, and what the engine sees is the same as with plain datagrams, frame for frame and byte for byte, with
 * each frame's sender. Also each offload turned off, alone or both, on either side.
 */
class UdpOffloadTest {

    private static final int MTU = 8972;
    private static final int BATCH = 32;

    private final List<UdpPort> open = new ArrayList<>();
    private final FrameClaim claim = new FrameClaim();

    private UdpPort port(boolean segment, boolean gro) {
        UdpPort port = new UdpPort(UdpSettings.of(InetAddress.getLoopbackAddress(), 0).withMtu(MTU)
                .withBatchSize(BATCH).withOffloads(segment, gro));
        open.add(port);
        return port;
    }

    @AfterEach
    void close() {
        open.forEach(UdpPort::close);
    }

    private void send(UdpPort from, LinkAddress to, byte[] frame) {
        assertThat(from.tryClaim(to, frame.length, claim)).isTrue();
        claim.buffer().put(claim.offset(), frame);
        from.commit(claim, frame.length);
    }

    private static byte[] frame(Random random, int length) {
        byte[] frame = new byte[length];
        random.nextBytes(frame);
        return frame;
    }

    @Test
    void aRunOfMtuFramesWithAShortLastLeavesAsOneSuperDatagramAndArrivesAsItsFrames() {
        UdpPort a = port(true, true);
        UdpPort b = port(true, true);
        assertThat(a.segmenting()).as("this kernel has UDP_SEGMENT (Linux 4.18)").isTrue();
        assertThat(b.coalescing()).as("this kernel has UDP_GRO (Linux 5.0)").isTrue();
        Random random = new Random(17);
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            sent.add(frame(random, i < 5 ? MTU : 1234));
            send(a, b.address(), sent.get(i));
        }
        assertThat(a.flush()).isEqualTo(6);
        assertThat(a.superDatagramsSent()).isEqualTo(1);

        ReceivedFrames received = new ReceivedFrames().await(b, 6);
        assertThat(received.frames).containsExactlyElementsOf(sent);
        assertThat(received.sources).containsOnly(a.address());
        assertThat(b.coalescedReceived()).as("one buffer of six datagrams").isEqualTo(1);
        assertThat(a.bindingCounters()).containsEntry("gsoSends", 1L).containsEntry("gsoRefused", 0L);
        assertThat(b.bindingCounters()).containsEntry("groReceives", 1L).containsEntry("controlErrors", 0L);
    }

    @Test
    void aRunEndsWhereTheSizeGrowsTheDestinationChangesOrThePayloadWouldPass64KiB() {
        UdpPort a = port(true, true);
        UdpPort b = port(true, true);
        UdpPort c = port(true, true);
        Random random = new Random(5);
        List<byte[]> toB = new ArrayList<>();
        // 8 MTU frames: 7 fit one 65507-byte super-datagram, the 8th starts another (alone, so a plain datagram).
        for (int i = 0; i < 8; i++) {
            toB.add(frame(random, MTU));
        }
        // 100, 100, 200: the larger frame cannot be the short last, so it goes alone.
        toB.add(frame(random, 100));
        toB.add(frame(random, 100));
        toB.add(frame(random, 200));
        toB.forEach(f -> send(a, b.address(), f));
        byte[] toC = frame(random, 100);
        send(a, c.address(), toC);
        assertThat(a.flush()).isEqualTo(12);
        // [7 x MTU] [MTU] [100, 100] [200] to b, [100] to c
        assertThat(a.superDatagramsSent()).isEqualTo(2);
        assertThat(new ReceivedFrames().await(b, 11).frames).containsExactlyElementsOf(toB);
        assertThat(new ReceivedFrames().await(c, 1).frames).containsExactly(toC);
    }

    /**
     * Seeded runs of frames to three peers in one batch, of every kind the engine makes: MTU-sized with a short
     * last, equal small ones (acknowledgements), odd sizes, empty frames; each peer gets its own frames in order.
     */
    @ParameterizedTest(name = "sender UDP_SEGMENT {0}, receivers UDP_GRO {1}")
    @CsvSource({"true,true", "true,false", "false,true", "false,false"})
    void mixedRunsToManyPeersArriveByteIdenticalWithEitherOffloadOnOrOff(boolean segment, boolean gro) {
        UdpPort a = port(segment, true);
        UdpPort[] peers = {port(true, gro), port(true, gro), port(true, gro)};
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        List<List<byte[]>> sent = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        ReceivedFrames[] received = {new ReceivedFrames(), new ReceivedFrames(), new ReceivedFrames()};
        for (int round = 0; round < 60; round++) {
            int claimed = 0;
            while (claimed < BATCH) {
                int peer = random.nextInt(peers.length);
                int run = Math.min(BATCH - claimed, 1 + random.nextInt(9));
                int kind = random.nextInt(4);
                int size = kind == 0 ? MTU : kind == 1 ? 64 + random.nextInt(64) : 0;
                for (int i = 0; i < run; i++) {
                    int length = switch (kind) {
                        case 0, 1 -> i == run - 1 && random.nextBoolean() ? random.nextInt(size) + 1 : size;
                        case 2 -> random.nextInt(MTU + 1);
                        default -> i % 3 == 0 ? 0 : random.nextInt(300);
                    };
                    byte[] f = frame(random, length);
                    send(a, peers[peer].address(), f);
                    sent.get(peer).add(f);
                }
                claimed += run;
            }
            assertThat(a.flush()).as("seed %d", seed).isEqualTo(BATCH);
            for (int p = 0; p < peers.length; p++) {
                received[p].await(peers[p], sent.get(p).size());
            }
        }
        for (int p = 0; p < peers.length; p++) {
            assertThat(received[p].frames).as("peer %d, seed %d", p, seed).containsExactlyElementsOf(sent.get(p));
            assertThat(received[p].sources).containsOnly(a.address());
        }
        assertThat(a.superDatagramsSent() > 0).as("super-datagrams sent, seed %d", seed).isEqualTo(segment);
        long coalesced = 0;
        for (UdpPort peer : peers) {
            coalesced += peer.coalescedReceived();
            assertThat(peer.controlErrors()).isZero();
            assertThat(peer.oversized()).isZero();
        }
        // Loopback hands a super-datagram whole to a UDP_GRO socket; to one without, the kernel cuts it up.
        assertThat(coalesced > 0).as("coalesced buffers received, seed %d", seed).isEqualTo(segment && gro);
    }

    @Test
    void aCoalescedBufferLargerThanThePollLimitIsHandedUpAcrossPolls() {
        UdpPort a = port(true, true);
        UdpPort b = port(true, true);
        Random random = new Random(9);
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            sent.add(frame(random, MTU));
            send(a, b.address(), sent.get(i));
        }
        send(a, b.address(), frame(random, 10));
        a.flush();
        ReceivedFrames received = new ReceivedFrames();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (received.frames.isEmpty() && System.nanoTime() < deadline) {
            assertThat(b.poll(received, 3)).isLessThanOrEqualTo(3);
        }
        assertThat(received.frames).hasSize(3);
        assertThat(b.poll(received, 3)).isEqualTo(3);
        assertThat(b.poll(received, 3)).as("the rest of the buffer, then the next datagram").isEqualTo(2);
        received.await(b, 8);
        assertThat(received.frames.subList(0, 7)).containsExactlyElementsOf(sent);
        assertThat(received.frames).hasSize(8);
    }

    @Test
    void withBothOffloadsTurnedOffByConfigurationThePortSendsPlainDatagramsAndShowsNoOffload() {
        UdpPort a = port(false, false);
        UdpPort b = port(false, false);
        assertThat(a.segmenting()).isFalse();
        assertThat(a.coalescing()).isFalse();
        Random random = new Random(3);
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            sent.add(frame(random, i < 9 ? MTU : 77));
            send(a, b.address(), sent.get(i));
        }
        assertThat(a.flush()).isEqualTo(10);
        assertThat(new ReceivedFrames().await(b, 10).frames).containsExactlyElementsOf(sent);
        assertThat(a.superDatagramsSent()).isZero();
        assertThat(b.coalescedReceived()).isZero();
        assertThat(a.bindingCounters()).doesNotContainKeys("gsoSends", "gsoRefused", "groReceives");
    }
}
