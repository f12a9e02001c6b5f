package io.vmrdma.engine.internal.congestion;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The delay-based controller round by round: what the lowest round trip of a round, a loss and a receiver's pressure
 * do to the window, and the floor and ceiling that hold whatever happens.
 */
class DelayAimdTest {

    private static final long RTT = 100_000;
    private static final CongestionSettings SETTINGS =
            new CongestionSettings(CongestionSettings.DELAY, 1 << 20, 64 << 10, 4 << 20, 3 * RTT, 64 << 10, 80);

    private final DelayAimd cc = new DelayAimd(SETTINGS);
    private long now = 1_000_000_000L;

    /** One round: an acknowledgement per round trip given, then one without a sample once the round is over. */
    private void round(long... rtts) {
        long longest = 0;
        for (long rtt : rtts) {
            cc.onAck(now, rtt, 9000, cc.windowBytes(), false);
            now += 1_000;
            longest = Math.max(longest, rtt);
        }
        now += 2 * longest + RTT;
        cc.onAck(now, -1, 9000, cc.windowBytes(), false);
    }

    @Test
    void growsByTheIncreasePerRoundBelowTheTargetUpToTheCeiling() {
        round(RTT);
        long start = cc.windowBytes();
        round(RTT, RTT);
        round(RTT);
        assertThat(cc.windowBytes()).isEqualTo(start + 2 * SETTINGS.increaseBytes());
        for (int i = 0; i < 100; i++) {
            round(RTT);
        }
        assertThat(cc.windowBytes()).isEqualTo(SETTINGS.maxWindow());
        assertThat(cc.rttTargetNanos()).as("at the ceiling: the target configured")
                .isEqualTo(SETTINGS.targetRttNanos());
    }

    @Test
    void aWindowTheFlowLeavesUnusedDoesNotGrow() {
        round(RTT);
        // These end the rounds that filled the window; from then on every acknowledgement finds a quarter of it in
        // flight: the path is quiet, the flow is not sending (its thread is waiting for a core, its application
        // posts little).
        for (int i = 0; i < 2; i++) {
            cc.onAck(now, RTT, 9000, cc.windowBytes() / 4, false);
            now += 2 * RTT;
        }
        long start = cc.windowBytes();
        for (int i = 0; i < 10; i++) {
            cc.onAck(now, RTT, 9000, start / 4, false);
            now += 2 * RTT;
        }
        assertThat(cc.windowBytes()).as("no growth for a window not filled").isEqualTo(start);
        cc.onAck(now, RTT, 9000, start - SETTINGS.increaseBytes(), false);
        now += 2 * RTT;
        cc.onAck(now, -1, 9000, 0, false);
        assertThat(cc.windowBytes()).as("a round that filled it, to within one increase, grows it")
                .isEqualTo(start + SETTINGS.increaseBytes());
    }

    @Test
    void shrinksInProportionToTheExcessDelayAndNotBelowTheFloor() {
        round(RTT);
        long before = cc.windowBytes();
        long target = cc.rttTargetNanos();
        long queued = 2 * target;
        round(queued, queued);
        // β × (rtt − target) / rtt = 0.8 × 1/2: the window keeps 60 %.
        assertThat(cc.windowBytes()).isEqualTo(before - (long) (before * 0.8 * (queued - target) / queued));
        for (int i = 0; i < 100; i++) {
            round(50 * target);
        }
        assertThat(cc.windowBytes()).isEqualTo(SETTINGS.minWindow());
        assertThat(cc.rttTargetNanos()).as("at the floor: twice, so small windows win back their share")
                .isEqualTo(SETTINGS.targetRttNanos() * 2);
    }

    @Test
    void theTargetIsTheSameWhateverRoundTripTheFlowSawFirst() {
        CongestionControl latecomer = new DelayAimd(SETTINGS);
        latecomer.onAck(now, 2 * SETTINGS.targetRttNanos(), 9000, latecomer.windowBytes(), false);
        cc.onAck(now, RTT, 9000, cc.windowBytes(), false);
        assertThat(latecomer.rttTargetNanos()).as("its first sample had a queue in it")
                .isEqualTo(cc.rttTargetNanos());
    }

    @Test
    void oneLateAcknowledgementInARoundDoesNotShrinkIt() {
        round(RTT);
        long before = cc.windowBytes();
        round(RTT, 40 * RTT, RTT);
        assertThat(cc.windowBytes()).isEqualTo(before + SETTINGS.increaseBytes());
    }

    @Test
    void theMeanOfARoundDecidesNotItsLowest() {
        round(RTT);
        long before = cc.windowBytes();
        long target = cc.rttTargetNanos();
        round(RTT, 2 * target, 2 * target, 2 * target, 2 * target);
        long mean = (RTT + 3 * 2 * target) / 4;
        assertThat(cc.windowBytes()).isEqualTo(before - (long) (before * 0.8 * (mean - target) / mean));
    }

    @Test
    void aLossHalvesTheWindowOncePerRound() {
        round(RTT);
        long before = cc.windowBytes();
        cc.onLoss(now);
        cc.onLoss(now + 1);
        assertThat(cc.windowBytes()).isEqualTo(before / 2);
        assertThat(cc.losses()).isEqualTo(2);
        round(RTT);
        round(RTT);
        assertThat(cc.windowBytes()).as("the lossy round neither grew nor shrank it again; the next grew it")
                .isEqualTo(before / 2 + SETTINGS.increaseBytes());
    }

    @Test
    void aReceiverUnderPressureShrinksItThoughTheRoundTripIsLow() {
        round(RTT);
        long before = cc.windowBytes();
        cc.onAck(now, RTT, 9000, cc.windowBytes(), true);
        now += 3 * RTT;
        cc.onAck(now, -1, 9000, cc.windowBytes(), false);
        assertThat(cc.windowBytes()).isEqualTo(before - before * SETTINGS.decreasePercent() / 200);
    }

    @Test
    void withoutSamplesTheWindowStaysWhereItIs() {
        for (int i = 0; i < 10; i++) {
            cc.onAck(now, -1, 9000, cc.windowBytes(), false);
            now += RTT;
        }
        assertThat(cc.windowBytes()).isEqualTo(SETTINGS.initialWindow());
        assertThat(cc.rttNanos()).isEqualTo(-1);
        assertThat(cc.rttTargetNanos()).isEqualTo(-1);
    }

    @Test
    void offKeepsTheCeilingWhateverHappensAndStillMeasures() {
        CongestionControl off = CongestionSettings.FIXED.newController();
        off.onAck(now, RTT, 9000, off.windowBytes(), true);
        off.onLoss(now);
        assertThat(off.windowBytes()).isEqualTo(CongestionSettings.FIXED.maxWindow());
        assertThat(off.rttNanos()).isEqualTo(RTT);
        assertThat(off.losses()).isEqualTo(1);
        assertThat(off.name()).isEqualTo("off");
    }

    @Test
    void settingsRefuseAWindowOutsideFloorAndCeiling() {
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
                .isThrownBy(() -> new CongestionSettings("delay", 10, 64, 1024, 0, 1, 80))
                .withMessageContaining("ccInitialWindow");
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
                .isThrownBy(() -> CongestionSettings.DEFAULTS.withAlgorithm("cubic"))
                .withMessageContaining("'cubic'");
    }
}
