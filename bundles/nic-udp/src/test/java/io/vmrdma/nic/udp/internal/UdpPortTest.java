package io.vmrdma.nic.udp.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.nic.testkit.ReceivedFrames;
import io.vmrdma.nic.udp.UdpAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UdpPortTest {

    private final List<AutoCloseable> open = new ArrayList<>();
    private final FrameClaim claim = new FrameClaim();

    private UdpPort port(String address, int mtu, int batch) {
        UdpPort p = new UdpPort(UdpSettings.of(UdpAddress.literal(address), 0).withMtu(mtu).withBatchSize(batch));
        open.add(p);
        return p;
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private void send(UdpPort from, LinkAddress to, byte[] frame) {
        assertThat(from.tryClaim(to, frame.length, claim)).isTrue();
        claim.buffer().put(claim.offset(), frame);
        from.commit(claim, frame.length);
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void framesArriveByteIdenticalInOrderWithTheirSource(String loopback) {
        UdpPort a = port(loopback, 8972, 16);
        UdpPort b = port(loopback, 8972, 16);
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        List<byte[]> sent = new ArrayList<>();
        ReceivedFrames received = new ReceivedFrames();
        for (int batch = 0; batch < 40; batch++) {
            for (int i = 0; i < 16; i++) {
                // Empty frames too: sending one writes 0 bytes, which must not read as a full send buffer.
                byte[] frame = new byte[i == 5 ? 0 : random.nextInt(8973)];
                random.nextBytes(frame);
                send(a, b.address(), frame);
                sent.add(frame);
            }
            assertThat(a.flush()).as("seed %d", seed).isEqualTo(16);
            received.drain(b, 7);
        }
        assertThat(received.frames).as("seed %d", seed).containsExactlyElementsOf(sent);
        assertThat(received.sources).containsOnly(a.address());
        assertThat(UdpAddress.toString(a.address()))
                .startsWith(loopback.contains(":") ? "[0:0:0:0:0:0:0:1]:" : "127.0.0.1:");
        assertThat(a.interfaceName()).isEqualTo(UdpAddress.toString(a.address()));
    }

    @Test
    void theLargestFrameOfTheLargestMtuCrosses() {
        UdpPort a = port("127.0.0.1", 65507, 2);
        UdpPort b = port("127.0.0.1", 65507, 2);
        byte[] frame = new byte[65507];
        new Random(7).nextBytes(frame);
        send(a, b.address(), frame);
        assertThat(a.flush()).isEqualTo(1);
        assertThat(new ReceivedFrames().drain(b, 2).frames).containsExactly(frame);
    }

    @Test
    void anIdleWaitOnTheSocketsReadinessEndsWhenADatagramArrives() throws InterruptedException {
        UdpPort a = port("127.0.0.1", 1472, 2);
        UdpPort b = port("127.0.0.1", 1472, 2);
        b.awaitFrames(TimeUnit.MILLISECONDS.toNanos(20));
        assertThat(b.poll(new ReceivedFrames(), 2)).as("a wait that timed out leaves nothing to poll").isZero();
        Thread waiter = new Thread(() -> b.awaitFrames(TimeUnit.MINUTES.toNanos(2)), "waiter");
        waiter.start();
        waiter.join(300);
        assertThat(waiter.isAlive()).as("nothing arrived: still waiting").isTrue();
        send(a, b.address(), new byte[] {42});
        assertThat(a.flush()).isEqualTo(1);
        waiter.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(waiter.isAlive()).as("the datagram ended a two-minute wait").isFalse();
        assertThat(new ReceivedFrames().drain(b, 2).frames).containsExactly(new byte[] {42});
    }

    @Test
    void pollHandsUpAtMostTheLimitAndTheBatchSize() throws IOException {
        UdpPort a = port("127.0.0.1", 1472, 4);
        UdpPort b = port("127.0.0.1", 1472, 8);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 4; i++) {
                send(a, b.address(), new byte[] {(byte) (round * 4 + i)});
            }
            a.flush();
        }
        List<Integer> seen = new ArrayList<>();
        FrameHandler handler = (buffer, offset, length, source) -> seen.add((int) buffer.get(offset));
        assertThat(b.poll(handler, 3)).isEqualTo(3);
        assertThat(b.poll(handler, 100)).isEqualTo(8);
        assertThat(b.poll(handler, 100)).isEqualTo(1);
        assertThat(b.poll(handler, 100)).isZero();
        assertThat(seen).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    }

    @Test
    void aFullTransmitBatchRefusesClaimsUntilFlushed() {
        UdpPort a = port("127.0.0.1", 1472, 3);
        UdpPort b = port("127.0.0.1", 1472, 8);
        for (int i = 0; i < 3; i++) {
            send(a, b.address(), new byte[] {(byte) i});
        }
        assertThat(a.tryClaim(b.address(), 10, claim)).isFalse();
        assertThat(claim.isLent()).isFalse();
        assertThat(new ReceivedFrames().drain(b, 8).frames).as("nothing leaves before the flush").isEmpty();
        assertThat(a.flush()).isEqualTo(3);
        assertThat(a.flush()).isZero();
        send(a, b.address(), new byte[] {3});
        assertThat(a.flush()).isEqualTo(1);
        assertThat(new ReceivedFrames().drain(b, 8).frames).extracting(f -> (int) f[0]).containsExactly(0, 1, 2, 3);
    }

    @Test
    void aPortHearsItself() {
        UdpPort a = port("::1", 1472, 2);
        send(a, a.address(), new byte[] {1, 2, 3});
        a.flush();
        ReceivedFrames r = new ReceivedFrames().drain(a, 2);
        assertThat(r.frames).containsExactly(new byte[] {1, 2, 3});
        assertThat(r.sources).containsExactly(a.address());
    }

    @Test
    void anyDatagramIsHandedUpWithItsSourceButOversizedOnesAreDroppedAndCounted() throws IOException {
        UdpPort b = port("127.0.0.1", 1472, 8);
        try (DatagramChannel stranger = DatagramChannel.open()) {
            stranger.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            InetSocketAddress to = UdpAddress.toSocketAddress(b.address(), 0);
            stranger.send(ByteBuffer.wrap(new byte[] {(byte) 0xDE, (byte) 0xAD}), to);
            stranger.send(ByteBuffer.allocate(0), to);
            stranger.send(ByteBuffer.allocate(1473), to);
            stranger.send(ByteBuffer.allocate(1472), to);
            ReceivedFrames r = new ReceivedFrames().drain(b, 8);
            assertThat(r.frames).extracting(f -> f.length).containsExactly(2, 0, 1472);
            assertThat(r.frames.get(0)).containsExactly(0xDE, 0xAD);
            assertThat(r.sources).containsOnly(UdpAddress.of((InetSocketAddress) stranger.getLocalAddress()));
            assertThat(b.oversized()).isEqualTo(1);
        }
    }

    @Test
    void framesForUnreachableDestinationsAreTakenAndDroppedAndCounted() {
        UdpPort v4 = port("127.0.0.1", 1472, 4);
        LinkAddress[] nowhere = {
            LinkAddress.of(new byte[] {1, 2, 3}),
            LinkAddress.of(new byte[] {127, 0, 0, 1, 0, 0}),
            UdpAddress.parse("[::1]:4792"),
            UdpAddress.parse("[fe80::1]:4792")};
        for (LinkAddress to : nowhere) {
            assertThat(v4.tryClaim(to, 10, claim)).as("%s", to).isTrue();
            claim.buffer().put(claim.offset(), (byte) 1);
            v4.commit(claim, 10);
        }
        assertThat(v4.unroutable()).isEqualTo(4);
        assertThat(v4.flush()).isZero();

        UdpPort v6 = port("::1", 1472, 4);
        assertThat(v6.tryClaim(UdpAddress.parse("[fe80::1]:4792"), 10, claim)).isTrue();
        v6.commit(claim, 10);
        assertThat(v6.unroutable()).as("link-local needs a scoped bind address").isEqualTo(1);
    }

    @Test
    void ipv6LinkLocalPortsTalkThroughTheirScope() throws SocketException {
        Inet6Address linkLocal = Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(NetworkInterface::inetAddresses)
                .filter(a -> a instanceof Inet6Address && a.isLinkLocalAddress())
                .map(Inet6Address.class::cast)
                .findFirst().orElse(null);
        assumeTrue(linkLocal != null, "no IPv6 link-local address on this host");
        String scoped = linkLocal.getHostAddress();
        assertThat(scoped).contains("%");
        UdpPort a = port(scoped, 1452, 4);
        UdpPort b = port(scoped, 1452, 4);
        assertThat(a.address().length()).isEqualTo(UdpAddress.IPV6_LENGTH);
        byte[] frame = new byte[1452];
        new Random(3).nextBytes(frame);
        send(a, b.address(), frame);
        assertThat(a.flush()).isEqualTo(1);
        ReceivedFrames r = new ReceivedFrames().drain(b, 4);
        assertThat(r.frames).containsExactly(frame);
        assertThat(r.sources).containsExactly(a.address());
    }

    @Test
    void aDualStackPortTalksToIpv4PeersByTheirIpv4Addresses() {
        UdpPort wildcard = port("::", 1472, 4);
        UdpPort v4 = port("127.0.0.1", 1472, 4);
        LinkAddress wildcardOverV4 = UdpAddress.parse("127.0.0.1:" + UdpAddress.port(wildcard.address()));
        send(v4, wildcardOverV4, new byte[] {4});
        v4.flush();
        ReceivedFrames atWildcard = new ReceivedFrames().drain(wildcard, 4);
        assertThat(atWildcard.frames).containsExactly(new byte[] {4});
        assertThat(atWildcard.sources).as("an IPv4 sender is 6 bytes, not a mapped IPv6 address")
                .containsExactly(v4.address());

        send(wildcard, atWildcard.sources.get(0), new byte[] {6});
        assertThat(wildcard.flush()).isEqualTo(1);
        ReceivedFrames atV4 = new ReceivedFrames().drain(v4, 4);
        assertThat(atV4.frames).containsExactly(new byte[] {6});
        assertThat(atV4.sources).containsExactly(wildcardOverV4);
    }

    @Test
    void theLinkIsUpWhileTheSocketIsOpen() {
        UdpPort a = port("127.0.0.1", 1472, 4);
        assertThat(a.linkState()).isEqualTo(LinkState.UP);
        assertThat(a.binding()).isEqualTo("udp");
        a.close();
        assertThat(a.linkState()).isEqualTo(LinkState.DOWN);
        assertThat(a.poll((buffer, offset, length, source) -> {
        }, 10)).isZero();
        send(a, a.address(), new byte[] {1});
        assertThat(a.flush()).isZero();
    }

    @Test
    void badArgumentsAndSettingsAreRefusedClearly() throws IOException {
        UdpPort a = port("127.0.0.1", 1472, 4);
        assertThatThrownBy(() -> a.tryClaim(a.address(), 1473, claim)).hasMessageContaining("MTU 1472");
        assertThatThrownBy(() -> a.commit(claim, 1)).hasMessageContaining("no frame is claimed");
        assertThat(a.tryClaim(a.address(), 100, claim)).isTrue();
        assertThatThrownBy(() -> a.tryClaim(a.address(), 100, new FrameClaim()))
                .hasMessageContaining("already claimed");
        assertThatThrownBy(() -> a.commit(claim, 101)).hasMessageContaining("101 bytes");
        assertThat(a.flush()).isZero();

        InetAddress lo = InetAddress.getLoopbackAddress();
        assertThatThrownBy(() -> UdpSettings.of(lo, 0).withMtu(1451)).hasMessageContaining("mtu must be 1452 to 65507");
        assertThatThrownBy(() -> UdpSettings.of(lo, 0).withMtu(65508)).hasMessageContaining("not 65508");
        assertThatThrownBy(() -> UdpSettings.of(lo, 0).withBatchSize(0)).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> UdpSettings.of(lo, 70000)).hasMessageContaining("port must be 0 to 65535");
        assertThatThrownBy(() -> new UdpPort(config("eth0", 4792)))
                .hasMessageContaining("not an IP address literal: 'eth0'");
        assertThatThrownBy(() -> new UdpPort(config("300.1.1.1", 4792))).hasMessageContaining("'300.1.1.1'");

        int taken = UdpAddress.port(a.address());
        assertThatThrownBy(() -> new UdpPort(config("127.0.0.1", taken)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot bind UDP 127.0.0.1:" + taken);
        assertThatThrownBy(() -> new UdpPort(config("192.0.2.123", 4792)))
                .hasMessageContaining("cannot bind UDP 192.0.2.123:4792");
    }

    @Test
    void theConfigurationDefaultsMakeAWorkingPort() {
        UdpPort p = new UdpPort(config("127.0.0.1", 0));
        open.add(p);
        assertThat(p.mtu()).isEqualTo(8972);
        assertThat(UdpSettings.DEFAULT_PORT).isEqualTo(4792);
        assertThat(p.segmenting()).as("UDP_SEGMENT on by default").isTrue();
        assertThat(p.coalescing()).as("UDP_GRO on by default").isTrue();
    }

    /** A configuration as Configuration Admin would hand it over: the defaults of {@link UdpConfig} but these. */
    private static UdpConfig config(String bindAddress, int port) {
        return new UdpConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return UdpConfig.class;
            }
            @Override
            public String bindAddress() {
                return bindAddress;
            }
            @Override
            public int port() {
                return port;
            }
            @Override
            public int mtu() {
                return UdpSettings.DEFAULT_MTU;
            }
            @Override
            public int receiveBufferBytes() {
                return UdpSettings.DEFAULT_SOCKET_BUFFER;
            }
            @Override
            public int sendBufferBytes() {
                return UdpSettings.DEFAULT_SOCKET_BUFFER;
            }
            @Override
            public int batchSize() {
                return UdpSettings.DEFAULT_BATCH;
            }
            @Override
            public int addressCacheSize() {
                return UdpSettings.DEFAULT_ADDRESS_CACHE;
            }
            @Override
            public boolean udpSegment() {
                return true;
            }
            @Override
            public boolean udpGro() {
                return true;
            }
        };
    }
}
