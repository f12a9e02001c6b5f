package io.vmrdma.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.inject.Inject;

import io.vmrdma.api.Node;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * The distribution as an operator meets it: every vmrdma bundle active, {@code vmrdma:status} answering with the
 * node's four facts, and component bundles that can be stopped and started while the engine keeps running.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DistributionIT {

    private static final List<String> BUNDLES = List.of("io.vmrdma.api", "io.vmrdma.engine",
            "io.vmrdma.nic.loopback", "io.vmrdma.xen.sim", "io.vmrdma.sched.rr", "io.vmrdma.sched.drr",
            "io.vmrdma.sched.priority",
            "io.vmrdma.sched.shaper", "io.vmrdma.shell", "io.vmrdma.demo");

    @Inject
    private BundleContext context;

    @Inject
    private SessionFactory sessions;

    @Inject
    private Node node;

    @Configuration
    public Option[] config() {
        return VmrdmaDistribution.options();
    }

    @Test
    public void everyVmrdmaBundleIsActive() {
        for (String name : BUNDLES) {
            assertEquals(name + " state", Bundle.ACTIVE, bundle(name).getState());
        }
    }

    @Test
    public void statusPrintsNodeNicXenAndPolicy() throws Exception {
        String out = new Console(sessions).run("vmrdma:status");
        assertMatches(out, "Node id\\s+\\|\\s+1\\b");
        assertMatches(out, "NIC binding\\s+\\|\\s+loopback");
        assertMatches(out, "Xen backend\\s+\\|\\s+sim");
        assertMatches(out, "Policy\\s+\\|\\s+rr");
        for (String name : BUNDLES) {
            assertMatches(out, Pattern.quote(name) + "\\s+\\|\\s+Active");
        }
    }

    @Test
    public void theNicBindingCanBeStoppedAndStartedUnderARunningEngine() throws Exception {
        Bundle engine = bundle("io.vmrdma.engine");
        Bundle nic = bundle("io.vmrdma.nic.loopback");
        nic.stop();
        try {
            await("NIC binding gone", () -> node.nicBinding().isEmpty());
            assertMatches(new Console(sessions).run("vmrdma:status"), "NIC binding\\s+\\|\\s+none");
            assertEquals(Bundle.ACTIVE, engine.getState());
        } finally {
            nic.start();
        }
        await("NIC binding back", () -> node.nicBinding().equals(Optional.of("loopback")));
        assertMatches(new Console(sessions).run("vmrdma:status"), "NIC binding\\s+\\|\\s+loopback");
    }

    @Test
    public void thePolicyBundleCanBeUninstalledAndReinstalled() throws Exception {
        Bundle policy = bundle("io.vmrdma.sched.rr");
        String location = policy.getLocation();
        int startLevel = policy.adapt(org.osgi.framework.startlevel.BundleStartLevel.class).getStartLevel();
        policy.uninstall();
        await("policy gone", () -> node.activePolicy().isEmpty());
        assertMatches(new Console(sessions).run("vmrdma:status"), "Policy\\s+\\|\\s+built-in round-robin \\(fallback");

        Bundle again = context.installBundle(location);
        again.adapt(org.osgi.framework.startlevel.BundleStartLevel.class).setStartLevel(startLevel);
        again.start();
        await("policy back", () -> node.activePolicy().equals(Optional.of("rr")));
        assertEquals(Bundle.ACTIVE, bundle("io.vmrdma.engine").getState());
    }

    @Test
    public void theShellCanBeRestartedAndItsCommandsReturn() throws Exception {
        Bundle shell = bundle("io.vmrdma.shell");
        shell.stop();
        shell.start();
        await("status command back", () -> {
            try {
                return new Console(sessions).run("vmrdma:status").contains("NIC binding");
            } catch (Exception notYet) {
                return false;
            }
        });
    }

    @Test
    public void theLogHasNoErrors() throws Exception {
        Path log = Path.of(System.getProperty("karaf.log"), "karaf.log");
        List<String> lines = Files.readAllLines(log);
        assertTrue("karaf.log does not show the engine starting", lines.stream()
                .anyMatch(line -> line.contains("vmrdma node 1 started")));
        List<String> errors = lines.stream()
                .filter(line -> line.contains("| ERROR |"))
                .collect(Collectors.toList());
        assertTrue("errors in karaf.log:\n" + String.join("\n", errors), errors.isEmpty());
    }

    private Bundle bundle(String symbolicName) {
        return Arrays.stream(context.getBundles())
                .filter(b -> symbolicName.equals(b.getSymbolicName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("bundle not installed: " + symbolicName));
    }

    private static void assertMatches(String text, String regex) {
        assertTrue("expected /" + regex + "/ in:\n" + text, Pattern.compile(regex).matcher(text).find());
    }

    private static void await(String what, Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.get()) {
            assertFalse("timed out waiting for: " + what, System.nanoTime() > deadline);
            Thread.sleep(20);
        }
    }
}
