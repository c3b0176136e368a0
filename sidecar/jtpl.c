/*
 * jtpl.c — matching a document against a template (see jtpl.h): the fixed
 * bytes with memcmp, each hole with jscan's lexer.
 */
#include "jtpl.h"

#include <string.h>

#include "jscan_lex.h"

int jtpl_learn(struct jtpl *t, const char *doc, size_t n, const struct jtpl_hole *h,
	       unsigned holes)
{
	t->len = 0;
	if (n > sizeof t->doc || holes > JTPL_HOLES)
		return -1;
	memcpy(t->h, h, holes * sizeof *h);
	t->n = holes;
	memcpy(t->doc, doc, n);
	t->len = n;
	return 0;
}

/* The token of kind k at p: past it with *v filled, or NULL. */
static const char *jtpl_token(const char *p, const char *end, enum jtpl_kind k,
			      struct jtpl_val *v)
{
	if (k == JTPL_STR)
		return *p == '"' ? js_lex_string(p, end, &v->s, 0) : NULL;
	p = js_lex_number(p, end, &v->iv, &v->num);
	return p && v->num != JS_NUM_BAD ? p : NULL;
}

int jtpl_match(const struct jtpl *t, const char *data, size_t n, struct jtpl_val *v)
{
	const char *p = data, *end = data + n;
	size_t at = 0;

	if (!t->len)
		return 0;
	for (unsigned i = 0; i < t->n; i++) {
		size_t fixed = t->h[i].at - at;
		/* the fixed bytes, then at least one byte of the token */
		if ((size_t)(end - p) <= fixed || memcmp(p, t->doc + at, fixed))
			return 0;
		p = jtpl_token(p + fixed, end, t->h[i].kind, &v[i]);
		if (!p)
			return 0;
		at = t->h[i].end;
	}
	return (size_t)(end - p) == t->len - at && !memcmp(p, t->doc + at, t->len - at);
}
