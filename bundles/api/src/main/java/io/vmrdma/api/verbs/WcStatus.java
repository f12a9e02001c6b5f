package io.vmrdma.api.verbs;

/** Work-completion status codes, with libibverbs' numbering so logs read the same. */
public enum WcStatus {
    SUCCESS(0, "success"),
    LOC_LEN_ERR(1, "local length error"),
    LOC_QP_OP_ERR(2, "local QP operation error"),
    LOC_PROT_ERR(4, "local protection error"),
    WR_FLUSH_ERR(5, "work request flushed"),
    BAD_RESP_ERR(7, "bad response error"),
    LOC_ACCESS_ERR(8, "local access error"),
    REM_INV_REQ_ERR(9, "remote invalid request error"),
    REM_ACCESS_ERR(10, "remote access error"),
    REM_OP_ERR(11, "remote operation error"),
    RETRY_EXC_ERR(12, "transport retry counter exceeded"),
    RNR_RETRY_EXC_ERR(13, "RNR retry counter exceeded"),
    FATAL_ERR(19, "fatal error"),
    GENERAL_ERR(21, "general error");

    private static final WcStatus[] BY_CODE = new WcStatus[22];

    static {
        for (WcStatus s : values()) {
            BY_CODE[s.code] = s;
        }
    }

    private final int code;
    private final String text;

    WcStatus(int code, String text) {
        this.code = code;
        this.text = text;
    }

    /** The libibverbs number of this status. */
    public int code() {
        return code;
    }

    /** What {@code ibv_wc_status_str} says for it. */
    public String text() {
        return text;
    }

    /** The status with this code, or {@link #GENERAL_ERR} for a code this version does not know. */
    public static WcStatus ofCode(int code) {
        WcStatus s = code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        return s == null ? GENERAL_ERR : s;
    }
}
