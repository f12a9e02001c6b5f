package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A guest's report is untrusted: what it wrote reaches dom0's console cleaned, and counts are bounded. */
class BenchGuestsTest {

    @TempDir
    Path state;

    @Test
    void whatAGuestWroteIsCleanedAndItsCountsChecked() throws Exception {
        try (SimHypervisor hv = SimHypervisor.start(state)) {
            int domid = hv.create("vmrdma-bench-client", 16 << 20);
            BenchGuests.Guest guest = new BenchGuests.Guest(domid, "vmrdma-bench-client");
            try (XenStore xs = hv.dom0().openXenStore()) {
                String report = xs.domainPath(domid) + "/data/vmrdma-bench/";
                // C0 escapes, a C1 CSI (U+009B) and a right-to-left override (U+202E).
                xs.write(XenStore.NO_TRANSACTION, report + "title",
                        "\u001b[2J\u001b]0;owned\u0007\u009b2J\u202eRDMA_Write BW Test"
                                .getBytes(StandardCharsets.UTF_8));
                xs.write(XenStore.NO_TRANSACTION, report + "results", "2000000000".getBytes(StandardCharsets.UTF_8));
                xs.write(XenStore.NO_TRANSACTION, report + "served", " 3 ".getBytes(StandardCharsets.UTF_8));
            }
            try (BenchGuests guests = new BenchGuests(hv, hv.dom0(), state)) {
                assertThat(guests.value(guest, "title")).isEqualTo("?[2J?]0;owned??2J?RDMA_Write BW Test");
                assertThat(guests.value(guest, "missing")).isNull();
                assertThat(guests.count(guest, "served", 10)).isEqualTo(3);
                assertThatThrownBy(() -> guests.count(guest, "results", BenchCommand.MAX_ROWS))
                        .hasMessage("vmrdma-bench-client reported results = '2000000000', not 0 to 20");
                assertThatThrownBy(() -> guests.count(guest, "missing", 5))
                        .hasMessage("vmrdma-bench-client reported missing = 'null', not 0 to 5");
            }
        }
    }
}
