package io.vmrdma.engine.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

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
    /**
     * How long the agent must have found nothing to do before it sleeps longer than its idle strategy asks: a console
     * or configuration thread handing it commands one after another keeps it at the strategy's short sleeps, since a
     * command does not end a sleep on the NIC.
     */
    static final long QUIET_AFTER_NANOS = 100_000_000L;
    /**
     * The longest sleep of a quiet agent with no queue pairs and no guests' devices: its own timers (hellos, peer
     * liveness) run once a second, and a frame ends the sleep at once. 50 wake-ups a second instead of the idle
     * strategy's 1,000.
     */
    static final long QUIET_WAIT_NANOS = 20_000_000L;

    private final ManyToOneConcurrentArrayQueue<Runnable> commands = new ManyToOneConcurrentArrayQueue<>(1024);
    private volatile Thread thread;
    private volatile GuestBackends backends;
    private final LongSupplier clock;
    /** When a cycle last did something; the agent's thread only. */
    private long lastWorkNanos;

    DataAgent(VerbsEngine verbs) {
        this(verbs, System::nanoTime);
    }

    /** An agent that tells how long it has been quiet by {@code clock} (nanoseconds). */
    DataAgent(VerbsEngine verbs, LongSupplier clock) {
        this.verbs = verbs;
        this.clock = clock;
        this.lastWorkNanos = clock.getAsLong();
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
        GuestBackends b = backends;
        int work = runCommands() + verbs.doWork() + (b == null ? 0 : b.doWork());
        if (work > 0) {
            lastWorkNanos = clock.getAsLong();
        }
        return work;
    }

    /** Sets the guests' backends served each cycle, or none; call on the agent's thread (through runAndWait). */
    void backends(GuestBackends backends) {
        this.backends = backends;
    }

    /**
     * The agent's sleep when it has nothing to do and no guest's device would wake it, at most {@code maxNanos}: on
     * the NIC port's readiness (a frame ends it). Once the agent has been quiet for {@link #QUIET_AFTER_NANOS} with no
     * queue pair, that sleep lasts up to {@link #QUIET_WAIT_NANOS}: an engine with nothing to serve costs a few
     * wake-ups a second, not a thousand.
     */
    void awaitWork(long maxNanos) {
        if (!verbs.hasQueuePairs() && clock.getAsLong() - lastWorkNanos > QUIET_AFTER_NANOS) {
            verbs.awaitFrames(Math.max(maxNanos, QUIET_WAIT_NANOS));
        } else {
            verbs.awaitFrames(maxNanos);
        }
    }

    /**
     * The agent's sleep while guests' devices are served and a NIC is bound, at most {@code maxNanos}: on the NIC
     * port's readiness and the guests' event channel {@code fd} together, so a frame or a guest's notification ends
     * it. False, having slept not at all, where the port cannot wait on both.
     */
    boolean awaitWorkOr(int fd, long maxNanos) {
        return verbs.awaitFramesOr(fd, maxNanos);
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
