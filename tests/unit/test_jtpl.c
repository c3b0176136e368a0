/*
 * test_jtpl.c — the JSON template (sidecar/jtpl.c) on its own: what a
 * match requires (the fixed bytes, whole string tokens in the holes,
 * nothing more or less), what it gives back (each hole's string, pointing
 * into the new document), and what it refuses to learn.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "sidecar/jtpl.h"

static struct jtpl jt;

/* Learn doc with holes at the string tokens that start at the given
 * offsets (each ends at its closing quote). */
static void jt_learn(const char *doc, const size_t *at, unsigned holes)
{
	size_t end[JTPL_HOLES + 1];
	for (unsigned i = 0; i < holes && i <= JTPL_HOLES; i++) {
		const char *q = strchr(doc + at[i] + 1, '"');
		cr_assert_not_null(q);
		end[i] = (size_t)(q + 1 - doc);
	}
	cr_assert_eq(jtpl_learn(&jt, doc, strlen(doc), at, end, holes), 0);
}

static int jt_match(const char *data, struct js_str *s)
{
	return jtpl_match(&jt, data, strlen(data), s);
}

Test(jtpl, empty_matches_nothing)
{
	struct js_str s[JTPL_HOLES];
	jtpl_clear(&jt);
	cr_assert_not(jtpl_match(&jt, "", 0, s));
	cr_assert_not(jt_match("{}", s));
}

Test(jtpl, no_holes_is_equality)
{
	struct js_str s[JTPL_HOLES];
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
	struct js_str s[JTPL_HOLES];
	jt_learn(doc, at, 2);
	const char *d = "{\"k\":\"new \\\"one\\\"\",\"z\":\"\"}";
	cr_assert(jt_match(d, s));
	cr_assert_eq(s[0].p, d + 6, "the string points into the new document");
	cr_assert_eq(s[0].n, strlen("new \\\"one\\\""));
	cr_assert(s[0].esc);
	cr_assert_eq(s[1].n, 0);
	cr_assert_not(s[1].esc);
	/* the fixed bytes between and after the holes must be there */
	cr_assert_not(jt_match("{\"k\":\"a\",\"y\":\"b\"}", s));
	cr_assert_not(jt_match("{\"k\":\"a\",\"z\":\"b\"} ", s));
	cr_assert_not(jt_match("{\"k\":\"a\",\"z\":\"b\"", s));
	/* a hole holds one whole, valid string token */
	cr_assert_not(jt_match("{\"k\":1,\"z\":\"b\"}", s));
	cr_assert_not(jt_match("{\"k\":\"a\",\"z\":\"b\",\"z\":\"c\"}", s));
	cr_assert_not(jt_match("{\"k\":\"\\q\",\"z\":\"b\"}", s));
	cr_assert_not(jt_match("{\"k\":\"\x01\",\"z\":\"b\"}", s));
	cr_assert_not(jt_match("{\"k\":\"\xc0\xaf\",\"z\":\"b\"}", s));
	cr_assert_not(jt_match("{\"k\":\"a", s));
}

Test(jtpl, holes_at_the_edges)
{
	struct js_str s[JTPL_HOLES];
	const size_t at0[] = { 0 };
	jt_learn("\"whole\"", at0, 1);
	cr_assert(jt_match("\"other\"", s));
	cr_assert_eq(s[0].n, 5);
	cr_assert_not(jt_match("\"other\" ", s));
	cr_assert_not(jt_match("other", s));
	const size_t at1[] = { 4 };
	jt_learn("[1, \"end\"]", at1, 1);
	cr_assert(jt_match("[1, \"\\u00e9\"]", s));
	cr_assert_not(jt_match("[1, \"e\"", s));
}

Test(jtpl, refuses_what_it_cannot_keep)
{
	static char big[JTPL_MAX + 2];
	struct js_str s[JTPL_HOLES];
	size_t at[JTPL_HOLES + 1] = { 0 }, end[JTPL_HOLES + 1] = { 2 };
	memset(big, ' ', sizeof big - 1);
	big[0] = big[1] = '"';
	cr_assert_eq(jtpl_learn(&jt, big, JTPL_MAX + 1, at, end, 1), -1);
	cr_assert_not(jtpl_match(&jt, big, JTPL_MAX + 1, s), "a refused learn leaves it empty");
	cr_assert_eq(jtpl_learn(&jt, big, JTPL_MAX, at, end, 1), 0);
	cr_assert(jtpl_match(&jt, big, JTPL_MAX, s));
	cr_assert_eq(jtpl_learn(&jt, "\"\"", 2, at, end, JTPL_HOLES + 1), -1);
	cr_assert_not(jtpl_match(&jt, "\"\"", 2, s));
}
