package io.vmrdma.engine.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
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
import io.vmrdma.engine.internal.congestion.CongestionSettings;
import io.vmrdma.engine.internal.verbs.VerbsEngine;

/**
 * Test support for NIC bindings (published in the engine's test jar): two engines, one on each of two ports, driven
 * from one thread with a hand-advanced clock; a connection through the connection manager, then an RDMA WRITE that
 * must arrive byte-identical. A binding's test opens its two ports however its link needs and hands them over.
 */
public final class TwoEngines {

    private final long[] clock = {1_000_000_000L};
    private final VerbsEngine a = new VerbsEngine(1, () -> clock[0], 1L);
    private final VerbsEngine b = new VerbsEngine(2, () -> clock[0], 2L);

    /** Engines 1 and 2 on {@code portA} and {@code portB}, each other's peer at the port's own address. */
    public TwoEngines(NicPort portA, NicPort portB) {
        a.authentication(Cluster.KEYS);
        b.authentication(Cluster.KEYS);
        a.nic(portA);
        b.nic(portB);
        a.peer(2, portB.address());
        b.peer(1, portA.address());
    }

    /** Both engines' congestion control, instead of the default. */
    public TwoEngines congestion(CongestionSettings settings) {
        a.congestion(settings);
        b.congestion(settings);
        return this;
    }

    /**
     * Connects a queue pair of a domain on node 1 to one on node 2 and writes {@code bytes} of seeded random data
     * across; asserts the completion and every byte.
     *
     * @return retransmissions node 1 needed
     */
    public long rdmaWriteArrivesByteIdentical(int bytes, long seed) throws Exception {
        VerbsContext va = a.openDomain(1, "a");
        VerbsContext vb = b.openDomain(2, "b");
        ProtectionDomain pda = va.allocPd();
        ProtectionDomain pdb = vb.allocPd();
        CompletionQueue cqa = va.createCq(1024);
        CompletionQueue cqb = vb.createCq(1024);
        ByteBuffer source = ByteBuffer.allocateDirect(bytes);
        ByteBuffer target = ByteBuffer.allocateDirect(bytes);
        byte[] pattern = new byte[bytes];
        new Random(seed).nextBytes(pattern);
        source.put(0, pattern);
        MemoryRegion from = va.regMr(pda, source, 0x1000_0000L, AccessFlags.ALL);
        MemoryRegion to = vb.regMr(pdb, target, 0x2000_0000L, AccessFlags.ALL);
        QueuePair qa = va.createQp(new QpInitAttributes().pd(pda).sendCq(cqa).recvCq(cqa).maxSendWr(64)
                .maxRecvWr(64).maxSge(4));
        QueuePair qb = vb.createQp(new QpInitAttributes().pd(pdb).sendCq(cqb).recvCq(cqb).maxSendWr(64)
                .maxRecvWr(64).maxSge(4));

        vb.listen(7);
        va.connect(qa, 2, 7, -1, null);
        CmEvent event = new CmEvent();
        run(() -> vb.pollCmEvent(event));
        assertThat(event.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
        vb.accept(event.connectionId(), qb, null);
        CmEvent established = new CmEvent();
        run(() -> va.pollCmEvent(established));
        assertThat(established.type()).as(established.toString()).isEqualTo(CmEventType.ESTABLISHED);

        SendWorkRequest write = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED)
                .remoteAddress(to.address()).rkey(to.rkey());
        write.sgl().add(from.address(), bytes, from.lkey());
        qa.postSend(write);
        WorkCompletion wc = new WorkCompletion();
        run(() -> cqa.poll(wc));

        assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
        byte[] arrived = new byte[bytes];
        target.get(0, arrived);
        assertThat(arrived).isEqualTo(pattern);
        return a.counter(Counter.RETRANSMISSIONS);
    }

    /**
     * Runs both engines until {@code done}; time moves slowly while they work and faster while they idle. A kernel
     * link may deliver a frame a little after it was sent, so idle rounds yield the CPU.
     */
    private void run(BooleanSupplier done) {
        long until = clock[0] + 10_000_000_000L;
        while (!done.getAsBoolean()) {
            int work = a.doWork() + b.doWork();
            if (work == 0) {
                Thread.yield();
            }
            clock[0] += work == 0 ? 100_000 : 1_000;
            assertThat(clock[0]).as("simulated time ran out").isLessThan(until);
        }
    }
}
