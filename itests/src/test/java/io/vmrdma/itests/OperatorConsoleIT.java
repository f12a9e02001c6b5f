package io.vmrdma.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.management.ManagementFactory;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.Hashtable;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import javax.inject.Inject;
import javax.management.Attribute;
import javax.management.InvalidAttributeValueException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.DomainState;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerRegistry;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The operator's surface of a running node: every vmrdma command through the console's SessionFactory, with the
 * demo guests moving data so queue pairs, regions and counters are real; the errors an operator's typo meets; and
 * the MBeans, read (and a setting written) through the platform MBean server inside the container.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class OperatorConsoleIT {

    private static final String CLIENT = "demo-client";

    @Inject
    private SessionFactory sessions;

    @Inject
    private DomainRegistry domains;

    @Inject
    private PeerRegistry peers;

    @Inject
    private Node node;

    @Inject
    private ConfigurationAdmin configurations;

    private Console console;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return VmrdmaDistribution.options();
    }

    /** The demo guests, switched on once the container is up, moving data before a test starts. */
    @Before
    public void demoGuestsMoving() throws Exception {
        console = new Console(sessions);
        Configuration demo = configurations.getConfiguration("io.vmrdma.demo", null);
        if (demo.getProperties() == null || !"true".equals(String.valueOf(demo.getProperties().get("enabled")))) {
            demo.update(new Hashtable<>(Map.of("enabled", "true")));
        }
        await("demo guests moving data", () -> {
            Optional<Domain> client = domains.byName(CLIENT);
            return client.isPresent() && client.get().state() == DomainState.CONNECTED
                    && client.get().counter(Counter.RDMA_WRITE_OPS) > 10;
        });
    }

    @Test
    public void everyCommandPrintsWhatItShows() throws Exception {
        int domid = domains.byName(CLIENT).orElseThrow().domid();

        assertFinds(console.run("vmrdma:status"), "Node id\\s+\\|\\s+" + node.nodeId(),
                "io\\.vmrdma\\.shell\\s+\\|\\s+Active",
                "NIC counters\\s+\\|\\s+dropped \\d+, broadcastMisses \\d+");
        assertFinds(console.run("vmrdma:domains"), CLIENT + "\\s+\\|.*CONNECTED");

        String qps = console.run("vmrdma:qps");
        assertFinds(qps, "QPN", "Device", "SQ used/depth",
                "\\s" + domid + "\\s+\\|\\s+\\d+\\s+\\|\\s+\\d+\\s+\\|\\s+RTS\\s+\\|\\s+local");
        String mine = console.run("vmrdma:qps " + domid);
        assertFalse(mine, Pattern.compile("^\\s*(?!" + domid + "\\s)\\d+\\s+\\|", Pattern.MULTILINE).matcher(mine)
                .find());
        assertFinds(console.run("vmrdma:qps " + CLIENT), "RTS");
        String qpn = firstQpn(mine);
        assertFinds(console.run("vmrdma:qps -q " + qpn), "\\|\\s+" + qpn + "\\s+\\|\\s+RTS");

        assertFinds(console.run("vmrdma:mrs " + domid), "LKey", "0x[0-9a-f]+\\s+\\|\\s+0x[0-9a-f]+",
                "\\d+ regions?, [0-9.]+ (B|KiB|MiB|GiB) registered");
        assertFinds(console.run("vmrdma:peers"), "Node");

        String stats = console.run("vmrdma:stats -i 0.5 -n 2");
        assertFinds(stats, "Interval 0\\.5 s", "Devices +\\| Out MiB/s", CLIENT + "\\s+\\|", "Frames out/s");
        assertEquals(stats, 2, stats.split("Interval ", -1).length - 1);
        assertFinds(console.run("vmrdma:stats"), "Interval 1\\.0 s");

        assertFinds(console.run("vmrdma:policy"), "rr");
        assertFinds(console.run("vmrdma:weight " + CLIENT), CLIENT);
        assertFinds(console.run("vmrdma:priority " + CLIENT), CLIENT);
        assertFinds(console.run("vmrdma:rate " + CLIENT), CLIENT);

        assertFinds(console.run("vmrdma:guest-create -m 32 it-guest"), "domain \\d+ 'it-guest' created");
        assertFinds(console.run("vmrdma:domains"), "it-guest");
        assertFinds(console.run("vmrdma:guest-destroy it-guest"), "'it-guest' destroyed");

        assertFinds(console.run("vmrdma:qps --help"), "Lists queue pairs", "--qpn", "domain");
        assertFinds(console.run("vmrdma:stats --help"), "Ctrl-C", "--interval", "--count");
    }

    @Test
    public void benchRunsPerftestBetweenGuestsItBootsAndDestroys() throws Exception {
        String bandwidth = console.run("vmrdma:bench -s 4k -n 500");
        assertFinds(bandwidth, "RDMA_Write BW Test", "server on node " + node.nodeId() + " service 18515 \\(two local "
                + "guests\\)", "TX depth : 128   CQ moderation : 16   Iterations mode, 500 per size",
                "(?m)^ #bytes\\s+#iterations\\s+BW peak\\[MB/sec\\]\\s+BW average\\[MB/sec\\]\\s+MsgRate\\[Mpps\\]$",
                "(?m)^ 4096\\s+500\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d{6}$");

        // -q: two connections at once, 200 writes on each; the row counts both.
        assertFinds(console.run("vmrdma:bench -s 4k -n 200 -q 2"), "Number of qps : 2",
                "(?m)^ 4096\\s+400\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d{6}$");

        String latency = console.run("vmrdma:bench -n 200 send_lat");
        assertFinds(latency, "Send Latency Test",
                "(?m)^ #bytes\\s+#iterations\\s+t_min\\[usec\\]\\s+t_max\\[usec\\]\\s+"
                        + "t_typical\\[usec\\]\\s+t_avg\\[usec\\]\\s+t_stdev\\[usec\\]\\s+99% percentile\\[usec\\]\\s+"
                        + "99\\.9% percentile\\[usec\\]$",
                "(?m)^ 8\\s+200(\\s+\\d+\\.\\d\\d){7}$");

        // --json: one object per size of -a (2 to 16 bytes), nothing else.
        String json = console.run("vmrdma:bench --json -a -m 16 -n 100 read_bw").strip();
        String[] lines = json.split("\\R");
        assertEquals(json, 4, lines.length);
        for (int i = 0; i < lines.length; i++) {
            assertTrue(lines[i], Pattern.matches("\\{\"test\":\"ib_read_bw\",\"bytes\":" + (2 << i)
                    + ",\"iterations\":100,\"bw_peak_mbps\":\\d+\\.\\d\\d,\"bw_avg_mbps\":\\d+\\.\\d\\d,"
                    + "\"msg_rate_mpps\":\\d+\\.\\d{6}\\}", lines[i]));
        }

        // A bench server kept for clients elsewhere; this node's own id reaches it as a peer's would.
        assertFinds(console.run("vmrdma:bench --serve"),
                "bench server vmrdma-bench-serve \\(dom \\d+\\) serving on node "
                        + node.nodeId() + ", service 18515");
        assertRefused("vmrdma:bench --serve", "a bench server already runs on this node");
        assertFinds(console.run("vmrdma:bench --node " + node.nodeId() + " -n 300 write_bw"),
                "server on node " + node.nodeId() + " service 18515\\R", "(?m)^ 65536\\s+300\\s");
        assertFinds(console.run("vmrdma:bench --stop"), "vmrdma-bench-serve \\(dom \\d+\\) stopped; tests served: 1");
        assertFalse(console.run("vmrdma:domains").contains("vmrdma-bench"));
        assertFinds(console.run("vmrdma:bench --help"), "perftest", "--node", "--serve", "--json", "--duration",
                "--qp");
    }

    @Test
    public void typosAreRefusedWithWhatIsAccepted() throws Exception {
        assertRefused("vmrdma:qps 4711", "unknown domain 4711");
        assertRefused("vmrdma:mrs nobody", "unknown domain nobody");
        assertRefused("vmrdma:qps -q 99999999", "a queue pair number is 0 to 16777215");
        assertRefused("vmrdma:qps -q 16777215", "no queue pair 16777215");
        assertRefused("vmrdma:stats -i 0", "-i takes seconds");
        assertRefused("vmrdma:stats -n many", "-n takes a number of rounds");
        assertRefused("vmrdma:rate " + CLIENT + " fast", "fast");
        assertRefused("vmrdma:rate --burst 12Q " + CLIENT + " 100M", "12Q");
        assertRefused("vmrdma:rate --burst 1M " + CLIENT, "--burst comes with a rate");
        assertRefused("vmrdma:weight " + CLIENT + " 0", "1");
        assertRefused("vmrdma:priority " + CLIENT + " 9", "7");
        assertRefused("vmrdma:policy no-such-policy", "no-such-policy");
        assertRefused("vmrdma:guest-create -m 0 tiny", "memory");
        assertRefused("vmrdma:guest-destroy nobody", "no domain named 'nobody'");
        assertRefused("vmrdma:bench -s 12Q", "-s takes a message size of 1 B to 1.00 MiB, such as 4096, 64k or 1m");
        assertRefused("vmrdma:bench -s 2m", "not 2m");
        assertRefused("vmrdma:bench -q 2 write_lat", "-q is for the bandwidth tests");
        assertRefused("vmrdma:bench write", "unknown test write: write_bw, read_bw, write_lat or send_lat");
        assertRefused("vmrdma:bench -n 0", "-n takes iterations from 1 to 100000000, not 0");
        assertRefused("vmrdma:bench -D 5 write_lat", "-D is for the bandwidth tests");
        assertRefused("vmrdma:bench --node 4242", "unknown peer node 4242");
        assertRefused("vmrdma:bench --stop", "no bench server runs on this node");
        // No bench server on this node: the client guest boots, fails to connect, says why and is destroyed.
        assertRefused("vmrdma:bench --node " + node.nodeId() + " -n 10",
                "no bench server answered on node " + node.nodeId() + " service 18515");
        assertFalse(console.run("vmrdma:domains").contains("vmrdma-bench"));
        // The settings in force did not move.
        assertFinds(console.run("vmrdma:weight " + CLIENT), CLIENT + "\\s+\\|\\s+1\\s");
        assertFinds(console.run("vmrdma:policy"), "\\*\\s+\\|\\s+rr\\s");
    }

    @Test
    public void mbeansShowTheNodeDomainsPeersAndScheduler() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        Configuration engine = configurations.getConfiguration("io.vmrdma.engine", null);
        Dictionary<String, Object> before = engine.getProperties();
        Hashtable<String, Object> withPeer = copy(before);
        withPeer.put("peer.4242", "00:7f");
        engine.update(withPeer);
        try {
            await("static peer 4242", () -> peers.byNode(4242).isPresent());
            ObjectName nodeName = new ObjectName("io.vmrdma:type=Node");
            ObjectName scheduler = new ObjectName("io.vmrdma:type=Scheduler");
            ObjectName domain = new ObjectName("io.vmrdma:type=Domain,name=" + CLIENT);
            ObjectName peer = new ObjectName("io.vmrdma:type=Peer,name=4242");
            for (ObjectName name : new ObjectName[] {nodeName, scheduler, domain, peer}) {
                await(name + " registered", () -> server.isRegistered(name));
            }

            assertEquals(node.nodeId(), server.getAttribute(nodeName, "NodeId"));
            assertEquals("loopback", server.getAttribute(nodeName, "NicBinding"));
            assertTrue(String.join(",", (String[]) server.getAttribute(nodeName, "NicCounters"))
                    .matches("dropped=\\d+,broadcastMisses=\\d+"));
            assertTrue((Long) server.getAttribute(nodeName, "RDMA_WRITE_OPS") > 0);
            assertEquals("rr", server.getAttribute(scheduler, "Policy"));
            assertEquals(domains.byName(CLIENT).orElseThrow().domid(), server.getAttribute(domain, "Domid"));
            assertTrue((Long) server.getAttribute(domain, "SEND_OPS") > 0);
            assertEquals(4242, server.getAttribute(peer, "Node"));
            assertEquals("STATIC", server.getAttribute(peer, "Origin"));

            server.setAttribute(domain, new Attribute("Weight", 5));
            assertFinds(console.run("vmrdma:weight " + CLIENT), CLIENT + "\\s+\\|\\s+5\\s");
            try {
                server.setAttribute(domain, new Attribute("Weight", 0));
                fail("weight 0 accepted through JMX");
            } catch (InvalidAttributeValueException expected) {
                assertEquals(5, server.getAttribute(domain, "Weight"));
            }
            server.setAttribute(domain, new Attribute("Weight", 1));
        } finally {
            engine.update(copy(before));
        }
        await("static peer 4242 gone", () -> peers.byNode(4242).isEmpty());
        ObjectName peer = new ObjectName("io.vmrdma:type=Peer,name=4242");
        await("its MBean gone", () -> !server.isRegistered(peer));
    }

    private void assertRefused(String command, String reason) {
        try {
            String out = console.run(command);
            fail(command + " was accepted: " + out);
        } catch (Exception e) {
            String message = String.valueOf(e.getMessage());
            assertTrue(command + " refused with '" + message + "', expected it to mention '" + reason + "'",
                    message.contains(reason));
        }
    }

    private static void assertFinds(String text, String... patterns) {
        for (String pattern : patterns) {
            assertTrue("/" + pattern + "/ not in:\n" + text, Pattern.compile(pattern).matcher(text).find());
        }
    }

    /** The QPN of the first row of a {@code vmrdma:qps} table: domid, device, QPN. */
    private static String firstQpn(String table) {
        java.util.regex.Matcher m = Pattern.compile("^\\s*\\d+\\s+\\|\\s+\\d+\\s+\\|\\s+(\\d+)\\s+\\|",
                Pattern.MULTILINE).matcher(table);
        assertTrue(table, m.find());
        return m.group(1);
    }

    private static Hashtable<String, Object> copy(Dictionary<String, Object> properties) {
        Hashtable<String, Object> copy = new Hashtable<>();
        for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
            String key = keys.nextElement();
            copy.put(key, properties.get(key));
        }
        return copy;
    }

    private static void await(String what, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!condition.call()) {
            assertFalse("timed out waiting for " + what, System.nanoTime() > deadline);
            Thread.sleep(100);
        }
    }
}
