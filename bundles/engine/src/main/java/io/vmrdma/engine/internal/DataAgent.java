package io.vmrdma.engine.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

/**
 * The engine's data agent: one thread's duty cycle over everything on the data path (frames in, queue pairs'
 * turns, frames out). Other threads never touch the engine's state; they hand the agent a command and, where
 * memory lifetime depends on it (a NIC binding going away), wait until the agent has run it.
 */
final class DataAgent implements Agent {

    private final VerbsEngine verbs;
    private static final long COMMAND_QUEUE_BACKOFF_NANOS = 50_000;

    private final ManyToOneConcurrentArrayQueue<Runnable> commands = new ManyToOneConcurrentArrayQueue<>(1024);
    private volatile Thread thread;
    private volatile GuestBackends backends;

    DataAgent(VerbsEngine verbs) {
        this.verbs = verbs;
    }

    @Override
    public void onStart() {
        thread = Thread.currentThread();
    }

    @Override
    public void onClose() {
        thread = null;
        runCommands();
    }

    @Override
    public int doWork() {
        return runCommands() + verbs.doWork() + (backends == null ? 0 : backends.doWork());
    }

    /** Sets the guests' backends served each cycle, or none; call on the agent's thread (through runAndWait). */
    void backends(GuestBackends backends) {
        this.backends = backends;
    }

    /**
     * The agent's sleep when it has nothing to do, at most {@code maxNanos}: on dom0's event channel while guests'
     * backends exist (a guest's notification ends it), else on the NIC port's readiness (a frame ends it).
     */
    void awaitWork(long maxNanos) {
        GuestBackends b = backends;
        if (b != null) {
            b.awaitEvent(maxNanos);
        } else {
            verbs.awaitFrames(maxNanos);
        }
    }

    private int runCommands() {
        return commands.drain(Runnable::run);
    }

    /**
     * Runs {@code command} on the agent's thread and returns once it has run; runs it here when the agent is not
     * running (or this is the agent). A full command queue means the agent is busy: the caller waits for room, it
     * never runs the command beside the agent. Control path only.
     */
    void runAndWait(Runnable command) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable wrapped = () -> {
            try {
                command.run();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        };
        Thread agent = thread;
        if (agent == null || agent == Thread.currentThread()) {
            wrapped.run();
        } else {
            enqueue(wrapped);
        }
        try {
            done.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the data agent ran a command", e);
        } catch (ExecutionException e) {
            throw (RuntimeException) e.getCause();
        } catch (TimeoutException e) {
            throw new IllegalStateException("the data agent did not run a command within 10 s", e);
        }
    }

    private void enqueue(Runnable wrapped) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!commands.offer(wrapped)) {
            if (thread == null) {
                wrapped.run();
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the data agent's command queue stayed full for 10 s");
            }
            LockSupport.parkNanos(COMMAND_QUEUE_BACKOFF_NANOS);
        }
    }

    @Override
    public String roleName() {
        return "vmrdma-data-" + verbs.nodeId();
    }
}
