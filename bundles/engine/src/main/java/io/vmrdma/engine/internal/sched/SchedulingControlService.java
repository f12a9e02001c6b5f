package io.vmrdma.engine.internal.sched;

import java.io.IOException;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;

import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.api.sched.TransmitShaper;
import io.vmrdma.api.sched.VmSettings;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The console's handle on scheduling. Changes are validated here, before anything is written, then stored through
 * Configuration Admin (so Karaf persists them in {@code etc/}) and applied by {@link PolicySelector} and
 * {@link DomainSettingsBook} when the configuration arrives.
 */
@Component(service = SchedulingControl.class)
public final class SchedulingControlService implements SchedulingControl {

    static final String POLICY_PID = "io.vmrdma.sched";
    static final String DOMAINS_PID = "io.vmrdma.sched.vm";

    private final PolicySelector policies;
    private final DomainSettingsBook book;
    private final ConfigurationAdmin configurations;

    @Activate
    public SchedulingControlService(@Reference PolicySelector policies, @Reference DomainSettingsBook book,
                                    @Reference ConfigurationAdmin configurations) {
        this.policies = policies;
        this.book = book;
        this.configurations = configurations;
    }

    @Override
    public SortedMap<String, String> orderingPolicies() {
        return policies.available();
    }

    @Override
    public Optional<String> shaper() {
        return policies.shaper().map(TransmitShaper::description);
    }

    @Override
    public String configuredPolicy() {
        return policies.configured();
    }

    @Override
    public Optional<String> activePolicy() {
        return policies.active().map(SchedulingPolicy::name);
    }

    @Override
    public boolean shaperEnabled() {
        return policies.shaperEnabled();
    }

    @Override
    public void activate(String policy) throws IOException {
        SortedMap<String, String> installed = policies.available();
        if (!installed.containsKey(policy)) {
            throw new IllegalArgumentException("no ordering policy '" + policy + "' is installed (installed: "
                    + String.join(", ", installed.keySet()) + "); install its bundle first, e.g. feature:install"
                    + " vmrdma-sched-" + policy);
        }
        update(POLICY_PID, Map.of("policy", policy));
    }

    @Override
    public void enableShaper(boolean on) throws IOException {
        update(POLICY_PID, Map.of("shaper", Boolean.toString(on)));
    }

    @Override
    public SortedSet<String> configuredDomains() {
        return book.table().domains();
    }

    @Override
    public VmSettings settings(String domainName) {
        DomainSettingsTable.checkDomainName(domainName);
        return book.settings(domainName);
    }

    @Override
    public VmSettings updateWeight(String domainName, String weight) throws IOException {
        return updateDomain(domainName, Map.of("weight", weight));
    }

    @Override
    public VmSettings updatePriority(String domainName, String level) throws IOException {
        return updateDomain(domainName, Map.of("priority", level));
    }

    @Override
    public VmSettings updateRate(String domainName, String rate, String burst) throws IOException {
        Map<String, String> values = new HashMap<>();
        values.put("rate", rate);
        if (burst != null) {
            values.put("burst", burst);
        }
        return updateDomain(domainName, values);
    }

    /** Validates the domains' settings with the change merged in before anything is written. */
    private VmSettings updateDomain(String domainName, Map<String, String> values) throws IOException {
        DomainSettingsTable.checkDomainName(domainName);
        Configuration configuration = configurations.getConfiguration(DOMAINS_PID, "?");
        Dictionary<String, Object> merged = merge(configuration, values, domainName + ".");
        DomainSettingsTable table = DomainSettingsTable.parse(asMap(merged));
        configuration.update(merged);
        return table.settings(domainName);
    }

    private void update(String pid, Map<String, String> values) throws IOException {
        Configuration configuration = configurations.getConfiguration(pid, "?");
        configuration.update(merge(configuration, values, ""));
    }

    private static Dictionary<String, Object> merge(Configuration configuration, Map<String, String> values,
                                                    String keyPrefix) {
        Dictionary<String, Object> properties = configuration.getProperties();
        Dictionary<String, Object> merged = new Hashtable<>();
        if (properties != null) {
            for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
                String key = keys.nextElement();
                merged.put(key, properties.get(key));
            }
        }
        values.forEach((key, value) -> merged.put(keyPrefix + key, value.trim()));
        return merged;
    }

    private static Map<String, Object> asMap(Dictionary<String, Object> dictionary) {
        Map<String, Object> map = new HashMap<>();
        for (Enumeration<String> keys = dictionary.keys(); keys.hasMoreElements();) {
            String key = keys.nextElement();
            map.put(key, dictionary.get(key));
        }
        return Collections.unmodifiableMap(map);
    }
}
