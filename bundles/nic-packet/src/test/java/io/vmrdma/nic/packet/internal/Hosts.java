package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.Opcode;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.verbs.VerbsEngine;

/**
 * An engine per host (node ids 1..n), each on its own port, every other node its peer at that port's address; all
 * driven from the test's thread with a hand-advanced clock, so a run is repeatable up to the kernel's timing.
 */
final class Hosts {

    private final long[] clock = {1_000_000_000L};
    private boolean clockRuns = true;
    final VerbsEngine[] engines;
    private int nextDomid = 1;
    private long nextService = 100;

    Hosts(NicPort... ports) {
        engines = new VerbsEngine[ports.length];
        for (int i = 0; i < ports.length; i++) {
            engines[i] = new VerbsEngine(i + 1, () -> clock[0], (long) (i + 1));
            engines[i].nic(ports[i]);
        }
        for (int i = 0; i < ports.length; i++) {
            for (int j = 0; j < ports.length; j++) {
                if (i != j) {
                    engines[i].peer(j + 1, ports[j].address());
                }
            }
        }
    }

    /** Authenticates every engine's frames with keys from {@code keys}, as {@code auth = on} does. */
    Hosts authenticated(FrameKeys keys) {
        for (VerbsEngine engine : engines) {
            engine.authentication(keys);
        }
        return this;
    }

    /**
     * An RDMA WRITE of seeded bytes from a domain on one host to a domain on another, over its own connection; or an
     * RDMA READ of them, the bytes in the other domain's region and the requester's region the target.
     */
    final class Transfer {
        final byte[] pattern;
        final ByteBuffer target;
        final CompletionQueue cq;
        final QueuePair requester;
        final QueuePair responder;
        private final SendWorkRequest write;
        final WorkCompletion wc = new WorkCompletion();
        boolean done;

        Transfer(int from, int to, int bytes, long seed) throws Exception {
            this(from, to, bytes, seed, Opcode.RDMA_WRITE);
        }

        Transfer(int from, int to, int bytes, long seed, Opcode opcode) throws Exception {
            VerbsContext va = engines[from].openDomain(nextDomid, "d" + nextDomid++);
            VerbsContext vb = engines[to].openDomain(nextDomid, "d" + nextDomid++);
            ProtectionDomain pda = va.allocPd();
            ProtectionDomain pdb = vb.allocPd();
            cq = va.createCq(64);
            CompletionQueue cqb = vb.createCq(64);
            ByteBuffer atRequester = ByteBuffer.allocateDirect(bytes);
            ByteBuffer atResponder = ByteBuffer.allocateDirect(bytes);
            boolean read = opcode == Opcode.RDMA_READ;
            target = read ? atRequester : atResponder;
            pattern = new byte[bytes];
            new Random(seed).nextBytes(pattern);
            (read ? atResponder : atRequester).put(0, pattern);
            MemoryRegion mrA = va.regMr(pda, atRequester, 0x1000_0000L, AccessFlags.ALL);
            MemoryRegion mrB = vb.regMr(pdb, atResponder, 0x2000_0000L, AccessFlags.ALL);
            requester = va.createQp(new QpInitAttributes().pd(pda).sendCq(cq).recvCq(cq).maxSendWr(16).maxRecvWr(16));
            responder = vb.createQp(new QpInitAttributes().pd(pdb).sendCq(cqb).recvCq(cqb).maxSendWr(16)
                    .maxRecvWr(16));
            long service = nextService++;
            vb.listen(service);
            va.connect(requester, to + 1, service, -1, null);
            CmEvent request = new CmEvent();
            run(() -> vb.pollCmEvent(request));
            assertThat(request.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
            vb.accept(request.connectionId(), responder, null);
            CmEvent established = new CmEvent();
            run(() -> va.pollCmEvent(established));
            assertThat(established.type()).as(established.toString()).isEqualTo(CmEventType.ESTABLISHED);
            write = new SendWorkRequest().wrId(seed).opcode(opcode).sendFlags(SendFlags.SIGNALED)
                    .remoteAddress(mrB.address()).rkey(mrB.rkey());
            write.sgl().add(mrA.address(), bytes, mrA.lkey());
        }

        void post() throws Exception {
            requester.postSend(write);
        }

        boolean poll() {
            if (!done && cq.poll(wc)) {
                done = true;
            }
            return done;
        }

        void assertArrivedByteIdentical() {
            assertThat(done).isTrue();
            assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
            byte[] arrived = new byte[pattern.length];
            target.get(0, arrived);
            assertThat(arrived).isEqualTo(pattern);
        }
    }

    Transfer transfer(int from, int to, int bytes, long seed) throws Exception {
        return new Transfer(from, to, bytes, seed);
    }

    /** An RDMA READ by a domain on host {@code from} of seeded bytes in a domain on host {@code to}. */
    Transfer read(int from, int to, int bytes, long seed) throws Exception {
        return new Transfer(from, to, bytes, seed, Opcode.RDMA_READ);
    }

    /** Runs every engine until {@code done}; time moves slowly while they work and faster while they idle. */
    void run(BooleanSupplier done) {
        long until = clock[0] + 30_000_000_000L;
        while (!done.getAsBoolean()) {
            int work = doWork();
            if (work == 0) {
                Thread.yield();
            }
            if (clockRuns) {
                clock[0] += work == 0 ? 100_000 : 1_000;
            }
            assertThat(clock[0]).as("simulated time ran out").isLessThan(until);
        }
    }

    void runUntilAllDone(List<Transfer> transfers) {
        run(() -> {
            boolean all = true;
            for (Transfer t : transfers) {
                all &= t.poll();
            }
            return all;
        });
    }

    /**
     * Stops the clock (no timer fires: no hello, no retransmission) and runs the engines until nothing moves for a
     * while, so every frame sent has been received and counted.
     */
    void quiesce() throws InterruptedException {
        clockRuns = false;
        for (int quiet = 0; quiet < 3;) {
            int work = 0;
            for (int i = 0; i < 200; i++) {
                work += doWork();
                Thread.yield();
            }
            Thread.sleep(20);
            quiet = work == 0 ? quiet + 1 : 0;
        }
    }

    private int doWork() {
        int work = 0;
        for (VerbsEngine e : engines) {
            work += e.doWork();
        }
        return work;
    }

    /** Frames engine {@code i} took from its port: received, or dropped under one of the frame-level counters. */
    long framesSeen(int i) {
        VerbsEngine e = engines[i];
        return e.counter(Counter.FRAMES_RECEIVED) + e.counter(Counter.MALFORMED_FRAMES)
                + e.counter(Counter.CRC_ERRORS) + e.counter(Counter.UNKNOWN_SOURCE_DROPS)
                + e.counter(Counter.PEER_SPOOFS) + e.counter(Counter.AUTH_FAILURES) + e.counter(Counter.REPLAYS);
    }

    static List<Transfer> list() {
        return new ArrayList<>();
    }
}
