/*
 * test_codec_gemini.c — the Gemini codec against the recorded SDK test data
 * (tests/fixtures/gemini_*), split every way, plus synthesized edge cases,
 * hostile input, and the request translation.
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

/* Split sizes and random seeds every stream fixture is fed with. */
#define GT_MAX_SPLIT 64
#define GT_SEEDS 200

static struct fx_result gt_r;

/*
 * The expected file to compare a fixture with. Two fixture conventions
 * differ from the codec's on purpose, and are patched into a temporary
 * copy: the thinking fixture spells tool arguments "args" (fx_check reads
 * "arguments"), and it calls STOP after a function call "stop", where the
 * codec says "tool_calls" as OpenAI does (what agent loops test for).
 */
static const char *gt_expected(const char *fixture, char *path, size_t len, int *tmp)
{
	char name[256], orig[512];
	json_t *root, *dv, *tools, *t;
	size_t i;
	int fd;

	snprintf(name, sizeof name, "%.*s.expected.json", (int)(strrchr(fixture, '.') - fixture), fixture);
	fx_path(name, orig, sizeof orig);
	*tmp = 0;
	root = json_load_file(orig, 0, NULL);
	cr_assert_not_null(root, "cannot load %s", orig);
	dv = json_object_get(root, "deliver");
	tools = json_object_get(dv, "tool_calls");
	if (!json_array_size(tools)) {
		json_decref(root);
		snprintf(path, len, "%s", orig);
		return path;
	}
	json_array_foreach(tools, i, t)
		if (!json_object_get(t, "arguments") && json_object_get(t, "args"))
			json_object_set(t, "arguments", json_object_get(t, "args"));
	if (!strcmp(json_string_value(json_object_get(dv, "finish_reason")), "stop"))
		json_object_set_new(dv, "finish_reason", json_string("tool_calls"));
	snprintf(path, len, "/tmp/rs-gemini-expected-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert_eq(json_dump_file(root, path, 0), 0);
	json_decref(root);
	*tmp = 1;
	return path;
}

static void gt_fixture(const char *fixture)
{
	char fp[512], ep[512], why[1024];
	size_t len;
	int tmp;
	char *data = fx_read(fx_path(fixture, fp, sizeof fp), &len);
	const char *bad;

	cr_assert_not_null(data, "cannot read %s", fp);
	gt_expected(fixture, ep, sizeof ep, &tmp);
	fx_run_stream(&pc_gemini, PC_FMT_SSE, data, len, 0, 0, &gt_r);
	bad = fx_check(&gt_r, ep, why, sizeof why);
	cr_assert_null(bad, "%s whole: %s", fixture, bad);
	for (size_t split = 1; split <= GT_MAX_SPLIT; split++) {
		fx_run_stream(&pc_gemini, PC_FMT_SSE, data, len, split, 0, &gt_r);
		bad = fx_check(&gt_r, ep, why, sizeof why);
		cr_assert_null(bad, "%s split %zu: %s", fixture, split, bad);
	}
	for (unsigned seed = 1; seed <= GT_SEEDS; seed++) {
		fx_run_stream(&pc_gemini, PC_FMT_SSE, data, len, GT_MAX_SPLIT, seed, &gt_r);
		bad = fx_check(&gt_r, ep, why, sizeof why);
		cr_assert_null(bad, "%s seed %u: %s", fixture, seed, bad);
	}
	if (tmp)
		unlink(ep);
	free(data);
}

Test(codec_gemini, fixture_basic) { gt_fixture("gemini_stream.sse"); }
Test(codec_gemini, fixture_utf8) { gt_fixture("gemini_stream_utf8.sse"); }
Test(codec_gemini, fixture_prompt_blocked)
{
	gt_fixture("gemini_stream_prompt_blocked.sse");
	cr_assert_str_eq(gt_r.finish, "content_filter");
	cr_assert_str_eq(gt_r.finish_raw, "BLOCKED:SAFETY");
}

Test(codec_gemini, fixture_thinking_function_call)
{
	gt_fixture("gemini_stream_thinking_function_call.sse");
	cr_assert_eq(gt_r.n_tools, 1);
	cr_assert_str_eq(gt_r.tools[0].id, "call_0");
	cr_assert_str_eq(gt_r.tools[0].args, "{}");
	cr_assert_str_eq(gt_r.finish, "tool_calls");
	cr_assert_str_eq(gt_r.finish_raw, "STOP");
	/* Thought tokens (168) are not in candidatesTokenCount. */
	cr_assert_eq(gt_r.prompt_tokens, 38);
	cr_assert_eq(gt_r.completion_tokens, 6);
}

Test(codec_gemini, fixture_error_midstream)
{
	gt_fixture("gemini_stream_error_midstream.sse");
	cr_assert_str_eq(gt_r.text, "First Second ");
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(gt_r.err_status, 499);
	cr_assert_eq(gt_r.err_retryable, 1);
	cr_assert_str_eq(gt_r.err_msg, "CANCELLED: The operation was cancelled.");
}

Test(codec_gemini, fixture_generate_body)
{
	char fp[512], ep[512], why[1024];
	size_t len;
	char *data = fx_read(fx_path("gemini_generate.json", fp, sizeof fp), &len);
	const char *bad;

	cr_assert_not_null(data);
	fx_run_body(&pc_gemini, data, len, &gt_r);
	bad = fx_check(&gt_r, fx_path("gemini_generate.expected.json", ep, sizeof ep), why, sizeof why);
	cr_assert_null(bad, "%s", bad);
	cr_assert_str_eq(gt_r.finish_raw, "STOP");
	free(data);
}

static void gt_error_fixture(const char *name, const char *want_msg)
{
	char fp[512], ep[512];
	size_t len;
	char *data = fx_read(fx_path(name, fp, sizeof fp), &len);
	json_t *all = json_load_file(fx_path("errors.expected.json", ep, sizeof ep), 0, NULL);
	int status = (int)json_integer_value(json_object_get(json_object_get(all, name), "http_status"));

	cr_assert_not_null(data);
	cr_assert(status >= 400, "no http_status for %s", name);
	fx_run_error(&pc_gemini, status, data, len, &gt_r);
	cr_assert_null(fx_contract(&gt_r));
	cr_assert_eq(gt_r.n_error, 1);
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(gt_r.err_status, status);
	cr_assert_eq(gt_r.err_retryable, 0);
	cr_assert_str_eq(gt_r.err_msg, want_msg);
	json_decref(all);
	free(data);
}

Test(codec_gemini, error_bodies)
{
	gt_error_fixture("gemini_error_400_api_key.json",
			 "INVALID_ARGUMENT: API key not valid. Please pass a valid API key.");
	/* The DebugInfo detail names the key; it never reaches the message. */
	cr_assert_null(strstr(gt_r.err_msg, "key1234"));
	gt_error_fixture("gemini_error_404_model.json",
			 "NOT_FOUND: models/gemini-5.0-flash is not found for API version v1, or is not "
			 "supported for generateContent. Call ListModels to see the list of available "
			 "models and their supported methods.");
}

/* ---- synthesized streams ------------------------------------------------------------ */

static void gt_stream(const char *sse)
{
	fx_run_stream(&pc_gemini, PC_FMT_SSE, sse, strlen(sse), 0, 0, &gt_r);
	cr_assert_null(fx_contract(&gt_r), "%s (rc %d)", fx_contract(&gt_r), gt_r.rc);
}

#define GT_TEXT(t) "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"" t "\"}],\"role\":\"model\"}}]}\r\n\r\n"
#define GT_FINISH(r) "data: {\"candidates\":[{\"content\":{\"parts\":[]},\"finishReason\":\"" r "\"}]}\r\n\r\n"

Test(codec_gemini, data_error_event_keeps_text)
{
	gt_stream(GT_TEXT("Hel") GT_TEXT("lo")
		  "data: {\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n");
	cr_assert_str_eq(gt_r.text, "Hello");
	cr_assert_eq(gt_r.err_code, RS_ERR_RATE_LIMITED);
	cr_assert_eq(gt_r.err_status, 429);
	cr_assert_eq(gt_r.err_retryable, 1);
	cr_assert_str_eq(gt_r.err_msg, "RESOURCE_EXHAUSTED: Resource has been exhausted");

	gt_stream("data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n");
	cr_assert_eq(gt_r.err_code, RS_ERR_UNAVAILABLE);
	cr_assert_eq(gt_r.err_retryable, 1);

	/* No code, only a status name: classified by the name. */
	gt_stream(GT_TEXT("x") "data: {\"error\":{\"message\":\"boom\",\"status\":\"INTERNAL\"}}\n\n");
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(gt_r.err_status, 500);
	cr_assert_eq(gt_r.err_retryable, 1);
	/* Nothing after the error counts, not even a finish. */
	gt_stream("data: {\"error\":{\"code\":400,\"message\":\"bad\"}}\n\n" GT_FINISH("STOP"));
	cr_assert_eq(gt_r.n_error, 1);
	cr_assert_eq(gt_r.err_retryable, 0);
}

Test(codec_gemini, function_calls_finish_tool_calls)
{
	gt_stream("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me check.\"},"
		  "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\",\"days\":2}}}]}}]}\n\n"
		  "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"id\":\"fc-7\",\"name\":\"now\"}}]},"
		  "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":11,\"candidatesTokenCount\":9}}\n\n");
	cr_assert_str_eq(gt_r.text, "Let me check.");
	cr_assert_eq(gt_r.n_tools, 2);
	cr_assert_str_eq(gt_r.tools[0].id, "call_0");
	cr_assert_str_eq(gt_r.tools[0].name, "get_weather");
	cr_assert_str_eq(gt_r.tools[0].args, "{\"city\":\"Paris\",\"days\":2}");
	cr_assert_str_eq(gt_r.tools[1].id, "fc-7");
	cr_assert_str_eq(gt_r.tools[1].args, "{}");
	cr_assert_str_eq(gt_r.finish, "tool_calls");
	cr_assert_eq(gt_r.prompt_tokens, 11);
	cr_assert_eq(gt_r.completion_tokens, 9);
}

Test(codec_gemini, finish_reasons)
{
	static const char *const cases[][2] = {
		{ "STOP", "stop" },	       { "MAX_TOKENS", "length" },
		{ "SAFETY", "content_filter" }, { "RECITATION", "content_filter" },
		{ "SPII", "content_filter" },   { "BLOCKLIST", "content_filter" },
		{ "OTHER", "stop" },	       { "SOMETHING_NEW", "stop" },
	};
	char buf[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, GT_TEXT("a") "data: {\"candidates\":[{\"finishReason\":\"%s\"}]}\n\n",
			 cases[i][0]);
		gt_stream(buf);
		cr_assert_eq(gt_r.n_finish, 1, "%s", cases[i][0]);
		cr_assert_str_eq(gt_r.finish, cases[i][1], "%s", cases[i][0]);
		cr_assert_str_eq(gt_r.finish_raw, cases[i][0]);
	}
	/* A call the model could not form is no answer: a retryable error. */
	gt_stream(GT_TEXT("a") GT_FINISH("MALFORMED_FUNCTION_CALL"));
	cr_assert_eq(gt_r.n_error, 1);
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(gt_r.err_retryable, 1);
	/* MAX_TOKENS stays length even after a call. */
	gt_stream("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]},"
		  "\"finishReason\":\"MAX_TOKENS\"}]}\n\n");
	cr_assert_str_eq(gt_r.finish, "length");
}

Test(codec_gemini, eof_without_finish_is_truncated)
{
	gt_stream(GT_TEXT("Hello, wor"));
	cr_assert_str_eq(gt_r.text, "Hello, wor");
	cr_assert_eq(gt_r.err_code, RS_ERR_TRUNCATED);
	cr_assert_eq(gt_r.err_retryable, 1);
	gt_stream("");
	cr_assert_eq(gt_r.err_code, RS_ERR_TRUNCATED);
	/* A comment or an empty event is no finish either. */
	gt_stream(": keep-alive\n\ndata:\n\n");
	cr_assert_eq(gt_r.err_code, RS_ERR_TRUNCATED);
}

Test(codec_gemini, usage_last_wins_and_unknown_keys_ignored)
{
	gt_stream("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"newKey\":[1]}]},\"citationMetadata\":{}}],"
		  "\"usageMetadata\":{\"promptTokenCount\":5,\"totalTokenCount\":5},\"modelVersion\":\"x\",\"fresh\":{\"a\":1}}\n\n"
		  "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"},{\"executableCode\":{}},{\"thoughtSignature\":\"zz\"}]},"
		  "\"finishReason\":\"STOP\",\"groundingMetadata\":{}}],\"usageMetadata\":{\"promptTokenCount\":5,"
		  "\"candidatesTokenCount\":2,\"thoughtsTokenCount\":30}}\n\n");
	cr_assert_str_eq(gt_r.text, "ab");
	cr_assert_str_eq(gt_r.finish, "stop");
	cr_assert_eq(gt_r.prompt_tokens, 5);
	cr_assert_eq(gt_r.completion_tokens, 2);
	/* Thoughts go to reasoning, never to the answer; empty text is no event. */
	gt_stream("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hmm\",\"thought\":true},{\"text\":\"\"},"
		  "{\"text\":\"ok\"}]},\"finishReason\":\"STOP\"}]}\n\n");
	cr_assert_str_eq(gt_r.reasoning, "hmm");
	cr_assert_str_eq(gt_r.text, "ok");
	cr_assert_eq(gt_r.have_usage, 0);
}

Test(codec_gemini, malformed_and_hostile_events)
{
	static const char *const bad[] = {
		"data: {\"candidates\": [\n\n",				/* cut JSON */
		"data: [1,2,3]\n\n",					/* not an object */
		"data: \"text\"\n\n",
		"data: 42\n\n",
		"data: null\n\n",
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\xff\xfe\"}]}}]}\n\n", /* bad UTF-8 */
		"data: {\"a\":1}{\"b\":2}\n\n",				/* trailing garbage */
		"<html>502 Bad Gateway</html>\n",			/* stray non-JSON line */
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"args\":{}}}]}}]}\n\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[512];
		snprintf(buf, sizeof buf, GT_TEXT("kept") "%s" GT_FINISH("STOP"), bad[i]);
		gt_stream(buf);
		cr_assert_eq(gt_r.n_error, 1, "case %zu", i);
		cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM, "case %zu", i);
		cr_assert_eq(gt_r.err_retryable, 0, "case %zu", i);
		cr_assert_str_eq(gt_r.text, "kept", "case %zu", i);
	}
}

Test(codec_gemini, huge_and_deep_input)
{
	/* Just under the runner's 1 MiB event bound. */
	size_t n = 1000000, deep = 200000;
	char *buf = malloc(n + 32);

	cr_assert_not_null(buf);
	memcpy(buf, "data: ", 6);
	for (size_t i = 6; i < n; i++)
		buf[i] = (char)('!' + i % 90);
	memcpy(buf + n, "\n\n", 3);
	gt_stream(buf);
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);

	/* Nesting far beyond the parser's depth limit. */
	memcpy(buf, "data: {\"x\":", 11);
	for (size_t i = 0; i < deep; i++)
		buf[11 + i] = '[';
	for (size_t i = 0; i < deep; i++)
		buf[11 + deep + i] = ']';
	memcpy(buf + 11 + 2 * deep, "}\n\n", 4);
	gt_stream(buf);
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	free(buf);
}

static int gt_stop_text(void *arg, enum uev_text kind, const char *p, size_t n)
{
	(void)arg, (void)kind, (void)p, (void)n;
	return -EPIPE;
}

Test(codec_gemini, sink_error_stops_decoding)
{
	struct fx_result r;
	struct uev_sink s = { .arg = &r, .text = gt_stop_text };
	struct pc_dec d = { .codec = &pc_gemini };
	const char *ev = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}";

	cr_assert_eq(pc_gemini.dec_init(&d), 0);
	cr_assert_eq(pc_gemini.on_event(&d, "", 0, ev, strlen(ev), &s), -EPIPE);
	pc_gemini.dec_free(&d);
}

Test(codec_gemini, unary_bodies)
{
	static const char err200[] = "{\"error\":{\"code\":500,\"message\":\"Internal error\",\"status\":\"INTERNAL\"}}";
	static const char nofinish[] = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}";

	fx_run_body(&pc_gemini, err200, strlen(err200), &gt_r);
	cr_assert_null(fx_contract(&gt_r));
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(gt_r.err_retryable, 1);
	fx_run_body(&pc_gemini, "[]", 2, &gt_r);
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	fx_run_body(&pc_gemini, nofinish, strlen(nofinish), &gt_r);
	cr_assert_eq(gt_r.err_code, RS_ERR_TRUNCATED);
}

Test(codec_gemini, error_statuses)
{
	static const char wrapped[] = "[{\"error\":{\"code\":429,\"message\":\"Quota exceeded\",\"status\":\"RESOURCE_EXHAUSTED\"}}]";
	static const char unimpl[] = "{\"error\":{\"code\":501,\"status\":\"UNIMPLEMENTED\"}}";
	static const char deadline[] = "{\"error\":{\"message\":\"Deadline expired\"}}";

	fx_run_error(&pc_gemini, 429, wrapped, strlen(wrapped), &gt_r);
	cr_assert_eq(gt_r.err_code, RS_ERR_RATE_LIMITED);
	cr_assert_eq(gt_r.err_retryable, 1);
	cr_assert_str_eq(gt_r.err_msg, "RESOURCE_EXHAUSTED: Quota exceeded");
	fx_run_error(&pc_gemini, 503, "", 0, &gt_r);
	cr_assert_eq(gt_r.err_code, RS_ERR_UNAVAILABLE);
	cr_assert_eq(gt_r.err_retryable, 1);
	cr_assert_str_eq(gt_r.err_msg, "gemini: HTTP 503");
	fx_run_error(&pc_gemini, 502, "<html>bad gateway", 17, &gt_r);
	cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(gt_r.err_status, 502);
	cr_assert_eq(gt_r.err_retryable, 1);
	fx_run_error(&pc_gemini, 501, unimpl, strlen(unimpl), &gt_r);
	cr_assert_eq(gt_r.err_retryable, 0);
	cr_assert_str_eq(gt_r.err_msg, "gemini: error 501 UNIMPLEMENTED");
	fx_run_error(&pc_gemini, 504, deadline, strlen(deadline), &gt_r);
	cr_assert_eq(gt_r.err_code, RS_ERR_TIMEOUT);
}

/* ---- request translation --------------------------------------------------------------- */

static char gt_base[] = "https://generativelanguage.googleapis.com/v1beta";
static char gt_key[] = "AIzaSyTESTKEY0123456789abcdef";

static int gt_build(const char *body, const char *model, int stream, char *key, struct pc_http *h,
		    char *err, size_t errlen)
{
	struct cfg_provider prov = { .name = (char *)"gem", .kind = CFG_KIND_GEMINI,
				     .base_url = gt_base, .api_key = key };
	struct pc_target t = { .prov = &prov, .model = model };
	struct chatreq req;
	char perr[256];
	int rc;

	cr_assert_eq(chatreq_parse(&req, body, strlen(body), perr, sizeof perr), 0, "%s", perr);
	rc = pc_gemini.build(&t, &req, stream, h, err, errlen);
	chatreq_free(&req);
	return rc;
}

static void gt_body_is(const struct pc_http *h, const char *want)
{
	json_t *got = json_loadb(h->body, h->body_len, 0, NULL);
	json_t *exp = json_loads(want, 0, NULL);

	cr_assert_not_null(got, "body is not JSON: %s", h->body);
	cr_assert_not_null(exp, "bad expected literal");
	cr_assert(json_equal(got, exp), "body\n got  %s\n want %s", h->body, want);
	json_decref(got);
	json_decref(exp);
}

Test(codec_gemini, build_rich_request)
{
	static const char req[] =
		"{\"model\":\"alias\",\"stream\":true,\"max_completion_tokens\":300,\"max_tokens\":9,"
		"\"temperature\":0.5,\"top_p\":0.9,\"stop\":[\"END\",\"STOP\"],\"seed\":7,\"n\":1,\"user\":\"u1\","
		"\"response_format\":{\"type\":\"json_object\"},"
		"\"messages\":["
		"{\"role\":\"system\",\"content\":\"You are terse.\"},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in this picture?\"},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\",\"detail\":\"low\"}}]},"
		"{\"role\":\"assistant\",\"content\":\"A cat.\"},"
		"{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Use tools.\"}]},"
		"{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
		"{\"role\":\"user\",\"content\":\"Celsius please.\"},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
		"{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
		"{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"{\\\"temp\\\":21}\"},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"sunny, 25C\"}],"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather for a city\","
		"\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"],"
		"\"additionalProperties\":false},\"strict\":true}}],"
		"\"tool_choice\":\"auto\"}";
	static const char want[] =
		"{\"systemInstruction\":{\"parts\":[{\"text\":\"You are terse.\"},{\"text\":\"Use tools.\"}]},"
		"\"contents\":["
		"{\"role\":\"user\",\"parts\":[{\"text\":\"What is in this picture?\"},"
		"{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}}]},"
		"{\"role\":\"model\",\"parts\":[{\"text\":\"A cat.\"}]},"
		"{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in Paris and Rome?\"},{\"text\":\"Celsius please.\"}]},"
		"{\"role\":\"model\",\"parts\":["
		"{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"skip_thought_signature_validator\"},"
		"{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Rome\"}},\"thoughtSignature\":\"skip_thought_signature_validator\"}]},"
		"{\"role\":\"user\",\"parts\":["
		"{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":{\"temp\":21}}}},"
		"{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"content\":\"sunny, 25C\"}}}]}],"
		"\"generationConfig\":{\"maxOutputTokens\":300,\"temperature\":0.5,\"topP\":0.9,\"seed\":7,"
		"\"stopSequences\":[\"END\",\"STOP\"],\"responseMimeType\":\"application/json\"},"
		"\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_weather\",\"description\":\"Weather for a city\","
		"\"parametersJsonSchema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
		"\"required\":[\"city\"],\"additionalProperties\":false}}]}],"
		"\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}}";
	struct pc_http h;
	char err[256];

	cr_assert_eq(gt_build(req, "gemini-2.5-flash", 1, gt_key, &h, err, sizeof err), 0, "%s", err);
	gt_body_is(&h, want);
	cr_assert_str_eq(h.url, "https://generativelanguage.googleapis.com/v1beta/models/"
				"gemini-2.5-flash:streamGenerateContent?alt=sse");
	cr_assert_eq(h.format, PC_FMT_SSE);
	cr_assert_eq(h.n_headers, 2);
	cr_assert_str_eq(h.headers[0], "Content-Type: application/json");
	cr_assert_str_eq(h.headers[1], "x-goog-api-key: AIzaSyTESTKEY0123456789abcdef");
	/* The key is in its header and nowhere else. */
	cr_assert_null(strstr(h.url, gt_key));
	cr_assert_null(strstr(h.body, gt_key));
	pc_http_free(&h);
	pc_http_free(&h);
}

Test(codec_gemini, build_minimal_urls_and_headers)
{
	static const char req[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":false}";
	struct pc_http h;
	char err[256];

	cr_assert_eq(gt_build(req, "gemini-2.0-flash", 0, NULL, &h, err, sizeof err), 0, "%s", err);
	gt_body_is(&h, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
	cr_assert_str_eq(h.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
	cr_assert_eq(h.format, PC_FMT_JSON);
	cr_assert_eq(h.n_headers, 1, "no key, no key header");
	pc_http_free(&h);

	cr_assert_eq(gt_build(req, "tuned model/v1?x=1#y", 1, gt_key, &h, err, sizeof err), 0);
	cr_assert_str_eq(h.url, "https://generativelanguage.googleapis.com/v1beta/models/"
				"tuned%20model%2Fv1%3Fx%3D1%23y:streamGenerateContent?alt=sse");
	pc_http_free(&h);
	cr_assert_eq(gt_build(req, "models/gemini-2.0-flash", 0, gt_key, &h, err, sizeof err), 0);
	cr_assert_str_eq(h.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
	pc_http_free(&h);
}

Test(codec_gemini, build_media_tool_choice_and_schema)
{
	static const char req[] =
		"{\"messages\":[{\"role\":\"user\",\"content\":["
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.JPG?s=1\"}},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/blob\"}},"
		"{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":\"wav\"}},"
		"{\"type\":\"file\",\"file\":{\"file_data\":\"data:application/pdf;base64,JVBERi0=\",\"filename\":\"a.pdf\"}},"
		"{\"type\":\"text\",\"text\":\"\"}]}],"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"g\"}}],"
		"\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}},"
		"\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}}}";
	static const char want[] =
		"{\"contents\":[{\"role\":\"user\",\"parts\":["
		"{\"fileData\":{\"fileUri\":\"https://example.com/cat.JPG?s=1\",\"mimeType\":\"image/jpeg\"}},"
		"{\"fileData\":{\"fileUri\":\"https://example.com/blob\"}},"
		"{\"inlineData\":{\"mimeType\":\"audio/wav\",\"data\":\"UklGRg==\"}},"
		"{\"inlineData\":{\"mimeType\":\"application/pdf\",\"data\":\"JVBERi0=\"}}]}],"
		"\"generationConfig\":{\"responseMimeType\":\"application/json\",\"responseJsonSchema\":{\"type\":\"object\"}},"
		"\"tools\":[{\"functionDeclarations\":[{\"name\":\"f\"},{\"name\":\"g\"}]}],"
		"\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\",\"allowedFunctionNames\":[\"g\"]}}}";
	struct pc_http h;
	char err[256];

	cr_assert_eq(gt_build(req, "m", 0, gt_key, &h, err, sizeof err), 0, "%s", err);
	gt_body_is(&h, want);
	pc_http_free(&h);
}

Test(codec_gemini, build_tool_choice_modes)
{
	static const char *const cases[][2] = {
		{ "\"none\"", "NONE" }, { "\"required\"", "ANY" }, { "\"auto\"", "AUTO" },
	};
	char req[512], want[128], err[256];
	struct pc_http h;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(req, sizeof req,
			 "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
			 "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":%s}",
			 cases[i][0]);
		cr_assert_eq(gt_build(req, "m", 0, NULL, &h, err, sizeof err), 0, "%s", err);
		json_t *b = json_loads(h.body, 0, NULL);
		snprintf(want, sizeof want, "%s", json_string_value(json_object_get(json_object_get(
			json_object_get(b, "toolConfig"), "functionCallingConfig"), "mode")));
		cr_assert_str_eq(want, cases[i][1]);
		json_decref(b);
		pc_http_free(&h);
	}
}

Test(codec_gemini, build_rejects_what_gemini_cannot_take)
{
	static const char *const bad[][2] = {
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\",\"tool_call_id\":\"nope\",\"content\":\"r\"}]}",
		  "messages[1].tool_call_id" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"tool\",\"content\":\"r\"}]}",
		  "messages[1].tool_call_id" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
		  "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}]}]}",
		  "messages[1].tool_calls[0].function.arguments" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
		  "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
		  "messages[1].tool_calls[0].function.arguments" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n:" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://h/x.png\"}}]}]}",
		  "messages[0].content[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png,abc\"}}]}]}",
		  "messages[0].content[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\",\"video\":{}}]}]}",
		  "messages[0].content[0].type" },
		{ "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AA==\"}}]},"
		  "{\"role\":\"user\",\"content\":\"x\"}]}",
		  "messages[0].content[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", "temperature" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "stop[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"web_search\"}]}", "tools[0]" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"required\"}", "tool_choice" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"yaml\"}}", "response_format" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}", "messages" },
	};
	struct pc_http h;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		cr_assert_eq(gt_build(bad[i][0], "m", 1, gt_key, &h, err, sizeof err), -EINVAL, "case %zu", i);
		cr_assert_not_null(strstr(err, bad[i][1]), "case %zu: err '%s'", i, err);
		cr_assert_null(h.url);
		cr_assert_null(h.body);
		cr_assert_eq(h.n_headers, 0);
	}
}

Test(codec_gemini, build_checks_target)
{
	static const char req[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	static char evil[] = "AIza-secret\r\nX-Evil: 1";
	struct pc_http h;
	char err[256];

	cr_assert_eq(gt_build(req, "m", 1, evil, &h, err, sizeof err), -EINVAL);
	cr_assert_null(strstr(err, "secret"));
	cr_assert_eq(gt_build(req, "", 1, gt_key, &h, err, sizeof err), -EINVAL);
}

/* ---- running out of memory ------------------------------------------------------------- */

/* jansson allocations left before the next one fails. */
static long gt_budget;

static void *gt_malloc(size_t n)
{
	return gt_budget-- > 0 ? malloc(n) : NULL;
}

/* Every jansson allocation of a build fails in turn: each attempt ends in
 * -ENOMEM with nothing half-built (and, under valgrind, nothing leaked)
 * until one succeeds with the whole body. */
Test(codec_gemini, build_survives_allocation_failures)
{
	static const char body[] =
		"{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"q\"},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AA==\"}},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]},"
		"{\"role\":\"assistant\",\"content\":\"t\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
		"\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":[1,2]}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"{\\\"ok\\\":true}\"}],"
		"\"max_tokens\":5,\"temperature\":1,\"stop\":\"x\",\"response_format\":{\"type\":\"json_schema\","
		"\"json_schema\":{\"schema\":{\"type\":\"object\"}}},"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\",\"parameters\":{}}}],"
		"\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}";
	struct cfg_provider prov = { .base_url = gt_base, .api_key = gt_key };
	struct pc_target t = { .prov = &prov, .model = "m" };
	struct chatreq req;
	struct pc_http h, full;
	char err[256];
	long n;
	int rc;

	cr_assert_eq(chatreq_parse(&req, body, strlen(body), err, sizeof err), 0, "%s", err);
	cr_assert_eq(pc_gemini.build(&t, &req, 1, &full, err, sizeof err), 0, "%s", err);
	for (n = 0;; n++) {
		gt_budget = n;
		json_set_alloc_funcs(gt_malloc, free);
		rc = pc_gemini.build(&t, &req, 1, &h, err, sizeof err);
		json_set_alloc_funcs(malloc, free);
		if (!rc)
			break;
		/* jansson's parser reports some of its allocation failures
		 * as syntax errors: the tool arguments then look invalid. */
		cr_assert(rc == -ENOMEM || (rc == -EINVAL && strstr(err, "arguments")),
			  "budget %ld: rc %d (%s)", n, rc, err);
		cr_assert_null(h.url);
		cr_assert_null(h.body);
	}
	cr_assert_gt(n, 10);
	cr_assert_str_eq(h.body, full.body);
	pc_http_free(&h);
	pc_http_free(&full);
	chatreq_free(&req);
}

/* The same for decoding: an allocation failure is -ENOMEM to the caller,
 * never a crash, a leak, or a reply reported as malformed. */
Test(codec_gemini, decode_survives_allocation_failures)
{
	char fp[512], ep[512], why[1024];
	size_t len;
	int tmp;
	char *data = fx_read(fx_path("gemini_stream_thinking_function_call.sse", fp, sizeof fp), &len);
	const char *bad;
	long n;

	cr_assert_not_null(data);
	gt_expected("gemini_stream_thinking_function_call.sse", ep, sizeof ep, &tmp);
	for (n = 0;; n++) {
		gt_budget = n;
		json_set_alloc_funcs(gt_malloc, free);
		fx_run_stream(&pc_gemini, PC_FMT_SSE, data, len, 7, 0, &gt_r);
		json_set_alloc_funcs(malloc, free);
		if (!gt_r.rc && !gt_r.n_error)
			break;
		/* -ENOMEM, or (jansson calling an allocation failure a
		 * syntax error) one typed error: never a crash or a leak. */
		if (gt_r.n_error) {
			cr_assert_eq(gt_r.err_code, RS_ERR_UPSTREAM, "budget %ld", n);
			cr_assert_null(fx_contract(&gt_r), "budget %ld", n);
			continue;
		}
		cr_assert_eq(gt_r.rc, -ENOMEM, "budget %ld: rc %d", n, gt_r.rc);
	}
	bad = fx_check(&gt_r, ep, why, sizeof why);
	cr_assert_null(bad, "%s", bad);
	if (tmp)
		unlink(ep);
	free(data);
}
