/*
 * The vmrdma guest ABI, version 1 (docs/guest-abi.md): constants, the ring.h shared-ring arithmetic, and the
 * encoders and decoders of the 112-byte ring entries. Pure functions over byte arrays (no I/O), so that the unit
 * tests check them byte for byte. Entries are little-endian whatever the host.
 */
#ifndef VMRDMA_ABI_H
#define VMRDMA_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "vmrdma.h"

#define ABI_ENTRY 112
#define ABI_RING_HEADER 64
#define ABI_MAX_RING_PAGE_ORDER 4
#define ABI_MR_REFS_INLINE 16
#define ABI_REFS_PER_INDIRECT_PAGE 1024
#define ABI_FEATURES "indirect-mr cm"

enum abi_op {
	ABI_OP_ALLOC_PD = 1,
	ABI_OP_DEALLOC_PD,
	ABI_OP_CREATE_CQ,
	ABI_OP_DESTROY_CQ,
	ABI_OP_CREATE_QP,
	ABI_OP_MODIFY_QP,
	ABI_OP_DESTROY_QP,
	ABI_OP_REG_MR,
	ABI_OP_DEREG_MR,
	ABI_OP_POST_SEND,
	ABI_OP_POST_RECV,
	ABI_OP_LISTEN,
	ABI_OP_STOP_LISTEN,
	ABI_OP_CONNECT,
	ABI_OP_ACCEPT,
	ABI_OP_REJECT,
	ABI_OP_DISCONNECT
};

enum { ABI_EVT_WC = 1, ABI_EVT_CM = 2 };

/* Shared header fields (byte offsets). */
enum { RING_REQ_PROD = 0, RING_REQ_EVENT = 4, RING_RSP_PROD = 8, RING_RSP_EVENT = 12 };

/* ---- little-endian fields ---- */

static inline void put_u8(uint8_t *e, size_t at, uint8_t v)
{
	e[at] = v;
}
static inline void put_u16(uint8_t *e, size_t at, uint16_t v)
{
	e[at] = (uint8_t)v;
	e[at + 1] = (uint8_t)(v >> 8);
}
static inline void put_u32(uint8_t *e, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		e[at + i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64(uint8_t *e, size_t at, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		e[at + i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get_u16(const uint8_t *e, size_t at)
{
	return (uint16_t)(e[at] | e[at + 1] << 8);
}
static inline uint32_t get_u32(const uint8_t *e, size_t at)
{
	return (uint32_t)e[at] | (uint32_t)e[at + 1] << 8 | (uint32_t)e[at + 2] << 16 | (uint32_t)e[at + 3] << 24;
}
static inline uint64_t get_u64(const uint8_t *e, size_t at)
{
	return (uint64_t)get_u32(e, at) | (uint64_t)get_u32(e, at + 4) << 32;
}

/* ---- rings (Xen ring.h over 2^order pages) ---- */

struct abi_ring {
	uint8_t *base; /* the shared area: header, then entries */
	uint32_t size; /* entries, a power of two */
};

/* __RING_SIZE: the largest power of two of entries of entry_len bytes after the 64-byte header; 0 if none. */
uint32_t abi_ring_entries(size_t area_bytes, size_t entry_len);
/* Attaches to an area; returns -EINVAL if it holds no entry. */
int abi_ring_attach(struct abi_ring *r, void *area, size_t area_bytes);
/* SHARED_RING_INIT: producers 0, events 1, padding 0. */
void abi_ring_init(struct abi_ring *r);
static inline uint8_t *abi_ring_slot(const struct abi_ring *r, uint32_t index)
{
	return r->base + ABI_RING_HEADER + (size_t)(index & (r->size - 1)) * ABI_ENTRY;
}
uint32_t abi_ring_get(const struct abi_ring *r, int field);	  /* acquire load */
void abi_ring_set(struct abi_ring *r, int field, uint32_t value); /* release store */
/*
 * RING_PUSH_*_AND_CHECK_NOTIFY: publish producer `field` = new_prod; 1 when the consumer's event index at
 * `event_field` lies in (old, new] (unsigned arithmetic), i.e. the peer must be notified.
 */
int abi_ring_push(struct abi_ring *r, int field, int event_field, uint32_t new_prod);
/* The notify rule alone: event in (old, new]. */
static inline int abi_need_notify(uint32_t old_prod, uint32_t new_prod, uint32_t event)
{
	return (uint32_t)(new_prod - event) < (uint32_t)(new_prod - old_prod);
}
/* RING_FINAL_CHECK_FOR_*: 1 when the producer at prod_field moved past consumed (after re-arming event_field). */
int abi_ring_final_check(struct abi_ring *r, int prod_field, int event_field, uint32_t consumed);
/* How many new entries a producer published past `consumed`, or -1 if more than the ring holds (broken peer). */
int64_t abi_ring_pending(uint32_t prod, uint32_t consumed, uint32_t size);

/* ---- requests ---- */

/* Every encoder zeroes the 112 bytes first, writes op, flags and id, then the op's arguments. */
void abi_encode_header(uint8_t *e, uint8_t op, uint8_t flags, uint32_t id);
/* ALLOC_PD (no argument), and the ops with one u32 at 8: DEALLOC_PD, CREATE_CQ, DESTROY_CQ, DESTROY_QP, DEREG_MR,
 * DISCONNECT. */
void abi_encode_simple(uint8_t *e, uint8_t op, uint32_t id, uint32_t arg0);
void abi_encode_create_qp(uint8_t *e, uint32_t id, uint32_t pd, uint32_t send_cq, uint32_t recv_cq,
			  uint32_t max_send_wr, uint32_t max_recv_wr, uint32_t max_sge, int sig_all);
void abi_encode_modify_qp(uint8_t *e, uint32_t id, uint32_t qpn, const struct vmrdma_qp_attr *a);
/* refs: nr_refs (≤ 16) page refs (direct) or indirect-page refs (indirect). */
void abi_encode_reg_mr(uint8_t *e, uint32_t id, uint32_t pd, uint32_t access, uint64_t address, uint32_t page_offset,
		       uint64_t length, uint32_t nr_pages, const uint32_t *refs, uint32_t nr_refs, int indirect);
/* Checks the work request first: -EINVAL for a bad opcode, num_sge or sge length (nothing written). */
int abi_encode_post_send(uint8_t *e, uint32_t id, uint32_t qpn, const struct vmrdma_send_wr *wr);
int abi_encode_post_recv(uint8_t *e, uint32_t id, uint32_t qpn, const struct vmrdma_recv_wr *wr);
/* LISTEN / STOP_LISTEN. */
void abi_encode_service(uint8_t *e, uint8_t op, uint32_t id, uint64_t service_id);
/* CONNECT (node, pkey used), ACCEPT (qpn, data), REJECT (reason as data); len ≤ 56 else -EINVAL. */
int abi_encode_cm(uint8_t *e, uint8_t op, uint32_t id, uint32_t qpn, uint16_t node, uint64_t id64, int32_t pkey,
		  const void *data, size_t len);

/* ---- responses and events (decoded from a private copy of the entry) ---- */

struct abi_response {
	uint8_t op;
	uint32_t id;
	int32_t status;
	uint32_t r0, r1;
	uint64_t r64;
};
void abi_decode_response(const uint8_t *e, struct abi_response *out);

struct abi_wc {
	uint32_t cq;
	struct vmrdma_wc wc;
};
/*
 * Decodes an event. Returns ABI_EVT_WC (into *wc) or ABI_EVT_CM (into *cm), or -EPROTO for an unknown type.
 * Lengths are clamped to the ABI's maxima and the reason is NUL-terminated, whatever the backend wrote.
 */
int abi_decode_event(const uint8_t *e, struct abi_wc *wc, struct vmrdma_cm_event *cm);

/* ---- encoders of what the backend writes (used by the unit tests to play the backend) ---- */
void abi_encode_response(uint8_t *e, const struct abi_response *r);
void abi_encode_wc_event(uint8_t *e, uint32_t cq, const struct vmrdma_wc *wc);
void abi_encode_cm_event(uint8_t *e, const struct vmrdma_cm_event *cm);

#endif
