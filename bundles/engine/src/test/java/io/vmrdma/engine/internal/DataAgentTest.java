package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.vmrdma.engine.internal.verbs.VerbsEngine;
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

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
