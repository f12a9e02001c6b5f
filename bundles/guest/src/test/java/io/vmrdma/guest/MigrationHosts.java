package io.vmrdma.guest;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import io.vmrdma.api.DomainMigration;
import io.vmrdma.api.verbs.VerbsException;
import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.testkit.Cluster;
import io.vmrdma.nic.faults.Faults;
import io.vmrdma.xen.sim.internal.DomainMove;
import io.vmrdma.xen.sim.internal.SimForGuestTests;
import io.vmrdma.xen.sim.internal.SimHypervisor;

/**
 * Three simulated hosts for live migration tests: each a simulator with dom0's engine (nodes 1, 2, 3, on one loopback
 * wire, on the real clock) and its guest backends, driven by one thread as their data agents, and the migration of a
 * guest as a toolstack and dom0 run it together. Hosts are numbered from 0 here, nodes from 1.
 */
final class MigrationHosts implements AutoCloseable {

    static final int HOSTS = 3;

    final Cluster cluster;
    final SimHypervisor[] sims = new SimHypervisor[HOSTS];
    final GuestBackends[] backends = new GuestBackends[HOSTS];
    private final ConcurrentLinkedQueue<Runnable> onAgent = new ConcurrentLinkedQueue<>();
    /** Hosts whose dom0 has stopped: their engine and backends are no longer driven. */
    private final boolean[] dead = new boolean[HOSTS];
    private final Thread agent;
    private volatile boolean running = true;
    private volatile Throwable agentFailure;

    MigrationHosts(Path state, long seed, int gntallocPages) throws Exception {
        cluster = new Cluster(HOSTS, 4096, Faults.NONE, seed, System::nanoTime);
        for (int n = 0; n < HOSTS; n++) {
            sims[n] = SimForGuestTests.start(state.resolve("host" + (n + 1)), gntallocPages);
            backends[n] = new GuestBackends(sims[n].dom0(), cluster.node(n + 1));
            cluster.node(n + 1).migrations().arrival(backends[n].arrivals());
        }
        agent = new Thread(this::drive, "test-data-agents");
        agent.start();
    }

    /** Every node's data agent, on one thread: engine, then backends, and what a test hands it. */
    private void drive() {
        try {
            while (running) {
                int work = 0;
                for (int n = 0; n < HOSTS; n++) {
                    if (!dead[n]) {
                        work += cluster.node(n + 1).doWork() + backends[n].doWork();
                    }
                }
                for (Runnable task; (task = onAgent.poll()) != null;) {
                    task.run();
                }
                if (work == 0) {
                    Thread.yield();
                }
            }
        } catch (Throwable t) {
            agentFailure = t;
        }
    }

    /** Stops host {@code n}'s dom0, from its data agent's thread (where a migration's steps run). */
    void dies(int n) {
        dead[n] = true;
    }

    /** Stops host {@code n}'s dom0 from any thread: from the agent's next turn on, nothing drives it. */
    void stop(int n) throws Exception {
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        onAgent.add(() -> {
            dies(n);
            stopped.complete(null);
        });
        stopped.get(10, TimeUnit.SECONDS);
    }

    /** Moves a guest from host {@code from} to host {@code to}, as a toolstack and dom0 do; the engines' pause. */
    long migrate(int domid, int from, int to) throws Exception {
        DomainMove move = DomainMove.suspend(sims[from], domid, sims[to], 5000);
        CompletableFuture<Long> outcome = engineMove(domid, from, to, move::copyMemory);
        long pause;
        try {
            pause = outcome.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            move.cancel();
            throw e;
        }
        move.resume();
        return pause;
    }

    /**
     * dom0's engine on {@code from} moves the domain's vmrdma state; {@code onPaused} runs once the engine has paused
     * the domain, before the state reaches the destination: where the hypervisor copies its memory (nothing writes it
     * then). Completes with the engines' pause, or fails with the reason.
     */
    CompletableFuture<Long> engineMove(int domid, int from, int to, Runnable onPaused) {
        CompletableFuture<Long> outcome = new CompletableFuture<>();
        onAgent.add(() -> {
            try {
                cluster.node(from + 1).migrations().migrate(domid, to + 1, new DomainMigration.Listener() {
                    @Override
                    public void paused(int stateBytes) {
                        onPaused.run();
                    }

                    @Override
                    public void completed(long pauseNanos) {
                        outcome.complete(pauseNanos);
                    }

                    @Override
                    public void failed(String reason) {
                        outcome.completeExceptionally(new IllegalStateException("migration failed: " + reason));
                    }
                });
            } catch (VerbsException e) {
                outcome.completeExceptionally(e);
            }
        });
        return outcome;
    }

    @Override
    public void close() throws Exception {
        running = false;
        agent.join();
        for (int n = 0; n < HOSTS; n++) {
            backends[n].close();
            sims[n].close();
        }
        cluster.close();
        if (agentFailure != null) {
            throw new AssertionError("a data agent failed", agentFailure);
        }
    }
}
