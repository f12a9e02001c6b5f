package io.vmrdma.metrics.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainRegistry;
import io.vmrdma.api.DomainState;
import io.vmrdma.api.MemoryRegionInfo;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.QueuePairInfo;
import io.vmrdma.api.VerbsInventory;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpState;
import org.junit.jupiter.api.Test;

/** The metric families as a scrape sees them: names, labels and values from the engine's services. */
class EngineMetricsTest {

    final Map<Counter, Long> nodeCounters = new EnumMap<>(Counter.class);

    final Node node = new Node() {
        @Override
        public int nodeId() {
            return 7;
        }

        @Override
        public Optional<String> nicBinding() {
            return Optional.of("packet");
        }

        @Override
        public Optional<String> hypervisor() {
            return Optional.of("sim");
        }

        @Override
        public Optional<String> activePolicy() {
            return Optional.of("drr");
        }

        @Override
        public long counter(Counter counter) {
            return nodeCounters.getOrDefault(counter, 0L);
        }

        @Override
        public Map<String, Long> nicCounters() {
            return Map.of();
        }
    };

    record Vm(int domid, String name, Map<Counter, Long> counters) implements Domain {
        @Override
        public DomainState state() {
            return DomainState.values()[0];
        }

        @Override
        public long counter(Counter counter) {
            return counters.getOrDefault(counter, 0L);
        }

        @Override
        public java.util.List<io.vmrdma.api.DeviceInfo> devices() {
            return java.util.List.of(new io.vmrdma.api.DeviceInfo(0, -1));
        }
    }

    final List<Domain> vms = List.of(new Vm(3, "web1", Map.of(Counter.RDMA_WRITE_BYTES, 1_048_576L)),
            new Vm(4, "db\"1", Map.of(Counter.SEND_OPS, 12L)));

    final DomainRegistry domains = new DomainRegistry() {
        @Override
        public List<Domain> domains() {
            return vms;
        }

        @Override
        public Optional<Domain> byDomid(int domid) {
            return vms.stream().filter(d -> d.domid() == domid).findFirst();
        }

        @Override
        public Optional<Domain> byName(String name) {
            return vms.stream().filter(d -> d.name().equals(name)).findFirst();
        }
    };

    final PeerRegistry peers = new PeerRegistry() {
        final PeerInfo two = new PeerInfo(2, LinkAddress.parse("00:02"), PeerInfo.Origin.STATIC, true, 1, 42_000,
                1_000, 500, 400, 9, new PeerInfo.Congestion("delay", 393_216, 131_072, 310_000, 450_000, 3));
        final PeerInfo three = new PeerInfo(3, LinkAddress.parse("00:03"), PeerInfo.Origin.DISCOVERED, false, 0, -1,
                -1, 0, 0, 0);

        @Override
        public List<PeerInfo> peers() {
            return List.of(two, three);
        }

        @Override
        public Optional<PeerInfo> byNode(int node) {
            return node == 2 ? Optional.of(two) : Optional.empty();
        }
    };

    final VerbsInventory inventory = new VerbsInventory() {
        @Override
        public List<QueuePairInfo> queuePairs() {
            return List
                    .of(new QueuePairInfo(3, 0, 0x1234, QpState.RTS, new QpAddress(2, 5, 77), 0x8001, 128, 6, 128, 32,
                            100, 6_553_600, 3, 300));
        }

        @Override
        public List<MemoryRegionInfo> memoryRegions() {
            return List.of();
        }
    };

    @Test
    void aScrapeShowsEveryLevelWithStableNamesAndLabels() throws Exception {
        nodeCounters.put(Counter.FRAMES_SENT, 123L);
        nodeCounters.put(Counter.CRC_ERRORS, 40L);
        nodeCounters.put(Counter.AUTH_FAILURES, 2L);
        EngineMetrics metrics = new EngineMetrics(node, domains, peers, inventory);
        HTTPServer server = MetricsEndpoint.start(InetAddress.getLoopbackAddress(), 0, metrics);
        try {
            String text = scrape(server.getPort());
            assertThat(text.lines()).contains(
                    "vmrdma_node_info{nic=\"packet\",node_id=\"7\",policy=\"drr\",xen=\"sim\"} 1.0",
                    "vmrdma_node_frames_sent_total 123.0",
                    "vmrdma_node_crc_errors_total 40.0",
                    "vmrdma_frame_drops_total{cause=\"header_crc\"} 40.0",
                    "vmrdma_frame_drops_total{cause=\"unauthenticated\"} 2.0",
                    "vmrdma_frame_drops_total{cause=\"partition\"} 0.0",
                    "vmrdma_domain_rdma_write_bytes_total{domain=\"web1\",domid=\"3\"} 1048576.0",
                    "vmrdma_domain_send_ops_total{domain=\"db\\\"1\",domid=\"4\"} 12.0",
                    "vmrdma_peer_frames_sent_total{peer_node=\"2\"} 500.0",
                    "vmrdma_peer_retransmissions_total{peer_node=\"2\"} 9.0",
                    "vmrdma_peer_up{peer_node=\"2\"} 1.0",
                    "vmrdma_peer_round_trip_seconds{peer_node=\"2\"} 4.2E-5",
                    "vmrdma_peer_congestion_window_bytes{peer_node=\"2\"} 393216.0",
                    "vmrdma_peer_in_flight_bytes{peer_node=\"2\"} 131072.0",
                    "vmrdma_peer_congestion_round_trip_seconds{peer_node=\"2\"} 3.1E-4",
                    "vmrdma_peer_congestion_target_seconds{peer_node=\"2\"} 4.5E-4",
                    "vmrdma_peer_congestion_losses_total{peer_node=\"2\"} 3.0",
                    "vmrdma_peer_congestion_window_bytes{peer_node=\"3\"} -1.0",
                    "vmrdma_peer_congestion_round_trip_seconds{peer_node=\"3\"} -1.0",
                    "vmrdma_peer_congestion_target_seconds{peer_node=\"3\"} -1.0",
                    "vmrdma_qp_requester_bytes_total{domain=\"web1\",domid=\"3\",qpn=\"4660\"} 6553600.0",
                    "vmrdma_qp_send_queued{domain=\"web1\",domid=\"3\",qpn=\"4660\"} 6.0");
            assertThat(text).contains("# TYPE vmrdma_frame_drops_total counter")
                    .contains("# HELP vmrdma_node_frames_sent_total Node counter FRAMES_SENT (id 34)");
            long families = text.lines().filter(l -> l.startsWith("# TYPE vmrdma_")).count();
            assertThat(families).as("node and domain families per counter, and the rest")
                    .isEqualTo(2L * Counter.values().length + 1 + 1 + 5 + 5 + 6);

            nodeCounters.put(Counter.FRAMES_SENT, 124L);
            assertThat(scrape(server.getPort()).lines()).as("read at each scrape, never cached")
                    .contains("vmrdma_node_frames_sent_total 124.0");
        } finally {
            server.close();
        }
    }

    @Test
    void settingsTakeOnlyAddressLiteralsAndPortsInRange() {
        assertThat(MetricsSettings.literal("127.0.0.1").isLoopbackAddress()).isTrue();
        assertThat(MetricsSettings.literal(" ::1 ").isLoopbackAddress()).isTrue();
        assertThat(MetricsSettings.literal("0.0.0.0").isAnyLocalAddress()).isTrue();
        assertThatThrownBy(() -> MetricsSettings.literal("localhost"))
                .hasMessageContaining("not an IP address literal");
        assertThatThrownBy(() -> MetricsSettings.literal("example.org")).hasMessageContaining("'example.org'");
        assertThatThrownBy(() -> MetricsSettings.literal("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MetricsSettings(true, InetAddress.getLoopbackAddress(), 0))
                .hasMessage("metrics port: 0 is out of range (1 to 65535)");
        assertThatThrownBy(() -> new MetricsSettings(true, InetAddress.getLoopbackAddress(), 65536))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theConfigurationCheckRefusesWhatTheEndpointCouldNotUse() {
        MetricsConfigurationCheck check = new MetricsConfigurationCheck();
        assertThat(check.pid()).isEqualTo("io.vmrdma.metrics");
        check.check(Map.of("enabled", "true", "bind", "127.0.0.1", "port", "9464"));
        check.check(Map.of());
        assertThatThrownBy(() -> check.check(Map.of("port", "ninety")))
                .hasMessage("metrics port: 'ninety' is not a int");
        assertThatThrownBy(() -> check.check(Map.of("port", "70000"))).hasMessageContaining("out of range");
        assertThatThrownBy(() -> check.check(Map.of("bind", "metrics.example"))).hasMessageContaining("literal");
    }

    private static String scrape(int port) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }
}
