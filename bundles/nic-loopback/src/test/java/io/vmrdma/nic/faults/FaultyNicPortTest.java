package io.vmrdma.nic.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FaultyNicPortTest {

    private final LoopbackWire wire = new LoopbackWire();
    private final LoopbackPort a = new LoopbackPort(wire, 1, 1500, 1 << 22);
    private final LoopbackPort b = new LoopbackPort(wire, 2, 1500, 1 << 22);
    private final long[] clock = {0};

    @AfterEach
    void close() {
        a.close();
        b.close();
    }

    /** Sends frames numbered 0..n-1 through {@code sender} and returns the numbers {@code receiver} gets, in order. */
    private List<Integer> exchange(FaultyNicPort sender, FaultyNicPort receiver, int n) {
        FrameClaim claim = new FrameClaim();
        for (int i = 0; i < n; i++) {
            assertThat(sender.tryClaim(b.address(), 8, claim)).isTrue();
            claim.buffer().putInt(claim.offset(), i);
            claim.buffer().putInt(claim.offset() + 4, ~i);
            sender.commit(claim, 8);
        }
        List<Integer> got = new ArrayList<>();
        for (int round = 0; round < 20; round++) {
            clock[0] += 1_000_000;
            sender.flush();
            receiver.poll((buffer, offset, length, source) -> {
                int v = buffer.getInt(offset);
                got.add(buffer.getInt(offset + 4) == ~v ? v : -1);
            }, Integer.MAX_VALUE);
        }
        return got;
    }

    @Test
    void withoutFaultsFramesPassUntouched() {
        FaultyNicPort tx = new FaultyNicPort(a, Faults.NONE, Faults.NONE, 1, () -> clock[0]);
        FaultyNicPort rx = new FaultyNicPort(b, Faults.NONE, Faults.NONE, 1, () -> clock[0]);
        assertThat(exchange(tx, rx, 100)).containsExactlyElementsOf(range(100));
    }

    @Test
    void eachFaultHappensAtAboutItsRateAndIsReproducibleFromTheSeed() {
        for (boolean onTransmit : new boolean[] {true, false}) {
            Faults faults = Faults.uniform(0.1);
            FaultyNicPort tx = new FaultyNicPort(a, onTransmit ? faults : Faults.NONE, Faults.NONE, 7, () -> clock[0]);
            FaultyNicPort rx = new FaultyNicPort(b, Faults.NONE, onTransmit ? Faults.NONE : faults, 7, () -> clock[0]);
            List<Integer> got = exchange(tx, rx, 2000);
            long[] injected = (onTransmit ? tx : rx).injected();
            for (long count : injected) {
                if (count != injected[4]) {
                    assertThat(count).isBetween(120L, 300L);
                }
            }
            Map<Integer, Integer> seen = new HashMap<>();
            got.forEach(v -> seen.merge(v, 1, Integer::sum));
            assertThat(seen.get(-1)).as("corrupted frames arrive corrupted").isPositive();
            assertThat(seen.values().stream().filter(c -> c > 1).count()).as("duplicates").isPositive();
            assertThat(got.stream().filter(v -> v >= 0).distinct().count())
                    .as("neither lost nor corrupted: about 0.9 x 0.9")
                    .isBetween(1500L, 1750L);
            assertThat(isSorted(got)).as("reordered").isFalse();

            a.poll((buffer, offset, length, source) -> {
            }, Integer.MAX_VALUE);
            b.poll((buffer, offset, length, source) -> {
            }, Integer.MAX_VALUE);
            FaultyNicPort tx2 = new FaultyNicPort(a, onTransmit ? faults : Faults.NONE, Faults.NONE, 7, () -> clock[0]);
            FaultyNicPort rx2 = new FaultyNicPort(b, Faults.NONE, onTransmit ? Faults.NONE : faults, 7, () -> clock[0]);
            assertThat(exchange(tx2, rx2, 2000)).as("same seed, same faults").isEqualTo(got);
        }
    }

    @Test
    void delayedFramesArriveOnlyOnceTheirTimeHasCome() {
        Faults delayAll = new Faults(0, 0, 0, 0, 1, 5_000_000, 1);
        FaultyNicPort tx = new FaultyNicPort(a, delayAll, Faults.NONE, 3, () -> clock[0]);
        FrameClaim claim = new FrameClaim();
        tx.tryClaim(b.address(), 4, claim);
        claim.buffer().putInt(claim.offset(), 42);
        tx.commit(claim, 4);
        tx.flush();
        assertThat(b.poll((buffer, offset, length, source) -> {
        }, 10)).isZero();
        clock[0] += 5_000_000;
        tx.flush();
        assertThat(b.poll((buffer, offset, length, source) -> assertThat(buffer.getInt(offset)).isEqualTo(42), 10))
                .isEqualTo(1);
    }

    @Test
    void ratesOutsideZeroToOneAreRefused() {
        assertThatThrownBy(() -> new Faults(1.5, 0, 0, 0, 0, 0, 1)).hasMessageContaining("lossRate");
        assertThatThrownBy(() -> new Faults(0, 0, 0, 0, 0, -1, 1)).hasMessageContaining("delayNanos");
    }

    private static List<Integer> range(int n) {
        List<Integer> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(i);
        }
        return list;
    }

    private static boolean isSorted(List<Integer> values) {
        for (int i = 1; i < values.size(); i++) {
            if (values.get(i) < values.get(i - 1)) {
                return false;
            }
        }
        return true;
    }
}
