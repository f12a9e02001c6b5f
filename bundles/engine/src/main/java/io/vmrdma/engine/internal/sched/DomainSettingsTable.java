package io.vmrdma.engine.internal.sched;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.engine.internal.config.ByteQuantity;

/**
 * The per-domain settings of configuration PID {@code io.vmrdma.sched.vm}, validated. Keys are
 * {@code <domain name>.weight}, {@code .priority}, {@code .rate} and {@code .burst}, so settings follow a VM by
 * its name across reboots (its domid changes). A table is built whole or refused whole: one bad key or value
 * refuses the update with every problem named, and the settings in force stay.
 */
final class DomainSettingsTable {

    static final int MAX_WEIGHT = 1000;
    static final long MIN_RATE = 1000;
    static final long MAX_RATE = 1_000_000_000_000L;
    static final long MAX_BURST = 1L << 30;

    static final DomainSettingsTable EMPTY = new DomainSettingsTable(Collections.emptySortedMap());

    private static final Pattern DOMAIN_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final List<String> SETTINGS = List.of("weight", "priority", "rate", "burst");
    /**
     * Keys Configuration Admin, File Install, Karaf's features and DS (component properties, the satisfying
     * condition of DS 1.5) add to the properties a component sees.
     */
    private static final List<String> BOOKKEEPING = List.of("service.", "felix.fileinstall.", "org.apache.karaf.",
            "component.", "osgi.", ":");

    private final SortedMap<String, DomainSettings> byDomain;

    private DomainSettingsTable(SortedMap<String, DomainSettings> byDomain) {
        this.byDomain = byDomain;
    }

    /** The domain names that have settings of their own. */
    SortedSet<String> domains() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(byDomain.keySet()));
    }

    /** The settings in force for {@code domainName}: its own, or the defaults. */
    VmSettings settings(String domainName) {
        return byDomain.getOrDefault(domainName, DomainSettings.DEFAULTS);
    }

    /** Whether {@code name} can carry settings: 1 to 64 letters, digits, '-', '_' or '.'. */
    static void checkDomainName(String name) {
        if (name == null || !DOMAIN_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a domain name: use 1 to 64 letters, digits,"
                    + " '-', '_' or '.'");
        }
    }

    /**
     * Validates configuration properties into a table.
     *
     * @throws IllegalArgumentException naming every key that is unknown or has a value out of range
     */
    static DomainSettingsTable parse(Map<String, ?> properties) {
        Map<String, Map<String, Object>> raw = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, ?> entry : new TreeMap<>(properties).entrySet()) {
            String key = entry.getKey();
            int dot = key.lastIndexOf('.');
            String setting = dot < 0 ? "" : key.substring(dot + 1);
            if (!SETTINGS.contains(setting)) {
                if (BOOKKEEPING.stream().noneMatch(key::startsWith)) {
                    problems.add("unknown key '" + key + "': expected <domain name>." + String.join("|", SETTINGS));
                }
                continue;
            }
            String domain = key.substring(0, dot);
            try {
                checkDomainName(domain);
                raw.computeIfAbsent(domain, d -> new HashMap<>()).put(setting, entry.getValue());
            } catch (IllegalArgumentException e) {
                problems.add(key + ": " + e.getMessage());
            }
        }
        SortedMap<String, DomainSettings> table = new TreeMap<>();
        raw.forEach((domain, values) -> {
            try {
                table.put(domain, settings(domain, values));
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        });
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        return new DomainSettingsTable(table);
    }

    private static DomainSettings settings(String domain, Map<String, Object> values) {
        DomainSettings d = DomainSettings.DEFAULTS;
        int weight = (int) number(domain, "weight", values, d.weight(), 1, MAX_WEIGHT, false);
        int priority = (int) number(domain, "priority", values, d.priority(), 0, VmSettings.LOWEST_PRIORITY, false);
        long rate = number(domain, "rate", values, 0, MIN_RATE, MAX_RATE, true);
        long burst = number(domain, "burst", values, DomainSettings.defaultBurst(rate), 0, MAX_BURST, true);
        return new DomainSettings(weight, priority, rate, burst);
    }

    private static long number(String domain, String setting, Map<String, Object> values, long absent, long min,
                               long max, boolean bytes) {
        Object value = values.get(setting);
        if (value == null) {
            return absent;
        }
        String key = domain + "." + setting;
        String text = value.toString().trim();
        long parsed;
        if (setting.equals("rate") && (text.equals("0") || text.equalsIgnoreCase("none"))) {
            return 0;
        }
        try {
            parsed = bytes ? ByteQuantity.parse(text) : Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": '" + text + "' is not a whole number");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage());
        }
        if (parsed < min || parsed > max) {
            throw new IllegalArgumentException(key + ": " + text + " is out of range; " + range(setting, min, max));
        }
        return parsed;
    }

    private static String range(String setting, long min, long max) {
        return switch (setting) {
            case "rate" -> "use 0 or none for no cap, or 1K to 1T bytes per second";
            case "burst" -> "use 0 to 1Gi bytes";
            default -> "use " + min + " to " + max;
        };
    }
}
