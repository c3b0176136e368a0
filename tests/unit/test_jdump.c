/*
 * test_jdump.c — jdump writes exactly what json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY) writes: over every recorded event and JSON fixture,
 * over seeded mutations of them that jansson still parses, over
 * hand-made corners (escapes, NULs, UTF-8 at its limits, reals, integer
 * extremes, empty and deep containers, odd keys), and it fails where
 * json_dumps fails (invalid UTF-8, a cycle, NULL).
 */
#include <criterion/criterion.h>
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jmut.h"
#include "sidecar/jdump.h"

#define JD_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* jdump(v) and json_dumps(v) agree: both fail, or both give the same bytes. */
static void jd_same(const json_t *v, const char *what)
{
	size_t n = 12345;
	char *ours = jdump(v, &n);
	char *theirs = json_dumps(v, JD_FLAGS);
	if (!theirs) {
		cr_assert_null(ours, "%s: jdump gave %s where json_dumps failed", what, ours);
		return;
	}
	cr_assert_not_null(ours, "%s: jdump failed where json_dumps gave %s", what, theirs);
	cr_assert_eq(n, strlen(theirs), "%s: length %zu, json_dumps %zu", what, n, strlen(theirs));
	cr_assert(!memcmp(ours, theirs, n + 1), "%s:\n jdump      %s\n json_dumps %s", what, ours,
		  theirs);
	free(ours);
	free(theirs);
}

/* Parse s (any value at the top, NULs allowed) and compare the dumps;
 * returns whether jansson parsed it. */
static int jd_same_text(const char *s, size_t n, const char *what)
{
	json_error_t e;
	json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!v)
		return 0;
	jd_same(v, what);
	json_decref(v);
	return 1;
}

Test(jdump, matches_json_dumps_on_every_fixture_event_and_mutations_of_them)
{
	static char mut[JM_MAX];
	size_t parsed = 0, mutated = 0;
	unsigned seed = 7;

	for (size_t f = 0; f < jm_nstreams; f++) {
		struct jm_lines l;
		jm_lines(jm_streams[f], &l);
		for (size_t i = 0; i < l.count; i++) {
			parsed += (size_t)jd_same_text(l.p[i], l.n[i], jm_streams[f]);
			for (int k = 0; k < 40; k++) {
				size_t m = jm_mutate(l.p[i], l.n[i], mut, &seed);
				mutated += (size_t)jd_same_text(mut, m, "mutation");
			}
		}
		jm_lines_free(&l);
	}
	cr_assert_gt(parsed, 200, "only %zu fixture events parsed", parsed);
	/* Mutations that jansson still takes: escapes, UTF-8, numbers, keys. */
	cr_assert_gt(mutated, 1000, "only %zu mutations parsed", mutated);
}

static void jd_fixture(const char *name, const char *text, size_t len, void *arg)
{
	(void)arg;
	cr_assert(jd_same_text(text, len, name), "%s does not parse", name);
}

Test(jdump, matches_json_dumps_on_every_json_fixture)
{
	cr_assert_gt(jm_json_fixtures(jd_fixture, NULL), 10);
}

Test(jdump, matches_json_dumps_on_corners)
{
	static const char *const texts[] = {
		"null", "true", "false", "0", "-0", "1", "-1", "9223372036854775807",
		"-9223372036854775808", "\"\"", "[]", "{}", "[[],{},[[]],{\"a\":{}}]",
		"{\"a\":1,\"b\":[1,2,3],\"c\":{\"d\":null,\"e\":true,\"f\":false}}",
		/* insertion order, not sorted; a repeated key keeps its first place */
		"{\"z\":1,\"a\":2,\"m\":3}", "{\"a\":1,\"b\":2,\"a\":3}",
		/* reals */
		"0.0", "-0.0", "0.1", "1.0", "100.0", "1e16", "1e17", "1.5e300", "-2.5e-300",
		"5e-324", "1.7976931348623157e308", "123456789012345678.0", "0.30000000000000004",
		"3.14159265358979323846", "1e-7", "1E+2", "2.5E-3",
		/* strings: every escape, controls, DEL, '/', UTF-8 of each length */
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0000\\u0001\\u001f\\u007f\\u0080\"",
		"\"a\\u0000b\"", "\"\\u00e9\\u20ac\\ud83d\\ude00\"", "\"é€😀\"", "\"\\uffff\\ud7ff\\ue000\"",
		"\"</script>\"", "{\"k\\u0001ey\":1,\"\\n\":\"\\t\",\"é\":\"\"}",
		"[\"mixed \\\" and \\\\ and \\u0007 and é\"]",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		cr_assert(jd_same_text(texts[i], strlen(texts[i]), texts[i]), "%s", texts[i]);

	/* reals jansson builds but never parses from such text */
	static const double reals[] = { DBL_MIN, DBL_MAX, -DBL_MAX, DBL_EPSILON, 1.0 / 3,
					2.0 / 3, 1e21, 1e22, 4503599627370496.0, 0.5 };
	for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
		json_t *v = json_real(reals[i]);
		jd_same(v, "real");
		json_decref(v);
	}
	json_t *v = json_integer(INT64_MIN);
	jd_same(v, "INT64_MIN");
	json_decref(v);
}

Test(jdump, long_strings_and_deep_nesting_match)
{
	size_t n = 100000;
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(i % 7 == 0 ? '\n' : i % 5 == 0 ? '"' : 'a' + (char)(i % 26));
	json_t *v = json_stringn(s, n);
	jd_same(v, "long string");
	json_decref(v);
	free(s);

	/* 2000 levels, as deep as jansson's parser goes */
	json_t *root = json_array(), *cur = root;
	for (int i = 0; i < 2000; i++) {
		json_t *next = i % 2 ? json_array() : json_object();
		if (json_is_array(cur))
			json_array_append_new(cur, next);
		else
			json_object_set_new(cur, "k", next);
		cur = next;
	}
	jd_same(root, "2000 deep");
	json_decref(root);
}

Test(jdump, fails_where_json_dumps_fails)
{
	cr_assert_null(jdump(NULL, NULL));

	/* invalid UTF-8 gets into a tree only through the nocheck setters */
	static const char *const bad[] = {
		"\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xff", "a\xc3", "\xe2\x82", "\xf0\x9f\x98",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *v = json_stringn_nocheck(bad[i], strlen(bad[i]));
		cr_assert_null(json_dumps(v, JD_FLAGS), "json_dumps took %zu", i);
		cr_assert_null(jdump(v, NULL), "jdump took bad UTF-8 %zu", i);
		json_t *o = json_object();
		json_object_set_new_nocheck(o, bad[i], json_true());
		cr_assert_null(jdump(o, NULL), "jdump took a bad key %zu", i);
		json_decref(o);
		json_decref(v);
	}

	/* a cycle (jansson refuses a container in itself, not two in each
	 * other): json_dumps sees it, jdump runs into its depth limit */
	json_t *a = json_array(), *b = json_object();
	json_array_append(a, b);
	json_object_set(b, "a", a);
	cr_assert_null(json_dumps(a, JD_FLAGS));
	cr_assert_null(jdump(a, NULL));
	cr_assert_null(jdump(b, NULL));
	json_object_clear(b);
	json_decref(b);
	json_decref(a);

	/* deeper than JDUMP_MAX_DEPTH */
	json_t *root = json_array(), *cur = root;
	for (int i = 0; i < JDUMP_MAX_DEPTH + 1; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	cr_assert_null(jdump(root, NULL));
	json_decref(root);
}
