package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QpState;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsErrno;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.faults.ForwardingNicPort;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * What a guest may ask of dom0's verbs, asked as an attacker would (issue 16, items 1, 2, 3 and 5): each attack gets
 * an error, and the engine's memory, keys and duty cycle stay whole. The same attacks through the shared ring are in
 * the guest module's {@code HostileGuestTest}.
 */
class HostileGuestVerbsTest {

    private static final BigInteger TWO_TO_64 = BigInteger.ONE.shiftLeft(64);

    // ---- 1. address arithmetic ----

    /**
     * {@link Region#allows} against exact arithmetic, for addresses anywhere in the unsigned 64-bit space and
     * especially around 0, 2^63 and 2^64, where signed or wrapping arithmetic goes wrong.
     */
    @Property(tries = 3000)
    void boundsChecksAreExactForEveryAddress(@ForAll("addresses") long address,
                                             @ForAll @IntRange(min = 1, max = 8192) int length,
                                             @ForAll("addresses") long start, @ForAll("sizes") long bytes)
            throws Exception {
        VerbsFixture f = new VerbsFixture();
        VerbsFixture.Dom a = f.domain(1, "a");
        BigInteger end = unsigned(address).add(BigInteger.valueOf(length));
        if (end.compareTo(TWO_TO_64) > 0) {
            assertThatThrownBy(() -> a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(length), address, AccessFlags.ALL))
                    .isInstanceOf(VerbsException.class).hasMessageContaining("wraps");
            return;
        }
        Region region = (Region) a.verbs.regMr(a.pd, ByteBuffer.allocateDirect(length), address, AccessFlags.ALL);
        boolean exact = bytes >= 0 && unsigned(start).compareTo(unsigned(address)) >= 0
                && unsigned(start).add(BigInteger.valueOf(bytes)).compareTo(end) <= 0;
        assertThat(region.allows((Pd) a.pd, start, bytes, 0))
                .as("[0x%x, +%d) in [0x%x, +%d)", start, bytes, address, length).isEqualTo(exact);
        if (exact) {
            assertThat(region.offsetOf(start)).isBetween(0, length - (int) bytes);
        }
    }

    @Provide
    Arbitrary<Long> addresses() {
        Arbitrary<Long> near = Arbitraries.longs().between(-20_000, 20_000);
        return Arbitraries.oneOf(near, near.map(d -> Long.MIN_VALUE + d), near.map(d -> Long.MAX_VALUE - d),
                Arbitraries.longs());
    }

    @Provide
    Arbitrary<Long> sizes() {
        return Arbitraries.oneOf(Arbitraries.longs().between(-2, 10_000), Arbitraries.longs(),
                Arbitraries.of(Long.MAX_VALUE, Long.MIN_VALUE, -1L));
    }

    /**
     * A region just above 2^63 and a write aimed just below it: with signed arithmetic {@code start - address} was
     * -4096, inside the bound, and the copy went 4 KiB before the region's memory. Now the write is refused and
     * every region is byte-identical.
     */
    @Test
    void aWriteBelowARegionAt2To63IsRefused() throws Exception {
        VerbsFixture f = new VerbsFixture();
        VerbsFixture.Dom a = f.domain(1, "a");
        VerbsFixture.Dom b = f.domain(2, "b");
        MemoryRegion source = a.region(4096, AccessFlags.ALL);
        MemoryRegion high = b.verbs.regMr(b.pd, ByteBuffer.allocateDirect(8192), Long.MIN_VALUE, AccessFlags.ALL);
        QueuePair[] pair = f.connect(a, b);
        byte[] before = VerbsFixture.snapshot(high);
        SendWorkRequest wr = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE)
                .remoteAddress(Long.MIN_VALUE - 4096).rkey(high.rkey());
        wr.sgl().add(source.address(), 64, source.lkey());
        pair[0].postSend(wr);
        f.drain();
        assertThat(a.completions()).extracting(WorkCompletion::status).containsExactly(WcStatus.REM_ACCESS_ERR);
        assertThat(VerbsFixture.snapshot(high)).isEqualTo(before);
        assertThat(b.vm().counter(Counter.PROTECTION_FAULTS)).isEqualTo(1);
    }

    private static BigInteger unsigned(long value) {
        return new BigInteger(Long.toUnsignedString(value));
    }

    // ---- 3. queue memory is charged ----

    /**
     * Queue pairs at the largest sizes until the domain's queue memory is spent: EDQUOT, not OutOfMemoryError;
     * destroying one gives its charge back. Another domain then finds the node's memory spent: ENOMEM.
     */
    @Test
    void queueMemoryIsChargedToTheDomainAndTheNode() throws Exception {
        VerbsFixture f = new VerbsFixture();
        VerbsFixture.Dom a = f.domain(1, "a");
        long limit = Limits.DEFAULTS.maxQueueBytes();
        long perQp = QueueMemory.ofQp(16384, 16384);
        long held = ((DeviceVerbs) a.verbs).domain().queueBytes();
        QpInitAttributes big = new QpInitAttributes().pd(a.pd).sendCq(a.cq).recvCq(a.cq).maxSendWr(16384)
                .maxRecvWr(16384).maxSge(16);
        List<QueuePair> made = new ArrayList<>();
        for (long i = 0; i < (limit - held) / perQp; i++) {
            made.add(a.verbs.createQp(big));
        }
        assertThat(made).as("about 12.75 MiB each").hasSize((int) ((limit - held) / perQp));
        assertErrno(() -> a.verbs.createQp(big), VerbsErrno.EDQUOT);
        assertErrno(() -> a.verbs.createCq((int) ((limit - held) % perQp / QueueMemory.CQ_ENTRY_BYTES) + 1),
                VerbsErrno.EDQUOT);
        a.verbs.destroyQp(made.remove(0));
        made.add(a.verbs.createQp(big));

        f.engine.maxNodeQueueBytes(f.engine.queueMemory().used() + perQp / 2);
        VerbsFixture.Dom b = f.domain(2, "b");
        assertErrno(() -> b.verbs.createQp(new QpInitAttributes().pd(b.pd).sendCq(b.cq).recvCq(b.cq)
                .maxSendWr(16384).maxRecvWr(16384).maxSge(1)), VerbsErrno.ENOMEM);
        b.qp();
        long before = f.engine.queueMemory().used();
        f.engine.closeDomain(1);
        assertThat(f.engine.queueMemory().used()).as("a's charge given back")
                .isEqualTo(before - held - made.size() * perQp);
    }

    // ---- 5. identifiers are unpredictable ----

    /**
     * Queue pair numbers are on the wire: they are neither sequential nor soon reused, all 24-bit and non-zero.
     * (They counted up from 1 before, so the next tenant's number was the last one plus one.)
     */
    @Test
    void queuePairNumbersAreUnpredictableAndNotSoonReused() throws Exception {
        VerbsFixture f = new VerbsFixture();
        VerbsFixture.Dom a = f.domain(1, "a");
        List<Integer> qpns = new ArrayList<>();
        List<QueuePair> qps = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            QueuePair qp = a.qp();
            qps.add(qp);
            qpns.add(qp.address().qpn());
        }
        assertThat(qpns).doesNotHaveDuplicates().allSatisfy(q -> assertThat(q).isBetween(1, VerbsEngine.MAX_QPN));
        int consecutive = 0;
        for (int i = 1; i < qpns.size(); i++) {
            consecutive += qpns.get(i) - qpns.get(i - 1) == 1 ? 1 : 0;
        }
        assertThat(consecutive).as("consecutive numbers in %s", qpns).isLessThan(3);
        int released = qpns.get(0);
        a.verbs.destroyQp(qps.get(0));
        Set<Integer> next = new HashSet<>();
        for (int i = 0; i < 60; i++) {
            next.add(a.qp().address().qpn());
        }
        assertThat(next).doesNotContain(released);
    }

    @Test
    void keysFromDifferentSecretsDiffer() {
        KeyGenerator one = new KeyGenerator(4, 32);
        KeyGenerator other = new KeyGenerator(4, 32);
        List<Integer> a = new ArrayList<>();
        List<Integer> b = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            a.add(one.next(k -> false));
            b.add(other.next(k -> false));
        }
        assertThat(a).doesNotContainAnyElementsOf(b);
        KeyGenerator narrow = new KeyGenerator(7L, 4, 24);
        for (int i = 0; i < 1000; i++) {
            assertThat(narrow.next(k -> false)).isBetween(1, (1 << 24) - 1);
        }
        assertThatThrownBy(() -> narrow.next(k -> true)).isInstanceOf(IllegalStateException.class);
    }

    // ---- 2. an exception on one queue pair's turn ----

    /**
     * The NIC binding throws while one queue pair's WRITE claims a frame: that queue pair goes to ERR and the
     * failure is counted, and another domain's WRITE on the same node, posted afterwards, arrives byte-identical.
     */
    @Test
    void anExceptionOnOneTurnFailsThatQueuePairOnly() throws Exception {
        try (Cluster c = new Cluster(2, 9000, Faults.NONE, 11)) {
            ThrowingPort throwing = new ThrowingPort(c.nics().get(0));
            c.node(1).nic(throwing);
            Link victim = Link.across(c, 1, 2, 7, 256 * 1024);
            Link attacked = Link.across(c, 3, 4, 8, 4096);
            throwing.armed = true;
            attacked.write(1);
            c.settle(50);
            assertThat(attacked.completions()).extracting(WorkCompletion::status)
                    .containsExactly(WcStatus.WR_FLUSH_ERR);
            assertThat(attacked.qp.state()).isEqualTo(QpState.ERR);
            assertThat(c.node(1).counter(Counter.INTERNAL_ERRORS)).isEqualTo(1);
            victim.write(2);
            c.settle(50);
            assertThat(victim.completions()).extracting(WorkCompletion::status).containsExactly(WcStatus.SUCCESS);
            assertThat(victim.arrived()).isEqualTo(victim.pattern);
        }
    }

    /** A queue pair of a domain on node 1 connected to one of a domain on node 2, with a seeded source buffer. */
    private record Link(VerbsContext local, QueuePair qp, CompletionQueue cq, MemoryRegion from, MemoryRegion to,
                        ByteBuffer target, byte[] pattern) {

        static Link across(Cluster c, int domA, int domB, long service, int bytes) throws Exception {
            VerbsContext va = c.node(1).openDomain(domA, "d" + domA);
            VerbsContext vb = c.node(2).openDomain(domB, "d" + domB);
            ProtectionDomain pda = va.allocPd();
            ProtectionDomain pdb = vb.allocPd();
            CompletionQueue cqa = va.createCq(64);
            CompletionQueue cqb = vb.createCq(64);
            byte[] pattern = new byte[bytes];
            new java.util.Random(service).nextBytes(pattern);
            ByteBuffer source = ByteBuffer.allocateDirect(bytes).put(0, pattern);
            ByteBuffer target = ByteBuffer.allocateDirect(bytes);
            MemoryRegion from = va.regMr(pda, source, 0x1000_0000L, AccessFlags.ALL);
            MemoryRegion to = vb.regMr(pdb, target, 0x2000_0000L, AccessFlags.ALL);
            QpInitAttributes init = new QpInitAttributes().maxSendWr(16).maxRecvWr(16).maxSge(1);
            QueuePair qa = va.createQp(init.pd(pda).sendCq(cqa).recvCq(cqa));
            QueuePair qb = vb.createQp(init.pd(pdb).sendCq(cqb).recvCq(cqb));
            vb.listen(service);
            va.connect(qa, 2, service, -1, null);
            c.settle(20);
            CmEvent request = new CmEvent();
            assertThat(vb.pollCmEvent(request)).isTrue();
            vb.accept(request.connectionId(), qb, null);
            c.settle(20);
            CmEvent established = new CmEvent();
            assertThat(va.pollCmEvent(established)).isTrue();
            assertThat(established.type()).isEqualTo(CmEventType.ESTABLISHED);
            return new Link(va, qa, cqa, from, to, target, pattern);
        }

        void write(long wrId) throws VerbsException {
            SendWorkRequest write = new SendWorkRequest().wrId(wrId).opcode(Opcode.RDMA_WRITE)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(to.address()).rkey(to.rkey());
            write.sgl().add(from.address(), pattern.length, from.lkey());
            qp.postSend(write);
        }

        List<WorkCompletion> completions() {
            List<WorkCompletion> all = new ArrayList<>();
            WorkCompletion wc = new WorkCompletion();
            while (cq.poll(wc)) {
                all.add(wc);
                wc = new WorkCompletion();
            }
            return all;
        }

        byte[] arrived() {
            byte[] bytes = new byte[pattern.length];
            target.get(0, bytes);
            return bytes;
        }
    }

    /** A binding that throws once from {@code tryClaim} when armed, as a bug reached by one request would. */
    private static final class ThrowingPort extends ForwardingNicPort {
        volatile boolean armed;

        ThrowingPort(io.vmrdma.api.nic.NicPort delegate) {
            super(delegate);
        }

        @Override
        public boolean tryClaim(LinkAddress destination, int length, FrameClaim claim) {
            if (armed && length > 1024) {
                armed = false;
                throw new IllegalStateException("binding failed mid-claim");
            }
            return super.tryClaim(destination, length, claim);
        }
    }

    private static void assertErrno(ThrowingCall call, int errno) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(VerbsException.class,
                e -> assertThat(e.errno()).as(e.getMessage()).isEqualTo(errno));
    }

    private interface ThrowingCall {
        void run() throws Exception;
    }
}
