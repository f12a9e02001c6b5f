package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The libfabric provider and an unmodified MPI program between VMs on two hosts: two simulated Xen hosts, each
 * an engine on nic.packet in its own network namespace, joined by a veth pair (MTU 9000), one VM on each. The guest
 * processes (fi_pingpong, MPI ranks) run in this machine's namespace: a guest reaches its hypervisor through its
 * domain's files and Unix sockets, and its bytes cross to the other host only as vmrdma frames on the veth.
 */
class MpiAcrossHostsTest {

    final Path build = Path.of(System.getProperty("vmrdma.native.dir", "../../native/build/plain"))
            .toAbsolutePath().normalize();
    VethLink link;
    GuestHost a;
    GuestHost b;
    Path vmA;
    Path vmB;

    @BeforeEach
    void setUp() throws Exception {
        assertThat(build.resolve("libfabric/libvmrdma-fi.so")).as("build native/ first (./test.sh does)").exists();
        link = VethLink.create(9000);
        a = new GuestHost(1, link.a, link.interfaceA);
        b = new GuestHost(2, link.b, link.interfaceB);
        GuestHost.join(a, b);
        vmA = a.vm("vm-a", 64 << 20);
        vmB = b.vm("vm-b", 64 << 20);
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            b.close();
            a.close();
        } finally {
            link.close();
        }
    }

    @Test
    void fiPingpongOverRxmBetweenVmsOnTwoHostsChecksEveryMessage() throws Exception {
        String port = Integer.toString(ThreadLocalRandom.current().nextInt(20_000, 40_000));
        List<String> common = List.of("fi_pingpong", "-p", "vmrdma;ofi_rxm", "-e", "rdm", "-c", "-I", "100");
        List<String> server = new ArrayList<>(common);
        server.addAll(List.of("-S", "65536", "-B", port));
        List<String> client = new ArrayList<>(common);
        client.addAll(List.of("-S", "65536", "-P", port, "127.0.0.1"));
        Process srv = guest(vmA, server);
        Thread.sleep(300); // its control socket listens once it has attached
        Process cli = guest(vmB, client);
        String clientOut = finish(cli);
        finish(srv);
        assertThat(clientOut).containsPattern("(?m)^64k +100 ");
    }

    @Test
    void netpipeIntegrityOverOpenMpiBetweenVmsOnTwoHosts() throws Exception {
        List<String> command = List.of(build.resolve("vmrdma-mpirun").toString(), "--vms", vmA + ":" + vmB, "-x",
                "FI_LOG_LEVEL=info", "--", "NPopenmpi", "-i", "-u", "262144", "-o", "/dev/null");
        String out = finish(new ProcessBuilder(command).redirectErrorStream(true).start());
        // NetPIPE checks every byte of every message itself: 32 sizes from 5 bytes to 256 KiB.
        assertThat(out.lines().filter(l -> l.endsWith("Integrity check passed")).count()).as(out).isEqualTo(32);
        assertThat(out).contains("on node 1 attached (sim)").contains("on node 2 attached (sim)");
        assertThat(a.counters()).as("host A sent vmrdma frames").containsPattern("FRAMES_SENT=\\d{3,}");
    }

    private Process guest(Path vm, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("VMRDMA_SIM_DOMAIN", vm.toString());
        env.put("XENSTORED_PATH", vm.resolve("xenstore.sock").toString());
        env.put("FI_PROVIDER_PATH", build.resolve("libfabric").toString());
        return pb.start();
    }

    private static String finish(Process p) throws Exception {
        byte[] bytes = p.getInputStream().readAllBytes();
        String out = new String(bytes, StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(out).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
