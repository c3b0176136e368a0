/*
 * jtpl.h — a JSON document kept as a template: its bytes, with holes at
 * some of its string tokens, to read the next document of a stream by
 * comparing rather than scanning.
 *
 * A provider's stream repeats itself: every chunk carries the same ids,
 * model, object names and structure around a token or two of text. A
 * document whose bytes equal the template's up to each hole, hold a whole
 * string token in the hole, and equal the template's again after it, is
 * the template's token sequence with other strings in the holes: JSON
 * tokens do not depend on what surrounds them, so the same keys, the same
 * structure and the same values everywhere else. A decoder that read the
 * template with a tree-less scan therefore reads such a document the same
 * way, as long as what it concluded depended on the holes' strings only
 * through what it now does with them again (deliver the text), or not at
 * all (a string it skipped unread). Each codec says which strings those
 * are; this file only compares and lexes.
 *
 * The holes' strings are lexed by js_lex_string with jscan's rules for
 * values, so a hole accepts exactly what js_string would have.
 */
#ifndef RINGSIDE_JTPL_H
#define RINGSIDE_JTPL_H

#include <stddef.h>

#include "jscan.h"

/* A document the template keeps, in bytes: a streamed chunk is ~100-400; a
 * longer one is simply never learnt. */
#define JTPL_MAX 768
/* Holes per template. */
#define JTPL_HOLES 4

struct jtpl {
	size_t len;                          /* bytes of doc; 0: empty */
	unsigned n;                          /* holes, ascending */
	size_t at[JTPL_HOLES], end[JTPL_HOLES]; /* opening quote .. past the closing one */
	char doc[JTPL_MAX];                  /* uninitialised past len */
};

/* Empty: matches nothing. Enough to initialise one (doc may stay garbage). */
static inline void jtpl_clear(struct jtpl *t)
{
	t->len = 0;
}

/* Keep doc[0..n) with holes at its string tokens [at[i], end[i]), given
 * in ascending order, not overlapping, each a whole string token of doc
 * (quotes included) as a scan found it. 0; or -1 when doc is too long or
 * there are too many holes, and t is left empty. */
int jtpl_learn(struct jtpl *t, const char *doc, size_t n, const size_t *at, const size_t *end,
	       unsigned holes);

/* Does data[0..n) match t? 1, with s[i] the string in hole i (as js_string
 * would give it: s->p after the opening quote, raw, esc set if escaped);
 * 0 otherwise, s unspecified. */
int jtpl_match(const struct jtpl *t, const char *data, size_t n, struct js_str *s);

#endif
