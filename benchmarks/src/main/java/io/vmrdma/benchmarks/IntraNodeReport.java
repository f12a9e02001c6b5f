package io.vmrdma.benchmarks;

import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link IntraNodeWriteBenchmark} with the GC profiler and prints, per size, the RDMA WRITE bandwidth, the copy
 * bandwidth measured in the same run, their ratio, and the bytes allocated per write.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.vmrdma.benchmarks.IntraNodeReport</pre>
 */
public final class IntraNodeReport {

    private IntraNodeReport() {
    }

    public static void main(String[] args) throws Exception {
        Options options = new OptionsBuilder()
                .include(IntraNodeWriteBenchmark.class.getName())
                .addProfiler(GCProfiler.class)
                .build();
        Collection<RunResult> results = new Runner(options).run();
        Map<Integer, double[]> bySize = new TreeMap<>();
        for (RunResult run : results) {
            int size = Integer.parseInt(run.getParams().getParam("size"));
            String name = run.getParams().getBenchmark();
            double opsPerSecond = run.getPrimaryResult().getScore();
            double[] row = bySize.computeIfAbsent(size, k -> new double[3]);
            if (name.endsWith("rdmaWrite")) {
                row[0] = opsPerSecond;
                Result<?> alloc = run.getSecondaryResults().get("gc.alloc.rate.norm");
                row[2] = alloc == null ? Double.NaN : alloc.getScore();
            } else {
                row[1] = opsPerSecond;
            }
        }
        System.out.printf("%n%10s %14s %14s %12s %8s %14s%n", "bytes", "write MiB/s", "copy MiB/s", "write Mop/s",
                "ratio", "alloc B/write");
        for (Map.Entry<Integer, double[]> e : bySize.entrySet()) {
            double[] r = e.getValue();
            double mib = e.getKey() / (1024.0 * 1024.0);
            System.out.printf("%10d %14.0f %14.0f %12.3f %8.2f %14.1f%n", e.getKey(), r[0] * mib, r[1] * mib,
                    r[0] / 1e6, r[0] / r[1], r[2]);
        }
    }
}
