/*
 * vmrdma.h - the user-level RDMA API of vmrdma for applications in Xen guest domains.
 *
 * The verbs vocabulary of libibverbs: protection domains, memory regions, queue pairs, completion queues,
 * work requests and work completions. Status and opcode numbers equal libibverbs' so logs read the same,
 * and equal the Java API's (io.vmrdma.api.verbs).
 */
#ifndef VMRDMA_H
#define VMRDMA_H

#ifdef __cplusplus
extern "C" {
#endif

#define VMRDMA_EXPORT __attribute__((visibility("default")))

/* Version of the wire and guest protocols this library speaks. */
#define VMRDMA_PROTOCOL_VERSION 1

/* Work-completion status codes (libibverbs numbering). */
enum vmrdma_wc_status {
	VMRDMA_WC_SUCCESS = 0,
	VMRDMA_WC_LOC_LEN_ERR = 1,
	VMRDMA_WC_LOC_QP_OP_ERR = 2,
	VMRDMA_WC_LOC_PROT_ERR = 4,
	VMRDMA_WC_WR_FLUSH_ERR = 5,
	VMRDMA_WC_BAD_RESP_ERR = 7,
	VMRDMA_WC_LOC_ACCESS_ERR = 8,
	VMRDMA_WC_REM_INV_REQ_ERR = 9,
	VMRDMA_WC_REM_ACCESS_ERR = 10,
	VMRDMA_WC_REM_OP_ERR = 11,
	VMRDMA_WC_RETRY_EXC_ERR = 12,
	VMRDMA_WC_RNR_RETRY_EXC_ERR = 13,
	VMRDMA_WC_FATAL_ERR = 19,
	VMRDMA_WC_GENERAL_ERR = 21
};

/*
 * vmrdma_wc_status_str - describe a work-completion status
 *
 * Returns a static string, as ibv_wc_status_str does; "unknown" for a value that is not a status.
 */
VMRDMA_EXPORT const char *vmrdma_wc_status_str(enum vmrdma_wc_status status);

/*
 * vmrdma_version - the library version, "MAJOR.MINOR.PATCH"
 */
VMRDMA_EXPORT const char *vmrdma_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VMRDMA_H */
