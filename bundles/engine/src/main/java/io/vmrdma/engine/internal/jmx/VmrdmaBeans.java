package io.vmrdma.engine.internal.jmx;

import java.util.function.Supplier;
import java.util.regex.Pattern;

import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.sched.SchedulingControl;
import io.vmrdma.api.sched.VmSettings;

/**
 * The MBeans of vmrdma and their names: {@code io.vmrdma:type=Node}, {@code io.vmrdma:type=Scheduler},
 * {@code io.vmrdma:type=Domain,name=<domain name>} and {@code io.vmrdma:type=Peer,name=<node id>}. Names are
 * stable: a domain is named by its domain name (a domid changes when the VM is recreated), a peer by its node id.
 * Counters are attributes named as the {@link Counter} constants, whose ids never change.
 */
final class VmrdmaBeans {

    static final String DOMAIN = "io.vmrdma";
    /** Characters an ObjectName value may hold unquoted, and that a monitoring system keeps as they are. */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_.\\-]+");

    private VmrdmaBeans() {
    }

    static ObjectName name(String type, String name) {
        try {
            String value = name == null ? null : PLAIN.matcher(name).matches() ? name : ObjectName.quote(name);
            return new ObjectName(DOMAIN + ":type=" + type + (value == null ? "" : ",name=" + value));
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static AttributeBean node(Node node) {
        AttributeBean bean = new AttributeBean("io.vmrdma.Node", "This vmrdma node: identity, bindings and counters")
                .read("NodeId", int.class, "Cluster-wide id of this node", node::nodeId)
                .read("ProtocolVersion", int.class, "Wire and guest protocol version", () -> Node.PROTOCOL_VERSION)
                .read("NicBinding", String.class, "NIC binding in use, empty when none",
                        () -> node.nicBinding().orElse(""))
                .read("NicCounters", String[].class, "The NIC binding's own counts as name=value (frames it "
                        + "dropped, failed calls), empty when none is bound",
                        () -> node.nicCounters().entrySet()
                                .stream().map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new))
                .read("Hypervisor", String.class, "Xen access in use (sim, native), empty when none",
                        () -> node.hypervisor().orElse(""))
                .read("ActivePolicy", String.class, "Ordering policy in charge, empty while the built-in "
                        + "round-robin stands in", () -> node.activePolicy().orElse(""))
                .read("FramesAuthenticated", boolean.class, "Whether frames carry a tag from the cluster secret "
                        + "(auth = on)", node::framesAuthenticated)
                .read("Discovery", boolean.class, "Whether HELLOs find nodes beyond the static peer table",
                        node::discovery);
        return counters(bean, "node", node::counter);
    }

    static AttributeBean domain(String name, DomainRegistry registry, Supplier<SchedulingControl> control) {
        Supplier<Domain> domain = () -> registry.byName(name).orElseThrow(
                () -> new IllegalStateException("domain " + name + " is gone"));
        AttributeBean bean = new AttributeBean("io.vmrdma.Domain", "A guest domain: its settings and counters")
                .read("Name", String.class, "Domain name (stable across reboots of the VM)", () -> name)
                .read("Domid", int.class, "Xen domain id now", () -> domain.get().domid())
                .read("State", String.class, "State of its vmrdma device", () -> domain.get().state().name())
                .readWrite("Weight", int.class, "Byte share under drr, 1..1000",
                        () -> settings(control, name).weight(),
                        v -> scheduling(control).updateWeight(name, v.toString()))
                .readWrite("Priority", int.class, "Strict-priority level, 0 (highest)..7",
                        () -> settings(control, name).priority(),
                        v -> scheduling(control).updatePriority(name, v.toString()))
                .readWrite("RateBytesPerSecond", long.class, "Rate cap under the shaper, 0 for none",
                        () -> settings(control, name).rateBytesPerSecond(),
                        v -> scheduling(control).updateRate(name, v.toString(), null))
                .readWrite("BurstBytes", long.class, "Bytes above the rate at once (token bucket)",
                        () -> settings(control, name).burstBytes(),
                        v -> scheduling(control).updateRate(name,
                                Long.toString(settings(control, name).rateBytesPerSecond()), v.toString()));
        return counters(bean, "domain", c -> domain.get().counter(c));
    }

    static AttributeBean peer(int node, PeerRegistry peers) {
        Supplier<PeerInfo> peer = () -> peers.byNode(node).orElseThrow(
                () -> new IllegalStateException("peer " + node + " is gone"));
        return new AttributeBean("io.vmrdma.Peer", "Another node: liveness, distance and traffic")
                .read("Node", int.class, "Its node id", () -> node)
                .read("Address", String.class, "Its link address", () -> peer.get().address().toString())
                .read("Origin", String.class, "STATIC (configured) or DISCOVERED", () -> peer.get().origin().name())
                .read("Up", boolean.class, "Whether it answers HELLOs with this protocol version",
                        () -> peer.get().up())
                .read("ProtocolVersion", int.class, "Protocol version it announced, 0 before it was heard",
                        () -> peer.get().protocolVersion())
                .read("RoundTripMicros", double.class, "Smoothed HELLO round-trip time in µs, -1 before measured",
                        () -> peer.get().roundTripNanos() < 0 ? -1.0 : peer.get().roundTripNanos() / 1000.0)
                .read("LastHeardMillisAgo", long.class, "Since the last frame accepted from it, -1 when never",
                        () -> peer.get().lastHeardNanosAgo() < 0 ? -1 : peer.get().lastHeardNanosAgo() / 1_000_000)
                .read("FramesSent", long.class, "Frames sent to it", () -> peer.get().framesSent())
                .read("FramesReceived", long.class, "Frames accepted from it", () -> peer.get().framesReceived())
                .read("Retransmissions", long.class, "Data frames sent to it again",
                        () -> peer.get().retransmissions())
                .read("CongestionControl", String.class, "delay or off: what decides the window",
                        () -> peer.get().congestion().algorithm())
                .read("WindowBytes", long.class, "Most payload bytes all queue pairs to it may have unacknowledged",
                        () -> peer.get().congestion().windowBytes())
                .read("InFlightBytes", long.class, "Payload bytes sent to it and not acknowledged",
                        () -> peer.get().congestion().inFlightBytes())
                .read("DataRoundTripMicros", double.class,
                        "Smoothed round trip of data packets from ACKs in µs, -1 before measured",
                        () -> micros(peer.get().congestion().roundTripNanos()))
                .read("RoundTripTargetMicros", double.class, "Round trip above which the window shrinks, -1 for none",
                        () -> micros(peer.get().congestion().targetNanos()))
                .read("Losses", long.class, "Losses the window reacted to", () -> peer.get().congestion().losses());
    }

    private static double micros(long nanos) {
        return nanos < 0 ? -1.0 : nanos / 1000.0;
    }

    static AttributeBean scheduler(SchedulingControl control) {
        return new AttributeBean("io.vmrdma.Scheduler", "How dom0 shares the wire between VMs")
                .readWrite("Policy", String.class, "Configured ordering policy; writing activates an installed one",
                        control::configuredPolicy, v -> control.activate((String) v))
                .read("ActivePolicy", String.class, "Ordering policy in charge, empty while the built-in "
                        + "round-robin stands in", () -> control.activePolicy().orElse(""))
                .read("InstalledPolicies", String[].class, "Installed ordering policies",
                        () -> control.orderingPolicies().keySet().toArray(String[]::new))
                .read("ShaperInstalled", boolean.class, "Whether a shaper bundle is installed",
                        () -> control.shaper().isPresent())
                .readWrite("ShaperEnabled", boolean.class, "Whether configuration switches the shaper on",
                        control::shaperEnabled, v -> control.enableShaper((Boolean) v));
    }

    private interface CounterReader {
        long get(Counter counter);
    }

    private static AttributeBean counters(AttributeBean bean, String level, CounterReader reader) {
        for (Counter counter : Counter.values()) {
            bean.read(counter.name(), long.class, "Counter " + counter.id() + " of this " + level,
                    () -> reader.get(counter));
        }
        return bean;
    }

    private static SchedulingControl scheduling(Supplier<SchedulingControl> control) {
        SchedulingControl c = control.get();
        if (c == null) {
            throw new IllegalStateException("scheduling control is not available");
        }
        return c;
    }

    private static VmSettings settings(Supplier<SchedulingControl> control, String name) {
        return scheduling(control).settings(name);
    }
}
