/*
 * jscan.c — the tree-less JSON scanner's walk over a document (see
 * jscan.h); its tokens, strings and numbers, are jscan_lex.c's.
 *
 * One pointer walks the buffer once. Containers are tracked as a depth and
 * a bit per level (object or array), which is all js_skip needs to walk any
 * value without recursion, and all js_member/js_element need to check that
 * the caller closes what it opened.
 */
#include "jscan.h"

#include <string.h>

#include "jscan_lex.h"

static int js_fail(struct js *j)
{
	j->bad = 1;
	return -1;
}

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

/* ---- containers ------------------------------------------------------------------- */

static int js_push(struct js *j, int obj)
{
	uint64_t bit;

	if (j->depth == JS_MAX_DEPTH)
		return js_fail(j);
	bit = (uint64_t)1 << j->depth;
	j->objs = obj ? j->objs | bit : j->objs & ~bit;
	j->depth++;
	j->fresh = 1;
	return 0;
}

static int js_in_object(const struct js *j)
{
	return j->depth && (j->objs >> (j->depth - 1) & 1);
}

/* ---- tokens ----------------------------------------------------------------------- */

/* The string whose opening quote is at j->p. */
static int js_scan_str(struct js *j, struct js_str *s, int key)
{
	const char *p = js_lex_string(j->p, j->end, s, key);

	if (!p)
		return js_fail(j);
	j->p = p;
	return 0;
}

static enum js_num js_scan_num(struct js *j, int64_t *iv)
{
	enum js_num kind;
	const char *p = js_lex_number(j->p, j->end, iv, &kind);

	if (!p)
		return (enum js_num)js_fail(j);
	j->p = p;
	return kind;
}

/* A key and its colon. */
static int js_key(struct js *j, struct js_str *key)
{
	js_ws(j);
	if (j->p == j->end || *j->p != '"' || js_scan_str(j, key, 1))
		return js_fail(j);
	js_ws(j);
	if (j->p == j->end || *j->p != ':')
		return js_fail(j);
	j->p++;
	return 0;
}

static int js_lit(struct js *j, const char *lit, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return js_fail(j);
	j->p += n;
	return 0;
}

/* One scalar at j->p (whitespace skipped): a string, number or literal. */
static int js_scalar(struct js *j)
{
	struct js_str s;
	int64_t iv;

	switch (*j->p) {
	case '"':
		return js_scan_str(j, &s, 0);
	case 't':
		return js_lit(j, "true", 4);
	case 'f':
		return js_lit(j, "false", 5);
	case 'n':
		return js_lit(j, "null", 4);
	default:
		return js_scan_num(j, &iv) == JS_NUM_BAD ? -1 : 0;
	}
}

/* ---- the public calls -------------------------------------------------------------- */

void js_init(struct js *j, const char *p, size_t n)
{
	memset(j, 0, sizeof *j);
	j->p = p;
	j->end = p + n;
}

enum js_type js_peek(struct js *j)
{
	if (j->bad)
		return JS_BAD;
	js_ws(j);
	if (j->p == j->end)
		return JS_BAD;
	switch (*j->p) {
	case '{':
		return JS_OBJECT;
	case '[':
		return JS_ARRAY;
	case '"':
		return JS_STRING;
	case 't':
		return JS_TRUE;
	case 'f':
		return JS_FALSE;
	case 'n':
		return JS_NULL;
	default:
		return *j->p == '-' || (*j->p >= '0' && *j->p <= '9') ? JS_NUMBER : JS_BAD;
	}
}

/*
 * Any value, iteratively: the outer loop expects a value, the inner one
 * has just finished one and closes containers until a comma asks for the
 * next value or the depth is back where it started.
 */
int js_skip(struct js *j)
{
	unsigned base = j->depth;
	struct js_str key;

	if (j->bad)
		return -1;
	for (;;) {
		js_ws(j);
		if (j->p == j->end)
			return js_fail(j);
		if (*j->p == '{' || *j->p == '[') {
			char close = *j->p == '{' ? '}' : ']';
			if (js_push(j, close == '}'))
				return -1;
			j->p++;
			js_ws(j);
			if (j->p == j->end || *j->p != close) {
				if (close == '}' && js_key(j, &key))
					return -1;
				continue;
			}
			j->p++;
			j->depth--;
		} else if (js_scalar(j)) {
			return -1;
		}
		for (;;) {
			if (j->depth == base) {
				j->fresh = 0;
				return 0;
			}
			js_ws(j);
			if (j->p == j->end)
				return js_fail(j);
			char c = *j->p++;
			if (c == ',') {
				if (js_in_object(j) && js_key(j, &key))
					return -1;
				break;
			}
			if (c != (js_in_object(j) ? '}' : ']'))
				return js_fail(j);
			j->depth--;
		}
	}
}

int js_string(struct js *j, struct js_str *s)
{
	if (j->bad)
		return -1;
	js_ws(j);
	if (j->p == j->end || *j->p != '"')
		return js_fail(j);
	return js_scan_str(j, s, 0);
}

enum js_num js_number(struct js *j, int64_t *iv)
{
	if (js_peek(j) != JS_NUMBER)
		return (enum js_num)js_fail(j);
	return js_scan_num(j, iv);
}

static int js_open(struct js *j, char c)
{
	if (j->bad)
		return -1;
	js_ws(j);
	if (j->p == j->end || *j->p != c || js_push(j, c == '{'))
		return js_fail(j);
	j->p++;
	return 0;
}

int js_object(struct js *j)
{
	return js_open(j, '{');
}

int js_array(struct js *j)
{
	return js_open(j, '[');
}

/* The next member or element of the innermost container, or its end. */
static int js_next(struct js *j, int obj, struct js_str *key)
{
	if (j->bad || !j->depth || js_in_object(j) != obj)
		return js_fail(j);
	js_ws(j);
	if (j->p == j->end)
		return js_fail(j);
	if (*j->p == (obj ? '}' : ']')) {
		j->p++;
		j->depth--;
		j->fresh = 0;
		return 0;
	}
	if (!j->fresh && *j->p++ != ',')
		return js_fail(j);
	j->fresh = 0;
	return obj && js_key(j, key) ? -1 : 1;
}

int js_member(struct js *j, struct js_str *key)
{
	return js_next(j, 1, key);
}

int js_element(struct js *j)
{
	return js_next(j, 0, NULL);
}

int js_end(struct js *j)
{
	if (j->bad || j->depth)
		return js_fail(j);
	js_ws(j);
	return j->p == j->end ? 0 : js_fail(j);
}

