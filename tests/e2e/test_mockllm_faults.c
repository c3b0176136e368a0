/*
 * test_mockllm_faults.c — mockllm's fault knobs end to end: error statuses
 * in each provider's shape, resets, stalls (and the cancel a client that
 * leaves causes), malformed and error events mid-stream, the
 * deterministic fail percentage (chaos= is in test_mockllm_chaos.c). The only
 * timing in an assertion is the stall check's "no byte in MT_SILENT_MS".
 * The suite (timeout) is declared in test_mockllm.c.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness_http.h"
#include "harness_mt.h"

/* How long a stalled stream must stay silent. */
#define MT_SILENT_MS 200

Test(mockllm, test_status_knob_uses_each_providers_error_shape)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_resp r;
	struct h_mt_out o;
	char v[64];

	h_mt_chat(&s, H_MT_OPENAI, "m", "x", true, "status=429,retry_after=7,retry_after_ms=6500", &r, &o);
	cr_assert_eq(r.status, 429);
	cr_assert(h_http_header(&r, "retry-after", v, sizeof v) && !strcmp(v, "7"));
	cr_assert(h_http_header(&r, "retry-after-ms", v, sizeof v) && !strcmp(v, "6500"));
	cr_assert_str_eq(o.error, "requests");
	cr_assert(h_http_js_set(r.body, r.body_len, "error.code", v, sizeof v) && !strcmp(v, "rate_limit_exceeded"));
	cr_assert(h_http_js_set(r.body, r.body_len, "error.message", v, sizeof v));
	cr_assert(h_http_js_is(r.body, r.body_len, "error.param", "null"));
	h_http_resp_free(&r);

	h_mt_chat(&s, H_MT_ANTHROPIC, "m", "x", true, "status=529", &r, &o);
	cr_assert_eq(r.status, 529);
	cr_assert_str_eq(o.error, "overloaded_error");
	cr_assert(h_http_js_set(r.body, r.body_len, "type", v, sizeof v) && !strcmp(v, "error"));
	h_http_resp_free(&r);
	h_mt_chat(&s, H_MT_ANTHROPIC, "m", "x", false, "status=429", &r, &o);
	cr_assert_str_eq(o.error, "rate_limit_error");
	h_http_resp_free(&r);

	h_mt_chat(&s, H_MT_GEMINI, "g", "x", true, "status=503", &r, &o);
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(o.error, "UNAVAILABLE");
	cr_assert_eq(h_http_js_num(r.body, r.body_len, "error.code"), 503);
	h_http_resp_free(&r);

	h_mt_chat(&s, H_MT_OLLAMA, "m", "x", true, "status=500", &r, &o);
	cr_assert_eq(r.status, 500);
	cr_assert(o.errors == 1 && o.error[0], "ollama error body: %s", r.body);
	h_http_resp_free(&r);

	cr_assert_eq(h_mt_stat(&s, "faults_injected.status"), 5);
	h_mt_stop(&s);
}

Test(mockllm, test_reset_after_resets_without_terminator)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	for (int f = 0; f < H_MT_NFMT; f++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, f, "m", "a b c d e", true, "reset_after=2", &r, &o);
		const char *fn = h_mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s", fn);
		cr_assert(!r.complete, "%s: the body ended cleanly", fn);
		cr_assert_eq(r.end, -ECONNRESET, "%s: ended with %d, not a reset", fn, r.end);
		cr_assert_str_eq(o.text, "a b", "%s", fn);
		cr_assert(!o.terminated, "%s: terminator sent", fn);
		h_http_resp_free(&r);
	}
	cr_assert_eq(h_mt_stat(&s, "faults_injected.reset_after"), 4);
	cr_assert_eq(h_mt_stat(&s, "requests_cancelled"), 0);
	h_mt_stop(&s);
}

Test(mockllm, test_stall_after_goes_silent_and_counts_the_cancel)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	struct h_mt_out o;
	h_http_connect(&c, s.port);
	h_mt_chat_send(&c, H_MT_OPENAI, "m@stall_after=2", "a b c d e", true, NULL);
	/* The role chunk and two content chunks. */
	h_http_read_until(&c, &r, "data: ", 3);
	h_mt_collect(H_MT_OPENAI, true, &r, &o);
	cr_assert_str_eq(o.text, "a b");
	struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, MT_SILENT_MS), 0, "bytes after the stall");
	cr_assert_eq(h_mt_stat(&s, "faults_injected.stall_after"), 1);
	cr_assert_eq(h_mt_stat(&s, "requests_cancelled"), 0);
	h_http_resp_free(&r);
	h_http_close(&c);
	h_mt_wait_stat(&s, "requests_cancelled", 1);
	cr_assert_eq(h_mt_stat(&s, "streams_completed"), 0);
	h_mt_stop(&s);
}

Test(mockllm, test_client_leaving_a_paced_stream_cancels_it)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	h_http_connect(&c, s.port);
	/* 1000 tokens 20 ms apart: the client leaves after the first. */
	h_mt_chat_send(&c, H_MT_ANTHROPIC, "m", "w", true, "tokens=1000,itl_us=20000");
	h_http_read_until(&c, &r, "content_block_delta", 1);
	cr_assert_eq(r.status, 200);
	h_http_resp_free(&r);
	h_http_close(&c);
	h_mt_wait_stat(&s, "requests_cancelled", 1);
	cr_assert_eq(h_mt_stat(&s, "connections_open"), 1); /* the /stats one */
	/* The cancelled stream's timer is gone: the server still serves. */
	struct h_mt_out o;
	h_mt_chat(&s, H_MT_ANTHROPIC, "m", "still here", true, NULL, &r, &o);
	cr_assert_str_eq(o.text, "still here");
	h_http_resp_free(&r);
	h_mt_stop(&s);
}

Test(mockllm, test_malformed_after_sends_one_bad_event_then_continues)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	for (int f = 0; f < H_MT_NFMT; f++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, f, "m", "a b c d", true, "malformed_after=2", &r, &o);
		const char *fn = h_mt_fmt_names[f];
		cr_assert(r.complete, "%s", fn);
		cr_assert_eq(o.bad_json, 1, "%s: %d malformed events", fn, o.bad_json);
		cr_assert_str_eq(o.text, "a b c d", "%s", fn);
		cr_assert(o.terminated, "%s", fn);
		h_http_resp_free(&r);
	}
	cr_assert_eq(h_mt_stat(&s, "faults_injected.malformed_after"), 4);
	h_mt_stop(&s);
}

Test(mockllm, test_error_after_sends_the_providers_error_event)
{
	static const char *const want[H_MT_NFMT] = { "server_error", "overloaded_error", "INTERNAL", "" };
	struct h_mt_srv s;
	h_mt_start(&s);
	for (int f = 0; f < H_MT_NFMT; f++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, f, "m", "a b c d", true, "error_after=2", &r, &o);
		const char *fn = h_mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s", fn);
		cr_assert_str_eq(o.text, "a b", "%s", fn);
		cr_assert_eq(o.errors, 1, "%s: %d error events in %s", fn, o.errors, r.body);
		if (want[f][0])
			cr_assert_str_eq(o.error, want[f], "%s", fn);
		cr_assert(!o.terminated, "%s: a terminator after the error", fn);
		h_http_resp_free(&r);
	}
	cr_assert_eq(h_mt_stat(&s, "faults_injected.error_after"), 4);
	h_mt_stop(&s);
}

Test(mockllm, test_fail_pct_is_deterministic_by_request_counter)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	char pattern[2][41];
	for (int run = 0; run < 2; run++) {
		h_mt_reset(&s);
		for (int i = 0; i < 40; i++) {
			struct h_http_resp r;
			struct h_mt_out o;
			h_mt_chat(&s, H_MT_OPENAI, "m@fail_pct=50,seed=7,status=503", "x", false, NULL, &r, &o);
			cr_assert(r.status == 200 || r.status == 503, "status %d", r.status);
			pattern[run][i] = r.status == 200 ? '.' : 'F';
			h_http_resp_free(&r);
		}
		pattern[run][40] = 0;
	}
	cr_assert_str_eq(pattern[0], pattern[1]);
	long failed = h_mt_stat(&s, "faults_injected.fail_pct");
	cr_assert(failed > 0 && failed < 40, "%ld of 40 failed: %s", failed, pattern[0]);
	cr_assert_eq(failed, (long)h_http_count(pattern[1], 40, "F"));
	h_mt_stop(&s);
}

