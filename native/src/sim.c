/*
 * The simulator back end (docs/sim-abi.md): maps the domain's memory, asks the simulator's allocator of the domain
 * for shared pages and their grant refs (so any number of processes of one domain may share at once, as users of
 * one kernel's gntalloc), binds event channels through hypercall.sock, and notifies and waits on the channels' FIFOs
 * itself: a notify is one write, a port's mask is its one-shot epoll entry. What this connection holds goes when it
 * closes or the process dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

#define SIM_ABI_VERSION 4
#define PAGE 4096u
#define HC_HEADER 16
#define HC_MAX_PAYLOAD (4u * (3u + 65536u))

enum {
	HC_HELLO = 1,
	HC_BIND_UNBOUND,
	HC_BIND_INTERDOMAIN,
	HC_UNBIND = 5,
	HC_MAP = 7,
	HC_UNMAP,
	HC_SHARE,
	HC_UNSHARE,
	HC_SCHED_SUSPEND,
	HC_RECLAIM
};

struct sim {
	struct vm_hv hv;
	char dir[256];
	uint8_t *mem;
	size_t mem_bytes;
	uint32_t frames;
	int sock; /* hypercall.sock connection: one event-channel and grant-sharing handle */
	uint32_t next_req;
	int epfd;	    /* the bound ports' wait FIFOs, one-shot: a port that fired is masked until re-armed */
	uint32_t max_ports; /* ports are 1..max_ports */
	int *wait_fd;	    /* per port: the FIFO it waits on, or -1 */
	int *notify_fd;	    /* per port: its peer's FIFO */
};

/* ---- info ---- */

static int read_info(struct sim *s, long *abi, long *domid, long *mem, long *ports)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/info", s->dir);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return vm_fail(-ENOENT, "%s: %s (is this a simulated domain directory?)", path, strerror(errno));
	char line[256];
	*abi = *domid = *mem = -1;
	*ports = 1023;
	int bad = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		long *dst = strcmp(k, "abi-version") == 0    ? abi :
			strcmp(k, "domid") == 0		     ? domid :
			strcmp(k, "memory-bytes") == 0	     ? mem :
			strcmp(k, "max-event-channels") == 0 ? ports :
							       NULL;
		if (dst != NULL && vm_parse_long(v, 0, 0x7fffffffffffL, dst) != 0)
			bad = 1;
	}
	fclose(f);
	if (bad || *domid < 1 || *domid >= 0x7ff0 || *mem <= 0 || *mem % PAGE != 0 || *mem / PAGE > 0xffffffffL
	    || *ports < 1 || *ports > 65535)
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

/* Reads one reply; its fields are returned through the pointers (ABI 2 sends nothing unsolicited). */
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
	return 0;
}

/* One request, its reply's result (>= 0) or -errno; up to out_cap bytes of payload after the result go to out. */
static int hypercall(struct sim *s, uint32_t op, const uint32_t *args, int nargs, uint8_t *out, size_t out_cap)
{
	uint8_t few[HC_HEADER + 4 * 4];
	uint8_t *msg = nargs <= 4 ? few : malloc(HC_HEADER + 4 * (size_t)nargs);
	if (msg == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	uint32_t id = ++s->next_req;
	memset(msg, 0, HC_HEADER);
	put_u32(msg, 0, op);
	put_u32(msg, 4, id);
	put_u32(msg, 12, (uint32_t)(4 * nargs));
	for (int i = 0; i < nargs; i++)
		put_u32(msg, HC_HEADER + 4 * (size_t)i, args[i]);
	int rc = write_all(s->sock, msg, HC_HEADER + 4 * (size_t)nargs);
	if (msg != few)
		free(msg);
	if (rc < 0)
		return vm_fail(rc == -EPIPE ? -ENOTCONN : rc, "hypercall.sock: %s", strerror(-rc));
	uint8_t small[64];
	uint8_t *payload = out_cap + 4 <= sizeof(small) ? small : malloc(out_cap + 4);
	if (payload == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	uint32_t rop = 0, rid = 0, len = 0;
	rc = read_message(s, &rop, &rid, payload, out_cap + 4 > sizeof(small) ? out_cap + 4 : sizeof(small), &len);
	if (rc >= 0 && (rop != op || rid != id || len < 4))
		rc = vm_fail(-EPROTO, "hypercall.sock: reply op %u id %u to op %u id %u", rop, rid, op, id);
	if (rc >= 0) {
		if (out != NULL)
			memcpy(out, payload + 4, len - 4 < out_cap ? len - 4 : out_cap);
		rc = (int32_t)get_u32(payload, 0);
	}
	if (payload != small)
		free(payload);
	return rc;
}

/* Read and write: never blocks on a FIFO (Linux), never sees end-of-file, and a write never raises SIGPIPE. */
static int open_fifo(struct sim *s, uint32_t channel, uint32_t side)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/../../channels/%u.%u", s->dir, channel, side);
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? vm_fail(-errno, "channel FIFO %s: %s", path, strerror(errno)) : fd;
}

static int bound(struct sim *s, uint32_t port)
{
	return port >= 1 && port <= s->max_ports && s->wait_fd[port] >= 0;
}

static void forget(struct sim *s, uint32_t port)
{
	if (!bound(s, port))
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->wait_fd[port], NULL);
	close(s->wait_fd[port]);
	close(s->notify_fd[port]);
	s->wait_fd[port] = s->notify_fd[port] = -1;
}

static int sim_unbind(struct vm_hv *hv, uint32_t port)
{
	struct sim *s = (struct sim *)hv;
	uint32_t a[1] = {port};
	int rc = hypercall(s, HC_UNBIND, a, 1, NULL, 0);
	if (rc < 0)
		return vm_fail(rc, "EVTCHN_UNBIND(%u): %s", port, strerror(-rc));
	forget(s, port);
	return 0;
}

/* The reply names the channel: the port waits on FIFO <channel>.<side> and notifies into the other one. */
static int sim_bind_unbound(struct vm_hv *hv, uint32_t remote)
{
	struct sim *s = (struct sim *)hv;
	uint32_t a[1] = {remote};
	uint8_t out[8] = {0};
	int rc = hypercall(s, HC_BIND_UNBOUND, a, 1, out, sizeof(out));
	if (rc < 0)
		return vm_fail(rc, "EVTCHN_BIND_UNBOUND(%u): %s", remote, strerror(-rc));
	uint32_t port = (uint32_t)rc, channel = get_u32(out, 0), side = get_u32(out, 4) & 1;
	if (port < 1 || port > s->max_ports || s->wait_fd[port] >= 0)
		return vm_fail(-EPROTO, "EVTCHN_BIND_UNBOUND: port %u out of range or bound already", port);
	int w = open_fifo(s, channel, side);
	int n = w < 0 ? w : open_fifo(s, channel, 1 - side);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = port};
	if (n < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, w, &ev) != 0) {
		rc = n < 0 ? n : vm_fail(-errno, "epoll_ctl: %s", strerror(errno));
		if (w >= 0)
			close(w);
		if (n >= 0)
			close(n);
		hypercall(s, HC_UNBIND, &port, 1, NULL, 0);
		return rc;
	}
	s->wait_fd[port] = w;
	s->notify_fd[port] = n;
	return (int)port;
}

/* Sets the peer's pending bit and wakes it: one byte into its FIFO; a full FIFO is a pending peer already. */
static int sim_notify(struct vm_hv *hv, uint32_t port)
{
	struct sim *s = (struct sim *)hv;
	if (!bound(s, port))
		return vm_fail(-ENOTCONN, "EVTCHN_NOTIFY(%u): port not bound here", port);
	static const uint8_t one = 1;
	if (write(s->notify_fd[port], &one, 1) < 0 && errno != EAGAIN)
		return vm_fail(-errno, "EVTCHN_NOTIFY(%u): %s", port, strerror(errno));
	return 0;
}

/* Re-arms the one-shot entry: a port notified while masked fires again at once. Unknown ports are ignored. */
static int sim_unmask(struct vm_hv *hv, uint32_t port)
{
	struct sim *s = (struct sim *)hv;
	if (!bound(s, port))
		return 0;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = port};
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->wait_fd[port], &ev) != 0)
		return vm_fail(-errno, "EVTCHN_UNMASK(%u): %s", port, strerror(errno));
	return 0;
}

/* The next port that fires, masked and its pending bit cleared; 0 on timeout. */
static int sim_wait(struct vm_hv *hv, int timeout_ms)
{
	struct sim *s = (struct sim *)hv;
	struct epoll_event ev;
	int n;
	do {
		n = epoll_wait(s->epfd, &ev, 1, timeout_ms);
	} while (n < 0 && errno == EINTR && timeout_ms < 0);
	if (n < 0 && errno != EINTR)
		return vm_fail(-errno, "epoll_wait: %s", strerror(errno));
	if (n <= 0 || !bound(s, ev.data.u32))
		return 0;
	/* One byte per notification while masked; at most a pipe's 64 KiB, so a peer that never stops writing cannot
	 * hold us here: what stays is still pending and fires again when unmasked. */
	uint8_t drain[4096];
	for (int reads = 0; reads < 16 && read(s->wait_fd[ev.data.u32], drain, sizeof(drain)) == (ssize_t)sizeof(drain);
	     reads++)
		;
	return (int)ev.data.u32;
}

/* ---- grants and pages ---- */

/* The simulator's allocator of the domain grants adjacent zeroed pages: the reply is the first frame, then the refs. */
static int sim_share(struct vm_hv *hv, uint32_t domid, uint32_t count, int writable, void **addr, uint32_t *refs)
{
	struct sim *s = (struct sim *)hv;
	if (count == 0 || count > 65536 || domid >= 0x7ff0)
		return vm_fail(-EINVAL, "share: %u pages to domain %u", count, domid);
	uint32_t a[3] = {domid, writable ? 1u : 0u, count};
	uint8_t *out = malloc(4 * (size_t)count);
	if (out == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	int rc = hypercall(s, HC_SHARE, a, 3, out, 4 * (size_t)count);
	if (rc < 0) {
		free(out);
		return vm_fail(rc, "GNTALLOC_SHARE(%u pages): %s", count, strerror(-rc));
	}
	uint32_t first = (uint32_t)rc;
	if ((uint64_t)first + count > s->frames) {
		free(out);
		return vm_fail(-EPROTO, "GNTALLOC_SHARE: frames %u+%u outside the domain's memory", first, count);
	}
	for (uint32_t i = 0; i < count; i++)
		refs[i] = get_u32(out, 4 * (size_t)i);
	free(out);
	*addr = s->mem + (size_t)first * PAGE;
	return 0;
}

/* Grants the backend still has mapped are ended by the simulator once it unmaps them; the pages wait till then. */
static void sim_unshare(struct vm_hv *hv, void *addr, uint32_t count, const uint32_t *refs)
{
	struct sim *s = (struct sim *)hv;
	(void)count;
	(void)refs;
	uint8_t *p = addr;
	if (p < s->mem || p >= s->mem + s->mem_bytes)
		return;
	uint32_t first[1] = {(uint32_t)((size_t)(p - s->mem) / PAGE)};
	hypercall(s, HC_UNSHARE, first, 1, NULL, 0);
}

/* Opens this process's connection to the domain's hypercall.sock and agrees on the ABI version. */
static int connect_hypercall(struct sim *s, long domid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hypercall.sock", s->dir) >= sizeof(sa.sun_path))
		return vm_fail(-ENAMETOOLONG, "%s/hypercall.sock is longer than a Unix socket path may be", s->dir);
	s->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->sock < 0 || connect(s->sock, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return vm_fail(-errno, "connect %s: %s", sa.sun_path, strerror(errno));
	uint32_t hello[1] = {SIM_ABI_VERSION};
	uint8_t reply[4] = {0};
	int rc = hypercall(s, HC_HELLO, hello, 1, reply, sizeof(reply));
	if (rc < 0)
		return vm_fail(rc, "HELLO: the simulator refused version %d: %s", SIM_ABI_VERSION, strerror(-rc));
	if ((long)get_u32(reply, 0) != domid)
		return vm_fail(-EPROTO, "HELLO: the simulator says domain %u, info says %ld", get_u32(reply, 0), domid);
	return 0;
}

/* ---- suspend and resume (docs/sim-abi.md §7) ---- */

/*
 * SCHED_SUSPEND on this connection: the reply comes only when the toolstack resumes the domain. 1: resumed where it
 * was; 0: moved, dir (cap bytes) names the destination's domain directory.
 */
static int sim_suspend(struct vm_hv *hv, char *dir, size_t cap)
{
	struct sim *s = (struct sim *)hv;
	memset(dir, 0, cap);
	int rc = hypercall(s, HC_SCHED_SUSPEND, NULL, 0, (uint8_t *)dir, cap - 1);
	if (rc < 0)
		return vm_fail(rc, "SCHED_SUSPEND: %s", strerror(-rc));
	if (rc > 1 || (rc == 0 && (dir[0] != '/' || strlen(dir) >= 200)))
		return vm_fail(-EPROTO, "SCHED_SUSPEND: result %d, directory \"%.64s\"", rc, dir);
	return rc;
}

/*
 * The domain runs on another host now, with its memory copied: maps that host's memory over the old mapping in place
 * (every address stays valid), forgets every port (the old host's channels are gone) and connects to that host.
 */
static int sim_moved(struct vm_hv *hv, const char *dir)
{
	struct sim *s = (struct sim *)hv;
	for (uint32_t p = 1; p <= s->max_ports; p++)
		forget(s, p);
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	long abi, domid, mem, ports;
	int rc = read_info(s, &abi, &domid, &mem, &ports);
	if (rc < 0)
		return rc;
	if (domid != s->hv.domid || (size_t)mem != s->mem_bytes)
		return vm_fail(-EPROTO, "%s: domain %ld of %ld bytes, this was domain %d of %zu", dir, domid, mem,
			       s->hv.domid, s->mem_bytes);
	char path[300];
	snprintf(path, sizeof(path), "%s/memory", dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vm_fail(-errno, "%s: %s", path, strerror(errno));
	void *m = mmap(s->mem, s->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return vm_fail(-errno, "mmap %s over the old memory: %s", path, strerror(errno));
	return connect_hypercall(s, domid);
}

/* Takes back a share the domain brought along: the same frames and refs, now this connection's (GNTALLOC_RECLAIM). */
static int sim_reclaim(struct vm_hv *hv, void *addr, uint32_t count, const uint32_t *refs)
{
	struct sim *s = (struct sim *)hv;
	uint8_t *p = addr;
	if (p < s->mem || p + (size_t)count * PAGE > s->mem + s->mem_bytes || count == 0 || count > 65536)
		return vm_fail(-EINVAL, "reclaim: %u pages outside the domain's memory", count);
	uint32_t *a = malloc(4 * (2 + (size_t)count));
	if (a == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	uint32_t first = (uint32_t)((size_t)(p - s->mem) / PAGE);
	a[0] = first;
	a[1] = count;
	memcpy(a + 2, refs, 4 * (size_t)count);
	int rc = hypercall(s, HC_RECLAIM, a, 2 + (int)count, NULL, 0);
	free(a);
	return rc < 0 ? vm_fail(rc, "GNTALLOC_RECLAIM(frame %u, %u pages): %s", first, count, strerror(-rc)) : 0;
}

static void sim_close(struct vm_hv *hv)
{
	struct sim *s = (struct sim *)hv;
	if (s->sock >= 0)
		close(s->sock);
	for (uint32_t p = 1; s->wait_fd != NULL && p <= s->max_ports; p++)
		forget(s, p);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->mem != NULL && s->mem != MAP_FAILED)
		munmap(s->mem, s->mem_bytes);
	free(s->wait_fd);
	free(s->notify_fd);
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
	.suspend = sim_suspend,
	.moved = sim_moved,
	.reclaim = sim_reclaim,
};

static int map_file(const char *dir, const char *name, size_t bytes, uint8_t **out)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
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
	s->sock = s->epfd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	long abi, domid, mem, ports;
	int rc = read_info(s, &abi, &domid, &mem, &ports);
	if (rc < 0)
		goto fail;
	s->hv.domid = (int)domid;
	s->mem_bytes = (size_t)mem;
	s->frames = (uint32_t)(mem / PAGE);
	s->max_ports = (uint32_t)ports;
	s->wait_fd = malloc((s->max_ports + 1) * sizeof(int));
	s->notify_fd = malloc((s->max_ports + 1) * sizeof(int));
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->wait_fd == NULL || s->notify_fd == NULL || s->epfd < 0) {
		free(s->wait_fd);
		s->wait_fd = NULL;
		rc = vm_fail(-ENOMEM, "out of memory or epoll");
		goto fail;
	}
	for (uint32_t p = 0; p <= s->max_ports; p++)
		s->wait_fd[p] = s->notify_fd[p] = -1;

	if ((rc = map_file(dir, "memory", s->mem_bytes, &s->mem)) < 0)
		goto fail;

	if ((rc = connect_hypercall(s, domid)) < 0)
		goto fail;
	*out = &s->hv;
	return 0;
fail:
	sim_close(&s->hv);
	return rc;
}
