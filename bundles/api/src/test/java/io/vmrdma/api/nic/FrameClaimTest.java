package io.vmrdma.api.nic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

class FrameClaimTest {

    private final FrameClaim claim = new FrameClaim();

    /** A window at 7 of a buffer; head and tail written in place as a gathering engine writes them. */
    private static byte[] laidOut(int head, byte[] payload, int payloadOffset, int payloadLength, int tail,
                                  ByteBuffer payloadBuffer) {
        ByteBuffer window = ByteBuffer.allocate(7 + head + payloadLength + tail + 5);
        FrameClaim c = new FrameClaim();
        c.lend(window, 7, head + payloadLength + tail, 0);
        for (int i = 0; i < head + tail; i++) {
            window.put(7 + i, (byte) (0x80 + i));
        }
        payloadBuffer.put(0, payload);
        c.placePayload(head, payloadBuffer, payloadOffset, payloadLength, tail);
        return Arrays.copyOfRange(window.array(), 7, 7 + head + payloadLength + tail);
    }

    @Test
    void aFrameInPiecesIsLaidOutHeadPayloadTailForEveryLengthIncludingOverlaps() {
        Random random = new Random(5);
        byte[] payload = new byte[64];
        random.nextBytes(payload);
        // Payloads shorter than the tail make the tail's move overlap itself.
        for (int head = 0; head <= 3; head++) {
            for (int tail = 0; tail <= 6; tail++) {
                for (int length = 0; length <= 9; length++) {
                    for (ByteBuffer source : new ByteBuffer[] {ByteBuffer.allocate(64),
                        ByteBuffer.allocateDirect(64)}) {
                        byte[] frame = laidOut(head, payload, 3, length, tail, source);
                        byte[] expected = new byte[head + length + tail];
                        for (int i = 0; i < head; i++) {
                            expected[i] = (byte) (0x80 + i);
                        }
                        System.arraycopy(payload, 3, expected, head, length);
                        for (int i = 0; i < tail; i++) {
                            expected[head + length + i] = (byte) (0x80 + head + i);
                        }
                        assertThat(frame).as("head %d, payload %d, tail %d", head, length, tail).isEqualTo(expected);
                    }
                }
            }
        }
    }

    @Test
    void aFrameLargerThanTheWindowIsRefused() {
        claim.lend(ByteBuffer.allocate(64), 0, 20, 0);
        assertThatThrownBy(() -> claim.placePayload(10, ByteBuffer.allocate(64), 0, 8, 4))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> claim.placePayload(-1, ByteBuffer.allocate(64), 0, 8, 4))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }
}
