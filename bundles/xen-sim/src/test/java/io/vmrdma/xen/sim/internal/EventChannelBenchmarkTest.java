package io.vmrdma.xen.sim.internal;

import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The event channel's round trip (dom0 notifies, a guest thread blocked on its handle wakes, unmasks and notifies
 * back) beside a pipe's (a byte each way between two threads, the same shape), in alternating blocks so that both
 * see the same machine: on a shared host a neighbour's load moves both alike. Prints percentiles, asserts nothing
 * about speed. Runs only with {@code -Dvmrdma.bench=true}; {@code -Dvmrdma.bench.out=<file>} also writes JSON.
 */
class EventChannelBenchmarkTest {

    private static final int BLOCKS = 20;
    private static final int ROUNDS_PER_BLOCK = 1_000;
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(10);

    @TempDir
    Path state;

    @Test
    void roundTripBesideAPipe() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        Histogram evtchn = new Histogram(TimeUnit.SECONDS.toNanos(1), 3);
        Histogram pipe = new Histogram(TimeUnit.SECONDS.toNanos(1), 3);
        try (SimHypervisor hv = SimHypervisor.start(SimSettings.defaults(state));
                SimGuest guest = SimGuest.attach(hv.domainDirectory(hv.create("bench", 1 << 20)));
                EventChannel domU = guest.openEventChannel();
                EventChannel dom0 = hv.dom0().openEventChannel();
                PipeEcho echoPipe = new PipeEcho()) {
            int port = dom0.bindInterdomain(guest.selfDomid(), domU.bindUnboundPort(0));
            dom0.waitPending(TIMEOUT);
            dom0.unmask(port);
            Thread echo = new Thread(() -> echo(domU), "guest-echo");
            echo.start();
            for (int block = 0; block < 2 * BLOCKS; block++) {
                boolean measured = block >= 2; // the first two blocks warm both paths up
                for (int i = 0; i < ROUNDS_PER_BLOCK; i++) {
                    long start = System.nanoTime();
                    if (block % 2 == 0) {
                        dom0.notify(port);
                        dom0.unmask(dom0.waitPending(TIMEOUT));
                    } else {
                        echoPipe.roundTrip();
                    }
                    if (measured) {
                        (block % 2 == 0 ? evtchn : pipe).recordValue(System.nanoTime() - start);
                    }
                }
            }
            domU.close();
            echo.join();
        }
        double ratio = evtchn.getValueAtPercentile(50) / (double) pipe.getValueAtPercentile(50);
        String json = String.format(Locale.ROOT, "{\"evtchn\":%s,\"pipe\":%s,\"evtchn_vs_pipe_p50\":%.3f}",
                percentiles(evtchn), percentiles(pipe), ratio);
        System.out.println("xen.sim event channel round trip beside a pipe's, alternating blocks of "
                + ROUNDS_PER_BLOCK + " (us): " + json);
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, json + "\n", StandardCharsets.UTF_8);
        }
    }

    /** The guest's side: wait, unmask, notify back, until its handle closes. */
    private static void echo(EventChannel domU) {
        try {
            while (true) {
                int port = domU.waitPending(Long.MAX_VALUE);
                domU.unmask(port);
                domU.notify(port);
            }
        } catch (Exception closed) {
            // the handle closed: the benchmark is over
        }
    }

    private static String percentiles(Histogram h) {
        return String.format(Locale.ROOT, "{\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p99_9_us\":%.2f,"
                + "\"max_us\":%.2f,\"count\":%d}", h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3,
                h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3,
                h.getTotalCount());
    }

    /** A byte to an echo thread through one pipe and back through another. */
    private static final class PipeEcho implements AutoCloseable {
        private final Pipe ping = Pipe.open();
        private final Pipe pong = Pipe.open();
        private final ByteBuffer one = ByteBuffer.allocateDirect(1);
        private final Thread echo = new Thread(this::run, "pipe-echo");

        PipeEcho() throws Exception {
            echo.start();
        }

        void roundTrip() throws Exception {
            one.clear();
            ping.sink().write(one);
            one.clear();
            pong.source().read(one);
        }

        private void run() {
            ByteBuffer b = ByteBuffer.allocateDirect(1);
            try {
                while (ping.source().read(b.clear()) > 0) {
                    pong.sink().write(b.flip());
                }
            } catch (Exception e) {
                // closed: the benchmark is over
            }
        }

        @Override
        public void close() throws Exception {
            ping.sink().close();
            echo.join();
            ping.source().close();
            pong.sink().close();
            pong.source().close();
        }
    }
}
