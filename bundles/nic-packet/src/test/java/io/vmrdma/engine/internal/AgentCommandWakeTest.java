package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.vmrdma.api.nic.NicPort;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.nic.faults.ForwardingNicPort;
import io.vmrdma.nic.packet.internal.PacketLink;
import org.agrona.concurrent.AgentRunner;
import org.junit.jupiter.api.Test;

/**
 * The data agent, quiet on nic.packet with nothing to serve, sleeps on its port's readiness until its next timer, and a
 * command another thread hands it ends that sleep: the command runs in the first duty cycle after the wake-up. The
 * agent runs as {@code EngineNode} runs it (its idle strategy, the port's real wait on socket and eventfd); counted in
 * sleeps and duty cycles, never in time. Once counting starts every sleep on the port asks for a minute, so a lost
 * wake-up shows as a command that never runs ({@code runAndWait} gives up after 10 s), not as a millisecond in a bench.
 */
class AgentCommandWakeTest {

    private static final int ROUNDS = 300;
    private static final long SLEEP_NANOS = TimeUnit.MINUTES.toNanos(1);

    @Test
    void aCommandWakesTheQuietAgentForItsNextDutyCycle() throws Exception {
        try (PacketLink link = PacketLink.create(1500)) {
            SleepCountingPort port = new SleepCountingPort(link.portA());
            VerbsEngine verbs = new VerbsEngine(1, System::nanoTime, 7L);
            DataAgent agent = new DataAgent(verbs);
            WakeableIdleStrategy idle = new WakeableIdleStrategy();
            idle.waiter(agent::awaitWork);
            agent.runAndWait(() -> {
                verbs.nic(port);
                idle.wirePolled(true);
            });
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AgentRunner runner = new AgentRunner(idle, failure::set, null, agent);
            Thread agentThread = AgentRunner.startOnThread(runner);
            try {
                port.awaitAskedAtLeast(DataAgent.POLLED_WAIT_NANOS * 10);
                port.longSleeps = true;
                // Each command handed over while the agent sleeps: the sleep it ends is the one it came in, and the
                // duty cycle right after runs it.
                AtomicInteger ranOnAgent = new AtomicInteger();
                int takenNext = 0;
                for (int round = 0; round < ROUNDS; round++) {
                    port.awaitAsleep();
                    int sleepsEnded = port.sleepsEnded;
                    AtomicInteger ranAfter = new AtomicInteger(-1);
                    agent.runAndWait(() -> {
                        ranAfter.set(port.sleepsEnded);
                        ranOnAgent.addAndGet(Thread.currentThread() == agentThread ? 1 : 0);
                    });
                    takenNext += ranAfter.get() == sleepsEnded + 1 ? 1 : 0;
                }
                // Then commands at seeded random moments, while the agent may be cycling, spinning, yielding or
                // about to sleep: the races a lost wake-up would hide in.
                Random random = new Random(18);
                AtomicInteger ranAtRandom = new AtomicInteger();
                for (int round = 0; round < ROUNDS; round++) {
                    for (int spin = random.nextInt(40_000); spin > 0; spin--) {
                        Thread.onSpinWait();
                    }
                    agent.runAndWait(ranAtRandom::incrementAndGet);
                }
                assertThat(ranOnAgent.get()).as("commands run on the agent's thread").isEqualTo(ROUNDS);
                assertThat(takenNext).as("commands run in the duty cycle right after the sleep they ended")
                        .isEqualTo(ROUNDS);
                assertThat(ranAtRandom.get()).as("commands at random moments, each run once").isEqualTo(ROUNDS);
                assertThat(port.sleepsEnded).as("sleeps the commands ended").isGreaterThanOrEqualTo(ROUNDS);
            } finally {
                port.longSleeps = false;
                agent.closing();
                runner.close();
            }
            assertThat(failure.get()).isNull();
        }
    }

    /** The agent's port, counting the sleeps it is asked for and making them a minute long while counting. */
    private static final class SleepCountingPort extends ForwardingNicPort {
        volatile boolean longSleeps;
        private volatile boolean asleep;
        private volatile long longestAsked;
        /** Sleeps that returned; written by the agent's thread only. */
        volatile int sleepsEnded;

        SleepCountingPort(NicPort inner) {
            super(inner);
        }

        @Override
        public void awaitFrames(long timeoutNanos) {
            longestAsked = Math.max(longestAsked, timeoutNanos);
            asleep = true;
            inner.awaitFrames(longSleeps ? SLEEP_NANOS : timeoutNanos);
            asleep = false;
            sleepsEnded++;
        }

        /** Returns once the agent is asleep on the port, or about to be. */
        void awaitAsleep() {
            awaitTrue(() -> asleep, "the data agent never went to sleep");
        }

        /** Returns once the agent, quiet, has asked for a sleep of at least {@code nanos}. */
        void awaitAskedAtLeast(long nanos) {
            awaitTrue(() -> longestAsked >= nanos, "the quiet data agent never asked for a long sleep");
        }

        private static void awaitTrue(java.util.function.BooleanSupplier condition, String never) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError(never);
                }
                Thread.onSpinWait();
            }
        }
    }
}
