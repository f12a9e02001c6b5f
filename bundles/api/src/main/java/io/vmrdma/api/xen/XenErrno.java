package io.vmrdma.api.xen;

/** The Linux errno values Xen's libraries report, as carried by {@link XenException#errno()}. */
public final class XenErrno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EIO = 5;
    public static final int E2BIG = 7;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int ENOTTY = 25;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ENOTCONN = 107;
    public static final int EQUOTA = 122;

    private XenErrno() {
    }

    /** The symbolic name of an errno value, or {@code "errno N"} when it is not one of these. */
    public static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EIO -> "EIO";
            case E2BIG -> "E2BIG";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case ENOTTY -> "ENOTTY";
            case ENOSYS -> "ENOSYS";
            case ENOTEMPTY -> "ENOTEMPTY";
            case ENOTCONN -> "ENOTCONN";
            case EQUOTA -> "EQUOTA";
            default -> "errno " + errno;
        };
    }
}
