/*
 * jdump.c — compact JSON text of a jansson value (see jdump.h).
 */
#include "jdump.h"

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First allocation: a typical request body fits without a realloc. */
#define JD_INITIAL 512

struct jd_buf {
	char *p;
	size_t n, cap;
	int fail;
};

/* Room for `more` bytes and the NUL jdump ends with. */
static int jd_reserve(struct jd_buf *b, size_t more)
{
	if (b->fail)
		return -1;
	if (more < b->cap - b->n)
		return 0;
	size_t cap = b->cap ? b->cap : JD_INITIAL;
	while (more >= cap - b->n) {
		if (cap > SIZE_MAX / 2) {
			b->fail = 1;
			return -1;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->fail = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static void jd_put(struct jd_buf *b, const char *s, size_t n)
{
	if (jd_reserve(b, n))
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void jd_putc(struct jd_buf *b, char c)
{
	if (jd_reserve(b, 1))
		return;
	b->p[b->n++] = c;
}

/* ---- strings --------------------------------------------------------------------- */

/* Bytes copied as they are: printable ASCII but the quote and backslash. */
static int jd_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Length of the valid UTF-8 sequence of 2..4 bytes at s, or 0: jansson's
 * utf8_check_first and utf8_check_full (no overlongs, no surrogates,
 * nothing past U+10FFFF). */
static size_t jd_utf8(const unsigned char *s, size_t avail)
{
	size_t count;
	uint32_t v;

	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		count = 2;
		v = s[0] & 0x1Fu;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		count = 3;
		v = s[0] & 0x0Fu;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		count = 4;
		v = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (count > avail)
		return 0;
	for (size_t i = 1; i < count; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
		v = (v << 6) | (s[i] & 0x3Fu);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (count == 3 && v < 0x800) ||
	    (count == 4 && v < 0x10000))
		return 0;
	return count; /* a 2-byte one is never overlong: its first byte is >= 0xC2 */
}

/* The escape json_dumps writes for an ASCII byte that is not plain, into
 * out (at least 6 bytes); its length. */
static size_t jd_escape(unsigned char c, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	out[0] = '\\';
	switch (c) {
	case '"': out[1] = '"'; return 2;
	case '\\': out[1] = '\\'; return 2;
	case '\b': out[1] = 'b'; return 2;
	case '\f': out[1] = 'f'; return 2;
	case '\n': out[1] = 'n'; return 2;
	case '\r': out[1] = 'r'; return 2;
	case '\t': out[1] = 't'; return 2;
	default:
		memcpy(out + 1, "u00", 3);
		out[4] = hex[c >> 4];
		out[5] = hex[c & 0xF];
		return 6;
	}
}

/* Plain runs, valid UTF-8 and escapes each appended as they come: the
 * buffer grows by what the text needs, not by a worst case of six bytes
 * per input byte reserved up front. */
static void jd_string(struct jd_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	jd_putc(b, '"');
	while (s < end && !b->fail) {
		const unsigned char *run = s;
		while (s < end && jd_plain(*s))
			s++;
		jd_put(b, (const char *)run, (size_t)(s - run));
		if (s == end)
			break;
		if (*s >= 0x80) {
			size_t k = jd_utf8(s, (size_t)(end - s));
			if (!k) {
				b->fail = 1;
				return;
			}
			jd_put(b, (const char *)s, k);
			s += k;
			continue;
		}
		char esc[6];
		jd_put(b, esc, jd_escape(*s++, esc));
	}
	jd_putc(b, '"');
}

/* ---- numbers --------------------------------------------------------------------- */

static void jd_integer(struct jd_buf *b, json_int_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p = e;
	/* The magnitude as unsigned, so the most negative value has one. */
	unsigned long long m = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		*--p = '-';
	jd_put(b, p, (size_t)(e - p));
}

/* jansson's jsonp_dtostr at its default precision. */
static void jd_real(struct jd_buf *b, double v)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof tmp - 3, "%.17g", v);

	if (n < 0 || (size_t)n >= sizeof tmp - 3) {
		b->fail = 1;
		return;
	}
	size_t len = (size_t)n;
	/* The locale's decimal point back to '.', as jansson's from_locale. */
	const char *dp = localeconv()->decimal_point;
	if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
		char *pt = strchr(tmp, dp[0]);
		if (pt)
			*pt = '.';
	}
	/* A real must not read back as an integer. */
	if (!strchr(tmp, '.') && !strchr(tmp, 'e')) {
		tmp[len++] = '.';
		tmp[len++] = '0';
		tmp[len] = 0;
	}
	/* No '+' and no leading zeros in the exponent. */
	char *start = strchr(tmp, 'e');
	if (start) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - tmp) + 1);
			len -= (size_t)(end - start);
		}
	}
	jd_put(b, tmp, len);
}

/* ---- values ---------------------------------------------------------------------- */

static void jd_value(struct jd_buf *b, const json_t *v, int depth)
{
	if (b->fail)
		return;
	if (!v) {
		b->fail = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_NULL: jd_put(b, "null", 4); return;
	case JSON_TRUE: jd_put(b, "true", 4); return;
	case JSON_FALSE: jd_put(b, "false", 5); return;
	case JSON_INTEGER: jd_integer(b, json_integer_value(v)); return;
	case JSON_REAL: jd_real(b, json_real_value(v)); return;
	case JSON_STRING: jd_string(b, json_string_value(v), json_string_length(v)); return;
	case JSON_ARRAY:
	case JSON_OBJECT:
		break;
	}
	if (depth >= JDUMP_MAX_DEPTH) {
		b->fail = 1;
		return;
	}
	if (json_is_array(v)) {
		size_t n = json_array_size(v);
		jd_putc(b, '[');
		for (size_t i = 0; i < n && !b->fail; i++) {
			if (i)
				jd_putc(b, ',');
			jd_value(b, json_array_get(v, i), depth + 1);
		}
		jd_putc(b, ']');
		return;
	}
	jd_putc(b, '{');
	/* The iterator API takes a non-const object; it changes nothing. */
	json_t *o = (json_t *)v;
	int first = 1;
	for (void *it = json_object_iter(o); it && !b->fail; it = json_object_iter_next(o, it)) {
		if (!first)
			jd_putc(b, ',');
		first = 0;
		jd_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
		jd_putc(b, ':');
		jd_value(b, json_object_iter_value(it), depth + 1);
	}
	jd_putc(b, '}');
}

char *jdump(const json_t *v, size_t *len)
{
	struct jd_buf b = { 0 };

	jd_value(&b, v, 0);
	if (!b.fail)
		jd_reserve(&b, 0);
	if (b.fail) {
		free(b.p);
		return NULL;
	}
	b.p[b.n] = 0;
	if (len)
		*len = b.n;
	return b.p;
}
