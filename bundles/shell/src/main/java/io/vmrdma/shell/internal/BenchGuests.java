package io.vmrdma.shell.internal;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.Hypervisor;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;

/**
 * The guests behind {@code vmrdma:bench}: boots the guest tool's {@code bench serve} and {@code bench run} as
 * simulated domains, follows what each reports under its XenStore subtree {@code data/vmrdma-bench} (state,
 * progress, result rows; the guest tool's {@code BenchReport} writes them) through dom0's own XenStore connection,
 * as dom0 would on real Xen where a guest's output is out of reach, and destroys every domain it booted.
 */
final class BenchGuests implements AutoCloseable {

    static final String SERVER = "vmrdma-bench-server";
    static final String CLIENT = "vmrdma-bench-client";
    /** The one server {@code vmrdma:bench --serve} keeps running for clients on other nodes. */
    static final String SERVE = "vmrdma-bench-serve";
    private static final String REPORT = "data/vmrdma-bench";
    /** C0, DEL and C1 controls (U+009B is a terminal's CSI too) and format characters such as bidi overrides. */
    private static final Pattern CONTROL = Pattern.compile("[\\p{Cc}\\p{Cf}]");
    private static final long MEMORY_BYTES = 64L << 20;
    /** A guest's report changes at least every 100 ms while it measures; this much silence means it hangs. */
    static final long SILENCE_NANOS = TimeUnit.MINUTES.toNanos(5);
    /** Booting a guest JVM and opening its device takes a few seconds, more on a loaded host. */
    static final long BOOT_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** Watch events dropped per look at the report; the bound keeps a flood from holding the loop. */
    private static final int MAX_EVENTS_DROPPED = 4096;

    private final DomainControl toolstack;
    private final XenStore store;
    private final Path jars;
    private final List<Guest> booted = new ArrayList<>();

    /** One booted guest: its domid and name. */
    record Guest(int domid, String name) {
    }

    /** What a guest reported at one moment; null fields were not written (yet). */
    record Report(String state, String progress, String bytes, String error) {
    }

    /** Told of every change while {@link #follow} waits. */
    interface Watcher {
        void changed(Report report);
    }

    BenchGuests(DomainControl toolstack, Hypervisor dom0, Path jars) throws XenException {
        this.toolstack = toolstack;
        this.jars = jars;
        store = dom0.openXenStore();
    }

    /** Creates and starts a domain running the guest tool with {@code arguments}. */
    Guest boot(String name, List<String> arguments) throws XenException {
        if (!Files.isDirectory(jars)) {
            throw new IllegalStateException("the guest tool's jars are missing: " + jars + " (the distribution ships"
                    + " them in lib/guest/)");
        }
        int domid;
        try {
            domid = toolstack.create(name, MEMORY_BYTES);
        } catch (XenException e) {
            if (e.errno() == XenErrno.EEXIST) {
                throw new IllegalStateException("domain " + name + " exists: another vmrdma:bench is running on this"
                        + " node (one at a time; vmrdma:guest-destroy " + name + " if it is left over)");
            }
            throw e;
        }
        Guest guest = new Guest(domid, name);
        booted.add(guest);
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-cp", jars.resolve("*").toString(),
                "io.vmrdma.xen.sim.guest.GuestMain", "io.vmrdma.guest.internal.GuestTool", "bench"));
        command.addAll(arguments);
        toolstack.start(domid, command);
        return guest;
    }

    /**
     * Waits until {@code guest} reports one of {@code states}, telling {@code watcher} of every change, and returns
     * that report. Fails with the guest's reason when it reports {@code failed}, when it ends without reporting,
     * when it stays silent for {@code silenceNanos}; returns null when the thread is interrupted (Ctrl-C).
     */
    Report follow(Guest guest, long silenceNanos, Watcher watcher, String... states) throws XenException {
        String path = home(guest) + "/" + REPORT;
        String token = "bench-" + guest.domid();
        store.watch(path, token);
        try {
            Report last = new Report(null, null, null, null);
            long quietSince = System.nanoTime();
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    // The report is read afresh below, so one event stands for all: drop the others, or a guest
                    // writing without pause would grow dom0's queue of events faster than this loop takes them.
                    if (store.readWatch(POLL_NANOS) != null) {
                        for (int n = 0; n < MAX_EVENTS_DROPPED && store.readWatch(0) != null; n++) {
                            // dropped
                        }
                    }
                } catch (XenException e) {
                    if (Thread.currentThread().isInterrupted()) {
                        return null;
                    }
                    throw e;
                }
                if (!alive(guest)) {
                    throw new IllegalStateException("guest " + guest.name + " (dom " + guest.domid + ") ended before"
                            + " it reported a result; its last state: " + describe(last));
                }
                Report now = report(path);
                if (!now.equals(last)) {
                    last = now;
                    quietSince = System.nanoTime();
                    watcher.changed(now);
                }
                if ("failed".equals(now.state)) {
                    throw new IllegalStateException("the benchmark failed in guest " + guest.name + " (dom "
                            + guest.domid + "): " + now.error);
                }
                for (String state : states) {
                    if (state.equals(now.state)) {
                        return now;
                    }
                }
                if (System.nanoTime() - quietSince > silenceNanos) {
                    throw new IllegalStateException("no word from guest " + guest.name + " (dom " + guest.domid
                            + ") for " + TimeUnit.NANOSECONDS.toSeconds(silenceNanos) + " s; its last state: "
                            + describe(last));
                }
            }
            return null;
        } finally {
            try {
                store.unwatch(path, token);
            } catch (XenException e) {
                // The guest's home may be gone already, and its watch with it.
            }
        }
    }

    /** One value of the guest's report; null when it is not there. */
    String value(Guest guest, String key) throws XenException {
        return read(home(guest) + "/" + REPORT + "/" + key);
    }

    /** A count in the guest's report, {@code 0} to {@code max}; a guest that reports anything else has failed. */
    int count(Guest guest, String key, int max) throws XenException {
        String text = value(guest, key);
        try {
            int n = Integer.parseInt(String.valueOf(text).trim());
            if (n >= 0 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalStateException(guest.name() + " reported " + key + " = '" + text + "', not 0 to " + max);
    }

    /** Leaves {@code guest} running when this closes: the server of {@code vmrdma:bench --serve}. */
    void keep(Guest guest) {
        booted.remove(guest);
    }

    /**
     * Destroys the domains this booted that still exist, whatever happened (Ctrl-C included); throws the first
     * failure, if any, after trying all.
     */
    @Override
    public void close() throws XenException {
        // Ctrl-C interrupts this thread: clear the flag meanwhile, so each guest gets its time to power off.
        boolean interrupted = Thread.interrupted();
        XenException first = null;
        for (Guest guest : booted) {
            if (alive(guest)) {
                try {
                    toolstack.destroy(guest.domid);
                } catch (XenException e) {
                    if (e.errno() != XenErrno.ESRCH) {
                        first = first == null ? e : first;
                    }
                }
            }
        }
        booted.clear();
        store.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (first != null) {
            throw first;
        }
    }

    /** The running domain named {@code name}, if there is one. */
    static Guest find(DomainControl toolstack, String name) {
        return toolstack.list().stream().filter(d -> d.name().equals(name)).findFirst()
                .map(d -> new Guest(d.domid(), d.name())).orElse(null);
    }

    private boolean alive(Guest guest) {
        return toolstack.list().stream().anyMatch(d -> d.domid() == guest.domid && d.name().equals(guest.name));
    }

    private Report report(String path) throws XenException {
        return new Report(read(path + "/state"), read(path + "/progress"), read(path + "/bytes"),
                read(path + "/error"));
    }

    /**
     * A value a guest wrote, for dom0's console: control characters (a terminal's escape sequences among them)
     * become '?'. XenStore itself keeps it under 4 KiB.
     */
    private String read(String path) throws XenException {
        try {
            String text = new String(store.read(XenStore.NO_TRANSACTION, path), StandardCharsets.UTF_8);
            return CONTROL.matcher(text).replaceAll("?");
        } catch (XenException e) {
            if (e.errno() == XenErrno.ENOENT) {
                return null;
            }
            throw e;
        }
    }

    private String home(Guest guest) {
        return store.domainPath(guest.domid);
    }

    private static String describe(Report r) {
        return Objects.requireNonNullElse(r.state, "nothing reported")
                + (r.progress == null ? "" : ", " + r.progress + "/1000 done")
                + (r.error == null ? "" : ", " + r.error);
    }
}
