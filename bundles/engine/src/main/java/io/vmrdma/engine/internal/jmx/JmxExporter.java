package io.vmrdma.engine.internal.jmx;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.management.DynamicMBean;
import javax.management.ObjectName;

import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.sched.SchedulingControl;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes vmrdma's MBeans the OSGi way: each is a {@link DynamicMBean} service with a {@code jmx.objectname}
 * property, which the Aries JMX whiteboard (Karaf's {@code management} feature) registers in the MBean server and
 * removes when the service goes. Domains and peers come and go, so once a second their MBeans are brought in line
 * with the engine's registries; the node's and the scheduler's live as long as the engine.
 */
@Component(immediate = true)
public final class JmxExporter {

    static final String OBJECT_NAME = "jmx.objectname";
    private static final Logger LOG = LoggerFactory.getLogger(JmxExporter.class);

    private final BundleContext context;
    private final DomainRegistry domains;
    private final PeerRegistry peers;
    private final SchedulingControl control;
    private final Map<ObjectName, ServiceRegistration<DynamicMBean>> fixed = new HashMap<>();
    /** Domain and peer MBeans by name; touched by the refresh thread only (and by deactivate once it stopped). */
    private final Map<ObjectName, ServiceRegistration<DynamicMBean>> changing = new HashMap<>();
    private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "vmrdma-jmx");
        thread.setDaemon(true);
        return thread;
    });

    @Activate
    public JmxExporter(BundleContext context, @Reference Node node, @Reference DomainRegistry domains,
                       @Reference PeerRegistry peers, @Reference SchedulingControl control) {
        this.context = context;
        this.domains = domains;
        this.peers = peers;
        this.control = control;
        publish(fixed, VmrdmaBeans.name("Node", null), VmrdmaBeans.node(node));
        publish(fixed, VmrdmaBeans.name("Scheduler", null), VmrdmaBeans.scheduler(control));
        refresher.scheduleWithFixedDelay(this::refresh, 0, 1, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        refresher.shutdownNow();
        refresher.awaitTermination(5, TimeUnit.SECONDS);
        unpublishAll(changing);
        unpublishAll(fixed);
    }

    /** Registers an MBean for every domain and peer there is now, and unregisters those that are gone. */
    void refresh() {
        try {
            // Every name there should be, with a new MBean for those not yet published (null: keep the one there is).
            Map<ObjectName, DynamicMBean> wanted = new HashMap<>();
            for (Domain d : domains.domains()) {
                ObjectName name = VmrdmaBeans.name("Domain", d.name());
                wanted.put(name, changing.containsKey(name) ? null : VmrdmaBeans.domain(d.name(), domains,
                        () -> control));
            }
            for (PeerInfo p : peers.peers()) {
                ObjectName name = VmrdmaBeans.name("Peer", Integer.toString(p.node()));
                wanted.put(name, changing.containsKey(name) ? null : VmrdmaBeans.peer(p.node(), peers));
            }
            Set<ObjectName> gone = new HashSet<>(changing.keySet());
            gone.removeAll(wanted.keySet());
            for (ObjectName name : gone) {
                unpublish(changing.remove(name));
            }
            wanted.forEach((name, bean) -> {
                if (bean != null) {
                    publish(changing, name, bean);
                }
            });
        } catch (RuntimeException e) {
            // A registry racing the engine's shutdown; the next round (or deactivate) puts things right.
            LOG.debug("JMX refresh skipped: {}", e.toString());
        }
    }

    private void publish(Map<ObjectName, ServiceRegistration<DynamicMBean>> into, ObjectName name,
                         DynamicMBean bean) {
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put(OBJECT_NAME, name.toString());
        into.put(name, context.registerService(DynamicMBean.class, bean, properties));
    }

    private static void unpublishAll(Map<ObjectName, ServiceRegistration<DynamicMBean>> registrations) {
        registrations.values().forEach(JmxExporter::unpublish);
        registrations.clear();
    }

    private static void unpublish(ServiceRegistration<DynamicMBean> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException e) {
            // Already gone with the bundle.
        }
    }
}
