/*
 * Completion queues: one libvmrdma completion queue each. Reading one turns work completions into libfabric
 * entries (copying received bytes out of their bounce buffers); failed operations wait for fi_cq_readerr.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "vfi.h"

#define VFI_CQ_BATCH 16

void vfi_cq_push_error(struct vfi_cq *cq, const struct fi_cq_err_entry *entry)
{
	struct vfi_cq_error *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		FI_WARN(&vfi_prov, FI_LOG_CQ, "out of memory: an error completion is lost\n");
		return;
	}
	e->entry = *entry;
	if (cq->errors_tail)
		cq->errors_tail->next = e;
	else
		cq->errors = e;
	cq->errors_tail = e;
}

static size_t entry_size(enum fi_cq_format format)
{
	switch (format) {
	case FI_CQ_FORMAT_CONTEXT:
		return sizeof(struct fi_cq_entry);
	case FI_CQ_FORMAT_MSG:
		return sizeof(struct fi_cq_msg_entry);
	case FI_CQ_FORMAT_DATA:
		return sizeof(struct fi_cq_data_entry);
	default:
		return sizeof(struct fi_cq_tagged_entry);
	}
}

static ssize_t cq_readfrom(struct fid_cq *fid, void *buf, size_t count, fi_addr_t *src)
{
	struct vfi_cq *cq = (struct vfi_cq *)fid;
	struct vmrdma_wc wc[VFI_CQ_BATCH];
	size_t size = entry_size(cq->format), done = 0;
	vfi_lock();
	while (done < count && cq->errors == NULL) {
		int want = count - done < VFI_CQ_BATCH ? (int)(count - done) : VFI_CQ_BATCH;
		int n = vmrdma_poll_cq(cq->vcq, want, wc);
		if (n < 0) {
			vfi_dev.counters.refused_posts++;
			FI_WARN(&vfi_prov, FI_LOG_CQ, "poll: %s\n", vmrdma_last_error());
			break;
		}
		if (n == 0)
			break;
		for (int k = 0; k < n; k++)
			done += (size_t)vfi_complete(cq, &wc[k], (uint8_t *)buf + done * size, src ? src + done : NULL);
	}
	/* Connection events come on the same ring: an idle queue is the moment to hand them on. */
	if (done == 0)
		vfi_cm_progress();
	ssize_t rc = done > 0 ? (ssize_t)done : cq->errors ? -FI_EAVAIL : -FI_EAGAIN;
	int yield = rc == -FI_EAGAIN && ++cq->empty_reads % 256 == 0;
	vfi_unlock();
	/*
	 * Applications spin on fi_cq_read. A loop that never gives the core up starves dom0's data agent on a host
	 * with fewer cores than busy threads (ms instead of µs per round trip): yield every 256th empty read, as
	 * libvmrdma's own polling waits do.
	 */
	if (yield)
		sched_yield();
	return rc;
}

static ssize_t cq_read(struct fid_cq *fid, void *buf, size_t count)
{
	return cq_readfrom(fid, buf, count, NULL);
}

static ssize_t cq_readerr(struct fid_cq *fid, struct fi_cq_err_entry *buf, uint64_t flags)
{
	struct vfi_cq *cq = (struct vfi_cq *)fid;
	(void)flags;
	vfi_lock();
	struct vfi_cq_error *e = cq->errors;
	if (e == NULL) {
		vfi_unlock();
		return -FI_EAGAIN;
	}
	cq->errors = e->next;
	if (cq->errors == NULL)
		cq->errors_tail = NULL;
	free(cq->last_error);
	cq->last_error = e;
	*buf = e->entry; /* no provider error data: err_data NULL, err_data_size 0 */
	vfi_unlock();
	return 1;
}

static ssize_t cq_sreadfrom(struct fid_cq *fid, void *buf, size_t count, fi_addr_t *src, const void *cond, int timeout)
{
	(void)cond;
	int64_t deadline = timeout < 0 ? INT64_MAX : vfi_now_ms() + timeout;
	for (unsigned turn = 0;; turn++) {
		ssize_t n = cq_readfrom(fid, buf, count, src);
		if (n != -FI_EAGAIN || vfi_now_ms() >= deadline)
			return n;
		vfi_pause(turn);
	}
}

static ssize_t cq_sread(struct fid_cq *fid, void *buf, size_t count, const void *cond, int timeout)
{
	return cq_sreadfrom(fid, buf, count, NULL, cond, timeout);
}

static int cq_signal(struct fid_cq *fid)
{
	(void)fid;
	return -FI_ENOSYS;
}

static const char *cq_strerror(struct fid_cq *fid, int prov_errno, const void *err_data, char *buf, size_t len)
{
	(void)fid, (void)err_data;
	const char *s = vmrdma_wc_status_str((enum vmrdma_wc_status)prov_errno);
	if (buf && len) {
		strncpy(buf, s, len - 1);
		buf[len - 1] = '\0';
		return buf;
	}
	return s;
}

static int cq_close(struct fid *fid)
{
	struct vfi_cq *cq = (struct vfi_cq *)fid;
	vfi_lock();
	int rc = vmrdma_destroy_cq(cq->vcq);
	vfi_unlock();
	if (rc < 0 && rc != -ENOTCONN)
		return vfi_err(rc); /* a queue pair still uses it */
	while (cq->errors) {
		struct vfi_cq_error *e = cq->errors;
		cq->errors = e->next;
		free(e);
	}
	free(cq->last_error);
	free(cq);
	return 0;
}

static struct fi_ops vfi_cq_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = cq_close,
	.bind = vfi_no_bind,
	.control = vfi_no_control,
	.ops_open = vfi_no_ops_open,
};

static struct fi_ops_cq vfi_cq_ops = {
	.size = sizeof(struct fi_ops_cq),
	.read = cq_read,
	.readfrom = cq_readfrom,
	.readerr = cq_readerr,
	.sread = cq_sread,
	.sreadfrom = cq_sreadfrom,
	.signal = cq_signal,
	.strerror = cq_strerror,
};

int vfi_cq_open(struct fid_domain *domain, struct fi_cq_attr *attr, struct fid_cq **out, void *context)
{
	(void)domain;
	if (attr == NULL)
		return -FI_EINVAL;
	if (attr->wait_obj != FI_WAIT_NONE && attr->wait_obj != FI_WAIT_UNSPEC)
		return -FI_ENOSYS; /* blocking reads poll: there is no file descriptor to hand out */
	if (attr->format > FI_CQ_FORMAT_TAGGED)
		return -FI_ENOSYS;
	struct vfi_cq *cq = calloc(1, sizeof(*cq));
	if (cq == NULL)
		return -FI_ENOMEM;
	size_t depth = attr->size == 0 ? VFI_CQ_DEFAULT : attr->size > VFI_CQ_MAX ? VFI_CQ_MAX : attr->size;
	vfi_lock();
	int rc = vmrdma_create_cq(vfi_dev.ctx, (int)depth, &cq->vcq);
	vfi_unlock();
	if (rc < 0) {
		free(cq);
		return vfi_err(rc);
	}
	cq->format = attr->format == FI_CQ_FORMAT_UNSPEC ? FI_CQ_FORMAT_CONTEXT : attr->format;
	cq->cq.fid.fclass = FI_CLASS_CQ;
	cq->cq.fid.context = context;
	cq->cq.fid.ops = &vfi_cq_fi_ops;
	cq->cq.ops = &vfi_cq_ops;
	*out = &cq->cq;
	return 0;
}
