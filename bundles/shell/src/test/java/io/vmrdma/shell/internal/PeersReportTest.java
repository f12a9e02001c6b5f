package io.vmrdma.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import io.vmrdma.api.PeerInfo;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.Test;

class PeersReportTest {

    private static final PeerInfo STATIC_UP = new PeerInfo(2, LinkAddress.ofMac("02:00:00:00:00:02"),
            PeerInfo.Origin.STATIC, true, 1, 48_250, 300_000_000L, 1234, 1200, 7,
            new PeerInfo.Congestion("delay", 393_216, 81_920, 212_400, 345_000, 3));
    private static final PeerInfo DISCOVERED_DOWN = new PeerInfo(3, LinkAddress.of((byte) 0, (byte) 3),
            PeerInfo.Origin.DISCOVERED, false, 1, 1_234_567, 4_000_000_000L, 10, 9, 0,
            new PeerInfo.Congestion("off", 4 << 20, 0, 1_300_000, -1, 0));
    private static final PeerInfo NEVER_HEARD = new PeerInfo(9, LinkAddress.of((byte) 0, (byte) 9),
            PeerInfo.Origin.STATIC, false, 0, -1, -1, 3, 0, 0);

    private static String render(List<PeerInfo> peers, String binding, Integer only) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PeersReport.print(peers, binding, only, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String row(String out, String start) {
        return out.lines().filter(l -> l.trim().startsWith(start + " ")).findFirst().orElseThrow(
                () -> new AssertionError("no row for " + start + " in\n" + out));
    }

    @Test
    void everyPeerWithItsOriginStateProtocolRoundTripTrafficAndCongestionWindow() {
        String out = render(List.of(STATIC_UP, DISCOVERED_DOWN, NEVER_HEARD), "packet", null);
        assertThat(out.lines().findFirst().orElseThrow()).contains("Node").contains("Address").contains("Origin")
                .contains("State").contains("Protocol").contains("RTT µs").contains("Sent").contains("Received")
                .contains("Retransmissions").contains("CC").contains("Window").contains("In flight")
                .contains("Data RTT µs").contains("Target µs").contains("Losses");
        assertThat(row(out, "2").split("\\|")).extracting(String::trim)
                .containsExactly("2", "02:00:00:00:00:02", "static", "up", "1", "48.3", "1234", "1200", "7", "delay",
                        "384 KiB", "80.0 KiB", "212", "345", "3");
        assertThat(row(out, "3").split("\\|")).extracting(String::trim)
                .containsExactly("3", "00:03", "discovered", "down", "1", "1235", "10", "9", "0", "off", "4.00 MiB",
                        "0 B", "1300", "-", "0");
        assertThat(row(out, "9").split("\\|")).extracting(String::trim).as("from an engine that does not say")
                .containsExactly("9", "00:09", "static", "down", "-", "-", "3", "0", "0", "-", "-", "0 B", "-", "-",
                        "0");
        assertThat(out).doesNotContain("no NIC binding");
    }

    @Test
    void oneNodeOnlyOrSayingItIsNotThere() {
        String out = render(List.of(STATIC_UP, DISCOVERED_DOWN), "loopback", 3);
        assertThat(out).contains("discovered").doesNotContain("02:00:00:00:00:02");
        assertThat(render(List.of(STATIC_UP), "loopback", 4)).isEqualTo("node 4 is not in the peer table"
                + System.lineSeparator());
    }

    @Test
    void explainsAnEmptyTableAMissingBindingAndAStoppedEngine() {
        assertThat(render(List.of(), "udp", null)).contains("no peers").contains("peer.<node>");
        assertThat(render(List.of(STATIC_UP), null, null)).contains("no NIC binding in use");
        assertThat(render(null, null, null)).contains("engine not running");
    }

    @Test
    void roundTripsInMicroseconds() {
        assertThat(Units.micros(-1)).isEqualTo("-");
        assertThat(Units.micros(850)).isEqualTo("0.9");
        assertThat(Units.micros(99_949)).isEqualTo("99.9");
        assertThat(Units.micros(100_400)).isEqualTo("100");
    }
}
