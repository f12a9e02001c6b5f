/*
 * The simulator back end against docs/sim-abi.md, without Java: a fake domain directory (info, memory) and a fake
 * hypercall.sock served by a child process. Checks the hypercall framing of page sharing (the simulator's
 * allocator answers with the first frame and the refs; the library shows the pages of its own memory mapping and
 * gives every share back), two handles of one domain at once, and event channels on their FIFOs: a notify is a
 * byte in the peer's FIFO, a masked port merges notifications, unmask re-delivers; and the suspend for a live
 * migration: SCHED_SUSPEND's two outcomes and a malformed reply, the move (memory remapped in place, a new connection
 * to the destination) and GNTALLOC_RECLAIM's framing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

static char root[40], dir[72], moved[72], channels[72];
static const uint32_t DOMID = 5, FRAMES = 64, ENTRIES = 1024, LIMIT = 40;
/* The fake allocator's answer to a share of n pages with flags w: frames from 3 * n, refs 100 * (w + 1) + i. */
#define FAKE_FRAME(n) (3u * (n))
#define FAKE_REF(w, i) (100u * ((w) + 1u) + (i))

static void write_file(const char *d, const char *name, const void *data, size_t n)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", d, name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
		perror(p);
		exit(2);
	}
	close(fd);
}

static void write_info(const char *d, int abi)
{
	char info[256];
	int n = snprintf(info, sizeof(info),
			 "# written by the test\nabi-version=%d\ndomid=%u\nname=t\nmemory-bytes=%u\ngrant-entries=%u\n"
			 "gntalloc-limit=%u\nmax-event-channels=1023\nfuture-key=whatever\n",
			 abi, DOMID, FRAMES * 4096, ENTRIES, LIMIT);
	write_file(d, "info", info, (size_t)n);
}

static int read_full(int fd, unsigned char *b, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static void reply(int fd, uint32_t op, uint32_t id, int32_t result, const uint32_t *extra, int n)
{
	unsigned char m[64] = {0};
	le(m, 0, 4, op);
	le(m, 4, 4, id);
	le(m, 12, 4, 4 + 4 * (unsigned)n);
	le(m, 16, 4, (uint32_t)result);
	for (int i = 0; i < n; i++)
		le(m, 20 + 4 * (size_t)i, 4, extra[i]);
	if (write(fd, m, 20 + 4 * (size_t)n) < 0)
		exit(3);
}

/* SCHED_SUSPEND's reply: the result, then a directory (UTF-8, no NUL). */
static void reply_dir(int fd, uint32_t id, int32_t result, const char *d)
{
	unsigned char m[256] = {0};
	size_t n = strlen(d);
	le(m, 0, 4, 11);
	le(m, 4, 4, id);
	le(m, 12, 4, 4 + (uint32_t)n);
	le(m, 16, 4, (uint32_t)result);
	memcpy(m + 20, d, n);
	if (write(fd, m, 20 + n) < 0)
		exit(3);
}

static int open_fifo(const char *name)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", channels, name);
	return open(p, O_RDWR | O_NONBLOCK);
}

/*
 * The fake simulator: checks each request's framing and answers. BIND_UNBOUND makes channel 7 (FIFOs 7.0, 7.1,
 * held open as the simulator does) and sets the port's pending bit before the reply: port 9, channel 7, side 0.
 * SCHED_SUSPEND resumes the domain where it was, then answers a relative directory, then moves it to moved/.
 */
static void serve(int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	unsigned char h[16], p[64];
	int first = 1, shares = 0, suspends = 0;
	while (read_full(fd, h, 16) == 0) {
		uint32_t op = get_u32(h, 0), id = get_u32(h, 4), len = get_u32(h, 12);
		if (get_u32(h, 8) != 0 || len > sizeof(p) || read_full(fd, p, len) != 0)
			exit(4);
		if (first && op != 1) {
			reply(fd, op, id, -71, NULL, 0);
			continue;
		}
		first = 0;
		switch (op) {
		case 1: { /* HELLO */
			uint32_t d = DOMID;
			reply(fd, op, id, len == 4 && get_u32(p, 0) == 4 ? 0 : -71, &d, 1);
			break;
		}
		case 2: { /* BIND_UNBOUND */
			char p0[128], p1[128];
			snprintf(p0, sizeof(p0), "%s/7.0", channels);
			snprintf(p1, sizeof(p1), "%s/7.1", channels);
			if (mkfifo(p0, 0600) != 0 || mkfifo(p1, 0600) != 0)
				exit(3);
			int held0 = open_fifo("7.0"), held1 = open_fifo("7.1");
			if (held0 < 0 || held1 < 0 || write(held0, "", 1) != 1)
				exit(3);
			uint32_t ch[2] = {7, 0};
			reply(fd, op, id, len == 4 && get_u32(p, 0) == 0 ? 9 : -22, ch, 2);
			break;
		}
		case 9: { /* GNTALLOC_SHARE {domid, flags, count}: to dom0, at most 8 pages here */
			uint32_t n = get_u32(p, 8), w = get_u32(p, 4), refs[8];
			if (len != 12 || get_u32(p, 0) != 0 || w > 1 || n < 1 || n > 8) {
				reply(fd, op, id, -22, NULL, 0);
				break;
			}
			for (uint32_t i = 0; i < n; i++)
				refs[i] = FAKE_REF(w, i);
			shares++;
			reply(fd, op, id, (int32_t)FAKE_FRAME(n), refs, (int)n);
			break;
		}
		case 10: /* GNTALLOC_UNSHARE {first frame} */
			if (len == 4 && get_u32(p, 0) % 3 == 0 && get_u32(p, 0) > 0) {
				shares--;
				reply(fd, op, id, 0, NULL, 0);
			} else {
				reply(fd, op, id, -22, NULL, 0);
			}
			break;
		case 11: /* SCHED_SUSPEND */
			if (len != 0)
				exit(4);
			suspends++;
			reply_dir(fd, id, suspends == 1 ? 1 : 0,
				  suspends == 1		? "" :
					  suspends == 2 ? "domains/5" :
							  moved);
			break;
		case 12: { /* GNTALLOC_RECLAIM {first frame, count, refs}: a writable share brought along */
			uint32_t n = get_u32(p, 4);
			int ok = len >= 8 && n >= 1 && n <= 8 && len == 8 + 4 * n && get_u32(p, 0) == FAKE_FRAME(n);
			for (uint32_t i = 0; ok && i < n; i++)
				ok = get_u32(p, 8 + 4 * (size_t)i) == FAKE_REF(1, i);
			shares += ok;
			reply(fd, op, id, ok ? 0 : -22, NULL, 0);
			break;
		}
		case 5: /* UNBIND */
			reply(fd, op, id, len == 4 && get_u32(p, 0) == 9 ? 0 : -107, NULL, 0);
			break;
		default:
			reply(fd, op, id, -38, NULL, 0);
		}
	}
	exit(shares == 0 ? 0 : 5); /* 5: a share was never given back */
}

static pid_t start_server(const char *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hypercall.sock", d);
	unlink(sa.sun_path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4) != 0) {
		perror("bind");
		exit(2);
	}
	pid_t pid = fork();
	if (pid == 0)
		serve(lfd);
	close(lfd);
	return pid;
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/vmrdma-test-XXXXXX");
	if (mkdtemp(root) == NULL)
		return 2;
	/* The simulator's layout: <run>/domains/<domid> and <run>/channels. */
	snprintf(dir, sizeof(dir), "%s/domains", root);
	snprintf(channels, sizeof(channels), "%s/channels", root);
	if (mkdir(dir, 0700) != 0 || mkdir(channels, 0700) != 0)
		return 2;
	snprintf(dir, sizeof(dir), "%s/domains/%u", root, DOMID);
	if (mkdir(dir, 0700) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	unsigned char *junk = malloc(FRAMES * 4096);
	memset(junk, 0xAA, FRAMES * 4096);
	write_file(dir, "memory", junk, FRAMES * 4096);
	free(junk);

	struct vm_hv *hv = NULL;
	/* Another ABI version is refused. */
	write_info(dir, 2); /* version 2: every process shared pages of its own; gone */
	CHECK_EQ(vm_sim_open(dir, &hv), -EPROTO);
	CHECK(strstr(vmrdma_last_error(), "abi-version 2") != NULL);
	write_info(dir, 3); /* version 3: no suspend for live migration */
	CHECK_EQ(vm_sim_open(dir, &hv), -EPROTO);
	write_info(dir, 4);
	/* No hypercall.sock yet: a clear failure naming the socket. */
	CHECK(vm_sim_open(dir, &hv) < 0);
	CHECK(strstr(vmrdma_last_error(), "hypercall.sock") != NULL);

	pid_t server = start_server(dir);
	CHECK_EQ(vm_sim_open(dir, &hv), 0);
	if (hv == NULL)
		return 1;
	CHECK_EQ(hv->domid, DOMID);
	/* Sharing: the simulator's allocator picks frames and refs; the pages are those frames of this mapping. */
	void *a = NULL, *b = NULL, *d = NULL;
	uint32_t ra[4], rb[2], rd[9];
	CHECK_EQ(hv->ops->share(hv, 0, 4, 1, &a, ra), 0);
	CHECK_EQ(hv->ops->share(hv, 0, 2, 0, &b, rb), 0);
	for (uint32_t i = 0; i < 4; i++)
		CHECK_EQ(ra[i], FAKE_REF(1, i));
	for (uint32_t i = 0; i < 2; i++)
		CHECK_EQ(rb[i], FAKE_REF(0, i));
	CHECK((uint8_t *)b == (uint8_t *)a - (FAKE_FRAME(4) - FAKE_FRAME(2)) * 4096);
	/* The page bytes are the domain's memory file, shared: what the simulator (or dom0) sees. */
	CHECK_EQ(((uint8_t *)a)[0], 0xAA);
	memset(a, 0x5C, 4 * 4096);
	char mp[128];
	snprintf(mp, sizeof(mp), "%s/memory", dir);
	int mfd = open(mp, O_RDONLY);
	unsigned char page[4096];
	CHECK_EQ(pread(mfd, page, sizeof(page), (off_t)FAKE_FRAME(4) * 4096 + 3 * 4096), (ssize_t)sizeof(page));
	close(mfd);
	unsigned char want[4096];
	memset(want, 0x5C, sizeof(want));
	check_bytes("shared page in the memory file", page, want, sizeof(want));
	/* Refusals come back as the simulator's errno, before anything is shared. */
	CHECK_EQ(hv->ops->share(hv, 0, 9, 1, &d, rd), -EINVAL);
	CHECK(strstr(vmrdma_last_error(), "GNTALLOC_SHARE(9 pages)") != NULL);
	CHECK_EQ(hv->ops->share(hv, 0, 0, 1, &d, rd), -EINVAL);
	hv->ops->unshare(hv, a, 4, ra);
	hv->ops->unshare(hv, b, 2, rb);

	/* Event channels: the port pending before BIND_UNBOUND's reply is delivered by wait, and masked. */
	CHECK_EQ(hv->ops->bind_unbound(hv, 0), 9);
	CHECK_EQ(hv->ops->wait(hv, 0), 9);
	CHECK_EQ(hv->ops->wait(hv, 20), 0); /* nothing else: timeout */
	int peer_in = open_fifo("7.1"), peer_out = open_fifo("7.0");
	CHECK(peer_in >= 0 && peer_out >= 0);
	unsigned char seen[8];
	CHECK_EQ(hv->ops->notify(hv, 9), 0);
	CHECK_EQ(hv->ops->notify(hv, 9), 0);
	CHECK_EQ(read(peer_in, seen, sizeof(seen)), 2); /* one byte per notify, into the peer's FIFO only */
	CHECK_EQ(write(peer_out, "\0\0\0", 3), 3);	/* the peer notifies three times while the port is masked */
	CHECK_EQ(hv->ops->wait(hv, 0), 0);
	CHECK_EQ(hv->ops->unmask(hv, 9), 0); /* pending: fires again at once, once */
	CHECK_EQ(hv->ops->wait(hv, 0), 9);
	CHECK_EQ(hv->ops->unmask(hv, 9), 0);
	CHECK_EQ(hv->ops->wait(hv, 0), 0);
	CHECK_EQ(read(peer_out, seen, sizeof(seen)), -1); /* the wait took every pending byte */
	CHECK_EQ(write(peer_out, "", 1), 1);		  /* unmasked: a notify wakes a waiter */
	CHECK_EQ(hv->ops->wait(hv, 1000), 9);
	close(peer_in);
	close(peer_out);
	CHECK_EQ(hv->ops->notify(hv, 3), -107);
	CHECK(strstr(vmrdma_last_error(), "EVTCHN_NOTIFY(3)") != NULL);
	CHECK_EQ(hv->ops->unbind(hv, 9), 0);

	hv->ops->close(hv);
	int status = 0;
	waitpid(server, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* framing right, every share given back */

	/*
	 * Suspend and resume: resumed where it was (1); a malformed directory is refused; moved: the destination's memory
	 * mapped in place, a new connection, the share taken back with its frames and refs, then given back there.
	 */
	snprintf(moved, sizeof(moved), "%s/moved", root);
	if (mkdir(moved, 0700) != 0)
		return 2;
	snprintf(moved, sizeof(moved), "%s/moved/%u", root, DOMID);
	if (mkdir(moved, 0700) != 0)
		return 2;
	write_info(moved, 4);
	unsigned char *copy = malloc(FRAMES * 4096);
	memset(copy, 0x77, FRAMES * 4096);
	write_file(moved, "memory", copy, FRAMES * 4096);
	free(copy);
	server = start_server(dir);
	CHECK_EQ(vm_sim_open(dir, &hv), 0);
	CHECK_EQ(hv->ops->share(hv, 0, 4, 1, &a, ra), 0);
	char there[256];
	CHECK_EQ(hv->ops->suspend(hv, there, sizeof(there)), 1);
	CHECK_EQ(hv->ops->suspend(hv, there, sizeof(there)), -EPROTO);
	CHECK(strstr(vmrdma_last_error(), "domains/5") != NULL);
	CHECK_EQ(hv->ops->suspend(hv, there, sizeof(there)), 0);
	CHECK(strcmp(there, moved) == 0);
	pid_t destination = start_server(moved);
	CHECK_EQ(hv->ops->moved(hv, there), 0);
	CHECK_EQ(((uint8_t *)a)[4 * 4096 - 1], 0x77); /* the same address, the destination's bytes */
	CHECK_EQ(hv->ops->reclaim(hv, a, 4, ra), 0);
	CHECK_EQ(hv->ops->reclaim(hv, (uint8_t *)a + 4096, 3, ra + 1), -EINVAL);
	CHECK(strstr(vmrdma_last_error(), "GNTALLOC_RECLAIM") != NULL);
	CHECK_EQ(hv->ops->reclaim(hv, (uint8_t *)a + FRAMES * 4096, 1, ra), -EINVAL); /* outside the memory */
	hv->ops->unshare(hv, a, 4, ra);
	hv->ops->close(hv);
	waitpid(destination, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The source sees the end of the connection once the destination's server (forked with a copy of it) is gone:
	 * the share went with the domain, not back to the source. */
	waitpid(server, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);

	/* The simulator going away: binding fails, nothing is bound to notify, waits time out; no crash. */
	server = start_server(dir);
	CHECK_EQ(vm_sim_open(dir, &hv), 0);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	CHECK(hv->ops->bind_unbound(hv, 0) < 0);
	CHECK(hv->ops->notify(hv, 9) < 0);
	CHECK_EQ(hv->ops->wait(hv, 10), 0);
	hv->ops->close(hv);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 2;
	return failures ? 1 : 0;
}
