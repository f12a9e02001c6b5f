package io.vmrdma.nic.loopback.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A frame to the broadcast address reaches every other attached port, byte-identical, and never its sender. */
class LoopbackBroadcastTest {

    private final LoopbackWire wire = new LoopbackWire();
    private final List<LoopbackPort> ports = new ArrayList<>();
    private final FrameClaim claim = new FrameClaim();

    private LoopbackPort port(int number, int inboxBytes) {
        LoopbackPort p = new LoopbackPort(wire, number, 1500, inboxBytes);
        ports.add(p);
        return p;
    }

    @AfterEach
    void detach() {
        ports.forEach(LoopbackPort::close);
    }

    private static List<String> received(LoopbackPort port) {
        List<String> frames = new ArrayList<>();
        port.poll((buffer, offset, length, source) -> {
            byte[] bytes = new byte[length];
            buffer.get(offset, bytes);
            frames.add(source + "=" + java.util.HexFormat.of().formatHex(bytes));
        }, 100);
        return frames;
    }

    @Test
    void aBroadcastReachesEveryOtherPortButTheSender() {
        LoopbackPort a = port(1, 1 << 20);
        LoopbackPort b = port(2, 1 << 20);
        LoopbackPort c = port(700, 1 << 20);
        assertThat(a.broadcastAddress()).contains(LoopbackWire.BROADCAST);
        assertThat(wire.portOf(LoopbackWire.BROADCAST)).isEqualTo(-1);
        byte[] frame = new byte[300];
        new Random(5).nextBytes(frame);
        assertThat(a.tryClaim(LoopbackWire.BROADCAST, 400, claim)).isTrue();
        claim.buffer().put(claim.offset(), frame);
        a.commit(claim, frame.length);
        assertThat(a.flush()).isEqualTo(1);
        String expected = wire.address(1) + "=" + java.util.HexFormat.of().formatHex(frame);
        assertThat(received(b)).containsExactly(expected);
        assertThat(received(c)).containsExactly(expected);
        assertThat(received(a)).isEmpty();
    }

    @Test
    void aFullInboxMissesTheBroadcastAndAnAbortedOneGoesNowhere() {
        LoopbackPort a = port(1, 1 << 20);
        LoopbackPort small = port(2, 4096);    // two 1536-byte slots
        LoopbackPort b = port(3, 1 << 20);
        for (int i = 0; i < 2; i++) {
            assertThat(a.tryClaim(wire.address(2), 10, claim)).isTrue();
            a.commit(claim, 10);
        }
        assertThat(a.tryClaim(LoopbackWire.BROADCAST, 10, claim)).isTrue();
        a.abort(claim);
        assertThat(received(b)).isEmpty();
        assertThat(a.tryClaim(LoopbackWire.BROADCAST, 10, claim)).isTrue();
        a.commit(claim, 10);
        assertThat(a.broadcastMisses()).isEqualTo(1);
        assertThat(received(b)).hasSize(1);
        assertThat(received(small)).hasSize(2);
        LinkAddress unattached = wire.address(9);
        assertThat(a.tryClaim(unattached, 10, claim)).isTrue();
        a.commit(claim, 10);
        assertThat(a.dropped()).isEqualTo(1);
    }
}
