package io.vmrdma.benchmarks;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.verbs.AccessFlags;
import io.vmrdma.api.verbs.CmEvent;
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
import io.vmrdma.engine.internal.wire.Frame;
import io.vmrdma.engine.internal.wire.FrameCheck;
import io.vmrdma.engine.internal.wire.FrameType;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RDMA WRITE and READ between two engines over the loopback wire (MTU 65535), driven by one thread, beside the frame
 * path's own floor measured in the same run: the same bytes copied into frames, CRC32C over each frame, and copied
 * out again. Run by {@link WireReport}, which prints the ratios.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class WireLoopbackBenchmark {

    static final int MTU = 65535;

    @Param({"64", "4096", "65536", "1048576", "4194304"})
    public int size;

    private LoopbackPort portA;
    private LoopbackPort portB;
    private VerbsEngine a;
    private VerbsEngine b;
    private QueuePair qp;
    private CompletionQueue cq;
    private final SendWorkRequest write = new SendWorkRequest();
    private final SendWorkRequest read = new SendWorkRequest();
    private final WorkCompletion wc = new WorkCompletion();

    private UnsafeBuffer source;
    private UnsafeBuffer target;
    private ByteBuffer frameMemory;
    private UnsafeBuffer frame;
    private final FrameCheck check = new FrameCheck();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        LoopbackWire wire = new LoopbackWire();
        portA = new LoopbackPort(wire, 1, MTU, 1 << 20);
        portB = new LoopbackPort(wire, 2, MTU, 1 << 20);
        a = new VerbsEngine(1, System::nanoTime, 1L);
        b = new VerbsEngine(2, System::nanoTime, 2L);
        a.nic(portA);
        b.nic(portB);
        a.peer(2, wire.address(2));
        b.peer(1, wire.address(1));
        VerbsContext da = a.openDomain(1, "a");
        VerbsContext db = b.openDomain(2, "b");
        ProtectionDomain pa = da.allocPd();
        ProtectionDomain pb = db.allocPd();
        MemoryRegion ma = da.regMr(pa, ByteBuffer.allocateDirect(size), 0x1000, AccessFlags.ALL);
        MemoryRegion mb = db.regMr(pb, ByteBuffer.allocateDirect(size), 0x2000, AccessFlags.ALL);
        cq = da.createCq(1024);
        CompletionQueue cqb = db.createCq(1024);
        qp = da.createQp(new QpInitAttributes().pd(pa).sendCq(cq).recvCq(cq));
        QueuePair qpb = db.createQp(new QpInitAttributes().pd(pb).sendCq(cqb).recvCq(cqb));
        db.listen(1);
        da.connect(qp, 2, 1, -1, null);
        CmEvent event = new CmEvent();
        while (!db.pollCmEvent(event)) {
            a.doWork();
            b.doWork();
        }
        db.accept(event.connectionId(), qpb, null);
        while (!da.pollCmEvent(event)) {
            a.doWork();
            b.doWork();
        }
        write.opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED).remoteAddress(mb.address()).rkey(mb.rkey());
        write.sgl().add(ma.address(), size, ma.lkey());
        read.opcode(Opcode.RDMA_READ).sendFlags(SendFlags.SIGNALED).remoteAddress(mb.address()).rkey(mb.rkey());
        read.sgl().add(ma.address(), size, ma.lkey());
        source = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
        target = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
        frameMemory = ByteBuffer.allocateDirect(MTU);
        frame = new UnsafeBuffer(frameMemory);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        portA.close();
        portB.close();
    }

    private int complete(SendWorkRequest request) throws Exception {
        qp.postSend(request);
        while (!cq.poll(wc)) {
            a.doWork();
            b.doWork();
        }
        if (wc.status() != WcStatus.SUCCESS) {
            throw new IllegalStateException("request failed: " + wc);
        }
        return wc.byteLength();
    }

    @Benchmark
    public int rdmaWrite() throws Exception {
        return complete(write);
    }

    @Benchmark
    public int rdmaRead() throws Exception {
        return complete(read);
    }

    /** The frame path's floor: copy into a frame, CRC32C over the frame, copy out, per MTU-sized piece. */
    @Benchmark
    public int frameFloor() {
        int header = FrameType.WRITE.headerLength();
        int payload = MTU - header - Frame.TRAILER_LENGTH;
        int crc = 0;
        for (int at = 0; at < size; at += payload) {
            int n = Math.min(payload, size - at);
            frame.putBytes(header, source, at, n);
            check.seal(frameMemory, 0, header, n);
            crc ^= frame.getInt(header + n);
            target.putBytes(at, frame, header, n);
        }
        return crc;
    }
}
