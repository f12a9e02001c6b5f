package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.nic.testkit.ReceivedFrames;
import io.vmrdma.nic.udp.internal.UdpPort;
import io.vmrdma.nic.udp.internal.UdpPorts;
import org.junit.jupiter.api.Test;

/**
 * nic.udp's segmentation offload across a real link: two network namespaces joined by a veth pair (made and removed
 * by {@link VethLink}), a port in each. Super-datagrams cross the veth whole and arrive coalesced, frames
 * byte-identical; on a link whose MTU is below the frame size the kernel refuses them, and the port goes on with
 * plain datagrams. Needs root, as the other multi-host tests.
 */
class UdpOffloadOverVethTest {

    private static final int PORT = 4792;
    private final FrameClaim claim = new FrameClaim();

    private void send(UdpPort from, LinkAddress to, byte[] frame) {
        assertThat(from.tryClaim(to, frame.length, claim)).isTrue();
        claim.buffer().put(claim.offset(), frame);
        from.commit(claim, frame.length);
    }

    /** Rounds of 32 frames: runs of 1 to 8 MTU-sized frames, the last of a run sometimes short. */
    private List<byte[]> sendRuns(UdpPort a, UdpPort b, int mtu, long seed, ReceivedFrames received) {
        Random random = new Random(seed);
        List<byte[]> sent = new ArrayList<>();
        for (int round = 0; round < 40; round++) {
            for (int i = 0; i < 32; i++) {
                byte[] frame = new byte[random.nextInt(6) == 0 ? 1 + random.nextInt(mtu) : mtu];
                random.nextBytes(frame);
                send(a, b.address(), frame);
                sent.add(frame);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (int flushed = a.flush(); flushed < 32; flushed += a.flush()) {
                assertThat(System.nanoTime()).as("all 32 frames sent (send errors: %d)", a.sendErrors())
                        .isLessThan(deadline);
            }
            received.await(b, sent.size());
        }
        return sent;
    }

    private interface TwoPorts {
        void test(UdpPort a, UdpPort b) throws Exception;
    }

    /**
     * A veth pair of {@code linkMtu} between two fresh namespaces, addresses 169.254.91.{@code host} and the next
     * one, and a port at each with 8972-byte frames: A's offloads as {@code aOffloads} says, B's on.
     */
    private static void overVeth(int linkMtu, int host, boolean aOffloads, TwoPorts test) throws Exception {
        String ipA = "169.254.91." + host;
        String ipB = "169.254.91." + (host + 1);
        try (VethLink link = VethLink.create(linkMtu)) {
            VethLink.ip("-n", link.a.name(), "addr", "add", ipA + "/30", "dev", link.interfaceA);
            VethLink.ip("-n", link.b.name(), "addr", "add", ipB + "/30", "dev", link.interfaceB);
            try (UdpPort a = link.a.call(() -> UdpPorts.open(InetAddress.getByName(ipA), PORT, 8972, aOffloads,
                    aOffloads));
                    UdpPort b = link.b.call(() -> UdpPorts.open(InetAddress.getByName(ipB), PORT, 8972))) {
                test.test(a, b);
            }
        }
    }

    @Test
    void superDatagramsCrossAVethWholeAndArriveAsTheirFrames() throws Exception {
        overVeth(9000, 1, true, (a, b) -> {
            long seed = new Random().nextLong();
            ReceivedFrames received = new ReceivedFrames();
            List<byte[]> sent = sendRuns(a, b, 8972, seed, received);
            assertThat(received.frames).as("seed %d", seed).containsExactlyElementsOf(sent);
            assertThat(received.sources).containsOnly(a.address());
            assertThat(a.superDatagramsSent()).isPositive();
            assertThat(b.coalescedReceived()).as("the veth passes them on whole").isPositive();
            assertThat(a.sendErrors() + b.oversized() + b.controlErrors()).isZero();
        });
    }

    @Test
    void onALinkWhoseMtuIsBelowTheFrameSizeThePortFallsBackToPlainDatagrams() throws Exception {
        // 8972-byte frames on a 1500-byte link: each datagram is fragmented, which UDP_SEGMENT cannot do.
        overVeth(1500, 5, true, (a, b) -> {
            assertThat(a.segmenting()).isTrue();
            long seed = new Random().nextLong();
            ReceivedFrames received = new ReceivedFrames();
            List<byte[]> sent = sendRuns(a, b, 8972, seed, received);
            assertThat(received.frames).as("seed %d", seed).containsExactlyElementsOf(sent);
            assertThat(a.segmenting()).as("refused once, then off").isFalse();
            assertThat(a.bindingCounters()).containsEntry("gsoRefused", 1L).doesNotContainKey("gsoSends");
            assertThat(a.sendErrors()).isZero();
        });
    }

    @Test
    void portsWithTheOffloadsTurnedOffByConfigurationTalkToPortsWithThem() throws Exception {
        overVeth(9000, 9, false, (plain, offloading) -> {
            long seed = new Random().nextLong();
            ReceivedFrames atOffloading = new ReceivedFrames();
            assertThat(sendRuns(plain, offloading, 8972, seed, atOffloading))
                    .as("seed %d", seed).containsExactlyElementsOf(atOffloading.frames);
            ReceivedFrames atPlain = new ReceivedFrames();
            assertThat(sendRuns(offloading, plain, 8972, seed, atPlain))
                    .as("seed %d", seed).containsExactlyElementsOf(atPlain.frames);
            assertThat(plain.superDatagramsSent() + plain.coalescedReceived()).isZero();
            assertThat(offloading.superDatagramsSent()).isPositive();
        });
    }
}
