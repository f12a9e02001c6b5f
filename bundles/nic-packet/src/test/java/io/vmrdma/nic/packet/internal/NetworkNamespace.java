package io.vmrdma.nic.packet.internal;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * A thread that lives in a named network namespace ({@code /var/run/netns/NAME}, as {@code ip netns add} makes
 * it): setns is per thread in Linux, so this thread enters the namespace once and everything {@link #call}ed on it
 * runs there. Sockets opened there stay in that namespace, so ports opened here can be used from any thread.
 */
final class NetworkNamespace implements AutoCloseable {

    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;

    static {
        Native.register(NetworkNamespace.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
    }

    private static native int open(String path, int flags);

    private static native int setns(int fd, int type);

    private static native int close(int fd);

    private final String name;
    private final ExecutorService thread;

    NetworkNamespace(String name) {
        this.name = name;
        thread = Executors.newSingleThreadExecutor(task -> {
            Thread t = new Thread(task, "netns-" + name);
            t.setDaemon(true);
            return t;
        });
        call(() -> {
            int fd = open("/var/run/netns/" + name, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw new IllegalStateException("cannot open namespace " + name + ": errno " + Native.getLastError());
            }
            try {
                if (setns(fd, CLONE_NEWNET) < 0) {
                    throw new IllegalStateException("cannot enter namespace " + name + ": errno "
                            + Native.getLastError());
                }
            } finally {
                close(fd);
            }
            return null;
        });
    }

    String name() {
        return name;
    }

    /** Runs {@code task} inside the namespace and returns its result, rethrowing what it throws. */
    <T> T call(Callable<T> task) {
        Future<T> result = thread.submit(task);
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
