/*
 * test_codec_anthropic.c — decoding by the Anthropic codec: recorded
 * streams, bodies and error replies (tests/fixtures/anthropic_*) at every
 * split, synthesized edge cases and hostile input. The request translation
 * is in test_codec_anthropic_build.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chatreq.h"
#include "config.h"
#include "fx.h"
#include "pcodec.h"
#include "ringside.h"

/* Random splits per fixture, and the largest random chunk. */
#define ANT_SEEDS 200
#define ANT_MAX_CHUNK 64

#define EV(name, json) "event: " name "\ndata: " json "\n\n"
#define ANT_START(in) EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"," \
	"\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":" #in \
	",\"output_tokens\":1}}}")
#define ANT_TEXT_START(i) EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":" #i \
	",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
#define ANT_TEXT(i, t) EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":" #i \
	",\"delta\":{\"type\":\"text_delta\",\"text\":\"" t "\"}}")
#define ANT_TOOL_START(i, id, name) EV("content_block_start", "{\"type\":\"content_block_start\"," \
	"\"index\":" #i ",\"content_block\":{\"type\":\"tool_use\",\"id\":\"" id "\",\"name\":\"" name \
	"\",\"input\":{}}}")
#define ANT_ARGS(i, j) EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":" #i \
	",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"" j "\"}}")
#define ANT_STOP(i) EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" #i "}")
#define ANT_DELTA(reason, out) EV("message_delta", "{\"type\":\"message_delta\",\"delta\":" \
	"{\"stop_reason\":\"" reason "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" #out "}}")
#define ANT_END EV("message_stop", "{\"type\":\"message_stop\"}")

static struct fx_result *ant_alloc(void)
{
	struct fx_result *r = calloc(1, sizeof *r);

	cr_assert_not_null(r);
	return r;
}

static char *ant_fixture(const char *name, size_t *len)
{
	char path[512];
	char *data = fx_read(fx_path(name, path, sizeof path), len);

	cr_assert_not_null(data, "cannot read %s", path);
	return data;
}

/*
 * Path of an expected file fx_check can read. fx_check compares
 * tool_calls[].arguments, while anthropic_stream_tools.expected.json names
 * the same object "input" (Anthropic's word): such a file is copied to a
 * temporary one that says "arguments" too (*tmp = 1: unlink it after).
 */
static void ant_expected(const char *name, char *out, size_t len, int *tmp)
{
	json_t *root, *tools, *t;
	size_t i;
	int fd;

	fx_path(name, out, len);
	*tmp = 0;
	root = json_load_file(out, 0, NULL);
	cr_assert_not_null(root, "cannot load %s", out);
	tools = json_object_get(json_object_get(root, "deliver"), "tool_calls");
	json_array_foreach(tools, i, t) {
		if (!json_object_get(t, "arguments") && json_object_get(t, "input")) {
			json_object_set(t, "arguments", json_object_get(t, "input"));
			*tmp = 1;
		}
	}
	if (*tmp) {
		snprintf(out, len, "/tmp/ant_expected_XXXXXX");
		fd = mkstemp(out);
		cr_assert(fd >= 0);
		cr_assert_eq(json_dumpfd(root, fd, 0), 0);
		close(fd);
	}
	json_decref(root);
}

static void ant_check(const struct fx_result *r, const char *exp, const char *what, size_t split,
		      unsigned seed)
{
	char why[2048];
	const char *diff = fx_check(r, exp, why, sizeof why);

	cr_assert_null(diff, "%s split %zu seed %u: %s", what, split, seed, diff);
}

/* The native finish reason is not part of fx_check: compare it here. */
static void ant_check_raw(const struct fx_result *r, const char *exp)
{
	json_t *root = json_load_file(exp, 0, NULL);
	json_t *raw = json_object_get(json_object_get(root, "deliver"), "finish_reason_native");

	if (json_is_string(raw))
		cr_assert_str_eq(r->finish_raw, json_string_value(raw));
	json_decref(root);
}

static void ant_fixture_stream(const char *base)
{
	char name[256], exp[512];
	struct fx_result *r = ant_alloc();
	size_t len, split;
	unsigned seed;
	int tmp;
	char *data;

	snprintf(name, sizeof name, "%s.sse", base);
	data = ant_fixture(name, &len);
	snprintf(name, sizeof name, "%s.expected.json", base);
	ant_expected(name, exp, sizeof exp, &tmp);

	fx_run_stream(&pc_anthropic, PC_FMT_SSE, data, len, 0, 0, r);
	ant_check(r, exp, base, 0, 0);
	ant_check_raw(r, exp);
	for (split = 1; split <= ANT_MAX_CHUNK; split++) {
		fx_run_stream(&pc_anthropic, PC_FMT_SSE, data, len, split, 0, r);
		ant_check(r, exp, base, split, 0);
	}
	for (seed = 1; seed <= ANT_SEEDS; seed++) {
		fx_run_stream(&pc_anthropic, PC_FMT_SSE, data, len, ANT_MAX_CHUNK, seed, r);
		ant_check(r, exp, base, ANT_MAX_CHUNK, seed);
	}
	if (tmp)
		unlink(exp);
	free(data);
	free(r);
}

/* The same delivery, however it was split. */
static void ant_same(const struct fx_result *a, const struct fx_result *b, size_t split)
{
	cr_assert_str_eq(a->text, b->text, "split %zu", split);
	cr_assert_str_eq(a->reasoning, b->reasoning, "split %zu", split);
	cr_assert_eq(a->n_tools, b->n_tools, "split %zu", split);
	for (unsigned i = 0; i < a->n_tools; i++) {
		cr_assert_str_eq(a->tools[i].id, b->tools[i].id);
		cr_assert_str_eq(a->tools[i].name, b->tools[i].name);
		cr_assert_str_eq(a->tools[i].args, b->tools[i].args);
	}
	cr_assert_eq(a->n_finish, b->n_finish, "split %zu", split);
	cr_assert_str_eq(a->finish, b->finish);
	cr_assert_str_eq(a->finish_raw, b->finish_raw);
	cr_assert_eq(a->n_error, b->n_error, "split %zu", split);
	cr_assert_eq(a->err_code, b->err_code);
	cr_assert_str_eq(a->err_msg, b->err_msg);
	cr_assert_eq(a->prompt_tokens, b->prompt_tokens);
	cr_assert_eq(a->completion_tokens, b->completion_tokens);
}

/* A synthesized stream, whole and split several ways; the codec contract
 * (one end, nothing after it, no empty text) must hold. Caller frees. */
static struct fx_result *ant_stream(const char *sse)
{
	static const size_t splits[] = { 1, 2, 5, 13 };
	struct fx_result *r = ant_alloc(), *o = ant_alloc();
	const char *why;

	fx_run_stream(&pc_anthropic, PC_FMT_SSE, sse, strlen(sse), 0, 0, r);
	why = fx_contract(r);
	cr_assert_null(why, "%s (%s)", why, r->err_msg);
	for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
		fx_run_stream(&pc_anthropic, PC_FMT_SSE, sse, strlen(sse), splits[i], 0, o);
		ant_same(r, o, splits[i]);
	}
	free(o);
	return r;
}

static void ant_assert_error(const struct fx_result *r, int code, int status, int retryable)
{
	cr_assert_eq(r->n_error, 1);
	cr_assert_eq(r->n_finish, 0);
	cr_assert_eq(r->err_code, code, "code %d, want %d (%s)", r->err_code, code, r->err_msg);
	cr_assert_eq(r->err_status, status, "status %d, want %d", r->err_status, status);
	cr_assert_eq(r->err_retryable, retryable);
}

/* ---- recorded fixtures ---------------------------------------------------------------- */

Test(codec_anthropic, fixture_stream_basic)
{
	ant_fixture_stream("anthropic_stream_basic");
}

Test(codec_anthropic, fixture_stream_tools)
{
	ant_fixture_stream("anthropic_stream_tools");
}

Test(codec_anthropic, fixture_stream_thinking_refusal)
{
	ant_fixture_stream("anthropic_stream_thinking_refusal");
}

Test(codec_anthropic, fixture_stream_error_keeps_text)
{
	struct fx_result *r = ant_alloc();
	size_t len;
	char *data = ant_fixture("anthropic_stream_error.sse", &len);

	ant_fixture_stream("anthropic_stream_error");
	fx_run_stream(&pc_anthropic, PC_FMT_SSE, data, len, 0, 0, r);
	ant_assert_error(r, RS_ERR_UNAVAILABLE, 529, 1);
	cr_assert_str_eq(r->err_msg, "Overloaded");
	cr_assert_str_eq(r->text, "Hello");
	free(data);
	free(r);
}

Test(codec_anthropic, fixture_message_body)
{
	struct fx_result *r = ant_alloc();
	char exp[512];
	size_t len;
	int tmp;
	char *data = ant_fixture("anthropic_message.json", &len);

	ant_expected("anthropic_message.expected.json", exp, sizeof exp, &tmp);
	fx_run_body(&pc_anthropic, data, len, r);
	ant_check(r, exp, "anthropic_message.json", 0, 0);
	ant_check_raw(r, exp);
	if (tmp)
		unlink(exp);
	free(data);
	free(r);
}

/* Each recorded error reply, with the status errors.expected.json gives it. */
Test(codec_anthropic, fixture_error_replies)
{
	static const struct { int status, code, retryable; } want[] = {
		{ 400, RS_ERR_UPSTREAM, 0 },     { 401, RS_ERR_UPSTREAM, 0 },
		{ 429, RS_ERR_RATE_LIMITED, 1 }, { 500, RS_ERR_UPSTREAM, 1 },
		{ 529, RS_ERR_UNAVAILABLE, 1 },
	};
	char path[512];
	json_t *all = json_load_file(fx_path("errors.expected.json", path, sizeof path), 0, NULL);
	struct fx_result *r = ant_alloc();
	const char *name;
	json_t *meta;
	int seen = 0;

	cr_assert_not_null(all);
	json_object_foreach(all, name, meta) {
		size_t len, i;
		int status = (int)json_integer_value(json_object_get(meta, "http_status"));
		char *data, msg[256];
		json_t *body;

		if (strncmp(name, "anthropic_error_", 16))
			continue;
		data = ant_fixture(name, &len);
		body = json_loadb(data, len, 0, NULL);
		snprintf(msg, sizeof msg, "%s", json_string_value(json_object_get(json_object_get(body, "error"), "message")));
		fx_run_error(&pc_anthropic, status, data, len, r);
		cr_assert_null(fx_contract(r), "%s: %s", name, fx_contract(r));
		for (i = 0; i < sizeof want / sizeof want[0] && want[i].status != status; i++)
			;
		cr_assert(i < sizeof want / sizeof want[0], "%s: no expectation for %d", name, status);
		ant_assert_error(r, want[i].code, status, want[i].retryable);
		cr_assert_str_eq(r->err_msg, msg, "%s", name);
		json_decref(body);
		free(data);
		seen++;
	}
	cr_assert_eq(seen, 5);
	json_decref(all);
	free(r);
}

/* ---- synthesized streams ---------------------------------------------------------------- */

Test(codec_anthropic, cut_before_message_stop_is_truncated)
{
	struct fx_result *r = ant_stream(ANT_START(5) ANT_TEXT_START(0) ANT_TEXT(0, "Hi")
					 ANT_STOP(0) ANT_DELTA("end_turn", 3));

	ant_assert_error(r, RS_ERR_TRUNCATED, 0, 1);
	cr_assert_str_eq(r->err_msg, "stream ended before message_stop");
	cr_assert_str_eq(r->text, "Hi");
	cr_assert_eq(r->completion_tokens, 3);
	free(r);
	r = ant_stream("");
	ant_assert_error(r, RS_ERR_TRUNCATED, 0, 1);
	free(r);
}

Test(codec_anthropic, error_event_after_text)
{
	struct fx_result *r = ant_stream(ANT_START(5) ANT_TEXT_START(0) ANT_TEXT(0, "partial")
		EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}")
		ANT_TEXT(0, " more") ANT_END);

	ant_assert_error(r, RS_ERR_UPSTREAM, 500, 1);
	cr_assert_str_eq(r->err_msg, "Internal server error");
	cr_assert_str_eq(r->text, "partial");
	cr_assert_eq(r->after_end, 0);
	free(r);

	r = ant_stream(EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}"));
	ant_assert_error(r, RS_ERR_RATE_LIMITED, 429, 1);
	free(r);
	r = ant_stream(EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad\"}}"));
	ant_assert_error(r, RS_ERR_UPSTREAM, 400, 0);
	free(r);
	/* A type we do not know: a plain upstream error, not worth a retry. */
	r = ant_stream(EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"brand_new_error\"}}"));
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	cr_assert_str_eq(r->err_msg, "brand_new_error");
	free(r);
	r = ant_stream(ANT_START(1) "event: error\ndata:\n\n");
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	free(r);
}

Test(codec_anthropic, unknown_events_and_deltas_are_ignored)
{
	struct fx_result *r = ant_stream(ANT_START(7)
		EV("future_event", "{\"type\":\"future_event\",\"payload\":{\"x\":[1,2,3]}}")
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
		   "{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}")
		ANT_ARGS(0, "{\\\"query\\\":\\\"x\\\"}") ANT_STOP(0)
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
		   "{\"type\":\"redacted_thinking\",\"data\":\"abc\"}}")
		ANT_STOP(1) ANT_TEXT_START(2)
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
		   "{\"type\":\"citations_delta\",\"citation\":{\"type\":\"char_location\"}}}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
		   "{\"type\":\"brand_new_delta\",\"text\":\"not for you\"}}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
		   "{\"type\":\"signature_delta\",\"signature\":\"c2ln\"}}")
		"event: ping\n\n" ": comment\n\n"
		ANT_TEXT(2, "ok") ANT_STOP(2) ANT_DELTA("end_turn", 2) ANT_END);

	cr_assert_str_eq(r->text, "ok");
	cr_assert_eq(r->n_tools, 0);
	cr_assert_eq(r->reasoning_len, 0);
	cr_assert_str_eq(r->finish, "stop");
	free(r);
}

Test(codec_anthropic, two_tool_calls_after_text)
{
	/* Deltas of the two calls interleave to prove the block map, not
	 * arrival order, decides which call a fragment belongs to. */
	struct fx_result *r = ant_stream(ANT_START(20) ANT_TEXT_START(0) ANT_TEXT(0, "Checking.")
		ANT_STOP(0) ANT_TOOL_START(1, "toolu_A", "get_weather")
		ANT_TOOL_START(2, "toolu_B", "get_time") ANT_ARGS(1, "{\\\"city\\\":")
		ANT_ARGS(2, "{\\\"tz\\\":\\\"CET\\\"}") ANT_ARGS(1, "\\\"Paris\\\"}")
		ANT_STOP(1) ANT_STOP(2) ANT_DELTA("tool_use", 30) ANT_END);

	cr_assert_str_eq(r->text, "Checking.");
	cr_assert_eq(r->n_tools, 2);
	cr_assert_str_eq(r->tools[0].id, "toolu_A");
	cr_assert_str_eq(r->tools[0].name, "get_weather");
	cr_assert_str_eq(r->tools[0].args, "{\"city\":\"Paris\"}");
	cr_assert_str_eq(r->tools[1].id, "toolu_B");
	cr_assert_str_eq(r->tools[1].name, "get_time");
	cr_assert_str_eq(r->tools[1].args, "{\"tz\":\"CET\"}");
	cr_assert_str_eq(r->finish, "tool_calls");
	cr_assert_str_eq(r->finish_raw, "tool_use");
	cr_assert_eq(r->prompt_tokens, 20);
	cr_assert_eq(r->completion_tokens, 30);
	free(r);
}

Test(codec_anthropic, empty_partial_json)
{
	/* Empty fragments are skipped; a call that got no fragment at all
	 * takes no arguments, which goes out as "{}" so clients can parse it. */
	struct fx_result *r = ant_stream(ANT_START(3) ANT_TOOL_START(0, "toolu_1", "ping")
		ANT_ARGS(0, "") ANT_STOP(0) ANT_TOOL_START(1, "toolu_2", "echo") ANT_ARGS(1, "")
		ANT_ARGS(1, "{\\\"a\\\":1}") ANT_ARGS(1, "") ANT_STOP(1) ANT_DELTA("tool_use", 9) ANT_END);

	cr_assert_eq(r->n_tools, 2);
	cr_assert_str_eq(r->tools[0].args, "{}");
	cr_assert_str_eq(r->tools[1].args, "{\"a\":1}");
	free(r);
}

Test(codec_anthropic, thinking_usage_and_cache_tokens)
{
	struct fx_result *r = ant_stream(
		EV("message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
		   "\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":1000,\"output_tokens\":1}}}")
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
		   "{\"type\":\"thinking\",\"thinking\":\"Let me \",\"signature\":\"\"}}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
		   "{\"type\":\"thinking_delta\",\"thinking\":\"think.\"}}")
		ANT_STOP(0)
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
		   "{\"type\":\"text\",\"text\":\"Start \"}}")
		ANT_TEXT(1, "end \\u00e9\\u0000!") ANT_STOP(1) ANT_DELTA("max_tokens", 40) ANT_END);

	cr_assert_str_eq(r->reasoning, "Let me think.");
	cr_assert_eq(r->text_len, 14);
	cr_assert(!memcmp(r->text, "Start end \xc3\xa9\0!", 14));
	cr_assert_eq(r->prompt_tokens, 1110);
	cr_assert_eq(r->completion_tokens, 40);
	cr_assert_str_eq(r->finish, "length");
	cr_assert_str_eq(r->finish_raw, "max_tokens");
	free(r);
}

Test(codec_anthropic, stop_reasons)
{
	static const struct { const char *stream, *finish, *raw; } cases[] = {
		{ ANT_DELTA("end_turn", 1) ANT_END, "stop", "end_turn" },
		{ ANT_DELTA("stop_sequence", 1) ANT_END, "stop", "stop_sequence" },
		{ ANT_DELTA("pause_turn", 1) ANT_END, "stop", "pause_turn" },
		{ ANT_DELTA("refusal", 1) ANT_END, "content_filter", "refusal" },
		{ ANT_DELTA("something_new", 1) ANT_END, "stop", "something_new" },
		{ ANT_DELTA("Not A Reason\\n", 1) ANT_END, "stop", "unknown" },
		{ ANT_END, "stop", "" },
		/* message_stop with empty data still ends the reply */
		{ ANT_DELTA("end_turn", 1) "event: message_stop\ndata:\n\n", "stop", "end_turn" },
		/* the event name stands in for a missing data.type */
		{ ANT_DELTA("end_turn", 1) "event: message_stop\ndata: {}\n\n", "stop", "end_turn" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fx_result *r = ant_stream(cases[i].stream);

		cr_assert_eq(r->n_finish, 1, "case %zu", i);
		cr_assert_str_eq(r->finish, cases[i].finish, "case %zu", i);
		cr_assert_str_eq(r->finish_raw, cases[i].raw, "case %zu", i);
		free(r);
	}
}

Test(codec_anthropic, malformed_json_is_a_typed_error)
{
	struct fx_result *r = ant_stream(ANT_START(1) ANT_TEXT_START(0) ANT_TEXT(0, "kept")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,") ANT_END);

	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	cr_assert(strstr(r->err_msg, "malformed event"), "%s", r->err_msg);
	cr_assert_str_eq(r->text, "kept");
	free(r);
}

/* ---- hostile streams ----------------------------------------------------------------------- */

static struct fx_result *ant_stream_whole(const char *sse, size_t len)
{
	struct fx_result *r = ant_alloc();

	fx_run_stream(&pc_anthropic, PC_FMT_SSE, sse, len, 0, 0, r);
	cr_assert_null(fx_contract(r), "%s", fx_contract(r));
	return r;
}

Test(codec_anthropic, hostile_garbage_event)
{
	/* Just under the framing's 1 MiB event bound, so the codec sees it. */
	size_t n = 1000000, off = 0;
	char *sse = malloc(n + 64);
	struct fx_result *r;

	cr_assert_not_null(sse);
	off += (size_t)sprintf(sse, "event: content_block_delta\ndata: ");
	for (size_t i = 0; i < n; i++)
		sse[off++] = (char)('!' + (i * 7919) % 90);
	memcpy(sse + off, "\n\n", 3);
	r = ant_stream_whole(sse, off + 2);
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	cr_assert(strlen(r->err_msg) < 100);
	free(r);
	free(sse);
}

Test(codec_anthropic, hostile_deep_nesting)
{
	size_t depth = 100000, off = 0;
	char *sse = malloc(depth * 2 + 64);
	struct fx_result *r;

	cr_assert_not_null(sse);
	off += (size_t)sprintf(sse, "data: ");
	for (size_t i = 0; i < depth; i++)
		sse[off++] = '[';
	for (size_t i = 0; i < depth; i++)
		sse[off++] = ']';
	memcpy(sse + off, "\n\n", 3);
	r = ant_stream_whole(sse, off + 2);
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	free(r);

	/* Nesting within jansson's limit, where we do not look, is harmless. */
	off = (size_t)sprintf(sse, ANT_START(2) "data: {\"type\":\"x\",\"deep\":");
	for (size_t i = 0; i < 1000; i++)
		sse[off++] = '[';
	for (size_t i = 0; i < 1000; i++)
		sse[off++] = ']';
	off += (size_t)sprintf(sse + off, "}\n\n" ANT_END);
	r = ant_stream_whole(sse, off);
	cr_assert_eq(r->n_finish, 1);
	free(r);
	free(sse);
}

Test(codec_anthropic, hostile_not_objects_and_bad_utf8)
{
	static const char *const cases[] = {
		"data: 42\n\n",
		"data: \"message_stop\"\n\n",
		"data: [1,2]\n\n",
		"event: message_stop\ndata: null\n\n",
		ANT_TEXT_START(0) "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
		"\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\xff\xfe\xc3\"}}\n\n",
		/* a tool_use block the block map cannot hold */
		ANT_TOOL_START(256, "toolu_x", "f"),
		ANT_TOOL_START(-1, "toolu_x", "f"),
		EV("content_block_start", "{\"type\":\"content_block_start\",\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}"),
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":\"0\",\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}"),
		/* a tool call without a name cannot be reported */
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\"}}"),
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fx_result *r = ant_stream(cases[i]);

		cr_assert_eq(r->n_error, 1, "case %zu", i);
		cr_assert_eq(r->err_code, RS_ERR_UPSTREAM, "case %zu", i);
		cr_assert_eq(r->err_retryable, 0, "case %zu", i);
		free(r);
	}
}

Test(codec_anthropic, hostile_odd_but_harmless)
{
	/* Indexes the map never saw, deltas of the wrong shape, fields of the
	 * wrong type: nothing to report, nothing broken. The tool_use at the
	 * last index the map holds still works, and its id is invented when
	 * missing. */
	struct fx_result *r = ant_stream(ANT_START(1) ANT_ARGS(7, "{}") ANT_ARGS(999, "{}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":5}}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":\"text_delta\"}")
		EV("content_block_delta", "{\"type\":\"content_block_delta\"}")
		EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":7},\"usage\":{\"output_tokens\":-5}}")
		EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":255,\"content_block\":{\"type\":\"tool_use\",\"name\":\"f\"}}")
		ANT_ARGS(255, "{}") ANT_END);

	cr_assert_eq(r->n_finish, 1);
	cr_assert_eq(r->text_len, 0);
	cr_assert_eq(r->n_tools, 1);
	cr_assert_str_eq(r->tools[0].id, "call_0");
	cr_assert_str_eq(r->tools[0].args, "{}");
	cr_assert_eq(r->completion_tokens, 0);
	free(r);
}

/* Tool calls reusing one block index cannot grow the ordinals past the
 * bound, however many arrive. */
Test(codec_anthropic, hostile_tool_call_flood)
{
	const char *one = ANT_TOOL_START(0, "toolu_x", "f");
	size_t n = 300, len = strlen(one), off = 0;
	char *sse = malloc(n * len + 1);
	struct fx_result *r = ant_alloc();

	cr_assert_not_null(sse);
	for (size_t i = 0; i < n; i++, off += len)
		memcpy(sse + off, one, len);
	sse[off] = '\0';
	fx_run_stream(&pc_anthropic, PC_FMT_SSE, sse, off, 0, 0, r);
	cr_assert_eq(r->n_error, 1);
	cr_assert_eq(r->n_finish, 0);
	cr_assert_eq(r->err_code, RS_ERR_UPSTREAM);
	cr_assert(strstr(r->err_msg, "256 blocks"), "%s", r->err_msg);
	free(r);
	free(sse);
}

Test(codec_anthropic, nothing_after_the_end)
{
	struct fx_result *r = ant_stream(ANT_START(1) ANT_END ANT_TEXT_START(0) ANT_TEXT(0, "late")
					 EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}"));

	cr_assert_eq(r->n_finish, 1);
	cr_assert_eq(r->text_len, 0);
	free(r);
}

/* ---- whole replies and HTTP errors ------------------------------------------------------------ */

static struct fx_result *ant_body(const char *body)
{
	struct fx_result *r = ant_alloc();

	fx_run_body(&pc_anthropic, body, strlen(body), r);
	cr_assert_null(fx_contract(r), "%s", fx_contract(r));
	return r;
}

Test(codec_anthropic, body_with_thinking_and_tools)
{
	struct fx_result *r = ant_body("{\"type\":\"message\",\"content\":["
		"{\"type\":\"thinking\",\"thinking\":\"Hmm.\",\"signature\":\"x\"},"
		"{\"type\":\"text\",\"text\":\"Two \"},{\"type\":\"text\",\"text\":\"calls.\"},"
		"{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"a\",\"input\":{\"k\":[1,\"v\"]}},"
		"{\"type\":\"server_tool_use\",\"id\":\"srv\",\"name\":\"web_search\",\"input\":{}},"
		"{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"b\",\"input\":{}}],"
		"\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}");

	cr_assert_str_eq(r->reasoning, "Hmm.");
	cr_assert_str_eq(r->text, "Two calls.");
	cr_assert_eq(r->n_tools, 2);
	cr_assert_str_eq(r->tools[0].id, "toolu_1");
	cr_assert_str_eq(r->tools[0].args, "{\"k\":[1,\"v\"]}");
	cr_assert_str_eq(r->tools[1].name, "b");
	cr_assert_str_eq(r->tools[1].args, "{}");
	cr_assert_str_eq(r->finish, "tool_calls");
	cr_assert_eq(r->prompt_tokens, 3);
	cr_assert_eq(r->completion_tokens, 4);
	free(r);
}

Test(codec_anthropic, body_errors)
{
	struct fx_result *r = ant_body("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");

	ant_assert_error(r, RS_ERR_UNAVAILABLE, 529, 1);
	cr_assert_str_eq(r->err_msg, "Overloaded");
	free(r);
	r = ant_body("<html>502</html>");
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	free(r);
	r = ant_body("[]");
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	free(r);
	r = ant_body("{\"type\":\"message\"}");
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	free(r);
	r = ant_body("");
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	free(r);
	r = ant_body("{\"content\":[{\"type\":\"text\",\"text\":\"x\"},{\"type\":\"tool_use\",\"id\":\"t\"}]}");
	ant_assert_error(r, RS_ERR_UPSTREAM, 0, 0);
	cr_assert_str_eq(r->text, "x");
	free(r);
}

static struct fx_result *ant_http_error(int status, const char *body)
{
	struct fx_result *r = ant_alloc();

	fx_run_error(&pc_anthropic, status, body, body ? strlen(body) : 0, r);
	cr_assert_null(fx_contract(r), "%s", fx_contract(r));
	return r;
}

Test(codec_anthropic, http_error_bodies)
{
	struct fx_result *r = ant_http_error(502, "<html><body>Bad gateway</body></html>");

	ant_assert_error(r, RS_ERR_UPSTREAM, 502, 1);
	cr_assert_str_eq(r->err_msg, "HTTP 502");
	free(r);
	r = ant_http_error(503, NULL);
	ant_assert_error(r, RS_ERR_UNAVAILABLE, 503, 1);
	cr_assert_str_eq(r->err_msg, "HTTP 503");
	free(r);
	r = ant_http_error(413, "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\"}}");
	ant_assert_error(r, RS_ERR_UPSTREAM, 413, 0);
	cr_assert_str_eq(r->err_msg, "request_too_large");
	free(r);
	/* A body cut mid-way is no JSON: the status speaks alone. */
	r = ant_http_error(429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_li");
	ant_assert_error(r, RS_ERR_RATE_LIMITED, 429, 1);
	cr_assert_str_eq(r->err_msg, "HTTP 429");
	free(r);
	/* The provider's words never carry a key out. */
	r = ant_http_error(401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
			   "\"message\":\"invalid x-api-key sk-ant-api03-AbCdEf0123456789xyz\"}}");
	ant_assert_error(r, RS_ERR_UPSTREAM, 401, 0);
	cr_assert(!strstr(r->err_msg, "AbCdEf"), "%s", r->err_msg);
	cr_assert(strstr(r->err_msg, "[redacted]"), "%s", r->err_msg);
	free(r);
}
