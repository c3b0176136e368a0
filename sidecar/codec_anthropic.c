/*
 * codec_anthropic.c — Anthropic Messages API replies as unified events: the
 * SSE stream, a whole Message body, and error replies (shared/fixtures/
 * NOTES.md sections 2, 6 and 7). The request side is codec_anthropic_req.c.
 *
 * A stream is message_start (input tokens), then per content block a
 * content_block_start, its deltas and a content_block_stop, then
 * message_delta (stop_reason, cumulative usage) and message_stop; ping may
 * come anywhere and `event: error` may replace the rest. The docs require
 * ignoring event and delta types we do not know, and so do we. Server-side
 * tools (server_tool_use, web search results...) run at Anthropic, not at
 * the client, so they are not reported as tool calls.
 *
 * Every event is parsed as JSON, never matched as text: real streams pad
 * objects with spaces. Anything the provider sends that is not what the
 * protocol promises ends the reply with a typed error that quotes none of
 * it, so no model output reaches an error message or a log.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec_anthropic.h"
#include "jload.h"
#include "pcodec.h"
#include "ringside.h"

/* Content blocks a reply may have before we give up on it, and tool calls
 * too. Replies have a handful (thinking, text, a few tool calls); the bound
 * keeps the block map a fixed array in the decoder instead of something a
 * stream can grow. */
#define AN_MAX_BLOCKS 256
#define AN_STR(x) #x
#define AN_XSTR(x) AN_STR(x)

/* Longest stop_reason kept; the longest known is 29 bytes. */
#define AN_STOP_MAX 48

static const char an_oom[] = "out of memory decoding a reply from anthropic";

struct an_block {
	uint16_t tool;    /* tool-call ordinal + 1; 0: no client tool call */
	uint8_t has_args; /* an argument fragment went out for it */
};

struct an_state {
	uint32_t in_tokens, out_tokens;
	uint32_t n_tools;
	char stop_reason[AN_STOP_MAX];
	struct an_block blocks[AN_MAX_BLOCKS];
	unsigned long tpl_hits; /* deltas the template matched */
	struct an_fast fast; /* last two: see an_dec_init */
	struct an_tpl tpl;
};

/* ---- small pieces -------------------------------------------------------------------- */

static uint32_t an_u32(const json_t *v)
{
	json_int_t n = json_integer_value(v);

	return n <= 0 ? 0 : n >= (json_int_t)UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static uint32_t an_sat_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static int an_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* Text of a string field, skipped when empty (NOTES.md 6.8). */
static int an_emit(const struct uev_sink *s, enum uev_text kind, const json_t *str)
{
	size_t n = json_string_length(str);

	return n ? s->text(s->arg, kind, json_string_value(str), n) : 0;
}

/* OpenAI calls every prompt token a prompt token; Anthropic counts the ones
 * written to or read from its prompt cache apart from input_tokens. */
static void an_take_usage(struct an_state *st, const json_t *u)
{
	json_t *in = json_object_get(u, "input_tokens"), *out = json_object_get(u, "output_tokens");

	if (json_is_integer(in))
		st->in_tokens = an_sat_add(an_sat_add(an_u32(in),
			an_u32(json_object_get(u, "cache_creation_input_tokens"))),
			an_u32(json_object_get(u, "cache_read_input_tokens")));
	if (json_is_integer(out))
		st->out_tokens = an_u32(out);
}

static int an_usage(struct an_state *st, const json_t *u, const struct uev_sink *s)
{
	if (!json_is_object(u))
		return 0;
	an_take_usage(st, u);
	return s->usage(s->arg, st->in_tokens, st->out_tokens);
}

static const char *an_reason(const char *raw)
{
	static const struct { const char *raw, *reason; } map[] = {
		{ "end_turn", "stop" },
		{ "stop_sequence", "stop" },
		{ "pause_turn", "stop" },
		{ "max_tokens", "length" },
		{ "model_context_window_exceeded", "length" },
		{ "tool_use", "tool_calls" },
		{ "refusal", "content_filter" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(raw, map[i].raw))
			return map[i].reason;
	return "stop";
}

/* Anthropic's error types and the HTTP status each comes with (the errors
 * page of the API docs). An in-band error has no status of its own, so the
 * type's status decides code and retryability, exactly as the same error
 * would have as an HTTP reply. */
static int an_type_status(const char *type)
{
	static const struct { const char *type; int status; } map[] = {
		{ "invalid_request_error", 400 }, { "authentication_error", 401 },
		{ "billing_error", 402 },         { "permission_error", 403 },
		{ "not_found_error", 404 },       { "request_too_large", 413 },
		{ "rate_limit_error", 429 },      { "api_error", 500 },
		{ "timeout_error", 504 },         { "overloaded_error", 529 },
	};

	for (size_t i = 0; type && i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(type, map[i].type))
			return map[i].status;
	return 0;
}

/* The words of an error object {"type","message"}: its message, else its
 * type, else fallback. */
static const char *an_err_words(const json_t *err, const char *fallback, size_t *len)
{
	const json_t *m = json_is_string(err) ? err : json_object_get(err, "message");

	if (!an_nonempty(m))
		m = json_object_get(err, "type");
	if (!an_nonempty(m)) {
		*len = strlen(fallback);
		return fallback;
	}
	*len = json_string_length(m);
	return json_string_value(m);
}

/* An error the provider reported in a 2xx reply (stream event or body). */
static int an_fail_inband(struct pc_dec *d, const json_t *err, const struct uev_sink *s)
{
	int status = an_type_status(json_string_value(json_object_get(err, "type")));
	size_t n;
	const char *msg = an_err_words(err, "error event from anthropic", &n);

	return pc_fail(d, s, pc_status_code(status), status, pc_status_retryable(status), msg, n);
}

/* jansson's description of a syntax error may quote the input; ours
 * quotes only where. */
static int an_fail_json(struct pc_dec *d, const json_error_t *je, const char *what,
			const struct uev_sink *s)
{
	char msg[96];
	int n;

	if (json_error_code(je) == json_error_out_of_memory)
		return pc_fail(d, s, RS_ERR_INTERNAL, 0, 1, an_oom, sizeof an_oom - 1);
	n = snprintf(msg, sizeof msg, "malformed %s from anthropic: invalid JSON at byte %d", what,
		     je->position);
	return pc_fail(d, s, RS_ERR_UPSTREAM, 0, 0, msg, (size_t)n);
}

static int an_fail_proto(struct pc_dec *d, const char *msg, const struct uev_sink *s)
{
	return pc_fail(d, s, RS_ERR_UPSTREAM, 0, 0, msg, strlen(msg));
}

static int an_finish(struct pc_dec *d, const char *raw, const struct uev_sink *s)
{
	return pc_finish(d, s, an_reason(raw), raw);
}

/* A tool call's first fragment (the whole call in a non-streamed reply).
 * Anthropic always sends an id; the contract wants one regardless, so a
 * missing id becomes call_<ordinal>. */
static int an_tool_open(struct pc_dec *d, const json_t *blk, uint32_t ord, const char *args,
			size_t args_len, const struct uev_sink *s)
{
	json_t *id = json_object_get(blk, "id"), *name = json_object_get(blk, "name");
	char own[24];
	const char *idp = json_string_value(id);
	size_t idn = json_string_length(id);

	if (!an_nonempty(name))
		return an_fail_proto(d, "malformed event from anthropic: tool_use block without a name", s);
	if (!idn) {
		idn = (size_t)snprintf(own, sizeof own, "call_%u", ord);
		idp = own;
	}
	return s->tool(s->arg, ord, idp, idn, json_string_value(name), json_string_length(name),
		       args, args_len);
}

/* stop_reason is echoed to the client as the raw finish reason: keep it
 * only when it looks like one (a short lower_snake word). */
static void an_keep_stop(struct an_state *st, const json_t *sr)
{
	static const char unknown[] = "unknown";
	const char *p = json_string_value(sr);
	size_t n = json_string_length(sr), i;

	if (!p)
		return;
	for (i = 0; i < n && i < sizeof st->stop_reason - 1; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			break;
	if (i < n) {
		p = unknown;
		n = sizeof unknown - 1;
	}
	memcpy(st->stop_reason, p, n);
	st->stop_reason[n] = '\0';
}

/* ---- the stream ----------------------------------------------------------------------- */

/* An event's content block index, or -1 when missing or past AN_MAX_BLOCKS. */
static int an_index(const json_t *root)
{
	json_t *v = json_object_get(root, "index");
	json_int_t i = json_integer_value(v);

	return json_is_integer(v) && i >= 0 && i < AN_MAX_BLOCKS ? (int)i : -1;
}

static int an_block_start(struct pc_dec *d, struct an_state *st, const json_t *root,
			  const struct uev_sink *s)
{
	json_t *blk = json_object_get(root, "content_block");
	const char *type = an_type(blk);
	int idx;

	if (!strcmp(type, "text"))
		return an_emit(s, UEV_TEXT, json_object_get(blk, "text"));
	if (!strcmp(type, "thinking"))
		return an_emit(s, UEV_REASONING, json_object_get(blk, "thinking"));
	if (strcmp(type, "tool_use"))
		return 0;
	/* Indexes may repeat in a hostile stream: the ordinal bound keeps the
	 * map's 16-bit ordinals from wrapping. */
	if ((idx = an_index(root)) < 0 || st->n_tools >= AN_MAX_BLOCKS)
		return an_fail_proto(d, "malformed event from anthropic: tool_use block index missing, or past "
				     AN_XSTR(AN_MAX_BLOCKS) " blocks", s);
	st->blocks[idx] = (struct an_block){ .tool = (uint16_t)(st->n_tools + 1) };
	return an_tool_open(d, blk, st->n_tools++, "", 0, s);
}

static int an_block_delta(struct an_state *st, const json_t *root, const struct uev_sink *s)
{
	json_t *dl = json_object_get(root, "delta"), *pj;
	const char *type = an_type(dl);
	int idx;

	if (!strcmp(type, "text_delta"))
		return an_emit(s, UEV_TEXT, json_object_get(dl, "text"));
	if (!strcmp(type, "thinking_delta"))
		return an_emit(s, UEV_REASONING, json_object_get(dl, "thinking"));
	if (strcmp(type, "input_json_delta"))
		return 0;
	/* Server tools stream their input too; only client calls are ours. */
	pj = json_object_get(dl, "partial_json");
	if ((idx = an_index(root)) < 0 || !st->blocks[idx].tool || !json_string_length(pj))
		return 0;
	st->blocks[idx].has_args = 1;
	return s->tool(s->arg, st->blocks[idx].tool - 1u, NULL, 0, NULL, 0, json_string_value(pj),
		       json_string_length(pj));
}

/* A tool call that streamed no argument fragment takes none: say so with
 * "{}", which an OpenAI client can parse, rather than leave it "". */
static int an_block_stop(struct an_state *st, const json_t *root, const struct uev_sink *s)
{
	int idx = an_index(root);

	if (idx < 0 || !st->blocks[idx].tool || st->blocks[idx].has_args)
		return 0;
	st->blocks[idx].has_args = 1;
	return s->tool(s->arg, st->blocks[idx].tool - 1u, NULL, 0, NULL, 0, "{}", 2);
}

static int an_message_delta(struct an_state *st, const json_t *root, const struct uev_sink *s)
{
	an_keep_stop(st, json_object_get(json_object_get(root, "delta"), "stop_reason"));
	return an_usage(st, json_object_get(root, "usage"), s);
}

static int an_event(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		    size_t data_len, const struct uev_sink *s, int fast)
{
	struct an_state *st = d->priv;
	char evname[64] = "";
	const char *type;
	json_error_t je;
	json_t *root;
	int rc = 0;

	if (d->done)
		return 0;
	if (ev && ev_len < sizeof evname) {
		memcpy(evname, ev, ev_len);
		evname[ev_len] = '\0';
	}
	/* An event without data (legal SSE) has only its name to say. */
	if (an_blank(data, data_len)) {
		if (!strcmp(evname, "message_stop"))
			return an_finish(d, st->stop_reason, s);
		return strcmp(evname, "error") ? 0 : an_fail_inband(d, NULL, s);
	}
	if (fast && strcmp(evname, "error")) {
		int took = an_tpl_match(&st->tpl, data, data_len, &st->fast);
		st->tpl_hits += (unsigned long)took;
		if (!took && an_fast_delta(data, data_len, &st->fast)) {
			an_tpl_learn(&st->tpl, data, data_len, &st->fast);
			took = 1;
		}
		if (took)
			return st->fast.len ? s->text(s->arg, st->fast.kind, st->fast.text, st->fast.len)
					    : 0;
	}
	if (!(root = jload_b(data, data_len, JSON_ALLOW_NUL, &je)))
		return an_fail_json(d, &je, "event", s);
	/* data.type names the event; the event name stands in without it. */
	type = json_is_string(json_object_get(root, "type")) ? an_type(root) : evname;
	if (!json_is_object(root))
		rc = an_fail_proto(d, "malformed event from anthropic: not a JSON object", s);
	else if (!strcmp(type, "error") || !strcmp(evname, "error"))
		rc = an_fail_inband(d, json_object_get(root, "error"), s);
	else if (!strcmp(type, "message_start"))
		rc = an_usage(st, json_object_get(json_object_get(root, "message"), "usage"), s);
	else if (!strcmp(type, "content_block_start"))
		rc = an_block_start(d, st, root, s);
	else if (!strcmp(type, "content_block_delta"))
		rc = an_block_delta(st, root, s);
	else if (!strcmp(type, "content_block_stop"))
		rc = an_block_stop(st, root, s);
	else if (!strcmp(type, "message_delta"))
		rc = an_message_delta(st, root, s);
	else if (!strcmp(type, "message_stop"))
		rc = an_finish(d, st->stop_reason, s);
	json_decref(root);
	return rc;
}

static int an_on_event(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		       size_t data_len, const struct uev_sink *s)
{
	return an_event(d, ev, ev_len, data, data_len, s, 1);
}

int an_on_event_slow(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		     size_t data_len, const struct uev_sink *s)
{
	return an_event(d, ev, ev_len, data, data_len, s, 0);
}

static int an_on_end(struct pc_dec *d, const struct uev_sink *s)
{
	static const char msg[] = "stream ended before message_stop";

	return pc_fail(d, s, RS_ERR_TRUNCATED, 0, 1, msg, sizeof msg - 1);
}

/* ---- whole replies ---------------------------------------------------------------------- */

static int an_body_block(struct pc_dec *d, struct an_state *st, const json_t *blk,
			 const struct uev_sink *s)
{
	const char *type = an_type(blk);
	json_t *input = json_object_get(blk, "input");
	char *args;
	int rc;

	if (!strcmp(type, "text"))
		return an_emit(s, UEV_TEXT, json_object_get(blk, "text"));
	if (!strcmp(type, "thinking"))
		return an_emit(s, UEV_REASONING, json_object_get(blk, "thinking"));
	if (strcmp(type, "tool_use"))
		return 0;
	args = an_present(input) ? json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
	if (!args)
		return pc_fail(d, s, RS_ERR_INTERNAL, 0, 1, an_oom, sizeof an_oom - 1);
	rc = an_tool_open(d, blk, st->n_tools++, args, strlen(args), s);
	free(args);
	return rc;
}

static int an_on_body(struct pc_dec *d, const char *body, size_t len, const struct uev_sink *s)
{
	struct an_state *st = d->priv;
	json_t *root, *content, *blk;
	json_error_t je;
	size_t i;
	int rc = 0;

	if (d->done)
		return 0;
	if (!(root = jload_b(body, len, JSON_ALLOW_NUL, &je)))
		return an_fail_json(d, &je, "reply", s);
	content = json_object_get(root, "content");
	if (!strcmp(an_type(root), "error")) {
		rc = an_fail_inband(d, json_object_get(root, "error"), s);
	} else if (!json_is_array(content)) {
		rc = an_fail_proto(d, "malformed reply from anthropic: no content array", s);
	} else {
		json_array_foreach(content, i, blk) {
			if ((rc = an_body_block(d, st, blk, s)) || d->done)
				break;
		}
		if (!rc && !d->done)
			rc = an_usage(st, json_object_get(root, "usage"), s);
		an_keep_stop(st, json_object_get(root, "stop_reason"));
		if (!rc)
			rc = an_finish(d, st->stop_reason, s);
	}
	json_decref(root);
	return rc;
}

/* An HTTP error: the status decides code and retryability (pcodec.h), the
 * body only words the message. */
static int an_on_error(struct pc_dec *d, int status, const char *body, size_t len,
		       const struct uev_sink *s)
{
	char fallback[32];
	const char *msg;
	json_t *root;
	size_t n;
	int rc;

	if (d->done)
		return 0;
	root = body && len ? jload_b(body, len, 0, NULL) : NULL;
	snprintf(fallback, sizeof fallback, "HTTP %d", status);
	msg = an_err_words(json_object_get(root, "error"), fallback, &n);
	rc = pc_fail(d, s, pc_status_code(status), status, pc_status_retryable(status), msg, n);
	json_decref(root);
	return rc;
}

static int an_dec_init(struct pc_dec *d)
{
	/* All but the fast path's text buffer and the template's bytes start
	 * zeroed: nothing reads them back but what wrote them. */
	struct an_state *st = malloc(sizeof *st);

	d->done = 0;
	d->priv = st;
	if (!st)
		return -ENOMEM;
	memset(st, 0, offsetof(struct an_state, fast) + offsetof(struct an_fast, buf));
	st->tpl.kind = UEV_TEXT;
	jtpl_clear(&st->tpl.t);
	return 0;
}

unsigned long an_dec_tpl_hits(const struct pc_dec *d)
{
	const struct an_state *st = d->priv;
	return st->tpl_hits;
}

static void an_dec_free(struct pc_dec *d)
{
	free(d->priv);
	d->priv = NULL;
}

const struct pc_codec pc_anthropic = {
	.kind = "anthropic",
	.build = an_build,
	.dec_init = an_dec_init,
	.dec_free = an_dec_free,
	.on_event = an_on_event,
	.on_end = an_on_end,
	.on_body = an_on_body,
	.on_error = an_on_error,
};
