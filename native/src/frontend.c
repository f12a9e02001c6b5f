/*
 * The xenbus side of a vmrdma device (docs/guest-abi.md): XenStore access, the wait for dom0's offer of
 * device/vmrdma, the handshake that publishes the rings and the event channel, the backend's state and the close
 * through Closing and Closed. Mirrors io.vmrdma.guest.XenbusFrontend.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"

/*
 * Opens this domain's XenStore (the simulated domain's own socket when simdir is not NULL), learns the domain's id
 * where the hypervisor back end does not know it, and names the device's frontend and backend directories.
 */
static void set_paths(struct vmrdma_context *c, int devid)
{
	c->attr.devid = devid;
	snprintf(c->fe, sizeof(c->fe), "/local/domain/%d/device/vmrdma/%d", c->domid, devid);
	snprintf(c->be, sizeof(c->be), "/local/domain/0/backend/vmrdma/%d/%d", c->domid, devid);
}

int vm_fe_open(struct vmrdma_context *c, const char *simdir)
{
	unsigned long xs_flags = 0;
	if (simdir != NULL) {
		/* Debian's libxenstore connects to $XENSTORED_PATH: the domain's own socket, as this domain. */
		char sock[300];
		snprintf(sock, sizeof(sock), "%s/xenstore.sock", simdir);
		const char *cur = getenv("XENSTORED_PATH");
		if (cur == NULL || strcmp(cur, sock) != 0)
			setenv("XENSTORED_PATH", sock, 1);
		xs_flags = XS_OPEN_SOCKETONLY;
	}
	c->xs = xs_open(xs_flags);
	if (c->xs == NULL)
		return vm_fail(-EIO, "cannot open XenStore (%s): %s",
			       simdir != NULL ? getenv("XENSTORED_PATH") : "/dev/xen/xenbus", strerror(errno));
	c->domid = c->hv->domid;
	if (c->domid < 0) {
		long d;
		char *v = xs_read(c->xs, XBT_NULL, "domid", NULL);
		int prc = vm_parse_long(v, 1, 0x7fef, &d);
		free(v);
		if (prc < 0)
			return vm_fail(-EIO, "cannot read this domain's id from XenStore (domid)");
		c->domid = (int)d;
	}
	if (c->attr.devid != VMRDMA_DEVID_ANY)
		set_paths(c, c->attr.devid);
	return 0;
}

static char *xs_get(struct vmrdma_context *c, const char *dir, const char *key)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	unsigned int len = 0;
	char *v = xs_read(c->xs, XBT_NULL, path, &len);
	if (v != NULL && strlen(v) != len) { /* an embedded NUL: not a value we wrote or expect */
		free(v);
		return NULL;
	}
	return v;
}

static int xs_get_long(struct vmrdma_context *c, const char *dir, const char *key, long min, long max, long *out)
{
	char *v = xs_get(c, dir, key);
	int rc = vm_parse_long(v, min, max, out);
	if (rc < 0)
		vm_fail(-EIO, "XenStore %s/%s: %s%s%s", dir, key, v ? "bad value \"" : "missing", v ? v : "",
			v ? "\"" : "");
	free(v);
	return rc < 0 ? -EIO : 0;
}

int vm_fe_backend_state(struct vmrdma_context *c)
{
	long s;
	char *v = xs_get(c, c->be, "state");
	int rc = vm_parse_long(v, 0, 6, &s);
	free(v);
	return rc < 0 ? XB_UNKNOWN : (int)s;
}

static void backend_error(struct vmrdma_context *c, char *out, size_t cap)
{
	char *v = xs_get(c, c->be, "error");
	snprintf(out, cap, "%s", v ? v : "no reason given");
	for (char *p = out; *p; p++) /* for people: no control characters from an untrusted store */
		if ((unsigned char)*p < 0x20)
			*p = '?';
	free(v);
}

static int fe_write(struct vmrdma_context *c, xs_transaction_t t, const char *key, const char *value)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", c->fe, key);
	if (!xs_write(c->xs, t, path, value, (unsigned)strlen(value)))
		return vm_fail(-EIO, "XenStore write %s: %s", path, strerror(errno));
	return 0;
}

static void drain_watches(struct vmrdma_context *c)
{
	char **w;
	while ((w = xs_check_watch(c->xs)) != NULL)
		free(w);
}

/* Waits up to ms for a watch to fire. */
static void watch_wait(struct vmrdma_context *c, int ms)
{
	int fd = xs_fileno(c->xs);
	if (fd >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, ms);
	}
	drain_watches(c);
}

static int await_backend(struct vmrdma_context *c, int wanted)
{
	int64_t deadline = vm_now_ms() + c->attr.timeout_ms;
	for (;;) {
		int s = vm_fe_backend_state(c);
		if (s == wanted)
			return 0;
		if (wanted == XB_CONNECTED && (s == XB_CLOSING || s == XB_CLOSED)) {
			char why[256];
			backend_error(c, why, sizeof(why));
			return vm_fail(-ENOTCONN, "backend closed the device: %s", why);
		}
		int64_t left = deadline - vm_now_ms();
		if (left <= 0)
			return vm_fail(-ETIMEDOUT,
				       "backend %s did not reach state %d (it is %d): is dom0's vmrdma running?", c->be,
				       wanted, s);
		watch_wait(c, left < 200 ? (int)left : 200);
	}
}

int vm_fe_check_backend(struct vmrdma_context *c)
{
	int s = vm_fe_backend_state(c);
	if (s != XB_CONNECTED) {
		char why[256];
		backend_error(c, why, sizeof(why));
		return vm_fail(-ENOTCONN, "backend is in state %d: %s", s, why);
	}
	return 0;
}

/*
 * Waits until dom0's backend has offered this domain its device/vmrdma directory: guests may create devices only
 * there, because the toolstack makes device/ read-only for them.
 */
static int await_offer(struct vmrdma_context *c)
{
	char dir[160];
	snprintf(dir, sizeof(dir), "/local/domain/%d/device/vmrdma", c->domid);
	if (!xs_watch(c->xs, dir, "offer"))
		return vm_fail(-EIO, "XenStore watch %s: %s", dir, strerror(errno));
	int64_t deadline = vm_now_ms() + c->attr.timeout_ms;
	int rc = 0;
	for (;;) {
		unsigned len;
		char *v = xs_read(c->xs, XBT_NULL, dir, &len);
		if (v != NULL) {
			free(v);
			break;
		}
		if (errno != ENOENT) {
			rc = vm_fail(-EIO, "XenStore read %s: %s", dir, strerror(errno));
			break;
		}
		int64_t left = deadline - vm_now_ms();
		if (left <= 0) {
			rc = vm_fail(-ENODEV,
				     "dom0 offers this domain no vmrdma device (%s does not exist): is dom0's "
				     "vmrdma running and serving domain %d?",
				     dir, c->domid);
			break;
		}
		watch_wait(c, left < 200 ? (int)left : 200);
	}
	xs_unwatch(c->xs, dir, "offer");
	return rc;
}

/*
 * Takes the lowest device number no other process of this VM uses: its directory made in state Initialising, in one
 * transaction that fails (and is retried) if another process made it meanwhile.
 */
static int claim_device(struct vmrdma_context *c)
{
	for (int devid = 0; devid <= VMRDMA_MAX_DEVID; devid++) {
		char path[160];
		snprintf(path, sizeof(path), "/local/domain/%d/device/vmrdma/%d", c->domid, devid);
		for (;;) {
			xs_transaction_t t = xs_transaction_start(c->xs);
			if (t == XBT_NULL)
				return vm_fail(-EIO, "XenStore transaction: %s", strerror(errno));
			unsigned int len;
			char *taken = xs_read(c->xs, t, path, &len);
			if (taken != NULL) {
				free(taken);
				xs_transaction_end(c->xs, t, true);
				break;
			}
			char key[176];
			snprintf(key, sizeof(key), "%s/state", path);
			if (!xs_write(c->xs, t, key, "1", 1)) {
				xs_transaction_end(c->xs, t, true);
				return vm_fail(-EIO, "XenStore write %s: %s", key, strerror(errno));
			}
			if (xs_transaction_end(c->xs, t, false)) {
				set_paths(c, devid);
				return 0;
			}
			if (errno != EAGAIN)
				return vm_fail(-EIO, "XenStore transaction on %s: %s", path, strerror(errno));
		}
	}
	return vm_fail(-ENODEV, "every vmrdma device number of domain %d is taken", c->domid);
}

int vm_fe_handshake(struct vmrdma_context *c, int jump)
{
	char v[32];
	int rc;
	if (!c->watching) {
		xs_fileno(c->xs);
		if ((rc = await_offer(c)) < 0 || (c->attr.devid == VMRDMA_DEVID_ANY && (rc = claim_device(c)) < 0))
			return rc;
		char path[160];
		snprintf(path, sizeof(path), "%s/state", c->be);
		if (!xs_watch(c->xs, path, "backend"))
			return vm_fail(-EIO, "XenStore watch %s: %s", path, strerror(errno));
		c->watching = 1;
	}
	int order = c->attr.ring_page_order;
	if (!jump) {
		if ((rc = fe_write(c, XBT_NULL, "state", "1")) < 0 || (rc = await_backend(c, XB_INITWAIT)) < 0)
			return rc;
		long max, version;
		if ((rc = xs_get_long(c, c->be, "max-ring-page-order", 0, 31, &max)) < 0)
			return rc;
		if (max < order)
			order = (int)max;
		if (xs_get_long(c, c->be, "protocol-version", 0, 1000000, &version) < 0
		    || version != VMRDMA_PROTOCOL_VERSION)
			return vm_fail(-EIO, "backend speaks another protocol version, this library %d",
				       VMRDMA_PROTOCOL_VERSION);
	}
	uint32_t pages = 1u << order;
	if ((rc = vm_ring_setup(c, pages)) < 0)
		return rc;
	int port = c->port;
	const char *next = jump ? "4" : "3";
	for (int attempt = 0;; attempt++) {
		xs_transaction_t t = xs_transaction_start(c->xs);
		if (t == XBT_NULL)
			return vm_fail(-EIO, "XenStore transaction: %s", strerror(errno));
		char key[32];
		snprintf(v, sizeof(v), "%d", VMRDMA_PROTOCOL_VERSION);
		rc = fe_write(c, t, "protocol-version", v);
		if (rc == 0)
			rc = fe_write(c, t, "features", ABI_FEATURES);
		snprintf(v, sizeof(v), "%d", order);
		if (rc == 0)
			rc = fe_write(c, t, "ring-page-order", v);
		for (uint32_t i = 0; rc == 0 && i < pages; i++) {
			snprintf(key, sizeof(key), "ring-ref%u", i);
			snprintf(v, sizeof(v), "%u", c->cmd_sh.refs[i]);
			rc = fe_write(c, t, key, v);
			snprintf(key, sizeof(key), "event-ring-ref%u", i);
			snprintf(v, sizeof(v), "%u", c->evt_sh.refs[i]);
			if (rc == 0)
				rc = fe_write(c, t, key, v);
		}
		snprintf(v, sizeof(v), "%d", port);
		if (rc == 0)
			rc = fe_write(c, t, "event-channel", v);
		snprintf(v, sizeof(v), "%ld", (long)getpid());
		if (rc == 0)
			rc = fe_write(c, t, "process", v);
		if (rc == 0)
			rc = fe_write(c, t, "state", next);
		if (rc < 0) {
			xs_transaction_end(c->xs, t, true);
			return rc;
		}
		if (xs_transaction_end(c->xs, t, false))
			break;
		if (errno != EAGAIN || attempt > 100)
			return vm_fail(-EIO, "XenStore transaction end: %s", strerror(errno));
	}
	if ((rc = await_backend(c, XB_CONNECTED)) < 0)
		return rc;
	long node;
	if ((rc = xs_get_long(c, c->be, "node-id", 0, 65535, &node)) < 0)
		return rc;
	c->node = (int)node;
	if (!jump && (rc = fe_write(c, XBT_NULL, "state", "4")) < 0)
		return rc;
	return 0;
}

static void await_closed(struct vmrdma_context *c, int wanted)
{
	int64_t deadline = vm_now_ms() + 5000;
	while (vm_now_ms() < deadline) {
		int s = vm_fe_backend_state(c);
		if (s >= wanted || s == XB_UNKNOWN)
			return;
		watch_wait(c, 100);
	}
}

/* Goes through Closing and Closed, waiting for the backend to follow each, and removes the frontend directory. */
void vm_fe_close(struct vmrdma_context *c)
{
	if (c->fe[0] == '\0')
		return; /* no device number was ever claimed */
	if (fe_write(c, XBT_NULL, "state", "5") == 0) {
		await_closed(c, XB_CLOSING);
		if (fe_write(c, XBT_NULL, "state", "6") == 0)
			await_closed(c, XB_CLOSED);
		xs_rm(c->xs, XBT_NULL, c->fe);
	}
}

/*
 * Follows the domain to another host (docs/guest-abi.md §1.5), once the hypervisor back end has rebound there and
 * every share is taken back: takes the events the old backend wrote into the copied event ring (without returning
 * credit or notifying: that backend is gone), reconnects to that host's XenStore and makes the device again under
 * its number with new rings and a new event channel; the old ring pages go after that.
 */
int vm_fe_moved(struct vmrdma_context *c, const char *dir)
{
	int rc = vm_ring_take_events(c);
	if (rc < 0)
		return rc;
	c->port = -1; /* the old host's channel is gone with it */
	xs_close(c->xs);
	c->xs = NULL;
	c->watching = 0;
	if ((rc = vm_fe_open(c, dir)) < 0)
		return rc;
	struct share old_cmd = c->cmd_sh, old_evt = c->evt_sh;
	memset(&c->cmd_sh, 0, sizeof(c->cmd_sh));
	memset(&c->evt_sh, 0, sizeof(c->evt_sh));
	rc = vm_fe_handshake(c, 0);
	vm_unshare_pages(c, &old_cmd);
	vm_unshare_pages(c, &old_evt);
	return rc;
}
