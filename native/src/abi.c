/* Encoders, decoders and ring arithmetic of docs/guest-abi.md (see abi.h). */
#include "abi.h"

#include <errno.h>
#include <string.h>

uint32_t abi_ring_entries(size_t area_bytes, size_t entry_len)
{
	if (entry_len == 0 || area_bytes <= ABI_RING_HEADER)
		return 0;
	size_t fit = (area_bytes - ABI_RING_HEADER) / entry_len;
	if (fit == 0)
		return 0;
	uint32_t n = 1;
	while ((size_t)n * 2 <= fit && n < 0x80000000u)
		n *= 2;
	return n;
}

int abi_ring_attach(struct abi_ring *r, void *area, size_t area_bytes)
{
	uint32_t n = abi_ring_entries(area_bytes, ABI_ENTRY);
	if (n == 0 || area == NULL)
		return -EINVAL;
	r->base = area;
	r->size = n;
	return 0;
}

void abi_ring_init(struct abi_ring *r)
{
	memset(r->base, 0, ABI_RING_HEADER);
	abi_ring_set(r, RING_REQ_EVENT, 1);
	abi_ring_set(r, RING_RSP_EVENT, 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* The indices are naturally aligned u32 in a page-aligned header; x86-64 and every Xen guest are little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ring indices are little-endian u32 accessed in place");

uint32_t abi_ring_get(const struct abi_ring *r, int field)
{
	return __atomic_load_n((const uint32_t *)(const void *)(r->base + field), __ATOMIC_ACQUIRE);
}

void abi_ring_set(struct abi_ring *r, int field, uint32_t value)
{
	__atomic_store_n((uint32_t *)(void *)(r->base + field), value, __ATOMIC_RELEASE);
}

int abi_ring_push(struct abi_ring *r, int field, int event_field, uint32_t new_prod)
{
	uint32_t old = abi_ring_get(r, field);
	abi_ring_set(r, field, new_prod);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return abi_need_notify(old, new_prod, abi_ring_get(r, event_field));
}

int abi_ring_final_check(struct abi_ring *r, int prod_field, int event_field, uint32_t consumed)
{
	if (abi_ring_get(r, prod_field) != consumed)
		return 1;
	abi_ring_set(r, event_field, consumed + 1);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return abi_ring_get(r, prod_field) != consumed;
}

int64_t abi_ring_pending(uint32_t prod, uint32_t consumed, uint32_t size)
{
	uint32_t n = prod - consumed;
	return n > size ? -1 : (int64_t)n;
}

/* ---- requests ---- */

void abi_encode_header(uint8_t *e, uint8_t op, uint8_t flags, uint32_t id)
{
	memset(e, 0, ABI_ENTRY);
	put_u8(e, 0, op);
	put_u8(e, 1, flags);
	put_u32(e, 4, id);
}

void abi_encode_simple(uint8_t *e, uint8_t op, uint32_t id, uint32_t arg0)
{
	abi_encode_header(e, op, 0, id);
	if (op != ABI_OP_ALLOC_PD)
		put_u32(e, 8, arg0);
}

void abi_encode_create_qp(uint8_t *e, uint32_t id, uint32_t pd, uint32_t send_cq, uint32_t recv_cq,
			  uint32_t max_send_wr, uint32_t max_recv_wr, uint32_t max_sge, int sig_all)
{
	abi_encode_header(e, ABI_OP_CREATE_QP, sig_all ? 1 : 0, id);
	put_u32(e, 8, pd);
	put_u32(e, 12, send_cq);
	put_u32(e, 16, recv_cq);
	put_u32(e, 20, max_send_wr);
	put_u32(e, 24, max_recv_wr);
	put_u32(e, 28, max_sge);
}

void abi_encode_modify_qp(uint8_t *e, uint32_t id, uint32_t qpn, const struct vmrdma_qp_attr *a)
{
	abi_encode_header(e, ABI_OP_MODIFY_QP, a->remote_valid ? 1 : 0, id);
	put_u32(e, 8, qpn);
	put_u32(e, 12, (uint32_t)a->state);
	put_u32(e, 16, (uint32_t)a->pkey);
	put_u32(e, 20, (uint32_t)a->retry_cnt);
	put_u32(e, 24, (uint32_t)a->rnr_retry);
	if (a->remote_valid) {
		put_u16(e, 28, a->remote_node);
		put_u16(e, 30, a->remote_domid);
		put_u32(e, 32, a->remote_qpn);
	}
}

void abi_encode_reg_mr(uint8_t *e, uint32_t id, uint32_t pd, uint32_t access, uint64_t address, uint32_t page_offset,
		       uint64_t length, uint32_t nr_pages, const uint32_t *refs, uint32_t nr_refs, int indirect)
{
	abi_encode_header(e, ABI_OP_REG_MR, indirect ? 1 : 0, id);
	put_u32(e, 8, pd);
	put_u32(e, 12, access);
	put_u64(e, 16, address);
	put_u32(e, 24, page_offset);
	put_u64(e, 32, length);
	put_u32(e, 40, nr_pages);
	for (uint32_t i = 0; i < nr_refs && i < ABI_MR_REFS_INLINE; i++)
		put_u32(e, 48 + 4 * i, refs[i]);
}

static int check_sgl(int num_sge, const struct vmrdma_sge *sgl)
{
	if (num_sge < 0 || num_sge > VMRDMA_MAX_SGE || (num_sge > 0 && sgl == NULL))
		return -EINVAL;
	for (int i = 0; i < num_sge; i++)
		if (sgl[i].length >= 0x80000000u)
			return -EINVAL;
	return 0;
}

static void encode_post(uint8_t *e, uint8_t op, uint32_t id, uint32_t qpn, uint64_t wr_id, int num_sge,
			const struct vmrdma_sge *sgl)
{
	abi_encode_header(e, op, 0, id);
	put_u32(e, 8, qpn);
	put_u8(e, 14, (uint8_t)num_sge);
	put_u64(e, 16, wr_id);
	for (int i = 0; i < num_sge; i++) {
		put_u64(e, 48 + 16 * (size_t)i, sgl[i].addr);
		put_u32(e, 56 + 16 * (size_t)i, sgl[i].length);
		put_u32(e, 60 + 16 * (size_t)i, sgl[i].lkey);
	}
}

int abi_encode_post_send(uint8_t *e, uint32_t id, uint32_t qpn, const struct vmrdma_send_wr *wr)
{
	if ((unsigned)wr->opcode > VMRDMA_WR_RDMA_READ || (wr->send_flags & ~7u) != 0
	    || check_sgl(wr->num_sge, wr->sg_list) != 0)
		return -EINVAL;
	encode_post(e, ABI_OP_POST_SEND, id, qpn, wr->wr_id, wr->num_sge, wr->sg_list);
	put_u8(e, 12, (uint8_t)wr->opcode);
	put_u8(e, 13, (uint8_t)wr->send_flags);
	put_u64(e, 24, wr->remote_addr);
	put_u32(e, 32, wr->rkey);
	put_u32(e, 36, wr->imm_data);
	return 0;
}

int abi_encode_post_recv(uint8_t *e, uint32_t id, uint32_t qpn, const struct vmrdma_recv_wr *wr)
{
	if (check_sgl(wr->num_sge, wr->sg_list) != 0)
		return -EINVAL;
	encode_post(e, ABI_OP_POST_RECV, id, qpn, wr->wr_id, wr->num_sge, wr->sg_list);
	return 0;
}

void abi_encode_service(uint8_t *e, uint8_t op, uint32_t id, uint64_t service_id)
{
	abi_encode_header(e, op, 0, id);
	put_u64(e, 16, service_id);
}

int abi_encode_cm(uint8_t *e, uint8_t op, uint32_t id, uint32_t qpn, uint16_t node, uint64_t id64, int32_t pkey,
		  const void *data, size_t len)
{
	if (len > VMRDMA_MAX_PRIVATE_DATA || (len > 0 && data == NULL))
		return -EINVAL;
	abi_encode_header(e, op, 0, id);
	if (op != ABI_OP_REJECT)
		put_u32(e, 8, qpn);
	if (op == ABI_OP_CONNECT) {
		put_u16(e, 12, node);
		put_u32(e, 24, (uint32_t)pkey);
	}
	put_u64(e, 16, id64);
	put_u8(e, 28, (uint8_t)len);
	if (len > 0)
		memcpy(e + 32, data, len);
	return 0;
}

/* ---- responses and events ---- */

void abi_decode_response(const uint8_t *e, struct abi_response *out)
{
	out->op = e[0];
	out->id = get_u32(e, 4);
	out->status = (int32_t)get_u32(e, 8);
	out->r0 = get_u32(e, 16);
	out->r1 = get_u32(e, 20);
	out->r64 = get_u64(e, 24);
}

void abi_encode_response(uint8_t *e, const struct abi_response *r)
{
	memset(e, 0, ABI_ENTRY);
	e[0] = r->op;
	put_u32(e, 4, r->id);
	put_u32(e, 8, (uint32_t)r->status);
	put_u32(e, 16, r->r0);
	put_u32(e, 20, r->r1);
	put_u64(e, 24, r->r64);
}

int abi_decode_event(const uint8_t *e, struct abi_wc *wc, struct vmrdma_cm_event *cm)
{
	if (e[0] == ABI_EVT_WC) {
		memset(wc, 0, sizeof(*wc));
		wc->cq = get_u32(e, 4);
		wc->wc.wr_id = get_u64(e, 8);
		wc->wc.status = (enum vmrdma_wc_status)e[16];
		wc->wc.wc_flags = e[17] ? VMRDMA_WC_WITH_IMM : 0;
		wc->wc.opcode = (enum vmrdma_wc_opcode)get_u16(e, 18);
		wc->wc.byte_len = get_u32(e, 20);
		wc->wc.qp_num = get_u32(e, 24);
		wc->wc.imm_data = get_u32(e, 28);
		return ABI_EVT_WC;
	}
	if (e[0] == ABI_EVT_CM) {
		memset(cm, 0, sizeof(*cm));
		cm->event = (enum vmrdma_cm_event_type)e[1];
		size_t n = e[2] > VMRDMA_MAX_PRIVATE_DATA ? VMRDMA_MAX_PRIVATE_DATA : e[2];
		size_t rl = e[3] > VMRDMA_MAX_EVENT_REASON ? VMRDMA_MAX_EVENT_REASON : e[3];
		cm->local_qpn = (int32_t)get_u32(e, 4);
		cm->connection_id = get_u64(e, 8);
		cm->service_id = get_u64(e, 16);
		cm->remote_node = get_u16(e, 24);
		cm->remote_domid = get_u16(e, 26);
		cm->remote_qpn = get_u32(e, 28);
		cm->pkey = get_u16(e, 32);
		cm->remote_valid = e[34] != 0;
		memcpy(cm->reason, e + 36, rl);
		cm->reason[rl] = '\0';
		cm->private_data_len = (uint8_t)n;
		memcpy(cm->private_data, e + 56, n);
		return ABI_EVT_CM;
	}
	return -EPROTO;
}

void abi_encode_wc_event(uint8_t *e, uint32_t cq, const struct vmrdma_wc *wc)
{
	memset(e, 0, ABI_ENTRY);
	e[0] = ABI_EVT_WC;
	put_u32(e, 4, cq);
	put_u64(e, 8, wc->wr_id);
	e[16] = (uint8_t)wc->status;
	e[17] = (wc->wc_flags & VMRDMA_WC_WITH_IMM) ? 1 : 0;
	put_u16(e, 18, (uint16_t)wc->opcode);
	put_u32(e, 20, wc->byte_len);
	put_u32(e, 24, wc->qp_num);
	put_u32(e, 28, wc->imm_data);
}

void abi_encode_cm_event(uint8_t *e, const struct vmrdma_cm_event *cm)
{
	memset(e, 0, ABI_ENTRY);
	e[0] = ABI_EVT_CM;
	e[1] = (uint8_t)cm->event;
	size_t rl = strnlen(cm->reason, VMRDMA_MAX_EVENT_REASON);
	size_t n = cm->private_data_len > VMRDMA_MAX_PRIVATE_DATA ? VMRDMA_MAX_PRIVATE_DATA : cm->private_data_len;
	e[2] = (uint8_t)n;
	e[3] = (uint8_t)rl;
	put_u32(e, 4, (uint32_t)cm->local_qpn);
	put_u64(e, 8, cm->connection_id);
	put_u64(e, 16, cm->service_id);
	put_u16(e, 24, cm->remote_node);
	put_u16(e, 26, cm->remote_domid);
	put_u32(e, 28, cm->remote_qpn);
	put_u16(e, 32, cm->pkey);
	e[34] = cm->remote_valid ? 1 : 0;
	memcpy(e + 36, cm->reason, rl);
	memcpy(e + 56, cm->private_data, n);
}
