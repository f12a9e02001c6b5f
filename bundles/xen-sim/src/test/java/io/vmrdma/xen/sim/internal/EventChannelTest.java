package io.vmrdma.xen.sim.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.xen.sim.guest.SimGuest;
import io.vmrdma.xen.sim.internal.SimCounters.Counter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Event channels with Xen's and Linux's semantics; the guest end goes through its hypercall socket. */
class EventChannelTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @TempDir
    Path state;

    SimHypervisor hv;
    SimGuest guest;
    EventChannel front;
    EventChannel back;

    @BeforeEach
    void setUp() throws Exception {
        hv = SimHypervisor.start(SimSettings.defaults(state));
        guest = SimGuest.attach(hv.domainDirectory(hv.create("g1", 1 << 20)));
        front = guest.openEventChannel();
        back = hv.dom0().openEventChannel();
    }

    @AfterEach
    void tearDown() throws Exception {
        front.close();
        back.close();
        guest.close();
        hv.close();
    }

    @Test
    void bindingFiresOnceThenEventsMergeWhileMasked() throws Exception {
        int offered = front.bindUnboundPort(0);
        assertThat(offered).isPositive();
        int local = back.bindInterdomain(guest.selfDomid(), offered);
        assertThat(back.waitPending(SECOND)).as("the early event of a new binding").isEqualTo(local);
        assertThat(back.waitPending(0)).isEqualTo(-1);

        front.notify(offered);
        front.notify(offered);
        front.notify(offered);
        // The early event left the port masked: three notifications merged into its pending bit.
        assertThat(back.waitPending(0)).isEqualTo(-1);
        back.unmask(local);
        assertThat(back.waitPending(SECOND)).isEqualTo(local);
        assertThat(back.waitPending(0)).isEqualTo(-1);
        back.unmask(local);
        assertThat(back.waitPending(0)).isEqualTo(-1);

        back.notify(local);
        assertThat(front.waitPending(SECOND)).isEqualTo(offered);
        front.unmask(offered);
    }

    @Test
    void unbindReturnsThePeerToUnboundAndNotifyIsDropped() throws Exception {
        int offered = front.bindUnboundPort(0);
        int local = back.bindInterdomain(guest.selfDomid(), offered);
        back.unbind(local);
        front.notify(offered); // peer gone: accepted and dropped
        int again = back.bindInterdomain(guest.selfDomid(), offered);
        assertThat(back.waitPending(SECOND)).isEqualTo(again);
    }

    @Test
    void badPortsGetXensErrors() throws Exception {
        int offered = front.bindUnboundPort(0);
        assertErrno(() -> back.bindInterdomain(guest.selfDomid(), offered + 1), XenErrno.EINVAL);
        assertErrno(() -> back.bindInterdomain(55, 1), XenErrno.ESRCH);
        assertErrno(() -> front.notify(999), XenErrno.ENOTCONN);
        assertErrno(() -> back.notify(offered), XenErrno.ENOTCONN);
        assertErrno(() -> front.unbind(5000), XenErrno.EINVAL);
        assertErrno(() -> front.bindUnboundPort(4242), XenErrno.ESRCH);
        front.unmask(12345); // ignored, as the evtchn device does
        int other = front.bindUnboundPort(hv.create("g2", 1 << 20)); // offered to someone else
        assertErrno(() -> back.bindInterdomain(guest.selfDomid(), other), XenErrno.EINVAL);
        // The guest's notify of port 999 fails in the guest's own handle: notifies do not reach the simulator.
        assertThat(hv.counters().get(Counter.EVTCHN_BAD_PORT)).isEqualTo(4);
    }

    @Test
    void closingAHandleUnbindsItsPorts() throws Exception {
        int offered = front.bindUnboundPort(0);
        int local = back.bindInterdomain(guest.selfDomid(), offered);
        front.close();
        back.notify(local); // the peer port is gone: dropped
        front = guest.openEventChannel();
        assertErrno(() -> front.notify(offered), XenErrno.ENOTCONN);
    }

    @Test
    void noWakeUpIsLostUnderStress() throws Exception {
        int offered = front.bindUnboundPort(0);
        int local = back.bindInterdomain(guest.selfDomid(), offered);
        assertThat(back.waitPending(SECOND)).isEqualTo(local);
        back.unmask(local);
        int rounds = Boolean.getBoolean("vmrdma.long") ? 200_000 : 20_000;
        // Ping-pong: a round's notify must always wake the other side, or the test hangs (and times out below).
        AtomicLong seen = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread guestSide = new Thread(() -> {
            try {
                for (int i = 0; i < rounds; i++) {
                    front.notify(offered);
                    int port = front.waitPending(10 * SECOND);
                    if (port != offered) {
                        throw new AssertionError("round " + i + ": guest got " + port);
                    }
                    front.unmask(offered);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        guestSide.start();
        for (int i = 0; i < rounds && failure.get() == null; i++) {
            int port = back.waitPending(10 * SECOND);
            assertThat(port).as("round %d", i).isEqualTo(local);
            back.unmask(local);
            seen.incrementAndGet();
            back.notify(local);
        }
        guestSide.join();
        assertThat(failure.get()).isNull();
        assertThat(seen.get()).isEqualTo(rounds);
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void assertErrno(Call call, int errno) {
        assertThatThrownBy(call::run).isInstanceOf(XenException.class)
                .extracting(e -> ((XenException) e).errno()).isEqualTo(errno);
    }
}
