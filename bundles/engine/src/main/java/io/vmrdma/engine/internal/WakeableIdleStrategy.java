package io.vmrdma.engine.internal;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

import org.agrona.concurrent.IdleStrategy;

/**
 * The data agent's idle strategy. Guests ring a {@link Doorbell}, so for them the agent need not look: with nothing to
 * do it arms the doorbell and sleeps until a guest notifies, at once, leaving the cores to guests that poll (two
 * polling guests on two cores spin undisturbed). A NIC's frames ring nothing, so while a NIC is bound, and while the
 * guests served last sleep (their cores are free), the agent first backs off as Agrona's does (spin, then yield, then
 * sleeps of doubling length up to a maximum), and a guest's notification still ends the sleep; so it does without a
 * doorbell. With no guest device to ring it, the agent sleeps in the wait it is given instead (the NIC port's
 * readiness, which a frame ends), spinning first only through spells that are typically short ({@link IdleSpells});
 * that wait may last longer than asked (the data agent's, until the engine's next timer once quiet: a frame or a
 * command ends it). With guest devices and a NIC both, where the port can sleep on the guests' event channel too, one
 * sleep serves both: it is entered as the NIC's alone is, or at once while the guests served last poll. Every other
 * sleep ends within {@link #MAX_PARK_NANOS}, for the engine's timers and commands.
 */
public final class WakeableIdleStrategy implements IdleStrategy {

    private static final int SPINS = 100;
    private static final int YIELDS = 10;
    private static final long MIN_PARK_NANOS = 1_000;
    static final long MAX_PARK_NANOS = 1_000_000;

    private volatile Doorbell doorbell;
    private volatile boolean wirePolled;
    private volatile LongConsumer waiter;
    private volatile FramesOrDescriptor framesOr;
    private int spins;
    private int yields;
    private long park = MIN_PARK_NANOS;
    private final IdleSpells spells;

    public WakeableIdleStrategy() {
        this(System::nanoTime);
    }

    /** With {@code clock} for the lengths of idle spells. */
    WakeableIdleStrategy(LongSupplier clock) {
        spells = new IdleSpells(clock);
    }

    /** The guests' doorbell to arm and sleep on, or null (no hypervisor bound): then the agent parks. */
    public void doorbell(Doorbell doorbell) {
        this.doorbell = doorbell;
    }

    /** The wait when no guest device rings the doorbell (at least the given nanoseconds), or null for a plain park. */
    public void waiter(LongConsumer waiter) {
        this.waiter = waiter;
    }

    /** The sleep that a frame or the guests' event channel ends, or null where there is none. */
    public void framesOrDescriptor(FramesOrDescriptor wait) {
        this.framesOr = wait;
    }

    /** Whether a NIC is bound: its frames wake nobody, so the agent spins and yields before it sleeps. */
    public void wirePolled(boolean polled) {
        this.wirePolled = polled;
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            reset();
        } else {
            idle();
        }
    }

    @Override
    public void idle() {
        Doorbell bell = doorbell;
        if (bell != null && !bell.hasDevices()) {
            bell = null;
        }
        LongConsumer wait = waiter;
        if (bell == null && wait != null) {
            if (spells.spin()) {
                Thread.onSpinWait();
            } else {
                wait.accept(MAX_PARK_NANOS);
            }
            return;
        }
        FramesOrDescriptor both = framesOr;
        if (bell != null && wirePolled && both != null && sleptOnWireAndGuests(bell, both)) {
            return;
        }
        // With neither a doorbell nor a wait it backs off as with a NIC. Guests that sleep leave their cores free:
        // spinning on one for a while catches their next request without a wake-up.
        boolean backOff = wirePolled || bell == null || bell.guestsSleep();
        if (backOff && spins < SPINS) {
            spins++;
            Thread.onSpinWait();
            return;
        }
        if (backOff && yields < YIELDS) {
            yields++;
            Thread.yield();
            return;
        }
        long sleep = backOff ? park : MAX_PARK_NANOS;
        if (bell == null) {
            LockSupport.parkNanos(sleep);
        } else if (bell.arm()) {
            bell.await(sleep);
        }
        park = Math.min(park * 2, MAX_PARK_NANOS);
    }

    /**
     * A turn of the wait for a frame or a guest together; false where the event channel has no descriptor or the
     * port cannot wait on both (nothing slept, the back-off follows).
     */
    private boolean sleptOnWireAndGuests(Doorbell bell, FramesOrDescriptor both) {
        int fd = bell.pollFd();
        if (fd < 0) {
            return false;
        }
        // Guests that poll hold their cores: the agent gives its own up at once (measured with MPI ranks that poll:
        // 8-byte NetPIPE between two hosts 65-87 µs a hop, against 70-73 spinning through short spells and 151-184
        // with the back-off below).
        if (spells.spin() && bell.guestsSleep()) {
            Thread.onSpinWait();
            return true;
        }
        if (!bell.arm()) {
            return true; // a request came meanwhile
        }
        if (!both.await(fd, MAX_PARK_NANOS)) {
            return false;
        }
        bell.await(0); // takes the notification, if that was what ended the sleep
        return true;
    }

    @Override
    public void reset() {
        spells.workFound();
        spins = 0;
        yields = 0;
        park = MIN_PARK_NANOS;
    }

    @Override
    public String alias() {
        return "wakeable-backoff";
    }

    /** A sleep that a frame or a readable descriptor ends; false when it cannot be had (then nothing slept). */
    @FunctionalInterface
    public interface FramesOrDescriptor {
        boolean await(int fd, long timeoutNanos);
    }
}
