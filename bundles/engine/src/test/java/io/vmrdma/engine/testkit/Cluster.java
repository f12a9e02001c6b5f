package io.vmrdma.engine.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.verbs.CmEvent;
import io.vmrdma.api.verbs.CompletionQueue;
import io.vmrdma.api.verbs.MemoryRegion;
import io.vmrdma.api.verbs.ProtectionDomain;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.QueuePair;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.api.verbs.WorkCompletion;
import io.vmrdma.engine.internal.auth.FrameKeys;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.nic.faults.BottleneckNicPort;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.nic.faults.FaultyNicPort;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;

/**
 * A cluster on a faulty wire, for tests: several nodes in one JVM, each an engine with its own loopback port on one
 * wire, optionally behind a fault injector (loss, duplication, reordering, corruption), driven by one thread with a
 * hand-advanced clock, so runs are repeatable from their seeds. Frames are authenticated with {@link #KEYS}, as they
 * are by default. Published in the engine's test jar.
 */
public final class Cluster implements AutoCloseable {

    /** The secret every node of a test cluster shares. */
    public static final byte[] SECRET =
            "a test cluster's secret, 32 bytes".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    public static final FrameKeys KEYS = new FrameKeys(SECRET);

    private final long[] clock = {1_000_000_000L};
    /** What the engines read: the hand-advanced {@link #clock}, or a real clock for benchmarks. */
    private final LongSupplier time;
    private final LoopbackWire wire = new LoopbackWire();
    private final List<VerbsEngine> engines = new ArrayList<>();
    private final List<LoopbackPort> ports = new ArrayList<>();
    private final List<NicPort> nics = new ArrayList<>();

    /** Nodes 1..{@code nodes}, each every other's static peer, all up when this returns. */
    public Cluster(int nodes, int mtu, Faults faults, long seed) {
        this(nodes, mtu, faults, seed, true);
    }

    /** As above; without {@code staticPeers} the nodes find each other by discovery HELLOs on the wire. */
    public Cluster(int nodes, int mtu, Faults faults, long seed, boolean staticPeers) {
        this(nodes, mtu, faults, seed, staticPeers, null);
    }

    /**
     * As above, on {@code realClock} (System::nanoTime) rather than the hand-advanced one, for benchmarks that
     * measure time: {@link #advance} then changes nothing the engines see.
     */
    public Cluster(int nodes, int mtu, Faults faults, long seed, LongSupplier realClock) {
        this(nodes, mtu, faults, seed, true, realClock);
    }

    private Cluster(int nodes, int mtu, Faults faults, long seed, boolean staticPeers, LongSupplier realClock) {
        time = realClock == null ? () -> clock[0] : realClock;
        for (int n = 1; n <= nodes; n++) {
            VerbsEngine engine = new VerbsEngine(n, time, seed + n);
            engine.authentication(KEYS);
            LoopbackPort port = new LoopbackPort(wire, n, mtu, 1 << 24);
            NicPort nic =
                    faults.none() ? port : new FaultyNicPort(port, Faults.NONE, faults, seed * 31 + n, time);
            engine.nic(nic);
            engines.add(engine);
            ports.add(port);
            nics.add(nic);
        }
        for (VerbsEngine engine : engines) {
            for (int n = 1; n <= nodes && staticPeers; n++) {
                if (n != engine.nodeId()) {
                    engine.peer(n, wire.address(n));
                }
            }
        }
        if (staticPeers) {
            // As in a running cluster, every node has answered every other's challenge before a test begins.
            runUntil(this::everyPeerUp, 10_000_000_000L);
        }
    }

    private boolean everyPeerUp() {
        for (VerbsEngine engine : engines) {
            for (int n = 1; n <= engines.size(); n++) {
                if (n != engine.nodeId() && !engine.peerUp(n)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Turns frame authentication off on every node ({@code auth = off}): for tests of what it does not change. */
    public Cluster authenticationOff() {
        engines.forEach(e -> e.authentication(null));
        return this;
    }

    /** Node {@code n}'s engine (1-based, as node ids are). */
    public VerbsEngine node(int n) {
        return engines.get(n - 1);
    }

    /** The engines, node 1 first. */
    public List<VerbsEngine> engines() {
        return engines;
    }

    /** The wire all ports are on: its {@code address(n)} is node n's port. */
    public LoopbackWire wire() {
        return wire;
    }

    /** The loopback ports, node 1's first: where a test sends forged or replayed frames from. */
    public List<LoopbackPort> ports() {
        return ports;
    }

    /** The ports the engines are bound to: the loopback ports, or the fault injectors in front of them. */
    public List<NicPort> nics() {
        return nics;
    }

    /**
     * Puts a switch port with a queue of {@code depthBytes} draining at {@code bytesPerSecond} in front of node
     * {@code n}: every frame to it waits there, and one the queue has no room for is lost. Returns the queue.
     */
    public BottleneckNicPort bottleneck(int n, long bytesPerSecond, int depthBytes) {
        BottleneckNicPort port = new BottleneckNicPort(nics.get(n - 1), bytesPerSecond, depthBytes, clock());
        nics.set(n - 1, port);
        node(n).nic(port);
        return port;
    }

    /** The cluster's clock, in nanoseconds. */
    public long now() {
        return time.getAsLong();
    }

    /** The clock as the engines read it, for an engine a test adds. */
    public LongSupplier clock() {
        return time;
    }

    /** Moves the clock on by {@code nanos}. */
    public void advance(long nanos) {
        clock[0] += nanos;
    }

    /** Runs every engine until none has done anything for {@code idleRounds} rounds, advancing time when idle. */
    public void settle(int idleRounds) {
        int idle = 0;
        for (int round = 0; idle < idleRounds; round++) {
            int work = 0;
            for (VerbsEngine engine : engines) {
                work += engine.doWork();
            }
            if (work == 0) {
                idle++;
                clock[0] += 200_000;
            } else {
                idle = 0;
                clock[0] += 1_000;
            }
            assertThat(round).as("cluster keeps working").isLessThan(5_000_000);
        }
    }

    /** Runs until {@code done} says so, advancing time; fails after {@code maxNanos} of simulated time. */
    public void runUntil(BooleanSupplier done, long maxNanos) {
        long until = now() + maxNanos;
        while (!done.getAsBoolean()) {
            int work = 0;
            for (VerbsEngine engine : engines) {
                work += engine.doWork();
            }
            clock[0] += work == 0 ? 100_000 : 1_000;
            assertThat(now()).as("time ran out").isLessThan(until);
        }
    }

    @Override
    public void close() {
        ports.forEach(LoopbackPort::close);
    }

    /** One domain on one node, with a protection domain and one completion queue. */
    public final class Dom {
        public final VerbsEngine engine;
        public final VerbsContext verbs;
        public final ProtectionDomain pd;
        public final CompletionQueue cq;
        /** Every completion {@link #drainCq} polled, oldest first. */
        public final List<WorkCompletion> polled = new ArrayList<>();

        Dom(int node, int domid, String name) throws VerbsException {
            this(node(node), node(node).openDomain(domid, name));
        }

        Dom(VerbsEngine engine, VerbsContext verbs) throws VerbsException {
            this.engine = engine;
            this.verbs = verbs;
            pd = verbs.allocPd();
            cq = verbs.createCq(65536);
        }

        /** The VM this device belongs to: its counters, limits and settings. */
        public io.vmrdma.api.Domain vm() {
            return engine.domain(verbs.domid()).orElseThrow();
        }

        /** A region of {@code bytes} filled from {@code seed}, at an address the seed picks. */
        public MemoryRegion region(int bytes, int access, long seed) throws VerbsException {
            ByteBuffer memory = ByteBuffer.allocateDirect(bytes);
            java.util.Random r = new java.util.Random(seed);
            for (int i = 0; i < bytes; i++) {
                memory.put(i, (byte) r.nextInt());
            }
            return verbs.regMr(pd, memory, 0x4000_0000L + seed * 0x100_0000L, access);
        }

        public QueuePair qp() throws VerbsException {
            return verbs.createQp(new QpInitAttributes().pd(pd).sendCq(cq).recvCq(cq).maxSendWr(4096)
                    .maxRecvWr(4096).maxSge(4));
        }

        /** Polls every completion waiting; returns all polled so far. */
        public List<WorkCompletion> drainCq() {
            while (true) {
                WorkCompletion wc = new WorkCompletion();
                if (!cq.poll(wc)) {
                    return polled;
                }
                polled.add(wc);
            }
        }

        /** The domain's next connection event, running the cluster until it comes. */
        public CmEvent nextCm() {
            CmEvent event = new CmEvent();
            runUntil(() -> verbs.pollCmEvent(event), 10_000_000_000L);
            return event;
        }
    }

    public Dom domain(int node, int domid, String name) throws VerbsException {
        return new Dom(node, domid, name);
    }

    /** Device {@code devid} of a domain on {@code node}, opened for guest process {@code process}. */
    public Dom device(int node, int domid, int devid, String name, long process) throws VerbsException {
        return new Dom(node(node), node(node).openDevice(domid, devid, name, process));
    }

    /** Connects a queue pair of {@code client} to one of {@code server} (on any nodes) through the connection manager. */
    public QueuePair[] connect(Dom client, Dom server, long service) throws VerbsException {
        server.verbs.listen(service);
        QueuePair c = client.qp();
        QueuePair s = server.qp();
        client.verbs.connect(c, server.engine.nodeId(), service, -1, null);
        CmEvent request = server.nextCm();
        assertThat(request.type()).isEqualTo(io.vmrdma.api.verbs.CmEventType.CONNECT_REQUEST);
        server.verbs.accept(request.connectionId(), s, null);
        assertThat(server.nextCm().type()).isEqualTo(io.vmrdma.api.verbs.CmEventType.ESTABLISHED);
        CmEvent established = client.nextCm();
        assertThat(established.type()).as(established.toString())
                .isEqualTo(io.vmrdma.api.verbs.CmEventType.ESTABLISHED);
        server.verbs.stopListening(service);
        return new QueuePair[] {c, s};
    }
}
