/*
 * vmrdma_write_bw, vmrdma_read_bw, vmrdma_write_lat, vmrdma_send_lat: perftest's ib_write_bw, ib_read_bw,
 * ib_write_lat and ib_send_lat over libvmrdma, with perftest's options and output columns (the same rows the
 * Java io.vmrdma.guest.bench.Perftest prints). One source, built once per tool (VMRDMA_TOOL_*).
 *
 *   server:  vmrdma_write_bw [options]
 *   client:  vmrdma_write_bw [options] NODE        (NODE: the server's engine node id, as perftest's servername)
 *
 * Connection through vmrdma's connection manager on service -p (perftest's TCP port); the buffer address and
 * rkey travel as private data (12 bytes, big-endian, as the Java Endpoint), so a C tool also talks to the Java
 * GuestTool bench.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmrdma.h"

enum test { WRITE_BW, READ_BW, WRITE_LAT, SEND_LAT };

#if defined(VMRDMA_TOOL_write_bw)
static const enum test TEST = WRITE_BW;
#elif defined(VMRDMA_TOOL_read_bw)
static const enum test TEST = READ_BW;
#elif defined(VMRDMA_TOOL_write_lat)
static const enum test TEST = WRITE_LAT;
#elif defined(VMRDMA_TOOL_send_lat)
static const enum test TEST = SEND_LAT;
#else
#error "build with -DVMRDMA_TOOL_write_bw, _read_bw, _write_lat or _send_lat"
#endif

static const char *const TOOL[] = {"vmrdma_write_bw", "vmrdma_read_bw", "vmrdma_write_lat", "vmrdma_send_lat"};
static const char *const JSON_NAME[] = {"ib_write_bw", "ib_read_bw", "ib_write_lat", "ib_send_lat"};
static const char *const TITLE[] = {"RDMA_Write BW Test", "RDMA_Read BW Test", "RDMA_Write Latency Test",
				    "Send Latency Test"};

#define SIGNAL_EVERY 16 /* perftest's cq_mod */
#define WAIT_MS 30000
#define MAX_ALL 23 /* -a: 2 .. 2^23 bytes, as perftest */
#define RULE "---------------------------------------------------------------------------------------"

struct opts {
	uint32_t size;
	int all;
	uint32_t max_size;
	long iters;
	int duration;
	uint64_t service;
	int tx_depth;
	int buffers;
	int events;
	int json;
	int server;
	uint16_t node;
};

struct ep {
	struct vmrdma_context *ctx;
	struct vmrdma_pd *pd;
	struct vmrdma_cq *cq;
	struct vmrdma_buf *buf;
	struct vmrdma_mr *mr;
	struct vmrdma_qp *qp;
	uint64_t raddr;
	uint32_t rkey;
	int disconnected;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s (%s)\n", TOOL[TEST], what, strerror(rc < 0 ? -rc : rc), vmrdma_last_error());
	exit(1);
}

#define TRY(call)                        \
	do {                             \
		int rc_ = (call);        \
		if (rc_ < 0)             \
			die(#call, rc_); \
	} while (0)

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int bandwidth_test(void)
{
	return TEST == WRITE_BW || TEST == READ_BW;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options]          start a server and wait for a connection\n"
		"       %s [options] NODE     connect to the server on engine node NODE\n\n"
		"Options (perftest's):\n"
		"  -s, --size=BYTES       message size (default %d)\n"
		"  -a, --all              every size from %d to 2^%d bytes (capped by -m)\n"
		"  -n, --iters=N          iterations per size (default %d)\n"
		"%s"
		"  -p, --port=SERVICE     connection-manager service id, perftest's TCP port (default 18515)\n"
		"%s"
		"%s"
		"  -e, --events           block on the event channel for completions instead of polling\n"
		"                         (a bandwidth server always blocks: it only waits for the client)\n"
		"  -m, --max-size=BYTES   largest -a size (default 1048576; both sides must agree)\n"
		"      --json             also print each result as a JSON line (the Java Perftest's)\n"
		"  -h, --help             this text\n"
		"Both sides must be given the same -s / -a / -m. Runs in a vmrdma guest: the simulator when\n"
		"VMRDMA_SIM_DOMAIN is set, else a Xen domU.\n",
		TOOL[TEST], TOOL[TEST], bandwidth_test() ? 65536 : 8, TEST == WRITE_LAT ? 8 : 2, MAX_ALL,
		bandwidth_test() ? 5000 : 1000,
		bandwidth_test() ? "  -D, --duration=SECONDS run each size for this long instead of -n iterations\n" :
				   "",
		bandwidth_test() ? "  -t, --tx-depth=N       requests in flight (default 128)\n" : "",
		bandwidth_test() ?
			"  -b, --buffers=N        cycle the requests over N message slots on each side (default 1;\n"
			"                         both sides must agree): data that is not always in the cache\n" :
			"");
}

static long number(const char *opt, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max) {
		fprintf(stderr, "%s: %s %s: expected a number in %ld..%ld\n", TOOL[TEST], opt, s, min, max);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"size", required_argument, NULL, 's'},	    {"all", no_argument, NULL, 'a'},
		{"iters", required_argument, NULL, 'n'},    {"duration", required_argument, NULL, 'D'},
		{"port", required_argument, NULL, 'p'},	    {"tx-depth", required_argument, NULL, 't'},
		{"buffers", required_argument, NULL, 'b'},  {"events", no_argument, NULL, 'e'},
		{"max-size", required_argument, NULL, 'm'}, {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof(*o));
	o->size = bandwidth_test() ? 65536 : 8;
	o->iters = bandwidth_test() ? 5000 : 1000;
	o->service = 18515;
	o->tx_depth = 128;
	o->buffers = 1;
	o->max_size = 1 << 20;
	int c;
	while ((c = getopt_long(argc, argv, "s:an:D:p:t:b:em:h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o->size = (uint32_t)number("-s", optarg, 1, 1 << 25);
			break;
		case 'a':
			o->all = 1;
			break;
		case 'n':
			o->iters = number("-n", optarg, 1, 1L << 40);
			break;
		case 'D':
			if (!bandwidth_test()) {
				fprintf(stderr, "%s: -D is for the bandwidth tests (latency tests count iterations)\n",
					TOOL[TEST]);
				exit(2);
			}
			o->duration = (int)number("-D", optarg, 1, 3600);
			break;
		case 'p':
			o->service = (uint64_t)number("-p", optarg, 1, 0x7fffffffffffffffL);
			break;
		case 't':
			o->tx_depth = (int)number("-t", optarg, SIGNAL_EVERY + 1, 1024);
			break;
		case 'b':
			if (!bandwidth_test()) {
				fprintf(stderr, "%s: -b is for the bandwidth tests\n", TOOL[TEST]);
				exit(2);
			}
			o->buffers = (int)number("-b", optarg, 1, 64);
			break;
		case 'e':
			o->events = 1;
			break;
		case 'm':
			o->max_size = (uint32_t)number("-m", optarg, 8, 1 << 25);
			break;
		case 'J':
			o->json = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind == argc) {
		o->server = 1;
	} else if (optind + 1 == argc) {
		o->node = (uint16_t)number("NODE", argv[optind], 0, 65535);
	} else {
		usage(stderr);
		exit(2);
	}
	if (TEST == WRITE_LAT && o->size < 8 && !o->all) {
		fprintf(stderr, "%s: -s %u: the write latency test needs at least 8 bytes (the iteration number)\n",
			TOOL[TEST], o->size);
		exit(2);
	}
	if (!o->all)
		o->max_size = o->size;
}

/* ---- endpoint (perftest's context; the Java Endpoint) ---- */

static void key(const struct ep *e, uint8_t out[12])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(e->mr->addr >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(e->mr->rkey >> (24 - 8 * i));
}

static void peer(struct ep *e, const struct vmrdma_cm_event *ev)
{
	if (ev->private_data_len < 12) {
		fprintf(stderr, "%s: the peer sent %u bytes of private data, not its 12-byte key\n", TOOL[TEST],
			ev->private_data_len);
		exit(1);
	}
	e->raddr = 0;
	e->rkey = 0;
	for (int i = 0; i < 8; i++)
		e->raddr = e->raddr << 8 | ev->private_data[i];
	for (int i = 8; i < 12; i++)
		e->rkey = e->rkey << 8 | ev->private_data[i];
}

static void new_qp(struct ep *e, int depth)
{
	struct vmrdma_qp_init_attr a = {.send_cq = e->cq,
					.recv_cq = e->cq,
					.max_send_wr = (uint32_t)depth,
					.max_recv_wr = (uint32_t)depth,
					.max_sge = 1};
	TRY(vmrdma_create_qp(e->pd, &a, &e->qp));
}

static void setup(struct ep *e, const struct opts *o)
{
	struct vmrdma_open_attr a;
	vmrdma_open_attr_init(&a);
	/* The bandwidth server only waits for the client to finish: it blocks, leaving the core to dom0's agent. */
	a.polling = !o->events && !(o->server && bandwidth_test());
	TRY(vmrdma_open(&a, &e->ctx));
	TRY(vmrdma_alloc_pd(e->ctx, &e->pd));
	TRY(vmrdma_create_cq(e->ctx, 4 * o->tx_depth, &e->cq));
	size_t bytes = (size_t)(o->buffers > 2 ? o->buffers : 2) * (o->max_size > 4096 ? o->max_size : 4096);
	TRY(vmrdma_alloc_buf(e->ctx, bytes, &e->buf));
	TRY(vmrdma_reg_mr(e->pd, e->buf,
			  VMRDMA_ACCESS_LOCAL_WRITE | VMRDMA_ACCESS_REMOTE_WRITE | VMRDMA_ACCESS_REMOTE_READ, &e->mr));
	new_qp(e, o->tx_depth);
}

static void expect_event(struct ep *e, enum vmrdma_cm_event_type type, struct vmrdma_cm_event *ev, int timeout)
{
	int rc = vmrdma_wait_cm_event(e->ctx, ev, timeout);
	if (rc < 0)
		die("waiting for a connection event", rc);
	if (rc == 0 || ev->event != type) {
		fprintf(stderr, "%s: expected %s, got %s %s\n", TOOL[TEST], vmrdma_cm_event_str(type),
			rc ? vmrdma_cm_event_str(ev->event) : "nothing", rc ? ev->reason : "");
		exit(1);
	}
}

static void connect_ep(struct ep *e, const struct opts *o)
{
	struct vmrdma_cm_event ev;
	uint8_t k[12];
	key(e, k);
	if (o->server) {
		TRY(vmrdma_listen(e->ctx, o->service));
		printf(" Waiting for a client on node %d, service %" PRIu64 "\n", vmrdma_node_id(e->ctx), o->service);
		fflush(stdout);
		expect_event(e, VMRDMA_CM_CONNECT_REQUEST, &ev, -1);
		peer(e, &ev);
		TRY(vmrdma_accept(e->qp, ev.connection_id, k, sizeof(k)));
		expect_event(e, VMRDMA_CM_ESTABLISHED, &ev, WAIT_MS);
		TRY(vmrdma_stop_listen(e->ctx, o->service));
		return;
	}
	/* The server may still be starting: a refusal is retried for a while, as perftest retries its TCP connect. */
	for (int attempt = 1;; attempt++) {
		TRY(vmrdma_connect(e->qp, o->node, o->service, -1, k, sizeof(k), NULL));
		int rc = vmrdma_wait_cm_event(e->ctx, &ev, WAIT_MS);
		if (rc < 0)
			die("connecting", rc);
		if (rc == 1 && ev.event == VMRDMA_CM_ESTABLISHED)
			break;
		if (attempt == 150) {
			fprintf(stderr, "%s: no server on node %u service %" PRIu64 ": %s %s\n", TOOL[TEST], o->node,
				o->service, rc ? vmrdma_cm_event_str(ev.event) : "no answer", rc ? ev.reason : "");
			exit(1);
		}
		TRY(vmrdma_destroy_qp(e->qp));
		new_qp(e, o->tx_depth);
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	peer(e, &ev);
}

static void await_disconnect(struct ep *e)
{
	struct vmrdma_cm_event ev;
	while (!e->disconnected) {
		int rc = vmrdma_wait_cm_event(e->ctx, &ev, -1);
		if (rc < 0)
			die("waiting for the client to finish", rc);
		if (rc == 1 && ev.event == VMRDMA_CM_DISCONNECTED)
			e->disconnected = 1;
	}
}

static void teardown(struct ep *e)
{
	if (!e->disconnected)
		TRY(vmrdma_disconnect(e->qp));
	TRY(vmrdma_destroy_qp(e->qp));
	TRY(vmrdma_dereg_mr(e->mr));
	TRY(vmrdma_destroy_cq(e->cq));
	TRY(vmrdma_dealloc_pd(e->pd));
	TRY(vmrdma_free_buf(e->buf));
	TRY(vmrdma_close(e->ctx));
}

static void wait_wc(struct ep *e, struct vmrdma_wc *wc, const char *what)
{
	int rc = vmrdma_wait_cq(e->cq, wc, WAIT_MS);
	if (rc < 0)
		die(what, rc);
	if (rc == 0) {
		fprintf(stderr, "%s: %s: no completion within %d s\n", TOOL[TEST], what, WAIT_MS / 1000);
		exit(1);
	}
	if (wc->status != VMRDMA_WC_SUCCESS) {
		fprintf(stderr, "%s: %s: work request failed: %s\n", TOOL[TEST], what,
			vmrdma_wc_status_str(wc->status));
		exit(1);
	}
}

/* ---- tests ---- */

static void bandwidth(struct ep *e, const struct opts *o, uint32_t bytes)
{
	struct vmrdma_sge sge = {e->mr->addr, bytes, e->mr->lkey};
	struct vmrdma_send_wr wr = {.opcode = TEST == READ_BW ? VMRDMA_WR_RDMA_READ : VMRDMA_WR_RDMA_WRITE,
				    .num_sge = 1,
				    .sg_list = &sge,
				    .remote_addr = e->raddr,
				    .rkey = e->rkey};
	struct vmrdma_wc wc;
	uint64_t limit = o->duration ? UINT64_MAX : (uint64_t)o->iters;
	uint64_t posted = 0, completed = 0, last_completed = 0;
	int64_t start = now_ns(), last = start, stop = start + (int64_t)o->duration * 1000000000;
	double peak = 0;
	while (completed < limit) {
		while (posted < limit && posted - completed < (uint64_t)(o->tx_depth - SIGNAL_EVERY)) {
			/* -D: stop at a signaled request, so the last one posted completes visibly. */
			if (o->duration && posted % SIGNAL_EVERY == 0 && posted > 0 && now_ns() >= stop) {
				limit = posted;
				break;
			}
			int signal = (posted + 1) % SIGNAL_EVERY == 0 || posted + 1 == limit;
			uint64_t slot = (posted % (uint64_t)o->buffers) * bytes;
			sge.addr = e->mr->addr + slot;
			wr.remote_addr = e->raddr + slot;
			wr.wr_id = posted + 1;
			wr.send_flags = signal ? VMRDMA_SEND_SIGNALED : 0;
			TRY(vmrdma_post_send(e->qp, &wr));
			posted++;
		}
		if (completed >= limit)
			break;
		wait_wc(e, &wc, "bandwidth");
		completed = wc.wr_id;
		int64_t now = now_ns();
		/* Peak over windows of at least a millisecond: shorter ones measure the timer, not the link. */
		if (now - last >= 1000000) {
			double bw =
				(double)(completed - last_completed) * bytes / ((double)(now - last) / 1e9) / 1048576.0;
			if (bw > peak)
				peak = bw;
			last = now;
			last_completed = completed;
		}
	}
	double seconds = (double)(now_ns() - start) / 1e9;
	double avg = (double)limit * bytes / seconds / 1048576.0;
	printf(" %-10u %-13" PRIu64 " %-18.2f %-20.2f %.6f\n", bytes, limit, peak > avg ? peak : avg, avg,
	       (double)limit / seconds / 1e6);
	if (o->json)
		printf("{\"test\":\"%s\",\"bytes\":%u,\"iterations\":%" PRIu64 ",\"bw_peak_mbps\":%.2f,"
		       "\"bw_avg_mbps\":%.2f,\"msg_rate_mpps\":%.6f}\n",
		       JSON_NAME[TEST], bytes, limit, peak > avg ? peak : avg, avg, (double)limit / seconds / 1e6);
	fflush(stdout);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* perftest's latency statistics over round trips, reported as half round trips in microseconds. */
static void report_latency(const struct opts *o, uint32_t bytes, int64_t *s, long n)
{
	qsort(s, (size_t)n, sizeof(*s), cmp64);
	double sum = 0, var = 0;
	for (long i = 0; i < n; i++)
		sum += (double)s[i];
	double avg = sum / (double)n;
	for (long i = 0; i < n; i++)
		var += ((double)s[i] - avg) * ((double)s[i] - avg);
	const double half = 2000.0;
	long i99 = (long)((double)n * 0.99), i999 = (long)((double)n * 0.999);
	double min = (double)s[0] / half, max = (double)s[n - 1] / half, typ = (double)s[n / 2] / half;
	double sd = sqrt(var / (double)n) / half, p99 = (double)s[i99 < n ? i99 : n - 1] / half;
	double p999 = (double)s[i999 < n ? i999 : n - 1] / half;
	printf(" %-8u %-12ld %-13.2f %-13.2f %-16.2f %-13.2f %-15.2f %-22.2f %.2f\n", bytes, n, min, max, typ,
	       avg / half, sd, p99, p999);
	if (o->json)
		printf("{\"test\":\"%s\",\"bytes\":%u,\"iterations\":%ld,\"t_min_us\":%.3f,\"t_max_us\":%.3f,"
		       "\"t_typical_us\":%.3f,\"t_avg_us\":%.3f,\"t_stdev_us\":%.3f,\"p99_us\":%.3f,\"p99_9_us\":%.3f}\n",
		       JSON_NAME[TEST], bytes, n, min, max, typ, avg / half, sd, p99, p999);
	fflush(stdout);
}

static uint64_t load_seq(const volatile uint8_t *p)
{
	uint64_t v;
	__atomic_load((const uint64_t *)(const void *)p, &v, __ATOMIC_ACQUIRE);
	return v;
}

/*
 * ib_write_lat: each side RDMA WRITEs `bytes` whose last 8 bytes carry the iteration number into the other's
 * buffer and polls its own buffer for the peer's; the client writes first. Sequence numbers keep counting across
 * sizes (-a), so a stale number never passes for a fresh one.
 */
static void write_latency(struct ep *e, const struct opts *o, uint32_t bytes, uint64_t *seq, int64_t *samples)
{
	uint8_t *mem = e->buf->addr;
	uint32_t at = bytes - 8;
	struct vmrdma_sge sge = {e->mr->addr + o->max_size, bytes, e->mr->lkey};
	struct vmrdma_send_wr wr = {.opcode = VMRDMA_WR_RDMA_WRITE,
				    .num_sge = 1,
				    .sg_list = &sge,
				    .remote_addr = e->raddr,
				    .rkey = e->rkey};
	struct vmrdma_wc wc;
	for (long i = 0; i < o->iters; i++) {
		uint64_t n = ++*seq;
		int64_t t0 = now_ns();
		for (int turn = 0; turn < 2; turn++) {
			if ((turn == 0) == !o->server) {
				memcpy(mem + o->max_size + at, &n, 8);
				int signal = n % SIGNAL_EVERY == 0;
				wr.wr_id = n;
				wr.send_flags = signal ? VMRDMA_SEND_SIGNALED : 0;
				TRY(vmrdma_post_send(e->qp, &wr));
				if (signal) /* reap the send queue now and then, as perftest does with cq_mod */
					wait_wc(e, &wc, "write");
			} else {
				int64_t deadline = now_ns() + (int64_t)WAIT_MS * 1000000;
				for (unsigned spins = 1; load_seq(mem + at) < n; spins++) {
					/* Busy-poll memory as perftest does, yielding about every microsecond: on a host with
					 * fewer cores than busy threads, dom0's agent needs one to move the peer's write. */
					if ((spins & 31) == 0)
						sched_yield();
					if ((spins & 4095) == 0 && now_ns() > deadline) {
						fprintf(stderr, "%s: the peer's write %" PRIu64 " never arrived\n",
							TOOL[TEST], n);
						exit(1);
					}
				}
			}
		}
		samples[i] = now_ns() - t0;
	}
	report_latency(o, bytes, samples, o->iters);
}

/* Waits for the next completion; a receive is checked and its buffer posted again. 1 for a receive. */
static int next_wc(struct ep *e, const struct vmrdma_recv_wr *recv, uint32_t bytes)
{
	struct vmrdma_wc wc;
	wait_wc(e, &wc, "send latency");
	if (wc.wr_id != UINT64_MAX)
		return 0;
	if (wc.byte_len != bytes) {
		fprintf(stderr, "%s: received %u bytes, expected %u\n", TOOL[TEST], wc.byte_len, bytes);
		exit(1);
	}
	TRY(vmrdma_post_recv(e->qp, recv));
	return 1;
}

/* ib_send_lat: a SEND into a posted receive, answered by a SEND; each side waits for its receive completion. */
static void send_latency(struct ep *e, const struct opts *o, uint32_t bytes, int64_t *samples)
{
	struct vmrdma_sge ssge = {e->mr->addr, bytes, e->mr->lkey};
	struct vmrdma_send_wr send = {.opcode = VMRDMA_WR_SEND, .num_sge = 1, .sg_list = &ssge};
	struct vmrdma_sge rsge = {e->mr->addr + o->max_size, o->max_size, e->mr->lkey};
	struct vmrdma_recv_wr recv = {.wr_id = UINT64_MAX, .num_sge = 1, .sg_list = &rsge};
	int received = 0; /* receives that completed while this side waited for a send's completion */
	for (long i = 0; i < o->iters; i++) {
		int64_t t0 = now_ns();
		for (int turn = 0; turn < 2; turn++) {
			if ((turn == 0) == !o->server) {
				int signal = (i + 1) % SIGNAL_EVERY == 0;
				send.wr_id = (uint64_t)i;
				send.send_flags = signal ? VMRDMA_SEND_SIGNALED : 0;
				TRY(vmrdma_post_send(e->qp, &send));
				while (signal && next_wc(e, &recv, bytes))
					received++;
			} else if (received > 0) {
				received--;
			} else {
				while (!next_wc(e, &recv, bytes))
					; /* a send's completion: nothing to do */
			}
		}
		samples[i] = now_ns() - t0;
	}
	report_latency(o, bytes, samples, o->iters);
}

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
	struct ep e;
	memset(&e, 0, sizeof(e));
	setup(&e, &o);
	connect_ep(&e, &o);

	printf(RULE "\n                    %s\n", TITLE[TEST]);
	printf(" Connection type : RC (vmrdma, %s back end)   Using SRQ : OFF\n", vmrdma_backend_name(e.ctx));
	printf(" Local node %d dom %d qpn %u   Completions: %s\n", vmrdma_node_id(e.ctx), vmrdma_domid(e.ctx),
	       e.qp->qp_num, o.events ? "events (blocking)" : "polling");
	if (bandwidth_test())
		printf(" TX depth        : %d   CQ moderation : %d   %s\n", o.tx_depth, SIGNAL_EVERY,
		       o.duration ? "Duration mode" : "Iterations mode");
	printf(RULE "\n");

	uint32_t first = o.all ? (TEST == WRITE_LAT ? 8 : 2) : o.size;
	uint32_t last = o.all ? o.max_size : o.size;
	if (bandwidth_test()) {
		if (o.server) {
			printf(" The client measures; this side's memory is the target.\n");
			fflush(stdout);
			await_disconnect(&e);
		} else {
			printf(" %-10s %-13s %-18s %-20s %s\n", "#bytes", "#iterations", "BW peak[MB/sec]",
			       "BW average[MB/sec]", "MsgRate[Mpps]");
			for (uint64_t b = first; b <= last; b *= 2)
				bandwidth(&e, &o, (uint32_t)b);
		}
	} else {
		int64_t *samples = malloc((size_t)o.iters * sizeof(int64_t));
		if (samples == NULL)
			die("allocating samples", -ENOMEM);
		struct vmrdma_recv_wr recv;
		struct vmrdma_sge rsge = {e.mr->addr + o.max_size, o.max_size, e.mr->lkey};
		recv = (struct vmrdma_recv_wr){.wr_id = UINT64_MAX, .num_sge = 1, .sg_list = &rsge};
		if (TEST == SEND_LAT)
			for (int i = 0; i < 2; i++)
				TRY(vmrdma_post_recv(e.qp, &recv));
		printf(" %-8s %-12s %-13s %-13s %-16s %-13s %-15s %-22s %s\n", "#bytes", "#iterations", "t_min[usec]",
		       "t_max[usec]", "t_typical[usec]", "t_avg[usec]", "t_stdev[usec]", "99% percentile[usec]",
		       "99.9% percentile[usec]");
		uint64_t seq = 0;
		for (uint64_t b = first; b <= last; b *= 2) {
			if (TEST == WRITE_LAT)
				write_latency(&e, &o, (uint32_t)b, &seq, samples);
			else
				send_latency(&e, &o, (uint32_t)b, samples);
		}
		free(samples);
		if (o.server)
			await_disconnect(&e);
	}
	printf(RULE "\n");
	teardown(&e);
	return 0;
}
