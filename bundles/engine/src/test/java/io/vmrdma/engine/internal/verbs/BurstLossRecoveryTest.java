package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.testkit.TwoEngines;
import io.vmrdma.nic.faults.ForwardingNicPort;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;
import org.junit.jupiter.api.Test;

/**
 * A burst of lost data frames under the built-in scheduler, whose turns carry one frame each: the requester resends
 * the holes over its following turns instead of one frame per timeout, and resends only what was lost.
 */
class BurstLossRecoveryTest {

    private static final int MTU = 9000;

    /** Drops the data frames (every frame longer than {@code 1024} bytes) numbered {@code [first, first + count)}. */
    private static final class BurstLoss extends ForwardingNicPort {
        private final int first;
        private final int count;
        private int dataFrames;
        int dropped;

        BurstLoss(LoopbackPort inner, int first, int count) {
            super(inner);
            this.first = first;
            this.count = count;
        }

        @Override
        public void commit(FrameClaim claim, int length) {
            if (length > 1024) {
                int n = dataFrames++;
                if (n >= first && n < first + count) {
                    dropped++;
                    inner.abort(claim);
                    return;
                }
            }
            inner.commit(claim, length);
        }
    }

    @Test
    void twoHundredFramesLostInARowAreEachResentOnceAndTheWriteCompletes() throws Exception {
        LoopbackWire wire = new LoopbackWire();
        LoopbackPort a = new LoopbackPort(wire, 1, MTU, 1 << 24);
        LoopbackPort b = new LoopbackPort(wire, 2, MTU, 1 << 24);
        BurstLoss lossy = new BurstLoss(a, 100, 200);
        try {
            // Fixed windows: the loss here is counted in frames, resends included, so it lasts as many timeouts as
            // it takes to send 200 frames into it. Congestion control sends a halved window's worth per timeout
            // (CongestionAccountingTest), which in a loss that lasts a time rather than a count makes no difference,
            // but here would run out of retries; the resend pacing this test is about is the transport's own.
            long retransmissions = new TwoEngines(lossy, b).congestion(CongestionSettings.FIXED)
                    .rdmaWriteArrivesByteIdentical(8 << 20, 77);
            assertThat(lossy.dropped).isEqualTo(200);
            assertThat(retransmissions).as("each lost frame once, and a few taken for lost while in flight")
                    .isBetween(200L, 230L);
        } finally {
            a.close();
            b.close();
        }
    }
}
