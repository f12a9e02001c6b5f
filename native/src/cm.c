/*
 * The connection manager of libvmrdma (include/vmrdma.h): listening, connecting, accepting, rejecting and
 * disconnecting as requests on the command ring, and the connection events the event ring delivers. Mirrors the
 * connection manager of io.vmrdma.guest.GuestDevice.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "device.h"

static int service_op(struct vmrdma_context *c, uint8_t op, uint64_t service)
{
	if (c == NULL)
		return vm_fail(-EINVAL, "%s: NULL context", vm_op_name(op));
	int rc;
	uint8_t *e = vm_ring_begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_service(e, op, c->req_prod_pvt, service);
	return vm_ring_call(c);
}

int vmrdma_listen(struct vmrdma_context *c, uint64_t service)
{
	return service_op(c, ABI_OP_LISTEN, service);
}

int vmrdma_stop_listen(struct vmrdma_context *c, uint64_t service)
{
	return service_op(c, ABI_OP_STOP_LISTEN, service);
}

static int cm_op(struct vmrdma_context *c, uint8_t op, uint32_t qpn, uint16_t node, uint64_t id, int32_t pkey,
		 const void *data, size_t len)
{
	if (len > VMRDMA_MAX_PRIVATE_DATA || (len > 0 && data == NULL))
		return vm_fail(-EINVAL, "%s: %zu bytes of private data (at most %d)", vm_op_name(op), len,
			       VMRDMA_MAX_PRIVATE_DATA);
	int rc;
	uint8_t *e = vm_ring_begin(c, &rc);
	if (e == NULL)
		return rc;
	abi_encode_cm(e, op, c->req_prod_pvt, qpn, node, id, pkey, data, len);
	return vm_ring_call(c);
}

int vmrdma_connect(struct vmrdma_qp *qp, uint16_t node, uint64_t service, int pkey, const void *data, size_t len,
		   uint64_t *connection_id)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_connect: NULL qp");
	if (pkey < -1 || pkey > 0xffff)
		return vm_fail(-EINVAL, "vmrdma_connect: pkey %d (-1 or 0..65535)", pkey);
	int rc = cm_op(qp->context, ABI_OP_CONNECT, qp->qp_num, node, service, pkey, data, len);
	if (rc == 0 && connection_id != NULL)
		*connection_id = qp->context->rsp.r64;
	return rc;
}

int vmrdma_accept(struct vmrdma_qp *qp, uint64_t connection_id, const void *data, size_t len)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_accept: NULL qp");
	return cm_op(qp->context, ABI_OP_ACCEPT, qp->qp_num, 0, connection_id, 0, data, len);
}

int vmrdma_reject(struct vmrdma_context *c, uint64_t connection_id, const char *reason)
{
	if (c == NULL)
		return vm_fail(-EINVAL, "vmrdma_reject: NULL context");
	size_t len = reason ? strlen(reason) : 0;
	if (len > VMRDMA_MAX_PRIVATE_DATA)
		len = VMRDMA_MAX_PRIVATE_DATA;
	return cm_op(c, ABI_OP_REJECT, 0, 0, connection_id, 0, reason, len);
}

int vmrdma_disconnect(struct vmrdma_qp *qp)
{
	if (qp == NULL)
		return vm_fail(-EINVAL, "vmrdma_disconnect: NULL qp");
	return vm_ring_simple(qp->context, ABI_OP_DISCONNECT, qp->qp_num);
}

int vmrdma_poll_cm_event(struct vmrdma_context *c, struct vmrdma_cm_event *ev)
{
	if (c == NULL || ev == NULL)
		return vm_fail(-EINVAL, "vmrdma_poll_cm_event: NULL argument");
	int rc;
	if (c->cm_n == 0 && !c->closed && (rc = vm_ring_reap(c)) < 0)
		return rc;
	if (c->cm_n == 0)
		return 0;
	*ev = c->cm[c->cm_head];
	c->cm_head = (c->cm_head + 1) % c->cm_cap;
	c->cm_n--;
	return 1;
}

static int cm_ready(struct vmrdma_context *c, const void *arg)
{
	(void)arg;
	return c->cm_n > 0;
}

int vmrdma_wait_cm_event(struct vmrdma_context *c, struct vmrdma_cm_event *ev, int timeout_ms)
{
	if (c == NULL || ev == NULL)
		return vm_fail(-EINVAL, "vmrdma_wait_cm_event: NULL argument");
	if (c->closed)
		return vm_fail(-ENOTCONN, "device closed");
	int rc = vm_ring_wait(c, cm_ready, NULL, timeout_ms);
	if (rc <= 0)
		return rc;
	return vmrdma_poll_cm_event(c, ev);
}
