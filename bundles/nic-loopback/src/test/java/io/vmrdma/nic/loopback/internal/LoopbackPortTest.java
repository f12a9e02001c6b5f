package io.vmrdma.nic.loopback.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoopbackPortTest {

    private static final int INBOX = 1 << 22;

    private final LoopbackWire wire = new LoopbackWire();
    private final List<LoopbackPort> ports = new ArrayList<>();
    private final FrameClaim claim = new FrameClaim();

    private LoopbackPort port(int number, int mtu) {
        LoopbackPort p = new LoopbackPort(wire, number, mtu, INBOX);
        ports.add(p);
        return p;
    }

    @AfterEach
    void detach() {
        ports.forEach(LoopbackPort::close);
    }

    @Test
    void aPortHearsItself() {
        LoopbackPort a = port(3, 1500);
        assertThat(a.tryClaim(a.address(), 4, claim)).isTrue();
        claim.buffer().putInt(claim.offset(), 0xCAFEBABE);
        a.commit(claim, 4);
        int[] seen = new int[1];
        assertThat(a.poll((buffer, offset, length, source) -> seen[0] = buffer.getInt(offset), 1)).isEqualTo(1);
        assertThat(seen[0]).isEqualTo(0xCAFEBABE);
    }

    @Test
    void framesToMissingOrDetachedPortsAreDroppedAsOnAWire() {
        LoopbackPort a = port(1, 1500);
        LoopbackPort b = new LoopbackPort(wire, 2, 1500, INBOX);
        LinkAddress bAddress = b.address();
        b.close();
        for (LinkAddress nowhere : new LinkAddress[] {bAddress, wire.address(900),
            LinkAddress.ofMac("02:00:00:00:00:01")}) {
            assertThat(a.tryClaim(nowhere, 10, claim)).isTrue();
            claim.buffer().put(claim.offset(), (byte) 1);
            a.commit(claim, 10);
        }
        assertThat(a.dropped()).isEqualTo(3);
        LoopbackPort again = port(2, 1500);
        assertThat(again.poll((buffer, offset, length, source) -> {
        }, 10)).isZero();
    }

    @Test
    void aFullInboxRefusesClaimsUntilDrained() {
        LoopbackPort a = port(1, 65535);
        LoopbackPort b = port(2, 65535);
        int sent = 0;
        while (a.tryClaim(b.address(), 65535, claim)) {
            a.commit(claim, 65535);
            sent++;
        }
        assertThat(sent).isBetween(1, INBOX / 65535);
        int drained = b.poll((buffer, offset, length, source) -> {
        }, Integer.MAX_VALUE);
        assertThat(drained).isEqualTo(sent);
        assertThat(a.tryClaim(b.address(), 65535, claim)).isTrue();
        a.abort(claim);
    }

    @Test
    void badArgumentsAreRefusedClearly() {
        LoopbackPort a = port(1, 1500);
        assertThatThrownBy(() -> a.tryClaim(a.address(), 1501, claim)).hasMessageContaining("MTU 1500");
        assertThatThrownBy(() -> a.commit(claim, 1)).hasMessageContaining("no frame is claimed");
        assertThatThrownBy(() -> port(1, 1500)).hasMessageContaining("already attached");
        assertThatThrownBy(() -> new LoopbackPort(wire, 5, 1499, INBOX)).hasMessageContaining("MTU");
        assertThatThrownBy(() -> new LoopbackPort(wire, 5, 1500, 1000)).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new LoopbackPort(wire, 5000, 1500, INBOX)).hasMessageContaining("out of range");

        assertThat(a.tryClaim(a.address(), 100, claim)).isTrue();
        assertThatThrownBy(() -> a.commit(claim, 101)).hasMessageContaining("101 bytes");
        assertThat(a.poll((buffer, offset, length, source) -> {
        }, 10)).isZero();
    }

    @Test
    void theReceiveWindowIsTheInboxItselfNotACopy() {
        LoopbackPort a = port(1, 1500);
        assertThat(a.tryClaim(a.address(), 8, claim)).isTrue();
        ByteBuffer window = claim.buffer();
        a.commit(claim, 8);
        a.poll((buffer, offset, length, source) -> assertThat(buffer).isSameAs(window), 1);
    }
}
