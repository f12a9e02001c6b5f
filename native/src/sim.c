/*
 * The simulator back end (docs/sim-abi.md): this process becomes the domain's kernel (lock on grant-table),
 * maps its memory and grant table, hands out pages first-fit as gntalloc does, writes Xen v1 grant entries, and
 * talks to hypercall.sock for event channels.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define SIM_ABI_VERSION 1
#define PAGE 4096u
#define GTF_PERMIT_ACCESS 1u
#define GTF_READONLY 0x4u
#define GTF_READING 0x8u
#define GTF_WRITING 0x10u
#define GNTTAB_NR_RESERVED 8u
#define HC_HEADER 16
#define HC_MAX_PAYLOAD (4u * (3u + 65536u))

enum {
	HC_HELLO = 1,
	HC_BIND_UNBOUND,
	HC_BIND_INTERDOMAIN,
	HC_NOTIFY,
	HC_UNBIND,
	HC_UNMASK,
	HC_MAP,
	HC_UNMAP,
	HC_EVENT = 0x100
};

struct deferred_grant {
	uint32_t ref;
	uint32_t frame;
};

struct sim {
	struct vm_hv hv;
	char dir[256];
	int gntfd;
	uint8_t *mem;
	size_t mem_bytes;
	uint32_t frames;
	uint8_t *gnt;
	uint32_t entries;
	uint32_t limit;
	uint8_t *used;	     /* per frame: 1 when handed out */
	uint32_t *free_refs; /* stack; the lowest ref on top */
	uint32_t nfree;
	uint32_t granted;
	struct deferred_grant *deferred;
	size_t ndeferred, cdeferred;
	int sock; /* hypercall.sock connection: one event-channel handle */
	uint32_t next_req;
	uint32_t *events; /* ports that fired while we waited for a reply */
	size_t nevents, cevents;
};

/* ---- info ---- */

static int read_info(struct sim *s, long *abi, long *domid, long *mem, long *entries, long *limit)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/info", s->dir);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return vm_fail(-ENOENT, "%s: %s (is this a simulated domain directory?)", path, strerror(errno));
	char line[256];
	*abi = *domid = *mem = *entries = -1;
	*limit = 1024;
	int bad = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		long *dst = strcmp(k, "abi-version") == 0 ? abi :
			strcmp(k, "domid") == 0		  ? domid :
			strcmp(k, "memory-bytes") == 0	  ? mem :
			strcmp(k, "grant-entries") == 0	  ? entries :
			strcmp(k, "gntalloc-limit") == 0  ? limit :
							    NULL;
		if (dst != NULL && vm_parse_long(v, 0, 0x7fffffffffffL, dst) != 0)
			bad = 1;
	}
	fclose(f);
	if (bad || *domid < 1 || *domid >= 0x7ff0 || *mem <= 0 || *mem % PAGE != 0 || *mem / PAGE > 0xffffffffL
	    || *entries <= (long)GNTTAB_NR_RESERVED || *entries > 0x10000000L || *limit < 0)
		return vm_fail(-EINVAL, "%s: malformed or missing keys", path);
	if (*abi != SIM_ABI_VERSION)
		return vm_fail(-EPROTO, "%s: abi-version %ld, this library speaks %d", path, *abi, SIM_ABI_VERSION);
	return 0;
}

/* ---- hypercall socket ---- */

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, b, n);
		if (r == 0)
			return -ENOTCONN;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int queue_event(struct sim *s, uint32_t port)
{
	if (s->nevents == s->cevents) {
		size_t c = s->cevents ? 2 * s->cevents : 16;
		if (c > 65536)
			return vm_fail(-EPROTO, "hypercall.sock: too many queued events");
		uint32_t *n = realloc(s->events, c * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		s->events = n;
		s->cevents = c;
	}
	s->events[s->nevents++] = port;
	return 0;
}

/* Reads one message; an EVENT is queued and 1 returned; a reply's fields are returned through the pointers. */
static int read_message(struct sim *s, uint32_t *op, uint32_t *req_id, uint8_t *payload, size_t cap, uint32_t *len)
{
	uint8_t h[HC_HEADER];
	int rc = read_all(s->sock, h, sizeof(h));
	if (rc < 0)
		return vm_fail(rc, "hypercall.sock: %s",
			       rc == -ENOTCONN ? "the simulator closed the connection" : strerror(-rc));
	*op = get_u32(h, 0);
	*req_id = get_u32(h, 4);
	*len = get_u32(h, 12);
	if (*len > HC_MAX_PAYLOAD || *len > cap)
		return vm_fail(-EPROTO, "hypercall.sock: message of %u bytes for op %u", *len, *op);
	rc = read_all(s->sock, payload, *len);
	if (rc < 0)
		return vm_fail(rc, "hypercall.sock: %s", strerror(-rc));
	if (*op == HC_EVENT) {
		if (*len < 4)
			return vm_fail(-EPROTO, "hypercall.sock: short event");
		rc = queue_event(s, get_u32(payload, 0));
		return rc < 0 ? rc : 1;
	}
	return 0;
}

/* One request, its reply's result (>= 0) or -errno; extra payload after the result goes to out. */
static int hypercall(struct sim *s, uint32_t op, const uint32_t *args, int nargs, uint8_t *out, size_t out_cap)
{
	uint8_t msg[HC_HEADER + 4 * 4];
	uint32_t id = ++s->next_req;
	memset(msg, 0, HC_HEADER);
	put_u32(msg, 0, op);
	put_u32(msg, 4, id);
	put_u32(msg, 12, (uint32_t)(4 * nargs));
	for (int i = 0; i < nargs; i++)
		put_u32(msg, HC_HEADER + 4 * (size_t)i, args[i]);
	int rc = write_all(s->sock, msg, HC_HEADER + 4 * (size_t)nargs);
	if (rc < 0)
		return vm_fail(rc == -EPIPE ? -ENOTCONN : rc, "hypercall.sock: %s", strerror(-rc));
	for (;;) {
		uint8_t payload[64];
		uint32_t rop, rid, len;
		rc = read_message(s, &rop, &rid, payload, sizeof(payload), &len);
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		if (rop != op || rid != id || len < 4)
			return vm_fail(-EPROTO, "hypercall.sock: reply op %u id %u to op %u id %u", rop, rid, op, id);
		if (out != NULL)
			memcpy(out, payload + 4, len - 4 < out_cap ? len - 4 : out_cap);
		return (int32_t)get_u32(payload, 0);
	}
}

static int sim_bind_unbound(struct vm_hv *hv, uint32_t remote)
{
	struct sim *s = (struct sim *)hv;
	uint32_t a[1] = {remote};
	int rc = hypercall(s, HC_BIND_UNBOUND, a, 1, NULL, 0);
	return rc < 0 ? vm_fail(rc, "EVTCHN_BIND_UNBOUND(%u): %s", remote, strerror(-rc)) : rc;
}

static int port_op(struct vm_hv *hv, uint32_t op, uint32_t port, const char *what)
{
	struct sim *s = (struct sim *)hv;
	uint32_t a[1] = {port};
	int rc = hypercall(s, op, a, 1, NULL, 0);
	return rc < 0 ? vm_fail(rc, "%s(%u): %s", what, port, strerror(-rc)) : 0;
}

static int sim_unbind(struct vm_hv *hv, uint32_t port)
{
	return port_op(hv, HC_UNBIND, port, "EVTCHN_UNBIND");
}
static int sim_notify(struct vm_hv *hv, uint32_t port)
{
	return port_op(hv, HC_NOTIFY, port, "EVTCHN_NOTIFY");
}
static int sim_unmask(struct vm_hv *hv, uint32_t port)
{
	return port_op(hv, HC_UNMASK, port, "EVTCHN_UNMASK");
}

static int sim_wait(struct vm_hv *hv, int timeout_ms)
{
	struct sim *s = (struct sim *)hv;
	int64_t deadline = timeout_ms < 0 ? -1 : vm_now_ms() + timeout_ms;
	for (;;) {
		if (s->nevents > 0) {
			uint32_t p = s->events[0];
			memmove(s->events, s->events + 1, (s->nevents - 1) * sizeof(*s->events));
			s->nevents--;
			return (int)p;
		}
		int left = deadline < 0 ? -1 : (int)(deadline - vm_now_ms());
		if (deadline >= 0 && left < 0)
			left = 0;
		struct pollfd pfd = {.fd = s->sock, .events = POLLIN};
		int n = poll(&pfd, 1, left);
		if (n < 0 && errno != EINTR)
			return vm_fail(-errno, "poll on hypercall.sock: %s", strerror(errno));
		if (n == 0)
			return 0;
		if (n > 0) {
			uint8_t payload[64];
			uint32_t op, id, len;
			int rc = read_message(s, &op, &id, payload, sizeof(payload), &len);
			if (rc < 0)
				return rc;
			if (rc == 0)
				return vm_fail(-EPROTO, "hypercall.sock: unsolicited reply op %u", op);
		}
	}
}

/* ---- grants and pages ---- */

static uint32_t *entry_word(struct sim *s, uint32_t ref)
{
	return (uint32_t *)(void *)(s->gnt + (size_t)ref * 8);
}

static void grant(struct sim *s, uint32_t ref, uint32_t domid, uint32_t frame, int readonly)
{
	put_u32(s->gnt, (size_t)ref * 8 + 4, frame);
	uint32_t w = (GTF_PERMIT_ACCESS | (readonly ? GTF_READONLY : 0)) | domid << 16;
	__atomic_store_n(entry_word(s, ref), w, __ATOMIC_RELEASE);
}

/* gnttab_end_foreign_access_ref: 1 when revoked, 0 while the peer has it mapped. */
static int end_access(struct sim *s, uint32_t ref)
{
	uint32_t *word = entry_word(s, ref);
	uint32_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	for (;;) {
		if (w & (GTF_READING | GTF_WRITING))
			return 0;
		if (__atomic_compare_exchange_n(word, &w, w & 0xFFFF0000u, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 1;
	}
}

static void release(struct sim *s, uint32_t ref, uint32_t frame)
{
	if (end_access(s, ref)) {
		s->free_refs[s->nfree++] = ref;
		s->used[frame] = 0;
		return;
	}
	if (s->ndeferred == s->cdeferred) {
		size_t c = s->cdeferred ? 2 * s->cdeferred : 64;
		struct deferred_grant *n = realloc(s->deferred, c * sizeof(*n));
		if (n == NULL)
			return; /* the page and ref leak rather than being reused while mapped */
		s->deferred = n;
		s->cdeferred = c;
	}
	s->deferred[s->ndeferred++] = (struct deferred_grant){ref, frame};
}

static void retry_deferred(struct sim *s)
{
	for (size_t i = s->ndeferred; i-- > 0;) {
		if (end_access(s, s->deferred[i].ref)) {
			s->free_refs[s->nfree++] = s->deferred[i].ref;
			s->used[s->deferred[i].frame] = 0;
			s->deferred[i] = s->deferred[--s->ndeferred];
		}
	}
}

static int sim_share(struct vm_hv *hv, uint32_t domid, uint32_t count, int writable, void **addr, uint32_t *refs)
{
	struct sim *s = (struct sim *)hv;
	retry_deferred(s);
	if (count == 0 || domid >= 0x7ff0)
		return vm_fail(-EINVAL, "share: %u pages to domain %u", count, domid);
	if ((uint64_t)s->granted + count > s->limit)
		return vm_fail(-ENOSPC, "share: %u more pages would pass gntalloc's limit of %u (%u shared)", count,
			       s->limit, s->granted);
	if (count > s->nfree)
		return vm_fail(-ENOSPC, "share: grant table full");
	uint32_t run = 0, first = 0;
	for (uint32_t f = 0; f < s->frames; f++) {
		if (s->used[f]) {
			run = 0;
			continue;
		}
		if (run++ == 0)
			first = f;
		if (run == count)
			break;
	}
	if (run < count)
		return vm_fail(-ENOMEM, "share: no run of %u free pages in guest memory", count);
	memset(s->used + first, 1, count);
	uint8_t *pages = s->mem + (size_t)first * PAGE;
	memset(pages, 0, (size_t)count * PAGE);
	for (uint32_t i = 0; i < count; i++) {
		refs[i] = s->free_refs[--s->nfree];
		grant(s, refs[i], domid, first + i, !writable);
	}
	s->granted += count;
	*addr = pages;
	return 0;
}

static void sim_unshare(struct vm_hv *hv, void *addr, uint32_t count, const uint32_t *refs)
{
	struct sim *s = (struct sim *)hv;
	uint8_t *p = addr;
	if (p < s->mem || p >= s->mem + s->mem_bytes)
		return;
	uint32_t first = (uint32_t)((size_t)(p - s->mem) / PAGE);
	for (uint32_t i = 0; i < count && first + i < s->frames; i++)
		release(s, refs[i], first + i);
	s->granted -= count;
	retry_deferred(s);
}

static void sim_close(struct vm_hv *hv)
{
	struct sim *s = (struct sim *)hv;
	if (s->sock >= 0)
		close(s->sock);
	if (s->mem != NULL && s->mem != MAP_FAILED)
		munmap(s->mem, s->mem_bytes);
	if (s->gnt != NULL && s->gnt != MAP_FAILED)
		munmap(s->gnt, (size_t)s->entries * 8);
	if (s->gntfd >= 0)
		close(s->gntfd); /* gives up the kernel lock */
	free(s->used);
	free(s->free_refs);
	free(s->deferred);
	free(s->events);
	free(s);
}

static const struct vm_hv_ops sim_ops = {
	.name = "sim",
	.share = sim_share,
	.unshare = sim_unshare,
	.bind_unbound = sim_bind_unbound,
	.unbind = sim_unbind,
	.notify = sim_notify,
	.unmask = sim_unmask,
	.wait = sim_wait,
	.close = sim_close,
};

static int map_file(const char *dir, const char *name, int fd_in, size_t bytes, uint8_t **out)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = fd_in >= 0 ? fd_in : open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vm_fail(-errno, "%s: %s", path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < bytes) {
		rc = vm_fail(-EINVAL, "%s: smaller than the %zu bytes info announces", path, bytes);
	} else {
		void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			rc = vm_fail(-errno, "mmap %s: %s", path, strerror(errno));
		else
			*out = m;
	}
	if (fd_in < 0)
		close(fd);
	return rc;
}

int vm_sim_open(const char *dir, struct vm_hv **out)
{
	if (dir == NULL)
		dir = getenv("VMRDMA_SIM_DOMAIN");
	if (dir == NULL || *dir == '\0')
		return vm_fail(-ENOENT, "no simulated domain: VMRDMA_SIM_DOMAIN is not set");
	if (strlen(dir) >= 200)
		return vm_fail(-ENAMETOOLONG, "domain directory path too long: %s", dir);
	struct sim *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	s->hv.ops = &sim_ops;
	s->gntfd = s->sock = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	long abi, domid, mem, entries, limit;
	int rc = read_info(s, &abi, &domid, &mem, &entries, &limit);
	if (rc < 0)
		goto fail;
	s->hv.domid = (int)domid;
	s->mem_bytes = (size_t)mem;
	s->frames = (uint32_t)(mem / PAGE);
	s->entries = (uint32_t)entries;
	s->limit = (uint32_t)limit;

	char path[300];
	snprintf(path, sizeof(path), "%s/grant-table", dir);
	s->gntfd = open(path, O_RDWR | O_CLOEXEC);
	if (s->gntfd < 0) {
		rc = vm_fail(-ENOENT, "%s: %s", path, strerror(errno));
		goto fail;
	}
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	if (fcntl(s->gntfd, F_SETLK, &fl) != 0) {
		rc = (errno == EACCES || errno == EAGAIN) ?
			vm_fail(-EBUSY, "domain %s has a kernel already (grant-table is locked)", dir) :
			vm_fail(-errno, "lock %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((rc = map_file(dir, "memory", -1, s->mem_bytes, &s->mem)) < 0
	    || (rc = map_file(dir, "grant-table", s->gntfd, (size_t)s->entries * 8, &s->gnt)) < 0)
		goto fail;
	s->used = calloc(s->frames, 1);
	s->free_refs = malloc((s->entries - GNTTAB_NR_RESERVED) * sizeof(uint32_t));
	if (s->used == NULL || s->free_refs == NULL) {
		rc = vm_fail(-ENOMEM, "out of memory");
		goto fail;
	}
	/* Lowest refs first, as Linux hands them out: the top of the stack is ref 8. */
	for (uint32_t r = s->entries; r-- > GNTTAB_NR_RESERVED;)
		s->free_refs[s->nfree++] = r;

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hypercall.sock", dir) >= sizeof(sa.sun_path)) {
		rc = vm_fail(-ENAMETOOLONG, "%s/hypercall.sock is longer than a Unix socket path may be", dir);
		goto fail;
	}
	s->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->sock < 0 || connect(s->sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = vm_fail(-errno, "connect %s: %s", sa.sun_path, strerror(errno));
		goto fail;
	}
	uint32_t hello[1] = {SIM_ABI_VERSION};
	uint8_t reply[4] = {0};
	rc = hypercall(s, HC_HELLO, hello, 1, reply, sizeof(reply));
	if (rc < 0) {
		rc = vm_fail(rc, "HELLO: the simulator refused version %d: %s", SIM_ABI_VERSION, strerror(-rc));
		goto fail;
	}
	if ((long)get_u32(reply, 0) != domid) {
		rc = vm_fail(-EPROTO, "HELLO: the simulator says domain %u, info says %ld", get_u32(reply, 0), domid);
		goto fail;
	}
	*out = &s->hv;
	return 0;
fail:
	sim_close(&s->hv);
	return rc;
}
