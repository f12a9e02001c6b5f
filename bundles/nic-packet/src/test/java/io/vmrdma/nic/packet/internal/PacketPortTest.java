package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.nic.testkit.ReceivedFrames;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Ports on the two ends of a veth pair between two network namespaces: real netdevs, real AF_PACKET sockets. */
class PacketPortTest {

    private final List<AutoCloseable> open = new ArrayList<>();
    private final FrameClaim claim = new FrameClaim();

    @AfterEach
    void close() throws Exception {
        // Ports first: their sockets must be closed before their namespaces go.
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private VethLink link(int mtu) {
        VethLink link = VethLink.create(mtu);
        open.add(link);
        return link;
    }

    private PacketPort port(NetworkNamespace namespace, PacketSettings settings) {
        PacketPort port = namespace.call(() -> new PacketPort(settings));
        open.add(port);
        return port;
    }

    private void send(PacketPort from, LinkAddress to, byte[] frame) {
        assertThat(from.tryClaim(to, frame.length, claim)).isTrue();
        claim.buffer().put(claim.offset(), frame);
        from.commit(claim, frame.length);
    }

    @Test
    void anIdleWaitOnTheSocketsReadinessEndsWhenAFrameArrives() throws Exception {
        VethLink link = link(9000);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB));
        b.awaitFrames(TimeUnit.MILLISECONDS.toNanos(20));
        assertThat(b.poll(new ReceivedFrames(), 32)).as("a wait that timed out leaves nothing to poll").isZero();
        Thread waiter = new Thread(() -> b.awaitFrames(TimeUnit.MINUTES.toNanos(2)), "waiter");
        waiter.start();
        waiter.join(300);
        assertThat(waiter.isAlive()).as("nothing arrived: still waiting").isTrue();
        byte[] frame = "wake the agent".getBytes(StandardCharsets.US_ASCII);
        send(a, b.address(), frame);
        assertThat(a.flush()).isEqualTo(1);
        waiter.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(waiter.isAlive()).as("the frame ended a two-minute wait").isFalse();
        ReceivedFrames received = new ReceivedFrames();
        assertThat(b.poll(received, 32)).isEqualTo(1);
        assertThat(received.frames.get(0)).isEqualTo(frame);
    }

    @Test
    void aFrameSaysHowLongItWaitedAtTheHostBeforeThePoll() throws InterruptedException {
        VethLink link = link(9000);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB));
        byte[] frame = new byte[100];
        new Random(5).nextBytes(frame);
        send(a, b.address(), frame);
        assertThat(a.flush()).isEqualTo(1);
        long slept = TimeUnit.MILLISECONDS.toNanos(30);
        TimeUnit.NANOSECONDS.sleep(slept);
        List<Long> waits = new ArrayList<>();
        List<byte[]> frames = new ArrayList<>();
        for (int tries = 0; frames.isEmpty(); tries++) {
            assertThat(tries).as("the frame arrives").isLessThan(1_000_000);
            b.poll((buffer, offset, length, source) -> {
                byte[] bytes = new byte[length];
                buffer.get(offset, bytes);
                frames.add(bytes);
                waits.add(b.frameWaitNanos());
            }, 8);
        }
        assertThat(frames).singleElement().isEqualTo(frame);
        // The kernel stamped it when it crossed the veth, before the sleep began: it waited at least the sleep.
        assertThat(waits).singleElement().satisfies(w -> assertThat(w).isGreaterThanOrEqualTo(slept)
                .isLessThan(TimeUnit.SECONDS.toNanos(60)));
    }

    @Test
    void framesTheKernelDropsForAFullReceiveBufferAreCounted() throws InterruptedException {
        VethLink link = link(9000);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB)
                .withSocketBufferBytes(PacketSettings.MIN_SOCKET_BUFFER));
        byte[] frame = new byte[9000];
        int sent = 0;
        for (int tries = 0; sent < 400; tries++) {
            assertThat(tries).as("the sender's kernel keeps refusing").isLessThan(10_000);
            send(a, b.address(), frame);
            sent += a.flush();
        }
        // Nothing was read while 400 frames of 9 KB met a 64 KiB buffer; what did arrive is read now.
        ReceivedFrames received = new ReceivedFrames().settle(b);
        long dropped = b.kernelDrops();
        assertThat(dropped).isPositive();
        assertThat(received.frames.size() + dropped).as("every frame sent was either read or counted")
                .isEqualTo(sent);
        assertThat(b.kernelDrops()).as("a second read adds nothing new").isEqualTo(dropped);
        assertThat(b.bindingCounters()).as("what vmrdma:status shows").containsEntry("kernelDrops", dropped)
                .containsKeys("runts", "oversized", "otherHost", "unroutable", "sendErrors", "receiveErrors");
    }

    @ParameterizedTest
    @ValueSource(ints = {1500, 9000, 65535})
    void framesCrossTheVethByteIdenticalBothWays(int mtu) throws InterruptedException {
        VethLink link = link(mtu);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB));
        assertThat(a.mtu()).isEqualTo(mtu);
        assertThat(a.linkState()).isEqualTo(LinkState.UP);
        assertThat(a.address().length()).isEqualTo(6);
        assertThat(a.address()).isNotEqualTo(b.address());
        assertThat(a.interfaceName()).isEqualTo(link.interfaceA);
        assertThat(a.binding()).isEqualTo("packet");

        long seed = new Random().nextLong();
        Random random = new Random(seed);
        for (PacketPort[] pair : new PacketPort[][] {{a, b}, {b, a}}) {
            PacketPort from = pair[0];
            PacketPort to = pair[1];
            List<byte[]> sent = new ArrayList<>();
            ReceivedFrames received = new ReceivedFrames();
            for (int batch = 0; batch < 8; batch++) {
                for (int i = 0; i < 32; i++) {
                    int length = switch (i) {
                        case 0 -> mtu;
                        case 1 -> 0;
                        case 2 -> 1;
                        default -> random.nextInt(mtu + 1);
                    };
                    byte[] frame = new byte[length];
                    random.nextBytes(frame);
                    send(from, to.address(), frame);
                    sent.add(frame);
                }
                assertThat(from.flush()).as("seed %d", seed).isEqualTo(32);
                received.await(to, sent.size());
            }
            assertThat(received.frames).as("seed %d", seed).hasSize(sent.size());
            for (int i = 0; i < sent.size(); i++) {
                assertThat(received.frames.get(i)).as("frame %d, seed %d", i, seed).isEqualTo(sent.get(i));
            }
            assertThat(received.sources).containsOnly(from.address());
            assertThat(from.sendErrors() + to.oversized() + to.runts() + to.receiveErrors()).isZero();
        }
        assertThat(new ReceivedFrames().settle(a).frames).as("a port does not hear its own frames").isEmpty();
        assertThat(new ReceivedFrames().settle(b).frames).isEmpty();
    }

    @Test
    void framesOfAnotherEtherTypeAreNotDelivered() throws InterruptedException {
        VethLink link = link(1500);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        PacketPort other = port(link.a, PacketSettings.of(link.interfaceA).withEtherType(0x88B6));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB));
        PacketPort bOther = port(link.b, PacketSettings.of(link.interfaceB).withEtherType(0x88B6));

        send(other, b.address(), new byte[] {6, 6});
        assertThat(other.flush()).isEqualTo(1);
        assertThat(new ReceivedFrames().await(bOther, 1).frames).as("it did cross").containsExactly(new byte[] {6, 6});
        assertThat(new ReceivedFrames().settle(b).frames).as("but not into the 0x88B5 port").isEmpty();

        send(a, b.address(), new byte[] {5});
        a.flush();
        assertThat(new ReceivedFrames().await(b, 1).frames).containsExactly(new byte[] {5});
        assertThat(new ReceivedFrames().settle(bOther).frames).isEmpty();
    }

    @Test
    void framesToAnotherMacAreNotHandedUpAndNonMacDestinationsAreDroppedAndCounted() throws InterruptedException {
        VethLink link = link(1500);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB));
        send(a, LinkAddress.ofMac("02:00:00:00:00:99"), new byte[] {1});
        assertThat(a.flush()).isEqualTo(1);
        assertThat(new ReceivedFrames().settle(b).frames).as("another host's frame").isEmpty();
        assertThat(b.otherHost()).isEqualTo(1);

        send(a, LinkAddress.of(new byte[] {1, 2, 3}), new byte[] {2});
        assertThat(a.unroutable()).isEqualTo(1);
        assertThat(a.flush()).isZero();

        send(a, LinkAddress.ofMac("ff:ff:ff:ff:ff:ff"), new byte[] {3});
        a.flush();
        ReceivedFrames broadcast = new ReceivedFrames().await(b, 1);
        assertThat(broadcast.frames).containsExactly(new byte[] {3});
        assertThat(broadcast.sources).containsExactly(a.address());
    }

    @Test
    void aFullBatchRefusesClaimsUntilFlushedAndCommitMayShortenAndAbortSendsNothing() {
        VethLink link = link(1500);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA).withBatchSize(3));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB).withBatchSize(2));
        assertThat(a.tryClaim(b.address(), 1500, claim)).isTrue();
        claim.buffer().put(claim.offset(), (byte) 0);
        a.commit(claim, 1);
        assertThat(a.tryClaim(b.address(), 100, claim)).isTrue();
        a.abort(claim);
        assertThat(claim.isLent()).isFalse();
        send(a, b.address(), new byte[] {1});
        send(a, b.address(), new byte[] {2});
        assertThat(a.tryClaim(b.address(), 10, claim)).isFalse();
        assertThat(claim.isLent()).isFalse();
        assertThat(a.flush()).isEqualTo(3);
        assertThat(a.flush()).isZero();
        send(a, b.address(), new byte[] {3});
        assertThat(a.flush()).isEqualTo(1);

        List<Integer> seen = new ArrayList<>();
        FrameHandler handler = (buffer, offset, length, source) -> seen.add((int) buffer.get(offset));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (seen.size() < 4 && System.nanoTime() < deadline) {
            assertThat(b.poll(handler, 100)).as("at most a batch per poll").isLessThanOrEqualTo(2);
        }
        assertThat(seen).containsExactly(0, 1, 2, 3);
    }

    @Test
    void theLinkStateFollowsTheInterface() throws InterruptedException {
        VethLink link = link(1500);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        assertThat(a.linkState()).isEqualTo(LinkState.UP);
        link.sideB(false);
        assertThat(awaitLinkState(a, LinkState.DOWN)).as("the peer end is down: no carrier")
                .isEqualTo(LinkState.DOWN);
        link.sideB(true);
        assertThat(awaitLinkState(a, LinkState.UP)).isEqualTo(LinkState.UP);
        a.close();
        assertThat(a.linkState()).isEqualTo(LinkState.DOWN);
        assertThat(a.poll((buffer, offset, length, source) -> {
        }, 10)).isZero();
        send(a, a.address(), new byte[] {1});
        assertThat(a.flush()).isZero();
    }

    /**
     * The kernel's link watcher applies a carrier change to the interface's running flag asynchronously (within
     * about a second); the deadline only stops a broken test from hanging.
     */
    private static LinkState awaitLinkState(PacketPort port, LinkState expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (port.linkState() != expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return port.linkState();
    }

    @Test
    void theQdiscBypassOptionSendsToo() {
        VethLink link = link(9000);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA).withQdiscBypass(true));
        PacketPort b = port(link.b, PacketSettings.of(link.interfaceB));
        byte[] frame = new byte[9000];
        new Random(9).nextBytes(frame);
        send(a, b.address(), frame);
        assertThat(a.flush()).isEqualTo(1);
        assertThat(new ReceivedFrames().await(b, 1).frames).containsExactly(frame);
    }

    @Test
    void aMissingInterfaceIsNamed() {
        VethLink link = link(1500);
        assertThatThrownBy(() -> port(link.a, PacketSettings.of("nosuch0")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("no such interface: nosuch0");
        assertThatThrownBy(() -> port(link.a, PacketSettings.of(link.interfaceB)))
                .as("the other end lives in the other namespace")
                .hasMessage("no such interface: " + link.interfaceB);
    }

    @Test
    void anInterfaceWithAnMtuBelow1500IsRefused() {
        VethLink link = link(1280);
        assertThatThrownBy(() -> port(link.a, PacketSettings.of(link.interfaceA)))
                .hasMessageContaining("has MTU 1280; vmrdma needs at least 1500");
    }

    @Test
    void withoutCapNetRawTheErrorSaysSo() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process process = new ProcessBuilder("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", java,
                "-cp", System.getProperty("java.class.path"), OpenPort.class.getName(), "lo")
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(output).contains("nic.packet needs CAP_NET_RAW to open a raw socket on lo")
                .contains("Operation not permitted");
        assertThat(process.exitValue()).isEqualTo(3);
    }

    @Test
    void badSettingsAreRefusedClearly() {
        assertThatThrownBy(() -> PacketSettings.of("")).hasMessageContaining("interfaceName must be 1 to 15");
        assertThatThrownBy(() -> PacketSettings.of("abcdefghijklmnop")).hasMessageContaining("'abcdefghijklmnop'");
        assertThatThrownBy(() -> PacketSettings.of("eth 0")).hasMessageContaining("'eth 0'");
        assertThatThrownBy(() -> PacketSettings.of("../x")).hasMessageContaining("'../x'");
        assertThatThrownBy(() -> PacketSettings.of("eth0").withEtherType(0x05FF))
                .hasMessage("nic.packet etherType must be 0x0600 to 0xFFFF, not 0x5FF");
        assertThatThrownBy(() -> PacketSettings.of("eth0").withEtherType(0x10000)).hasMessageContaining("0x10000");
        assertThatThrownBy(() -> PacketSettings.of("eth0").withBatchSize(0)).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> PacketSettings.of("eth0").withBatchSize(1025)).hasMessageContaining("not 1025");
        assertThatThrownBy(() -> new PacketPort(config("eth0", "IPv6", 32)))
                .hasMessage("nic.packet etherType is not a number (0x88B5 or 34997): 'IPv6'");
        assertThatThrownBy(() -> new PacketPort(config("eth0", "0x88B5", 0))).hasMessageContaining("batchSize");
        assertThat(PacketSettings.from(config(" veth0 ", "0x88b6", 32)))
                .isEqualTo(PacketSettings.of("veth0").withEtherType(0x88B6));
        assertThat(PacketSettings.from(config("veth0", "34997", 32))).isEqualTo(PacketSettings.of("veth0"));
    }

    @Test
    void claimsAreCheckedAgainstTheMtuAndTheProtocol() {
        VethLink link = link(1500);
        PacketPort a = port(link.a, PacketSettings.of(link.interfaceA));
        assertThatThrownBy(() -> a.tryClaim(a.address(), 1501, claim)).hasMessageContaining("MTU 1500");
        assertThatThrownBy(() -> a.commit(claim, 1)).hasMessageContaining("no frame is claimed");
        assertThat(a.tryClaim(a.address(), 100, claim)).isTrue();
        assertThatThrownBy(() -> a.tryClaim(a.address(), 100, new FrameClaim())).hasMessageContaining("already");
        assertThatThrownBy(() -> a.commit(claim, 101)).hasMessageContaining("101 bytes");
        assertThat(a.flush()).isZero();
    }

    /** A configuration as Configuration Admin would hand it over. */
    private static PacketConfig config(String interfaceName, String etherType, int batchSize) {
        return new PacketConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return PacketConfig.class;
            }
            @Override
            public String interfaceName() {
                return interfaceName;
            }
            @Override
            public String etherType() {
                return etherType;
            }
            @Override
            public int batchSize() {
                return batchSize;
            }
            @Override
            public int socketBufferBytes() {
                return PacketSettings.DEFAULT_SOCKET_BUFFER;
            }
            @Override
            public boolean qdiscBypass() {
                return false;
            }
        };
    }

    /** Opens a port on the interface named by the argument in a JVM of its own; exit 3 when refused. */
    public static final class OpenPort {
        public static void main(String[] arguments) {
            try (PacketPort port = new PacketPort(PacketSettings.of(arguments[0]))) {
                System.out.println("opened " + port.address());
            } catch (IllegalStateException e) {
                System.out.println(e.getMessage());
                System.exit(3);
            }
        }
    }
}
