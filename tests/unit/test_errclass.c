/*
 * test_errclass.c — error classes (sidecar/errclass.c): the classification
 * table against what providers/http.c and the codecs report today (curl
 * results, HTTP and in-band statuses, RS_ERR_* codes with the retryable
 * flag), the default retry policy and its overrides (rejected and
 * cancelled never retried), which classes count against a breaker, and
 * class names both ways.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "errclass.h"
#include "ringside.h"

struct te_case {
	const char *what;
	struct ec_report r;
	enum ec_class want;
};

/* Each row is a report a real code path produces (file in the comment). */
static const struct te_case te_cases[] = {
	/* providers/http.c hp_on_done: curl failed */
	{ "connect refused", { RS_ERR_UNAVAILABLE, 0, 1, CURLE_COULDNT_CONNECT }, EC_CONNECT },
	{ "dns failure", { RS_ERR_UNAVAILABLE, 0, 1, CURLE_COULDNT_RESOLVE_HOST }, EC_CONNECT },
	{ "proxy dns failure", { RS_ERR_UPSTREAM, 0, 1, CURLE_COULDNT_RESOLVE_PROXY }, EC_CONNECT },
	{ "connect timeout", { RS_ERR_TIMEOUT, 0, 1, CURLE_OPERATION_TIMEDOUT }, EC_CONNECT },
	{ "curl backstop after headers", { RS_ERR_TIMEOUT, 200, 1, CURLE_OPERATION_TIMEDOUT },
	  EC_TIMEOUT_TOTAL },
	{ "bad certificate", { RS_ERR_UPSTREAM, 0, 1, CURLE_PEER_FAILED_VERIFICATION }, EC_TLS },
	{ "handshake failed", { RS_ERR_UPSTREAM, 0, 1, CURLE_SSL_CONNECT_ERROR }, EC_TLS },
	{ "bad ca file", { RS_ERR_UPSTREAM, 0, 1, CURLE_SSL_CACERT_BADFILE }, EC_TLS },
	{ "pinned key mismatch", { RS_ERR_UPSTREAM, 0, 1, CURLE_SSL_PINNEDPUBKEYNOTMATCH }, EC_TLS },
	{ "empty reply", { RS_ERR_UPSTREAM, 0, 1, CURLE_GOT_NOTHING }, EC_NETWORK },
	{ "reset before reply", { RS_ERR_UPSTREAM, 0, 1, CURLE_RECV_ERROR }, EC_NETWORK },
	{ "send failed", { RS_ERR_UPSTREAM, 0, 1, CURLE_SEND_ERROR }, EC_NETWORK },
	{ "h2 stream reset", { RS_ERR_UPSTREAM, 0, 1, CURLE_HTTP2_STREAM }, EC_NETWORK },
	{ "cut after data", { RS_ERR_TRUNCATED, 200, 1, CURLE_RECV_ERROR }, EC_TRUNCATED },
	{ "cut h2 after data", { RS_ERR_TRUNCATED, 200, 1, CURLE_HTTP2 }, EC_TRUNCATED },
	{ "not http", { RS_ERR_UPSTREAM, 0, 1, CURLE_WEIRD_SERVER_REPLY }, EC_MALFORMED },
	/* The owner aborted after deciding the error itself: curl adds nothing. */
	{ "aborted, body too big", { RS_ERR_UPSTREAM, 0, 0, CURLE_WRITE_ERROR }, EC_MALFORMED },
	{ "aborted, out of memory", { RS_ERR_INTERNAL, 0, 1, CURLE_ABORTED_BY_CALLBACK },
	  EC_INTERNAL },
	/* providers/http.c deadlines */
	{ "first chunk deadline", { RS_ERR_TIMEOUT, 0, 1, 0, EC_DL_FIRST_CHUNK },
	  EC_TIMEOUT_FIRST_CHUNK },
	{ "idle deadline", { RS_ERR_TIMEOUT, 0, 1, 0, EC_DL_IDLE }, EC_TIMEOUT_IDLE },
	{ "total deadline", { RS_ERR_TIMEOUT, 0, 1, 0, EC_DL_TOTAL }, EC_TIMEOUT_TOTAL },
	/* stream.c: the request's own deadline */
	{ "request deadline", { RS_ERR_TIMEOUT, 0, 1 }, EC_TIMEOUT_TOTAL },
	/* codecs' on_error: HTTP status, pc_status_code/pc_status_retryable */
	{ "408", { RS_ERR_TIMEOUT, 408, 1 }, EC_HTTP_408 },
	{ "409", { RS_ERR_UPSTREAM, 409, 1 }, EC_HTTP_409 },
	{ "429", { RS_ERR_RATE_LIMITED, 429, 1 }, EC_HTTP_429 },
	{ "500", { RS_ERR_UPSTREAM, 500, 1 }, EC_HTTP_5XX },
	{ "502", { RS_ERR_UPSTREAM, 502, 1 }, EC_HTTP_5XX },
	{ "503", { RS_ERR_UNAVAILABLE, 503, 1 }, EC_HTTP_5XX },
	{ "504", { RS_ERR_TIMEOUT, 504, 1 }, EC_HTTP_5XX },
	{ "599", { RS_ERR_UPSTREAM, 599, 1 }, EC_HTTP_5XX },
	{ "anthropic 529", { RS_ERR_UNAVAILABLE, 529, 1 }, EC_OVERLOADED },
	{ "400", { RS_ERR_UPSTREAM, 400, 0 }, EC_REJECTED },
	{ "401", { RS_ERR_UPSTREAM, 401, 0 }, EC_REJECTED },
	{ "403", { RS_ERR_UPSTREAM, 403, 0 }, EC_REJECTED },
	{ "404", { RS_ERR_UPSTREAM, 404, 0 }, EC_REJECTED },
	{ "413", { RS_ERR_UPSTREAM, 413, 0 }, EC_REJECTED },
	{ "422", { RS_ERR_UPSTREAM, 422, 0 }, EC_REJECTED },
	/* codec_openai_err.c: insufficient_quota is final despite its 429 */
	{ "quota 429", { RS_ERR_RATE_LIMITED, 429, 0 }, EC_REJECTED },
	/* codec_gemini.c: 501 final, 499 the server giving up */
	{ "gemini 501", { RS_ERR_UPSTREAM, 501, 0 }, EC_REJECTED },
	{ "gemini 499", { RS_ERR_UPSTREAM, 499, 1 }, EC_HTTP_5XX },
	{ "status out of range", { RS_ERR_UPSTREAM, 1234, 1 }, EC_MALFORMED },
	/* in-band errors without a status */
	{ "openai in-band overloaded", { RS_ERR_UNAVAILABLE, 0, 1 }, EC_OVERLOADED },
	{ "in-band server error", { RS_ERR_UPSTREAM, 0, 1 }, EC_HTTP_5XX },
	{ "in-band rate limit", { RS_ERR_RATE_LIMITED, 0, 1 }, EC_HTTP_429 },
	{ "garbage from provider", { RS_ERR_UPSTREAM, 0, 0 }, EC_MALFORMED },
	{ "stream without end marker", { RS_ERR_TRUNCATED, 0, 1 }, EC_TRUNCATED },
	/* the sidecar itself */
	{ "unexpressible request", { RS_ERR_BAD_REQUEST, 0, 0 }, EC_REJECTED },
	{ "unknown model", { RS_ERR_UNKNOWN_MODEL, 0, 0 }, EC_REJECTED },
	{ "too large", { RS_ERR_TOO_LARGE, 0, 0 }, EC_REJECTED },
	{ "out of memory", { RS_ERR_INTERNAL, 0, 1 }, EC_INTERNAL },
	{ "sidecar limit", { RS_ERR_OVERLOADED, 0, 1 }, EC_INTERNAL },
	{ "unknown code", { 999, 0, 1 }, EC_INTERNAL },
	/* cancelled wins over everything else it may carry */
	{ "client cancel", { RS_ERR_CANCELLED, 0, 0 }, EC_CANCELLED },
	{ "cancel mid-transfer", { RS_ERR_CANCELLED, 200, 0, CURLE_ABORTED_BY_CALLBACK },
	  EC_CANCELLED },
	{ "shutdown", { RS_ERR_SHUTDOWN, 0, 1 }, EC_CANCELLED },
	{ "client died", { RS_ERR_DISCONNECTED, 0, 1 }, EC_CANCELLED },
};

Test(errclass, classification_table)
{
	for (size_t i = 0; i < sizeof te_cases / sizeof te_cases[0]; i++) {
		enum ec_class got = ec_classify(&te_cases[i].r);
		cr_assert_eq(got, te_cases[i].want, "%s: got %s, want %s", te_cases[i].what,
			     ec_name(got), ec_name(te_cases[i].want));
	}
}

Test(errclass, every_class_has_a_unique_name_that_parses_back)
{
	for (int c = 0; c < EC_COUNT; c++) {
		const char *n = ec_name((enum ec_class)c);
		cr_assert_str_neq(n, "?");
		cr_assert_eq(ec_from_name(n), c, "%s", n);
		for (int d = 0; d < c; d++)
			cr_assert_str_neq(n, ec_name((enum ec_class)d));
	}
	cr_assert_str_eq(ec_name(EC_HTTP_429), "http_429");
	cr_assert_str_eq(ec_name(EC_TIMEOUT_FIRST_CHUNK), "timeout_first_chunk");
	cr_assert_str_eq(ec_name(EC_COUNT), "?");
	cr_assert_str_eq(ec_name((enum ec_class)-1), "?");
}

Test(errclass, unknown_names_are_refused)
{
	const char *bad[] = { "", "HTTP_429", "429", "http_4xx", "timeout", "connect ",
			      " connect", "connectx", "5xx" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(ec_from_name(bad[i]), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(ec_from_name(NULL), -EINVAL);
}

Test(errclass, default_policy_retries_the_transient_classes)
{
	struct ec_policy p = ec_policy_default();
	const enum ec_class yes[] = { EC_CONNECT, EC_TLS, EC_NETWORK, EC_TIMEOUT_FIRST_CHUNK,
				      EC_TIMEOUT_IDLE, EC_TIMEOUT_TOTAL, EC_HTTP_408,
				      EC_HTTP_409, EC_HTTP_429, EC_HTTP_5XX, EC_OVERLOADED,
				      EC_MALFORMED, EC_TRUNCATED };
	const enum ec_class no[] = { EC_REJECTED, EC_CANCELLED, EC_INTERNAL };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		cr_assert(ec_retryable(&p, yes[i]), "%s", ec_name(yes[i]));
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		cr_assert_not(ec_retryable(&p, no[i]), "%s", ec_name(no[i]));
	cr_assert_not(ec_retryable(&p, EC_COUNT));
	cr_assert_not(ec_retryable(&p, (enum ec_class)-1));
}

Test(errclass, policy_overrides_by_class)
{
	struct ec_policy p = ec_policy_default();
	cr_assert_eq(ec_policy_set(&p, EC_HTTP_409, 0), 0);
	cr_assert_not(ec_retryable(&p, EC_HTTP_409));
	cr_assert(ec_retryable(&p, EC_HTTP_408), "neighbours untouched");
	cr_assert_eq(ec_policy_set(&p, EC_INTERNAL, 1), 0);
	cr_assert(ec_retryable(&p, EC_INTERNAL));
	cr_assert_eq(ec_policy_set(&p, EC_HTTP_409, 1), 0);
	cr_assert(ec_retryable(&p, EC_HTTP_409));
	cr_assert_eq(ec_policy_set(&p, EC_COUNT, 1), -EINVAL);
	cr_assert_eq(ec_policy_set(&p, (enum ec_class)-1, 0), -EINVAL);

	struct ec_policy none = { 0 };
	for (int c = 0; c < EC_COUNT; c++)
		cr_assert_not(ec_retryable(&none, (enum ec_class)c));
}

Test(errclass, rejected_and_cancelled_are_never_retried)
{
	struct ec_policy p = ec_policy_default();
	cr_assert_eq(ec_policy_set(&p, EC_REJECTED, 1), -EINVAL);
	cr_assert_eq(ec_policy_set(&p, EC_CANCELLED, 1), -EINVAL);
	cr_assert_eq(ec_policy_set(&p, EC_REJECTED, 0), 0, "turning off is fine");
	/* Even a mask set by hand does not make them retryable. */
	struct ec_policy all = { .retry = UINT32_MAX };
	cr_assert_not(ec_retryable(&all, EC_REJECTED));
	cr_assert_not(ec_retryable(&all, EC_CANCELLED));
	cr_assert(ec_retryable(&all, EC_INTERNAL));
}

Test(errclass, faults_are_what_counts_against_a_breaker)
{
	const enum ec_class fault[] = { EC_CONNECT, EC_TLS, EC_NETWORK, EC_TIMEOUT_FIRST_CHUNK,
					EC_TIMEOUT_IDLE, EC_TIMEOUT_TOTAL, EC_HTTP_408,
					EC_HTTP_429, EC_HTTP_5XX, EC_OVERLOADED, EC_MALFORMED,
					EC_TRUNCATED };
	const enum ec_class innocent[] = { EC_HTTP_409, EC_REJECTED, EC_CANCELLED, EC_INTERNAL };
	for (size_t i = 0; i < sizeof fault / sizeof fault[0]; i++)
		cr_assert(ec_is_fault(fault[i]), "%s", ec_name(fault[i]));
	for (size_t i = 0; i < sizeof innocent / sizeof innocent[0]; i++)
		cr_assert_not(ec_is_fault(innocent[i]), "%s", ec_name(innocent[i]));
	cr_assert_not(ec_is_fault(EC_COUNT));
}
