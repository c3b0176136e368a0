/*
 * jtpl.h — a JSON document kept as a template: its bytes, with holes at
 * some of its string tokens, to read the next document of a stream by
 * comparing rather than scanning.
 *
 * A provider's stream repeats itself: every chunk carries the same ids,
 * model, object names and structure around a token or two of text and a
 * running token count. A document whose bytes equal the template's up to
 * each hole, hold a whole token of the hole's kind (a string, a number) in
 * the hole, and equal the template's again after it, is the template's
 * token sequence with other values in the holes: JSON tokens do not depend
 * on what surrounds them, so the same keys, the same structure and the
 * same values everywhere else. A decoder that read the template with a
 * tree-less scan therefore reads such a document the same way, as long as
 * what it concluded depended on the holes' values only through what it now
 * does with them again (deliver the text, check and keep the count), or not
 * at all (a value it skipped unread). Each codec says which values those
 * are; this file only compares and lexes.
 *
 * Holes are lexed by jscan's own lexer with its rules for values
 * (js_lex_string, js_lex_number), so a hole accepts exactly what js_string
 * or js_skip would have there.
 */
#ifndef RINGSIDE_JTPL_H
#define RINGSIDE_JTPL_H

#include <stddef.h>

#include "jscan.h"

/* A document the template keeps, in bytes: a streamed chunk is ~100-400; a
 * longer one is simply never learnt. */
#define JTPL_MAX 768
/* Holes per template. */
#define JTPL_HOLES 8

enum jtpl_kind {
	JTPL_STR, /* a string token */
	JTPL_NUM, /* a number token */
};

/* A hole: the token's first byte (the opening quote, the sign or first
 * digit) to one past its last (past the closing quote, the last digit). */
struct jtpl_hole {
	size_t at, end;
	enum jtpl_kind kind;
};

/* What a matched document holds in a hole. */
struct jtpl_val {
	struct js_str s;   /* JTPL_STR: as js_string gives it (raw, into the document) */
	enum js_num num;   /* JTPL_NUM: JS_NUM_INT (iv set) or JS_NUM_REAL */
	int64_t iv;
};

struct jtpl {
	size_t len;                      /* bytes of doc; 0: empty */
	unsigned n;                      /* holes, ascending */
	struct jtpl_hole h[JTPL_HOLES];
	char doc[JTPL_MAX];              /* uninitialised past len */
};

/* Empty: matches nothing. Enough to initialise one (doc may stay garbage). */
static inline void jtpl_clear(struct jtpl *t)
{
	t->len = 0;
}

/* Keep doc[0..n) with holes h[0..holes), given in ascending order, not
 * overlapping, each a whole token of its kind in doc as a scan found it.
 * 0; or -1 when doc is too long or there are too many holes, and t is
 * left empty. */
int jtpl_learn(struct jtpl *t, const char *doc, size_t n, const struct jtpl_hole *h,
	       unsigned holes);

/* Does data[0..n) match t? 1, with v[i] what hole i holds; 0 otherwise,
 * v unspecified. */
int jtpl_match(const struct jtpl *t, const char *data, size_t n, struct jtpl_val *v);

#endif
