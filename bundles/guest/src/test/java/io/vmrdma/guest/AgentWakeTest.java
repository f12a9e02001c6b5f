package io.vmrdma.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.vmrdma.engine.internal.Doorbell;
import io.vmrdma.engine.internal.WakeableIdleStrategy;
import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimForGuestTests;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * dom0's data agent sleeps when it has nothing to do, and a guest's notification wakes it for the request it
 * announces: that request is taken in the first duty cycle after the wake-up. Counted in duty cycles, never in time.
 * The agent runs the production idle strategy, but once the guest is connected its sleeps last a minute unless a
 * notification ends them: a lost wake-up shows as a sleep that ran out (and the guest's call timing out), not as a
 * millisecond lost in a bench.
 */
class AgentWakeTest {

    private static final int ROUNDS = 300;
    private static final long SLEEP_NANOS = TimeUnit.MINUTES.toNanos(1);

    @TempDir
    Path state;

    @ParameterizedTest(name = "polling guest: {0}")
    @ValueSource(booleans = {true, false})
    void aGuestsNotifyWakesTheAgentForItsRequestInOneDutyCycle(boolean polling) throws Exception {
        SimHypervisor hv = SimForGuestTests.start(state, 256);
        VerbsEngine engine = new VerbsEngine(1, System::nanoTime, 7L);
        GuestBackends backends = new GuestBackends(hv.dom0(), engine);
        CountingAgent agent = new CountingAgent(engine, backends);
        Thread thread = new Thread(agent, "counted-data-agent");
        thread.start();
        try {
            int domid = hv.create("waker", 16 << 20);
            GuestDevice dev = GuestDevice.open(SimGuest.attach(hv.domainDirectory(domid)), 0,
                    GuestDevice.Options.defaults().polling(polling));
            // The connection's own notifications (the bound port's first event, the open's requests) are spent.
            // Every request waits for the agent to sleep: one posted while it arms the rings can leave a notification
            // pending that would wake it early once the counting starts.
            for (int i = 0; i < 10; i++) {
                agent.awaitAsleep();
                GuestDevice.Pd pd = dev.allocPd();
                agent.awaitAsleep();
                dev.deallocPd(pd);
            }
            agent.longSleeps = true;
            agent.awaitAsleep();
            agent.counting = true;
            for (int round = 0; round < ROUNDS; round++) {
                agent.awaitAsleep();
                GuestDevice.Pd pd = dev.allocPd();
                agent.awaitAsleep();
                dev.deallocPd(pd);
            }
            agent.counting = false;
            // Then requests at seeded random moments, while the agent may still be cycling or arming the rings: the
            // races a lost wake-up would hide in. A lost one is a sleep that runs out.
            Random random = new Random(18);
            for (int round = 0; round < ROUNDS; round++) {
                for (int spin = random.nextInt(4_000); spin > 0; spin--) {
                    Thread.onSpinWait();
                }
                dev.deallocPd(dev.allocPd());
            }
            agent.stopping = true;
            dev.allocPd();
            agent.running = false;
            thread.join(TimeUnit.SECONDS.toMillis(30));
            dev.close();

            assertThat(agent.failure).isNull();
            assertThat(agent.sleepsRunOut).as("sleeps that no notification ended").isZero();
            assertThat(agent.wakesTakenNext).as("wake-ups whose request the next duty cycle took")
                    .isEqualTo(2 * ROUNDS);
            assertThat(agent.wakesNotTakenNext).as("wake-ups after which the next duty cycle took nothing").isZero();
        } finally {
            agent.running = false;
            agent.stopping = true;
            thread.join(TimeUnit.SECONDS.toMillis(90));
            backends.close();
            hv.close();
        }
    }

    /**
     * The data agent's loop (engine, then backends, then the idle strategy) with a doorbell that counts, for each
     * wake-up by a notification, whether the duty cycle right after it took a request.
     */
    private static final class CountingAgent implements Runnable, Doorbell {
        private final VerbsEngine engine;
        private final GuestBackends backends;
        volatile boolean running = true;
        volatile boolean stopping;
        /** Sleeps last a minute unless notified (XenStore's watch events, the connection's setup, wake nobody). */
        volatile boolean longSleeps;
        volatile boolean counting;
        private volatile boolean asleep;
        volatile Throwable failure;
        /** The agent woke from a notification while counting: the next duty cycle is the one to look at. */
        private boolean justWoken;
        volatile int wakesTakenNext;
        volatile int wakesNotTakenNext;
        volatile int sleepsRunOut;

        CountingAgent(VerbsEngine engine, GuestBackends backends) {
            this.engine = engine;
            this.backends = backends;
        }

        @Override
        public void run() {
            WakeableIdleStrategy idle = new WakeableIdleStrategy();
            idle.doorbell(this);
            try {
                long served = backends.requestsServed();
                while (running) {
                    int work = engine.doWork() + backends.doWork();
                    long now = backends.requestsServed();
                    if (justWoken) {
                        if (now != served) {
                            wakesTakenNext++;
                        } else {
                            wakesNotTakenNext++;
                        }
                        justWoken = false;
                    }
                    served = now;
                    idle.idle(work);
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        /** Returns once the agent is asleep (or about to be: it has armed the rings). */
        void awaitAsleep() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!asleep) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the data agent never went to sleep");
                }
                Thread.onSpinWait();
            }
        }

        @Override
        public boolean hasDevices() {
            return backends.hasDevices();
        }

        @Override
        public boolean arm() {
            return backends.arm();
        }

        @Override
        public boolean guestsSleep() {
            return backends.guestsSleep();
        }

        @Override
        public boolean await(long maxNanos) {
            asleep = true;
            boolean measured = longSleeps && !stopping;
            boolean notified = backends.await(measured ? SLEEP_NANOS : stopping ? 0 : maxNanos);
            asleep = false;
            if (measured && !notified) {
                sleepsRunOut++;
            }
            justWoken = counting && notified;
            return notified;
        }
    }
}
