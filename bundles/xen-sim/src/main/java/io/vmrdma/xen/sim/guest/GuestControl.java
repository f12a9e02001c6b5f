package io.vmrdma.xen.sim.guest;

import java.nio.charset.StandardCharsets;

import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;

/**
 * What a PV guest's kernel does with {@code control/shutdown}: it watches the node and, when the toolstack writes
 * {@code poweroff} or {@code halt}, powers off; when it writes {@code suspend} (a live migration), it suspends and
 * resumes ({@link SimGuest#suspend}) and watches on, on whichever host it then runs.
 */
public final class GuestControl {

    private GuestControl() {
    }

    /**
     * Watches {@code guest}'s {@code control/shutdown} on a thread of its own, which ends after running
     * {@code powerOff} (or when XenStore goes away).
     */
    public static Thread start(SimGuest guest, boolean daemon, Runnable powerOff) {
        Thread control = new Thread(() -> watch(guest, powerOff), "guest-control");
        control.setDaemon(daemon);
        control.start();
        return control;
    }

    private static void watch(SimGuest guest, Runnable powerOff) {
        try (XenStore xs = guest.openXenStore()) {
            xs.watch("control/shutdown", "shutdown");
            while (true) {
                XenStore.WatchEvent event = xs.readWatch(Long.MAX_VALUE);
                if (event == null) {
                    continue;
                }
                String request;
                try {
                    request = new String(xs.read(XenStore.NO_TRANSACTION, "control/shutdown"),
                            StandardCharsets.UTF_8);
                } catch (XenException e) {
                    continue;
                }
                if (request.equals("poweroff") || request.equals("halt")) {
                    System.out.println("guest: " + request + " requested");
                    powerOff.run();
                    return;
                }
                if (request.equals(SimAbi.SHUTDOWN_SUSPEND)) {
                    suspend(guest);
                }
            }
        } catch (XenException e) {
            System.err.println("guest: lost XenStore: " + e.getMessage());
        }
    }

    private static void suspend(SimGuest guest) {
        try {
            boolean moved = guest.suspend();
            System.out.println("guest: resumed " + (moved ? "in " + guest.domainDirectory() : "where it was"));
        } catch (XenException e) {
            System.err.println("guest: suspend failed: " + e.getMessage());
        }
    }
}
