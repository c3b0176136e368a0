/*
 * errclass.c — error classes of upstream attempts (see errclass.h).
 *
 * The mapping follows what the HTTP adapter (providers/http.c) and the
 * codecs report today: the transport's result first (a curl code means the
 * exchange never completed, whatever the rest says), then the status, then
 * the RS_ERR_* code with the retryable flag for errors without a status.
 */
#include "errclass.h"

#include <errno.h>
#include <string.h>

#include <curl/curl.h>

#include "ringside.h"

/* Anthropic's "overloaded_error" status (its errors page); codec_anthropic.c
 * maps the in-band error type to the same value. */
#define EC_STATUS_OVERLOADED 529

/* Never retried, whatever the policy: see errclass.h. */
#define EC_NEVER ((1u << EC_REJECTED) | (1u << EC_CANCELLED))

static const struct {
	const char *name;
	uint8_t retry; /* default policy */
	uint8_t fault; /* counts against the deployment's breaker */
} ec_table[EC_COUNT] = {
	[EC_CONNECT] = { "connect", 1, 1 },
	[EC_TLS] = { "tls", 1, 1 },
	[EC_NETWORK] = { "network", 1, 1 },
	[EC_TIMEOUT_FIRST_CHUNK] = { "timeout_first_chunk", 1, 1 },
	[EC_TIMEOUT_IDLE] = { "timeout_idle", 1, 1 },
	[EC_TIMEOUT_TOTAL] = { "timeout_total", 1, 1 },
	[EC_HTTP_408] = { "http_408", 1, 1 },
	/* A conflict over this request (a lock, an idempotency key), not a
	 * sign that the deployment is unwell: retried, not counted. */
	[EC_HTTP_409] = { "http_409", 1, 0 },
	[EC_HTTP_429] = { "http_429", 1, 1 },
	[EC_HTTP_5XX] = { "http_5xx", 1, 1 },
	[EC_OVERLOADED] = { "overloaded", 1, 1 },
	[EC_MALFORMED] = { "malformed", 1, 1 },
	[EC_TRUNCATED] = { "truncated", 1, 1 },
	[EC_REJECTED] = { "rejected", 0, 0 },
	[EC_CANCELLED] = { "cancelled", 0, 0 },
	/* Our own trouble (memory, limits): another attempt at once is
	 * unlikely to fare better and the deployment is not to blame. */
	[EC_INTERNAL] = { "internal", 0, 0 },
};

/* The transfer itself failed (curl_code != CURLE_OK). -1: curl's result
 * says nothing about the class (the owner aborted the transfer after
 * deciding the error itself, out of memory, ...), classify by the rest. */
static int ec_from_curl(const struct ec_report *r)
{
	switch (r->curl_code) {
	case CURLE_OPERATION_TIMEDOUT:
		/* Before any status only the connect timeout can fire: the
		 * transfer's own timeout is a backstop behind the adapter's
		 * total deadline (upstream.c). */
		return r->http_status ? EC_TIMEOUT_TOTAL : EC_CONNECT;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return EC_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return EC_TLS;
	case CURLE_WEIRD_SERVER_REPLY:
		return EC_MALFORMED;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		/* After body bytes the adapter calls it a cut stream. */
		return r->rs_code == RS_ERR_TRUNCATED ? EC_TRUNCATED : EC_NETWORK;
	default:
		return -1;
	}
}

/* An error status from the provider (HTTP, or the status an in-band error
 * stands for). */
static enum ec_class ec_from_status(int status, int retryable)
{
	/* The provider said another attempt will not help (quota, billing,
	 * not implemented): the codec knows the provider's words, we do not. */
	if (!retryable)
		return EC_REJECTED;
	switch (status) {
	case 408:
		return EC_HTTP_408;
	case 409:
		return EC_HTTP_409;
	case 429:
		return EC_HTTP_429;
	case EC_STATUS_OVERLOADED:
		return EC_OVERLOADED;
	default:
		break;
	}
	if (status >= 500 && status <= 599)
		return EC_HTTP_5XX;
	/* Another 4xx that the codec still calls retryable is the server
	 * giving up (Gemini's 499 CANCELLED, codec_gemini.c): a server-side
	 * failure, not a refusal of the request. */
	if (status >= 400 && status <= 499)
		return EC_HTTP_5XX;
	return EC_MALFORMED; /* no such HTTP status */
}

enum ec_class ec_classify(const struct ec_report *r)
{
	switch (r->rs_code) {
	case RS_ERR_CANCELLED:
	case RS_ERR_SHUTDOWN:
	case RS_ERR_DISCONNECTED:
		return EC_CANCELLED;
	default:
		break;
	}
	if (r->curl_code != CURLE_OK) {
		int c = ec_from_curl(r);
		if (c >= 0)
			return (enum ec_class)c;
	}
	if (r->http_status >= 400)
		return ec_from_status(r->http_status, r->retryable);
	switch (r->rs_code) {
	case RS_ERR_TIMEOUT:
		switch (r->deadline) {
		case EC_DL_FIRST_CHUNK:
			return EC_TIMEOUT_FIRST_CHUNK;
		case EC_DL_IDLE:
			return EC_TIMEOUT_IDLE;
		default:
			/* The stream's own deadline, or a reporter that
			 * cannot say: the whole time ran out. */
			return EC_TIMEOUT_TOTAL;
		}
	case RS_ERR_TRUNCATED:
		return EC_TRUNCATED;
	case RS_ERR_RATE_LIMITED:
		return EC_HTTP_429;
	case RS_ERR_UNAVAILABLE:
		/* Without a curl code this is the provider's in-band word
		 * (codec_openai_err.c), not a failed connection. */
		return EC_OVERLOADED;
	case RS_ERR_UPSTREAM:
		/* Codecs report garbage as not retryable, and an in-band
		 * server-side error (Ollama's runner, OpenAI's server_error)
		 * as retryable. */
		return r->retryable ? EC_HTTP_5XX : EC_MALFORMED;
	case RS_ERR_BAD_REQUEST:
	case RS_ERR_UNKNOWN_MODEL:
	case RS_ERR_TOO_LARGE:
		return EC_REJECTED;
	default:
		return EC_INTERNAL;
	}
}

int ec_is_fault(enum ec_class c)
{
	return (unsigned)c < EC_COUNT && ec_table[c].fault;
}

struct ec_policy ec_policy_default(void)
{
	struct ec_policy p = { 0 };
	for (unsigned c = 0; c < EC_COUNT; c++)
		if (ec_table[c].retry)
			p.retry |= 1u << c;
	return p;
}

int ec_policy_set(struct ec_policy *p, enum ec_class c, int retry)
{
	if ((unsigned)c >= EC_COUNT)
		return -EINVAL;
	uint32_t bit = 1u << c;
	if (!retry)
		p->retry &= ~bit;
	else if (bit & EC_NEVER)
		return -EINVAL;
	else
		p->retry |= bit;
	return 0;
}

int ec_retryable(const struct ec_policy *p, enum ec_class c)
{
	if ((unsigned)c >= EC_COUNT)
		return 0;
	return !!(p->retry & ~EC_NEVER & (1u << c));
}

const char *ec_name(enum ec_class c)
{
	return (unsigned)c < EC_COUNT ? ec_table[c].name : "?";
}

int ec_from_name(const char *name)
{
	for (unsigned c = 0; name && c < EC_COUNT; c++)
		if (!strcmp(name, ec_table[c].name))
			return (int)c;
	return -EINVAL;
}
