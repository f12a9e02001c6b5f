package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.vmrdma.api.Counter;
import io.vmrdma.api.DeviceInfo;
import io.vmrdma.api.Domain;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.Test;

class StatsReportTest {

    private final Map<Counter, Long> nodeCounters = new EnumMap<>(Counter.class);
    private final Node node = new Node() {
        @Override
        public int nodeId() {
            return 1;
        }

        @Override
        public Optional<String> nicBinding() {
            return Optional.of("loopback");
        }

        @Override
        public Optional<String> hypervisor() {
            return Optional.of("sim");
        }

        @Override
        public Optional<String> activePolicy() {
            return Optional.empty();
        }

        @Override
        public long counter(Counter counter) {
            return nodeCounters.getOrDefault(counter, 0L);
        }

        @Override
        public Map<String, Long> nicCounters() {
            return Map.of();
        }
    };

    private static PeerInfo peer(int node, long sent, long received, long retransmissions) {
        return new PeerInfo(node, LinkAddress.parse("00:02"), PeerInfo.Origin.STATIC, true, 1, 42_000, 1_000, sent,
                received, retransmissions);
    }

    private static String render(StatsSample before, StatsSample after) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StatsReport.print(before, after, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String line(String out, String containing) {
        return out.lines().filter(l -> l.contains(containing)).findFirst().orElseThrow();
    }

    @Test
    void ratesAreTheDifferenceOverTheInterval() {
        FakeRegistry.FakeDomain web = new FakeRegistry.FakeDomain(3, "web1");
        web.devices = List.of(new DeviceInfo(0, 812), new DeviceInfo(1, 813));
        web.counters.put(Counter.RDMA_WRITE_BYTES, 10L << 20);
        web.counters.put(Counter.RDMA_WRITE_OPS, 10L);
        nodeCounters.put(Counter.FRAME_BYTES_SENT, 0L);
        StatsSample before = StatsSample.take(0, node, List.<Domain>of(web), List.of(peer(2, 100, 50, 0)));

        web.counters.put(Counter.RDMA_WRITE_BYTES, 30L << 20);
        web.counters.put(Counter.RDMA_WRITE_OPS, 30L);
        web.counters.put(Counter.SEND_BYTES, 2L << 20);
        web.counters.put(Counter.SEND_OPS, 2L);
        web.counters.put(Counter.WC_REM_ACCESS_ERR, 4L);
        web.counters.put(Counter.RNR_NAKS, 6L);
        nodeCounters.put(Counter.FRAME_BYTES_SENT, 44L << 20);
        nodeCounters.put(Counter.FRAMES_SENT, 2000L);
        FakeRegistry.FakeDomain fresh = new FakeRegistry.FakeDomain(4, "db1");
        fresh.counters.put(Counter.RECV_BYTES, 1L << 20);
        fresh.counters.put(Counter.RECV_OPS, 8L);
        StatsSample after = StatsSample.take(2_000_000_000L, node, List.of(web, fresh),
                List.of(peer(2, 300, 90, 10)));

        String out = render(before, after);

        assertThat(out).contains("Interval 2.0 s").contains("wire out 22.0 MiB/s (1000 frames/s)");
        // (20 MiB written + 2 MiB sent) in 2 s, 22 ops in 2 s; 2 errors/s, 3 RNR/s; totals since the start.
        assertThat(line(out, "web1")).containsPattern(
                "web1\\s+\\S\\s+0\\(812\\) 1\\(813\\)\\s+\\S\\s+11.0\\s+\\S\\s+11\\s+\\S\\s+0.00\\s+\\S\\s+0"
                        + "\\s+\\S\\s+2.0\\s+\\S\\s+3.0\\s+\\S\\s+32.0 MiB\\s+\\S\\s+0 B");
        assertThat(line(out, "db1")).as("a domain that appeared counts from zero")
                .containsPattern("db1\\s+\\S\\s+0\\s+\\S\\s+0.00\\s+\\S\\s+0\\s+\\S\\s+0.50\\s+\\S\\s+4.0");
        assertThat(line(out, "  2 ")).containsPattern("2\\s+\\S\\s+up\\s+\\S\\s+42.0\\s+\\S\\s+100\\s+\\S\\s+20"
                + "\\s+\\S\\s+5.0\\s+\\S\\s+10");
    }

    @Test
    void frameDropRatesAreShownByCauseOnlyForCausesThatMoved() {
        nodeCounters.put(Counter.CRC_ERRORS, 100L);
        nodeCounters.put(Counter.AUTH_FAILURES, 7L);
        StatsSample before = StatsSample.take(0, node, List.of(), List.of());
        nodeCounters.put(Counter.CRC_ERRORS, 4100L);
        nodeCounters.put(Counter.AUTH_FAILURES, 7L);
        nodeCounters.put(Counter.PEER_SPOOFS, 3L);
        StatsSample after = StatsSample.take(2_000_000_000L, node, List.of(), List.of());
        assertThat(line(render(before, after), "Frame drops"))
                .isEqualTo("Frame drops: header CRC 2000/s, spoofed 1.5/s");
        assertThat(line(render(after, after), "Frame drops")).isEqualTo("Frame drops: none");
    }

    @Test
    void aCounterThatWentBackCountsFromZero() {
        assertThat(StatsReport.delta(500, 700)).isEqualTo(200);
        assertThat(StatsReport.delta(500, 30)).isEqualTo(30);
    }

    @Test
    void nothingToShowSaysSo() {
        StatsSample empty = StatsSample.take(0, node, List.of(), List.of());
        String out = render(empty, new StatsSample(1_000_000_000L, empty.node(), Map.of(), Map.of()));
        assertThat(out).contains("no domains").contains("no peers");
    }

    @Test
    void optionsAreCheckedWithWhatIsAccepted() {
        assertThat(StatsOptions.seconds(null)).isEqualTo(1);
        assertThat(StatsOptions.seconds("0.5")).isEqualTo(0.5);
        assertThatThrownBy(() -> StatsOptions.seconds("0")).hasMessageContaining("-i takes seconds");
        assertThatThrownBy(() -> StatsOptions.seconds("fast")).hasMessageContaining("not fast");
        assertThatThrownBy(() -> StatsOptions.seconds("NaN")).hasMessageContaining("-i takes seconds");
        assertThat(StatsOptions.rounds(null, false)).isEqualTo(1);
        assertThat(StatsOptions.rounds(null, true)).isEqualTo(Long.MAX_VALUE);
        assertThat(StatsOptions.rounds("3", true)).isEqualTo(3);
        assertThatThrownBy(() -> StatsOptions.rounds("-2", false)).hasMessageContaining("-n takes a number");
    }
}
