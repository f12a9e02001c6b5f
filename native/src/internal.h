/* Internal interfaces of libvmrdma: the hypervisor back ends behind one table, errors, the context. */
#ifndef VMRDMA_INTERNAL_H
#define VMRDMA_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "vmrdma.h"

#define INTERNAL __attribute__((visibility("hidden")))

/* Records a failure's words for vmrdma_last_error(); returns err (a negative errno) for tail calls. */
INTERNAL int vm_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
INTERNAL int64_t vm_now_ms(void);
/*
 * Where a context's buffer addresses start: a random page in [2^32, 2^46), so a peer that wants into a region must
 * guess its address as well as its rkey. 2^32 when the kernel gives no random bytes.
 */
INTERNAL uint64_t vm_random_iova_base(void);
/* Strict decimal parse of a whole string into [min, max]; -EINVAL otherwise. */
INTERNAL int vm_parse_long(const char *s, long min, long max, long *out);

/*
 * One guest's access to its hypervisor: sharing pages with a domain (gntalloc), one event-channel handle.
 * All functions return 0 / a port / a count, or a negative errno (with vm_fail called).
 */
struct vm_hv;
struct vm_hv_ops {
	const char *name;
	/* Shares count zeroed, adjacent-in-our-view pages with domid; *addr their mapping, refs[count] the refs. */
	int (*share)(struct vm_hv *hv, uint32_t domid, uint32_t count, int writable, void **addr, uint32_t *refs);
	/* Stops sharing; pages still mapped by the peer are revoked later, never reused while mapped. */
	void (*unshare)(struct vm_hv *hv, void *addr, uint32_t count, const uint32_t *refs);
	int (*bind_unbound)(struct vm_hv *hv, uint32_t remote_domid);
	int (*unbind)(struct vm_hv *hv, uint32_t port);
	int (*notify)(struct vm_hv *hv, uint32_t port);
	int (*unmask)(struct vm_hv *hv, uint32_t port);
	/* Waits up to timeout_ms (-1 forever, 0 poll) for a port to fire: the port, 0 on timeout, or -errno. */
	int (*wait)(struct vm_hv *hv, int timeout_ms);
	void (*close)(struct vm_hv *hv);
	/*
	 * Live migration, where the library acts for the guest's kernel (NULL where the kernel does it itself, as on
	 * Xen): suspend acknowledges the toolstack's request and returns at the resume, 1 where the domain was, 0 on
	 * another host whose domain directory it wrote into dir; moved rebinds to that host (memory in place, ports
	 * forgotten); reclaim takes back a share the domain brought along, at the same address with the same refs.
	 */
	int (*suspend)(struct vm_hv *hv, char *dir, size_t cap);
	int (*moved)(struct vm_hv *hv, const char *dir);
	int (*reclaim)(struct vm_hv *hv, void *addr, uint32_t count, const uint32_t *refs);
};
struct vm_hv {
	const struct vm_hv_ops *ops;
	int domid; /* -1 when the back end does not know it (read from XenStore then) */
};

/* The simulator (docs/sim-abi.md); dir NULL: $VMRDMA_SIM_DOMAIN. */
INTERNAL int vm_sim_open(const char *dir, struct vm_hv **out);
/* A real Xen domU through libxengnttab / libxenevtchn, loaded at run time. */
INTERNAL int vm_xen_open(struct vm_hv **out);

#endif
