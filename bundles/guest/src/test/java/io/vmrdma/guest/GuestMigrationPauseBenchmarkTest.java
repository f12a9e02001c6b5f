package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.xen.sim.guest.GuestControl;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code migration_pause_ms} with simulated guests: a guest VM (Java guest library) with 64 MiB registered streams RDMA
 * WRITE_WITH_IMM (64 KiB messages, 8 in flight) to a VM on host 3 and is live-migrated between hosts 1 and 2 five
 * times while it streams, by the toolstack (suspend, grant table, memory copy of its 128 MiB, resume) and the engines
 * together. A migration's pause is the longest the receiving application went without a message around it: the
 * guest's suspend, the engines' move, the copy and the frontend's reconnect are all inside it. Same-run baselines: the
 * longest gap of the stream over as long without a migration, and the engines' own pause. Runs only with
 * {@code -Dvmrdma.bench=true}; {@code -Dvmrdma.bench.out=<file>} also writes JSON. Asserts nothing about speed.
 */
class GuestMigrationPauseBenchmarkTest {

    private static final int REGISTERED = 64 << 20;
    private static final long MEMORY = 128L << 20;
    private static final int MESSAGE = 64 << 10;
    private static final int WINDOW = 8;
    private static final int RING = 16;
    private static final int MIGRATIONS = 5;
    private static final long STREAM_NANOS = 300_000_000L;
    private static final long SERVICE = 64;
    private static final long WAIT = TimeUnit.SECONDS.toNanos(30);
    private static final int ALL = AccessFlags.LOCAL_WRITE | AccessFlags.REMOTE_WRITE | AccessFlags.REMOTE_READ;

    @TempDir
    Path state;

    private volatile long lastReceived;
    private volatile long longestGap;
    private volatile boolean stop;
    private volatile Throwable failure;

    @Test
    void migrationPauseOfAStreamingGuestWith64MiBRegistered() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "a benchmark: -Dvmrdma.bench=true");
        try (MigrationHosts hosts = new MigrationHosts(state, 64, 2 * (REGISTERED >> 12))) {
            int moverDomid = hosts.sims[0].create("mover", MEMORY);
            int peerDomid = hosts.sims[2].create("peer", 16 << 20);
            SimGuest moverKernel = SimGuest.attach(hosts.sims[0].domainDirectory(moverDomid));
            GuestControl.start(moverKernel, true, () -> {
            });
            GuestDevice peer = GuestDevice.open(SimGuest.attach(hosts.sims[2].domainDirectory(peerDomid)),
                    GuestDevice.Options.defaults().polling(true));
            GuestDevice mover = GuestDevice.open(moverKernel, GuestDevice.Options.defaults().polling(true));
            Thread receiver = new Thread(() -> receive(peer), "peer-vm");
            Thread sender = new Thread(() -> send(mover), "mover-vm");
            receiver.start();
            sender.start();

            sleepStreaming(STREAM_NANOS);
            long baseline = gapOver(STREAM_NANOS);
            List<Long> pauses = new ArrayList<>();
            List<Long> enginePauses = new ArrayList<>();
            for (int m = 0; m < MIGRATIONS; m++) {
                longestGap = 0;
                enginePauses.add(hosts.migrate(moverDomid, m % 2, 1 - m % 2));
                sleepStreaming(STREAM_NANOS);
                pauses.add(longestGap);
            }
            stop = true;
            sender.join(TimeUnit.NANOSECONDS.toMillis(WAIT));
            receiver.join(TimeUnit.NANOSECONDS.toMillis(WAIT));
            assertThat(failure).isNull();
            System.out.printf(Locale.ROOT, "migration_pause_ms (simulated guests, 64 MiB registered, 128 MiB memory):"
                    + " p50 %.1f ms at the receiver %s; the engines' own p50 %.1f ms; same run: the stream's longest"
                    + " gap without a migration %.2f ms%n", p50(pauses) / 1e6, millis(pauses),
                    p50(enginePauses) / 1e6, baseline / 1e6);
            String out = System.getProperty("vmrdma.bench.out");
            if (out != null) {
                Files.writeString(Path.of(out), String.format(Locale.ROOT,
                        "{\"registered_bytes\":%d,\"memory_bytes\":%d,\"pauses_ms\":%s,\"pause_p50_ms\":%.3f,"
                                + "\"engine_pause_p50_ms\":%.3f,\"baseline_gap_ms\":%.3f}",
                        REGISTERED, MEMORY, millis(pauses).replace('(', '[').replace(')', ']'), p50(pauses) / 1e6,
                        p50(enginePauses) / 1e6, baseline / 1e6), StandardCharsets.UTF_8);
            }
        }
    }

    private void sleepStreaming(long nanos) throws InterruptedException {
        long end = System.nanoTime() + nanos;
        while (System.nanoTime() < end && failure == null) {
            Thread.sleep(5);
        }
        assertThat(failure).isNull();
    }

    private long gapOver(long nanos) throws InterruptedException {
        longestGap = 0;
        sleepStreaming(nanos);
        return longestGap;
    }

    private void receive(GuestDevice dev) {
        try {
            GuestDevice.Pd pd = dev.allocPd();
            GuestDevice.Cq cq = dev.createCq(256);
            GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 64, 64, 1, true);
            GuestBuffer ring = dev.allocate(RING * MESSAGE);
            GuestDevice.Region mr = dev.register(pd, ring, ALL);
            dev.listen(SERVICE);
            CmEvent e = new CmEvent();
            assertThat(dev.waitCmEvent(e, WAIT)).isTrue();
            dev.accept(e.connectionId(), qp, ByteBuffer.allocate(12).putLong(mr.address()).putInt(mr.rkey()).array());
            for (int k = 0; k < 32; k++) {
                dev.postRecv(qp, new RecvWorkRequest().wrId(k));
            }
            WorkCompletion wc = new WorkCompletion();
            lastReceived = System.nanoTime();
            for (int turn = 0; !stop; turn++) {
                if (!dev.pollCq(cq, wc)) {
                    GuestDevice.spinOrYield(turn);
                } else {
                    assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
                    long now = System.nanoTime();
                    longestGap = Math.max(longestGap, now - lastReceived);
                    lastReceived = now;
                    dev.postRecv(qp, new RecvWorkRequest().wrId(wc.wrId()));
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    private void send(GuestDevice dev) {
        try {
            GuestDevice.Pd pd = dev.allocPd();
            GuestDevice.Cq cq = dev.createCq(256);
            GuestDevice.Qp qp = dev.createQp(pd, cq, cq, 64, 64, 1, true);
            GuestBuffer registered = dev.allocate(REGISTERED);
            GuestDevice.Region mr = dev.register(pd, registered, ALL);
            dev.connect(qp, 3, SERVICE, -1, null);
            CmEvent e = new CmEvent();
            assertThat(dev.waitCmEvent(e, WAIT)).isTrue();
            assertThat(e.type()).isEqualTo(CmEventType.ESTABLISHED);
            ByteBuffer keys = ByteBuffer.wrap(e.privateData());
            long ring = keys.getLong();
            int rkey = keys.getInt();
            WorkCompletion wc = new WorkCompletion();
            long posted = 0;
            long done = 0;
            while (!stop) {
                if (posted - done < WINDOW) {
                    SendWorkRequest wr = new SendWorkRequest().wrId(posted).opcode(Opcode.RDMA_WRITE_WITH_IMM)
                            .immData((int) posted).sendFlags(SendFlags.SIGNALED)
                            .remoteAddress(ring + (posted % RING) * MESSAGE).rkey(rkey);
                    long from = (posted * MESSAGE) % REGISTERED;
                    wr.sgl().add(mr.address() + from, MESSAGE, mr.lkey());
                    dev.postSend(qp, wr);
                    posted++;
                } else if (dev.waitCq(cq, wc, WAIT)) {
                    assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
                    done++;
                }
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    private static long p50(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    private static String millis(List<Long> values) {
        StringBuilder out = new StringBuilder("(");
        for (long v : values) {
            out.append(out.length() > 1 ? ", " : "").append(String.format(Locale.ROOT, "%.1f", v / 1e6));
        }
        return out.append(")").toString();
    }
}
