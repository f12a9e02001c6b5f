/*
 * vmrdma.h - the user-level RDMA API of vmrdma for applications in Xen guest domains.
 *
 * The verbs vocabulary of libibverbs: protection domains, memory regions, queue pairs, completion queues,
 * work requests and work completions, plus an rdma_cm-like connection manager. Status and opcode numbers equal
 * libibverbs' so logs read the same, and equal the Java API's (io.vmrdma.api.verbs). The library is the
 * frontend of the vmrdma device (docs/guest-abi.md); every verb is a request on the shared command ring to the
 * RDMA engine in dom0, completions and connection events come back on the event ring.
 *
 * CONVENTIONS
 *   Every function that can fail returns 0 (or a count) on success and a NEGATIVE errno on failure (-EINVAL for
 *   bad arguments, -ENOTCONN when dom0's backend closed the device, -ETIMEDOUT, and the engine's refusals:
 *   -EPERM, -EDQUOT, -EBUSY, ...). vmrdma_last_error() then describes the failure in words (per thread).
 *   Functions never crash on bad arguments: NULL pointers and out-of-range values give -EINVAL.
 *
 * THREADS
 *   A context and everything made from it is driven by one thread at a time (as the Java GuestDevice). Use one
 *   context per thread, or serialise calls yourself. Separate contexts of separate processes are independent.
 *
 * MEMORY: ALLOCATE, THEN REGISTER
 *   RDMA buffers come from the library (vmrdma_alloc_buf), never from malloc: on Xen a guest can only grant
 *   pages it shared through gntalloc. Register them with vmrdma_reg_mr; work requests name bytes by the
 *   buffer's address (buf->iova) plus an offset.
 *
 * BACK ENDS
 *   The simulator (xen.sim, docs/sim-abi.md): chosen when $VMRDMA_SIM_DOMAIN is set. A real Xen domU:
 *   libxengnttab (gntshr), libxenevtchn (loaded at run time) and libxenstore. See docs/native.md.
 */
#ifndef VMRDMA_H
#define VMRDMA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMRDMA_EXPORT __attribute__((visibility("default")))

/* Version of the wire and guest protocols this library speaks. */
#define VMRDMA_PROTOCOL_VERSION 2
/* Scatter/gather entries per work request. */
#define VMRDMA_MAX_SGE 4
/* Bytes of private data in connect / accept, and of a reject reason. */
#define VMRDMA_MAX_PRIVATE_DATA 56
/* Bytes of the reason a connection event carries (longer reasons are cut by the engine). */
#define VMRDMA_MAX_EVENT_REASON 20
/* Largest region: 16 indirect pages of 1024 page refs (64 MiB). */
#define VMRDMA_MAX_REGION_PAGES 16384
#define VMRDMA_PAGE_SIZE 4096

/* Work-completion status codes (libibverbs numbering). */
enum vmrdma_wc_status {
	VMRDMA_WC_SUCCESS = 0,
	VMRDMA_WC_LOC_LEN_ERR = 1,
	VMRDMA_WC_LOC_QP_OP_ERR = 2,
	VMRDMA_WC_LOC_PROT_ERR = 4,
	VMRDMA_WC_WR_FLUSH_ERR = 5,
	VMRDMA_WC_BAD_RESP_ERR = 7,
	VMRDMA_WC_LOC_ACCESS_ERR = 8,
	VMRDMA_WC_REM_INV_REQ_ERR = 9,
	VMRDMA_WC_REM_ACCESS_ERR = 10,
	VMRDMA_WC_REM_OP_ERR = 11,
	VMRDMA_WC_RETRY_EXC_ERR = 12,
	VMRDMA_WC_RNR_RETRY_EXC_ERR = 13,
	VMRDMA_WC_FATAL_ERR = 19,
	VMRDMA_WC_GENERAL_ERR = 21
};

/* Work-completion opcodes (ibv_wc_opcode). */
enum vmrdma_wc_opcode {
	VMRDMA_WC_SEND = 0,
	VMRDMA_WC_RDMA_WRITE = 1,
	VMRDMA_WC_RDMA_READ = 2,
	VMRDMA_WC_RECV = 128,
	VMRDMA_WC_RECV_RDMA_WITH_IMM = 129
};

/* wc_flags bits. */
enum { VMRDMA_WC_WITH_IMM = 1 };

/* Send work-request opcodes (ibv_wr_opcode numbering for these five). */
enum vmrdma_wr_opcode {
	VMRDMA_WR_RDMA_WRITE = 0,
	VMRDMA_WR_RDMA_WRITE_WITH_IMM = 1,
	VMRDMA_WR_SEND = 2,
	VMRDMA_WR_SEND_WITH_IMM = 3,
	VMRDMA_WR_RDMA_READ = 4
};

/* send_flags bits. */
enum { VMRDMA_SEND_FENCE = 1, VMRDMA_SEND_SIGNALED = 2, VMRDMA_SEND_SOLICITED = 4 };

/* Memory-region access bits (libibverbs'). Local read is always allowed. */
enum { VMRDMA_ACCESS_LOCAL_WRITE = 1, VMRDMA_ACCESS_REMOTE_WRITE = 2, VMRDMA_ACCESS_REMOTE_READ = 4 };

/* Queue-pair states (libibverbs numbering). */
enum vmrdma_qp_state {
	VMRDMA_QPS_RESET = 0,
	VMRDMA_QPS_INIT = 1,
	VMRDMA_QPS_RTR = 2,
	VMRDMA_QPS_RTS = 3,
	VMRDMA_QPS_SQD = 4,
	VMRDMA_QPS_SQE = 5,
	VMRDMA_QPS_ERR = 6
};

/* Connection-manager event types. */
enum vmrdma_cm_event_type {
	VMRDMA_CM_CONNECT_REQUEST = 0,
	VMRDMA_CM_ESTABLISHED = 1,
	VMRDMA_CM_REJECTED = 2,
	VMRDMA_CM_UNREACHABLE = 3,
	VMRDMA_CM_DISCONNECTED = 4
};

enum vmrdma_backend {
	VMRDMA_BACKEND_AUTO = 0, /* the simulator when $VMRDMA_SIM_DOMAIN is set (or sim_domain given), else Xen */
	VMRDMA_BACKEND_SIM = 1,
	VMRDMA_BACKEND_XEN = 2
};

/* ---- objects (fields are read-only for applications) ---- */

struct vmrdma_context;

struct vmrdma_pd {
	struct vmrdma_context *context;
	uint32_t handle;
};

struct vmrdma_cq {
	struct vmrdma_context *context;
	uint32_t handle;
	uint32_t depth;
};

struct vmrdma_qp {
	struct vmrdma_context *context;
	uint32_t qp_num; /* 24 bits */
	uint16_t node;	 /* with domid and qp_num: the queue pair's cluster-wide address */
	uint16_t domid;
	struct vmrdma_cq *send_cq;
	struct vmrdma_cq *recv_cq;
};

/* Memory the guest shares with dom0: whole pages, zeroed. */
struct vmrdma_buf {
	struct vmrdma_context *context;
	void *addr;    /* the application's view of the bytes */
	size_t length; /* as asked for */
	size_t pages;  /* whole pages behind it */
	uint64_t iova; /* the address of byte 0 in work requests and in the region */
};

struct vmrdma_mr {
	struct vmrdma_pd *pd;
	struct vmrdma_buf *buf;
	uint64_t addr; /* = buf->iova */
	uint64_t length;
	uint32_t lkey;
	uint32_t rkey;
	int access;
};

struct vmrdma_sge {
	uint64_t addr;	 /* region address + offset */
	uint32_t length; /* < 2^31 */
	uint32_t lkey;
};

struct vmrdma_send_wr {
	uint64_t wr_id;
	enum vmrdma_wr_opcode opcode;
	unsigned send_flags; /* VMRDMA_SEND_* */
	int num_sge;	     /* 0..VMRDMA_MAX_SGE */
	const struct vmrdma_sge *sg_list;
	uint64_t remote_addr; /* RDMA WRITE / READ */
	uint32_t rkey;
	uint32_t imm_data; /* *_WITH_IMM, host order */
};

struct vmrdma_recv_wr {
	uint64_t wr_id;
	int num_sge;
	const struct vmrdma_sge *sg_list;
};

struct vmrdma_wc {
	uint64_t wr_id;
	enum vmrdma_wc_status status;
	enum vmrdma_wc_opcode opcode;
	uint32_t byte_len;
	uint32_t qp_num;
	uint32_t imm_data;
	unsigned wc_flags; /* VMRDMA_WC_WITH_IMM */
};

struct vmrdma_qp_init_attr {
	struct vmrdma_cq *send_cq;
	struct vmrdma_cq *recv_cq;
	uint32_t max_send_wr;
	uint32_t max_recv_wr;
	uint32_t max_sge; /* 1..VMRDMA_MAX_SGE */
	int sq_sig_all;	  /* every send completes signaled */
};

/* Fields left at -1 are not changed (vmrdma_qp_attr_init sets them so). */
struct vmrdma_qp_attr {
	int state;	  /* enum vmrdma_qp_state or -1 */
	int pkey;	  /* partition key or -1 */
	int retry_cnt;	  /* or -1 */
	int rnr_retry;	  /* or -1; 7 = infinite */
	int remote_valid; /* set the remote queue pair below */
	uint16_t remote_node;
	uint16_t remote_domid;
	uint32_t remote_qpn;
};

struct vmrdma_cm_event {
	enum vmrdma_cm_event_type event;
	uint64_t connection_id; /* pass to vmrdma_accept / vmrdma_reject */
	uint64_t service_id;
	int32_t local_qpn; /* -1 for CONNECT_REQUEST */
	int remote_valid;
	uint16_t remote_node;
	uint16_t remote_domid;
	uint32_t remote_qpn;
	uint16_t pkey;
	char reason[VMRDMA_MAX_EVENT_REASON + 1]; /* NUL-terminated UTF-8 */
	uint8_t private_data_len;
	uint8_t private_data[VMRDMA_MAX_PRIVATE_DATA];
};

/* Open the lowest device number no other process of this VM uses: each process gets its own device. */
#define VMRDMA_DEVID_ANY (-1)
#define VMRDMA_MAX_DEVID 255

struct vmrdma_open_attr {
	enum vmrdma_backend backend;
	int devid;		   /* VMRDMA_DEVID_ANY (default): the lowest free device number; or 0..255 */
	int ring_page_order;	   /* 0..4; 2 (128 entries per ring) by default */
	int polling;		   /* 1: waits spin; 0 (default): they block on the event channel */
	int straight_to_connected; /* skip Initialised, as netfront does */
	int timeout_ms;		   /* handshake and control-verb timeout; 30000 */
	const char *sim_domain;	   /* the simulator's domain directory; NULL: $VMRDMA_SIM_DOMAIN */
};

/* ---- library ---- */

/*
 * vmrdma_wc_status_str - describe a work-completion status
 *
 * Returns a static string, as ibv_wc_status_str does; "unknown" for a value that is not a status.
 */
VMRDMA_EXPORT const char *vmrdma_wc_status_str(enum vmrdma_wc_status status);

/* vmrdma_cm_event_str - the name of a connection-manager event type ("ESTABLISHED", ...), or "unknown". */
VMRDMA_EXPORT const char *vmrdma_cm_event_str(enum vmrdma_cm_event_type type);

/* vmrdma_version - the library version, "MAJOR.MINOR.PATCH" */
VMRDMA_EXPORT const char *vmrdma_version(void);

/*
 * vmrdma_last_error - why the last failing call of this thread failed, in words
 *
 * Never NULL; "" before any failure. Valid until the thread's next failing call.
 */
VMRDMA_EXPORT const char *vmrdma_last_error(void);

/* ---- device ---- */

/* vmrdma_open_attr_init - defaults: automatic back end, device 0, order 2, blocking, full handshake, 30 s. */
VMRDMA_EXPORT void vmrdma_open_attr_init(struct vmrdma_open_attr *attr);

/*
 * vmrdma_open - open this guest's vmrdma device and connect it to dom0's engine
 *
 * Runs the xenbus handshake of docs/guest-abi.md: waits for dom0 to offer device/vmrdma, creates the frontend
 * directory in it, shares and grants both rings,
 * binds an unbound event channel for dom0 and waits for the backend to be Connected.
 * attr may be NULL (defaults). On success *ctx is set and 0 returned.
 * Errors: -EINVAL bad attributes; -ENOENT no domain found (no $VMRDMA_SIM_DOMAIN, no /dev/xen); -EPROTO the
 * simulator speaks another ABI; -EIO protocol version or XenStore failure; -ENOTCONN the backend
 * closed the device; -ENODEV dom0 offered no device/vmrdma within timeout_ms (its vmrdma is not running);
 * -ETIMEDOUT no backend answered within timeout_ms; -ENODEV every device number of the VM is taken.
 */
VMRDMA_EXPORT int vmrdma_open(const struct vmrdma_open_attr *attr, struct vmrdma_context **ctx);

/*
 * vmrdma_close - close the device (Closing, then Closed, as a frontend does) and free the context
 *
 * dom0 closes this guest's verbs objects (queue pairs flushed, peers told DISCONNECTED) and unmaps everything.
 * Every object and buffer of the context is freed; pointers to them become invalid. Returns 0; ctx NULL: -EINVAL.
 */
VMRDMA_EXPORT int vmrdma_close(struct vmrdma_context *ctx);

/*
 * vmrdma_reattach - attach again, with fresh rings, after dom0's vmrdma restarted
 *
 * Every pd, cq, qp and mr of the old connection is gone (freed by this call); buffers stay allocated and can be
 * registered again.
 */
VMRDMA_EXPORT int vmrdma_reattach(struct vmrdma_context *ctx);

/* vmrdma_connected - 1 while dom0's backend is Connected, 0 otherwise (then calls fail with -ENOTCONN). */
VMRDMA_EXPORT int vmrdma_connected(struct vmrdma_context *ctx);

/* vmrdma_node_id, vmrdma_domid - the engine's node id and this guest's domid: with a qpn, a queue pair's address. */
VMRDMA_EXPORT int vmrdma_node_id(const struct vmrdma_context *ctx);
VMRDMA_EXPORT int vmrdma_domid(const struct vmrdma_context *ctx);

/* vmrdma_backend_name - "sim" or "xen". */
VMRDMA_EXPORT const char *vmrdma_backend_name(const struct vmrdma_context *ctx);

/* ---- memory ---- */

/*
 * vmrdma_alloc_buf - allocate length bytes (rounded up to whole pages) of zeroed memory granted to dom0
 *
 * Errors: -EINVAL length 0 or over 64 MiB; -ENOSPC gntalloc's limit reached; -ENOMEM no memory left.
 */
VMRDMA_EXPORT int vmrdma_alloc_buf(struct vmrdma_context *ctx, size_t length, struct vmrdma_buf **buf);

/*
 * vmrdma_free_buf - give the pages back. Deregister regions of the buffer first: -EBUSY while one is registered.
 */
VMRDMA_EXPORT int vmrdma_free_buf(struct vmrdma_buf *buf);

/*
 * vmrdma_reg_mr - register a whole buffer: dom0 maps its grants once and keeps them until vmrdma_dereg_mr
 *
 * access: VMRDMA_ACCESS_* bits. Regions over 16 pages go through indirect pages. On success *mr holds the lkey
 * and rkey. Errors: -EINVAL; the engine's -EPERM (refs that do not map), -EDQUOT (a per-domain limit).
 */
VMRDMA_EXPORT int vmrdma_reg_mr(struct vmrdma_pd *pd, struct vmrdma_buf *buf, int access, struct vmrdma_mr **mr);

/*
 * vmrdma_dereg_mr - deregister; the memory stays allocated
 *
 * Like every destroy call below, frees the object on success, and also on -ENOTCONN (the backend is gone and
 * with it the engine's object); on any other error the object stays valid.
 */
VMRDMA_EXPORT int vmrdma_dereg_mr(struct vmrdma_mr *mr);

/* ---- objects ---- */

/* vmrdma_alloc_pd / vmrdma_dealloc_pd - a protection domain. */
VMRDMA_EXPORT int vmrdma_alloc_pd(struct vmrdma_context *ctx, struct vmrdma_pd **pd);
VMRDMA_EXPORT int vmrdma_dealloc_pd(struct vmrdma_pd *pd);

/*
 * vmrdma_create_cq - a completion queue of depth entries (1..65536)
 *
 * An overflowing completion queue is the verbs asynchronous error: its queue pairs go to ERR.
 */
VMRDMA_EXPORT int vmrdma_create_cq(struct vmrdma_context *ctx, int depth, struct vmrdma_cq **cq);
VMRDMA_EXPORT int vmrdma_destroy_cq(struct vmrdma_cq *cq);

/*
 * vmrdma_create_qp - a reliable-connected queue pair, in RESET
 *
 * Connect it with the connection manager (vmrdma_connect / vmrdma_accept) or by hand with vmrdma_modify_qp.
 */
VMRDMA_EXPORT int vmrdma_create_qp(struct vmrdma_pd *pd, const struct vmrdma_qp_init_attr *attr, struct vmrdma_qp **qp);

/* vmrdma_qp_attr_init - every field "keep" (-1), no remote. */
VMRDMA_EXPORT void vmrdma_qp_attr_init(struct vmrdma_qp_attr *attr);

/* vmrdma_modify_qp - state transitions as verbs (RESET -> INIT -> RTR (remote set) -> RTS, any -> ERR). */
VMRDMA_EXPORT int vmrdma_modify_qp(struct vmrdma_qp *qp, const struct vmrdma_qp_attr *attr);
VMRDMA_EXPORT int vmrdma_destroy_qp(struct vmrdma_qp *qp);

/* ---- data path ---- */

/*
 * vmrdma_post_send - post one send-queue work request without waiting for the engine
 *
 * Returns 0 once the request is on the ring. The engine's refusal of a post (bad state, full queue, bad lkey
 * range ...) is returned by the next vmrdma_post_send, vmrdma_post_recv or vmrdma_poll_cq of the context as its
 * negative errno; a refused post never completes. An accepted post completes through the send CQ (always when
 * VMRDMA_SEND_SIGNALED or sq_sig_all, errors always).
 */
VMRDMA_EXPORT int vmrdma_post_send(struct vmrdma_qp *qp, const struct vmrdma_send_wr *wr);

/* vmrdma_post_recv - post one receive, as vmrdma_post_send. */
VMRDMA_EXPORT int vmrdma_post_recv(struct vmrdma_qp *qp, const struct vmrdma_recv_wr *wr);

/*
 * vmrdma_poll_cq - take up to num_entries completions, oldest first; never blocks
 *
 * Returns how many were written to wc (0 when none), or a negative errno (a refused post, -ENOTCONN, -EIO when
 * the backend broke the ring protocol).
 */
VMRDMA_EXPORT int vmrdma_poll_cq(struct vmrdma_cq *cq, int num_entries, struct vmrdma_wc *wc);

/*
 * vmrdma_wait_cq - as vmrdma_poll_cq for one completion, waiting up to timeout_ms (-1: forever)
 *
 * Blocks on the event channel, or spins when the context was opened with polling. Returns 1, 0 on timeout, or a
 * negative errno (-ENOTCONN when the backend closed the device meanwhile).
 */
VMRDMA_EXPORT int vmrdma_wait_cq(struct vmrdma_cq *cq, struct vmrdma_wc *wc, int timeout_ms);

/* ---- connection manager ---- */

/* vmrdma_listen / vmrdma_stop_listen - accept CONNECT_REQUESTs for service_id on this node. */
VMRDMA_EXPORT int vmrdma_listen(struct vmrdma_context *ctx, uint64_t service_id);
VMRDMA_EXPORT int vmrdma_stop_listen(struct vmrdma_context *ctx, uint64_t service_id);

/*
 * vmrdma_connect - connect qp (in RESET) to service_id at node
 *
 * pkey -1: the first partition both domains share. data: up to 56 bytes of private data the listener sees in its
 * CONNECT_REQUEST (NULL with len 0 for none). The answer comes as an ESTABLISHED, REJECTED or UNREACHABLE event;
 * *connection_id (may be NULL) names the attempt.
 */
VMRDMA_EXPORT int vmrdma_connect(struct vmrdma_qp *qp, uint16_t node, uint64_t service_id, int pkey, const void *data,
				 size_t len, uint64_t *connection_id);

/* vmrdma_accept - accept a CONNECT_REQUEST with qp (in RESET); data goes back to the connecting side. */
VMRDMA_EXPORT int vmrdma_accept(struct vmrdma_qp *qp, uint64_t connection_id, const void *data, size_t len);

/* vmrdma_reject - refuse a CONNECT_REQUEST; reason (UTF-8, may be NULL) is cut to 56 bytes. */
VMRDMA_EXPORT int vmrdma_reject(struct vmrdma_context *ctx, uint64_t connection_id, const char *reason);

/* vmrdma_disconnect - close qp's connection: both queue pairs go to ERR, the peer sees DISCONNECTED. */
VMRDMA_EXPORT int vmrdma_disconnect(struct vmrdma_qp *qp);

/* vmrdma_poll_cm_event - take the oldest connection event: 1, 0 when none, or a negative errno. */
VMRDMA_EXPORT int vmrdma_poll_cm_event(struct vmrdma_context *ctx, struct vmrdma_cm_event *event);

/* vmrdma_wait_cm_event - as vmrdma_poll_cm_event, waiting up to timeout_ms (-1: forever). */
VMRDMA_EXPORT int vmrdma_wait_cm_event(struct vmrdma_context *ctx, struct vmrdma_cm_event *event, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* VMRDMA_H */
