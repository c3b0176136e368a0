/*
 * harness_mt.c — the mockllm process, its four formats and /stats for the
 * test_mockllm*.c tests; see harness_mt.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness_mt.h"

/* ---- the mockllm process ------------------------------------------------ */

/* Start mockllm on an ephemeral port and read the port from its stdout;
 * threads > 1 adds -t threads. */
void h_mt_start_threads(struct h_mt_srv *s, int threads)
{
	const char *bin = getenv("RINGSIDE_MOCKLLM");
	if (!bin || !bin[0])
		bin = "build/mockllm";
	cr_assert(access(bin, X_OK) == 0, "mockllm binary %s: %s (run `make build/mockllm`)", bin,
		  strerror(errno));
	int p[2];
	cr_assert(pipe(p) == 0);
	pid_t parent = getpid();
	s->pid = fork();
	cr_assert(s->pid >= 0);
	if (s->pid == 0) {
		/* Die with the test process, even when an assertion ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		char t[16];
		snprintf(t, sizeof t, "%d", threads);
		if (threads > 1)
			execl(bin, bin, "-p", "0", "-q", "-t", t, (char *)NULL);
		else
			execl(bin, bin, "-p", "0", "-q", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[128];
	size_t n = 0;
	uint64_t end = h_http_now_ms() + H_HTTP_WAIT_MS;
	while (n < sizeof line - 1 && !memchr(line, '\n', n)) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		uint64_t now = h_http_now_ms();
		cr_assert(now < end && poll(&pfd, 1, (int)(end - now)) == 1, "mockllm did not print its port");
		ssize_t k = read(p[0], line + n, sizeof line - 1 - n);
		cr_assert(k > 0, "mockllm exited before listening");
		n += (size_t)k;
	}
	line[n] = 0;
	close(p[0]);
	cr_assert(sscanf(line, "mockllm listening on 127.0.0.1:%d", &s->port) == 1, "line: %s", line);
}

void h_mt_start(struct h_mt_srv *s)
{
	h_mt_start_threads(s, 1);
}

/* Wait (bounded) for the process; returns its wait status or -1. */
int h_mt_reap(struct h_mt_srv *s)
{
	uint64_t end = h_http_now_ms() + H_HTTP_WAIT_MS;
	int st;
	while (h_http_now_ms() < end) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid)
			return st;
		h_http_sleep_ms(5);
	}
	return -1;
}

/* SIGTERM and assert a clean exit 0 (under ASan: also leak-free). */
void h_mt_stop(struct h_mt_srv *s)
{
	cr_assert(kill(s->pid, SIGTERM) == 0);
	int st = h_mt_reap(s);
	cr_assert(st != -1, "mockllm did not exit after SIGTERM");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mockllm exit status 0x%x", st);
}

/* ---- the four formats ------------------------------------------------------ */

const char *const h_mt_fmt_names[H_MT_NFMT] = { "openai", "anthropic", "gemini", "ollama" };
const char *const h_mt_finish_text[H_MT_NFMT] = { "stop", "end_turn", "STOP", "stop" };
const char *const h_mt_finish_tool[H_MT_NFMT] = { "tool_calls", "tool_use", "STOP", "stop" };

void h_mt_out_init(struct h_mt_out *o)
{
	memset(o, 0, sizeof *o);
	o->prompt = o->completion = -1;
}

static void h_mt_take_num(const char *d, size_t n, const char *path, long *out)
{
	long v = h_http_js_num(d, n, path);
	if (v >= 0)
		*out = v;
}

/* One event's (or body's) JSON, by format. */
void h_mt_event(enum h_mt_fmt f, const char *name, const char *d, size_t n, struct h_mt_out *o)
{
	if (f == H_MT_OPENAI && n == 6 && memcmp(d, "[DONE]", 6) == 0) {
		o->terminated = true;
		return;
	}
	if (!h_http_js_valid(d, n)) {
		o->bad_json++;
		return;
	}
	int before = (int)(strlen(o->text) + strlen(o->args));
	o->events++;
	switch (f) {
	case H_MT_OPENAI:
		if (h_http_js_str(d, n, "error.type", o->error, sizeof o->error))
			o->errors++;
		if (o->events == 1) {
			char role[16] = "";
			o->role_first = h_http_js_str(d, n, "choices.0.delta.role", role, sizeof role) &&
					strcmp(role, "assistant") == 0;
		}
		h_http_js_str(d, n, "choices.0.delta.content", o->text, sizeof o->text);
		h_http_js_str(d, n, "choices.0.message.content", o->text, sizeof o->text);
		for (int m = 0; m < 2; m++) {
			const char *base = m ? "choices.0.message.tool_calls.0." : "choices.0.delta.tool_calls.0.";
			char path[96];
			snprintf(path, sizeof path, "%sfunction.arguments", base);
			h_http_js_str(d, n, path, o->args, sizeof o->args);
			snprintf(path, sizeof path, "%sfunction.name", base);
			h_http_js_str(d, n, path, o->tool, sizeof o->tool);
			snprintf(path, sizeof path, "%sid", base);
			h_http_js_str(d, n, path, o->tool_id, sizeof o->tool_id);
		}
		h_http_js_str(d, n, "choices.0.finish_reason", o->finish, sizeof o->finish);
		h_http_js_set(d, n, "model", o->model, sizeof o->model);
		h_mt_take_num(d, n, "usage.prompt_tokens", &o->prompt);
		h_mt_take_num(d, n, "usage.completion_tokens", &o->completion);
		break;
	case H_MT_ANTHROPIC:
		if (!name || !strcmp(name, "error"))
			if (h_http_js_str(d, n, "error.type", o->error, sizeof o->error))
				o->errors++;
		if (!name) { /* the non-streaming Message */
			h_http_js_str(d, n, "content.0.text", o->text, sizeof o->text);
			h_http_js_str(d, n, "content.0.name", o->tool, sizeof o->tool);
			h_http_js_str(d, n, "content.0.id", o->tool_id, sizeof o->tool_id);
			h_http_js_raw(d, n, "content.0.input", o->args, sizeof o->args);
			h_http_js_str(d, n, "stop_reason", o->finish, sizeof o->finish);
			h_http_js_str(d, n, "model", o->model, sizeof o->model);
			h_mt_take_num(d, n, "usage.input_tokens", &o->prompt);
			h_mt_take_num(d, n, "usage.output_tokens", &o->completion);
			break;
		}
		if (!strcmp(name, "message_start")) {
			h_http_js_str(d, n, "message.model", o->model, sizeof o->model);
			h_mt_take_num(d, n, "message.usage.input_tokens", &o->prompt);
		} else if (!strcmp(name, "content_block_start")) {
			h_http_js_str(d, n, "content_block.name", o->tool, sizeof o->tool);
			h_http_js_str(d, n, "content_block.id", o->tool_id, sizeof o->tool_id);
		} else if (!strcmp(name, "content_block_delta")) {
			h_http_js_str(d, n, "delta.text", o->text, sizeof o->text);
			h_http_js_str(d, n, "delta.partial_json", o->args, sizeof o->args);
		} else if (!strcmp(name, "message_delta")) {
			h_http_js_str(d, n, "delta.stop_reason", o->finish, sizeof o->finish);
			h_mt_take_num(d, n, "usage.output_tokens", &o->completion);
		} else if (!strcmp(name, "message_stop")) {
			o->terminated = true;
		}
		break;
	case H_MT_GEMINI:
		if (h_http_js_str(d, n, "error.status", o->error, sizeof o->error))
			o->errors++;
		h_http_js_str(d, n, "candidates.0.content.parts.0.text", o->text, sizeof o->text);
		h_http_js_str(d, n, "candidates.0.content.parts.0.functionCall.name", o->tool, sizeof o->tool);
		if (!o->args[0])
			h_http_js_raw(d, n, "candidates.0.content.parts.0.functionCall.args", o->args, sizeof o->args);
		if (h_http_js_str(d, n, "candidates.0.finishReason", o->finish, sizeof o->finish))
			o->terminated = true;
		h_http_js_set(d, n, "modelVersion", o->model, sizeof o->model);
		h_mt_take_num(d, n, "usageMetadata.promptTokenCount", &o->prompt);
		h_mt_take_num(d, n, "usageMetadata.candidatesTokenCount", &o->completion);
		break;
	case H_MT_OLLAMA:
		if (h_http_js_str(d, n, "error", o->error, sizeof o->error))
			o->errors++;
		h_http_js_str(d, n, "message.content", o->text, sizeof o->text);
		h_http_js_str(d, n, "message.tool_calls.0.function.name", o->tool, sizeof o->tool);
		if (!o->args[0])
			h_http_js_raw(d, n, "message.tool_calls.0.function.arguments", o->args, sizeof o->args);
		h_http_js_set(d, n, "model", o->model, sizeof o->model);
		if (h_http_js_is(d, n, "done", "true")) {
			o->terminated = true;
			h_http_js_str(d, n, "done_reason", o->finish, sizeof o->finish);
			h_mt_take_num(d, n, "prompt_eval_count", &o->prompt);
			h_mt_take_num(d, n, "eval_count", &o->completion);
		}
		break;
	case H_MT_NFMT:
		break;
	}
	if ((int)(strlen(o->text) + strlen(o->args)) > before)
		o->chunks++;
}

/* Split an SSE body (LF or CRLF lines) into events and feed them. */
static void h_mt_sse(enum h_mt_fmt f, const char *s, size_t n, struct h_mt_out *o)
{
	char name[64] = "", *data = malloc(n + 1);
	size_t dn = 0;
	bool have = false;
	cr_assert(data);
	for (size_t i = 0; i < n;) {
		const char *lf = memchr(s + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - s) : n, next = lf ? end + 1 : n;
		size_t le = end > i && s[end - 1] == '\r' ? end - 1 : end;
		if (le == i) {
			if (have)
				h_mt_event(f, name[0] ? name : "message", data, dn, o);
			name[0] = 0;
			dn = 0;
			have = false;
		} else if (le - i >= 5 && !memcmp(s + i, "data:", 5)) {
			size_t v = i + 5 + (le - i > 5 && s[i + 5] == ' ');
			if (have)
				data[dn++] = '\n';
			memcpy(data + dn, s + v, le - v);
			dn += le - v;
			have = true;
		} else if (le - i >= 6 && !memcmp(s + i, "event:", 6)) {
			size_t v = i + 6 + (le - i > 6 && s[i + 6] == ' ');
			snprintf(name, sizeof name, "%.*s", (int)(le - v), s + v);
		}
		i = next;
	}
	free(data);
}

static void h_mt_ndjson(enum h_mt_fmt f, const char *s, size_t n, struct h_mt_out *o)
{
	for (size_t i = 0; i < n;) {
		const char *lf = memchr(s + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - s) : n;
		if (end > i)
			h_mt_event(f, NULL, s + i, end - i, o);
		i = end + 1;
	}
}

/* Assemble whatever body r holds in format f. */
void h_mt_collect(enum h_mt_fmt f, bool stream, const struct h_http_resp *r, struct h_mt_out *o)
{
	h_mt_out_init(o);
	if (!stream || r->status != 200)
		h_mt_event(f, NULL, r->body ? r->body : "", r->body_len, o);
	else if (f == H_MT_OLLAMA)
		h_mt_ndjson(f, r->body, r->body_len, o);
	else
		h_mt_sse(f, r->body, r->body_len, o);
}

/* A request body for format f with one user message. */
void h_mt_body(enum h_mt_fmt f, const char *model, const char *text, bool stream, char *out, size_t cap)
{
	switch (f) {
	case H_MT_OPENAI:
		snprintf(out, cap,
			 "{\"model\":\"%s\",\"stream\":%s,\"stream_options\":{\"include_usage\":true},"
			 "\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
			 "{\"role\":\"user\",\"content\":\"%s\"}]}",
			 model, stream ? "true" : "false", text);
		break;
	case H_MT_ANTHROPIC:
		snprintf(out, cap,
			 "{\"model\":\"%s\",\"max_tokens\":256,\"stream\":%s,\"system\":\"be brief\","
			 "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"%s\"}]}]}",
			 model, stream ? "true" : "false", text);
		break;
	case H_MT_GEMINI:
		snprintf(out, cap,
			 "{\"systemInstruction\":{\"parts\":[{\"text\":\"be brief\"}]},"
			 "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"%s\"}]}]}",
			 text);
		break;
	default:
		snprintf(out, cap,
			 "{\"model\":\"%s\",\"stream\":%s,\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
			 "{\"role\":\"user\",\"content\":\"%s\"}]}",
			 model, stream ? "true" : "false", text);
		break;
	}
}

static void h_mt_path(enum h_mt_fmt f, const char *model, bool stream, char *out, size_t cap)
{
	switch (f) {
	case H_MT_OPENAI: snprintf(out, cap, "/v1/chat/completions"); break;
	case H_MT_ANTHROPIC: snprintf(out, cap, "/v1/messages"); break;
	case H_MT_GEMINI:
		snprintf(out, cap, "/v1beta/models/%s:%s", model,
			 stream ? "streamGenerateContent?alt=sse" : "generateContent");
		break;
	default: snprintf(out, cap, "/api/chat"); break;
	}
}

/* Send one chat request of format f on c (xmock: x-mock value or NULL). */
void h_mt_chat_send(struct h_http_conn *c, enum h_mt_fmt f, const char *model, const char *text,
			 bool stream, const char *xmock)
{
	char body[2048], path[256], extra[512] = "";
	h_mt_body(f, model, text, stream, body, sizeof body);
	h_mt_path(f, model, stream, path, sizeof path);
	if (xmock)
		snprintf(extra, sizeof extra, "x-mock: %s\r\n", xmock);
	h_http_request(c, "POST", path, extra, body);
}

/* One request on a fresh connection, read and assembled. */
void h_mt_chat(const struct h_mt_srv *s, enum h_mt_fmt f, const char *model, const char *text,
		    bool stream, const char *xmock, struct h_http_resp *r, struct h_mt_out *o)
{
	struct h_http_conn c;
	h_http_connect(&c, s->port);
	h_mt_chat_send(&c, f, model, text, stream, xmock);
	h_http_read(&c, r);
	h_http_close(&c);
	h_mt_collect(f, stream, r, o);
}

/* ---- /stats ----------------------------------------------------------------- */

long h_mt_stat(const struct h_mt_srv *s, const char *path)
{
	struct h_http_conn c;
	struct h_http_resp r;
	h_http_connect(&c, s->port);
	h_http_request(&c, "GET", "/stats", NULL, NULL);
	h_http_read(&c, &r);
	h_http_close(&c);
	cr_assert(r.status == 200 && r.complete, "GET /stats: %d", r.status);
	cr_assert(h_http_js_valid(r.body, r.body_len), "/stats is not JSON: %s", r.body);
	long v = h_http_js_num(r.body, r.body_len, path);
	cr_assert(v >= 0, "/stats has no %s: %s", path, r.body);
	h_http_resp_free(&r);
	return v;
}

void h_mt_reset(const struct h_mt_srv *s)
{
	struct h_http_conn c;
	struct h_http_resp r;
	h_http_connect(&c, s->port);
	h_http_request(&c, "POST", "/reset", NULL, NULL);
	h_http_read(&c, &r);
	h_http_close(&c);
	cr_assert_eq(r.status, 200);
	h_http_resp_free(&r);
}

/* Wait (bounded) until a counter reaches want; the counters of a closed
 * connection move when the server notices, not when the client closes. */
void h_mt_wait_stat(const struct h_mt_srv *s, const char *path, long want)
{
	uint64_t end = h_http_now_ms() + H_HTTP_WAIT_MS;
	long v;
	while ((v = h_mt_stat(s, path)) != want && h_http_now_ms() < end)
		h_http_sleep_ms(5);
	cr_assert_eq(v, want, "%s is %ld, want %ld", path, v, want);
}
