package io.vmrdma.xen.jna.internal;

import com.sun.jna.Structure;
import com.sun.jna.Structure.FieldOrder;

/**
 * {@code struct pollfd {int fd; short events; short revents;}}, 8 bytes. Waiting handles keep one in reusable
 * memory at the offset constants, so a wait allocates nothing; the layout test checks both against gcc.
 */
@FieldOrder({"fd", "events", "revents"})
public class PollFd extends Structure {

    public static final int SIZE = 8;
    public static final int FD = 0;
    public static final int EVENTS = 4;
    public static final int REVENTS = 6;

    public int fd;
    public short events;
    public short revents;

    public int offsetOf(String field) {
        return fieldOffset(field);
    }
}
