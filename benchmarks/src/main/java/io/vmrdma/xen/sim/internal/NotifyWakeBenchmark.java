package io.vmrdma.xen.sim.internal;

import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.xen.sim.guest.SimGuest;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Notify-to-wake latency as a ping-pong round trip (two wake-ups) between dom0 and a guest thread blocked on its
 * event channel, beside the same ping-pong over a pipe and over park/unpark (a futex) in the same run.
 * SampleTime mode reports p50 and p99; a one-way wake-up is half the round trip.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class NotifyWakeBenchmark {

    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(10);

    Path dir;
    SimHypervisor hv;
    SimGuest guest;
    EventChannel dom0;
    EventChannel domU;
    int dom0Port;
    Thread echo;
    volatile boolean running = true;

    Pipe ping;
    Pipe pong;
    Thread pipeEcho;
    final ByteBuffer pipeByte = ByteBuffer.allocateDirect(1);

    volatile Thread parkCaller;
    volatile int parkToken;
    volatile int parkAnswer;
    Thread parkEcho;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        dir = Files.createTempDirectory(Path.of("/dev/shm"), "jmh-evtchn");
        hv = SimHypervisor.start(dir);
        guest = SimGuest.attach(hv.domainDirectory(hv.create("bench", 1 << 20)));
        domU = guest.openEventChannel();
        dom0 = hv.dom0().openEventChannel();
        int guestPort = domU.bindUnboundPort(0);
        dom0Port = dom0.bindInterdomain(guest.selfDomid(), guestPort);
        dom0.waitPending(TIMEOUT);
        dom0.unmask(dom0Port);
        echo = new Thread(() -> {
            try {
                while (running) {
                    int port = domU.waitPending(TimeUnit.MILLISECONDS.toNanos(100));
                    if (port > 0) {
                        domU.unmask(port);
                        domU.notify(port);
                    }
                }
            } catch (Exception e) {
                // benchmark ends
            }
        }, "guest-echo");
        echo.start();

        ping = Pipe.open();
        pong = Pipe.open();
        pipeEcho = new Thread(() -> {
            ByteBuffer b = ByteBuffer.allocateDirect(1);
            try {
                while (true) {
                    b.clear();
                    if (ping.source().read(b) < 0) {
                        return;
                    }
                    b.flip();
                    pong.sink().write(b);
                }
            } catch (Exception e) {
                // benchmark ends
            }
        }, "pipe-echo");
        pipeEcho.start();

        parkEcho = new Thread(() -> {
            int seen = 0;
            while (running) {
                int token = parkToken;
                if (token != seen) {
                    seen = token;
                    parkAnswer = token;
                    LockSupport.unpark(parkCaller);
                } else {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                }
            }
        }, "park-echo");
        parkEcho.start();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        running = false;
        LockSupport.unpark(parkEcho);
        echo.join();
        parkEcho.join();
        ping.sink().close();
        pipeEcho.join();
        dom0.close();
        domU.close();
        guest.close();
        hv.close();
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public int eventChannelRoundTrip() throws Exception {
        dom0.notify(dom0Port);
        int port = dom0.waitPending(TIMEOUT);
        dom0.unmask(port);
        return port;
    }

    @Benchmark
    public int pipeRoundTrip() throws Exception {
        pipeByte.clear();
        pipeByte.put(0, (byte) 1);
        ping.sink().write(pipeByte);
        pipeByte.clear();
        return pong.source().read(pipeByte);
    }

    @Benchmark
    public int parkUnparkRoundTrip() {
        parkCaller = Thread.currentThread();
        int token = parkToken + 1;
        parkToken = token;
        LockSupport.unpark(parkEcho);
        while (parkAnswer != token) {
            LockSupport.park(this);
        }
        return token;
    }
}
