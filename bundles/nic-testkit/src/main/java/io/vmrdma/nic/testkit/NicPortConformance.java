package io.vmrdma.nic.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.LinkState;
import io.vmrdma.api.nic.NicPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every NIC binding does the same way, as the engine relies on it ({@link NicPort}'s contract): two ports on one
 * link exchange frames byte-identical and in order with their source; a commit may shorten a frame and an abort sends
 * nothing; claims out of turn are refused; a frame to an address nobody has is dropped, not delivered; a full port
 * refuses claims until it is flushed and the receiver drained; poll hands up no more than its limit.
 *
 * <p>A binding's test extends this class and makes the link ({@link #link()}): fresh for each test, closed after it.
 * Frames may take a moment to cross (a veth hands them over in a softirq), so receiving polls until a deadline.
 */
public abstract class NicPortConformance {

    private static final long CROSSING_LIMIT_NS = TimeUnit.SECONDS.toNanos(10);

    /**
     * Two ports of the binding on one link, an address that no port on the link has (frames to it must go nowhere),
     * and what closes them all.
     */
    public record Link(NicPort a, NicPort b, LinkAddress unreachable, AutoCloseable closer)
            implements
                AutoCloseable {
        @Override
        public void close() throws Exception {
            closer.close();
        }
    }

    /** Makes two fresh ports of the binding on one link. */
    protected abstract Link link() throws Exception;

    private final FrameClaim claim = new FrameClaim();
    private Link link;
    private NicPort a;
    private NicPort b;

    @BeforeEach
    final void openLink() throws Exception {
        link = link();
        a = link.a();
        b = link.b();
    }

    @AfterEach
    final void closeLink() throws Exception {
        if (link != null) {
            link.close();
        }
    }

    @Test
    void portsDescribeThemselves() {
        for (NicPort port : List.of(a, b)) {
            assertThat(port.binding()).isNotBlank();
            assertThat(port.interfaceName()).isNotBlank();
            assertThat(port.address().length()).isPositive();
            assertThat(port.mtu()).isBetween(NicPort.MIN_MTU - 48, NicPort.MAX_MTU);
            assertThat(port.linkState()).isEqualTo(LinkState.UP);
            assertThat(port.bindingCounters()).doesNotContainValue(null);
        }
        assertThat(a.address()).isNotEqualTo(b.address());
        assertThat(a.broadcastAddress()).isEqualTo(b.broadcastAddress());
    }

    @Test
    void framesCrossByteIdenticalInOrderWithTheirSource() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        List<byte[]> sent = new ArrayList<>();
        ReceivedFrames received = new ReceivedFrames();
        for (int batch = 0; batch < 4; batch++) {
            for (int i = 0; i < 8; i++) {
                byte[] frame = new byte[i == 0 ? a.mtu() : 1 + random.nextInt(a.mtu())];
                random.nextBytes(frame);
                send(a, b.address(), frame);
                sent.add(frame);
            }
            flushAll(a, 8);
            received.await(b, sent.size());
        }
        assertThat(received.frames).as("seed %d", seed).containsExactlyElementsOf(sent);
        assertThat(received.sources).containsOnly(a.address());
    }

    @Test
    void commitMayShortenTheFrameAndAbortSendsNothing() {
        assertThat(a.tryClaim(b.address(), a.mtu(), claim)).isTrue();
        claim.buffer().put(claim.offset(), (byte) 7);
        a.commit(claim, 1);
        assertThat(claim.isLent()).isFalse();
        assertThat(a.tryClaim(b.address(), 100, claim)).isTrue();
        claim.buffer().put(claim.offset(), (byte) 8);
        a.abort(claim);
        assertThat(claim.isLent()).isFalse();
        flushAll(a, 1);

        ReceivedFrames received = new ReceivedFrames().await(b, 1).settle(b);
        assertThat(received.frames).containsExactly(new byte[] {7});
    }

    @Test
    void claimsOutOfTurnAreRefusedAndLeaveThePortUsable() {
        assertThatThrownBy(() -> a.tryClaim(b.address(), a.mtu() + 1, claim))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.tryClaim(b.address(), -1, claim)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.commit(claim, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> a.abort(claim)).isInstanceOf(IllegalStateException.class);

        assertThat(a.tryClaim(b.address(), 10, claim)).isTrue();
        assertThatThrownBy(() -> a.commit(claim, 11)).isInstanceOf(IllegalArgumentException.class);
        assertThat(claim.isLent()).as("a refused commit gives the window back").isFalse();

        send(a, b.address(), new byte[] {1, 2, 3});
        flushAll(a, 1);
        assertThat(new ReceivedFrames().await(b, 1).settle(b).frames).containsExactly(new byte[] {1, 2, 3});
    }

    @Test
    void framesToAnAddressNobodyHasGoNowhere() {
        send(a, link.unreachable(), new byte[] {9, 9, 9});
        a.flush();
        send(a, b.address(), new byte[] {4});
        flushAll(a, 1);
        ReceivedFrames received = new ReceivedFrames().await(b, 1).settle(b);
        assertThat(received.frames).containsExactly(new byte[] {4});
        assertThat(new ReceivedFrames().settle(a).frames).as("nor back to the sender").isEmpty();
    }

    @Test
    void pollHandsUpAtMostItsLimit() {
        for (int i = 0; i < 6; i++) {
            send(a, b.address(), new byte[] {(byte) i});
        }
        flushAll(a, 6);
        ReceivedFrames received = new ReceivedFrames();
        long deadline = System.nanoTime() + CROSSING_LIMIT_NS;
        while (received.frames.size() < 6 && System.nanoTime() < deadline) {
            assertThat(b.poll(received, 2)).isBetween(0, 2);
        }
        assertThat(b.poll(received, 0)).isZero();
        assertThat(received.frames).containsExactly(new byte[] {0}, new byte[] {1}, new byte[] {2}, new byte[] {3},
                new byte[] {4}, new byte[] {5});
    }

    /** Back-pressure: a port that cannot take a frame refuses the claim, and takes frames again once it can. */
    @Test
    void aFullPortRefusesClaimsUntilFlushedAndDrained() {
        int claimed = 0;
        while (a.tryClaim(b.address(), a.mtu(), claim)) {
            a.commit(claim, a.mtu());
            assertThat(++claimed).as("claims never refused").isLessThan(1_000_000);
        }
        assertThat(claim.isLent()).isFalse();
        ReceivedFrames received = new ReceivedFrames();
        long deadline = System.nanoTime() + CROSSING_LIMIT_NS;
        boolean accepted = false;
        while (!accepted && System.nanoTime() < deadline) {
            a.flush();
            b.poll(received, 64);
            accepted = a.tryClaim(b.address(), 1, claim);
        }
        assertThat(accepted).as("a claim accepted after flushing and draining").isTrue();
        a.abort(claim);
    }

    /**
     * A {@link NicPort#wakeable() wakeable} port's wait ends when another thread wakes it, whenever the wake comes: a
     * wake before the wait ends the next one (the engine's command is never left to wait out the sleep), a wake during
     * it ends it, and a frame ends it too. Counted, not timed: every wait asks for a minute, so a lost wake shows as a
     * waiter still asleep when the test stops waiting for it. Wakes at seeded random moments; once the port is closed a
     * wake does nothing.
     */
    @Test
    void aWakeEndsTheWaitInProgressOrTheNextOne() throws Exception {
        Assumptions.assumeTrue(a.wakeable(), "the binding's waits are short; nothing to wake");
        a.wake();
        assertThat(waitEnds(startWaiting())).as("a wait after a wake").isTrue();
        Random random = new Random(17);
        int ended = 0;
        for (int round = 0; round < 200; round++) {
            Thread waiter = startWaiting();
            for (int spin = random.nextInt(20_000); spin > 0; spin--) {
                Thread.onSpinWait();
            }
            a.wake();
            ended += waitEnds(waiter) ? 1 : 0;
        }
        assertThat(ended).as("waits that a wake ended").isEqualTo(200);
        Thread waiter = startWaiting();
        send(b, a.address(), new byte[] {1, 2, 3, 4});
        flushAll(b, 1);
        assertThat(waitEnds(waiter)).as("a wait that a frame ended").isTrue();
        link.close();
        link = null;
        a.wake();
    }

    /** Port a's wait of a minute, on a thread of its own. */
    private Thread startWaiting() {
        Thread waiter = new Thread(() -> a.awaitFrames(TimeUnit.MINUTES.toNanos(1)), "port-waiter");
        waiter.setDaemon(true);
        waiter.start();
        return waiter;
    }

    /** Whether {@code waiter}'s wait ended within the crossing limit, a sixth of what it asked for. */
    private static boolean waitEnds(Thread waiter) throws InterruptedException {
        waiter.join(TimeUnit.NANOSECONDS.toMillis(CROSSING_LIMIT_NS));
        return !waiter.isAlive();
    }

    private void send(NicPort from, LinkAddress to, byte[] frame) {
        assertThat(from.tryClaim(to, frame.length, claim)).isTrue();
        claim.buffer().put(claim.offset(), frame);
        from.commit(claim, frame.length);
    }

    /** Flushes until {@code frames} committed frames are on the wire (a kernel may take a batch in parts). */
    private static void flushAll(NicPort port, int frames) {
        long deadline = System.nanoTime() + CROSSING_LIMIT_NS;
        int sent = 0;
        while (sent < frames && System.nanoTime() < deadline) {
            sent += port.flush();
        }
        assertThat(sent).isEqualTo(frames);
    }
}
