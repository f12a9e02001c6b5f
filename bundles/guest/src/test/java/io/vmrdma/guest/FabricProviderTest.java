package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

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
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("FI_PROVIDER_PATH", providerDir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
