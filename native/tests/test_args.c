/*
 * Argument validation and the error paths of opening a device: every entry point refuses NULL and out-of-range
 * arguments with -EINVAL and a message, never crashes; opening without a domain fails clearly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "vmrdma.h"

static void expect_msg(const char *needle)
{
	if (strstr(vmrdma_last_error(), needle) == NULL) {
		fprintf(stderr, "last error \"%s\" lacks \"%s\"\n", vmrdma_last_error(), needle);
		failures++;
	}
}

int main(void)
{
	CHECK(strcmp(vmrdma_last_error(), "") == 0);
	/* A message that wraps the previous one (its argument is the error buffer itself) keeps both whole. */
	vm_fail(-ENOSPC, "xenevtchn_bind_unbound_port(0): %s", "No space left on device");
	CHECK_EQ(vm_fail(-ENOSPC, "cannot allocate %d bytes: %s", 8388608, vmrdma_last_error()), -ENOSPC);
	CHECK(strcmp(vmrdma_last_error(),
		     "cannot allocate 8388608 bytes: xenevtchn_bind_unbound_port(0): No space left on device")
	      == 0);
	struct vmrdma_context *ctx = (struct vmrdma_context *)1;
	struct vmrdma_open_attr a;
	vmrdma_open_attr_init(&a);
	CHECK_EQ(a.ring_page_order, 2);
	CHECK_EQ(a.timeout_ms, 30000);
	CHECK_EQ(a.backend, VMRDMA_BACKEND_AUTO);
	vmrdma_open_attr_init(NULL);

	CHECK_EQ(vmrdma_open(&a, NULL), -EINVAL);
	a.ring_page_order = 5;
	CHECK_EQ(vmrdma_open(&a, &ctx), -EINVAL);
	CHECK(ctx == NULL);
	expect_msg("ring_page_order");
	vmrdma_open_attr_init(&a);
	a.timeout_ms = 0;
	CHECK_EQ(vmrdma_open(&a, &ctx), -EINVAL);
	vmrdma_open_attr_init(&a);
	a.backend = (enum vmrdma_backend)9;
	CHECK_EQ(vmrdma_open(&a, &ctx), -EINVAL);

	/* The simulator without a domain directory. */
	unsetenv("VMRDMA_SIM_DOMAIN");
	vmrdma_open_attr_init(&a);
	a.backend = VMRDMA_BACKEND_SIM;
	CHECK_EQ(vmrdma_open(&a, &ctx), -ENOENT);
	expect_msg("VMRDMA_SIM_DOMAIN");
	a.sim_domain = "/nonexistent/vmrdma-domain";
	CHECK_EQ(vmrdma_open(&a, &ctx), -ENOENT);
	expect_msg("/nonexistent/vmrdma-domain/info");

	/*
	 * The real-Xen back end: libxengnttab.so.1 and libxenevtchn.so.1 load (the test's package list installs them),
	 * then a machine without /dev/xen gets a clear ENOENT. On a Xen guest this would go on to the handshake.
	 */
	if (access("/dev/xen", F_OK) != 0) {
		vmrdma_open_attr_init(&a);
		CHECK_EQ(vmrdma_open(&a, &ctx), -ENOENT); /* AUTO without VMRDMA_SIM_DOMAIN: Xen */
		expect_msg("/dev/xen is missing");
		a.backend = VMRDMA_BACKEND_XEN;
		CHECK_EQ(vmrdma_open(&a, &ctx), -ENOENT);
		expect_msg("not a Xen guest");
		CHECK(ctx == NULL);
	} else {
		fprintf(stderr, "note: /dev/xen exists; the no-Xen error path was not exercised\n");
	}

	/* NULL everywhere. */
	CHECK_EQ(vmrdma_close(NULL), -EINVAL);
	CHECK_EQ(vmrdma_reattach(NULL), -EINVAL);
	CHECK_EQ(vmrdma_connected(NULL), 0);
	CHECK_EQ(vmrdma_node_id(NULL), -EINVAL);
	CHECK_EQ(vmrdma_domid(NULL), -EINVAL);
	struct vmrdma_buf *buf = NULL;
	struct vmrdma_pd *pd = NULL;
	struct vmrdma_cq *cq = NULL;
	struct vmrdma_qp *qp = NULL;
	struct vmrdma_mr *mr = NULL;
	CHECK_EQ(vmrdma_alloc_buf(NULL, 4096, &buf), -EINVAL);
	CHECK_EQ(vmrdma_free_buf(NULL), -EINVAL);
	CHECK_EQ(vmrdma_reg_mr(NULL, NULL, 0, &mr), -EINVAL);
	CHECK_EQ(vmrdma_dereg_mr(NULL), -EINVAL);
	CHECK_EQ(vmrdma_alloc_pd(NULL, &pd), -EINVAL);
	CHECK_EQ(vmrdma_dealloc_pd(NULL), -EINVAL);
	CHECK_EQ(vmrdma_create_cq(NULL, 16, &cq), -EINVAL);
	CHECK_EQ(vmrdma_destroy_cq(NULL), -EINVAL);
	struct vmrdma_qp_init_attr qa = {0};
	CHECK_EQ(vmrdma_create_qp(NULL, &qa, &qp), -EINVAL);
	CHECK_EQ(vmrdma_modify_qp(NULL, NULL), -EINVAL);
	CHECK_EQ(vmrdma_destroy_qp(NULL), -EINVAL);
	struct vmrdma_send_wr swr = {0};
	struct vmrdma_recv_wr rwr = {0};
	struct vmrdma_wc wc;
	CHECK_EQ(vmrdma_post_send(NULL, &swr), -EINVAL);
	CHECK_EQ(vmrdma_post_recv(NULL, &rwr), -EINVAL);
	CHECK_EQ(vmrdma_poll_cq(NULL, 1, &wc), -EINVAL);
	CHECK_EQ(vmrdma_wait_cq(NULL, &wc, 0), -EINVAL);
	CHECK_EQ(vmrdma_listen(NULL, 1), -EINVAL);
	CHECK_EQ(vmrdma_stop_listen(NULL, 1), -EINVAL);
	CHECK_EQ(vmrdma_connect(NULL, 0, 1, -1, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(vmrdma_accept(NULL, 1, NULL, 0), -EINVAL);
	CHECK_EQ(vmrdma_reject(NULL, 1, "no"), -EINVAL);
	CHECK_EQ(vmrdma_disconnect(NULL), -EINVAL);
	struct vmrdma_cm_event ev;
	CHECK_EQ(vmrdma_poll_cm_event(NULL, &ev), -EINVAL);
	CHECK_EQ(vmrdma_wait_cm_event(NULL, &ev, 0), -EINVAL);
	expect_msg("vmrdma_wait_cm_event");

	struct vmrdma_qp_attr qattr;
	vmrdma_qp_attr_init(&qattr);
	CHECK_EQ(qattr.state, -1);
	CHECK_EQ(qattr.pkey, -1);
	CHECK_EQ(qattr.retry_cnt, -1);
	CHECK_EQ(qattr.rnr_retry, -1);
	CHECK_EQ(qattr.remote_valid, 0);

	CHECK(strcmp(vmrdma_cm_event_str(VMRDMA_CM_ESTABLISHED), "ESTABLISHED") == 0);
	CHECK(strcmp(vmrdma_cm_event_str(VMRDMA_CM_DISCONNECTED), "DISCONNECTED") == 0);
	CHECK(strcmp(vmrdma_cm_event_str((enum vmrdma_cm_event_type)9), "unknown") == 0);

	/* Buffer addresses start at a random page in [2^32, 2^46): two contexts do not share a start. */
	uint64_t one = vm_random_iova_base(), two = vm_random_iova_base();
	CHECK(one != two);
	CHECK(one >= (1ull << 32) && one < (1ull << 46) && one % VMRDMA_PAGE_SIZE == 0);
	CHECK(two >= (1ull << 32) && two < (1ull << 46) && two % VMRDMA_PAGE_SIZE == 0);
	return failures ? 1 : 0;
}
