package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** vmrdma:bench's options as the guest tool gets them, and every typo refused with what is accepted. */
class BenchOptionsTest {

    @Test
    void defaultsFollowPerftest() {
        BenchOptions bw = BenchOptions.check(null, null, false, null, null, null, null, null);
        assertThat(bw.test).isEqualTo("write_bw");
        assertThat(bw.guestArguments).containsExactly("-s", "65536");
        assertThat(bw.service).isEqualTo(18515);
        assertThat(BenchOptions.check("send_lat", null, false, null, null, null, null, "7").guestArguments)
                .containsExactly("-s", "8");
    }

    @Test
    void sizesTakeBinaryUnits() {
        assertThat(BenchOptions.check("read_bw", "64k", false, null, "2000", null, null, null).guestArguments)
                .containsExactly("-s", "65536", "-n", "2000");
        assertThat(BenchOptions.bytes("-s", "1m", 1, 1 << 20, 0)).isEqualTo(1 << 20);
        assertThat(BenchOptions.bytes("-s", "4KiB", 1, 1 << 20, 0)).isEqualTo(4096);
        assertThat(BenchOptions.bytes("-s", "512", 1, 1 << 20, 0)).isEqualTo(512);
        assertThat(BenchOptions.check("write_lat", null, true, "64k", null, null, null, null).guestArguments)
                .containsExactly("-a", "-m", "65536");
        assertThat(BenchOptions.check("WRITE_BW", null, false, null, null, "5", null, null).guestArguments)
                .containsExactly("-s", "65536", "-D", "5");
        assertThat(BenchOptions.check("write_bw", "256k", false, null, "100", null, "4", null).guestArguments)
                .containsExactly("-s", "262144", "-n", "100", "-q", "4");
    }

    @Test
    void typosAreRefusedWithWhatIsAccepted() {
        assertRefused(() -> BenchOptions.check("write", null, false, null, null, null, null, null),
                "unknown test write: write_bw, read_bw, write_lat or send_lat");
        assertRefused(() -> BenchOptions.check(null, "12Q", false, null, null, null, null, null),
                "-s takes a message size of 1 B to 1.00 MiB, such as 4096, 64k or 1m (K and M are 1024 and 1024²),"
                        + " not 12Q");
        assertRefused(() -> BenchOptions.check(null, "2m", false, null, null, null, null, null), "not 2m");
        assertRefused(() -> BenchOptions.check("write_lat", "4", false, null, null, null, null, null),
                "-s takes a message size of 8 B to 1.00 MiB");
        assertRefused(() -> BenchOptions.check("send_lat", null, true, "1", null, null, null, null),
                "-m takes a message size of 2 B to 1.00 MiB");
        assertRefused(() -> BenchOptions.check(null, null, false, null, "0", null, null, null),
                "-n takes iterations from 1 to 100000000, not 0");
        assertRefused(() -> BenchOptions.check(null, null, false, null, null, null, "17", null),
                "-q takes queue pairs from 1 to 16, not 17");
        assertRefused(() -> BenchOptions.check("write_bw", "1m", false, null, null, null, "4", null),
                "-q 4 with 1.00 MiB messages needs 8.00 MiB of buffers in each guest, which shares at most 2.00 MiB");
        assertRefused(() -> BenchOptions.check("read_bw", null, true, "512k", null, null, "3", null),
                "-q 3 with 512 KiB messages needs 3.00 MiB");
        assertRefused(() -> BenchOptions.check("write_lat", null, false, null, null, null, "2", null),
                "-q is for the bandwidth tests (write_bw, read_bw); latency tests use one queue pair");
        assertRefused(() -> BenchOptions.check("send_lat", null, false, null, "2000000", null, null, null),
                "-n takes iterations from 1 to 1000000, not 2000000");
        assertRefused(() -> BenchOptions.check(null, null, false, null, null, "0", null, null),
                "-D takes seconds from 1 to 3600, not 0");
        assertRefused(() -> BenchOptions.check("write_lat", null, false, null, null, "5", null, null),
                "-D is for the bandwidth tests");
        assertRefused(() -> BenchOptions.check(null, null, false, null, "10", "5", null, null), "-n and -D exclude");
        assertRefused(() -> BenchOptions.check(null, "4k", true, null, null, null, null, null), "-s and -a exclude");
        assertRefused(() -> BenchOptions.check(null, null, false, "4k", null, null, null, null), "-m sets the largest");
        assertRefused(() -> BenchOptions.check(null, null, false, null, null, null, null, "x"),
                "-p takes a service id from 1");
        assertRefused(() -> BenchOptions.idleSeconds("5"), "--idle takes seconds from 10 to 86400, not 5");
    }

    @Test
    void theProgressBarFillsWithTheGuestsReport() {
        assertThat(ProgressBar.render("write_bw", new BenchGuests.Report("running", "500", "65536", null)))
                .isEqualTo("\r[###############...............]  50%  write_bw 64.0 KiB\033[K");
        assertThat(ProgressBar.render("write_bw", new BenchGuests.Report("running", "1000", null, null)))
                .startsWith("\r[" + "#".repeat(30) + "] 100%");
        assertThat(ProgressBar.render("send_lat", new BenchGuests.Report("connecting", null, null, null)))
                .isEqualTo("\rsend_lat: connecting ...\033[K");
        assertThat(ProgressBar.render("send_lat", new BenchGuests.Report(null, null, null, null)))
                .isEqualTo("\rsend_lat: booting the guests ...\033[K");
    }

    private static void assertRefused(Runnable check, String message) {
        assertThatThrownBy(check::run).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }
}
