package io.vmrdma.nic.udp.internal;

import java.lang.reflect.Method;
import java.util.Map;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.service.component.annotations.Component;
import org.osgi.util.converter.ConversionException;
import org.osgi.util.converter.Converter;
import org.osgi.util.converter.Converters;

/**
 * Vets a new {@code io.vmrdma.nic.udp} configuration before the binding restarts with it: every value as
 * {@link UdpSettings} checks it (the bind address a literal, the port, MTU, buffers and batch in range), so that a
 * typing error keeps the binding on the settings in force instead of leaving the node without one. Whether the
 * address can be bound is known only when the binding opens its socket.
 */
@Component
public final class UdpConfigurationCheck implements ConfigurationCheck {

    @Override
    public String pid() {
        return UdpPort.PID;
    }

    @Override
    public void check(Map<String, Object> properties) {
        UdpSettings.from(typed(properties));
    }

    /**
     * The properties as the binding's configuration type, converted as Declarative Services does when it activates
     * the binding, text as it is (Declarative Services does not trim: " 1452 " is not a number to it, so not here
     * either); a value that does not convert is refused naming its key.
     */
    private static UdpConfig typed(Map<String, Object> properties) {
        Converter converter = Converters.standardConverter();
        for (Method attribute : UdpConfig.class.getDeclaredMethods()) {
            Object value = properties.get(attribute.getName());
            try {
                converter.convert(value).to(attribute.getReturnType());
            } catch (ConversionException e) {
                throw new IllegalArgumentException("nic.udp " + attribute.getName() + ": '" + value + "' is not "
                        + (attribute.getReturnType() == int.class ? "a whole number" : "a " + attribute.getReturnType()
                                .getSimpleName()));
            }
        }
        return converter.convert(properties).to(UdpConfig.class);
    }
}
