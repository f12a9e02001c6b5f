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
     * How long after guests' backends last did something the agent keeps to its idle strategy's short sleeps: a
     * device's XenStore handshake is a conversation of several steps, read without a wake-up per step until it ends
     * (and where XenStore gives no descriptor, its watch events wake nobody). On a port that cannot be woken, any
     * work counts: a frame would wait out a long sleep there.
     */
    static final long QUIET_AFTER_NANOS = 100_000_000L;
    /**
     * The longest sleep of a quiet agent on a {@link io.vmrdma.api.nic.NicPort#wakeable() wakeable} port with no
     * guests' backends: its own timers (hellos, peer liveness) are a second apart, and a frame or a command ends the
     * sleep at once. Also the cap that keeps a clock step or a wrong deadline from holding it longer.
     */
    static final long LONGEST_WAIT_NANOS = 1_000_000_000L;
    /**
     * The longest sleep of a quiet agent where something would wake nobody: a port that cannot be woken (a frame
     * waits out the sleep), or guests' backends bound on a hypervisor whose XenStore gives no descriptor for its
     * watch events (a guest's new device), which are then read each cycle. 50 wake-ups a second instead of the idle
     * strategy's 1,000.
     */
    static final long POLLED_WAIT_NANOS = 20_000_000L;

    private final ManyToOneConcurrentArrayQueue<Runnable> commands = new ManyToOneConcurrentArrayQueue<>(1024);
    private volatile Thread thread;
    private volatile GuestBackends backends;
    private final LongSupplier clock;
    /** Set once the agent is to be closed: its sleeps stay short, so that the runner's close needs no wake. */
    private volatile boolean closing;
    /** When a cycle last did work that keeps the agent at short sleeps ({@link #QUIET_AFTER_NANOS}); its thread. */
    private long lastBusyNanos;

    DataAgent(VerbsEngine verbs) {
        this(verbs, System::nanoTime);
    }

    /** An agent that tells how long it has been quiet by {@code clock} (nanoseconds). */
    DataAgent(VerbsEngine verbs, LongSupplier clock) {
        this.verbs = verbs;
        this.clock = clock;
        this.lastBusyNanos = clock.getAsLong();
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
        int work = runCommands() + verbs.doWork();
        int guests = b == null ? 0 : b.doWork();
        // A command or a frame on a wakeable port buys no 1 ms waits: the next one wakes the agent itself. So a peer's
        // HELLO costs a duty cycle or two, not a tenth of a second of millisecond sleeps.
        if (guests > 0 || work > 0 && !verbs.wakeable()) {
            lastBusyNanos = clock.getAsLong();
        }
        return work + guests;
    }

    /** Sets the guests' backends served each cycle, or none; call on the agent's thread (through runAndWait). */
    void backends(GuestBackends backends) {
        this.backends = backends;
    }

    /**
     * The agent's sleep when it has nothing to do and no guest's device would wake it, at least {@code minNanos} (the
     * idle strategy's back-off): on the NIC port's readiness, which a frame or a command ({@link #wake}) ends, and
     * with guests' backends bound on XenStore's watch descriptor too, which a guest's new device ends. Once
     * quiet ({@link #QUIET_AFTER_NANOS} since guests' backends last worked), it lasts until the engine's next timer is
     * due ({@link VerbsEngine#nanosUntilDue}), at most {@link #LONGEST_WAIT_NANOS}, or {@link #POLLED_WAIT_NANOS}
     * where something would not wake it: an engine with nothing to serve wakes for its timers, not a thousand times a
     * second. While queue pairs exist the engine's timers are due at once and the strategy's short sleeps stay.
     */
    void awaitWork(long minNanos) {
        GuestBackends b = backends;
        // The guests' backends with no device have only XenStore to look at: its watch events end the sleep too.
        int watchFd = b == null || !verbs.wakeable() ? -1 : b.watchFd();
        long sleep = minNanos;
        if (!closing && clock.getAsLong() - lastBusyNanos > QUIET_AFTER_NANOS) {
            boolean polled = b != null && watchFd < 0 || !verbs.wakeable();
            sleep = Math.max(minNanos, verbs.nanosUntilDue(polled ? POLLED_WAIT_NANOS : LONGEST_WAIT_NANOS));
        }
        if (watchFd < 0 || !verbs.awaitFramesOr(watchFd, sleep)) {
            verbs.awaitFrames(watchFd < 0 ? sleep : Math.min(sleep, POLLED_WAIT_NANOS));
        }
    }

    /**
     * Ends the agent's sleep, or its next one, so that work handed over from another thread runs now rather than
     * after the sleep: the port's wait is woken, a park unparked. Any thread.
     */
    void wake() {
        verbs.wake();
        LockSupport.unpark(thread);
    }

    /**
     * The agent's sleep while guests' devices are served and a NIC is bound, at most {@code maxNanos}: on the NIC
     * port's readiness and the guests' event channel {@code fd} together, so a frame or a guest's notification ends
     * it. False, having slept not at all, where the port cannot wait on both.
     */
    boolean awaitWorkOr(int fd, long maxNanos) {
        return verbs.awaitFramesOr(fd, maxNanos);
    }

    /**
     * The agent is about to be closed: it is woken and sleeps only the idle strategy's short sleeps from now on, since
     * its runner's close cannot end a sleep on the port and would wait it out. Any thread, before the runner's close.
     */
    void closing() {
        closing = true;
        wake();
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
        // After the offer: the agent either finds the command before it sleeps or is woken from that sleep.
        wake();
    }

    @Override
    public String roleName() {
        return "vmrdma-data-" + verbs.nodeId();
    }
}
