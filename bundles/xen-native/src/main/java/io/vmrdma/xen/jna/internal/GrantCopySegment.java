package io.vmrdma.xen.jna.internal;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.Structure.FieldOrder;
import com.sun.jna.Union;

/**
 * {@code xengnttab_grant_copy_segment_t} (x86_64, 24 bytes): each side is a union of a local {@code void *virt}
 * and a foreign {@code {uint32 ref; uint16 offset; uint16 domid}} (that order, unlike the hypervisor's own
 * {@code gnttab_copy}). The data path writes segments into reusable memory at the offset constants; the
 * structure is their declaration, and the layout test holds both to what gcc measures from the real header.
 */
@FieldOrder({"source", "dest", "len", "flags", "status"})
public class GrantCopySegment extends Structure {

    public static final int SIZE = 24;
    public static final int SOURCE = 0;
    public static final int DEST = 8;
    /** Offsets inside a side's {@code foreign} half. */
    public static final int FOREIGN_REF = 0;
    public static final int FOREIGN_OFFSET = 4;
    public static final int FOREIGN_DOMID = 6;
    public static final int LEN = 16;
    public static final int FLAGS = 18;
    public static final int STATUS = 20;

    /** {@code GNTCOPY_source_gref}: the source is a grant. */
    public static final short SOURCE_GREF = 1;
    /** {@code GNTCOPY_dest_gref}: the destination is a grant. */
    public static final short DEST_GREF = 2;

    /** The foreign half of a side. */
    @FieldOrder({"ref", "offset", "domid"})
    public static class Foreign extends Structure {
        public int ref;
        public short offset;
        public short domid;

        public int offsetOf(String field) {
            return fieldOffset(field);
        }
    }

    /** One side: local address or granted page. */
    public static class Side extends Union {
        public Pointer virt;
        public Foreign foreign;
    }

    public Side source;
    public Side dest;
    public short len;
    public short flags;
    public short status;

    public int offsetOf(String field) {
        return fieldOffset(field);
    }
}
