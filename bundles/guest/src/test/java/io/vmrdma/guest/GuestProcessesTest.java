package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.xen.sim.guest.SimAbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client guests as separate JVM processes started by the toolstack; the server guest attached in this JVM. */
class GuestProcessesTest {

    static final long WAIT = StreamServer.WAIT;
    static final int BYTES = StreamServer.BYTES;
    static final int SLOTS = StreamServer.SLOTS;

    @TempDir
    Path state;
    EngineFixture host;
    long seed = new Random().nextLong();

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(state);
    }

    @AfterEach
    void tearDown() throws Exception {
        host.close();
    }

    /** A server guest attached in this JVM, its device 0 streamed to by the client. */
    private StreamServer server(String name, long service) throws Exception {
        return new StreamServer(GuestDevice.open(host.guest(name), 0, GuestDevice.Options.defaults()), service, seed);
    }

    @Test
    void aClientProcessWritesByteIdenticalIntoAServerGuest() throws Exception {
        StreamServer server = server("server", 100);
        int client = startClient("client", 100, 20);
        server.accept();
        for (long round = 1; round <= 20; round++) {
            assertThat(server.nextRound()).isEqualTo(round);
            server.assertPattern();
        }
        server.event(CmEventType.DISCONNECTED);
        awaitGone(client);
        server.dev.close();
    }

    @Test
    void aClientKilledMidTransferLeavesTheEngineHealthy() throws Exception {
        StreamServer server = server("server", 200);
        int client = startClient("victim", 200, -1);
        server.accept();
        for (int i = 0; i < 5; i++) {
            server.nextRound();
        }
        ProcessHandle.of(pid(client)).orElseThrow().destroyForcibly();
        server.event(CmEventType.DISCONNECTED);
        // The peer's queue pair went to ERR: every receive it still had completes flushed, after any SENDs that
        // arrived before the kill (those completed successfully and are still queued).
        WorkCompletion wc = new WorkCompletion();
        // Each of those used up a receive the test has not posted again: the rest of the SLOTS are flushed.
        int flushed = 0;
        int arrived = 0;
        while (flushed + arrived < SLOTS) {
            assertThat(server.dev.waitCq(server.cq, wc, WAIT)).as("flush %d", flushed).isTrue();
            if (flushed == 0 && wc.status() == WcStatus.SUCCESS) {
                arrived++;
            } else {
                assertThat(wc.status()).isEqualTo(WcStatus.WR_FLUSH_ERR);
                flushed++;
            }
        }
        assertThat(server.dev.pollCq(server.cq, wc)).as("nothing after the flushes").isFalse();
        // The client may have used up every receive before it died (then nothing was left to flush): a receive
        // posted now, on the queue pair in ERR, completes flushed at once either way.
        server.postRecv(0);
        assertThat(server.dev.waitCq(server.cq, wc, WAIT)).isTrue();
        assertThat(wc.status()).isEqualTo(WcStatus.WR_FLUSH_ERR);
        assertThat(wc.wrId()).isEqualTo(0);
        server.dev.destroyQp(server.qp);
        awaitGone(client);
        host.await(() -> host.engine.domain(client).isEmpty() && !host.backends.connected(client),
                "the dead guest's domain closed");
        server.assertPattern();

        // The engine and the server keep working with a new client.
        int second = startClient("second", 200, 3);
        server.accept();
        for (long round = 1; round <= 3; round++) {
            assertThat(server.nextRound()).isEqualTo(round);
        }
        server.assertPattern();
        awaitGone(second);
        server.dev.close();
        host.assertHealthy();
    }

    private final java.util.Map<Integer, Long> pids = new java.util.HashMap<>();

    private long pid(int domid) {
        return pids.get(domid);
    }

    private int startClient(String name, long service, int rounds) throws Exception {
        int domid = host.hv.create(name, 16 << 20);
        List<String> cmd = EngineFixture.javaGuest(PeerProgram.class.getName(), Long.toString(service),
                Long.toString(seed), Integer.toString(rounds), Integer.toString(BYTES));
        pids.put(domid, host.hv.start(domid, cmd));
        return domid;
    }

    private void awaitGone(int domid) throws Exception {
        long deadline = System.nanoTime() + WAIT;
        while (host.hv.list().stream().anyMatch(d -> d.domid() == domid)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("guest " + domid + " still running; console:\n" + console(domid));
            }
            Thread.sleep(10);
        }
    }

    private String console(int domid) {
        try {
            return Files.readString(host.hv.domainDirectory(domid).resolve(SimAbi.FILE_CONSOLE));
        } catch (Exception e) {
            return "(no console)";
        }
    }
}
