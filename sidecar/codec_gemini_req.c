/*
 * codec_gemini_req.c — an OpenAI chat.completions request as a Gemini
 * generateContent request (the decoding half is codec_gemini.c).
 *
 *   messages          -> contents[{role user|model, parts}] + systemInstruction
 *   tool_calls        -> functionCall parts; tool results -> functionResponse
 *   sampling, stop... -> generationConfig
 *   tools/tool_choice -> tools[{functionDeclarations}] + toolConfig
 *
 * Gemini wants turns to alternate, so consecutive contents of one role are
 * merged; that is also how the answers to parallel tool calls end up in
 * the single turn Gemini expects them in. Parameters Gemini has no use for
 * (user, metadata, logprobs, ...) are dropped; ones it cannot honour in the
 * meaning the client gave them (n > 1, unknown part types, a tool result
 * for a call that was never made) fail the request with a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chatreq.h"
#include "codec_util.h"
#include "config.h"
#include "jload.h"

/* Google's documented placeholder for a functionCall part whose real
 * thoughtSignature is unknown: Gemini 3 rejects replayed calls without one,
 * and an OpenAI history has nowhere to keep the real signature. */
#define GM_SKIP_SIGNATURE "skip_thought_signature_validator"

struct gm_req {
	json_t *messages;
	json_t *contents; /* the turns built so far */
	json_t *system;	  /* parts of systemInstruction */
	json_t *last;	  /* last turn, borrowed, for merging */
	char *err;
	size_t errlen;
};

/* Append parts (taken) as a turn of role, or to the last turn when it has
 * the same role. Empty parts add nothing. */
static int gm_turn(struct gm_req *b, const char *role, json_t *parts)
{
	json_t *turn;
	int rc;

	if (!parts)
		return -ENOMEM;
	if (!json_array_size(parts)) {
		json_decref(parts);
		return 0;
	}
	if (b->last && !strcmp(json_string_value(json_object_get(b->last, "role")), role)) {
		rc = json_array_extend(json_object_get(b->last, "parts"), parts) ? -ENOMEM : 0;
		json_decref(parts);
		return rc;
	}
	turn = json_object();
	if (!turn || cu_put(turn, "role", json_string(role))) {
		json_decref(turn);
		json_decref(parts);
		return -ENOMEM;
	}
	if ((rc = cu_put(turn, "parts", parts)) || (rc = cu_push(b->contents, json_incref(turn)))) {
		json_decref(turn);
		return rc;
	}
	b->last = turn;
	json_decref(turn);
	return 0;
}

/* {key: {k1: v1, k2: v2}}, the second pair only when k2 is given. Takes
 * the values whatever happens (NULL ones, failed allocations, fail it). */
static json_t *gm_wrap(const char *key, const char *k1, json_t *v1, const char *k2, json_t *v2)
{
	json_t *in = json_object(), *out = json_object();
	int rc = in && out ? 0 : -ENOMEM;

	if (!rc)
		rc = cu_put(in, k1, v1);
	else
		json_decref(v1);
	if (k2 && !rc)
		rc = cu_put(in, k2, v2);
	else
		json_decref(v2);
	if (!rc) {
		rc = cu_put(out, key, in);
		in = NULL;
	}
	if (rc) {
		json_decref(in);
		json_decref(out);
		return NULL;
	}
	return out;
}

/* {text: text}; takes text. */
static json_t *gm_text_part(json_t *text)
{
	json_t *p = json_object();

	if (!p) {
		json_decref(text);
		return NULL;
	}
	if (cu_put(p, "text", text)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* A guess of an http(s) file's type from its extension: Gemini needs a
 * mimeType for external files, and an image_url part says nothing else. */
static const char *gm_mime_of(const char *url)
{
	static const char *const map[][2] = {
		{ ".png", "image/png" },       { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
		{ ".webp", "image/webp" },     { ".gif", "image/gif" },	 { ".heic", "image/heic" },
		{ ".pdf", "application/pdf" },
	};
	size_t n = strcspn(url, "?#");

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		size_t el = strlen(map[i][0]);
		if (n > el && !strncasecmp(url + n - el, map[i][0], el))
			return map[i][1];
	}
	return NULL;
}

/* One non-text user part as inlineData or fileData. */
static int gm_media_part(struct gm_req *b, json_t *part, const char *type, size_t mi, size_t pi,
			 json_t **out)
{
	struct cu_data_url du;
	const char *url = NULL;
	size_t len = 0;

	*out = NULL;
	if (!strcmp(type, "image_url") || !strcmp(type, "file")) {
		json_t *u = !strcmp(type, "file")
				    ? json_object_get(json_object_get(part, "file"), "file_data")
				    : json_object_get(json_object_get(part, "image_url"), "url");
		url = json_string_value(u);
		len = json_string_length(u);
		if (!url)
			return cu_einval(b->err, b->errlen,
					 "messages[%zu].content[%zu]: gemini needs a data URL%s",
					 mi, pi,
					 !strcmp(type, "file") ? " in file.file_data"
							       : " or an http(s) URL");
		if (!cu_data_url(url, len, &du))
			*out = gm_wrap("inlineData", "mimeType", json_stringn(du.mime, du.mime_len),
				       "data", json_stringn(du.b64, du.b64_len));
		else if (!strcmp(type, "image_url") && cu_is_http_url(url))
			*out = gm_wrap("fileData", "fileUri", json_incref(u),
				       gm_mime_of(url) ? "mimeType" : NULL,
				       gm_mime_of(url) ? json_string(gm_mime_of(url)) : NULL);
		else
			return cu_einval(b->err, b->errlen,
					 "messages[%zu].content[%zu]: expected a base64 data URL%s",
					 mi, pi,
					 !strcmp(type, "image_url") ? " or an http(s) URL" : "");
	} else if (!strcmp(type, "input_audio")) {
		json_t *a = json_object_get(part, "input_audio");
		const char *fmt = json_string_value(json_object_get(a, "format"));
		json_t *data = json_object_get(a, "data");
		char mime[32];
		if (!fmt || !json_is_string(data) || strlen(fmt) > 16)
			return cu_einval(
				b->err, b->errlen,
				"messages[%zu].content[%zu].input_audio: expected data and format",
				mi, pi);
		snprintf(mime, sizeof mime, "audio/%s", fmt);
		*out = gm_wrap("inlineData", "mimeType", json_string(mime), "data",
			       json_incref(data));
	} else {
		return cu_einval(
			b->err, b->errlen,
			"messages[%zu].content[%zu].type: gemini does not take %.32s parts", mi, pi,
			type);
	}
	return *out ? 0 : -ENOMEM;
}

static int gm_user(struct gm_req *b, json_t *msg, size_t mi)
{
	json_t *content = json_object_get(msg, "content"), *part, *parts = json_array();
	size_t pi;
	int rc = 0;

	if (!parts)
		return -ENOMEM;
	if (json_is_string(content) && json_string_length(content))
		rc = cu_push(parts, gm_text_part(json_incref(content)));
	json_array_foreach(content, pi, part) {
		const char *type = json_string_value(json_object_get(part, "type"));
		json_t *p = NULL;
		if (!strcmp(type, "text")) {
			json_t *t = json_object_get(part, "text");
			if (!json_string_length(t))
				continue;
			p = gm_text_part(json_incref(t));
		} else if ((rc = gm_media_part(b, part, type, mi, pi, &p))) {
			break;
		}
		if ((rc = cu_push(parts, p)))
			break;
	}
	if (rc) {
		json_decref(parts);
		return rc;
	}
	return gm_turn(b, "user", parts);
}

static int gm_assistant(struct gm_req *b, json_t *msg, size_t mi)
{
	json_t *text = NULL, *parts = json_array(), *calls = json_object_get(msg, "tool_calls"), *c;
	size_t ci;
	int rc;

	if (!parts)
		return -ENOMEM;
	if ((rc = cu_text(msg, mi, "gemini", &text, b->err, b->errlen)))
		goto fail;
	if (json_string_length(text) && (rc = cu_push(parts, gm_text_part(json_incref(text)))))
		goto fail;
	if (calls && !json_is_null(calls) && !json_is_array(calls)) {
		rc = cu_einval(b->err, b->errlen, "messages[%zu].tool_calls: expected an array",
			       mi);
		goto fail;
	}
	json_array_foreach(calls, ci, c) {
		const char *name;
		json_t *args, *p;
		if ((rc = cu_tool_call(c, mi, ci, &name, &args, b->err, b->errlen)))
			goto fail;
		p = gm_wrap("functionCall", "name", json_string(name), "args", args);
		if (!p) {
			rc = -ENOMEM;
			goto fail;
		}
		if ((rc = cu_put(p, "thoughtSignature", json_string(GM_SKIP_SIGNATURE)))) {
			json_decref(p);
			goto fail;
		}
		if ((rc = cu_push(parts, p)))
			goto fail;
	}
	json_decref(text);
	return gm_turn(b, "model", parts);
fail:
	json_decref(text);
	json_decref(parts);
	return rc;
}

/* A tool result as a functionResponse. Gemini matches responses to calls
 * by function name, which OpenAI leaves on the assistant's call. The
 * result is JSON when it parses as an object or array, else text. */
static int gm_tool(struct gm_req *b, json_t *msg, size_t mi)
{
	const char *id = json_string_value(json_object_get(msg, "tool_call_id"));
	const char *name = id ? cu_tool_call_name(b->messages, mi, id) : NULL;
	json_t *text = NULL, *val, *resp, *parts;
	int rc;

	if (!id)
		return cu_einval(b->err, b->errlen, "messages[%zu].tool_call_id: required", mi);
	if (!name)
		return cu_einval(
			b->err, b->errlen,
			"messages[%zu].tool_call_id: no earlier assistant tool call has this id",
			mi);
	if ((rc = cu_text(msg, mi, "gemini", &text, b->err, b->errlen)))
		return rc;
	val = jload_b(json_string_value(text), json_string_length(text), 0, NULL);
	if (!json_is_object(val) && !json_is_array(val)) {
		json_decref(val);
		val = json_incref(text);
	}
	json_decref(text);
	resp = json_object();
	if (!resp) {
		json_decref(val);
		return -ENOMEM;
	}
	if (cu_put(resp, "content", val)) {
		json_decref(resp);
		return -ENOMEM;
	}
	parts = json_array();
	if (!parts) {
		json_decref(resp);
		return -ENOMEM;
	}
	if (cu_push(parts,
		    gm_wrap("functionResponse", "name", json_string(name), "response", resp))) {
		json_decref(parts);
		return -ENOMEM;
	}
	return gm_turn(b, "user", parts);
}

static int gm_messages(struct gm_req *b)
{
	json_t *msg;
	size_t mi;
	int rc = 0;

	json_array_foreach(b->messages, mi, msg) {
		const char *role = json_string_value(json_object_get(msg, "role"));
		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			/* One systemInstruction for the whole conversation,
			 * whatever position the client put its system
			 * messages in. */
			json_t *text;
			if ((rc = cu_text(msg, mi, "gemini", &text, b->err, b->errlen)))
				return rc;
			if (json_string_length(text))
				rc = cu_push(b->system, gm_text_part(text));
			else
				json_decref(text);
		} else if (!strcmp(role, "user")) {
			rc = gm_user(b, msg, mi);
		} else if (!strcmp(role, "assistant")) {
			rc = gm_assistant(b, msg, mi);
		} else {
			rc = gm_tool(b, msg, mi);
		}
		if (rc)
			return rc;
	}
	if (!json_array_size(b->contents))
		return cu_einval(b->err, b->errlen,
				 "messages: no user or assistant content to send");
	return 0;
}

/* Put root[okey] (a number, or an integer when integer) as cfg[gkey]. */
static int gm_param(json_t *root, json_t *cfg, const char *okey, const char *gkey, int integer,
		    char *err, size_t errlen)
{
	json_t *v;
	int rc = integer ? cu_opt_integer(root, okey, &v, err, errlen)
			 : cu_opt_number(root, okey, &v, err, errlen);

	return rc || !v ? rc : cu_put(cfg, gkey, v);
}

static int gm_generation_config(const struct chatreq *req, json_t *body, char *err, size_t errlen)
{
	json_t *root = req->root, *cfg = json_object(), *v, *schema;
	int rc, rf;

	if (!cfg)
		return -ENOMEM;
	if ((rc = cu_check_n(root, "gemini", err, errlen)))
		goto out;
	/* chatreq already resolved max_completion_tokens over max_tokens. */
	if (req->max_tokens > 0 &&
	    (rc = cu_put(cfg, "maxOutputTokens", json_integer(req->max_tokens))))
		goto out;
	if ((rc = gm_param(root, cfg, "temperature", "temperature", 0, err, errlen)) ||
	    (rc = gm_param(root, cfg, "top_p", "topP", 0, err, errlen)) ||
	    (rc = gm_param(root, cfg, "presence_penalty", "presencePenalty", 0, err, errlen)) ||
	    (rc = gm_param(root, cfg, "frequency_penalty", "frequencyPenalty", 0, err, errlen)) ||
	    (rc = gm_param(root, cfg, "seed", "seed", 1, err, errlen)))
		goto out;
	if ((rc = cu_opt_stop(root, &v, err, errlen)) ||
	    (v && (rc = cu_put(cfg, "stopSequences", v))))
		goto out;
	rf = cu_response_format(root, &schema, err, errlen);
	if (rf < 0) {
		rc = rf;
		goto out;
	}
	if (rf != CU_RF_NONE &&
	    (rc = cu_put(cfg, "responseMimeType", json_string("application/json"))))
		goto out;
	/* responseJsonSchema takes JSON Schema as OpenAI clients write it;
	 * the older responseSchema is an OpenAPI subset that rejects common
	 * keys such as additionalProperties. */
	if (rf == CU_RF_SCHEMA && (rc = cu_put(cfg, "responseJsonSchema", json_incref(schema))))
		goto out;
	if (json_object_size(cfg)) {
		rc = cu_put(body, "generationConfig", cfg);
		cfg = NULL;
	}
out:
	json_decref(cfg);
	return rc;
}

/* One OpenAI tool as a functionDeclaration. */
static int gm_declaration(json_t *tool, size_t i, json_t *decls, char *err, size_t errlen)
{
	json_t *fn = json_object_get(tool, "function"), *d, *desc, *params;
	const char *type = json_string_value(json_object_get(tool, "type"));
	const char *name = json_string_value(json_object_get(fn, "name"));
	int rc;

	if (!type || strcmp(type, "function"))
		return cu_einval(err, errlen, "tools[%zu].type: gemini takes only function tools",
				 i);
	if (!name || !*name)
		return cu_einval(err, errlen, "tools[%zu].function.name: required", i);
	desc = json_object_get(fn, "description");
	params = json_object_get(fn, "parameters");
	if (desc && !json_is_null(desc) && !json_is_string(desc))
		return cu_einval(err, errlen, "tools[%zu].function.description: expected a string",
				 i);
	if (params && !json_is_null(params) && !json_is_object(params))
		return cu_einval(err, errlen, "tools[%zu].function.parameters: expected an object",
				 i);
	d = json_object();
	if (!d)
		return -ENOMEM;
	if ((rc = cu_put(d, "name", json_string(name))) ||
	    (json_is_string(desc) && (rc = cu_put(d, "description", json_incref(desc)))) ||
	    /* parametersJsonSchema, not parameters: OpenAI parameters are
	     * JSON Schema, which Gemini's OpenAPI-subset field rejects
	     * (additionalProperties, $ref, ...). */
	    (json_is_object(params) &&
	     (rc = cu_put(d, "parametersJsonSchema", json_incref(params))))) {
		json_decref(d);
		return rc;
	}
	return cu_push(decls, d);
}

/* tool_choice -> functionCallingConfig: none NONE, auto AUTO, required ANY,
 * one named function ANY restricted to it. */
static int gm_tool_config(json_t *root, json_t *body, char *err, size_t errlen)
{
	json_t *tc = json_object_get(root, "tool_choice"), *cfg;
	const char *s = json_string_value(tc), *type, *fname;

	if (!tc || json_is_null(tc))
		return 0;
	if (s && (!strcmp(s, "none") || !strcmp(s, "auto") || !strcmp(s, "required"))) {
		cfg = json_pack("{s:{s:s}}", "functionCallingConfig", "mode",
				!strcmp(s, "none")   ? "NONE"
				: !strcmp(s, "auto") ? "AUTO"
						     : "ANY");
		return cu_put(body, "toolConfig", cfg);
	}
	type = json_string_value(json_object_get(tc, "type"));
	fname = json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
	if (!type || strcmp(type, "function") || !fname || !*fname)
		return cu_einval(
			err, errlen,
			"tool_choice: expected none, auto, required or {type: function, function: {name}}");
	cfg = json_pack("{s:{s:s, s:[s]}}", "functionCallingConfig", "mode", "ANY",
			"allowedFunctionNames", fname);
	return cu_put(body, "toolConfig", cfg);
}

static int gm_tools(json_t *root, json_t *body, char *err, size_t errlen)
{
	json_t *tools = json_object_get(root, "tools"), *t, *decls, *arr;
	size_t i;
	int rc;

	if (!tools || json_is_null(tools) || (json_is_array(tools) && !json_array_size(tools))) {
		json_t *tc = json_object_get(root, "tool_choice");
		const char *s = json_string_value(tc);
		if (tc && !json_is_null(tc) && !(s && (!strcmp(s, "none") || !strcmp(s, "auto"))))
			return cu_einval(err, errlen, "tool_choice: requires tools");
		return 0;
	}
	if (!json_is_array(tools))
		return cu_einval(err, errlen, "tools: expected an array");
	if (!(decls = json_array()))
		return -ENOMEM;
	json_array_foreach(tools, i, t) {
		if ((rc = gm_declaration(t, i, decls, err, errlen))) {
			json_decref(decls);
			return rc;
		}
	}
	arr = json_pack("[{s:O}]", "functionDeclarations", decls);
	json_decref(decls);
	if ((rc = cu_put(body, "tools", arr)))
		return rc;
	return gm_tool_config(root, body, err, errlen);
}

/* models/NAME and NAME are the same model to Gemini; the URL wants the
 * bare name as one path segment. */
static int gm_url(const struct pc_target *t, int stream, struct pc_http *out)
{
	const char *m = t->model;
	char *esc;
	int n;

	if (!strncmp(m, "models/", 7) && m[7])
		m += 7;
	if (!(esc = cu_url_escape(m)))
		return -ENOMEM;
	n = asprintf(&out->url, "%s/models/%s:%s", t->prov->base_url, esc,
		     stream ? "streamGenerateContent?alt=sse" : "generateContent");
	free(esc);
	if (n < 0) {
		out->url = NULL;
		return -ENOMEM;
	}
	return 0;
}

int gm_build(const struct pc_target *t, const struct chatreq *req, int stream, struct pc_http *out,
	     char *err, size_t errlen)
{
	struct gm_req b = { .err = err, .errlen = errlen };
	json_t *body = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = 0;
	if ((rc = cu_check_target(t, req, err, errlen)))
		return rc;
	b.messages = json_object_get(req->root, "messages");
	b.contents = json_array();
	b.system = json_array();
	body = json_object();
	rc = -ENOMEM;
	if (!b.contents || !b.system || !body)
		goto fail;
	if ((rc = gm_messages(&b)))
		goto fail;
	rc = cu_put(body, "contents", json_incref(b.contents));
	if (!rc && json_array_size(b.system))
		rc = cu_put(body, "systemInstruction", json_pack("{s:O}", "parts", b.system));
	if (rc || (rc = gm_generation_config(req, body, err, errlen)) ||
	    (rc = gm_tools(req->root, body, err, errlen)))
		goto fail;
	if ((rc = cu_set_body(out, body)) || (rc = gm_url(t, stream, out)) ||
	    (rc = pc_http_header(out, "Content-Type: application/json")))
		goto fail;
	if (t->prov->api_key && *t->prov->api_key &&
	    (rc = pc_http_header(out, "x-goog-api-key: %s", t->prov->api_key)))
		goto fail;
	out->format = stream ? PC_FMT_SSE : PC_FMT_JSON;
	json_decref(b.contents);
	json_decref(b.system);
	json_decref(body);
	return 0;
fail:
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	json_decref(b.contents);
	json_decref(b.system);
	json_decref(body);
	pc_http_free(out);
	return rc;
}
