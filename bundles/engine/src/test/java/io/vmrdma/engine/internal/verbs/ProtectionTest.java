package io.vmrdma.engine.internal.verbs;

import static io.vmrdma.engine.internal.verbs.VerbsFixture.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every kind of bad key, bound, access flag, protection domain and partition: the verbs status, the queue pair in
 * ERR, the fault counted, and the target memory byte-identical.
 */
class ProtectionTest {

    private final VerbsFixture f = new VerbsFixture();
    private VerbsFixture.Dom a;
    private VerbsFixture.Dom b;
    private MemoryRegion local;
    private MemoryRegion remote;
    private MemoryRegion remoteReadOnly;
    private MemoryRegion remoteNoRemote;
    private MemoryRegion otherPd;
    private QueuePair qa;
    private QueuePair qb;

    @BeforeEach
    void setUp() throws Exception {
        a = f.domain(1, "a");
        b = f.domain(2, "b");
        local = a.region(8192, AccessFlags.ALL);
        remote = b.region(8192, AccessFlags.ALL);
        remoteReadOnly = b.region(8192, AccessFlags.REMOTE_READ);
        remoteNoRemote = b.region(8192, AccessFlags.LOCAL_WRITE);
        otherPd = b.verbs.regMr(b.verbs.allocPd(), java.nio.ByteBuffer.allocateDirect(8192), 0x9000_0000L,
                AccessFlags.ALL);
        QueuePair[] pair = f.connect(a, b);
        qa = pair[0];
        qb = pair[1];
    }

    private WcStatus run(SendWorkRequest wr) throws Exception {
        List<byte[]> before = List.of(snapshot(local), snapshot(remote), snapshot(remoteReadOnly),
                snapshot(remoteNoRemote), snapshot(otherPd));
        qa.postSend(wr.wrId(1).sendFlags(0));
        f.drain();
        List<byte[]> after = List.of(snapshot(local), snapshot(remote), snapshot(remoteReadOnly),
                snapshot(remoteNoRemote), snapshot(otherPd));
        for (int i = 0; i < before.size(); i++) {
            assertThat(after.get(i)).as("region %d untouched", i).isEqualTo(before.get(i));
        }
        List<WorkCompletion> wcs = a.completions();
        assertThat(wcs).as("an error completes even unsignaled").hasSize(1);
        assertThat(qa.state()).isEqualTo(QpState.ERR);
        return wcs.get(0).status();
    }

    private SendWorkRequest write(MemoryRegion target, long address, int length, int rkey) {
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).remoteAddress(address).rkey(rkey);
        wr.sgl().add(local.address(), length, local.lkey());
        return wr;
    }

    private long faults(VerbsFixture.Dom d) {
        return d.vm().counter(Counter.PROTECTION_FAULTS);
    }

    @Test
    void unknownRkey() throws Exception {
        assertThat(run(write(remote, remote.address(), 8, remote.rkey() ^ 0x5A5A5A5A)))
                .isEqualTo(WcStatus.REM_ACCESS_ERR);
        assertThat(faults(b)).isEqualTo(1);
    }

    @Test
    void rkeyOfTheRightDomainButAnotherProtectionDomain() throws Exception {
        assertThat(run(write(otherPd, otherPd.address(), 8, otherPd.rkey()))).isEqualTo(WcStatus.REM_ACCESS_ERR);
    }

    @Test
    void rkeyOfTheRequestersOwnRegion() throws Exception {
        assertThat(run(write(local, local.address(), 8, local.rkey()))).isEqualTo(WcStatus.REM_ACCESS_ERR);
    }

    @Test
    void writeIntoARegionWithoutRemoteWrite() throws Exception {
        assertThat(run(write(remoteReadOnly, remoteReadOnly.address(), 8, remoteReadOnly.rkey())))
                .isEqualTo(WcStatus.REM_ACCESS_ERR);
    }

    @Test
    void readFromARegionWithoutRemoteRead() throws Exception {
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.RDMA_READ).remoteAddress(remoteNoRemote.address())
                .rkey(remoteNoRemote.rkey());
        wr.sgl().add(local.address(), 8, local.lkey());
        assertThat(run(wr)).isEqualTo(WcStatus.REM_ACCESS_ERR);
    }

    @Test
    void remoteRangesPastEitherEnd() throws Exception {
        assertThat(run(write(remote, remote.address() + 8190, 8, remote.rkey()))).isEqualTo(WcStatus.REM_ACCESS_ERR);
    }

    @Test
    void remoteRangeBeforeTheStart() throws Exception {
        assertThat(run(write(remote, remote.address() - 1, 8, remote.rkey()))).isEqualTo(WcStatus.REM_ACCESS_ERR);
    }

    @Test
    void remoteRangeThatWrapsAround() throws Exception {
        assertThat(run(write(remote, Long.MAX_VALUE, 8, remote.rkey()))).isEqualTo(WcStatus.REM_ACCESS_ERR);
    }

    @Test
    void unknownLkey() throws Exception {
        SendWorkRequest wr = write(remote, remote.address(), 8, remote.rkey());
        wr.sgl().clear();
        wr.sgl().add(local.address(), 8, local.lkey() + 1);
        assertThat(run(wr)).isEqualTo(WcStatus.LOC_PROT_ERR);
        assertThat(faults(a)).isEqualTo(1);
    }

    @Test
    void lkeyOfAnotherDomain() throws Exception {
        SendWorkRequest wr = write(remote, remote.address(), 8, remote.rkey());
        wr.sgl().clear();
        wr.sgl().add(remote.address(), 8, remote.lkey());
        assertThat(run(wr)).isEqualTo(WcStatus.LOC_PROT_ERR);
    }

    @Test
    void localRangePastTheEnd() throws Exception {
        SendWorkRequest wr = write(remote, remote.address(), 8, remote.rkey());
        wr.sgl().clear();
        wr.sgl().add(local.address() + 8000, 200, local.lkey());
        assertThat(run(wr)).isEqualTo(WcStatus.LOC_PROT_ERR);
    }

    @Test
    void readIntoLocalMemoryWithoutLocalWrite() throws Exception {
        MemoryRegion readOnlyLocal = a.region(64, 0);
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.RDMA_READ).remoteAddress(remote.address())
                .rkey(remote.rkey());
        wr.sgl().add(readOnlyLocal.address(), 8, readOnlyLocal.lkey());
        assertThat(run(wr)).isEqualTo(WcStatus.LOC_PROT_ERR);
    }

    @Test
    void sendIntoAReceiveBufferWithoutLocalWrite() throws Exception {
        RecvWorkRequest recv = new RecvWorkRequest().wrId(5);
        recv.sgl().add(remoteReadOnly.address(), 64, remoteReadOnly.lkey());
        qb.postRecv(recv);
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.SEND);
        wr.sgl().add(local.address(), 8, local.lkey());
        assertThat(run(wr)).isEqualTo(WcStatus.REM_OP_ERR);
        assertThat(b.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.LOC_PROT_ERR));
        assertThat(qb.state()).isEqualTo(QpState.ERR);
    }

    @Test
    void sendLongerThanTheReceiveBuffer() throws Exception {
        RecvWorkRequest recv = new RecvWorkRequest().wrId(5);
        recv.sgl().add(remote.address(), 4, remote.lkey());
        qb.postRecv(recv);
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.SEND);
        wr.sgl().add(local.address(), 8, local.lkey());
        assertThat(run(wr)).isEqualTo(WcStatus.REM_INV_REQ_ERR);
        assertThat(b.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.LOC_LEN_ERR));
    }

    @Test
    void messageLongerThanTheLimit() throws Exception {
        f.engine.limits(64, 256, 256, 4096, 128L << 20, 65536, 16384, 16, 1024, 64L << 20);
        assertThat(run(write(remote, remote.address(), 1025, remote.rkey()))).isEqualTo(WcStatus.LOC_LEN_ERR);
    }

    @Test
    void aDomainRemovedFromTheConnectionsPartitionIsUnreachable() throws Exception {
        f.engine.partitions(Map.of(0x0010, List.of("a")));
        assertThat(run(write(remote, remote.address(), 8, remote.rkey()))).isEqualTo(WcStatus.RETRY_EXC_ERR);
        assertThat(a.vm().counter(Counter.PARTITION_VIOLATIONS)).isEqualTo(1);
    }

    @Test
    void aResponderThatIsNotConnectedToTheRequester() throws Exception {
        b.verbs.modifyQp(qb, new io.vmrdma.api.verbs.QpAttributes().state(QpState.ERR));
        assertThat(run(write(remote, remote.address(), 8, remote.rkey()))).isEqualTo(WcStatus.RETRY_EXC_ERR);
    }

    @Test
    void deregisteredRemoteRegion() throws Exception {
        int rkey = remote.rkey();
        b.verbs.deregMr(remote);
        SendWorkRequest wr = new SendWorkRequest().opcode(Opcode.RDMA_WRITE).remoteAddress(remote.address())
                .rkey(rkey).sendFlags(SendFlags.SIGNALED).wrId(1);
        wr.sgl().add(local.address(), 8, local.lkey());
        qa.postSend(wr);
        f.drain();
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.REM_ACCESS_ERR));
    }
}
