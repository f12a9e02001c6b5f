package io.vmrdma.api.nic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

class TransmitBatchTest {

    private final ByteBuffer slots = ByteBuffer.allocate(3 * 100);
    private final ByteBuffer discard = ByteBuffer.allocate(100);
    private final TransmitBatch batch = new TransmitBatch(3, discard);
    private final FrameClaim claim = new FrameClaim();

    private int claimAndCommit(int length) {
        batch.checkClaim(length, 100);
        int slot = batch.nextSlot();
        batch.lend(claim, slots, slot * 100, length);
        assertThat(claim.offset()).isEqualTo(slot * 100);
        return batch.commit(claim, length);
    }

    @Test
    void slotsFillInOrderAndAFullBatchStartsOverOnceSent() {
        assertThat(claimAndCommit(10)).isZero();
        assertThat(claimAndCommit(20)).isEqualTo(1);
        assertThat(claimAndCommit(30)).isEqualTo(2);
        assertThat(batch.isFull()).isTrue();
        assertThat(batch.pending()).isEqualTo(3);

        batch.advance(2);
        assertThat(batch.head()).isEqualTo(2);
        assertThat(batch.pending()).isEqualTo(1);
        assertThat(batch.isFull()).as("sent slots are reused only once the whole batch is out").isTrue();
        batch.advance(1);
        assertThat(batch.pending()).isZero();
        assertThat(batch.isFull()).isFalse();
        assertThat(batch.nextSlot()).isZero();
    }

    @Test
    void discardedFramesAreCountedAndTakeNoSlot() {
        batch.checkClaim(50, 100);
        batch.lendDiscard(claim, 50);
        assertThat(claim.buffer()).isSameAs(discard);
        assertThat(batch.commit(claim, 50)).isEqualTo(-1);
        assertThat(batch.discarded()).isOne();
        assertThat(batch.pending()).isZero();
    }

    @Test
    void abortTakesTheWindowBackAndDropPendingForgetsFrames() {
        claimAndCommit(10);
        batch.checkClaim(10, 100);
        batch.lend(claim, slots, 100, 10);
        batch.abort(claim);
        assertThat(claim.isLent()).isFalse();
        assertThat(batch.pending()).isOne();
        batch.dropPending();
        assertThat(batch.pending()).isZero();
        assertThat(batch.nextSlot()).isZero();
    }

    @Test
    void claimsOutOfTurnAreRefused() {
        assertThatThrownBy(() -> batch.checkClaim(101, 100)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("frame of 101 bytes does not fit MTU 100");
        assertThatThrownBy(() -> batch.checkClaim(-1, 100)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> batch.commit(claim, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> batch.abort(claim)).isInstanceOf(IllegalStateException.class);
        batch.lend(claim, slots, 0, 10);
        assertThatThrownBy(() -> batch.checkClaim(10, 100)).isInstanceOf(IllegalStateException.class)
                .hasMessage("a frame is already claimed");
        assertThatThrownBy(() -> batch.commit(claim, 11)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("committed 11 bytes of a 10-byte claim");
        assertThat(claim.isLent()).isFalse();
        assertThat(batch.pending()).isZero();
        assertThatThrownBy(() -> new TransmitBatch(0, discard)).isInstanceOf(IllegalArgumentException.class);
    }
}
