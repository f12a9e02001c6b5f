package io.vmrdma.engine.internal.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

class FrameCheckTest {

    private static int crc32c(byte[] bytes, int from, int to) {
        CRC32C reference = new CRC32C();
        reference.update(bytes, from, to - from);
        return (int) reference.getValue();
    }

    @Test
    void theHeaderCrcCoversTheHeaderWithItsCrcFieldAsZeroAndTheTrailerCoversThePayload() {
        Random random = new Random(3);
        int header = FrameType.WRITE.headerLength();
        int payload = 1000;
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096).order(Frame.ORDER);
        byte[] frame = new byte[header + payload];
        random.nextBytes(frame);
        buffer.put(100, frame);
        FrameCheck check = new FrameCheck();
        check.seal(buffer, 100, header, payload);

        byte[] zeroed = frame.clone();
        for (int i = Frame.CRC_OFFSET; i < Frame.CRC_OFFSET + 4; i++) {
            zeroed[i] = 0;
        }
        assertThat(buffer.getInt(100 + Frame.CRC_OFFSET)).isEqualTo(crc32c(zeroed, 0, header));
        assertThat(buffer.getInt(100 + header + payload)).isEqualTo(crc32c(frame, header, header + payload));
        assertThat(check.verifyHeader(buffer, 100, header)).isTrue();
        assertThat(check.verifyPayload(buffer, 100 + header, payload)).isTrue();

        buffer.put(100 + header + 600, (byte) (buffer.get(100 + header + 600) ^ 1));
        assertThat(check.verifyHeader(buffer, 100, header)).as("a payload flip leaves the header good").isTrue();
        assertThat(check.verifyPayload(buffer, 100 + header, payload)).isFalse();
        buffer.put(100 + header + 600, (byte) (buffer.get(100 + header + 600) ^ 1));
        buffer.put(100 + Extension.Write.REMOTE_ADDRESS, (byte) (buffer.get(100 + Extension.Write.REMOTE_ADDRESS) ^ 4));
        assertThat(check.verifyHeader(buffer, 100, header)).isFalse();
    }

    @Test
    void checkingAPayloadPieceByPieceGivesTheSameCrcAsInOnePass() {
        Random random = new Random(4);
        for (int trial = 0; trial < 50; trial++) {
            int length = 1 + random.nextInt(20_000);
            ByteBuffer a = ByteBuffer.allocateDirect(length + 64).order(Frame.ORDER);
            byte[] bytes = new byte[length];
            random.nextBytes(bytes);
            a.put(32, bytes);

            FrameCheck pieces = new FrameCheck();
            pieces.startPayload(a);
            for (int done = 0; done < length;) {
                int n = Math.min(1 + random.nextInt(9000), length - done);
                pieces.update(32 + done, n);
                done += n;
            }
            pieces.finishPayload(32 + length);
            assertThat(a.getInt(32 + length)).isEqualTo(crc32c(bytes, 0, length));
            assertThat(new FrameCheck().verifyPayload(a, 32, length)).isTrue();
        }
    }
}
