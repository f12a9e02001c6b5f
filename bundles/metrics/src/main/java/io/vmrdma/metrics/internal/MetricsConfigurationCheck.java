package io.vmrdma.metrics.internal;

import java.lang.reflect.Method;
import java.util.Map;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.service.component.annotations.Component;
import org.osgi.util.converter.ConversionException;
import org.osgi.util.converter.Converter;
import org.osgi.util.converter.Converters;

/**
 * Vets a new {@code io.vmrdma.metrics} configuration before the endpoint restarts with it, so a typing error keeps
 * the endpoint on the settings in force. Whether the port is free is known only when the server binds it.
 */
@Component
public final class MetricsConfigurationCheck implements ConfigurationCheck {

    @Override
    public String pid() {
        return MetricsEndpoint.PID;
    }

    @Override
    public void check(Map<String, Object> properties) {
        Converter converter = Converters.standardConverter();
        for (Method attribute : MetricsConfig.class.getDeclaredMethods()) {
            Object value = properties.get(attribute.getName());
            try {
                converter.convert(value).to(attribute.getReturnType());
            } catch (ConversionException e) {
                throw new IllegalArgumentException("metrics " + attribute.getName() + ": '" + value + "' is not a "
                        + attribute.getReturnType().getSimpleName());
            }
        }
        MetricsSettings.from(converter.convert(properties).to(MetricsConfig.class));
    }
}
