package io.vmrdma.engine.internal.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.Map;

import io.vmrdma.api.sched.VmSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DomainSettingsTableTest {

    @Test
    void settingsAreKeyedByDomainNameAndMissingValuesTakeTheDefaults() {
        DomainSettingsTable table = DomainSettingsTable.parse(Map.ofEntries(
                Map.entry("web.prod.weight", "4"),
                Map.entry("db1.priority", 0),
                Map.entry("db1.rate", "100M"),
                Map.entry("batch.rate", "1.5G"),
                Map.entry("batch.burst", "2Mi"),
                Map.entry("service.pid", "io.vmrdma.sched.vm"),
                Map.entry("felix.fileinstall.filename", "file:/opt/vmrdma/etc/io.vmrdma.sched.vm.cfg"),
                Map.entry("org.apache.karaf.features.configKey", "io.vmrdma.sched.vm"),
                Map.entry("component.name", "io.vmrdma.engine.internal.sched.DomainSettingsBook"),
                Map.entry("osgi.ds.satisfying.condition.target", "(osgi.condition.id=true)")));

        assertThat(table.domains()).containsExactly("batch", "db1", "web.prod");
        assertThat(table.settings("web.prod")).isEqualTo(new DomainSettings(4, 4, 0, 0));
        assertThat(table.settings("db1")).isEqualTo(new DomainSettings(1, 0, 100_000_000L, 1_000_000L));
        assertThat(table.settings("batch")).isEqualTo(new DomainSettings(1, 4, 1_500_000_000L, 2L << 20));
        assertThat(table.settings("unknown")).isSameAs(DomainSettings.DEFAULTS);
    }

    @Test
    void aSmallRateStillGetsABurstOfOneLargeFrame() {
        VmSettings slow = DomainSettingsTable.parse(Map.of("slow.rate", "1M")).settings("slow");
        assertThat(slow.burstBytes()).isEqualTo(64 * 1024);
        assertThat(DomainSettingsTable.parse(Map.of("slow.rate", "none")).settings("slow").rateBytesPerSecond())
                .isZero();
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
        "vm1.weight   | 0      | vm1.weight: 0 is out of range; use 1 to 1000",
        "vm1.weight   | 1001   | vm1.weight: 1001 is out of range; use 1 to 1000",
        "vm1.weight   | heavy  | vm1.weight: 'heavy' is not a whole number",
        "vm1.priority | 8      | vm1.priority: 8 is out of range; use 0 to 7",
        "vm1.priority | -1     | vm1.priority: -1 is out of range; use 0 to 7",
        "vm1.rate     | 10     | vm1.rate: 10 is out of range; use 0 or none for no cap, or 1K to 1T bytes per second",
        "vm1.rate     | 2T     | vm1.rate: 2T is out of range",
        "vm1.rate     | fast   | vm1.rate: 'fast' is not a whole number of bytes with an optional unit",
        "vm1.burst    | 2Gi    | vm1.burst: 2Gi is out of range; use 0 to 1Gi bytes",
        "vm1.wieght   | 2      | unknown key 'vm1.wieght': expected <domain name>.weight|priority|rate|burst",
        "weight       | 2      | unknown key 'weight'",
        "bad/name.rate| 1M     | bad/name.rate: 'bad/name' is not a domain name"})
    void aBadKeyOrValueRefusesTheWholeUpdateAndSaysWhy(String key, String value, String message) {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> DomainSettingsTable.parse(Map.of("good.weight", "2", key, value)))
                .withMessageContaining(message);
    }

    @Test
    void everyProblemIsNamedAtOnce() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> DomainSettingsTable.parse(Map.of("a.weight", "0", "b.priority", "9")))
                .withMessageContaining("a.weight").withMessageContaining("b.priority");
    }
}
