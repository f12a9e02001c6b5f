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
 * Intra-node RDMA WRITE between two domains' registered regions, through the verbs engine (post, duty cycles,
 * poll the completion), beside a plain copy of the same bytes between the same kind of memory: the one-copy
 * limit. Run by {@link IntraNodeReport}, which prints the ratio.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class IntraNodeWriteBenchmark {

    @Param({"64", "4096", "65536", "1048576", "4194304"})
    public int size;

    private VerbsEngine engine;
    private QueuePair qp;
    private CompletionQueue cq;
    private final SendWorkRequest write = new SendWorkRequest();
    private final WorkCompletion wc = new WorkCompletion();
    private UnsafeBuffer copySource;
    private UnsafeBuffer copyTarget;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        engine = new VerbsEngine(1, System::nanoTime, 7L);
        VerbsContext a = engine.openDomain(1, "a");
        VerbsContext b = engine.openDomain(2, "b");
        ProtectionDomain pa = a.allocPd();
        ProtectionDomain pb = b.allocPd();
        MemoryRegion source = a.regMr(pa, ByteBuffer.allocateDirect(size), 0x1000, AccessFlags.ALL);
        MemoryRegion target = b.regMr(pb, ByteBuffer.allocateDirect(size), 0x2000, AccessFlags.ALL);
        cq = a.createCq(1024);
        CompletionQueue cqb = b.createCq(1024);
        qp = a.createQp(new QpInitAttributes().pd(pa).sendCq(cq).recvCq(cq));
        QueuePair qpb = b.createQp(new QpInitAttributes().pd(pb).sendCq(cqb).recvCq(cqb));
        b.listen(1);
        long id = a.connect(qp, 1, 1, -1, null);
        CmEvent event = new CmEvent();
        b.pollCmEvent(event);
        b.accept(id, qpb, null);
        write.opcode(Opcode.RDMA_WRITE).sendFlags(SendFlags.SIGNALED).remoteAddress(target.address())
                .rkey(target.rkey());
        write.sgl().add(source.address(), size, source.lkey());
        copySource = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
        copyTarget = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.closeDomain(1);
        engine.closeDomain(2);
    }

    /** One signaled RDMA WRITE of {@code size} bytes, from post to polled completion. */
    @Benchmark
    public int rdmaWrite() throws Exception {
        qp.postSend(write);
        while (!cq.poll(wc)) {
            engine.doWork();
        }
        if (wc.status() != WcStatus.SUCCESS) {
            throw new IllegalStateException("write failed: " + wc);
        }
        return wc.byteLength();
    }

    /** The one-copy limit: the same bytes copied once between two direct buffers. */
    @Benchmark
    public UnsafeBuffer memoryCopy() {
        copyTarget.putBytes(0, copySource, 0, size);
        return copyTarget;
    }
}
