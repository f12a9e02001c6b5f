package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.Counter;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.guest.bench.Perftest;
import io.vmrdma.guest.internal.GuestTool;
import io.vmrdma.xen.sim.guest.SimAbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest tool as the toolstack runs it: both guests separate processes, demo traffic and the benchmark core. */
class GuestToolTest {

    @TempDir
    Path state;
    EngineFixture host;

    @BeforeEach
    void setUp() throws Exception {
        host = new EngineFixture(state);
    }

    @AfterEach
    void tearDown() throws Exception {
        host.close();
    }

    @Test
    void twoDemoGuestsExchangeTraffic() throws Exception {
        int server = start("demo-server", "demo", "server", "7");
        awaitConsole(server, "listening on service");
        int client = start("demo-client", "demo", "client", "1", "7", "300");
        awaitConsole(client, "demo: done");
        assertThat(console(client)).contains("demo: round 300 ok (write, write with imm, read, send)");
        awaitConsole(server, "client gone after 300 rounds");
        // Every verb went through the engine, 4 KiB writes into an 8 KiB window: the client's 300 rounds of WRITE,
        // WRITE WITH IMM, READ and SEND; the server's 300 window replies and 300 echoes (SENDs).
        assertThat(host.engine.counter(Counter.RDMA_WRITE_OPS)).isEqualTo(600);
        assertThat(host.engine.counter(Counter.RDMA_WRITE_BYTES)).isEqualTo(600 * 4096L);
        assertThat(host.engine.counter(Counter.RDMA_READ_OPS)).isEqualTo(300);
        assertThat(host.engine.counter(Counter.RDMA_READ_BYTES)).isEqualTo(300 * 8192L);
        assertThat(host.engine.counter(Counter.SEND_OPS)).isEqualTo(900);
        assertThat(host.engine.counter(Counter.RECV_OPS)).isEqualTo(1200);
        host.hv.destroy(server);
    }

    @Test
    void floodClientsWriteIntoOneSinkWithoutPause() throws Exception {
        int sink = start("sink", "flood", "sink", "8");
        awaitConsole(sink, "sink listening");
        int a = start("flood-a", "flood", "client", "1", "8", "65536");
        int b = start("flood-b", "flood", "client", "1", "8", "65536");
        awaitConsole(a, "writing 65536-byte blocks");
        awaitConsole(b, "writing 65536-byte blocks");
        for (int domid : new int[] {a, b}) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (host.engine.domain(domid).map(d -> d.counter(Counter.RDMA_WRITE_OPS)).orElse(0L) < 1000) {
                assertThat(System.nanoTime()).as("dom %d writes", domid).isLessThan(deadline);
                host.assertHealthy();
                Thread.sleep(20);
            }
        }
        assertThat(console(sink)).contains("sink serving");
        host.hv.destroy(a);
        host.hv.destroy(b);
        host.hv.destroy(sink);
    }

    @Test
    void theBenchmarkCoreRunsBetweenGuestProcesses() throws Exception {
        int server = start("bench-server", "bench", "write_bw", "server", "9", "65536", "500");
        awaitConsole(server, "listening on service");
        int client = start("bench-client", "bench", "write_bw", "client", "1", "9", "65536", "500");
        awaitConsole(client, "\"test\":\"ib_write_bw\",\"bytes\":65536,\"iterations\":500");
        assertThat(console(client)).contains("BW average[MB/sec]");
        int lserver = start("lat-server", "bench", "send_lat", "server", "10", "8", "200");
        awaitConsole(lserver, "listening on service");
        int lclient = start("lat-client", "bench", "send_lat", "client", "1", "10", "8", "200");
        awaitConsole(lclient, "\"test\":\"ib_send_lat\",\"bytes\":8,\"iterations\":200");
    }

    @Test
    void benchGuestsReportThroughXenStore() throws Exception {
        int server = start("bench-serve", "bench", "serve", "11");
        awaitReport(server, "state", "serving");
        int bw = start("bench-bw", "bench", "run", "1", "11", "write_bw", "-s", "4096", "-n", "300");
        awaitReport(bw, "state", "done");
        assertThat(report(bw, "title")).isEqualTo("RDMA_Write BW Test");
        assertThat(report(bw, "header")).isEqualTo(Perftest.Bandwidth.header());
        assertThat(report(bw, "results")).isEqualTo("1");
        assertThat(report(bw, "result/0/json"))
                .startsWith("{\"test\":\"ib_write_bw\",\"bytes\":4096,\"iterations\":300,");
        assertThat(report(bw, "result/0/row")).startsWith(" 4096       300  ");
        assertThat(report(bw, "progress")).isEqualTo("1000");
        host.hv.destroy(bw);

        // -a: every size from 8 to 64 on one connection, the iteration numbers counting on across sizes.
        int lat = start("bench-lat", "bench", "run", "1", "11", "write_lat", "-a", "-m", "64", "-n", "100");
        awaitReport(lat, "state", "done");
        assertThat(report(lat, "results")).isEqualTo("4");
        for (int i = 0; i < 4; i++) {
            assertThat(report(lat, "result/" + i + "/json"))
                    .startsWith("{\"test\":\"ib_write_lat\",\"bytes\":" + (8 << i) + ",\"iterations\":100,");
        }
        host.hv.destroy(lat);
        int send = start("bench-send", "bench", "run", "1", "11", "send_lat", "-a", "-m", "1024", "-n", "50");
        awaitReport(send, "state", "done");
        assertThat(report(send, "results")).isEqualTo("10");
        host.hv.destroy(send);

        // -q 3: three connections to the server at once, 200 writes each; the row counts all of them.
        int multi = start("bench-q", "bench", "run", "1", "11", "write_bw", "-s", "8192", "-n", "200", "-q", "3");
        awaitReport(multi, "state", "done");
        assertThat(report(multi, "mode")).contains("Number of qps : 3");
        assertThat(report(multi, "result/0/json"))
                .startsWith("{\"test\":\"ib_write_bw\",\"bytes\":8192,\"iterations\":600,");
        host.hv.destroy(multi);
        awaitConsole(server, "on 3 queue pairs");
        awaitReport(server, "served", "4");

        // No server on service 12: the client reports why and waits to be powered off.
        int lost = start("bench-lost", "bench", "run", "1", "12", "read_bw", "-n", "10");
        awaitReport(lost, "state", "failed");
        assertThat(report(lost, "error")).contains("ESTABLISHED");
        host.hv.destroy(lost);
        host.hv.destroy(server);
    }

    private void awaitReport(int domid, String key, String value) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!value.equals(report(domid, key))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("dom " + domid + " never reported " + key + " = " + value + " (state "
                        + report(domid, "state") + ", error " + report(domid, "error") + "); console:\n"
                        + console(domid));
            }
            host.assertHealthy();
            Thread.sleep(20);
        }
    }

    /** What the guest wrote under its data/vmrdma-bench, read as dom0 reads it; null when not (yet) there. */
    private String report(int domid, String key) throws Exception {
        try (XenStore xs = host.hv.dom0().openXenStore()) {
            return new String(xs.read(XenStore.NO_TRANSACTION,
                    xs.domainPath(domid) + "/data/vmrdma-bench/" + key), StandardCharsets.UTF_8);
        } catch (XenException e) {
            return null;
        }
    }

    private int start(String name, String... args) throws Exception {
        int domid = host.hv.create(name, 16 << 20);
        host.hv.start(domid, EngineFixture.javaGuest(GuestTool.class.getName(), args));
        return domid;
    }

    private void awaitConsole(int domid, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String seen = "";
        while (true) {
            // The console goes with the domain's directory when its process ends: keep what was last seen.
            String now = console(domid);
            seen = now.isEmpty() ? seen : now;
            if (seen.contains(text)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + text + "' from dom " + domid + "; console:\n" + seen);
            }
            host.assertHealthy();
            Thread.sleep(20);
        }
    }

    private String console(int domid) {
        try {
            return Files.readString(host.hv.domainDirectory(domid).resolve(SimAbi.FILE_CONSOLE));
        } catch (Exception e) {
            return "";
        }
    }
}
