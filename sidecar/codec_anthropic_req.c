/*
 * codec_anthropic_req.c — an OpenAI chat.completions request as an Anthropic
 * Messages API request (POST {base_url}/v1/messages): the messages and
 * their content here, the parameters in codec_anthropic_opt.c.
 *
 * The shapes differ in ways the client never sees but Anthropic enforces:
 * system and developer messages become one top-level "system" string;
 * user and assistant turns must alternate, so consecutive turns of one role
 * are merged (tool results are user turns, so a run of them becomes one
 * turn); tool calls are tool_use blocks whose input is a JSON object, not a
 * string. Content Anthropic cannot take (audio, files other than PDF) is
 * refused with one line naming the field, never dropped.
 *
 * Messages name fields and indexes only; they never quote the client's text.
 * The client's document is only read: pieces of it are shared into the
 * output by reference, never modified.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "chatreq.h"
#include "codec_anthropic.h"
#include "config.h"
#include "jdump.h"
#include "jload.h"

/* The API version this codec's decoder is written against; a provider's
 * api_version overrides it. */
#define AN_DEFAULT_VERSION "2023-06-01"
#define AN_DEFAULT_BASE_URL "https://api.anthropic.com"

struct an_req {
	struct an_err e;
	json_t *msgs;          /* the "messages" array being built */
	json_t *turn;          /* content blocks of its last turn (borrowed) */
	const char *turn_role; /* role of that turn: "user" or "assistant" */
	char *sys;             /* system text joined so far (owned) */
	size_t sys_len;
};

int an_bad(struct an_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e->buf && e->len) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- system -------------------------------------------------------------------- */

/* Append one piece of system text, "\n\n" after the previous one. */
static int an_sys_add(struct an_req *q, json_t *str)
{
	size_t n = json_string_length(str), sep = q->sys_len ? 2 : 0;
	char *p;

	if (!n)
		return 0;
	p = realloc(q->sys, q->sys_len + sep + n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + q->sys_len, "\n\n", sep);
	memcpy(p + q->sys_len + sep, json_string_value(str), n);
	q->sys_len += sep + n;
	p[q->sys_len] = '\0';
	q->sys = p;
	return 0;
}

static int an_system(struct an_req *q, size_t mi, json_t *content)
{
	json_t *part;
	size_t pi;
	int rc;

	if (json_is_string(content))
		return an_sys_add(q, content);
	json_array_foreach(content, pi, part) {
		if (strcmp(an_type(part), "text"))
			return an_bad(&q->e, "messages[%zu].content[%zu]: system and developer messages take only text parts",
				      mi, pi);
		if ((rc = an_sys_add(q, json_object_get(part, "text"))))
			return rc;
	}
	return 0;
}

/* ---- content parts -------------------------------------------------------------- */

/* Anthropic rejects empty text blocks; an empty string says nothing anyway. */
static int an_text(json_t *blocks, json_t *str)
{
	if (!json_string_length(str))
		return 0;
	return an_push(blocks, json_pack("{s:s,s:O}", "type", "text", "text", str));
}

/* Split "data:<type>[;params];base64,<data>" into media type and payload.
 * 0, or -1 when u is no base64 data URL. */
static int an_data_url(const char *u, size_t n, const char **mime, size_t *mime_len,
		       const char **data, size_t *data_len)
{
	static const char b64[] = ";base64";
	const size_t bl = sizeof b64 - 1;
	const char *comma, *meta = u + 5;

	if (n < 5 || strncasecmp(u, "data:", 5))
		return -1;
	comma = memchr(u, ',', n);
	if (!comma || (size_t)(comma - meta) < bl || strncasecmp(comma - bl, b64, bl))
		return -1;
	*mime = meta;
	*mime_len = (size_t)((const char *)memchr(meta, ';', (size_t)(comma - meta)) - meta);
	*data = comma + 1;
	*data_len = n - (size_t)(*data - u);
	return *mime_len && *data_len ? 0 : -1;
}

static int an_is_http(const char *u, size_t n)
{
	return (n > 7 && !strncasecmp(u, "http://", 7)) || (n > 8 && !strncasecmp(u, "https://", 8));
}

static int an_image(struct an_req *q, size_t mi, size_t pi, json_t *part, json_t *blocks)
{
	json_t *iu = json_object_get(part, "image_url");
	json_t *url = json_is_object(iu) ? json_object_get(iu, "url") : iu;
	const char *mime, *data;
	size_t ml, dl;
	json_t *src;

	if (!json_is_string(url))
		return an_bad(&q->e, "messages[%zu].content[%zu].image_url.url: expected a string", mi, pi);
	if (!an_data_url(json_string_value(url), json_string_length(url), &mime, &ml, &data, &dl))
		src = json_pack("{s:s,s:s%,s:s%}", "type", "base64", "media_type", mime, ml, "data",
				data, dl);
	else if (an_is_http(json_string_value(url), json_string_length(url)))
		src = json_pack("{s:s,s:O}", "type", "url", "url", url);
	else
		return an_bad(&q->e, "messages[%zu].content[%zu].image_url.url: expected a data:<type>;base64, URL or an http(s) URL",
			      mi, pi);
	return an_push(blocks, json_pack("{s:s,s:o}", "type", "image", "source", src));
}

/* OpenAI's inline file part; Anthropic reads PDFs as document blocks. */
static int an_file(struct an_req *q, size_t mi, size_t pi, json_t *part, json_t *blocks)
{
	static const char pdf[] = "application/pdf";
	json_t *fd = json_object_get(json_object_get(part, "file"), "file_data");
	const char *mime, *data;
	size_t ml, dl;

	if (!json_is_string(fd) ||
	    an_data_url(json_string_value(fd), json_string_length(fd), &mime, &ml, &data, &dl) ||
	    ml != sizeof pdf - 1 || strncasecmp(mime, pdf, ml))
		return an_bad(&q->e, "messages[%zu].content[%zu].file: anthropic takes only inline file_data as data:application/pdf;base64,",
			      mi, pi);
	return an_push(blocks, json_pack("{s:s,s:{s:s,s:s,s:s%}}", "type", "document", "source",
					 "type", "base64", "media_type", pdf, "data", data, dl));
}

/* Content of a user, assistant or tool message as Anthropic blocks. Images
 * and documents come only from the user's side (user and tool messages);
 * refusal parts only from the assistant's. */
static int an_parts(struct an_req *q, size_t mi, json_t *content, const char *role,
		    json_t *blocks)
{
	int assistant = !strcmp(role, "assistant");
	json_t *part;
	size_t pi;
	int rc;

	if (json_is_string(content))
		return an_text(blocks, content);
	json_array_foreach(content, pi, part) {
		const char *type = an_type(part);

		if (!strcmp(type, "text"))
			rc = an_text(blocks, json_object_get(part, "text"));
		else if (!strcmp(type, "refusal") && assistant)
			rc = an_text(blocks, json_object_get(part, "refusal"));
		else if (!strcmp(type, "image_url") && !assistant)
			rc = an_image(q, mi, pi, part, blocks);
		else if (!strcmp(type, "file") && !assistant)
			rc = an_file(q, mi, pi, part, blocks);
		else if (!strcmp(type, "input_audio"))
			return an_bad(&q->e, "messages[%zu].content[%zu]: audio input is not supported by anthropic",
				      mi, pi);
		else
			return an_bad(&q->e, "messages[%zu].content[%zu].type: not supported by anthropic in a %s message",
				      mi, pi, role);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- tool calls and results ------------------------------------------------------- */

static int an_tool_use(struct an_req *q, size_t mi, size_t ci, json_t *call, json_t *blocks)
{
	json_t *type = json_object_get(call, "type"), *id = json_object_get(call, "id");
	json_t *fn = json_object_get(call, "function");
	json_t *name = json_object_get(fn, "name"), *args = json_object_get(fn, "arguments");
	json_t *input;
	json_error_t je;

	if (an_present(type) && !(json_is_string(type) && !strcmp(json_string_value(type), "function")))
		return an_bad(&q->e, "messages[%zu].tool_calls[%zu].type: only function calls are supported by anthropic",
			      mi, ci);
	if (!an_nonempty(id))
		return an_bad(&q->e, "messages[%zu].tool_calls[%zu].id: expected a non-empty string", mi, ci);
	if (!an_nonempty(name))
		return an_bad(&q->e, "messages[%zu].tool_calls[%zu].function.name: expected a non-empty string",
			      mi, ci);
	/* Arguments are JSON text in OpenAI's shape and an object in
	 * Anthropic's. Some clients send "" (or nothing) for a call without
	 * arguments, and some send the object itself. */
	if (json_is_object(args)) {
		input = json_incref(args);
	} else if (!an_present(args) || (json_is_string(args) && !json_string_length(args))) {
		input = json_object();
	} else if (json_is_string(args)) {
		input = jload_b(json_string_value(args), json_string_length(args), 0, &je);
		if (!input && json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		if (!input)
			return an_bad(&q->e, "messages[%zu].tool_calls[%zu].function.arguments: invalid JSON at byte %d",
				      mi, ci, je.position);
		if (!json_is_object(input)) {
			json_decref(input);
			return an_bad(&q->e, "messages[%zu].tool_calls[%zu].function.arguments: expected a JSON object",
				      mi, ci);
		}
	} else {
		return an_bad(&q->e, "messages[%zu].tool_calls[%zu].function.arguments: expected a string of JSON",
			      mi, ci);
	}
	return an_push(blocks, json_pack("{s:s,s:O,s:O,s:o}", "type", "tool_use", "id", id, "name",
					 name, "input", input));
}

static int an_assistant(struct an_req *q, size_t mi, json_t *msg, json_t *blocks)
{
	json_t *calls = json_object_get(msg, "tool_calls"), *call;
	size_t ci;
	int rc;

	if (an_present(json_object_get(msg, "function_call")))
		return an_bad(&q->e, "messages[%zu].function_call: deprecated by OpenAI; use tool_calls", mi);
	if ((rc = an_parts(q, mi, json_object_get(msg, "content"), "assistant", blocks)))
		return rc;
	if (!an_present(calls))
		return 0;
	if (!json_is_array(calls))
		return an_bad(&q->e, "messages[%zu].tool_calls: expected an array", mi);
	json_array_foreach(calls, ci, call) {
		if ((rc = an_tool_use(q, mi, ci, call, blocks)))
			return rc;
	}
	return 0;
}

static int an_tool_result(struct an_req *q, size_t mi, json_t *msg, json_t *blocks)
{
	json_t *id = json_object_get(msg, "tool_call_id"), *content = json_object_get(msg, "content");
	json_t *res, *c = NULL;
	int rc;

	if (!an_nonempty(id))
		return an_bad(&q->e, "messages[%zu].tool_call_id: expected a non-empty string", mi);
	res = json_pack("{s:s,s:O}", "type", "tool_result", "tool_use_id", id);
	if ((rc = an_push(blocks, res)))
		return rc;
	/* An empty result goes without content: Anthropic rejects empty text. */
	if (json_is_string(content)) {
		if (json_string_length(content))
			c = json_incref(content);
	} else {
		if (!(c = json_array()))
			return -ENOMEM;
		if ((rc = an_parts(q, mi, content, "tool", c))) {
			json_decref(c);
			return rc;
		}
		if (!json_array_size(c)) {
			json_decref(c);
			c = NULL;
		}
	}
	return c ? an_set(res, "content", c) : 0;
}

/* ---- messages ----------------------------------------------------------------------- */

/* Add one message's blocks as a turn of role. Blocks join the previous turn
 * when it has the same role, since Anthropic wants the roles to alternate;
 * a message left with no blocks (only empty text) adds nothing. */
static int an_turn(struct an_req *q, const char *role, json_t *blocks)
{
	if (!json_array_size(blocks))
		return 0;
	if (q->turn && !strcmp(q->turn_role, role))
		return json_array_extend(q->turn, blocks) ? -ENOMEM : 0;
	if (an_push(q->msgs, json_pack("{s:s,s:O}", "role", role, "content", blocks)))
		return -ENOMEM;
	q->turn = blocks;
	q->turn_role = role;
	return 0;
}

/* A turn of one plain text block goes out as a string: the same request,
 * in the form Anthropic's own examples use. */
static void an_collapse(json_t *msgs)
{
	json_t *m;
	size_t i;

	json_array_foreach(msgs, i, m) {
		json_t *c = json_object_get(m, "content"), *b = json_array_get(c, 0);

		if (json_array_size(c) == 1 && json_object_size(b) == 2 && !strcmp(an_type(b), "text"))
			json_object_set(m, "content", json_object_get(b, "text"));
	}
}

static int an_messages(struct an_req *q, json_t *msgs)
{
	json_t *msg, *blocks;
	size_t mi;
	int rc = 0;

	json_array_foreach(msgs, mi, msg) {
		const char *role = json_string_value(json_object_get(msg, "role"));
		const char *turn = "user";

		if (!strcmp(role, "system") || !strcmp(role, "developer")) {
			rc = an_system(q, mi, json_object_get(msg, "content"));
			if (rc)
				return rc;
			continue;
		}
		if (!(blocks = json_array()))
			return -ENOMEM;
		if (!strcmp(role, "user")) {
			rc = an_parts(q, mi, json_object_get(msg, "content"), "user", blocks);
		} else if (!strcmp(role, "assistant")) {
			turn = "assistant";
			rc = an_assistant(q, mi, msg, blocks);
		} else {
			rc = an_tool_result(q, mi, msg, blocks);
		}
		if (!rc)
			rc = an_turn(q, turn, blocks);
		json_decref(blocks);
		if (rc)
			return rc;
	}
	if (!json_array_size(q->msgs))
		return an_bad(&q->e, "messages: no user or assistant content left to send");
	q->turn = NULL;
	an_collapse(q->msgs);
	return 0;
}

/* ---- the request ---------------------------------------------------------------------- */

/* A configured key or version with a control byte would split its header
 * line: refuse it rather than send a forged header. */
static int an_header_safe(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

static int an_http(const struct pc_target *t, int stream, json_t *body, struct pc_http *out)
{
	const struct cfg_provider *p = t->prov;
	const char *base = p->base_url && *p->base_url ? p->base_url : AN_DEFAULT_BASE_URL;
	const char *version = p->api_version && *p->api_version ? p->api_version : AN_DEFAULT_VERSION;
	int rc;

	if (!(out->body = jdump(body, &out->body_len)))
		return -ENOMEM;
	if (asprintf(&out->url, "%s/v1/messages", base) < 0) {
		out->url = NULL;
		return -ENOMEM;
	}
	if ((rc = pc_http_header(out, "content-type: application/json")))
		return rc;
	if (p->api_key && *p->api_key && (rc = pc_http_header(out, "x-api-key: %s", p->api_key)))
		return rc;
	if ((rc = pc_http_header(out, "anthropic-version: %s", version)))
		return rc;
	if (stream && (rc = pc_http_header(out, "accept: text/event-stream")))
		return rc;
	out->format = stream ? PC_FMT_SSE : PC_FMT_JSON;
	return 0;
}

int an_build(const struct pc_target *t, const struct chatreq *req, int stream,
	     struct pc_http *out, char *err, size_t errlen)
{
	struct an_req q = { .e = { err, errlen } };
	const struct cfg_provider *p = t->prov;
	json_t *body = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = '\0';
	if ((p->api_key && !an_header_safe(p->api_key)) ||
	    (p->api_version && !an_header_safe(p->api_version))) {
		rc = an_bad(&q.e, "provider: api_key or api_version contains control characters");
		goto fail;
	}
	if (!t->model || !*t->model) {
		rc = an_bad(&q.e, "model: no upstream model name");
		goto fail;
	}
	/* Keys in the order Anthropic documents them; max_tokens is set for
	 * real once the thinking budget is known. */
	body = json_pack("{s:s,s:i}", "model", t->model, "max_tokens", 0);
	q.msgs = json_array();
	rc = -ENOMEM;
	if (!body || !q.msgs)
		goto fail;
	if ((rc = an_messages(&q, json_object_get(req->root, "messages"))))
		goto fail;
	rc = -ENOMEM;
	if ((q.sys && an_set(body, "system", json_stringn(q.sys, q.sys_len))) ||
	    an_set(body, "messages", json_incref(q.msgs)))
		goto fail;
	if ((rc = an_params(&q.e, req, body)))
		goto fail;
	rc = -ENOMEM;
	if (stream && an_set(body, "stream", json_true()))
		goto fail;
	if ((rc = an_http(t, stream, body, out)))
		goto fail;
	goto done;
fail:
	if (rc == -ENOMEM)
		an_bad(&q.e, "out of memory");
	pc_http_free(out);
done:
	json_decref(body);
	json_decref(q.msgs);
	free(q.sys);
	return rc;
}
