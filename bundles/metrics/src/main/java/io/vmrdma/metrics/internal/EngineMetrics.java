package io.vmrdma.metrics.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.FrameDrop;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.api.VerbsInventory;

/**
 * The engine's counters as Prometheus metric families, read from the engine's services at each scrape (never
 * cached: reading them does not block the data path). Names are stable: {@code vmrdma_node_<counter>_total} and
 * {@code vmrdma_domain_<counter>_total} for every {@link Counter} (its enum name in lower case; the enum's names and
 * ids never change), {@code vmrdma_frame_drops_total} by {@link FrameDrop#label() cause}, and fixed families for
 * peers and queue pairs. Labels: {@code domain} (the VM's name) and {@code domid}, {@code peer_node}, {@code qpn},
 * {@code cause}. Per peer also its congestion control: the window, the bytes in flight, the round trip and target the
 * window follows and the losses it reacted to, so a dashboard sees which path is congested.
 */
final class EngineMetrics implements MultiCollector {

    private final Node node;
    private final DomainRegistry domains;
    private final PeerRegistry peers;
    private final VerbsInventory inventory;

    EngineMetrics(Node node, DomainRegistry domains, PeerRegistry peers, VerbsInventory inventory) {
        this.node = node;
        this.domains = domains;
        this.peers = peers;
        this.inventory = inventory;
    }

    /** The family name part for a counter: {@code FRAME_BYTES_SENT} becomes {@code frame_bytes_sent}. */
    static String name(Counter counter) {
        return counter.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public MetricSnapshots collect() {
        List<MetricSnapshot> families = new ArrayList<>();
        families.add(GaugeSnapshot.builder().name("vmrdma_node_info")
                .help("This node: its id, NIC binding, Xen backend and policy in charge (value 1)")
                .dataPoint(GaugeDataPointSnapshot.builder().value(1).labels(Labels.of(
                        "node_id", Integer.toString(node.nodeId()),
                        "nic", node.nicBinding().orElse("none"),
                        "xen", node.hypervisor().orElse("none"),
                        "policy", node.activePolicy().orElse("fallback"))).build())
                .build());
        for (Counter counter : Counter.values()) {
            families.add(CounterSnapshot.builder().name("vmrdma_node_" + name(counter))
                    .help("Node counter " + counter.name() + " (id " + counter.id() + ")")
                    .dataPoint(CounterDataPointSnapshot.builder().value(node.counter(counter)).build()).build());
        }
        CounterSnapshot.Builder drops = CounterSnapshot.builder().name("vmrdma_frame_drops")
                .help("Frames from the wire this node dropped, by cause");
        for (FrameDrop drop : FrameDrop.values()) {
            drops.dataPoint(CounterDataPointSnapshot.builder().value(node.counter(drop.counter()))
                    .labels(Labels.of("cause", drop.label())).build());
        }
        families.add(drops.build());
        List<Domain> vms = domains.domains();
        Map<Integer, String> names = new HashMap<>();
        vms.forEach(d -> names.put(d.domid(), d.name()));
        for (Counter counter : Counter.values()) {
            CounterSnapshot.Builder family = CounterSnapshot.builder().name("vmrdma_domain_" + name(counter))
                    .help("Domain counter " + counter.name() + " (id " + counter.id() + ")");
            for (Domain d : vms) {
                family.dataPoint(CounterDataPointSnapshot.builder().value(d.counter(counter)).labels(domain(d.domid(),
                        d.name())).build());
            }
            families.add(family.build());
        }
        List<PeerInfo> table = peers.peers();
        families.add(peerCounter(table, "vmrdma_peer_frames_sent", "Frames sent to the peer", PeerInfo::framesSent));
        families.add(peerCounter(table, "vmrdma_peer_frames_received", "Frames received from the peer",
                PeerInfo::framesReceived));
        families.add(peerCounter(table, "vmrdma_peer_retransmissions", "Frames sent to the peer again",
                PeerInfo::retransmissions));
        families.add(peerGauge(table, "vmrdma_peer_up", "1 while the peer answers, else 0", p -> p.up() ? 1 : 0));
        families.add(peerGauge(table, "vmrdma_peer_round_trip_seconds", "Smoothed round trip to the peer (-1: not "
                + "measured yet)", p -> p.roundTripNanos() < 0 ? -1 : p.roundTripNanos() / 1e9));
        families.add(peerGauge(table, "vmrdma_peer_congestion_window_bytes", "Payload bytes this node may have "
                + "unacknowledged towards the peer (-1: unknown)", p -> p.congestion().windowBytes()));
        families.add(peerGauge(table, "vmrdma_peer_in_flight_bytes", "Payload bytes sent to the peer and not yet "
                + "acknowledged", p -> p.congestion().inFlightBytes()));
        families.add(peerGauge(table, "vmrdma_peer_congestion_round_trip_seconds", "Smoothed round trip of data "
                + "packets to the peer, as congestion control sees it (-1: not measured yet)",
                p -> seconds(p.congestion().roundTripNanos())));
        families.add(peerGauge(table, "vmrdma_peer_congestion_target_seconds", "The round trip above which the "
                + "peer's window shrinks (-1: the algorithm has none)", p -> seconds(p.congestion().targetNanos())));
        families.add(peerCounter(table, "vmrdma_peer_congestion_losses", "Losses the peer's window reacted to",
                p -> p.congestion().losses()));
        List<QueuePairInfo> qps = inventory.queuePairs();
        families.add(qpCounter(qps, names, "vmrdma_qp_requester_ops", "Operations the queue pair carried out as "
                + "requester", QueuePairInfo::requesterOps));
        families.add(qpCounter(qps, names, "vmrdma_qp_requester_bytes", "Payload bytes of those operations",
                QueuePairInfo::requesterBytes));
        families.add(qpCounter(qps, names, "vmrdma_qp_recv_ops", "Receives the queue pair consumed",
                QueuePairInfo::recvOps));
        families.add(qpCounter(qps, names, "vmrdma_qp_recv_bytes", "Bytes placed into its receive buffers",
                QueuePairInfo::recvBytes));
        families.add(qpGauge(qps, names, "vmrdma_qp_send_queued", "Work requests waiting on the send queue",
                QueuePairInfo::sendQueued));
        families.add(qpGauge(qps, names, "vmrdma_qp_recv_queued", "Receives posted and not yet consumed",
                QueuePairInfo::recvQueued));
        return new MetricSnapshots(families);
    }

    /** Nanoseconds as seconds, and -1 (not known) as -1. */
    private static double seconds(long nanos) {
        return nanos < 0 ? -1 : nanos / 1e9;
    }

    private static Labels domain(int domid, String name) {
        return Labels.of("domain", name, "domid", Integer.toString(domid));
    }

    private static Labels qp(QueuePairInfo qp, Map<Integer, String> names) {
        return Labels.of("domain", names.getOrDefault(qp.domid(), ""), "domid", Integer.toString(qp.domid()),
                "qpn", Integer.toString(qp.qpn()));
    }

    private static CounterSnapshot peerCounter(List<PeerInfo> table, String name, String help,
                                               ToDoubleFunction<PeerInfo> value) {
        CounterSnapshot.Builder family = CounterSnapshot.builder().name(name).help(help);
        table.forEach(p -> family.dataPoint(CounterDataPointSnapshot.builder().value(value.applyAsDouble(p))
                .labels(Labels.of("peer_node", Integer.toString(p.node()))).build()));
        return family.build();
    }

    private static GaugeSnapshot peerGauge(List<PeerInfo> table, String name, String help,
                                           ToDoubleFunction<PeerInfo> value) {
        GaugeSnapshot.Builder family = GaugeSnapshot.builder().name(name).help(help);
        table.forEach(p -> family.dataPoint(GaugeDataPointSnapshot.builder().value(value.applyAsDouble(p))
                .labels(Labels.of("peer_node", Integer.toString(p.node()))).build()));
        return family.build();
    }

    private static CounterSnapshot qpCounter(List<QueuePairInfo> qps, Map<Integer, String> names, String name,
                                             String help, ToDoubleFunction<QueuePairInfo> value) {
        CounterSnapshot.Builder family = CounterSnapshot.builder().name(name).help(help);
        qps.forEach(q -> family.dataPoint(CounterDataPointSnapshot.builder().value(value.applyAsDouble(q))
                .labels(qp(q, names)).build()));
        return family.build();
    }

    private static GaugeSnapshot qpGauge(List<QueuePairInfo> qps, Map<Integer, String> names, String name,
                                         String help, ToDoubleFunction<QueuePairInfo> value) {
        GaugeSnapshot.Builder family = GaugeSnapshot.builder().name(name).help(help);
        qps.forEach(q -> family.dataPoint(GaugeDataPointSnapshot.builder().value(value.applyAsDouble(q))
                .labels(qp(q, names)).build()));
        return family.build();
    }
}
