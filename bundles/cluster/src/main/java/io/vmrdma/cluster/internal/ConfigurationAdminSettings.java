package io.vmrdma.cluster.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.Hashtable;
import java.util.Map;

import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The shared settings in Configuration Admin. An update goes through Karaf's configuration save, so what the cluster
 * agreed is in this host's {@code etc/} files too and survives a restart on its own.
 */
final class ConfigurationAdminSettings implements LocalSettings {

    private final ConfigurationAdmin configurations;

    ConfigurationAdminSettings(ConfigurationAdmin configurations) {
        this.configurations = configurations;
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
            Dictionary<String, Object> properties = configuration.getProperties();
            Dictionary<String, Object> updated = new Hashtable<>();
            if (properties != null) {
                for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements(); ) {
                    String key = keys.nextElement();
                    if (!SharedSettings.shared(pid, key)) {
                        updated.put(key, properties.get(key));
                    }
                }
            }
            values.forEach(updated::put);
            configuration.update(updated);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
