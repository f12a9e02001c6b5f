package io.vmrdma.guest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The benchmark request a client sends in its connect: what a server accepts, and what it refuses. */
class BenchSpecTest {

    @Test
    void aRequestCrossesTheConnectUnchanged() {
        BenchSpec spec = BenchSpec.parse("read_bw", "-a", "-m", "65536", "-n", "300", "-q", "8");
        BenchSpec back = BenchSpec.decode(spec.encode());
        assertThat(back.test()).isEqualTo(spec.test());
        assertThat(back.sizes()).isEqualTo(spec.sizes()).hasSize(16).startsWith(2).endsWith(65536);
        assertThat(back.iterations()).isEqualTo(300);
        assertThat(back.queuePairs()).isEqualTo(8);
        assertThat(back.bufferBytes()).isEqualTo(131072);
    }

    @Test
    void queuePairsStayWithinWhatAGuestCanShareAndAreForBandwidthOnly() {
        assertThat(BenchSpec.parse("write_bw", "-s", "524288", "-q", "2").queuePairs()).isEqualTo(2);
        assertThatThrownBy(() -> BenchSpec.parse("write_bw", "-s", "1048576", "-q", "2"))
                .hasMessage("-q 2 needs 4096 KiB of buffers in each guest, which shares at most 2048 KiB: lower -q or"
                        + " the size");
        assertThatThrownBy(() -> BenchSpec.parse("send_lat", "-q", "2")).hasMessageContaining("bandwidth tests");
        assertThatThrownBy(() -> BenchSpec.parse("write_bw", "-q", "17")).hasMessageContaining("1 to 16");
    }

    @Test
    void aServerGivesAClientTheTimeItsSpecNeedsAndNoMore() {
        assertThat(BenchSpec.parse("write_bw", "-D", "5", "-a", "-m", "4").allowedNanos())
                .as("-D 5 for sizes 2 and 4, plus a minute").isEqualTo(70_000_000_000L);
        assertThat(BenchSpec.parse("write_bw", "-n", "100").allowedNanos())
                .as("an iteration count: the longest -D per size")
                .isEqualTo((BenchSpec.MAX_SECONDS + 60) * 1_000_000_000L);
    }

    @Test
    void aServerRefusesARequestThatDoesNotHoldTogether() {
        byte[] request = BenchSpec.parse("write_bw", "-s", "65536", "-q", "4").encode();
        request[request.length - 1] = (byte) 200;   // -56 queue pairs
        assertThatThrownBy(() -> BenchSpec.decode(request)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-q takes 1 to 16");
        request[request.length - 1] = 16;          // 16 x 128 KiB: within what a guest shares
        assertThat(BenchSpec.decode(request).queuePairs()).isEqualTo(16);
        request[0] = 1;                            // the request version before -q
        assertThatThrownBy(() -> BenchSpec.decode(request)).hasMessageContaining("not a version 2 benchmark request");
        assertThatThrownBy(() -> BenchSpec.decode(new byte[5])).isInstanceOf(IllegalArgumentException.class);
    }
}
