package io.vmrdma.api.guest;

/**
 * Constants of the vmrdma guest ABI, version 2 (docs/guest-abi.md is normative): XenStore keys, ring sizes,
 * opcodes and the byte offset of every field in the 112-byte ring entries. All integers are little-endian.
 */
public final class GuestAbi {

    /**
     * Protocol version both ends write under {@link #KEY_PROTOCOL_VERSION}. Version 2: any number of devices per
     * domain, each its own verbs context (one per process); a device's close frees only what it made.
     */
    public static final int PROTOCOL_VERSION = 2;
    /** XenStore device type: {@code /local/domain/<domid>/device/vmrdma/<devid>}. */
    public static final String DEVICE_TYPE = "vmrdma";

    public static final String KEY_STATE = "state";
    public static final String KEY_BACKEND = "backend";
    public static final String KEY_BACKEND_ID = "backend-id";
    public static final String KEY_FRONTEND = "frontend";
    public static final String KEY_FRONTEND_ID = "frontend-id";
    public static final String KEY_ONLINE = "online";
    public static final String KEY_PROTOCOL_VERSION = "protocol-version";
    public static final String KEY_FEATURES = "features";
    /** The engine's node id, so the guest can name its queue pairs ({@code QpAddress}) for out-of-band exchange. */
    public static final String KEY_NODE_ID = "node-id";
    public static final String KEY_MAX_RING_PAGE_ORDER = "max-ring-page-order";
    public static final String KEY_RING_PAGE_ORDER = "ring-page-order";
    /** Prefix of the command ring's refs: {@code ring-ref0 .. ring-ref<2^order - 1>}. */
    public static final String KEY_RING_REF = "ring-ref";
    /** Prefix of the event ring's refs: {@code event-ring-ref0 ..}. */
    public static final String KEY_EVENT_RING_REF = "event-ring-ref";
    public static final String KEY_EVENT_CHANNEL = "event-channel";
    /** The backend's reason for closing, for people. */
    public static final String KEY_ERROR = "error";
    /** Frontend key: the guest process using the device (decimal pid), for operators; optional. */
    public static final String KEY_PROCESS = "process";
    /** Largest process id a frontend may name (Linux's {@code pid_max} limit); other values are ignored. */
    public static final long MAX_PROCESS_ID = 4_194_304;
    /** Device numbers are 0..MAX_DEVICE_NUMBER; a frontend directory named otherwise is ignored and counted. */
    public static final int MAX_DEVICE_NUMBER = 255;
    /** The features this backend offers, space separated. */
    public static final String FEATURES = "indirect-mr cm";
    /** Largest ring page order the backend accepts. */
    public static final int MAX_RING_PAGE_ORDER = 4;

    /** Bytes of every entry of both rings: requests, responses and events. */
    public static final int ENTRY_LENGTH = 112;
    /** Scatter/gather entries a post carries. */
    public static final int MAX_SGE = 4;
    /** Grant refs in a registration entry: page refs when direct, indirect-page refs when indirect. */
    public static final int MR_REFS_INLINE = 16;
    /** Refs in one indirect page. */
    public static final int REFS_PER_INDIRECT_PAGE = 1024;
    /** Most bytes of private data (connect, accept) and of a reject reason. */
    public static final int MAX_PRIVATE_DATA = 56;
    /** Most bytes of a CM event's reason. */
    public static final int MAX_EVENT_REASON = 20;

    // Request opcodes (u8 at 0).
    public static final int OP_ALLOC_PD = 1;
    public static final int OP_DEALLOC_PD = 2;
    public static final int OP_CREATE_CQ = 3;
    public static final int OP_DESTROY_CQ = 4;
    public static final int OP_CREATE_QP = 5;
    public static final int OP_MODIFY_QP = 6;
    public static final int OP_DESTROY_QP = 7;
    public static final int OP_REG_MR = 8;
    public static final int OP_DEREG_MR = 9;
    public static final int OP_POST_SEND = 10;
    public static final int OP_POST_RECV = 11;
    public static final int OP_LISTEN = 12;
    public static final int OP_STOP_LISTEN = 13;
    public static final int OP_CONNECT = 14;
    public static final int OP_ACCEPT = 15;
    public static final int OP_REJECT = 16;
    public static final int OP_DISCONNECT = 17;
    public static final int OP_MAX = 17;

    // Request header.
    public static final int REQ_OP = 0;
    public static final int REQ_FLAGS = 1;
    public static final int REQ_ID = 4;
    /** First argument word; the meaning of each argument is per opcode. */
    public static final int REQ_ARG0 = 8;
    public static final int REQ_ARG1 = 12;
    public static final int REQ_ARG2 = 16;
    public static final int REQ_ARG3 = 20;
    public static final int REQ_ARG4 = 24;
    public static final int REQ_ARG5 = 28;
    public static final int REQ_ARG6 = 32;

    /** CREATE_QP flag: every send request completes signaled. */
    public static final int FLAG_SIGNAL_ALL = 1;
    /** MODIFY_QP flag: the remote queue pair at 28..35 is set. */
    public static final int FLAG_REMOTE = 1;
    /** REG_MR flag: the refs are of indirect pages. */
    public static final int FLAG_INDIRECT = 1;

    // MODIFY_QP.
    public static final int MODIFY_REMOTE_NODE = 28;
    public static final int MODIFY_REMOTE_DOMID = 30;
    public static final int MODIFY_REMOTE_QPN = 32;

    // REG_MR.
    public static final int MR_PD = 8;
    public static final int MR_ACCESS = 12;
    public static final int MR_ADDRESS = 16;
    public static final int MR_PAGE_OFFSET = 24;
    public static final int MR_LENGTH = 32;
    public static final int MR_PAGES = 40;
    public static final int MR_REFS = 48;

    // POST_SEND / POST_RECV.
    public static final int POST_QPN = 8;
    public static final int POST_OPCODE = 12;
    public static final int POST_SEND_FLAGS = 13;
    public static final int POST_NUM_SGE = 14;
    public static final int POST_WR_ID = 16;
    public static final int POST_REMOTE_ADDRESS = 24;
    public static final int POST_RKEY = 32;
    public static final int POST_IMM = 36;
    public static final int POST_SGE = 48;
    /** Bytes of one scatter/gather entry: u64 address, u32 length, u32 lkey. */
    public static final int SGE_LENGTH = 16;

    // Connection manager.
    public static final int CM_QPN = 8;
    public static final int CM_NODE = 12;
    public static final int CM_ID = 16;
    public static final int CM_PKEY = 24;
    public static final int CM_DATA_LENGTH = 28;
    public static final int CM_DATA = 32;

    // Responses.
    public static final int RSP_OP = 0;
    public static final int RSP_ID = 4;
    /** i32: 0, or minus an errno. */
    public static final int RSP_STATUS = 8;
    public static final int RSP_RESULT0 = 16;
    public static final int RSP_RESULT1 = 20;
    public static final int RSP_RESULT64 = 24;

    // Events.
    public static final int EVT_TYPE = 0;
    public static final int EVT_WC = 1;
    public static final int EVT_CM = 2;
    public static final int WC_CQ = 4;
    public static final int WC_WR_ID = 8;
    public static final int WC_STATUS = 16;
    public static final int WC_WITH_IMM = 17;
    public static final int WC_OPCODE = 18;
    public static final int WC_BYTE_LENGTH = 20;
    public static final int WC_QPN = 24;
    public static final int WC_IMM = 28;
    public static final int CME_TYPE = 1;
    public static final int CME_DATA_LENGTH = 2;
    public static final int CME_REASON_LENGTH = 3;
    public static final int CME_LOCAL_QPN = 4;
    public static final int CME_CONNECTION = 8;
    public static final int CME_SERVICE = 16;
    public static final int CME_REMOTE_NODE = 24;
    public static final int CME_REMOTE_DOMID = 26;
    public static final int CME_REMOTE_QPN = 28;
    public static final int CME_PKEY = 32;
    public static final int CME_REMOTE_VALID = 34;
    public static final int CME_REASON = 36;
    public static final int CME_DATA = 56;

    private GuestAbi() {
    }

    /**
     * {@code /local/domain/<domid>/device/vmrdma}: made by dom0's backend and owned by the guest, which creates its
     * devices in it (the toolstack's {@code device/} is read-only for the guest).
     */
    public static String devicesPath(int domid) {
        return "/local/domain/" + domid + "/device/" + DEVICE_TYPE;
    }

    /** {@code /local/domain/<domid>/device/vmrdma/<devid>}: the frontend directory of one device. */
    public static String frontendPath(int domid, int devid) {
        return devicesPath(domid) + "/" + devid;
    }

    /** {@code /local/domain/0/backend/vmrdma/<domid>/<devid>}. */
    public static String backendPath(int domid, int devid) {
        return "/local/domain/0/backend/" + DEVICE_TYPE + "/" + domid + "/" + devid;
    }
}
