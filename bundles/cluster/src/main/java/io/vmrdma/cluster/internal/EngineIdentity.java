package io.vmrdma.cluster.internal;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.vmrdma.api.cluster.NodeIdConfirmation;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's node id as the cluster decides it. While this node is a member, its engine's configuration leaves the
 * id to the cluster ({@code nodeIdConfirmedBy = cluster}): the engine stays off the wire until this node's claim
 * succeeded and it is {@linkplain #confirm confirmed}. A claimed id other than the configured one is written into
 * the engine's configuration and the engine restarts with it, off the wire again until the confirmation of the new id
 * reaches it; its old id was never announced, so no peer pinned it to this host.
 */
final class EngineIdentity {

    static final String CONFIRMED_BY = "nodeIdConfirmedBy";
    private static final Logger LOG = LoggerFactory.getLogger(EngineIdentity.class);
    private static final String ENGINE_COMPONENT = "io.vmrdma.engine.internal.EngineNode";
    private static final long CONFIGURATION_WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final ConfigurationAdmin configurations;
    private final ServiceComponentRuntime components;
    private final BundleContext context;
    private final AtomicLong restarts = new AtomicLong();
    private ServiceRegistration<NodeIdConfirmation> confirmation;

    EngineIdentity(ConfigurationAdmin configurations, ServiceComponentRuntime components, BundleContext context) {
        this.configurations = configurations;
        this.components = components;
        this.context = context;
    }

    /** Leaves the engine's id to the cluster: from now on, until confirmed, the engine is off the wire. */
    void leaveToCluster() {
        if (!"cluster".equals(engineProperty(CONFIRMED_BY))) {
            updateEngine(CONFIRMED_BY, "cluster");
            LOG.info("cluster: the engine's node id is the cluster's to confirm from now on");
        }
    }

    /** The node id the engine's configuration names (1 when it names none or an unreadable one). */
    int configured() {
        try {
            Object id = engineProperty("nodeId");
            return id == null ? 1 : Integer.parseInt(id.toString().trim());
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /** Gives the engine {@code id}, the cluster's claim for this node, restarting it when that is new, and confirms it. */
    void confirm(int id) {
        if (id != configured()) {
            updateEngine("nodeId", Integer.toString(id));
            for (ComponentDescriptionDTO engine : components.getComponentDescriptionDTOs()) {
                if (ENGINE_COMPONENT.equals(engine.name)) {
                    awaitConfigured(engine, id);
                    LOG.info("cluster: the cluster assigned node id {}; restarting the engine with it", id);
                    restarts.incrementAndGet();
                    components.disableComponent(engine).onResolve(() -> components.enableComponent(engine));
                }
            }
        }
        if (confirmation != null) {
            confirmation.unregister();
        }
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("nodeId", id);
        confirmation = context.registerService(NodeIdConfirmation.class, () -> id, properties);
    }

    /**
     * Withdraws the confirmation (a running engine stays on the wire: its id stays this node's in the cluster's
     * claims). {@code forGood}: this node left the cluster (its configuration deleted), its engine is standalone again.
     */
    void release(boolean forGood) {
        if (confirmation != null) {
            confirmation.unregister();
            confirmation = null;
        }
        if (forGood) {
            updateEngine(CONFIRMED_BY, "none");
            LOG.info("cluster: this node left the cluster; its engine's node id needs no confirmation any more");
        }
    }

    /**
     * Waits until the engine's component holds the configuration with {@code id}: Configuration Admin delivers an
     * update on a thread of its own, and an engine restarted before it arrives would start again with its old id and
     * wait for a confirmation of that id forever.
     */
    private void awaitConfigured(ComponentDescriptionDTO engine, int id) {
        long deadline = System.nanoTime() + CONFIGURATION_WAIT_NANOS;
        while (System.nanoTime() < deadline) {
            for (ComponentConfigurationDTO configuration : components.getComponentConfigurationDTOs(engine)) {
                Object configured = configuration.properties.get("nodeId");
                if (configured != null && configured.toString().trim().equals(Integer.toString(id))) {
                    return;
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warn("cluster: the engine did not receive node id {} in {} s; restarting it anyway", id,
                TimeUnit.NANOSECONDS.toSeconds(CONFIGURATION_WAIT_NANOS));
    }

    /** How many times the engine restarted with an id the cluster assigned. */
    long restarts() {
        return restarts.get();
    }

    private Object engineProperty(String key) {
        try {
            Dictionary<String, Object> engine = configurations.getConfiguration(SharedSettings.ENGINE, "?")
                    .getProperties();
            return engine == null ? null : engine.get(key);
        } catch (IOException e) {
            return null;
        }
    }

    private void updateEngine(String key, String value) {
        try {
            Configuration engine = configurations.getConfiguration(SharedSettings.ENGINE, "?");
            Dictionary<String, Object> properties = engine.getProperties();
            if (properties == null) {
                properties = new Hashtable<>();
            }
            properties.put(key, value);
            engine.update(properties);
        } catch (IOException e) {
            LOG.error("cluster: could not set the engine's {} to {}: {}", key, value, e.toString());
        }
    }
}
