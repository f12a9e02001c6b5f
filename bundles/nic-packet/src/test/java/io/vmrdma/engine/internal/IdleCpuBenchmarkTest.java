package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import io.vmrdma.api.nic.LinkAddress;
import io.vmrdma.api.nic.NicPort;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.nic.packet.internal.PacketLink;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import org.agrona.concurrent.AgentRunner;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Benchmark, run with {@code -Dvmrdma.bench=true} (docs/performance.md): what an engine with nothing to do costs, as
 * the distribution runs it. Two engines on nic.packet at the ends of a veth (MTU 9000), each driven by its
 * {@link DataAgent} on an {@link AgentRunner} with the production idle strategy, as {@code EngineNode} starts them; no
 * guests, no queue pairs, only the peers' HELLOs once a second. Measured twice: with no hypervisor bound, and with
 * node 1's guest backends bound on xen.sim (no guest has a device), as the default distribution runs it. After a warm-up, the CPU time of node 1's agent thread
 * over {@code vmrdma.bench.idle.seconds} (default 10) as a percentage of one core ({@code idle_cpu_pct}), beside the
 * whole JVM's over the same window (from {@code /proc/self/stat}) and, in the same run, the baseline: a thread that
 * does nothing but sleep 1 ms at a time, the wake-ups of an agent that polls its NIC on a 1 ms timer. The agent's
 * wake-ups a second are counted too (its thread's context switches, from {@code /proc}): on a shared machine other
 * work's softirqs run in whichever thread wakes and are charged to it, so the CPU figures move with the machine's load
 * while the wake-ups do not.
 *
 * <p>{@code vmrdma.bench.out}: a file for the results as one JSON object.
 */
class IdleCpuBenchmarkTest {

    private static final double SECONDS = Double.parseDouble(System.getProperty("vmrdma.bench.idle.seconds", "10"));
    private static final long WARMUP_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** Linux's USER_HZ: the unit of the CPU times in /proc/self/stat. */
    private static final double TICKS_PER_SECOND = 100;

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    @Test
    void anIdleEngineBesideAThreadSleeping1msAtATime() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("vmrdma.bench"), "benchmark: run with -Dvmrdma.bench=true");
        long measureNanos = (long) (SECONDS * 1e9);
        Idle alone = measure(measureNanos, false);
        Idle withBackends = measure(measureNanos, true);
        double parkPct = sleeperCpuPct(measureNanos);
        System.out.printf(Locale.ROOT, "idle engine (nic.packet on a veth, no guests, %.0f s): data agent %.3f %% of a"
                + " core, %.1f wake-ups/s, the whole JVM %.3f %%; with guest backends bound on xen.sim (as the"
                + " distribution runs it): %.3f %%, %.1f wake-ups/s; same run, a thread sleeping 1 ms at a time:"
                + " %.3f %%%n", SECONDS, alone.agentPct, alone.wakeups, alone.processPct, withBackends.agentPct,
                withBackends.wakeups, parkPct);
        assertThat(alone.agentPct).isNotNegative();
        assertThat(withBackends.agentPct).isNotNegative();
        String out = System.getProperty("vmrdma.bench.out", "");
        if (!out.isEmpty()) {
            Path file = Path.of(out).toAbsolutePath();
            Files.createDirectories(file.getParent());
            Files.writeString(file, String.format(Locale.ROOT, "{\"seconds\":%.1f,\"idle_cpu_pct\":%.4f,"
                    + "\"idle_wakeups_per_s\":%.2f,\"process_cpu_pct\":%.4f,\"sleep_1ms_cpu_pct\":%.4f,"
                    + "\"backends_cpu_pct\":%.4f,\"backends_wakeups_per_s\":%.2f}%n", SECONDS, alone.agentPct,
                    alone.wakeups, alone.processPct, parkPct, withBackends.agentPct, withBackends.wakeups),
                    StandardCharsets.UTF_8);
        }
    }

    /** What node 1's agent cost over {@code measureNanos} after the warm-up; its guest backends bound if asked. */
    private Idle measure(long measureNanos, boolean backendsBound) throws Exception {
        Path state = backendsBound ? Files.createTempDirectory(Path.of("/dev/shm"), "vmrdma-idle-") : null;
        try (PacketLink link = PacketLink.create(9000);
                SimHypervisor hv = backendsBound ? SimHypervisor.start(state) : null) {
            NicPort a = link.portA();
            NicPort b = link.portB();
            AgentRunner first = start(1, a, 2, b.address(), hv);
            AgentRunner second = start(2, b, 1, a.address(), null);
            try {
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(WARMUP_NANOS));
                Thread agent = first.thread();
                Path task = taskOf(agent.getName());
                long cpu = threads.getThreadCpuTime(agent.getId());
                long switches = contextSwitches(task);
                long process = processTicks();
                long from = System.nanoTime();
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(measureNanos));
                long wall = System.nanoTime() - from;
                return new Idle(100.0 * (threads.getThreadCpuTime(agent.getId()) - cpu) / wall,
                        (contextSwitches(task) - switches) / (wall / 1e9),
                        100.0 * (processTicks() - process) / TICKS_PER_SECOND / (wall / 1e9));
            } finally {
                first.close();
                second.close();
            }
        }
    }

    private record Idle(double agentPct, double wakeups, double processPct) {
    }

    /**
     * An engine on {@code port} knowing {@code peer} at {@code peerAddress}, on its own agent thread, set up as
     * {@code EngineNode} sets it up; with guest backends on {@code hv} unless it is null.
     */
    private static AgentRunner start(int node, NicPort port, int peer, LinkAddress peerAddress, SimHypervisor hv) {
        VerbsEngine verbs = new VerbsEngine(node, System::nanoTime, null);
        DataAgent agent = new DataAgent(verbs);
        WakeableIdleStrategy idle = new WakeableIdleStrategy();
        idle.waiter(agent::awaitWork);
        idle.framesOrDescriptor(agent::awaitWorkOr);
        agent.runAndWait(() -> {
            verbs.nic(port);
            verbs.peer(peer, peerAddress);
            idle.wirePolled(true);
            if (hv != null) {
                try {
                    GuestBackends backends = new GuestBackends(hv.dom0(), verbs);
                    agent.backends(backends);
                    idle.doorbell(backends);
                } catch (XenException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        AgentRunner runner = new AgentRunner(idle, Throwable::printStackTrace, null, agent);
        AgentRunner.startOnThread(runner);
        return runner;
    }

    /** CPU % of one core of a thread that sleeps 1 ms at a time for {@code nanos}. */
    private double sleeperCpuPct(long nanos) throws InterruptedException {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong cpu = new AtomicLong();
        Thread sleeper = new Thread(() -> {
            long start = threads.getCurrentThreadCpuTime();
            while (running.get()) {
                LockSupport.parkNanos(1_000_000);
            }
            cpu.set(threads.getCurrentThreadCpuTime() - start);
        }, "sleep-1ms");
        long from = System.nanoTime();
        sleeper.start();
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(nanos));
        running.set(false);
        sleeper.join();
        return 100.0 * cpu.get() / (System.nanoTime() - from);
    }

    /**
     * The {@code /proc} directory of this JVM's native thread named {@code name} (the JVM names each Java thread's
     * native thread after it, cut to 15 bytes).
     */
    private static Path taskOf(String name) throws Exception {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                if (Files.readString(task.resolve("comm")).strip().equals(comm)) {
                    return task;
                }
            }
        }
        throw new IllegalStateException("no native thread named " + comm);
    }

    /** The thread's context switches so far, voluntary (its sleeps) and not (preemptions). */
    private static long contextSwitches(Path task) throws Exception {
        long switches = 0;
        for (String line : Files.readAllLines(task.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                switches += Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            }
        }
        return switches;
    }

    /** User and system time of this JVM so far, in clock ticks (fields 14 and 15 of /proc/self/stat). */
    private static long processTicks() throws Exception {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
