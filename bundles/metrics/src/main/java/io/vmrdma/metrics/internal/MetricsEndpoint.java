package io.vmrdma.metrics.internal;

import java.io.IOException;
import java.net.InetAddress;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.VerbsInventory;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@link EngineMetrics} at {@code http://<bind>:<port>/metrics} while configuration enables it (and the
 * engine runs: the component needs its services). One HTTP server on one thread; a new configuration restarts it.
 */
@Component(configurationPid = MetricsEndpoint.PID, immediate = true)
@Designate(ocd = MetricsConfig.class)
public final class MetricsEndpoint {

    static final String PID = "io.vmrdma.metrics";
    private static final Logger LOG = LoggerFactory.getLogger(MetricsEndpoint.class);

    private final HTTPServer server;

    @Activate
    public MetricsEndpoint(MetricsConfig config, @Reference Node node, @Reference DomainRegistry domains,
                           @Reference PeerRegistry peers, @Reference VerbsInventory inventory)
            throws IOException {
        MetricsSettings settings = MetricsSettings.from(config);
        if (!settings.enabled()) {
            server = null;
            LOG.info("metrics off (enabled = false in etc/{}.cfg)", PID);
            return;
        }
        server = start(settings.bind(), settings.port(), new EngineMetrics(node, domains, peers, inventory));
        LOG.info("metrics at http://{}/metrics", address(settings.bind().getHostAddress(), server.getPort()));
    }

    /** Starts a server for {@code metrics} (port 0: any free port). */
    static HTTPServer start(InetAddress bind, int port, EngineMetrics metrics) throws IOException {
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(metrics);
        return HTTPServer.builder().inetAddress(bind).port(port).registry(registry).buildAndStart();
    }

    static String address(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    @Deactivate
    void stop() {
        if (server != null) {
            server.close();
        }
    }
}
