package io.vmrdma.api.verbs;

/** Memory-region access flags, with libibverbs' bit values. Local read is always allowed. */
public final class AccessFlags {
    /** The region may be written by local operations (RECV, the local side of RDMA READ). */
    public static final int LOCAL_WRITE = 1;
    /** Remote peers may RDMA WRITE into the region; requires {@link #LOCAL_WRITE}. */
    public static final int REMOTE_WRITE = 2;
    /** Remote peers may RDMA READ from the region. */
    public static final int REMOTE_READ = 4;
    /** Every flag this version knows. */
    public static final int ALL = LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ;

    private AccessFlags() {
    }

    /** Whether {@code flags} is a combination verbs accepts: known bits only, and remote write implies local write. */
    public static boolean isValid(int flags) {
        return (flags & ~ALL) == 0 && ((flags & REMOTE_WRITE) == 0 || (flags & LOCAL_WRITE) != 0);
    }

    /** As people read it: {@code LOCAL_WRITE|REMOTE_READ}, or {@code NONE}. */
    public static String toString(int flags) {
        StringBuilder sb = new StringBuilder();
        append(sb, flags, LOCAL_WRITE, "LOCAL_WRITE");
        append(sb, flags, REMOTE_WRITE, "REMOTE_WRITE");
        append(sb, flags, REMOTE_READ, "REMOTE_READ");
        return sb.length() == 0 ? "NONE" : sb.toString();
    }

    private static void append(StringBuilder sb, int flags, int bit, String name) {
        if ((flags & bit) != 0) {
            if (sb.length() > 0) {
                sb.append('|');
            }
            sb.append(name);
        }
    }
}
