package io.vmrdma.api.xen;

/** The xenbus device states written under {@code state} in XenStore, with Xen's numbering. */
public enum XenbusState {
    UNKNOWN(0),
    INITIALISING(1),
    INIT_WAIT(2),
    INITIALISED(3),
    CONNECTED(4),
    CLOSING(5),
    CLOSED(6),
    RECONFIGURING(7),
    RECONFIGURED(8);

    private static final XenbusState[] BY_VALUE = values();

    private final int value;

    XenbusState(int value) {
        this.value = value;
    }

    /** The number written to XenStore. */
    public int value() {
        return value;
    }

    /** The state a XenStore value names; anything unparsable or out of range is {@link #UNKNOWN}, as Xen reads it. */
    public static XenbusState parse(String text) {
        if (text == null) {
            return UNKNOWN;
        }
        try {
            int v = Integer.parseInt(text.trim());
            return v >= 0 && v < BY_VALUE.length ? BY_VALUE[v] : UNKNOWN;
        } catch (NumberFormatException e) {
            return UNKNOWN;
        }
    }
}
