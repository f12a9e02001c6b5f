package io.vmrdma.engine.internal.sched;

import java.util.Map;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.service.component.annotations.Component;

/**
 * Vets {@code io.vmrdma.sched.vm} with the settings book's own parse, for the configuration guard and for a cluster
 * node about to send per-VM settings to every host.
 */
@Component
public final class DomainSettingsCheck implements ConfigurationCheck {

    @Override
    public String pid() {
        return "io.vmrdma.sched.vm";
    }

    @Override
    public void check(Map<String, Object> properties) {
        DomainSettingsTable.parse(properties);
    }
}
