/*
 * Event queues, passive endpoints and the connection manager: libvmrdma's connection events, read from the
 * guest's one event ring, go to the event queue of the listener or endpoint they name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfi.h"

/* ---- event queue ---- */

void vfi_eq_push(struct vfi_eq *eq, struct vfi_eq_entry *e)
{
	e->next = NULL;
	if (eq->tail)
		eq->tail->next = e;
	else
		eq->head = e;
	eq->tail = e;
}

void vfi_eq_forget(struct vfi_eq *eq, const struct fid *fid)
{
	struct vfi_eq_entry **p = &eq->head, *last = NULL;
	while (*p) {
		struct vfi_eq_entry *e = *p;
		if ((e->is_error ? e->err.fid : e->u.entry.fid) == fid) {
			*p = e->next;
			free(e);
		} else {
			last = e;
			p = &e->next;
		}
	}
	eq->tail = last;
}

static ssize_t eq_read_locked(struct vfi_eq *eq, uint32_t *event, void *buf, size_t len, uint64_t flags)
{
	vfi_cm_progress();
	struct vfi_eq_entry *e = eq->head;
	if (e == NULL)
		return -FI_EAGAIN;
	if (e->is_error)
		return -FI_EAVAIL;
	if (len < e->len)
		return -FI_ETOOSMALL;
	if (event)
		*event = e->event;
	memcpy(buf, e->u.bytes, e->len);
	ssize_t n = (ssize_t)e->len;
	if (!(flags & FI_PEEK)) {
		eq->head = e->next;
		if (eq->head == NULL)
			eq->tail = NULL;
		free(e);
	}
	return n;
}

static ssize_t eq_read(struct fid_eq *fid, uint32_t *event, void *buf, size_t len, uint64_t flags)
{
	vfi_lock();
	ssize_t n = eq_read_locked((struct vfi_eq *)fid, event, buf, len, flags);
	vfi_unlock();
	return n;
}

static ssize_t eq_readerr(struct fid_eq *fid, struct fi_eq_err_entry *buf, uint64_t flags)
{
	struct vfi_eq *eq = (struct vfi_eq *)fid;
	vfi_lock();
	struct vfi_eq_entry *e = eq->head;
	ssize_t n = -FI_EAGAIN;
	if (e != NULL && e->is_error) {
		*buf = e->err;
		n = sizeof(*buf);
		if (!(flags & FI_PEEK)) {
			eq->head = e->next;
			if (eq->head == NULL)
				eq->tail = NULL;
			free(eq->last_error);
			eq->last_error = e;
		}
	}
	vfi_unlock();
	return n;
}

static ssize_t eq_write(struct fid_eq *fid, uint32_t event, const void *buf, size_t len, uint64_t flags)
{
	struct vfi_eq_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -FI_ENOMEM;
	if (len > sizeof(e->u.bytes) || len < sizeof(struct fi_eq_entry)) {
		free(e);
		return -FI_EINVAL;
	}
	(void)flags;
	e->event = event;
	e->len = len;
	memcpy(e->u.bytes, buf, len);
	vfi_lock();
	vfi_eq_push((struct vfi_eq *)fid, e);
	vfi_unlock();
	return (ssize_t)len;
}

static ssize_t eq_sread(struct fid_eq *fid, uint32_t *event, void *buf, size_t len, int timeout, uint64_t flags)
{
	int64_t deadline = timeout < 0 ? INT64_MAX : vfi_now_ms() + timeout;
	for (unsigned turn = 0;; turn++) {
		ssize_t n = eq_read(fid, event, buf, len, flags);
		if (n != -FI_EAGAIN || vfi_now_ms() >= deadline)
			return n;
		vfi_pause(turn);
	}
}

static const char *eq_strerror(struct fid_eq *fid, int prov_errno, const void *err_data, char *buf, size_t len)
{
	(void)fid, (void)err_data;
	const char *s = prov_errno >= 0 ? vmrdma_cm_event_str((enum vmrdma_cm_event_type)prov_errno) : "unknown";
	if (buf && len) {
		strncpy(buf, s, len - 1);
		buf[len - 1] = '\0';
		return buf;
	}
	return s;
}

static int eq_close(struct fid *fid)
{
	struct vfi_eq *eq = (struct vfi_eq *)fid;
	vfi_lock();
	while (eq->head) {
		struct vfi_eq_entry *e = eq->head;
		eq->head = e->next;
		if (!e->is_error && (e->event == FI_CONNREQ) && vfi_cm_entry(e)->info) {
			free(vfi_cm_entry(e)->info->handle);
			vfi_cm_entry(e)->info->handle = NULL;
			fi_freeinfo(vfi_cm_entry(e)->info);
		}
		free(e);
	}
	free(eq->last_error);
	vfi_unlock();
	free(eq);
	return 0;
}

static struct fi_ops vfi_eq_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = eq_close,
	.bind = vfi_no_bind,
	.control = vfi_no_control,
	.ops_open = vfi_no_ops_open,
};

static struct fi_ops_eq vfi_eq_ops = {
	.size = sizeof(struct fi_ops_eq),
	.read = eq_read,
	.readerr = eq_readerr,
	.write = eq_write,
	.sread = eq_sread,
	.strerror = eq_strerror,
};

int vfi_eq_open(struct fid_fabric *fabric, struct fi_eq_attr *attr, struct fid_eq **out, void *context)
{
	(void)fabric;
	if (attr && attr->wait_obj != FI_WAIT_NONE && attr->wait_obj != FI_WAIT_UNSPEC)
		return -FI_ENOSYS; /* blocking reads poll: there is no file descriptor to hand out */
	struct vfi_eq *eq = calloc(1, sizeof(*eq));
	if (eq == NULL)
		return -FI_ENOMEM;
	eq->eq.fid.fclass = FI_CLASS_EQ;
	eq->eq.fid.context = context;
	eq->eq.fid.ops = &vfi_eq_fi_ops;
	eq->eq.ops = &vfi_eq_ops;
	*out = &eq->eq;
	return 0;
}

/* ---- connection events ---- */

static void connect_request(const struct vmrdma_cm_event *ev)
{
	struct vfi_pep *pep = vfi_listener(ev->service_id);
	if (pep == NULL || pep->eq == NULL || ev->private_data_len < VFI_CM_HEADER || !ev->remote_valid) {
		if (pep == NULL)
			vfi_dev.counters.unknown_requests++;
		else
			vfi_dev.counters.bad_cm_data++;
		vmrdma_reject(vfi_dev.ctx, ev->connection_id, "no such vmrdma-fi listener");
		return;
	}
	struct vfi_eq_entry *e = calloc(1, sizeof(*e));
	struct vfi_connreq *req = calloc(1, sizeof(*req));
	struct fi_info *info = fi_dupinfo(pep->info);
	struct sockaddr_in6 *peer = malloc(sizeof(*peer));
	if (e == NULL || req == NULL || info == NULL || peer == NULL) {
		free(e), free(req), free(peer), fi_freeinfo(info);
		vmrdma_reject(vfi_dev.ctx, ev->connection_id, "out of memory");
		return;
	}
	req->fid.fclass = FI_CLASS_CONNREQ;
	req->connection_id = ev->connection_id;
	req->peer_base = vfi_get_u64(ev->private_data);
	req->peer_node = ev->remote_node;
	req->peer_domid = ev->remote_domid;
	/* The requester's address has no port: a connecting endpoint listens nowhere (ofi_rxm sends its own). */
	vfi_addr_make(ev->remote_node, ev->remote_domid, 0, peer);
	free(info->dest_addr);
	info->dest_addr = peer;
	info->dest_addrlen = sizeof(*peer);
	info->handle = &req->fid;
	size_t data = (size_t)ev->private_data_len - VFI_CM_HEADER;
	e->event = FI_CONNREQ;
	vfi_cm_entry(e)->fid = &pep->pep.fid;
	vfi_cm_entry(e)->info = info;
	memcpy(vfi_cm_entry(e)->data, ev->private_data + VFI_CM_HEADER, data);
	e->len = sizeof(struct fi_eq_cm_entry) + data;
	vfi_eq_push(pep->eq, e);
}

void vfi_cm_progress(void)
{
	struct vmrdma_cm_event ev;
	if (vfi_dev.ctx == NULL)
		return;
	while (vmrdma_poll_cm_event(vfi_dev.ctx, &ev) == 1) {
		if (ev.event == VMRDMA_CM_CONNECT_REQUEST) {
			connect_request(&ev);
			continue;
		}
		struct vfi_ep *ep = ev.local_qpn >= 0 ? vfi_ep_by_qpn((uint32_t)ev.local_qpn) : NULL;
		if (ep == NULL)
			continue; /* an endpoint closed meanwhile */
		switch (ev.event) {
		case VMRDMA_CM_ESTABLISHED:
			vfi_ep_established(ep, &ev);
			break;
		case VMRDMA_CM_REJECTED:
		case VMRDMA_CM_UNREACHABLE:
			vfi_ep_failed(ep, &ev);
			break;
		case VMRDMA_CM_DISCONNECTED:
			vfi_ep_disconnected(ep);
			break;
		default:
			break;
		}
	}
}

/* ---- passive endpoint ---- */

struct vfi_pep *vfi_listener(uint64_t service)
{
	for (struct vfi_pep *p = vfi_dev.listeners; p; p = p->next)
		if (vfi_service(vfi_dev.domid, p->port) == service)
			return p;
	return NULL;
}

static int pep_close(struct fid *fid)
{
	struct vfi_pep *pep = (struct vfi_pep *)fid;
	vfi_lock();
	if (pep->listening) {
		vmrdma_stop_listen(vfi_dev.ctx, vfi_service(vfi_dev.domid, pep->port));
		struct vfi_pep **p = &vfi_dev.listeners;
		while (*p && *p != pep)
			p = &(*p)->next;
		if (*p)
			*p = pep->next;
	}
	if (pep->eq)
		vfi_eq_forget(pep->eq, fid);
	vfi_unlock();
	fi_freeinfo(pep->info);
	free(pep);
	return 0;
}

static int pep_bind(struct fid *fid, struct fid *bfid, uint64_t flags)
{
	(void)flags;
	if (bfid == NULL || bfid->fclass != FI_CLASS_EQ)
		return -FI_EINVAL;
	((struct vfi_pep *)fid)->eq = (struct vfi_eq *)bfid;
	return 0;
}

static int pep_listen(struct fid_pep *fid)
{
	struct vfi_pep *pep = (struct vfi_pep *)fid;
	if (pep->eq == NULL)
		return -FI_ENOEQ;
	vfi_lock();
	int rc = 0;
	if (!pep->listening) {
		int chosen = pep->port == 0;
		/* A port of our own choosing that another listener of this guest holds: try the next ones. */
		for (int tries = 0; tries < 64; tries++) {
			if (chosen) {
				pep->port = vfi_dev.next_port++;
				if (pep->port == 0)
					pep->port = vfi_dev.next_port++;
			}
			rc = vmrdma_listen(vfi_dev.ctx, vfi_service(vfi_dev.domid, pep->port));
			if (rc != -EEXIST || !chosen)
				break;
		}
		if (rc == 0) {
			pep->listening = 1;
			pep->next = vfi_dev.listeners;
			vfi_dev.listeners = pep;
		} else {
			FI_WARN(&vfi_prov, FI_LOG_EP_CTRL, "listen on port %u: %s\n", pep->port, vmrdma_last_error());
		}
	}
	vfi_unlock();
	return rc < 0 ? (rc == -EEXIST ? -FI_EADDRINUSE : vfi_err(rc)) : 0;
}

static int pep_getname(fid_t fid, void *addr, size_t *addrlen)
{
	struct vfi_pep *pep = (struct vfi_pep *)fid;
	struct sockaddr_in6 sa;
	vfi_addr_make(vfi_dev.node, vfi_dev.domid, pep->port, &sa);
	return vfi_copy_name(&sa, addr, addrlen);
}

static int pep_setname(fid_t fid, void *addr, size_t addrlen)
{
	struct vfi_pep *pep = (struct vfi_pep *)fid;
	uint16_t node, domid, port;
	if (pep->listening)
		return -FI_EBUSY;
	if (vfi_addr_parse(addr, addrlen, &node, &domid, &port) < 0)
		return -FI_EINVAL;
	pep->port = port;
	return 0;
}

static int pep_reject(struct fid_pep *fid, fid_t handle, const void *param, size_t len)
{
	(void)fid;
	if (handle == NULL || handle->fclass != FI_CLASS_CONNREQ || len > VFI_REJECT_DATA_MAX
	    || (len > 0 && param == NULL))
		return -FI_EINVAL;
	struct vfi_connreq *req = (struct vfi_connreq *)handle;
	char reason[VMRDMA_MAX_EVENT_REASON + 1];
	vfi_reject_encode(param, len, reason);
	vfi_lock();
	int rc = vmrdma_reject(vfi_dev.ctx, req->connection_id, reason);
	vfi_unlock();
	free(req);
	return rc < 0 ? vfi_err(rc) : 0;
}

static int no_setopt(fid_t fid, int level, int optname, const void *optval, size_t optlen)
{
	(void)fid, (void)level, (void)optname, (void)optval, (void)optlen;
	return -FI_ENOPROTOOPT;
}

static struct fi_ops vfi_pep_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = pep_close,
	.bind = pep_bind,
	.control = vfi_no_control,
	.ops_open = vfi_no_ops_open,
};

static struct fi_ops_ep vfi_pep_ep_ops = {
	.size = sizeof(struct fi_ops_ep),
	.getopt = vfi_getopt,
	.setopt = no_setopt,
};

static struct fi_ops_cm vfi_pep_cm_ops = {
	.size = sizeof(struct fi_ops_cm),
	.setname = pep_setname,
	.getname = pep_getname,
	.listen = pep_listen,
	.reject = pep_reject,
};

int vfi_passive_ep(struct fid_fabric *fabric, struct fi_info *info, struct fid_pep **out, void *context)
{
	(void)fabric;
	if (info == NULL)
		return -FI_EINVAL;
	struct vfi_pep *pep = calloc(1, sizeof(*pep));
	if (pep == NULL || (pep->info = fi_dupinfo(info)) == NULL) {
		free(pep);
		return -FI_ENOMEM;
	}
	uint16_t node, domid, port;
	if (info->src_addr && vfi_addr_parse(info->src_addr, info->src_addrlen, &node, &domid, &port) == 0)
		pep->port = port;
	pep->pep.fid.fclass = FI_CLASS_PEP;
	pep->pep.fid.context = context;
	pep->pep.fid.ops = &vfi_pep_fi_ops;
	pep->pep.ops = &vfi_pep_ep_ops;
	pep->pep.cm = &vfi_pep_cm_ops;
	*out = &pep->pep;
	return 0;
}
