package io.vmrdma.xen.sim.internal.abi;

import static io.vmrdma.xen.sim.guest.SimAbi.GRANT_ENTRY_LENGTH;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.vmrdma.xen.sim.guest.SimAbi;

/**
 * A flyweight over a v1 grant table shared between a guest and the simulator:
 *
 * <pre>
 *   0               1               2               3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+-------------------------------+
 *  |        flags (GTF_*)          |        domid (grantee)        |  word 0
 *  +-------------------------------+-------------------------------+
 *  |                       frame (page in memory file)             |  word 1
 *  +---------------------------------------------------------------+
 * </pre>
 *
 * Little-endian, so word 0 read as a u32 is {@code flags | domid << 16}. Every change to the flags is a
 * compare-and-swap of word 0: the guest's revoke and the simulator's pin race on that one word, exactly as Linux's
 * {@code cmpxchg} on the flags races with Xen's.
 */
public final class GrantTableView {

    private static final VarHandle WORD =
            MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final ByteBuffer table;
    private final int entries;

    public GrantTableView(ByteBuffer table) {
        this.table = table;
        this.entries = table.capacity() / GRANT_ENTRY_LENGTH;
    }

    public int entries() {
        return entries;
    }

    /** Word 0 (flags and domid), read with acquire semantics. */
    public int word(int ref) {
        return (int) WORD.getAcquire(table, ref * GRANT_ENTRY_LENGTH);
    }

    public boolean compareAndSetWord(int ref, int expected, int value) {
        return WORD.compareAndSet(table, ref * GRANT_ENTRY_LENGTH, expected, value);
    }

    public int frame(int ref) {
        return (int) WORD.getAcquire(table, ref * GRANT_ENTRY_LENGTH + 4);
    }

    /** Grants {@code frame} to {@code domid}: domid and frame first, the flags that make it live last. */
    public void grant(int ref, int domid, int frame, boolean readonly) {
        WORD.setRelease(table, ref * GRANT_ENTRY_LENGTH + 4, frame);
        int flags = SimAbi.GTF_PERMIT_ACCESS | (readonly ? SimAbi.GTF_READONLY : 0);
        WORD.setRelease(table, ref * GRANT_ENTRY_LENGTH, flags | domid << 16);
    }

    /**
     * Ends access as Linux's {@code gnttab_end_foreign_access_ref}: fails while Xen has the entry pinned
     * (GTF_reading or GTF_writing), otherwise swaps the flags to 0 atomically.
     *
     * @return whether the grant is now revoked
     */
    public boolean revoke(int ref) {
        while (true) {
            int word = word(ref);
            if ((word & (SimAbi.GTF_READING | SimAbi.GTF_WRITING)) != 0) {
                return false;
            }
            if (compareAndSetWord(ref, word, word & 0xFFFF0000)) {
                return true;
            }
        }
    }

    public static int flags(int word) {
        return word & 0xFFFF;
    }

    public static int domid(int word) {
        return word >>> 16;
    }
}
