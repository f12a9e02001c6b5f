/*
 * What the provider puts into and reads out of vmrdma's connection manager and libfabric's names: addresses,
 * service ids, the connection data header, a reject's data and region keys. Pure functions of their arguments
 * (no device, no lock), so that tests/test_fi_codec.c checks them byte for byte and against random input.
 */
#include <arpa/inet.h>
#include <string.h>

#include "vfi.h"

static const uint8_t vfi_prefix[7] = {0xfd, 0x76, 0x6d, 0x72, 0x64, 0x6d, 0x61};

void vfi_addr_make(uint16_t node, uint16_t domid, uint16_t port, struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	memcpy(sa->sin6_addr.s6_addr, vfi_prefix, sizeof(vfi_prefix));
	sa->sin6_addr.s6_addr[8] = (uint8_t)(node >> 8);
	sa->sin6_addr.s6_addr[9] = (uint8_t)node;
	sa->sin6_addr.s6_addr[10] = (uint8_t)(domid >> 8);
	sa->sin6_addr.s6_addr[11] = (uint8_t)domid;
}

int vfi_addr_parse(const void *addr, size_t len, uint16_t *node, uint16_t *domid, uint16_t *port)
{
	struct sockaddr_in6 sa;
	static const uint8_t zero[4];
	if (addr == NULL || len < sizeof(sa))
		return -FI_EINVAL;
	memcpy(&sa, addr, sizeof(sa));
	const uint8_t *b = sa.sin6_addr.s6_addr;
	if (sa.sin6_family != AF_INET6 || memcmp(b, vfi_prefix, sizeof(vfi_prefix)) != 0 || b[7] != 0
	    || memcmp(b + 12, zero, sizeof(zero)) != 0)
		return -FI_EINVAL;
	*node = (uint16_t)(b[8] << 8 | b[9]);
	*domid = (uint16_t)(b[10] << 8 | b[11]);
	*port = ntohs(sa.sin6_port);
	return 0;
}

uint64_t vfi_service(uint16_t domid, uint16_t port)
{
	/* "vfi" in the top bytes keeps these apart from services people choose (perftest's 18515). */
	return 0x7666690000000000ull | (uint64_t)domid << 16 | port;
}

void vfi_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t vfi_get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

size_t vfi_reject_encode(const void *data, size_t len, char reason[VMRDMA_MAX_EVENT_REASON + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t at = strlen(VFI_REJECT_PREFIX);
	memcpy(reason, VFI_REJECT_PREFIX, at);
	if (len > VFI_REJECT_DATA_MAX)
		len = VFI_REJECT_DATA_MAX;
	for (size_t i = 0; i < len; i++) {
		reason[at++] = hex[((const uint8_t *)data)[i] >> 4];
		reason[at++] = hex[((const uint8_t *)data)[i] & 15];
	}
	reason[at] = '\0';
	return len;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t vfi_reject_decode(const char *reason, uint8_t data[VFI_REJECT_DATA_MAX])
{
	size_t plen = strlen(VFI_REJECT_PREFIX), n = strnlen(reason, VMRDMA_MAX_EVENT_REASON + 1);
	/* All of it or nothing: a reason that is not wholly the provider's encoding is the engine's own text. */
	if (n > VMRDMA_MAX_EVENT_REASON || n < plen || strncmp(reason, VFI_REJECT_PREFIX, plen) != 0
	    || (n - plen) % 2 != 0 || (n - plen) / 2 > VFI_REJECT_DATA_MAX)
		return 0;
	size_t bytes = (n - plen) / 2;
	for (size_t i = 0; i < bytes; i++) {
		int hi = unhex(reason[plen + 2 * i]), lo = unhex(reason[plen + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		data[i] = (uint8_t)(hi << 4 | lo);
	}
	return bytes;
}

uint64_t vfi_key(uint32_t rkey, uint32_t page)
{
	return (uint64_t)rkey << 32 | page;
}

int vfi_remote(uint64_t peer_base, uint64_t key, uint64_t offset, size_t len, uint64_t *iova, uint32_t *rkey)
{
	uint64_t page = key & 0xffffffffu;
	uint64_t start = peer_base + page * VMRDMA_PAGE_SIZE;
	if (peer_base == 0 || start < peer_base || offset > UINT64_MAX - start || len > UINT64_MAX - (start + offset))
		return -FI_EINVAL;
	*iova = start + offset;
	*rkey = (uint32_t)(key >> 32);
	return 0;
}
