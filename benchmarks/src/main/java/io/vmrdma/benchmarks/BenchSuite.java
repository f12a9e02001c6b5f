package io.vmrdma.benchmarks;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Intra-host bandwidth for {@code ./bench.sh}: in each round, for each size, the engine's RDMA WRITE
 * ({@link IntraNodeWriteBenchmark#rdmaWrite}), the copy of the same bytes ({@link IntraNodeWriteBenchmark#memoryCopy},
 * the one-copy limit) and Aeron IPC ({@link AeronIpcBenchmark#ipcMessage}) run back to back, so vmrdma and its peers
 * are interleaved in time. Writes JSON: per benchmark and size, MiB/s of every measurement iteration of every round,
 * their median, minimum and maximum.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.vmrdma.benchmarks.BenchSuite out.json rounds sizes warmup measure</pre>
 */
public final class BenchSuite {

    private BenchSuite() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int[] sizes = Arrays.stream((args.length > 2 ? args[2] : "64,4096,65536,1048576,4194304").split(","))
                .mapToInt(Integer::parseInt).toArray();
        int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        int measure = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        String[][] benches = {
            {"vmrdma_write", IntraNodeWriteBenchmark.class.getName() + ".rdmaWrite"},
            {"memcpy", IntraNodeWriteBenchmark.class.getName() + ".memoryCopy"},
            {"aeron_ipc", AeronIpcBenchmark.class.getName() + ".ipcMessage"},
        };
        Map<String, Map<Integer, List<Double>>> samples = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (int size : sizes) {
                for (String[] bench : benches) {
                    System.out.printf(Locale.ROOT, "[bench] intra round %d/%d: %s %d B%n", round, rounds, bench[0],
                            size);
                    RunResult result = new Runner(new OptionsBuilder()
                            .include("^" + bench[1].replace(".", "\\.") + "$")
                            .param("size", Integer.toString(size))
                            .forks(1)
                            .warmupIterations(warmup).warmupTime(TimeValue.seconds(1))
                            .measurementIterations(measure).measurementTime(TimeValue.seconds(1))
                            .timeUnit(TimeUnit.SECONDS)
                            .shouldFailOnError(true)
                            .verbosity(org.openjdk.jmh.runner.options.VerboseMode.SILENT)
                            .build()).runSingle();
                    List<Double> list = samples.computeIfAbsent(bench[0], k -> new LinkedHashMap<>())
                            .computeIfAbsent(size, k -> new ArrayList<>());
                    for (BenchmarkResult fork : result.getBenchmarkResults()) {
                        for (IterationResult it : fork.getIterationResults()) {
                            list.add(it.getPrimaryResult().getScore() * size / (1 << 20));
                        }
                    }
                    System.out.printf(Locale.ROOT, "[bench]   %.0f MiB/s (median so far)%n", median(list));
                }
            }
        }
        StringBuilder json = new StringBuilder("{\"rounds\":").append(rounds).append(",\"results\":{");
        boolean firstBench = true;
        for (Map.Entry<String, Map<Integer, List<Double>>> b : samples.entrySet()) {
            json.append(firstBench ? "" : ",").append('"').append(b.getKey()).append("\":{");
            firstBench = false;
            boolean firstSize = true;
            for (Map.Entry<Integer, List<Double>> s : b.getValue().entrySet()) {
                List<Double> v = s.getValue();
                json.append(firstSize ? "" : ",").append(String.format(Locale.ROOT,
                        "\"%d\":{\"median_mib_s\":%.1f,\"min_mib_s\":%.1f,\"max_mib_s\":%.1f,\"samples\":%s}",
                        s.getKey(), median(v), v.stream().mapToDouble(d -> d).min().orElse(0),
                        v.stream().mapToDouble(d -> d).max().orElse(0), list(v)));
                firstSize = false;
            }
            json.append('}');
        }
        json.append("}}\n");
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json, StandardCharsets.UTF_8);
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(d -> d).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String list(List<Double> v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.size(); i++) {
            b.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.1f", v.get(i)));
        }
        return b.append(']').toString();
    }
}
