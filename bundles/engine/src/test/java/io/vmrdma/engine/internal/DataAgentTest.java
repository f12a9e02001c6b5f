package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.vmrdma.api.Counter;
import io.vmrdma.api.nic.FrameClaim;
import io.vmrdma.api.verbs.QpInitAttributes;
import io.vmrdma.api.verbs.VerbsContext;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.nic.faults.ForwardingNicPort;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.junit.jupiter.api.Test;

class DataAgentTest {

    /**
     * The engine is single-writer: a command must run on the agent's thread even when the command queue is full
     * (the agent busy), so callers wait for room instead of running it beside the agent.
     */
    @Test
    void commandsRunOnTheAgentThreadEvenWhenTheQueueIsFull() throws Exception {
        DataAgent agent = new DataAgent(new VerbsEngine(1, System::nanoTime, 1L));
        AgentRunner runner = new AgentRunner(new YieldingIdleStrategy(), Throwable::printStackTrace, null, agent);
        Thread agentThread = AgentRunner.startOnThread(runner);
        try {
            // Until the agent thread has started, runAndWait runs commands on the caller (no agent to run them):
            // wait for a command to run on the agent, or the holder below could block itself instead of the agent.
            AtomicReference<Thread> ranFirst = new AtomicReference<>();
            do {
                agent.runAndWait(() -> ranFirst.set(Thread.currentThread()));
            } while (ranFirst.get() != agentThread);
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch blocked = new CountDownLatch(1);
            Thread holder = new Thread(() -> agent.runAndWait(() -> {
                blocked.countDown();
                awaitQuietly(release);
            }));
            holder.start();
            assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();

            // More callers than the queue holds, while the agent is stuck in the first command.
            Set<Thread> ranOn = ConcurrentHashMap.newKeySet();
            AtomicInteger ran = new AtomicInteger();
            List<Thread> callers = new ArrayList<>();
            for (int i = 0; i < 1100; i++) {
                Thread t = new Thread(null, () -> agent.runAndWait(() -> {
                    ranOn.add(Thread.currentThread());
                    ran.incrementAndGet();
                }), "caller-" + i, 64 * 1024);
                t.start();
                callers.add(t);
            }
            Thread.sleep(200);
            assertThat(ran.get()).as("nothing runs while the agent is busy").isZero();
            release.countDown();
            for (Thread t : callers) {
                t.join(TimeUnit.SECONDS.toMillis(20));
            }
            holder.join();
            assertThat(ran.get()).isEqualTo(1100);
            assertThat(ranOn).containsExactly(agentThread);
        } finally {
            runner.close();
        }
    }

    @Test
    void aCommandFromTheAgentItselfRunsAtOnce() throws Exception {
        DataAgent agent = new DataAgent(new VerbsEngine(1, System::nanoTime, 1L));
        AgentRunner runner = new AgentRunner(new YieldingIdleStrategy(), Throwable::printStackTrace, null, agent);
        AgentRunner.startOnThread(runner);
        try {
            AtomicInteger inner = new AtomicInteger();
            agent.runAndWait(() -> agent.runAndWait(inner::incrementAndGet));
            assertThat(inner.get()).isEqualTo(1);
        } finally {
            runner.close();
        }
    }

    /**
     * A quiet agent on a port that a frame and a wake both end sleeps until the engine's next timer (the hello a second
     * after the last), at most {@link DataAgent#LONGEST_WAIT_NANOS}; a frame does not bring back the idle strategy's
     * short sleeps; a queue pair does. A hand-set clock says how long it has been quiet, the port records the sleeps it
     * was asked for.
     */
    @Test
    void aQuietAgentOnAWakeablePortSleepsUntilItsNextTimer() throws Exception {
        QuietAgent quiet = new QuietAgent(true);
        DataAgent agent = quiet.agent;
        quiet.verbs.peer(3, quiet.wire.address(3));
        agent.awaitWork(1_000);
        quiet.clock.addAndGet(DataAgent.QUIET_AFTER_NANOS + 1);
        // The port was just bound: its timers start in the next cycle, so nothing is known to be far off yet.
        agent.awaitWork(1_000);
        agent.doWork();
        agent.awaitWork(1_000);
        quiet.clock.addAndGet(400_000_000L);
        agent.awaitWork(1_000);
        // A frame, garbage from a stranger but work for the agent: the next sleep is as long as before.
        quiet.receiveGarbage();
        agent.awaitWork(1_000);
        quiet.clock.addAndGet(700_000_000L);
        agent.awaitWork(1_000);
        quiet.openQueuePair();
        agent.awaitWork(1_000);
        assertThat(quiet.sleeps).as("busy lately; port just bound; a hello period ahead; 0.4 s later; after a frame; "
                + "a hello late; a queue pair exists").containsExactly(1_000L, 1_000L, 1_000_000_000L,
                        600_000_000L, 600_000_000L, 1_000L, 1_000L);
    }

    /**
     * Where a frame would wait out a sleep (a port that is not wakeable, here the loopback binding) the quiet agent
     * sleeps at most {@link DataAgent#POLLED_WAIT_NANOS}, and any work brings back the idle strategy's short sleeps.
     */
    @Test
    void aQuietAgentOnAPortThatCannotBeWokenSleepsShort() throws Exception {
        QuietAgent quiet = new QuietAgent(false);
        DataAgent agent = quiet.agent;
        agent.doWork();
        agent.awaitWork(1_000);
        quiet.clock.addAndGet(DataAgent.QUIET_AFTER_NANOS + 1);
        agent.awaitWork(1_000);
        quiet.receiveGarbage();
        agent.awaitWork(1_000);
        quiet.clock.addAndGet(DataAgent.QUIET_AFTER_NANOS + 1);
        agent.awaitWork(1_000);
        quiet.openQueuePair();
        agent.awaitWork(1_000);
        assertThat(quiet.sleeps).as("busy lately; quiet; a frame came; quiet again; a queue pair exists")
                .containsExactly(1_000L, DataAgent.POLLED_WAIT_NANOS, 1_000L, DataAgent.POLLED_WAIT_NANOS, 1_000L);
    }

    /**
     * An agent on a hand-set clock whose loopback port records the sleeps it is asked for instead of sleeping, and a
     * stranger on the same wire.
     */
    private static final class QuietAgent {
        final AtomicLong clock = new AtomicLong(1_000_000_000L);
        final VerbsEngine verbs = new VerbsEngine(1, clock::get, 1L);
        final DataAgent agent = new DataAgent(verbs, clock::get);
        final List<Long> sleeps = new ArrayList<>();
        final LoopbackWire wire = new LoopbackWire();
        private final LoopbackPort stranger = new LoopbackPort(wire, 2, 1500, 1 << 20);

        QuietAgent(boolean wakeable) {
            verbs.nic(new ForwardingNicPort(new LoopbackPort(wire, 1, 1500, 1 << 20)) {
                @Override
                public void awaitFrames(long timeoutNanos) {
                    sleeps.add(timeoutNanos);
                }

                @Override
                public boolean wakeable() {
                    return wakeable;
                }
            });
        }

        /** A frame from the stranger, garbage but work for the agent's next cycle, which takes (and counts) it. */
        void receiveGarbage() {
            FrameClaim claim = new FrameClaim();
            assertThat(stranger.tryClaim(wire.address(1), 20, claim)).isTrue();
            stranger.commit(claim, 20);
            stranger.flush();
            long malformed = verbs.counter(Counter.MALFORMED_FRAMES);
            assertThat(agent.doWork()).isPositive();
            assertThat(verbs.counter(Counter.MALFORMED_FRAMES)).isEqualTo(malformed + 1);
        }

        void openQueuePair() throws Exception {
            VerbsContext domain = verbs.openDomain(1, "a");
            domain.createQp(new QpInitAttributes().pd(domain.allocPd()).sendCq(domain.createCq(4)).recvCq(
                    domain.createCq(4)).maxSendWr(4).maxRecvWr(4));
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
