package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libfabric provider and an unmodified MPI program between VMs on two hosts: two simulated Xen hosts, each
 * an engine on nic.packet in its own network namespace, joined by a veth pair (MTU 9000), one VM on each (two for the BLACS tester). The guest
 * processes (fi_pingpong, MPI ranks) run in this machine's namespace: a guest reaches its hypervisor through its
 * domain's files and Unix sockets, and its bytes cross to the other host only as vmrdma frames on the veth.
 */
class MpiAcrossHostsTest {

    static final Path BLACS_TESTS = Path.of("/usr/lib/x86_64-linux-gnu/scalapack/openmpi-tests/BLACS");
    /**
     * Pages each VM may share (32 MiB; Linux's gntalloc default, 1024, is too few): ofi_rxm keeps receive buffers
     * posted on every connection, and a rank of four has three, besides its messages' bounce buffers.
     */
    static final int GNTALLOC_PAGES = 8192;
    static final int LINUX_GNTALLOC_LIMIT = 1024;
    static final int TIMEOUT_SECONDS = 300;

    final Path build = Path.of(System.getProperty("vmrdma.native.dir", "../../native/build/plain"))
            .toAbsolutePath().normalize();
    @TempDir
    Path scratch;
    VethLink link;
    GuestHost a;
    GuestHost b;
    Path vmA;
    Path vmB;

    @BeforeEach
    void setUp() throws Exception {
        assertThat(build.resolve("libfabric/libvmrdma-fi.so")).as("build native/ first (./test.sh does)").exists();
        twoHosts(GNTALLOC_PAGES);
    }

    private void twoHosts(int gntallocPages) throws Exception {
        link = VethLink.create(9000);
        a = new GuestHost(1, link.a, link.interfaceA, gntallocPages);
        b = new GuestHost(2, link.b, link.interfaceB, gntallocPages);
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
        String clientOut = pingpong("vmrdma;ofi_rxm", "rdm", "65536", "100");
        assertThat(clientOut).containsPattern("(?m)^64k +100 ");
    }

    @Test
    void fiPingpongOverMsgEndpointsBetweenVmsOnTwoHostsChecksEveryMessage() throws Exception {
        // Each 1 MiB message is a SEND of many frames into the peer's posted receive.
        String clientOut = pingpong("vmrdma", "msg", "1048576", "50");
        assertThat(clientOut).containsPattern("(?m)^1m +50 ");
    }

    @Test
    void netpipeIntegrityOverOpenMpiBetweenVmsOnTwoHosts() throws Exception {
        List<String> command = List.of(build.resolve("vmrdma-mpirun").toString(), "--vms", vmA + ":" + vmB, "-x",
                "FI_LOG_LEVEL=info", "--", "NPopenmpi", "-i", "-u", "1048576", "-o", "/dev/null");
        String out = finish(start(new ProcessBuilder(command)), 0);
        // NetPIPE checks every byte of every message itself: 36 sizes from 5 to 786,433 bytes, the larger ones by
        // ofi_rxm's rendezvous (an RDMA READ of the sender's region across the link).
        assertThat(out).contains("786433 bytes");
        assertThat(out.lines().filter(l -> l.endsWith("Integrity check passed")).count()).as(out).isEqualTo(36);
        assertThat(out).contains("on node 1 attached (sim)").contains("on node 2 attached (sim)");
        assertThat(a.counters()).as("host A sent vmrdma frames").containsPattern("FRAMES_SENT=\\d{3,}");
    }

    @Test
    void netpipeIntegrityWithLinuxsDefaultGrantLimitReSharesBuffersAndLosesNoByte() throws Exception {
        tearDown();
        twoHosts(LINUX_GNTALLOC_LIMIT);
        List<String> command = List.of(build.resolve("vmrdma-mpirun").toString(), "--vms", vmA + ":" + vmB, "-x",
                "FI_LOG_LEVEL=info", "--", "NPopenmpi", "-i", "-u", "1048576", "-o", "/dev/null");
        String out = finish(start(new ProcessBuilder(command)), 0);
        assertThat(out.lines().filter(l -> l.endsWith("Integrity check passed")).count()).as(out).isEqualTo(36);
        // The pool gave buffers back to make room, said so once per rank, and counted it.
        assertThat(out).contains("the guest's grant limit is reached");
        assertThat(out).containsPattern("[1-9]\\d* grant limit hits");
    }

    @Test
    void blacsTesterAcrossFourVmsOnTwoHosts() throws Exception {
        // Two VMs on each host, ranks alternating between the hosts: every rank has peers on both. Debian's BLACS
        // tester reads its inputs from the directory it runs in and ends, by design, with a test of BLACS_ABORT:
        // mpirun's exit status is then MPI_ABORT's.
        Path vmA2 = a.vm("vm-a2", 64 << 20);
        Path vmB2 = b.vm("vm-b2", 64 << 20);
        List<String> command = List.of(build.resolve("vmrdma-mpirun").toString(), "--vms",
                String.join(":", vmA.toString(), vmB.toString(), vmA2.toString(), vmB2.toString()), "-x",
                "FI_LOG_LEVEL=info", "--", "./xCbtest");
        String out = finish(start(new ProcessBuilder(command).directory(BLACS_TESTS.toFile())), 255);
        assertThat(out).contains("DOUBLE COMPLEX AMN TESTS").contains("BLACS_ABORT")
                .doesNotContainPattern("[1-9]\\d* FAILED");
        assertThat(out.lines().filter(l -> l.matches(".*TESTS: +\\d+ TESTS; +\\d+ PASSED.* 0 FAILED\\.")).count())
                .as(out).isGreaterThanOrEqualTo(20);
        assertThat(Pattern.compile("guest domain \\d+ on node 1 attached").matcher(out).results().count()).isEqualTo(2);
        assertThat(Pattern.compile("guest domain \\d+ on node 2 attached").matcher(out).results().count()).isEqualTo(2);
    }

    /** fi_pingpong with its data check between the two hosts' VMs: the server on A, the client on B; its output. */
    private String pingpong(String provider, String endpoint, String size, String iterations) throws Exception {
        String port = Integer.toString(ThreadLocalRandom.current().nextInt(20_000, 40_000));
        List<String> common = List.of("fi_pingpong", "-p", provider, "-e", endpoint, "-c", "-I", iterations, "-S",
                size);
        List<String> server = new ArrayList<>(common);
        server.addAll(List.of("-B", port));
        List<String> client = new ArrayList<>(common);
        client.addAll(List.of("-P", port, "127.0.0.1"));
        Job srv = guest(vmA, server);
        Thread.sleep(300); // its control socket listens once it has attached
        Job cli = guest(vmB, client);
        String clientOut = finish(cli, 0);
        finish(srv, 0);
        return clientOut;
    }

    private Job guest(Path vm, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.put("VMRDMA_SIM_DOMAIN", vm.toString());
        env.put("XENSTORED_PATH", vm.resolve("xenstore.sock").toString());
        env.put("FI_PROVIDER_PATH", build.resolve("libfabric").toString());
        return start(pb);
    }

    /** A process whose output goes to a file, so that one that hangs can be waited for with a timeout. */
    private record Job(Process process, Path output) {
    }

    private Job start(ProcessBuilder pb) throws IOException {
        Path output = Files.createTempFile(scratch, "job", ".out");
        pb.redirectErrorStream(true).redirectOutput(output.toFile());
        return new Job(pb.start(), output);
    }

    /**
     * Waits for the job to end with {@code status} and returns its output; a job still running after the timeout is
     * ended with everything it started (mpirun's ranks) and fails the test.
     */
    private static String finish(Job job, int status) throws Exception {
        boolean ended = job.process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (!ended) {
            job.process.descendants().forEach(ProcessHandle::destroyForcibly);
            job.process.destroyForcibly().waitFor();
        }
        String out = Files.readString(job.output, StandardCharsets.UTF_8);
        assertThat(ended).as("ended within %d s; output:%n%s", TIMEOUT_SECONDS, out).isTrue();
        assertThat(job.process.exitValue()).as(out).isEqualTo(status);
        return out;
    }
}
