package io.vmrdma.itests;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.DomainState;
import io.vmrdma.api.Node;
import io.vmrdma.api.xen.DomainControl;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Benchmark, not part of ./test.sh: per-VM shares under each scheduler policy, end to end in the distribution.
 * Three guest processes RDMA WRITE 1 MiB blocks into a fourth without pause, so dom0's data agent is the
 * bottleneck and the policy in charge decides who gets it; the engine's per-domain byte counters, sampled here, give
 * each VM's throughput. Policies and per-VM settings are changed through the console, as an operator would. Also
 * measured: how long after {@code vmrdma:policy drr} the weighted shares are in force.
 *
 * <pre>
 * mvn -B -o verify -pl itests -Dit.test=SchedulingSharesBenchIT   (after mvn install of the distribution)
 * </pre>
 * Prints a table and writes {@code itests/target/bench/scheduling.json}.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SchedulingSharesBenchIT {

    private static final long SERVICE = 4711;
    private static final int BLOCK = 1 << 20;
    private static final String[] VMS = {"vm1", "vm2", "vm3"};
    private static final double[] WEIGHTS = {1, 2, 4};
    private static final long SETTLE_MILLIS = 1000;
    private static final long MEASURE_MILLIS = 3000;

    @Inject
    private DomainRegistry domains;

    @Inject
    private DomainControl toolstack;

    @Inject
    private Node node;

    @Inject
    private SessionFactory sessions;

    private final List<Integer> started = new ArrayList<>();
    private final StringBuilder json = new StringBuilder();

    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        return OptionUtils.combine(VmrdmaDistribution.options(),
                systemProperty("vmrdma.bench.out").value(new File("target/bench").getAbsolutePath()));
    }

    @After
    public void destroyGuests() {
        for (int domid : started) {
            try {
                toolstack.destroy(domid);
            } catch (Exception e) {
                // already gone
            }
        }
    }

    @Test
    public void sharesUnderEachPolicy() throws Exception {
        Console console = new Console(sessions);
        boot("sink", "flood", "sink", Long.toString(SERVICE));
        for (String vm : VMS) {
            boot(vm, "flood", "client", Integer.toString(node.nodeId()), Long.toString(SERVICE),
                    Integer.toString(BLOCK));
        }
        awaitAllWriting();
        System.out.println();
        System.out.println("Per-VM shares of dom0's data agent, 3 guests writing 1 MiB blocks without pause"
                + " (" + MEASURE_MILLIS + " ms windows)");
        System.out.printf("%-34s %10s %10s %10s %12s   %s%n", "scenario", "vm1 MiB/s", "vm2 MiB/s", "vm3 MiB/s",
                "total MiB/s", "shares (configured)");

        for (int i = 0; i < VMS.length; i++) {
            console.run("vmrdma:weight " + VMS[i] + " 1");
            console.run("vmrdma:priority " + VMS[i] + " 4");
        }
        activate(console, "rr");
        double[] rr = measure("rr", null);
        activate(console, "drr");
        double[] equal = measure("drr, weights 1:1:1", new double[] {1, 1, 1});
        for (int i = 0; i < VMS.length; i++) {
            console.run("vmrdma:weight " + VMS[i] + " " + (int) WEIGHTS[i]);
        }
        double[] weighted = measure("drr, weights 1:2:4", WEIGHTS);
        console.run("vmrdma:priority vm3 0");
        activate(console, "priority");
        double[] priority = measure("priority, vm3 level 0, others 4", null);
        activate(console, "rr");
        console.run("vmrdma:policy shaper on");
        console.run("vmrdma:rate --burst 4Mi vm3 300M");
        double[] shaped = measure("rr + shaper, vm3 capped 300 MB/s", null);
        console.run("vmrdma:policy shaper off");
        long swapMillis = swapToWeighted(console);

        double jainRr = jain(rr);
        double jainEqual = jain(equal);
        double errPp = maxErrorPercentagePoints(weighted, WEIGHTS);
        double errPct = maxRelativeErrorPercent(weighted, WEIGHTS);
        System.out.printf(Locale.ROOT, "Jain's index, rr %.4f, drr equal weights %.4f; drr 1:2:4 worst share error"
                + " %.1f percentage points (%.1f %% of the configured share); vm3 under the 300 MB/s cap: %.0f MB/s;"
                + " drr's shares in force %d ms after the swap (200 ms windows)%n", jainRr, jainEqual, errPp, errPct,
                shaped[2] * (1 << 20) / 1e6, swapMillis);
        json.append(String.format(Locale.ROOT, "\"jain_rr\":%.4f,\"jain_equal_weights\":%.4f,"
                + "\"weighted_share_max_err_pp\":%.2f,\"weighted_share_max_err_pct\":%.2f,"
                + "\"shaped_vm3_mb_s\":%.1f,\"swap_ms\":%d", jainRr, jainEqual, errPp, errPct,
                shaped[2] * (1 << 20) / 1e6, swapMillis));
        String out = System.getProperty("vmrdma.bench.out");
        if (out != null) {
            Files.createDirectories(Path.of(out));
            Files.writeString(Path.of(out, "scheduling.json"), "{" + json + "}\n", StandardCharsets.UTF_8);
        }
        assertTrue("every VM moved data under every policy", min(rr) > 0 && min(weighted) > 0 && min(shaped) > 0
                && min(priority) > 0);
    }

    private void boot(String name, String... toolArguments) throws Exception {
        int domid = toolstack.create(name, 64L << 20);
        started.add(domid);
        Path jars = Path.of(System.getProperty("karaf.home"), "lib", "guest");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", jars.resolve("*").toString(),
                "io.vmrdma.xen.sim.guest.GuestMain", "io.vmrdma.guest.internal.GuestTool"));
        command.addAll(List.of(toolArguments));
        toolstack.start(domid, command);
    }

    private void awaitAllWriting() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            boolean all = true;
            for (String vm : VMS) {
                Optional<Domain> d = domains.byName(vm);
                all &= d.isPresent() && d.get().state() == DomainState.CONNECTED
                        && d.get().counter(Counter.RDMA_WRITE_OPS) > 100;
            }
            if (all) {
                return;
            }
            assertFalse("the flood guests did not start writing in 120 s", System.nanoTime() > deadline);
            Thread.sleep(100);
        }
    }

    private void activate(Console console, String policy) throws Exception {
        console.run("vmrdma:policy " + policy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!node.activePolicy().equals(Optional.of(policy))) {
            assertFalse("policy " + policy + " not in charge", System.nanoTime() > deadline);
            Thread.sleep(20);
        }
    }

    /** Each VM's MiB/s over a window after a settling pause; prints a row and adds it to the JSON. */
    private double[] measure(String scenario, double[] configured) throws Exception {
        Thread.sleep(SETTLE_MILLIS);
        long[] before = bytes();
        long start = System.nanoTime();
        Thread.sleep(MEASURE_MILLIS);
        long[] after = bytes();
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] rates = new double[VMS.length];
        double total = 0;
        for (int i = 0; i < VMS.length; i++) {
            rates[i] = (after[i] - before[i]) / seconds / (1 << 20);
            total += rates[i];
        }
        StringBuilder shares = new StringBuilder();
        double weightSum = configured == null ? 0 : sum(configured);
        for (int i = 0; i < VMS.length; i++) {
            shares.append(String.format(Locale.ROOT, "%.3f", rates[i] / total));
            if (configured != null) {
                shares.append(String.format(Locale.ROOT, " (%.3f)", configured[i] / weightSum));
            }
            shares.append(i + 1 < VMS.length ? ", " : "");
        }
        System.out.printf(Locale.ROOT, "%-34s %10.0f %10.0f %10.0f %12.0f   %s%n", scenario, rates[0], rates[1],
                rates[2], total, shares);
        json.append(String.format(Locale.ROOT, "\"%s\":[%.1f,%.1f,%.1f],", key(scenario), rates[0], rates[1],
                rates[2]));
        return rates;
    }

    /**
     * From equal shares (rr) to drr with weights 1:2:4: the time from the console command until the shares of every
     * following 200 ms window stay within 5 percentage points of the configured ones, three windows in a row.
     */
    private long swapToWeighted(Console console) throws Exception {
        activate(console, "rr");
        Thread.sleep(SETTLE_MILLIS);
        long t0 = System.nanoTime();
        console.run("vmrdma:policy drr");
        long[] last = bytes();
        int good = 0;
        long firstGood = -1;
        while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
            Thread.sleep(200);
            long[] now = bytes();
            double[] rates = new double[VMS.length];
            for (int i = 0; i < VMS.length; i++) {
                rates[i] = now[i] - last[i];
            }
            last = now;
            if (maxErrorPercentagePoints(rates, WEIGHTS) <= 5) {
                if (good++ == 0) {
                    firstGood = System.nanoTime();
                }
                if (good == 3) {
                    // The window that first showed the shares ended at firstGood; it started 200 ms before.
                    return Math.max(0, TimeUnit.NANOSECONDS.toMillis(firstGood - t0) - 200);
                }
            } else {
                good = 0;
            }
        }
        return -1;
    }

    private long[] bytes() {
        long[] b = new long[VMS.length];
        for (int i = 0; i < VMS.length; i++) {
            b[i] = domains.byName(VMS[i]).map(d -> d.counter(Counter.RDMA_WRITE_BYTES)).orElse(0L);
        }
        return b;
    }

    private static String key(String scenario) {
        return scenario.replaceAll("[^A-Za-z0-9]+", "_").replaceAll("_+$", "").toLowerCase(Locale.ROOT);
    }

    static double jain(double[] x) {
        double s = sum(x);
        double sq = 0;
        for (double v : x) {
            sq += v * v;
        }
        return s * s / (x.length * sq);
    }

    static double maxErrorPercentagePoints(double[] rates, double[] weights) {
        double total = sum(rates);
        double w = sum(weights);
        double worst = 0;
        for (int i = 0; i < rates.length; i++) {
            worst = Math.max(worst, Math.abs(rates[i] / total - weights[i] / w) * 100);
        }
        return worst;
    }

    static double maxRelativeErrorPercent(double[] rates, double[] weights) {
        double total = sum(rates);
        double w = sum(weights);
        double worst = 0;
        for (int i = 0; i < rates.length; i++) {
            double target = weights[i] / w;
            worst = Math.max(worst, Math.abs(rates[i] / total - target) / target * 100);
        }
        return worst;
    }

    private static double sum(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v;
        }
        return s;
    }

    private static double min(double[] x) {
        double m = Double.MAX_VALUE;
        for (double v : x) {
            m = Math.min(m, v);
        }
        return m;
    }
}
