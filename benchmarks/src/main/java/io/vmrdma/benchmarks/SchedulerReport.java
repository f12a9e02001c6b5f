package io.vmrdma.benchmarks;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link SchedulerDecisionBenchmark} with the GC profiler and prints, per policy and number of backlogged VMs,
 * the nanoseconds per decision, the ratio to rr with as many VMs (measured in the same run), and the bytes
 * allocated per decision.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.vmrdma.benchmarks.SchedulerReport</pre>
 */
public final class SchedulerReport {

    private static final List<String> POLICIES = List.of("rr", "drr", "priority", "shaper");

    private SchedulerReport() {
    }

    public static void main(String[] args) throws Exception {
        Options options = new OptionsBuilder()
                .include(SchedulerDecisionBenchmark.class.getName())
                .addProfiler(GCProfiler.class)
                .build();
        Collection<RunResult> results = new Runner(options).run();
        Map<Integer, Map<String, double[]>> byCount = new TreeMap<>();
        for (RunResult run : results) {
            int vms = Integer.parseInt(run.getParams().getParam("backloggedVms"));
            String policy = run.getParams().getParam("policy");
            Result<?> alloc = run.getSecondaryResults().get("gc.alloc.rate.norm");
            byCount.computeIfAbsent(vms, k -> new TreeMap<>()).put(policy, new double[] {
                run.getPrimaryResult().getScore(), run.getPrimaryResult().getScoreError(),
                alloc == null ? Double.NaN : alloc.getScore()});
        }
        System.out.printf("%n%6s %-9s %12s %10s %10s %12s%n", "VMs", "policy", "ns/decision", "error", "vs rr",
                "alloc B/op");
        byCount.forEach((vms, byPolicy) -> {
            double rr = byPolicy.get("rr")[0];
            for (String policy : POLICIES) {
                double[] r = byPolicy.get(policy);
                System.out.printf("%6d %-9s %12.1f %10.1f %10.2f %12.3f%n", vms, policy, r[0], r[1], r[0] / rr, r[2]);
            }
        });
    }
}
