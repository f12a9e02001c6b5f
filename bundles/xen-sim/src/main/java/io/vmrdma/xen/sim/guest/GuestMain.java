package io.vmrdma.xen.sim.guest;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;

import io.vmrdma.api.xen.XenException;

/**
 * The launcher a simulated guest process runs:
 * {@code java -cp <classpath> io.vmrdma.xen.sim.guest.GuestMain [main-class [args...]]}. It attaches to the domain
 * named by {@link SimAbi#ENV_DOMAIN_DIR} (making {@link SimGuest#current()} available), then runs the given main
 * class, or idles when none is given. Like a PV guest's kernel it watches {@code control/shutdown} and exits when
 * the toolstack writes {@code poweroff} or {@code halt} there, and suspends and resumes when it writes {@code suspend}
 * ({@link GuestControl}); the simulator ends the guest harder if it does not power off.
 * Exit status: the application's (0 when its main returns), 1 on failure, 2 when the domain cannot be attached.
 */
public final class GuestMain {

    private GuestMain() {
    }

    public static void main(String[] args) throws Exception {
        SimGuest guest;
        try {
            guest = SimGuest.fromEnvironment();
        } catch (XenException e) {
            System.err.println("guest: " + e.getMessage());
            System.exit(2);
            return;
        }
        SimGuest.setCurrent(guest);
        // No shutdown hook closes the guest: the process's exit releases its memory mapping and its connections,
        // and unmapping earlier, on System.exit, would pull the memory from under threads still using it (SIGSEGV).
        System.out.println("guest: domain " + guest.selfDomid() + " '" + guest.name() + "' up");
        Thread control = GuestControl.start(guest, args.length > 0, () -> {
            if (Thread.currentThread().isDaemon()) {
                System.exit(0);
            }
        });
        if (args.length == 0) {
            control.join();
            System.exit(0);
        }
        try {
            Method main = Class.forName(args[0]).getMethod("main", String[].class);
            main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            e.getCause().printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }
}
