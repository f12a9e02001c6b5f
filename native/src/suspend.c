/*
 * What a PV guest's kernel does when the toolstack live-migrates its domain (docs/sim-abi.md §7), done by the library
 * for the simulator back end, where no kernel does it: it watches control/shutdown and, when the toolstack writes
 * "suspend", quiesces every open device of the process, acknowledges with SCHED_SUSPEND and, once resumed on another
 * host, rebinds every device there. Nothing runs behind the application's back: the watch is looked at inside the
 * library's calls (each reap of the rings, each request, at most once a millisecond: a look is a system call, and a
 * polling loop would make one per turn), so a program that calls no verb for longer than the toolstack waits is not
 * moved (docs/native.md). The thread that notices quiesces every device, so it suspends only
 * when it was the last to call each of them: devices driven by other threads at the same time are never touched from
 * here (the toolstack then cancels). Real Xen needs none of it: the domU's kernel suspends the domain.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"

/* The watch is looked at no more often than this. */
#define LOOK_INTERVAL_NS 1000000LL

/* Guards the kernel's state against devices opened, closed and used by several threads. */
static pthread_mutex_t kernel_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	struct xs_handle *xs; /* watches control; NULL while no device of the process's domain is open */
	char control[64];
	char store[300]; /* the domain's XenStore socket: devices of other domains are not this kernel's */
	int domid;
	int suspending;
	struct vmrdma_context *open;
} kernel;

/* When the watch may next be looked at (CLOCK_MONOTONIC_COARSE, ns); read without the lock, so atomically. */
static long long next_look_ns;

static long long coarse_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static const char *store_path(void)
{
	const char *p = getenv("XENSTORED_PATH");
	return p != NULL ? p : "";
}

static int attach(struct vmrdma_context *c)
{
	if (kernel.xs == NULL) {
		kernel.xs = xs_open(XS_OPEN_SOCKETONLY);
		snprintf(kernel.control, sizeof(kernel.control), "/local/domain/%d/control/shutdown", c->domid);
		if (kernel.xs == NULL || !xs_watch(kernel.xs, kernel.control, "control")) {
			int rc = vm_fail(-EIO, "cannot watch %s: %s", kernel.control, strerror(errno));
			if (kernel.xs != NULL)
				xs_close(kernel.xs);
			kernel.xs = NULL;
			return rc;
		}
		snprintf(kernel.store, sizeof(kernel.store), "%s", store_path());
		kernel.domid = c->domid;
	} else if (kernel.domid != c->domid || strcmp(kernel.store, store_path()) != 0) {
		return 0;
	}
	c->next_open = kernel.open;
	kernel.open = c;
	return 0;
}

int vm_kernel_attach(struct vmrdma_context *c)
{
	if (c->hv->ops->suspend == NULL)
		return 0;
	c->caller = pthread_self();
	pthread_mutex_lock(&kernel_lock);
	int rc = attach(c);
	pthread_mutex_unlock(&kernel_lock);
	return rc;
}

void vm_kernel_detach(struct vmrdma_context *c)
{
	pthread_mutex_lock(&kernel_lock);
	for (struct vmrdma_context **p = &kernel.open; *p != NULL; p = &(*p)->next_open) {
		if (*p == c) {
			*p = c->next_open;
			break;
		}
	}
	if (kernel.open == NULL && kernel.xs != NULL) {
		xs_close(kernel.xs);
		kernel.xs = NULL;
	}
	pthread_mutex_unlock(&kernel_lock);
}

/* Whether the toolstack asks for a suspend: a watch fired and control/shutdown says so. */
static int suspend_requested(void)
{
	char **w = xs_check_watch(kernel.xs);
	if (w == NULL)
		return 0;
	free(w);
	while ((w = xs_check_watch(kernel.xs)) != NULL)
		free(w);
	unsigned len = 0;
	char *v = xs_read(kernel.xs, XBT_NULL, kernel.control, &len);
	int asked = v != NULL && len == 7 && memcmp(v, "suspend", 7) == 0;
	free(v);
	return asked;
}

static void lose(struct vmrdma_context *c, const char *dir)
{
	snprintf(c->lost, sizeof(c->lost), "the device did not follow its domain to %.160s: %.300s", dir,
		 vmrdma_last_error());
}

/* Rebinds a device on the host the domain runs on now: shares taken back where they are, then the device made again. */
static void follow(struct vmrdma_context *c, const char *dir)
{
	const struct vm_hv_ops *ops = c->hv->ops;
	int rc = ops->moved(c->hv, dir);
	if (rc == 0 && c->cmd_sh.addr != NULL)
		rc = ops->reclaim(c->hv, c->cmd_sh.addr, c->cmd_sh.count, c->cmd_sh.refs);
	if (rc == 0 && c->evt_sh.addr != NULL)
		rc = ops->reclaim(c->hv, c->evt_sh.addr, c->evt_sh.count, c->evt_sh.refs);
	for (struct vm_buf *b = c->bufs; rc == 0 && b != NULL; b = b->next)
		rc = ops->reclaim(c->hv, b->sh.addr, b->sh.count, b->sh.refs);
	if (rc == 0)
		rc = vm_fe_moved(c, dir);
	if (rc < 0)
		lose(c, dir);
}

/*
 * Suspends the domain for the toolstack: every device's requests answered and its events taken, then SCHED_SUSPEND,
 * which returns at the resume. Where the domain was, everything goes on as it was; on another host, later
 * processes and opens find the domain there, and every device follows it.
 */
static void suspend(void)
{
	kernel.suspending = 1;
	for (struct vmrdma_context *c = kernel.open; c != NULL; c = c->next_open)
		if (vm_ring_quiesce(c) < 0)
			snprintf(c->lost, sizeof(c->lost), "the device could not be quiesced for a suspend: %s",
				 vmrdma_last_error());
	char dir[256];
	struct vmrdma_context *first = kernel.open;
	int rc = first->hv->ops->suspend(first->hv, dir, sizeof(dir));
	if (rc == 0) {
		char store[300];
		snprintf(store, sizeof(store), "%s/xenstore.sock", dir);
		setenv("VMRDMA_SIM_DOMAIN", dir, 1);
		setenv("XENSTORED_PATH", store, 1);
		snprintf(kernel.store, sizeof(kernel.store), "%s", store);
		xs_close(kernel.xs);
		kernel.xs = xs_open(XS_OPEN_SOCKETONLY);
		if (kernel.xs == NULL || !xs_watch(kernel.xs, kernel.control, "control"))
			fprintf(stderr, "libvmrdma: no longer watching %s after the move: %s\n", kernel.control,
				strerror(errno));
		for (struct vmrdma_context *c = kernel.open; c != NULL; c = c->next_open)
			follow(c, dir);
	} else if (rc < 0 && rc != -EINVAL) {
		/* The connection the hypercall went on is lost: so is the device that owns it. */
		snprintf(first->lost, sizeof(first->lost), "the suspend failed: %s", vmrdma_last_error());
	}
	kernel.suspending = 0;
}

/* Whether this thread was the last to call every open device: then no other thread is using one now. */
static int all_mine(void)
{
	for (struct vmrdma_context *c = kernel.open; c != NULL; c = c->next_open)
		if (!pthread_equal(c->caller, pthread_self()))
			return 0;
	return 1;
}

void vm_kernel_look(struct vmrdma_context *c)
{
	c->caller = pthread_self();
	long long now = coarse_now_ns();
	if (now < __atomic_load_n(&next_look_ns, __ATOMIC_RELAXED))
		return;
	if (pthread_mutex_trylock(&kernel_lock) != 0)
		return; /* another thread looks, or opens or closes a device: the next call looks again */
	__atomic_store_n(&next_look_ns, now + LOOK_INTERVAL_NS, __ATOMIC_RELAXED);
	if (kernel.xs != NULL && !kernel.suspending && kernel.open != NULL && suspend_requested()) {
		if (all_mine())
			suspend();
		else
			fprintf(stderr,
				"libvmrdma: not suspending for the toolstack: devices of this process are "
				"driven by more than one thread\n");
	}
	pthread_mutex_unlock(&kernel_lock);
}
