package io.vmrdma.nic.packet.internal;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import io.vmrdma.api.Counter;
import io.vmrdma.api.Domain;
import io.vmrdma.engine.internal.WakeableIdleStrategy;
import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.internal.verbs.SchedulerSource;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimForGuestTests;
import io.vmrdma.xen.sim.internal.SimHypervisor;

/**
 * A simulated Xen host in a network namespace, as the embedded default runs it: xen.sim with its state under
 * {@code /dev/shm}, an engine on nic.packet bound to the namespace's end of a veth pair, and the guests' backends,
 * all driven by one data-agent thread with the production idle strategy (spin, yield, then wait up to 1 ms for a
 * guest's event). Guests attach in this JVM, so their threads can be timed.
 */
final class GuestHost implements AutoCloseable {

    final VerbsEngine engine;
    private final Path state;
    private final SimHypervisor hv;
    private final PacketPort port;
    private final GuestBackends backends;
    /** The threads the simulator started (its I/O thread: the hypervisor's side of every hypercall). */
    private final Set<Long> simulatorThreads = new HashSet<>();
    private final Thread agent;
    private volatile boolean running = true;
    private volatile Throwable failure;

    /** How a host starts its simulator in a state directory. */
    private interface Simulator {
        SimHypervisor start(Path state) throws Exception;
    }

    /** Starts xen.sim and the engine (node {@code node}) bound to {@code device} inside {@code namespace}. */
    GuestHost(int node, NetworkNamespace namespace, String device) throws Exception {
        this(node, namespace, device, SimHypervisor::start);
    }

    /** As {@link #GuestHost(int, NetworkNamespace, String)}, each VM allowed to share {@code gntallocPages}. */
    GuestHost(int node, NetworkNamespace namespace, String device, int gntallocPages) throws Exception {
        this(node, namespace, device, state -> SimForGuestTests.start(state, gntallocPages));
    }

    private GuestHost(int node, NetworkNamespace namespace, String device, Simulator simulator) throws Exception {
        state = Files.createTempDirectory(Path.of("/dev/shm"), "vmrdma-host" + node + "-");
        Set<Long> before = threadIds();
        hv = simulator.start(state);
        simulatorThreads.addAll(threadIds());
        simulatorThreads.removeAll(before);
        engine = new VerbsEngine(node, System::nanoTime, (long) node);
        port = namespace.call(() -> new PacketPort(PacketSettings.of(device)));
        engine.nic(port);
        backends = new GuestBackends(hv.dom0(), engine);
        agent = new Thread(this::run, "data-agent-" + node);
    }

    /** Makes each host the other's static peer and starts both data agents. */
    static void join(GuestHost a, GuestHost b) {
        a.engine.peer(b.engine.nodeId(), b.port.address());
        b.engine.peer(a.engine.nodeId(), a.port.address());
        a.agent.start();
        b.agent.start();
    }

    private void run() {
        WakeableIdleStrategy idle = new WakeableIdleStrategy();
        idle.doorbell(backends);
        idle.wirePolled(true);
        idle.framesOrDescriptor(engine::awaitFramesOr);
        try {
            while (running) {
                idle.idle(engine.doWork() + backends.doWork());
            }
        } catch (Throwable t) {
            failure = t;
        }
    }

    /** Creates a domain of {@code memoryBytes} and attaches to it as its kernel, in this JVM. */
    SimGuest guest(String name, long memoryBytes) throws Exception {
        int domid = hv.create(name, memoryBytes);
        return SimGuest.attach(hv.domainDirectory(domid));
    }

    /**
     * Creates a domain of {@code memoryBytes} that no process has attached to yet: its directory, which a guest
     * process (an MPI rank, say) names in {@code VMRDMA_SIM_DOMAIN} to become its kernel.
     */
    Path vm(String name, long memoryBytes) throws Exception {
        return hv.domainDirectory(hv.create(name, memoryBytes));
    }

    /** The scheduler and per-VM settings the engine takes from its next duty cycle on. */
    void scheduling(SchedulerSource source) {
        engine.scheduling(source);
    }

    /** RDMA WRITE payload bytes that domain {@code name} has completed as requester (0 before it is open). */
    long writtenBytes(String name) {
        for (Domain d : engine.domains()) {
            if (d.name().equals(name)) {
                return d.counter(Counter.RDMA_WRITE_BYTES);
            }
        }
        return 0;
    }

    /** The node's non-zero counters, for a failure's message. */
    String counters() {
        StringBuilder text = new StringBuilder("node " + engine.nodeId() + ":");
        for (Counter c : Counter.values()) {
            long value = engine.counter(c);
            if (value != 0) {
                text.append(' ').append(c).append('=').append(value);
            }
        }
        return text.toString();
    }

    /** CPU nanoseconds of the data agent's thread so far. */
    long agentCpuNanos() {
        return ManagementFactory.getThreadMXBean().getThreadCpuTime(agent.getId());
    }

    /** CPU nanoseconds of the simulator's own threads so far. */
    long simulatorCpuNanos() {
        long sum = 0;
        for (long id : simulatorThreads) {
            sum += Math.max(0, ManagementFactory.getThreadMXBean().getThreadCpuTime(id));
        }
        return sum;
    }

    void assertHealthy() {
        if (failure != null) {
            throw new AssertionError("the data agent of node " + engine.nodeId() + " failed", failure);
        }
    }

    private static Set<Long> threadIds() {
        Set<Long> ids = new HashSet<>();
        for (long id : ManagementFactory.getThreadMXBean().getAllThreadIds()) {
            ids.add(id);
        }
        return ids;
    }

    /** Stops the agent, closes the backends (guests see them close), the port and the simulator, and its state. */
    @Override
    public void close() throws Exception {
        running = false;
        if (agent.isAlive()) {
            agent.join();
        }
        try {
            backends.close();
            port.close();
            hv.close();
        } finally {
            try (Stream<Path> files = Files.walk(state)) {
                for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                System.err.println("cannot remove " + state + ": " + e);
            }
        }
        assertHealthy();
    }
}
