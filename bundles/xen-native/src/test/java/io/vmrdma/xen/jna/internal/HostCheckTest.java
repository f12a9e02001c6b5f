package io.vmrdma.xen.jna.internal;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;

/** The host check's verdicts: equal bytes pass whatever the buffers' byte orders, any differing byte fails. */
class HostCheckTest {

    @Test
    void sameBytesInBuffersOfDifferentByteOrderPass() {
        ByteBuffer nativeOrder = ByteBuffer.allocateDirect(8192).order(ByteOrder.nativeOrder());
        ByteBuffer bigEndian = ByteBuffer.allocateDirect(8192);
        HostCheck.fillPattern(nativeOrder, 8192, 17);
        HostCheck.fillPattern(bigEndian, 8192, 17);
        assertThatCode(() -> HostCheck.requireSameBytes(nativeOrder, bigEndian, 8192, "copy"))
                .doesNotThrowAnyException();
    }

    @Test
    void oneDifferingByteFailsAndIsNamed() {
        ByteBuffer expected = ByteBuffer.allocateDirect(4096);
        ByteBuffer actual = ByteBuffer.allocateDirect(4096);
        HostCheck.fillPattern(expected, 4096, 3);
        HostCheck.fillPattern(actual, 4096, 3);
        actual.put(4095, (byte) (actual.get(4095) + 1));
        assertThatThrownBy(() -> HostCheck.requireSameBytes(expected, actual, 4096, "copy"))
                .isInstanceOf(HostCheck.CheckFailed.class).hasMessageStartingWith("copy: byte 4095 is");
    }

    @Test
    void thePatternDiffersWithinAPageAndBetweenSeeds() {
        ByteBuffer a = ByteBuffer.allocate(4096);
        ByteBuffer b = ByteBuffer.allocate(4096);
        HostCheck.fillPattern(a, 4096, 1);
        HostCheck.fillPattern(b, 4096, 2);
        assertThatThrownBy(() -> HostCheck.requireSameBytes(a, b, 4096, "seeds"))
                .isInstanceOf(HostCheck.CheckFailed.class);
        ByteBuffer shifted = a.duplicate().position(1).slice();
        assertThatThrownBy(() -> HostCheck.requireSameBytes(a, shifted, 4000, "shift"))
                .isInstanceOf(HostCheck.CheckFailed.class);
    }

    @Test
    void aFalseObservationFails() {
        assertThatThrownBy(() -> HostCheck.require(false, "notify not delivered"))
                .isInstanceOf(HostCheck.CheckFailed.class).hasMessage("notify not delivered");
    }
}
