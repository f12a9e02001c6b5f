package io.vmrdma.xen.jna.internal;

import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.Structure.FieldOrder;

/** {@code struct xs_permissions {unsigned int id; unsigned int perms;}}, 8 bytes; perms bits READ 1, WRITE 2. */
@FieldOrder({"id", "perms"})
public class XsPermissions extends Structure {

    public static final int PERM_READ = 1;
    public static final int PERM_WRITE = 2;

    public int id;
    public int perms;

    public XsPermissions() {
    }

    XsPermissions(Pointer p) {
        super(p);
        read();
    }

    public int offsetOf(String field) {
        return fieldOffset(field);
    }
}
