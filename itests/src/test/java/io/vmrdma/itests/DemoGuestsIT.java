package io.vmrdma.itests;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Hashtable;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import javax.inject.Inject;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.DomainState;
import io.vmrdma.api.Node;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The embedded default as ./run.sh starts it: two demo guests, separate processes on the simulated hypervisor,
 * connect through the dom0 backend and exchange every verb (WRITE, WRITE WITH IMM, READ, SEND) through the engine;
 * the console shows them moving data, and
 * scheduler policies can be swapped under that traffic.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DemoGuestsIT {

    @Inject
    private DomainRegistry domains;

    @Inject
    private SessionFactory sessions;

    @Inject
    private Node node;

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurations;

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return VmrdmaDistribution.options();
    }

    /**
     * Switches the demo on through configuration, as ./run.sh does through a framework property, but only once the
     * test runs: two guest JVMs starting while the container is still being provisioned would slow that down.
     */
    @Before
    public void demoOn() throws Exception {
        org.osgi.service.cm.Configuration demo = configurations.getConfiguration("io.vmrdma.demo", null);
        if (demo.getProperties() == null || !"true".equals(String.valueOf(demo.getProperties().get("enabled")))) {
            demo.update(new Hashtable<>(Map.of("enabled", "true")));
        }
    }

    @Test
    public void twoGuestProcessesExchangeTrafficThroughTheEngine() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!(moving("demo-server") && moving("demo-client"))) {
            assertFalse("demo guests did not exchange traffic in 90 s", System.nanoTime() > deadline);
            Thread.sleep(200);
        }
        String table = new Console(sessions).run("vmrdma:domains");
        assertTrue(table, Pattern.compile("demo-server\\s+\\|.*CONNECTED").matcher(table).find());
        assertTrue(table, Pattern.compile("demo-client\\s+\\|.*CONNECTED").matcher(table).find());
    }

    /**
     * Policies activated, stopped, uninstalled and reinstalled while the guests talk: traffic keeps flowing after every
     * step, and the client, which checks every echo byte for byte and exits on a difference, stays connected.
     */
    @Test
    public void policiesSwapUnderTrafficAndNothingIsLostOrChanged() throws Exception {
        awaitTraffic("before any swap");
        Console console = new Console(sessions);
        console.run("vmrdma:policy drr");
        awaitPolicy("drr");
        awaitTraffic("after activating drr");

        Bundle drr = bundle("io.vmrdma.sched.drr");
        drr.stop();
        awaitPolicy(null);
        awaitTraffic("with drr stopped (built-in round-robin)");
        drr.start();
        awaitPolicy("drr");

        console.run("vmrdma:policy priority");
        awaitPolicy("priority");
        Bundle priority = bundle("io.vmrdma.sched.priority");
        String location = priority.getLocation();
        int level = priority.adapt(BundleStartLevel.class).getStartLevel();
        priority.uninstall();
        awaitPolicy(null);
        awaitTraffic("with priority uninstalled");
        Bundle again = context.installBundle(location);
        again.adapt(BundleStartLevel.class).setStartLevel(level);
        again.start();
        awaitPolicy("priority");
        awaitTraffic("after reinstalling priority");

        console.run("vmrdma:policy rr");
        awaitPolicy("rr");
        awaitTraffic("back on rr");
        assertTrue("the client saw every echo intact", domains.byName("demo-client")
                .map(d -> d.state() == DomainState.CONNECTED).orElse(false));
    }

    /**
     * The Prometheus endpoint, enabled through configuration during traffic: a scrape's byte counters for a guest lie
     * between what the engine counted just before and just after it, and so does the total {@code vmrdma:stats}
     * prints; the node's counters, the drops by cause and the node's facts are there.
     */
    @Test
    public void aPrometheusScrapeAddsUpWithTheConsole() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        org.osgi.service.cm.Configuration metrics = configurations.getConfiguration("io.vmrdma.metrics", null);
        metrics.update(new Hashtable<>(Map.of("enabled", "true", "bind", "127.0.0.1", "port", Integer.toString(port))));
        awaitTraffic("before the scrape");

        Console console = new Console(sessions);
        long before = outBytes("demo-client");
        String stats = console.run("vmrdma:stats -i 0.2 -n 1");
        String text = scrape(port);
        long after = outBytes("demo-client");

        long scraped = 0;
        for (String counter : new String[] {"send_bytes", "rdma_write_bytes", "rdma_read_bytes"}) {
            scraped += (long) value(text, "vmrdma_domain_" + counter + "_total{domain=\"demo-client\",");
        }
        assertTrue("scraped " + scraped + " not within [" + before + ", " + after + "]",
                before <= scraped && scraped <= after);
        java.util.regex.Matcher total =
                Pattern.compile("demo-client\\s+\\|(?:[^|]*\\|){7}\\s*([0-9.]+) (B|KiB|MiB|GiB)")
                        .matcher(stats);
        assertTrue(stats, total.find());
        double unit = Math.pow(1024, java.util.List.of("B", "KiB", "MiB", "GiB").indexOf(total.group(2)));
        double shown = Double.parseDouble(total.group(1)) * unit;
        assertTrue("vmrdma:stats shows " + shown + " B out, the engine counted " + before + " to " + after,
                shown >= before * 0.99 - unit && shown <= after * 1.01 + unit);
        assertTrue(text, value(text, "vmrdma_node_rdma_write_bytes_total ") > 0);
        assertTrue(text, text.contains("vmrdma_frame_drops_total{cause=\"header_crc\"}"));
        assertTrue(text, text.contains("nic=\"loopback\""));
        metrics.update(new Hashtable<>(Map.of("enabled", "false")));
    }

    private long outBytes(String name) {
        Domain d = domains.byName(name).orElseThrow();
        return d.counter(Counter.SEND_BYTES) + d.counter(Counter.RDMA_WRITE_BYTES) + d.counter(Counter.RDMA_READ_BYTES);
    }

    /** Scrapes the endpoint, waiting for it to come up after the configuration change. */
    private static String scrape(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                java.net.HttpURLConnection http = (java.net.HttpURLConnection) new java.net.URL(
                        "http://127.0.0.1:" + port + "/metrics").openConnection();
                try (java.io.InputStream in = http.getInputStream()) {
                    return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                }
            } catch (java.io.IOException e) {
                assertFalse("no metrics endpoint on port " + port + ": " + e, System.nanoTime() > deadline);
                Thread.sleep(100);
            }
        }
    }

    /** The value of the first sample line starting with {@code prefix}. */
    private static double value(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).findFirst()
                .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .orElseThrow(() -> new AssertionError("no sample " + prefix + " in\n" + text));
    }

    private void awaitTraffic(String when) throws InterruptedException {
        long start = domains.byName("demo-client").map(d -> d.counter(Counter.SEND_OPS)).orElse(0L);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (domains.byName("demo-client").map(d -> d.counter(Counter.SEND_OPS)).orElse(0L) < start + 20) {
            assertFalse("no traffic " + when, System.nanoTime() > deadline);
            Thread.sleep(50);
        }
    }

    private void awaitPolicy(String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!node.activePolicy().equals(Optional.ofNullable(name))) {
            assertFalse("policy " + name + " not in charge: " + node.activePolicy(), System.nanoTime() > deadline);
            Thread.sleep(20);
        }
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("bundle not installed: " + symbolicName);
    }

    private boolean moving(String name) {
        Optional<Domain> domain = domains.byName(name);
        return domain.isPresent() && domain.get().state() == DomainState.CONNECTED
                && domain.get().counter(Counter.SEND_OPS) > 10 && domain.get().counter(Counter.RECV_OPS) > 10
                && (name.equals("demo-server") || domain.get().counter(Counter.RDMA_WRITE_OPS) > 10
                        && domain.get().counter(Counter.RDMA_READ_OPS) > 10);
    }
}
