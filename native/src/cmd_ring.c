/*
 * A vmrdma device's two shared rings (docs/guest-abi.md): requests out on the command ring (a control verb waits
 * for its response, a post does not: the engine's refusal is reported by the next post or poll), completions and
 * connection events in on the event ring, queued per completion queue and for the connection manager; waits block
 * on the event channel unless the device polls. Pages shared with dom0 for the rings and the buffers. Mirrors
 * io.vmrdma.guest.CommandRing.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

void vm_unshare_pages(struct vmrdma_context *c, struct share *s)
{
	if (s->addr != NULL)
		c->hv->ops->unshare(c->hv, s->addr, s->count, s->refs);
	free(s->refs);
	memset(s, 0, sizeof(*s));
}

int vm_share_pages(struct vmrdma_context *c, uint32_t pages, int writable, struct share *s)
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
			return broken(c, "more than %u connection events unread (%u queued)", MAX_QUEUED,
				      (uint32_t)c->cm_n);
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

/* Consumes every response the backend published on the command ring. */
static int take_responses(struct vmrdma_context *c)
{
	uint32_t prod = abi_ring_get(&c->cmd, RING_RSP_PROD);
	if ((uint32_t)(prod - c->rsp_cons) > (uint32_t)(c->req_prod_pvt - c->rsp_cons))
		return broken(c, "rsp_prod %u runs past the %u requests outstanding", prod,
			      c->req_prod_pvt - c->rsp_cons);
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
	return 0;
}

/* Consumes every event the backend published; returns 1 when there were any (their slots are credit to give back). */
int vm_ring_take_events(struct vmrdma_context *c)
{
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
	return 1;
}

/* Refuses every verb of a device that broke or could not follow its domain to another host. */
static int unusable(struct vmrdma_context *c)
{
	if (c->broken)
		return vm_fail(-EIO, "the backend broke the ring protocol; close the device");
	if (c->lost[0] != '\0')
		return vm_fail(-ENOTCONN, "%s", c->lost);
	return 0;
}

/* Consumes every response and event the backend published; first suspends if the toolstack asked. */
int vm_ring_reap(struct vmrdma_context *c)
{
	vm_kernel_look(c);
	int rc = unusable(c);
	if (rc == 0)
		rc = take_responses(c);
	if (rc == 0)
		rc = vm_ring_take_events(c);
	if (rc <= 0)
		return rc;
	/* Give the slots back as credit. */
	if (abi_ring_push(&c->evt, RING_REQ_PROD, RING_REQ_EVENT, c->evt_cons + c->evt.size))
		return kick(c);
	return 0;
}

/*
 * Reaps until done holds (1) or timeout_ms passed (0; -1 waits forever): spinning when polling, otherwise
 * re-arming both rings' response events (ring.h's final check) and blocking on the event channel.
 */
int vm_ring_wait(struct vmrdma_context *c, done_fn done, const void *arg, int timeout_ms)
{
	int64_t now = vm_now_ms();
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + timeout_ms;
	int64_t next_check = now + CHECK_BACKEND_MS;
	unsigned spins = 0;
	for (;;) {
		int rc = vm_ring_reap(c);
		if (rc < 0)
			return rc;
		if (done(c, arg))
			return 1;
		if (c->attr.polling && (++spins & 1023) != 0) {
			/* Spin, and about every microsecond give the core away: dom0's agent or the peer may need it
			 * (fewer cores than spinners); with a core to itself the yield returns at once. */
			if ((spins & 31) == 0)
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
				if ((rc = vm_fe_check_backend(c)) < 0)
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
			if ((rc = vm_fe_check_backend(c)) < 0)
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
uint8_t *vm_ring_begin(struct vmrdma_context *c, int *err)
{
	if (c->closed) {
		*err = vm_fail(-ENOTCONN, "device closed");
		return NULL;
	}
	vm_kernel_look(c);
	if ((*err = unusable(c)) < 0)
		return NULL;
	if (c->req_prod_pvt - c->rsp_cons >= c->cmd.size) {
		int rc = vm_ring_wait(c, slot_free, NULL, c->attr.timeout_ms);
		if (rc <= 0) {
			*err = rc < 0 ? rc : vm_fail(-ETIMEDOUT, "the command ring stayed full");
			return NULL;
		}
	}
	return abi_ring_slot(&c->cmd, c->req_prod_pvt);
}

int vm_ring_submit(struct vmrdma_context *c, int wait)
{
	uint32_t slot = c->req_prod_pvt & (c->cmd.size - 1);
	c->waiting[slot] = (uint8_t)wait;
	c->ops[slot] = abi_ring_slot(&c->cmd, c->req_prod_pvt)[0];
	c->req_prod_pvt++;
	if (abi_ring_push(&c->cmd, RING_REQ_PROD, RING_REQ_EVENT, c->req_prod_pvt))
		return kick(c);
	return 0;
}

const char *vm_op_name(int op)
{
	static const char *const names[] = {"?",	 "ALLOC_PD",  "DEALLOC_PD", "CREATE_CQ",   "DESTROY_CQ",
					    "CREATE_QP", "MODIFY_QP", "DESTROY_QP", "REG_MR",	   "DEREG_MR",
					    "POST_SEND", "POST_RECV", "LISTEN",	    "STOP_LISTEN", "CONNECT",
					    "ACCEPT",	 "REJECT",    "DISCONNECT"};
	return op > 0 && op <= ABI_OP_DISCONNECT ? names[op] : "?";
}

/* Submits the request begun last and waits for its response; the engine's refusal is returned. */
int vm_ring_call(struct vmrdma_context *c)
{
	int op = abi_ring_slot(&c->cmd, c->req_prod_pvt)[0];
	c->answered = 0;
	int rc = vm_ring_submit(c, 1);
	if (rc < 0)
		return rc;
	rc = vm_ring_wait(c, answered, NULL, c->attr.timeout_ms);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return vm_fail(-ETIMEDOUT, "%s: no response from the backend", vm_op_name(op));
	if (c->rsp.status != 0)
		return vm_fail(c->rsp.status, "%s refused by the engine: %s (errno %d)", vm_op_name(op),
			       strerror(-c->rsp.status), -c->rsp.status);
	return 0;
}

int vm_ring_simple(struct vmrdma_context *c, uint8_t op, uint32_t arg)
{
	int rc;
	uint8_t *e = vm_ring_begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_simple(e, op, c->req_prod_pvt, arg);
	return vm_ring_call(c);
}

int vm_ring_take_deferred(struct vmrdma_context *c)
{
	int d = c->deferred;
	if (d == 0)
		return 0;
	c->deferred = 0;
	return vm_fail(d, "an earlier post was refused by the engine: %s (errno %d)", strerror(-d), -d);
}

/* Puts an encoded post (its id still to be set) on the command ring without waiting for the response. */
int vm_ring_submit_post(struct vmrdma_context *c, uint8_t *e)
{
	int rc;
	uint8_t *slot = vm_ring_begin(c, &rc);
	if (slot == NULL)
		return rc;
	put_u32(e, 4, c->req_prod_pvt);
	memcpy(slot, e, ABI_ENTRY);
	return vm_ring_submit(c, 0);
}

void vm_ring_release(struct vmrdma_context *c)
{
	if (c->port > 0)
		c->hv->ops->unbind(c->hv, (uint32_t)c->port);
	c->port = -1;
	vm_unshare_pages(c, &c->cmd_sh);
	vm_unshare_pages(c, &c->evt_sh);
}

/*
 * Makes a connection's two rings of pages pages each: shares them with dom0, lays out ring.h's headers (the event
 * ring's requests all credit), starts every index at 0 and binds an unbound event channel for dom0 (c->port). The
 * handshake then publishes the refs and the port.
 */
int vm_ring_setup(struct vmrdma_context *c, uint32_t pages)
{
	int rc;
	if ((rc = vm_share_pages(c, pages, 1, &c->cmd_sh)) < 0 || (rc = vm_share_pages(c, pages, 1, &c->evt_sh)) < 0)
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
	return 0;
}

static int all_answered(struct vmrdma_context *c, const void *arg)
{
	(void)arg;
	return c->rsp_cons == c->req_prod_pvt;
}

/* Waits until the backend has answered every request on the command ring, taking the events meanwhile. */
int vm_ring_quiesce(struct vmrdma_context *c)
{
	if (c->closed || c->broken || c->lost[0] != '\0' || c->cmd.size == 0)
		return 0;
	int rc = vm_ring_wait(c, all_answered, NULL, c->attr.timeout_ms);
	return rc < 0 ? rc : rc == 0 ? vm_fail(-ETIMEDOUT, "the backend left requests unanswered") : 0;
}
