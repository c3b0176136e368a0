/*
 * rs_misc.c — error strings and the default socket path.
 */
#include <string.h>

#include "ringside.h"
#include "shm/sockpath.h"

RS_API const char *rs_strerror(int rc)
{
	switch (rc) {
	case RS_OK: return "success";
	case RS_EINVAL: return "invalid argument";
	case RS_ENOSIDECAR: return "the ringside sidecar is not running (nothing listens on its socket)";
	case RS_EDISCONNECTED: return "the ringside sidecar went away";
	case RS_EPROTO: return "protocol error between client and sidecar";
	case RS_ETIMEDOUT: return "timed out";
	case RS_EAGAIN: return "too many streams open on this client; read events first";
	case RS_ETOOBIG: return "request larger than the sidecar accepts (limits.max_request)";
	case RS_ENOMEM: return "out of memory";
	case RS_EREFUSED: return "the sidecar refused the connection";
	case RS_EVERSION: return "the sidecar speaks another protocol version";
	case RS_ESYS: return "unexpected system error";
	case RS_ENOSTREAM: return "no such open stream";
	default: return "unknown error";
	}
}

RS_API const char *rs_errcode_name(int code)
{
	switch (code) {
	case RS_ERR_BAD_REQUEST: return "bad_request";
	case RS_ERR_UNKNOWN_MODEL: return "unknown_model";
	case RS_ERR_TOO_LARGE: return "too_large";
	case RS_ERR_CANCELLED: return "cancelled";
	case RS_ERR_TIMEOUT: return "timeout";
	case RS_ERR_UPSTREAM: return "upstream";
	case RS_ERR_TRUNCATED: return "truncated";
	case RS_ERR_RATE_LIMITED: return "rate_limited";
	case RS_ERR_UNAVAILABLE: return "unavailable";
	case RS_ERR_INTERNAL: return "internal";
	case RS_ERR_SHUTDOWN: return "shutdown";
	case RS_ERR_DISCONNECTED: return "disconnected";
	case RS_ERR_OVERLOADED: return "overloaded";
	default: return "unknown";
	}
}

RS_API int rs_default_socket(char *buf, size_t len)
{
	if (!buf)
		return RS_EINVAL;
	return sockpath_default(buf, len) ? RS_EINVAL : RS_OK;
}
