package io.vmrdma.nic.packet.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.FrameHandler;
import io.vmrdma.api.nic.LinkAddress;
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
import io.vmrdma.api.verbs.RecvWorkRequest;
import io.vmrdma.api.verbs.SendFlags;
import io.vmrdma.api.verbs.SendWorkRequest;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.WcStatus;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.wire.Extension;
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.nic.faults.ForwardingNicPort;
import io.vmrdma.nic.udp.internal.UdpPort;
import io.vmrdma.nic.udp.internal.UdpPorts;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Wireshark dissector shipped in the distribution (share/wireshark/vmrdma.lua, issue 23) against captures of
 * real traffic: two engines in two network namespaces joined by a veth pair, dumpcap capturing on one end, then
 * {@code tshark -X lua_script:vmrdma.lua} decoding the file. Over raw Ethernet (no authentication) every frame type
 * appears: HELLO and HELLO_REPLY, CM_REQUEST, CM_REPLY, CM_REJECT, SEND (refused first with a receiver-not-ready
 * NAK), WRITE (one packet dropped on arrival, so an ACK carries a selective acknowledgement and the packet is sent
 * again), READ_REQUEST and its READ_RESPONSEs, and DISCONNECT_REQUEST / DISCONNECT_REPLY; each is decoded with its
 * header and payload CRCs good and no expert error, and the fields carry what the test did (queue pair numbers,
 * PSNs, lengths, rkeys, addresses, ids, names). Hostile frames sent from a raw socket (short, truncated, bad CRCs,
 * another version, an unknown type, a bad NAK code) are flagged; a HELLO of another protocol version is a warning. Over UDP with authentication the trailer is shown, and the
 * capture is decoded through the port preference and through Decode As.
 */
class WiresharkDissectorTest {

    private static final int MTU = 1500;
    private static final long SOURCE_ADDRESS = 0x1000_0000L;
    private static final long TARGET_ADDRESS = 0x2000_0000L;
    private static final int WRITE_BYTES = 16 << 10;
    private static final int READ_BYTES = 8 << 10;
    private static final int SEND_BYTES = 100;
    private static final int IMM = 0x0BADCAFE;
    private static final long SERVICE = 4711;
    private static final long NOBODY = 999;

    private static final String[] FIELDS = {
        "frame.number", "eth.type", "vmrdma.type", "vmrdma.flags", "vmrdma.src_node", "vmrdma.dst_node",
        "vmrdma.src_qpn", "vmrdma.dst_qpn", "vmrdma.psn", "vmrdma.pkey", "vmrdma.payload_length",
        "vmrdma.header_crc.status", "vmrdma.payload_crc.status", "vmrdma.first_psn", "vmrdma.write.remote_address",
        "vmrdma.write.rkey", "vmrdma.write.message_length", "vmrdma.write.last_psn", "vmrdma.send.message_length",
        "vmrdma.send.imm", "vmrdma.send.offset", "vmrdma.read.packets", "vmrdma.read.remote_address",
        "vmrdma.read.rkey", "vmrdma.read.length", "vmrdma.read.segment", "vmrdma.read_response.offset",
        "vmrdma.ack.cumulative_psn", "vmrdma.ack.sacked_psn", "vmrdma.nak.psn", "vmrdma.nak.code",
        "vmrdma.nak.rnr_delay", "vmrdma.cm.connection_id", "vmrdma.cm.service_id", "vmrdma.cm.requester_domid",
        "vmrdma.cm.listener_domid", "vmrdma.cm.initial_psn", "vmrdma.cm.domain_name", "vmrdma.cm.private_data",
        "vmrdma.cm.reason", "vmrdma.hello.protocol_version", "vmrdma.hello.mtu", "vmrdma.auth.epoch",
        "vmrdma.auth.counter", "vmrdma.auth.tag", "vmrdma.conv", "vmrdma.stream", "_ws.expert.message",
        "_ws.expert.severity", "_ws.malformed", "eth.src",
    };
    /** _ws.expert.severity of an error (PI_ERROR). */
    private static final String ERROR = "8388608";

    // ------------------------------------------------------------------------------------------ raw Ethernet

    @Test
    @SuppressWarnings("try") // the capture runs for the try's duration, unreferenced
    void aCaptureOfEveryFrameTypeOverRawEthernetDecodesWithTheValuesTheEnginesSent(@TempDir Path dir)
            throws Exception {
        Path pcap = dir.resolve("vmrdma-ethernet.pcap");
        long started = System.nanoTime();
        Scenario s;
        byte[] attackerMac = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
        try (VethLink link = VethLink.create(MTU);
                Tshark.Capture capture = new Tshark.Capture(link.a.name(), link.interfaceA, pcap);
                PacketPort portA = link.a.call(() -> new PacketPort(PacketSettings.of(link.interfaceA)));
                PacketPort portB = link.b.call(() -> new PacketPort(PacketSettings.of(link.interfaceB)));
                RawInjector attacker = link.b.call(() -> new RawInjector(link.interfaceB))) {
            DroppingPort dropping = new DroppingPort(portB);
            s = new Scenario(new Hosts(portA, dropping), dropping);
            s.run();
            byte[] macA = portA.address().toByteArray();
            for (byte[] hostile : hostileFrames(s)) {
                attacker.send(RawInjector.ethernet(macA, attackerMac, 0x88B5, hostile));
            }
        }
        long captured = System.nanoTime();

        List<Map<String, String>> all = Tshark.fields(pcap, List.of("-2"), null, FIELDS);
        List<Map<String, String>> vmrdma = all.stream().filter(f -> f.get("eth.type").equals("0x88b5")).toList();
        String attacker = HexFormat.ofDelimiter(":").formatHex(attackerMac);
        List<Map<String, String>> engines = vmrdma.stream().filter(f -> !f.get("eth.src").equals(attacker)).toList();
        List<Map<String, String>> hostile = vmrdma.stream().filter(f -> f.get("eth.src").equals(attacker)).toList();
        System.out.printf("raw Ethernet: %d frames captured, %d of EtherType 0x88B5 (%d hostile), decoded in %d ms"
                + " (the run and capture took %d ms)%n", all.size(), vmrdma.size(), hostile.size(),
                (System.nanoTime() - captured) / 1_000_000, (captured - started) / 1_000_000);

        // Every frame of the engines is decoded whole: header and payload CRCs good, no expert error, nothing
        // flagged malformed.
        assertThat(engines).allSatisfy(f -> {
            assertThat(f.get("vmrdma.type")).as("frame %s decoded", f.get("frame.number")).isNotEmpty();
            assertThat(f.get("vmrdma.header_crc.status")).as("header CRC of %s", f).isEqualTo("1");
            if (!f.get("vmrdma.payload_length").equals("0")) {
                assertThat(f.get("vmrdma.payload_crc.status")).as("payload CRC of %s", f).isEqualTo("1");
            }
            assertThat(f.get("_ws.malformed")).as("malformed flag on %s", f).isEmpty();
            assertThat(f.get("_ws.expert.severity")).as("expert infos of %s", f).doesNotContain(ERROR);
        });
        Set<String> types = engines.stream().map(f -> f.get("vmrdma.type")).collect(Collectors.toCollection(
                TreeSet::new));
        assertThat(types).as("every frame type").containsAll(List.of("0x01", "0x02", "0x10", "0x11", "0x12", "0x13",
                "0x20", "0x21", "0x30", "0x31", "0x32", "0x33", "0x34"));
        s.checkAgainst(engines, false);

        // The conversation of the connection holds its CM frames (the CM_REQUEST by connection id, tshark -2)
        // and all its data and acknowledgements; the statistic lists it.
        String conv = s.conversation();
        Map<String, String> stream = new HashMap<>();
        for (Map<String, String> f : engines) {
            if (f.get("vmrdma.conv").equals(conv)) {
                stream.put(f.get("vmrdma.stream"), conv);
            }
        }
        assertThat(stream).as("one stream index for %s", conv).hasSize(1);
        assertThat(frames(engines, "0x30").stream().filter(f -> f.get("vmrdma.cm.service_id")
                .equals(Long.toString(SERVICE)))).as("CM_REQUEST in the connection's conversation")
                .allSatisfy(f -> assertThat(f.get("vmrdma.conv")).isEqualTo(conv));
        for (String type : List.of("0x10", "0x11", "0x12", "0x13", "0x20", "0x21", "0x31", "0x33", "0x34")) {
            assertThat(frames(engines, type)).as("conversation of type %s", type)
                    .allSatisfy(f -> assertThat(f.get("vmrdma.conv")).isEqualTo(conv));
        }
        String statistics = Tshark.text(pcap, "-2", "-q", "-z", "vmrdma,qp");
        assertThat(statistics).contains("vmrdma queue-pair conversations").contains(conv);
        System.out.print(statistics);

        checkHostile(hostile);

        // Cut by the capture's snapshot length (dumpcap -s 100): headers are still decoded and checked, and a
        // frame the capture cut is not a malformed one.
        Path cut = dir.resolve("vmrdma-ethernet-cut.pcap");
        Tshark.cut(pcap, cut, 100);
        List<Map<String, String>> cutFrames = Tshark.fields(cut, List.of(), "eth.type == 0x88b5 && eth.src != "
                + attacker, FIELDS);
        assertThat(cutFrames).hasSameSizeAs(engines).allSatisfy(f -> {
            assertThat(f.get("vmrdma.header_crc.status")).as("header CRC of %s", f).isEqualTo("1");
            assertThat(f.get("_ws.malformed")).isEmpty();
            assertThat(f.get("_ws.expert.severity")).doesNotContain(ERROR);
        });
        assertThat(frames(cutFrames, "0x10")).allSatisfy(f -> assertThat(f.get("vmrdma.write.rkey"))
                .isEqualTo(hex32(s.target.rkey())));
        System.out.print(Tshark.text(pcap, "-2", "-Y", "vmrdma"));
    }

    /** Frames an attacker sends: each is malformed or damaged in one way. */
    private static List<byte[]> hostileFrames(Scenario s) {
        List<byte[]> frames = new ArrayList<>();
        frames.add(new byte[10]);                                        // 0: shorter than the base header
        byte[] write = s.write(8, false);
        frames.add(java.util.Arrays.copyOf(write, 48));                  // 1: cut inside the extension
        byte[] badHeader = s.write(8, false);
        badHeader[Frame.PSN_OFFSET] ^= 1;                                // 2: header changed after sealing
        frames.add(badHeader);
        byte[] badPayload = s.write(8, false);
        badPayload[FrameType.WRITE.headerLength() + 3] ^= 0x40;          // 3: payload changed after sealing
        frames.add(badPayload);
        frames.add(s.write(8, true));                                    // 4: version 2
        byte[] unknown = s.write(8, false);
        unknown[Frame.TYPE_OFFSET] = 0x7E;                               // 5: unknown type, CRC resealed
        reseal(unknown, 64, 8);
        frames.add(unknown);
        byte[] tooLong = s.write(8, false);
        tooLong[Frame.PAYLOAD_LENGTH_OFFSET] = (byte) 0xE8;              // 6: says 1000 payload bytes
        tooLong[Frame.PAYLOAD_LENGTH_OFFSET + 1] = 0x03;
        reseal(tooLong, FrameType.WRITE.headerLength(), 0);
        frames.add(tooLong);
        frames.add(s.control(FrameType.NAK, 9));                         // 7: NAK code 9
        frames.add(s.control(FrameType.HELLO, 2));                       // 8: a HELLO of protocol 2
        return frames;
    }

    private static void checkHostile(List<Map<String, String>> hostile) {
        assertThat(hostile).as("hostile frames captured").hasSize(9);
        assertThat(hostile.subList(0, 8)).as("every malformed frame has an expert error")
                .allSatisfy(f -> assertThat(f.get("_ws.expert.severity")).contains(ERROR));
        assertThat(hostile.get(0).get("_ws.expert.message")).contains("shorter than the 32-byte base header");
        assertThat(hostile.get(0).get("_ws.malformed")).isNotEmpty();
        assertThat(hostile.get(1).get("_ws.expert.message")).contains("Frame of 48 bytes").contains("need 76");
        assertThat(hostile.get(1).get("_ws.malformed")).isNotEmpty();
        assertThat(hostile.get(2).get("_ws.expert.message")).contains("Header CRC32C");
        assertThat(hostile.get(2).get("vmrdma.header_crc.status")).isEqualTo("0");
        assertThat(hostile.get(3).get("_ws.expert.message")).contains("Payload CRC32C");
        assertThat(hostile.get(3).get("vmrdma.header_crc.status")).isEqualTo("1");
        assertThat(hostile.get(3).get("vmrdma.payload_crc.status")).isEqualTo("0");
        assertThat(hostile.get(4).get("_ws.expert.message")).contains("Version 2");
        assertThat(hostile.get(4).get("_ws.malformed")).isNotEmpty();
        assertThat(hostile.get(5).get("_ws.expert.message")).contains("Unknown frame type 0x7e");
        assertThat(hostile.get(5).get("_ws.malformed")).isNotEmpty();
        assertThat(hostile.get(6).get("_ws.expert.message")).contains("payload length (1000)");
        assertThat(hostile.get(6).get("_ws.malformed")).isNotEmpty();
        assertThat(hostile.get(7).get("_ws.expert.message")).contains("NAK code 9: must be 1 to 4");
        assertThat(hostile.get(7).get("vmrdma.nak.code")).isEqualTo("9");
        assertThat(hostile.get(7).get("_ws.malformed")).isNotEmpty();
        // A HELLO of another protocol version is legal (its receiver counts a version mismatch): a warning only.
        assertThat(hostile.get(8).get("_ws.expert.message")).contains("speaks vmrdma protocol 2");
        assertThat(hostile.get(8).get("_ws.expert.severity")).doesNotContain(ERROR);
        assertThat(hostile.get(8).get("vmrdma.header_crc.status")).isEqualTo("1");
        assertThat(hostile.get(8).get("_ws.malformed")).isEmpty();
    }

    private static void reseal(byte[] frame, int headerLength, int payloadLength) {
        ByteBuffer b = ByteBuffer.allocateDirect(frame.length);
        b.put(0, frame);
        new FrameCheck().seal(b, 0, headerLength, payloadLength);
        b.get(0, frame);
    }

    // ------------------------------------------------------------------------------------------------- UDP

    @Test
    @SuppressWarnings("try") // the capture runs for the try's duration, unreferenced
    void aCaptureOverUdpWithAuthenticationDecodesThroughThePortPreferenceAndDecodeAs(@TempDir Path dir)
            throws Exception {
        Path pcap = dir.resolve("vmrdma-udp.pcap");
        int portA = 4792;
        int portB = 5792;
        try (VethLink link = VethLink.create(MTU)) {
            VethLink.ip("-n", link.a.name(), "addr", "add", "169.254.23.1/24", "dev", link.interfaceA);
            VethLink.ip("-n", link.b.name(), "addr", "add", "169.254.23.2/24", "dev", link.interfaceB);
            try (Tshark.Capture capture = new Tshark.Capture(link.a.name(), link.interfaceA, pcap);
                    UdpPort a = link.a.call(() -> UdpPorts.open(InetAddress.getByName("169.254.23.1"), portA, 1472));
                    UdpPort b = link.b.call(() -> UdpPorts.open(InetAddress.getByName("169.254.23.2"), portB, 1472))) {
                DroppingPort dropping = new DroppingPort(b);
                Hosts hosts = new Hosts(a, dropping).authenticated(new FrameKeys(
                        "the dissector test's cluster key".getBytes(StandardCharsets.US_ASCII)));
                new Scenario(hosts, dropping).run();
            }
        }

        String udp = "udp.port == " + portA + " && udp.port == " + portB;
        // nic.udp's default port (4792) is the preference's default: A's frames and B's decode as they are.
        List<Map<String, String>> byDefault = Tshark.fields(pcap, List.of(), udp, FIELDS);
        // How many HELLOs go out depends on the run's timing: the frame types present are checked below.
        assertThat(byDefault).as("datagrams between the two ports").isNotEmpty();
        assertThat(byDefault).allSatisfy(f -> {
            assertThat(f.get("vmrdma.type")).as("decoded: %s", f).isNotEmpty();
            assertThat(f.get("vmrdma.header_crc.status")).isEqualTo("1");
            assertThat(Integer.parseInt(f.get("vmrdma.flags").substring(2), 16) & Frame.FLAG_AUTH)
                    .as("flag AUTH").isNotZero();
            assertThat(f.get("vmrdma.payload_crc.status")).as("no payload CRC with authentication").isEmpty();
            assertThat(f.get("vmrdma.auth.epoch")).isNotEmpty().isNotEqualTo("0x0000000000000000");
            assertThat(f.get("vmrdma.auth.tag").length()).as("16-byte tag in hex").isEqualTo(32);
            assertThat(f.get("_ws.malformed")).isEmpty();
            assertThat(f.get("_ws.expert.severity")).doesNotContain(ERROR);
        });
        // Each sender's frame counter grows by one a frame, within one epoch.
        Map<String, List<Long>> counters = new TreeMap<>();
        for (Map<String, String> f : byDefault) {
            counters.computeIfAbsent(f.get("vmrdma.src_node") + "/" + f.get("vmrdma.auth.epoch"),
                    k -> new ArrayList<>()).add(Long.parseLong(f.get("vmrdma.auth.counter")));
        }
        assertThat(counters).hasSize(2);
        counters.values().forEach(c -> assertThat(c).isSorted().doesNotHaveDuplicates());
        Set<String> types = byDefault.stream().map(f -> f.get("vmrdma.type")).collect(Collectors.toSet());
        assertThat(types).containsAll(List.of("0x01", "0x02", "0x10", "0x11", "0x12", "0x13", "0x20", "0x21",
                "0x30", "0x31", "0x32", "0x33", "0x34"));

        // Without the port, nothing is vmrdma; the preference on B's port, or Decode As, brings it back.
        List<Map<String, String>> off = Tshark.fields(pcap, List.of("-o", "vmrdma.udp_port:0"), udp, FIELDS);
        assertThat(off).hasSameSizeAs(byDefault).allSatisfy(f -> assertThat(f.get("vmrdma.type")).isEmpty());
        List<Map<String, String>> preference = Tshark.fields(pcap, List.of("-o", "vmrdma.udp_port:" + portB), udp,
                FIELDS);
        List<Map<String, String>> decodeAs = Tshark.fields(pcap, List.of("-o", "vmrdma.udp_port:0", "-d",
                "udp.port==" + portB + ",vmrdma"), udp, FIELDS);
        for (List<Map<String, String>> decoded : List.of(preference, decodeAs)) {
            assertThat(decoded).hasSameSizeAs(byDefault);
            for (int i = 0; i < decoded.size(); i++) {
                assertThat(decoded.get(i)).as("frame %d decoded the same way", i).isEqualTo(byDefault.get(i));
            }
        }
        System.out.printf("UDP: %d datagrams decoded by the default port, the port preference and Decode As%n",
                byDefault.size());
    }

    // ------------------------------------------------------------------------------------------- the scenario

    /** What the engines do, and what the test remembers to find in the capture. */
    private static final class Scenario {
        final Hosts hosts;
        final DroppingPort dropping;
        final WorkCompletion wc = new WorkCompletion();
        VerbsContext va;
        VerbsContext vb;
        QueuePair qa;
        QueuePair qb;
        QueuePair refused;
        MemoryRegion source;
        MemoryRegion target;
        CompletionQueue cqa;
        CompletionQueue cqb;
        long connectionId;
        long droppedPsn = -1;

        Scenario(Hosts hosts, DroppingPort dropping) {
            this.hosts = hosts;
            this.dropping = dropping;
        }

        void run() throws Exception {
            va = hosts.engines[0].openDomain(1, "d1");
            vb = hosts.engines[1].openDomain(2, "d2");
            ProtectionDomain pda = va.allocPd();
            ProtectionDomain pdb = vb.allocPd();
            cqa = va.createCq(64);
            cqb = vb.createCq(64);
            ByteBuffer a = ByteBuffer.allocateDirect(WRITE_BYTES);
            ByteBuffer b = ByteBuffer.allocateDirect(WRITE_BYTES);
            for (int i = 0; i < WRITE_BYTES; i++) {
                a.put(i, (byte) (i * 7));
            }
            source = va.regMr(pda, a, SOURCE_ADDRESS, AccessFlags.ALL);
            target = vb.regMr(pdb, b, TARGET_ADDRESS, AccessFlags.ALL);
            qa = va.createQp(new QpInitAttributes().pd(pda).sendCq(cqa).recvCq(cqa).maxSendWr(16).maxRecvWr(16));
            qb = vb.createQp(new QpInitAttributes().pd(pdb).sendCq(cqb).recvCq(cqb).maxSendWr(16).maxRecvWr(16));
            refused = va.createQp(new QpInitAttributes().pd(pda).sendCq(cqa).recvCq(cqa).maxSendWr(4).maxRecvWr(4));

            // HELLO and HELLO_REPLY: two hello periods of simulated time.
            idle(25_000);

            // CM_REQUEST to a service nobody listens on: CM_REJECT.
            va.connect(refused, 2, NOBODY, -1, null);
            CmEvent rejected = cmEvent(va);
            assertThat(rejected.type()).isEqualTo(CmEventType.REJECTED);

            // CM_REQUEST, CM_REPLY.
            vb.listen(SERVICE);
            connectionId = va.connect(qa, 2, SERVICE, -1, "private".getBytes(StandardCharsets.US_ASCII));
            CmEvent request = cmEvent(vb);
            assertThat(request.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
            vb.accept(request.connectionId(), qb, "ok".getBytes(StandardCharsets.US_ASCII));
            CmEvent established = cmEvent(va);
            assertThat(established.type()).as(established.toString()).isEqualTo(CmEventType.ESTABLISHED);

            // SEND before the receive is posted: NAK receiver-not-ready, then the SEND again once it is.
            SendWorkRequest send = new SendWorkRequest().wrId(1).opcode(Opcode.SEND_WITH_IMM).immData(IMM)
                    .sendFlags(SendFlags.SIGNALED);
            send.sgl().add(source.address(), SEND_BYTES, source.lkey());
            qa.postSend(send);
            hosts.run(() -> hosts.engines[1].counter(Counter.NAKS_SENT) > 0);
            RecvWorkRequest recv = new RecvWorkRequest().wrId(2);
            recv.sgl().add(target.address(), SEND_BYTES, target.lkey());
            qb.postRecv(recv);
            complete(cqa, 1);
            complete(cqb, 2);

            // A WRITE of 16 KiB whose third packet is lost on arrival: an ACK with a selective acknowledgement,
            // and the packet again.
            dropping.dropNth(FrameType.WRITE, 3);
            SendWorkRequest write = new SendWorkRequest().wrId(3).opcode(Opcode.RDMA_WRITE)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(target.address()).rkey(target.rkey());
            write.sgl().add(source.address(), WRITE_BYTES, source.lkey());
            qa.postSend(write);
            complete(cqa, 3);
            droppedPsn = dropping.droppedPsn;
            assertThat(droppedPsn).as("a WRITE packet was dropped").isNotEqualTo(-1);

            // A READ of 8 KiB back.
            SendWorkRequest read = new SendWorkRequest().wrId(4).opcode(Opcode.RDMA_READ)
                    .sendFlags(SendFlags.SIGNALED).remoteAddress(target.address()).rkey(target.rkey());
            read.sgl().add(source.address() + WRITE_BYTES - READ_BYTES, READ_BYTES, source.lkey());
            qa.postSend(read);
            complete(cqa, 4);

            // DISCONNECT_REQUEST, DISCONNECT_REPLY.
            va.disconnect(qa);
            CmEvent disconnected = new CmEvent();
            hosts.run(() -> vb.pollCmEvent(disconnected) && disconnected.type() == CmEventType.DISCONNECTED);
            hosts.quiesce();
        }

        private void idle(int rounds) {
            int[] n = {0};
            hosts.run(() -> ++n[0] > rounds);
        }

        private CmEvent cmEvent(VerbsContext v) {
            CmEvent event = new CmEvent();
            hosts.run(() -> v.pollCmEvent(event));
            return event;
        }

        private void complete(CompletionQueue cq, long wrId) {
            hosts.run(() -> cq.poll(wc));
            assertThat(wc.wrId()).isEqualTo(wrId);
            assertThat(wc.status()).as(wc.toString()).isEqualTo(WcStatus.SUCCESS);
        }

        String conversation() {
            String a = String.format("1:0x%06x", qa.address().qpn());
            String b = String.format("2:0x%06x", qb.address().qpn());
            return a.compareTo(b) < 0 ? a + " <-> " + b : b + " <-> " + a;
        }

        /** A WRITE of {@code bytes} from node 1's queue pair to node 2's, sealed, as an attacker would make it. */
        byte[] write(int bytes, boolean version2) {
            int header = FrameType.WRITE.headerLength();
            int length = Frame.length(header, bytes);
            ByteBuffer frame = ByteBuffer.allocateDirect(length);
            UnsafeBuffer b = new UnsafeBuffer(frame);
            Frame.writeBase(b, 0, FrameType.WRITE, Frame.FLAG_FIRST | Frame.FLAG_LAST, 1, 2, qb.pkey(), bytes,
                    qb.address().qpn(), qa.address().qpn(), 77, 77);
            if (version2) {
                b.putByte(Frame.VERSION_OFFSET, (byte) 2);
            }
            b.putLong(Extension.Write.REMOTE_ADDRESS, TARGET_ADDRESS, Frame.ORDER);
            b.putInt(Extension.Write.RKEY, target.rkey(), Frame.ORDER);
            b.putInt(Extension.Write.MESSAGE_LENGTH, bytes, Frame.ORDER);
            b.putInt(Extension.Write.LAST_PSN, 77, Frame.ORDER);
            b.putInt(Extension.Write.MSN, -1, Frame.ORDER);
            for (int i = 0; i < bytes; i++) {
                b.putByte(header + i, (byte) 0x41);
            }
            new FrameCheck().seal(frame, 0, header, bytes);
            byte[] out = new byte[length];
            frame.get(0, out);
            return out;
        }

        /**
         * A sealed NAK ({@code value} its code) or HELLO ({@code value} its protocol version) from node 1 to node 2,
         * with no payload.
         */
        byte[] control(FrameType type, int value) {
            int header = type.headerLength();
            ByteBuffer frame = ByteBuffer.allocateDirect(header);
            UnsafeBuffer b = new UnsafeBuffer(frame);
            boolean nak = type == FrameType.NAK;
            Frame.writeBase(b, 0, type, 0, 1, 2, nak ? qb.pkey() : 0, 0, nak ? qb.address().qpn() : 0,
                    nak ? qa.address().qpn() : 0, 0, 0);
            if (nak) {
                b.putInt(Extension.Nak.CODE, value, Frame.ORDER);
            } else {
                b.putShort(Extension.Hello.PROTOCOL_VERSION, (short) value, Frame.ORDER);
                b.putInt(Extension.Hello.MTU, MTU, Frame.ORDER);
            }
            new FrameCheck().seal(frame, 0, header, 0);
            byte[] out = new byte[header];
            frame.get(0, out);
            return out;
        }

        /** The frames of the capture, checked against what the engines were asked to do. */
        void checkAgainst(List<Map<String, String>> frames, boolean authenticated) {
            String qpnA = hex32(qa.address().qpn());
            String qpnB = hex32(qb.address().qpn());
            Predicate<Map<String, String>> aToB = f -> f.get("vmrdma.src_node").equals("1")
                    && f.get("vmrdma.src_qpn").equals(qpnA) && f.get("vmrdma.dst_qpn").equals(qpnB);
            Predicate<Map<String, String>> bToA = f -> f.get("vmrdma.src_node").equals("2")
                    && f.get("vmrdma.src_qpn").equals(qpnB) && f.get("vmrdma.dst_qpn").equals(qpnA);

            // HELLO / HELLO_REPLY: protocol 1, the link's MTU.
            assertThat(frames(frames, "0x01")).allSatisfy(f -> {
                assertThat(f.get("vmrdma.hello.protocol_version")).isEqualTo("1");
                assertThat(f.get("vmrdma.hello.mtu")).isEqualTo(Integer.toString(MTU));
            });
            assertThat(frames(frames, "0x02")).isNotEmpty();

            // CM_REJECT for the service nobody listens on, to the refused queue pair.
            Map<String, String> reject = frames(frames, "0x32").get(0);
            assertThat(reject.get("vmrdma.dst_qpn")).isEqualTo(hex32(refused.address().qpn()));
            assertThat(reject.get("vmrdma.cm.reason")).contains("nobody listens on service " + NOBODY);

            // CM_REQUEST and CM_REPLY of the connection.
            Map<String, String> request = frames(frames, "0x30").stream()
                    .filter(f -> f.get("vmrdma.cm.service_id").equals(Long.toString(SERVICE))).findFirst()
                    .orElseThrow();
            assertThat(request.get("vmrdma.src_qpn")).isEqualTo(qpnA);
            assertThat(request.get("vmrdma.dst_qpn")).isEqualTo("0x00000000");
            assertThat(request.get("vmrdma.cm.connection_id")).isEqualTo(hex64(connectionId));
            assertThat(request.get("vmrdma.cm.requester_domid")).isEqualTo("1");
            assertThat(request.get("vmrdma.cm.domain_name")).isEqualTo("d1");
            assertThat(request.get("vmrdma.cm.private_data")).isEqualTo(HexFormat.of().formatHex(
                    "private".getBytes(StandardCharsets.US_ASCII)));
            Map<String, String> reply = frames(frames, "0x31").get(0);
            assertThat(reply).matches(bToA, "from B's queue pair to A's");
            assertThat(reply.get("vmrdma.cm.connection_id")).isEqualTo(hex64(connectionId));
            assertThat(reply.get("vmrdma.cm.listener_domid")).isEqualTo("2");
            assertThat(reply.get("vmrdma.cm.domain_name")).isEqualTo("d2");
            assertThat(reply.get("vmrdma.pkey")).isEqualTo(String.format("0x%04x", qb.pkey()));
            long psnA = Long.parseLong(request.get("vmrdma.cm.initial_psn"));

            // SEND: the first request, at A's initial PSN, refused by NAK 1 and sent again.
            List<Map<String, String>> sends = frames(frames, "0x11");
            assertThat(sends).hasSizeGreaterThanOrEqualTo(2).allSatisfy(f -> {
                assertThat(f).matches(aToB, "A to B");
                assertThat(f.get("vmrdma.psn")).isEqualTo(Long.toString(psnA));
                assertThat(f.get("vmrdma.send.message_length")).isEqualTo(Integer.toString(SEND_BYTES));
                assertThat(f.get("vmrdma.payload_length")).isEqualTo(Integer.toString(SEND_BYTES));
                assertThat(f.get("vmrdma.send.imm")).isEqualTo(hex32(IMM));
                assertThat(f.get("vmrdma.send.offset")).isEqualTo("0");
            });
            Map<String, String> nak = frames(frames, "0x21").get(0);
            assertThat(nak).matches(bToA, "B to A");
            assertThat(nak.get("vmrdma.nak.code")).isEqualTo("1");
            assertThat(nak.get("vmrdma.nak.psn")).isEqualTo(Long.toString(psnA));

            // WRITE: PSNs from A's initial PSN + 1, addresses and lengths that tile the 16 KiB, B's rkey.
            List<Map<String, String>> writes = frames(frames, "0x10");
            long firstWrite = u32(psnA + 1);
            Map<Long, Map<String, String>> byPsn = new TreeMap<>();
            for (Map<String, String> w : writes) {
                assertThat(w).matches(aToB, "A to B");
                assertThat(w.get("vmrdma.write.rkey")).isEqualTo(hex32(target.rkey()));
                assertThat(w.get("vmrdma.write.message_length")).isEqualTo(Integer.toString(WRITE_BYTES));
                assertThat(w.get("vmrdma.first_psn")).isEqualTo(Long.toString(firstWrite));
                Map<String, String> earlier = byPsn.put(Long.parseLong(w.get("vmrdma.psn")), w);
                if (earlier != null) {
                    assertThat(w.get("vmrdma.write.remote_address")).as("a retransmission is the same packet")
                            .isEqualTo(earlier.get("vmrdma.write.remote_address"));
                }
            }
            long next = TARGET_ADDRESS;
            long psn = firstWrite;
            for (Map.Entry<Long, Map<String, String>> w : byPsn.entrySet()) {
                assertThat(w.getKey()).isEqualTo(u32(psn++));
                assertThat(w.getValue().get("vmrdma.write.remote_address")).isEqualTo(hex64(next));
                next += Integer.parseInt(w.getValue().get("vmrdma.payload_length"));
            }
            assertThat(next - TARGET_ADDRESS).as("payload bytes of the WRITE").isEqualTo(WRITE_BYTES);
            long lastWrite = u32(psn - 1);
            assertThat(writes).allSatisfy(w -> assertThat(w.get("vmrdma.write.last_psn"))
                    .isEqualTo(Long.toString(lastWrite)));
            assertThat(writes.stream().filter(w -> w.get("vmrdma.psn").equals(Long.toString(droppedPsn))))
                    .as("the dropped packet, sent twice").hasSize(2);

            // ACK with a selective acknowledgement: cumulative at the dropped PSN, the next ones marked.
            List<Map<String, String>> acks = frames(frames, "0x20");
            assertThat(acks).allSatisfy(f -> assertThat(f).matches(bToA, "B to A"));
            assertThat(acks).anySatisfy(f -> {
                assertThat(f.get("vmrdma.ack.cumulative_psn")).isEqualTo(Long.toString(droppedPsn));
                assertThat(f.get("vmrdma.ack.sacked_psn").split(",")[0]).isEqualTo(Long.toString(u32(droppedPsn
                        + 1)));
            });

            // READ_REQUEST and its responses: the next PSNs, B's rkey and address, offsets that tile 8 KiB.
            Map<String, String> readRequest = frames(frames, "0x12").get(0);
            assertThat(readRequest).matches(aToB, "A to B");
            assertThat(readRequest.get("vmrdma.psn")).isEqualTo(Long.toString(u32(lastWrite + 1)));
            assertThat(readRequest.get("vmrdma.read.remote_address")).isEqualTo(hex64(TARGET_ADDRESS));
            assertThat(readRequest.get("vmrdma.read.rkey")).isEqualTo(hex32(target.rkey()));
            assertThat(readRequest.get("vmrdma.read.length")).isEqualTo(Integer.toString(READ_BYTES));
            int segment = Integer.parseInt(readRequest.get("vmrdma.read.segment"));
            int packets = Integer.parseInt(readRequest.get("vmrdma.read.packets"));
            assertThat(packets).isEqualTo((READ_BYTES + segment - 1) / segment);
            List<Map<String, String>> responses = frames(frames, "0x13");
            assertThat(responses).hasSize(packets);
            long offset = 0;
            for (int i = 0; i < packets; i++) {
                Map<String, String> r = responses.get(i);
                assertThat(r).matches(bToA, "B to A");
                assertThat(r.get("vmrdma.psn")).isEqualTo(Long.toString(u32(lastWrite + 1 + i)));
                assertThat(r.get("vmrdma.read_response.offset")).isEqualTo(Long.toString(offset));
                offset += Integer.parseInt(r.get("vmrdma.payload_length"));
            }
            assertThat(offset).isEqualTo(READ_BYTES);

            // DISCONNECT_REQUEST from A, DISCONNECT_REPLY from B, naming the connection.
            Map<String, String> disconnect = frames(frames, "0x33").get(0);
            assertThat(disconnect).matches(aToB, "A to B");
            assertThat(disconnect.get("vmrdma.cm.connection_id")).isEqualTo(hex64(connectionId));
            Map<String, String> disconnected = frames(frames, "0x34").get(0);
            assertThat(disconnected).matches(bToA, "B to A");
            assertThat(disconnected.get("vmrdma.cm.connection_id")).isEqualTo(hex64(connectionId));
            if (authenticated) {
                assertThat(frames).allSatisfy(f -> assertThat(f.get("vmrdma.auth.tag")).isNotEmpty());
            }
        }
    }

    private static List<Map<String, String>> frames(List<Map<String, String>> frames, String type) {
        List<Map<String, String>> out = frames.stream().filter(f -> f.get("vmrdma.type").equals(type)).toList();
        assertThat(out).as("frames of type %s", type).isNotEmpty();
        return out;
    }

    private static long u32(long value) {
        return value & 0xFFFF_FFFFL;
    }

    private static String hex32(int value) {
        return String.format("0x%08x", value);
    }

    private static String hex64(long value) {
        return String.format("0x%016x", value);
    }

    /** A port that loses the n-th received frame of one type once asked to (a loss after the capture point). */
    private static final class DroppingPort extends ForwardingNicPort {
        private FrameType type;
        private int countdown;
        long droppedPsn = -1;

        DroppingPort(NicPort inner) {
            super(inner);
        }

        void dropNth(FrameType frameType, int n) {
            type = frameType;
            countdown = n;
        }

        @Override
        public int poll(FrameHandler handler, int frameLimit) {
            return inner.poll((ByteBuffer buffer, int offset, int length, LinkAddress source) -> {
                if (type != null && length >= Frame.BASE_LENGTH
                        && (buffer.get(offset + Frame.TYPE_OFFSET) & 0xFF) == type.code() && --countdown == 0) {
                    type = null;
                    int at = offset + Frame.PSN_OFFSET;
                    droppedPsn = (buffer.get(at) & 0xFFL) | (buffer.get(at + 1) & 0xFFL) << 8
                            | (buffer.get(at + 2) & 0xFFL) << 16 | (buffer.get(at + 3) & 0xFFL) << 24;
                    return;
                }
                handler.onFrame(buffer, offset, length, source);
            }, frameLimit);
        }
    }
}
