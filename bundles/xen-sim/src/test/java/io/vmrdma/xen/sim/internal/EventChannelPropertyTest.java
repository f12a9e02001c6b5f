package io.vmrdma.xen.sim.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.xen.sim.guest.SimGuest;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * Seeded random interleavings of notify, wait and unmask on both ends of a guest-dom0 channel, checked against the
 * semantics of docs/sim-abi.md §4.4: a port not masked that was notified since its last delivery is delivered at
 * once (no wake-up is lost); a masked port is never delivered; a port notified since neither is; unmask re-arms.
 */
class EventChannelPropertyTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Property(tries = 40)
    void deliveriesFollowNotifiesAndMasks(@ForAll @LongRange(min = 1) long seed,
                                          @ForAll @IntRange(min = 1, max = 400) int steps)
            throws Exception {
        Path state = Files.createTempDirectory("evtchn-prop");
        try (SimHypervisor hv = SimHypervisor.start(SimSettings.defaults(state));
                SimGuest guest = SimGuest.attach(hv.domainDirectory(hv.create("g1", 1 << 20)));
                EventChannel front = guest.openEventChannel();
                EventChannel back = hv.dom0().openEventChannel()) {
            End[] ends = {new End(front, front.bindUnboundPort(0)), null};
            ends[1] = new End(back, back.bindInterdomain(guest.selfDomid(), ends[0].port));
            assertThat(back.waitPending(SECOND)).as("the early event").isEqualTo(ends[1].port);
            ends[1].masked = true;
            Random random = new Random(seed);
            for (int step = 0; step < steps; step++) {
                End self = ends[random.nextInt(2)];
                End peer = self == ends[0] ? ends[1] : ends[0];
                switch (random.nextInt(3)) {
                    case 0 -> {
                        self.handle.notify(self.port);
                        peer.notified = true;
                    }
                    case 1 -> {
                        int fired = self.handle.waitPending(0);
                        boolean due = self.notified && !self.masked;
                        assertThat(fired).as("seed %d step %d: wait", seed, step).isEqualTo(due ? self.port : -1);
                        if (due) {
                            self.notified = false;
                            self.masked = true;
                        }
                    }
                    default -> {
                        self.handle.unmask(self.port);
                        self.masked = false;
                    }
                }
            }
        } finally {
            try (Stream<Path> tree = Files.walk(state)) {
                tree.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** One end of the channel and what the model says of it. */
    private static final class End {
        final EventChannel handle;
        final int port;
        boolean notified;
        boolean masked;

        End(EventChannel handle, int port) {
            this.handle = handle;
            this.port = port;
        }
    }
}
