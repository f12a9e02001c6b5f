/*
 * The provider's entry point (fi_prov_ini, loaded from FI_PROVIDER_PATH), fi_getinfo's answer, the fabric and
 * the domain.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "vfi.h"

static int vfi_getinfo(uint32_t version, const char *node, const char *service, uint64_t flags,
		       const struct fi_info *hints, struct fi_info **info);
static int vfi_fabric_open(struct fi_fabric_attr *attr, struct fid_fabric **fabric, void *context);
static void vfi_cleanup(void)
{
}

struct fi_provider vfi_prov = {
	.version = VFI_PROV_VERSION,
	.fi_version = FI_VERSION(1, 17),
	.name = VFI_NAME,
	.getinfo = vfi_getinfo,
	.fabric = vfi_fabric_open,
	.cleanup = vfi_cleanup,
};

FI_EXT_INI
{
	return &vfi_prov;
}

/* ---- fi_getinfo ---- */

static int mr_mode_acceptable(uint32_t version, const struct fi_domain_attr *d)
{
	if (d == NULL)
		return 1;
	int mode = d->mr_mode;
	if (mode == FI_MR_BASIC)
		return 1; /* allocated, provider keys, virtual addresses: the keys are the provider's */
	if (mode == FI_MR_SCALABLE)
		return 0;
	if (FI_VERSION_LT(version, FI_VERSION(1, 5)))
		return mode == FI_MR_UNSPEC;
	return (mode & FI_MR_PROV_KEY) != 0;
}

/* Whether hints ask for nothing the provider lacks. */
static int hints_acceptable(uint32_t version, const struct fi_info *h)
{
	if (h == NULL)
		return 1;
	if ((h->caps & ~(uint64_t)VFI_CAPS) != 0)
		return 0;
	if (h->addr_format != FI_FORMAT_UNSPEC && h->addr_format != FI_SOCKADDR_IN6 && h->addr_format != FI_SOCKADDR)
		return 0;
	if (h->ep_attr && h->ep_attr->type != FI_EP_UNSPEC && h->ep_attr->type != FI_EP_MSG)
		return 0;
	if (h->ep_attr && h->ep_attr->max_msg_size > VFI_MAX_MSG_SIZE)
		return 0;
	if (h->fabric_attr && h->fabric_attr->name && strcmp(h->fabric_attr->name, VFI_NAME) != 0)
		return 0;
	if (h->domain_attr) {
		const struct fi_domain_attr *d = h->domain_attr;
		if (d->name && strcmp(d->name, VFI_NAME) != 0)
			return 0;
		if (!mr_mode_acceptable(version, d))
			return 0;
		if (d->control_progress == FI_PROGRESS_AUTO || d->data_progress == FI_PROGRESS_AUTO)
			return 0;
		if ((d->caps & ~(uint64_t)VFI_CAPS) != 0)
			return 0;
	}
	if (h->dest_addr) {
		uint16_t n, d, p;
		if (vfi_addr_parse(h->dest_addr, h->dest_addrlen, &n, &d, &p) < 0)
			return 0;
	}
	return 1;
}

static size_t queue_size(size_t asked)
{
	if (asked == 0)
		return VFI_QUEUE_DEFAULT;
	return asked > VFI_QUEUE_MAX ? VFI_QUEUE_MAX : asked;
}

static void *dup_addr(const void *addr, size_t len)
{
	void *p = malloc(len);
	if (p)
		memcpy(p, addr, len);
	return p;
}

/* node: a vmrdma address as IPv6 text; service: its port. Either may be NULL. */
static int address_of(const char *node, const char *service, struct sockaddr_in6 *sa)
{
	struct sockaddr_in6 parsed;
	vfi_addr_make(0, 0, 0, sa);
	if (node != NULL) {
		uint16_t n, d, p;
		memset(&parsed, 0, sizeof(parsed));
		parsed.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, node, &parsed.sin6_addr) != 1
		    || vfi_addr_parse(&parsed, sizeof(parsed), &n, &d, &p))
			return -FI_ENODATA;
		vfi_addr_make(n, d, 0, sa);
	}
	if (service != NULL) {
		char *end;
		long port = strtol(service, &end, 10);
		if (*service == '\0' || *end != '\0' || port < 1 || port > 65535)
			return -FI_ENODATA;
		sa->sin6_port = htons((uint16_t)port);
	}
	return 0;
}

static int vfi_getinfo(uint32_t version, const char *node, const char *service, uint64_t flags,
		       const struct fi_info *hints, struct fi_info **out)
{
	*out = NULL;
	if (!hints_acceptable(version, hints))
		return -FI_ENODATA;
	struct sockaddr_in6 named;
	int have_named = node != NULL || service != NULL;
	if (have_named && address_of(node, service, &named) < 0)
		return -FI_ENODATA;

	struct fi_info *fi = fi_allocinfo();
	if (fi == NULL)
		return -FI_ENOMEM;
	const struct fi_info *h = hints;
	/* Writes with remote data consume a receive: only for applications that take mode FI_RX_CQ_DATA. */
	uint64_t mode = h && (h->mode & FI_RX_CQ_DATA) ? FI_RX_CQ_DATA : 0;
	fi->caps = VFI_CAPS;
	fi->mode = mode;
	fi->addr_format = FI_SOCKADDR_IN6;

	fi->tx_attr->caps = VFI_CAPS;
	fi->tx_attr->mode = mode;
	fi->tx_attr->op_flags = h && h->tx_attr ? h->tx_attr->op_flags & (FI_COMPLETION | FI_INJECT_COMPLETE) : 0;
	fi->tx_attr->msg_order = FI_ORDER_SAS;
	fi->tx_attr->comp_order = FI_ORDER_NONE;
	fi->tx_attr->inject_size = VFI_INJECT_SIZE;
	fi->tx_attr->size = queue_size(h && h->tx_attr ? h->tx_attr->size : 0);
	fi->tx_attr->iov_limit = VFI_IOV_LIMIT;
	fi->tx_attr->rma_iov_limit = 1;

	fi->rx_attr->caps = VFI_CAPS;
	fi->rx_attr->mode = mode;
	fi->rx_attr->op_flags = h && h->rx_attr ? h->rx_attr->op_flags & FI_COMPLETION : 0;
	fi->rx_attr->msg_order = FI_ORDER_SAS;
	fi->rx_attr->comp_order = FI_ORDER_NONE;
	fi->rx_attr->size = queue_size(h && h->rx_attr ? h->rx_attr->size : 0);
	fi->rx_attr->iov_limit = VFI_IOV_LIMIT;

	fi->ep_attr->type = FI_EP_MSG;
	fi->ep_attr->protocol = FI_PROTO_UNSPEC;
	fi->ep_attr->protocol_version = VMRDMA_PROTOCOL_VERSION;
	fi->ep_attr->max_msg_size = VFI_MAX_MSG_SIZE;
	fi->ep_attr->tx_ctx_cnt = 1;
	fi->ep_attr->rx_ctx_cnt = 1;

	struct fi_domain_attr *d = fi->domain_attr;
	d->name = strdup(VFI_NAME);
	d->threading = h && h->domain_attr && h->domain_attr->threading ? h->domain_attr->threading : FI_THREAD_SAFE;
	d->control_progress = FI_PROGRESS_MANUAL;
	d->data_progress = FI_PROGRESS_MANUAL;
	d->resource_mgmt = FI_RM_ENABLED;
	d->av_type = FI_AV_UNSPEC;
	d->mr_mode = FI_MR_PROV_KEY;
	d->mr_key_size = sizeof(uint64_t);
	d->cq_data_size = sizeof(uint32_t);
	d->cq_cnt = 256;
	d->ep_cnt = 256;
	d->tx_ctx_cnt = 1;
	d->rx_ctx_cnt = 1;
	d->max_ep_tx_ctx = 1;
	d->max_ep_rx_ctx = 1;
	d->mr_iov_limit = VFI_IOV_LIMIT;
	d->mr_cnt = 4096;
	d->caps = FI_LOCAL_COMM | FI_REMOTE_COMM;

	fi->fabric_attr->name = strdup(VFI_NAME);
	fi->fabric_attr->prov_version = VFI_PROV_VERSION;
	fi->fabric_attr->api_version = FI_VERSION(1, 17);

	if (have_named && (flags & FI_SOURCE)) {
		fi->src_addr = dup_addr(&named, sizeof(named));
		fi->src_addrlen = sizeof(named);
	} else if (have_named) {
		fi->dest_addr = dup_addr(&named, sizeof(named));
		fi->dest_addrlen = sizeof(named);
	}
	if (h && h->src_addr && fi->src_addr == NULL) {
		fi->src_addr = dup_addr(h->src_addr, h->src_addrlen);
		fi->src_addrlen = h->src_addrlen;
	}
	if (h && h->dest_addr && fi->dest_addr == NULL) {
		fi->dest_addr = dup_addr(h->dest_addr, h->dest_addrlen);
		fi->dest_addrlen = h->dest_addrlen;
	}
	if (d->name == NULL || fi->fabric_attr->name == NULL || (fi->src_addrlen && fi->src_addr == NULL)
	    || (fi->dest_addrlen && fi->dest_addr == NULL)) {
		fi_freeinfo(fi);
		return -FI_ENOMEM;
	}
	*out = fi;
	return 0;
}

/* ---- domain ---- */

static int domain_close(struct fid *fid)
{
	free(fid);
	return 0;
}

static int no_av_open(struct fid_domain *domain, struct fi_av_attr *attr, struct fid_av **av, void *context)
{
	(void)domain, (void)attr, (void)av, (void)context;
	return -FI_ENOSYS; /* connected endpoints only; ofi_rxm brings the address vector */
}

static int no_cntr_open(struct fid_domain *domain, struct fi_cntr_attr *attr, struct fid_cntr **cntr, void *context)
{
	(void)domain, (void)attr, (void)cntr, (void)context;
	return -FI_ENOSYS;
}

static int no_query_atomic(struct fid_domain *domain, enum fi_datatype datatype, enum fi_op op,
			   struct fi_atomic_attr *attr, uint64_t flags)
{
	(void)domain, (void)datatype, (void)op, (void)attr, (void)flags;
	return -FI_ENOSYS;
}

static struct fi_ops vfi_domain_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = domain_close,
	.bind = vfi_no_bind,
	.control = vfi_no_control,
	.ops_open = vfi_no_ops_open,
};

static struct fi_ops_domain vfi_domain_ops = {
	.size = sizeof(struct fi_ops_domain),
	.av_open = no_av_open,
	.cq_open = vfi_cq_open,
	.endpoint = vfi_endpoint,
	.cntr_open = no_cntr_open,
	.query_atomic = no_query_atomic,
};

static int vfi_domain_open(struct fid_fabric *fabric, struct fi_info *info, struct fid_domain **out, void *context)
{
	if (info == NULL || info->domain_attr == NULL || info->domain_attr->name == NULL
	    || strcmp(info->domain_attr->name, VFI_NAME) != 0)
		return -FI_EINVAL;
	struct vfi_domain *dom = calloc(1, sizeof(*dom));
	if (dom == NULL)
		return -FI_ENOMEM;
	dom->domain.fid.fclass = FI_CLASS_DOMAIN;
	dom->domain.fid.context = context;
	dom->domain.fid.ops = &vfi_domain_fi_ops;
	dom->domain.ops = &vfi_domain_ops;
	dom->domain.mr = &vfi_mr_ops;
	(void)fabric;
	*out = &dom->domain;
	return 0;
}

/* ---- fabric ---- */

static int fabric_close(struct fid *fid)
{
	vfi_lock();
	vfi_device_put();
	vfi_unlock();
	free(fid);
	return 0;
}

static int no_wait_open(struct fid_fabric *fabric, struct fi_wait_attr *attr, struct fid_wait **waitset)
{
	(void)fabric, (void)attr, (void)waitset;
	return -FI_ENOSYS;
}

static int no_trywait(struct fid_fabric *fabric, struct fid **fids, int count)
{
	(void)fabric, (void)fids, (void)count;
	return -FI_ENOSYS;
}

static struct fi_ops vfi_fabric_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = fabric_close,
	.bind = vfi_no_bind,
	.control = vfi_no_control,
	.ops_open = vfi_no_ops_open,
};

static struct fi_ops_fabric vfi_fabric_ops = {
	.size = sizeof(struct fi_ops_fabric),
	.domain = vfi_domain_open,
	.passive_ep = vfi_passive_ep,
	.eq_open = vfi_eq_open,
	.wait_open = no_wait_open,
	.trywait = no_trywait,
};

static int vfi_fabric_open(struct fi_fabric_attr *attr, struct fid_fabric **out, void *context)
{
	if (attr == NULL || attr->name == NULL || strcmp(attr->name, VFI_NAME) != 0)
		return -FI_EINVAL;
	struct vfi_fabric *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -FI_ENOMEM;
	vfi_lock();
	int rc = vfi_device_get();
	vfi_unlock();
	if (rc < 0) {
		free(f);
		return rc;
	}
	f->fabric.fid.fclass = FI_CLASS_FABRIC;
	f->fabric.fid.context = context;
	f->fabric.fid.ops = &vfi_fabric_fi_ops;
	f->fabric.ops = &vfi_fabric_ops;
	*out = &f->fabric;
	return 0;
}
