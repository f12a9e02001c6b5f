package io.vmrdma.engine.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    private int runCommands() {
        return commands.drain(Runnable::run);
    }

    /**
     * Runs {@code command} on the agent's thread and returns once it has run; runs it here when the agent is not
     * running. Control path only.
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
        if (thread == null || !commands.offer(wrapped)) {
            wrapped.run();
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

    @Override
    public String roleName() {
        return "vmrdma-data-" + verbs.nodeId();
    }
}
