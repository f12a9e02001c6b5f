package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.vmrdma.xen.sim.internal.SimForGuestTests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libfabric provider (native/fi, libvmrdma-fi.so) under libfabric's own tools, unmodified: fi_info lists it,
 * and fi_pingpong runs between two simulated guests on one host, over FI_EP_MSG and over ofi_rxm's FI_EP_RDM,
 * with its data check (-c) on every message. Each guest is a process of its own started by the toolstack; the
 * two find each other through fi_pingpong's out-of-band TCP socket on loopback.
 */
class FabricProviderTest {

    @TempDir
    Path state;
    EngineFixture host;
    CGuestInteropGuests guests;
    final Path providerDir = CGuestInteropGuests.nativeBinary("libfabric/libvmrdma-fi.so").getParent();

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(SimForGuestTests.start(state, 8192));
        guests = new CGuestInteropGuests(host, state, 64 << 20);
    }

    @AfterEach
    void tearDown() throws Exception {
        host.close();
    }

    @Test
    void fiInfoListsTheProviderAndRxmLayersRdmOnIt() throws Exception {
        String msg = run(List.of("fi_info", "-p", "vmrdma"));
        assertThat(msg).contains("provider: vmrdma").contains("type: FI_EP_MSG").contains("fabric: vmrdma");
        String rdm = run(List.of("fi_info", "-p", "vmrdma;ofi_rxm", "-t", "FI_EP_RDM"));
        assertThat(rdm).contains("provider: vmrdma;ofi_rxm").contains("type: FI_EP_RDM")
                .contains("protocol: FI_PROTO_RXM");
    }

    @Test
    void fiPingpongOverMsgEndpointsChecksEveryMessage() throws Exception {
        pingpong("vmrdma", "msg");
    }

    @Test
    void fiPingpongOverRxmRdmEndpointsChecksEveryMessage() throws Exception {
        pingpong("vmrdma;ofi_rxm", "rdm");
    }

    @Test
    void netpipeIntegrityOverOpenMpiAcrossTwoVms() throws Exception {
        String out = mpirun(false, List.of("NPopenmpi", "-i", "-u", "1048576", "-o", "/dev/null"));
        assertThat(out).contains("786433 bytes").doesNotContain("Integrity check failed");
        assertThat(passes(out)).as(out).isEqualTo(36);
        assertMovedOverVmrdma(out, 2);
    }

    @Test
    void netpipeIntegrityBetweenTwoRanksOfOneVm() throws Exception {
        String out = mpirun(1, 2, null, List.of("NPopenmpi", "-i", "-u", "1048576", "-o", "/dev/null"), 0);
        assertThat(passes(out)).as(out).isEqualTo(36);
        assertMovedOverVmrdma(out, 1);
    }

    @Test
    void netpipeIntegrityOverTcpRxmAsTheControlRun() throws Exception {
        String out = mpirun(true, List.of("NPopenmpi", "-i", "-u", "1048576", "-o", "/dev/null"));
        assertThat(passes(out)).as(out).isEqualTo(36);
        assertThat(out).doesNotContain("attached (sim)");
    }

    /**
     * Both ranks attached as guests of {@code vms} VMs and moved their messages through the provider (its log at info
     * level).
     */
    private static void assertMovedOverVmrdma(String out, int vms) {
        Matcher attached = Pattern.compile("guest domain (\\d+) on node 1 attached \\(sim\\)").matcher(out);
        Set<String> domids = new HashSet<>();
        while (attached.find()) {
            domids.add(attached.group(1));
        }
        assertThat(domids).as(out).hasSize(vms);
        Matcher closing = Pattern.compile("closing: (\\d+) transfers, (\\d+) bytes;").matcher(out);
        int ranks = 0;
        while (closing.find()) {
            assertThat(Long.parseLong(closing.group(2))).isGreaterThan(1L << 20);
            ranks++;
        }
        assertThat(ranks).as(out).isEqualTo(2);
    }

    private static long passes(String out) {
        return out.lines().filter(l -> l.endsWith("Integrity check passed")).count();
    }

    @Test
    void blacsTesterWithTwoRanksInEachOfTwoVms() throws Exception {
        // Debian's BLACS tester reads its inputs from the directory it runs in, and ends, by design, with a test
        // of BLACS_ABORT: mpirun's exit status is then MPI_ABORT's.
        Path blacs = Path.of("/usr/lib/x86_64-linux-gnu/scalapack/openmpi-tests/BLACS");
        String out = mpirun(2, 2, blacs, List.of("./xCbtest"), 255);
        assertThat(out).contains("DOUBLE COMPLEX AMN TESTS").contains("BLACS_ABORT")
                .doesNotContainPattern("[1-9]\\d* FAILED");
        assertThat(out.lines().filter(l -> l.matches(".*TESTS: +\\d+ TESTS; +\\d+ PASSED.* 0 FAILED\\.")).count())
                .as(out).isGreaterThanOrEqualTo(20);
        // Four ranks, each its own process with its own device, two in each VM.
        Map<String, Long> ranksPerVm = Pattern.compile("guest domain (\\d+) on node 1 attached").matcher(out).results()
                .collect(Collectors.groupingBy(m -> m.group(1), Collectors.counting()));
        assertThat(ranksPerVm).as(out).hasSize(2).allSatisfy((vm, ranks) -> assertThat(ranks).isEqualTo(2));
    }

    private String mpirun(boolean tcp, List<String> program) throws Exception {
        List<String> args = new ArrayList<>(tcp ? List.of("--tcp") : List.of());
        args.addAll(program);
        return mpirun(2, 1, null, args, 0);
    }

    /**
     * Runs vmrdma-mpirun in {@code vmCount} new VMs with {@code ranksPerVm} consecutive ranks in each (a VM listed
     * that many times), in directory dir (null: here); expects that exit status.
     */
    private String mpirun(int vmCount, int ranksPerVm, Path dir, List<String> args, int status) throws Exception {
        StringBuilder vms = new StringBuilder();
        for (int vm = 0; vm < vmCount; vm++) {
            int domid = host.hv.create("vm" + vm, 64 << 20);
            for (int rank = 0; rank < ranksPerVm; rank++) {
                vms.append(vms.length() == 0 ? "" : ":").append(host.hv.domainDirectory(domid));
            }
        }
        List<String> command = new ArrayList<>(List.of(
                CGuestInteropGuests.nativeBinary("vmrdma-mpirun").toString(), "--vms", vms.toString()));
        boolean tcp = args.get(0).equals("--tcp");
        command.addAll(args.subList(0, tcp ? 1 : 0));
        command.addAll(List.of("-x", "FI_LOG_LEVEL=info", "--"));
        command.addAll(args.subList(tcp ? 1 : 0, args.size()));
        return run(command, dir, status);
    }

    private void pingpong(String provider, String endpoint) throws Exception {
        String port = Integer.toString(ThreadLocalRandom.current().nextInt(20_000, 40_000));
        List<String> common = List.of("-p", provider, "-e", endpoint, "-c", "-S", "all", "-I", "50");
        List<String> server = new ArrayList<>(fabricEnv());
        server.add("fi_pingpong");
        server.addAll(common);
        server.addAll(List.of("-B", port));
        int srv = guests.start("pp-server", server);
        List<String> client = new ArrayList<>(fabricEnv());
        client.add("fi_pingpong");
        client.addAll(common);
        client.addAll(List.of("-P", port, "127.0.0.1"));
        Thread.sleep(300); // the server's control socket listens once its guest has attached
        int cli = guests.start("pp-client", client);
        for (int guest : new int[] {cli, srv}) {
            guests.awaitGone(guest);
            assertThat(guests.exitStatus(guest)).as("exit status; output:\n%s", guests.output(guest)).isEqualTo("0");
        }
        System.out.println("fi_pingpong -p " + provider + " -e " + endpoint + ", client:\n" + guests.output(cli));
        // One row per size from 1 byte to 6 MiB; -c compared every byte of every message on both sides.
        for (int guest : new int[] {cli, srv}) {
            assertThat(guests.output(guest)).containsPattern("(?m)^1 +50 ").containsPattern("(?m)^64k +50 ")
                    .containsPattern("(?m)^6m +50 ");
        }
    }

    private List<String> fabricEnv() {
        return List.of("/usr/bin/env", "FI_PROVIDER_PATH=" + providerDir, "FI_LOG_LEVEL=warn");
    }

    private String run(List<String> command) throws Exception {
        return run(command, null, 0);
    }

    private String run(List<String> command, Path dir, int status) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.environment().put("FI_PROVIDER_PATH", providerDir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isEqualTo(status);
        return out;
    }
}
