package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.TransmitQueue;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.api.sched.VmSettings;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WorkCompletion;
import org.junit.jupiter.api.Test;

/** The engine's data path asks the scheduler who moves data next, per domain, and obeys it; swaps lose nothing. */
class SchedulingPathTest {

    /** Always picks the lowest backlogged slot: strict favouritism, easy to observe. */
    private static final class LowestSlotFirst implements Scheduler {
        final TransmitQueue[] backlogged;
        final List<String> turns = new ArrayList<>();

        LowestSlotFirst(int capacity) {
            backlogged = new TransmitQueue[capacity];
        }

        @Override
        public void backlogged(TransmitQueue queue, long nowNanos) {
            backlogged[queue.slot()] = queue;
        }

        @Override
        public void idle(TransmitQueue queue, long nowNanos) {
            backlogged[queue.slot()] = null;
        }

        @Override
        public boolean next(long nowNanos, Turn turn) {
            for (TransmitQueue q : backlogged) {
                if (q != null) {
                    turn.grant(q, 64 * 1024);
                    turns.add(q.domainName());
                    return true;
                }
            }
            return false;
        }

        @Override
        public void sent(TransmitQueue queue, long bytes, long nowNanos) {
        }
    }

    private static final class Source implements SchedulerSource {
        long generation;
        LowestSlotFirst last;

        @Override
        public long generation() {
            return generation;
        }

        @Override
        public Scheduler newScheduler(int capacity) {
            last = new LowestSlotFirst(capacity);
            return last;
        }

        @Override
        public long settingsGeneration() {
            return 0;
        }

        @Override
        public VmSettings settings(String domainName) {
            return SchedulerSource.builtin().settings(domainName);
        }
    }

    private static SendWorkRequest write(long id, MemoryRegion from, MemoryRegion to, int length) {
        SendWorkRequest wr = new SendWorkRequest().wrId(id).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(to.address()).rkey(to.rkey());
        wr.sgl().add(from.address(), length, from.lkey());
        return wr;
    }

    @Test
    void theFavouredDomainFinishesFirstAndASwapMidwayLosesNothing() throws Exception {
        VerbsFixture f = new VerbsFixture();
        Source source = new Source();
        f.engine.scheduling(source);
        VerbsFixture.Dom first = f.domain(1, "first");
        VerbsFixture.Dom second = f.domain(2, "second");
        VerbsFixture.Dom sink = f.domain(3, "sink");
        MemoryRegion a = first.region(1 << 20, AccessFlags.ALL);
        MemoryRegion b = second.region(1 << 20, AccessFlags.ALL);
        MemoryRegion toA = sink.region(1 << 20, AccessFlags.ALL);
        MemoryRegion toB = sink.verbs.regMr(sink.pd, java.nio.ByteBuffer.allocateDirect(1 << 20), 0x7000_0000L,
                AccessFlags.ALL);
        QueuePair qa = f.connect(first, sink)[0];
        QueuePair qb = f.connect(second, sink)[0];

        qb.postSend(write(2, b, toB, 1 << 20));
        qa.postSend(write(1, a, toA, 1 << 20));
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 1000 && order.size() < 2; i++) {
            f.engine.doWork();
            first.completions().forEach(wc -> order.add("first"));
            second.completions().forEach(wc -> order.add("second"));
        }
        assertThat(order).containsExactly("first", "second");
        assertThat(source.last.turns.subList(0, 16)).containsOnly("first");

        // Swap to a new scheduler in the middle of a transfer: it is told who is backlogged and nothing is lost.
        qa.postSend(write(3, a, toA, 1 << 20));
        qa.postSend(write(4, a, toA, 1 << 20));
        f.engine.doWork();
        source.generation++;
        f.drain();
        assertThat(first.completions()).extracting(WorkCompletion::wrId).containsExactly(3L, 4L);
        assertThat(source.last.turns).isNotEmpty().containsOnly("first");
        assertThat(VerbsFixture.snapshot(toA)).isEqualTo(VerbsFixture.snapshot(a));
        assertThat(VerbsFixture.snapshot(toB)).isEqualTo(VerbsFixture.snapshot(b));
    }

    @Test
    void withTheBuiltInRoundRobinTwoBusyDomainsAlternate() throws Exception {
        VerbsFixture f = new VerbsFixture();
        VerbsFixture.Dom first = f.domain(1, "first");
        VerbsFixture.Dom second = f.domain(2, "second");
        VerbsFixture.Dom sink = f.domain(3, "sink");
        MemoryRegion a = first.region(1 << 20, AccessFlags.ALL);
        MemoryRegion b = second.region(1 << 20, AccessFlags.ALL);
        MemoryRegion to = sink.region(1 << 20, AccessFlags.ALL);
        QueuePair qa = f.connect(first, sink)[0];
        QueuePair qb = f.connect(second, sink)[0];
        for (int i = 0; i < 8; i++) {
            qa.postSend(write(i, a, to, 1 << 18));
            qb.postSend(write(100 + i, b, to, 1 << 18));
        }
        int firstDone = 0;
        int secondDone = 0;
        int maxGap = 0;
        while (firstDone + secondDone < 16) {
            f.engine.doWork();
            firstDone += first.completions().size();
            secondDone += second.completions().size();
            maxGap = Math.max(maxGap, Math.abs(firstDone - secondDone));
        }
        assertThat(maxGap).as("neither domain runs ahead by more than one request").isLessThanOrEqualTo(1);
    }
}
