/*
 * Connected endpoints: one libvmrdma queue pair each, made when the endpoint is enabled and connected through
 * vmrdma's connection manager. Connection data carries the sender's region base ahead of the application's bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfi.h"

struct vfi_ep *vfi_ep_by_qpn(uint32_t qpn)
{
	for (struct vfi_ep *ep = vfi_dev.eps; ep; ep = ep->next)
		if (ep->qp && ep->qp->qp_num == qpn)
			return ep;
	return NULL;
}

struct vfi_ep *vfi_ep_by_id(uint32_t id)
{
	for (struct vfi_ep *ep = vfi_dev.eps; ep; ep = ep->next)
		if (ep->id == id)
			return ep;
	return NULL;
}

/* The provider's header, then the application's data: the bytes that travel with connect and accept. */
static int cm_data(const void *param, size_t len, uint8_t *out, size_t *out_len)
{
	if (len > VFI_CM_DATA_MAX || (len > 0 && param == NULL))
		return -FI_EINVAL;
	vfi_put_u64(out, vfi_dev.region_base);
	if (len)
		memcpy(out + VFI_CM_HEADER, param, len);
	*out_len = VFI_CM_HEADER + len;
	return 0;
}

static struct vfi_eq_entry *event_for(struct vfi_ep *ep)
{
	if (ep->eq == NULL)
		return NULL;
	return calloc(1, sizeof(struct vfi_eq_entry));
}

void vfi_ep_established(struct vfi_ep *ep, const struct vmrdma_cm_event *ev)
{
	size_t data = 0;
	if (ep->state == VFI_EP_CONNECTING) {
		/* The accepting side's header tells where its regions start. */
		if (ev->private_data_len < VFI_CM_HEADER) {
			vfi_dev.counters.bad_cm_data++;
			vmrdma_disconnect(ep->qp);
			return;
		}
		ep->peer_base = vfi_get_u64(ev->private_data);
		data = (size_t)ev->private_data_len - VFI_CM_HEADER;
	}
	ep->state = VFI_EP_CONNECTED;
	vfi_post_queued_receives(ep);
	struct vfi_eq_entry *e = event_for(ep);
	if (e == NULL)
		return;
	e->event = FI_CONNECTED;
	vfi_cm_entry(e)->fid = &ep->ep.fid;
	if (data)
		memcpy(vfi_cm_entry(e)->data, ev->private_data + VFI_CM_HEADER, data);
	e->len = sizeof(struct fi_eq_cm_entry) + data;
	vfi_eq_push(ep->eq, e);
}

void vfi_ep_failed(struct vfi_ep *ep, const struct vmrdma_cm_event *ev)
{
	ep->state = VFI_EP_SHUTDOWN;
	struct vfi_eq_entry *e = event_for(ep);
	if (e == NULL)
		return;
	e->is_error = 1;
	e->err.fid = &ep->ep.fid;
	e->err.context = ep->ep.fid.context;
	e->err.err = ev->event == VMRDMA_CM_REJECTED ? FI_ECONNREFUSED : FI_ETIMEDOUT;
	e->err.prov_errno = (int)ev->event;
	/* A provider's reject carries the rejecting application's data; any other reason is the engine's. */
	size_t bytes = ev->event == VMRDMA_CM_REJECTED ? vfi_reject_decode(ev->reason, e->err_data) : 0;
	if (bytes) {
		e->err.err_data = e->err_data;
		e->err.err_data_size = bytes;
	}
	vfi_eq_push(ep->eq, e);
}

void vfi_ep_disconnected(struct vfi_ep *ep)
{
	if (ep->state == VFI_EP_CONNECTING || ep->state == VFI_EP_ACCEPTING) {
		struct vmrdma_cm_event ev = {.event = VMRDMA_CM_REJECTED};
		vfi_ep_failed(ep, &ev);
		return;
	}
	ep->state = VFI_EP_SHUTDOWN;
	struct vfi_eq_entry *e = event_for(ep);
	if (e == NULL)
		return;
	e->event = FI_SHUTDOWN;
	e->u.entry.fid = &ep->ep.fid;
	e->u.entry.context = ep->ep.fid.context;
	e->len = sizeof(struct fi_eq_entry);
	vfi_eq_push(ep->eq, e);
}

static int ep_enable(struct vfi_ep *ep)
{
	if (ep->qp)
		return 0;
	if (ep->tx_cq == NULL || ep->rx_cq == NULL)
		return -FI_ENOCQ;
	if (ep->eq == NULL)
		return -FI_ENOEQ;
	struct vmrdma_qp_init_attr a = {.send_cq = ep->tx_cq->vcq,
					.recv_cq = ep->rx_cq->vcq,
					.max_send_wr = ep->tx_size,
					.max_recv_wr = ep->rx_size,
					.max_sge = 1};
	int rc = vmrdma_create_qp(vfi_dev.pd, &a, &ep->qp);
	if (rc < 0)
		FI_WARN(&vfi_prov, FI_LOG_EP_CTRL, "queue pair: %s\n", vmrdma_last_error());
	return rc < 0 ? vfi_err(rc) : 0;
}

static int ep_control(struct fid *fid, int command, void *arg)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	int rc;
	switch (command) {
	case FI_ENABLE:
		vfi_lock();
		rc = ep_enable(ep);
		vfi_unlock();
		return rc;
	case FI_GETOPSFLAG:
		if (arg == NULL)
			return -FI_EINVAL;
		*(uint64_t *)arg = (*(uint64_t *)arg & FI_TRANSMIT) ? ep->tx_op_flags : ep->rx_op_flags;
		return 0;
	case FI_SETOPSFLAG:
		if (arg == NULL)
			return -FI_EINVAL;
		if (*(uint64_t *)arg & FI_TRANSMIT)
			ep->tx_op_flags = *(uint64_t *)arg & ~(uint64_t)(FI_TRANSMIT | FI_RECV);
		else
			ep->rx_op_flags = *(uint64_t *)arg & ~(uint64_t)(FI_TRANSMIT | FI_RECV);
		return 0;
	default:
		return -FI_ENOSYS;
	}
}

static int ep_bind(struct fid *fid, struct fid *bfid, uint64_t flags)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	if (bfid == NULL)
		return -FI_EINVAL;
	if (ep->qp)
		return -FI_EOPBADSTATE;
	switch (bfid->fclass) {
	case FI_CLASS_EQ:
		ep->eq = (struct vfi_eq *)bfid;
		return 0;
	case FI_CLASS_CQ:
		if (!(flags & (FI_TRANSMIT | FI_RECV)))
			return -FI_EINVAL;
		if (flags & FI_TRANSMIT) {
			ep->tx_cq = (struct vfi_cq *)bfid;
			ep->tx_selective = (flags & FI_SELECTIVE_COMPLETION) != 0;
		}
		if (flags & FI_RECV) {
			ep->rx_cq = (struct vfi_cq *)bfid;
			ep->rx_selective = (flags & FI_SELECTIVE_COMPLETION) != 0;
		}
		return 0;
	default:
		return -FI_ENOSYS;
	}
}

static int ep_close(struct fid *fid)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	vfi_lock();
	if (ep->qp)
		vmrdma_destroy_qp(ep->qp); /* the peer sees DISCONNECTED; our own work ends without completions */
	struct vfi_ep **p = &vfi_dev.eps;
	while (*p && *p != ep)
		p = &(*p)->next;
	if (*p)
		*p = ep->next;
	if (ep->eq)
		vfi_eq_forget(ep->eq, fid);
	vfi_ops_release(ep);
	vfi_unlock();
	free(ep->connreq);
	free(ep->ops);
	free(ep);
	return 0;
}

static int ep_connect(struct fid_ep *fid, const void *addr, const void *param, size_t paramlen)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	uint16_t node, domid, port;
	uint8_t data[VMRDMA_MAX_PRIVATE_DATA];
	size_t len;
	if (vfi_addr_parse(addr, sizeof(struct sockaddr_in6), &node, &domid, &port) < 0 || port == 0)
		return -FI_EINVAL;
	int rc = cm_data(param, paramlen, data, &len);
	if (rc < 0)
		return rc;
	vfi_lock();
	if ((rc = ep_enable(ep)) == 0 && ep->state != VFI_EP_IDLE)
		rc = -FI_EISCONN;
	if (rc == 0 && (rc = vmrdma_connect(ep->qp, node, vfi_service(domid, port), -1, data, len, NULL)) == 0) {
		ep->state = VFI_EP_CONNECTING;
		ep->peer_node = node;
		ep->peer_domid = domid;
		ep->peer_port = port;
	}
	vfi_unlock();
	return rc < 0 ? vfi_err(rc) : 0;
}

static int ep_accept(struct fid_ep *fid, const void *param, size_t paramlen)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	uint8_t data[VMRDMA_MAX_PRIVATE_DATA];
	size_t len;
	if (ep->connreq == NULL)
		return -FI_EINVAL;
	int rc = cm_data(param, paramlen, data, &len);
	if (rc < 0)
		return rc;
	vfi_lock();
	if ((rc = ep_enable(ep)) == 0 && ep->state != VFI_EP_IDLE)
		rc = -FI_EISCONN;
	if (rc == 0 && (rc = vmrdma_accept(ep->qp, ep->connreq->connection_id, data, len)) == 0)
		ep->state = VFI_EP_ACCEPTING;
	vfi_unlock();
	return rc < 0 ? vfi_err(rc) : 0;
}

static int ep_shutdown(struct fid_ep *fid, uint64_t flags)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	(void)flags;
	vfi_lock();
	int rc = 0;
	if (ep->qp && ep->state == VFI_EP_CONNECTED)
		rc = vmrdma_disconnect(ep->qp);
	vfi_unlock();
	return rc < 0 && rc != -ENOTCONN ? vfi_err(rc) : 0;
}

static int ep_getname(fid_t fid, void *addr, size_t *addrlen)
{
	(void)fid;
	struct sockaddr_in6 sa;
	vfi_addr_make(vfi_dev.node, vfi_dev.domid, 0, &sa);
	return vfi_copy_name(&sa, addr, addrlen);
}

static int ep_getpeer(struct fid_ep *fid, void *addr, size_t *addrlen)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	struct sockaddr_in6 sa;
	if (ep->state == VFI_EP_IDLE)
		return -FI_ENOTCONN;
	vfi_addr_make(ep->peer_node, ep->peer_domid, ep->peer_port, &sa);
	return vfi_copy_name(&sa, addr, addrlen);
}

static int ep_setopt(fid_t fid, int level, int optname, const void *optval, size_t optlen)
{
	(void)fid, (void)level, (void)optname, (void)optval, (void)optlen;
	return -FI_ENOPROTOOPT;
}

static ssize_t ep_cancel(fid_t fid, void *context)
{
	(void)fid, (void)context;
	return -FI_ENOENT; /* posted work is the engine's until it completes */
}

static ssize_t ep_rx_size_left(struct fid_ep *fid)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	return (ssize_t)(ep->rx_size - ep->rx_busy);
}

static ssize_t ep_tx_size_left(struct fid_ep *fid)
{
	struct vfi_ep *ep = (struct vfi_ep *)fid;
	return (ssize_t)(ep->tx_size - ep->tx_busy);
}

static struct fi_ops vfi_ep_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = ep_close,
	.bind = ep_bind,
	.control = ep_control,
	.ops_open = vfi_no_ops_open,
};

static struct fi_ops_ep vfi_ep_ops = {
	.size = sizeof(struct fi_ops_ep),
	.cancel = ep_cancel,
	.getopt = vfi_getopt,
	.setopt = ep_setopt,
	.rx_size_left = ep_rx_size_left,
	.tx_size_left = ep_tx_size_left,
};

static struct fi_ops_cm vfi_ep_cm_ops = {
	.size = sizeof(struct fi_ops_cm),
	.getname = ep_getname,
	.getpeer = ep_getpeer,
	.connect = ep_connect,
	.accept = ep_accept,
	.shutdown = ep_shutdown,
};

/* Operations are threaded on two free lists: sends, writes and reads share the transmit queue's. */
static void ops_init(struct vfi_ep *ep)
{
	uint32_t total = ep->tx_size + ep->rx_size;
	for (uint32_t i = 0; i < total; i++)
		ep->ops[i].next_free = i + 1 == ep->tx_size || i + 1 == total ? -1 : (int32_t)(i + 1);
	ep->free_tx = 0;
	ep->free_rx = (int32_t)ep->tx_size;
}

static uint32_t clamp_queue(size_t asked)
{
	if (asked == 0)
		return VFI_QUEUE_DEFAULT;
	return asked > VFI_QUEUE_MAX ? VFI_QUEUE_MAX : (uint32_t)asked;
}

int vfi_endpoint(struct fid_domain *domain, struct fi_info *info, struct fid_ep **out, void *context)
{
	if (info == NULL || info->ep_attr == NULL || info->ep_attr->type != FI_EP_MSG)
		return -FI_EINVAL;
	if (info->handle && info->handle->fclass != FI_CLASS_CONNREQ)
		return -FI_EINVAL;
	struct vfi_ep *ep = calloc(1, sizeof(*ep));
	if (ep == NULL)
		return -FI_ENOMEM;
	ep->tx_size = clamp_queue(info->tx_attr ? info->tx_attr->size : 0);
	ep->rx_size = clamp_queue(info->rx_attr ? info->rx_attr->size : 0);
	ep->ops = calloc(ep->tx_size + ep->rx_size, sizeof(*ep->ops));
	if (ep->ops == NULL) {
		free(ep);
		return -FI_ENOMEM;
	}
	ops_init(ep);
	ep->tx_op_flags = info->tx_attr ? info->tx_attr->op_flags : 0;
	ep->rx_op_flags = info->rx_attr ? info->rx_attr->op_flags : 0;
	ep->rx_cq_data = (info->mode & FI_RX_CQ_DATA) != 0;
	(void)domain;
	if (info->handle) {
		ep->connreq = (struct vfi_connreq *)info->handle;
		ep->peer_base = ep->connreq->peer_base;
		ep->peer_node = ep->connreq->peer_node;
		ep->peer_domid = ep->connreq->peer_domid;
		/* The endpoint owns the request now (fi_freeinfo never frees a handle). */
	}
	ep->ep.fid.fclass = FI_CLASS_EP;
	ep->ep.fid.context = context;
	ep->ep.fid.ops = &vfi_ep_fi_ops;
	ep->ep.ops = &vfi_ep_ops;
	ep->ep.cm = &vfi_ep_cm_ops;
	ep->ep.msg = &vfi_msg_ops;
	ep->ep.rma = &vfi_rma_ops;
	ep->ep.tagged = &vfi_tagged_ops;
	ep->ep.atomic = &vfi_atomic_ops;
	vfi_lock();
	ep->id = ++vfi_dev.next_ep_id;
	ep->next = vfi_dev.eps;
	vfi_dev.eps = ep;
	vfi_unlock();
	*out = &ep->ep;
	return 0;
}
