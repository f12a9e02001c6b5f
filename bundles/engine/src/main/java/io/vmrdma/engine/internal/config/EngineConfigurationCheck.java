package io.vmrdma.engine.internal.config;

import java.util.Map;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.service.component.annotations.Component;
import org.osgi.util.converter.Converters;

/**
 * Vets {@code io.vmrdma.engine} with the engine's own checks before it is delivered, and for anyone about to write it:
 * a cluster node checks a partition or a limit here before it sends it to every host, so no host's engine is handed
 * settings it would refuse, or refuse to start on after a restart.
 */
@Component
public final class EngineConfigurationCheck implements ConfigurationCheck {

    @Override
    public String pid() {
        return "io.vmrdma.engine";
    }

    @Override
    public void check(Map<String, Object> properties) {
        EngineSettings.parse(Converters.standardConverter().convert(Map.of()).to(EngineConfig.class), properties);
    }
}
