package io.vmrdma.api.xen;

/** Xen's {@code GNTST_*} grant operation status codes, as reported per grant-copy segment. */
public final class GrantStatus {
    public static final short OKAY = 0;
    public static final short GENERAL_ERROR = -1;
    public static final short BAD_DOMAIN = -2;
    public static final short BAD_GNTREF = -3;
    public static final short BAD_HANDLE = -4;
    public static final short BAD_VIRT_ADDR = -5;
    public static final short BAD_DEV_ADDR = -6;
    public static final short NO_DEVICE_SPACE = -7;
    public static final short PERMISSION_DENIED = -8;
    public static final short BAD_PAGE = -9;
    public static final short BAD_COPY_ARG = -10;
    public static final short ADDRESS_TOO_BIG = -11;
    public static final short EAGAIN = -12;
    public static final short NO_SPACE = -13;

    private GrantStatus() {
    }
}
