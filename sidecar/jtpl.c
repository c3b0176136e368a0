/*
 * jtpl.c — matching a document against a template (see jtpl.h): the fixed
 * bytes with memcmp, each hole with the string lexer.
 */
#include "jtpl.h"

#include <string.h>

#include "jscan_lex.h"

int jtpl_learn(struct jtpl *t, const char *doc, size_t n, const size_t *at, const size_t *end,
	       unsigned holes)
{
	t->len = 0;
	if (n > sizeof t->doc || holes > JTPL_HOLES)
		return -1;
	for (unsigned i = 0; i < holes; i++) {
		t->at[i] = at[i];
		t->end[i] = end[i];
	}
	t->n = holes;
	memcpy(t->doc, doc, n);
	t->len = n;
	return 0;
}

int jtpl_match(const struct jtpl *t, const char *data, size_t n, struct js_str *s)
{
	const char *p = data, *end = data + n;
	size_t at = 0;

	if (!t->len)
		return 0;
	for (unsigned i = 0; i < t->n; i++) {
		size_t fixed = t->at[i] - at;
		/* the fixed bytes, then the hole's opening quote */
		if ((size_t)(end - p) <= fixed || memcmp(p, t->doc + at, fixed) || p[fixed] != '"')
			return 0;
		p = js_lex_string(p + fixed, end, &s[i], 0);
		if (!p)
			return 0;
		at = t->end[i];
	}
	return (size_t)(end - p) == t->len - at && !memcmp(p, t->doc + at, t->len - at);
}
