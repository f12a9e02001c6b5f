/*
 * The C side of bundles/guest's CGuestInteropTest, run as a simulated guest process by the toolstack: talks to a
 * Java guest through the Java dom0 engine with every verb and connection-manager call, checking every byte.
 *
 *   vmrdma_interop_peer verbs SEED SERVICE_C SERVICE_J
 *       the scripted exchange below; prints "interop: PASS" and exits 0 when every check held
 *   vmrdma_interop_peer reattach SEED SERVICE
 *       survives dom0's vmrdma restarting: vmrdma_reattach, then an RDMA WRITE and a SEND to the Java listener
 *   vmrdma_interop_peer stream SERVICE SEED ROUNDS BYTES
 *       as the Java PeerProgram: connects to SERVICE, RDMA WRITEs a seeded pattern into the server's buffer and
 *       SENDs the round number, round after round (ROUNDS -1: until killed)
 *   vmrdma_interop_peer messages NODE SERVICE SEED COUNT [TIMEOUT_MS]
 *       connects to SERVICE on NODE and sends COUNT messages with up to 16 in flight: message i is move_length(i)
 *       bytes pattern(seed + i, ·), a SEND when i is even, else an RDMA WRITE_WITH_IMM (imm i) into the server's
 *       4 KiB slot i (its 12-byte key); checks every completion in order; prints "moving: completed N" each 100
 *       (bundles/guest's GuestMigrationTest moves the domain meanwhile); TIMEOUT_MS is the device's open
 *       timeout, which bounds its wait for dom0's offer after a move (30000 by default)
 *
 * Data is pattern(seed + k, i) = top byte of (seed + k + i) * 0x9E3779B97F4A7C15 (64-bit), as PeerProgram.
 * Buffers: DATA (64 KiB, the remote peer's target and read source) | OUT (64 KiB, local sources) | IN (8 receive
 * slots of 8 KiB): 48 pages, so registration goes through an indirect page.
 */
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PEER_TAG "interop"
#include "peer.h"
#include "vmrdma.h"

#define WAIT 30000

static int failures;
static struct vmrdma_context *ctx;
static struct vmrdma_pd *pd;
static struct vmrdma_cq *scq, *rcq;
static struct vmrdma_buf *buf;
static struct vmrdma_mr *mr;
static uint8_t *mem;

static void fill(size_t at, size_t n, int64_t seed)
{
	for (size_t i = 0; i < n; i++)
		mem[at + i] = pattern(seed, (int64_t)i);
}

static void expect_bytes(const char *what, size_t at, size_t n, int64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		if (mem[at + i] != pattern(seed, (int64_t)i)) {
			printf("interop: %s: byte %zu is 0x%02x, expected 0x%02x\n", what, i, mem[at + i],
			       pattern(seed, (int64_t)i));
			failures++;
			return;
		}
	}
	printf("interop: %s: %zu bytes identical\n", what, n);
}

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("interop: check failed: %s\n", what);
		failures++;
	}
}

static void key(uint8_t out[12])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(mr->addr >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(mr->rkey >> (24 - 8 * i));
}

static void peer_key(const struct vmrdma_cm_event *e, uint64_t *addr, uint32_t *rkey)
{
	if (e->private_data_len < 12)
		DIE("private data of %u bytes, expected a 12-byte key", e->private_data_len);
	*addr = 0;
	*rkey = 0;
	for (int i = 0; i < 8; i++)
		*addr = *addr << 8 | e->private_data[i];
	for (int i = 8; i < 12; i++)
		*rkey = *rkey << 8 | e->private_data[i];
}

static void event(enum vmrdma_cm_event_type type, struct vmrdma_cm_event *e)
{
	int rc = vmrdma_wait_cm_event(ctx, e, WAIT);
	if (rc != 1 || e->event != type)
		DIE("expected CM event %s, got %s (rc %d)", vmrdma_cm_event_str(type),
		    rc == 1 ? vmrdma_cm_event_str(e->event) : "none", rc);
	printf("interop: CM %s\n", vmrdma_cm_event_str(type));
}

static struct vmrdma_qp *new_qp(void)
{
	struct vmrdma_qp *qp;
	struct vmrdma_qp_init_attr a = {
		.send_cq = scq, .recv_cq = rcq, .max_send_wr = 32, .max_recv_wr = 32, .max_sge = 2, .sq_sig_all = 1};
	TRY(vmrdma_create_qp(pd, &a, &qp));
	return qp;
}

static void post_recv(struct vmrdma_qp *qp, uint64_t slot)
{
	struct vmrdma_sge sge = {mr->addr + IN + slot * SLOT, SLOT, mr->lkey};
	struct vmrdma_recv_wr wr = {.wr_id = slot, .num_sge = 1, .sg_list = &sge};
	TRY(vmrdma_post_recv(qp, &wr));
}

/* Posts one send-queue request (sq_sig_all) and waits for its successful completion. */
static void post(struct vmrdma_qp *qp, enum vmrdma_wr_opcode op, size_t local, uint32_t len, uint64_t raddr,
		 uint32_t rkey, uint32_t imm)
{
	/* Two SGEs where the length allows, to exercise gather. */
	struct vmrdma_sge sge[2] = {{mr->addr + local, len, mr->lkey}, {0, 0, 0}};
	int n = 1;
	if (len >= 2) {
		sge[0].length = len / 2;
		sge[1] = (struct vmrdma_sge){mr->addr + local + len / 2, len - len / 2, mr->lkey};
		n = 2;
	}
	static uint64_t next_id = 1000;
	struct vmrdma_send_wr wr = {.wr_id = ++next_id,
				    .opcode = op,
				    .send_flags = VMRDMA_SEND_SIGNALED,
				    .num_sge = n,
				    .sg_list = sge,
				    .remote_addr = raddr,
				    .rkey = rkey,
				    .imm_data = imm};
	TRY(vmrdma_post_send(qp, &wr));
	struct vmrdma_wc wc;
	int rc = vmrdma_wait_cq(scq, &wc, WAIT);
	if (rc != 1)
		DIE("no send completion (rc %d)", rc);
	static const enum vmrdma_wc_opcode want[] = {VMRDMA_WC_RDMA_WRITE, VMRDMA_WC_RDMA_WRITE, VMRDMA_WC_SEND,
						     VMRDMA_WC_SEND, VMRDMA_WC_RDMA_READ};
	if (wc.status != VMRDMA_WC_SUCCESS || wc.wr_id != wr.wr_id || wc.opcode != want[op] || wc.qp_num != qp->qp_num)
		DIE("send completion: status %s, wr_id %" PRIu64 ", opcode %d, qpn %u", vmrdma_wc_status_str(wc.status),
		    wc.wr_id, (int)wc.opcode, wc.qp_num);
	if (op == VMRDMA_WR_RDMA_READ)
		check(wc.byte_len == len, "RDMA READ completion byte_len");
}

/* A 16-byte control message: u32 step, u32 status, u64 value (little-endian). */
static void send_ctrl(struct vmrdma_qp *qp, uint32_t step, uint32_t status)
{
	uint8_t *m = mem + OUT + 65536 - 16;
	memset(m, 0, 16);
	for (int i = 0; i < 4; i++) {
		m[i] = (uint8_t)(step >> (8 * i));
		m[4 + i] = (uint8_t)(status >> (8 * i));
	}
	post(qp, VMRDMA_WR_SEND, OUT + 65536 - 16, 16, 0, 0, 0);
}

/* Waits for the next receive; checks opcode and immediate; returns the slot's offset in mem. */
static size_t recv_one(struct vmrdma_qp *qp, enum vmrdma_wc_opcode op, int with_imm, uint32_t imm, uint32_t len)
{
	struct vmrdma_wc wc;
	int rc = vmrdma_wait_cq(rcq, &wc, WAIT);
	if (rc != 1)
		DIE("no receive completion (rc %d)", rc);
	if (wc.status != VMRDMA_WC_SUCCESS)
		DIE("receive completed %s", vmrdma_wc_status_str(wc.status));
	check(wc.opcode == op, "receive opcode");
	check(wc.byte_len == len, "receive byte_len");
	check(wc.qp_num == qp->qp_num, "receive qpn");
	check(!!(wc.wc_flags & VMRDMA_WC_WITH_IMM) == with_imm, "with_imm flag");
	if (with_imm)
		check(wc.imm_data == imm, "immediate data");
	size_t at = IN + (size_t)wc.wr_id * SLOT;
	post_recv(qp, wc.wr_id);
	return at;
}

static uint32_t ctrl_step(size_t at)
{
	return (uint32_t)mem[at] | (uint32_t)mem[at + 1] << 8 | (uint32_t)mem[at + 2] << 16
		| (uint32_t)mem[at + 3] << 24;
}

static void expect_ctrl(struct vmrdma_qp *qp, uint32_t step)
{
	size_t at = recv_one(qp, VMRDMA_WC_RECV, 0, 0, 16);
	if (ctrl_step(at) != step)
		DIE("control message step %u, expected %u", ctrl_step(at), step);
}

static void setup(void)
{
	struct vmrdma_open_attr a;
	vmrdma_open_attr_init(&a);
	TRY(vmrdma_open(&a, &ctx));
	printf("interop: device connected, node %d dom %d (%s)\n", vmrdma_node_id(ctx), vmrdma_domid(ctx),
	       vmrdma_backend_name(ctx));
	TRY(vmrdma_alloc_pd(ctx, &pd));
	TRY(vmrdma_create_cq(ctx, 64, &scq));
	TRY(vmrdma_create_cq(ctx, 64, &rcq));
	TRY(vmrdma_alloc_buf(ctx, TOTAL, &buf));
	TRY(vmrdma_reg_mr(pd, buf, VMRDMA_ACCESS_LOCAL_WRITE | VMRDMA_ACCESS_REMOTE_WRITE | VMRDMA_ACCESS_REMOTE_READ,
			  &mr));
	mem = buf->addr;
	check(buf->pages == TOTAL / 4096, "buffer pages");
}

static void teardown(void)
{
	TRY(vmrdma_dereg_mr(mr));
	TRY(vmrdma_free_buf(buf));
	TRY(vmrdma_destroy_cq(scq));
	TRY(vmrdma_destroy_cq(rcq));
	TRY(vmrdma_dealloc_pd(pd));
	TRY(vmrdma_close(ctx));
}

static int verbs(int64_t seed, uint64_t service_c, uint64_t service_j)
{
	setup();
	struct vmrdma_cm_event e;
	uint8_t k[12];
	key(k);

	/* Phase A: this guest listens; the Java guest connects, is rejected once, then accepted. */
	TRY(vmrdma_listen(ctx, service_c));
	printf("interop: listening on %" PRIu64 "\n", service_c);
	event(VMRDMA_CM_CONNECT_REQUEST, &e);
	check(e.service_id == service_c, "CONNECT_REQUEST service");
	check(e.local_qpn == -1, "CONNECT_REQUEST local qpn");
	check(e.remote_valid, "CONNECT_REQUEST remote");
	TRY(vmrdma_reject(ctx, e.connection_id, "not yet"));
	event(VMRDMA_CM_CONNECT_REQUEST, &e);
	uint64_t jaddr;
	uint32_t jkey;
	peer_key(&e, &jaddr, &jkey);
	struct vmrdma_qp *qp = new_qp();
	TRY(vmrdma_accept(qp, e.connection_id, k, sizeof(k)));
	for (uint64_t s = 0; s < SLOTS; s++)
		post_recv(qp, s);
	event(VMRDMA_CM_ESTABLISHED, &e);
	check(e.local_qpn == (int32_t)qp->qp_num, "ESTABLISHED local qpn");
	TRY(vmrdma_stop_listen(ctx, service_c));

	expect_ctrl(qp, 1); /* the Java side has its receives posted */
	fill(OUT, 5000, seed + 1);
	post(qp, VMRDMA_WR_SEND, OUT, 5000, 0, 0, 0);
	fill(OUT, 3000, seed + 2);
	post(qp, VMRDMA_WR_SEND_WITH_IMM, OUT, 3000, 0, 0, 0xC0FFEE02u);
	fill(OUT, 65536, seed + 3);
	post(qp, VMRDMA_WR_RDMA_WRITE, OUT, 65536, jaddr + DATA, jkey, 0);
	send_ctrl(qp, 4, 0);
	expect_ctrl(qp, 5); /* the Java side checked the WRITE: now overwrite part of it */
	fill(OUT, 40000, seed + 4);
	post(qp, VMRDMA_WR_RDMA_WRITE_WITH_IMM, OUT, 40000, jaddr + DATA + 1000, jkey, 0xC0FFEE04u);
	expect_ctrl(qp, 6); /* Java filled its DATA with pattern(seed + 5) */
	memset(mem + DATA, 0, 65536);
	post(qp, VMRDMA_WR_RDMA_READ, DATA, 65536, jaddr + DATA, jkey, 0);
	expect_bytes("RDMA READ from the Java guest", DATA, 65536, seed + 5);
	send_ctrl(qp, 6, (uint32_t)failures);

	size_t at = recv_one(qp, VMRDMA_WC_RECV, 0, 0, 5000);
	expect_bytes("SEND from the Java guest", at, 5000, seed + 7);
	at = recv_one(qp, VMRDMA_WC_RECV, 1, 0x7A7A0008u, 3000);
	expect_bytes("SEND_WITH_IMM from the Java guest", at, 3000, seed + 8);
	expect_ctrl(qp, 8);
	expect_bytes("RDMA WRITE from the Java guest", DATA, 65536, seed + 9);
	send_ctrl(qp, 18, 0);
	recv_one(qp, VMRDMA_WC_RECV_RDMA_WITH_IMM, 1, 0x7A7A000Au, 40000);
	expect_bytes("RDMA WRITE_WITH_IMM from the Java guest", DATA + 1000, 40000, seed + 10);
	fill(DATA, 65536, seed + 11);
	send_ctrl(qp, 9, 0);
	expect_ctrl(qp, 10); /* the Java guest read our DATA */
	send_ctrl(qp, 11, (uint32_t)failures);
	TRY(vmrdma_disconnect(qp));
	event(VMRDMA_CM_DISCONNECTED, &e); /* both ends are told, as rdma_cm does */
	check(e.local_qpn == (int32_t)qp->qp_num, "DISCONNECTED names our queue pair");
	/* Our own receives flush once the queue pair is in ERR. */
	struct vmrdma_wc wc;
	int flushed = 0;
	while (vmrdma_wait_cq(rcq, &wc, 2000) == 1)
		flushed += wc.status == VMRDMA_WC_WR_FLUSH_ERR;
	check(flushed == SLOTS, "every posted receive flushed after DISCONNECT");
	TRY(vmrdma_destroy_qp(qp));

	/* Nobody listens on service 1: the attempt is refused with a connection event, not a hang. */
	qp = new_qp();
	TRY(vmrdma_connect(qp, (uint16_t)vmrdma_node_id(ctx), 1, -1, NULL, 0, NULL));
	int rc = vmrdma_wait_cm_event(ctx, &e, WAIT);
	check(rc == 1 && (e.event == VMRDMA_CM_REJECTED || e.event == VMRDMA_CM_UNREACHABLE),
	      "connect to a service nobody listens on is refused");
	printf("interop: connect to an unused service: %s \"%s\"\n", rc == 1 ? vmrdma_cm_event_str(e.event) : "none",
	       e.reason);
	TRY(vmrdma_destroy_qp(qp));

	/* Phase B: the Java guest listens, this guest connects. */
	qp = new_qp();
	uint64_t conn = 0;
	rc = -1;
	for (int attempt = 0; attempt < 100; attempt++) {
		TRY(vmrdma_connect(qp, (uint16_t)vmrdma_node_id(ctx), service_j, -1, k, sizeof(k), &conn));
		if (vmrdma_wait_cm_event(ctx, &e, WAIT) == 1 && e.event == VMRDMA_CM_ESTABLISHED) {
			rc = 0;
			break;
		}
		/* The Java side may not listen yet: a fresh queue pair, and again. */
		TRY(vmrdma_destroy_qp(qp));
		qp = new_qp();
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (rc != 0)
		DIE("could not connect to the Java guest's service %" PRIu64, service_j);
	printf("interop: CM ESTABLISHED (connection %" PRIu64 ")\n", conn);
	check(e.remote_valid && e.remote_domid != vmrdma_domid(ctx), "ESTABLISHED names the Java guest");
	peer_key(&e, &jaddr, &jkey);
	for (uint64_t s = 0; s < SLOTS; s++)
		post_recv(qp, s);
	send_ctrl(qp, 20, 0);
	at = recv_one(qp, VMRDMA_WC_RECV, 0, 0, 777);
	expect_bytes("SEND from the Java listener", at, 777, seed + 12);
	fill(OUT, 4096, seed + 13);
	post(qp, VMRDMA_WR_RDMA_WRITE, OUT, 4096, jaddr + DATA, jkey, 0);
	send_ctrl(qp, 21, (uint32_t)failures);
	event(VMRDMA_CM_DISCONNECTED, &e); /* the Java guest disconnects */
	struct vmrdma_qp_attr qa;
	vmrdma_qp_attr_init(&qa);
	qa.state = VMRDMA_QPS_ERR;
	TRY(vmrdma_modify_qp(qp, &qa));
	while (vmrdma_poll_cq(rcq, 1, &wc) == 1)
		;
	TRY(vmrdma_destroy_qp(qp));
	teardown();
	if (failures) {
		printf("interop: FAIL (%d checks)\n", failures);
		return 1;
	}
	printf("interop: PASS\n");
	return 0;
}

/* A sender's device: one completion queue, one queue pair, one buffer of bytes registered for local access. */
static struct vmrdma_qp *open_sender(size_t bytes, int timeout_ms)
{
	struct vmrdma_open_attr a;
	vmrdma_open_attr_init(&a);
	a.timeout_ms = timeout_ms;
	TRY(vmrdma_open(&a, &ctx));
	TRY(vmrdma_alloc_pd(ctx, &pd));
	TRY(vmrdma_create_cq(ctx, 256, &scq));
	struct vmrdma_qp *qp;
	struct vmrdma_qp_init_attr qa = {
		.send_cq = scq, .recv_cq = scq, .max_send_wr = 64, .max_recv_wr = 64, .max_sge = 1};
	TRY(vmrdma_create_qp(pd, &qa, &qp));
	TRY(vmrdma_alloc_buf(ctx, bytes, &buf));
	TRY(vmrdma_reg_mr(pd, buf, VMRDMA_ACCESS_LOCAL_WRITE, &mr));
	mem = buf->addr;
	return qp;
}

static int stream(uint64_t service, int64_t seed, long rounds, uint32_t bytes)
{
	struct vmrdma_qp *qp = open_sender(bytes + 8, WAIT);
	fill(0, bytes, seed);
	TRY(vmrdma_connect(qp, (uint16_t)vmrdma_node_id(ctx), service, -1, NULL, 0, NULL));
	struct vmrdma_cm_event e;
	event(VMRDMA_CM_ESTABLISHED, &e);
	uint64_t raddr;
	uint32_t rkey;
	peer_key(&e, &raddr, &rkey);
	printf("peer: connected to node %u dom %u qpn %u\n", e.remote_node, e.remote_domid, e.remote_qpn);
	fflush(stdout);
	struct vmrdma_sge wsge = {mr->addr, bytes, mr->lkey}, ssge = {mr->addr + bytes, 8, mr->lkey};
	struct vmrdma_send_wr write = {
		.opcode = VMRDMA_WR_RDMA_WRITE, .num_sge = 1, .sg_list = &wsge, .remote_addr = raddr, .rkey = rkey};
	struct vmrdma_send_wr send = {
		.opcode = VMRDMA_WR_SEND, .send_flags = VMRDMA_SEND_SIGNALED, .num_sge = 1, .sg_list = &ssge};
	struct vmrdma_wc wc;
	for (long round = 1; rounds < 0 || round <= rounds; round++) {
		write.wr_id = (uint64_t)round;
		TRY(vmrdma_post_send(qp, &write));
		for (int i = 0; i < 8; i++)
			mem[bytes + (size_t)i] = (uint8_t)((uint64_t)round >> (8 * i));
		send.wr_id = (uint64_t)round;
		TRY(vmrdma_post_send(qp, &send));
		if (vmrdma_wait_cq(scq, &wc, WAIT) != 1 || wc.status != VMRDMA_WC_SUCCESS)
			DIE("round %ld: %s", round, vmrdma_wc_status_str(wc.status));
	}
	TRY(vmrdma_close(ctx));
	printf("peer: done\n");
	return 0;
}

/*
 * dom0's vmrdma restarts under a running C guest: the guest sees its backend go (calls fail with -ENOTCONN),
 * re-attaches with vmrdma_reattach (same process, same buffer), rebuilds its verbs objects, connects to the Java
 * listener and RDMA WRITEs pattern(seed) into it, then SENDs 8 bytes.
 */
static int reattach(int64_t seed, uint64_t service)
{
	struct vmrdma_open_attr a;
	vmrdma_open_attr_init(&a);
	TRY(vmrdma_open(&a, &ctx));
	TRY(vmrdma_alloc_pd(ctx, &pd));
	TRY(vmrdma_create_cq(ctx, 64, &scq));
	TRY(vmrdma_alloc_buf(ctx, 65536 + 8, &buf));
	TRY(vmrdma_reg_mr(pd, buf, VMRDMA_ACCESS_LOCAL_WRITE, &mr));
	mem = buf->addr;
	printf("reattach: ready\n");
	for (int i = 0; vmrdma_connected(ctx); i++) {
		if (i == 3000)
			DIE("the backend never went away");
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	struct vmrdma_pd *gone;
	int rc = vmrdma_alloc_pd(ctx, &gone);
	check(rc == -ENOTCONN, "a verb without a backend fails with ENOTCONN");
	printf("reattach: backend gone (%d: %s)\n", rc, vmrdma_last_error());
	TRY(vmrdma_reattach(ctx));
	printf("reattach: attached again\n");
	TRY(vmrdma_alloc_pd(ctx, &pd));
	TRY(vmrdma_create_cq(ctx, 64, &scq));
	TRY(vmrdma_reg_mr(pd, buf, VMRDMA_ACCESS_LOCAL_WRITE, &mr));
	fill(0, 65536, seed);
	struct vmrdma_qp *qp = NULL;
	struct vmrdma_qp_init_attr qa = {
		.send_cq = scq, .recv_cq = scq, .max_send_wr = 16, .max_recv_wr = 16, .max_sge = 1};
	struct vmrdma_cm_event e;
	for (int attempt = 0;; attempt++) {
		TRY(vmrdma_create_qp(pd, &qa, &qp));
		TRY(vmrdma_connect(qp, (uint16_t)vmrdma_node_id(ctx), service, -1, NULL, 0, NULL));
		if (vmrdma_wait_cm_event(ctx, &e, WAIT) == 1 && e.event == VMRDMA_CM_ESTABLISHED)
			break;
		if (attempt == 300)
			DIE("the Java guest never listened again");
		TRY(vmrdma_destroy_qp(qp));
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	uint64_t raddr;
	uint32_t rkey;
	peer_key(&e, &raddr, &rkey);
	struct vmrdma_sge wsge = {mr->addr, 65536, mr->lkey}, ssge = {mr->addr + 65536, 8, mr->lkey};
	struct vmrdma_send_wr write = {.wr_id = 1,
				       .opcode = VMRDMA_WR_RDMA_WRITE,
				       .num_sge = 1,
				       .sg_list = &wsge,
				       .remote_addr = raddr,
				       .rkey = rkey};
	struct vmrdma_send_wr send = {.wr_id = 2,
				      .opcode = VMRDMA_WR_SEND,
				      .send_flags = VMRDMA_SEND_SIGNALED,
				      .num_sge = 1,
				      .sg_list = &ssge};
	mem[65536] = 1;
	TRY(vmrdma_post_send(qp, &write));
	TRY(vmrdma_post_send(qp, &send));
	struct vmrdma_wc wc;
	if (vmrdma_wait_cq(scq, &wc, WAIT) != 1 || wc.status != VMRDMA_WC_SUCCESS || wc.wr_id != 2)
		DIE("the SEND after re-attaching did not complete");
	event(VMRDMA_CM_DISCONNECTED, &e); /* the Java guest ends the test */
	TRY(vmrdma_close(ctx));
	if (failures)
		return 1;
	printf("interop: PASS\n");
	return 0;
}

#define MOVE_SLOT 4096
#define MOVE_WINDOW 16

/* Message i's length, as GuestMigrationTest computes it: 1..4096 bytes. */
static uint32_t move_length(long i)
{
	return 1 + (uint32_t)((i * 7919) % MOVE_SLOT);
}

static int messages(uint16_t node, uint64_t service, int64_t seed, long count, int timeout_ms)
{
	struct vmrdma_qp *qp = open_sender(MOVE_WINDOW * MOVE_SLOT, timeout_ms);
	TRY(vmrdma_connect(qp, node, service, -1, NULL, 0, NULL));
	struct vmrdma_cm_event e;
	event(VMRDMA_CM_ESTABLISHED, &e);
	uint64_t raddr;
	uint32_t rkey;
	peer_key(&e, &raddr, &rkey);
	printf("moving: process %ld connected to node %u dom %u\n", (long)getpid(), e.remote_node, e.remote_domid);
	fflush(stdout);
	long posted = 0, completed = 0;
	while (completed < count) {
		if (posted < count && posted - completed < MOVE_WINDOW) {
			size_t at = (size_t)(posted % MOVE_WINDOW) * MOVE_SLOT;
			uint32_t n = move_length(posted);
			fill(at, n, seed + posted);
			struct vmrdma_sge sge = {mr->addr + at, n, mr->lkey};
			struct vmrdma_send_wr wr = {.wr_id = (uint64_t)posted,
						    .send_flags = VMRDMA_SEND_SIGNALED,
						    .num_sge = 1,
						    .sg_list = &sge};
			if (posted % 2 == 0) {
				wr.opcode = VMRDMA_WR_SEND;
			} else {
				wr.opcode = VMRDMA_WR_RDMA_WRITE_WITH_IMM;
				wr.imm_data = (uint32_t)posted;
				wr.remote_addr = raddr + (uint64_t)posted * MOVE_SLOT;
				wr.rkey = rkey;
			}
			TRY(vmrdma_post_send(qp, &wr));
			posted++;
			continue;
		}
		struct vmrdma_wc wc;
		if (vmrdma_wait_cq(scq, &wc, WAIT) != 1)
			DIE("no completion for message %ld", completed);
		if (wc.status != VMRDMA_WC_SUCCESS || wc.wr_id != (uint64_t)completed)
			DIE("completion of message %" PRIu64 " (%s), expected %ld", wc.wr_id,
			    vmrdma_wc_status_str(wc.status), completed);
		if (++completed % 100 == 0) {
			printf("moving: completed %ld\n", completed);
			fflush(stdout);
		}
	}
	TRY(vmrdma_close(ctx));
	printf("moving: process %ld done\n", (long)getpid());
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "verbs") == 0)
		return verbs(strtoll(argv[2], NULL, 10), strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "stream") == 0)
		return stream(strtoull(argv[2], NULL, 10), strtoll(argv[3], NULL, 10), strtol(argv[4], NULL, 10),
			      (uint32_t)strtoul(argv[5], NULL, 10));
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "messages") == 0)
		return messages((uint16_t)strtoul(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
				strtoll(argv[4], NULL, 10), strtol(argv[5], NULL, 10),
				argc == 7 ? (int)strtol(argv[6], NULL, 10) : WAIT);
	if (argc == 4 && strcmp(argv[1], "reattach") == 0)
		return reattach(strtoll(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
	fprintf(stderr,
		"usage: vmrdma_interop_peer verbs SEED SERVICE_C SERVICE_J | stream SERVICE SEED ROUNDS BYTES"
		" | messages NODE SERVICE SEED COUNT [TIMEOUT_MS]"
		" | reattach SEED SERVICE\n");
	return 2;
}
