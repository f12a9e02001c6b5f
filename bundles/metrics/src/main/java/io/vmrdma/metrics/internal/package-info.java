/**
 * The engine's counters for Prometheus: {@link io.vmrdma.metrics.internal.EngineMetrics} turns the node, peer,
 * domain and queue-pair counters of the engine's services into metric families at each scrape, and
 * {@link io.vmrdma.metrics.internal.MetricsEndpoint} serves them over HTTP when configuration enables it. Not
 * exported.
 */
package io.vmrdma.metrics.internal;
