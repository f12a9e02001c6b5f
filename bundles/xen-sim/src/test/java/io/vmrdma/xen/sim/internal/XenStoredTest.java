package io.vmrdma.xen.sim.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.SimAbi;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import io.vmrdma.xen.sim.internal.abi.XsWire;
import io.vmrdma.xen.sim.internal.xenstore.XsLimits;
import org.junit.jupiter.api.Test;

/**
 * The xenstored against xenstored_core.c's behaviour: dom0 in process, the guest over its own socket through the
 * simulator's own client ({@link SimGuest}); the shared cases are in {@link XenStoreContract}, and the simulator-only
 * ones (quotas, malformed messages) here.
 */
class XenStoredTest extends XenStoreContract {

    private SimGuest guest;

    @Override
    protected SimHypervisor startHypervisor(Path stateDirectory) throws Exception {
        return SimHypervisor.start(SimSettings.defaults(stateDirectory).withXenStore(new XsLimits(40, 64, 4, 2)));
    }

    @Override
    protected XenStore openDom0() throws Exception {
        return hv.dom0().openXenStore();
    }

    @Override
    protected XenStore openGuest(int guestDomid) throws Exception {
        guest = SimGuest.attach(hv.domainDirectory(guestDomid));
        return guest.openXenStore();
    }

    @Override
    protected void closeExtras() throws Exception {
        guest.close();
    }

    @Test
    void quotasBindGuestsButNotDom0() throws Exception {
        assertErrno(() -> domU.write(T0, "data/big", new byte[65]), XenErrno.ENOSPC);
        List<Integer> created = new ArrayList<>();
        XenException full = null;
        for (int i = 0; i < 100 && full == null; i++) {
            try {
                domU.write(T0, "data/n" + i, new byte[0]);
                created.add(i);
            } catch (XenException e) {
                full = e;
            }
        }
        assertThat(full).isNotNull().extracting(XenException::errno).isEqualTo(XenErrno.ENOSPC);
        assertThat(created.size()).isLessThan(40);
        domU.rm(T0, "data/n0");
        domU.write(T0, "data/again", new byte[0]);
        dom0.write(T0, "/dom0/big", new byte[3000]);
        for (int i = 0; i < 4; i++) {
            domU.watch("data", "t" + i);
        }
        assertErrno(() -> domU.watch("data", "t4"), XenErrno.E2BIG);
        domU.transactionStart();
        domU.transactionStart();
        assertErrno(domU::transactionStart, XenErrno.ENOSPC);
        assertThat(hv.counters().get(Counter.XS_QUOTA)).isEqualTo(4);
    }

    @Test
    void malformedAndOversizedMessagesGetXensErrors() throws Exception {
        try (SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            raw.connect(UnixDomainSocketAddress.of(hv.domainDirectory(domid)
                    .resolve(SimAbi.SOCKET_XENSTORE)));
            assertThat(exchange(raw, XsWire.READ, "no-nul".getBytes(UTF_8))).isEqualTo("EINVAL");
            assertThat(exchange(raw, 99, new byte[] {0})).isEqualTo("ENOSYS");
            assertThat(exchange(raw, XsWire.WATCH, "@releaseDomain\0t\0".getBytes(UTF_8))).isEqualTo("EACCES");
            assertThat(exchange(raw, XsWire.INTRODUCE, "1\0".getBytes(UTF_8))).isEqualTo("EACCES");
            assertThat(exchange(raw, XsWire.READ, new byte[5000])).isEqualTo("E2BIG");
            ByteBuffer eof = ByteBuffer.allocate(1);
            assertThat(raw.read(eof)).as("connection dropped").isEqualTo(-1);
        }
        assertThat(hv.counters().get(Counter.XS_OVERSIZED)).isEqualTo(1);
        assertThat(hv.counters().get(Counter.XS_MALFORMED)).isEqualTo(2);
        assertThat(text(domU.read(T0, "name"))).as("still serving").isEqualTo("g1");
    }

    private static String exchange(SocketChannel ch, int type, byte[] payload) throws Exception {
        ByteBuffer msg = ByteBuffer.allocate(16 + Math.min(payload.length, 4096)).order(ByteOrder.LITTLE_ENDIAN);
        msg.putInt(type).putInt(7).putInt(0).putInt(payload.length);
        msg.put(payload, 0, Math.min(payload.length, 4096)).flip();
        while (msg.hasRemaining()) {
            ch.write(msg);
        }
        ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        while (header.hasRemaining()) {
            ch.read(header);
        }
        assertThat(header.getInt(0)).isEqualTo(XsWire.ERROR);
        ByteBuffer body = ByteBuffer.allocate(header.getInt(12));
        while (body.hasRemaining()) {
            ch.read(body);
        }
        return new String(body.array(), 0, body.capacity() - 1, UTF_8);
    }
}
