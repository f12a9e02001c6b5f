/*
 * What the guest programs of the tests share (interop_peer.c, guest_check.c): failing loudly with the library's
 * last error, and the byte pattern both ends of a transfer compute to compare every byte.
 * Define PEER_TAG (the prefix of the program's lines, e.g. "check") before including this.
 */
#ifndef VMRDMA_TESTS_PEER_H
#define VMRDMA_TESTS_PEER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmrdma.h"

/*
 * The registered buffer of every test guest (and of the Java side of the interop test): DATA (the peer's target
 * and read source, 64 KiB) | OUT (local sources, 64 KiB) | IN (8 receive slots of 8 KiB): 48 pages, so
 * registration goes through an indirect page.
 */
#define DATA 0
#define OUT 65536
#define IN 131072
#define SLOT 8192
#define SLOTS 8
#define TOTAL (IN + SLOTS * SLOT)

#define DIE(...)                                         \
	do {                                             \
		printf(PEER_TAG ": FAIL: " __VA_ARGS__); \
		printf(" (%s)\n", vmrdma_last_error());  \
		exit(1);                                 \
	} while (0)
#define TRY(call)                                   \
	do {                                        \
		int rc_ = (call);                   \
		if (rc_ < 0)                        \
			DIE("%s = %d", #call, rc_); \
	} while (0)

/* pattern(seed, i) = top byte of (seed + i) * 0x9E3779B97F4A7C15 (64-bit), as the Java PeerProgram computes it. */
static inline uint8_t pattern(int64_t seed, int64_t i)
{
	return (uint8_t)(((uint64_t)seed + (uint64_t)i) * 0x9E3779B97F4A7C15ull >> 56);
}

#endif
