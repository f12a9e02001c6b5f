package io.vmrdma.sched.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.IntSupplier;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.Turn;

/**
 * A link of fixed speed with its own clock, driving a {@link Scheduler} the way the engine's data agent does:
 * tell it which queues are backlogged or idle, ask for a turn, send frames from that queue until its budget is
 * used (the first frame always, the last one may overshoot), report what was sent. When the scheduler has no
 * turn, the clock jumps to {@link Scheduler#nextEligibleNanos} or the next arrival. Nothing reads the wall clock.
 *
 * <p>A {@link #swap} does what the engine does when the operator activates another policy: it reports every
 * backlogged queue to the new scheduler and drops the old one. Each queue checks that its frames leave in order,
 * each once; {@link #drain} checks that none was lost.
 */
public final class SimulatedLink {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private record Event(long atNanos, long order, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event other) {
            int byTime = Long.compare(atNanos, other.atNanos);
            return byTime != 0 ? byTime : Long.compare(order, other.order);
        }
    }

    private final long bytesPerSecond;
    private final SimQueue[] queues;
    private final Turn turn = new Turn();
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final List<Departure> listeners = new ArrayList<>();
    private final Departure fanOut = (queue, bytes, arrived, left) -> {
        for (Departure listener : listeners) {
            listener.departed(queue, bytes, arrived, left);
        }
    };
    private int count;
    private long eventOrder;
    private boolean sourcesOn = true;
    private Scheduler scheduler;
    private long nowNanos;
    private long carriedByteNanos;

    /** A link of {@code bytesPerSecond} for up to {@code capacity} VMs, its clock at 0. */
    public SimulatedLink(long bytesPerSecond, int capacity) {
        this.bytesPerSecond = bytesPerSecond;
        this.queues = new SimQueue[capacity];
    }

    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    public long nowNanos() {
        return nowNanos;
    }

    /** A VM with default settings (weight 1, level 4, no rate cap). */
    public SimQueue addVm(String name) {
        return addVm(name, new SimSettings());
    }

    public SimQueue addVm(String name, SimSettings settings) {
        SimQueue queue = new SimQueue(count, name, settings);
        queues[count++] = queue;
        return queue;
    }

    /** The VMs in the order they were added. */
    public List<SimQueue> vms() {
        return List.of(queues).subList(0, count);
    }

    /** Starts with {@code first}, or swaps to it: every backlogged queue is reported to it, the old one dropped. */
    public void swap(Scheduler next) {
        for (int i = 0; i < count; i++) {
            if (!queues[i].isEmpty()) {
                next.backlogged(queues[i], nowNanos);
            }
        }
        scheduler = next;
    }

    /** Swaps schedulers at {@code atNanos} on the link's clock. */
    public void swapAt(long atNanos, Scheduler next) {
        at(atNanos, () -> swap(next));
    }

    /** Runs {@code action} (a swap, a settings change, a source starting) when the clock reaches {@code atNanos}. */
    public void at(long atNanos, Runnable action) {
        events.add(new Event(atNanos, eventOrder++, action));
    }

    /** The VM always has another frame, of the sizes {@code frameBytes} gives, until {@link #drain}. */
    public void bulk(SimQueue queue, IntSupplier frameBytes) {
        boolean wasEmpty = queue.isEmpty();
        queue.bulk(frameBytes, nowNanos);
        if (wasEmpty && scheduler != null) {
            scheduler.backlogged(queue, nowNanos);
        }
    }

    /** The VM's bulk source stops; what it queued still leaves. */
    public void stopBulk(SimQueue queue) {
        queue.stopBulk();
    }

    /** One frame of {@code bytes} arrives every {@code periodNanos} from {@code startNanos} until {@link #drain}. */
    public void periodic(SimQueue queue, long startNanos, long periodNanos, int bytes) {
        at(startNanos, new Runnable() {
            private long dueNanos = startNanos;

            @Override
            public void run() {
                if (sourcesOn) {
                    // The engine notices the frame only between turns; the wait until then counts as queueing.
                    arrive(queue, bytes, dueNanos);
                    dueNanos += periodNanos;
                    at(dueNanos, this);
                }
            }
        });
    }

    /** One frame arrives now. */
    public void arrive(SimQueue queue, int bytes) {
        arrive(queue, bytes, nowNanos);
    }

    private void arrive(SimQueue queue, int bytes, long arrivedNanos) {
        boolean wasEmpty = queue.isEmpty();
        queue.arrive(bytes, arrivedNanos);
        if (wasEmpty && scheduler != null) {
            scheduler.backlogged(queue, nowNanos);
        }
    }

    /** The test changed {@code queue}'s settings: tell the scheduler, as the engine does. */
    public void settingsChanged(SimQueue queue) {
        scheduler.settingsChanged(queue);
    }

    public void onDeparture(Departure listener) {
        listeners.add(listener);
    }

    /** Runs the link until its clock reaches {@code endNanos} (the frame on the wire then finishes). */
    public void runUntil(long endNanos) {
        run(endNanos, false);
    }

    /**
     * Stops every source and runs until all queues are empty: a queue the scheduler forgot (a frame lost) fails
     * here, as does any frame that arrived and never left.
     */
    public void drain() {
        sourcesOn = false;
        for (int i = 0; i < count; i++) {
            queues[i].stopBulk();
        }
        run(Long.MAX_VALUE, true);
        for (int i = 0; i < count; i++) {
            queues[i].checkConserved();
        }
    }

    private void run(long endNanos, boolean untilEmpty) {
        while (nowNanos < endNanos) {
            runDueEvents();
            if (untilEmpty && allEmpty()) {
                return;
            }
            if (!scheduler.next(nowNanos, turn)) {
                idleUntil(endNanos);
                continue;
            }
            if (!(turn.queue() instanceof SimQueue queue) || queue.isEmpty()) {
                throw new AssertionError("the scheduler gave a turn to " + turn.queue() + ", which has no work");
            }
            long budget = turn.budgetBytes();
            long sent = 0;
            do {
                sent += queue.depart(this, fanOut);
            } while (!queue.isEmpty() && sent < budget);
            scheduler.sent(queue, sent, nowNanos);
            if (queue.isEmpty()) {
                scheduler.idle(queue, nowNanos);
            }
        }
    }

    private boolean allEmpty() {
        for (int i = 0; i < count; i++) {
            if (!queues[i].isEmpty()) {
                return false;
            }
        }
        return true;
    }

    /** Advances the clock by one frame's time on the wire and returns the time its last byte left. */
    long transmit(int bytes) {
        long byteNanos = bytes * NANOS_PER_SECOND + carriedByteNanos;
        nowNanos += byteNanos / bytesPerSecond;
        carriedByteNanos = byteNanos % bytesPerSecond;
        return nowNanos;
    }

    private void idleUntil(long endNanos) {
        long wake = Math.min(scheduler.nextEligibleNanos(nowNanos), events.isEmpty() ? Long.MAX_VALUE
                : events.peek().atNanos());
        if (wake <= nowNanos) {
            throw new AssertionError("the scheduler has no turn now but says one is due at " + wake
                    + " (now " + nowNanos + ")");
        }
        if (wake == Long.MAX_VALUE && !allEmpty() && endNanos == Long.MAX_VALUE) {
            throw new AssertionError("frames are waiting but the scheduler offers no turn, now or later: "
                    + vms().stream().filter(q -> !q.isEmpty()).toList());
        }
        nowNanos = Math.min(wake, endNanos);
    }

    private void runDueEvents() {
        while (!events.isEmpty() && events.peek().atNanos() <= nowNanos) {
            events.poll().action().run();
        }
    }
}
