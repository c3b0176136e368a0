/*
 * test_providers.c — every HTTP provider kind end to end through real
 * processes: a client on libringside, the sidecar, and mockllm speaking the
 * provider's wire format. Text, tool calls, usage and finish reason arrive
 * intact, streamed and not; the provider's errors arrive as typed ERRORs.
 *
 * mockllm takes its behaviour from a suffix of the upstream model name
 * ("gpt-x@tokens=12,itl_us=2000"), so each behaviour is one model alias in
 * the sidecar's config and the client asks for it by alias. mockllm echoes
 * the words of the last user message, one word per token, cycling when more
 * tokens are asked for: h_expected_reply computes the same text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness_mockllm.h"

TestSuite(providers, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

/* ---- text and usage ------------------------------------------------------------------ */

/* Streamed and whole, paced and not: the same words, counts and finish. */
static void p_text(int k)
{
	const struct h_ml_kind *kd = &h_ml_kinds[k];
	struct h_ml_aliases as = { 0 };
	const char *paced = h_ml_alias_add(&as, "paced", kd, "tokens=12,itl_us=2000");
	const char *plain = h_ml_alias_add(&as, "plain", kd, NULL);
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	char *twelve = h_expected_reply(H_ML_PROMPT, 12, -1);

	struct h_ml_res r;
	h_ml_run(&e, "paced", 1, &r);
	h_ml_assert_done(&r, kd, paced, twelve, 12, "stop");
	cr_assert(r.st->n_delta >= 2, "%s: the reply came in %u DELTA, not streamed", kd->kind,
		  r.st->n_delta);
	h_ml_res_free(&r);

	h_ml_run(&e, "paced", 0, &r);
	h_ml_assert_done(&r, kd, paced, twelve, 12, "stop");
	h_ml_res_free(&r);

	/* No tokens knob: one token per word of the prompt. */
	h_ml_run(&e, "plain", 1, &r);
	h_ml_assert_done(&r, kd, plain, H_ML_PROMPT, H_ML_WORDS, "stop");
	h_ml_res_free(&r);

	h_ml_run(&e, "plain", 0, &r);
	h_ml_assert_done(&r, kd, plain, H_ML_PROMPT, H_ML_WORDS, "stop");
	h_ml_res_free(&r);

	free(twelve);
	cr_assert_eq(h_ml_stat(&e.ml, "requests_total"), 4);
	h_ml_down(&e);
}

Test(providers, test_openai_text_usage_done) { p_text(H_ML_KIND_OPENAI); }
Test(providers, test_azure_text_usage_done) { p_text(H_ML_KIND_AZURE); }
Test(providers, test_anthropic_text_usage_done) { p_text(H_ML_KIND_ANTHROPIC); }
Test(providers, test_gemini_text_usage_done) { p_text(H_ML_KIND_GEMINI); }
Test(providers, test_ollama_text_usage_done) { p_text(H_ML_KIND_OLLAMA); }

/* ---- tool calls ------------------------------------------------------------------------ */

#define P_TOOL "get_weather"

static void p_assert_tool(const struct h_ml_res *r, const struct h_ml_kind *kd, const char *model,
			  const char *echo)
{
	const struct h_stream *st = r->st;
	const struct h_ml_obs *o = &r->o;
	cr_assert(st->n_error == 0, "%s: ERROR %d (%s)", kd->kind, st->err_code, st->err_msg);
	cr_assert(st->n_start == 1 && st->n_done == 1, "%s: %u START, %u DONE", kd->kind,
		  st->n_start, st->n_done);
	cr_assert(st->n_after_end == 0 && st->n_out_of_order == 0, "%s: events out of order",
		  kd->kind);
	cr_assert_str_eq(st->provider, kd->provider);
	cr_assert_str_eq(st->model, model);
	cr_assert(o->n_tool >= 1, "%s: no TOOL_DELTA", kd->kind);
	cr_assert(o->n_tool_bad == 0, "%s: a TOOL_DELTA with index != 0, or naming the call again",
		  kd->kind);
	cr_assert(o->tool_id[0], "%s: the first TOOL_DELTA has no id", kd->kind);
	cr_assert_str_eq(o->tool_name, P_TOOL, "%s: tool name", kd->kind);
	cr_assert(st->len == 0, "%s: text next to the tool call: '%s'", kd->kind, st->text);
	/* The arguments are JSON text {"text":"<echo>"}; how a provider
	 * spaces it (a re-encoded object) is its business. */
	const char *a = o->args ? o->args : "";
	cr_assert(o->args_len >= 2 && a[0] == '{' && a[o->args_len - 1] == '}' &&
		  strstr(a, "\"text\"") && strstr(a, echo),
		  "%s: arguments '%s', want {\"text\":\"%s\"}", kd->kind, a, echo);
	cr_assert_str_eq(st->finish, "tool_calls", "%s: finish", kd->kind);
	cr_assert(st->n_usage == 1 && st->prompt_tokens == H_ML_WORDS && st->completion_tokens == 4,
		  "%s: %u USAGE %u+%u, want %u+4", kd->kind, st->n_usage, st->prompt_tokens,
		  st->completion_tokens, H_ML_WORDS);
}

static void p_tools(int k)
{
	const struct h_ml_kind *kd = &h_ml_kinds[k];
	struct h_ml_aliases as = { 0 };
	const char *model = h_ml_alias_add(&as, "tool", kd, "tool=" P_TOOL ",tokens=4,itl_us=1000");
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	char *echo = h_expected_reply(H_ML_PROMPT, 4, -1);
	struct h_ml_res r;
	h_ml_run(&e, "tool", 1, &r);
	p_assert_tool(&r, kd, model, echo);
	h_ml_res_free(&r);
	h_ml_run(&e, "tool", 0, &r);
	p_assert_tool(&r, kd, model, echo);
	h_ml_res_free(&r);
	free(echo);
	h_ml_down(&e);
}

Test(providers, test_openai_tool_call) { p_tools(H_ML_KIND_OPENAI); }
Test(providers, test_azure_tool_call) { p_tools(H_ML_KIND_AZURE); }
Test(providers, test_anthropic_tool_call) { p_tools(H_ML_KIND_ANTHROPIC); }
Test(providers, test_gemini_tool_call) { p_tools(H_ML_KIND_GEMINI); }
Test(providers, test_ollama_tool_call) { p_tools(H_ML_KIND_OLLAMA); }

/* ---- errors ------------------------------------------------------------------------------ */

/* The text mockllm puts in every injected status's error body, whatever
 * the provider's wording around it. */
#define P_ML_MSG "mockllm injected this status"

/* One ERROR of code, status and retryability, after `tokens` tokens of
 * intact text, with a message that never carries the key. */
static void p_assert_err(const struct h_ml_res *r, const struct h_ml_kind *kd, const char *what,
			 int code, int status, int retryable, long tokens)
{
	char why[512];
	cr_assert(h_check_error(r->st, code, why, sizeof why) == 0, "%s %s: %s", kd->kind, what, why);
	/* START comes with the first content: none when the error came first. */
	cr_assert(r->st->n_start == (tokens > 0), "%s %s: %u START", kd->kind, what,
		  r->st->n_start);
	if (status >= 0)
		cr_assert_eq(r->o.http_status, status, "%s %s: http_status %d, want %d (%s)",
			     kd->kind, what, r->o.http_status, status, r->st->err_msg);
	if (retryable >= 0)
		cr_assert_eq(r->o.retryable, retryable, "%s %s: retryable %d, want %d (%s)",
			     kd->kind, what, r->o.retryable, retryable, r->st->err_msg);
	char *want = h_expected_reply(H_ML_PROMPT, tokens, -1);
	cr_assert(r->st->len == strlen(want) && !memcmp(r->st->text ? r->st->text : "", want,
							 r->st->len),
		  "%s %s: text before the error '%s', want '%s'", kd->kind, what,
		  r->st->text ? r->st->text : "", want);
	free(want);
	cr_assert(!strstr(r->st->err_msg, H_ML_KEY), "%s %s: the key is in the message: %s",
		  kd->kind, what, r->st->err_msg);
	cr_assert(r->st->err_msg[0], "%s %s: empty message", kd->kind, what);
}

static void p_errors(int k)
{
	const struct h_ml_kind *kd = &h_ml_kinds[k];
	struct h_ml_aliases as = { 0 };
	h_ml_alias_add(&as, "e400", kd, "status=400");
	h_ml_alias_add(&as, "e429", kd, "status=429,retry_after=7");
	h_ml_alias_add(&as, "e500", kd, "status=500");
	h_ml_alias_add(&as, "e529", kd, "status=529");
	/* Paced, so the tokens before the fault are in flight on their own. */
	h_ml_alias_add(&as, "inband", kd, "tokens=6,itl_us=2000,error_after=2");
	h_ml_alias_add(&as, "reset", kd, "tokens=6,itl_us=2000,reset_after=3");
	struct h_ml_env e;
	/* How one attempt's error is typed; retries are test_resilience.c's. */
	h_ml_extra_yaml(H_ML_ONE_ATTEMPT);
	h_ml_up(&e, NULL, NULL, &as);
	struct h_ml_res r;

	h_ml_run(&e, "e400", 1, &r);
	p_assert_err(&r, kd, "400", RS_ERR_UPSTREAM, 400, 0, 0);
	cr_assert(strstr(r.st->err_msg, P_ML_MSG), "%s 400: not the provider's message: %s",
		  kd->kind, r.st->err_msg);
	h_ml_res_free(&r);

	h_ml_run(&e, "e400", 0, &r);
	p_assert_err(&r, kd, "400 whole", RS_ERR_UPSTREAM, 400, 0, 0);
	cr_assert(strstr(r.st->err_msg, P_ML_MSG), "%s 400: %s", kd->kind, r.st->err_msg);
	h_ml_res_free(&r);

	h_ml_run(&e, "e429", 1, &r);
	p_assert_err(&r, kd, "429", RS_ERR_RATE_LIMITED, 429, 1, 0);
	h_ml_res_free(&r);

	h_ml_run(&e, "e500", 1, &r);
	p_assert_err(&r, kd, "500", RS_ERR_UPSTREAM, 500, 1, 0);
	h_ml_res_free(&r);

	/* 529 is Anthropic's "overloaded"; any provider's 529 means the same. */
	h_ml_run(&e, "e529", 1, &r);
	p_assert_err(&r, kd, "529", RS_ERR_UNAVAILABLE, 529, 1, 0);
	h_ml_res_free(&r);

	/* The provider's own error event inside a 200 stream: the text so
	 * far, then one ERROR, whatever follows it on the wire. */
	h_ml_run(&e, "inband", 1, &r);
	cr_assert(r.st->n_error == 1 && r.st->n_done == 0, "%s in-stream error: %u ERROR %u DONE",
		  kd->kind, r.st->n_error, r.st->n_done);
	p_assert_err(&r, kd, "in-stream error", r.st->err_code, -1, -1, 2);
	cr_assert(r.st->err_code == RS_ERR_UPSTREAM || r.st->err_code == RS_ERR_UNAVAILABLE,
		  "%s in-stream error: code %s (%s)", kd->kind, rs_errcode_name(r.st->err_code),
		  r.st->err_msg);
	h_ml_res_free(&r);

	/* Cut before the terminator: truncated, never a clean DONE. */
	h_ml_run(&e, "reset", 1, &r);
	p_assert_err(&r, kd, "reset", RS_ERR_TRUNCATED, -1, -1, 3);
	h_ml_res_free(&r);

	h_ml_down(&e);
}

Test(providers, test_openai_errors_typed) { p_errors(H_ML_KIND_OPENAI); }
Test(providers, test_azure_errors_typed) { p_errors(H_ML_KIND_AZURE); }
Test(providers, test_anthropic_errors_typed) { p_errors(H_ML_KIND_ANTHROPIC); }
Test(providers, test_gemini_errors_typed) { p_errors(H_ML_KIND_GEMINI); }
Test(providers, test_ollama_errors_typed) { p_errors(H_ML_KIND_OLLAMA); }

/* One event that is not JSON, then more of the stream: the reply is broken,
 * so it ends in a typed ERROR after the text before it, never in a DONE
 * with text missing. Every codec reports a provider that breaks its own
 * protocol as RS_ERR_UPSTREAM, not retryable (the text already went out). */
static void p_malformed(int k)
{
	const struct h_ml_kind *kd = &h_ml_kinds[k];
	struct h_ml_aliases as = { 0 };
	h_ml_alias_add(&as, "bad", kd, "tokens=6,itl_us=2000,malformed_after=2");
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	struct h_ml_res r;
	h_ml_run(&e, "bad", 1, &r);
	p_assert_err(&r, kd, "malformed", RS_ERR_UPSTREAM, -1, 0, 2);
	h_ml_res_free(&r);
	h_ml_down(&e);
}

Test(providers, test_openai_malformed_event_is_typed_error) { p_malformed(H_ML_KIND_OPENAI); }
Test(providers, test_azure_malformed_event_is_typed_error) { p_malformed(H_ML_KIND_AZURE); }
Test(providers, test_anthropic_malformed_event_is_typed_error) { p_malformed(H_ML_KIND_ANTHROPIC); }
Test(providers, test_gemini_malformed_event_is_typed_error) { p_malformed(H_ML_KIND_GEMINI); }
Test(providers, test_ollama_malformed_event_is_typed_error) { p_malformed(H_ML_KIND_OLLAMA); }
