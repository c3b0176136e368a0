/*
 * test_jscan_walk.c — the tree-less JSON scanner (sidecar/jscan.h) as the
 * decoders use it: walking members and elements, keys compared decoded,
 * decoding into a bounded buffer; and randomized comparisons with jansson:
 * stop bytes at every offset of the word-at-a-time string scan, random
 * strings of escapes and UTF-8, and seeded mutations of fixture lines.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmut.h"
#include "jscan.h"

/* A literal and its length, NULs included. */
#define JT(s) s, sizeof(s) - 1
/* Seeded variants of every fixture line, and random strings. */
#define JT_MUTATIONS 300
#define JT_STRINGS 20000

Test(jscan, walk_an_object)
{
	static const char doc[] = " {\"a\" : 1 , \"\\u0062\":[\"x\",2], \"c\":{\"d\":null},\"e\":0.5} ";
	struct js j;
	struct js_str k, v;
	int64_t iv;

	js_init(&j, JT(doc));
	cr_assert_eq(js_peek(&j), JS_OBJECT);
	cr_assert(!js_object(&j));
	cr_assert(js_member(&j, &k) == 1 && js_str_is(&k, JT("a")) && !k.esc);
	cr_assert(js_number(&j, &iv) == JS_NUM_INT && iv == 1);
	cr_assert(js_member(&j, &k) == 1 && js_str_is(&k, JT("b")) && k.esc);
	cr_assert(!js_array(&j) && js_element(&j) == 1 && !js_string(&j, &v) && js_str_is(&v, JT("x")));
	cr_assert(js_element(&j) == 1 && js_peek(&j) == JS_NUMBER && !js_skip(&j));
	cr_assert(js_element(&j) == 0);
	cr_assert(js_member(&j, &k) == 1 && js_str_is(&k, JT("c")) && !js_skip(&j));
	cr_assert(js_member(&j, &k) == 1 && js_number(&j, &iv) == JS_NUM_REAL);
	cr_assert(js_member(&j, &k) == 0 && !js_end(&j));

	/* a wrong call fails, and so does everything after it */
	js_init(&j, JT(doc));
	cr_assert(js_array(&j) == -1);
	cr_assert(js_object(&j) == -1 && js_peek(&j) == JS_BAD && js_end(&j) == -1);
	/* members of an array, elements of an object */
	js_init(&j, JT("[1]"));
	cr_assert(!js_array(&j) && js_member(&j, &k) == -1);
	js_init(&j, JT("{}"));
	cr_assert(!js_object(&j) && js_element(&j) == -1);
	/* a string is not a number, nor the other way round */
	js_init(&j, JT("[\"1\",1]"));
	cr_assert(!js_array(&j) && js_element(&j) == 1 && js_number(&j, &iv) == JS_NUM_BAD);
	js_init(&j, JT("[1]"));
	cr_assert(!js_array(&j) && js_element(&j) == 1 && js_string(&j, &v) == -1);
}

Test(jscan, keys_compare_decoded)
{
	struct js_str s = { JT("\\u0063hoi\\u0063es"), 1 };
	struct js_str t = { JT("choices"), 0 };

	cr_assert(js_str_is(&s, JT("choices")));
	cr_assert(!js_str_is(&s, JT("choice")) && !js_str_is(&s, JT("choicess")));
	cr_assert(js_str_is(&t, JT("choices")) && !js_str_is(&t, JT("Choices")));
	/* NUL in a key: jansson refuses it even with JSON_ALLOW_NUL */
	jm_both(JT("{\"a\\u0000\":1}"), 0);
	jm_both(JT("[{\"x\":{\"\\u0000\":1}}]"), 0);
	jm_both(JT("{\"a\":\"\\u0000\"}"), 1);
}

Test(jscan, unescape_counts_past_its_buffer)
{
	struct js_str s = { JT("ab\\u00e9\\ud83d\\ude00c"), 1 };
	char buf[16];

	memset(buf, '#', sizeof buf);
	cr_assert_eq(js_unescape(&s, buf, 4), 9);
	cr_assert(!memcmp(buf, "ab\xc3\xa9##", 6));
	cr_assert_eq(js_unescape(&s, buf, 3), 9);
	cr_assert_eq(js_unescape(&s, buf, sizeof buf), 9);
	cr_assert(!memcmp(buf, "ab\xc3\xa9\xf0\x9f\x98\x80" "c", 9));
}

/* Strings are scanned a word at a time: each kind of byte that stops the
 * scan, at every offset of a string longer than a few words. */
Test(jscan, stop_bytes_at_every_offset)
{
	static const char *const stops[] = {
		"\\n", "\\u00e9", "\"", "\x01", "\x1f", "\x80", "\xc3\xa9", "\xe2\x82\xac", "\xff", "\x7f",
	};
	char s[64], doc[80];

	for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {
		for (size_t at = 0; at < 3 * 8; at++) {
			size_t n = strlen(stops[k]);
			memset(s, 'a', at);
			memcpy(s + at, stops[k], n);
			memset(s + at + n, 'b', 3 * 8 - at);
			n += 3 * 8;
			int len = snprintf(doc, sizeof doc, "[\"%.*s\"]", (int)n, s);
			int want = jm_jansson_ok(doc, (size_t)len);
			cr_assert_eq(jm_jscan_ok(doc, (size_t)len), want, "'%s'", doc);
			if (want)
				jm_decode_as_jansson(s, n);
		}
	}
}

/* Random strings of escapes and UTF-8, good and bad: where jansson takes
 * one, so does jscan, decoding the same bytes; where it refuses, so does
 * jscan. */
Test(jscan, random_strings_decode_as_jansson_does)
{
	static const char *const parts[] = {
		"a", "Z", " ", "\\n", "\\\"", "\\\\", "\\/", "\\b", "\\u0041", "\\u0000", "\\u00e9",
		"\\ud83d\\ude00", "\\ud800", "\\udfff", "\\u12", "\\q", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\x1f",
		"\x7f", "\"",
	};
	unsigned seed = 7;
	char s[128], doc[160];

	for (int i = 0; i < JT_STRINGS; i++) {
		size_t n = 0;
		int parts_n = rand_r(&seed) % 8;
		while (parts_n--) {
			const char *p = parts[(size_t)rand_r(&seed) % (sizeof parts / sizeof parts[0])];
			memcpy(s + n, p, strlen(p));
			n += strlen(p);
		}
		int len = snprintf(doc, sizeof doc, "[\"%.*s\"]", (int)n, s);
		int want = jm_jansson_ok(doc, (size_t)len);
		cr_assert_eq(jm_jscan_ok(doc, (size_t)len), want, "'%s': jansson %d", doc, want);
		if (want)
			jm_decode_as_jansson(s, n);
	}
}

/* Every fixture line and JT_MUTATIONS mutations of each: the same verdict. */
Test(jscan, mutated_fixture_lines_as_jansson)
{
	static const char *const files[] = {
		"openai_stream_basic.sse", "openai_stream_n3_refusal.sse", "openai_stream_tools.sse",
		"openai_stream_tools_parallel.sse", "openai_stream_usage.sse", "gemini_stream_utf8.sse",
		"gemini_stream_thinking_function_call.sse", "anthropic_stream_tools.sse",
	};
	static char out[JM_MAX];
	struct jm_lines l;
	unsigned seed = 1;
	size_t agree = 0;

	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		jm_lines(files[f], &l);
		for (size_t i = 0; i < l.count; i++) {
			for (int m = 0; m <= JT_MUTATIONS; m++) {
				size_t n = m ? jm_mutate(l.p[i], l.n[i], out, &seed) : l.n[i];
				const char *d = m ? out : l.p[i];
				int want = jm_jansson_ok(d, n);
				cr_assert_eq(jm_jscan_ok(d, n), want, "%s line %zu mutation %d: jansson %d '%.*s'",
					     files[f], i, m, want, (int)n, d);
				agree += want;
			}
		}
		jm_lines_free(&l);
	}
	/* the mutations must leave a fair share valid, or this tests little */
	cr_assert_gt(agree, 1000, "only %zu valid variants", agree);
}
