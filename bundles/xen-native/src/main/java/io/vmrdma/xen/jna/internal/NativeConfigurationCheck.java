package io.vmrdma.xen.jna.internal;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.service.component.annotations.Component;

/**
 * Vets a new {@code io.vmrdma.xen.native} configuration: {@code enabled} must be {@code auto}, {@code true} or
 * {@code false}, so a typing error keeps the choice in force (a first configuration with another value is taken as
 * auto, with a warning, by {@link XenNativeComponent}).
 */
@Component
public final class NativeConfigurationCheck implements ConfigurationCheck {

    private static final Set<String> CHOICES = Set.of("auto", "true", "false");

    @Override
    public String pid() {
        return XenNativeComponent.PID;
    }

    @Override
    public void check(Map<String, Object> properties) {
        Object enabled = properties.get("enabled");
        if (enabled != null && !CHOICES.contains(enabled.toString().trim().toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("enabled: '" + enabled + "' is not auto, true or false");
        }
    }
}
