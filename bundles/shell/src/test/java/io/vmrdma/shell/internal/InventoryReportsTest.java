package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

import io.vmrdma.api.MemoryRegionInfo;
import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpState;
import org.junit.jupiter.api.Test;

class InventoryReportsTest {

    private static String render(Consumer<PrintStream> report) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        report.accept(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void queuePairsShowRemoteQueuesAndHumanBytes() {
        List<QueuePairInfo> qps = List.of(
                new QueuePairInfo(3, 0, 17, QpState.RTS, new QpAddress(1, 4, 18), 0x7fff, 256, 2, 256, 0, 5, 5 << 20,
                        0, 0),
                new QueuePairInfo(3, 1, 19, QpState.RTS, new QpAddress(2, 7, 40), 0x0001, 128, 0, 64, 64, 0, 0, 9,
                        1536),
                new QueuePairInfo(4, 0, 21, QpState.RESET, null, -1, 16, 0, 16, 0, 0, 0, 0, 0));

        String out = render(o -> QpsReport.print(qps, 1, o));

        assertThat(out.lines().findFirst().orElseThrow()).contains("QPN").contains("Remote node").contains("PKey")
                .contains("SQ used/depth").contains("Device");
        assertThat(out).containsPattern(
                "3\\s+\\S\\s+0\\s+\\S\\s+17\\s+\\S\\s+RTS\\s+\\S\\s+local\\s+\\S\\s+18\\s+\\S\\s+0x7fff"
                        + "\\s+\\S\\s+2/256\\s+\\S\\s+0/256\\s+\\S\\s+5\\s+\\S\\s+5.00 MiB");
        assertThat(out)
                .containsPattern("1\\s+\\S\\s+19\\s+\\S\\s+RTS\\s+\\S\\s+2\\s+\\S\\s+40\\s+\\S\\s+0x0001.*1.50 KiB");
        assertThat(out).containsPattern("21\\s+\\S\\s+RESET\\s+\\S\\s+-\\s+\\S\\s+-\\s+\\S\\s+-");
    }

    @Test
    void memoryRegionsShowKeysInHexAccessAndTotals() {
        List<MemoryRegionInfo> regions = List.of(
                new MemoryRegionInfo(3, 0xabc, 0x1234, 0x30000000L, 4096, AccessFlags.ALL, 2),
                new MemoryRegionInfo(3, 0xdef, 0x5678, 0x30010000L, 3L << 30, 0, 0));

        String out = render(o -> MrsReport.print(regions, o));

        assertThat(out).containsPattern("0xabc\\s+\\S\\s+0x1234\\s+\\S\\s+0x30000000\\s+\\S\\s+4.00 KiB\\s+\\S\\s+"
                + "LOCAL_WRITE\\|REMOTE_WRITE\\|REMOTE_READ\\s+\\S\\s+2");
        assertThat(out).contains("3.00 GiB").contains("NONE");
        assertThat(out).contains("2 regions, 3.00 GiB registered");
    }

    @Test
    void engineNotRunningSaysSo() {
        assertThat(render(o -> QpsReport.print(null, 1, o))).contains("engine not running");
        assertThat(render(o -> MrsReport.print(null, o))).contains("engine not running");
    }

    @Test
    void domainArgumentIsADomidOrANameAndAnUnknownOneIsAnError() {
        FakeRegistry registry = new FakeRegistry(new FakeRegistry.FakeDomain(3, "web1"));

        assertThat(DomainFilter.resolve(registry, null)).isEmpty();
        assertThat(DomainFilter.resolve(registry, "3")).contains(3);
        assertThat(DomainFilter.resolve(registry, "web1")).contains(3);
        assertThatThrownBy(() -> DomainFilter.resolve(registry, "9")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown domain 9");
        assertThatThrownBy(() -> DomainFilter.resolve(registry, "db7")).hasMessageContaining("unknown domain db7");
    }

    @Test
    void unitsReadAsPeopleReadThem() {
        assertThat(Units.bytes(0)).isEqualTo("0 B");
        assertThat(Units.bytes(1023)).isEqualTo("1023 B");
        assertThat(Units.bytes(1024)).isEqualTo("1.00 KiB");
        assertThat(Units.bytes(150L << 20)).isEqualTo("150 MiB");
        assertThat(Units.bytes(25L << 30)).isEqualTo("25.0 GiB");
        assertThat(Units.mibPerSecond(3.5 * (1 << 20))).isEqualTo("3.50");
        assertThat(Units.mibPerSecond(1200.0 * (1 << 20))).isEqualTo("1200");
        assertThat(Units.perSecond(0)).isEqualTo("0");
        assertThat(Units.perSecond(2.25)).isEqualTo("2.3");
        assertThat(Units.perSecond(12345.4)).isEqualTo("12345");
        assertThat(Units.hex(0xabc)).isEqualTo("0xabc");
    }
}
