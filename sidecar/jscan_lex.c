/*
 * jscan_lex.c — the tokens of the tree-less JSON scanner (see
 * jscan_lex.h): strings validated without being decoded, decoded on
 * request, and numbers checked against what jansson would refuse.
 *
 * A value nobody reads costs one pass over its bytes: strings are scanned
 * a word at a time up to the next byte that needs a look (a quote, an
 * escape, a control byte, non-ASCII), and only escapes and multi-byte
 * UTF-8 are looked at one by one.
 */
#include "jscan_lex.h"

#include <string.h>

/* An integer's magnitude past which jansson (strtoll into json_int_t,
 * a long long) reports overflow: 2^63, reachable only by a negative one. */
#define JS_INT_NEG_MAX ((uint64_t)1 << 63)
/* A real is below 10^(digits before the point + exponent). DBL_MAX is
 * 1.8e308, so below 10^308 strtod cannot overflow, rounding included, and
 * jansson cannot refuse it. Past that we refuse without asking strtod. */
#define JS_REAL_MAG_MAX 308
/* Exponent digits stop counting here: anything this big is refused (or,
 * negative, an underflow jansson accepts) whatever the rest says. */
#define JS_EXP_CLAMP 100000
/* "\uXXXX": the escape's length in bytes. */
#define JS_U_LEN 6
/* Strings are scanned eight bytes at a time (js_plain) with these words:
 * every byte 1 (to find zero bytes), 0x20 (control bytes are below it),
 * '"' and '\\' (XORed away to make zero bytes of them), and 0x80 (the top
 * bit, set in non-ASCII bytes). */
#define JS_ONES 0x0101010101010101ull
#define JS_SPACES (JS_ONES * 0x20)
#define JS_QUOTES (JS_ONES * '"')
#define JS_BSLASHES (JS_ONES * '\\')
#define JS_TOPS (JS_ONES * 0x80)

/* Bytes a string scan must stop at: control bytes, the quote, the
 * backslash, and the bytes of multi-byte UTF-8 sequences. */
static const unsigned char js_stop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x90 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xa0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xb0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xc0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xd0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xe0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xf0 */
};

static int js_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* ---- strings ---------------------------------------------------------------------- */

/* Four hex digits, or -1. */
static long js_hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned c = p[i];
		unsigned d = c >= '0' && c <= '9'   ? c - '0'
			     : c >= 'a' && c <= 'f' ? c - 'a' + 10
			     : c >= 'A' && c <= 'F' ? c - 'A' + 10
						    : 16;
		if (d == 16)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* One multi-byte UTF-8 sequence at p: past it, or NULL if it is not strict
 * UTF-8. The first continuation byte's range is narrower after E0, ED, F0
 * and F4: that is what rules out overlongs, surrogates and code points past
 * U+10FFFF, exactly the sequences jansson's utf8_check_full refuses. */
static const unsigned char *js_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], n, lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		lo = c == 0xe0 ? 0xa0 : lo;
		hi = c == 0xed ? 0x9f : hi;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		lo = c == 0xf0 ? 0x90 : lo;
		hi = c == 0xf4 ? 0x8f : hi;
	} else {
		return NULL;
	}
	if ((size_t)(end - p) <= n || p[1] < lo || p[1] > hi)
		return NULL;
	for (unsigned i = 2; i <= n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return NULL;
	return p + 1 + n;
}

/* A \u escape at p (the backslash), with its low surrogate if it opens a
 * pair: past it, or NULL. *nul is set when it encodes U+0000. */
static const unsigned char *js_uescape(const unsigned char *p, const unsigned char *end, int *nul)
{
	long cp, lo;

	if (end - p < JS_U_LEN || (cp = js_hex4(p + 2)) < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
		return NULL;
	p += JS_U_LEN;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (end - p < JS_U_LEN || p[0] != '\\' || p[1] != 'u' || (lo = js_hex4(p + 2)) < 0xdc00 ||
		    lo > 0xdfff)
			return NULL;
		p += JS_U_LEN;
	}
	*nul |= !cp;
	return p;
}

/*
 * Past the plain bytes at p: eight at a time while none of them is a stop
 * byte, then one at a time. (v - ONES) & ~v has a byte's top bit set where
 * that byte was zero, which v ^ QUOTES and v ^ BSLASHES make of quotes and
 * backslashes; v - SPACES borrows from bytes below 0x20, and v itself has
 * the top bit of non-ASCII ones. Borrows can flag bytes after a true stop
 * byte but never a word without one, so a flagged word holds one, and the
 * first flagged byte is the first stop byte.
 */
static const unsigned char *js_plain(const unsigned char *p, const unsigned char *end)
{
	while (end - p >= 8) {
		uint64_t v, q, b, t;
		memcpy(&v, p, sizeof v);
		q = v ^ JS_QUOTES;
		b = v ^ JS_BSLASHES;
		t = (((q - JS_ONES) & ~q) | ((b - JS_ONES) & ~b) | ((v - JS_SPACES) & ~v) | v) & JS_TOPS;
		if (t) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* the lowest flagged byte is exact: borrows only go up */
			return p + (__builtin_ctzll(t) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
	while (p < end && !js_stop[*p])
		p++;
	return p;
}

const char *js_lex_string(const char *str, const char *stop, struct js_str *s, int key)
{
	const unsigned char *p = (const unsigned char *)str + 1;
	const unsigned char *end = (const unsigned char *)stop;
	int nul = 0;

	s->p = (const char *)p;
	s->esc = 0;
	for (;;) {
		p = js_plain(p, end);
		if (p == end || *p < 0x20)
			return NULL;
		if (*p == '"')
			break;
		if (*p >= 0x80) {
			p = js_utf8(p, end);
		} else if (end - p < 2) {
			return NULL;
		} else if (p[1] == 'u') {
			p = js_uescape(p, end, &nul);
			s->esc = 1;
		} else if (p[1] && strchr("\"\\/bfnrt", p[1])) {
			p += 2;
			s->esc = 1;
		} else {
			return NULL;
		}
		if (!p || (nul && key))
			return NULL;
	}
	s->n = (size_t)((const char *)p - s->p);
	return (const char *)p + 1;
}

/* ---- numbers ---------------------------------------------------------------------- */

const char *js_lex_number(const char *p, const char *end, int64_t *iv, enum js_num *kind)
{
	const char *digits;
	size_t ndigits;
	uint64_t mag = 0;
	long exp = 0;
	int neg = 0, eneg = 0, over = 0, real = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (!js_digit(p, end))
		return NULL;
	digits = p;
	if (*p == '0') {
		p++;
		if (js_digit(p, end)) /* no leading zeros */
			return NULL;
	}
	/* 18 digits stay below 10^18 < 2^63: no overflow check for them. */
	for (; p - digits < 18 && js_digit(p, end); p++)
		mag = mag * 10 + (unsigned)(*p - '0');
	for (; js_digit(p, end); p++) {
		unsigned d = (unsigned)(*p - '0');
		over |= mag > (JS_INT_NEG_MAX - d) / 10;
		mag = over ? mag : mag * 10 + d;
	}
	ndigits = (size_t)(p - digits);
	if (p < end && *p == '.') {
		if (!js_digit(++p, end))
			return NULL;
		while (js_digit(p, end))
			p++;
		real = 1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (!js_digit(p, end))
			return NULL;
		for (; js_digit(p, end); p++)
			exp = exp < JS_EXP_CLAMP ? exp * 10 + (*p - '0') : exp;
		real = 1;
	}
	if (real) {
		/* digits before the point bound the magnitude; a leading "0"
		 * counts as one, which only makes the bound looser */
		long long mag10 = (long long)ndigits + (eneg ? -exp : exp);
		if (mag10 > JS_REAL_MAG_MAX)
			return NULL;
		*kind = JS_NUM_REAL;
		return p;
	}
	if (over || mag > JS_INT_NEG_MAX - !neg)
		return NULL;
	*iv = neg ? (mag == JS_INT_NEG_MAX ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
	*kind = JS_NUM_INT;
	return p;
}

/* ---- decoding ---------------------------------------------------------------------- */

/* One unit of a validated string at *pp (a byte, or an escape with its low
 * surrogate) into out, as jansson decodes it; returns the bytes written. */
static size_t js_decode(const char **pp, char out[4])
{
	const unsigned char *p = (const unsigned char *)*pp;
	unsigned long cp;

	if (p[0] != '\\') {
		out[0] = (char)p[0];
		*pp += 1;
		return 1;
	}
	*pp += 2;
	switch (p[1]) {
	case 'b':
		out[0] = '\b';
		return 1;
	case 'f':
		out[0] = '\f';
		return 1;
	case 'n':
		out[0] = '\n';
		return 1;
	case 'r':
		out[0] = '\r';
		return 1;
	case 't':
		out[0] = '\t';
		return 1;
	case 'u':
		break;
	default: /* '"', '\\', '/' */
		out[0] = (char)p[1];
		return 1;
	}
	cp = (unsigned long)js_hex4(p + 2);
	*pp += 4;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned long)js_hex4(p + 8) - 0xdc00);
		*pp += JS_U_LEN;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int js_str_is_decoded(const struct js_str *s, const char *lit, size_t n)
{
	const char *p = s->p, *end = s->p + s->n;
	size_t i = 0;
	char c[4];

	while (p < end) {
		size_t k = js_decode(&p, c);
		if (k > n - i || memcmp(c, lit + i, k))
			return 0;
		i += k;
	}
	return i == n;
}

/* Append n bytes at *len, as far as cap allows; *len counts them all. */
static void js_put(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
	if (*len < cap)
		memcpy(buf + *len, p, n < cap - *len ? n : cap - *len);
	*len += n;
}

size_t js_unescape(const struct js_str *s, char *buf, size_t cap)
{
	const char *p = s->p, *end = s->p + s->n;
	size_t len = 0;
	char c[4];

	while (p < end) {
		const char *bs = s->esc ? memchr(p, '\\', (size_t)(end - p)) : NULL;
		size_t run = (size_t)((bs ? bs : end) - p);
		js_put(buf, cap, &len, p, run);
		p += run;
		if (p < end)
			js_put(buf, cap, &len, c, js_decode(&p, c));
	}
	return len;
}

int js_text(const struct js_str *s, char *buf, size_t cap, const char **p, size_t *n)
{
	if (!s->esc) {
		*p = s->p;
		*n = s->n;
		return 0;
	}
	*n = js_unescape(s, buf, cap);
	*p = buf;
	return *n <= cap ? 0 : -1;
}
