/*
 * Tagged messages and atomics answer -FI_ENOSYS: the provider does not claim FI_TAGGED or FI_ATOMIC (ofi_rxm adds
 * tags on top of messages), but an endpoint's tables must hold callable functions.
 */
#include "vfi.h"

/* The signatures are libfabric's; none of these functions looks at its arguments. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#define NOSYS(...)                 \
	{                          \
		return -FI_ENOSYS; \
	}

static ssize_t t_recv(struct fid_ep *ep, void *buf, size_t len, void *desc, fi_addr_t src, uint64_t tag,
		      uint64_t ignore, void *context) NOSYS() static ssize_t
	t_recvv(struct fid_ep *ep, const struct iovec *iov, void **desc, size_t count, fi_addr_t src, uint64_t tag,
		uint64_t ignore, void *context) NOSYS() static ssize_t
	t_recvmsg(struct fid_ep *ep, const struct fi_msg_tagged *msg, uint64_t flags) NOSYS() static ssize_t
	t_send(struct fid_ep *ep, const void *buf, size_t len, void *desc, fi_addr_t dest, uint64_t tag, void *context)
		NOSYS() static ssize_t t_sendv(struct fid_ep *ep, const struct iovec *iov, void **desc, size_t count,
					       fi_addr_t dest, uint64_t tag, void *context) NOSYS() static ssize_t
	t_sendmsg(struct fid_ep *ep, const struct fi_msg_tagged *msg, uint64_t flags) NOSYS() static ssize_t
	t_inject(struct fid_ep *ep, const void *buf, size_t len, fi_addr_t dest, uint64_t tag) NOSYS() static ssize_t
	t_senddata(struct fid_ep *ep, const void *buf, size_t len, void *desc, uint64_t data, fi_addr_t dest,
		   uint64_t tag, void *context) NOSYS() static ssize_t
	t_injectdata(struct fid_ep *ep, const void *buf, size_t len, uint64_t data, fi_addr_t dest, uint64_t tag)
		NOSYS()

			struct fi_ops_tagged vfi_tagged_ops = {
				.size = sizeof(struct fi_ops_tagged),
				.recv = t_recv,
				.recvv = t_recvv,
				.recvmsg = t_recvmsg,
				.send = t_send,
				.sendv = t_sendv,
				.sendmsg = t_sendmsg,
				.inject = t_inject,
				.senddata = t_senddata,
				.injectdata = t_injectdata,
};

static ssize_t a_write(struct fid_ep *ep, const void *buf, size_t count, void *desc, fi_addr_t dest, uint64_t addr,
		       uint64_t key, enum fi_datatype datatype, enum fi_op op, void *context) NOSYS() static ssize_t
	a_writev(struct fid_ep *ep, const struct fi_ioc *iov, void **desc, size_t count, fi_addr_t dest, uint64_t addr,
		 uint64_t key, enum fi_datatype datatype, enum fi_op op, void *context) NOSYS() static ssize_t
	a_writemsg(struct fid_ep *ep, const struct fi_msg_atomic *msg, uint64_t flags) NOSYS() static ssize_t
	a_inject(struct fid_ep *ep, const void *buf, size_t count, fi_addr_t dest, uint64_t addr, uint64_t key,
		 enum fi_datatype datatype, enum fi_op op) NOSYS() static ssize_t
	a_readwrite(struct fid_ep *ep, const void *buf, size_t count, void *desc, void *result, void *result_desc,
		    fi_addr_t dest, uint64_t addr, uint64_t key, enum fi_datatype datatype, enum fi_op op,
		    void *context) NOSYS() static ssize_t
	a_readwritev(struct fid_ep *ep, const struct fi_ioc *iov, void **desc, size_t count, struct fi_ioc *resultv,
		     void **result_desc, size_t result_count, fi_addr_t dest, uint64_t addr, uint64_t key,
		     enum fi_datatype datatype, enum fi_op op, void *context) NOSYS() static ssize_t
	a_readwritemsg(struct fid_ep *ep, const struct fi_msg_atomic *msg, struct fi_ioc *resultv, void **result_desc,
		       size_t result_count, uint64_t flags) NOSYS() static ssize_t
	a_compwrite(struct fid_ep *ep, const void *buf, size_t count, void *desc, const void *compare,
		    void *compare_desc, void *result, void *result_desc, fi_addr_t dest, uint64_t addr, uint64_t key,
		    enum fi_datatype datatype, enum fi_op op, void *context) NOSYS() static ssize_t
	a_compwritev(struct fid_ep *ep, const struct fi_ioc *iov, void **desc, size_t count,
		     const struct fi_ioc *comparev, void **compare_desc, size_t compare_count, struct fi_ioc *resultv,
		     void **result_desc, size_t result_count, fi_addr_t dest, uint64_t addr, uint64_t key,
		     enum fi_datatype datatype, enum fi_op op, void *context) NOSYS() static ssize_t
	a_compwritemsg(struct fid_ep *ep, const struct fi_msg_atomic *msg, const struct fi_ioc *comparev,
		       void **compare_desc, size_t compare_count, struct fi_ioc *resultv, void **result_desc,
		       size_t result_count, uint64_t flags)
		NOSYS() static int a_valid(struct fid_ep *ep, enum fi_datatype datatype, enum fi_op op, size_t *count)
			NOSYS()

				struct fi_ops_atomic vfi_atomic_ops = {
					.size = sizeof(struct fi_ops_atomic),
					.write = a_write,
					.writev = a_writev,
					.writemsg = a_writemsg,
					.inject = a_inject,
					.readwrite = a_readwrite,
					.readwritev = a_readwritev,
					.readwritemsg = a_readwritemsg,
					.compwrite = a_compwrite,
					.compwritev = a_compwritev,
					.compwritemsg = a_compwritemsg,
					.writevalid = a_valid,
					.readwritevalid = a_valid,
					.compwritevalid = a_valid,
};
