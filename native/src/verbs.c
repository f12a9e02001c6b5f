/*
 * The verbs of libvmrdma (include/vmrdma.h): opening and closing a device, buffers and their registration,
 * protection domains, completion queues, queue pairs, posts and polls; each verb a request on the command ring.
 * Mirrors io.vmrdma.guest.GuestDevice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "device.h"

uint64_t vm_random_iova_base(void)
{
	const uint64_t low = 1ull << 32, span = (1ull << 46) - (1ull << 32);
	uint64_t r;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return low;
	return low + ((r % span) & ~(uint64_t)(VMRDMA_PAGE_SIZE - 1));
}

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

static void release(struct vmrdma_context *c)
{
	vm_kernel_detach(c);
	c->closed = 1;
	free_verbs_objects(c);
	if (c->hv != NULL) {
		vm_ring_release(c);
		while (c->bufs) {
			struct vm_buf *b = c->bufs;
			c->bufs = b->next;
			vm_unshare_pages(c, &b->sh);
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

void vmrdma_open_attr_init(struct vmrdma_open_attr *attr)
{
	if (attr == NULL)
		return;
	memset(attr, 0, sizeof(*attr));
	attr->backend = VMRDMA_BACKEND_AUTO;
	attr->devid = VMRDMA_DEVID_ANY;
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
	if (a.devid < VMRDMA_DEVID_ANY || a.devid > VMRDMA_MAX_DEVID || a.timeout_ms <= 0
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
	if ((rc = vm_fe_open(c, be == VMRDMA_BACKEND_SIM ? simdir : NULL)) < 0
	    || (rc = vm_fe_handshake(c, a.straight_to_connected)) < 0 || (rc = vm_kernel_attach(c)) < 0)
		goto fail;
	*ctx = c;
	return 0;
fail : {
	char keep[512];
	snprintf(keep, sizeof(keep), "%s", vmrdma_last_error());
	release(c);
	vm_fail(rc, "%s", keep);
	return rc;
}
}

int vmrdma_close(struct vmrdma_context *c)
{
	if (c == NULL)
		return vm_fail(-EINVAL, "vmrdma_close: NULL context");
	if (!c->closed) {
		c->closed = 1;
		vm_fe_close(c);
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
	vm_ring_release(c);
	c->broken = 0;
	int rc = vm_fe_handshake(c, 0);
	return rc < 0 ? vm_fail(rc, "re-attach failed: %s", vmrdma_last_error()) : 0;
}

int vmrdma_connected(struct vmrdma_context *c)
{
	return c != NULL && !c->closed && !c->broken && vm_fe_backend_state(c) == XB_CONNECTED;
}

int vmrdma_node_id(const struct vmrdma_context *c)
{
	return c ? c->node : -EINVAL;
}

int vmrdma_domid(const struct vmrdma_context *c)
{
	return c ? c->domid : -EINVAL;
}

const char *vmrdma_backend_name(const struct vmrdma_context *c)
{
	return c ? c->hv->ops->name : "none";
}

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
	int rc = vm_share_pages(c, pages, 1, &b->sh);
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
	vm_unshare_pages(c, &b->sh);
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
		if ((rc = vm_share_pages(c, n, 0, &ind)) < 0)
			return vm_fail(-ENOMEM, "cannot share the indirect pages: %s", vmrdma_last_error());
		for (uint32_t i = 0; i < count; i++)
			put_u32(ind.addr, 4 * (size_t)i, b->sh.refs[i]);
	}
	struct vm_mr *m = calloc(1, sizeof(*m));
	uint8_t *e = m ? vm_ring_begin(c, &rc) : NULL;
	if (m == NULL)
		rc = vm_fail(-ENOMEM, "out of memory");
	if (e != NULL) {
		abi_encode_reg_mr(e, c->req_prod_pvt, pd->handle, (uint32_t)access, buf->iova, 0, buf->length, count,
				  indirect ? ind.refs : b->sh.refs, indirect ? ind.count : count, indirect);
		rc = vm_ring_call(c);
	}
	/* dom0 unmaps indirect pages before it answers. */
	vm_unshare_pages(c, &ind);
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
	int rc = vm_ring_simple(c, ABI_OP_DEREG_MR, mr->lkey);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	struct vm_mr *m = (struct vm_mr *)mr;
	((struct vm_buf *)mr->buf)->mrs--;
	UNLINK(c->mrs, struct vm_mr, m);
	free(m);
	return rc;
}

int vmrdma_alloc_pd(struct vmrdma_context *c, struct vmrdma_pd **out)
{
	if (c == NULL || out == NULL)
		return vm_fail(-EINVAL, "vmrdma_alloc_pd: NULL argument");
	*out = NULL;
	struct vm_pd *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	int rc = vm_ring_simple(c, ABI_OP_ALLOC_PD, 0);
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
	int rc = vm_ring_simple(c, ABI_OP_DEALLOC_PD, pd->handle);
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
	int rc = vm_ring_simple(c, ABI_OP_CREATE_CQ, (uint32_t)depth);
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
	int rc = vm_ring_simple(c, ABI_OP_DESTROY_CQ, cq->handle);
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
	uint8_t *e = vm_ring_begin(c, &rc);
	if (e == NULL) {
		free(q);
		return rc;
	}
	abi_encode_create_qp(e, c->req_prod_pvt, pd->handle, a->send_cq->handle, a->recv_cq->handle, a->max_send_wr,
			     a->max_recv_wr, a->max_sge, a->sq_sig_all);
	if ((rc = vm_ring_call(c)) < 0) {
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
	uint8_t *e = vm_ring_begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_modify_qp(e, c->req_prod_pvt, qp->qp_num, a);
	return vm_ring_call(c);
}

int vmrdma_destroy_qp(struct vmrdma_qp *qp)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_destroy_qp: NULL qp");
	struct vmrdma_context *c = qp->context;
	int rc = vm_ring_simple(c, ABI_OP_DESTROY_QP, qp->qp_num);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	struct vm_qp *q = (struct vm_qp *)qp;
	UNLINK(c->qps, struct vm_qp, q);
	free(q);
	return rc;
}

int vmrdma_post_send(struct vmrdma_qp *qp, const struct vmrdma_send_wr *wr)
{
	if (qp == NULL || wr == NULL)
		return vm_fail(-EINVAL, "vmrdma_post_send: NULL argument");
	int rc = vm_ring_take_deferred(qp->context);
	if (rc < 0)
		return rc;
	uint8_t e[ABI_ENTRY];
	if (abi_encode_post_send(e, 0, qp->qp_num, wr) < 0)
		return vm_fail(-EINVAL,
			       "vmrdma_post_send: opcode %d, send_flags 0x%x, num_sge %d (0..%d, lengths < 2^31)",
			       (int)wr->opcode, wr->send_flags, wr->num_sge, VMRDMA_MAX_SGE);
	return vm_ring_submit_post(qp->context, e);
}

int vmrdma_post_recv(struct vmrdma_qp *qp, const struct vmrdma_recv_wr *wr)
{
	if (qp == NULL || wr == NULL)
		return vm_fail(-EINVAL, "vmrdma_post_recv: NULL argument");
	int rc = vm_ring_take_deferred(qp->context);
	if (rc < 0)
		return rc;
	uint8_t e[ABI_ENTRY];
	if (abi_encode_post_recv(e, 0, qp->qp_num, wr) < 0)
		return vm_fail(-EINVAL, "vmrdma_post_recv: num_sge %d (0..%d, lengths < 2^31)", wr->num_sge,
			       VMRDMA_MAX_SGE);
	return vm_ring_submit_post(qp->context, e);
}

int vmrdma_poll_cq(struct vmrdma_cq *cq, int num_entries, struct vmrdma_wc *wc)
{
	if (cq == NULL || num_entries < 0 || (num_entries > 0 && wc == NULL))
		return vm_fail(-EINVAL, "vmrdma_poll_cq: NULL cq or wc, or num_entries %d", num_entries);
	struct vm_cq *q = (struct vm_cq *)cq;
	struct vmrdma_context *c = cq->context;
	int rc;
	if (q->n == 0 && !c->closed && (rc = vm_ring_reap(c)) < 0)
		return rc;
	if ((rc = vm_ring_take_deferred(c)) < 0)
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
	int rc = vm_ring_wait(c, cq_ready, cq, timeout_ms);
	if (rc < 0)
		return rc;
	return vmrdma_poll_cq(cq, 1, wc);
}
