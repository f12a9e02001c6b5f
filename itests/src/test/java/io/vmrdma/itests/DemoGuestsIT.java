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
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.Before;
import org.osgi.service.cm.ConfigurationAdmin;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

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
