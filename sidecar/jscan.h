/*
 * jscan.h — a strict, validating JSON scanner over a (pointer, length)
 * buffer that builds no tree: the caller walks the document member by
 * member and says, for each value, whether it wants it read or skipped.
 *
 * Why: a streamed reply is a few hundred chunks of a few hundred bytes, and
 * building a jansson tree for each one to read two fields cost about a third
 * of the sidecar's CPU per request. Decoders use this for the shapes they
 * know and fall back to jansson for anything else (codec_openai_fast.c).
 *
 * What it accepts is a subset of what jansson's json_loadb(JSON_ALLOW_NUL
 * | JSON_DECODE_ANY) accepts, so a document it passes is one the fallback
 * would have parsed (without JSON_DECODE_ANY jansson also wants an object
 * or an array at the top, which the caller checks with js_object/js_array):
 * RFC 8259's grammar, strict UTF-8 everywhere (no overlongs, surrogates or
 * code points past U+10FFFF), no unescaped control characters in strings,
 * \u escapes with surrogates in pairs only, \u0000 in values but not in
 * keys, integers within int64 and no real that could overflow a double.
 * Where the two differ this side is the stricter: nesting stops at
 * JS_MAX_DEPTH (jansson's is 2048), and reals whose magnitude might reach
 * 1e308 are refused though jansson takes them up to DBL_MAX (1.8e308).
 *
 * jscan.c walks the document, jscan_lex.c lexes its strings and numbers.
 *
 * Use: js_init, then the value calls below. Every call needs the previous
 * one to have succeeded; after any failure the scanner stays failed and
 * every later call fails too, so a caller may check only at the end of a
 * block of calls. Nothing allocates; nothing recurses.
 */
#ifndef RINGSIDE_JSCAN_H
#define RINGSIDE_JSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Containers open at once. The bit stack below has one bit per level, so
 * this is its width too; real replies nest 5 or 6 deep. */
#define JS_MAX_DEPTH 64

struct js {
	const char *p;       /* next byte */
	const char *end;     /* one past the last byte */
	uint64_t objs;       /* bit d: level d is an object (else an array) */
	unsigned depth;      /* containers open */
	unsigned char fresh; /* the innermost container has no member yet */
	unsigned char bad;   /* a call failed: every later one fails */
};

/* A string as sent: the bytes between its quotes, escapes undecoded. The
 * scanner has validated it, so js_str_is and js_unescape may trust it. */
struct js_str {
	const char *p;
	size_t n;
	unsigned char esc; /* holds at least one backslash escape */
};

/* What the next value is, by its first byte. */
enum js_type {
	JS_BAD = 0, /* no value starts here (or the scanner failed) */
	JS_OBJECT,
	JS_ARRAY,
	JS_STRING,
	JS_NUMBER,
	JS_TRUE,
	JS_FALSE,
	JS_NULL,
};

/* js_number's answer: numbers keep jansson's integer/real distinction. */
enum js_num {
	JS_NUM_BAD = -1, /* not a number, or one jansson would refuse */
	JS_NUM_INT = 1,  /* no fraction, no exponent: *iv holds it */
	JS_NUM_REAL = 2, /* a fraction or an exponent: validated, not converted */
};

void js_init(struct js *j, const char *p, size_t n);

/* The type of the next value, after skipping whitespace; consumes nothing. */
enum js_type js_peek(struct js *j);

/* Consume and validate the next value, whatever it is. 0 or -1. */
int js_skip(struct js *j);

/* The next value must be a string: consume it into *s. 0 or -1. */
int js_string(struct js *j, struct js_str *s);

/* The next value must be a number: consume it, and if it is an integer
 * store it in *iv. */
enum js_num js_number(struct js *j, int64_t *iv);

/* The next value must be an object (array): enter it. 0 or -1. */
int js_object(struct js *j);
int js_array(struct js *j);

/* Inside an object: 1 with the next member's key in *key (the caller then
 * consumes exactly one value, its value), 0 when the object closed, -1 on
 * malformed input. */
int js_member(struct js *j, struct js_str *key);

/* Inside an array: 1 when an element follows (the caller consumes it), 0
 * when the array closed, -1 on malformed input. */
int js_element(struct js *j);

/* The document is complete: every container closed and nothing but
 * whitespace left. 0 or -1. */
int js_end(struct js *j);

/* js_str_is for a string with escapes: decoded on the fly, so
 * "\u0063hoices" is "choices" as jansson sees it. */
int js_str_is_decoded(const struct js_str *s, const char *lit, size_t n);

/* Does the string decode to exactly the n bytes of lit? Inline because a
 * decoder compares every key it meets with a few literals, and keys almost
 * never hold escapes. */
static inline int js_str_is(const struct js_str *s, const char *lit, size_t n)
{
	if (s->esc)
		return js_str_is_decoded(s, lit, n);
	return s->n == n && !memcmp(s->p, lit, n);
}

/* Decode s (escapes to bytes, \u to UTF-8) into buf, writing at most cap
 * bytes; returns the whole decoded length, which may exceed cap. */
size_t js_unescape(const struct js_str *s, char *buf, size_t cap);

/* s's text for a decoder to deliver: its own bytes when it holds no
 * escape, else decoded into buf. 0, or -1 when the decoded text needs more
 * than cap bytes (the caller then declines). */
int js_text(const struct js_str *s, char *buf, size_t cap, const char **p, size_t *n);

#endif
