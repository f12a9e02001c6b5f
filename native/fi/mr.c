/*
 * Memory regions. Applications register ordinary memory, which a guest cannot grant; a region with remote access
 * therefore gets a shadow: a bounce buffer registered for remote read and write, filled with the application's
 * bytes at registration (what peers read) and copied back when the region is closed (what peers wrote).
 *
 * Keys are the provider's (FI_MR_PROV_KEY), addresses offsets into the region: the key holds the vmrdma rkey in
 * its high half and, in its low half, the shadow's first page counted from this guest's region base, which the
 * connection data gave the peer.
 */
#include <stdlib.h>
#include <string.h>

#include "vfi.h"

static int mr_close(struct fid *fid)
{
	struct vfi_mr *mr = (struct vfi_mr *)fid;
	vfi_lock();
	if (mr->shadow) {
		if (mr->access & FI_REMOTE_WRITE)
			vfi_copy_to_iov(mr->iov, mr->count, mr->shadow->buf->addr, mr->len);
		vfi_bounce_put(mr->shadow);
	}
	vfi_unlock();
	free(mr);
	return 0;
}

static struct fi_ops vfi_mr_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = mr_close,
	.bind = vfi_no_bind,
	.control = vfi_no_control,
	.ops_open = vfi_no_ops_open,
};

static int mr_register(const struct iovec *iov, size_t count, uint64_t access, void *context, struct fid_mr **out)
{
	if (count > VFI_IOV_LIMIT || (count > 0 && iov == NULL))
		return -FI_EINVAL;
	size_t len = vfi_iov_length(iov, count);
	if (len > VFI_MAX_MSG_SIZE)
		return -FI_EMSGSIZE;
	struct vfi_mr *mr = calloc(1, sizeof(*mr));
	if (mr == NULL)
		return -FI_ENOMEM;
	memcpy(mr->iov, iov, count * sizeof(*iov));
	mr->count = count;
	mr->len = len;
	mr->access = access;
	if (access & (FI_REMOTE_READ | FI_REMOTE_WRITE)) {
		vfi_lock();
		int rc = vfi_bounce_get(len, 1, &mr->shadow);
		if (rc == 0) {
			uint8_t *bytes = mr->shadow->buf->addr;
			vfi_copy_from_iov(bytes, len, iov, count);
			/* A reused shadow must not show a peer what an earlier region held past this one's end. */
			memset(bytes + len, 0, (size_t)mr->shadow->pages * VMRDMA_PAGE_SIZE - len);
			mr->mr.key = vfi_key(mr->shadow->mr->rkey,
					     (mr->shadow->buf->iova - vfi_dev.region_base) / VMRDMA_PAGE_SIZE);
		}
		vfi_unlock();
		if (rc < 0) {
			free(mr);
			return rc;
		}
	}
	mr->mr.fid.fclass = FI_CLASS_MR;
	mr->mr.fid.context = context;
	mr->mr.fid.ops = &vfi_mr_fi_ops;
	mr->mr.mem_desc = mr;
	*out = &mr->mr;
	return 0;
}

static int mr_reg(struct fid *fid, const void *buf, size_t len, uint64_t access, uint64_t offset,
		  uint64_t requested_key, uint64_t flags, struct fid_mr **mr, void *context)
{
	(void)fid, (void)offset, (void)requested_key, (void)flags;
	struct iovec iov = {(void *)buf, len};
	return mr_register(&iov, 1, access, context, mr);
}

static int mr_regv(struct fid *fid, const struct iovec *iov, size_t count, uint64_t access, uint64_t offset,
		   uint64_t requested_key, uint64_t flags, struct fid_mr **mr, void *context)
{
	(void)fid, (void)offset, (void)requested_key, (void)flags;
	return mr_register(iov, count, access, context, mr);
}

static int mr_regattr(struct fid *fid, const struct fi_mr_attr *attr, uint64_t flags, struct fid_mr **mr)
{
	(void)fid, (void)flags;
	if (attr == NULL)
		return -FI_EINVAL;
	if (attr->iface != FI_HMEM_SYSTEM)
		return -FI_ENOSYS;
	return mr_register(attr->mr_iov, attr->iov_count, attr->access, attr->context, mr);
}

struct fi_ops_mr vfi_mr_ops = {
	.size = sizeof(struct fi_ops_mr),
	.reg = mr_reg,
	.regv = mr_regv,
	.regattr = mr_regattr,
};
