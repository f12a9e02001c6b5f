package io.vmrdma.benchmarks;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import io.aeron.Aeron;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
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
 * The intra-host peer of {@link IntraNodeWriteBenchmark#rdmaWrite}: Aeron IPC (an embedded media driver, shared
 * threading mode, one driver thread) moving the same bytes from one direct buffer into another. One operation offers
 * one message of {@code size} bytes on an IPC publication and polls the subscription in the same thread until the
 * whole message has been copied into the destination buffer: post, then drive until complete, as the RDMA WRITE
 * benchmark does. The handler copies each fragment straight to its place (no reassembly buffer), which is the most
 * favourable way to receive with Aeron. Channel: {@code aeron:ipc} with a 64 MiB term and the largest MTU, so a
 * 1 MiB message is 17 fragments.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class AeronIpcBenchmark {

    static final String CHANNEL = "aeron:ipc?term-length=64m|mtu=65504";
    static final int STREAM = 1001;

    @Param({"64", "4096", "65536", "1048576", "4194304"})
    public int size;

    private MediaDriver driver;
    private Aeron aeron;
    private Publication publication;
    private Subscription subscription;
    private UnsafeBuffer source;
    private UnsafeBuffer target;
    private int received;
    private final FragmentHandler handler = this::onFragment;

    @Setup(Level.Trial)
    public void setUp() {
        String dir = new File(System.getProperty("java.io.tmpdir"), "vmrdma-bench-aeron-" + ProcessHandle.current()
                .pid()).getAbsolutePath();
        driver = MediaDriver.launchEmbedded(new MediaDriver.Context()
                .aeronDirectoryName(dir)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .threadingMode(ThreadingMode.SHARED)
                .sharedIdleStrategy(new BackoffIdleStrategy())
                .ipcTermBufferLength(64 << 20));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
        subscription = aeron.addSubscription(CHANNEL, STREAM);
        publication = aeron.addExclusivePublication(CHANNEL, STREAM);
        while (!publication.isConnected() || !subscription.isConnected()) {
            Thread.onSpinWait();
        }
        if (publication.maxMessageLength() < size) {
            throw new IllegalStateException("message " + size + " over Aeron's maximum " + publication
                    .maxMessageLength());
        }
        source = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
        target = new UnsafeBuffer(ByteBuffer.allocateDirect(size));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        aeron.close();
        driver.close();
    }

    private void onFragment(DirectBuffer buffer, int offset, int length, io.aeron.logbuffer.Header header) {
        target.putBytes(received, buffer, offset, length);
        received += length;
    }

    /** One message of {@code size} bytes from the source buffer, through the IPC log, into the target buffer. */
    @Benchmark
    public int ipcMessage() {
        received = 0;
        long result;
        while ((result = publication.offer(source, 0, size)) < 0) {
            if (result == Publication.CLOSED || result == Publication.NOT_CONNECTED
                    || result == Publication.MAX_POSITION_EXCEEDED) {
                throw new IllegalStateException("offer failed: " + result);
            }
            subscription.poll(handler, Integer.MAX_VALUE);
        }
        while (received < size) {
            subscription.poll(handler, Integer.MAX_VALUE);
        }
        return received;
    }
}
