package io.vmrdma.xen.jna.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;

import io.vmrdma.api.xen.Hypervisor;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the native {@link Hypervisor} ({@code vmrdma.xen.kind=native}) when this host runs on Xen
 * ({@code /dev/xen} exists) or when configured to, and nothing otherwise: a DS component cannot make its own
 * service conditional on the host, so it registers it itself. A configuration change re-decides.
 */
@Component(service = {}, immediate = true, configurationPid = XenNativeComponent.PID)
@Designate(ocd = NativeConfig.class)
public final class XenNativeComponent {

    static final String PID = "io.vmrdma.xen.native";
    private static final Logger LOG = LoggerFactory.getLogger(XenNativeComponent.class);
    private static final Path XEN_DEVICES = Path.of("/dev/xen");

    private ServiceRegistration<Hypervisor> registration;

    @Activate
    void activate(BundleContext context, NativeConfig config) {
        boolean onXen = Files.isDirectory(XEN_DEVICES);
        if (!shouldRegister(config.enabled(), onXen)) {
            LOG.info("native Xen access not registered (enabled = {}, {} {})", config.enabled(), XEN_DEVICES,
                    onXen ? "exists" : "is missing");
            return;
        }
        NativeHypervisor hv = new NativeHypervisor(NativeHypervisor.discoverSelfDomid());
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(Hypervisor.KIND_PROPERTY, hv.kind());
        // Outranks the simulator: on a real Xen host the engine binds this one even when xen.sim is installed too.
        properties.put(org.osgi.framework.Constants.SERVICE_RANKING, 100);
        registration = context.registerService(Hypervisor.class, hv, properties);
        LOG.info("native Xen access registered as domain {} ({} {})", hv.selfDomid(), XEN_DEVICES,
                onXen ? "exists" : "is missing; enabled = true");
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.unregister();
            registration = null;
        }
    }

    /** {@code auto} follows the host; anything but {@code auto}, {@code true} and {@code false} is taken as auto. */
    static boolean shouldRegister(String enabled, boolean onXen) {
        String value = enabled == null ? "auto" : enabled.trim().toLowerCase(java.util.Locale.ROOT);
        switch (value) {
            case "true":
                return true;
            case "false":
                return false;
            case "auto":
                return onXen;
            default :
                LOG.warn("io.vmrdma.xen.native: enabled = '{}' is not auto, true or false; taken as auto", enabled);
                return onXen;
        }
    }
}
