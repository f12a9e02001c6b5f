/*
 * The provider's encodings (fi/codec.c): addresses, service ids, the connection data header, a reject's data and
 * region keys. Fixed cases byte for byte against the layouts docs/mpi.md gives, then seeded random input (the seed
 * is printed; VFI_TEST_SEED repeats a run): what the provider accepts it reads back exactly, what it refuses it
 * refuses without reading past the input.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "vfi.h"

#define ROUNDS 20000

static uint64_t rng_state;

/* splitmix64: a small, well-mixed generator whose whole state is the seed. */
static uint64_t next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void header_is_little_endian(void)
{
	uint8_t got[8], want[8];
	le(want, 0, 8, 0x0102030405060708ull);
	vfi_put_u64(got, 0x0102030405060708ull);
	check_bytes("connection header", got, want, 8);
	CHECK_EQ(vfi_get_u64(want) == 0x0102030405060708ull, 1);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t v = next();
		vfi_put_u64(got, v);
		CHECK(vfi_get_u64(got) == v);
	}
}

static void address_layout(void)
{
	struct sockaddr_in6 sa;
	vfi_addr_make(0x1234, 0x0003, 0xbeef, &sa);
	static const uint8_t want[16] = {0xfd, 0x76, 0x6d, 0x72, 0x64, 0x6d, 0x61, 0, 0x12, 0x34, 0, 3, 0, 0, 0, 0};
	check_bytes("address", sa.sin6_addr.s6_addr, want, 16);
	CHECK_EQ(sa.sin6_family, AF_INET6);
	CHECK_EQ(ntohs(sa.sin6_port), 0xbeef);
	uint16_t node, domid, port;
	CHECK_EQ(vfi_addr_parse(&sa, sizeof(sa), &node, &domid, &port), 0);
	CHECK_EQ(node, 0x1234);
	CHECK_EQ(domid, 3);
	CHECK_EQ(port, 0xbeef);

	/* Refused: too short, another family, any other prefix, a byte set where the layout has zeros. */
	CHECK_EQ(vfi_addr_parse(NULL, sizeof(sa), &node, &domid, &port), -FI_EINVAL);
	CHECK_EQ(vfi_addr_parse(&sa, sizeof(sa) - 1, &node, &domid, &port), -FI_EINVAL);
	struct sockaddr_in6 bad = sa;
	bad.sin6_family = AF_INET;
	CHECK_EQ(vfi_addr_parse(&bad, sizeof(bad), &node, &domid, &port), -FI_EINVAL);
	static const int fixed[] = {0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		bad = sa;
		bad.sin6_addr.s6_addr[fixed[i]] ^= 0x01;
		CHECK_EQ(vfi_addr_parse(&bad, sizeof(bad), &node, &domid, &port), -FI_EINVAL);
	}
}

static void addresses_round_trip(void)
{
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t r = next();
		uint16_t n = (uint16_t)r, d = (uint16_t)(r >> 16), p = (uint16_t)(r >> 32), node, domid, port;
		struct sockaddr_in6 sa;
		vfi_addr_make(n, d, p, &sa);
		CHECK_EQ(vfi_addr_parse(&sa, sizeof(sa), &node, &domid, &port), 0);
		CHECK(node == n && domid == d && port == p);
	}
	/* Random bytes, mostly with the prefix so that the other checks are reached: accepted only as made. */
	for (int i = 0; i < ROUNDS; i++) {
		struct sockaddr_in6 sa;
		uint8_t *b = (uint8_t *)&sa;
		for (size_t k = 0; k < sizeof(sa); k++)
			b[k] = (uint8_t)next();
		if (next() % 4 != 0) {
			sa.sin6_family = AF_INET6;
			static const uint8_t prefix[7] = {0xfd, 0x76, 0x6d, 0x72, 0x64, 0x6d, 0x61};
			memcpy(sa.sin6_addr.s6_addr, prefix, sizeof(prefix));
			if (next() % 2 == 0) {
				sa.sin6_addr.s6_addr[7] = 0;
				memset(sa.sin6_addr.s6_addr + 12, 0, 4);
			}
		}
		uint16_t node, domid, port;
		if (vfi_addr_parse(&sa, sizeof(sa), &node, &domid, &port) == 0) {
			struct sockaddr_in6 again;
			vfi_addr_make(node, domid, port, &again);
			check_bytes("accepted address", sa.sin6_addr.s6_addr, again.sin6_addr.s6_addr, 16);
			CHECK(sa.sin6_port == again.sin6_port);
		}
	}
}

static void services_are_distinct(void)
{
	CHECK(vfi_service(3, 7) == 0x7666690000030007ull);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t r = next();
		uint16_t d = (uint16_t)r, p = (uint16_t)(r >> 16);
		uint64_t s = vfi_service(d, p);
		CHECK(s >> 32 == 0x76666900u);
		CHECK((uint16_t)(s >> 16) == d && (uint16_t)s == p);
	}
}

static void reject_data_fixed(void)
{
	char reason[VMRDMA_MAX_EVENT_REASON + 1];
	static const uint8_t three[] = {0x00, 0xff, 0x5a};
	CHECK_EQ(vfi_reject_encode(three, 3, reason), 3);
	CHECK(strcmp(reason, "fi:00ff5a") == 0);
	CHECK_EQ(vfi_reject_encode(NULL, 0, reason), 0);
	CHECK(strcmp(reason, "fi:") == 0);
	uint8_t many[VFI_REJECT_DATA_MAX + 4], data[VFI_REJECT_DATA_MAX];
	memset(many, 0xab, sizeof(many));
	CHECK_EQ(vfi_reject_encode(many, sizeof(many), reason), VFI_REJECT_DATA_MAX);
	CHECK_EQ(strlen(reason), 3 + 2 * VFI_REJECT_DATA_MAX);
	CHECK(strlen(reason) <= VMRDMA_MAX_EVENT_REASON);

	CHECK_EQ(vfi_reject_decode("fi:00ff5a", data), 3);
	check_bytes("decoded reject", data, three, 3);
	/* The engine's own reasons and anything malformed carry no data. */
	static const char *const others[] = {"",
					     "fi",
					     "fi:",
					     "fi:0",
					     "fi:0g",
					     "fi:AB",
					     "fi: 1",
					     "FI:00",
					     "refused by peer",
					     "no such listener",
					     "fi:00ff5",
					     "xfi:00ff",
					     "fi:-1-1-1",
					     "fi:0123456789abcdef0"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (vfi_reject_decode(others[i], data) != 0) {
			fprintf(stderr, "decoded data from \"%s\"\n", others[i]);
			failures++;
		}
	}
	/* A reason as long as the field, without its terminator inside it, is not read past the field. */
	char full[VMRDMA_MAX_EVENT_REASON + 1];
	memset(full, 'a', sizeof(full));
	memcpy(full, "fi:", 3);
	CHECK_EQ(vfi_reject_decode(full, data), 0);
}

static void reject_data_round_trip(void)
{
	char reason[VMRDMA_MAX_EVENT_REASON + 1];
	uint8_t in[VFI_REJECT_DATA_MAX], out[VFI_REJECT_DATA_MAX];
	for (int i = 0; i < ROUNDS; i++) {
		size_t len = 1 + next() % VFI_REJECT_DATA_MAX;
		for (size_t k = 0; k < len; k++)
			in[k] = (uint8_t)next();
		vfi_reject_encode(in, len, reason);
		CHECK_EQ(vfi_reject_decode(reason, out), len);
		check_bytes("reject data", out, in, len);
	}
	/* Random text over the characters that matter: decoded only when it is exactly an encoding. */
	static const char alphabet[] = "fi:0123456789abcdefAFg ";
	for (int i = 0; i < ROUNDS; i++) {
		size_t n = next() % (VMRDMA_MAX_EVENT_REASON + 1);
		for (size_t k = 0; k < n; k++)
			reason[k] = alphabet[next() % (sizeof(alphabet) - 1)];
		if (n >= 3 && next() % 2 == 0)
			memcpy(reason, "fi:", 3);
		reason[n] = '\0';
		size_t got = vfi_reject_decode(reason, out);
		if (got > 0) {
			char again[VMRDMA_MAX_EVENT_REASON + 1];
			vfi_reject_encode(out, got, again);
			CHECK(strcmp(again, reason) == 0);
		}
	}
}

static void keys_name_the_peers_pages(void)
{
	uint64_t iova;
	uint32_t rkey;
	uint64_t key = vfi_key(0xa1b2c3d4u, 5);
	CHECK(key == 0xa1b2c3d400000005ull);
	CHECK_EQ(vfi_remote(1ull << 32, key, 100, 4096, &iova, &rkey), 0);
	CHECK(iova == (1ull << 32) + 5 * VMRDMA_PAGE_SIZE + 100);
	CHECK(rkey == 0xa1b2c3d4u);
	/* A peer that sent no region base, or a key and offset past the end of the address space, are refused. */
	CHECK_EQ(vfi_remote(0, key, 0, 1, &iova, &rkey), -FI_EINVAL);
	CHECK_EQ(vfi_remote(UINT64_MAX - VMRDMA_PAGE_SIZE, vfi_key(1, 2), 0, 1, &iova, &rkey), -FI_EINVAL);
	CHECK_EQ(vfi_remote(1ull << 32, key, UINT64_MAX - 10, 1, &iova, &rkey), -FI_EINVAL);
	CHECK_EQ(vfi_remote(1ull << 32, key, 0, SIZE_MAX, &iova, &rkey), -FI_EINVAL);

	for (int i = 0; i < ROUNDS; i++) {
		/* Bases as contexts hand them out: a page in [2^32, 2^46). */
		uint64_t base =
			((1ull << 32) + next() % ((1ull << 46) - (1ull << 32))) & ~(uint64_t)(VMRDMA_PAGE_SIZE - 1);
		uint32_t page = (uint32_t)(next() % (1u << 20)), rk = (uint32_t)next();
		uint64_t off = next() % (64u << 20);
		size_t len = (size_t)(next() % (64u << 20));
		CHECK_EQ(vfi_remote(base, vfi_key(rk, page), off, len, &iova, &rkey), 0);
		CHECK(iova == base + (uint64_t)page * VMRDMA_PAGE_SIZE + off && rkey == rk);
	}
	/* Anything at all: accepted only when the range neither wraps nor starts below the base. */
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t base = next(), k = next(), off = next() >> (next() % 64);
		size_t len = (size_t)(next() >> (next() % 64));
		if (vfi_remote(base, k, off, len, &iova, &rkey) == 0) {
			CHECK(base != 0 && iova >= base && iova - base == (k & 0xffffffffu) * VMRDMA_PAGE_SIZE + off);
			CHECK(iova + len >= iova);
			CHECK(rkey == (uint32_t)(k >> 32));
		}
	}
}

int main(void)
{
	const char *fixed = getenv("VFI_TEST_SEED");
	uint64_t seed = fixed ? strtoull(fixed, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	rng_state = seed;
	printf("seed %" PRIu64 " (VFI_TEST_SEED=%" PRIu64 " repeats this run)\n", seed, seed);
	header_is_little_endian();
	address_layout();
	addresses_round_trip();
	services_are_distinct();
	reject_data_fixed();
	reject_data_round_trip();
	keys_name_the_peers_pages();
	if (failures)
		fprintf(stderr, "%d failures (seed %" PRIu64 ")\n", failures, seed);
	return failures != 0;
}
