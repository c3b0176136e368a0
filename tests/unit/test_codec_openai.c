/*
 * test_codec_openai.c — decoding by the OpenAI codec: recorded fixtures at
 * every split, synthesized vLLM/TGI/edge streams, error replies and whole
 * bodies. Request building is in test_codec_openai_build.c, hostile input
 * in test_codec_openai_hostile.c.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringside.h"
#include "sidecar/chatreq.h"
#include "sidecar/config.h"
#include "sidecar/pcodec.h"
#include "codec_openai_util.h"
#include "fx.h"

/* Split sizes tried on every fixture: 1..OAT_MAX_SPLIT bytes per read, and
 * OAT_SEEDS random splits of 1..OAT_MAX_SPLIT bytes. */
#define OAT_MAX_SPLIT 64
#define OAT_SEEDS 200

/* ---- helpers --------------------------------------------------------------------- */

static char *oat_fixture(const char *name, size_t *len)
{
	char path[512];
	char *b = fx_read(fx_path(name, path, sizeof path), len);
	cr_assert_not_null(b, "cannot read fixture %s", path);
	return b;
}

/* One stream at once, at every split and from many random seeds: the
 * result must not depend on how the bytes arrived. */
static void oat_fixture_all_splits(const char *sse, const char *expected)
{
	char path[512], why[1024];
	size_t len;
	char *data = oat_fixture(sse, &len);
	const char *d;

	fx_path(expected, path, sizeof path);
	fx_run_stream(&pc_openai, PC_FMT_SSE, data, len, 0, 0, &oat_r);
	d = fx_check(&oat_r, path, why, sizeof why);
	cr_assert_null(d, "%s whole: %s", sse, d);
	for (size_t split = 1; split <= OAT_MAX_SPLIT; split++) {
		fx_run_stream(&pc_openai, PC_FMT_SSE, data, len, split, 0, &oat_r);
		d = fx_check(&oat_r, path, why, sizeof why);
		cr_assert_null(d, "%s split %zu: %s", sse, split, d);
	}
	for (unsigned seed = 1; seed <= OAT_SEEDS; seed++) {
		fx_run_stream(&pc_openai, PC_FMT_SSE, data, len, OAT_MAX_SPLIT, seed, &oat_r);
		d = fx_check(&oat_r, path, why, sizeof why);
		cr_assert_null(d, "%s seed %u: %s", sse, seed, d);
	}
	free(data);
}

/* ---- recorded fixtures ------------------------------------------------------------- */

Test(codec_openai, every_stream_fixture_at_every_split)
{
	char dir[512];
	DIR *dp = opendir(fx_path("", dir, sizeof dir));
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(dp, "cannot open %s", dir);
	while ((e = readdir(dp))) {
		size_t l = strlen(e->d_name);
		char expected[300];
		if (strncmp(e->d_name, "openai_", 7) || l < 5 || strcmp(e->d_name + l - 4, ".sse"))
			continue;
		snprintf(expected, sizeof expected, "%.*s.expected.json", (int)(l - 4), e->d_name);
		oat_fixture_all_splits(e->d_name, expected);
		n++;
	}
	closedir(dp);
	/* basic, usage, tools, tools_parallel, n3_refusal */
	cr_assert_geq(n, 5, "only %d openai_*.sse fixtures found", n);
}

Test(codec_openai, parallel_tool_calls_fixture)
{
	size_t len;
	char *data = oat_fixture("openai_stream_tools_parallel.sse", &len);

	fx_run_stream(&pc_openai, PC_FMT_SSE, data, len, 7, 0, &oat_r);
	free(data);
	cr_assert_null(fx_contract(&oat_r));
	cr_assert_eq(oat_r.n_tools, 2);
	cr_assert_str_eq(oat_r.tools[0].id, "call_lQnnsesjFMWMQ5IeWPHzR4th");
	cr_assert_str_eq(oat_r.tools[0].name, "GetWeatherArgs");
	cr_assert_str_eq(oat_r.tools[0].args,
			 "{\"city\": \"Edinburgh\", \"country\": \"UK\", \"units\": \"c\"}");
	cr_assert_str_eq(oat_r.tools[1].id, "call_2xjOUgaCdiwAcl9ZBL9LyMUU");
	cr_assert_str_eq(oat_r.tools[1].name, "get_stock_price");
	cr_assert_str_eq(oat_r.tools[1].args, "{\"ticker\": \"AAPL\", \"exchange\": \"NASDAQ\"}");
	oat_assert_finish("tool_calls", "tool_calls");
	cr_assert_eq(oat_r.prompt_tokens, 149);
	cr_assert_eq(oat_r.completion_tokens, 60);
}

Test(codec_openai, n3_delivers_choice_0_only)
{
	size_t len;
	char *data = oat_fixture("openai_stream_n3_refusal.sse", &len);

	fx_run_stream(&pc_openai, PC_FMT_SSE, data, len, 0, 0, &oat_r);
	free(data);
	cr_assert_str_eq(oat_r.text, "{\"city\":\"San Francisco\",\"temperature\":63,\"units\":\"f\"}");
	/* choice 2's refusal is another choice: not delivered, no filter */
	oat_assert_finish("stop", "stop");
}

Test(codec_openai, chat_completion_body)
{
	char path[512], why[1024];
	size_t len;
	char *data = oat_fixture("openai_chat_completion.json", &len);
	const char *d;

	fx_run_body(&pc_openai, data, len, &oat_r);
	free(data);
	d = fx_check(&oat_r, fx_path("openai_chat_completion.expected.json", path, sizeof path), why,
		     sizeof why);
	cr_assert_null(d, "%s", d);
	oat_assert_finish("stop", "stop");
}

/* Each error fixture at the status errors.expected.json gives it. */
Test(codec_openai, error_fixtures)
{
	static const struct {
		const char *file;
		int code, retryable;
	} cases[] = {
		{ "openai_error_400.json", RS_ERR_UPSTREAM, 0 },
		{ "openai_error_401.json", RS_ERR_UPSTREAM, 0 },
		{ "openai_error_429_rate_limit.json", RS_ERR_RATE_LIMITED, 1 },
		/* an exhausted quota stays exhausted: NOTES section 1 */
		{ "openai_error_429_quota.json", RS_ERR_RATE_LIMITED, 0 },
		{ "openai_error_500.json", RS_ERR_UPSTREAM, 1 },
	};
	char path[512];
	json_error_t je;
	json_t *table = json_load_file(fx_path("errors.expected.json", path, sizeof path), 0, &je);

	cr_assert_not_null(table, "%s: %s", path, je.text);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *st = json_object_get(json_object_get(table, cases[i].file), "http_status");
		size_t len;
		char *body = oat_fixture(cases[i].file, &len);
		json_t *doc = json_loads(body, 0, NULL);
		const char *msg = json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
		char want[256];
		int status = (int)json_integer_value(st);

		cr_assert(json_is_integer(st), "%s: no http_status", cases[i].file);
		cr_assert_not_null(msg, "%s: no message", cases[i].file);
		fx_run_error(&pc_openai, status, body, len, &oat_r);
		cr_assert_null(fx_contract(&oat_r), "%s", cases[i].file);
		oat_assert_error(cases[i].code, status, cases[i].retryable);
		/* the provider's words, redacted, and nothing else */
		pc_redact(want, sizeof want, msg, strlen(msg));
		cr_assert_str_eq(oat_r.err_msg, want, "%s", cases[i].file);
		json_decref(doc);
		free(body);
	}
	json_decref(table);
}

Test(codec_openai, error_401_message_hides_the_key)
{
	size_t len;
	char *body = oat_fixture("openai_error_401.json", &len);

	fx_run_error(&pc_openai, 401, body, len, &oat_r);
	free(body);
	cr_assert_null(strstr(oat_r.err_msg, "sk-abc123"), "%s", oat_r.err_msg);
	cr_assert_not_null(strstr(oat_r.err_msg, "Incorrect API key provided: [redacted]"), "%s",
			   oat_r.err_msg);
}

Test(codec_openai, error_bodies_without_openai_shape)
{
	static const char html[] = "<html><body>502 Bad Gateway</body></html>";

	fx_run_error(&pc_openai, 502, html, sizeof html - 1, &oat_r);
	oat_assert_error(RS_ERR_UPSTREAM, 502, 1);
	cr_assert_str_eq(oat_r.err_msg, "HTTP 502");

	fx_run_error(&pc_openai, 503, "", 0, &oat_r);
	oat_assert_error(RS_ERR_UNAVAILABLE, 503, 1);
	cr_assert_str_eq(oat_r.err_msg, "HTTP 503");

	fx_run_error(&pc_openai, 404, "{\"error\":\"model not found\"}", 27, &oat_r);
	oat_assert_error(RS_ERR_UPSTREAM, 404, 0);
	cr_assert_str_eq(oat_r.err_msg, "model not found");

	/* FastAPI (vLLM) on a wrong path */
	fx_run_error(&pc_openai, 404, "{\"detail\":\"Not Found\"}", 22, &oat_r);
	cr_assert_str_eq(oat_r.err_msg, "Not Found");

	/* a cut body */
	fx_run_error(&pc_openai, 500, "{\"error\":{\"message\":\"The ser", 29, &oat_r);
	oat_assert_error(RS_ERR_UPSTREAM, 500, 1);
	cr_assert_str_eq(oat_r.err_msg, "HTTP 500");

	/* quota by code alone, and Azure's string code */
	fx_run_error(&pc_azure, 429,
		     "{\"error\":{\"code\":\"insufficient_quota\",\"message\":\"quota\"}}", 57, &oat_r);
	oat_assert_error(RS_ERR_RATE_LIMITED, 429, 0);
	fx_run_error(&pc_azure, 429, "{\"error\":{\"code\":\"429\",\"message\":\"Requests exceeded\"}}",
		     54, &oat_r);
	oat_assert_error(RS_ERR_RATE_LIMITED, 429, 1);
	cr_assert_str_eq(oat_r.err_msg, "Requests exceeded");
}

/* ---- synthesized streams ----------------------------------------------------------- */

Test(codec_openai, vllm_error_then_done_is_an_error)
{
	oat_stream(OAT_ROLE OAT_TEXT("Hello")
		   "data: {\"error\": {\"message\": \"This model's maximum context length is 4096 tokens\", "
		   "\"type\": \"BadRequestError\", \"param\": null, \"code\": 400}}\n\n" OAT_DONE);
	oat_assert_error(RS_ERR_UPSTREAM, 400, 0);
	cr_assert_str_eq(oat_r.err_msg, "This model's maximum context length is 4096 tokens");
	cr_assert_str_eq(oat_r.text, "Hello", "partial text is kept");
	cr_assert_eq(oat_r.n_finish, 0);
}

Test(codec_openai, vllm_old_nested_object_error)
{
	oat_stream("data: {\"error\": {\"object\": \"error\", \"message\": \"boom\", \"type\": "
		   "\"InternalServerError\", \"param\": null, \"code\": 500}}\n\n" OAT_DONE);
	oat_assert_error(RS_ERR_UPSTREAM, 500, 1);
	cr_assert_str_eq(oat_r.err_msg, "boom");
}

Test(codec_openai, openai_midstream_server_error)
{
	oat_stream(OAT_ROLE OAT_TEXT("Hi")
		   "data: {\"error\":{\"message\":\"The server had an error while processing your "
		   "request. Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n");
	oat_assert_error(RS_ERR_UPSTREAM, 0, 1);
	cr_assert_str_eq(oat_r.text, "Hi");
}

static const char oat_tgi[] =
	"data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"created\":1725000000,\"model\":"
	"\"meta-llama/Llama-3.1-8B-Instruct\",\"system_fingerprint\":\"2.2.0-native\",\"choices\":"
	"[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Deep\"},\"logprobs\":null,"
	"\"finish_reason\":null}],\"usage\":null}\n\n"
	":\n\n"
	"data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"created\":1725000000,\"model\":"
	"\"meta-llama/Llama-3.1-8B-Instruct\",\"system_fingerprint\":\"2.2.0-native\",\"choices\":"
	"[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\" learning\"},\"logprobs\":null,"
	"\"finish_reason\":null}],\"usage\":null}\n\n"
	"data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"created\":1725000000,\"model\":"
	"\"meta-llama/Llama-3.1-8B-Instruct\",\"system_fingerprint\":\"2.2.0-native\",\"choices\":"
	"[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
	"\"finish_reason\":\"length\"}],\"usage\":null}\n\n"
	"data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"created\":1725000000,\"model\":"
	"\"meta-llama/Llama-3.1-8B-Instruct\",\"system_fingerprint\":\"2.2.0-native\",\"choices\":"
	"[],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":2,\"total_tokens\":42}}\n\n"
	"data:[DONE]\n\n";

Test(codec_openai, tgi_done_without_space)
{
	oat_stream(oat_tgi);
	oat_assert_finish("length", "length");
	cr_assert_str_eq(oat_r.text, "Deep learning");
	cr_assert(oat_r.have_usage);
	cr_assert_eq(oat_r.prompt_tokens, 40);
	cr_assert_eq(oat_r.completion_tokens, 2);
}

Test(codec_openai, tgi_chat_error_then_done)
{
	oat_stream("data:{\"object\":\"chat.completion.chunk\",\"id\":\"\",\"choices\":[{\"index\":0,"
		   "\"delta\":{\"role\":\"assistant\",\"content\":\"x\"},\"finish_reason\":null}],"
		   "\"usage\":null}\n\n"
		   "data:{\"error\":{\"message\":\"Request failed during generation: Server error: "
		   "CUDA out of memory\",\"http_status_code\":422}}\n\n"
		   "data:[DONE]\n\n");
	oat_assert_error(RS_ERR_UPSTREAM, 422, 0);
	cr_assert_str_eq(oat_r.err_msg,
			 "Request failed during generation: Server error: CUDA out of memory");
	cr_assert_str_eq(oat_r.text, "x");
}

Test(codec_openai, tgi_generate_style_overloaded_error)
{
	oat_stream("data:{\"error\":\"Model is overloaded\",\"error_type\":\"overloaded\"}\n\n");
	oat_assert_error(RS_ERR_UNAVAILABLE, 0, 1);
	cr_assert_str_eq(oat_r.err_msg, "Model is overloaded");
}

Test(codec_openai, event_error)
{
	oat_stream(OAT_TEXT("a") "event: error\ndata: {\"message\":\"stream failed\",\"code\":503}\n\n");
	oat_assert_error(RS_ERR_UNAVAILABLE, 503, 1);
	cr_assert_str_eq(oat_r.err_msg, "stream failed");

	oat_stream("event: error\ndata: upstream went away\n\n");
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	cr_assert_str_eq(oat_r.err_msg, "upstream went away");

	oat_stream("event: error\ndata:\n\n" OAT_DONE);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
}

Test(codec_openai, cut_before_done_is_truncated)
{
	oat_stream(OAT_ROLE OAT_TEXT("Hel") OAT_TEXT("lo") OAT_STOP);
	oat_assert_error(RS_ERR_TRUNCATED, 0, 1);
	cr_assert_str_eq(oat_r.err_msg, "stream ended before [DONE]");
	cr_assert_str_eq(oat_r.text, "Hello");

	/* nothing at all */
	oat_stream("");
	oat_assert_error(RS_ERR_TRUNCATED, 0, 1);
}

Test(codec_openai, cut_inside_an_event_is_truncated)
{
	oat_stream(OAT_ROLE OAT_TEXT("Hel") "data: {\"id\":\"chatcmpl-1\",\"choi");
	oat_assert_error(RS_ERR_TRUNCATED, 0, 1);
	cr_assert_str_eq(oat_r.err_msg, "stream ended inside an event");
	cr_assert_str_eq(oat_r.text, "Hel");
}

Test(codec_openai, malformed_event)
{
	oat_stream(OAT_TEXT("a") "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}\n\n"
		   OAT_TEXT("c") OAT_STOP OAT_DONE);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	cr_assert_eq(strncmp(oat_r.err_msg, "malformed event from provider: ", 31), 0, "%s",
		     oat_r.err_msg);
	cr_assert_str_eq(oat_r.text, "a");

	/* a malformed event right before [DONE] is still malformed */
	oat_stream(OAT_TEXT("a") "data: {nope}\n\n" OAT_DONE);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
}

Test(codec_openai, empty_and_whitespace_events_are_ignored)
{
	oat_stream("data:\n\n" "event: ping\n\n" "data:   \n\n" OAT_TEXT("x") OAT_STOP OAT_DONE);
	oat_assert_finish("stop", "stop");
	cr_assert_str_eq(oat_r.text, "x");
}

Test(codec_openai, usage_null_on_every_chunk)
{
	oat_stream("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},"
		   "\"finish_reason\":null}],"
		   "\"usage\":null}\n\n"
		   "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
		   "\"usage\":null}\n\n"
		   "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
		   "\"total_tokens\":4}}\n\n" OAT_DONE);
	oat_assert_finish("stop", "stop");
	cr_assert(oat_r.have_usage);
	cr_assert_eq(oat_r.prompt_tokens, 3);
	cr_assert_eq(oat_r.completion_tokens, 1);

	/* usage never given: none reported, still a finish */
	oat_stream("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":"
		   "\"length\"}],\"usage\":null}\n\n" OAT_DONE);
	oat_assert_finish("length", "length");
	cr_assert_eq(oat_r.have_usage, 0);
}

Test(codec_openai, done_without_finish_reason_is_stop)
{
	oat_stream(OAT_TEXT("a") OAT_DONE);
	oat_assert_finish("stop", "");
}

Test(codec_openai, finish_reason_mapping)
{
	oat_stream(OAT_TEXT("a") OAT_CHUNK("{}", "\"content_filter\"") OAT_DONE);
	oat_assert_finish("content_filter", "content_filter");
	oat_stream(OAT_CHUNK("{\"function_call\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\"}}", "null")
		   OAT_CHUNK("{\"function_call\":{\"arguments\":\"1}\"}}", "null")
		   OAT_CHUNK("{}", "\"function_call\"") OAT_DONE);
	oat_assert_finish("tool_calls", "function_call");
	cr_assert_eq(oat_r.n_tools, 1);
	cr_assert_str_eq(oat_r.tools[0].id, "call_0");
	cr_assert_str_eq(oat_r.tools[0].name, "f");
	cr_assert_str_eq(oat_r.tools[0].args, "{\"a\":1}");
	oat_stream(OAT_TEXT("a") OAT_CHUNK("{}", "\"abort\"") OAT_DONE);
	oat_assert_finish("stop", "abort");
}

Test(codec_openai, refusal_on_choice_0)
{
	oat_stream(OAT_ROLE OAT_CHUNK("{\"refusal\":\"I'm sorry,\"}", "null")
		   OAT_CHUNK("{\"refusal\":\" I can't help.\"}", "null") OAT_STOP OAT_DONE);
	cr_assert_str_eq(oat_r.text, "I'm sorry, I can't help.");
	oat_assert_finish("content_filter", "stop");
}

Test(codec_openai, reasoning_content)
{
	/* DeepSeek */
	oat_stream(OAT_CHUNK("{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"\"}",
			     "null")
		   OAT_CHUNK("{\"content\":null,\"reasoning_content\":\"Think\"}", "null")
		   OAT_CHUNK("{\"content\":null,\"reasoning_content\":\"ing.\"}", "null")
		   OAT_CHUNK("{\"content\":\"Answer\",\"reasoning_content\":null}", "null")
		   OAT_STOP OAT_USAGE(5, 9) OAT_DONE);
	oat_assert_finish("stop", "stop");
	cr_assert_str_eq(oat_r.reasoning, "Thinking.");
	cr_assert_str_eq(oat_r.text, "Answer");
	cr_assert_eq(oat_r.completion_tokens, 9);

	/* newer vLLM: "reasoning", sometimes next to the same reasoning_content */
	oat_stream(OAT_CHUNK("{\"reasoning\":\"Hm\"}", "null")
		   OAT_CHUNK("{\"reasoning\":\"m.\",\"reasoning_content\":\"m.\"}", "null")
		   OAT_TEXT("ok") OAT_STOP OAT_DONE);
	cr_assert_str_eq(oat_r.reasoning, "Hmm.");
	cr_assert_str_eq(oat_r.text, "ok");
}

Test(codec_openai, line_separators_inside_json_strings)
{
	/* U+2028 raw and escaped, in a value and in an unknown key: no line
	 * splitting inside JSON strings */
	oat_stream("data: {\"x\xe2\x80\xa8y\":1,\"choices\":[{\"index\":0,\"delta\":{\"content\":"
		   "\"a\\u2028b \xe2\x80\xa8 c\xc2\x85\"},\"finish_reason\":null}]}\n\n"
		   "data: {\"k\\u2028\":{\"\\u2029\":null},\"choices\":[{\"index\":0,\"delta\":{\"content\":"
		   "\"\\u2029!\"},\"finish_reason\":\"stop\"}]}\n\n" OAT_DONE);
	oat_assert_finish("stop", "stop");
	cr_assert_str_eq(oat_r.text, "a\xe2\x80\xa8" "b \xe2\x80\xa8 c\xc2\x85\xe2\x80\xa9!");
}

Test(codec_openai, tool_calls_repeating_id_and_name)
{
	/* Some servers repeat id, type and name on every fragment: only the
	 * first may name the call. */
	oat_stream(OAT_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
			     "\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]}", "null")
		   OAT_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
			     "\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"q\\\":\"}}]}", "null")
		   OAT_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
			     "\"function\":{\"name\":\"get\",\"arguments\":\"2}\"}}]}", "null")
		   OAT_CHUNK("{}", "\"tool_calls\"") OAT_DONE);
	oat_assert_finish("tool_calls", "tool_calls");
	cr_assert_eq(oat_r.n_tools, 1);
	cr_assert_str_eq(oat_r.tools[0].id, "call_a");
	cr_assert_str_eq(oat_r.tools[0].args, "{\"q\":2}");
}

Test(codec_openai, tool_call_without_id_gets_one)
{
	oat_stream(OAT_CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":"
			     "\"{}\"}},{\"index\":1,\"id\":\"\",\"function\":{\"name\":\"g\"}}]}", "null")
		   OAT_CHUNK("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}", "null")
		   OAT_CHUNK("{}", "\"tool_calls\"") OAT_DONE);
	cr_assert_eq(oat_r.n_tools, 2);
	cr_assert_str_eq(oat_r.tools[0].id, "call_0");
	cr_assert_str_eq(oat_r.tools[1].id, "call_1");
	cr_assert_str_eq(oat_r.tools[1].name, "g");
	cr_assert_str_eq(oat_r.tools[1].args, "{}");
}

Test(codec_openai, tool_calls_without_index)
{
	/* whole calls without "index", two in one chunk, one more later, and
	 * an argument fragment that continues the newest */
	oat_stream(OAT_CHUNK("{\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
			     "{\"name\":\"a\",\"arguments\":\"{\\\"x\\\":1}\"}},{\"id\":\"c2\","
			     "\"function\":{\"name\":\"b\",\"arguments\":{\"y\":[2]}}}]}", "null")
		   OAT_CHUNK("{\"tool_calls\":[{\"id\":\"c3\",\"function\":{\"name\":\"c\","
			     "\"arguments\":\"{\\\"z\\\"\"}}]}", "null")
		   OAT_CHUNK("{\"tool_calls\":[{\"function\":{\"arguments\":\":3}\"}}]}", "null")
		   OAT_CHUNK("{}", "\"tool_calls\"") OAT_DONE);
	oat_assert_finish("tool_calls", "tool_calls");
	cr_assert_eq(oat_r.n_tools, 3);
	cr_assert_str_eq(oat_r.tools[0].id, "c1");
	cr_assert_str_eq(oat_r.tools[1].args, "{\"y\":[2]}", "parsed arguments are sent as JSON text");
	cr_assert_str_eq(oat_r.tools[2].name, "c");
	cr_assert_str_eq(oat_r.tools[2].args, "{\"z\":3}");
}

Test(codec_openai, tool_call_without_name_is_malformed)
{
	oat_stream(OAT_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"x\",\"function\":{\"arguments\":"
			     "\"{}\"}}]}", "null") OAT_DONE);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	cr_assert_eq(oat_r.n_tools, 0);
}

Test(codec_openai, unknown_keys_and_non_zero_choices)
{
	oat_stream("data: {\"obfuscation\":\"x1\",\"service_tier\":\"default\",\"choices\":[{\"index\":1,"
		   "\"delta\":{\"content\":\"other\"},\"finish_reason\":\"length\"},{\"index\":0,"
		   "\"delta\":{\"content\":\"mine\",\"audio\":{}},\"finish_reason\":null}]}\n\n"
		   OAT_STOP OAT_DONE);
	cr_assert_str_eq(oat_r.text, "mine");
	oat_assert_finish("stop", "stop");
}

Test(codec_openai, content_as_parts)
{
	oat_stream(OAT_CHUNK("{\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image_url\"},"
			     "{\"type\":\"text\",\"text\":\"b\"}]}", "null") OAT_STOP OAT_DONE);
	cr_assert_str_eq(oat_r.text, "ab");
}

Test(codec_openai, nothing_after_the_end)
{
	oat_stream(OAT_TEXT("a") OAT_STOP OAT_DONE OAT_TEXT("b") OAT_DONE
		   "data: {\"error\":{\"message\":\"late\"}}\n\n");
	oat_assert_finish("stop", "stop");
	cr_assert_str_eq(oat_r.text, "a");
}

Test(codec_openai, inband_error_message_is_redacted)
{
	oat_stream("data: {\"error\":{\"message\":\"bad key sk-proj-abcdefghijklmnop used\"}}\n\n");
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	cr_assert_null(strstr(oat_r.err_msg, "abcdefghijklmnop"), "%s", oat_r.err_msg);
}

/* ---- non-streamed bodies ----------------------------------------------------------- */

static void oat_body(const char *body)
{
	fx_run_body(&pc_openai, body, strlen(body), &oat_r);
	cr_assert_null(fx_contract(&oat_r), "%s", oat_r.err_msg);
}

Test(codec_openai, body_with_tools_and_reasoning)
{
	oat_body("{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
		 "{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"why\",\"tool_calls\":"
		 "[{\"id\":\"call_9f\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
		 "\"{\\\"a\\\":1}\"}},{\"type\":\"function\",\"function\":{\"name\":\"g\","
		 "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":"
		 "{\"prompt_tokens\":7,\"completion_tokens\":8,\"total_tokens\":15}}");
	oat_assert_finish("tool_calls", "tool_calls");
	cr_assert_str_eq(oat_r.reasoning, "why");
	cr_assert_eq(oat_r.text_len, 0);
	cr_assert_eq(oat_r.n_tools, 2);
	cr_assert_str_eq(oat_r.tools[0].id, "call_9f");
	cr_assert_str_eq(oat_r.tools[0].args, "{\"a\":1}");
	cr_assert_str_eq(oat_r.tools[1].id, "call_1", "invented ids follow the ordinal");
	cr_assert_str_eq(oat_r.tools[1].name, "g");
}

Test(codec_openai, body_error_and_malformed)
{
	oat_body("{\"error\":{\"message\":\"Input too long\",\"type\":\"BadRequestError\",\"code\":400}}");
	oat_assert_error(RS_ERR_UPSTREAM, 400, 0);
	cr_assert_str_eq(oat_r.err_msg, "Input too long");

	oat_body("{\"object\":\"chat.completion\",\"choices\":[]}");
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);

	oat_body("[1,2,3]");
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);

	oat_body("{\"choices\":[{\"index\":0,\"message\":{\"content\":\"cut");
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	cr_assert_eq(strncmp(oat_r.err_msg, "malformed response from provider: ", 34), 0);

	oat_body("");
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
}

Test(codec_openai, body_refusal)
{
	oat_body("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
		 "\"refusal\":\"No.\"},\"finish_reason\":\"stop\"}]}");
	cr_assert_str_eq(oat_r.text, "No.");
	oat_assert_finish("content_filter", "stop");
}
