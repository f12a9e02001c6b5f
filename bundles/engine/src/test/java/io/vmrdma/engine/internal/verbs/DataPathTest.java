package io.vmrdma.engine.internal.verbs;

import static io.vmrdma.engine.internal.verbs.VerbsFixture.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;

import io.vmrdma.api.Counter;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcOpcode;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DataPathTest {

    private final VerbsFixture f = new VerbsFixture();
    private VerbsFixture.Dom a;
    private VerbsFixture.Dom b;
    private QueuePair qa;
    private QueuePair qb;
    private MemoryRegion ma;
    private MemoryRegion mb;

    @BeforeEach
    void connect() throws Exception {
        a = f.domain(1, "alpha");
        b = f.domain(2, "beta");
        ma = a.region(1 << 20, AccessFlags.ALL);
        mb = b.region(1 << 20, AccessFlags.ALL);
        QueuePair[] pair = f.connect(a, b);
        qa = pair[0];
        qb = pair[1];
    }

    private SendWorkRequest write(long id, long localAddr, int length, long remoteAddr) {
        SendWorkRequest wr = new SendWorkRequest().wrId(id).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(remoteAddr).rkey(mb.rkey());
        wr.sgl().add(localAddr, length, ma.lkey());
        return wr;
    }

    @Test
    void rdmaWriteCopiesExactlyTheRangeAndCompletesSignaled() throws Exception {
        byte[] before = VerbsFixture.snapshot(mb);
        byte[] expected = bytes(ma, ma.address() + 100, 5000);
        qa.postSend(write(7, ma.address() + 100, 5000, mb.address() + 333));
        f.drain();

        assertThat(bytes(mb, mb.address() + 333, 5000)).isEqualTo(expected);
        byte[] after = VerbsFixture.snapshot(mb);
        assertThat(Arrays.copyOfRange(after, 0, 333)).isEqualTo(Arrays.copyOfRange(before, 0, 333));
        assertThat(Arrays.copyOfRange(after, 5333, after.length))
                .isEqualTo(Arrays.copyOfRange(before, 5333, before.length));

        List<WorkCompletion> wcs = a.completions();
        assertThat(wcs).hasSize(1);
        assertThat(wcs.get(0).wrId()).isEqualTo(7);
        assertThat(wcs.get(0).status()).isEqualTo(WcStatus.SUCCESS);
        assertThat(wcs.get(0).opcode()).isEqualTo(WcOpcode.RDMA_WRITE);
        assertThat(wcs.get(0).byteLength()).isEqualTo(5000);
        assertThat(b.completions()).isEmpty();
        assertThat(f.engine.counter(Counter.RDMA_WRITE_BYTES)).isEqualTo(5000);
        assertThat(a.vm().counter(Counter.RDMA_WRITE_OPS)).isEqualTo(1);
    }

    @Test
    void unsignaledSuccessesCompleteSilentlyButInOrder() throws Exception {
        for (int i = 0; i < 10; i++) {
            SendWorkRequest wr = write(i, ma.address(), 10, mb.address() + i * 10L);
            wr.sendFlags(i % 3 == 0 ? SendFlags.SIGNALED : 0);
            qa.postSend(wr);
        }
        f.drain();
        assertThat(a.completions()).extracting(WorkCompletion::wrId).containsExactly(0L, 3L, 6L, 9L);
    }

    @Test
    void sendScattersIntoTheReceiveBuffersAndEchoesImmediateData() throws Exception {
        RecvWorkRequest recv = new RecvWorkRequest().wrId(99);
        recv.sgl().add(mb.address() + 10, 3, mb.lkey()).add(mb.address() + 1000, 100, mb.lkey());
        qb.postRecv(recv);
        SendWorkRequest send = new SendWorkRequest().wrId(5).opcode(Opcode.SEND_WITH_IMM).immData(0xDEADBEEF)
                .sendFlags(SendFlags.SIGNALED);
        send.sgl().add(ma.address() + 50, 2, ma.lkey()).add(ma.address() + 500, 20, ma.lkey());
        byte[] message = new byte[22];
        System.arraycopy(bytes(ma, ma.address() + 50, 2), 0, message, 0, 2);
        System.arraycopy(bytes(ma, ma.address() + 500, 20), 0, message, 2, 20);
        qa.postSend(send);
        f.drain();

        byte[] landed = new byte[22];
        System.arraycopy(bytes(mb, mb.address() + 10, 3), 0, landed, 0, 3);
        System.arraycopy(bytes(mb, mb.address() + 1000, 19), 0, landed, 3, 19);
        assertThat(landed).isEqualTo(message);

        WorkCompletion wc = b.completions().get(0);
        assertThat(wc.wrId()).isEqualTo(99);
        assertThat(wc.opcode()).isEqualTo(WcOpcode.RECV);
        assertThat(wc.byteLength()).isEqualTo(22);
        assertThat(wc.withImm()).isTrue();
        assertThat(wc.immData()).isEqualTo(0xDEADBEEF);
        assertThat(wc.qpn()).isEqualTo(qb.address().qpn());
        assertThat(a.completions()).extracting(WorkCompletion::opcode).containsExactly(WcOpcode.SEND);
    }

    @Test
    void writeWithImmediateConsumesAReceiveAndReportsTheLength() throws Exception {
        qb.postRecv(new RecvWorkRequest().wrId(1));
        SendWorkRequest wr = write(2, ma.address(), 4096, mb.address() + 8192).opcode(Opcode.RDMA_WRITE_WITH_IMM)
                .immData(77);
        qa.postSend(wr);
        f.drain();
        assertThat(bytes(mb, mb.address() + 8192, 4096)).isEqualTo(bytes(ma, ma.address(), 4096));
        WorkCompletion wc = b.completions().get(0);
        assertThat(wc.opcode()).isEqualTo(WcOpcode.RECV_RDMA_WITH_IMM);
        assertThat(wc.immData()).isEqualTo(77);
        assertThat(wc.byteLength()).isEqualTo(4096);
    }

    @Test
    void rdmaReadGathersRemoteBytesIntoLocalBuffers() throws Exception {
        SendWorkRequest read = new SendWorkRequest().wrId(3).opcode(Opcode.RDMA_READ).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(mb.address() + 77).rkey(mb.rkey());
        read.sgl().add(ma.address() + 1, 10, ma.lkey()).add(ma.address() + 100_000, 90_000, ma.lkey());
        byte[] remote = bytes(mb, mb.address() + 77, 90_010);
        qa.postSend(read);
        f.drain();
        byte[] local = new byte[90_010];
        System.arraycopy(bytes(ma, ma.address() + 1, 10), 0, local, 0, 10);
        System.arraycopy(bytes(ma, ma.address() + 100_000, 90_000), 0, local, 10, 90_000);
        assertThat(local).isEqualTo(remote);
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.opcode()).isEqualTo(WcOpcode.RDMA_READ))
                .satisfies(wc -> assertThat(wc.byteLength()).isEqualTo(90_010));
    }

    @Test
    void aBigMessageMovesInChunksAcrossDutyCyclesAndInterleavesWithOtherQueuePairs() throws Exception {
        f.engine.chunkBytes(4096);
        QueuePair[] second = f.connect(a, b);
        qa.postSend(write(1, ma.address(), 1 << 20, mb.address()));
        second[0].postSend(write(2, ma.address(), 10, mb.address()));
        assertThat(f.engine.doWork()).isPositive();
        assertThat(f.engine.doWork()).isPositive();
        assertThat(a.completions()).extracting(WorkCompletion::wrId).containsExactly(2L);
        f.drain();
        assertThat(a.completions()).extracting(WorkCompletion::wrId).containsExactly(1L);
        assertThat(VerbsFixture.snapshot(mb)).isEqualTo(VerbsFixture.snapshot(ma));
    }

    @Test
    void zeroLengthOperationsComplete() throws Exception {
        qb.postRecv(new RecvWorkRequest().wrId(1));
        qa.postSend(new SendWorkRequest().wrId(2).opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED));
        qa.postSend(new SendWorkRequest().wrId(3).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .rkey(mb.rkey()).remoteAddress(mb.address() + mb.length()));
        f.drain();
        assertThat(a.completions()).extracting(WorkCompletion::status).containsOnly(WcStatus.SUCCESS).hasSize(2);
        assertThat(b.completions()).singleElement().satisfies(wc -> assertThat(wc.byteLength()).isZero());
    }
}
