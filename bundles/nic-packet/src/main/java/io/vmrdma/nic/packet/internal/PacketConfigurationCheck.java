package io.vmrdma.nic.packet.internal;

import java.lang.reflect.Method;
import java.util.Map;

import io.vmrdma.api.ConfigurationCheck;
import org.osgi.service.component.annotations.Component;
import org.osgi.util.converter.ConversionException;
import org.osgi.util.converter.Converter;
import org.osgi.util.converter.Converters;

/**
 * Vets a new {@code io.vmrdma.nic.packet} configuration before the binding restarts with it: every value as
 * {@link PacketSettings} checks it, and the interface must exist and take a raw socket, so that a typing error keeps
 * the binding on the settings in force instead of leaving the node without one.
 */
@Component
public final class PacketConfigurationCheck implements ConfigurationCheck {

    @Override
    public String pid() {
        return PacketPort.PID;
    }

    @Override
    public void check(Map<String, Object> properties) {
        PacketSettings settings = PacketSettings.from(typed(properties));
        try (PacketSocket probe = new PacketSocket(settings)) {
            probe.macAddress();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * The properties as the binding's configuration type, converted as Declarative Services does when it activates
     * the binding, text as it is (Declarative Services does not trim: " 1452 " is not a number to it, so not here
     * either); a value that does not convert is refused naming its key.
     */
    private static PacketConfig typed(Map<String, Object> properties) {
        Converter converter = Converters.standardConverter();
        for (Method attribute : PacketConfig.class.getDeclaredMethods()) {
            Object value = properties.get(attribute.getName());
            try {
                converter.convert(value).to(attribute.getReturnType());
            } catch (ConversionException e) {
                throw new IllegalArgumentException("nic.packet " + attribute.getName() + ": '" + value + "' is not "
                        + (attribute.getReturnType() == int.class ? "a whole number" : "a " + attribute.getReturnType()
                                .getSimpleName()));
            }
        }
        return converter.convert(properties).to(PacketConfig.class);
    }
}
