package io.vmrdma.xen.jna.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import io.vmrdma.api.xen.XenErrno;
import io.vmrdma.api.xen.XenException;
import io.vmrdma.api.xen.XenStore;
import io.vmrdma.api.xen.XenStorePermission;
import io.vmrdma.api.xen.XenStorePermission.Access;

/**
 * A {@code struct xs_handle}. The library is thread-safe per handle; watch events are read without blocking
 * ({@code xs_check_watch}) after {@code poll} on {@code xs_fileno}, a pipe that is readable while events are
 * queued, so a reader can time out. As with the C library, calls must not race with {@link #close()}.
 */
final class NativeXenStore implements XenStore {

    /** Where {@code xs_open} looks first when XENSTORED_PATH is not set (Debian's rundir). */
    private static final String DEFAULT_SOCKET = "/var/run/xenstored/socket";

    private final LibXenStore lib;
    private final FdWaiter watches;
    private final int watchFd;
    private volatile Pointer handle;

    private NativeXenStore(LibXenStore lib, Pointer handle, int watchFd) {
        this.lib = lib;
        this.handle = handle;
        this.watchFd = watchFd;
        this.watches = new FdWaiter(watchFd, "xs_read_watch");
    }

    /** libxenstore's watch pipe, which {@code xs_check_watch} empties when it takes the last event; -1 once closed. */
    @Override
    public int watchFd() {
        return handle == null ? -1 : watchFd;
    }

    static NativeXenStore open() throws XenException {
        LibXenStore lib = XenLibraries.xenstore("xs_open");
        Pointer handle = lib.xs_open(new NativeLong(0));
        if (handle == null) {
            String socket = System.getenv("XENSTORED_PATH");
            throw XenLibraries.openFailure("xs_open", "the xenstored socket "
                    + (socket == null ? DEFAULT_SOCKET : socket) + " and /proc/xen/xenbus");
        }
        int fd = lib.xs_fileno(handle);
        if (fd == -1) {
            XenException e = XenLibraries.failure("xs_fileno", "the watch pipe");
            lib.xs_close(handle);
            throw e;
        }
        return new NativeXenStore(lib, handle, fd);
    }

    @Override
    public byte[] read(int tx, String path) throws XenException {
        IntByReference len = new IntByReference();
        Pointer value = lib.xs_read(handle("xs_read"), tx, path, len);
        if (value == null) {
            throw XenLibraries.failure("xs_read", path);
        }
        try {
            return value.getByteArray(0, len.getValue());
        } finally {
            free(value);
        }
    }

    @Override
    public void write(int tx, String path, byte[] value) throws XenException {
        byte[] data = value == null ? new byte[0] : value;
        if (lib.xs_write(handle("xs_write"), tx, path, data, data.length) == 0) {
            throw XenLibraries.failure("xs_write", path);
        }
    }

    @Override
    public void mkdir(int tx, String path) throws XenException {
        if (lib.xs_mkdir(handle("xs_mkdir"), tx, path) == 0) {
            throw XenLibraries.failure("xs_mkdir", path);
        }
    }

    @Override
    public void rm(int tx, String path) throws XenException {
        if (lib.xs_rm(handle("xs_rm"), tx, path) == 0) {
            throw XenLibraries.failure("xs_rm", path);
        }
    }

    @Override
    public List<String> directory(int tx, String path) throws XenException {
        IntByReference num = new IntByReference();
        Pointer names = lib.xs_directory(handle("xs_directory"), tx, path, num);
        if (names == null) {
            throw XenLibraries.failure("xs_directory", path);
        }
        try {
            return num.getValue() == 0 ? List.of() : Arrays.asList(names.getStringArray(0, num.getValue()));
        } finally {
            free(names);
        }
    }

    @Override
    public List<XenStorePermission> getPermissions(int tx, String path) throws XenException {
        IntByReference num = new IntByReference();
        Pointer perms = lib.xs_get_permissions(handle("xs_get_permissions"), tx, path, num);
        if (perms == null) {
            throw XenLibraries.failure("xs_get_permissions", path);
        }
        try {
            List<XenStorePermission> out = new ArrayList<>(num.getValue());
            XsPermissions entry = new XsPermissions();
            long size = entry.size();
            for (int i = 0; i < num.getValue(); i++) {
                XsPermissions p = new XsPermissions(perms.share(i * size));
                out.add(new XenStorePermission(p.id & 0xFFFF, access(p.perms)));
            }
            return out;
        } finally {
            free(perms);
        }
    }

    @Override
    public void setPermissions(int tx, String path, List<XenStorePermission> permissions) throws XenException {
        if (permissions.isEmpty()) {
            throw new XenException("xs_set_permissions", XenErrno.EINVAL, path + ": an empty permission list");
        }
        XsPermissions[] array = (XsPermissions[]) new XsPermissions().toArray(permissions.size());
        for (int i = 0; i < array.length; i++) {
            XenStorePermission p = permissions.get(i);
            array[i].id = p.domid();
            array[i].perms = bits(p.access());
        }
        if (lib.xs_set_permissions(handle("xs_set_permissions"), tx, path, array, array.length) == 0) {
            throw XenLibraries.failure("xs_set_permissions", path);
        }
    }

    @Override
    public int transactionStart() throws XenException {
        int tx = lib.xs_transaction_start(handle("xs_transaction_start"));
        if (tx == NO_TRANSACTION) {
            throw XenLibraries.failure("xs_transaction_start", "");
        }
        return tx;
    }

    @Override
    public boolean transactionEnd(int tx, boolean abort) throws XenException {
        if (lib.xs_transaction_end(handle("xs_transaction_end"), tx, abort) != 0) {
            return true;
        }
        int errno = Native.getLastError();
        if (errno == XenErrno.EAGAIN) {
            return false;
        }
        throw new XenException("xs_transaction_end", errno, "transaction " + tx);
    }

    @Override
    public void watch(String path, String token) throws XenException {
        if (lib.xs_watch(handle("xs_watch"), path, token) == 0) {
            throw XenLibraries.failure("xs_watch", path + " (token " + token + ")");
        }
    }

    @Override
    public void unwatch(String path, String token) throws XenException {
        if (lib.xs_unwatch(handle("xs_unwatch"), path, token) == 0) {
            throw XenLibraries.failure("xs_unwatch", path + " (token " + token + ")");
        }
    }

    @Override
    public WatchEvent readWatch(long timeoutNanos) throws XenException {
        Pointer h = handle("xs_check_watch");
        Pointer event = checkWatch(h);
        if (event == null && watches.await(timeoutNanos)) {
            event = checkWatch(h);
        }
        if (event == null) {
            return null;
        }
        try {
            String[] pathAndToken = event.getStringArray(0, 2);
            return new WatchEvent(pathAndToken[0], pathAndToken[1]);
        } finally {
            free(event);
        }
    }

    /** A queued event, or null when none is (EAGAIN). */
    private Pointer checkWatch(Pointer h) throws XenException {
        Pointer event = lib.xs_check_watch(h);
        if (event == null && Native.getLastError() != XenErrno.EAGAIN) {
            throw XenLibraries.failure("xs_check_watch", "");
        }
        return event;
    }

    @Override
    public synchronized void close() {
        Pointer h = handle;
        if (h != null) {
            handle = null;
            lib.xs_close(h);
        }
    }

    private Pointer handle(String operation) throws XenException {
        Pointer h = handle;
        if (h == null) {
            throw XenLibraries.closed(operation);
        }
        return h;
    }

    private static void free(Pointer block) {
        Native.free(Pointer.nativeValue(block));
    }

    /** The low two bits are READ and WRITE; xenstored's internal bits above them are not access. */
    static Access access(int perms) {
        return switch (perms & (XsPermissions.PERM_READ | XsPermissions.PERM_WRITE)) {
            case XsPermissions.PERM_READ -> Access.READ;
            case XsPermissions.PERM_WRITE -> Access.WRITE;
            case XsPermissions.PERM_READ | XsPermissions.PERM_WRITE -> Access.BOTH;
            default -> Access.NONE;
        };
    }

    static int bits(Access access) {
        return switch (access) {
            case NONE -> 0;
            case READ -> XsPermissions.PERM_READ;
            case WRITE -> XsPermissions.PERM_WRITE;
            case BOTH -> XsPermissions.PERM_READ | XsPermissions.PERM_WRITE;
        };
    }
}
