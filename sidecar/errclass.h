/*
 * errclass.h — why an upstream attempt failed, in the classes the retry
 * policy and the circuit breakers reason about.
 *
 * An attempt ends the way a stream does today: an RS_ERR_* code, an HTTP
 * status (or the provider's in-band status) and the adapter's retryable
 * flag, which is exactly what an ERROR frame carries. Those three alone
 * cannot tell a refused connection from an in-band "overloaded" (both are
 * RS_ERR_UNAVAILABLE, status 0) or a TLS failure from a reset connection,
 * so the adapter adds what only it knows: libcurl's result when the
 * transfer itself failed, and which of its deadlines fired. ec_classify
 * turns that into one class:
 *
 *   connect              could not resolve or connect (curl 5, 6, 7, or a
 *                        connect timeout: curl 28 before any status)
 *   tls                  handshake or certificate failure (curl 35, 60, ...)
 *   network              connection reset or closed before a reply
 *   timeout_first_chunk  the adapter's deadlines: no first content, stream
 *   timeout_idle         idle between chunks, whole response too slow
 *   timeout_total
 *   http_408 / 409 / 429 those statuses (a 429 also in-band)
 *   http_5xx             5xx, or a server-side failure reported in-band
 *   overloaded           the provider says it is overloaded (Anthropic 529,
 *                        OpenAI's in-band "overloaded")
 *   malformed            not the provider's protocol
 *   truncated            the stream ended before its end marker
 *   rejected             the request itself was refused: other 4xx, a
 *                        request the sidecar cannot express or accept, an
 *                        error the provider marks final (OpenAI's
 *                        insufficient_quota 429, Gemini's 501)
 *   cancelled            the client cancelled, died, or the sidecar stops
 *   internal             the sidecar's own failure (out of memory, limits)
 *
 * Each class is retryable or not under a policy (a bitmask, overridable
 * from config by class name). "rejected" and "cancelled" are never
 * retried whatever the policy says: another attempt sends the same refused
 * request, or one nobody waits for. Whether a class counts against the
 * deployment's breaker is fixed here (ec_is_fault): a refused request or
 * our own failure says nothing about the deployment's health.
 *
 * Pure functions, no state: usable from any thread.
 */
#ifndef RINGSIDE_ERRCLASS_H
#define RINGSIDE_ERRCLASS_H

#include <stdint.h>

enum ec_class {
	EC_CONNECT = 0,
	EC_TLS,
	EC_NETWORK,
	EC_TIMEOUT_FIRST_CHUNK,
	EC_TIMEOUT_IDLE,
	EC_TIMEOUT_TOTAL,
	EC_HTTP_408,
	EC_HTTP_409,
	EC_HTTP_429,
	EC_HTTP_5XX,
	EC_OVERLOADED,
	EC_MALFORMED,
	EC_TRUNCATED,
	EC_REJECTED,
	EC_CANCELLED,
	EC_INTERNAL,
	EC_COUNT
};

/* Which of the adapter's own deadlines ended the attempt. */
enum ec_deadline {
	EC_DL_UNKNOWN = 0,  /* none, or the reporter cannot say */
	EC_DL_FIRST_CHUNK,
	EC_DL_IDLE,
	EC_DL_TOTAL,
};

/* What one failed attempt reported. Zero-initialise, fill what is known. */
struct ec_report {
	int rs_code;        /* RS_ERR_* the attempt ended with */
	int http_status;    /* HTTP status or provider in-band status, 0 if none */
	int retryable;      /* the adapter's or codec's retryable flag */
	int curl_code;      /* CURLcode when the transfer itself failed, else 0 */
	enum ec_deadline deadline; /* for RS_ERR_TIMEOUT without a status */
};

enum ec_class ec_classify(const struct ec_report *r);

/* Is the class a failure of the deployment (for its circuit breaker)?
 * Cancelled attempts have no verdict at all: the caller abandons them. */
int ec_is_fault(enum ec_class c);

/* ---- retry policy ------------------------------------------------------------ */

struct ec_policy {
	uint32_t retry;     /* bit (1u << class) set: retry that class */
};

/* Every class the issue lists as transient is retried (connect through
 * truncated); rejected, cancelled and internal are not. */
struct ec_policy ec_policy_default(void);

/* Retry class c or not. 0, or -EINVAL for an unknown class or an attempt
 * to make rejected or cancelled retryable. */
int ec_policy_set(struct ec_policy *p, enum ec_class c, int retry);

/* Does the policy retry class c? Never for rejected and cancelled, even
 * if the mask was set by hand. */
int ec_retryable(const struct ec_policy *p, enum ec_class c);

/* ---- names for config and logs ------------------------------------------------ */

/* "connect", "timeout_first_chunk", "http_429", ...; "?" when out of range. */
const char *ec_name(enum ec_class c);

/* The class named name (exact, lower case), or -EINVAL. */
int ec_from_name(const char *name);

#endif
