package io.vmrdma.cluster.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The shared settings in Configuration Admin. An update goes through Karaf's configuration save, so what the cluster
 * agreed is in this host's {@code etc/} files too and survives a restart on its own.
 */
final class ConfigurationAdminSettings implements LocalSettings {

    private final ConfigurationAdmin configurations;
    private final List<ConfigurationCheck> checks;

    /** @param checks the configuration checks registered now, a live list */
    ConfigurationAdminSettings(ConfigurationAdmin configurations, List<ConfigurationCheck> checks) {
        this.configurations = configurations;
        this.checks = checks;
    }

    @Override
    public Map<String, String> shared(String pid) {
        try {
            return SharedSettings.of(pid, configurations.getConfiguration(pid, "?").getProperties());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void replaceShared(String pid, Map<String, String> values) {
        try {
            Configuration configuration = configurations.getConfiguration(pid, "?");
            configuration.update(new Hashtable<>(withShared(configuration.getProperties(), pid, values)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String refusal(String pid, Map<String, String> values) {
        Map<String, Object> properties;
        try {
            properties = withShared(configurations.getConfiguration(pid, "?").getProperties(), pid, values);
        } catch (IOException e) {
            return e.toString();
        }
        for (ConfigurationCheck check : checks) {
            if (pid.equals(check.pid())) {
                try {
                    check.check(properties);
                } catch (IllegalArgumentException refused) {
                    return refused.getMessage();
                }
            }
        }
        return null;
    }

    /** The local keys of {@code properties} with {@code values} as the shared ones. */
    private static Map<String, Object> withShared(Dictionary<String, Object> properties, String pid,
                                                  Map<String, String> values) {
        Map<String, Object> merged = new HashMap<>();
        if (properties != null) {
            for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
                String key = keys.nextElement();
                if (!SharedSettings.shared(pid, key)) {
                    merged.put(key, properties.get(key));
                }
            }
        }
        merged.putAll(values);
        return merged;
    }
}
