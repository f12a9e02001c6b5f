package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * vmrdma_guest_check, the program the real-Xen stage (scripts/xen-host) runs in its domUs, run here between C
 * guests on the simulator: the same scenarios, so a defect in the program or the library shows in seconds rather
 * than in an emulated Xen boot. The program compares every byte itself and prints "check: PASS".
 */
class CGuestCheckTest {

    @TempDir
    Path state;
    EngineFixture host;
    CGuestInteropGuests guests;
    final String seed = Long.toString(new Random().nextLong() >>> 16);
    final String check = CGuestInteropGuests.nativeBinary("vmrdma_guest_check").toString();

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(state);
        guests = new CGuestInteropGuests(host, state, 16 << 20);
    }

    @AfterEach
    void tearDown() throws Exception {
        host.close();
    }

    @Test
    void twoCGuestsExchangeEveryVerbThroughTheConnectionManager() throws Exception {
        int server = guests.start("server", List.of(check, "pair", "server", "9100", seed));
        guests.awaitOutput(server, "listening on 9100");
        int client = guests.start("client", List.of(check, "pair", "client", "9100", seed));
        assertPass(client);
        assertPass(server);
        assertThat(guests.output(client)).contains("RDMA READ from the server: 65536 bytes identical")
                .contains("RDMA WRITE from the server: 65536 bytes identical").contains("CM DISCONNECTED");
        assertThat(guests.output(server)).contains("RDMA WRITE_WITH_IMM from the client: 40000 bytes identical")
                .contains("SEND_WITH_IMM from the client: 3000 bytes identical").contains("CM DISCONNECTED");
    }

    @Test
    void aSourceDestroyedMidStreamCutsOnlyItsStream() throws Exception {
        int sink = guests.start("sink", List.of(check, "sink", "9200", seed, "1"));
        guests.awaitOutput(sink, "listening on 9200");
        int victim = guests.startDirect("victim", List.of(check, "source", "9200", seed, "-1"));
        host.await(() -> guests.output(sink).contains("100 rounds verified"), "the victim's stream running");
        host.hv.destroy(victim);
        guests.awaitOutput(sink, "stream cut after");
        int second = guests.start("second", List.of(check, "source", "9200", seed, "300"));
        assertPass(second);
        assertPass(sink);
        assertThat(guests.output(sink)).contains("1 streams ended cleanly, 1 cut").contains("300 rounds verified");
        host.await(() -> host.engine.domain(victim).isEmpty(), "the destroyed guest's domain closed");
    }

    @Test
    void twoProcessesOfOneGuestStreamToTwoOfAnotherEachWithItsOwnDevice() throws Exception {
        int sinks = guests.start("psink", List.of(check, "procs", "2", "sink", "9400", seed, "1"));
        guests.awaitOutput(sinks, "listening on 9400");
        guests.awaitOutput(sinks, "listening on 9401");
        int sources = guests.start("psource", List.of(check, "procs", "2", "source", "9400", seed, "2000"));
        host.await(() -> host.engine.domain(sources).map(d -> d.devices().size()).orElse(0) == 2,
                "two devices of the source guest at once");
        assertPass(sources);
        assertPass(sinks);
        assertThat(guests.output(sources)).contains("2 of 2 processes of this domain passed");
        assertThat(guests.output(sinks)).contains("2 of 2 processes of this domain passed");
    }

    @Test
    void bothGuestsReattachAfterDom0sVmrdmaRestartsAndExchangeAgain() throws Exception {
        int server = guests.start("server", List.of(check, "reattach", "server", "9300", seed));
        int client = guests.start("client", List.of(check, "reattach", "client", "9300", seed));
        guests.awaitOutput(server, "reattach: ready");
        guests.awaitOutput(client, "reattach: ready");
        host.restartDom0();
        assertPass(client);
        assertPass(server);
        for (int guest : new int[] {server, client}) {
            assertThat(guests.output(guest)).contains("reattach: backend gone (-107").contains("attached again");
        }
    }

    @Test
    void aBufferBeyondTheGrantLimitIsRefusedAndTheDeviceGoesOn() throws Exception {
        int guest = guests.start("limits", List.of(check, "limits", Long.toString(8 << 20)));
        assertPass(guest);
        assertThat(guests.output(guest)).containsPattern("a 8388608-byte buffer: -\\d+ \\(");
        host.assertHealthy();
    }

    private void assertPass(int domid) throws Exception {
        guests.awaitGone(domid);
        assertThat(guests.exitStatus(domid)).as("exit status; output:\n%s", guests.output(domid)).isEqualTo("0");
        assertThat(guests.output(domid)).contains("check: PASS");
    }
}
