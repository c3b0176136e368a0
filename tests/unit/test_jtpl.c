/*
 * test_jtpl.c — the JSON template (sidecar/jtpl.c) on its own: what a
 * match requires (the fixed bytes, a whole token of the hole's kind in
 * each hole, nothing more or less), what it gives back (each hole's string,
 * pointing into the new document, or number), and what it refuses to
 * learn.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "sidecar/jtpl.h"

static struct jtpl jt;

/* Learn doc with holes at the tokens that start at the given offsets:
 * strings (ending at their closing quote) or numbers (their digits). */
static void jt_learn(const char *doc, const size_t *at, unsigned holes)
{
	struct jtpl_hole h[JTPL_HOLES + 1];
	for (unsigned i = 0; i < holes && i <= JTPL_HOLES; i++) {
		const char *p = doc + at[i];
		h[i].at = at[i];
		if (*p == '"') {
			h[i].kind = JTPL_STR;
			p = strchr(p + 1, '"');
			cr_assert_not_null(p);
			p++;
		} else {
			h[i].kind = JTPL_NUM;
			p += strspn(p, "-0123456789.eE+");
		}
		h[i].end = (size_t)(p - doc);
	}
	cr_assert_eq(jtpl_learn(&jt, doc, strlen(doc), h, holes), 0);
}

static int jt_match(const char *data, struct jtpl_val *s)
{
	return jtpl_match(&jt, data, strlen(data), s);
}

/* None of docs (a NULL-terminated list) matches. */
static void jt_none(const char *const *docs)
{
	struct jtpl_val s[JTPL_HOLES];
	for (size_t i = 0; docs[i]; i++)
		cr_assert_not(jt_match(docs[i], s), "matched: %s", docs[i]);
}

Test(jtpl, empty_matches_nothing)
{
	struct jtpl_val s[JTPL_HOLES];
	jtpl_clear(&jt);
	cr_assert_not(jtpl_match(&jt, "", 0, s));
	cr_assert_not(jt_match("{}", s));
}

Test(jtpl, no_holes_is_equality)
{
	struct jtpl_val s[JTPL_HOLES];
	jt_learn("{\"a\":1}", NULL, 0);
	cr_assert(jt_match("{\"a\":1}", s));
	cr_assert_not(jt_match("{\"a\":2}", s));
	cr_assert_not(jt_match("{\"a\":1} ", s));
	cr_assert_not(jt_match("{\"a\":1", s));
}

Test(jtpl, holes_give_the_new_strings)
{
	/*                  0123456789012345678 */
	const char *doc = "{\"k\":\"old\",\"z\":\"x\"}";
	const size_t at[] = { 5, 15 };
	struct jtpl_val s[JTPL_HOLES];
	jt_learn(doc, at, 2);
	const char *d = "{\"k\":\"new \\\"one\\\"\",\"z\":\"\"}";
	cr_assert(jt_match(d, s));
	cr_assert_eq(s[0].s.p, d + 6, "the string points into the new document");
	cr_assert_eq(s[0].s.n, strlen("new \\\"one\\\""));
	cr_assert(s[0].s.esc);
	cr_assert_eq(s[1].s.n, 0);
	cr_assert_not(s[1].s.esc);
	jt_none((const char *const[]){
		/* the fixed bytes between and after the holes must be there */
		"{\"k\":\"a\",\"y\":\"b\"}",
		"{\"k\":\"a\",\"z\":\"b\"} ",
		"{\"k\":\"a\",\"z\":\"b\"",
		/* a hole holds one whole, valid string token */
		"{\"k\":1,\"z\":\"b\"}",
		"{\"k\":\"a\",\"z\":\"b\",\"z\":\"c\"}",
		"{\"k\":\"\\q\",\"z\":\"b\"}",
		"{\"k\":\"\x01\",\"z\":\"b\"}",
		"{\"k\":\"\xc0\xaf\",\"z\":\"b\"}",
		"{\"k\":\"a",
		NULL,
	});
}

Test(jtpl, holes_at_the_edges)
{
	struct jtpl_val s[JTPL_HOLES];
	const size_t at0[] = { 0 };
	jt_learn("\"whole\"", at0, 1);
	cr_assert(jt_match("\"other\"", s));
	cr_assert_eq(s[0].s.n, 5);
	cr_assert_not(jt_match("\"other\" ", s));
	cr_assert_not(jt_match("other", s));
	const size_t at1[] = { 4 };
	jt_learn("[1, \"end\"]", at1, 1);
	cr_assert(jt_match("[1, \"\\u00e9\"]", s));
	cr_assert_not(jt_match("[1, \"e\"", s));
}

Test(jtpl, number_holes)
{
	struct jtpl_val s[JTPL_HOLES];
	/*                  0123456789012345678901 */
	const char *doc = "{\"n\":7,\"m\":[-2],\"t\":\"x\"}";
	const size_t at[] = { 5, 12, 20 };
	jt_learn(doc, at, 3);
	cr_assert(jt_match("{\"n\":123456,\"m\":[0],\"t\":\"\"}", s));
	cr_assert_eq(s[0].num, JS_NUM_INT);
	cr_assert_eq(s[0].iv, 123456);
	cr_assert_eq(s[1].iv, 0);
	cr_assert(jt_match("{\"n\":-1.5e3,\"m\":[9223372036854775807],\"t\":\"y\"}", s));
	cr_assert_eq(s[0].num, JS_NUM_REAL);
	cr_assert_eq(s[1].iv, INT64_MAX);
	jt_none((const char *const[]){
		/* a number jscan refuses, or no number at all */
		"{\"n\":01,\"m\":[1],\"t\":\"y\"}",
		"{\"n\":1.,\"m\":[1],\"t\":\"y\"}",
		"{\"n\":9223372036854775808,\"m\":[1],\"t\":\"y\"}",
		"{\"n\":-,\"m\":[1],\"t\":\"y\"}",
		"{\"n\":\"7\",\"m\":[1],\"t\":\"y\"}",
		"{\"n\":null,\"m\":[1],\"t\":\"y\"}",
		/* the fixed bytes after a number must follow it at once */
		"{\"n\":7 ,\"m\":[1],\"t\":\"y\"}",
		"{\"n\":7,\"m\":[1,2],\"t\":\"y\"}",
		"{\"n\":7,\"m\":[1",
		NULL,
	});
}

Test(jtpl, refuses_what_it_cannot_keep)
{
	static char big[JTPL_MAX + 2];
	struct jtpl_val s[JTPL_HOLES];
	struct jtpl_hole h[JTPL_HOLES + 1] = { { 0, 2, JTPL_STR } };
	memset(big, ' ', sizeof big - 1);
	big[0] = big[1] = '"';
	cr_assert_eq(jtpl_learn(&jt, big, JTPL_MAX + 1, h, 1), -1);
	cr_assert_not(jtpl_match(&jt, big, JTPL_MAX + 1, s), "a refused learn leaves it empty");
	cr_assert_eq(jtpl_learn(&jt, big, JTPL_MAX, h, 1), 0);
	cr_assert(jtpl_match(&jt, big, JTPL_MAX, s));
	cr_assert_eq(jtpl_learn(&jt, "\"\"", 2, h, JTPL_HOLES + 1), -1);
	cr_assert_not(jtpl_match(&jt, "\"\"", 2, s));
}
