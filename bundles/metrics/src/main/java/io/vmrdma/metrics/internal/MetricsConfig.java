package io.vmrdma.metrics.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "vmrdma metrics",
        description = "The engine's counters in Prometheus's text format over HTTP, at http://<bind>:<port>/metrics")
@interface MetricsConfig {

    @AttributeDefinition(name = "Enabled", description = "Serve the metrics (off by default)")
    boolean enabled() default false;

    @AttributeDefinition(name = "Bind address", description = "IP address literal to listen on: 127.0.0.1 (the "
            + "default) lets only this host scrape; 0.0.0.0 or :: every interface")
    String bind() default MetricsSettings.DEFAULT_BIND;

    @AttributeDefinition(name = "Port", description = "TCP port, 1 to 65535", min = "1", max = "65535")
    int port() default MetricsSettings.DEFAULT_PORT;
}
