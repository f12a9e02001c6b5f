package io.vmrdma.xen.sim.internal.abi;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.vmrdma.api.xen.XenErrno;

/**
 * The XenStore wire protocol ({@code xen/io/xs_wire.h}): a 16-byte header {@code {u32 type; u32 req_id;
 * u32 tx_id; u32 len}} in host byte order (little-endian here), then {@code len} payload bytes.
 */
public final class XsWire {
    public static final int HEADER_LENGTH = 16;
    /** XENSTORE_PAYLOAD_MAX. */
    public static final int PAYLOAD_MAX = 4096;
    public static final int ABS_PATH_MAX = 3072;
    public static final int REL_PATH_MAX = 2048;

    public static final int CONTROL = 0;
    public static final int DIRECTORY = 1;
    public static final int READ = 2;
    public static final int GET_PERMS = 3;
    public static final int WATCH = 4;
    public static final int UNWATCH = 5;
    public static final int TRANSACTION_START = 6;
    public static final int TRANSACTION_END = 7;
    public static final int INTRODUCE = 8;
    public static final int RELEASE = 9;
    public static final int GET_DOMAIN_PATH = 10;
    public static final int WRITE = 11;
    public static final int MKDIR = 12;
    public static final int RM = 13;
    public static final int SET_PERMS = 14;
    public static final int WATCH_EVENT = 15;
    public static final int ERROR = 16;
    public static final int IS_DOMAIN_INTRODUCED = 17;
    public static final int RESUME = 18;
    public static final int SET_TARGET = 19;
    public static final int RESET_WATCHES = 21;
    public static final int DIRECTORY_PART = 22;

    public static final int EISDIR = 21;
    public static final int EROFS = 30;
    public static final int EISCONN = 106;

    private static final int[] ERRNOS = {XenErrno.EINVAL, XenErrno.EACCES, XenErrno.EEXIST, EISDIR,
        XenErrno.ENOENT, XenErrno.ENOMEM, XenErrno.ENOSPC, XenErrno.EIO, XenErrno.ENOTEMPTY, XenErrno.ENOSYS, EROFS,
        XenErrno.EBUSY, XenErrno.EAGAIN, EISCONN, XenErrno.E2BIG, XenErrno.EPERM};
    private static final String[] NAMES = {"EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC",
        "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM"};

    private XsWire() {
    }

    /** The name xenstored sends for an errno (its {@code xsd_errors} table); anything else goes as EINVAL. */
    public static String errorName(int errno) {
        for (int i = 0; i < ERRNOS.length; i++) {
            if (ERRNOS[i] == errno) {
                return NAMES[i];
            }
        }
        return "EINVAL";
    }

    /** The errno of an error name; unknown names are EINVAL, as libxenstore reads them. */
    public static int errnoOf(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equals(name)) {
                return ERRNOS[i];
            }
        }
        return XenErrno.EINVAL;
    }

    /** Strings each followed by a NUL. */
    public static byte[] strings(String... parts) {
        int n = 0;
        byte[][] bytes = new byte[parts.length][];
        for (int i = 0; i < parts.length; i++) {
            bytes[i] = parts[i].getBytes(StandardCharsets.UTF_8);
            n += bytes[i].length + 1;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] b : bytes) {
            System.arraycopy(b, 0, out, at, b.length);
            at += b.length + 1;
        }
        return out;
    }

    /** Splits NUL-terminated strings; bytes after the last NUL are ignored. */
    public static List<String> split(byte[] payload, int from, int to) {
        List<String> out = new ArrayList<>();
        int start = from;
        for (int i = from; i < to; i++) {
            if (payload[i] == 0) {
                out.add(new String(payload, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        return out;
    }
}
