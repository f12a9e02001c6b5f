package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.engine.testkit.EngineProbe;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.faults.FaultyNicPort;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Hosts on one Ethernet segment (network namespaces on a Linux bridge), an engine per host on nic.packet: data moves
 * byte-identical through injected faults with counters that add up, and frames an attacker injects from a raw socket
 * on the same segment are dropped and counted while a transfer runs.
 */
class PacketHostsTest {

    private static final int MTU = 9000;
    private static final int SOCKET_BUFFER = 32 << 20;

    @Test
    void threeHostsWriteToEachOtherThroughLossDuplicationAndCorruptionAndTheCountersAddUp() throws Exception {
        threeHostsWriteToEachOther(new Faults(0.05, 0.05, 0, 0.05, 0, 0, 1), true, 42);
    }

    /** Reordering too; frames the injector still holds back at the end keep the counters from closing exactly. */
    @Test
    void threeHostsWriteToEachOtherThroughLossDuplicationReorderingAndCorruption() throws Exception {
        threeHostsWriteToEachOther(Faults.uniform(0.05), false, 43);
    }

    private void threeHostsWriteToEachOther(Faults faults, boolean countersAddUp, long seed) throws Exception {
        try (BridgeLan lan = BridgeLan.create(3, MTU);
                PacketPort p0 = lan.port(0, SOCKET_BUFFER);
                PacketPort p1 = lan.port(1, SOCKET_BUFFER);
                PacketPort p2 = lan.port(2, SOCKET_BUFFER)) {
            CountingPort[] links = {new CountingPort(p0), new CountingPort(p1), new CountingPort(p2)};
            long[] clock = new long[1];
            FaultyNicPort[] faulty = new FaultyNicPort[3];
            for (int i = 0; i < 3; i++) {
                faulty[i] = new FaultyNicPort(links[i], Faults.NONE, faults, seed + i, () -> clock[0]);
            }
            Hosts hosts = new Hosts(faulty);
            List<Hosts.Transfer> transfers = Hosts.list();
            for (int from = 0; from < 3; from++) {
                for (int to = 0; to < 3; to++) {
                    if (from != to) {
                        transfers.add(hosts.transfer(from, to, 1 << 20, seed * 10 + from * 3 + to));
                    }
                }
            }
            for (Hosts.Transfer t : transfers) {
                t.post();
            }
            hosts.runUntilAllDone(transfers);
            transfers.forEach(Hosts.Transfer::assertArrivedByteIdentical);
            hosts.quiesce();

            long retransmissions = 0;
            long crcErrors = 0;
            for (int j = 0; j < 3; j++) {
                // The segment: every frame sent to j (unicast, or broadcast by anyone else) reached j's port.
                long sentToJ = 0;
                for (int i = 0; i < 3; i++) {
                    if (i != j) {
                        sentToJ += links[i].unicastSent.getOrDefault(links[j].address(), 0L) + links[i].broadcastSent;
                    }
                }
                assertThat(links[j].delivered).as("frames that reached host %d", j).isEqualTo(sentToJ);
                long[] injected = faulty[j].injected();
                VerbsEngine e = hosts.engines[j];
                System.out.printf("host %d: %d frames arrived, %d lost, %d duplicated, %d reordered, %d corrupted;"
                        + " the engine counted %d (%d header CRC errors, %d payload CRC errors) and retransmitted %d%n",
                        j, links[j].delivered, injected[0], injected[1], injected[2], injected[3], hosts.framesSeen(j),
                        e.counter(Counter.CRC_ERRORS), e.counter(Counter.PAYLOAD_CRC_ERRORS),
                        e.counter(Counter.RETRANSMISSIONS));
                if (countersAddUp) {
                    // The fault injector: what the engine took is what arrived, less losses, plus duplicates.
                    assertThat(hosts.framesSeen(j)).as("frames engine %d counted", j + 1)
                            .isEqualTo(links[j].delivered - injected[0] + injected[1]);
                }
                retransmissions += e.counter(Counter.RETRANSMISSIONS);
                crcErrors += e.counter(Counter.CRC_ERRORS) + e.counter(Counter.PAYLOAD_CRC_ERRORS);
            }
            assertThat(retransmissions).as("losses were repaired by retransmission").isPositive();
            assertThat(crcErrors).as("corrupted frames were caught").isPositive();
        }
    }

    @Test
    void framesInjectedFromARawSocketAreDroppedAndCountedWhileATransferRuns() throws Exception {
        try (BridgeLan lan = BridgeLan.create(3, MTU);
                PacketPort p0 = lan.port(0, SOCKET_BUFFER);
                PacketPort p1 = lan.port(1, SOCKET_BUFFER);
                RawInjector attacker = lan.hosts.get(2).call(() -> new RawInjector(lan.interfaces.get(2)))) {
            Hosts hosts = new Hosts(p0, p1);
            Hosts.Transfer transfer = hosts.transfer(0, 1, 4 << 20, 7);
            VerbsEngine victim = hosts.engines[1];
            byte[] victimMac = p1.address().toByteArray();
            byte[] node1Mac = p0.address().toByteArray();
            byte[] attackerMac = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
            transfer.post();
            hosts.run(() -> victim.counter(Counter.FRAMES_RECEIVED) > 50);

            long malformed = victim.counter(Counter.MALFORMED_FRAMES) + p1.runts();
            attacker.send(RawInjector.ethernet(victimMac, attackerMac, 0x88B5, new byte[10]));
            byte[] garbage = new byte[300];
            new Random(3).nextBytes(garbage);
            garbage[Frame.TYPE_OFFSET] = (byte) 0x7E;
            attacker.send(RawInjector.ethernet(victimMac, attackerMac, 0x88B5, garbage));
            awaitCount(hosts, () -> victim.counter(Counter.MALFORMED_FRAMES) + p1.runts() - malformed, 2);

            long crc = victim.counter(Counter.CRC_ERRORS);
            byte[] badCrc = write(transfer, 2, 1, 0, transfer.responder.pkey(), false);
            attacker.send(RawInjector.ethernet(victimMac, attackerMac, 0x88B5, badCrc));
            awaitCount(hosts, () -> victim.counter(Counter.CRC_ERRORS) - crc, 1);

            // Node 1's id from the attacker's own MAC: a spoofed node, counted once. The same frame under another
            // EtherType, sent first, never reaches the engine (else it would count twice).
            long unknown = victim.counter(Counter.UNKNOWN_SOURCE_DROPS);
            attacker.send(RawInjector.ethernet(victimMac, attackerMac, 0x88B6,
                    write(transfer, 1, 2, 0, transfer.responder.pkey(), true)));
            attacker.send(RawInjector.ethernet(victimMac, attackerMac, 0x88B5,
                    write(transfer, 1, 2, 0, transfer.responder.pkey(), true)));
            awaitCount(hosts, () -> victim.counter(Counter.UNKNOWN_SOURCE_DROPS) - unknown, 1);
            hosts.run(settled(hosts));
            assertThat(victim.counter(Counter.UNKNOWN_SOURCE_DROPS) - unknown).as("wrong EtherType not delivered")
                    .isEqualTo(1);

            // From here the attacker forges node 1's MAC too.
            Domain responderDomain = victim.domain(2).orElseThrow();
            long partition = responderDomain.counter(Counter.PARTITION_VIOLATIONS);
            attacker.send(RawInjector.ethernet(victimMac, node1Mac, 0x88B5, write(transfer, 1, 2, 0, 0x0123, true)));
            awaitCount(hosts, () -> responderDomain.counter(Counter.PARTITION_VIOLATIONS) - partition, 1);

            long duplicates = responderDomain.counter(Counter.DUPLICATES_DROPPED);
            int replayed = EngineProbe.expectedPsn(transfer.responder) - 3;
            attacker.send(RawInjector.ethernet(victimMac, node1Mac, 0x88B5,
                    write(transfer, 1, 2, replayed, transfer.responder.pkey(), true)));
            awaitCount(hosts, () -> responderDomain.counter(Counter.DUPLICATES_DROPPED) - duplicates, 1);

            hosts.runUntilAllDone(List.of(transfer));
            transfer.assertArrivedByteIdentical();
            assertThat(victim.counter(Counter.PROTECTION_FAULTS)).as("no forged write reached memory").isZero();
        }
    }

    /** A condition that turns true after a few thousand more engine rounds: time for stray frames to arrive. */
    private static java.util.function.BooleanSupplier settled(Hosts hosts) {
        int[] rounds = {0};
        return () -> ++rounds[0] > 5000;
    }

    /**
     * A WRITE of 8 bytes from node {@code srcNode} to node {@code dstNode} for the transfer's queue pairs, at
     * {@code psn}, into the transfer's target; CRCs sealed or left zero.
     */
    private static byte[] write(Hosts.Transfer t, int srcNode, int dstNode, int psn, int pkey, boolean sealed) {
        int header = FrameType.WRITE.headerLength();
        int length = Frame.length(header, 8);
        ByteBuffer frame = ByteBuffer.allocateDirect(length);
        UnsafeBuffer b = new UnsafeBuffer(frame);
        Frame.writeBase(b, 0, FrameType.WRITE, Frame.FLAG_FIRST | Frame.FLAG_LAST, srcNode, dstNode, pkey, 8,
                t.responder.address().qpn(), t.requester.address().qpn(), psn, psn);
        b.putLong(Extension.Write.REMOTE_ADDRESS, 0x2000_0000L, Frame.ORDER);
        b.putLong(header, 0x4141414141414141L);
        if (sealed) {
            new FrameCheck().seal(frame, 0, header, 8);
        }
        byte[] bytes = new byte[length];
        frame.get(0, bytes);
        return bytes;
    }

    private static void awaitCount(Hosts hosts, java.util.function.LongSupplier count, long expected) {
        hosts.run(() -> count.getAsLong() >= expected);
        assertThat(count.getAsLong()).isEqualTo(expected);
    }
}
