package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.DeviceInfo;
import io.vmrdma.api.Domain;
import io.vmrdma.api.xen.DomainControl.DomainInfo;
import org.junit.jupiter.api.Test;

class DomainsReportTest {

    private static Domain domain(int domid, String name) {
        FakeRegistry.FakeDomain domain = new FakeRegistry.FakeDomain(domid, name);
        domain.counters.put(Counter.RDMA_WRITE_OPS, 3L);
        domain.counters.put(Counter.RDMA_WRITE_BYTES, 3072L);
        return domain;
    }

    private static String render(List<DomainInfo> toolstack, List<Domain> engine) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DomainsReport.print(toolstack, engine, 1, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void showsTheToolstacksDomainsBesideTheEngines() {
        String out = render(List.of(new DomainInfo(0, "Domain-0", 16 << 20, true),
                new DomainInfo(3, "web1", 64 << 20, true), new DomainInfo(4, "idle", 32 << 20, false)),
                List.of(domain(3, "web1")));
        assertThat(out).contains("Domain-0").contains("dom0");
        assertThat(out.lines().filter(l -> l.contains("web1")).findFirst().orElseThrow())
                .contains("64").contains("running").contains("CONNECTED").contains("3072");
        assertThat(out.lines().filter(l -> l.contains("idle")).findFirst().orElseThrow()).contains("created");
    }

    @Test
    void listsTheDevicesOfAVmUnderIt() {
        FakeRegistry.FakeDomain vm = new FakeRegistry.FakeDomain(3, "mpi");
        vm.devices = List.of(new DeviceInfo(0, 1234), new DeviceInfo(1, 1240), new DeviceInfo(2, -1));
        String out = render(List.of(new DomainInfo(3, "mpi", 64 << 20, true)), List.of(vm));
        assertThat(out.lines().filter(l -> l.contains("mpi")).findFirst().orElseThrow())
                .contains("0(1234) 1(1240) 2 ");
        assertThat(out.lines().findFirst().orElseThrow()).contains("Devices");
    }

    @Test
    void withoutAToolstackListsTheEnginesDomains() {
        String out = render(null, List.of(domain(5, "hpc")));
        assertThat(out).contains("hpc").contains("no toolstack service");
        assertThat(render(List.of(new DomainInfo(2, "x", 1 << 20, true)), null)).contains("engine not running");
    }

    @Test
    void showsTheNodeEachDomainIsOnAndWhereItMigrates() {
        FakeRegistry.FakeDomain going = new FakeRegistry.FakeDomain(7, "going");
        going.migratingTo = 3;
        String out = render(null, List.of(domain(5, "staying"), going));
        assertThat(out.lines().filter(l -> l.contains("staying")).findFirst().orElseThrow()).contains(" 1 ");
        assertThat(out.lines().filter(l -> l.contains("going")).findFirst().orElseThrow()).contains("1 -> 3");
    }

    @Test
    void aMigratingVmShowsItsNodeAndThenItsDevices() {
        FakeRegistry.FakeDomain vm = new FakeRegistry.FakeDomain(4, "mpi");
        vm.migratingTo = 2;
        vm.devices = List.of(new DeviceInfo(0, 77), new DeviceInfo(1, 78));
        String out = render(null, List.of(vm));
        String header = out.lines().findFirst().orElseThrow();
        assertThat(header.indexOf("Node")).isPositive().isLessThan(header.indexOf("Devices"));
        assertThat(out.lines().filter(l -> l.contains("mpi")).findFirst().orElseThrow())
                .containsPattern("1 -> 2 +\\| 0\\(77\\) 1\\(78\\)");
    }
}
