package io.vmrdma.xen.sim.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * The processes running "inside" a domain: every process whose environment names the domain's directory in
 * {@link SimAbi#ENV_DOMAIN_DIR}. The toolstack starts the first; the programs it starts inherit the variable, as
 * programs of a VM share its kernel, whoever their parent is now (an orphan whose parent died is still the
 * domain's). Read from {@code /proc}: the simulator runs on Linux only.
 */
final class DomainProcesses {

    private static final Path PROC = Path.of("/proc");

    private DomainProcesses() {
    }

    /** The live processes of the domain whose directory is {@code domainDir}, this JVM excluded. */
    static List<ProcessHandle> of(Path domainDir) {
        String entry = SimAbi.ENV_DOMAIN_DIR + "=" + domainDir;
        long self = ProcessHandle.current().pid();
        List<ProcessHandle> out = new ArrayList<>();
        try (Stream<Path> entries = Files.list(PROC)) {
            for (Path proc : (Iterable<Path>) entries::iterator) {
                long pid = pidOf(proc);
                if (pid > 0 && pid != self && namesDomain(proc.resolve("environ"), entry)) {
                    ProcessHandle.of(pid).filter(ProcessHandle::isAlive).ifPresent(out::add);
                }
            }
        } catch (IOException e) {
            // No /proc: only the process the toolstack started is known.
        }
        return out;
    }

    private static long pidOf(Path proc) {
        String name = proc.getFileName().toString();
        for (int i = 0; i < name.length(); i++) {
            if (!Character.isDigit(name.charAt(i))) {
                return -1;
            }
        }
        return name.isEmpty() || name.length() > 18 ? -1 : Long.parseLong(name);
    }

    /** Whether the NUL-separated environment holds {@code entry} as one whole variable. */
    private static boolean namesDomain(Path environ, String entry) {
        try {
            String env = new String(Files.readAllBytes(environ), StandardCharsets.UTF_8);
            return ("\0" + env + "\0").contains("\0" + entry + "\0");
        } catch (IOException | SecurityException e) {
            return false; // gone meanwhile, or another user's
        }
    }
}
