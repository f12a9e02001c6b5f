package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.vmrdma.api.DomainMigration;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code migration_pause_ms} for {@code ./bench.sh}: a VM with 64 MiB registered streams RDMA WRITE_WITH_IMM (64 KiB
 * messages, 8 in flight) to a VM on another node, on the real clock, and migrates between two nodes five times while
 * it streams. A migration's pause is the longest the receiver went without a message around it; the hypervisor's
 * copy of the 64 MiB is inside it, as it is inside Xen's stop-and-copy. Same-run baselines: the longest gap of the
 * stream over as long without a migration, and one copy of 64 MiB alone. Runs only with {@code -Dvmrdma.bench=true};
 * {@code -Dvmrdma.bench.out=<file>} also writes JSON. Asserts nothing about speed.
 */
class MigrationPauseBenchmarkTest {

    private static final int REGISTERED = 64 << 20;
    private static final int MESSAGE = 64 << 10;
    private static final int WINDOW = 8;
    private static final int MIGRATIONS = 5;
    private static final long STREAM_NANOS = 300_000_000L;

    private Cluster cluster;
    private VerbsContext moverVerbs;
    private CompletionQueue moverCq;
    private QueuePair moverQp;
    private MemoryRegion moverRegion;
    private ByteBuffer moverMemory;
    private ByteBuffer arriving;
    private Cluster.Dom peer;
    private MemoryRegion peerRegion;
    private long posted;
    private long done;
    private long received;
    private long lastReceivedNanos;
    private long longestGapNanos;
    private boolean paused;
    private long enginePauseNanos = -1;

    @Test
    void pauseOfAVmWith64MiBRegisteredMigratingWhileItStreams() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        try (Cluster c = new Cluster(3, 9000, Faults.NONE, 5, System::nanoTime)) {
            cluster = c;
            setUp();
            stream(STREAM_NANOS);
            longestGapNanos = 0;
            stream(STREAM_NANOS);
            long baselineGap = longestGapNanos;
            long copyNanos = copyOnce();
            List<Double> pauses = new ArrayList<>();
            List<Double> enginePauses = new ArrayList<>();
            int at = 1;
            for (int m = 0; m < MIGRATIONS; m++) {
                int to = at == 1 ? 3 : 1;
                longestGapNanos = 0;
                enginePauseNanos = -1;
                cluster.node(at).migrations().migrate(10, to, listener());
                while (enginePauseNanos < 0) {
                    pump();
                }
                stream(STREAM_NANOS / 3);
                pauses.add(longestGapNanos / 1e6);
                enginePauses.add(enginePauseNanos / 1e6);
                at = to;
                System.out.printf(Locale.ROOT,
                        "[bench] migration %d to node %d: stream paused %.1f ms (engine %.1f ms)%n",
                        m + 1, to, longestGapNanos / 1e6, enginePauseNanos / 1e6);
            }
            double p50 = median(pauses);
            System.out.printf(Locale.ROOT,
                    "[bench] migration_pause_ms p50 %.1f (engine %.1f); stream's own longest gap "
                            + "%.2f ms, a 64 MiB copy %.1f ms%n",
                    p50, median(enginePauses), baselineGap / 1e6, copyNanos / 1e6);
            String out = System.getProperty("vmrdma.bench.out");
            if (out != null) {
                Files.writeString(Path.of(out), String.format(Locale.ROOT,
                        "{\"registered_bytes\":%d,\"pauses_ms\":%s,\"engine_pauses_ms\":%s,\"pause_p50_ms\":%.3f,"
                                + "\"engine_pause_p50_ms\":%.3f,\"baseline_gap_ms\":%.3f,\"copy_ms\":%.3f,"
                                + "\"messages\":%d}",
                        REGISTERED, pauses, enginePauses, p50, median(enginePauses), baselineGap / 1e6,
                        copyNanos / 1e6, received), StandardCharsets.UTF_8);
            }
            assertThat(received).isEqualTo(done);
        }
    }

    private void setUp() throws Exception {
        Cluster.Dom mover = cluster.domain(1, 10, "mover");
        peer = cluster.domain(2, 20, "peer");
        moverMemory = ByteBuffer.allocateDirect(REGISTERED);
        moverRegion = mover.verbs.regMr(mover.pd, moverMemory, 0x1_0000_0000L, AccessFlags.ALL);
        peerRegion = peer.region(MESSAGE * WINDOW, AccessFlags.ALL, 2);
        moverQp = cluster.connect(mover, peer, 99)[0];
        moverVerbs = mover.verbs;
        moverCq = mover.cq;
        for (var engine : cluster.engines()) {
            engine.migrations().arrival(new CopiedMemoryArrival() {
                @Override
                ByteBuffer sourceMemory(long address) {
                    return moverMemory;
                }

                @Override
                void copied(long address, ByteBuffer copy) {
                    arriving = copy;
                }

                @Override
                public void arrived(VerbsContext verbs, ArrivedObjects objects) {
                    moverVerbs = verbs;
                    moverCq = objects.cqs().values().iterator().next();
                    moverQp = objects.qps().get(moverQp.address().qpn());
                    moverRegion = objects.regions().get(moverRegion.lkey());
                    moverMemory = arriving;
                }

                @Override
                public void abandoned(int domid, String name) {
                    arriving = null;
                }
            });
        }
        QueuePair peerQp = peerQpOf();
        for (int i = 0; i < 256; i++) {
            peerQp.postRecv(new RecvWorkRequest().wrId(i));
        }
    }

    private QueuePair peerQpOf() {
        return (QueuePair) cluster.node(2).qpByNumber(moverQp.remote().qpn());
    }

    private DomainMigration.Listener listener() {
        return new DomainMigration.Listener() {
            @Override
            public void paused(int stateBytes) {
                paused = true;
            }

            @Override
            public void completed(long pauseNanos) {
                paused = false;
                enginePauseNanos = pauseNanos;
            }

            @Override
            public void failed(String reason) {
                throw new AssertionError("migration failed: " + reason);
            }
        };
    }

    private void stream(long nanos) throws Exception {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            pump();
        }
    }

    /** One round: the mover posts and polls (unless paused), the peer polls and reposts, every engine works once. */
    private void pump() throws Exception {
        WorkCompletion wc = new WorkCompletion();
        if (!paused) {
            while (moverCq.poll(wc)) {
                assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
                done++;
            }
            while (posted - done < WINDOW) {
                SendWorkRequest wr = new SendWorkRequest().wrId(posted).opcode(Opcode.RDMA_WRITE_WITH_IMM)
                        .immData((int) posted).sendFlags(SendFlags.SIGNALED).rkey(peerRegion.rkey())
                        .remoteAddress(peerRegion.address() + (posted % WINDOW) * MESSAGE);
                wr.sgl().add(moverRegion.address() + (posted % 1024) * MESSAGE, MESSAGE, moverRegion.lkey());
                moverQp.postSend(wr);
                posted++;
            }
        }
        QueuePair peerQp = peerQpOf();
        while (peer.cq.poll(wc)) {
            assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
            assertThat(wc.immData()).isEqualTo((int) received);
            received++;
            long now = System.nanoTime();
            if (lastReceivedNanos != 0) {
                longestGapNanos = Math.max(longestGapNanos, now - lastReceivedNanos);
            }
            lastReceivedNanos = now;
            peerQp.postRecv(new RecvWorkRequest().wrId(received));
        }
        for (var engine : cluster.engines()) {
            engine.doWork();
        }
    }

    private long copyOnce() {
        ByteBuffer copy = ByteBuffer.allocateDirect(REGISTERED);
        long start = System.nanoTime();
        copy.put(moverMemory.duplicate().clear());
        return System.nanoTime() - start;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Double::compare);
        return sorted.get(sorted.size() / 2);
    }
}
