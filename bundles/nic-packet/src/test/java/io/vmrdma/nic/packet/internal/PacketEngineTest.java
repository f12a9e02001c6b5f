package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.function.BooleanSupplier;

import io.vmrdma.api.Counter;
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
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two engines on two hosts: each port is opened on a thread inside its own network namespace, the two joined by a
 * veth pair, and both engines are then driven from one thread with a hand-advanced clock (the sockets stay in
 * their namespaces). A connection through the connection manager, then a 1 MiB RDMA WRITE that must arrive
 * byte-identical; peers are addressed by MAC.
 */
class PacketEngineTest {

    private final long[] clock = {1_000_000_000L};

    @ParameterizedTest
    @ValueSource(ints = {1500, 9000, 65535})
    void anRdmaWriteOfOneMebibyteCrossesTheVethByteIdentical(int mtu) throws Exception {
        try (VethLink link = VethLink.create(mtu);
             PacketPort portA = link.a.call(() -> new PacketPort(PacketSettings.of(link.interfaceA)));
             PacketPort portB = link.b.call(() -> new PacketPort(PacketSettings.of(link.interfaceB)))) {
            VerbsEngine a = new VerbsEngine(1, () -> clock[0], 1L);
            VerbsEngine b = new VerbsEngine(2, () -> clock[0], 2L);
            a.nic(portA);
            b.nic(portB);
            a.peer(2, portB.address());
            b.peer(1, portA.address());

            VerbsContext va = a.openDomain(1, "a");
            VerbsContext vb = b.openDomain(2, "b");
            ProtectionDomain pda = va.allocPd();
            ProtectionDomain pdb = vb.allocPd();
            CompletionQueue cqa = va.createCq(1024);
            CompletionQueue cqb = vb.createCq(1024);
            int bytes = 1 << 20;
            ByteBuffer source = ByteBuffer.allocateDirect(bytes);
            ByteBuffer target = ByteBuffer.allocateDirect(bytes);
            byte[] pattern = new byte[bytes];
            new Random(mtu).nextBytes(pattern);
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
            run(a, b, () -> vb.pollCmEvent(event));
            assertThat(event.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
            vb.accept(event.connectionId(), qb, null);
            CmEvent established = new CmEvent();
            run(a, b, () -> va.pollCmEvent(established));
            assertThat(established.type()).as(established.toString()).isEqualTo(CmEventType.ESTABLISHED);

            SendWorkRequest write = new SendWorkRequest().wrId(1).opcode(Opcode.RDMA_WRITE)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(to.address()).rkey(to.rkey());
            write.sgl().add(from.address(), bytes, from.lkey());
            qa.postSend(write);
            WorkCompletion wc = new WorkCompletion();
            run(a, b, () -> cqa.poll(wc));

            assertThat(wc.status()).isEqualTo(WcStatus.SUCCESS);
            byte[] arrived = new byte[bytes];
            target.get(0, arrived);
            assertThat(arrived).isEqualTo(pattern);
            assertThat(portA.sendErrors() + portB.sendErrors() + portA.oversized() + portB.oversized()).isZero();
            System.out.printf("MTU %d: %d retransmissions%n", mtu, a.counter(Counter.RETRANSMISSIONS));
        }
    }

    /**
     * Runs both engines until {@code done}; time moves slowly while they work and faster while they idle. Frames
     * cross the veth in the kernel's receive softirq, which may lag a send, so idle rounds yield the CPU.
     */
    private void run(VerbsEngine a, VerbsEngine b, BooleanSupplier done) {
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
