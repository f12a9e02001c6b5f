package io.vmrdma.engine.internal.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

class FrameCheckTest {

    @Test
    void theCrcCoversTheFrameWithItsCrcFieldAsZero() {
        Random random = new Random(3);
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        byte[] frame = new byte[1000];
        random.nextBytes(frame);
        buffer.put(100, frame);
        FrameCheck check = new FrameCheck();
        check.seal(buffer, 100, 1000);

        byte[] zeroed = frame.clone();
        for (int i = Frame.CRC_OFFSET; i < Frame.CRC_OFFSET + 4; i++) {
            zeroed[i] = 0;
        }
        CRC32C reference = new CRC32C();
        reference.update(zeroed);
        assertThat(buffer.order(Frame.ORDER).getInt(100 + Frame.CRC_OFFSET)).isEqualTo((int) reference.getValue());
        assertThat(check.verify(buffer, 100, 1000)).isTrue();
        buffer.put(700, (byte) (buffer.get(700) ^ 1));
        assertThat(check.verify(buffer, 100, 1000)).isFalse();
    }

    @Test
    void sealingPieceByPieceGivesTheSameCrcAsInOnePass() {
        Random random = new Random(4);
        for (int trial = 0; trial < 50; trial++) {
            int header = FrameType.values()[random.nextInt(FrameType.values().length)].headerLength();
            int length = header + random.nextInt(20_000);
            ByteBuffer a = ByteBuffer.allocateDirect(length + 64);
            byte[] bytes = new byte[length];
            random.nextBytes(bytes);
            a.put(32, bytes);
            FrameCheck whole = new FrameCheck();
            int expected = whole.compute(a, 32, length);

            FrameCheck pieces = new FrameCheck();
            pieces.start(a, 32, header);
            for (int done = header; done < length; ) {
                int n = Math.min(1 + random.nextInt(9000), length - done);
                pieces.update(32 + done, n);
                done += n;
            }
            pieces.finish(32);
            assertThat(a.order(Frame.ORDER).getInt(32 + Frame.CRC_OFFSET)).isEqualTo(expected);
        }
    }
}
