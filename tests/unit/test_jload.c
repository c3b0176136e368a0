/*
 * test_jload.c — jload builds json_loadb's tree or declines: over every
 * recorded event and JSON fixture, seeded mutations of them, and corners
 * (duplicates, \u0000, scalars at the top, nesting past jscan's depth,
 * long reals, escaped and long keys and strings), under each set of flags
 * the sidecar uses. A tree it builds must equal jansson's in values, types
 * (integer or real) and key order; a text jansson refuses it must decline.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmut.h"
#include "sidecar/jdump.h"
#include "sidecar/jload.h"
#include "sidecar/jscan.h"

static const size_t jl_flag_sets[] = {
	0,
	JSON_REJECT_DUPLICATES,
	JSON_ALLOW_NUL | JSON_DECODE_ANY,
	JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
};
#define JL_NFLAGS (sizeof jl_flag_sets / sizeof jl_flag_sets[0])

/* Under flags: -1 jansson refused (and jload declined), 0 jload declined
 * what jansson took, 1 both built the same tree. */
static int jl_check(const char *s, size_t n, size_t flags, const char *what)
{
	json_error_t e;
	json_t *theirs = json_loadb(s, n, flags, &e);
	json_t *ours = jload(s, n, flags);
	if (!theirs) {
		cr_assert_null(ours, "%s (flags %#zx): jload took what jansson refuses (%s): %.*s",
			       what, flags, e.text, (int)n, s);
		return -1;
	}
	if (!ours) {
		json_decref(theirs);
		return 0;
	}
	cr_assert(json_equal(ours, theirs), "%s (flags %#zx): trees differ: %.*s", what, flags,
		  (int)n, s);
	char *a = jdump(ours, NULL), *b = jdump(theirs, NULL);
	cr_assert(a && b && !strcmp(a, b), "%s (flags %#zx):\n jload %s\n jansson %s", what, flags,
		  a, b);
	free(a);
	free(b);
	json_decref(ours);
	json_decref(theirs);
	return 1;
}

/* Every flag set; counts what jload built and what jansson parsed. */
static void jl_all(const char *s, size_t n, const char *what, size_t *built, size_t *parsed)
{
	for (size_t f = 0; f < JL_NFLAGS; f++) {
		int r = jl_check(s, n, jl_flag_sets[f], what);
		*built += r == 1;
		*parsed += r >= 0;
	}
}

Test(jload, builds_jansson_trees_for_fixture_events_and_mutations)
{
	static char mut[JM_MAX];
	size_t built = 0, parsed = 0, mbuilt = 0, mparsed = 0;
	unsigned seed = 11;

	for (size_t f = 0; f < jm_nstreams; f++) {
		struct jm_lines l;
		jm_lines(jm_streams[f], &l);
		for (size_t i = 0; i < l.count; i++) {
			jl_all(l.p[i], l.n[i], jm_streams[f], &built, &parsed);
			for (int k = 0; k < 30; k++) {
				size_t m = jm_mutate(l.p[i], l.n[i], mut, &seed);
				jl_all(mut, m, "mutation", &mbuilt, &mparsed);
			}
		}
		jm_lines_free(&l);
	}
	/* Every recorded event is within jscan's subset. */
	cr_assert_eq(built, parsed, "jload declined %zu of %zu fixture events", parsed - built,
		     parsed);
	cr_assert_gt(built, 800);
	cr_assert_gt(mbuilt, 2000, "only %zu mutations built (%zu parsed)", mbuilt, mparsed);
}

static void jl_fixture(const char *name, const char *text, size_t len, void *arg)
{
	size_t *counts = arg;
	jl_all(text, len, name, &counts[0], &counts[1]);
}

Test(jload, builds_jansson_trees_for_every_json_fixture)
{
	size_t counts[2] = { 0, 0 }; /* built, parsed */
	cr_assert_gt(jm_json_fixtures(jl_fixture, counts), 10);
	cr_assert_eq(counts[0], counts[1], "jload declined %zu of %zu", counts[1] - counts[0],
		     counts[1]);
}

/* What jload does with s under flags: 1 built (as jansson), 0 declined
 * though jansson took it, -1 both refused. */
static int jl_one(const char *s, size_t flags)
{
	return jl_check(s, strlen(s), flags, s);
}

Test(jload, corners)
{
	/* the request shapes chatreq sees */
	cr_assert_eq(jl_one("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
			    "\"stream\":true,\"temperature\":0.7,\"max_tokens\":100,\"top_p\":1,"
			    "\"stop\":[\"\\n\"],\"n\":1,\"user\":\"\\u00e9\\ud83d\\ude00\"}",
			    JSON_REJECT_DUPLICATES), 1);
	cr_assert_eq(jl_one(" \t\r\n{}\n ", JSON_REJECT_DUPLICATES), 1);
	cr_assert_eq(jl_one("[]", 0), 1);
	/* duplicates: last value in the first place, or refused */
	cr_assert_eq(jl_one("{\"a\":1,\"b\":2,\"a\":3}", 0), 1);
	cr_assert_eq(jl_one("{\"a\":1,\"b\":2,\"a\":3}", JSON_REJECT_DUPLICATES), -1);
	cr_assert_eq(jl_one("{\"a\":1,\"\\u0061\":2}", JSON_REJECT_DUPLICATES), -1);
	cr_assert_eq(jl_one("[{\"a\":1},{\"a\":2}]", JSON_REJECT_DUPLICATES), 1);
	/* \u0000: in values only with JSON_ALLOW_NUL, never in keys */
	cr_assert_eq(jl_one("[\"a\\u0000b\"]", 0), -1);
	cr_assert_eq(jl_one("[\"a\\u0000b\"]", JSON_ALLOW_NUL), 1);
	cr_assert_eq(jl_one("{\"a\\u0000\":1}", JSON_ALLOW_NUL), -1);
	/* scalars at the top only with JSON_DECODE_ANY */
	cr_assert_eq(jl_one("5", 0), -1);
	cr_assert_eq(jl_one("5", JSON_DECODE_ANY), 1);
	cr_assert_eq(jl_one("\"s\"", JSON_DECODE_ANY), 1);
	cr_assert_eq(jl_one("null", JSON_DECODE_ANY), 1);
	cr_assert_eq(jl_one("-0", JSON_DECODE_ANY), 1);
	cr_assert_eq(jl_one("-0.0", JSON_DECODE_ANY), 1);
	cr_assert_eq(jl_one("[1.0,1,1e2,1E-2,-9223372036854775808,9223372036854775807]", 0), 1);
	cr_assert_eq(jl_one("[9223372036854775808]", 0), -1);
	cr_assert_eq(jl_one("[1e-400,5e-324,2.2250738585072014e-308]", 0), 1);
	/* trailing bytes, cut documents, bad input: refused by both */
	cr_assert_eq(jl_one("{} x", 0), -1);
	cr_assert_eq(jl_one("{\"a\":", 0), -1);
	cr_assert_eq(jl_one("", 0), -1);
	cr_assert_eq(jl_one("[01]", 0), -1);
	cr_assert_eq(jl_one("[\"\\ud800\"]", 0), -1);
	cr_assert_eq(jl_one("[\"\xc0\x80\"]", 0), -1);
	cr_assert_null(jload(NULL, 0, 0));
	/* an unknown flag is declined, not guessed at */
	cr_assert_null(jload("{}", 2, JSON_DISABLE_EOF_CHECK));
}

Test(jload, declines_past_jscan_and_builds_long_text)
{
	/* deeper than jscan goes: declined, jansson parses it */
	char deep[2 * (JS_MAX_DEPTH + 1) + 1];
	for (int i = 0; i <= JS_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * (JS_MAX_DEPTH + 1) - 1 - i] = ']';
	}
	deep[2 * (JS_MAX_DEPTH + 1)] = 0;
	cr_assert_eq(jl_one(deep, 0), 0);
	deep[JS_MAX_DEPTH] = ' ';
	deep[JS_MAX_DEPTH + 1] = ' ';
	cr_assert_eq(jl_one(deep, 0), 1, "%d deep", JS_MAX_DEPTH);

	/* a real longer than JL_REAL_MAX characters: declined */
	char real[JL_REAL_MAX + 16] = "[0.";
	memset(real + 3, '1', JL_REAL_MAX);
	strcpy(real + 3 + JL_REAL_MAX, "]");
	cr_assert_eq(jl_one(real, 0), 0);

	/* strings and keys past the stack buffer, with escapes */
	size_t n = 5000;
	char *s = malloc(3 * n + 64), *p = s;
	p += sprintf(p, "{\"");
	for (size_t i = 0; i < n / 10; i++)
		p += sprintf(p, "k\\n\\u00e9");
	p += sprintf(p, "\":\"");
	for (size_t i = 0; i < n / 10; i++)
		p += sprintf(p, "v\\t\\\"\\ud83d\\ude00");
	p += sprintf(p, "\"}");
	cr_assert_eq(jl_one(s, JSON_REJECT_DUPLICATES), 1);
	free(s);
}
