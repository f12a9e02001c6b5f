package io.vmrdma.benchmarks;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link WireLoopbackBenchmark} with the GC profiler and prints, per size, WRITE and READ bandwidth between
 * two engines over the loopback wire, the frame floor of the same run, the ratios, and the bytes allocated per
 * operation.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.vmrdma.benchmarks.WireReport</pre>
 */
public final class WireReport {

    private WireReport() {
    }

    public static void main(String[] args) throws Exception {
        Collection<RunResult> results = new Runner(new OptionsBuilder()
                .include(WireLoopbackBenchmark.class.getName())
                .addProfiler(GCProfiler.class)
                .build()).run();
        Map<Integer, double[]> rows = new TreeMap<>();
        for (RunResult run : results) {
            int size = Integer.parseInt(run.getParams().getParam("size"));
            String name = run.getParams().getBenchmark();
            double[] row = rows.computeIfAbsent(size, k -> new double[5]);
            Result<?> alloc = run.getSecondaryResults().get("gc.alloc.rate.norm");
            double score = run.getPrimaryResult().getScore();
            if (name.endsWith("rdmaWrite")) {
                row[0] = score;
                row[3] = alloc == null ? Double.NaN : alloc.getScore();
            } else if (name.endsWith("rdmaRead")) {
                row[1] = score;
                row[4] = alloc == null ? Double.NaN : alloc.getScore();
            } else {
                row[2] = score;
            }
        }
        System.out.printf("%n%10s %12s %12s %12s %9s %9s %11s %11s%n", "bytes", "write MiB/s", "read MiB/s",
                "floor MiB/s", "wr/floor", "rd/floor", "alloc B/wr", "alloc B/rd");
        for (Map.Entry<Integer, double[]> e : rows.entrySet()) {
            double[] r = e.getValue();
            double mib = e.getKey() / (1024.0 * 1024.0);
            System.out.printf("%10d %12.0f %12.0f %12.0f %9.2f %9.2f %11.1f %11.1f%n", e.getKey(), r[0] * mib,
                    r[1] * mib, r[2] * mib, r[0] / r[2], r[1] / r[2], r[3], r[4]);
        }
        System.out.printf("%nmessage rate at 64 B: %.2f M writes/s, %.2f M reads/s%n",
                rows.getOrDefault(64, new double[5])[0] / 1e6, rows.getOrDefault(64, new double[5])[1] / 1e6);
    }
}
