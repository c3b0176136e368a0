/*
 * test_jscan.c — the tree-less JSON scanner (sidecar/jscan.h) against
 * jansson, the parser it stands in for: the same verdict on valid and
 * invalid documents (escapes, surrogates, UTF-8, control bytes, numbers,
 * nesting, cut and trailing input), stricter only where jscan.h says so,
 * and the same bytes when a string is decoded. The walking calls and the
 * randomized comparisons are in test_jscan_walk.c.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jmut.h"
#include "jscan.h"

/* A literal and its length, NULs included. */
#define JT(s) s, sizeof(s) - 1

Test(jscan, valid_documents)
{
	static const char *const ok[] = {
		"{}", "[]", " { } ", "\t[\r\n]\n", "{\"a\":1}", "{\"a\":[1,2,{\"b\":null}],\"c\":true}",
		"[false,true,null,\"\",0,-0,1.5,-1e5,1E+2,2e-3,0.0]", "\"just a string\"", "42", "null",
		"{\"\":\"\"}", "[[[[]]]]", "{\"a\":{\"b\":{\"c\":{}}}}", "[\"\\u00e9\\ud83d\\ude00\"]",
		"[\"\x7f\"]", "[\"\xc2\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]",
	};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		jm_both(ok[i], strlen(ok[i]), 1);
	jm_both(JT("[\"a\\u0000b\"]"), 1); /* JSON_ALLOW_NUL */
}

Test(jscan, invalid_documents)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "]", "{]", "[}", "{,}", "[,]", "[1,]", "{\"a\":1,}", "{\"a\" 1}",
		"{\"a\":}", "{1:2}", "{a:1}", "['a']", "[1 2]", "[tru]", "[nul]", "[truex]", "[nulll]",
		"[True]", "[undefined]", "[NaN]", "[Infinity]", "\"abc", "[\"a\\\"]", "{\"a\":1}}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		jm_both(bad[i], strlen(bad[i]), 0);
	jm_both(JT("[1]\0"), 0);
	jm_both(JT("[\0]"), 0);
}

Test(jscan, every_escape)
{
	static const char *const ok[] = {
		"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9",
		"\\u00E9", "\\u20ac", "\\uFFFF", "\\u0000", "a\\u0000b", "\\ud83d\\ude00", "\\uD83D\\uDE00",
		"\\udbff\\udfff", "\\ud800\\udc00", "x\\ty\\nz", "\\\\u0041",
	};
	static const char *const bad[] = {
		"\\a", "\\x41", "\\'", "\\0", "\\U0041", "\\u", "\\u004", "\\u004g", "\\u 041", "\\",
	};
	char buf[64];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		jm_decode_as_jansson(ok[i], strlen(ok[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int n = snprintf(buf, sizeof buf, "[\"%s\"]", bad[i]);
		jm_both(buf, (size_t)n, 0);
	}
}

Test(jscan, lone_and_broken_surrogates)
{
	static const char *const bad[] = {
		"\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\ud800x", "\\ud800\\n", "\\ud800\\u0041",
		"\\ud800\\ud800", "\\ude00\\ud83d", "\\ud800\\", "\\ud800\\u", "\\ud800\\udc0",
		"a\\udc00b",
	};
	char buf[64];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int n = snprintf(buf, sizeof buf, "[\"%s\"]", bad[i]);
		jm_both(buf, (size_t)n, 0);
	}
}

Test(jscan, utf8)
{
	static const char *const ok[] = {
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbe",
		"\xf0\x90\x80\x80", "\xf3\xbf\xbf\xbf", "\xf4\x8f\xbf\xbf",
	};
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41", "\xc2\xc0", "\xe0\x80\x80",
		"\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xe2\x82", "\xe2\x28\xa1",
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8",
		"\xfe", "\xff", "\xf0\x9f\x98",
	};
	char buf[64];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		jm_decode_as_jansson(ok[i], strlen(ok[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int n = snprintf(buf, sizeof buf, "[\"%s\"]", bad[i]);
		jm_both(buf, (size_t)n, 0);
		/* outside a string too */
		n = snprintf(buf, sizeof buf, "[1,%s]", bad[i]);
		jm_both(buf, (size_t)n, 0);
	}
}

Test(jscan, control_bytes_in_strings)
{
	char buf[8] = "[\"a?\"]";

	for (int c = 0; c < 0x20; c++) {
		buf[3] = (char)c;
		jm_both(buf, 6, 0);
	}
	buf[3] = 0x7f;
	jm_both(buf, 6, 1);
}

static enum js_num jt_num(const char *s, int64_t *iv)
{
	struct js j;
	enum js_num r;

	js_init(&j, s, strlen(s));
	r = js_number(&j, iv);
	return r != JS_NUM_BAD && !js_end(&j) ? r : JS_NUM_BAD;
}

Test(jscan, numbers)
{
	static const struct {
		const char *s;
		enum js_num want;
		int64_t iv;
	} cases[] = {
		{ "0", JS_NUM_INT, 0 },
		{ "-0", JS_NUM_INT, 0 },
		{ "7", JS_NUM_INT, 7 },
		{ "-12", JS_NUM_INT, -12 },
		{ "9223372036854775807", JS_NUM_INT, INT64_MAX },
		{ "-9223372036854775808", JS_NUM_INT, INT64_MIN },
		{ "9223372036854775808", JS_NUM_BAD, 0 },
		{ "-9223372036854775809", JS_NUM_BAD, 0 },
		{ "99999999999999999999999", JS_NUM_BAD, 0 },
		{ "1e5", JS_NUM_REAL, 0 },
		{ "0.0", JS_NUM_REAL, 0 },
		{ "-0.0", JS_NUM_REAL, 0 },
		{ "1E+2", JS_NUM_REAL, 0 },
		{ "2e-3", JS_NUM_REAL, 0 },
		{ "1e300", JS_NUM_REAL, 0 },
		{ "1e-400", JS_NUM_REAL, 0 },
		{ "0.000001e-99999999999", JS_NUM_REAL, 0 },
		{ "1e400", JS_NUM_BAD, 0 },
		{ "-1e400", JS_NUM_BAD, 0 },
		{ "01", JS_NUM_BAD, 0 },
		{ "-01", JS_NUM_BAD, 0 },
		{ "00", JS_NUM_BAD, 0 },
		{ "-", JS_NUM_BAD, 0 },
		{ "1.", JS_NUM_BAD, 0 },
		{ ".5", JS_NUM_BAD, 0 },
		{ "+1", JS_NUM_BAD, 0 },
		{ "1e", JS_NUM_BAD, 0 },
		{ "1e+", JS_NUM_BAD, 0 },
		{ "1.e5", JS_NUM_BAD, 0 },
		{ "--1", JS_NUM_BAD, 0 },
		{ "0x10", JS_NUM_BAD, 0 },
		{ "1.5.3", JS_NUM_BAD, 0 },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t iv = 0;
		int n = snprintf(buf, sizeof buf, "[%s]", cases[i].s);
		cr_assert_eq(jt_num(cases[i].s, &iv), cases[i].want, "%s", cases[i].s);
		if (cases[i].want == JS_NUM_INT)
			cr_assert_eq(iv, cases[i].iv, "%s", cases[i].s);
		jm_both(buf, (size_t)n, cases[i].want != JS_NUM_BAD);
	}
	/* jansson's kind: 1e5 is a real, -0 an integer */
	json_t *a = json_loads("[1e5,-0]", 0, NULL);
	cr_assert(json_is_real(json_array_get(a, 0)) && json_is_integer(json_array_get(a, 1)));
	json_decref(a);
}

/* Where jscan.h says it refuses what jansson takes. */
Test(jscan, stricter_than_jansson)
{
	char buf[2 * JS_MAX_DEPTH + 8];

	cr_assert(jm_jansson_ok(JT("[1.5e308]")) && !jm_jscan_ok(JT("[1.5e308]")));
	cr_assert(jm_jansson_ok(JT("[123.4e306]")) && !jm_jscan_ok(JT("[123.4e306]")));
	cr_assert(jm_jansson_ok(JT("[0.5e308]")) && !jm_jscan_ok(JT("[0.5e308]")));
	/* up to 10^308 both agree */
	jm_both(JT("[9.99e307]"), 1);
	jm_both(JT("[123.4e305]"), 1);
	jm_both(JT("[1.8e308]"), 0);
	for (int depth = JS_MAX_DEPTH; depth <= JS_MAX_DEPTH + 1; depth++) {
		memset(buf, '[', (size_t)depth);
		memset(buf + depth, ']', (size_t)depth);
		cr_assert(jm_jansson_ok(buf, 2 * (size_t)depth));
		cr_assert_eq(jm_jscan_ok(buf, 2 * (size_t)depth), depth == JS_MAX_DEPTH, "depth %d", depth);
	}
}

Test(jscan, nesting_of_objects_and_arrays)
{
	char buf[8 * JS_MAX_DEPTH];
	size_t n = 0;

	for (int i = 0; i < JS_MAX_DEPTH / 2; i++)
		n += (size_t)sprintf(buf + n, "{\"a\":[");
	for (int i = 0; i < JS_MAX_DEPTH / 2; i++)
		n += (size_t)sprintf(buf + n, "]}");
	jm_both(buf, n, 1);
	/* a scalar at the deepest level is no level of its own */
	memmove(buf + JS_MAX_DEPTH / 2 * 6 + 1, buf + JS_MAX_DEPTH / 2 * 6, n - JS_MAX_DEPTH / 2 * 6);
	buf[JS_MAX_DEPTH / 2 * 6] = '1';
	jm_both(buf, n + 1, 1);
}

Test(jscan, cut_at_every_byte)
{
	static const char doc[] =
		"{\"id\":\"c-1\",\"n\":-12.5e+3,\"ok\":true,\"no\":false,\"v\":null,"
		"\"s\":\"caf\\u00e9 \xe2\x82\xac \\ud83d\\ude00\\n\",\"a\":[1,{\"k\":[]},{}]}";

	jm_both(doc, sizeof doc - 1, 1);
	for (size_t n = 0; n < sizeof doc - 1; n++)
		jm_both(doc, n, 0);
}

Test(jscan, trailing_input)
{
	jm_both(JT("{} \r\n\t"), 1);
	jm_both(JT("{} x"), 0);
	jm_both(JT("{}{}"), 0);
	jm_both(JT("{},"), 0);
	jm_both(JT("[1]]"), 0);
	jm_both(JT("1 2"), 0);
}

