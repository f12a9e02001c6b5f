/*
 * The guest's vmrdma device as the provider shares it: opened by the first fabric, closed by the last; the pool
 * of registered bounce buffers; addresses; small helpers.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfi.h"

struct vfi_device vfi_dev = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * Bounce pages the pool keeps registered between uses: room for a largest-class buffer (8 MiB) beside as many
 * pages of smaller ones. A guest's grant limit may be lower (the simulator's default is 1024 pages): allocation
 * then empties the pool and tries again.
 */
#define VFI_POOL_CACHE_PAGES 4096

void vfi_lock(void)
{
	pthread_mutex_lock(&vfi_dev.lock);
}

void vfi_unlock(void)
{
	pthread_mutex_unlock(&vfi_dev.lock);
}

int vfi_err(int rc)
{
	return rc < 0 ? rc : -FI_EOTHER;
}

int64_t vfi_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vfi_pause(unsigned turn)
{
	if (turn < 1024) {
		sched_yield();
		return;
	}
	struct timespec ts = {0, 20 * 1000};
	nanosleep(&ts, NULL);
}

int vfi_copy_name(const struct sockaddr_in6 *sa, void *addr, size_t *addrlen)
{
	size_t room = *addrlen;
	*addrlen = sizeof(*sa);
	if (room < sizeof(*sa))
		return -FI_ETOOSMALL;
	memcpy(addr, sa, sizeof(*sa));
	return 0;
}

int vfi_getopt(fid_t fid, int level, int optname, void *optval, size_t *optlen)
{
	(void)fid;
	if (level != FI_OPT_ENDPOINT || optname != FI_OPT_CM_DATA_SIZE)
		return -FI_ENOPROTOOPT;
	if (*optlen < sizeof(size_t))
		return -FI_ETOOSMALL;
	*(size_t *)optval = VFI_CM_DATA_MAX;
	*optlen = sizeof(size_t);
	return 0;
}

size_t vfi_iov_length(const struct iovec *iov, size_t count)
{
	size_t n = 0;
	for (size_t i = 0; i < count; i++)
		n += iov[i].iov_len;
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t counted(size_t bytes, uint64_t start)
{
	vfi_dev.counters.copied += bytes;
	vfi_dev.counters.copy_ns += now_ns() - start;
	return bytes;
}

size_t vfi_copy_from_iov(void *dst, size_t len, const struct iovec *iov, size_t count)
{
	uint64_t start = now_ns();
	size_t done = 0;
	for (size_t i = 0; i < count && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy((uint8_t *)dst + done, iov[i].iov_base, n);
		done += n;
	}
	return counted(done, start);
}

size_t vfi_copy_to_iov(const struct iovec *iov, size_t count, const void *src, size_t len)
{
	uint64_t start = now_ns();
	size_t done = 0;
	for (size_t i = 0; i < count && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;
		memcpy(iov[i].iov_base, (const uint8_t *)src + done, n);
		done += n;
	}
	return counted(done, start);
}

/* Size classes: 1..16 pages exactly (receive buffers of a few pages are common), then powers of two. */
static int pool_class(size_t len, uint32_t *pages)
{
	size_t p = len == 0 ? 1 : (len + VMRDMA_PAGE_SIZE - 1) / VMRDMA_PAGE_SIZE;
	if (p <= 16) {
		*pages = (uint32_t)p;
		return (int)p - 1;
	}
	uint32_t c = 32;
	int cls = 16;
	while (c < p) {
		c <<= 1;
		cls++;
	}
	*pages = c;
	return cls < VFI_POOL_CLASSES && c <= VMRDMA_MAX_REGION_PAGES ? cls : -1;
}

static void bounce_free(struct vfi_bounce *b)
{
	vmrdma_dereg_mr(b->mr);
	vmrdma_free_buf(b->buf);
	free(b);
}

static void pool_drain(void)
{
	for (int r = 0; r < 2; r++)
		for (int c = 0; c < VFI_POOL_CLASSES; c++)
			while (vfi_dev.pool[r][c]) {
				struct vfi_bounce *b = vfi_dev.pool[r][c];
				vfi_dev.pool[r][c] = b->next;
				bounce_free(b);
			}
	vfi_dev.cached_pages = 0;
}

/* Whether an allocation failed for want of grants or pages, which buffers the pool keeps may give back. */
static int over_grant_limit(int rc)
{
	return rc == -ENOSPC || rc == -ENOMEM || rc == -EDQUOT;
}

/* Frees the largest cached buffer; 0 when the pool is empty. */
static int pool_give_back_largest(void)
{
	for (int c = VFI_POOL_CLASSES - 1; c >= 0; c--)
		for (int r = 0; r < 2; r++) {
			struct vfi_bounce *b = vfi_dev.pool[r][c];
			if (b != NULL) {
				vfi_dev.pool[r][c] = b->next;
				vfi_dev.cached_pages -= b->pages;
				bounce_free(b);
				return 1;
			}
		}
	return 0;
}

static int bounce_alloc(uint32_t pages, int remote, struct vfi_bounce **out)
{
	struct vfi_bounce *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -FI_ENOMEM;
	int access = VMRDMA_ACCESS_LOCAL_WRITE | (remote ? VMRDMA_ACCESS_REMOTE_READ | VMRDMA_ACCESS_REMOTE_WRITE : 0);
	int rc = vmrdma_alloc_buf(vfi_dev.ctx, (size_t)pages * VMRDMA_PAGE_SIZE, &b->buf);
	if (rc == 0 && (rc = vmrdma_reg_mr(vfi_dev.pd, b->buf, access, &b->mr)) < 0)
		vmrdma_free_buf(b->buf);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b->pages = pages;
	b->remote = remote;
	*out = b;
	return 0;
}

int vfi_bounce_get(size_t len, int remote, struct vfi_bounce **out)
{
	uint32_t pages;
	int cls = pool_class(len, &pages);
	if (cls < 0)
		return -FI_EMSGSIZE;
	remote = remote != 0;
	struct vfi_bounce *b = vfi_dev.pool[remote][cls];
	if (b != NULL) {
		vfi_dev.pool[remote][cls] = b->next;
		vfi_dev.cached_pages -= b->pages;
		*out = b;
		return 0;
	}
	int rc = bounce_alloc(pages, remote, out);
	if (over_grant_limit(rc)) {
		/*
		 * The guest's grant limit (gntalloc's, per domain) is reached: give back cached buffers, largest first,
		 * only until this one fits, so the buffers in steady use stay registered. Each hit costs an unshare and a
		 * share through the hypervisor: counted, and said once, since a limit below the working set makes every
		 * message pay it.
		 */
		if (vfi_dev.counters.grant_limit_hits++ == 0)
			FI_WARN(&vfi_prov, FI_LOG_MR,
				"the guest's grant limit is reached with %zu pages cached: buffers are re-shared per "
				"message; raise the domain's gntalloc limit (docs/mpi.md)\n",
				vfi_dev.cached_pages);
		while (over_grant_limit(rc) && pool_give_back_largest())
			rc = bounce_alloc(pages, remote, out);
	}
	if (rc < 0)
		FI_WARN(&vfi_prov, FI_LOG_MR, "no bounce buffer of %" PRIu32 " pages: %s\n", pages,
			vmrdma_last_error());
	return rc < 0 ? vfi_err(rc) : 0;
}

/* Gives back cached buffers, largest first, until pages more fit in the cache. */
static void pool_make_room(uint32_t pages)
{
	for (int r = 0; r < 2; r++)
		for (int c = VFI_POOL_CLASSES - 1; c >= 0 && vfi_dev.cached_pages + pages > VFI_POOL_CACHE_PAGES; c--)
			while (vfi_dev.pool[r][c] && vfi_dev.cached_pages + pages > VFI_POOL_CACHE_PAGES) {
				struct vfi_bounce *old = vfi_dev.pool[r][c];
				vfi_dev.pool[r][c] = old->next;
				vfi_dev.cached_pages -= old->pages;
				bounce_free(old);
			}
}

void vfi_bounce_put(struct vfi_bounce *b)
{
	uint32_t pages;
	int cls = pool_class((size_t)b->pages * VMRDMA_PAGE_SIZE, &pages);
	if (cls < 0 || b->pages > VFI_POOL_CACHE_PAGES) {
		bounce_free(b);
		return;
	}
	/*
	 * The buffer just used is the one most likely wanted next (a receive reposted at the same size): keep it and
	 * give older ones back. Freeing it instead made a receive posted larger than half the cache pay a fresh
	 * allocation and registration every time (about 0.5 ms per message of fi_pingpong -e msg -S all).
	 */
	pool_make_room(b->pages);
	b->next = vfi_dev.pool[b->remote][cls];
	vfi_dev.pool[b->remote][cls] = b;
	vfi_dev.cached_pages += b->pages;
}

int vfi_device_get(void)
{
	if (vfi_dev.users > 0) {
		vfi_dev.users++;
		return 0;
	}
	struct vmrdma_context *ctx;
	int rc = vmrdma_open(NULL, &ctx);
	if (rc < 0) {
		FI_WARN(&vfi_prov, FI_LOG_FABRIC, "cannot open the vmrdma device: %s\n", vmrdma_last_error());
		return -FI_ENODEV;
	}
	memset(&vfi_dev.counters, 0, sizeof(vfi_dev.counters));
	vfi_dev.ctx = ctx;
	vfi_dev.node = (uint16_t)vmrdma_node_id(ctx);
	vfi_dev.domid = (uint16_t)vmrdma_domid(ctx);
	vfi_dev.next_port = (uint16_t)(1 + getpid() % 30000);
	struct vfi_bounce *first;
	if ((rc = vmrdma_alloc_pd(ctx, &vfi_dev.pd)) < 0) {
		vmrdma_close(ctx);
		return vfi_err(rc);
	}
	/* The context hands out buffer addresses upwards from its first: that one is the base region keys use. */
	if ((rc = bounce_alloc(1, 0, &first)) < 0) {
		vmrdma_close(ctx);
		return vfi_err(rc);
	}
	vfi_dev.region_base = first->buf->iova;
	vfi_bounce_put(first);
	vfi_dev.users = 1;
	FI_INFO(&vfi_prov, FI_LOG_FABRIC, "guest domain %u on node %u attached (%s)\n", vfi_dev.domid, vfi_dev.node,
		vmrdma_backend_name(ctx));
	return 0;
}

void vfi_device_put(void)
{
	if (--vfi_dev.users > 0)
		return;
	const struct vfi_counters *n = &vfi_dev.counters;
	FI_INFO(&vfi_prov, FI_LOG_FABRIC,
		"closing: %" PRIu64 " transfers, %" PRIu64 " bytes; %" PRIu64 " bytes bounced in %" PRIu64
		" us; %" PRIu64 " stray completions, %" PRIu64 " connection events without the provider header, "
		"%" PRIu64 " requests for no listener, %" PRIu64 " refused posts; %" PRIu64 " grant limit hits\n",
		n->transfers, n->bytes, n->copied, n->copy_ns / 1000, n->stray_completions, n->bad_cm_data,
		n->unknown_requests, n->refused_posts, n->grant_limit_hits);
	pool_drain();
	vmrdma_close(vfi_dev.ctx); /* frees the protection domain and every queue pair with it */
	vfi_dev.ctx = NULL;
	vfi_dev.pd = NULL;
	vfi_dev.listeners = NULL;
	vfi_dev.eps = NULL;
}

int vfi_no_bind(struct fid *fid, struct fid *bfid, uint64_t flags)
{
	(void)fid, (void)bfid, (void)flags;
	return -FI_ENOSYS;
}

int vfi_no_control(struct fid *fid, int command, void *arg)
{
	(void)fid, (void)command, (void)arg;
	return -FI_ENOSYS;
}

int vfi_no_ops_open(struct fid *fid, const char *name, uint64_t flags, void **ops, void *context)
{
	(void)fid, (void)name, (void)flags, (void)ops, (void)context;
	return -FI_ENOSYS;
}
