#include "vmrdma.h"

const char *vmrdma_wc_status_str(enum vmrdma_wc_status status)
{
	switch (status) {
	case VMRDMA_WC_SUCCESS:
		return "success";
	case VMRDMA_WC_LOC_LEN_ERR:
		return "local length error";
	case VMRDMA_WC_LOC_QP_OP_ERR:
		return "local QP operation error";
	case VMRDMA_WC_LOC_PROT_ERR:
		return "local protection error";
	case VMRDMA_WC_WR_FLUSH_ERR:
		return "work request flushed";
	case VMRDMA_WC_BAD_RESP_ERR:
		return "bad response error";
	case VMRDMA_WC_LOC_ACCESS_ERR:
		return "local access error";
	case VMRDMA_WC_REM_INV_REQ_ERR:
		return "remote invalid request error";
	case VMRDMA_WC_REM_ACCESS_ERR:
		return "remote access error";
	case VMRDMA_WC_REM_OP_ERR:
		return "remote operation error";
	case VMRDMA_WC_RETRY_EXC_ERR:
		return "transport retry counter exceeded";
	case VMRDMA_WC_RNR_RETRY_EXC_ERR:
		return "RNR retry counter exceeded";
	case VMRDMA_WC_FATAL_ERR:
		return "fatal error";
	case VMRDMA_WC_GENERAL_ERR:
		return "general error";
	}
	return "unknown";
}

const char *vmrdma_version(void)
{
	return "0.1.0";
}

const char *vmrdma_cm_event_str(enum vmrdma_cm_event_type type)
{
	switch (type) {
	case VMRDMA_CM_CONNECT_REQUEST:
		return "CONNECT_REQUEST";
	case VMRDMA_CM_ESTABLISHED:
		return "ESTABLISHED";
	case VMRDMA_CM_REJECTED:
		return "REJECTED";
	case VMRDMA_CM_UNREACHABLE:
		return "UNREACHABLE";
	case VMRDMA_CM_DISCONNECTED:
		return "DISCONNECTED";
	}
	return "unknown";
}
