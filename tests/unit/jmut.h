/*
 * jmut.h — JSON texts for the differential tests of the tree-less scanner
 * (test_jscan*.c) and of the OpenAI codec's fast path
 * (test_codec_openai_fast*.c): the data lines of recorded SSE fixtures,
 * seeded mutations of them that stay close enough to JSON to reach the
 * corners (escapes, UTF-8, numbers, repeated keys, cut documents), and
 * what jscan and jansson make of a text.
 */
#ifndef RINGSIDE_TEST_JMUT_H
#define RINGSIDE_TEST_JMUT_H

#include <stddef.h>

/* Bound for one mutated text: the largest fixture event plus what a few
 * mutations can add (a repeated range is at most the text itself). */
#define JM_MAX (1u << 14)
/* Data lines kept from one fixture; the largest has 78. */
#define JM_MAX_LINES 256

struct jm_lines {
	char *buf;                 /* the file, data lines NUL-terminated in place */
	const char *p[JM_MAX_LINES];
	size_t n[JM_MAX_LINES];
	size_t count;
};

/* The recorded SSE streams of every provider, for tests that walk their
 * data lines (jm_lines). */
extern const char *const jm_streams[];
extern const size_t jm_nstreams;

/* fn(name, text, len, arg) for each *.json fixture; returns how many. */
size_t jm_json_fixtures(void (*fn)(const char *name, const char *text, size_t len, void *arg),
			void *arg);

/* The "data: " lines of a fixture (by file name), [DONE] included. */
void jm_lines(const char *fixture, struct jm_lines *l);
void jm_lines_free(struct jm_lines *l);

/* One to three mutations of in[0..n) into out (at most JM_MAX bytes): byte
 * flips, JSON-significant bytes, inserted escapes and UTF-8 (valid and
 * not), deletions, a truncation, a repeated range. Returns the length. */
size_t jm_mutate(const char *in, size_t n, char *out, unsigned *seed);

/* Does jscan take s[0..n) as one whole value (js_skip, js_end)? */
int jm_jscan_ok(const char *s, size_t n);

/* Does jansson, with the codecs' flags and any value at the top (as
 * js_skip takes), parse s[0..n)? */
int jm_jansson_ok(const char *s, size_t n);

/* Both must say want. */
void jm_both(const char *s, size_t n, int want);

/* s[0..n) inside ["..."]: jansson takes it, and jscan decodes it (and
 * compares it) to the same bytes. */
void jm_decode_as_jansson(const char *s, size_t n);

#endif
