/*
 * The frontend of the vmrdma device (docs/guest-abi.md): XenStore handshake, the two shared rings, and every verb
 * as a request on the command ring. Mirrors io.vmrdma.guest.GuestDevice. Everything the backend writes (ring
 * indices, entries, XenStore values) is validated before use: a backend that breaks the ring protocol makes the
 * context fail with -EIO, never makes the library read or write outside its rings.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <xenstore.h>

#include "internal.h"

uint64_t vm_random_iova_base(void)
{
	const uint64_t low = 1ull << 32, span = (1ull << 46) - (1ull << 32);
	uint64_t r;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return low;
	return low + ((r % span) & ~(uint64_t)(VMRDMA_PAGE_SIZE - 1));
}

enum { XB_UNKNOWN = 0, XB_INITIALISING = 1, XB_INITWAIT = 2, XB_INITIALISED = 3, XB_CONNECTED = 4, XB_CLOSING = 5,
       XB_CLOSED = 6 };

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
	uint8_t *waiting;      /* per command slot: a control verb waits for this response */
	uint8_t *ops;          /* per command slot: the op sent, to check the response */
	int port;
	uint32_t req_prod_pvt, rsp_cons, evt_cons;
	int answered;
	struct abi_response rsp;
	int deferred;          /* negative errno of a refused post, reported by the next post or poll */
	int broken;            /* the backend broke the ring protocol */
	int closed;
	int watching;
	uint64_t next_iova;
	struct vm_pd *pds;
	struct vm_cq *cqs;
	struct vm_qp *qps;
	struct vm_buf *bufs;
	struct vm_mr *mrs;
	struct vmrdma_cm_event *cm;
	size_t cm_head, cm_n, cm_cap;
};

#define UNLINK(head, type, obj)                                            \
	do {                                                               \
		for (type **p_ = &(head); *p_ != NULL; p_ = &(*p_)->next) { \
			if (*p_ == (obj)) {                                \
				*p_ = (obj)->next;                         \
				break;                                     \
			}                                                  \
		}                                                          \
	} while (0)

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ---- XenStore ---- */

static char *xs_get(struct vmrdma_context *c, const char *dir, const char *key)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	unsigned int len = 0;
	char *v = xs_read(c->xs, XBT_NULL, path, &len);
	if (v != NULL && strlen(v) != len) { /* an embedded NUL: not a value we wrote or expect */
		free(v);
		return NULL;
	}
	return v;
}

static int xs_get_long(struct vmrdma_context *c, const char *dir, const char *key, long min, long max, long *out)
{
	char *v = xs_get(c, dir, key);
	int rc = vm_parse_long(v, min, max, out);
	if (rc < 0)
		vm_fail(-EIO, "XenStore %s/%s: %s%s%s", dir, key, v ? "bad value \"" : "missing", v ? v : "",
			v ? "\"" : "");
	free(v);
	return rc < 0 ? -EIO : 0;
}

static int backend_state(struct vmrdma_context *c)
{
	long s;
	char *v = xs_get(c, c->be, "state");
	int rc = vm_parse_long(v, 0, 6, &s);
	free(v);
	return rc < 0 ? XB_UNKNOWN : (int)s;
}

static void backend_error(struct vmrdma_context *c, char *out, size_t cap)
{
	char *v = xs_get(c, c->be, "error");
	snprintf(out, cap, "%s", v ? v : "no reason given");
	for (char *p = out; *p; p++) /* for people: no control characters from an untrusted store */
		if ((unsigned char)*p < 0x20)
			*p = '?';
	free(v);
}

static int fe_write(struct vmrdma_context *c, xs_transaction_t t, const char *key, const char *value)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", c->fe, key);
	if (!xs_write(c->xs, t, path, value, (unsigned)strlen(value)))
		return vm_fail(-EIO, "XenStore write %s: %s", path, strerror(errno));
	return 0;
}

static void drain_watches(struct vmrdma_context *c)
{
	char **w;
	while ((w = xs_check_watch(c->xs)) != NULL)
		free(w);
}

/* Waits up to ms for a watch to fire. */
static void watch_wait(struct vmrdma_context *c, int ms)
{
	int fd = xs_fileno(c->xs);
	if (fd >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, ms);
	}
	drain_watches(c);
}

static int await_backend(struct vmrdma_context *c, int wanted)
{
	int64_t deadline = vm_now_ms() + c->attr.timeout_ms;
	for (;;) {
		int s = backend_state(c);
		if (s == wanted)
			return 0;
		if (wanted == XB_CONNECTED && (s == XB_CLOSING || s == XB_CLOSED)) {
			char why[256];
			backend_error(c, why, sizeof(why));
			return vm_fail(-ENOTCONN, "backend closed the device: %s", why);
		}
		int64_t left = deadline - vm_now_ms();
		if (left <= 0)
			return vm_fail(-ETIMEDOUT, "backend %s did not reach state %d (it is %d): is dom0's vmrdma running?",
				       c->be, wanted, s);
		watch_wait(c, left < 200 ? (int)left : 200);
	}
}

/* ---- rings ---- */

static void release_share(struct vmrdma_context *c, struct share *s)
{
	if (s->addr != NULL)
		c->hv->ops->unshare(c->hv, s->addr, s->count, s->refs);
	free(s->refs);
	memset(s, 0, sizeof(*s));
}

static int make_share(struct vmrdma_context *c, uint32_t pages, int writable, struct share *s)
{
	memset(s, 0, sizeof(*s));
	s->refs = calloc(pages, sizeof(uint32_t));
	if (s->refs == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	int rc = c->hv->ops->share(c->hv, 0, pages, writable, &s->addr, s->refs);
	if (rc < 0) {
		free(s->refs);
		s->refs = NULL;
		s->addr = NULL;
		return rc;
	}
	s->count = pages;
	return 0;
}

static int broken(struct vmrdma_context *c, const char *fmt, uint32_t a, uint32_t b)
{
	c->broken = 1;
	char why[160];
	snprintf(why, sizeof(why), fmt, a, b);
	return vm_fail(-EIO, "the backend broke the ring protocol: %s", why);
}

static int kick(struct vmrdma_context *c)
{
	int rc = c->hv->ops->notify(c->hv, (uint32_t)c->port);
	return rc < 0 ? vm_fail(-ENOTCONN, "event channel: %s", vmrdma_last_error()) : 0;
}

static int queue_cm(struct vmrdma_context *c, const struct vmrdma_cm_event *e)
{
	if (c->cm_n == c->cm_cap) {
		size_t cap = c->cm_cap ? 2 * c->cm_cap : 16;
		if (cap > MAX_QUEUED)
			return broken(c, "more than %u connection events unread (%u queued)", MAX_QUEUED, (uint32_t)c->cm_n);
		struct vmrdma_cm_event *n = malloc(cap * sizeof(*n));
		if (n == NULL)
			return vm_fail(-ENOMEM, "out of memory");
		for (size_t i = 0; i < c->cm_n; i++)
			n[i] = c->cm[(c->cm_head + i) % c->cm_cap];
		free(c->cm);
		c->cm = n;
		c->cm_cap = cap;
		c->cm_head = 0;
	}
	c->cm[(c->cm_head + c->cm_n++) % c->cm_cap] = *e;
	return 0;
}

static int queue_wc(struct vmrdma_context *c, struct vm_cq *q, const struct vmrdma_wc *wc)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 64;
		if (cap > MAX_QUEUED)
			return broken(c, "more than %u completions unread on cq %u", MAX_QUEUED, q->pub.handle);
		struct vmrdma_wc *n = malloc(cap * sizeof(*n));
		if (n == NULL)
			return vm_fail(-ENOMEM, "out of memory");
		for (size_t i = 0; i < q->n; i++)
			n[i] = q->q[(q->head + i) % q->cap];
		free(q->q);
		q->q = n;
		q->cap = cap;
		q->head = 0;
	}
	q->q[(q->head + q->n++) % q->cap] = *wc;
	return 0;
}

/* Consumes every response and event the backend published. */
static int reap(struct vmrdma_context *c)
{
	if (c->broken)
		return vm_fail(-EIO, "the backend broke the ring protocol; close the device");
	uint32_t prod = abi_ring_get(&c->cmd, RING_RSP_PROD);
	if ((uint32_t)(prod - c->rsp_cons) > (uint32_t)(c->req_prod_pvt - c->rsp_cons))
		return broken(c, "rsp_prod %u runs past the %u requests outstanding", prod, c->req_prod_pvt - c->rsp_cons);
	while (c->rsp_cons != prod) {
		uint8_t e[ABI_ENTRY];
		uint32_t slot = c->rsp_cons & (c->cmd.size - 1);
		memcpy(e, abi_ring_slot(&c->cmd, c->rsp_cons), ABI_ENTRY); /* one copy, decoded from private memory */
		struct abi_response r;
		abi_decode_response(e, &r);
		if (r.id != c->rsp_cons || r.op != c->ops[slot])
			return broken(c, "response id %u to request %u", r.id, c->rsp_cons);
		if (r.status > 0 || r.status < -4095)
			r.status = -EIO;
		if (c->waiting[slot]) {
			c->rsp = r;
			c->answered = 1;
		} else if (r.status != 0 && c->deferred == 0) {
			c->deferred = r.status;
		}
		c->rsp_cons++;
	}
	uint32_t eprod = abi_ring_get(&c->evt, RING_RSP_PROD);
	if (eprod == c->evt_cons)
		return 0;
	if (abi_ring_pending(eprod, c->evt_cons, c->evt.size) < 0)
		return broken(c, "event rsp_prod %u runs past the credit (consumed %u)", eprod, c->evt_cons);
	while (c->evt_cons != eprod) {
		uint8_t e[ABI_ENTRY];
		memcpy(e, abi_ring_slot(&c->evt, c->evt_cons), ABI_ENTRY);
		c->evt_cons++;
		struct abi_wc wc;
		struct vmrdma_cm_event cm;
		int type = abi_decode_event(e, &wc, &cm);
		int rc = 0;
		if (type == ABI_EVT_WC) {
			for (struct vm_cq *q = c->cqs; q != NULL; q = q->next) {
				if (q->pub.handle == wc.cq) {
					rc = queue_wc(c, q, &wc.wc);
					break;
				}
			}
		} else if (type == ABI_EVT_CM) {
			rc = queue_cm(c, &cm);
		} /* unknown types are skipped: later protocol additions */
		if (rc < 0)
			return rc;
	}
	/* Give the slots back as credit. */
	if (abi_ring_push(&c->evt, RING_REQ_PROD, RING_REQ_EVENT, c->evt_cons + c->evt.size))
		return kick(c);
	return 0;
}

static int check_backend(struct vmrdma_context *c)
{
	int s = backend_state(c);
	if (s != XB_CONNECTED) {
		char why[256];
		backend_error(c, why, sizeof(why));
		return vm_fail(-ENOTCONN, "backend is in state %d: %s", s, why);
	}
	return 0;
}

typedef int (*done_fn)(struct vmrdma_context *c, const void *arg);

/*
 * Reaps until done holds (1) or timeout_ms passed (0; -1 waits forever): spinning when polling, otherwise
 * re-arming both rings' response events (ring.h's final check) and blocking on the event channel.
 */
static int wait_for(struct vmrdma_context *c, done_fn done, const void *arg, int timeout_ms)
{
	int64_t now = vm_now_ms();
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + timeout_ms;
	int64_t next_check = now + CHECK_BACKEND_MS;
	unsigned spins = 0;
	for (;;) {
		int rc = reap(c);
		if (rc < 0)
			return rc;
		if (done(c, arg))
			return 1;
		if (c->attr.polling && (++spins & 1023) != 0) {
			/* Spin, and now and then give the core away: dom0's agent may need it (fewer cores than spinners). */
			if ((spins & 255) == 0)
				sched_yield();
			else
				cpu_relax();
			continue;
		}
		now = vm_now_ms();
		int64_t left = deadline - now;
		if (left <= 0)
			return 0;
		if (c->attr.polling) {
			/* A XenStore read is a round trip: look at the backend's state only now and then. */
			if (now >= next_check) {
				if ((rc = check_backend(c)) < 0)
					return rc;
				next_check = now + CHECK_BACKEND_MS;
			}
			continue;
		}
		if (abi_ring_final_check(&c->cmd, RING_RSP_PROD, RING_RSP_EVENT, c->rsp_cons)
		    | abi_ring_final_check(&c->evt, RING_RSP_PROD, RING_RSP_EVENT, c->evt_cons))
			continue;
		int p = c->hv->ops->wait(c->hv, left < CHECK_BACKEND_MS ? (int)left : CHECK_BACKEND_MS);
		if (p > 0) {
			if (c->hv->ops->unmask(c->hv, (uint32_t)p) < 0)
				return vm_fail(-ENOTCONN, "event channel: %s", vmrdma_last_error());
		} else if (p == 0) {
			if ((rc = check_backend(c)) < 0)
				return rc;
		} else {
			return vm_fail(-ENOTCONN, "event channel: %s", vmrdma_last_error());
		}
	}
}

static int slot_free(struct vmrdma_context *c, const void *arg)
{
	(void)arg;
	return c->req_prod_pvt - c->rsp_cons < c->cmd.size;
}

static int answered(struct vmrdma_context *c, const void *arg)
{
	(void)arg;
	return c->answered;
}

/* Claims the next request slot (waiting for one if the ring is full); returns it or NULL with *err set. */
static uint8_t *begin(struct vmrdma_context *c, int *err)
{
	if (c->closed) {
		*err = vm_fail(-ENOTCONN, "device closed");
		return NULL;
	}
	if (c->broken) {
		*err = vm_fail(-EIO, "the backend broke the ring protocol; close the device");
		return NULL;
	}
	if (c->req_prod_pvt - c->rsp_cons >= c->cmd.size) {
		int rc = wait_for(c, slot_free, NULL, c->attr.timeout_ms);
		if (rc <= 0) {
			*err = rc < 0 ? rc : vm_fail(-ETIMEDOUT, "the command ring stayed full");
			return NULL;
		}
	}
	return abi_ring_slot(&c->cmd, c->req_prod_pvt);
}

static int submit(struct vmrdma_context *c, int wait)
{
	uint32_t slot = c->req_prod_pvt & (c->cmd.size - 1);
	c->waiting[slot] = (uint8_t)wait;
	c->ops[slot] = abi_ring_slot(&c->cmd, c->req_prod_pvt)[0];
	c->req_prod_pvt++;
	if (abi_ring_push(&c->cmd, RING_REQ_PROD, RING_REQ_EVENT, c->req_prod_pvt))
		return kick(c);
	return 0;
}

static const char *op_name(int op)
{
	static const char *const names[] = {"?", "ALLOC_PD", "DEALLOC_PD", "CREATE_CQ", "DESTROY_CQ", "CREATE_QP",
					    "MODIFY_QP", "DESTROY_QP", "REG_MR", "DEREG_MR", "POST_SEND", "POST_RECV",
					    "LISTEN", "STOP_LISTEN", "CONNECT", "ACCEPT", "REJECT", "DISCONNECT"};
	return op > 0 && op <= ABI_OP_DISCONNECT ? names[op] : "?";
}

/* Submits the request begun last and waits for its response; the engine's refusal is returned. */
static int call(struct vmrdma_context *c)
{
	int op = abi_ring_slot(&c->cmd, c->req_prod_pvt)[0];
	c->answered = 0;
	int rc = submit(c, 1);
	if (rc < 0)
		return rc;
	rc = wait_for(c, answered, NULL, c->attr.timeout_ms);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return vm_fail(-ETIMEDOUT, "%s: no response from the backend", op_name(op));
	if (c->rsp.status != 0)
		return vm_fail(c->rsp.status, "%s refused by the engine: %s (errno %d)", op_name(op),
			       strerror(-c->rsp.status), -c->rsp.status);
	return 0;
}

static int simple(struct vmrdma_context *c, uint8_t op, uint32_t arg)
{
	int rc;
	uint8_t *e = begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_simple(e, op, c->req_prod_pvt, arg);
	return call(c);
}

/* ---- handshake ---- */

/*
 * Waits until dom0's backend has offered this domain its device/vmrdma directory: guests may create devices only
 * there, because the toolstack makes device/ read-only for them.
 */
static int await_offer(struct vmrdma_context *c)
{
	char dir[160];
	snprintf(dir, sizeof(dir), "/local/domain/%d/device/vmrdma", c->domid);
	if (!xs_watch(c->xs, dir, "offer"))
		return vm_fail(-EIO, "XenStore watch %s: %s", dir, strerror(errno));
	int64_t deadline = vm_now_ms() + c->attr.timeout_ms;
	int rc = 0;
	for (;;) {
		unsigned len;
		char *v = xs_read(c->xs, XBT_NULL, dir, &len);
		if (v != NULL) {
			free(v);
			break;
		}
		if (errno != ENOENT) {
			rc = vm_fail(-EIO, "XenStore read %s: %s", dir, strerror(errno));
			break;
		}
		int64_t left = deadline - vm_now_ms();
		if (left <= 0) {
			rc = vm_fail(-ENODEV, "dom0 offers this domain no vmrdma device (%s does not exist): is dom0's "
				     "vmrdma running and serving domain %d?", dir, c->domid);
			break;
		}
		watch_wait(c, left < 200 ? (int)left : 200);
	}
	xs_unwatch(c->xs, dir, "offer");
	return rc;
}

static int handshake(struct vmrdma_context *c, int jump)
{
	char v[32];
	int rc;
	if (!c->watching) {
		char path[160];
		snprintf(path, sizeof(path), "%s/state", c->be);
		xs_fileno(c->xs);
		if (!xs_watch(c->xs, path, "backend"))
			return vm_fail(-EIO, "XenStore watch %s: %s", path, strerror(errno));
		c->watching = 1;
		if ((rc = await_offer(c)) < 0)
			return rc;
	}
	int order = c->attr.ring_page_order;
	if (!jump) {
		if ((rc = fe_write(c, XBT_NULL, "state", "1")) < 0 || (rc = await_backend(c, XB_INITWAIT)) < 0)
			return rc;
		long max, version;
		if ((rc = xs_get_long(c, c->be, "max-ring-page-order", 0, 31, &max)) < 0)
			return rc;
		if (max < order)
			order = (int)max;
		if (xs_get_long(c, c->be, "protocol-version", 0, 1000000, &version) < 0 || version != VMRDMA_PROTOCOL_VERSION)
			return vm_fail(-EIO, "backend speaks another protocol version, this library %d",
				       VMRDMA_PROTOCOL_VERSION);
	}
	uint32_t pages = 1u << order;
	if ((rc = make_share(c, pages, 1, &c->cmd_sh)) < 0 || (rc = make_share(c, pages, 1, &c->evt_sh)) < 0)
		return rc;
	abi_ring_attach(&c->cmd, c->cmd_sh.addr, (size_t)pages * VMRDMA_PAGE_SIZE);
	abi_ring_attach(&c->evt, c->evt_sh.addr, (size_t)pages * VMRDMA_PAGE_SIZE);
	abi_ring_init(&c->cmd);
	abi_ring_init(&c->evt);
	/* The event ring's requests are credit: every slot is free for the backend to fill. */
	abi_ring_set(&c->evt, RING_REQ_PROD, c->evt.size);
	free(c->waiting);
	free(c->ops);
	c->waiting = calloc(c->cmd.size, 1);
	c->ops = calloc(c->cmd.size, 1);
	if (c->waiting == NULL || c->ops == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	c->req_prod_pvt = c->rsp_cons = c->evt_cons = 0;
	int port = c->hv->ops->bind_unbound(c->hv, 0);
	if (port < 0)
		return port;
	c->port = port;
	const char *next = jump ? "4" : "3";
	for (int attempt = 0;; attempt++) {
		xs_transaction_t t = xs_transaction_start(c->xs);
		if (t == XBT_NULL)
			return vm_fail(-EIO, "XenStore transaction: %s", strerror(errno));
		char key[32];
		snprintf(v, sizeof(v), "%d", VMRDMA_PROTOCOL_VERSION);
		rc = fe_write(c, t, "protocol-version", v);
		if (rc == 0)
			rc = fe_write(c, t, "features", ABI_FEATURES);
		snprintf(v, sizeof(v), "%d", order);
		if (rc == 0)
			rc = fe_write(c, t, "ring-page-order", v);
		for (uint32_t i = 0; rc == 0 && i < pages; i++) {
			snprintf(key, sizeof(key), "ring-ref%u", i);
			snprintf(v, sizeof(v), "%u", c->cmd_sh.refs[i]);
			rc = fe_write(c, t, key, v);
			snprintf(key, sizeof(key), "event-ring-ref%u", i);
			snprintf(v, sizeof(v), "%u", c->evt_sh.refs[i]);
			if (rc == 0)
				rc = fe_write(c, t, key, v);
		}
		snprintf(v, sizeof(v), "%d", port);
		if (rc == 0)
			rc = fe_write(c, t, "event-channel", v);
		if (rc == 0)
			rc = fe_write(c, t, "state", next);
		if (rc < 0) {
			xs_transaction_end(c->xs, t, true);
			return rc;
		}
		if (xs_transaction_end(c->xs, t, false))
			break;
		if (errno != EAGAIN || attempt > 100)
			return vm_fail(-EIO, "XenStore transaction end: %s", strerror(errno));
	}
	if ((rc = await_backend(c, XB_CONNECTED)) < 0)
		return rc;
	long node;
	if ((rc = xs_get_long(c, c->be, "node-id", 0, 65535, &node)) < 0)
		return rc;
	c->node = (int)node;
	if (!jump && (rc = fe_write(c, XBT_NULL, "state", "4")) < 0)
		return rc;
	return 0;
}

/* ---- objects bookkeeping ---- */

static void free_verbs_objects(struct vmrdma_context *c)
{
	while (c->mrs) {
		struct vm_mr *m = c->mrs;
		c->mrs = m->next;
		free(m);
	}
	for (struct vm_buf *b = c->bufs; b; b = b->next)
		b->mrs = 0;
	while (c->qps) {
		struct vm_qp *q = c->qps;
		c->qps = q->next;
		free(q);
	}
	while (c->cqs) {
		struct vm_cq *q = c->cqs;
		c->cqs = q->next;
		free(q->q);
		free(q);
	}
	while (c->pds) {
		struct vm_pd *p = c->pds;
		c->pds = p->next;
		free(p);
	}
	c->cm_n = c->cm_head = 0;
	c->deferred = 0;
}

static void release_rings(struct vmrdma_context *c)
{
	if (c->port > 0)
		c->hv->ops->unbind(c->hv, (uint32_t)c->port);
	c->port = -1;
	release_share(c, &c->cmd_sh);
	release_share(c, &c->evt_sh);
}

static void release(struct vmrdma_context *c)
{
	c->closed = 1;
	free_verbs_objects(c);
	if (c->hv != NULL) {
		release_rings(c);
		while (c->bufs) {
			struct vm_buf *b = c->bufs;
			c->bufs = b->next;
			release_share(c, &b->sh);
			free(b);
		}
		c->hv->ops->close(c->hv);
	}
	if (c->xs != NULL)
		xs_close(c->xs);
	free(c->waiting);
	free(c->ops);
	free(c->cm);
	free(c);
}

/* ---- device ---- */

void vmrdma_open_attr_init(struct vmrdma_open_attr *attr)
{
	if (attr == NULL)
		return;
	memset(attr, 0, sizeof(*attr));
	attr->backend = VMRDMA_BACKEND_AUTO;
	attr->ring_page_order = 2;
	attr->timeout_ms = 30000;
}

int vmrdma_open(const struct vmrdma_open_attr *attr, struct vmrdma_context **ctx)
{
	struct vmrdma_open_attr a;
	if (ctx == NULL)
		return vm_fail(-EINVAL, "vmrdma_open: ctx is NULL");
	*ctx = NULL;
	if (attr != NULL)
		a = *attr;
	else
		vmrdma_open_attr_init(&a);
	if (a.ring_page_order < 0 || a.ring_page_order > ABI_MAX_RING_PAGE_ORDER)
		return vm_fail(-EINVAL, "vmrdma_open: ring_page_order %d, expected 0..%d", a.ring_page_order,
			       ABI_MAX_RING_PAGE_ORDER);
	if (a.devid < 0 || a.devid > 0xffff || a.timeout_ms <= 0
	    || (unsigned)a.backend > VMRDMA_BACKEND_XEN)
		return vm_fail(-EINVAL, "vmrdma_open: bad devid %d, timeout_ms %d or backend %d", a.devid, a.timeout_ms,
			       (int)a.backend);
	const char *simdir = a.sim_domain ? a.sim_domain : getenv("VMRDMA_SIM_DOMAIN");
	enum vmrdma_backend be = a.backend;
	if (be == VMRDMA_BACKEND_AUTO)
		be = simdir != NULL && *simdir != '\0' ? VMRDMA_BACKEND_SIM : VMRDMA_BACKEND_XEN;

	struct vmrdma_context *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	c->attr = a;
	c->attr.sim_domain = NULL; /* not kept: the caller owns the string */
	c->port = -1;
	c->next_iova = vm_random_iova_base();
	int rc = be == VMRDMA_BACKEND_SIM ? vm_sim_open(simdir, &c->hv) : vm_xen_open(&c->hv);
	if (rc < 0) {
		free(c);
		return rc;
	}
	unsigned long xs_flags = 0;
	if (be == VMRDMA_BACKEND_SIM) {
		/* Debian's libxenstore connects to $XENSTORED_PATH: the domain's own socket, as this domain. */
		char sock[300];
		snprintf(sock, sizeof(sock), "%s/xenstore.sock", simdir);
		const char *cur = getenv("XENSTORED_PATH");
		if (cur == NULL || strcmp(cur, sock) != 0)
			setenv("XENSTORED_PATH", sock, 1);
		xs_flags = XS_OPEN_SOCKETONLY;
	}
	c->xs = xs_open(xs_flags);
	if (c->xs == NULL) {
		rc = vm_fail(-EIO, "cannot open XenStore (%s): %s", be == VMRDMA_BACKEND_SIM ? getenv("XENSTORED_PATH")
				   : "/dev/xen/xenbus", strerror(errno));
		goto fail;
	}
	c->domid = c->hv->domid;
	if (c->domid < 0) {
		long d;
		char *v = xs_read(c->xs, XBT_NULL, "domid", NULL);
		int prc = vm_parse_long(v, 1, 0x7fef, &d);
		free(v);
		if (prc < 0) {
			rc = vm_fail(-EIO, "cannot read this domain's id from XenStore (domid)");
			goto fail;
		}
		c->domid = (int)d;
	}
	snprintf(c->fe, sizeof(c->fe), "/local/domain/%d/device/vmrdma/%d", c->domid, a.devid);
	snprintf(c->be, sizeof(c->be), "/local/domain/0/backend/vmrdma/%d/%d", c->domid, a.devid);
	if ((rc = handshake(c, a.straight_to_connected)) < 0)
		goto fail;
	*ctx = c;
	return 0;
fail: {
	char keep[512];
	snprintf(keep, sizeof(keep), "%s", vmrdma_last_error());
	release(c);
	vm_fail(rc, "%s", keep);
	return rc;
}
}

static void await_closed(struct vmrdma_context *c, int wanted)
{
	int64_t deadline = vm_now_ms() + 5000;
	while (vm_now_ms() < deadline) {
		int s = backend_state(c);
		if (s >= wanted || s == XB_UNKNOWN)
			return;
		watch_wait(c, 100);
	}
}

int vmrdma_close(struct vmrdma_context *c)
{
	if (c == NULL)
		return vm_fail(-EINVAL, "vmrdma_close: NULL context");
	if (!c->closed) {
		c->closed = 1;
		if (fe_write(c, XBT_NULL, "state", "5") == 0) {
			await_closed(c, XB_CLOSING);
			if (fe_write(c, XBT_NULL, "state", "6") == 0)
				await_closed(c, XB_CLOSED);
			xs_rm(c->xs, XBT_NULL, c->fe);
		}
	}
	release(c);
	return 0;
}

int vmrdma_reattach(struct vmrdma_context *c)
{
	if (c == NULL)
		return vm_fail(-EINVAL, "vmrdma_reattach: NULL context");
	if (c->closed)
		return vm_fail(-ENOTCONN, "device closed");
	free_verbs_objects(c);
	release_rings(c);
	c->broken = 0;
	int rc = handshake(c, 0);
	return rc < 0 ? vm_fail(rc, "re-attach failed: %s", vmrdma_last_error()) : 0;
}

int vmrdma_connected(struct vmrdma_context *c)
{
	return c != NULL && !c->closed && !c->broken && backend_state(c) == XB_CONNECTED;
}

int vmrdma_node_id(const struct vmrdma_context *c) { return c ? c->node : -EINVAL; }
int vmrdma_domid(const struct vmrdma_context *c) { return c ? c->domid : -EINVAL; }
const char *vmrdma_backend_name(const struct vmrdma_context *c) { return c ? c->hv->ops->name : "none"; }

/* ---- memory ---- */

int vmrdma_alloc_buf(struct vmrdma_context *c, size_t length, struct vmrdma_buf **out)
{
	if (c == NULL || out == NULL)
		return vm_fail(-EINVAL, "vmrdma_alloc_buf: NULL argument");
	*out = NULL;
	if (length == 0 || length > (size_t)VMRDMA_MAX_REGION_PAGES * VMRDMA_PAGE_SIZE)
		return vm_fail(-EINVAL, "vmrdma_alloc_buf: %zu bytes, expected 1..%d", length,
			       VMRDMA_MAX_REGION_PAGES * VMRDMA_PAGE_SIZE);
	if (c->closed)
		return vm_fail(-ENOTCONN, "device closed");
	struct vm_buf *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	uint32_t pages = (uint32_t)((length + VMRDMA_PAGE_SIZE - 1) / VMRDMA_PAGE_SIZE);
	int rc = make_share(c, pages, 1, &b->sh);
	if (rc < 0) {
		free(b);
		return vm_fail(rc, "cannot allocate %zu bytes: %s", length, vmrdma_last_error());
	}
	b->pub.context = c;
	b->pub.addr = b->sh.addr;
	b->pub.length = length;
	b->pub.pages = pages;
	b->pub.iova = c->next_iova;
	/* A page of gap between buffers, so an address one past a buffer never lands in the next one. */
	c->next_iova += ((uint64_t)pages + 1) * VMRDMA_PAGE_SIZE;
	b->next = c->bufs;
	c->bufs = b;
	*out = &b->pub;
	return 0;
}

int vmrdma_free_buf(struct vmrdma_buf *buf)
{
	if (buf == NULL)
		return vm_fail(-EINVAL, "vmrdma_free_buf: NULL buffer");
	struct vm_buf *b = (struct vm_buf *)buf;
	struct vmrdma_context *c = buf->context;
	if (b->mrs > 0)
		return vm_fail(-EBUSY, "vmrdma_free_buf: %d regions still registered on the buffer", b->mrs);
	UNLINK(c->bufs, struct vm_buf, b);
	release_share(c, &b->sh);
	free(b);
	return 0;
}

int vmrdma_reg_mr(struct vmrdma_pd *pd, struct vmrdma_buf *buf, int access, struct vmrdma_mr **out)
{
	if (pd == NULL || buf == NULL || out == NULL)
		return vm_fail(-EINVAL, "vmrdma_reg_mr: NULL argument");
	*out = NULL;
	struct vmrdma_context *c = pd->context;
	if (buf->context != c)
		return vm_fail(-EINVAL, "vmrdma_reg_mr: the buffer belongs to another context");
	if (access & ~(VMRDMA_ACCESS_LOCAL_WRITE | VMRDMA_ACCESS_REMOTE_WRITE | VMRDMA_ACCESS_REMOTE_READ))
		return vm_fail(-EINVAL, "vmrdma_reg_mr: unknown access bits 0x%x", access);
	struct vm_buf *b = (struct vm_buf *)buf;
	uint32_t count = b->sh.count;
	struct share ind = {0};
	int indirect = count > ABI_MR_REFS_INLINE;
	int rc;
	if (indirect) {
		uint32_t n = (count + ABI_REFS_PER_INDIRECT_PAGE - 1) / ABI_REFS_PER_INDIRECT_PAGE;
		if (n > ABI_MR_REFS_INLINE)
			return vm_fail(-EINVAL, "a region is at most %d pages", VMRDMA_MAX_REGION_PAGES);
		if ((rc = make_share(c, n, 0, &ind)) < 0)
			return vm_fail(-ENOMEM, "cannot share the indirect pages: %s", vmrdma_last_error());
		for (uint32_t i = 0; i < count; i++)
			put_u32(ind.addr, 4 * (size_t)i, b->sh.refs[i]);
	}
	struct vm_mr *m = calloc(1, sizeof(*m));
	uint8_t *e = m ? begin(c, &rc) : NULL;
	if (m == NULL)
		rc = vm_fail(-ENOMEM, "out of memory");
	if (e != NULL) {
		abi_encode_reg_mr(e, c->req_prod_pvt, pd->handle, (uint32_t)access, buf->iova, 0, buf->length, count,
				  indirect ? ind.refs : b->sh.refs, indirect ? ind.count : count, indirect);
		rc = call(c);
	}
	/* dom0 unmaps indirect pages before it answers. */
	release_share(c, &ind);
	if (rc < 0) {
		free(m);
		return rc;
	}
	m->pub.pd = pd;
	m->pub.buf = buf;
	m->pub.addr = buf->iova;
	m->pub.length = buf->length;
	m->pub.lkey = c->rsp.r0;
	m->pub.rkey = c->rsp.r1;
	m->pub.access = access;
	m->next = c->mrs;
	c->mrs = m;
	b->mrs++;
	*out = &m->pub;
	return 0;
}

int vmrdma_dereg_mr(struct vmrdma_mr *mr)
{
	if (mr == NULL)
		return vm_fail(-EINVAL, "vmrdma_dereg_mr: NULL region");
	struct vmrdma_context *c = mr->pd->context;
	int rc = simple(c, ABI_OP_DEREG_MR, mr->lkey);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	struct vm_mr *m = (struct vm_mr *)mr;
	((struct vm_buf *)mr->buf)->mrs--;
	UNLINK(c->mrs, struct vm_mr, m);
	free(m);
	return rc;
}

/* ---- objects ---- */

int vmrdma_alloc_pd(struct vmrdma_context *c, struct vmrdma_pd **out)
{
	if (c == NULL || out == NULL)
		return vm_fail(-EINVAL, "vmrdma_alloc_pd: NULL argument");
	*out = NULL;
	struct vm_pd *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	int rc = simple(c, ABI_OP_ALLOC_PD, 0);
	if (rc < 0) {
		free(p);
		return rc;
	}
	p->pub.context = c;
	p->pub.handle = c->rsp.r0;
	p->next = c->pds;
	c->pds = p;
	*out = &p->pub;
	return 0;
}

int vmrdma_dealloc_pd(struct vmrdma_pd *pd)
{
	if (pd == NULL)
		return vm_fail(-EINVAL, "vmrdma_dealloc_pd: NULL pd");
	struct vmrdma_context *c = pd->context;
	int rc = simple(c, ABI_OP_DEALLOC_PD, pd->handle);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	struct vm_pd *p = (struct vm_pd *)pd;
	UNLINK(c->pds, struct vm_pd, p);
	free(p);
	return rc;
}

int vmrdma_create_cq(struct vmrdma_context *c, int depth, struct vmrdma_cq **out)
{
	if (c == NULL || out == NULL)
		return vm_fail(-EINVAL, "vmrdma_create_cq: NULL argument");
	*out = NULL;
	if (depth < 1 || depth > 65536)
		return vm_fail(-EINVAL, "vmrdma_create_cq: depth %d, expected 1..65536", depth);
	struct vm_cq *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	int rc = simple(c, ABI_OP_CREATE_CQ, (uint32_t)depth);
	if (rc < 0) {
		free(q);
		return rc;
	}
	q->pub.context = c;
	q->pub.handle = c->rsp.r0;
	q->pub.depth = (uint32_t)depth;
	q->next = c->cqs;
	c->cqs = q;
	*out = &q->pub;
	return 0;
}

int vmrdma_destroy_cq(struct vmrdma_cq *cq)
{
	if (cq == NULL)
		return vm_fail(-EINVAL, "vmrdma_destroy_cq: NULL cq");
	struct vmrdma_context *c = cq->context;
	int rc = simple(c, ABI_OP_DESTROY_CQ, cq->handle);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	struct vm_cq *q = (struct vm_cq *)cq;
	UNLINK(c->cqs, struct vm_cq, q);
	free(q->q);
	free(q);
	return rc;
}

int vmrdma_create_qp(struct vmrdma_pd *pd, const struct vmrdma_qp_init_attr *a, struct vmrdma_qp **out)
{
	if (pd == NULL || a == NULL || out == NULL || a->send_cq == NULL || a->recv_cq == NULL)
		return vm_fail(-EINVAL, "vmrdma_create_qp: NULL argument");
	*out = NULL;
	struct vmrdma_context *c = pd->context;
	if (a->send_cq->context != c || a->recv_cq->context != c)
		return vm_fail(-EINVAL, "vmrdma_create_qp: a completion queue of another context");
	if (a->max_sge < 1 || a->max_sge > VMRDMA_MAX_SGE || a->max_send_wr < 1 || a->max_recv_wr < 1)
		return vm_fail(-EINVAL, "vmrdma_create_qp: max_sge %u (1..%d), max_send_wr %u, max_recv_wr %u",
			       a->max_sge, VMRDMA_MAX_SGE, a->max_send_wr, a->max_recv_wr);
	struct vm_qp *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	int rc;
	uint8_t *e = begin(c, &rc);
	if (e == NULL) {
		free(q);
		return rc;
	}
	abi_encode_create_qp(e, c->req_prod_pvt, pd->handle, a->send_cq->handle, a->recv_cq->handle, a->max_send_wr,
			     a->max_recv_wr, a->max_sge, a->sq_sig_all);
	if ((rc = call(c)) < 0) {
		free(q);
		return rc;
	}
	q->pub.context = c;
	q->pub.qp_num = c->rsp.r0 & 0xffffff;
	q->pub.node = (uint16_t)c->node;
	q->pub.domid = (uint16_t)c->domid;
	q->pub.send_cq = a->send_cq;
	q->pub.recv_cq = a->recv_cq;
	q->next = c->qps;
	c->qps = q;
	*out = &q->pub;
	return 0;
}

void vmrdma_qp_attr_init(struct vmrdma_qp_attr *a)
{
	if (a == NULL)
		return;
	memset(a, 0, sizeof(*a));
	a->state = a->pkey = a->retry_cnt = a->rnr_retry = -1;
}

int vmrdma_modify_qp(struct vmrdma_qp *qp, const struct vmrdma_qp_attr *a)
{
	if (qp == NULL || a == NULL)
		return vm_fail(-EINVAL, "vmrdma_modify_qp: NULL argument");
	if (a->state < -1 || a->state > VMRDMA_QPS_ERR || a->pkey < -1 || a->pkey > 0xffff || a->retry_cnt < -1
	    || a->rnr_retry < -1)
		return vm_fail(-EINVAL, "vmrdma_modify_qp: state %d, pkey %d, retry_cnt %d, rnr_retry %d", a->state,
			       a->pkey, a->retry_cnt, a->rnr_retry);
	struct vmrdma_context *c = qp->context;
	int rc;
	uint8_t *e = begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_modify_qp(e, c->req_prod_pvt, qp->qp_num, a);
	return call(c);
}

int vmrdma_destroy_qp(struct vmrdma_qp *qp)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_destroy_qp: NULL qp");
	struct vmrdma_context *c = qp->context;
	int rc = simple(c, ABI_OP_DESTROY_QP, qp->qp_num);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	struct vm_qp *q = (struct vm_qp *)qp;
	UNLINK(c->qps, struct vm_qp, q);
	free(q);
	return rc;
}

/* ---- data path ---- */

static int take_deferred(struct vmrdma_context *c)
{
	int d = c->deferred;
	if (d == 0)
		return 0;
	c->deferred = 0;
	return vm_fail(d, "an earlier post was refused by the engine: %s (errno %d)", strerror(-d), -d);
}

/* Puts an encoded post (its id still to be set) on the command ring without waiting for the response. */
static int submit_post(struct vmrdma_context *c, uint8_t *e)
{
	int rc;
	uint8_t *slot = begin(c, &rc);
	if (slot == NULL)
		return rc;
	put_u32(e, 4, c->req_prod_pvt);
	memcpy(slot, e, ABI_ENTRY);
	return submit(c, 0);
}

int vmrdma_post_send(struct vmrdma_qp *qp, const struct vmrdma_send_wr *wr)
{
	if (qp == NULL || wr == NULL)
		return vm_fail(-EINVAL, "vmrdma_post_send: NULL argument");
	int rc = take_deferred(qp->context);
	if (rc < 0)
		return rc;
	uint8_t e[ABI_ENTRY];
	if (abi_encode_post_send(e, 0, qp->qp_num, wr) < 0)
		return vm_fail(-EINVAL, "vmrdma_post_send: opcode %d, send_flags 0x%x, num_sge %d (0..%d, lengths < 2^31)",
			       (int)wr->opcode, wr->send_flags, wr->num_sge, VMRDMA_MAX_SGE);
	return submit_post(qp->context, e);
}

int vmrdma_post_recv(struct vmrdma_qp *qp, const struct vmrdma_recv_wr *wr)
{
	if (qp == NULL || wr == NULL)
		return vm_fail(-EINVAL, "vmrdma_post_recv: NULL argument");
	int rc = take_deferred(qp->context);
	if (rc < 0)
		return rc;
	uint8_t e[ABI_ENTRY];
	if (abi_encode_post_recv(e, 0, qp->qp_num, wr) < 0)
		return vm_fail(-EINVAL, "vmrdma_post_recv: num_sge %d (0..%d, lengths < 2^31)", wr->num_sge,
			       VMRDMA_MAX_SGE);
	return submit_post(qp->context, e);
}

int vmrdma_poll_cq(struct vmrdma_cq *cq, int num_entries, struct vmrdma_wc *wc)
{
	if (cq == NULL || num_entries < 0 || (num_entries > 0 && wc == NULL))
		return vm_fail(-EINVAL, "vmrdma_poll_cq: NULL cq or wc, or num_entries %d", num_entries);
	struct vm_cq *q = (struct vm_cq *)cq;
	struct vmrdma_context *c = cq->context;
	int rc;
	if (q->n == 0 && !c->closed && (rc = reap(c)) < 0)
		return rc;
	if ((rc = take_deferred(c)) < 0)
		return rc;
	int n = 0;
	while (n < num_entries && q->n > 0) {
		wc[n++] = q->q[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
	return n;
}

static int cq_ready(struct vmrdma_context *c, const void *arg)
{
	(void)c;
	return ((const struct vm_cq *)arg)->n > 0;
}

int vmrdma_wait_cq(struct vmrdma_cq *cq, struct vmrdma_wc *wc, int timeout_ms)
{
	if (cq == NULL || wc == NULL)
		return vm_fail(-EINVAL, "vmrdma_wait_cq: NULL argument");
	struct vmrdma_context *c = cq->context;
	if (c->closed)
		return vm_fail(-ENOTCONN, "device closed");
	int rc = wait_for(c, cq_ready, cq, timeout_ms);
	if (rc < 0)
		return rc;
	return vmrdma_poll_cq(cq, 1, wc);
}

/* ---- connection manager ---- */

static int service_op(struct vmrdma_context *c, uint8_t op, uint64_t service)
{
	if (c == NULL)
		return vm_fail(-EINVAL, "%s: NULL context", op_name(op));
	int rc;
	uint8_t *e = begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_service(e, op, c->req_prod_pvt, service);
	return call(c);
}

int vmrdma_listen(struct vmrdma_context *c, uint64_t service) { return service_op(c, ABI_OP_LISTEN, service); }
int vmrdma_stop_listen(struct vmrdma_context *c, uint64_t service)
{
	return service_op(c, ABI_OP_STOP_LISTEN, service);
}

static int cm_op(struct vmrdma_context *c, uint8_t op, uint32_t qpn, uint16_t node, uint64_t id, int32_t pkey,
		 const void *data, size_t len)
{
	if (len > VMRDMA_MAX_PRIVATE_DATA || (len > 0 && data == NULL))
		return vm_fail(-EINVAL, "%s: %zu bytes of private data (at most %d)", op_name(op), len,
			       VMRDMA_MAX_PRIVATE_DATA);
	int rc;
	uint8_t *e = begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_cm(e, op, c->req_prod_pvt, qpn, node, id, pkey, data, len);
	return call(c);
}

int vmrdma_connect(struct vmrdma_qp *qp, uint16_t node, uint64_t service, int pkey, const void *data, size_t len,
		   uint64_t *connection_id)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_connect: NULL qp");
	if (pkey < -1 || pkey > 0xffff)
		return vm_fail(-EINVAL, "vmrdma_connect: pkey %d (-1 or 0..65535)", pkey);
	int rc = cm_op(qp->context, ABI_OP_CONNECT, qp->qp_num, node, service, pkey, data, len);
	if (rc == 0 && connection_id != NULL)
		*connection_id = qp->context->rsp.r64;
	return rc;
}

int vmrdma_accept(struct vmrdma_qp *qp, uint64_t connection_id, const void *data, size_t len)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_accept: NULL qp");
	return cm_op(qp->context, ABI_OP_ACCEPT, qp->qp_num, 0, connection_id, 0, data, len);
}

int vmrdma_reject(struct vmrdma_context *c, uint64_t connection_id, const char *reason)
{
	if (c == NULL)
		return vm_fail(-EINVAL, "vmrdma_reject: NULL context");
	size_t len = reason ? strlen(reason) : 0;
	if (len > VMRDMA_MAX_PRIVATE_DATA)
		len = VMRDMA_MAX_PRIVATE_DATA;
	return cm_op(c, ABI_OP_REJECT, 0, 0, connection_id, 0, reason, len);
}

int vmrdma_disconnect(struct vmrdma_qp *qp)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_disconnect: NULL qp");
	return simple(qp->context, ABI_OP_DISCONNECT, qp->qp_num);
}

int vmrdma_poll_cm_event(struct vmrdma_context *c, struct vmrdma_cm_event *ev)
{
	if (c == NULL || ev == NULL)
		return vm_fail(-EINVAL, "vmrdma_poll_cm_event: NULL argument");
	int rc;
	if (c->cm_n == 0 && !c->closed && (rc = reap(c)) < 0)
		return rc;
	if (c->cm_n == 0)
		return 0;
	*ev = c->cm[c->cm_head];
	c->cm_head = (c->cm_head + 1) % c->cm_cap;
	c->cm_n--;
	return 1;
}

static int cm_ready(struct vmrdma_context *c, const void *arg)
{
	(void)arg;
	return c->cm_n > 0;
}

int vmrdma_wait_cm_event(struct vmrdma_context *c, struct vmrdma_cm_event *ev, int timeout_ms)
{
	if (c == NULL || ev == NULL)
		return vm_fail(-EINVAL, "vmrdma_wait_cm_event: NULL argument");
	if (c->closed)
		return vm_fail(-ENOTCONN, "device closed");
	int rc = wait_for(c, cm_ready, NULL, timeout_ms);
	if (rc <= 0)
		return rc;
	return vmrdma_poll_cm_event(c, ev);
}
