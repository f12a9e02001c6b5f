/*
 * The simulator back end against docs/sim-abi.md, without Java: a fake domain directory (info, memory,
 * grant-table) and a fake hypercall.sock served by a child process. Checks the kernel lock, gntalloc's page and
 * ref allocation, grant entries byte for byte, revocation of mapped grants, the hypercall framing, and event
 * channels on their FIFOs: a notify is a byte in the peer's FIFO, a masked port merges notifications, unmask
 * re-delivers.
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

static char root[40], dir[72], channels[72];
static const uint32_t DOMID = 5, FRAMES = 64, ENTRIES = 1024, LIMIT = 40;

static void write_file(const char *name, const void *data, size_t n)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
		perror(p);
		exit(2);
	}
	close(fd);
}

static void write_info(int abi)
{
	char info[256];
	int n = snprintf(info, sizeof(info),
			 "# written by the test\nabi-version=%d\ndomid=%u\nname=t\nmemory-bytes=%u\ngrant-entries=%u\n"
			 "gntalloc-limit=%u\nmax-event-channels=1023\nfuture-key=whatever\n",
			 abi, DOMID, FRAMES * 4096, ENTRIES, LIMIT);
	write_file("info", info, (size_t)n);
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

static int open_fifo(const char *name)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", channels, name);
	return open(p, O_RDWR | O_NONBLOCK);
}

/*
 * The fake simulator: checks each request's framing and answers. BIND_UNBOUND makes channel 7 (FIFOs 7.0, 7.1,
 * held open as the simulator does) and sets the port's pending bit before the reply: port 9, channel 7, side 0.
 */
static void serve(int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	unsigned char h[16], p[64];
	int first = 1;
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
			reply(fd, op, id, len == 4 && get_u32(p, 0) == 2 ? 0 : -71, &d, 1);
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
		case 5: /* UNBIND */
			reply(fd, op, id, len == 4 && get_u32(p, 0) == 9 ? 0 : -107, NULL, 0);
			break;
		default:
			reply(fd, op, id, -38, NULL, 0);
		}
	}
	exit(0);
}

static pid_t start_server(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hypercall.sock", dir);
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

static uint8_t *map_grants(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/grant-table", dir);
	int fd = open(p, O_RDWR);
	uint8_t *g = mmap(NULL, ENTRIES * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return g;
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
	write_file("memory", junk, FRAMES * 4096);
	free(junk);
	unsigned char *zeros = calloc(ENTRIES, 8);
	write_file("grant-table", zeros, ENTRIES * 8);
	free(zeros);

	struct vm_hv *hv = NULL;
	/* Another ABI version is refused. */
	write_info(1);
	CHECK_EQ(vm_sim_open(dir, &hv), -EPROTO);
	write_info(2);
	/* No hypercall.sock yet: a clear failure naming the socket. */
	CHECK(vm_sim_open(dir, &hv) < 0);
	CHECK(strstr(vmrdma_last_error(), "hypercall.sock") != NULL);

	/* Another process holding the grant-table lock is the kernel: EBUSY. */
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return 2;
	pid_t holder = fork();
	if (holder == 0) {
		char p[128];
		snprintf(p, sizeof(p), "%s/grant-table", dir);
		int fd = open(p, O_RDWR);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fcntl(fd, F_SETLK, &fl) != 0)
			exit(1);
		char c = 1;
		if (write(pipefd[1], &c, 1) != 1)
			exit(1);
		pause();
		exit(0);
	}
	char c;
	if (read(pipefd[0], &c, 1) != 1)
		return 2;
	CHECK_EQ(vm_sim_open(dir, &hv), -EBUSY);
	CHECK(strstr(vmrdma_last_error(), "kernel already") != NULL);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);

	pid_t server = start_server();
	CHECK_EQ(vm_sim_open(dir, &hv), 0);
	if (hv == NULL)
		return 1;
	CHECK_EQ(hv->domid, DOMID);
	uint8_t *g = map_grants();

	/* Sharing: refs from 8 up, first-fit adjacent frames, zeroed pages, v1 entries byte for byte. */
	void *a = NULL, *b = NULL, *d = NULL;
	uint32_t ra[4], rb[2], rd[40];
	CHECK_EQ(hv->ops->share(hv, 0, 4, 1, &a, ra), 0);
	CHECK_EQ(hv->ops->share(hv, 0, 2, 0, &b, rb), 0);
	CHECK_EQ(ra[0], 8);
	CHECK_EQ(ra[3], 11);
	CHECK_EQ(rb[0], 12);
	CHECK((uint8_t *)b == (uint8_t *)a + 4 * 4096);
	for (int i = 0; i < 4 * 4096; i++)
		if (((uint8_t *)a)[i] != 0) {
			CHECK(!"shared pages are zeroed");
			break;
		}
	unsigned char want[8];
	for (uint32_t i = 0; i < 4; i++) {
		memset(want, 0, 8);
		le(want, 0, 2, 1); /* GTF_permit_access */
		le(want, 2, 2, 0); /* domid 0 may map */
		le(want, 4, 4, i); /* frames 0..3 */
		check_bytes("writable grant", g + 8 * ra[i], want, 8);
	}
	memset(want, 0, 8);
	le(want, 0, 2, 1 | 4); /* GTF_readonly */
	le(want, 4, 4, 5);
	check_bytes("read-only grant", g + 8 * rb[1], want, 8);
	for (uint32_t r = 0; r < 8; r++)
		CHECK_EQ(get_u32(g, 8 * r), 0); /* reserved refs untouched */

	/* gntalloc's limit: 6 shared, 40 allowed. */
	CHECK_EQ(hv->ops->share(hv, 0, 35, 1, &d, rd), -ENOSPC);
	CHECK(strstr(vmrdma_last_error(), "limit") != NULL);
	CHECK_EQ(hv->ops->share(hv, 0, 0, 1, &d, rd), -EINVAL);

	/* Revocation: a grant dom0 has mapped (GTF_reading set by the simulator) is kept aside, never reused. */
	le(g, 8 * ra[1], 2, 1 | 8);
	hv->ops->unshare(hv, a, 4, ra);
	CHECK_EQ(get_u16(g, 8 * ra[0]), 0);	/* flags cleared */
	CHECK_EQ(get_u16(g, 8 * ra[0] + 2), 0); /* domid kept, as the CAS keeps the upper half */
	CHECK_EQ(get_u16(g, 8 * ra[1]), 1 | 8); /* still in use */
	void *e = NULL;
	uint32_t re[3];
	CHECK_EQ(hv->ops->share(hv, 0, 3, 1, &e, re), 0);
	/* Frames 0 and 2..3 are free but frame 1 is not: no run of 3 before frame 6. */
	CHECK((uint8_t *)e == (uint8_t *)a + 6 * 4096);
	for (int i = 0; i < 3; i++)
		CHECK(re[i] != ra[1]);
	le(g, 8 * ra[1], 2, 1); /* dom0 unmapped */
	void *f = NULL;
	uint32_t rf[4];
	CHECK_EQ(hv->ops->share(hv, 0, 4, 1, &f, rf), 0);
	CHECK((uint8_t *)f == (uint8_t *)a); /* the deferred page came back: frames 0..3 again */
	hv->ops->unshare(hv, f, 4, rf);
	hv->ops->unshare(hv, e, 3, re);
	hv->ops->unshare(hv, b, 2, rb);
	CHECK_EQ(hv->ops->share(hv, 0, 40, 1, &d, rd), 0); /* everything back: the whole limit fits */
	for (int i = 0; i < 40; i++) { /* distinct refs, none reserved (recycled refs come back in release order) */
		CHECK(rd[i] >= 8 && rd[i] < ENTRIES);
		for (int j = 0; j < i; j++)
			CHECK(rd[i] != rd[j]);
	}
	hv->ops->unshare(hv, d, 40, rd);

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

	/* While this process is the kernel, a second attach is refused... by another process (POSIX locks). */
	hv->ops->close(hv);
	int status = 0;
	waitpid(server, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The simulator going away: binding fails, nothing is bound to notify, waits time out; no crash. */
	server = start_server();
	CHECK_EQ(vm_sim_open(dir, &hv), 0);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	CHECK(hv->ops->bind_unbound(hv, 0) < 0);
	CHECK(hv->ops->notify(hv, 9) < 0);
	CHECK_EQ(hv->ops->wait(hv, 10), 0);
	hv->ops->close(hv);

	munmap(g, ENTRIES * 8);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 2;
	return failures ? 1 : 0;
}
