package io.vmrdma.engine.internal.verbs;

import java.util.Map;
import java.util.function.LongSupplier;

import io.vmrdma.api.sched.Scheduler;
import io.vmrdma.api.sched.Turn;
import io.vmrdma.engine.internal.transport.WireTransport;

/**
 * The send side of the duty cycle: the scheduling policy in force decides which domain moves data next and how many
 * bytes its turn may move; within a turn the domain's queue pairs with send work take turns, round-robin, through the
 * request processor (memory to memory) or the transport (to another node). The scheduler is rebuilt, with every
 * backlogged domain reported to it, when its source changes, and per-VM settings are re-read when they change.
 */
final class SendScheduler {

    /** Most domains one node serves at once: the capacity of scheduler slots. */
    static final int MAX_DOMAINS = 4096;
    /** The least a local (memory-to-memory) turn moves, whatever the policy granted: about one jumbo frame's worth. */
    private static final long MIN_LOCAL_TURN_BYTES = 64 * 1024;

    private final LongSupplier clock;
    /** The open domains by domid: the engine's table. */
    private final Map<Integer, DomainVerbs> domains;
    private final RequestProcessor processor;
    private final WireTransport transport;
    private QpStateMachine states;
    private final boolean[] slotUsed = new boolean[MAX_DOMAINS];
    /** By slot: whether the scheduler has been told the domain is backlogged. */
    private final boolean[] backlogged = new boolean[MAX_DOMAINS];
    private int backloggedDomains;
    private final Turn turn = new Turn();
    private volatile SchedulerSource source = SchedulerSource.builtin();
    private SchedulerSource builtFrom;
    private long builtGeneration;
    private long settingsGeneration;
    private Scheduler scheduler;
    /** Payload bytes the current turn moved: what the request processor and the transport moved during it. */
    private long turnBytes;
    private volatile long chunkBytes = 256 * 1024;

    SendScheduler(LongSupplier clock, Map<Integer, DomainVerbs> domains, RequestProcessor processor,
                  WireTransport transport) {
        this.clock = clock;
        this.domains = domains;
        this.processor = processor;
        this.transport = transport;
    }

    /** The state machine a queue pair whose turn failed is handed to (it moves it to ERR). */
    void states(QpStateMachine machine) {
        states = machine;
    }

    /** Where the scheduler and per-VM settings come from; the built-in round-robin until this is called. */
    void source(SchedulerSource newSource) {
        source = newSource;
    }

    /** The current per-VM settings of a domain by name. */
    io.vmrdma.api.sched.VmSettings settings(String domainName) {
        return source.settings(domainName);
    }

    /** Bytes one queue pair moves per turn, so a big message does not hold the agent for long. */
    void chunkBytes(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("chunk must be at least one byte");
        }
        chunkBytes = bytes;
    }

    /** A free scheduler slot for a new domain, or -1 when all {@link #MAX_DOMAINS} are taken. */
    int claimSlot() {
        int slot = 0;
        while (slot < MAX_DOMAINS && slotUsed[slot]) {
            slot++;
        }
        if (slot == MAX_DOMAINS) {
            return -1;
        }
        slotUsed[slot] = true;
        return slot;
    }

    /** The domain closed: the scheduler forgets it and its slot is free. */
    void closed(DomainVerbs domain) {
        if (backlogged[domain.slot()]) {
            backlogged[domain.slot()] = false;
            backloggedDomains--;
            scheduler().idle(domain, clock.getAsLong());
        }
        domain.dropSendWork();
        slotUsed[domain.slot()] = false;
    }

    /** The scheduler in force, rebuilt (with every backlogged domain reported to it) when its source changed. */
    private Scheduler scheduler() {
        SchedulerSource s = source;
        if (scheduler == null || s != builtFrom || s.generation() != builtGeneration) {
            builtFrom = s;
            builtGeneration = s.generation();
            scheduler = s.newScheduler(MAX_DOMAINS);
            long now = clock.getAsLong();
            for (DomainVerbs d : domains.values()) {
                if (backlogged[d.slot()]) {
                    scheduler.backlogged(d, now);
                }
            }
        }
        if (s.settingsGeneration() != settingsGeneration) {
            settingsGeneration = s.settingsGeneration();
            for (DomainVerbs d : domains.values()) {
                d.applySettings(s.settings(d.name()));
                if (backlogged[d.slot()]) {
                    scheduler.settingsChanged(d);
                }
            }
        }
        return scheduler;
    }

    /** A queue pair may have send work now: it joins its domain's round-robin, and the domain the scheduler's. */
    void schedule(Qp qp) {
        if (!qp.isScheduled() && qp.readyToSend()) {
            qp.scheduled(true);
            DomainVerbs domain = qp.owner().domain();
            domain.queueSendWork(qp);
            if (!backlogged[domain.slot()] && domains.get(domain.domid()) == domain) {
                backlogged[domain.slot()] = true;
                backloggedDomains++;
                scheduler().backlogged(domain, clock.getAsLong());
            }
        }
    }

    /**
     * Turns until this duty cycle has moved chunkBytes, or every backlogged domain in a row moved nothing (then only
     * time or new work helps): receiving, timers and other work get their share between cycles.
     *
     * @return the amount of work done
     */
    int turns(long now) {
        Scheduler s = scheduler();
        int work = 0;
        long cycleBytes = 0;
        for (int fruitless = 0; fruitless <= backloggedDomains && cycleBytes < chunkBytes && s.next(now, turn);) {
            DomainVerbs domain = (DomainVerbs) turn.queue();
            turnBytes = 0;
            int progress = serve(domain, turn.budgetBytes(), now);
            s.sent(domain, turnBytes, now);
            cycleBytes += turnBytes;
            fruitless = progress == 0 ? fruitless + 1 : 0;
            work += progress;
            if (!domain.hasSendWork() && backlogged[domain.slot()]) {
                backlogged[domain.slot()] = false;
                backloggedDomains--;
                s.idle(domain, now);
            }
        }
        return work;
    }

    /**
     * One scheduler turn of a domain: its queue pairs with send work take turns, round-robin, until the granted bytes
     * are moved or none of them could move anything. Order within a queue pair is never changed.
     */
    private int serve(DomainVerbs domain, long budget, long now) {
        int progress = 0;
        long granted = Math.max(budget, 1);
        int stalled = 0;
        while (turnBytes < granted && stalled < domain.queuesWithSendWork()) {
            Qp qp = domain.takeSendWork();
            long before = turnBytes;
            int done = 0;
            if (qp.live() && qp.readyToSend()) {
                long left = granted - turnBytes;
                long moved = movedBytes();
                try {
                    done = qp.wire() != null ? transport.requesterTurn(qp, left, now)
                            : processor.turn(qp, Math.min(Math.max(left, MIN_LOCAL_TURN_BYTES), chunkBytes), now);
                } catch (RuntimeException e) {
                    states.turnFailed(qp, e);
                }
                turnBytes += movedBytes() - moved;
            }
            if (qp.live() && qp.readyToSend()) {
                domain.queueSendWork(qp);
            } else {
                qp.scheduled(false);
            }
            progress += done;
            stalled = done == 0 && turnBytes == before ? stalled + 1 : 0;
        }
        return progress;
    }

    /** Payload bytes the request processor and the transport have moved, ever. */
    private long movedBytes() {
        return processor.bytesMoved() + transport.bytesSent();
    }
}
