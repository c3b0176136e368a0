/*
 * test_codec_ollama.c — the Ollama codec against tests/fixtures/ollama_*,
 * split every way, plus synthesized edge cases, hostile input, and the
 * request translation.
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
#define OT_MAX_SPLIT 64
#define OT_SEEDS 200

static struct fx_result ot_r;

/*
 * The expected file for a fixture. ollama_chat_tools.expected.json says
 * "stop" for a reply that called a tool (Ollama's own done_reason); the
 * codec says "tool_calls" as OpenAI does, so a temporary copy carries that.
 */
static const char *ot_expected(const char *fixture, char *path, size_t len, int *tmp)
{
	char name[256], orig[512];
	json_t *root, *dv;
	int fd;

	snprintf(name, sizeof name, "%.*s.expected.json", (int)(strrchr(fixture, '.') - fixture), fixture);
	fx_path(name, orig, sizeof orig);
	*tmp = 0;
	root = json_load_file(orig, 0, NULL);
	cr_assert_not_null(root, "cannot load %s", orig);
	dv = json_object_get(root, "deliver");
	if (!json_array_size(json_object_get(dv, "tool_calls"))) {
		json_decref(root);
		snprintf(path, len, "%s", orig);
		return path;
	}
	json_object_set_new(dv, "finish_reason", json_string("tool_calls"));
	snprintf(path, len, "/tmp/rs-ollama-expected-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	cr_assert_eq(json_dump_file(root, path, 0), 0);
	json_decref(root);
	*tmp = 1;
	return path;
}

static void ot_fixture(const char *fixture)
{
	char fp[512], ep[512], why[1024];
	size_t len;
	int tmp;
	char *data = fx_read(fx_path(fixture, fp, sizeof fp), &len);
	const char *bad;

	cr_assert_not_null(data, "cannot read %s", fp);
	ot_expected(fixture, ep, sizeof ep, &tmp);
	fx_run_stream(&pc_ollama, PC_FMT_NDJSON, data, len, 0, 0, &ot_r);
	bad = fx_check(&ot_r, ep, why, sizeof why);
	cr_assert_null(bad, "%s whole: %s", fixture, bad);
	for (size_t split = 1; split <= OT_MAX_SPLIT; split++) {
		fx_run_stream(&pc_ollama, PC_FMT_NDJSON, data, len, split, 0, &ot_r);
		bad = fx_check(&ot_r, ep, why, sizeof why);
		cr_assert_null(bad, "%s split %zu: %s", fixture, split, bad);
	}
	for (unsigned seed = 1; seed <= OT_SEEDS; seed++) {
		fx_run_stream(&pc_ollama, PC_FMT_NDJSON, data, len, OT_MAX_SPLIT, seed, &ot_r);
		bad = fx_check(&ot_r, ep, why, sizeof why);
		cr_assert_null(bad, "%s seed %u: %s", fixture, seed, bad);
	}
	if (tmp)
		unlink(ep);
	free(data);
}

Test(codec_ollama, fixture_chat)
{
	ot_fixture("ollama_chat.ndjson");
	cr_assert_str_eq(ot_r.finish_raw, "stop");
}

Test(codec_ollama, fixture_chat_tools)
{
	ot_fixture("ollama_chat_tools.ndjson");
	cr_assert_str_eq(ot_r.tools[0].id, "call_0");
	cr_assert_str_eq(ot_r.finish, "tool_calls");
}

Test(codec_ollama, fixture_error_404)
{
	char fp[512], ep[512];
	size_t len;
	char *data = fx_read(fx_path("ollama_error_404.json", fp, sizeof fp), &len);
	json_t *all = json_load_file(fx_path("errors.expected.json", ep, sizeof ep), 0, NULL);
	int status = (int)json_integer_value(
		json_object_get(json_object_get(all, "ollama_error_404.json"), "http_status"));

	cr_assert_not_null(data);
	cr_assert_eq(status, 404);
	fx_run_error(&pc_ollama, status, data, len, &ot_r);
	cr_assert_null(fx_contract(&ot_r));
	cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(ot_r.err_status, 404);
	cr_assert_eq(ot_r.err_retryable, 0);
	cr_assert_str_eq(ot_r.err_msg, "model 'llama3.2' not found, try pulling it first");
	json_decref(all);
	free(data);
}

/* ---- synthesized streams ------------------------------------------------------------ */

static void ot_stream(const char *nd)
{
	fx_run_stream(&pc_ollama, PC_FMT_NDJSON, nd, strlen(nd), 0, 0, &ot_r);
	cr_assert_null(fx_contract(&ot_r), "%s (rc %d)", fx_contract(&ot_r), ot_r.rc);
}

#define OT_LINE(t) "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"" t "\"},\"done\":false}\n"
#define OT_DONE(extra) "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"}," extra "\"done\":true}\n"

Test(codec_ollama, cut_before_done_is_truncated)
{
	ot_stream(OT_LINE("Hello") OT_LINE(" wor"));
	cr_assert_str_eq(ot_r.text, "Hello wor");
	cr_assert_eq(ot_r.err_code, RS_ERR_TRUNCATED);
	cr_assert_eq(ot_r.err_retryable, 1);
	ot_stream("");
	cr_assert_eq(ot_r.err_code, RS_ERR_TRUNCATED);
	/* A last line cut mid-JSON is malformed, not a finish. */
	ot_stream(OT_LINE("a") "{\"done\":tr");
	cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(ot_r.err_retryable, 0);
}

Test(codec_ollama, midstream_error_line)
{
	ot_stream(OT_LINE("Par") "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n"
		  OT_DONE(""));
	cr_assert_str_eq(ot_r.text, "Par");
	cr_assert_eq(ot_r.n_error, 1);
	cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(ot_r.err_status, 0);
	cr_assert_eq(ot_r.err_retryable, 1);
	cr_assert_str_eq(ot_r.err_msg, "an error was encountered while running the model: unexpected EOF");
}

Test(codec_ollama, done_reasons_and_counts)
{
	ot_stream(OT_LINE("a") OT_DONE("\"done_reason\":\"length\",\"prompt_eval_count\":3,\"eval_count\":4,"));
	cr_assert_str_eq(ot_r.finish, "length");
	cr_assert_str_eq(ot_r.finish_raw, "length");
	cr_assert_eq(ot_r.prompt_tokens, 3);
	cr_assert_eq(ot_r.completion_tokens, 4);
	ot_stream(OT_DONE("\"done_reason\":\"load\","));
	cr_assert_str_eq(ot_r.finish, "stop");
	cr_assert_eq(ot_r.have_usage, 0);
	ot_stream(OT_DONE("\"done_reason\":\"unload\","));
	cr_assert_str_eq(ot_r.finish, "stop");
	/* A cached prompt has no prompt_eval_count: still report the rest. */
	ot_stream(OT_LINE("a") OT_DONE("\"eval_count\":7,"));
	cr_assert_str_eq(ot_r.finish, "stop");
	cr_assert_str_eq(ot_r.finish_raw, "");
	cr_assert_eq(ot_r.have_usage, 1);
	cr_assert_eq(ot_r.prompt_tokens, 0);
	cr_assert_eq(ot_r.completion_tokens, 7);
	/* Nothing after done counts. */
	ot_stream(OT_DONE("\"done_reason\":\"stop\",") OT_LINE("late"));
	cr_assert_str_eq(ot_r.text, "");
}

Test(codec_ollama, thinking_tools_unknown_keys_crlf)
{
	ot_stream("{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"Let me think\"},\"done\":false,\"new\":1}\r\n"
		  "{\"message\":{\"role\":\"assistant\",\"content\":\"On it.\",\"images\":null,\"x\":[]},\"done\":false}\r\n"
		  "\r\n"
		  "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
		  "{\"function\":{\"name\":\"a\",\"arguments\":{\"x\":1}}},"
		  "{\"id\":\"call_zz\",\"function\":{\"index\":1,\"name\":\"b\",\"arguments\":{}}}]},\"done\":false}\r\n"
		  "{\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"c\"}}]},"
		  "\"done_reason\":\"stop\",\"done\":true,\"total_duration\":1,\"prompt_eval_count\":9,\"eval_count\":2}\r\n");
	cr_assert_str_eq(ot_r.reasoning, "Let me think");
	cr_assert_str_eq(ot_r.text, "On it.");
	cr_assert_eq(ot_r.n_tools, 3);
	cr_assert_str_eq(ot_r.tools[0].id, "call_0");
	cr_assert_str_eq(ot_r.tools[0].name, "a");
	cr_assert_str_eq(ot_r.tools[0].args, "{\"x\":1}");
	cr_assert_str_eq(ot_r.tools[1].id, "call_zz");
	cr_assert_str_eq(ot_r.tools[2].id, "call_2");
	cr_assert_str_eq(ot_r.tools[2].args, "{}");
	cr_assert_str_eq(ot_r.finish, "tool_calls");
	cr_assert_eq(ot_r.prompt_tokens, 9);
}

Test(codec_ollama, malformed_and_hostile_lines)
{
	static const char *const bad[] = {
		"{\"message\":\n",
		"[1,2]\n",
		"\"text\"\n",
		"null\n",
		"{\"message\":{\"content\":\"\xc3\x28\"},\"done\":false}\n", /* bad UTF-8 */
		"not json at all\n",
		"{\"message\":{\"tool_calls\":[{\"function\":{\"arguments\":{}}}]},\"done\":false}\n",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[512];
		snprintf(buf, sizeof buf, OT_LINE("kept") "%s" OT_DONE(""), bad[i]);
		ot_stream(buf);
		cr_assert_eq(ot_r.n_error, 1, "case %zu", i);
		cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM, "case %zu", i);
		cr_assert_eq(ot_r.err_retryable, 0, "case %zu", i);
		cr_assert_str_eq(ot_r.text, "kept", "case %zu", i);
	}
}

Test(codec_ollama, huge_and_deep_lines)
{
	size_t n = 1000000, deep = 200000;
	char *buf = malloc(n + 2 * deep + 32);

	cr_assert_not_null(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('!' + i % 90);
	memcpy(buf + n, "\n", 2);
	ot_stream(buf);
	cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM);
	for (size_t i = 0; i < deep; i++)
		buf[i] = '[';
	for (size_t i = 0; i < deep; i++)
		buf[deep + i] = ']';
	memcpy(buf + 2 * deep, "\n", 2);
	ot_stream(buf);
	cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM);
	free(buf);
}

Test(codec_ollama, unary_body_and_error_statuses)
{
	static const char body[] =
		"{\"model\":\"llama3.2\",\"created_at\":\"2024-07-22T20:33:28.123648Z\",\"message\":{\"role\":\"assistant\","
		"\"content\":\"Hello! How are you today?\"},\"done_reason\":\"stop\",\"done\":true,\"total_duration\":5191566416,"
		"\"prompt_eval_count\":26,\"eval_count\":298}";
	static const char notdone[] = "{\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"done\":false}";
	static const char busy[] = "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}";

	fx_run_body(&pc_ollama, body, strlen(body), &ot_r);
	cr_assert_null(fx_contract(&ot_r));
	cr_assert_str_eq(ot_r.text, "Hello! How are you today?");
	cr_assert_str_eq(ot_r.finish, "stop");
	cr_assert_eq(ot_r.prompt_tokens, 26);
	cr_assert_eq(ot_r.completion_tokens, 298);
	fx_run_body(&pc_ollama, notdone, strlen(notdone), &ot_r);
	cr_assert_eq(ot_r.err_code, RS_ERR_TRUNCATED);
	fx_run_body(&pc_ollama, "{\"error\":\"boom\"}", 16, &ot_r);
	cr_assert_null(fx_contract(&ot_r));
	cr_assert_str_eq(ot_r.err_msg, "boom");
	fx_run_body(&pc_ollama, "", 0, &ot_r);
	cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM);

	fx_run_error(&pc_ollama, 500, "", 0, &ot_r);
	cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM);
	cr_assert_eq(ot_r.err_retryable, 1);
	cr_assert_str_eq(ot_r.err_msg, "ollama: HTTP 500");
	fx_run_error(&pc_ollama, 503, busy, strlen(busy), &ot_r);
	cr_assert_eq(ot_r.err_code, RS_ERR_UNAVAILABLE);
	cr_assert_str_eq(ot_r.err_msg, "server busy, please try again.  maximum pending requests exceeded");
	cr_assert_eq(ot_r.err_retryable, 1);
	fx_run_error(&pc_ollama, 400, "{\"error\":{\"message\":\"invalid options\"}}", 39, &ot_r);
	cr_assert_eq(ot_r.err_retryable, 0);
	cr_assert_str_eq(ot_r.err_msg, "invalid options");
	fx_run_error(&pc_ollama, 401, "unauthorized\n", 13, &ot_r);
	cr_assert_str_eq(ot_r.err_msg, "ollama: HTTP 401");
}

/* ---- request translation --------------------------------------------------------------- */

static char ot_base[] = "http://localhost:11434";

static int ot_build(const char *body, int stream, char *key, struct pc_http *h, char *err, size_t errlen)
{
	struct cfg_provider prov = { .name = (char *)"local", .kind = CFG_KIND_OLLAMA,
				     .base_url = ot_base, .api_key = key };
	struct pc_target t = { .prov = &prov, .model = "llama3.2" };
	struct chatreq req;
	char perr[256];
	int rc;

	cr_assert_eq(chatreq_parse(&req, body, strlen(body), perr, sizeof perr), 0, "%s", perr);
	rc = pc_ollama.build(&t, &req, stream, h, err, errlen);
	chatreq_free(&req);
	return rc;
}

static void ot_body_is(const struct pc_http *h, const char *want)
{
	json_t *got = json_loadb(h->body, h->body_len, 0, NULL);
	json_t *exp = json_loads(want, 0, NULL);

	cr_assert_not_null(got, "body is not JSON: %s", h->body);
	cr_assert_not_null(exp, "bad expected literal");
	cr_assert(json_equal(got, exp), "body\n got  %s\n want %s", h->body, want);
	json_decref(got);
	json_decref(exp);
}

Test(codec_ollama, build_rich_request)
{
	static const char req[] =
		"{\"model\":\"alias\",\"stream\":true,\"max_tokens\":128,\"temperature\":0.2,\"top_p\":0.8,\"stop\":\"###\","
		"\"seed\":42,\"response_format\":{\"type\":\"json_object\"},\"user\":\"u\",\"mock\":{\"tokens\":3},"
		"\"messages\":["
		"{\"role\":\"developer\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/4AAQ\"}},"
		"{\"type\":\"text\",\"text\":\"Be precise.\"}]},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
		"\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\\\"cat\\\",\\\"n\\\":2}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"a cat\"},"
		"{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"It is a cat.\"}]}],"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":\"Look up\","
		"\"parameters\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}}}]}";
	static const char want[] =
		"{\"model\":\"llama3.2\",\"stream\":true,\"format\":\"json\","
		"\"options\":{\"num_predict\":128,\"temperature\":0.2,\"top_p\":0.8,\"seed\":42,\"stop\":[\"###\"]},"
		"\"messages\":["
		"{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"What is this?\\nBe precise.\",\"images\":[\"/9j/4AAQ\"]},"
		"{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"lookup\","
		"\"arguments\":{\"q\":\"cat\",\"n\":2}}}]},"
		"{\"role\":\"tool\",\"content\":\"a cat\",\"tool_name\":\"lookup\"},"
		"{\"role\":\"assistant\",\"content\":\"It is a cat.\"}],"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":\"Look up\","
		"\"parameters\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}}}]}";
	struct pc_http h;
	char err[256];

	cr_assert_eq(ot_build(req, 1, NULL, &h, err, sizeof err), 0, "%s", err);
	ot_body_is(&h, want);
	cr_assert_str_eq(h.url, "http://localhost:11434/api/chat");
	cr_assert_eq(h.format, PC_FMT_NDJSON);
	cr_assert_eq(h.n_headers, 1);
	cr_assert_str_eq(h.headers[0], "Content-Type: application/json");
	pc_http_free(&h);
}

Test(codec_ollama, build_unstreamed_with_key_and_schema)
{
	static const char req[] =
		"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
		"\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"object\"}}}}";
	static char key[] = "ol-secret-key-123";
	struct pc_http h;
	char err[256];

	cr_assert_eq(ot_build(req, 0, key, &h, err, sizeof err), 0, "%s", err);
	ot_body_is(&h, "{\"model\":\"llama3.2\",\"stream\":false,\"format\":{\"type\":\"object\"},"
		       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	cr_assert_eq(h.format, PC_FMT_JSON);
	cr_assert_eq(h.n_headers, 2);
	cr_assert_str_eq(h.headers[1], "Authorization: Bearer ol-secret-key-123");
	cr_assert_null(strstr(h.url, key));
	cr_assert_null(strstr(h.body, key));
	pc_http_free(&h);
}

Test(codec_ollama, build_tool_choice)
{
	static const char tools[] =
		"\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"g\"}}]";
	char req[512], err[256];
	struct pc_http h;
	json_t *b;

	snprintf(req, sizeof req, "{%s,\"tool_choice\":\"none\"}", tools);
	cr_assert_eq(ot_build(req, 0, NULL, &h, err, sizeof err), 0, "%s", err);
	cr_assert_null(strstr(h.body, "\"tools\""));
	pc_http_free(&h);

	snprintf(req, sizeof req, "{%s,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}}", tools);
	cr_assert_eq(ot_build(req, 0, NULL, &h, err, sizeof err), 0, "%s", err);
	b = json_loads(h.body, 0, NULL);
	cr_assert_eq(json_array_size(json_object_get(b, "tools")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
				 json_array_get(json_object_get(b, "tools"), 0), "function"), "name")), "g");
	json_decref(b);
	pc_http_free(&h);

	snprintf(req, sizeof req, "{%s,\"tool_choice\":\"required\"}", tools);
	cr_assert_eq(ot_build(req, 0, NULL, &h, err, sizeof err), 0, "%s", err);
	b = json_loads(h.body, 0, NULL);
	cr_assert_eq(json_array_size(json_object_get(b, "tools")), 2);
	json_decref(b);
	pc_http_free(&h);
}

Test(codec_ollama, build_rejects_what_ollama_cannot_take)
{
	static const char *const bad[][2] = {
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}",
		  "messages[0].content[0].image_url.url" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:application/pdf;base64,AA==\"}}]}]}",
		  "messages[0].content[0].image_url.url" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AA==\",\"format\":\"wav\"}}]}]}",
		  "messages[0].content[0].type" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
		  "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{oops\"}}]}]}",
		  "messages[1].tool_calls[0].function.arguments" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
		  "\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}}]}]}",
		  "messages[1].tool_calls[0].function.name" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":3}", "n:" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":[1]}", "top_p" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":1.5}", "seed" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}", "tools" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
		  "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"zzz\"}}}",
		  "tool_choice" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
		  "\"tool_choice\":\"always\"}",
		  "tool_choice" },
	};
	struct pc_http h;
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		cr_assert_eq(ot_build(bad[i][0], 1, NULL, &h, err, sizeof err), -EINVAL, "case %zu", i);
		cr_assert_not_null(strstr(err, bad[i][1]), "case %zu: err '%s'", i, err);
		cr_assert_null(h.url);
		cr_assert_null(h.body);
	}
}

/* ---- running out of memory ------------------------------------------------------------- */

/* jansson allocations left before the next one fails. */
static long ot_budget;

static void *ot_malloc(size_t n)
{
	return ot_budget-- > 0 ? malloc(n) : NULL;
}

/* Every jansson allocation of a build, then of a decode, fails in turn:
 * -ENOMEM each time, nothing half-built or leaked, then full success. */
Test(codec_ollama, survives_allocation_failures)
{
	static const char body[] =
		"{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"q\"},{\"type\":\"text\",\"text\":\"r\"},"
		"{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AA==\"}}]},"
		"{\"role\":\"assistant\",\"content\":\"t\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
		"\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":[1,2]}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}],"
		"\"max_tokens\":5,\"temperature\":1,\"stop\":[\"x\"],\"response_format\":{\"type\":\"json_object\"},"
		"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"g\"}}],"
		"\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}";
	struct cfg_provider prov = { .base_url = ot_base };
	struct pc_target t = { .prov = &prov, .model = "m" };
	struct chatreq req;
	struct pc_http h, full;
	char fp[512], ep[512], why[1024], err[256];
	const char *bad;
	size_t len;
	char *data;
	long n;
	int rc, tmp;

	cr_assert_eq(chatreq_parse(&req, body, strlen(body), err, sizeof err), 0, "%s", err);
	cr_assert_eq(pc_ollama.build(&t, &req, 1, &full, err, sizeof err), 0, "%s", err);
	for (n = 0;; n++) {
		ot_budget = n;
		json_set_alloc_funcs(ot_malloc, free);
		rc = pc_ollama.build(&t, &req, 1, &h, err, sizeof err);
		json_set_alloc_funcs(malloc, free);
		if (!rc)
			break;
		/* jansson's parser reports some of its allocation failures
		 * as syntax errors: the tool arguments then look invalid. */
		cr_assert(rc == -ENOMEM || (rc == -EINVAL && strstr(err, "arguments")),
			  "budget %ld: rc %d (%s)", n, rc, err);
		cr_assert_null(h.body);
	}
	cr_assert_gt(n, 10);
	cr_assert_str_eq(h.body, full.body);
	pc_http_free(&h);
	pc_http_free(&full);
	chatreq_free(&req);

	data = fx_read(fx_path("ollama_chat_tools.ndjson", fp, sizeof fp), &len);
	cr_assert_not_null(data);
	ot_expected("ollama_chat_tools.ndjson", ep, sizeof ep, &tmp);
	for (n = 0;; n++) {
		ot_budget = n;
		json_set_alloc_funcs(ot_malloc, free);
		fx_run_stream(&pc_ollama, PC_FMT_NDJSON, data, len, 5, 0, &ot_r);
		json_set_alloc_funcs(malloc, free);
		if (!ot_r.rc && !ot_r.n_error)
			break;
		/* -ENOMEM, or (jansson calling an allocation failure a
		 * syntax error) one typed error: never a crash or a leak. */
		if (ot_r.n_error) {
			cr_assert_eq(ot_r.err_code, RS_ERR_UPSTREAM, "budget %ld", n);
			cr_assert_null(fx_contract(&ot_r), "budget %ld", n);
			continue;
		}
		cr_assert_eq(ot_r.rc, -ENOMEM, "budget %ld: rc %d", n, ot_r.rc);
	}
	bad = fx_check(&ot_r, ep, why, sizeof why);
	cr_assert_null(bad, "%s", bad);
	if (tmp)
		unlink(ep);
	free(data);
}
