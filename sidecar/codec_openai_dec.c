/*
 * codec_openai_dec.c — decoding OpenAI-shaped replies (see codec_openai.h):
 * the SSE stream of chat.completion.chunk objects and a whole
 * chat.completion, as OpenAI, Azure, vLLM and TGI actually send them
 * (shared/fixtures/NOTES.md sections 1, 5 and 6). Errors they carry are
 * codec_openai_err.c's.
 *
 * Only choice 0 is delivered: ringside streams one answer, and with n > 1
 * the other choices arrive interleaved in their own chunks.
 *
 * The common chunk (a token of content) is read by codec_openai_fast.c
 * without building a tree; whatever it declines is decoded here.
 *
 * Helpers follow codec_openai.h's convention (0 go on, 1 ended, < 0 the
 * sink's error); the entry points turn 1 into 0.
 */
#include "codec_openai.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jload.h"
#include "ringside.h"

/* Tool calls in one reply. OpenAI accepts at most 128 tools per request and
 * parallel calls number a handful; a reply past this is broken or hostile. */
#define OA_MAX_TOOLS 128
/* Bytes of a call id kept to recognise a provider repeating it (OpenAI's
 * ids are about 30 bytes; longer ones are compared by this prefix). */
#define OA_ID_MAX 128

/* Keys of tool calls that carry no "index" of their own. */
#define OA_KEY_NONE (-1)     /* a streamed call without index */
#define OA_KEY_FUNCTION (-2) /* the deprecated functions API: one call */

struct oa_dec {
	char raw[OA_RAW_MAX];      /* choice 0's finish_reason as sent; "" until seen */
	uint8_t refused;           /* choice 0 sent refusal text */
	uint32_t n_tools;
	int64_t key[OA_MAX_TOOLS]; /* provider's key of each tool ordinal */
	char last_id[OA_ID_MAX];   /* id the newest call came with, "" if none */
	char bad[OA_MSG_MAX];      /* an event that did not parse, not yet reported */
	unsigned long tpl_hits;    /* chunks the template matched */
	struct oa_fast fast;       /* the last chunk the fast path read */
	struct oa_tpl tpl;         /* last, with fast: see oa_dec_init */
};

int oa_dec_init(struct pc_dec *d)
{
	/* Everything but the fast path's text buffer and the template's bytes
	 * starts zeroed: zeroing those would be 9 KiB written on every request
	 * for nothing, since nothing reads them back but what wrote them. */
	struct oa_dec *x = malloc(sizeof *x);
	if (!x)
		return -ENOMEM;
	memset(x, 0, offsetof(struct oa_dec, fast) + offsetof(struct oa_fast, buf));
	jtpl_clear(&x->tpl.t);
	d->priv = x;
	return 0;
}

void oa_dec_free(struct pc_dec *d)
{
	free(d->priv);
	d->priv = NULL;
}

/* OpenAI's finish reasons map to themselves; the rest are what
 * OpenAI-compatible servers are seen to send. Anything unknown ended the
 * reply without a stated cause, which is OpenAI's "stop". */
static const char *oa_reason(const struct oa_dec *x)
{
	static const char *const map[][2] = {
		{ "stop", "stop" },
		{ "length", "length" },
		{ "tool_calls", "tool_calls" },
		{ "content_filter", "content_filter" },
		{ "function_call", "tool_calls" }, /* the deprecated functions API */
		{ "max_tokens", "length" },
	};
	const char *reason = "stop";

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(x->raw, map[i][0]))
			reason = map[i][1];
	/* A refusal ends with "stop" on the wire; report it as the filter
	 * it is, so a client can tell it from an answer. */
	if (x->refused && !strcmp(reason, "stop"))
		reason = "content_filter";
	return reason;
}

/* Remember choice 0's finish_reason (n bytes at p, up to a NUL); it is
 * reported at [DONE], after the usage chunk that follows it. Kept as
 * printable ASCII: it travels on. */
static void oa_note_finish(struct oa_dec *x, const char *p, size_t n)
{
	size_t i;
	for (i = 0; i < n && p[i] && i + 1 < sizeof x->raw; i++)
		x->raw[i] = p[i] > 0x20 && p[i] < 0x7f ? p[i] : '?';
	x->raw[i] = 0;
}

static void oa_note_finish_json(struct oa_dec *x, json_t *v)
{
	if (json_is_string(v))
		oa_note_finish(x, json_string_value(v), json_string_length(v));
}

/* ---- content ------------------------------------------------------------------- */

static int oa_text(const struct uev_sink *s, enum uev_text kind, json_t *v)
{
	if (!json_is_string(v) || !json_string_length(v))
		return 0;
	return s->text(s->arg, kind, json_string_value(v), json_string_length(v));
}

/* content is a string, or (some OpenAI-compatible servers) an array of
 * parts of which the text parts are the answer. */
static int oa_content(const struct uev_sink *s, json_t *v)
{
	size_t i;
	json_t *part;

	if (!json_is_array(v))
		return oa_text(s, UEV_TEXT, v);
	json_array_foreach(v, i, part) {
		if (!oa_str_is(json_object_get(part, "type"), "text"))
			continue;
		int rc = oa_text(s, UEV_TEXT, json_object_get(part, "text"));
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * One tool-call fragment. The first time a key is seen it becomes the next
 * ordinal and names the call (id, or "call_<ordinal>" when the provider sent
 * none, and the function name); later fragments of that key carry only
 * arguments, whatever the provider repeats. A call without index (Gemini's
 * OpenAI endpoint sends whole calls so) starts a new call when its id is new
 * and otherwise continues the newest one.
 */
static int oa_tool(struct pc_dec *d, const struct uev_sink *s, int64_t key, json_t *idv, json_t *fn)
{
	struct oa_dec *x = d->priv;
	json_t *namev = json_object_get(fn, "name"), *argv = json_object_get(fn, "arguments");
	const char *id = json_is_string(idv) && json_string_length(idv) ? json_string_value(idv) : NULL;
	const char *args = "";
	size_t args_len = 0;
	char *dumped = NULL, invented[32];
	int64_t ord = -1;
	int rc;

	if (key == OA_KEY_NONE) {
		if (x->n_tools && (!id || !strncmp(x->last_id, id, sizeof x->last_id - 1)))
			ord = x->n_tools - 1;
	} else {
		for (uint32_t i = 0; i < x->n_tools && ord < 0; i++)
			if (x->key[i] == key)
				ord = i;
	}
	if (json_is_string(argv)) {
		args = json_string_value(argv);
		args_len = json_string_length(argv);
	} else if (argv && !json_is_null(argv)) {
		/* Some servers send the arguments parsed; the client gets
		 * JSON text either way. */
		dumped = json_dumps(argv, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!dumped)
			return -ENOMEM;
		args = dumped;
		args_len = strlen(dumped);
	}
	if (ord >= 0) {
		rc = args_len ? s->tool(s->arg, (uint32_t)ord, NULL, 0, NULL, 0, args, args_len) : 0;
	} else if (!json_is_string(namev) || !json_string_length(namev)) {
		rc = oa_malformed(d, s, "event", "tool call without a function name");
	} else if (x->n_tools == OA_MAX_TOOLS) {
		rc = oa_malformed(d, s, "event", "too many tool calls");
	} else {
		ord = x->n_tools++;
		x->key[ord] = key;
		snprintf(x->last_id, sizeof x->last_id, "%s", id ? id : "");
		if (!id) {
			snprintf(invented, sizeof invented, "call_%u", (unsigned)ord);
			id = invented;
		}
		rc = s->tool(s->arg, (uint32_t)ord, id, strlen(id), json_string_value(namev),
			     json_string_length(namev), args, args_len);
	}
	if (dumped) {
		/* json_dumps allocates with jansson's functions; inside a
		 * jarena scope that is arena memory, which free() must not see. */
		json_free_t jfree;
		json_get_alloc_funcs(NULL, &jfree);
		jfree(dumped);
	}
	return rc;
}

/*
 * Choice 0's delta (streamed) or message (whole). Reasoning comes first: a
 * chunk that carries both ends the thinking and starts the answer. Whole
 * messages' tool calls have no index; their position is their key.
 */
static int oa_message(struct pc_dec *d, const struct uev_sink *s, json_t *m, int whole)
{
	struct oa_dec *x = d->priv;
	json_t *v, *tc;
	size_t i;
	int rc;

	/* DeepSeek and older vLLM say reasoning_content, newer vLLM and
	 * OpenRouter reasoning; vLLM in transition sends both with the same
	 * text, so the first one present wins. */
	v = json_object_get(m, "reasoning_content");
	if (!json_is_string(v) || !json_string_length(v))
		v = json_object_get(m, "reasoning");
	if ((rc = oa_text(s, UEV_REASONING, v)))
		return rc;
	if ((rc = oa_content(s, json_object_get(m, "content"))))
		return rc;
	/* A refusal is the model's answer to the user, in its own field:
	 * deliver it as text rather than end with nothing to show. */
	v = json_object_get(m, "refusal");
	if (json_is_string(v) && json_string_length(v)) {
		x->refused = 1;
		if ((rc = oa_text(s, UEV_TEXT, v)))
			return rc;
	}
	json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
		json_t *idx = json_object_get(tc, "index");
		int64_t key = whole ? (int64_t)i
			      : json_is_integer(idx) && json_integer_value(idx) >= 0 ? json_integer_value(idx)
										      : OA_KEY_NONE;
		if (!json_is_object(tc))
			continue;
		if ((rc = oa_tool(d, s, key, json_object_get(tc, "id"), json_object_get(tc, "function"))))
			return rc;
	}
	v = json_object_get(m, "function_call");
	if (json_is_object(v))
		return oa_tool(d, s, OA_KEY_FUNCTION, NULL, v);
	return 0;
}

static uint32_t oa_u32(json_t *v)
{
	json_int_t n = json_integer_value(v);
	return n < 0 ? 0 : n > (json_int_t)UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* usage is absent, null (on every chunk, per the docs) or the counts. */
static int oa_usage(const struct uev_sink *s, json_t *u)
{
	json_t *p = json_object_get(u, "prompt_tokens"), *c = json_object_get(u, "completion_tokens");

	if (!json_is_integer(p) && !json_is_integer(c))
		return 0;
	return s->usage(s->arg, oa_u32(p), oa_u32(c));
}

/* The choice with index 0 (or, lacking indexes, the first). */
static json_t *oa_choice0(json_t *choices)
{
	size_t i;
	json_t *c;

	json_array_foreach(choices, i, c) {
		json_t *idx = json_object_get(c, "index");
		if (json_is_object(c) && (idx ? json_is_integer(idx) && !json_integer_value(idx) : !i))
			return c;
	}
	return NULL;
}

/* ---- entry points ----------------------------------------------------------------- */

static int oa_ret(int rc)
{
	return rc > 0 ? 0 : rc;
}

static void oa_trim(const char **p, size_t *n)
{
	while (*n && ((*p)[0] == ' ' || (*p)[0] == '\t' || (*p)[0] == '\r' || (*p)[0] == '\n')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r' ||
		      (*p)[*n - 1] == '\n'))
		(*n)--;
}

static int oa_event(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		    size_t data_len, const struct uev_sink *s, int fast)
{
	struct oa_dec *x = d->priv;
	struct oa_fast *f = &x->fast;
	json_error_t je;
	json_t *root, *c;
	int rc;

	/* After an error even vLLM's and TGI's trailing [DONE] is no finish. */
	if (d->done)
		return 0;
	if (x->bad[0])
		return oa_ret(oa_fail(d, s, RS_ERR_UPSTREAM, 0, 0, x->bad, strlen(x->bad)));
	oa_trim(&data, &data_len);
	if (ev && ev_len == 5 && !memcmp(ev, "error", 5))
		return oa_ret(oa_event_error(d, s, data, data_len));
	if (!data_len)
		return 0;
	/* TGI writes data:[DONE]; the framing strips at most one space. */
	if (data_len == 6 && !memcmp(data, "[DONE]", 6))
		return pc_finish(d, s, oa_reason(x), x->raw);
	int took = fast && oa_tpl_match(&x->tpl, data, data_len, f);
	x->tpl_hits += (unsigned long)took;
	if (fast && !took && oa_fast_scan(data, data_len, f)) {
		oa_tpl_learn(&x->tpl, data, data_len, f);
		took = 1;
	}
	if (took) {
		/* what the tree below makes of such a chunk, in its order */
		rc = f->text_len ? s->text(s->arg, UEV_TEXT, f->text, f->text_len) : 0;
		if (f->have_finish)
			oa_note_finish(x, f->finish, f->finish_len);
		if (!rc && f->have_usage)
			rc = s->usage(s->arg, f->prompt_tokens, f->completion_tokens);
		return oa_ret(rc);
	}
	root = jload_b(data, data_len, JSON_ALLOW_NUL, &je);
	if (!root) {
		/* Malformed, unless this was the last event: at EOF the framing
		 * hands over an unterminated tail, and JSON cut short there is
		 * a cut connection for on_end to report, not a bad provider.
		 * The next event, if any, settles it. */
		snprintf(x->bad, sizeof x->bad, "malformed event from provider: %s", je.text);
		return 0;
	}
	if (!json_is_object(root)) {
		rc = oa_malformed(d, s, "event", "not a JSON object");
	} else if (oa_is_error(root)) {
		rc = oa_fail_inband(d, s, root);
	} else {
		rc = 0;
		c = oa_choice0(json_object_get(root, "choices"));
		if (c) {
			rc = oa_message(d, s, json_object_get(c, "delta"), 0);
			oa_note_finish_json(x, json_object_get(c, "finish_reason"));
		}
		if (!rc)
			rc = oa_usage(s, json_object_get(root, "usage"));
	}
	json_decref(root);
	return oa_ret(rc);
}

unsigned long oa_dec_tpl_hits(const struct pc_dec *d)
{
	const struct oa_dec *x = d->priv;
	return x->tpl_hits;
}

int oa_on_event(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		size_t data_len, const struct uev_sink *s)
{
	return oa_event(d, ev, ev_len, data, data_len, s, 1);
}

int oa_on_event_slow(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		     size_t data_len, const struct uev_sink *s)
{
	return oa_event(d, ev, ev_len, data, data_len, s, 0);
}

int oa_on_end(struct pc_dec *d, const struct uev_sink *s)
{
	static const char cut[] = "stream ended inside an event";
	static const char early[] = "stream ended before [DONE]";
	struct oa_dec *x = d->priv;

	if (d->done)
		return 0;
	if (x->bad[0])
		return pc_fail(d, s, RS_ERR_TRUNCATED, 0, 1, cut, sizeof cut - 1);
	return pc_fail(d, s, RS_ERR_TRUNCATED, 0, 1, early, sizeof early - 1);
}

int oa_on_body(struct pc_dec *d, const char *body, size_t len, const struct uev_sink *s)
{
	struct oa_dec *x = d->priv;
	json_error_t je;
	json_t *root, *c;
	int rc;

	if (d->done)
		return 0;
	root = jload_b(body, len, JSON_ALLOW_NUL, &je);
	if (!root)
		return oa_ret(oa_malformed(d, s, "response", je.text));
	if (!json_is_object(root)) {
		rc = oa_malformed(d, s, "response", "not a JSON object");
	} else if (oa_is_error(root)) {
		rc = oa_fail_inband(d, s, root);
	} else if (!(c = oa_choice0(json_object_get(root, "choices")))) {
		rc = oa_malformed(d, s, "response", "no choice 0");
	} else {
		rc = oa_message(d, s, json_object_get(c, "message"), 1);
		oa_note_finish_json(x, json_object_get(c, "finish_reason"));
		if (!rc)
			rc = oa_usage(s, json_object_get(root, "usage"));
		if (!rc)
			rc = pc_finish(d, s, oa_reason(x), x->raw);
	}
	json_decref(root);
	return oa_ret(rc);
}
