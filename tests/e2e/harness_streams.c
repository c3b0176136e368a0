/*
 * harness_streams.c — requests, the mock's expected replies, and per-stream
 * bookkeeping of events (see harness.h). Nothing here asserts: forked
 * children use it too.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one word-separator rule of the sidecar (chatreq.h): ASCII whitespace. */
static int h_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

unsigned h_word_count(const char *s)
{
	unsigned n = 0;
	for (size_t i = 0; s[i];) {
		while (s[i] && h_is_space((unsigned char)s[i]))
			i++;
		if (!s[i])
			break;
		n++;
		while (s[i] && !h_is_space((unsigned char)s[i]))
			i++;
	}
	return n;
}

/* JSON string escape of a NUL-terminated UTF-8 text. */
static size_t h_json_escape(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[ch >> 4];
			out[n + 5] = hex[ch & 15];
			n += 6;
		} else {
			out[n++] = (char)ch;
		}
	}
	return n;
}

char *h_body(const char *prompt, int stream, long tokens, long max_tokens,
	     long ttft_us, long interval_us)
{
	size_t cap = 6 * strlen(prompt) + 256;
	char *b = malloc(cap);
	if (!b)
		abort();
	size_t n = (size_t)snprintf(b, cap, "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"");
	n += h_json_escape(b + n, prompt);
	n += (size_t)snprintf(b + n, cap - n, "\"}],\"stream\":%s", stream ? "true" : "false");
	if (max_tokens >= 0)
		n += (size_t)snprintf(b + n, cap - n, ",\"max_tokens\":%ld", max_tokens);
	if (tokens >= 0 || ttft_us >= 0 || interval_us >= 0) {
		const char *sep = "";
		n += (size_t)snprintf(b + n, cap - n, ",\"mock\":{");
		if (tokens >= 0) {
			n += (size_t)snprintf(b + n, cap - n, "%s\"tokens\":%ld", sep, tokens);
			sep = ",";
		}
		if (ttft_us >= 0) {
			n += (size_t)snprintf(b + n, cap - n, "%s\"ttft_us\":%ld", sep, ttft_us);
			sep = ",";
		}
		if (interval_us >= 0)
			n += (size_t)snprintf(b + n, cap - n, "%s\"interval_us\":%ld", sep, interval_us);
		n += (size_t)snprintf(b + n, cap - n, "}");
	}
	snprintf(b + n, cap - n, "}");
	return b;
}

char *h_expected_reply(const char *prompt, long tokens, long max_tokens)
{
	/* The words, each remembered by offset and length. */
	size_t plen = strlen(prompt), nw = 0;
	size_t *off = malloc((plen + 1) * sizeof *off), *len = malloc((plen + 1) * sizeof *len);
	if (!off || !len)
		abort();
	for (size_t i = 0; i < plen;) {
		while (i < plen && h_is_space((unsigned char)prompt[i]))
			i++;
		if (i == plen)
			break;
		off[nw] = i;
		while (i < plen && !h_is_space((unsigned char)prompt[i]))
			i++;
		len[nw] = i - off[nw];
		nw++;
	}
	if (nw == 0) {
		prompt = "(empty)";
		off[0] = 0;
		len[0] = 7;
		nw = 1;
	}
	size_t k = tokens >= 0 ? (size_t)tokens : nw;
	if (max_tokens >= 0 && (size_t)max_tokens < k)
		k = (size_t)max_tokens;
	size_t total = 1;
	for (size_t i = 0; i < k; i++)
		total += len[i % nw] + (i > 0);
	char *out = malloc(total);
	if (!out)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < k; i++) {
		if (i)
			out[n++] = ' ';
		memcpy(out + n, prompt + off[i % nw], len[i % nw]);
		n += len[i % nw];
	}
	out[n] = 0;
	free(off);
	free(len);
	return out;
}

const char *h_expected_finish(const char *prompt, long tokens, long max_tokens)
{
	unsigned words = h_word_count(prompt);
	long want = tokens >= 0 ? tokens : (long)(words ? words : 1);
	return max_tokens >= 0 && max_tokens < want ? "length" : "stop";
}

/* ---- stream sets ------------------------------------------------------------ */

struct h_stream *h_set_find(struct h_set *set, uint64_t id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].id == id)
			return &set->v[i];
	return NULL;
}

struct h_stream *h_set_add(struct h_set *set, uint64_t id)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct h_stream *v = realloc(set->v, cap * sizeof *v);
		if (!v)
			abort();
		set->v = v;
		set->cap = cap;
	}
	struct h_stream *st = &set->v[set->n++];
	memset(st, 0, sizeof *st);
	st->id = id;
	st->err_code = -1;
	set->open++;
	return st;
}

void h_set_free(struct h_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].text);
	free(set->v);
	memset(set, 0, sizeof *set);
}

static void h_copy(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

static void h_append(struct h_stream *st, const char *p, size_t n)
{
	if (st->len + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 256;
		while (cap < st->len + n + 1)
			cap *= 2;
		char *t = realloc(st->text, cap);
		if (!t)
			abort();
		st->text = t;
		st->cap = cap;
	}
	memcpy(st->text + st->len, p, n);
	st->len += n;
	st->text[st->len] = 0;
}

static void h_end(struct h_set *set, struct h_stream *st)
{
	st->phase = H_ENDED;
	st->seq_end = set->seq;
	set->open--;
}

void h_set_event(struct h_set *set, const struct rs_event *ev)
{
	struct h_stream *st = h_set_find(set, ev->stream);
	set->seq++;
	if (!st) {
		set->foreign++;
		return;
	}
	if (st->phase == H_ENDED) {
		st->n_after_end++;
		return;
	}
	switch (ev->type) {
	case RS_EV_START:
		st->n_start++;
		if (st->phase != H_NEW)
			st->n_out_of_order++;
		st->phase = H_STARTED;
		st->seq_start = set->seq;
		h_copy(st->provider, sizeof st->provider, ev->start.provider, ev->start.provider_len);
		h_copy(st->model, sizeof st->model, ev->start.model, ev->start.model_len);
		st->attempt = ev->start.attempt;
		st->cache_hit = ev->start.cache_hit;
		break;
	case RS_EV_DELTA:
		st->n_delta++;
		if (st->phase != H_STARTED)
			st->n_out_of_order++;
		h_append(st, ev->text, ev->text_len);
		break;
	case RS_EV_USAGE:
		st->n_usage++;
		if (st->phase != H_STARTED)
			st->n_out_of_order++;
		st->phase = H_USAGE;
		st->prompt_tokens = ev->usage.prompt_tokens;
		st->completion_tokens = ev->usage.completion_tokens;
		st->total_tokens = ev->usage.total_tokens;
		break;
	case RS_EV_DONE:
		st->n_done++;
		h_copy(st->finish, sizeof st->finish, ev->text, ev->text_len);
		h_end(set, st);
		break;
	case RS_EV_ERROR:
		st->n_error++;
		st->err_code = ev->error.code;
		h_copy(st->err_msg, sizeof st->err_msg, ev->text, ev->text_len);
		h_end(set, st);
		break;
	default:
		st->n_other++;
		break;
	}
}

int h_drain(rs_client *c, struct h_set *set, int timeout_ms)
{
	while (set->open) {
		struct rs_event ev;
		int rc = rs_next(c, &ev, timeout_ms);
		if (rc)
			return rc;
		h_set_event(set, &ev);
	}
	return RS_OK;
}

/* ---- checks --------------------------------------------------------------------- */

static int h_why(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int h_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

int h_check_done(const struct h_stream *st, const char *provider, const char *model,
		 const char *text, uint32_t prompt_tokens, uint32_t completion_tokens,
		 const char *finish, char *why, size_t whylen)
{
	unsigned long long id = (unsigned long long)st->id;
	if (st->n_error)
		return h_why(why, whylen, "stream %llu: ERROR %d (%s)", id, st->err_code, st->err_msg);
	if (st->n_start != 1 || st->n_usage != 1 || st->n_done != 1)
		return h_why(why, whylen, "stream %llu: %u START, %u USAGE, %u DONE (want 1 each)",
			     id, st->n_start, st->n_usage, st->n_done);
	if (st->n_after_end || st->n_out_of_order || st->n_other)
		return h_why(why, whylen, "stream %llu: %u events after the end, %u out of order, "
			     "%u of other types", id, st->n_after_end, st->n_out_of_order, st->n_other);
	if (provider && strcmp(st->provider, provider))
		return h_why(why, whylen, "stream %llu: START provider '%s', want '%s'", id,
			     st->provider, provider);
	if (model && strcmp(st->model, model))
		return h_why(why, whylen, "stream %llu: START model '%s', want '%s'", id, st->model,
			     model);
	if (st->attempt != 1 || st->cache_hit)
		return h_why(why, whylen, "stream %llu: START attempt %u cache_hit %d", id,
			     st->attempt, st->cache_hit);
	size_t tl = strlen(text);
	if (st->len != tl || (tl && memcmp(st->text, text, tl)))
		return h_why(why, whylen, "stream %llu: text (%zu bytes) '%.80s%s' want (%zu bytes) "
			     "'%.80s%s'", id, st->len, st->text ? st->text : "",
			     st->len > 80 ? "..." : "", tl, text, tl > 80 ? "..." : "");
	if (st->prompt_tokens != prompt_tokens || st->completion_tokens != completion_tokens ||
	    st->total_tokens != prompt_tokens + completion_tokens)
		return h_why(why, whylen, "stream %llu: usage %u+%u=%u, want %u+%u", id,
			     st->prompt_tokens, st->completion_tokens, st->total_tokens,
			     prompt_tokens, completion_tokens);
	if (strcmp(st->finish, finish))
		return h_why(why, whylen, "stream %llu: finish '%s', want '%s'", id, st->finish,
			     finish);
	return 0;
}

int h_check_error(const struct h_stream *st, int code, char *why, size_t whylen)
{
	unsigned long long id = (unsigned long long)st->id;
	if (st->n_error != 1 || st->n_done)
		return h_why(why, whylen, "stream %llu: %u ERROR, %u DONE (want one ERROR)", id,
			     st->n_error, st->n_done);
	if (st->err_code != code)
		return h_why(why, whylen, "stream %llu: error %d (%s: %s), want %d (%s)", id,
			     st->err_code, rs_errcode_name(st->err_code), st->err_msg, code,
			     rs_errcode_name(code));
	if (st->n_after_end || st->n_out_of_order || st->n_other)
		return h_why(why, whylen, "stream %llu: %u events after the end, %u out of order",
			     id, st->n_after_end, st->n_out_of_order);
	return 0;
}
