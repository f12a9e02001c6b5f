package io.vmrdma.nic.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.net.InetSocketAddress;

import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.Test;

class UdpAddressTest {

    @Test
    void anEndpointIsItsAddressBytesThenItsPortBigEndian() {
        assertThat(UdpAddress.parse("127.0.0.1:4792")).isEqualTo(LinkAddress.parse("7f:00:00:01:12:b8"));
        assertThat(UdpAddress.parse("[::1]:65535"))
                .isEqualTo(LinkAddress.parse("00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01:ff:ff"));
        assertThat(UdpAddress.parse("[fe80::1%1]:1").toString()).startsWith("fe:80:").endsWith(":00:01:00:01");
    }

    @Test
    void itRoundTripsThroughSocketAddresses() {
        for (String endpoint : new String[] {"192.0.2.1:1", "[2001:db8::7]:4792", "0.0.0.0:65535"}) {
            LinkAddress link = UdpAddress.parse(endpoint);
            assertThat(UdpAddress.of(UdpAddress.toSocketAddress(link, 0))).isEqualTo(link);
        }
        assertThat(UdpAddress.toString(UdpAddress.parse("192.0.2.1:80"))).isEqualTo("192.0.2.1:80");
        assertThat(UdpAddress.port(UdpAddress.parse("[2001:db8::7]:4792"))).isEqualTo(4792);
    }

    @Test
    void linkLocalAddressesTakeTheGivenScope() {
        InetSocketAddress scoped = UdpAddress.toSocketAddress(UdpAddress.parse("[fe80::1]:9"), 3);
        assertThat(((Inet6Address) scoped.getAddress()).getScopeId()).isEqualTo(3);
        InetSocketAddress global = UdpAddress.toSocketAddress(UdpAddress.parse("[2001:db8::1]:9"), 3);
        assertThat(((Inet6Address) global.getAddress()).getScopeId()).isZero();
    }

    @Test
    void badTextIsRefusedByNameAndNothingIsLookedUp() {
        assertThatThrownBy(() -> UdpAddress.parse("localhost:4792")).hasMessageContaining("not an IP address literal");
        assertThatThrownBy(() -> UdpAddress.parse("1.2.3.4")).hasMessageContaining("not an endpoint");
        assertThatThrownBy(() -> UdpAddress.parse("1.2.3.4:0")).hasMessageContaining("not a UDP port");
        assertThatThrownBy(() -> UdpAddress.parse("1.2.3.4:x")).hasMessageContaining("not a UDP port");
        assertThatThrownBy(() -> UdpAddress.parse("::1:4792")).hasMessageContaining("[address]:port");
        assertThatThrownBy(() -> UdpAddress.parse("1.2.3.256:1")).hasMessageContaining("'1.2.3.256'");
        assertThatThrownBy(() -> UdpAddress.literal("1.2.3.4%eth0")).hasMessageContaining("not an IP address literal");
        assertThatThrownBy(() -> UdpAddress.port(LinkAddress.of(new byte[] {1, 2, 3})))
                .hasMessageContaining("6 or 18 bytes, not 3").isInstanceOf(IllegalArgumentException.class);
    }
}
