/*
 * The vmrdma libfabric provider (libvmrdma-fi.so): FI_EP_MSG endpoints over libvmrdma's reliable-connected queue
 * pairs, written against libfabric's public headers only. docs/mpi.md says how it is used, docs/native.md how it
 * is built; this header is the provider's internal map.
 *
 * One process is one guest: the provider opens the guest's vmrdma device once, when the first fabric opens, and
 * every libfabric object of the process shares that context behind one lock (libvmrdma contexts are driven by one
 * thread at a time). Applications hand the provider ordinary memory; it moves bytes through bounce buffers it
 * allocates from granted pages and keeps registered (mr_mode FI_MR_PROV_KEY, nothing else).
 */
#ifndef VFI_H
#define VFI_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include <rdma/fabric.h>
#include <rdma/fi_atomic.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>
#include <rdma/providers/fi_log.h>
#include <rdma/providers/fi_prov.h>

#include "vmrdma.h"

#define VFI_HIDDEN __attribute__((visibility("hidden")))

#define VFI_NAME "vmrdma"
#define VFI_PROV_VERSION FI_VERSION(1, 0)
#define VFI_CAPS                                                                                                     \
	(FI_MSG | FI_RMA | FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE | FI_LOCAL_COMM \
	 | FI_REMOTE_COMM)
/* Connection data: the first 8 bytes carry the sender's region base (below), the rest is the application's. */
#define VFI_CM_HEADER 8
#define VFI_CM_DATA_MAX (VMRDMA_MAX_PRIVATE_DATA - VFI_CM_HEADER)
/* A reject's data travels as "fi:" and hex in the reason, which the engine cuts to 20 bytes. */
#define VFI_REJECT_PREFIX "fi:"
#define VFI_REJECT_DATA_MAX ((VMRDMA_MAX_EVENT_REASON - 3) / 2)
#define VFI_IOV_LIMIT 4
#define VFI_QUEUE_DEFAULT 64
#define VFI_QUEUE_MAX 1024
#define VFI_INJECT_SIZE 4096
/* One bounce buffer is one libvmrdma buffer: at most a region's 64 MiB. */
#define VFI_MAX_MSG_SIZE ((size_t)VMRDMA_MAX_REGION_PAGES * VMRDMA_PAGE_SIZE)
#define VFI_CQ_DEFAULT 1024
#define VFI_CQ_MAX 65536

extern VFI_HIDDEN struct fi_provider vfi_prov;

/*
 * Addresses are struct sockaddr_in6 (FI_SOCKADDR_IN6), the format ofi_rxm's address vector and connection
 * matching understand: the ULA prefix fd76:6d72:646d:6100::/56 ("vmrdma"), then the engine's node id and the
 * guest's domid, and the port naming one passive endpoint of that guest. A port maps to a connection-manager
 * service id unique on the node (vfi_service).
 */
VFI_HIDDEN void vfi_addr_make(uint16_t node, uint16_t domid, uint16_t port, struct sockaddr_in6 *sa);
/* 0 and the parts, or -FI_EINVAL when addr is not a vmrdma address. */
VFI_HIDDEN int vfi_addr_parse(const void *addr, size_t len, uint16_t *node, uint16_t *domid, uint16_t *port);
VFI_HIDDEN uint64_t vfi_service(uint16_t domid, uint16_t port);
/*
 * A reject's data as the reason vmrdma carries: "fi:" and two lowercase hex digits a byte (at most
 * VFI_REJECT_DATA_MAX bytes; more are cut). Returns the bytes encoded.
 */
VFI_HIDDEN size_t vfi_reject_encode(const void *data, size_t len, char reason[VMRDMA_MAX_EVENT_REASON + 1]);
/*
 * The data of a reason vfi_reject_encode made (NUL-terminated within VMRDMA_MAX_EVENT_REASON + 1 bytes, as in a
 * connection event); 0 bytes for any other text (the engine's own reasons).
 */
VFI_HIDDEN size_t vfi_reject_decode(const char *reason, uint8_t data[VFI_REJECT_DATA_MAX]);

/* ---- the device: one vmrdma context per process ---- */

/* A registered buffer of granted pages, kept for reuse by size class. */
struct vfi_bounce {
	struct vmrdma_buf *buf;
	struct vmrdma_mr *mr;
	uint32_t pages;
	int remote; /* registered for remote read and write (a region's shadow), else local write only */
	struct vfi_bounce *next;
};

#define VFI_POOL_CLASSES 26

/* What moved, and untrusted input the provider dropped or refused: counted, logged when the device closes. */
struct vfi_counters {
	uint64_t transfers;	    /* operations completed successfully */
	uint64_t bytes;		    /* their payload */
	uint64_t copied;	    /* bytes copied between the application's memory and bounce buffers */
	uint64_t copy_ns;	    /* time those copies took: the cost of bouncing */
	uint64_t stray_completions; /* completions naming no live operation: flushes of closed endpoints, or bogus */
	uint64_t bad_cm_data;	    /* connection events whose private data lacks the provider's header */
	uint64_t unknown_requests;  /* connection requests for no listening endpoint (rejected) */
	uint64_t refused_posts;	    /* posts the engine refused after they were queued */
	uint64_t grant_limit_hits;  /* bounce buffers that found the guest's grant limit reached */
};

struct vfi_ep;
struct vfi_pep;

struct vfi_device {
	pthread_mutex_t lock;
	int users;
	struct vmrdma_context *ctx;
	struct vmrdma_pd *pd;
	uint64_t region_base; /* iova of the first buffer: region keys count pages from it */
	uint16_t node, domid;
	uint16_t next_port;
	uint32_t next_ep_id;
	struct vfi_bounce *pool[2][VFI_POOL_CLASSES];
	size_t cached_pages;
	struct vfi_pep *listeners;
	struct vfi_ep *eps;
	struct vfi_counters counters;
};

extern VFI_HIDDEN struct vfi_device vfi_dev;

VFI_HIDDEN void vfi_lock(void);
VFI_HIDDEN void vfi_unlock(void);
/* Opens the device for a fabric (the first one opens the guest's vmrdma device); 0 or -FI_E*. */
VFI_HIDDEN int vfi_device_get(void);
VFI_HIDDEN void vfi_device_put(void);
/* A registered bounce buffer of at least len bytes (len 0: one page); 0 or a negative errno. Lock held. */
VFI_HIDDEN int vfi_bounce_get(size_t len, int remote, struct vfi_bounce **out);
VFI_HIDDEN void vfi_bounce_put(struct vfi_bounce *b);
/* Delivers waiting connection events to their event queues. Lock held. */
VFI_HIDDEN void vfi_cm_progress(void);
/* Maps a negative errno of libvmrdma to libfabric's (the same numbers for the errors it returns). */
VFI_HIDDEN int vfi_err(int rc);

/* Copies between an iovec list and a flat buffer, counting bytes and time; returns the bytes copied (at most len). */
VFI_HIDDEN size_t vfi_copy_from_iov(void *dst, size_t len, const struct iovec *iov, size_t count);
VFI_HIDDEN size_t vfi_copy_to_iov(const struct iovec *iov, size_t count, const void *src, size_t len);
VFI_HIDDEN size_t vfi_iov_length(const struct iovec *iov, size_t count);
/* Little-endian u64 of connection data (the header: the sender's region base). */
VFI_HIDDEN void vfi_put_u64(uint8_t *p, uint64_t v);
VFI_HIDDEN uint64_t vfi_get_u64(const uint8_t *p);
VFI_HIDDEN int64_t vfi_now_ms(void);
/*
 * Between the tries of a blocking read (fi_cq_sread, fi_eq_sread), which polls without holding the lock so other
 * threads keep the device going: yields the core first (dom0's data agent may need it), then sleeps 20 µs a try.
 */
VFI_HIDDEN void vfi_pause(unsigned turn);
/* Gives an address to fi_getname / fi_getpeer: -FI_ETOOSMALL (and the size needed) when it does not fit. */
VFI_HIDDEN int vfi_copy_name(const struct sockaddr_in6 *sa, void *addr, size_t *addrlen);
/* fi_getopt of both kinds of endpoint: the connection data an application may send (FI_OPT_CM_DATA_SIZE). */
VFI_HIDDEN int vfi_getopt(fid_t fid, int level, int optname, void *optval, size_t *optlen);

/* ---- fabric, domain, event queue ---- */

struct vfi_fabric {
	struct fid_fabric fabric;
};

struct vfi_domain {
	struct fid_domain domain;
};

struct vfi_eq_entry {
	struct vfi_eq_entry *next;
	uint32_t event;
	int is_error;
	size_t len; /* bytes of u */
	struct fi_eq_err_entry err;
	uint8_t err_data[VFI_REJECT_DATA_MAX];
	union {
		struct fi_eq_entry entry; /* fid first, as in fi_eq_cm_entry */
		uint8_t bytes[sizeof(struct fi_eq_cm_entry) + VFI_CM_DATA_MAX];
	} u;
};

/* The entry as a connection event: fi_eq_cm_entry ends in a flexible array, so it cannot be a union member. */
static inline struct fi_eq_cm_entry *vfi_cm_entry(struct vfi_eq_entry *e)
{
	return (struct fi_eq_cm_entry *)(void *)e->u.bytes;
}

struct vfi_eq {
	struct fid_eq eq;
	struct vfi_eq_entry *head, *tail;
	struct vfi_eq_entry *last_error; /* its err_data stays valid until the next readerr */
};

VFI_HIDDEN int vfi_eq_open(struct fid_fabric *fabric, struct fi_eq_attr *attr, struct fid_eq **eq, void *context);
VFI_HIDDEN void vfi_eq_push(struct vfi_eq *eq, struct vfi_eq_entry *entry);
/* Frees every entry naming fid (an endpoint being closed). */
VFI_HIDDEN void vfi_eq_forget(struct vfi_eq *eq, const struct fid *fid);

/* A connection request handed to the application in an fi_info (its handle), until accepted or rejected. */
struct vfi_connreq {
	struct fid fid;
	uint64_t connection_id;
	uint64_t peer_base;
	uint16_t peer_node, peer_domid;
};

struct vfi_pep {
	struct fid_pep pep;
	struct fi_info *info;
	struct vfi_eq *eq;
	uint16_t port;
	int listening;
	struct vfi_pep *next;
};

VFI_HIDDEN int vfi_passive_ep(struct fid_fabric *fabric, struct fi_info *info, struct fid_pep **pep, void *context);
VFI_HIDDEN struct vfi_pep *vfi_listener(uint64_t service);

/* ---- completion queue ---- */

struct vfi_cq_error {
	struct vfi_cq_error *next;
	struct fi_cq_err_entry entry;
};

struct vfi_cq {
	struct fid_cq cq;
	struct vmrdma_cq *vcq;
	enum fi_cq_format format;
	struct vfi_cq_error *errors, *errors_tail, *last_error;
	unsigned empty_reads;
};

VFI_HIDDEN int vfi_cq_open(struct fid_domain *domain, struct fi_cq_attr *attr, struct fid_cq **cq, void *context);
/* Queues a failed operation's entry for fi_cq_readerr. */
VFI_HIDDEN void vfi_cq_push_error(struct vfi_cq *cq, const struct fi_cq_err_entry *entry);

/* ---- endpoint ---- */

enum vfi_op_kind { VFI_OP_SEND = 1, VFI_OP_RECV, VFI_OP_WRITE, VFI_OP_READ };

/* One outstanding operation; its index and the endpoint's id make the work request id. */
struct vfi_op {
	uint8_t kind;
	uint8_t in_use;
	uint8_t posted;
	uint8_t report; /* write a completion for it */
	void *context;
	uint64_t flags;
	uint64_t data;
	struct vfi_bounce *bounce;
	struct iovec iov[VFI_IOV_LIMIT];
	size_t count;
	size_t len;
	int32_t next_free;
};

enum vfi_ep_state { VFI_EP_IDLE, VFI_EP_CONNECTING, VFI_EP_ACCEPTING, VFI_EP_CONNECTED, VFI_EP_SHUTDOWN };

struct vfi_ep {
	struct fid_ep ep;
	struct vfi_cq *tx_cq, *rx_cq;
	int tx_selective, rx_selective;
	struct vfi_eq *eq;
	uint64_t tx_op_flags, rx_op_flags;
	int rx_cq_data; /* the application took mode FI_RX_CQ_DATA: writes with data consume a receive */
	struct vmrdma_qp *qp;
	uint32_t id;
	enum vfi_ep_state state;
	struct vfi_connreq *connreq;
	uint64_t peer_base;
	uint16_t peer_node, peer_domid, peer_port;
	struct vfi_op *ops;
	uint32_t tx_size, rx_size, tx_busy, rx_busy;
	int32_t free_tx, free_rx;
	struct vfi_ep *next;
};

VFI_HIDDEN int vfi_endpoint(struct fid_domain *domain, struct fi_info *info, struct fid_ep **ep, void *context);
VFI_HIDDEN struct vfi_ep *vfi_ep_by_qpn(uint32_t qpn);
VFI_HIDDEN struct vfi_ep *vfi_ep_by_id(uint32_t id);
/* Connection events for an endpoint (lock held). */
VFI_HIDDEN void vfi_ep_established(struct vfi_ep *ep, const struct vmrdma_cm_event *ev);
VFI_HIDDEN void vfi_ep_failed(struct vfi_ep *ep, const struct vmrdma_cm_event *ev);
VFI_HIDDEN void vfi_ep_disconnected(struct vfi_ep *ep);

/* Data transfer (xfer.c). */
extern VFI_HIDDEN struct fi_ops_msg vfi_msg_ops;
extern VFI_HIDDEN struct fi_ops_rma vfi_rma_ops;
extern VFI_HIDDEN struct fi_ops_tagged vfi_tagged_ops;
extern VFI_HIDDEN struct fi_ops_atomic vfi_atomic_ops;
/* Posts the receives queued before the connection was up. */
VFI_HIDDEN void vfi_post_queued_receives(struct vfi_ep *ep);
/* Turns one work completion into at most one libfabric completion; 1 when one was written to entry. */
VFI_HIDDEN int vfi_complete(struct vfi_cq *cq, const struct vmrdma_wc *wc, void *entry, fi_addr_t *src);
/* Frees an endpoint's operations and their bounce buffers (after its queue pair is gone). */
VFI_HIDDEN void vfi_ops_release(struct vfi_ep *ep);

/* ---- memory regions ---- */

struct vfi_mr {
	struct fid_mr mr;
	struct vfi_bounce *shadow;
	struct iovec iov[VFI_IOV_LIMIT];
	size_t count;
	size_t len;
	uint64_t access;
};

extern VFI_HIDDEN struct fi_ops_mr vfi_mr_ops;
/* A region's key: the vmrdma rkey in the high half, its first page counted from the region base in the low. */
VFI_HIDDEN uint64_t vfi_key(uint32_t rkey, uint32_t page);
/* The remote address and rkey of a region key and offset, given the peer's region base; -FI_EINVAL if bad. */
VFI_HIDDEN int vfi_remote(uint64_t peer_base, uint64_t key, uint64_t offset, size_t len, uint64_t *iova,
			  uint32_t *rkey);

/* ---- -FI_ENOSYS answers for what the provider does not do ---- */
VFI_HIDDEN int vfi_no_bind(struct fid *fid, struct fid *bfid, uint64_t flags);
VFI_HIDDEN int vfi_no_control(struct fid *fid, int command, void *arg);
VFI_HIDDEN int vfi_no_ops_open(struct fid *fid, const char *name, uint64_t flags, void **ops, void *context);

#endif
