/*
 * vmrdma_guest_check: guest-to-guest checks through dom0's engine, C guest against C guest, every byte compared.
 * Runs in real Xen domUs (scripts/xen-host) and in the simulator (bundles/guest CGuestCheckTest). All guests are
 * on one node: a client connects to its own node id. Prints "check: PASS" and exits 0 when every check held.
 *
 *   vmrdma_guest_check pair server SERVICE SEED
 *   vmrdma_guest_check pair client SERVICE SEED
 *       the connection manager (the server rejects the first request, accepts the second, each side's region key
 *       in the private data) and every verb both ways: SEND, SEND_WITH_IMM, RDMA WRITE, RDMA WRITE_WITH_IMM,
 *       RDMA READ; then DISCONNECT, seen by both ends
 *   vmrdma_guest_check sink SERVICE SEED STREAMS
 *       accepts one stream after another; checks every round of each; a stream whose source vanishes (its domain
 *       destroyed) is reported as cut and the sink goes on; PASS after STREAMS streams that ended cleanly
 *   vmrdma_guest_check source SERVICE SEED ROUNDS
 *       one stream to the sink: per round an RDMA WRITE of 64 KiB of pattern(SEED + round), a SEND of the round
 *       number, and the sink's acknowledgement; ROUNDS -1: until killed
 *   vmrdma_guest_check reattach server|client SERVICE SEED
 *       an exchange, then dom0's vmrdma restarts ("reattach: ready" says when to restart it): the guest sees the
 *       backend go, re-attaches, makes its objects again, reconnects and exchanges again
 *   vmrdma_guest_check limits BYTES
 *       a buffer of BYTES (more pages than the guest may grant) is refused with an error, and the device goes on
 *       working; on Xen also: with every event channel of the domain taken, opening a device fails cleanly, and
 *       works again once they are freed
 *   vmrdma_guest_check procs N sink|source SERVICE SEED STREAMS|ROUNDS
 *       N processes of this domain at once, process i a sink or source on SERVICE + i with SEED + i, each opening a
 *       device of its own; PASS when all N passed
 *
 * Bytes are pattern(seed, i) of peer.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <xenevtchn.h>

#define PEER_TAG "check"
#include "peer.h"
#include "vmrdma.h"

/* Generous: under emulation a guest boots and a Karaf bundle restarts in tens of seconds. */
#define WAIT_MS 120000
#define CTRL_BYTES 16

struct side {
	struct vmrdma_context *ctx;
	struct vmrdma_pd *pd;
	struct vmrdma_cq *scq, *rcq;
	struct vmrdma_buf *buf;
	struct vmrdma_mr *mr;
	struct vmrdma_qp *qp;
	uint8_t *mem;
	uint64_t peer_addr;
	uint32_t peer_rkey;
	uint64_t next_wr_id;
};

static int failures;

static void fill(struct side *s, size_t at, size_t n, int64_t seed)
{
	for (size_t i = 0; i < n; i++)
		s->mem[at + i] = pattern(seed, (int64_t)i);
}

static int same(struct side *s, const char *what, size_t at, size_t n, int64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		if (s->mem[at + i] != pattern(seed, (int64_t)i)) {
			printf("check: %s: byte %zu is 0x%02x, expected 0x%02x\n", what, i, s->mem[at + i],
			       pattern(seed, (int64_t)i));
			failures++;
			return 0;
		}
	}
	return 1;
}

static void expect(struct side *s, const char *what, size_t at, size_t n, int64_t seed)
{
	if (same(s, what, at, n, seed))
		printf("check: %s: %zu bytes identical\n", what, n);
}

static void require(int ok, const char *what)
{
	if (!ok) {
		printf("check: failed: %s\n", what);
		failures++;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void open_side(struct side *s)
{
	struct vmrdma_open_attr a;
	vmrdma_open_attr_init(&a);
	a.timeout_ms = WAIT_MS;
	TRY(vmrdma_open(&a, &s->ctx));
	TRY(vmrdma_alloc_buf(s->ctx, TOTAL, &s->buf));
	s->mem = s->buf->addr;
	s->next_wr_id = 1;
	printf("check: device connected, node %d dom %d (%s)\n", vmrdma_node_id(s->ctx), vmrdma_domid(s->ctx),
	       vmrdma_backend_name(s->ctx));
}

/* The verbs objects on the device: again after a re-attach, with the same buffer. */
static void make_objects(struct side *s)
{
	TRY(vmrdma_alloc_pd(s->ctx, &s->pd));
	TRY(vmrdma_create_cq(s->ctx, 64, &s->scq));
	TRY(vmrdma_create_cq(s->ctx, 64, &s->rcq));
	TRY(vmrdma_reg_mr(s->pd, s->buf,
			  VMRDMA_ACCESS_LOCAL_WRITE | VMRDMA_ACCESS_REMOTE_WRITE | VMRDMA_ACCESS_REMOTE_READ, &s->mr));
}

static void new_qp(struct side *s)
{
	struct vmrdma_qp_init_attr a = {.send_cq = s->scq,
					.recv_cq = s->rcq,
					.max_send_wr = 32,
					.max_recv_wr = 32,
					.max_sge = 2,
					.sq_sig_all = 1};
	TRY(vmrdma_create_qp(s->pd, &a, &s->qp));
}

static void post_recv(struct side *s, uint64_t slot)
{
	struct vmrdma_sge sge = {s->mr->addr + IN + slot * SLOT, SLOT, s->mr->lkey};
	struct vmrdma_recv_wr wr = {.wr_id = slot, .num_sge = 1, .sg_list = &sge};
	TRY(vmrdma_post_recv(s->qp, &wr));
}

static void key_of(struct side *s, uint8_t out[12])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(s->mr->addr >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(s->mr->rkey >> (24 - 8 * i));
}

static void take_peer_key(struct side *s, const struct vmrdma_cm_event *e)
{
	if (e->private_data_len < 12)
		DIE("private data of %u bytes, expected a 12-byte region key", e->private_data_len);
	s->peer_addr = 0;
	s->peer_rkey = 0;
	for (int i = 0; i < 8; i++)
		s->peer_addr = s->peer_addr << 8 | e->private_data[i];
	for (int i = 8; i < 12; i++)
		s->peer_rkey = s->peer_rkey << 8 | e->private_data[i];
}

static void await_event(struct side *s, enum vmrdma_cm_event_type type, struct vmrdma_cm_event *e)
{
	int rc = vmrdma_wait_cm_event(s->ctx, e, WAIT_MS);
	if (rc != 1 || e->event != type)
		DIE("expected CM event %s, got %s (rc %d)", vmrdma_cm_event_str(type),
		    rc == 1 ? vmrdma_cm_event_str(e->event) : "none", rc);
	printf("check: CM %s\n", vmrdma_cm_event_str(type));
}

/* Posts one request (two SGEs where the length allows, to exercise gather) and waits for its completion. */
static void post(struct side *s, enum vmrdma_wr_opcode op, size_t local, uint32_t len, uint64_t raddr, uint32_t imm)
{
	struct vmrdma_sge sge[2] = {{s->mr->addr + local, len, s->mr->lkey}, {0, 0, 0}};
	int n = 1;
	if (len >= 2) {
		sge[0].length = len / 2;
		sge[1] = (struct vmrdma_sge){s->mr->addr + local + len / 2, len - len / 2, s->mr->lkey};
		n = 2;
	}
	struct vmrdma_send_wr wr = {.wr_id = s->next_wr_id++,
				    .opcode = op,
				    .send_flags = VMRDMA_SEND_SIGNALED,
				    .num_sge = n,
				    .sg_list = sge,
				    .remote_addr = raddr,
				    .rkey = s->peer_rkey,
				    .imm_data = imm};
	TRY(vmrdma_post_send(s->qp, &wr));
	struct vmrdma_wc wc;
	int rc = vmrdma_wait_cq(s->scq, &wc, WAIT_MS);
	if (rc != 1)
		DIE("no send completion (rc %d)", rc);
	if (wc.status != VMRDMA_WC_SUCCESS || wc.wr_id != wr.wr_id)
		DIE("send completion: status %s, wr_id %" PRIu64, vmrdma_wc_status_str(wc.status), wc.wr_id);
	if (op == VMRDMA_WR_RDMA_READ)
		require(wc.byte_len == len, "RDMA READ completion byte_len");
}

/* A control message: u32 step, u32 failures so far (little-endian), padded to CTRL_BYTES. */
static void send_ctrl(struct side *s, uint32_t step)
{
	size_t at = OUT + 65536 - CTRL_BYTES;
	memset(s->mem + at, 0, CTRL_BYTES);
	for (int i = 0; i < 4; i++) {
		s->mem[at + i] = (uint8_t)(step >> (8 * i));
		s->mem[at + 4 + i] = (uint8_t)((uint32_t)failures >> (8 * i));
	}
	post(s, VMRDMA_WR_SEND, at, CTRL_BYTES, 0, 0);
}

static uint32_t u32_at(struct side *s, size_t at)
{
	return (uint32_t)s->mem[at] | (uint32_t)s->mem[at + 1] << 8 | (uint32_t)s->mem[at + 2] << 16
		| (uint32_t)s->mem[at + 3] << 24;
}

/* Waits for the next receive, checks it, posts the slot again; returns the slot's offset. */
static size_t recv_one(struct side *s, enum vmrdma_wc_opcode op, int with_imm, uint32_t imm, uint32_t len)
{
	struct vmrdma_wc wc;
	int rc = vmrdma_wait_cq(s->rcq, &wc, WAIT_MS);
	if (rc != 1)
		DIE("no receive completion (rc %d)", rc);
	if (wc.status != VMRDMA_WC_SUCCESS)
		DIE("receive completed %s", vmrdma_wc_status_str(wc.status));
	require(wc.opcode == op, "receive opcode");
	require(wc.byte_len == len, "receive byte_len");
	require(!!(wc.wc_flags & VMRDMA_WC_WITH_IMM) == with_imm, "with_imm flag");
	if (with_imm)
		require(wc.imm_data == imm, "immediate data");
	size_t at = IN + (size_t)wc.wr_id * SLOT;
	post_recv(s, wc.wr_id);
	return at;
}

/* Receives the peer's control message for step; the peer's own failures count as ours. */
static void expect_ctrl(struct side *s, uint32_t step)
{
	size_t at = recv_one(s, VMRDMA_WC_RECV, 0, 0, CTRL_BYTES);
	if (u32_at(s, at) != step)
		DIE("control message step %u, expected %u", u32_at(s, at), step);
	if (u32_at(s, at + 4) != 0) {
		printf("check: the peer reports %u failed checks\n", u32_at(s, at + 4));
		failures++;
	}
}

static void accept_one(struct side *s, uint64_t service, int reject_first)
{
	struct vmrdma_cm_event e;
	uint8_t k[12];
	key_of(s, k);
	await_event(s, VMRDMA_CM_CONNECT_REQUEST, &e);
	require(e.service_id == service && e.local_qpn == -1 && e.remote_valid, "CONNECT_REQUEST fields");
	if (reject_first) {
		TRY(vmrdma_reject(s->ctx, e.connection_id, "not yet"));
		await_event(s, VMRDMA_CM_CONNECT_REQUEST, &e);
	}
	take_peer_key(s, &e);
	new_qp(s);
	TRY(vmrdma_accept(s->qp, e.connection_id, k, sizeof(k)));
	for (uint64_t slot = 0; slot < SLOTS; slot++)
		post_recv(s, slot);
	await_event(s, VMRDMA_CM_ESTABLISHED, &e);
	require(e.local_qpn == (int32_t)s->qp->qp_num, "ESTABLISHED names the accepting queue pair");
}

/* Connects to service on this node, again on every refusal (the server may not listen yet, or reject once). */
static void connect_to(struct side *s, uint64_t service, int expect_reject)
{
	uint8_t k[12];
	key_of(s, k);
	struct vmrdma_cm_event e;
	int rejected = 0;
	for (int attempt = 0;; attempt++) {
		new_qp(s);
		TRY(vmrdma_connect(s->qp, (uint16_t)vmrdma_node_id(s->ctx), service, -1, k, sizeof(k), NULL));
		int rc = vmrdma_wait_cm_event(s->ctx, &e, WAIT_MS);
		if (rc == 1 && e.event == VMRDMA_CM_ESTABLISHED)
			break;
		if (rc == 1 && e.event == VMRDMA_CM_REJECTED && strcmp(e.reason, "not yet") == 0)
			rejected = 1;
		if (attempt == 300)
			DIE("no connection to service %" PRIu64 " after 300 attempts", service);
		TRY(vmrdma_destroy_qp(s->qp));
		sleep_ms(rejected ? 10 : 500);
	}
	/* Receives only now: a refused attempt's queue pair had none to flush. The peer sends nothing before we do. */
	for (uint64_t slot = 0; slot < SLOTS; slot++)
		post_recv(s, slot);
	take_peer_key(s, &e);
	require(!expect_reject || rejected, "the server's first refusal was seen");
	printf("check: CM ESTABLISHED with dom %u qpn %u\n", e.remote_domid, e.remote_qpn);
}

/* Every verb both ways; the client drives, the server mirrors. */
static void exchange(struct side *s, int client, int64_t seed)
{
	if (client) {
		fill(s, OUT, 5000, seed + 1);
		post(s, VMRDMA_WR_SEND, OUT, 5000, 0, 0);
		fill(s, OUT, 3000, seed + 2);
		post(s, VMRDMA_WR_SEND_WITH_IMM, OUT, 3000, 0, 0xC0FFEE02u);
		fill(s, OUT, 65536, seed + 3);
		post(s, VMRDMA_WR_RDMA_WRITE, OUT, 65536, s->peer_addr + DATA, 0);
		send_ctrl(s, 3);
		expect_ctrl(s, 4);
		fill(s, OUT, 40000, seed + 4);
		post(s, VMRDMA_WR_RDMA_WRITE_WITH_IMM, OUT, 40000, s->peer_addr + DATA + 1000, 0xC0FFEE04u);
		expect_ctrl(s, 5);
		memset(s->mem + DATA, 0, 65536);
		post(s, VMRDMA_WR_RDMA_READ, DATA, 65536, s->peer_addr + DATA, 0);
		expect(s, "RDMA READ from the server", DATA, 65536, seed + 5);
		send_ctrl(s, 6);
		size_t at = recv_one(s, VMRDMA_WC_RECV, 0, 0, 777);
		expect(s, "SEND from the server", at, 777, seed + 7);
		expect_ctrl(s, 8);
		expect(s, "RDMA WRITE from the server", DATA, 65536, seed + 8);
		fill(s, DATA, 65536, seed + 9);
		send_ctrl(s, 9);
		expect_ctrl(s, 10);
	} else {
		size_t at = recv_one(s, VMRDMA_WC_RECV, 0, 0, 5000);
		expect(s, "SEND from the client", at, 5000, seed + 1);
		at = recv_one(s, VMRDMA_WC_RECV, 1, 0xC0FFEE02u, 3000);
		expect(s, "SEND_WITH_IMM from the client", at, 3000, seed + 2);
		expect_ctrl(s, 3);
		expect(s, "RDMA WRITE from the client", DATA, 65536, seed + 3);
		send_ctrl(s, 4);
		recv_one(s, VMRDMA_WC_RECV_RDMA_WITH_IMM, 1, 0xC0FFEE04u, 40000);
		expect(s, "RDMA WRITE_WITH_IMM from the client", DATA + 1000, 40000, seed + 4);
		fill(s, DATA, 65536, seed + 5);
		send_ctrl(s, 5);
		expect_ctrl(s, 6); /* the client read our DATA */
		fill(s, OUT, 777, seed + 7);
		post(s, VMRDMA_WR_SEND, OUT, 777, 0, 0);
		fill(s, OUT, 65536, seed + 8);
		post(s, VMRDMA_WR_RDMA_WRITE, OUT, 65536, s->peer_addr + DATA, 0);
		send_ctrl(s, 8);
		expect_ctrl(s, 9); /* the client filled its DATA with seed + 9 */
		memset(s->mem + DATA, 0, 65536);
		post(s, VMRDMA_WR_RDMA_READ, DATA, 65536, s->peer_addr + DATA, 0);
		expect(s, "RDMA READ from the client", DATA, 65536, seed + 9);
		send_ctrl(s, 10);
	}
}

static int verdict(void)
{
	if (failures) {
		printf("check: FAIL (%d checks)\n", failures);
		return 1;
	}
	printf("check: PASS\n");
	return 0;
}

static int pair(int client, uint64_t service, int64_t seed)
{
	struct side s = {0};
	open_side(&s);
	make_objects(&s);
	if (client) {
		connect_to(&s, service, 1);
	} else {
		TRY(vmrdma_listen(s.ctx, service));
		printf("check: listening on %" PRIu64 "\n", service);
		fflush(stdout);
		accept_one(&s, service, 1);
	}
	exchange(&s, client, seed);
	struct vmrdma_cm_event e;
	if (client)
		TRY(vmrdma_disconnect(s.qp));
	await_event(&s, VMRDMA_CM_DISCONNECTED, &e);
	require(e.local_qpn == (int32_t)s.qp->qp_num, "DISCONNECTED names our queue pair");
	TRY(vmrdma_destroy_qp(s.qp));
	TRY(vmrdma_close(s.ctx));
	return verdict();
}

/* One stream: 1 stream ended cleanly, 0 cut (the source vanished). */
static int sink_stream(struct side *s, uint64_t service, int64_t seed)
{
	accept_one(s, service, 0);
	for (long round = 1;; round++) {
		struct vmrdma_wc wc;
		int rc = vmrdma_wait_cq(s->rcq, &wc, 30000);
		if (rc != 1 || wc.status != VMRDMA_WC_SUCCESS) {
			printf("check: stream cut after %ld rounds (%s)\n", round - 1,
			       rc == 1 ? vmrdma_wc_status_str(wc.status) : "no round for 30 s");
			return 0;
		}
		size_t at = IN + (size_t)wc.wr_id * SLOT;
		uint32_t got = u32_at(s, at);
		post_recv(s, wc.wr_id);
		if (got == 0) {
			printf("check: stream ended cleanly after %ld rounds\n", round - 1);
			return 1;
		}
		if (got != (uint32_t)round)
			DIE("round %u arrived, expected %ld", got, round);
		if (!same(s, "stream round", DATA, 65536, seed + round))
			DIE("round %ld's RDMA WRITE is not byte-identical", round);
		memcpy(s->mem + OUT, s->mem + at, 4);
		struct vmrdma_sge sge = {s->mr->addr + OUT, 4, s->mr->lkey};
		struct vmrdma_send_wr ack = {.wr_id = (uint64_t)round,
					     .opcode = VMRDMA_WR_SEND,
					     .send_flags = VMRDMA_SEND_SIGNALED,
					     .num_sge = 1,
					     .sg_list = &sge};
		if (vmrdma_post_send(s->qp, &ack) < 0 || vmrdma_wait_cq(s->scq, &wc, 30000) != 1
		    || wc.status != VMRDMA_WC_SUCCESS) {
			printf("check: stream cut after %ld rounds (acknowledgement failed)\n", round);
			return 0;
		}
		if (round % 10 == 0) {
			printf("check: %ld rounds verified\n", round);
			fflush(stdout);
		}
	}
}

static int sink(uint64_t service, int64_t seed, int streams)
{
	struct side s = {0};
	open_side(&s);
	make_objects(&s);
	TRY(vmrdma_listen(s.ctx, service));
	printf("check: listening on %" PRIu64 "\n", service);
	fflush(stdout);
	int clean = 0, cut = 0;
	while (clean < streams) {
		if (sink_stream(&s, service, seed))
			clean++;
		else
			cut++;
		fflush(stdout);
		vmrdma_destroy_qp(
			s.qp); /* a cut stream's queue pair may already be in ERR: its state does not matter */
		struct vmrdma_wc wc;
		while (vmrdma_poll_cq(s.rcq, 1, &wc) == 1 || vmrdma_poll_cq(s.scq, 1, &wc) == 1)
			;
		struct vmrdma_cm_event e;
		while (vmrdma_poll_cm_event(s.ctx, &e) == 1)
			printf("check: CM %s after the stream\n", vmrdma_cm_event_str(e.event));
	}
	printf("check: %d streams ended cleanly, %d cut\n", clean, cut);
	TRY(vmrdma_close(s.ctx));
	return verdict();
}

static int source(uint64_t service, int64_t seed, long rounds)
{
	struct side s = {0};
	open_side(&s);
	make_objects(&s);
	connect_to(&s, service, 0);
	for (long round = 1; rounds < 0 || round <= rounds; round++) {
		fill(&s, OUT, 65536, seed + round);
		post(&s, VMRDMA_WR_RDMA_WRITE, OUT, 65536, s.peer_addr + DATA, 0);
		for (int i = 0; i < 4; i++)
			s.mem[OUT + 65536 - 8 + i] = (uint8_t)((uint32_t)round >> (8 * i));
		post(&s, VMRDMA_WR_SEND, OUT + 65536 - 8, 4, 0, 0);
		size_t at = recv_one(&s, VMRDMA_WC_RECV, 0, 0, 4);
		if (u32_at(&s, at) != (uint32_t)round)
			DIE("acknowledgement of round %u, expected %ld", u32_at(&s, at), round);
		if (round % 10 == 0) {
			printf("check: %ld rounds sent\n", round);
			fflush(stdout);
		}
	}
	memset(s.mem + OUT, 0, 4);
	post(&s, VMRDMA_WR_SEND, OUT, 4, 0, 0);
	TRY(vmrdma_close(s.ctx));
	return verdict();
}

static int reattach(int client, uint64_t service, int64_t seed)
{
	struct side s = {0};
	open_side(&s);
	for (int pass = 0; pass < 2; pass++) {
		make_objects(&s);
		if (client) {
			connect_to(&s, service, 1);
		} else {
			TRY(vmrdma_listen(s.ctx, service));
			accept_one(&s, service, 1);
		}
		exchange(&s, client, seed + 100 * pass);
		if (pass == 1)
			break;
		printf("check: reattach: ready\n");
		fflush(stdout);
		for (int i = 0; vmrdma_connected(s.ctx); i++) {
			if (i == 3000)
				DIE("the backend never went away");
			sleep_ms(100);
		}
		struct vmrdma_pd *gone;
		int rc = vmrdma_alloc_pd(s.ctx, &gone);
		require(rc == -ENOTCONN, "a verb without a backend fails with ENOTCONN");
		printf("check: reattach: backend gone (%d: %s)\n", rc, vmrdma_last_error());
		fflush(stdout);
		for (int attempt = 0; (rc = vmrdma_reattach(s.ctx)) < 0; attempt++) {
			if (attempt == 10)
				DIE("could not re-attach");
			sleep_ms(1000);
		}
		printf("check: reattach: attached again\n");
	}
	struct vmrdma_cm_event e;
	if (client)
		TRY(vmrdma_disconnect(s.qp));
	await_event(&s, VMRDMA_CM_DISCONNECTED, &e);
	TRY(vmrdma_close(s.ctx));
	return verdict();
}

/* Takes every event channel the domain may have: the number taken, or -1 where there are none to take (no Xen). */
static int exhaust_event_channels(xenevtchn_handle **handle)
{
	*handle = xenevtchn_open(NULL, 0);
	if (*handle == NULL)
		return -1;
	int taken = 0;
	while (taken < 1 << 17 && xenevtchn_bind_unbound_port(*handle, 0) >= 0)
		taken++;
	return taken;
}

static int limits(size_t bytes)
{
	struct side s = {0};
	open_side(&s);
	struct vmrdma_buf *big;
	int rc = vmrdma_alloc_buf(s.ctx, bytes, &big);
	require(rc < 0, "a buffer beyond the grant limit is refused");
	printf("check: a %zu-byte buffer: %d (%s)\n", bytes, rc, rc < 0 ? vmrdma_last_error() : "allocated");
	if (rc == 0)
		vmrdma_free_buf(big);
	make_objects(&s);
	fill(&s, OUT, 65536, 7);
	require(vmrdma_connected(s.ctx), "the device is still connected after the refusal");
	TRY(vmrdma_close(s.ctx));

	xenevtchn_handle *ports;
	int taken = exhaust_event_channels(&ports);
	if (taken >= 0) {
		struct vmrdma_open_attr a;
		vmrdma_open_attr_init(&a);
		a.timeout_ms = 10000;
		struct vmrdma_context *ctx;
		rc = vmrdma_open(&a, &ctx);
		require(rc < 0, "opening a device without a free event channel fails");
		printf("check: %d event channels taken; open: %d (%s)\n", taken, rc,
		       rc < 0 ? vmrdma_last_error() : "opened");
		if (rc == 0)
			vmrdma_close(ctx);
		xenevtchn_close(ports);
		open_side(&s);
		make_objects(&s);
		TRY(vmrdma_close(s.ctx));
		printf("check: open works again once the event channels are free\n");
	} else {
		printf("check: no Xen event channel device: the event-channel limit is not checked here\n");
	}
	return verdict();
}

/*
 * Several processes of this domain at once, each with its own device: process i runs sink or source on
 * service + i with seed + i. Passes when every one passed.
 */
static int processes(int n, int sinks, uint64_t service, int64_t seed, long count)
{
	if (n < 1 || n > 16)
		DIE("processes: %d, expected 1..16", n);
	for (int i = 0; i < n; i++) {
		pid_t child = fork();
		if (child < 0)
			DIE("fork failed");
		if (child == 0)
			_exit(sinks ? sink(service + (uint64_t)i, seed + i, (int)count) :
				      source(service + (uint64_t)i, seed + i, count));
	}
	int passed = 0, status;
	while (wait(&status) > 0)
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			passed++;
	printf("check: %d of %d processes of this domain passed, each with a device of its own\n", passed, n);
	require(passed == n, "every process passed");
	return verdict();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "pair") == 0)
		return pair(strcmp(argv[2], "client") == 0, strtoull(argv[3], NULL, 10), strtoll(argv[4], NULL, 10));
	if (argc == 5 && strcmp(argv[1], "sink") == 0)
		return sink(strtoull(argv[2], NULL, 10), strtoll(argv[3], NULL, 10), atoi(argv[4]));
	if (argc == 5 && strcmp(argv[1], "source") == 0)
		return source(strtoull(argv[2], NULL, 10), strtoll(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	if (argc == 5 && strcmp(argv[1], "reattach") == 0)
		return reattach(strcmp(argv[2], "client") == 0, strtoull(argv[3], NULL, 10),
				strtoll(argv[4], NULL, 10));
	if (argc == 7 && strcmp(argv[1], "procs") == 0)
		return processes(atoi(argv[2]), strcmp(argv[3], "sink") == 0, strtoull(argv[4], NULL, 10),
				 strtoll(argv[5], NULL, 10), strtol(argv[6], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "limits") == 0)
		return limits(strtoull(argv[2], NULL, 10));
	fprintf(stderr,
		"usage: vmrdma_guest_check pair server|client SERVICE SEED | sink SERVICE SEED STREAMS |\n"
		"       source SERVICE SEED ROUNDS | reattach server|client SERVICE SEED | limits BYTES |\n"
		"       procs N sink|source SERVICE SEED STREAMS|ROUNDS\n");
	return 2;
}
