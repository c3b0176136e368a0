/*
 * codec_gemini.c — Google Gemini (generateContent / streamGenerateContent
 * with alt=sse): decoding replies, and the codec table (building requests
 * is codec_gemini_req.c).
 *
 * Every streamed event is a whole GenerateContentResponse: text parts
 * (thought summaries flagged "thought"), functionCall parts that arrive
 * whole, a finishReason on the last candidate chunk, and usageMetadata
 * repeated and growing on each chunk. There is no [DONE]: EOF ends the
 * stream, so the finish is decided at EOF from the last finishReason seen
 * (a stream that ends before any finishReason was cut short). An error
 * after HTTP 200 comes as an object {"error":{code,message,status}}, inside
 * a data: event or as bare JSON after the events (PC_SSE_STRAY hands those
 * lines to on_event as one nameless event).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_gemini.h"
#include "codec_util.h"
#include "ringside.h"

struct gm_dec {
	uint32_t n_tools; /* functionCall parts emitted so far */
	uint32_t prompt, completion;
	uint8_t have_usage;
	uint8_t have_finish;
	const char *finish; /* OpenAI reason, NULL: the finish is an error */
	char raw[48];	    /* Gemini's own reason */
	unsigned long tpl_hits; /* events the template matched */
	struct gm_fast fast; /* last two: see gm_dec_init */
	struct gm_tpl tpl;
};

/* Google RPC status names and the HTTP status each stands for
 * (google/rpc/code.proto), for errors that carry no usable HTTP code. */
static const struct {
	const char *name;
	int http;
} gm_rpc[] = {
	{ "CANCELLED", 499 },		{ "UNKNOWN", 500 },	    { "INVALID_ARGUMENT", 400 },
	{ "DEADLINE_EXCEEDED", 504 },	{ "NOT_FOUND", 404 },	    { "ALREADY_EXISTS", 409 },
	{ "PERMISSION_DENIED", 403 },	{ "UNAUTHENTICATED", 401 }, { "RESOURCE_EXHAUSTED", 429 },
	{ "FAILED_PRECONDITION", 400 }, { "ABORTED", 409 },	    { "OUT_OF_RANGE", 400 },
	{ "UNIMPLEMENTED", 501 },	{ "INTERNAL", 500 },	    { "UNAVAILABLE", 503 },
	{ "DATA_LOSS", 500 },
};

/* finishReason -> OpenAI. NULL: the model failed to produce a usable call
 * (the reply is an error, retryable: another sample usually succeeds).
 * Anything not listed (OTHER, LANGUAGE, ...) is a plain stop. */
static const struct {
	const char *raw;
	const char *reason;
} gm_finish_map[] = {
	{ "STOP", "stop" },
	{ "MAX_TOKENS", "length" },
	{ "SAFETY", "content_filter" },
	{ "RECITATION", "content_filter" },
	{ "BLOCKLIST", "content_filter" },
	{ "PROHIBITED_CONTENT", "content_filter" },
	{ "SPII", "content_filter" },
	{ "IMAGE_SAFETY", "content_filter" },
	{ "IMAGE_PROHIBITED_CONTENT", "content_filter" },
	{ "MALFORMED_FUNCTION_CALL", NULL },
	{ "UNEXPECTED_TOOL_CALL", NULL },
};

/* RS_ERR_* and retryability of an HTTP(-like) status. Two Google codes
 * read differently from their HTTP twins: 499 CANCELLED, which the gateway
 * never asks for, is the server giving up (worth another try), and 501
 * UNIMPLEMENTED will not change on a retry. */
static void gm_classify(int http, int *code, int *retryable)
{
	*code = pc_status_code(http);
	*retryable = http == 499 ? 1 : http == 501 ? 0 : pc_status_retryable(http);
}

/* An error object (the value of "error") -> one typed error. status is the
 * HTTP status when there is one (on_error), else 0 and the object's own
 * code decides. */
static int gm_error(struct pc_dec *d, const struct uev_sink *s, int status, json_t *e)
{
	const char *rpc = json_string_value(json_object_get(e, "status"));
	const char *msg = json_is_string(e) ? json_string_value(e)
					    : json_string_value(json_object_get(e, "message"));
	json_int_t c = json_integer_value(json_object_get(e, "code"));
	int http = status, code = RS_ERR_UPSTREAM, retryable = 0;

	if (!http && c >= 100 && c <= 599)
		http = (int)c;
	for (size_t i = 0; !http && rpc && i < sizeof gm_rpc / sizeof gm_rpc[0]; i++)
		if (!strcmp(rpc, gm_rpc[i].name))
			http = gm_rpc[i].http;
	if (http)
		gm_classify(http, &code, &retryable);
	if (msg && *msg)
		return cu_fail(d, s, code, status ? status : http, retryable, "%s%s%.400s",
			       rpc ? rpc : "", rpc ? ": " : "", msg);
	if (http)
		return cu_fail(d, s, code, status ? status : http, retryable,
			       "gemini: error %d%s%.64s", http, rpc ? " " : "", rpc ? rpc : "");
	return cu_fail(d, s, code, 0, retryable, "gemini: error without a code");
}

static int gm_usage(struct gm_dec *g, const struct uev_sink *s)
{
	return g->have_usage ? s->usage(s->arg, g->prompt, g->completion) : 0;
}

static void gm_note_finish(struct gm_dec *g, const char *raw, const char *prefix)
{
	g->have_finish = 1;
	g->finish = "stop";
	snprintf(g->raw, sizeof g->raw, "%s%s", prefix, raw);
	if (*prefix) {
		g->finish = "content_filter";
		return;
	}
	for (size_t i = 0; i < sizeof gm_finish_map / sizeof gm_finish_map[0]; i++)
		if (!strcmp(raw, gm_finish_map[i].raw))
			g->finish = gm_finish_map[i].reason;
}

/* The parts of candidates[0]: text, thoughts and whole function calls. */
static int gm_parts(struct pc_dec *d, struct gm_dec *g, json_t *parts, const struct uev_sink *s)
{
	json_t *p;
	size_t i;
	int rc;

	json_array_foreach(parts, i, p) {
		json_t *text = json_object_get(p, "text"), *fc = json_object_get(p, "functionCall");
		if (json_is_string(text) && json_string_length(text)) {
			enum uev_text kind = json_is_true(json_object_get(p, "thought"))
						     ? UEV_REASONING
						     : UEV_TEXT;
			if ((rc = s->text(s->arg, kind, json_string_value(text),
					  json_string_length(text))))
				return rc;
		}
		if (json_is_object(fc)) {
			json_t *name = json_object_get(fc, "name");
			if (!json_string_length(name))
				return cu_fail(d, s, RS_ERR_UPSTREAM, 0, 0,
					       "gemini: functionCall without a name");
			if ((rc = cu_tool_event(s, g->n_tools, json_object_get(fc, "id"),
						json_string_value(name), json_string_length(name),
						json_object_get(fc, "args"))))
				return rc;
			g->n_tools++;
		}
	}
	return 0;
}

/* One GenerateContentResponse (a streamed chunk or the whole body). */
static int gm_response(struct pc_dec *d, json_t *root, const struct uev_sink *s)
{
	struct gm_dec *g = d->priv;
	json_t *err = json_object_get(root, "error"), *um, *cands, *c, *fr, *block;

	if (err && !json_is_null(err)) {
		int rc = gm_usage(g, s);
		return rc ? rc : gm_error(d, s, 0, err);
	}
	if (json_is_object(um = json_object_get(root, "usageMetadata"))) {
		/* Thought tokens are counted apart (thoughtsTokenCount) and
		 * the unified usage has no field for them. */
		g->prompt = cu_u32(json_object_get(um, "promptTokenCount"));
		g->completion = cu_u32(json_object_get(um, "candidatesTokenCount"));
		g->have_usage = 1;
	}
	cands = json_object_get(root, "candidates");
	c = json_array_get(cands, 0);
	if (json_is_object(c)) {
		int rc = gm_parts(d, g, json_object_get(json_object_get(c, "content"), "parts"), s);
		if (rc || d->done)
			return rc;
		if (json_is_string(fr = json_object_get(c, "finishReason")))
			gm_note_finish(g, json_string_value(fr), "");
	} else if (json_is_string(block = json_object_get(json_object_get(root, "promptFeedback"),
							  "blockReason"))) {
		/* The prompt itself was refused: no candidate will come. */
		gm_note_finish(g, json_string_value(block), "BLOCKED:");
	}
	return 0;
}

/* An event without data (or only whitespace) carries nothing. */
static int gm_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* What gm_response does with an event gm_fast_scan took. */
static int gm_fast_apply(struct pc_dec *d, struct gm_dec *g, const struct uev_sink *s)
{
	const struct gm_fast *f = &g->fast;
	int rc;

	if (f->have_usage) {
		g->prompt = f->prompt;
		g->completion = f->completion;
		g->have_usage = 1;
	}
	for (size_t i = 0; i < f->n; i++)
		if ((rc = s->text(s->arg, f->kind[i], f->text[i], f->len[i])))
			return rc;
	if (!d->done && f->have_finish)
		gm_note_finish(g, f->finish, "");
	return 0;
}

static int gm_event(struct pc_dec *d, const char *data, size_t data_len,
		    const struct uev_sink *s, int fast)
{
	struct gm_dec *g = d->priv;
	json_t *root;
	int rc, nomem;

	if (d->done)
		return 0;
	if (gm_blank(data, data_len))
		return 0;
	if (fast && gm_tpl_match(&g->tpl, data, data_len, &g->fast)) {
		g->tpl_hits++;
		return gm_fast_apply(d, g, s);
	}
	if (fast && gm_fast_scan(data, data_len, &g->fast)) {
		gm_tpl_learn(&g->tpl, data, data_len, &g->fast);
		return gm_fast_apply(d, g, s);
	}
	root = cu_parse(data, data_len, &nomem);
	if (!json_is_object(root)) {
		json_decref(root);
		return nomem ? -ENOMEM
			     : cu_fail(d, s, RS_ERR_UPSTREAM, 0, 0,
				       "gemini: malformed stream event");
	}
	rc = gm_response(d, root, s);
	json_decref(root);
	return rc;
}

static int gm_on_event(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		       size_t data_len, const struct uev_sink *s)
{
	(void)ev;
	(void)ev_len;
	return gm_event(d, data, data_len, s, 1);
}

int gm_on_event_slow(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		     size_t data_len, const struct uev_sink *s)
{
	(void)ev;
	(void)ev_len;
	return gm_event(d, data, data_len, s, 0);
}

static int gm_on_end(struct pc_dec *d, const struct uev_sink *s)
{
	struct gm_dec *g = d->priv;
	int rc;

	if (d->done)
		return 0;
	if (!g->have_finish)
		return cu_fail(d, s, RS_ERR_TRUNCATED, 0, 1,
			       "gemini: stream ended before a finishReason");
	if ((rc = gm_usage(g, s)))
		return rc;
	if (!g->finish)
		return cu_fail(d, s, RS_ERR_UPSTREAM, 0, 1,
			       "gemini: the model produced an invalid function call (%s)", g->raw);
	/* Gemini says STOP after calling functions; OpenAI clients loop on
	 * finish_reason "tool_calls". */
	return pc_finish(d, s, g->n_tools && !strcmp(g->finish, "stop") ? "tool_calls" : g->finish,
			 g->raw);
}

static int gm_on_body(struct pc_dec *d, const char *body, size_t len, const struct uev_sink *s)
{
	json_t *root;
	int rc, nomem;

	if (d->done)
		return 0;
	root = cu_parse(body, len, &nomem);
	if (!json_is_object(root)) {
		json_decref(root);
		return nomem ? -ENOMEM
			     : cu_fail(d, s, RS_ERR_UPSTREAM, 0, 0,
				       "gemini: malformed response body");
	}
	rc = gm_response(d, root, s);
	json_decref(root);
	return rc ? rc : gm_on_end(d, s);
}

static int gm_on_error(struct pc_dec *d, int status, const char *body, size_t len,
		       const struct uev_sink *s)
{
	json_t *root, *e;
	int rc, code, retryable;

	if (d->done)
		return 0;
	/* A body that cannot be parsed, for any reason, still leaves the
	 * status to report. */
	root = cu_parse(body, len, NULL);
	/* The non-SSE stream endpoint wraps even its errors in an array. */
	if (json_is_array(root))
		e = json_object_get(json_array_get(root, 0), "error");
	else
		e = json_object_get(root, "error");
	if (e && !json_is_null(e)) {
		rc = gm_error(d, s, status, e);
	} else {
		gm_classify(status, &code, &retryable);
		rc = cu_fail(d, s, code, status, retryable, "gemini: HTTP %d", status);
	}
	json_decref(root);
	return rc;
}

static int gm_dec_init(struct pc_dec *d)
{
	/* All but the fast path's text buffer and the template's bytes start
	 * zeroed: nothing reads them back but what wrote them. */
	struct gm_dec *g = malloc(sizeof *g);

	d->done = 0;
	d->priv = g;
	if (!g)
		return -ENOMEM;
	memset(g, 0, offsetof(struct gm_dec, fast) + offsetof(struct gm_fast, buf));
	jtpl_clear(&g->tpl.t);
	return 0;
}

unsigned long gm_dec_tpl_hits(const struct pc_dec *d)
{
	const struct gm_dec *g = d->priv;
	return g->tpl_hits;
}

static void gm_dec_free(struct pc_dec *d)
{
	free(d->priv);
	d->priv = NULL;
}

const struct pc_codec pc_gemini = {
	.kind = "gemini",
	.flags = PC_SSE_STRAY,
	.build = gm_build,
	.dec_init = gm_dec_init,
	.dec_free = gm_dec_free,
	.on_event = gm_on_event,
	.on_end = gm_on_end,
	.on_body = gm_on_body,
	.on_error = gm_on_error,
};
