package io.vmrdma.xen.sim.guest;

/**
 * The simulator's guest ABI as constants: what {@code docs/sim-abi.md} specifies for C and Java guests alike.
 * All multi-byte integers in files and messages are little-endian (x86-64 host order).
 */
public final class SimAbi {

    /**
     * ABI version a guest announces in {@link #OP_HELLO}; the simulator refuses others with EPROTO (71). Version 2
     * moved notify and unmask off the socket onto channel FIFOs; version 3 moved page and grant-ref allocation into
     * the simulator ({@link #OP_GNTALLOC_SHARE}), so every process of a domain may share pages; version 4 added
     * suspend and resume for live migration ({@link #OP_SCHED_SUSPEND}, {@link #OP_GNTALLOC_RECLAIM}). Older clients
     * are refused.
     */
    public static final int VERSION = 4;

    /** Environment variable naming the guest's domain directory; the launcher sets it. */
    public static final String ENV_DOMAIN_DIR = "VMRDMA_SIM_DOMAIN";

    /** Text file of {@code key=value} lines describing the domain (domid, name, memory size, limits). */
    public static final String FILE_INFO = "info";
    /** The guest's memory: {@code memory-bytes} bytes, page frame {@code f} at byte offset {@code f * 4096}. */
    public static final String FILE_MEMORY = "memory";
    /** The guest's grant table: an array of 8-byte v1 entries, {@code grant-entries} long. */
    public static final String FILE_GRANT_TABLE = "grant-table";
    /** Unix stream socket for hypercalls and event channels; one connection is one handle. */
    public static final String SOCKET_HYPERCALL = "hypercall.sock";
    /** Unix stream socket speaking the XenStore wire protocol as this domain; use it as {@code XENSTORED_PATH}. */
    public static final String SOCKET_XENSTORE = "xenstore.sock";
    /** The guest process's standard output and error, as {@code xl console} would show them. */
    public static final String FILE_CONSOLE = "console.log";

    /** Directory of the run holding every channel's FIFOs {@code <channel>.0} and {@code <channel>.1}. */
    public static final String DIR_CHANNELS = "channels";
    /** {@link #DIR_CHANNELS} relative to a domain directory. */
    public static final String PATH_CHANNELS = "../../" + DIR_CHANNELS;

    /** Bytes of the header of every hypercall message: op, req_id, reserved, len (u32 each). */
    public static final int HEADER_LENGTH = 16;
    /** Largest hypercall payload in bytes: a map of {@link #MAX_MAP_REFS} refs plus its three words. */
    public static final int MAX_PAYLOAD = 4 * (3 + 65536);
    /** Largest number of grants in one map request, as gntdev's default {@code limit}. */
    public static final int MAX_MAP_REFS = 65536;

    public static final int OP_HELLO = 1;
    /** Reply: port, then the channel and side whose FIFOs the port waits on and notifies through. */
    public static final int OP_EVTCHN_BIND_UNBOUND = 2;
    /** Reply: as {@link #OP_EVTCHN_BIND_UNBOUND}. */
    public static final int OP_EVTCHN_BIND_INTERDOMAIN = 3;
    public static final int OP_EVTCHN_UNBIND = 5;
    public static final int OP_GNTTAB_MAP = 7;
    public static final int OP_GNTTAB_UNMAP = 8;
    /**
     * Request {domid, flags (bit 0 writable), count}: the domain's allocator grants {@code count} adjacent zeroed
     * pages of its memory to {@code domid}. Reply: result = the first page's frame, then {@code refs[count]}.
     */
    public static final int OP_GNTALLOC_SHARE = 9;
    /** Request {first frame}: ends the grants of one share of this handle and frees its pages (deferred if mapped). */
    public static final int OP_GNTALLOC_UNSHARE = 10;
    /**
     * Request {}: the guest acknowledged {@code control/shutdown} = {@value #SHUTDOWN_SUSPEND} and suspends, as
     * {@code SCHEDOP_shutdown(SHUTDOWN_suspend)}. The reply comes when the toolstack resumes the domain: result
     * {@link #SUSPEND_CANCELLED} when it runs on where it was, {@link #SUSPEND_MOVED} when it runs on another host,
     * then the UTF-8 path of its domain directory there.
     */
    public static final int OP_SCHED_SUSPEND = 11;
    /**
     * Request {first frame, count, refs[count]}: after a move, takes one share the process held before it (the same
     * adjacent frames and refs, as the grant table was copied) into this handle. Result 0.
     */
    public static final int OP_GNTALLOC_RECLAIM = 12;
    /** {@link #OP_SCHED_SUSPEND}'s result when the domain was resumed where it was suspended. */
    public static final int SUSPEND_CANCELLED = 1;
    /** {@link #OP_SCHED_SUSPEND}'s result when the domain was resumed on another host. */
    public static final int SUSPEND_MOVED = 0;
    /** What the toolstack writes into {@code control/shutdown} to suspend a guest. */
    public static final String SHUTDOWN_SUSPEND = "suspend";

    /** {@code GTF_permit_access}: entry type bits 0-1. */
    public static final int GTF_PERMIT_ACCESS = 1;
    public static final int GTF_TYPE_MASK = 3;
    public static final int GTF_READONLY = 0x4;
    public static final int GTF_READING = 0x8;
    public static final int GTF_WRITING = 0x10;
    /** Bytes of one v1 grant entry: flags u16 @0, domid u16 @2, frame u32 @4. */
    public static final int GRANT_ENTRY_LENGTH = 8;
    /** Refs 0..7 are reserved (console, xenstore); guests grant from 8 up. */
    public static final int GNTTAB_NR_RESERVED_ENTRIES = 8;
    /** Grant entries per 4096-byte grant frame. */
    public static final int GRANT_ENTRIES_PER_FRAME = 512;

    private SimAbi() {
    }
}
