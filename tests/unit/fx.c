/*
 * fx.c — fixture runner for codec tests (see fx.h).
 */
#include "fx.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "sse.h"

/* Bound for one event or line in tests: larger than any fixture. */
#define FX_MAX_EVENT (1u << 20)

const char *fx_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("RINGSIDE_FIXTURES");
	snprintf(buf, len, "%s/%s", dir && *dir ? dir : "tests/fixtures", name);
	return buf;
}

char *fx_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap) {
			char *g = realloc(b, cap * 2);
			if (!g) {
				free(b);
				b = NULL;
				break;
			}
			b = g;
			cap *= 2;
		}
	}
	fclose(f);
	if (b) {
		b[n] = 0;
		*len = n;
	}
	return b;
}

/* ---- recording sink ------------------------------------------------------------- */

static int fx_ended(struct fx_result *r)
{
	if (r->n_finish || r->n_error) {
		r->after_end++;
		return 1;
	}
	return 0;
}

static void fx_cat(char *dst, size_t *dlen, size_t cap, const char *p, size_t n)
{
	if (*dlen + n >= cap)
		n = cap - 1 - *dlen;
	memcpy(dst + *dlen, p, n);
	*dlen += n;
	dst[*dlen] = 0;
}

static int fx_text(void *arg, enum uev_text kind, const char *p, size_t n)
{
	struct fx_result *r = arg;
	if (fx_ended(r))
		return 0;
	if (n == 0)
		r->empty_text++;
	if (kind == UEV_TEXT)
		fx_cat(r->text, &r->text_len, sizeof r->text, p, n);
	else
		fx_cat(r->reasoning, &r->reasoning_len, sizeof r->reasoning, p, n);
	return 0;
}

static int fx_tool(void *arg, uint32_t index, const char *id, size_t id_len, const char *name,
		   size_t name_len, const char *args, size_t args_len)
{
	struct fx_result *r = arg;
	if (fx_ended(r))
		return 0;
	if (index >= FX_MAX_TOOLS) {
		r->bad_tool++;
		return 0;
	}
	struct fx_tool *t = &r->tools[index];
	if (index >= r->n_tools) {
		/* first fragment of this index: must name the call */
		if (index != r->n_tools || !id_len || !name_len) {
			r->bad_tool++;
			return 0;
		}
		r->n_tools++;
		snprintf(t->id, sizeof t->id, "%.*s", (int)id_len, id);
		snprintf(t->name, sizeof t->name, "%.*s", (int)name_len, name);
	} else if (id_len || name_len) {
		r->bad_tool++;
	}
	size_t n = args_len;
	if (t->args_len + n >= sizeof t->args)
		n = sizeof t->args - 1 - t->args_len;
	memcpy(t->args + t->args_len, args, n);
	t->args_len += n;
	t->args[t->args_len] = 0;
	return 0;
}

static int fx_usage(void *arg, uint32_t prompt, uint32_t completion)
{
	struct fx_result *r = arg;
	if (fx_ended(r))
		return 0;
	r->prompt_tokens = prompt;
	r->completion_tokens = completion;
	r->have_usage = 1;
	return 0;
}

static int fx_finish(void *arg, const char *reason, const char *raw)
{
	struct fx_result *r = arg;
	if (fx_ended(r))
		return 0;
	r->n_finish++;
	snprintf(r->finish, sizeof r->finish, "%s", reason);
	snprintf(r->finish_raw, sizeof r->finish_raw, "%s", raw);
	return 0;
}

static int fx_error(void *arg, int code, int status, int retryable, const char *msg, size_t n)
{
	struct fx_result *r = arg;
	if (fx_ended(r))
		return 0;
	r->n_error++;
	r->err_code = code;
	r->err_status = status;
	r->err_retryable = retryable;
	snprintf(r->err_msg, sizeof r->err_msg, "%.*s", (int)n, msg);
	return 0;
}

static void fx_sink(struct uev_sink *s, struct fx_result *r)
{
	memset(r, 0, sizeof *r);
	*s = (struct uev_sink){ .arg = r, .text = fx_text, .tool = fx_tool, .usage = fx_usage,
				.finish = fx_finish, .error = fx_error };
}

/* ---- runs ------------------------------------------------------------------------- */

struct fx_ctx {
	struct pc_dec *d;
	const struct uev_sink *s;
};

static int fx_on_sse(void *arg, const char *ev, size_t ev_len, const char *data, size_t n)
{
	struct fx_ctx *x = arg;
	return x->d->codec->on_event(x->d, ev, ev_len, data, n, x->s);
}

static int fx_on_line(void *arg, const char *line, size_t n)
{
	struct fx_ctx *x = arg;
	return x->d->codec->on_event(x->d, NULL, 0, line, n, x->s);
}

void fx_run_stream(const struct pc_codec *c, enum pc_format fmt, const char *data, size_t len,
		   size_t split, unsigned seed, struct fx_result *r)
{
	struct uev_sink s;
	fx_sink(&s, r);
	struct pc_dec d = { .codec = c };
	if ((r->rc = c->dec_init(&d)))
		return;
	struct fx_ctx x = { &d, &s };
	struct sse sp;
	struct ndjson np;
	sse_init(&sp, FX_MAX_EVENT, !!(c->flags & PC_SSE_STRAY));
	ndjson_init(&np, FX_MAX_EVENT);
	size_t off = 0;
	int rc = 0;
	while (off < len && !rc) {
		size_t n = split ? split : len;
		if (seed && split)
			n = 1 + (size_t)(rand_r(&seed) % split);
		if (n > len - off)
			n = len - off;
		rc = fmt == PC_FMT_SSE ? sse_feed(&sp, data + off, n, fx_on_sse, &x)
				       : ndjson_feed(&np, data + off, n, fx_on_line, &x);
		off += n;
	}
	if (!rc)
		rc = fmt == PC_FMT_SSE ? sse_finish(&sp, fx_on_sse, &x) : ndjson_finish(&np, fx_on_line, &x);
	if (!rc)
		rc = c->on_end(&d, &s);
	r->rc = rc;
	sse_free(&sp);
	ndjson_free(&np);
	c->dec_free(&d);
}

void fx_run_body(const struct pc_codec *c, const char *data, size_t len, struct fx_result *r)
{
	struct uev_sink s;
	fx_sink(&s, r);
	struct pc_dec d = { .codec = c };
	if ((r->rc = c->dec_init(&d)))
		return;
	r->rc = c->on_body(&d, data, len, &s);
	c->dec_free(&d);
}

void fx_run_error(const struct pc_codec *c, int status, const char *data, size_t len,
		  struct fx_result *r)
{
	struct uev_sink s;
	fx_sink(&s, r);
	struct pc_dec d = { .codec = c };
	if ((r->rc = c->dec_init(&d)))
		return;
	r->rc = c->on_error(&d, status, data, len, &s);
	c->dec_free(&d);
}

/* ---- comparison ------------------------------------------------------------------- */

const char *fx_contract(const struct fx_result *r)
{
	if (r->rc)
		return "codec or framing returned an error code";
	if (r->n_finish + r->n_error != 1)
		return "not exactly one finish/error";
	if (r->after_end)
		return "events after the end";
	if (r->empty_text)
		return "empty text event";
	if (r->bad_tool)
		return "malformed tool-call fragments";
	return NULL;
}

static const char *fx_str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *fx_check(const struct fx_result *r, const char *expected_path, char *buf, size_t len)
{
	const char *why = fx_contract(r);
	if (why) {
		snprintf(buf, len, "%s (finish=%d error=%d after=%d empty=%d badtool=%d rc=%d msg=%s)",
			 why, r->n_finish, r->n_error, r->after_end, r->empty_text, r->bad_tool,
			 r->rc, r->err_msg);
		return buf;
	}
	json_error_t je;
	json_t *root = json_load_file(expected_path, 0, &je);
	if (!root) {
		snprintf(buf, len, "cannot load %s: %s", expected_path, je.text);
		return buf;
	}
	json_t *dv = json_object_get(root, "deliver");
	const char *ret = NULL;
	const char *text = fx_str(dv, "text");
	const char *reasoning = fx_str(dv, "reasoning_text");
	const char *finish = fx_str(dv, "finish_reason");
	json_t *err = json_object_get(dv, "error");
	json_t *tools = json_object_get(dv, "tool_calls");
	json_t *usage = json_object_get(dv, "usage");
	if (text && strcmp(text, r->text)) {
		snprintf(buf, len, "text differs:\n got  '%s'\n want '%s'", r->text, text);
		ret = buf;
	} else if (!text && r->text_len) {
		snprintf(buf, len, "unexpected text '%s'", r->text);
		ret = buf;
	} else if ((reasoning ? reasoning : "")[0] || r->reasoning_len) {
		if (strcmp(reasoning ? reasoning : "", r->reasoning)) {
			snprintf(buf, len, "reasoning differs:\n got  '%s'\n want '%s'", r->reasoning,
				 reasoning ? reasoning : "");
			ret = buf;
		}
	}
	if (!ret && err && !json_is_null(err) != !!r->n_error) {
		snprintf(buf, len, "error expected=%d got=%d (%s)", !json_is_null(err), r->n_error, r->err_msg);
		ret = buf;
	}
	if (!ret && finish && !r->n_error && strcmp(finish, r->finish)) {
		snprintf(buf, len, "finish '%s', want '%s'", r->finish, finish);
		ret = buf;
	}
	if (!ret && json_is_array(tools)) {
		size_t n = json_array_size(tools);
		if (n != r->n_tools) {
			snprintf(buf, len, "%u tool calls, want %zu", r->n_tools, n);
			ret = buf;
		}
		for (size_t i = 0; !ret && i < n; i++) {
			json_t *t = json_array_get(tools, i);
			const char *id = fx_str(t, "id"), *name = fx_str(t, "name");
			/* OpenAI-shaped fixtures say "arguments" (a JSON text);
			 * Anthropic's say "input" (the parsed object). */
			json_t *a = json_object_get(t, "arguments");
			if (!a)
				a = json_object_get(t, "input");
			char *want_args = json_is_string(a) ? strdup(json_string_value(a))
							    : json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
			/* Compare arguments as JSON values, not bytes. */
			json_t *ga = json_loads(r->tools[i].args, 0, NULL);
			json_t *wa = json_loads(want_args ? want_args : "", 0, NULL);
			if (name && strcmp(name, r->tools[i].name)) {
				snprintf(buf, len, "tool %zu name '%s', want '%s'", i, r->tools[i].name, name);
				ret = buf;
			} else if (id && strcmp(id, r->tools[i].id)) {
				snprintf(buf, len, "tool %zu id '%s', want '%s'", i, r->tools[i].id, id);
				ret = buf;
			} else if (!ga || !wa || !json_equal(ga, wa)) {
				snprintf(buf, len, "tool %zu args '%s', want '%s'", i, r->tools[i].args,
					 want_args ? want_args : "?");
				ret = buf;
			}
			json_decref(ga);
			json_decref(wa);
			free(want_args);
		}
	}
	if (!ret && json_is_object(usage)) {
		json_t *in = json_object_get(usage, "input_tokens");
		json_t *out = json_object_get(usage, "output_tokens");
		if (!r->have_usage) {
			snprintf(buf, len, "no usage reported");
			ret = buf;
		} else if ((json_is_integer(in) && (uint32_t)json_integer_value(in) != r->prompt_tokens) ||
			   (json_is_integer(out) && (uint32_t)json_integer_value(out) != r->completion_tokens)) {
			snprintf(buf, len, "usage %u/%u, want %lld/%lld", r->prompt_tokens,
				 r->completion_tokens, (long long)json_integer_value(in),
				 (long long)json_integer_value(out));
			ret = buf;
		}
	}
	json_decref(root);
	return ret;
}
