package io.vmrdma.xen.sim.internal;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.concurrent.TimeUnit;

import io.vmrdma.api.xen.EventChannel;
import io.vmrdma.api.xen.GrantSharer;
import io.vmrdma.api.xen.SharedPages;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.xen.sim.guest.SimGuest;

/**
 * The guest half of {@link GuestProcessTest}, run in its own JVM by {@code GuestMain}: shares pages holding a
 * seeded pattern, offers an event channel, publishes both in XenStore as a frontend does, checks what dom0 wrote
 * back, then plays ping-pong on the event channel. Arguments: seed, rounds.
 */
public final class GuestProgram {

    static final int PAGES = 4;

    private GuestProgram() {
    }

    public static void main(String[] args) throws Exception {
        long seed = Long.parseLong(args[0]);
        int rounds = Integer.parseInt(args[1]);
        SimGuest guest = SimGuest.current();
        try (XenStore xs = guest.openXenStore();
                GrantSharer sharer = guest.openGrantSharer();
                EventChannel evtchn = guest.openEventChannel()) {
            SharedPages pages = sharer.sharePages(0, PAGES, true);
            for (int i = 0; i < PAGES * 4096; i++) {
                pages.buffer().put(i, pattern(seed, i));
            }
            int port = evtchn.bindUnboundPort(0);
            StringBuilder refs = new StringBuilder();
            for (int i = 0; i < PAGES; i++) {
                refs.append(i == 0 ? "" : ",").append(pages.ref(i));
            }
            int tx;
            do {
                tx = xs.transactionStart();
                xs.write(tx, "data/ring-ref", refs.toString().getBytes(UTF_8));
                xs.write(tx, "data/event-channel", Integer.toString(port).getBytes(UTF_8));
                xs.write(tx, "data/state", "3".getBytes(UTF_8));
            } while (!xs.transactionEnd(tx, false));

            // dom0 maps, writes the reply into page 1, then notifies.
            expect(evtchn.waitPending(TimeUnit.SECONDS.toNanos(60)), port, "dom0's first notify");
            evtchn.unmask(port);
            boolean ok = true;
            for (int i = 0; i < 4096; i++) {
                ok &= pages.buffer().get(4096 + i) == (byte) ~pattern(seed, i);
            }
            xs.write(0, "data/result", (ok ? "ok" : "bad").getBytes(UTF_8));

            for (int i = 0; i < rounds; i++) {
                evtchn.notify(port);
                expect(evtchn.waitPending(TimeUnit.SECONDS.toNanos(60)), port, "round " + i);
                evtchn.unmask(port);
            }
            xs.write(0, "data/rounds", Integer.toString(rounds).getBytes(UTF_8));
        }
    }

    static byte pattern(long seed, int i) {
        long x = (seed + i) * 0x9E3779B97F4A7C15L;
        return (byte) (x >>> 56);
    }

    private static void expect(int port, int wanted, String what) {
        if (port != wanted) {
            throw new IllegalStateException(what + ": port " + port + ", wanted " + wanted);
        }
    }
}
