package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.DeviceInfo;
import io.vmrdma.api.Domain;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import org.junit.jupiter.api.Test;

/**
 * Several devices of one domain (one per guest process): each its own verbs context, the domain's limits and
 * scheduling shared by all of them.
 */
class DevicesOfADomainTest {

    final VerbsFixture f = new VerbsFixture();

    @Test
    void aDevicesHandlesNeverResolveOnAnotherDeviceOfTheSameDomain() throws Exception {
        VerbsFixture.Dom a = f.device(1, 0, "vm");
        VerbsFixture.Dom b = f.device(1, 1, "vm");
        QueuePair qa = a.qp();
        MemoryRegion ra = a.region(4096, AccessFlags.ALL);
        expectErrno(() -> b.verbs.destroyQp(qa), VerbsErrno.EINVAL);
        expectErrno(() -> b.verbs.deregMr(ra), VerbsErrno.EINVAL);
        expectErrno(() -> b.verbs.deallocPd(a.pd), VerbsErrno.EINVAL);
        expectErrno(() -> b.verbs.destroyCq(a.cq), VerbsErrno.EINVAL);
        expectErrno(() -> f.engine.openDevice(1, 1, "vm", -1), VerbsErrno.EEXIST);
        Domain vm = f.engine.domain(1).orElseThrow();
        assertThat(vm.devices()).containsExactly(new DeviceInfo(0, 1000), new DeviceInfo(1, 1001));
    }

    @Test
    void theDomainsQuotasCountEveryDeviceTogether() throws Exception {
        f.engine.limits(64, 256, 5, 4096, 128L << 20, 65536, 16384, 16, 1L << 30, 64L << 20);
        VerbsFixture.Dom a = f.device(1, 0, "vm");
        VerbsFixture.Dom b = f.device(1, 1, "vm");
        List<QueuePair> made = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            made.add(a.qp());
        }
        made.add(b.qp());
        made.add(b.qp());
        expectErrno(b::qp, VerbsErrno.EDQUOT);
        expectErrno(a::qp, VerbsErrno.EDQUOT);
        // Another VM has its own quota.
        f.domain(2, "other").qp();
        // One device closing gives its share back; the other's objects stay.
        f.engine.closeDevice(1, 0);
        assertThat(made.get(3).state()).isEqualTo(QpState.RESET);
        b.qp();
        b.qp();
        b.qp();
        expectErrno(b::qp, VerbsErrno.EDQUOT);
    }

    @Test
    void aDomainOpensAtMostMaxDevicesAndAClosedOneMakesRoom() throws Exception {
        f.engine.maxDevices(2);
        f.device(1, 0, "vm");
        VerbsFixture.Dom b = f.device(1, 7, "vm");
        assertThatThrownBy(() -> f.engine.openDevice(1, 3, "vm", 1003)).isInstanceOf(VerbsException.class)
                .hasMessageContaining("maxDevices")
                .satisfies(e -> assertThat(((VerbsException) e).errno()).isEqualTo(VerbsErrno.EDQUOT));
        // Another VM counts its own.
        f.device(2, 0, "other");
        f.device(2, 1, "other");
        f.engine.closeDevice(1, 0);
        f.engine.openDevice(1, 3, "vm", 1003);
        assertThat(f.engine.domain(1).orElseThrow().devices()).extracting(DeviceInfo::devid).containsExactly(3, 7);
        b.qp();
        assertThatThrownBy(() -> f.engine.maxDevices(257)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> f.engine.maxDevices(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void closingOneDeviceEndsOnlyItsConnectionsAndTheLastOneClosesTheDomain() throws Exception {
        VerbsFixture.Dom a = f.device(1, 0, "vm");
        VerbsFixture.Dom b = f.device(1, 1, "vm");
        VerbsFixture.Dom peer = f.domain(2, "peer");
        QueuePair[] viaA = f.connect(a, peer);
        QueuePair[] viaB = f.connect(b, peer);
        MemoryRegion src = b.region(4096, AccessFlags.ALL);
        MemoryRegion dst = peer.region(4096, AccessFlags.ALL);

        f.engine.closeDevice(1, 0);
        assertThat(peer.cmEvent().type()).as("a's peer is told").isEqualTo(CmEventType.DISCONNECTED);
        assertThat(viaA[1].state()).isEqualTo(QpState.ERR);
        assertThat(viaB[0].state()).as("b goes on").isEqualTo(QpState.RTS);
        assertThat(f.engine.domain(1)).isPresent();
        assertThat(f.engine.domain(1).orElseThrow().devices()).extracting(DeviceInfo::devid).containsExactly(1);

        SendWorkRequest write = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(dst.address()).rkey(dst.rkey()).wrId(7);
        write.sgl().add(src.address(), 4096, src.lkey());
        viaB[0].postSend(write);
        f.drain();
        assertThat(b.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS));
        assertThat(VerbsFixture.snapshot(dst)).isEqualTo(VerbsFixture.snapshot(src));

        f.engine.closeDevice(1, 1);
        assertThat(f.engine.domain(1)).as("the last device took the domain with it").isEmpty();
        assertThat(peer.cmEvent().type()).isEqualTo(CmEventType.DISCONNECTED);
    }

    @Test
    void theDevicesOfAVmShareItsListenQuota() throws Exception {
        VerbsFixture.Dom a = f.device(1, 0, "vm");
        VerbsFixture.Dom b = f.device(1, 1, "vm");
        int half = ConnectionManager.MAX_LISTENS_PER_DOMAIN / 2;
        for (int i = 0; i < half; i++) {
            a.verbs.listen(10_000 + i);
        }
        for (int i = half; i < ConnectionManager.MAX_LISTENS_PER_DOMAIN; i++) {
            b.verbs.listen(10_000 + i);
        }
        expectErrno(() -> b.verbs.listen(20_000), VerbsErrno.EDQUOT);
        expectErrno(() -> b.verbs.stopListening(10_000), VerbsErrno.ENOENT); // a's, not b's
        f.engine.closeDevice(1, 0);
        b.verbs.listen(20_000);
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void expectErrno(Call call, int errno) {
        assertThatThrownBy(call::run).isInstanceOf(VerbsException.class)
                .extracting(e -> ((VerbsException) e).errno()).isEqualTo(errno);
    }
}
