package io.vmrdma.guest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vmrdma.engine.internal.WakeableIdleStrategy;
import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.xen.sim.guest.GuestMain;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimHypervisor;

/**
 * A simulated host: xen.sim, and an engine with its guest backends driven by one thread as the data agent
 * drives them in a distribution. Guests attach in this JVM (each with its own memory, grant table and sockets)
 * or run as processes.
 */
final class EngineFixture implements AutoCloseable {

    final SimHypervisor hv;
    volatile VerbsEngine engine;
    volatile GuestBackends backends;
    private Thread agent;
    private volatile boolean running = true;
    private volatile Throwable failure;

    EngineFixture(Path state) throws Exception {
        this(SimHypervisor.start(state));
    }

    EngineFixture(SimHypervisor hv) throws Exception {
        this.hv = hv;
        engine = new VerbsEngine(1, System::nanoTime, 42L);
        backends = new GuestBackends(hv.dom0(), engine);
        startAgent();
    }

    private void startAgent() {
        running = true;
        agent = new Thread(this::run, "test-data-agent");
        agent.start();
    }

    /**
     * dom0's vmrdma restarts: the backends close (guests see Closed), the engine and its state go, and a new
     * engine with new backends starts on the same hypervisor.
     */
    void restartDom0() throws Exception {
        running = false;
        agent.join();
        backends.close();
        for (var d : engine.domains()) {
            engine.closeDomain(d.domid());
        }
        engine = new VerbsEngine(1, System::nanoTime, 43L);
        backends = new GuestBackends(hv.dom0(), engine);
        startAgent();
    }

    private void run() {
        VerbsEngine engine = this.engine;
        GuestBackends backends = this.backends;
        // The data agent's production idle strategy: spin, yield, then wait up to 1 ms for a guest's event.
        WakeableIdleStrategy idle = new WakeableIdleStrategy();
        idle.doorbell(backends);
        try {
            while (running) {
                idle.idle(engine.doWork() + backends.doWork());
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    /** Creates a domain and attaches to it as its kernel, in this JVM. */
    SimGuest guest(String name) throws Exception {
        return guest(name, 16 << 20);
    }

    SimGuest guest(String name, long memoryBytes) throws Exception {
        int domid = hv.create(name, memoryBytes);
        return SimGuest.attach(hv.domainDirectory(domid));
    }

    /** The command that runs a Java guest program (its main class and arguments) under xen.sim's launcher. */
    static List<String> javaGuest(String mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx128m");
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(GuestMain.class.getName());
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return cmd;
    }

    void assertHealthy() {
        if (failure != null) {
            throw new AssertionError("the data agent failed", failure);
        }
    }

    /** Runs {@code check} on the agent's state until true (the agent owns it; reads here are advisory). */
    void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertHealthy();
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out: " + what + "; devices " + describe());
            }
            Thread.sleep(5);
        }
    }

    String describe() {
        try {
            return backends.describe().toString();
        } catch (RuntimeException e) {
            return "(busy)";
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        agent.join();
        backends.close();
        hv.close();
        assertHealthy();
    }
}
