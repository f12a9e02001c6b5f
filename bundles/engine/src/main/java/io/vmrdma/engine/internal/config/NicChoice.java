package io.vmrdma.engine.internal.config;

import java.util.List;
import java.util.Locale;

/**
 * The engine configuration's {@code nic} key: which NIC binding, by the {@code vmrdma.nic.binding} property of its
 * {@code NicPort} service, the engine sends through.
 */
public final class NicChoice {

    /** The bindings vmrdma ships; a typo is refused rather than waited for. */
    static final List<String> BINDINGS = List.of("loopback", "udp", "packet");
    public static final String DEFAULT = "loopback";

    private NicChoice() {
    }

    /**
     * @throws IllegalArgumentException naming the value and the bindings there are
     */
    static String parse(String value) {
        String name = value == null ? DEFAULT : value.trim().toLowerCase(Locale.ROOT);
        if (name.isEmpty()) {
            return DEFAULT;
        }
        if (!BINDINGS.contains(name)) {
            throw new IllegalArgumentException("nic: '" + value + "' is not a NIC binding (one of "
                    + String.join(", ", BINDINGS) + ")");
        }
        return name;
    }
}
