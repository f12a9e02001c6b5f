/* A minimal test harness: CHECK records failures and goes on; main returns non-zero if any. */
#ifndef VMRDMA_CHECK_H
#define VMRDMA_CHECK_H
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                              \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                                        \
	do {                                                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);                                           \
		if (a_ != b_) {                                                                               \
			fprintf(stderr, "%s:%d: %s = %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
			failures++;                                                                           \
		}                                                                                             \
	} while (0)

/* Compares two byte arrays and names the first differing offset. */
static inline void check_bytes(const char *what, const unsigned char *got, const unsigned char *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			fprintf(stderr, "%s: byte %zu is 0x%02x, expected 0x%02x\n", what, i, got[i], want[i]);
			failures++;
			return;
		}
	}
}

/* Writes a little-endian value of size bytes at off: the test's own encoding, independent of abi.h. */
static inline void le(unsigned char *b, size_t off, int size, unsigned long long v)
{
	for (int i = 0; i < size; i++)
		b[off + (size_t)i] = (unsigned char)(v >> (8 * i));
}

#endif
