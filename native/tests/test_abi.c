/*
 * Every request encoder and event/response decoder against docs/guest-abi.md §3, byte for byte. The expected
 * entries are written here with the test's own little-endian writer at the offsets the document gives.
 */
#include <errno.h>
#include <stdint.h>

#include "abi.h"
#include "check.h"

static unsigned char want[112], got[112];

static void start(int op, int flags, uint32_t id)
{
	memset(want, 0, sizeof(want));
	memset(got, 0xEE, sizeof(got)); /* encoders must zero what they do not set */
	want[0] = (unsigned char)op;
	want[1] = (unsigned char)flags;
	le(want, 4, 4, id);
}

static void requests(void)
{
	start(1, 0, 7);
	abi_encode_simple(got, ABI_OP_ALLOC_PD, 7, 0xDEAD);
	check_bytes("ALLOC_PD", got, want, 112);

	static const int one_arg[] = {2, 3, 4, 7, 9, 17};
	for (size_t i = 0; i < sizeof(one_arg) / sizeof(one_arg[0]); i++) {
		start(one_arg[i], 0, 0x01020304);
		le(want, 8, 4, 0xA1B2C3D4u);
		abi_encode_simple(got, (uint8_t)one_arg[i], 0x01020304, 0xA1B2C3D4u);
		check_bytes("one-argument op", got, want, 112);
	}

	start(5, 1, 9);
	le(want, 8, 4, 11);  /* pd */
	le(want, 12, 4, 12); /* send cq */
	le(want, 16, 4, 13); /* recv cq */
	le(want, 20, 4, 64); /* max_send_wr */
	le(want, 24, 4, 32); /* max_recv_wr */
	le(want, 28, 4, 4);  /* max_sge */
	abi_encode_create_qp(got, 9, 11, 12, 13, 64, 32, 4, 1);
	check_bytes("CREATE_QP", got, want, 112);

	struct vmrdma_qp_attr a;
	vmrdma_qp_attr_init(&a);
	a.state = VMRDMA_QPS_RTR;
	a.remote_valid = 1;
	a.remote_node = 0x0102;
	a.remote_domid = 0x0304;
	a.remote_qpn = 0x00ABCDEF;
	start(6, 1, 10);
	le(want, 8, 4, 0x123456);
	le(want, 12, 4, 2);
	le(want, 16, 4, 0xFFFFFFFFu); /* pkey -1 */
	le(want, 20, 4, 0xFFFFFFFFu);
	le(want, 24, 4, 0xFFFFFFFFu);
	le(want, 28, 2, 0x0102);
	le(want, 30, 2, 0x0304);
	le(want, 32, 4, 0x00ABCDEF);
	abi_encode_modify_qp(got, 10, 0x123456, &a);
	check_bytes("MODIFY_QP remote", got, want, 112);
	vmrdma_qp_attr_init(&a);
	a.state = VMRDMA_QPS_ERR;
	a.rnr_retry = 7;
	start(6, 0, 10);
	le(want, 8, 4, 5);
	le(want, 12, 4, 6);
	le(want, 16, 4, 0xFFFFFFFFu);
	le(want, 20, 4, 0xFFFFFFFFu);
	le(want, 24, 4, 7);
	abi_encode_modify_qp(got, 10, 5, &a);
	check_bytes("MODIFY_QP state only", got, want, 112);

	uint32_t refs[16];
	for (int i = 0; i < 16; i++)
		refs[i] = 1000u + (uint32_t)i;
	start(8, 0, 12);
	le(want, 8, 4, 3);
	le(want, 12, 4, 7);
	le(want, 16, 8, 0x10000000ull);
	le(want, 24, 4, 0);
	le(want, 32, 8, 65536);
	le(want, 40, 4, 16);
	for (int i = 0; i < 16; i++)
		le(want, 48 + 4 * (size_t)i, 4, 1000u + (unsigned)i);
	abi_encode_reg_mr(got, 12, 3, 7, 0x10000000ull, 0, 65536, 16, refs, 16, 0);
	check_bytes("REG_MR direct", got, want, 112);
	start(8, 1, 13);
	le(want, 8, 4, 3);
	le(want, 12, 4, 1);
	le(want, 16, 8, 0x123456789ull);
	le(want, 24, 4, 100);
	le(want, 32, 8, 5000000);
	le(want, 40, 4, 1222);
	le(want, 48, 4, 1000);
	le(want, 52, 4, 1001);
	abi_encode_reg_mr(got, 13, 3, 1, 0x123456789ull, 100, 5000000, 1222, refs, 2, 1);
	check_bytes("REG_MR indirect", got, want, 112);

	struct vmrdma_sge sge[4] = {{0x1122334455667788ull, 4096, 0xCAFE}, {0x10, 1, 2}, {0x20, 3, 4}, {0x30, 5, 6}};
	struct vmrdma_send_wr s = {.wr_id = 0xFEDCBA9876543210ull,
				   .opcode = VMRDMA_WR_RDMA_WRITE_WITH_IMM,
				   .send_flags = VMRDMA_SEND_SIGNALED | VMRDMA_SEND_FENCE,
				   .num_sge = 4,
				   .sg_list = sge,
				   .remote_addr = 0x0A0B0C0D0E0F1011ull,
				   .rkey = 0x55AA55AAu,
				   .imm_data = 0x01020304};
	start(10, 0, 14);
	le(want, 8, 4, 0x42);
	want[12] = 1;
	want[13] = 3;
	want[14] = 4;
	le(want, 16, 8, 0xFEDCBA9876543210ull);
	le(want, 24, 8, 0x0A0B0C0D0E0F1011ull);
	le(want, 32, 4, 0x55AA55AAu);
	le(want, 36, 4, 0x01020304);
	for (int i = 0; i < 4; i++) {
		le(want, 48 + 16 * (size_t)i, 8, sge[i].addr);
		le(want, 56 + 16 * (size_t)i, 4, sge[i].length);
		le(want, 60 + 16 * (size_t)i, 4, sge[i].lkey);
	}
	CHECK_EQ(abi_encode_post_send(got, 14, 0x42, &s), 0);
	check_bytes("POST_SEND", got, want, 112);

	/* Invalid work requests are refused before anything is written. */
	memset(got, 0x77, sizeof(got));
	struct vmrdma_send_wr bad = s;
	bad.opcode = (enum vmrdma_wr_opcode)5;
	CHECK_EQ(abi_encode_post_send(got, 1, 1, &bad), -EINVAL);
	bad = s;
	bad.num_sge = 5;
	CHECK_EQ(abi_encode_post_send(got, 1, 1, &bad), -EINVAL);
	bad.num_sge = -1;
	CHECK_EQ(abi_encode_post_send(got, 1, 1, &bad), -EINVAL);
	bad = s;
	bad.sg_list = NULL;
	CHECK_EQ(abi_encode_post_send(got, 1, 1, &bad), -EINVAL);
	bad = s;
	bad.send_flags = 8;
	CHECK_EQ(abi_encode_post_send(got, 1, 1, &bad), -EINVAL);
	struct vmrdma_sge huge = {0, 0x80000000u, 1};
	bad = s;
	bad.num_sge = 1;
	bad.sg_list = &huge;
	CHECK_EQ(abi_encode_post_send(got, 1, 1, &bad), -EINVAL);
	CHECK_EQ(got[0], 0x77);

	struct vmrdma_recv_wr r = {.wr_id = 99, .num_sge = 1, .sg_list = sge};
	start(11, 0, 15);
	le(want, 8, 4, 0x43);
	want[14] = 1;
	le(want, 16, 8, 99);
	le(want, 48, 8, sge[0].addr);
	le(want, 56, 4, sge[0].length);
	le(want, 60, 4, sge[0].lkey);
	CHECK_EQ(abi_encode_post_recv(got, 15, 0x43, &r), 0);
	check_bytes("POST_RECV", got, want, 112);
	struct vmrdma_recv_wr rbad = {.num_sge = 5, .sg_list = sge};
	CHECK_EQ(abi_encode_post_recv(got, 1, 1, &rbad), -EINVAL);

	start(12, 0, 16);
	le(want, 16, 8, 0x1122334455667788ull);
	abi_encode_service(got, ABI_OP_LISTEN, 16, 0x1122334455667788ull);
	check_bytes("LISTEN", got, want, 112);
	start(13, 0, 16);
	le(want, 16, 8, 5);
	abi_encode_service(got, ABI_OP_STOP_LISTEN, 16, 5);
	check_bytes("STOP_LISTEN", got, want, 112);

	unsigned char data[56];
	for (int i = 0; i < 56; i++)
		data[i] = (unsigned char)(i * 7 + 1);
	start(14, 0, 17);
	le(want, 8, 4, 0x777);
	le(want, 12, 2, 3);
	le(want, 16, 8, 4242);
	le(want, 24, 4, 0xFFFFFFFFu);
	want[28] = 56;
	memcpy(want + 32, data, 56);
	CHECK_EQ(abi_encode_cm(got, ABI_OP_CONNECT, 17, 0x777, 3, 4242, -1, data, 56), 0);
	check_bytes("CONNECT", got, want, 112);
	start(15, 0, 18);
	le(want, 8, 4, 0x778);
	le(want, 16, 8, 0x8000000000000001ull);
	want[28] = 12;
	memcpy(want + 32, data, 12);
	CHECK_EQ(abi_encode_cm(got, ABI_OP_ACCEPT, 18, 0x778, 0, 0x8000000000000001ull, 0, data, 12), 0);
	check_bytes("ACCEPT", got, want, 112);
	start(16, 0, 19);
	le(want, 16, 8, 77);
	want[28] = 4;
	memcpy(want + 32, "busy", 4);
	CHECK_EQ(abi_encode_cm(got, ABI_OP_REJECT, 19, 0, 0, 77, 0, "busy", 4), 0);
	check_bytes("REJECT", got, want, 112);
	CHECK_EQ(abi_encode_cm(got, ABI_OP_CONNECT, 1, 1, 1, 1, -1, data, 57), -EINVAL);
	CHECK_EQ(abi_encode_cm(got, ABI_OP_CONNECT, 1, 1, 1, 1, -1, NULL, 3), -EINVAL);
}

static void responses(void)
{
	unsigned char e[112] = {0};
	e[0] = 8;
	le(e, 4, 4, 0x10203040);
	le(e, 8, 4, (uint32_t)-122);
	le(e, 16, 4, 0xAABBCCDD);
	le(e, 20, 4, 0x11223344);
	le(e, 24, 8, 0x0102030405060708ull);
	struct abi_response r;
	abi_decode_response(e, &r);
	CHECK_EQ(r.op, 8);
	CHECK_EQ(r.id, 0x10203040);
	CHECK_EQ(r.status, -122);
	CHECK_EQ(r.r0, 0xAABBCCDD);
	CHECK_EQ(r.r1, 0x11223344);
	CHECK(r.r64 == 0x0102030405060708ull);
	unsigned char back[112];
	abi_encode_response(back, &r);
	check_bytes("response round trip", back, e, 112);
}

static void events(void)
{
	unsigned char e[112] = {0};
	struct abi_wc wc;
	struct vmrdma_cm_event cm;
	e[0] = 1;
	le(e, 4, 4, 6);
	le(e, 8, 8, 0x8877665544332211ull);
	e[16] = 5;
	e[17] = 1;
	le(e, 18, 2, 129);
	le(e, 20, 4, 65536);
	le(e, 24, 4, 0x00FFFFFF);
	le(e, 28, 4, 0xDEADBEEF);
	CHECK_EQ(abi_decode_event(e, &wc, &cm), ABI_EVT_WC);
	CHECK_EQ(wc.cq, 6);
	CHECK(wc.wc.wr_id == 0x8877665544332211ull);
	CHECK_EQ(wc.wc.status, VMRDMA_WC_WR_FLUSH_ERR);
	CHECK_EQ(wc.wc.wc_flags, VMRDMA_WC_WITH_IMM);
	CHECK_EQ(wc.wc.opcode, VMRDMA_WC_RECV_RDMA_WITH_IMM);
	CHECK_EQ(wc.wc.byte_len, 65536);
	CHECK_EQ(wc.wc.qp_num, 0x00FFFFFF);
	CHECK_EQ(wc.wc.imm_data, 0xDEADBEEF);
	unsigned char back[112];
	abi_encode_wc_event(back, wc.cq, &wc.wc);
	check_bytes("completion round trip", back, e, 112);

	memset(e, 0, sizeof(e));
	e[0] = 2;
	e[1] = 2; /* REJECTED */
	e[2] = 5;
	e[3] = 4;
	le(e, 4, 4, 0x123);
	le(e, 8, 8, 0x0102030405060708ull);
	le(e, 16, 8, 18515);
	le(e, 24, 2, 1);
	le(e, 26, 2, 7);
	le(e, 28, 4, 0x456);
	le(e, 32, 2, 0x8001);
	e[34] = 1;
	memcpy(e + 36, "full", 4);
	memcpy(e + 56, "\x01\x02\x03\x04\x05", 5);
	CHECK_EQ(abi_decode_event(e, &wc, &cm), ABI_EVT_CM);
	CHECK_EQ(cm.event, VMRDMA_CM_REJECTED);
	CHECK_EQ(cm.local_qpn, 0x123);
	CHECK(cm.connection_id == 0x0102030405060708ull);
	CHECK_EQ(cm.service_id, 18515);
	CHECK_EQ(cm.remote_node, 1);
	CHECK_EQ(cm.remote_domid, 7);
	CHECK_EQ(cm.remote_qpn, 0x456);
	CHECK_EQ(cm.pkey, 0x8001);
	CHECK_EQ(cm.remote_valid, 1);
	CHECK(strcmp(cm.reason, "full") == 0);
	CHECK_EQ(cm.private_data_len, 5);
	CHECK(memcmp(cm.private_data, "\x01\x02\x03\x04\x05", 5) == 0);
	abi_encode_cm_event(back, &cm);
	check_bytes("CM event round trip", back, e, 112);

	/* An untrusted event: lengths beyond the maxima are clamped, the reason always terminated. */
	e[1] = 0;
	le(e, 4, 4, 0xFFFFFFFFu);
	e[2] = 255;
	e[3] = 255;
	memset(e + 36, 'x', 20);
	CHECK_EQ(abi_decode_event(e, &wc, &cm), ABI_EVT_CM);
	CHECK_EQ(cm.local_qpn, -1);
	CHECK_EQ(cm.private_data_len, 56);
	CHECK_EQ(strlen(cm.reason), 20);

	e[0] = 3;
	CHECK_EQ(abi_decode_event(e, &wc, &cm), -EPROTO);
	e[0] = 0;
	CHECK_EQ(abi_decode_event(e, &wc, &cm), -EPROTO);
}

int main(void)
{
	requests();
	responses();
	events();
	return failures ? 1 : 0;
}
