package io.vmrdma.metrics.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The checked form of {@link MetricsConfig}: an address literal (never a name to look up: configuration must not
 * wait on DNS) and a port in range.
 */
record MetricsSettings(boolean enabled, InetAddress bind, int port) {

    static final String DEFAULT_BIND = "127.0.0.1";
    static final int DEFAULT_PORT = 9464;

    MetricsSettings {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("metrics port: " + port + " is out of range (1 to 65535)");
        }
    }

    static MetricsSettings from(MetricsConfig config) {
        return new MetricsSettings(config.enabled(), literal(config.bind()), config.port());
    }

    static InetAddress literal(String text) {
        String address = text == null ? "" : text.trim();
        boolean ipv4 = address.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean ipv6 = address.contains(":") && address.matches("[0-9A-Fa-f:.]+(%[\\w.-]+)?");
        if (!ipv4 && !ipv6) {
            throw new IllegalArgumentException("metrics bind: '" + text + "' is not an IP address literal "
                    + "(such as 127.0.0.1, 0.0.0.0 or ::1)");
        }
        try {
            return InetAddress.getByName(address); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("metrics bind: '" + text + "' is not an IP address: " + e.getMessage());
        }
    }
}
