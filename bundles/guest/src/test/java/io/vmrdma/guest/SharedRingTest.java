package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;

import io.vmrdma.api.guest.GuestAbi;
import io.vmrdma.api.guest.SharedRing;
import org.junit.jupiter.api.Test;

/** ring.h's rules as the guest ABI uses them: sizes, initial events, push-and-check, final check, wrap-around. */
class SharedRingTest {

    @Test
    void sizesFollowTheRingSizeRule() {
        assertThat(SharedRing.entries(4096, GuestAbi.ENTRY_LENGTH)).isEqualTo(32);
        assertThat(SharedRing.entries(4 * 4096, GuestAbi.ENTRY_LENGTH)).isEqualTo(128);
        assertThat(SharedRing.entries(16 * 4096, GuestAbi.ENTRY_LENGTH)).isEqualTo(512);
        assertThat(SharedRing.entries(4096, 112)).as("blkif's entry size").isEqualTo(32);
        assertThat(SharedRing.entries(4096, 8)).as("netif rx").isEqualTo(256);
    }

    @Test
    void theFirstPushNotifiesThenOnlyWhenTheConsumerReArms() {
        SharedRing ring = new SharedRing(ByteBuffer.allocateDirect(4096), GuestAbi.ENTRY_LENGTH);
        ring.initialise();
        assertThat(ring.push(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, 1)).as("event 1 is in (0, 1]").isTrue();
        assertThat(ring.push(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, 3)).as("consumer did not re-arm").isFalse();
        // The consumer catches up to 3 and re-arms at 4.
        assertThat(ring.finalCheck(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, 3)).isFalse();
        assertThat(ring.get(SharedRing.REQ_EVENT)).isEqualTo(4);
        assertThat(ring.push(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, 5)).isTrue();
        // A final check that finds work pending reports it.
        assertThat(ring.finalCheck(SharedRing.REQ_PROD, SharedRing.REQ_EVENT, 4)).isTrue();
    }

    @Test
    void indicesWrapAroundUnsigned() {
        SharedRing ring = new SharedRing(ByteBuffer.allocateDirect(4096), GuestAbi.ENTRY_LENGTH);
        ring.initialise();
        int near = -2;
        ring.set(SharedRing.RSP_PROD, near);
        ring.set(SharedRing.RSP_EVENT, near + 1);
        assertThat(ring.push(SharedRing.RSP_PROD, SharedRing.RSP_EVENT, near + 3)).as("event crossed the wrap")
                .isTrue();
        assertThat(ring.offset(-1)).isEqualTo(SharedRing.HEADER_LENGTH + 31 * GuestAbi.ENTRY_LENGTH);
        assertThat(ring.offset(32)).isEqualTo(SharedRing.HEADER_LENGTH);
    }
}
