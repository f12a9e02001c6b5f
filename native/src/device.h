/*
 * The private parts of a libvmrdma device shared by its four files, named as in the Java guest library:
 * frontend.c (XenStore and the xenbus handshake: io.vmrdma.guest.XenbusFrontend), cmd_ring.c (the command and
 * event rings: CommandRing), verbs.c and cm.c (the public verbs and the connection manager: GuestDevice).
 * Everything the backend writes (ring indices, entries, XenStore values) is validated before use: a backend that
 * breaks the ring protocol makes the context fail with -EIO, never makes the library read or write outside its
 * rings.
 */
#ifndef VMRDMA_DEVICE_H
#define VMRDMA_DEVICE_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include <xenstore.h>

#include "internal.h"

enum {
	XB_UNKNOWN = 0,
	XB_INITIALISING = 1,
	XB_INITWAIT = 2,
	XB_INITIALISED = 3,
	XB_CONNECTED = 4,
	XB_CLOSING = 5,
	XB_CLOSED = 6
};

#define CHECK_BACKEND_MS 100
#define MAX_QUEUED 1048576u

struct share {
	void *addr;
	uint32_t count;
	uint32_t *refs;
};

struct vm_pd {
	struct vmrdma_pd pub;
	struct vm_pd *next;
};
struct vm_cq {
	struct vmrdma_cq pub;
	struct vm_cq *next;
	struct vmrdma_wc *q;
	size_t head, n, cap;
};
struct vm_qp {
	struct vmrdma_qp pub;
	struct vm_qp *next;
};
struct vm_buf {
	struct vmrdma_buf pub;
	struct vm_buf *next;
	struct share sh;
	int mrs;
};
struct vm_mr {
	struct vmrdma_mr pub;
	struct vm_mr *next;
};

struct vmrdma_context {
	struct vm_hv *hv;
	struct xs_handle *xs;
	struct vmrdma_open_attr attr;
	int domid, node;
	char fe[96], be[96];
	struct share cmd_sh, evt_sh;
	struct abi_ring cmd, evt;
	uint8_t *waiting; /* per command slot: a control verb waits for this response */
	uint8_t *ops;	  /* per command slot: the op sent, to check the response */
	int port;
	uint32_t req_prod_pvt, rsp_cons, evt_cons;
	int answered;
	struct abi_response rsp;
	int deferred; /* negative errno of a refused post, reported by the next post or poll */
	int broken;   /* the backend broke the ring protocol */
	int closed;
	int watching;
	char lost[512]; /* why the device could not follow its domain to another host: every verb fails ENOTCONN */
	struct vmrdma_context *next_open; /* the process's open devices, which a suspend quiesces together */
	pthread_t caller;		  /* the thread that called the device last */
	uint64_t next_iova;
	struct vm_pd *pds;
	struct vm_cq *cqs;
	struct vm_qp *qps;
	struct vm_buf *bufs;
	struct vm_mr *mrs;
	struct vmrdma_cm_event *cm;
	size_t cm_head, cm_n, cm_cap;
};

#define UNLINK(head, type, obj)                                             \
	do {                                                                \
		for (type **p_ = &(head); *p_ != NULL; p_ = &(*p_)->next) { \
			if (*p_ == (obj)) {                                 \
				*p_ = (obj)->next;                          \
				break;                                      \
			}                                                   \
		}                                                           \
	} while (0)

/* frontend.c: XenStore and the xenbus handshake (docs/guest-abi.md). */
INTERNAL int vm_fe_open(struct vmrdma_context *c, const char *simdir);
INTERNAL int vm_fe_handshake(struct vmrdma_context *c, int jump);
INTERNAL int vm_fe_backend_state(struct vmrdma_context *c);
INTERNAL int vm_fe_check_backend(struct vmrdma_context *c);
INTERNAL void vm_fe_close(struct vmrdma_context *c);
INTERNAL int vm_fe_moved(struct vmrdma_context *c, const char *dir);

/* cmd_ring.c: pages shared with dom0, the command ring (requests, responses) and the event ring. */
INTERNAL int vm_share_pages(struct vmrdma_context *c, uint32_t pages, int writable, struct share *s);
INTERNAL void vm_unshare_pages(struct vmrdma_context *c, struct share *s);
INTERNAL int vm_ring_setup(struct vmrdma_context *c, uint32_t pages);
INTERNAL void vm_ring_release(struct vmrdma_context *c);
INTERNAL int vm_ring_reap(struct vmrdma_context *c);
INTERNAL int vm_ring_take_events(struct vmrdma_context *c);
INTERNAL int vm_ring_quiesce(struct vmrdma_context *c);
typedef int (*done_fn)(struct vmrdma_context *c, const void *arg);
INTERNAL int vm_ring_wait(struct vmrdma_context *c, done_fn done, const void *arg, int timeout_ms);
INTERNAL uint8_t *vm_ring_begin(struct vmrdma_context *c, int *err);
INTERNAL int vm_ring_submit(struct vmrdma_context *c, int wait);
INTERNAL int vm_ring_call(struct vmrdma_context *c);
INTERNAL int vm_ring_simple(struct vmrdma_context *c, uint8_t op, uint32_t arg);
INTERNAL int vm_ring_submit_post(struct vmrdma_context *c, uint8_t *e);
INTERNAL int vm_ring_take_deferred(struct vmrdma_context *c);
INTERNAL const char *vm_op_name(int op);

/* suspend.c: what the guest's kernel does in a live migration, for the simulator back end (docs/native.md). */
INTERNAL int vm_kernel_attach(struct vmrdma_context *c);
INTERNAL void vm_kernel_detach(struct vmrdma_context *c);
INTERNAL void vm_kernel_look(struct vmrdma_context *c);

#endif
