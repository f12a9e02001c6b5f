package io.vmrdma.demo.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.vmrdma.api.Node;
import io.vmrdma.api.xen.DomainControl;
import io.vmrdma.api.xen.XenException;
import org.apache.karaf.features.BootFinished;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When the framework property {@code vmrdma.demo} is {@code true} (./run.sh sets it), or configuration
 * {@code io.vmrdma.demo} has {@code enabled = true}, boots two simulated guests
 * running the guest tool's demo: a client that RDMA WRITEs, WRITEs WITH IMM, READs and SENDs seeded blocks to and from
 * a server's window and checks every byte it gets back, for ever, through this node's engine. The guests' jars are in the distribution's {@code lib/guest/}.
 * Otherwise it does nothing. Stopping the bundle destroys the two guests.
 */
@Component(immediate = true, configurationPid = "io.vmrdma.demo")
public final class DemoGuests {

    private static final Logger LOG = LoggerFactory.getLogger(DemoGuests.class);
    private static final long SERVICE = 7;
    private static final long MEMORY_BYTES = 64L << 20;

    private final DomainControl toolstack;
    private final List<Integer> started = new ArrayList<>();

    /**
     * Runs once Karaf has installed every boot feature ({@code booted} is only that gate): two guest JVMs starting
     * during the boot would only slow it down on two cores.
     */
    @Activate
    public DemoGuests(BundleContext context, Map<String, Object> configuration, @Reference DomainControl toolstack,
                      @Reference Node node, @Reference BootFinished booted) {
        this.toolstack = toolstack;
        if (!"true".equals(context.getProperty("vmrdma.demo"))
                && !"true".equals(String.valueOf(configuration.get("enabled")))) {
            return;
        }
        Path jars = Path.of(context.getProperty("karaf.home"), "lib", "guest");
        if (!Files.isDirectory(jars)) {
            LOG.warn("demo guests not started: {} is missing", jars);
            return;
        }
        try {
            boot("demo-server", jars, "demo", "server", Long.toString(SERVICE));
            boot("demo-client", jars, "demo", "client", Integer.toString(node.nodeId()), Long.toString(SERVICE));
            LOG.info("demo guests running: demo-server echoes, demo-client sends (vmrdma:domains shows them)");
        } catch (XenException e) {
            LOG.error("demo guests could not start: {}", e.getMessage());
        }
    }

    private void boot(String name, Path jars, String... toolArguments) throws XenException {
        int domid = toolstack.create(name, MEMORY_BYTES);
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", jars.resolve("*").toString(),
                "io.vmrdma.xen.sim.guest.GuestMain", "io.vmrdma.guest.internal.GuestTool"));
        command.addAll(List.of(toolArguments));
        started.add(domid);
        toolstack.start(domid, command);
    }

    @Deactivate
    void stop() {
        for (int domid : started) {
            try {
                toolstack.destroy(domid);
            } catch (XenException e) {
                LOG.debug("demo guest {} already gone: {}", domid, e.getMessage());
            }
        }
    }
}
