package io.vmrdma.engine.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.vmrdma.engine.internal.backend.GuestBackends;
import io.vmrdma.engine.internal.verbs.VerbsEngine;
import io.vmrdma.guest.GuestDevice;
import io.vmrdma.nic.faults.ForwardingNicPort;
import io.vmrdma.nic.loopback.internal.LoopbackPort;
import io.vmrdma.nic.loopback.internal.LoopbackWire;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.Readiness;
import io.vmrdma.xen.sim.internal.SimForGuestTests;
import io.vmrdma.xen.sim.internal.SimHypervisor;
import org.agrona.concurrent.AgentRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dom0's data agent with guests' backends bound but no guest device sleeps until its next timer, and a guest's new
 * device ends that sleep through XenStore's watch descriptor: the agent runs as {@code EngineNode} runs it, on a
 * port that a frame or that descriptor wakes (it records how each sleep ended). A lost wake-up shows as a long sleep
 * that ran out while the guest was opening its device, not as time lost.
 */
class XenStoreWakeTest {

    @TempDir
    Path state;

    @Test
    void aGuestsNewDeviceEndsTheLongSleepOfAnAgentWithNoDevice() throws Exception {
        SimHypervisor hv = SimForGuestTests.start(state, 256);
        SleepRecordingPort port = new SleepRecordingPort();
        VerbsEngine verbs = new VerbsEngine(1, System::nanoTime, 7L);
        DataAgent agent = new DataAgent(verbs);
        WakeableIdleStrategy idle = new WakeableIdleStrategy();
        idle.waiter(agent::awaitWork);
        idle.framesOrDescriptor(agent::awaitWorkOr);
        AtomicReference<GuestBackends> backends = new AtomicReference<>();
        agent.runAndWait(() -> {
            verbs.nic(port);
            idle.wirePolled(true);
            try {
                backends.set(new GuestBackends(hv.dom0(), verbs));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            agent.backends(backends.get());
            idle.doorbell(backends.get());
        });
        AgentRunner runner = new AgentRunner(idle, Throwable::printStackTrace, null, agent);
        AgentRunner.startOnThread(runner);
        try {
            int domid = hv.create("newcomer", 16 << 20);
            port.awaitLongSleep();
            port.opening = true;
            GuestDevice dev = GuestDevice.open(SimGuest.attach(hv.domainDirectory(domid)), 0,
                    GuestDevice.Options.defaults());
            port.opening = false;
            dev.deallocPd(dev.allocPd());
            dev.close();

            assertThat(port.longSleepsEndedByDescriptor.get()).as("long sleeps a XenStore watch ended").isPositive();
            assertThat(port.longSleepsRunOutWhileOpening.get()).as("long sleeps that ran out while the guest opened")
                    .isZero();
        } finally {
            agent.closing();
            runner.close();
            backends.get().close();
            hv.close();
        }
    }

    /**
     * A loopback port that says it can be woken, and sleeps on the descriptor the agent gives it (XenStore's watch
     * descriptor here) by {@code poll}; a sleep of half a second or more counts as long.
     */
    private static final class SleepRecordingPort extends ForwardingNicPort {
        private static final long LONG_NANOS = DataAgent.LONGEST_WAIT_NANOS / 2;
        volatile boolean opening;
        private volatile boolean longSleep;
        final AtomicInteger longSleepsEndedByDescriptor = new AtomicInteger();
        final AtomicInteger longSleepsRunOutWhileOpening = new AtomicInteger();

        SleepRecordingPort() {
            super(new LoopbackPort(new LoopbackWire(), 1, 1500, 1 << 20));
        }

        @Override
        public boolean wakeable() {
            return true;
        }

        @Override
        public boolean awaitFramesOr(int fd, long timeoutNanos) {
            boolean isLong = timeoutNanos >= LONG_NANOS;
            boolean wasOpening = opening;
            longSleep = isLong;
            boolean byDescriptor = Readiness.readable(fd,
                    (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
            longSleep = false;
            if (isLong && byDescriptor) {
                longSleepsEndedByDescriptor.incrementAndGet();
            }
            if (isLong && !byDescriptor && (wasOpening || opening)) {
                longSleepsRunOutWhileOpening.incrementAndGet();
            }
            return true;
        }

        /** Returns once the agent sleeps long: it is quiet, and nothing but a watch event or its timer ends that. */
        void awaitLongSleep() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!longSleep) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the data agent never slept long");
                }
                Thread.sleep(1);
            }
        }
    }
}
