package io.vmrdma.engine.internal.jmx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import javax.management.Attribute;
import javax.management.AttributeNotFoundException;
import javax.management.InvalidAttributeValueException;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Node;
import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.PeerRegistry;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.Test;

class VmrdmaBeansTest {

    private final MBeanServer server = MBeanServerFactory.newMBeanServer();

    private static final Node NODE = new Node() {
        @Override
        public int nodeId() {
            return 9;
        }

        @Override
        public Optional<String> nicBinding() {
            return Optional.of("udp");
        }

        @Override
        public Optional<String> hypervisor() {
            return Optional.empty();
        }

        @Override
        public Optional<String> activePolicy() {
            return Optional.of("drr");
        }

        @Override
        public long counter(Counter counter) {
            return counter.id() * 10L;
        }

        @Override
        public Map<String, Long> nicCounters() {
            return Map.of("runts", 2L);
        }
    };

    @Test
    void namesAreStableAndQuotedOnlyWhenTheyMustBe() throws Exception {
        assertThat(VmrdmaBeans.name("Domain", "web-1.a"))
                .isEqualTo(new ObjectName("io.vmrdma:type=Domain,name=web-1.a"));
        assertThat(VmrdmaBeans.name("Node", null)).isEqualTo(new ObjectName("io.vmrdma:type=Node"));
        assertThat(VmrdmaBeans.name("Domain", "a,b=c").getKeyProperty("name")).isEqualTo("\"a,b=c\"");
    }

    @Test
    void theNodeBeanShowsIdentityAndCountersInAnMBeanServer() throws Exception {
        ObjectName name = VmrdmaBeans.name("Node", null);
        server.registerMBean(VmrdmaBeans.node(NODE), name);

        assertThat(server.getAttribute(name, "NodeId")).isEqualTo(9);
        assertThat(server.getAttribute(name, "NicBinding")).isEqualTo("udp");
        assertThat(server.getAttribute(name, "FramesAuthenticated")).isEqualTo(false);
        assertThat(server.getAttribute(name, "Discovery")).isEqualTo(true);
        assertThat((String[]) server.getAttribute(name, "NicCounters")).containsExactly("runts=2");
        assertThat(server.getAttribute(name, "Hypervisor")).isEqualTo("");
        assertThat(server.getAttribute(name, "RETRANSMISSIONS")).isEqualTo(380L);
        assertThat(server.getMBeanInfo(name).getAttributes()).hasSize(8 + Counter.values().length);
        assertThatThrownBy(() -> server.setAttribute(name, new Attribute("NodeId", 3)))
                .isInstanceOf(AttributeNotFoundException.class).hasMessageContaining("read-only");
    }

    @Test
    void aPeerBeanFollowsThePeerAndSaysWhenItIsGone() throws Exception {
        AtomicInteger frames = new AtomicInteger(5);
        PeerRegistry peers = new PeerRegistry() {
            @Override
            public List<PeerInfo> peers() {
                return frames.get() < 0 ? List.of() : List.of(new PeerInfo(2, LinkAddress.parse("00:02"),
                        PeerInfo.Origin.STATIC, true, 1, 25_500, 3_000_000, frames.get(), 4, 1,
                        new PeerInfo.Congestion("delay", 393_216, frames.get() * 9000L, 212_400, 345_000, 3)));
            }

            @Override
            public Optional<PeerInfo> byNode(int node) {
                return peers().stream().filter(p -> p.node() == node).findFirst();
            }
        };
        ObjectName name = VmrdmaBeans.name("Peer", "2");
        server.registerMBean(VmrdmaBeans.peer(2, peers), name);

        assertThat(server.getAttribute(name, "RoundTripMicros")).isEqualTo(25.5);
        assertThat(server.getAttribute(name, "LastHeardMillisAgo")).isEqualTo(3L);
        assertThat(server.getAttribute(name, "Up")).isEqualTo(true);
        assertThat(server.getAttribute(name, "CongestionControl")).isEqualTo("delay");
        assertThat(server.getAttribute(name, "WindowBytes")).isEqualTo(393_216L);
        assertThat(server.getAttribute(name, "DataRoundTripMicros")).isEqualTo(212.4);
        assertThat(server.getAttribute(name, "RoundTripTargetMicros")).isEqualTo(345.0);
        assertThat(server.getAttribute(name, "Losses")).isEqualTo(3L);
        frames.set(50);
        assertThat(server.getAttribute(name, "FramesSent")).isEqualTo(50L);
        assertThat(server.getAttribute(name, "InFlightBytes")).as("read afresh").isEqualTo(450_000L);
        frames.set(-1);
        assertThatThrownBy(() -> server.getAttribute(name, "FramesSent")).hasMessageContaining("peer 2 is gone");
    }

    @Test
    void writesAreCheckedForTypeAndRefusedWithTheServicesReason() throws Exception {
        AtomicInteger weight = new AtomicInteger(1);
        AttributeBean bean = new AttributeBean("t", "test").readWrite("Weight", int.class, "w", weight::get, v -> {
            int w = (Integer) v;
            if (w < 1 || w > 1000) {
                throw new IllegalArgumentException("weight must be 1 to 1000, not " + w);
            }
            weight.set(w);
        });
        ObjectName name = new ObjectName("test:type=T");
        server.registerMBean(bean, name);

        server.setAttribute(name, new Attribute("Weight", 7));
        assertThat(server.getAttribute(name, "Weight")).isEqualTo(7);
        assertThatThrownBy(() -> server.setAttribute(name, new Attribute("Weight", 0)))
                .isInstanceOf(InvalidAttributeValueException.class).hasMessageContaining("1 to 1000");
        assertThatThrownBy(() -> server.setAttribute(name, new Attribute("Weight", "heavy")))
                .isInstanceOf(InvalidAttributeValueException.class).hasMessageContaining("takes a int");
        assertThat(weight.get()).isEqualTo(7);
    }
}
