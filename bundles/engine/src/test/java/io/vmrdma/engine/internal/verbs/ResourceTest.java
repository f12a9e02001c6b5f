package io.vmrdma.engine.internal.verbs;

import static io.vmrdma.engine.internal.verbs.QpStateMachineTest.expectErrno;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.api.DomainState;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import org.junit.jupiter.api.Test;

/** Limits, completion-queue overflow, receiver-not-ready, deregistration in flight, keys, domain teardown. */
class ResourceTest {

    private final VerbsFixture f = new VerbsFixture();

    @Test
    void everyPerDomainLimitIsEnforcedWithEdquot() throws Exception {
        f.engine.limits(2, 2, 1, 1, 8192, 4096, 8, 2, 1 << 20, 64L << 20);
        VerbsFixture.Dom a = f.domain(1, "a");
        a.verbs.allocPd();
        expectErrno(a.verbs::allocPd, VerbsErrno.EDQUOT);
        a.verbs.createCq(16);
        expectErrno(() -> a.verbs.createCq(16), VerbsErrno.EDQUOT);
        expectErrno(() -> a.verbs.createCq(4097), VerbsErrno.EINVAL);
        a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(4096), 0, AccessFlags.ALL);
        expectErrno(() -> a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(4096), 0, AccessFlags.ALL), VerbsErrno.EDQUOT);
        QpInitAttributes init = new QpInitAttributes().pd(a.pd).sendCq(a.cq).recvCq(a.cq).maxSendWr(8).maxRecvWr(8)
                .maxSge(2);
        a.verbs.createQp(init);
        expectErrno(() -> a.verbs.createQp(init), VerbsErrno.EDQUOT);
        expectErrno(() -> a.verbs.createQp(init.maxSge(3)), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.createQp(init.maxSge(1).maxSendWr(9)), VerbsErrno.EINVAL);
    }

    @Test
    void registeredBytesAreCappedPerDomain() throws Exception {
        f.engine.limits(4, 4, 4, 100, 10_000, 4096, 8, 2, 1 << 20, 64L << 20);
        VerbsFixture.Dom a = f.domain(1, "a");
        MemoryRegion first = a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(6000), 0, 0);
        expectErrno(() -> a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(6000), 0, 0), VerbsErrno.EDQUOT);
        a.verbs.deregMr(first);
        a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(6000), 0, 0);
    }

    @Test
    void badRegistrationsAreRefused() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        expectErrno(() -> a.verbs.regMr(a.pd, ByteBuffer.allocate(64), 0, 0), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(64), 0, AccessFlags.REMOTE_WRITE),
                VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(64), 0, 64), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.regMr(b.pd, ByteBuffer.allocateDirect(64), 0, 0), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(64), -10L, 0),
                VerbsErrno.EINVAL);
        MemoryRegion mine = a.region(64, 0);
        expectErrno(() -> b.verbs.deregMr(mine), VerbsErrno.EINVAL);
        a.verbs.deregMr(mine);
        expectErrno(() -> a.verbs.deregMr(mine), VerbsErrno.EINVAL);
        assertThat(a.vm().counter(Counter.BAD_REQUESTS)).isEqualTo(6);
    }

    @Test
    void objectsInUseCannotBeFreed() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        QueuePair qp = a.qp();
        expectErrno(() -> a.verbs.deallocPd(a.pd), VerbsErrno.EBUSY);
        expectErrno(() -> a.verbs.destroyCq(a.cq), VerbsErrno.EBUSY);
        a.verbs.destroyQp(qp);
        a.verbs.destroyCq(a.cq);
        a.verbs.deallocPd(a.pd);
        expectErrno(() -> a.verbs.destroyQp(qp), VerbsErrno.EINVAL);
    }

    @Test
    void aCompletionQueueOverflowMovesItsQueuePairsToErr() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        CompletionQueue small = a.verbs.createCq(2);
        QueuePair qp = a.verbs.createQp(new QpInitAttributes().pd(a.pd).sendCq(small).recvCq(small).maxSendWr(8)
                .maxRecvWr(8));
        QueuePair peer = b.qp();
        b.verbs.listen(1);
        long id = a.verbs.connect(qp, 1, 1, -1, null);
        b.cmEvent();
        b.verbs.accept(id, peer, null);
        MemoryRegion mb = b.region(64, AccessFlags.ALL);
        for (int i = 0; i < 4; i++) {
            qp.postSend(new SendWorkRequest().wrId(i).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                    .rkey(mb.rkey()).remoteAddress(mb.address()));
        }
        f.drain();
        assertThat(qp.state()).isEqualTo(QpState.ERR);
        WorkCompletion wc = new WorkCompletion();
        int polled = 0;
        while (small.poll(wc)) {
            assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
            polled++;
        }
        assertThat(polled).isEqualTo(2);
        assertThat(a.vm().counter(Counter.CQ_OVERFLOWS)).isEqualTo(1);
    }

    @Test
    void receiverNotReadyRetriesThenFailsAfterTheLimit() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        QueuePair qp = f.connect(a, b)[0];
        a.verbs.modifyQp(qp, new QpAttributes().rnrRetry(2));
        qp.postSend(new SendWorkRequest().wrId(1).opcode(Opcode.SEND));
        for (int attempt = 0; attempt < 2; attempt++) {
            f.drain();
            assertThat(a.completions()).as("attempt %d waits", attempt).isEmpty();
            f.clock[0] += f.engine.rnrDelayNanos();
        }
        f.drain();
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.RNR_RETRY_EXC_ERR));
        assertThat(a.vm().counter(Counter.RNR_NAKS)).isEqualTo(3);
    }

    @Test
    void withInfiniteRnrRetryASendWaitsForItsReceive() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        QueuePair[] pair = f.connect(a, b);
        pair[0].postSend(new SendWorkRequest().wrId(1).opcode(Opcode.SEND).sendFlags(SendFlags.SIGNALED));
        for (int i = 0; i < 100; i++) {
            f.drain();
            f.clock[0] += 1_000_000;
        }
        assertThat(a.completions()).isEmpty();
        pair[1].postRecv(new RecvWorkRequest().wrId(2));
        f.drain();
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS));
    }

    @Test
    void deregisteringEitherRegionMidTransferFailsTheRequestAndNeverTouchesTheMemoryAgain() throws Exception {
        f.engine.chunkBytes(4096);
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        MemoryRegion ma = a.region(1 << 16, AccessFlags.ALL);
        MemoryRegion mb = b.region(1 << 16, AccessFlags.ALL);
        QueuePair qp = f.connect(a, b)[0];

        SendWorkRequest wr = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).rkey(mb.rkey())
                .remoteAddress(mb.address());
        wr.sgl().add(ma.address(), 1 << 16, ma.lkey());
        qp.postSend(wr);
        f.engine.doWork();
        b.verbs.deregMr(mb);
        f.drain();
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.REM_ACCESS_ERR));

        QueuePair qp2 = f.connect(a, b)[0];
        MemoryRegion mb2 = b.region(1 << 16, AccessFlags.ALL);
        SendWorkRequest wr2 = new SendWorkRequest().wrId(2).opcode(Opcode.RDMA_WRITE).rkey(mb2.rkey())
                .remoteAddress(mb2.address());
        wr2.sgl().add(ma.address(), 1 << 16, ma.lkey());
        qp2.postSend(wr2);
        f.engine.doWork();
        a.verbs.deregMr(ma);
        f.drain();
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.LOC_PROT_ERR));
    }

    @Test
    void aSendThatFailsMidwayGivesItsReceiveBack() throws Exception {
        f.engine.chunkBytes(1024);
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        MemoryRegion ma = a.region(8192, AccessFlags.ALL);
        MemoryRegion mb = b.region(8192, AccessFlags.ALL);
        QueuePair[] pair = f.connect(a, b);
        RecvWorkRequest recv = new RecvWorkRequest().wrId(77);
        recv.sgl().add(mb.address(), 8192, mb.lkey());
        pair[1].postRecv(recv);
        SendWorkRequest send = new SendWorkRequest().wrId(1).opcode(Opcode.SEND);
        send.sgl().add(ma.address(), 8192, ma.lkey());
        pair[0].postSend(send);
        f.engine.doWork();
        a.verbs.deregMr(ma);
        f.drain();
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.LOC_PROT_ERR));
        assertThat(b.completions()).isEmpty();
        b.verbs.modifyQp(pair[1], new QpAttributes().state(QpState.ERR));
        assertThat(b.completions()).singleElement().satisfies(wc -> {
            assertThat(wc.wrId()).isEqualTo(77);
            assertThat(wc.status()).isEqualTo(WcStatus.WR_FLUSH_ERR);
        });
    }

    @Test
    void keysAreUniqueNonZeroAndNotReusedSoon() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        Set<Integer> seen = new HashSet<>();
        for (int round = 0; round < 200; round++) {
            MemoryRegion r = a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(16), 0, AccessFlags.ALL);
            assertThat(r.lkey()).isNotZero().isNotEqualTo(r.rkey());
            assertThat(seen.add(r.lkey())).isTrue();
            assertThat(seen.add(r.rkey())).isTrue();
            a.verbs.deregMr(r);
        }
        KeyGenerator keys = new KeyGenerator(1, 4, 32);
        int first = keys.next(k -> false);
        keys.release(first);
        KeyGenerator replay = new KeyGenerator(1, 4, 32);
        assertThat(replay.next(k -> false)).isEqualTo(first);
        assertThat(keys.next(k -> false)).isNotEqualTo(first);
    }

    @Test
    void closingADomainDisconnectsItsPeersAndReleasesEverything() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        MemoryRegion mb = b.region(64, AccessFlags.ALL);
        QueuePair[] pair = f.connect(a, b);
        Domain domainA = f.engine.domain(1).orElseThrow();
        f.engine.closeDomain(1);
        assertThat(domainA.state()).isEqualTo(DomainState.DESTROYED);
        assertThat(f.engine.domains()).extracting(Domain::domid).containsExactly(2);
        assertThat(b.cmEvent().type()).isEqualTo(CmEventType.DISCONNECTED);
        assertThat(pair[1].state()).isEqualTo(QpState.ERR);
        assertThat(f.engine.domain(1)).isEmpty();
        f.engine.openDomain(1, "a");
        assertThat(mb.rkey()).isNotZero();
    }
}
