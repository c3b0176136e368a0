/*
 * codec_anthropic_opt.c — the parameters of an OpenAI chat.completions
 * request as Anthropic Messages API parameters: max_tokens (which Anthropic
 * requires), stop sequences, sampling, tools, tool_choice, extended
 * thinking and the end-user id.
 *
 * What Anthropic cannot express (n > 1, audio output, logprobs, JSON
 * response formats) is refused with one line naming the field instead of
 * dropped: a client that asked for three choices or a JSON object must not
 * receive one free-text answer as if it had been honoured. Hints with no
 * Anthropic equivalent that change no response shape (frequency and
 * presence penalties, seed, logit_bias, and stream_options, since Anthropic
 * always reports usage) are dropped, as other gateways do. Temperature and
 * top_p go through as given: Anthropic's narrower temperature range (0..1)
 * is Anthropic's to enforce, with its own message.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "chatreq.h"
#include "codec_anthropic.h"

/* Anthropic requires max_tokens and OpenAI clients rarely send one; 4096 is
 * within every current Claude model's output limit. */
#define AN_DEFAULT_MAX_TOKENS 4096

/* Thinking budgets for OpenAI's reasoning_effort. 1024 is Anthropic's
 * smallest budget_tokens; the ladder doubles from there, as LiteLLM's does,
 * so clients moving between gateways get the same depth of thought. */
#define AN_BUDGET_LOW 1024
#define AN_BUDGET_MEDIUM 2048
#define AN_BUDGET_HIGH 4096

/* What Anthropic cannot honour, refused by name (see the top of the file). */
static int an_refuse(struct an_err *e, json_t *root)
{
	json_t *v, *m;
	size_t i;

	v = json_object_get(root, "n");
	if (an_present(v) && !(json_is_integer(v) && json_integer_value(v) == 1))
		return an_bad(e, "n: anthropic returns one choice per request; n must be 1");
	if (json_is_true(json_object_get(root, "logprobs")))
		return an_bad(e, "logprobs: not supported by anthropic");
	v = json_object_get(root, "top_logprobs");
	if (an_present(v) && !(json_is_integer(v) && json_integer_value(v) == 0))
		return an_bad(e, "top_logprobs: not supported by anthropic");
	if (an_present(json_object_get(root, "audio")))
		return an_bad(e, "audio: audio output is not supported by anthropic");
	json_array_foreach(json_object_get(root, "modalities"), i, m) {
		if (json_is_string(m) && strcmp(json_string_value(m), "text"))
			return an_bad(e, "modalities[%zu]: anthropic answers only in text", i);
	}
	v = json_object_get(root, "response_format");
	if (an_present(v) && strcmp(an_type(v), "text"))
		return an_bad(e, "response_format: only type text is supported by anthropic");
	return 0;
}

static int an_stop(struct an_err *e, json_t *root, json_t *out)
{
	json_t *v = json_object_get(root, "stop"), *s;
	size_t i;

	if (json_is_string(v))
		return json_string_length(v) ? an_set(out, "stop_sequences", json_pack("[O]", v)) : 0;
	if (!an_present(v))
		return 0;
	if (!json_is_array(v))
		return an_bad(e, "stop: expected a string or an array of strings");
	json_array_foreach(v, i, s) {
		if (!json_is_string(s))
			return an_bad(e, "stop[%zu]: expected a string", i);
	}
	return json_array_size(v) ? an_set(out, "stop_sequences", json_incref(v)) : 0;
}

static int an_number(struct an_err *e, json_t *root, const char *key, json_t *out)
{
	json_t *v = json_object_get(root, key);

	if (!an_present(v))
		return 0;
	if (!json_is_number(v))
		return an_bad(e, "%s: expected a number", key);
	return an_set(out, key, json_incref(v));
}

static int an_tools(struct an_err *e, json_t *root, json_t *out)
{
	json_t *tools = json_object_get(root, "tools"), *t, *arr;
	size_t i;

	if (!an_present(tools))
		return 0;
	if (!json_is_array(tools))
		return an_bad(e, "tools: expected an array");
	if (!json_array_size(tools))
		return 0;
	if (an_set(out, "tools", arr = json_array()))
		return -ENOMEM;
	json_array_foreach(tools, i, t) {
		json_t *fn = json_object_get(t, "function"), *tool, *schema;
		json_t *name = json_object_get(fn, "name"), *desc = json_object_get(fn, "description");
		json_t *params = json_object_get(fn, "parameters");

		if (strcmp(an_type(t), "function"))
			return an_bad(e, "tools[%zu].type: only function tools are supported by anthropic", i);
		if (!an_nonempty(name))
			return an_bad(e, "tools[%zu].function.name: expected a non-empty string", i);
		if (an_present(desc) && !json_is_string(desc))
			return an_bad(e, "tools[%zu].function.description: expected a string", i);
		/* Anthropic requires a schema; OpenAI's "no parameters" is an
		 * object schema without properties. */
		if (json_is_object(params))
			schema = json_incref(params);
		else if (!an_present(params))
			schema = json_pack("{s:s,s:{}}", "type", "object", "properties");
		else
			return an_bad(e, "tools[%zu].function.parameters: expected an object", i);
		tool = json_pack("{s:O}", "name", name);
		if (an_push(arr, tool) || (json_is_string(desc) && an_set(tool, "description", json_incref(desc)))) {
			json_decref(schema);
			return -ENOMEM;
		}
		if (an_set(tool, "input_schema", schema))
			return -ENOMEM;
	}
	return 0;
}

/* tool_choice, and parallel_tool_calls: false as Anthropic's
 * disable_parallel_tool_use (which needs a tool_choice to ride on). */
static int an_tool_choice(struct an_err *e, json_t *root, json_t *out)
{
	json_t *tc = json_object_get(root, "tool_choice"), *ptc = json_object_get(root, "parallel_tool_calls");
	const char *type = "auto";
	json_t *choice;

	if (an_present(ptc) && !json_is_boolean(ptc))
		return an_bad(e, "parallel_tool_calls: expected a boolean");
	if (!an_present(tc)) {
		if (!json_is_false(ptc) || !json_object_get(out, "tools"))
			return 0;
		choice = json_pack("{s:s}", "type", type);
	} else if (json_is_string(tc)) {
		const char *s = json_string_value(tc);

		if (!strcmp(s, "none"))
			type = "none";
		else if (!strcmp(s, "required"))
			type = "any";
		else if (strcmp(s, "auto"))
			return an_bad(e, "tool_choice: expected auto, none, required or a function");
		choice = json_pack("{s:s}", "type", type);
	} else if (json_is_object(tc)) {
		json_t *name = json_object_get(json_object_get(tc, "function"), "name");

		if (strcmp(an_type(tc), "function"))
			return an_bad(e, "tool_choice.type: only function is supported by anthropic");
		if (!an_nonempty(name))
			return an_bad(e, "tool_choice.function.name: expected a non-empty string");
		type = "tool";
		choice = json_pack("{s:s,s:O}", "type", type, "name", name);
	} else {
		return an_bad(e, "tool_choice: expected a string or an object");
	}
	if (an_set(out, "tool_choice", choice))
		return -ENOMEM;
	/* Anthropic's "none" takes no other key. */
	if (json_is_false(ptc) && strcmp(type, "none"))
		return an_set(choice, "disable_parallel_tool_use", json_true());
	return 0;
}

/* Extended thinking, from OpenAI's reasoning_effort or from an
 * Anthropic-shaped "thinking" object passed through as is (an extension
 * other gateways accept too). *budget: its budget_tokens, 0 without. */
static int an_thinking(struct an_err *e, json_t *root, json_t *out, int64_t *budget)
{
	json_t *th = json_object_get(root, "thinking"), *eff = json_object_get(root, "reasoning_effort");
	json_t *b = json_object_get(th, "budget_tokens");
	const char *level;

	*budget = 0;
	if (an_present(th)) {
		if (!json_is_object(th))
			return an_bad(e, "thinking: expected an object");
		/* Bounded like the client's own token limits, so the default
		 * max_tokens above it cannot overflow. */
		if (json_is_integer(b) && json_integer_value(b) > 0)
			*budget = json_integer_value(b) < CHATREQ_MAX_TOKENS_LIMIT
					  ? json_integer_value(b) : CHATREQ_MAX_TOKENS_LIMIT;
		return an_set(out, "thinking", json_incref(th));
	}
	if (!an_present(eff))
		return 0;
	level = json_string_value(eff);
	if (level && !strcmp(level, "none"))
		return 0;
	if (level && (!strcmp(level, "minimal") || !strcmp(level, "low")))
		*budget = AN_BUDGET_LOW;
	else if (level && !strcmp(level, "medium"))
		*budget = AN_BUDGET_MEDIUM;
	else if (level && !strcmp(level, "high"))
		*budget = AN_BUDGET_HIGH;
	else
		return an_bad(e, "reasoning_effort: expected none, minimal, low, medium or high");
	return an_set(out, "thinking", json_pack("{s:s,s:I}", "type", "enabled", "budget_tokens",
						 (json_int_t)*budget));
}

/* max_tokens must exceed the thinking budget, which counts against it: the
 * default leaves the usual room for the answer on top of the thinking. */
static int an_max_tokens(struct an_err *e, const struct chatreq *req, int64_t budget, json_t *out)
{
	int64_t max = req->max_tokens > 0 ? req->max_tokens : AN_DEFAULT_MAX_TOKENS + budget;

	if (max <= budget)
		return an_bad(e, "max_completion_tokens: must exceed the thinking budget of %lld tokens",
			      (long long)budget);
	return an_set(out, "max_tokens", json_integer((json_int_t)max));
}

/* OpenAI's end-user id (safety_identifier, formerly user) is what
 * Anthropic's metadata.user_id is for. */
static int an_user_id(json_t *root, json_t *out)
{
	json_t *uid = json_object_get(root, "safety_identifier");

	if (!an_nonempty(uid))
		uid = json_object_get(root, "user");
	if (!an_nonempty(uid))
		return 0;
	return an_set(out, "metadata", json_pack("{s:O}", "user_id", uid));
}

int an_params(struct an_err *e, const struct chatreq *req, json_t *out)
{
	json_t *root = req->root;
	int64_t budget;
	int rc;

	if ((rc = an_refuse(e, root)) || (rc = an_stop(e, root, out)) ||
	    (rc = an_number(e, root, "temperature", out)) || (rc = an_number(e, root, "top_p", out)) ||
	    (rc = an_tools(e, root, out)) || (rc = an_tool_choice(e, root, out)) ||
	    (rc = an_thinking(e, root, out, &budget)) || (rc = an_max_tokens(e, req, budget, out)))
		return rc;
	return an_user_id(root, out);
}

