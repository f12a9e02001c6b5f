package io.vmrdma.engine.internal.sched;

import java.util.Map;

import io.vmrdma.api.sched.VmSettings;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-VM scheduling settings in force, from configuration PID {@code io.vmrdma.sched.vm} (file
 * {@code etc/io.vmrdma.sched.vm.cfg}), keyed by domain name. An update that does not validate is refused with a
 * warning naming every problem, and the settings in force stay.
 *
 * <p>The data agent's transmit queues answer {@link io.vmrdma.api.sched.TransmitQueue#settings()} from
 * {@link #settings}; when {@link #generation()} moves, the agent tells its scheduler
 * {@link io.vmrdma.api.sched.Scheduler#settingsChanged} for each queue.
 */
@Component(service = DomainSettingsBook.class, configurationPid = "io.vmrdma.sched.vm")
public final class DomainSettingsBook {

    private static final Logger LOG = LoggerFactory.getLogger(DomainSettingsBook.class);

    private volatile DomainSettingsTable table = DomainSettingsTable.EMPTY;
    private volatile long generation;

    @Activate
    @Modified
    void configure(Map<String, Object> properties) {
        try {
            table = DomainSettingsTable.parse(properties);
            generation++;
            LOG.info("per-VM scheduling settings for {} domains in force", table.domains().size());
        } catch (IllegalArgumentException refused) {
            LOG.warn("refused the per-VM scheduling settings (io.vmrdma.sched.vm), the previous ones stay: {}",
                    refused.getMessage());
        }
    }

    /** The settings in force for {@code domainName}: its own, or the defaults. */
    VmSettings settings(String domainName) {
        return table.settings(domainName);
    }

    DomainSettingsTable table() {
        return table;
    }

    /** Moves whenever the settings in force change. */
    long generation() {
        return generation;
    }
}
