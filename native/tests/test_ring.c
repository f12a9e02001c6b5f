/* Ring arithmetic of docs/guest-abi.md §2: sizes, the notify rule with free-running u32 indices, final check. */
#include <stdint.h>
#include <stdlib.h>

#include "abi.h"
#include "check.h"

int main(void)
{
	/* Entries per ring: the largest power of two <= (4096 * 2^o - 64) / 112. */
	static const uint32_t want[] = {32, 64, 128, 256, 512};
	for (int o = 0; o <= 4; o++)
		CHECK_EQ(abi_ring_entries((size_t)4096 << o, ABI_ENTRY), want[o]);
	CHECK_EQ(abi_ring_entries(64, ABI_ENTRY), 0);
	CHECK_EQ(abi_ring_entries(64 + 111, ABI_ENTRY), 0);
	CHECK_EQ(abi_ring_entries(64 + 112, ABI_ENTRY), 1);
	CHECK_EQ(abi_ring_entries(64 + 3 * 112, ABI_ENTRY), 2);
	CHECK_EQ(abi_ring_entries(0, ABI_ENTRY), 0);

	/* The notify rule: the consumer's event index in (old, new], unsigned, across the 2^32 wrap. */
	CHECK(abi_need_notify(0, 1, 1));
	CHECK(!abi_need_notify(1, 2, 1));
	CHECK(abi_need_notify(0, 5, 3));
	CHECK(abi_need_notify(0, 5, 5));
	CHECK(!abi_need_notify(0, 5, 6));
	CHECK(!abi_need_notify(5, 5, 5));
	CHECK(abi_need_notify(0xFFFFFFFEu, 2, 0xFFFFFFFFu));
	CHECK(abi_need_notify(0xFFFFFFFEu, 2, 0));
	CHECK(abi_need_notify(0xFFFFFFFEu, 2, 2));
	CHECK(!abi_need_notify(0xFFFFFFFEu, 2, 3));
	CHECK(!abi_need_notify(0xFFFFFFFEu, 2, 0xFFFFFFFEu));

	/* Pending entries, and a producer running past the ring is detected. */
	CHECK_EQ(abi_ring_pending(10, 10, 32), 0);
	CHECK_EQ(abi_ring_pending(42, 10, 32), 32);
	CHECK_EQ(abi_ring_pending(43, 10, 32), -1);
	CHECK_EQ(abi_ring_pending(3, 0xFFFFFFFEu, 32), 5);
	CHECK_EQ(abi_ring_pending(0xFFFFFFF0u, 5, 32), -1); /* a producer behind the consumer */

	/* SHARED_RING_INIT on a page full of garbage, then push and final check on the real header. */
	uint8_t *page = aligned_alloc(4096, 4096);
	memset(page, 0xAB, 4096);
	struct abi_ring r;
	CHECK_EQ(abi_ring_attach(&r, page, 4096), 0);
	CHECK_EQ(r.size, 32);
	CHECK_EQ(abi_ring_attach(&r, page, 100), -22);
	abi_ring_attach(&r, page, 4096);
	abi_ring_init(&r);
	unsigned char hdr[64] = {0};
	le(hdr, 4, 4, 1);
	le(hdr, 12, 4, 1);
	check_bytes("initialised header", page, hdr, 64);
	CHECK_EQ(page[64], 0xAB); /* entries untouched */
	CHECK(abi_ring_slot(&r, 0) == page + 64);
	CHECK(abi_ring_slot(&r, 33) == page + 64 + 112);
	CHECK(abi_ring_slot(&r, 0xFFFFFFFFu) == page + 64 + 31 * 112);

	/* req_event = 1: the first push notifies, the second not (the backend has not re-armed). */
	CHECK(abi_ring_push(&r, RING_REQ_PROD, RING_REQ_EVENT, 1));
	CHECK_EQ(get_u32(page, 0), 1);
	CHECK(!abi_ring_push(&r, RING_REQ_PROD, RING_REQ_EVENT, 2));
	le(page, 4, 4, 3); /* the backend asks to be woken after request 3 */
	CHECK(abi_ring_push(&r, RING_REQ_PROD, RING_REQ_EVENT, 4));

	/* Final check: nothing new re-arms rsp_event at consumed + 1; something new says so. */
	CHECK(!abi_ring_final_check(&r, RING_RSP_PROD, RING_RSP_EVENT, 0));
	CHECK_EQ(get_u32(page, 12), 1);
	le(page, 8, 4, 2);
	CHECK(abi_ring_final_check(&r, RING_RSP_PROD, RING_RSP_EVENT, 0));
	CHECK(!abi_ring_final_check(&r, RING_RSP_PROD, RING_RSP_EVENT, 2));
	CHECK_EQ(get_u32(page, 12), 3);
	free(page);

	/* Order 2: four pages, 128 entries; the last slot ends inside the area. */
	uint8_t *four = aligned_alloc(4096, 4 * 4096);
	abi_ring_attach(&r, four, 4 * 4096);
	CHECK_EQ(r.size, 128);
	CHECK(abi_ring_slot(&r, 127) + ABI_ENTRY <= four + 4 * 4096);
	free(four);
	return failures ? 1 : 0;
}
