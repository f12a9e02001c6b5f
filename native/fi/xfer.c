/*
 * Messages and RMA on a connected endpoint. Every operation moves through a bounce buffer of granted pages: a send
 * or write copies the application's bytes in before it is posted, a receive or read copies them out when it
 * completes. RMA names the peer's regions by the keys vfi_mr hands out.
 */
#include <errno.h>
#include <string.h>

#include "vfi.h"

static struct vfi_op *op_take(struct vfi_ep *ep, int rx, uint32_t *index)
{
	int32_t *head = rx ? &ep->free_rx : &ep->free_tx;
	if (*head < 0)
		return NULL;
	uint32_t i = (uint32_t)*head;
	struct vfi_op *op = &ep->ops[i];
	*head = op->next_free;
	memset(op, 0, sizeof(*op));
	op->in_use = 1;
	if (rx)
		ep->rx_busy++;
	else
		ep->tx_busy++;
	*index = i;
	return op;
}

static void op_give_back(struct vfi_ep *ep, uint32_t i)
{
	struct vfi_op *op = &ep->ops[i];
	int rx = op->kind == VFI_OP_RECV;
	if (op->bounce)
		vfi_bounce_put(op->bounce);
	op->bounce = NULL;
	op->in_use = 0;
	int32_t *head = rx ? &ep->free_rx : &ep->free_tx;
	op->next_free = *head;
	*head = (int32_t)i;
	if (rx)
		ep->rx_busy--;
	else
		ep->tx_busy--;
}

void vfi_ops_release(struct vfi_ep *ep)
{
	for (uint32_t i = 0; i < ep->tx_size + ep->rx_size; i++)
		if (ep->ops[i].in_use)
			op_give_back(ep, i);
}

/* An operation with a bounce buffer of len bytes; NULL with *rc set when the queue or the pool has none left. */
static struct vfi_op *op_begin(struct vfi_ep *ep, int rx, size_t len, uint32_t *index, ssize_t *rc)
{
	struct vfi_op *op = op_take(ep, rx, index);
	if (op == NULL) {
		*rc = -FI_EAGAIN;
		return NULL;
	}
	int r = vfi_bounce_get(len, 0, &op->bounce);
	if (r < 0) {
		op_give_back(ep, *index);
		*rc = r;
		return NULL;
	}
	return op;
}

static uint64_t wr_id(const struct vfi_ep *ep, uint32_t index)
{
	return (uint64_t)ep->id << 32 | index;
}

static int post_receive(struct vfi_ep *ep, uint32_t i)
{
	struct vfi_op *op = &ep->ops[i];
	struct vmrdma_sge sge = {op->bounce->mr->addr, (uint32_t)op->len, op->bounce->mr->lkey};
	struct vmrdma_recv_wr wr = {.wr_id = wr_id(ep, i), .num_sge = 1, .sg_list = &sge};
	int rc = vmrdma_post_recv(ep->qp, &wr);
	if (rc == 0)
		op->posted = 1;
	return rc;
}

void vfi_post_queued_receives(struct vfi_ep *ep)
{
	/* Receives queued before the connection came up were taken from a fresh free list: index order is post order. */
	for (uint32_t i = ep->tx_size; i < ep->tx_size + ep->rx_size; i++) {
		struct vfi_op *op = &ep->ops[i];
		if (op->in_use && !op->posted && post_receive(ep, i) < 0) {
			vfi_dev.counters.refused_posts++;
			FI_WARN(&vfi_prov, FI_LOG_EP_DATA, "queued receive refused: %s\n", vmrdma_last_error());
		}
	}
}

/* Whether the endpoint can take a send now: 0, -FI_EAGAIN while its connection is being made, else -FI_ENOTCONN. */
static int ready_to_send(struct vfi_ep *ep)
{
	if (ep->state == VFI_EP_CONNECTING || ep->state == VFI_EP_ACCEPTING)
		vfi_cm_progress();
	if (ep->state == VFI_EP_CONNECTED)
		return 0;
	return ep->state == VFI_EP_CONNECTING || ep->state == VFI_EP_ACCEPTING ? -FI_EAGAIN : -FI_ENOTCONN;
}

struct xfer {
	enum vfi_op_kind kind;
	const struct iovec *iov;
	size_t count;
	void *context;
	uint64_t flags;
	uint64_t data;
	uint64_t addr; /* RMA: offset in the peer's region */
	uint64_t key;
};

static ssize_t post_transmit(struct vfi_ep *ep, const struct xfer *x)
{
	if (x->count > VFI_IOV_LIMIT || (x->count > 0 && x->iov == NULL))
		return -FI_EINVAL;
	size_t len = vfi_iov_length(x->iov, x->count);
	if (len > VFI_MAX_MSG_SIZE || ((x->flags & FI_INJECT) && len > VFI_INJECT_SIZE))
		return -FI_EMSGSIZE;
	int remote_data = (x->flags & FI_REMOTE_CQ_DATA) != 0;
	if (remote_data && x->kind == VFI_OP_WRITE && !ep->rx_cq_data)
		return -FI_EOPNOTSUPP; /* a write with data consumes the peer's receive: only in mode FI_RX_CQ_DATA */
	uint64_t iova = 0;
	uint32_t rkey = 0;
	if (x->kind != VFI_OP_SEND && vfi_remote(ep->peer_base, x->key, x->addr, len, &iova, &rkey) < 0)
		return -FI_EINVAL;
	vfi_lock();
	uint32_t i;
	ssize_t rc = ready_to_send(ep);
	struct vfi_op *op = rc == 0 ? op_begin(ep, 0, len, &i, &rc) : NULL;
	if (op == NULL) {
		vfi_unlock();
		return rc;
	}
	op->kind = (uint8_t)x->kind;
	op->context = x->context;
	op->len = len;
	op->data = x->data;
	op->report = !(x->flags & FI_INJECT) && (!ep->tx_selective || (x->flags & FI_COMPLETION));
	if (x->kind == VFI_OP_READ) {
		memcpy(op->iov, x->iov, x->count * sizeof(*x->iov));
		op->count = x->count;
		op->flags = FI_RMA | FI_READ;
	} else {
		vfi_copy_from_iov(op->bounce->buf->addr, len, x->iov, x->count);
		op->flags = x->kind == VFI_OP_SEND ? FI_SEND | FI_MSG : FI_RMA | FI_WRITE;
	}
	struct vmrdma_sge sge = {op->bounce->mr->addr, (uint32_t)len, op->bounce->mr->lkey};
	struct vmrdma_send_wr wr = {.wr_id = wr_id(ep, i),
				    .send_flags = VMRDMA_SEND_SIGNALED,
				    .num_sge = len ? 1 : 0,
				    .sg_list = &sge,
				    .remote_addr = iova,
				    .rkey = rkey,
				    .imm_data = (uint32_t)x->data};
	switch (x->kind) {
	case VFI_OP_SEND:
		wr.opcode = remote_data ? VMRDMA_WR_SEND_WITH_IMM : VMRDMA_WR_SEND;
		break;
	case VFI_OP_WRITE:
		wr.opcode = remote_data ? VMRDMA_WR_RDMA_WRITE_WITH_IMM : VMRDMA_WR_RDMA_WRITE;
		break;
	default:
		wr.opcode = VMRDMA_WR_RDMA_READ;
		break;
	}
	rc = vmrdma_post_send(ep->qp, &wr);
	if (rc < 0)
		op_give_back(ep, i);
	else
		op->posted = 1;
	vfi_unlock();
	return rc < 0 ? vfi_err((int)rc) : 0;
}

static ssize_t post_recv(struct vfi_ep *ep, const struct iovec *iov, size_t count, void *context, uint64_t flags)
{
	if (count > VFI_IOV_LIMIT || (count > 0 && iov == NULL))
		return -FI_EINVAL;
	size_t len = vfi_iov_length(iov, count);
	if (len > VFI_MAX_MSG_SIZE)
		return -FI_EMSGSIZE;
	vfi_lock();
	uint32_t i;
	ssize_t rc = ep->state == VFI_EP_SHUTDOWN ? -FI_ENOTCONN : 0;
	struct vfi_op *op = rc == 0 ? op_begin(ep, 1, len, &i, &rc) : NULL;
	if (op == NULL) {
		vfi_unlock();
		return rc;
	}
	op->kind = VFI_OP_RECV;
	op->context = context;
	op->len = len;
	memcpy(op->iov, iov, count * sizeof(*iov));
	op->count = count;
	op->report = !ep->rx_selective || (flags & FI_COMPLETION);
	/* Before the connection is up the queue pair takes no receives: they wait in the endpoint. */
	if (ep->state == VFI_EP_CONNECTED && (rc = post_receive(ep, i)) < 0)
		op_give_back(ep, i);
	vfi_unlock();
	return rc < 0 ? vfi_err((int)rc) : 0;
}

/* ---- fi_ops_msg ---- */

static ssize_t msg_recv(struct fid_ep *ep, void *buf, size_t len, void *desc, fi_addr_t src, void *context)
{
	(void)desc, (void)src;
	struct iovec iov = {buf, len};
	struct vfi_ep *e = (struct vfi_ep *)ep;
	return post_recv(e, &iov, 1, context, e->rx_op_flags);
}

static ssize_t msg_recvv(struct fid_ep *ep, const struct iovec *iov, void **desc, size_t count, fi_addr_t src,
			 void *context)
{
	(void)desc, (void)src;
	struct vfi_ep *e = (struct vfi_ep *)ep;
	return post_recv(e, iov, count, context, e->rx_op_flags);
}

static ssize_t msg_recvmsg(struct fid_ep *ep, const struct fi_msg *msg, uint64_t flags)
{
	return post_recv((struct vfi_ep *)ep, msg->msg_iov, msg->iov_count, msg->context, flags);
}

static ssize_t send_of(struct fid_ep *ep, const struct iovec *iov, size_t count, void *context, uint64_t flags,
		       uint64_t data)
{
	struct vfi_ep *e = (struct vfi_ep *)ep;
	struct xfer x = {VFI_OP_SEND, iov, count, context, flags | e->tx_op_flags, data, 0, 0};
	return post_transmit(e, &x);
}

static ssize_t msg_send(struct fid_ep *ep, const void *buf, size_t len, void *desc, fi_addr_t dest, void *context)
{
	(void)desc, (void)dest;
	struct iovec iov = {(void *)buf, len};
	return send_of(ep, &iov, 1, context, 0, 0);
}

static ssize_t msg_sendv(struct fid_ep *ep, const struct iovec *iov, void **desc, size_t count, fi_addr_t dest,
			 void *context)
{
	(void)desc, (void)dest;
	return send_of(ep, iov, count, context, 0, 0);
}

static ssize_t msg_sendmsg(struct fid_ep *ep, const struct fi_msg *msg, uint64_t flags)
{
	struct vfi_ep *e = (struct vfi_ep *)ep;
	struct xfer x = {VFI_OP_SEND, msg->msg_iov, msg->iov_count, msg->context, flags, msg->data, 0, 0};
	return post_transmit(e, &x);
}

static ssize_t msg_inject(struct fid_ep *ep, const void *buf, size_t len, fi_addr_t dest)
{
	(void)dest;
	struct iovec iov = {(void *)buf, len};
	return send_of(ep, &iov, 1, NULL, FI_INJECT, 0);
}

static ssize_t msg_senddata(struct fid_ep *ep, const void *buf, size_t len, void *desc, uint64_t data, fi_addr_t dest,
			    void *context)
{
	(void)desc, (void)dest;
	struct iovec iov = {(void *)buf, len};
	return send_of(ep, &iov, 1, context, FI_REMOTE_CQ_DATA, data);
}

static ssize_t msg_injectdata(struct fid_ep *ep, const void *buf, size_t len, uint64_t data, fi_addr_t dest)
{
	(void)dest;
	struct iovec iov = {(void *)buf, len};
	return send_of(ep, &iov, 1, NULL, FI_INJECT | FI_REMOTE_CQ_DATA, data);
}

struct fi_ops_msg vfi_msg_ops = {
	.size = sizeof(struct fi_ops_msg),
	.recv = msg_recv,
	.recvv = msg_recvv,
	.recvmsg = msg_recvmsg,
	.send = msg_send,
	.sendv = msg_sendv,
	.sendmsg = msg_sendmsg,
	.inject = msg_inject,
	.senddata = msg_senddata,
	.injectdata = msg_injectdata,
};

/* ---- fi_ops_rma ---- */

static ssize_t rma_of(struct fid_ep *ep, enum vfi_op_kind kind, const struct iovec *iov, size_t count, void *context,
		      uint64_t flags, uint64_t data, uint64_t addr, uint64_t key)
{
	struct vfi_ep *e = (struct vfi_ep *)ep;
	struct xfer x = {kind, iov, count, context, flags | e->tx_op_flags, data, addr, key};
	return post_transmit(e, &x);
}

static ssize_t rma_read(struct fid_ep *ep, void *buf, size_t len, void *desc, fi_addr_t src, uint64_t addr,
			uint64_t key, void *context)
{
	(void)desc, (void)src;
	struct iovec iov = {buf, len};
	return rma_of(ep, VFI_OP_READ, &iov, 1, context, 0, 0, addr, key);
}

static ssize_t rma_readv(struct fid_ep *ep, const struct iovec *iov, void **desc, size_t count, fi_addr_t src,
			 uint64_t addr, uint64_t key, void *context)
{
	(void)desc, (void)src;
	return rma_of(ep, VFI_OP_READ, iov, count, context, 0, 0, addr, key);
}

static ssize_t rma_msg(struct fid_ep *ep, enum vfi_op_kind kind, const struct fi_msg_rma *msg, uint64_t flags)
{
	if (msg->rma_iov_count != 1 || msg->rma_iov == NULL)
		return -FI_EINVAL;
	struct xfer x = {kind,	msg->msg_iov, msg->iov_count,	    msg->context,
			 flags, msg->data,    msg->rma_iov[0].addr, msg->rma_iov[0].key};
	if (msg->rma_iov[0].len != vfi_iov_length(msg->msg_iov, msg->iov_count))
		return -FI_EINVAL;
	return post_transmit((struct vfi_ep *)ep, &x);
}

static ssize_t rma_readmsg(struct fid_ep *ep, const struct fi_msg_rma *msg, uint64_t flags)
{
	return rma_msg(ep, VFI_OP_READ, msg, flags);
}

static ssize_t rma_write(struct fid_ep *ep, const void *buf, size_t len, void *desc, fi_addr_t dest, uint64_t addr,
			 uint64_t key, void *context)
{
	(void)desc, (void)dest;
	struct iovec iov = {(void *)buf, len};
	return rma_of(ep, VFI_OP_WRITE, &iov, 1, context, 0, 0, addr, key);
}

static ssize_t rma_writev(struct fid_ep *ep, const struct iovec *iov, void **desc, size_t count, fi_addr_t dest,
			  uint64_t addr, uint64_t key, void *context)
{
	(void)desc, (void)dest;
	return rma_of(ep, VFI_OP_WRITE, iov, count, context, 0, 0, addr, key);
}

static ssize_t rma_writemsg(struct fid_ep *ep, const struct fi_msg_rma *msg, uint64_t flags)
{
	return rma_msg(ep, VFI_OP_WRITE, msg, flags);
}

static ssize_t rma_inject(struct fid_ep *ep, const void *buf, size_t len, fi_addr_t dest, uint64_t addr, uint64_t key)
{
	(void)dest;
	struct iovec iov = {(void *)buf, len};
	return rma_of(ep, VFI_OP_WRITE, &iov, 1, NULL, FI_INJECT, 0, addr, key);
}

static ssize_t rma_writedata(struct fid_ep *ep, const void *buf, size_t len, void *desc, uint64_t data, fi_addr_t dest,
			     uint64_t addr, uint64_t key, void *context)
{
	(void)desc, (void)dest;
	struct iovec iov = {(void *)buf, len};
	return rma_of(ep, VFI_OP_WRITE, &iov, 1, context, FI_REMOTE_CQ_DATA, data, addr, key);
}

static ssize_t rma_injectdata(struct fid_ep *ep, const void *buf, size_t len, uint64_t data, fi_addr_t dest,
			      uint64_t addr, uint64_t key)
{
	(void)dest;
	struct iovec iov = {(void *)buf, len};
	return rma_of(ep, VFI_OP_WRITE, &iov, 1, NULL, FI_INJECT | FI_REMOTE_CQ_DATA, data, addr, key);
}

struct fi_ops_rma vfi_rma_ops = {
	.size = sizeof(struct fi_ops_rma),
	.read = rma_read,
	.readv = rma_readv,
	.readmsg = rma_readmsg,
	.write = rma_write,
	.writev = rma_writev,
	.writemsg = rma_writemsg,
	.inject = rma_inject,
	.writedata = rma_writedata,
	.injectdata = rma_injectdata,
};

/* ---- completions ---- */

static int error_of(enum vmrdma_wc_status status)
{
	switch (status) {
	case VMRDMA_WC_WR_FLUSH_ERR:
		return FI_ECANCELED;
	case VMRDMA_WC_LOC_LEN_ERR:
	case VMRDMA_WC_REM_INV_REQ_ERR:
		return FI_EMSGSIZE;
	case VMRDMA_WC_LOC_PROT_ERR:
	case VMRDMA_WC_LOC_ACCESS_ERR:
	case VMRDMA_WC_REM_ACCESS_ERR:
		return FI_EACCES;
	case VMRDMA_WC_RETRY_EXC_ERR:
	case VMRDMA_WC_RNR_RETRY_EXC_ERR:
		return FI_ETIMEDOUT;
	default:
		return FI_EIO;
	}
}

static void write_entry(enum fi_cq_format format, void *entry, const struct fi_cq_tagged_entry *c)
{
	switch (format) {
	case FI_CQ_FORMAT_CONTEXT:
		((struct fi_cq_entry *)entry)->op_context = c->op_context;
		break;
	case FI_CQ_FORMAT_MSG:
		*(struct fi_cq_msg_entry *)entry = (struct fi_cq_msg_entry){c->op_context, c->flags, c->len};
		break;
	case FI_CQ_FORMAT_DATA:
		*(struct fi_cq_data_entry *)entry =
			(struct fi_cq_data_entry){c->op_context, c->flags, c->len, c->buf, c->data};
		break;
	default:
		*(struct fi_cq_tagged_entry *)entry = *c;
		break;
	}
}

int vfi_complete(struct vfi_cq *cq, const struct vmrdma_wc *wc, void *entry, fi_addr_t *src)
{
	struct vfi_ep *ep = vfi_ep_by_id((uint32_t)(wc->wr_id >> 32));
	uint32_t i = (uint32_t)wc->wr_id;
	if (ep == NULL || i >= ep->tx_size + ep->rx_size || !ep->ops[i].in_use || !ep->ops[i].posted) {
		vfi_dev.counters.stray_completions++;
		return 0;
	}
	struct vfi_op *op = &ep->ops[i];
	struct fi_cq_tagged_entry c = {.op_context = op->context, .flags = op->flags};
	struct fi_cq_err_entry err = {.op_context = op->context, .flags = op->flags};
	int failed = wc->status != VMRDMA_WC_SUCCESS;
	if (!failed && op->kind == VFI_OP_READ) {
		vfi_copy_to_iov(op->iov, op->count, op->bounce->buf->addr, op->len);
	} else if (!failed && op->kind == VFI_OP_RECV) {
		if (wc->opcode == VMRDMA_WC_RECV_RDMA_WITH_IMM) {
			/* A write with data consumed this receive (mode FI_RX_CQ_DATA); its bytes are in a region. */
			c.flags = FI_RMA | FI_REMOTE_WRITE | FI_REMOTE_CQ_DATA;
			c.data = wc->imm_data;
		} else if (wc->byte_len > op->len) {
			failed = 1;
			err.err = FI_ETRUNC;
			err.olen = wc->byte_len - op->len;
			err.len = vfi_copy_to_iov(op->iov, op->count, op->bounce->buf->addr, op->len);
			err.buf = op->count ? op->iov[0].iov_base : NULL;
		} else {
			c.flags = FI_RECV | FI_MSG;
			c.len = vfi_copy_to_iov(op->iov, op->count, op->bounce->buf->addr, wc->byte_len);
			c.buf = op->count ? op->iov[0].iov_base : NULL;
			if (wc->wc_flags & VMRDMA_WC_WITH_IMM) {
				c.flags |= FI_REMOTE_CQ_DATA;
				c.data = wc->imm_data;
			}
		}
	}
	if (failed && err.err == 0) {
		err.err = error_of(wc->status);
		err.prov_errno = (int)wc->status;
	}
	if (!failed) {
		vfi_dev.counters.transfers++;
		vfi_dev.counters.bytes += op->kind == VFI_OP_RECV ? wc->byte_len : op->len;
	}
	int report = op->report || failed;
	op_give_back(ep, i);
	if (!report)
		return 0;
	if (failed) {
		vfi_cq_push_error(cq, &err);
		return 0;
	}
	write_entry(cq->format, entry, &c);
	if (src)
		*src = FI_ADDR_NOTAVAIL;
	return 1;
}
