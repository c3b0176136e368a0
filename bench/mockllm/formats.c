/*
 * formats.c — from an HTTP request to a struct ml_reply: endpoint routing,
 * reading the body with jansson, the words to echo and the usage counts,
 * and the text helpers every format renders with (see formats.h).
 */
#include "formats.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

/* Longest model name taken from a URL path (Gemini, Azure deployments). */
#define ML_PATH_MODEL_MAX 512

static const struct ml_fmt_ops *const fmt_ops[ML_FMT_COUNT] = {
	[ML_FMT_OPENAI] = &ml_fmt_openai,
	[ML_FMT_ANTHROPIC] = &ml_fmt_anthropic,
	[ML_FMT_GEMINI] = &ml_fmt_gemini,
	[ML_FMT_OLLAMA] = &ml_fmt_ollama,
};

static bool ends_with(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return n >= k && memcmp(s + n - k, lit, k) == 0;
}

static bool query_has(const char *q, size_t qn, const char *param)
{
	size_t i = 0;
	while (q && i < qn) {
		size_t j = i;
		while (j < qn && q[j] != '&')
			j++;
		if (ml_http_ieq(q + i, j - i, param))
			return true;
		i = j + 1;
	}
	return false;
}

int ml_route(const char *path, size_t n, const char *query, size_t qn, struct ml_route *rt)
{
	memset(rt, 0, sizeof *rt);
	if (ends_with(path, n, "/chat/completions")) {
		/* Azure names the deployment in the path:
		 * /openai/deployments/{dep}/chat/completions */
		static const char dep[] = "/deployments/";
		size_t end = n - strlen("/chat/completions");
		for (size_t i = 0; i + sizeof dep - 1 <= end; i++) {
			if (memcmp(path + i, dep, sizeof dep - 1) == 0) {
				rt->path_model = path + i + sizeof dep - 1;
				rt->path_model_len = end - (i + sizeof dep - 1);
			}
		}
		rt->fmt = ML_FMT_OPENAI;
		return 0;
	}
	if (ends_with(path, n, "/v1/messages")) {
		rt->fmt = ML_FMT_ANTHROPIC;
		return 0;
	}
	if (n == strlen("/api/chat") && memcmp(path, "/api/chat", n) == 0) {
		rt->fmt = ML_FMT_OLLAMA;
		return 0;
	}
	bool stream = ends_with(path, n, ":streamGenerateContent");
	if (stream || ends_with(path, n, ":generateContent")) {
		/* /v1beta/models/{model}:method, the model up to the last ':'. */
		size_t colon = n;
		while (colon > 0 && path[colon - 1] != ':')
			colon--;
		for (size_t m = colon - 1; m >= 8; m--) {
			if (memcmp(path + m - 8, "/models/", 8) == 0) {
				rt->path_model = path + m;
				rt->path_model_len = colon - 1 - m;
				rt->fmt = ML_FMT_GEMINI;
				rt->path_stream = stream;
				rt->gemini_sse = query_has(query, qn, "alt=sse");
				return 0;
			}
		}
	}
	return -1;
}

void ml_reply_reset(struct ml_reply *r, const struct ml_route *rt, uint64_t id, uint64_t now_ns)
{
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	r->fmt = rt->fmt;
	r->ops = fmt_ops[rt->fmt];
	ml_knobs_init(&r->knobs);
	r->text.len = 0;
	r->nwords = 0;
	r->model.len = 0;
	r->prefix.len = 0;
	r->id = id;
	r->created = (uint64_t)wall.tv_sec;
	r->created_nsec = (uint32_t)wall.tv_nsec;
	r->start_ns = now_ns;
	r->tokens = r->chunks = r->sent = r->prompt_tokens = r->events = 0;
	r->stream = r->include_usage = false;
	r->gemini_sse = rt->gemini_sse;
}

void ml_reply_free(struct ml_reply *r)
{
	ml_buf_free(&r->text);
	ml_buf_free(&r->model);
	ml_buf_free(&r->prefix);
	free(r->words);
	r->words = NULL;
	r->nwords = r->words_cap = 0;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static void add_word(struct ml_reply *r, const char *s, size_t n)
{
	if (r->nwords == r->words_cap) {
		size_t cap = r->words_cap ? r->words_cap * 2 : 64;
		struct ml_word *w = realloc(r->words, cap * sizeof *w);
		if (!w)
			ml_die("out of memory for %zu words", cap);
		r->words = w;
		r->words_cap = cap;
	}
	r->words[r->nwords].off = (uint32_t)r->text.len;
	r->words[r->nwords].len = (uint32_t)n;
	r->nwords++;
	ml_buf_put(&r->text, s, n);
}

/* Count the words of s; with echo, also keep them as the reply's words. */
static uint32_t scan_words(struct ml_reply *r, const char *s, size_t n, bool echo)
{
	uint32_t count = 0;
	size_t i = 0;
	while (i < n) {
		while (i < n && is_space(s[i]))
			i++;
		size_t j = i;
		while (j < n && !is_space(s[j]))
			j++;
		if (j > i) {
			count++;
			if (echo)
				add_word(r, s + i, j - i);
		}
		i = j;
	}
	return count;
}

/* A content value: a string, or an array of strings / objects with a
 * "text" string (OpenAI parts, Anthropic blocks, Gemini parts). */
static uint32_t scan_content(struct ml_reply *r, json_t *c, bool echo)
{
	uint32_t count = 0;
	if (json_is_string(c))
		return scan_words(r, json_string_value(c), json_string_length(c), echo);
	if (!json_is_array(c))
		return 0;
	size_t i;
	json_t *part;
	json_array_foreach(c, i, part) {
		json_t *t = json_is_object(part) ? json_object_get(part, "text") : part;
		if (json_is_string(t))
			count += scan_words(r, json_string_value(t), json_string_length(t), echo);
	}
	return count;
}

static bool is_user(json_t *msg, bool role_optional)
{
	json_t *role = json_object_get(msg, "role");
	if (!role)
		return role_optional;
	return json_is_string(role) && strcmp(json_string_value(role), "user") == 0;
}

/* Prompt words over every message; the last user message's words echoed. */
static void scan_messages(struct ml_reply *r, json_t *root)
{
	bool gemini = r->fmt == ML_FMT_GEMINI;
	json_t *msgs = json_object_get(root, gemini ? "contents" : "messages");
	const char *key = gemini ? "parts" : "content";
	size_t last = SIZE_MAX, i;
	json_t *m;
	json_array_foreach(msgs, i, m)
		if (json_is_object(m) && is_user(m, gemini))
			last = i;
	json_array_foreach(msgs, i, m)
		if (json_is_object(m))
			r->prompt_tokens += scan_content(r, json_object_get(m, key), i == last);
	if (r->fmt == ML_FMT_ANTHROPIC)
		r->prompt_tokens += scan_content(r, json_object_get(root, "system"), false);
	if (gemini) {
		json_t *si = json_object_get(root, "systemInstruction");
		r->prompt_tokens += scan_content(r, json_object_get(si, "parts"), false);
	}
	/* Nothing to echo still gets a reply: the word "mock". */
	if (r->nwords == 0)
		add_word(r, "mock", 4);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode a path segment into out (size ML_PATH_MODEL_MAX). */
static int path_decode(const char *s, size_t n, char *out, size_t *outn)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k == ML_PATH_MODEL_MAX)
			return -1;
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			out[k++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	*outn = k;
	return 0;
}

static int set_model(struct ml_reply *r, const char *m, size_t n, char *err, size_t errlen)
{
	size_t base = ml_knobs_model_split(m, n);
	if (base < n && ml_knobs_parse(&r->knobs, m + base + 1, n - base - 1, err, errlen) < 0)
		return -1;
	ml_buf_json(&r->model, m, base, 1);
	return 0;
}

int ml_reply_prepare(struct ml_reply *r, const struct ml_route *rt, const char *body, size_t n,
		     char *err, size_t errlen)
{
	int rc = -1;
	json_error_t je;
	json_t *root = json_loadb(body ? body : "", n, 0, &je);
	if (!json_is_object(root)) {
		snprintf(err, errlen, "mockllm: the request body is not a JSON object (%s)",
			 root ? "not an object" : je.text);
		goto out;
	}
	json_t *model = json_object_get(root, "model");
	if (rt->path_model && (r->fmt == ML_FMT_GEMINI || !json_is_string(model))) {
		char dec[ML_PATH_MODEL_MAX];
		size_t dn;
		if (path_decode(rt->path_model, rt->path_model_len, dec, &dn) < 0) {
			snprintf(err, errlen, "mockllm: the model in the path is too long");
			goto out;
		}
		if (set_model(r, dec, dn, err, errlen) < 0)
			goto out;
	} else if (json_is_string(model)) {
		if (set_model(r, json_string_value(model), json_string_length(model), err, errlen) < 0)
			goto out;
	}
	json_t *stream = json_object_get(root, "stream");
	switch (r->fmt) {
	case ML_FMT_OLLAMA:
		r->stream = !json_is_false(stream);
		break;
	case ML_FMT_GEMINI:
		r->stream = rt->path_stream;
		break;
	default:
		r->stream = json_is_true(stream);
		break;
	}
	json_t *so = json_object_get(root, "stream_options");
	r->include_usage = json_is_true(json_object_get(so, "include_usage"));
	scan_messages(r, root);
	long tokens = r->knobs.tokens != ML_UNSET ? r->knobs.tokens : (long)r->nwords;
	if (tokens > ML_MAX_TOKENS) {
		snprintf(err, errlen, "mockllm: tokens=%ld is more than %ld", tokens, ML_MAX_TOKENS);
		goto out;
	}
	r->tokens = (uint32_t)tokens;
	r->chunks = r->tokens;
	/* Gemini and Ollama deliver a tool call whole, in one chunk; OpenAI and
	 * Anthropic stream its arguments, which need at least one fragment. */
	if (ml_reply_tool(r))
		r->chunks = (r->fmt == ML_FMT_GEMINI || r->fmt == ML_FMT_OLLAMA || !r->tokens) ? 1 : r->tokens;
	r->ops->begin(r);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void ml_reply_word(const struct ml_reply *r, uint32_t i, struct ml_buf *o, int depth)
{
	const struct ml_word *w = &r->words[i % r->nwords];
	if (i)
		ml_buf_putc(o, ' ');
	ml_buf_json(o, r->text.p + w->off, w->len, depth);
}

void ml_reply_text(const struct ml_reply *r, struct ml_buf *o, int depth)
{
	for (uint32_t i = 0; i < r->tokens; i++)
		ml_reply_word(r, i, o, depth);
}

void ml_reply_args(const struct ml_reply *r, uint32_t i, struct ml_buf *o, int depth)
{
	if (i == 0) {
		if (depth > 0)
			ML_PUT(o, "{\\\"text\\\":\\\"");
		else
			ML_PUT(o, "{\"text\":\"");
	}
	/* A whole call (one chunk) carries every token; a fragment one. */
	if (r->chunks == 1)
		ml_reply_text(r, o, depth + 1);
	else if (i < r->tokens)
		ml_reply_word(r, i, o, depth + 1);
	if (i == r->chunks - 1) {
		if (depth > 0)
			ML_PUT(o, "\\\"}");
		else
			ML_PUT(o, "\"}");
	}
}
