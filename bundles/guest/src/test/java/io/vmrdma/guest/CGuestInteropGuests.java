package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.vmrdma.xen.sim.guest.GuestMain;
import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * Guest processes for the C interoperability tests and benchmark: C programs from the native build and Java
 * programs under {@link GuestMain}, each as its own simulated domain started by the toolstack. Output and exit
 * status are kept outside the domain directory (the toolstack removes that directory, console.log with it, when
 * the guest exits).
 */
final class CGuestInteropGuests {

    static final long WAIT = TimeUnit.SECONDS.toNanos(30);

    private final EngineFixture host;
    private final Path logDir;
    private final long memoryBytes;
    private final Map<Integer, Long> pids = new HashMap<>();
    private final Map<Integer, Path> logs = new HashMap<>();

    CGuestInteropGuests(EngineFixture host, Path logDir, long memoryBytes) {
        this.host = host;
        this.logDir = logDir;
        this.memoryBytes = memoryBytes;
    }

    /** A binary of the C build: {@code -Dvmrdma.native.dir}; fails (never skips) when it is missing. */
    static Path nativeBinary(String name) {
        String dir = System.getProperty("vmrdma.native.dir", "../../native/build/plain");
        Path bin = Path.of(dir).toAbsolutePath().normalize().resolve(name);
        if (!Files.isExecutable(bin)) {
            fail("the C guest binary " + bin + " is missing: build native/ first (./test.sh does, or cmake -S native"
                    + " -B native/build/plain && cmake --build native/build/plain), or point -Dvmrdma.native.dir at"
                    + " a build directory");
        }
        return bin;
    }

    /** Runs the command as a guest through a shell that keeps its output and exit status. */
    int start(String name, List<String> command) throws Exception {
        int domid = host.hv.create(name, memoryBytes);
        Path log = logDir.resolve("guest-" + domid + ".log");
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c",
                "\"$@\" >'" + log + "' 2>&1; echo $? >'" + log + ".status'", "sh"));
        cmd.addAll(command);
        logs.put(domid, log);
        pids.put(domid, host.hv.start(domid, cmd));
        return domid;
    }

    /** Runs the command itself as the guest process, so that killing the guest kills it. */
    int startDirect(String name, List<String> command) throws Exception {
        int domid = host.hv.create(name, memoryBytes);
        pids.put(domid, host.hv.start(domid, new ArrayList<>(command)));
        return domid;
    }

    /**
     * Runs {@code command} as one more process inside running domain {@code domid}: it gets the domain's environment,
     * as a program started in a VM shares its kernel; output goes to {@code <logDir>/<name>.log}.
     */
    static Process startIn(EngineFixture host, int domid, Path log, List<String> command) throws Exception {
        Path dir = host.hv.domainDirectory(domid);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put(SimAbi.ENV_DOMAIN_DIR, dir.toString());
        pb.environment().put("XENSTORED_PATH", dir.resolve(SimAbi.SOCKET_XENSTORE).toString());
        return pb.start();
    }

    long pid(int domid) {
        return pids.get(domid);
    }

    /** Waits until the guest's output contains {@code text} (a server announcing it listens). */
    void awaitOutput(int domid, String text) throws Exception {
        long deadline = System.nanoTime() + WAIT;
        while (!output(domid).contains(text)) {
            if (System.nanoTime() > deadline || host.hv.list().stream().noneMatch(d -> d.domid() == domid)) {
                throw new AssertionError("guest " + domid + " never printed \"" + text + "\"; output:\n"
                        + output(domid));
            }
            Thread.sleep(10);
        }
    }

    void awaitGone(int domid) throws Exception {
        long deadline = System.nanoTime() + 4 * WAIT;
        while (host.hv.list().stream().anyMatch(d -> d.domid() == domid)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("guest " + domid + " still running; output:\n" + output(domid));
            }
            Thread.sleep(10);
        }
    }

    /** The exit status of a guest started by {@link #start}, once it is gone; "(none)" if it never came. */
    String exitStatus(int domid) throws Exception {
        Path status = Path.of(logs.get(domid) + ".status");
        long deadline = System.nanoTime() + WAIT;
        while (!Files.exists(status) || Files.readString(status).isBlank()) {
            if (System.nanoTime() > deadline) {
                return "(none)";
            }
            Thread.sleep(10);
        }
        return Files.readString(status).trim();
    }

    String output(int domid) {
        try {
            Path log = logs.get(domid);
            return Files.readString(log != null ? log : host.hv.domainDirectory(domid).resolve(SimAbi.FILE_CONSOLE));
        } catch (Exception e) {
            return "(no output)";
        }
    }
}
