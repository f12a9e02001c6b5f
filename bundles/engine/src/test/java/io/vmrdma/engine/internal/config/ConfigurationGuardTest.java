package io.vmrdma.engine.internal.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;

import io.vmrdma.api.ConfigurationCheck;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

class ConfigurationGuardTest {

    private static final String PID = "io.vmrdma.nic.test";

    /** Accepts {@code size} from 1 to 100, as a number or its text. */
    private static final ConfigurationCheck SIZE_CHECK = new ConfigurationCheck() {
        @Override
        public String pid() {
            return PID;
        }

        @Override
        public void check(Map<String, Object> properties) {
            Object size = properties.getOrDefault("size", "10");
            int value;
            try {
                value = Integer.parseInt(size.toString().trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("size: '" + size + "' is not a number");
            }
            if (value < 1 || value > 100) {
                throw new IllegalArgumentException("size: " + value + " is out of range (1 to 100)");
            }
        }
    };

    private final ConfigurationGuard guard = new ConfigurationGuard(admin(null));

    ConfigurationGuardTest() {
        guard.addCheck(SIZE_CHECK);
    }

    /** A Configuration Admin holding {@code inForce} for {@link #PID}, or nothing. */
    private static ConfigurationAdmin admin(Map<String, Object> inForce) {
        Configuration configuration = (Configuration) Proxy.newProxyInstance(Configuration.class.getClassLoader(),
                new Class<?>[] {Configuration.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getProperties")) {
                        return delivery(PID, inForce);
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        return (ConfigurationAdmin) Proxy.newProxyInstance(ConfigurationAdmin.class.getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (proxy, method, args) -> {
                    if (method.getName().equals("listConfigurations")) {
                        return inForce != null && ("(service.pid=" + PID + ")").equals(args[0])
                                ? new Configuration[] {configuration} : null;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void theConfigurationInForceWhenTheCheckArrivesIsKeptAgainstARefusedChange() {
        // The component got size 42 before its bundle's check registered, as at boot.
        ConfigurationGuard late = new ConfigurationGuard(admin(Map.of("size", "42")));
        late.addCheck(SIZE_CHECK);
        Dictionary<String, Object> d = delivery(PID, Map.of("size", "4200"));
        late.modifyConfiguration(null, d);
        assertThat(d.get("size")).isEqualTo("42");
    }

    @Test
    void aRefusedConfigurationInForceIsNotKept() {
        ConfigurationGuard late = new ConfigurationGuard(admin(Map.of("size", "0")));
        late.addCheck(SIZE_CHECK);
        Dictionary<String, Object> d = delivery(PID, Map.of("size", "4200"));
        late.modifyConfiguration(null, d);
        assertThat(d.get("size")).as("nothing accepted to put back").isEqualTo("4200");
    }

    private static Dictionary<String, Object> delivery(String pid, Map<String, Object> settings) {
        Hashtable<String, Object> d = new Hashtable<>(settings);
        d.put(Constants.SERVICE_PID, pid);
        d.put("felix.fileinstall.filename", "file:/opt/vmrdma/etc/" + pid + ".cfg");
        return d;
    }

    @Test
    void anAcceptedConfigurationPassesUnchanged() {
        Dictionary<String, Object> d = delivery(PID, Map.of("size", "42", "name", "eth1"));
        guard.modifyConfiguration(null, d);
        assertThat(Collections.list(d.keys())).hasSize(4);
        assertThat(d.get("size")).isEqualTo("42");
        assertThat(d.get("name")).isEqualTo("eth1");
    }

    @Test
    void aRefusedConfigurationIsReplacedByTheLastAcceptedOneKeepingAdministrativeKeys() {
        guard.modifyConfiguration(null, delivery(PID, Map.of("size", "42", "name", "eth1")));
        Dictionary<String, Object> bad = delivery(PID, Map.of("size", "4200", "mtu", "9000"));
        guard.modifyConfiguration(null, bad);
        assertThat(bad.get("size")).isEqualTo("42");
        assertThat(bad.get("name")).isEqualTo("eth1");
        assertThat(bad.get("mtu")).as("a key only the refused configuration had").isNull();
        assertThat(bad.get(Constants.SERVICE_PID)).isEqualTo(PID);
        assertThat(bad.get("felix.fileinstall.filename")).isEqualTo("file:/opt/vmrdma/etc/" + PID + ".cfg");

        Dictionary<String, Object> notANumber = delivery(PID, Map.of("size", "forty"));
        guard.modifyConfiguration(null, notANumber);
        assertThat(notANumber.get("size")).isEqualTo("42");

        Dictionary<String, Object> fixed = delivery(PID, Map.of("size", 7));
        guard.modifyConfiguration(null, fixed);
        assertThat(fixed.get("size")).isEqualTo(7);
        Dictionary<String, Object> badAgain = delivery(PID, Map.of("size", 0));
        guard.modifyConfiguration(null, badAgain);
        assertThat(badAgain.get("size")).as("the latest accepted, not the first").isEqualTo(7);
    }

    @Test
    void aRefusedFirstConfigurationPassesSoTheComponentRefusesToStart() {
        Dictionary<String, Object> d = delivery(PID, Map.of("size", "0"));
        guard.modifyConfiguration(null, d);
        assertThat(d.get("size")).isEqualTo("0");
    }

    @Test
    void otherPidsAndRemovedChecksAreLeftAlone() {
        guard.modifyConfiguration(null, delivery(PID, Map.of("size", "42")));
        Dictionary<String, Object> other = delivery("io.vmrdma.other", Map.of("size", "4200"));
        guard.modifyConfiguration(null, other);
        assertThat(other.get("size")).isEqualTo("4200");

        guard.removeCheck(SIZE_CHECK);
        Dictionary<String, Object> unchecked = delivery(PID, Map.of("size", "4200"));
        guard.modifyConfiguration(null, unchecked);
        assertThat(unchecked.get("size")).isEqualTo("4200");
    }
}
