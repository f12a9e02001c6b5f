package io.vmrdma.engine.internal.config;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationPlugin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a refused configuration from reaching its component: a Configuration Admin plugin that runs every
 * {@link ConfigurationCheck} registered for a PID over the properties about to be delivered. Properties a check
 * accepts pass unchanged and are remembered; properties it refuses are replaced, in the delivery, by the last ones
 * it accepted, so the component keeps (or, when Declarative Services restarts it, gets back) the settings in force.
 * A first configuration that is refused passes unchanged: the component's own checks then keep it from starting,
 * rather than run on defaults the operator did not ask for.
 *
 * <p>A check may register after its component got its configuration (both come up with their bundle, in no set
 * order): the configuration in force then, if the check accepts it, is what is remembered for the PID. Each refusal is
 * logged once per distinct configuration, because Configuration Admin may deliver the same properties again (to a
 * restarted bundle, for one). Ranked 900: after Karaf's interpolation ({@code $[env:...]}, ranked 500), so checks
 * see the values the component will. Immediate: a delayed component would be disposed after each call
 * Configuration Admin makes, and forget what it accepted.
 */
@Component(immediate = true, property = {ConfigurationPlugin.CM_RANKING + ":Integer=900"})
public final class ConfigurationGuard implements ConfigurationPlugin {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigurationGuard.class);
    /** What Configuration Admin adds to every configuration: never vetted, never replaced. */
    private static final List<String> ADMINISTRATIVE = List.of(Constants.SERVICE_PID, "service.factoryPid",
            "service.bundleLocation", "felix.fileinstall.filename", ConfigurationPlugin.CM_TARGET);

    private final ConfigurationAdmin admin;
    private final List<ConfigurationCheck> checks = new CopyOnWriteArrayList<>();
    /** Guarded by this: Configuration Admin and Declarative Services call from their own threads. */
    private final Map<String, Map<String, Object>> accepted = new HashMap<>();
    private final Map<String, Map<String, Object>> lastRefused = new HashMap<>();

    @Activate
    public ConfigurationGuard(@Reference ConfigurationAdmin admin) {
        this.admin = admin;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    synchronized void addCheck(ConfigurationCheck check) {
        checks.add(check);
        String pid = check.pid();
        if (pid == null || accepted.containsKey(pid)) {
            return;
        }
        try {
            Configuration[] inForce = admin.listConfigurations("(" + Constants.SERVICE_PID + "=" + pid + ")");
            Dictionary<String, Object> properties = inForce == null ? null : inForce[0].getProperties();
            if (properties != null) {
                Map<String, Object> settings = settings(properties);
                check.check(Collections.unmodifiableMap(settings));
                accepted.put(pid, settings);
            }
        } catch (IOException | InvalidSyntaxException | IllegalArgumentException e) {
            // Nothing in force that the check accepts: the first configuration it accepts will be.
        }
    }

    void removeCheck(ConfigurationCheck check) {
        checks.remove(check);
    }

    @Override
    public synchronized void modifyConfiguration(ServiceReference<?> reference,
                                                 Dictionary<String, Object> properties) {
        Object pid = properties.get(Constants.SERVICE_PID);
        if (!(pid instanceof String)) {
            return;
        }
        for (ConfigurationCheck check : checks) {
            if (pid.equals(check.pid())) {
                vet((String) pid, check, properties);
            }
        }
    }

    private void vet(String pid, ConfigurationCheck check, Dictionary<String, Object> properties) {
        Map<String, Object> settings = settings(properties);
        try {
            check.check(Collections.unmodifiableMap(settings));
            accepted.put(pid, settings);
            lastRefused.remove(pid);
            return;
        } catch (IllegalArgumentException e) {
            Map<String, Object> previous = accepted.get(pid);
            boolean first = !settings.equals(lastRefused.put(pid, settings));
            if (previous == null) {
                if (first) {
                    LOG.error("configuration {} refused: {}; nothing accepted to keep, so it reaches its component,"
                            + " whose own checks decide", pid, e.getMessage());
                }
                return;
            }
            if (first) {
                LOG.error("configuration {} refused, previous settings stay: {}", pid, e.getMessage());
            }
            for (String key : new ArrayList<>(settings.keySet())) {
                properties.remove(key);
            }
            previous.forEach(properties::put);
        }
    }

    /** The properties less Configuration Admin's own, as a plain map. */
    private static Map<String, Object> settings(Dictionary<String, Object> properties) {
        Map<String, Object> settings = new HashMap<>();
        for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
            String key = keys.nextElement();
            if (!ADMINISTRATIVE.contains(key)) {
                settings.put(key, properties.get(key));
            }
        }
        return settings;
    }
}
