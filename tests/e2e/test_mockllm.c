/*
 * test_mockllm.c — the fake provider (bench/mockllm) end to end: a real
 * mockllm process per test, spoken to over plain sockets (harness_http.c,
 * no libcurl), each of the four formats streamed and whole, keep-alive and
 * pipelining, the knobs that shape a reply (tools, tokens, model suffix),
 * bad requests, 100-continue, signals, HTTP/1.0 and threads. The fault
 * knobs are in test_mockllm_faults.c; the process and the formats in
 * harness_mt.c.
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

TestSuite(mockllm, .timeout = 90);

Test(mockllm, test_every_format_streams_the_echoed_words)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	for (int f = 0; f < H_MT_NFMT; f++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, f, "m-1", H_MT_PROMPT, true, NULL, &r, &o);
		const char *fn = h_mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s: status %d", fn, r.status);
		cr_assert(r.complete, "%s: body not terminated (end %d)", fn, r.end);
		cr_assert_str_eq(o.text, H_MT_PROMPT, "%s", fn);
		cr_assert_eq(o.chunks, 3, "%s: %d content chunks", fn, o.chunks);
		cr_assert_str_eq(o.finish, h_mt_finish_text[f], "%s", fn);
		cr_assert(o.terminated, "%s: no terminator", fn);
		cr_assert_eq(o.prompt, H_MT_PROMPT_TOKENS, "%s: prompt tokens", fn);
		cr_assert_eq(o.completion, 3, "%s: completion tokens", fn);
		cr_assert_str_eq(o.model, "m-1", "%s", fn);
		cr_assert_eq(o.bad_json + o.errors, 0, "%s", fn);
		char ct[64];
		cr_assert(h_http_header(&r, "content-type", ct, sizeof ct), "%s", fn);
		cr_assert(strstr(ct, f == H_MT_OLLAMA ? "application/x-ndjson" : "text/event-stream"), "%s: %s", fn, ct);
		if (f == H_MT_OPENAI)
			cr_assert(o.role_first, "openai: the first chunk is not the role chunk");
		h_http_resp_free(&r);
	}
	h_mt_stop(&s);
}

Test(mockllm, test_every_format_answers_whole_without_stream)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	for (int f = 0; f < H_MT_NFMT; f++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, f, "m-2", H_MT_PROMPT, false, NULL, &r, &o);
		const char *fn = h_mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s: status %d", fn, r.status);
		char v[64];
		cr_assert(h_http_header(&r, "content-length", v, sizeof v), "%s: no content-length", fn);
		cr_assert(h_http_header(&r, "content-type", v, sizeof v) && strstr(v, "application/json"), "%s", fn);
		cr_assert(r.complete && h_http_js_valid(r.body, r.body_len), "%s: %s", fn, r.body);
		cr_assert_str_eq(o.text, H_MT_PROMPT, "%s", fn);
		cr_assert_str_eq(o.finish, h_mt_finish_text[f], "%s", fn);
		cr_assert_eq(o.prompt, H_MT_PROMPT_TOKENS, "%s", fn);
		cr_assert_eq(o.completion, 3, "%s", fn);
		h_http_resp_free(&r);
	}
	h_mt_stop(&s);
}

Test(mockllm, test_gemini_without_alt_sse_streams_a_json_array)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	h_http_connect(&c, s.port);
	h_http_request(&c, "POST", "/v1beta/models/g-1:streamGenerateContent", NULL,
		   "{\"contents\":[{\"parts\":[{\"text\":\"one two\"}]}]}");
	h_http_read(&c, &r);
	h_http_close(&c);
	cr_assert(r.status == 200 && r.complete);
	cr_assert(h_http_js_valid(r.body, r.body_len), "not one JSON array: %s", r.body);
	struct h_mt_out o;
	h_mt_out_init(&o);
	for (int i = 0; i < 2; i++) {
		char path[8];
		const char *v;
		size_t vn;
		snprintf(path, sizeof path, "%d", i);
		cr_assert(h_http_js_at(r.body, r.body_len, path, &v, &vn));
		h_mt_event(H_MT_GEMINI, NULL, v, vn, &o);
	}
	cr_assert_str_eq(o.text, "one two");
	cr_assert_str_eq(o.finish, "STOP");
	h_http_resp_free(&r);
	h_mt_stop(&s);
}

Test(mockllm, test_keep_alive_and_pipelining_on_one_connection)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	h_mt_reset(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	struct h_mt_out o;
	h_http_connect(&c, s.port);
	/* Two requests one after the other... */
	for (int i = 0; i < 2; i++) {
		h_mt_chat_send(&c, H_MT_OPENAI, "m", i ? "second request" : "first", true, NULL);
		h_http_read(&c, &r);
		h_mt_collect(H_MT_OPENAI, true, &r, &o);
		cr_assert(r.complete && o.terminated);
		cr_assert_str_eq(o.text, i ? "second request" : "first");
		h_http_resp_free(&r);
	}
	/* ... then three in one write: answered in order. */
	char body[3][1024], all[4096] = "";
	const char *words[3] = { "one", "two words", "three little words" };
	for (int i = 0; i < 3; i++) {
		h_mt_body(H_MT_OLLAMA, "m", words[i], i != 1, body[i], sizeof body[i]);
		size_t n = strlen(all);
		snprintf(all + n, sizeof all - n, "POST /api/chat HTTP/1.1\r\nhost: x\r\ncontent-length: %zu\r\n\r\n%s",
			 strlen(body[i]), body[i]);
	}
	h_http_send(&c, all, strlen(all));
	for (int i = 0; i < 3; i++) {
		h_http_read(&c, &r);
		h_mt_collect(H_MT_OLLAMA, i != 1, &r, &o);
		cr_assert(r.complete && o.terminated, "pipelined reply %d", i);
		cr_assert_str_eq(o.text, words[i]);
		h_http_resp_free(&r);
	}
	h_http_close(&c);
	/* One connection for five requests, plus this /stats connection. */
	cr_assert_eq(h_mt_stat(&s, "connections_accepted"), 2);
	cr_assert_eq(h_mt_stat(&s, "requests_total"), 5);
	cr_assert_eq(h_mt_stat(&s, "requests_by_format.openai"), 2);
	cr_assert_eq(h_mt_stat(&s, "requests_by_format.ollama"), 3);
	cr_assert_eq(h_mt_stat(&s, "streams_completed"), 4);
	cr_assert_eq(h_mt_stat(&s, "responses_completed"), 1);
	cr_assert(h_mt_stat(&s, "bytes_sent") > 0);
	h_mt_stop(&s);
}

Test(mockllm, test_connection_close_is_honoured)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	h_http_connect(&c, s.port);
	h_http_request(&c, "POST", "/v1/chat/completions", "connection: close\r\n",
		   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"bye\"}]}");
	h_http_read(&c, &r);
	char v[32];
	cr_assert(r.status == 200 && r.complete);
	cr_assert(h_http_header(&r, "connection", v, sizeof v) && !strcmp(v, "close"));
	h_http_resp_free(&r);
	/* Then the server closes: EOF, not more data. */
	h_http_read(&c, &r);
	cr_assert_eq(r.end, 1, "expected EOF, got end %d status %d", r.end, r.status);
	h_http_resp_free(&r);
	h_http_close(&c);
	h_mt_stop(&s);
}

Test(mockllm, test_tool_knob_replies_with_a_tool_call)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	for (int stream = 0; stream < 2; stream++) {
		for (int f = 0; f < H_MT_NFMT; f++) {
			struct h_http_resp r;
			struct h_mt_out o;
			h_mt_chat(&s, f, "m", "find \\\"the\\\" weather", stream, "tool=get_weather", &r, &o);
			const char *fn = h_mt_fmt_names[f];
			cr_assert(r.status == 200 && r.complete, "%s", fn);
			cr_assert_str_eq(o.tool, "get_weather", "%s stream=%d", fn, stream);
			cr_assert_str_eq(o.args, "{\"text\":\"find \\\"the\\\" weather\"}", "%s stream=%d", fn, stream);
			cr_assert(h_http_js_valid(o.args, strlen(o.args)), "%s", fn);
			cr_assert_str_eq(o.finish, h_mt_finish_tool[f], "%s stream=%d", fn, stream);
			cr_assert_str_eq(o.text, "", "%s", fn);
			if (f == H_MT_OPENAI)
				cr_assert_str_eq(o.tool_id, "call_mock_0");
			/* OpenAI and Anthropic stream the arguments in pieces. */
			if (stream && (f == H_MT_OPENAI || f == H_MT_ANTHROPIC))
				cr_assert_eq(o.chunks, 3, "%s: %d argument fragments", fn, o.chunks);
			h_http_resp_free(&r);
		}
	}
	h_mt_stop(&s);
}

Test(mockllm, test_tokens_knob_cycles_the_words)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	for (int f = 0; f < H_MT_NFMT; f++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, f, "m", "red green", true, "tokens=5", &r, &o);
		cr_assert_str_eq(o.text, "red green red green red", "%s", h_mt_fmt_names[f]);
		cr_assert_eq(o.completion, 5, "%s", h_mt_fmt_names[f]);
		cr_assert_eq(o.chunks, 5, "%s", h_mt_fmt_names[f]);
		h_http_resp_free(&r);
	}
	h_mt_stop(&s);
}

Test(mockllm, test_model_suffix_carries_knobs)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_resp r;
	struct h_mt_out o;
	/* In the body's model name, with pacing knobs (correct, not timed). */
	h_mt_chat(&s, H_MT_OPENAI, "gpt-x@tokens=4,ttft_us=1000,itl_us=500,slow_headers_us=100", "one two", true,
		NULL, &r, &o);
	cr_assert_str_eq(o.text, "one two one two");
	cr_assert_str_eq(o.model, "gpt-x");
	h_http_resp_free(&r);
	/* In Gemini's URL path, percent-encoded as clients do. */
	h_mt_chat(&s, H_MT_GEMINI, "gemini-x%40tokens%3D3", "one two", true, NULL, &r, &o);
	cr_assert_str_eq(o.text, "one two one");
	cr_assert_str_eq(o.model, "gemini-x");
	h_http_resp_free(&r);
	/* The suffix wins over the header; an '@' without '=' is a name. */
	h_mt_chat(&s, H_MT_OLLAMA, "claude@20240620@tokens=1", "one two", false, "tokens=2", &r, &o);
	cr_assert_str_eq(o.text, "one");
	cr_assert_str_eq(o.model, "claude@20240620");
	h_http_resp_free(&r);
	/* A bad knob is a 400 in the provider's shape, not a silent default. */
	h_mt_chat(&s, H_MT_ANTHROPIC, "m@tokenz=3", "x", true, NULL, &r, &o);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(o.error, "invalid_request_error");
	h_http_resp_free(&r);
	h_mt_stop(&s);
}

Test(mockllm, test_azure_deployment_path_is_openai)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	struct h_mt_out o;
	h_http_connect(&c, s.port);
	h_http_request(&c, "POST", "/openai/deployments/dep-1@tokens=2/chat/completions?api-version=2024-10-21", NULL,
		   "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x y z\"}]}");
	h_http_read(&c, &r);
	h_http_close(&c);
	h_mt_collect(H_MT_OPENAI, true, &r, &o);
	cr_assert(o.terminated);
	cr_assert_str_eq(o.text, "x y");
	cr_assert_str_eq(o.model, "dep-1");
	h_http_resp_free(&r);
	h_mt_stop(&s);
}

Test(mockllm, test_bad_requests_get_json_errors)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	char v[64];
	/* Unknown path: 404 with a JSON body, connection kept. */
	h_http_connect(&c, s.port);
	h_http_request(&c, "GET", "/v2/nothing", NULL, NULL);
	h_http_read(&c, &r);
	cr_assert_eq(r.status, 404);
	cr_assert(h_http_js_valid(r.body, r.body_len) && h_http_js_set(r.body, r.body_len, "error.message", v, sizeof v));
	h_http_resp_free(&r);
	/* Not JSON: 400 in the provider's shape. */
	h_http_request(&c, "POST", "/v1/chat/completions", NULL, "{not json");
	h_http_read(&c, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(h_http_js_set(r.body, r.body_len, "error.type", v, sizeof v) &&
		  !strcmp(v, "invalid_request_error"));
	h_http_resp_free(&r);
	/* A chunked request body: 411, then the connection closes. */
	static const char chunked[] = "POST /api/chat HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
				      "2\r\n{}\r\n0\r\n\r\n";
	h_http_send(&c, chunked, sizeof chunked - 1);
	h_http_read(&c, &r);
	cr_assert_eq(r.status, 411);
	h_http_resp_free(&r);
	h_http_read(&c, &r);
	cr_assert_eq(r.end, 1, "connection not closed after 411");
	h_http_resp_free(&r);
	h_http_close(&c);
	cr_assert_eq(h_mt_stat(&s, "requests_other"), 2);
	cr_assert_eq(h_mt_stat(&s, "requests_total"), 1);
	h_mt_stop(&s);
}

Test(mockllm, test_expect_100_continue_gets_an_interim_response)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	struct h_mt_out o;
	static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"late body\"}]}";
	char head[256];
	snprintf(head, sizeof head,
		 "POST /api/chat HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: %zu\r\n\r\n",
		 sizeof body - 1);
	h_http_connect(&c, s.port);
	h_http_send(&c, head, strlen(head));
	uint64_t deadline = h_http_now_ms() + H_HTTP_WAIT_MS;
	while (!(c.len && memmem(c.buf, c.len, "\r\n\r\n", 4)))
		cr_assert(h_http_fill(&c, deadline) > 0, "no 100 Continue");
	cr_assert(!strncmp(c.buf, "HTTP/1.1 100 ", 13), "got: %.*s", (int)c.len, c.buf);
	h_http_send(&c, body, sizeof body - 1);
	h_http_read(&c, &r);
	h_mt_collect(H_MT_OLLAMA, true, &r, &o);
	cr_assert_str_eq(o.text, "late body");
	h_http_resp_free(&r);
	h_http_close(&c);
	h_mt_stop(&s);
}

Test(mockllm, test_sigterm_and_sigint_exit_zero_with_streams_open)
{
	int sigs[2] = { SIGTERM, SIGINT };
	for (int i = 0; i < 2; i++) {
		struct h_mt_srv s;
		h_mt_start(&s);
		struct h_http_conn c;
		struct h_http_resp r;
		h_http_connect(&c, s.port);
		h_mt_chat_send(&c, H_MT_GEMINI, "g@stall_after=1", "a b c", true, NULL);
		h_http_read_until(&c, &r, "data: ", 1);
		h_http_resp_free(&r);
		cr_assert(kill(s.pid, sigs[i]) == 0);
		int st = h_mt_reap(&s);
		cr_assert(st != -1, "no exit after signal %d", sigs[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "signal %d: status 0x%x", sigs[i], st);
		h_http_close(&c);
	}
}

Test(mockllm, test_http10_stream_is_raw_and_ends_with_close)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	struct h_http_conn c;
	struct h_http_resp r;
	struct h_mt_out o;
	static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"old client\"}]}";
	char head[256];
	snprintf(head, sizeof head, "POST /api/chat HTTP/1.0\r\ncontent-length: %zu\r\n\r\n", sizeof body - 1);
	h_http_connect(&c, s.port);
	h_http_send(&c, head, strlen(head));
	h_http_send(&c, body, sizeof body - 1);
	h_http_read(&c, &r);
	char v[32];
	cr_assert_eq(r.status, 200);
	cr_assert(!h_http_header(&r, "transfer-encoding", v, sizeof v), "chunked answer to HTTP/1.0");
	cr_assert_eq(r.end, 1, "the body must end with the connection");
	h_mt_collect(H_MT_OLLAMA, true, &r, &o);
	cr_assert(o.terminated);
	cr_assert_str_eq(o.text, "old client");
	h_http_resp_free(&r);
	h_http_close(&c);
	h_mt_stop(&s);
}

Test(mockllm, test_threads_share_the_port_and_the_counters)
{
	struct h_mt_srv s;
	h_mt_start_threads(&s, 2);
	for (int i = 0; i < 8; i++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, i % H_MT_NFMT, "m", "spread me", true, NULL, &r, &o);
		cr_assert_str_eq(o.text, "spread me");
		h_http_resp_free(&r);
	}
	/* Counters are summed over both workers. */
	cr_assert_eq(h_mt_stat(&s, "requests_total"), 8);
	cr_assert_eq(h_mt_stat(&s, "streams_completed"), 8);
	cr_assert_eq(h_mt_stat(&s, "connections_accepted"), 11);
	h_mt_reset(&s);
	cr_assert_eq(h_mt_stat(&s, "requests_total"), 0);
	h_mt_stop(&s);
}
