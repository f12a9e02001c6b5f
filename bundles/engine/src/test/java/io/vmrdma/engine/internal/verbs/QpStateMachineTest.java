package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.Partitions;
import io.vmrdma.api.verbs.QpAddress;
import io.vmrdma.api.verbs.QpAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class QpStateMachineTest {

    private final VerbsFixture f = new VerbsFixture();

    @Test
    void theTransitionTableIsVerbs() {
        assertThat(allowedFrom(QpState.RESET)).containsExactlyInAnyOrder(QpState.RESET, QpState.INIT, QpState.ERR);
        assertThat(allowedFrom(QpState.INIT))
                .containsExactlyInAnyOrder(QpState.RESET, QpState.INIT, QpState.RTR, QpState.ERR);
        assertThat(allowedFrom(QpState.RTR)).containsExactlyInAnyOrder(QpState.RESET, QpState.RTS, QpState.ERR);
        assertThat(allowedFrom(QpState.RTS))
                .containsExactlyInAnyOrder(QpState.RESET, QpState.RTS, QpState.SQD, QpState.ERR);
        assertThat(allowedFrom(QpState.SQD))
                .containsExactlyInAnyOrder(QpState.RESET, QpState.SQD, QpState.RTS, QpState.ERR);
        assertThat(allowedFrom(QpState.SQE)).containsExactlyInAnyOrder(QpState.RESET, QpState.RTS, QpState.ERR);
        assertThat(allowedFrom(QpState.ERR)).containsExactlyInAnyOrder(QpState.RESET, QpState.ERR);
    }

    private static EnumSet<QpState> allowedFrom(QpState from) {
        EnumSet<QpState> allowed = EnumSet.noneOf(QpState.class);
        for (QpState to : QpState.values()) {
            if (from.canModifyTo(to)) {
                allowed.add(to);
            }
        }
        return allowed;
    }

    @Test
    void byHandFromResetToRtsAndBack() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        QueuePair qa = a.qp();
        QueuePair qb = b.qp();
        QpAttributes attr = new QpAttributes();
        a.verbs.modifyQp(qa, attr.clear().state(QpState.INIT).pkey(Partitions.DEFAULT_PKEY));
        assertThat(qa.state()).isEqualTo(QpState.INIT);
        assertThat(qa.pkey()).isEqualTo(Partitions.DEFAULT_PKEY);
        a.verbs.modifyQp(qa, attr.clear().state(QpState.RTR).remote(qb.address()));
        assertThat(qa.remote()).isEqualTo(qb.address());
        a.verbs.modifyQp(qa, attr.clear().state(QpState.RTS));
        a.verbs.modifyQp(qa, attr.clear().state(QpState.SQD));
        a.verbs.modifyQp(qa, attr.clear().state(QpState.RTS));
        a.verbs.modifyQp(qa, attr.clear().state(QpState.RESET));
        assertThat(qa.state()).isEqualTo(QpState.RESET);
        assertThat(qa.remote()).isNull();
    }

    @Test
    void illegalTransitionsAndMissingAttributesAreRefused() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        QueuePair qp = a.qp();
        QpAttributes attr = new QpAttributes();
        expectErrno(() -> a.verbs.modifyQp(qp, attr.clear().state(QpState.RTS)), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.modifyQp(qp, attr.clear().state(QpState.INIT)), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.modifyQp(qp, attr.clear().state(QpState.INIT).pkey(0x1234)), VerbsErrno.EPERM);
        a.verbs.modifyQp(qp, attr.clear().state(QpState.INIT).pkey(Partitions.DEFAULT_PKEY));
        expectErrno(() -> a.verbs.modifyQp(qp, attr.clear().state(QpState.RTR)), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.modifyQp(qp, attr.clear().state(QpState.INIT).retryCount(8)), VerbsErrno.EINVAL);
        expectErrno(() -> a.verbs.modifyQp(qp, attr.clear().state(QpState.INIT)
                .remote(new QpAddress(1, 2, 3))), VerbsErrno.EINVAL);
        assertThat(qp.state()).isEqualTo(QpState.INIT);
    }

    @ParameterizedTest
    @EnumSource(value = QpState.class, names = {"RESET", "INIT", "RTR"})
    void sendsCannotBePostedBeforeRts(QpState state) throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        QueuePair qp = a.qp();
        QpAttributes attr = new QpAttributes();
        if (state != QpState.RESET) {
            a.verbs.modifyQp(qp, attr.clear().state(QpState.INIT).pkey(Partitions.DEFAULT_PKEY));
        }
        if (state == QpState.RTR) {
            a.verbs.modifyQp(qp, attr.clear().state(QpState.RTR).remote(new QpAddress(1, 1, 999)));
        }
        expectErrno(() -> qp.postSend(new SendWorkRequest().opcode(Opcode.SEND)), VerbsErrno.EINVAL);
        if (state == QpState.RESET) {
            expectErrno(() -> qp.postRecv(new RecvWorkRequest()), VerbsErrno.EINVAL);
        } else {
            qp.postRecv(new RecvWorkRequest().wrId(1));
        }
    }

    @Test
    void errFlushesEverythingOutstandingAndEverythingPostedLater() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        MemoryRegion m = a.region(4096, AccessFlags.ALL);
        QueuePair[] pair = f.connect(a, b);
        QueuePair qp = pair[0];
        for (int i = 0; i < 3; i++) {
            qp.postRecv(new RecvWorkRequest().wrId(100 + i));
        }
        for (int i = 0; i < 3; i++) {
            SendWorkRequest wr = new SendWorkRequest().wrId(i).opcode(Opcode.SEND);
            wr.sgl().add(m.address(), 8, m.lkey());
            qp.postSend(wr);
        }
        a.verbs.modifyQp(qp, new QpAttributes().state(QpState.ERR));
        qp.postSend(new SendWorkRequest().wrId(3).opcode(Opcode.RDMA_WRITE));
        qp.postRecv(new RecvWorkRequest().wrId(103));
        assertThat(a.completions())
                .allSatisfy(wc -> assertThat(wc.status()).isEqualTo(WcStatus.WR_FLUSH_ERR))
                .extracting(WorkCompletion::wrId)
                .containsExactly(0L, 1L, 2L, 100L, 101L, 102L, 3L, 103L);
        f.drain();
        assertThat(a.completions()).isEmpty();
    }

    @Test
    void resetDropsWorkWithoutCompletions() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        QueuePair qp = f.connect(a, b)[0];
        qp.postRecv(new RecvWorkRequest().wrId(1));
        a.verbs.modifyQp(qp, new QpAttributes().state(QpState.RESET));
        f.drain();
        assertThat(a.completions()).isEmpty();
    }

    @Test
    void sqdHoldsSendsUntilRtsAgain() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        MemoryRegion ma = a.region(64, AccessFlags.ALL);
        MemoryRegion mb = b.region(64, AccessFlags.ALL);
        QueuePair qp = f.connect(a, b)[0];
        a.verbs.modifyQp(qp, new QpAttributes().state(QpState.SQD));
        SendWorkRequest wr = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .rkey(mb.rkey()).remoteAddress(mb.address());
        wr.sgl().add(ma.address(), 64, ma.lkey());
        qp.postSend(wr);
        f.drain();
        assertThat(a.completions()).isEmpty();
        a.verbs.modifyQp(qp, new QpAttributes().state(QpState.RTS));
        f.drain();
        assertThat(a.completions()).singleElement()
                .satisfies(wc -> assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS));
    }

    @Test
    void postingBeyondQueueDepthOrSgeLimitIsRefused() throws Exception {
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        QueuePair qp = f.connect(a, b)[0];
        for (int i = 0; i < 256; i++) {
            qp.postRecv(new RecvWorkRequest().wrId(i));
        }
        expectErrno(() -> qp.postRecv(new RecvWorkRequest()), VerbsErrno.ENOMEM);
        RecvWorkRequest wide = new RecvWorkRequest();
        for (int i = 0; i < 5; i++) {
            wide.sgl().add(0, 1, 1);
        }
        a.verbs.modifyQp(qp, new QpAttributes().state(QpState.ERR));
        expectErrno(() -> qp.postRecv(wide), VerbsErrno.EINVAL);
        expectErrno(() -> qp.postSend(new SendWorkRequest().opcode(null)), VerbsErrno.EINVAL);
    }

    static void expectErrno(ThrowingRunnable action, int errno) {
        assertThatThrownBy(action::run).isInstanceOfSatisfying(VerbsException.class,
                e -> assertThat(e.errno()).as(e.getMessage()).isEqualTo(errno));
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
