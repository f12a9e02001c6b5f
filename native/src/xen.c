/*
 * The real Xen domU back end: pages shared through libxengnttab's gntshr (Linux gntalloc), one libxenevtchn
 * handle. Both libraries are loaded at run time (dlopen of the Debian sonames), so the library links and runs in
 * the simulator on hosts without them, and fails with a clear message where Xen is missing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "internal.h"

/* Function pointers typed from the real prototypes, so the compiler checks every call against Xen's headers. */
struct xen_fns {
	__typeof__(&xengntshr_open) gntshr_open;
	__typeof__(&xengntshr_close) gntshr_close;
	__typeof__(&xengntshr_share_pages) share_pages;
	__typeof__(&xengntshr_unshare) unshare;
	__typeof__(&xenevtchn_open) evtchn_open;
	__typeof__(&xenevtchn_close) evtchn_close;
	__typeof__(&xenevtchn_fd) evtchn_fd;
	__typeof__(&xenevtchn_bind_unbound_port) bind_unbound;
	__typeof__(&xenevtchn_unbind) unbind;
	__typeof__(&xenevtchn_notify) notify;
	__typeof__(&xenevtchn_unmask) unmask;
	__typeof__(&xenevtchn_pending) pending;
};

struct xen {
	struct vm_hv hv;
	void *libgnttab, *libevtchn;
	struct xen_fns f;
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
};

static void xen_close(struct vm_hv *hv)
{
	struct xen *x = (struct xen *)hv;
	if (x->xce != NULL)
		x->f.evtchn_close(x->xce);
	if (x->gs != NULL)
		x->f.gntshr_close(x->gs);
	if (x->libevtchn != NULL)
		dlclose(x->libevtchn);
	if (x->libgnttab != NULL)
		dlclose(x->libgnttab);
	free(x);
}

static int xen_share(struct vm_hv *hv, uint32_t domid, uint32_t count, int writable, void **addr, uint32_t *refs)
{
	struct xen *x = (struct xen *)hv;
	if (count == 0)
		return vm_fail(-EINVAL, "share: 0 pages");
	void *p = x->f.share_pages(x->gs, domid, (int)count, refs, writable);
	if (p == NULL)
		return vm_fail(errno ? -errno : -ENOMEM, "xengntshr_share_pages(%u pages): %s", count,
			       strerror(errno ? errno : ENOMEM));
	/* gntalloc hands out zeroed pages already. */
	*addr = p;
	return 0;
}

static void xen_unshare(struct vm_hv *hv, void *addr, uint32_t count, const uint32_t *refs)
{
	(void)refs; /* gntalloc revokes the grants itself, deferred while dom0 still maps them */
	struct xen *x = (struct xen *)hv;
	x->f.unshare(x->gs, addr, count);
}

static int xen_bind_unbound(struct vm_hv *hv, uint32_t remote)
{
	struct xen *x = (struct xen *)hv;
	xenevtchn_port_or_error_t p = x->f.bind_unbound(x->xce, remote);
	return p < 0 ? vm_fail(-errno, "xenevtchn_bind_unbound_port(%u): %s", remote, strerror(errno)) : (int)p;
}

static int xen_unbind(struct vm_hv *hv, uint32_t port)
{
	struct xen *x = (struct xen *)hv;
	return x->f.unbind(x->xce, port) < 0 ? vm_fail(-errno, "xenevtchn_unbind: %s", strerror(errno)) : 0;
}

static int xen_notify(struct vm_hv *hv, uint32_t port)
{
	struct xen *x = (struct xen *)hv;
	return x->f.notify(x->xce, port) < 0 ? vm_fail(-errno, "xenevtchn_notify: %s", strerror(errno)) : 0;
}

static int xen_unmask(struct vm_hv *hv, uint32_t port)
{
	struct xen *x = (struct xen *)hv;
	return x->f.unmask(x->xce, port) < 0 ? vm_fail(-errno, "xenevtchn_unmask: %s", strerror(errno)) : 0;
}

static int xen_wait(struct vm_hv *hv, int timeout_ms)
{
	struct xen *x = (struct xen *)hv;
	struct pollfd pfd = {.fd = x->f.evtchn_fd(x->xce), .events = POLLIN};
	int n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : vm_fail(-errno, "poll on the event channel: %s", strerror(errno));
	if (n == 0)
		return 0;
	xenevtchn_port_or_error_t p = x->f.pending(x->xce);
	return p < 0 ? vm_fail(-errno, "xenevtchn_pending: %s", strerror(errno)) : (int)p;
}

static const struct vm_hv_ops xen_ops = {
	.name = "xen",
	.share = xen_share,
	.unshare = xen_unshare,
	.bind_unbound = xen_bind_unbound,
	.unbind = xen_unbind,
	.notify = xen_notify,
	.unmask = xen_unmask,
	.wait = xen_wait,
	.close = xen_close,
};

static int load(void *lib, const char *soname, const char *name, void **out)
{
	dlerror();
	*out = dlsym(lib, name);
	if (*out == NULL)
		return vm_fail(-ENOSYS, "%s has no %s: %s", soname, name, dlerror());
	return 0;
}

#define LOAD(lib, soname, field, sym)                        \
	do {                                                 \
		void *p_;                                    \
		if ((rc = load(lib, soname, #sym, &p_)) < 0) \
			goto fail;                           \
		memcpy(&x->f.field, &p_, sizeof(p_));        \
	} while (0)

int vm_xen_open(struct vm_hv **out)
{
	static const char gnttab_so[] = "libxengnttab.so.1", evtchn_so[] = "libxenevtchn.so.1";
	struct xen *x = calloc(1, sizeof(*x));
	int rc;
	if (x == NULL)
		return vm_fail(-ENOMEM, "out of memory");
	x->hv.ops = &xen_ops;
	x->hv.domid = -1;
	x->libgnttab = dlopen(gnttab_so, RTLD_NOW | RTLD_LOCAL);
	if (x->libgnttab == NULL) {
		rc = vm_fail(-ENOENT, "cannot load %s (install libxengnttab1): %s", gnttab_so, dlerror());
		goto fail;
	}
	x->libevtchn = dlopen(evtchn_so, RTLD_NOW | RTLD_LOCAL);
	if (x->libevtchn == NULL) {
		rc = vm_fail(-ENOENT, "cannot load %s (install libxenevtchn1): %s", evtchn_so, dlerror());
		goto fail;
	}
	LOAD(x->libgnttab, gnttab_so, gntshr_open, xengntshr_open);
	LOAD(x->libgnttab, gnttab_so, gntshr_close, xengntshr_close);
	LOAD(x->libgnttab, gnttab_so, share_pages, xengntshr_share_pages);
	LOAD(x->libgnttab, gnttab_so, unshare, xengntshr_unshare);
	LOAD(x->libevtchn, evtchn_so, evtchn_open, xenevtchn_open);
	LOAD(x->libevtchn, evtchn_so, evtchn_close, xenevtchn_close);
	LOAD(x->libevtchn, evtchn_so, evtchn_fd, xenevtchn_fd);
	LOAD(x->libevtchn, evtchn_so, bind_unbound, xenevtchn_bind_unbound_port);
	LOAD(x->libevtchn, evtchn_so, unbind, xenevtchn_unbind);
	LOAD(x->libevtchn, evtchn_so, notify, xenevtchn_notify);
	LOAD(x->libevtchn, evtchn_so, unmask, xenevtchn_unmask);
	LOAD(x->libevtchn, evtchn_so, pending, xenevtchn_pending);
	if (access("/dev/xen", F_OK) != 0) {
		rc = vm_fail(-ENOENT,
			     "not a Xen guest: /dev/xen is missing (load xen_gntalloc and xen_evtchn, or set "
			     "VMRDMA_SIM_DOMAIN for the simulator)");
		goto fail;
	}
	x->xce = x->f.evtchn_open(NULL, 0);
	if (x->xce == NULL) {
		rc = vm_fail(errno ? -errno : -ENODEV, "xenevtchn_open: %s (is xen_evtchn loaded?)", strerror(errno));
		goto fail;
	}
	x->gs = x->f.gntshr_open(NULL, 0);
	if (x->gs == NULL) {
		rc = vm_fail(errno ? -errno : -ENODEV, "xengntshr_open: %s (is xen_gntalloc loaded?)", strerror(errno));
		goto fail;
	}
	*out = &x->hv;
	return 0;
fail:
	xen_close(&x->hv);
	return rc;
}
