package io.vmrdma.nic.packet.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Wireshark tools for the dissector test: {@code dumpcap} capturing on an interface inside a network
 * namespace, and {@code tshark} decoding a capture with share/wireshark/vmrdma.lua. Both must be installed
 * (./test.sh installs tshark): a missing tool fails the test.
 */
final class Tshark {

    /** The dissector as the distribution ships it (karaf-assembly's resources become the tar.gz's files). */
    static final Path DISSECTOR = Path.of(System.getProperty("basedir", "."))
            .resolve("../../karaf-assembly/src/main/resources/share/wireshark/vmrdma.lua").normalize();

    private Tshark() {
    }

    /** A dumpcap writing what crosses {@code device} in {@code namespace} to a pcap file. */
    static final class Capture implements AutoCloseable {
        final Path file;
        private final Process process;
        private final StringBuilder errors = new StringBuilder();

        Capture(String namespace, String device, Path file) throws IOException, InterruptedException {
            this.file = file;
            process = new ProcessBuilder("ip", "netns", "exec", namespace, "dumpcap", "-q", "-P", "-i", device, "-w",
                    file.toString()).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String line;
            // dumpcap says "Capturing on 'device'" once its socket is open: from then on nothing is missed.
            while ((line = out.readLine()) != null) {
                errors.append(line).append('\n');
                if (line.contains("Capturing on")) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    break;
                }
            }
            if (line == null || !process.isAlive()) {
                throw new IllegalStateException("dumpcap did not start capturing on " + device + " (is tshark "
                        + "installed? ./test.sh installs it): " + errors);
            }
            Thread drain = new Thread(() -> {
                try {
                    String more;
                    while ((more = out.readLine()) != null) {
                        synchronized (errors) {
                            errors.append(more).append('\n');
                        }
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            }, "dumpcap-output");
            drain.setDaemon(true);
            drain.start();
        }

        /** Lets frames in flight reach the file, then stops dumpcap (SIGTERM: it closes the file cleanly). */
        @Override
        public void close() {
            try {
                Thread.sleep(500);
                process.destroy();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new IllegalStateException("dumpcap did not stop");
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * Runs tshark with the dissector over {@code file} and returns one map per frame of the fields asked for
     * ({@code -T fields}; several occurrences of a field joined by {@code ,}); {@code options} go before the fields.
     */
    static List<Map<String, String>> fields(Path file, List<String> options, String filter, String... fields)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("tshark", "-n", "-X", "lua_script:" + DISSECTOR, "-r",
                file.toString()));
        command.addAll(options);
        if (filter != null) {
            command.addAll(List.of("-Y", filter));
        }
        command.addAll(List.of("-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"));
        for (String field : fields) {
            command.addAll(List.of("-e", field));
        }
        String output = run(command);
        List<Map<String, String>> frames = new ArrayList<>();
        for (String line : output.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] values = line.split("\t", -1);
            if (values.length != fields.length) {
                throw new IllegalStateException("tshark printed " + values.length + " columns, not " + fields.length
                        + ": " + line);
            }
            Map<String, String> frame = new LinkedHashMap<>();
            for (int i = 0; i < fields.length; i++) {
                frame.put(fields[i], values[i]);
            }
            frames.add(frame);
        }
        return frames;
    }

    /** Runs tshark with the dissector over {@code file} with these options and returns what it printed. */
    static String text(Path file, String... options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("tshark", "-n", "-X", "lua_script:" + DISSECTOR, "-r",
                file.toString()));
        command.addAll(List.of(options));
        return run(command);
    }

    /** Copies {@code from} to {@code to} with every frame cut to {@code snaplen} bytes, as {@code dumpcap -s} would. */
    static void cut(Path from, Path to, int snaplen) throws IOException, InterruptedException {
        run(List.of("editcap", "-s", Integer.toString(snaplen), from.toString(), to.toString()));
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        if (!Files.isRegularFile(DISSECTOR)) {
            throw new IllegalStateException("no dissector at " + DISSECTOR);
        }
        Path errors = Files.createTempFile("tshark", ".err");
        try {
            Process process;
            try {
                process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot run " + command.get(0) + " (./test.sh installs it with "
                        + "scripts/ensure-packages.sh tshark)", e);
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(command.get(0) + " did not finish: " + command);
            }
            String stderr = Files.readString(errors);
            // tshark reports errors in Lua scripts on stderr and goes on: a dissector that fails must fail the test.
            if (process.exitValue() != 0 || stderr.contains("Lua") || stderr.contains("rror")) {
                throw new IllegalStateException(command.get(0) + " failed (" + process.exitValue() + "): " + command
                        + "\n"
                        + stderr);
            }
            return output;
        } finally {
            Files.deleteIfExists(errors);
        }
    }
}
