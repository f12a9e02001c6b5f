package io.vmrdma.api;

/**
 * Why a node dropped a frame from the wire: each cause is one {@link Counter}, named for operators (the console)
 * and for tools ({@link #label()}, e.g. a Prometheus {@code cause} label). Since 0.7.0.
 */
public enum FrameDrop {
    HEADER_CRC(Counter.CRC_ERRORS, "header_crc", "header CRC"),
    PAYLOAD_CRC(Counter.PAYLOAD_CRC_ERRORS, "payload_crc", "payload CRC"),
    MALFORMED(Counter.MALFORMED_FRAMES, "malformed", "malformed"),
    UNAUTHENTICATED(Counter.AUTH_FAILURES, "unauthenticated", "unauthenticated"),
    REPLAYED(Counter.REPLAYS, "replayed", "replayed"),
    SPOOFED(Counter.PEER_SPOOFS, "spoofed", "spoofed"),
    UNKNOWN_PEER(Counter.UNKNOWN_SOURCE_DROPS, "unknown_peer", "unknown peer"),
    UNKNOWN_QP(Counter.UNKNOWN_QP_DROPS, "unknown_qp", "unknown QP"),
    DUPLICATE(Counter.DUPLICATES_DROPPED, "duplicate", "duplicates"),
    OUT_OF_WINDOW(Counter.OUT_OF_WINDOW_DROPS, "out_of_window", "out of window"),
    CONTROL(Counter.CONTROL_FRAME_DROPS, "control", "stray control"),
    PARTITION(Counter.PARTITION_VIOLATIONS, "partition", "partition refused");

    private final Counter counter;
    private final String label;
    private final String description;

    FrameDrop(Counter counter, String label, String description) {
        this.counter = counter;
        this.label = label;
        this.description = description;
    }

    /** The counter that counts this cause. */
    public Counter counter() {
        return counter;
    }

    /** A stable lower-case name for tools: letters and underscores. */
    public String label() {
        return label;
    }

    /** A short name for people. */
    public String description() {
        return description;
    }
}
