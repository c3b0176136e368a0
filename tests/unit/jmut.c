/*
 * jmut.c — fixture lines, seeded JSON mutations, and the verdicts of jscan
 * and jansson (see jmut.h).
 */
#include "jmut.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fx.h"
#include "jscan.h"

void jm_lines(const char *fixture, struct jm_lines *l)
{
	char path[512];
	size_t len;
	char *p, *end;

	memset(l, 0, sizeof *l);
	l->buf = fx_read(fx_path(fixture, path, sizeof path), &len);
	cr_assert_not_null(l->buf, "cannot read %s", path);
	for (p = l->buf, end = l->buf + len; p < end; p++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (nl - p > 6 && !memcmp(p, "data: ", 6)) {
			cr_assert_lt(l->count, JM_MAX_LINES, "%s: too many lines", fixture);
			*nl = 0;
			l->p[l->count] = p + 6;
			l->n[l->count++] = (size_t)(nl - p - 6);
		}
		p = nl;
	}
}

void jm_lines_free(struct jm_lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

const char *const jm_streams[] = {
	"openai_stream_basic.sse",          "openai_stream_usage.sse",
	"openai_stream_tools.sse",          "openai_stream_tools_parallel.sse",
	"openai_stream_n3_refusal.sse",     "anthropic_stream_basic.sse",
	"anthropic_stream_tools.sse",       "anthropic_stream_thinking_refusal.sse",
	"gemini_stream.sse",                "gemini_stream_thinking_function_call.sse",
};
const size_t jm_nstreams = sizeof jm_streams / sizeof jm_streams[0];

size_t jm_json_fixtures(void (*fn)(const char *name, const char *text, size_t len, void *arg),
			void *arg)
{
	char dir[512];
	fx_path("", dir, sizeof dir);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	size_t files = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		char path[1024];
		size_t size;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		char *text = fx_read(path, &size);
		cr_assert_not_null(text, "%s", path);
		fn(e->d_name, text, size, arg);
		free(text);
		files++;
	}
	closedir(d);
	return files;
}

/* What an insertion adds: escapes (good and bad), UTF-8 (good and bad),
 * numbers at and past the edges, structure, and members the OpenAI
 * decoder reads or must refuse. */
static const char *const jm_pieces[] = {
	"\\u0000", "\\ud83d\\ude00", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\u00e9", "\\u20AC",
	"\\n", "\\\"", "\\/", "\\x", "\\u12", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xe2\x82", "\x80", "\xff",
	"\x01", "\x7f", "null", "true", ",", ":", "{", "}", "[", "]", "\"", " ", "-0", "1e999",
	"1e-999", "0.5", "01", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
	"-9223372036854775808", "999999999999999999", "1000000000000000000", "18446744073709551616",
	"\"error\":1,", "\"error\":null,", "\"object\":\"error\",", "\"usage\":null,",
	"\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},", "\"index\":1,", "\"index\":0,",
	"\"content\":\"x\",", "\"content\":null,", "\"refusal\":\"no\",", "\"refusal\":null,",
	"\"reasoning\":\"r\",", "\"finish_reason\":\"length\",", "{\"index\":0,\"delta\":{}},",
	"\"x\":[1,{\"y\":2}],", "\\u0063", "\"\\u0063ontent\":\"e\",",
};

/* Bytes a replacement picks from, most of them JSON's own. */
static const char jm_bytes[] = "{}[]:,\"\\ 0123456789-+.eEtfnulr\x1f\x7f\x80\xbf\xc0\xe2\xed\xf0\xf4\xff";

static size_t jm_one(char *b, size_t n, unsigned *seed)
{
	size_t at = n ? (size_t)rand_r(seed) % (n + 1) : 0;
	size_t k;

	switch (rand_r(seed) % 7) {
	case 0: /* any byte */
		if (at < n)
			b[at] = (char)(rand_r(seed) & 0xff);
		return n;
	case 1: /* a JSON-significant byte */
		if (at < n)
			b[at] = jm_bytes[(size_t)rand_r(seed) % (sizeof jm_bytes - 1)];
		return n;
	case 2: { /* an inserted piece */
		const char *p = jm_pieces[(size_t)rand_r(seed) % (sizeof jm_pieces / sizeof jm_pieces[0])];
		k = strlen(p);
		if (n + k > JM_MAX)
			return n;
		memmove(b + at + k, b + at, n - at);
		memcpy(b + at, p, k);
		return n + k;
	}
	case 3: /* a deleted range, usually one byte */
		k = rand_r(seed) % 4 ? 1 : (size_t)rand_r(seed) % 16;
		if (at + k > n)
			k = n - at;
		memmove(b + at, b + at + k, n - at - k);
		return n - k;
	case 4: /* cut short */
		return at;
	case 5: { /* a range repeated elsewhere: repeated keys and members */
		size_t from = n ? (size_t)rand_r(seed) % n : 0;
		k = n - from ? 1 + (size_t)rand_r(seed) % (n - from) : 0;
		if (n + k > JM_MAX)
			return n;
		memmove(b + at + k, b + at, n - at);
		memmove(b + at, b + (from < at ? from : from + k), k);
		return n + k;
	}
	default: /* a byte doubled */
		if (at < n && n < JM_MAX) {
			memmove(b + at + 1, b + at, n - at);
			return n + 1;
		}
		return n;
	}
}

size_t jm_mutate(const char *in, size_t n, char *out, unsigned *seed)
{
	int times = 1 + rand_r(seed) % 3;

	n = n < JM_MAX ? n : JM_MAX;
	memcpy(out, in, n);
	while (times--)
		n = jm_one(out, n, seed);
	return n;
}

/* ---- verdicts ------------------------------------------------------------------------ */

/* The whole document: one value, then whitespace only. */
int jm_jscan_ok(const char *s, size_t n)
{
	struct js j;

	js_init(&j, s, n);
	return !js_skip(&j) && !js_end(&j);
}

/* jansson with the codecs' flags; any top-level value, as js_skip takes. */
int jm_jansson_ok(const char *s, size_t n)
{
	json_t *v = json_loadb(s, n, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
	int ok = v != NULL;

	json_decref(v);
	return ok;
}

void jm_both(const char *s, size_t n, int want)
{
	cr_assert_eq(jm_jscan_ok(s, n), want, "jscan %s '%.*s'", want ? "refused" : "took", (int)n, s);
	cr_assert_eq(jm_jansson_ok(s, n), want, "jansson disagrees on '%.*s'", (int)n, s);
}

/* The string in ["..."], decoded by both. */
void jm_decode_as_jansson(const char *s, size_t n)
{
	char buf[256], out[512];
	struct js j;
	struct js_str v;
	int len = snprintf(buf, sizeof buf, "[\"%.*s\"]", (int)n, s);
	json_t *a = json_loadb(buf, (size_t)len, JSON_ALLOW_NUL, NULL);
	json_t *str = json_array_get(a, 0);
	size_t got;

	cr_assert_not_null(a, "jansson refused %s", buf);
	js_init(&j, buf, (size_t)len);
	cr_assert(!js_array(&j) && js_element(&j) == 1 && !js_string(&j, &v));
	cr_assert(!js_element(&j) && !js_end(&j));
	got = js_unescape(&v, out, sizeof out);
	cr_assert_eq(got, json_string_length(str), "%s: %zu bytes, jansson %zu", buf, got,
		     json_string_length(str));
	cr_assert(!memcmp(out, json_string_value(str), got), "%s decodes differently", buf);
	cr_assert(js_str_is(&v, json_string_value(str), got));
	json_decref(a);
}
