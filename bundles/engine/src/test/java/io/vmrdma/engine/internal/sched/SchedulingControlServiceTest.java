package io.vmrdma.engine.internal.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.SchedulingPolicy;
import io.vmrdma.engine.internal.verbs.FallbackScheduler;
import org.junit.jupiter.api.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

class SchedulingControlServiceTest {

    private record Named(String name) implements SchedulingPolicy {
        @Override
        public String description() {
            return name + " policy";
        }

        @Override
        public Scheduler newScheduler(int capacity) {
            return new FallbackScheduler(capacity);
        }
    }

    private final PolicySelector selector = new PolicySelector();
    private final DomainSettingsBook book = new DomainSettingsBook();
    private final Map<String, Dictionary<String, Object>> stored = new HashMap<>();
    private final SchedulingControlService control = new SchedulingControlService(selector, book, configAdmin());

    /** Configuration Admin in memory, delivering each update to the component of that PID as SCR would. */
    private ConfigurationAdmin configAdmin() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("getConfiguration")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    return configuration((String) args[0]);
                });
    }

    private Configuration configuration(String pid) {
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Configuration.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getProperties" -> stored.get(pid);
                    case "update" -> {
                        @SuppressWarnings("unchecked")
                        Dictionary<String, Object> properties = (Dictionary<String, Object>) args[0];
                        stored.put(pid, properties);
                        deliver(pid, properties);
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private void deliver(String pid, Dictionary<String, Object> properties) {
        Map<String, Object> map = new HashMap<>();
        Collections.list(properties.keys()).forEach(key -> map.put(key, properties.get(key)));
        if (pid.equals(SchedulingControlService.DOMAINS_PID)) {
            book.configure(map);
        } else {
            selector.configure((String) map.getOrDefault("policy", "rr"),
                    Boolean.parseBoolean((String) map.getOrDefault("shaper", "false")));
        }
    }

    @Test
    void activatingAnInstalledPolicyUpdatesConfigurationAndPutsItInCharge() throws Exception {
        selector.configure("rr", false);
        selector.add(new Named("rr"));
        selector.add(new Named("drr"));
        Dictionary<String, Object> existing = new Hashtable<>();
        existing.put("policy", "rr");
        existing.put("felix.fileinstall.filename", "file:/etc/io.vmrdma.sched.cfg");
        stored.put(SchedulingControlService.POLICY_PID, existing);

        control.activate("drr");
        control.enableShaper(true);

        assertThat(control.activePolicy()).contains("drr");
        assertThat(control.configuredPolicy()).isEqualTo("drr");
        assertThat(control.shaperEnabled()).isTrue();
        assertThat(control.shaper()).isEmpty();
        assertThat(control.orderingPolicies()).containsEntry("drr", "drr policy").containsKey("rr");
        assertThat(stored.get(SchedulingControlService.POLICY_PID).get("felix.fileinstall.filename"))
                .as("Karaf's link to the etc/ file is kept").isEqualTo("file:/etc/io.vmrdma.sched.cfg");
    }

    @Test
    void aPolicyThatIsNotInstalledIsRefusedAndConfigurationStaysAsItWas() {
        selector.configure("rr", false);
        selector.add(new Named("rr"));
        assertThatIllegalArgumentException().isThrownBy(() -> control.activate("priority"))
                .withMessageContaining("no ordering policy 'priority' is installed (installed: rr)")
                .withMessageContaining("vmrdma-sched-priority");
        assertThat(stored).isEmpty();
    }

    @Test
    void perDomainSettingsAreValidatedWrittenAndInForce() throws Exception {
        book.configure(Map.of());
        assertThat(control.updateWeight("web1", "4").weight()).isEqualTo(4);
        assertThat(control.updatePriority("web1", "2").priority()).isEqualTo(2);
        assertThat(control.updateRate("db", "100M", null).burstBytes()).isEqualTo(1_000_000L);
        assertThat(control.updateRate("db", " 200M ", "4Mi").rateBytesPerSecond()).isEqualTo(200_000_000L);

        assertThat(control.configuredDomains()).containsExactly("db", "web1");
        assertThat(control.settings("web1")).isEqualTo(new DomainSettings(4, 2, 0, 0));
        assertThat(control.settings("db")).isEqualTo(new DomainSettings(1, 4, 200_000_000L, 4L << 20));
        assertThat(control.settings("other")).isEqualTo(DomainSettings.DEFAULTS);
        assertThat(stored.get(SchedulingControlService.DOMAINS_PID).get("db.rate")).isEqualTo("200M");
    }

    @Test
    void anInvalidValueIsRefusedWithAClearMessageAndTheOldSettingsStay() throws Exception {
        control.updateWeight("web1", "4");
        long generation = book.generation();
        assertThatIllegalArgumentException().isThrownBy(() -> control.updateWeight("web1", "0"))
                .withMessage("web1.weight: 0 is out of range; use 1 to 1000");
        assertThatIllegalArgumentException().isThrownBy(() -> control.updateRate("web1", "lots", null))
                .withMessageContaining("'lots' is not a whole number of bytes");
        assertThatIllegalArgumentException().isThrownBy(() -> control.updatePriority("web 1", "2"))
                .withMessageContaining("'web 1' is not a domain name");
        assertThat(control.settings("web1").weight()).isEqualTo(4);
        assertThat(stored.get(SchedulingControlService.DOMAINS_PID).get("web1.weight")).isEqualTo("4");
        assertThat(book.generation()).isEqualTo(generation);
    }

    @Test
    void aBadFileEditIsRefusedByTheBookAndTheSettingsInForceStay() {
        book.configure(Map.of("web1.weight", "3"));
        long generation = book.generation();
        book.configure(Map.of("web1.weight", "3", "web2.wieght", "2"));
        assertThat(book.settings("web1").weight()).isEqualTo(3);
        assertThat(book.table().domains()).containsExactly("web1");
        assertThat(book.generation()).isEqualTo(generation);
    }
}
