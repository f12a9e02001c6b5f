package io.vmrdma.shell.internal;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.TransmitShaper;
import io.vmrdma.api.sched.VmSettings;
import org.apache.karaf.shell.support.table.ShellTable;

/** Renders the scheduling commands' answers: the policy list and a domain's settings. */
final class SchedulingReport {

    /** The ordering policies vmrdma ships, listed even when their bundles are not installed. */
    static final List<String> SHIPPED_POLICIES = List.of("rr", "drr", "priority");

    static final String NO_ENGINE = "The engine is not running (bundle io.vmrdma.engine is not active).";

    private static final String[] DECIMAL_UNITS = {"", "K", "M", "G", "T"};
    private static final String[] BINARY_UNITS = {"", "Ki", "Mi", "Gi", "Ti"};

    private SchedulingReport() {
    }

    static void printPolicies(SchedulingControl control, PrintStream out) {
        Map<String, String> installed = control.orderingPolicies();
        Map<String, String> listed = new TreeMap<>(installed);
        SHIPPED_POLICIES.forEach(name -> listed.putIfAbsent(name, ""));
        Optional<String> active = control.activePolicy();
        String configured = control.configuredPolicy();

        ShellTable table = new ShellTable();
        table.column("");
        table.column("Policy");
        table.column("Kind");
        table.column("Status");
        table.column("Description");
        listed.forEach((name, description) -> {
            String status;
            if (active.isPresent() && active.get().equals(name)) {
                status = "in charge";
            } else if (name.equals(configured)) {
                status = installed.containsKey(name) ? "configured, failed to start (see the log)"
                        : "configured, not installed";
            } else {
                status = installed.containsKey(name) ? "installed" : "not installed";
            }
            table.addRow().addContent(active.map(name::equals).orElse(false) ? "*" : "", name, "ordering", status,
                    description);
        });
        Optional<String> shaper = control.shaper();
        String shaperStatus = (control.shaperEnabled() ? "on" : "off") + (shaper.isPresent() ? "" : ", not installed");
        table.addRow().addContent(control.shaperEnabled() && shaper.isPresent() ? "+" : "", TransmitShaper.NAME,
                "shaper", shaperStatus, shaper.orElse(""));
        table.print(out);
        if (active.isEmpty()) {
            out.println("The built-in round-robin is in charge until '" + configured + "' is installed and starts.");
        }
    }

    static void printSettings(String domainName, VmSettings settings, PrintStream out) {
        ShellTable table = new ShellTable();
        table.column("Domain");
        table.column("Weight");
        table.column("Priority");
        table.column("Rate (bytes/s)");
        table.column("Burst (bytes)");
        table.addRow().addContent(domainName, settings.weight(), settings.priority(),
                settings.rateBytesPerSecond() == 0 ? "none" : quantity(settings.rateBytesPerSecond()),
                settings.rateBytesPerSecond() == 0 ? "-" : quantity(settings.burstBytes()));
        table.print(out);
    }

    /** {@code bytes} in the largest unit that divides it exactly (decimal first, as rates are quoted). */
    static String quantity(long bytes) {
        String decimal = exact(bytes, 1000, DECIMAL_UNITS);
        String binary = exact(bytes, 1024, BINARY_UNITS);
        return binary.length() < decimal.length() ? binary : decimal;
    }

    private static String exact(long bytes, long base, String[] units) {
        int unit = 0;
        long value = bytes;
        while (value != 0 && value % base == 0 && unit < units.length - 1) {
            value /= base;
            unit++;
        }
        return value + units[unit];
    }
}
