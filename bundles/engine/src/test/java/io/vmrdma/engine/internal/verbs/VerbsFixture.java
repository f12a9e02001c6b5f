package io.vmrdma.engine.internal.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CmEventType;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WorkCompletion;

/** One node's engine with a hand-driven clock, and helpers to set up domains and connected queue pairs. */
final class VerbsFixture {

    static final int NODE = 1;
    static final long SERVICE = 4791;

    final long[] clock = {1_000_000_000L};
    final VerbsEngine engine = new VerbsEngine(NODE, () -> clock[0], 42L);
    private long nextService = SERVICE;

    /** One domain's objects: a protection domain, one CQ for everything, and helpers. */
    final class Dom {
        final VerbsContext verbs;
        final ProtectionDomain pd;
        final CompletionQueue cq;

        Dom(int domid, String name) throws VerbsException {
            this(engine.openDomain(domid, name));
        }

        Dom(VerbsContext verbs) throws VerbsException {
            this.verbs = verbs;
            pd = verbs.allocPd();
            cq = verbs.createCq(4096);
        }

        /** The VM this device belongs to: its counters, limits and settings. */
        io.vmrdma.api.Domain vm() {
            return ((DeviceVerbs) verbs).domain();
        }

        /** A region of {@code bytes} at address {@code 0x10000 * domid}, filled with a pattern. */
        MemoryRegion region(int bytes, int access) throws VerbsException {
            ByteBuffer memory = ByteBuffer.allocateDirect(bytes);
            for (int i = 0; i < bytes; i++) {
                memory.put(i, (byte) (i * 31 + verbs.domid()));
            }
            return verbs.regMr(pd, memory, 0x1000_0000L * verbs.domid(), access);
        }

        QueuePair qp() throws VerbsException {
            return verbs.createQp(new QpInitAttributes().pd(pd).sendCq(cq).recvCq(cq).maxSendWr(256)
                    .maxRecvWr(256).maxSge(4));
        }

        List<WorkCompletion> completions() {
            List<WorkCompletion> all = new ArrayList<>();
            while (true) {
                WorkCompletion wc = new WorkCompletion();
                if (!cq.poll(wc)) {
                    return all;
                }
                all.add(wc);
            }
        }

        CmEvent cmEvent() {
            CmEvent event = new CmEvent();
            assertThat(verbs.pollCmEvent(event)).as("a connection-manager event for dom %d", verbs.domid()).isTrue();
            return event;
        }
    }

    Dom domain(int domid, String name) throws VerbsException {
        return new Dom(domid, name);
    }

    /** Device {@code devid} of a domain, as one more guest process of it opens it. */
    Dom device(int domid, int devid, String name) throws VerbsException {
        return new Dom(engine.openDevice(domid, devid, name, 1000 + devid));
    }

    /** Connects a new queue pair of {@code client} to a new one of {@code server} through the connection manager. */
    QueuePair[] connect(Dom client, Dom server) throws VerbsException {
        long service = nextService++;
        server.verbs.listen(service);
        QueuePair c = client.qp();
        QueuePair s = server.qp();
        long id = client.verbs.connect(c, NODE, service, -1, null);
        CmEvent request = server.cmEvent();
        assertThat(request.type()).isEqualTo(CmEventType.CONNECT_REQUEST);
        assertThat(request.connectionId()).isEqualTo(id);
        server.verbs.accept(id, s, null);
        assertThat(client.cmEvent().type()).isEqualTo(CmEventType.ESTABLISHED);
        assertThat(server.cmEvent().type()).isEqualTo(CmEventType.ESTABLISHED);
        server.verbs.stopListening(service);
        return new QueuePair[] {c, s};
    }

    /** Runs duty cycles until one does nothing. */
    void drain() {
        for (int cycles = 0; engine.doWork() > 0; cycles++) {
            assertThat(cycles).as("engine keeps working").isLessThan(10_000_000);
        }
    }

    static byte[] bytes(MemoryRegion region, long address, int length) {
        Region r = (Region) region;
        byte[] out = new byte[length];
        r.memory().getBytes(r.offsetOf(address), out);
        return out;
    }

    static byte[] snapshot(MemoryRegion region) {
        return bytes(region, region.address(), (int) region.length());
    }

    static int all() {
        return AccessFlags.ALL;
    }
}
