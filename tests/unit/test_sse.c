/*
 * test_sse.c — the incremental SSE parser (sidecar/sse.c) against a
 * whole-input reference parser (sse_ref.c) written straight from NOTES.md
 * section 6, over the recorded fixtures and a generated corpus, in every
 * chunking we can afford: each split point, one byte at a time, random.
 *
 * A run compares more than the event list: each event must come out of
 * the very feed call that holds the byte which dispatches it, an error
 * must come out of the call that holds the byte crossing the bound, and
 * nothing may follow a stop. That is what "split anywhere" has to mean
 * for a caller that acts on events as they arrive.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "sse_ref.h"

/* ---- the rules, one by one (reference and parser both) -------------------- */

Test(sse, line_ends_crlf_lf_and_lone_cr)
{
	SREF_EXPECT("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\r\n", 0, 0,
		  "", "a", "", "b", "", "c", "", "d");
}

Test(sse, one_leading_space_stripped)
{
	/* TGI writes data:{...} and data:[DONE]; the rest write a space. */
	SREF_EXPECT("data:[DONE]\n\ndata: [DONE]\n\ndata:  x\n\ndata:\tx\n\n", 0, 0,
		  "", "[DONE]", "", "[DONE]", "", " x", "", "\tx");
}

Test(sse, multi_line_data_joined_with_lf)
{
	SREF_EXPECT("data: {\"a\":\ndata: 1}\n\ndata\ndata\n\ndata:\n\n", 0, 0,
		  "", "{\"a\":\n1}", "", "\n", "", "");
}

Test(sse, event_names_reset_per_event)
{
	SREF_EXPECT("event: ping\ndata: {}\n\ndata: x\n\nevent:a\nevent: b\ndata: y\n\n", 0, 0,
		  "ping", "{}", "", "x", "b", "y");
}

Test(sse, no_data_no_event_and_the_name_is_dropped)
{
	SREF_EXPECT("event: ping\n\ndata: x\n\nevent: lonely\n\n\n\n", 0, 0, "", "x");
}

Test(sse, comments_ignored_and_keep_state)
{
	/* A keep-alive between two data lines must not split the event. */
	SREF_EXPECT(":\n: keep-alive\ndata: a\n:\ndata: b\n: x\n\n:", 0, 0, "", "a\nb");
}

Test(sse, id_retry_and_unknown_fields_ignored)
{
	SREF_EXPECT("id: 7\nretry: 10\nfoo: bar\nData: no\ndata : no\n data: no\ndatax: no\n"
		  "data: yes\nid\n\n", 0, 0, "", "yes");
}

Test(sse, bom_stripped_once_at_the_start)
{
	SREF_EXPECT("\xEF\xBB\xBF" "data: a\n\n", 0, 0, "", "a");
	/* A second BOM belongs to the field name, which is then unknown. */
	SREF_EXPECT("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", 0, 0, "", "b");
	/* Not at the start: part of the value. */
	SREF_EXPECT("data: \xEF\xBB\xBF" "a\n\n", 0, 0, "", "\xEF\xBB\xBF" "a");
}

Test(sse, trailing_event_at_eof_is_dispatched_and_flagged)
{
	SREF_EXPECT("data: a\n\ndata: b", 0, 1, "", "a", "", "b");
	SREF_EXPECT("data: a\n\ndata: b\n", 0, 1, "", "a", "", "b");
	SREF_EXPECT("data: a\n\ndata: b\r", 0, 1, "", "a", "", "b");
	SREF_EXPECT("data: a\n\nevent: x\n", 0, 0, "", "a");
	SREF_EXPECT("data: a\n\n", 0, 0, "", "a");
}

Test(sse, stray_lines_are_a_nameless_event)
{
	/* Gemini's bare error object after the data events. */
	SREF_EXPECT("data: {\"a\":1}\n\n{\n  \"error\": {\n    \"code\": 499\n  }\n}\n", 1, 0,
		  "", "{\"a\":1}", "", "{\n  \"error\": {\n    \"code\": 499\n  }\n}");
	/* A known field ends the strays; comments do not. */
	SREF_EXPECT("oops\n: c\nmore\ndata: x\nid: 1\nnope\nretry: 5\n\n", 1, 0,
		  "", "oops\nmore", "", "nope", "", "x");
	/* At a blank line the strays come out before the event they interrupt. */
	SREF_EXPECT("data: x\n{\n\n", 1, 0, "", "{", "", "x");
	/* Without stray mode the same lines are unknown fields. */
	SREF_EXPECT("data: {\"a\":1}\n\n{\n}\n", 0, 0, "", "{\"a\":1}");
}

/* ---- recorded fixtures --------------------------------------------------- */

/* "key": value from an expected.json's stream_facts; -1 when absent. A
 * string search is enough: the keys occur once, and this keeps the test
 * free of a JSON library. */
static long ts_fact(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\"", key);
	const char *p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (!strncmp(p, "true", 4))
		return 1;
	if (!strncmp(p, "false", 5))
		return 0;
	return strtol(p, NULL, 10);
}

struct ts_fixture {
	char *path;
	char *data;
	size_t len;
	long event_count, unterminated; /* -1: the expected file does not say */
};

static size_t ts_fixtures(struct ts_fixture **out)
{
	char pat[1024];
	glob_t g;
	snprintf(pat, sizeof pat, "%s/*.sse", sref_fixture_dir());
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no fixtures match %s", pat);
	struct ts_fixture *f = calloc(g.gl_pathc, sizeof *f);
	cr_assert(f);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		f[i].path = strdup(g.gl_pathv[i]);
		f[i].data = sref_read(g.gl_pathv[i], &f[i].len);
		cr_assert(f[i].path && f[i].data, "cannot read %s", g.gl_pathv[i]);
		char exp[1100];
		snprintf(exp, sizeof exp, "%.*s.expected.json", (int)(strlen(f[i].path) - 4), f[i].path);
		size_t el;
		char *e = sref_read(exp, &el);
		f[i].event_count = e ? ts_fact(e, "event_count") : -1;
		f[i].unterminated = e ? ts_fact(e, "unterminated_trailing_event") : -1;
		free(e);
	}
	size_t n = g.gl_pathc;
	globfree(&g);
	*out = f;
	return n;
}

static void ts_fixtures_free(struct ts_fixture *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].data);
	}
	free(f);
}

/*
 * The expected files count events the WHATWG way: every dispatched event,
 * Anthropic's ping and OpenAI's [DONE] included, and Gemini's bare error
 * object not (it is no SSE field). That is stray mode off. With stray mode
 * on, the bare object is one more event and nothing else changes.
 */
Test(sse, fixture_event_counts_match_stream_facts)
{
	struct ts_fixture *f;
	size_t n = ts_fixtures(&f), checked = 0;
	cr_assert_geq(n, 14, "only %zu .sse fixtures under %s", n, sref_fixture_dir());
	for (size_t i = 0; i < n; i++) {
		struct sref_ref plain, stray;
		sref_ref_parse(f[i].data, f[i].len, SREF_BIG, 0, &plain);
		sref_ref_parse(f[i].data, f[i].len, SREF_BIG, 1, &stray);
		cr_assert_eq(plain.rc, 0, "%s", f[i].path);
		cr_assert_eq(stray.rc, 0, "%s", f[i].path);
		if (f[i].event_count >= 0) {
			cr_assert_eq((long)plain.n, f[i].event_count, "%s: %zu events, facts say %ld",
				     f[i].path, plain.n, f[i].event_count);
			checked++;
		}
		if (f[i].unterminated >= 0)
			cr_assert_eq(plain.unterminated, f[i].unterminated, "%s", f[i].path);
		if (strstr(f[i].path, "gemini_stream_error_midstream"))
			cr_assert_eq(stray.n, plain.n + 1, "%s: stray mode gives %zu events",
				     f[i].path, stray.n);
		else
			cr_assert_geq(stray.n, plain.n, "%s", f[i].path);
		/* The parser itself, once, so a count failure names the parser. */
		struct sse p;
		struct sref_run r = { .ref = &plain, .len = f[i].len, .hi = f[i].len,
				    .cancel_at = SREF_NO_CANCEL };
		char why[256] = "";
		r.why = why;
		r.why_len = sizeof why;
		sse_init(&p, SREF_BIG, 0);
		cr_assert_eq(sse_feed(&p, f[i].data, f[i].len, sref_on_event, &r), 0);
		r.lo = r.hi = f[i].len;
		r.in_finish = 1;
		cr_assert_eq(sse_finish(&p, sref_on_event, &r), 0);
		cr_assert_eq(p.events, plain.n, "%s: parser counted %zu", f[i].path, p.events);
		cr_assert_eq(p.unterminated, plain.unterminated, "%s", f[i].path);
		cr_assert(!why[0], "%s: %s", f[i].path, why);
		sse_free(&p);
		sref_ref_free(&plain);
		sref_ref_free(&stray);
	}
	cr_assert_geq(checked, 14, "only %zu fixtures state an event_count", checked);
	ts_fixtures_free(f, n);
}

/* Fixtures with a line that is no field: stray mode changes what they give
 * (each such line ends up in some nameless event); for the others it is
 * the same parse. */
static int ts_has_strays(const struct ts_fixture *f)
{
	struct sref_ref plain, stray;
	sref_ref_parse(f->data, f->len, SREF_BIG, 0, &plain);
	sref_ref_parse(f->data, f->len, SREF_BIG, 1, &stray);
	int r = stray.n != plain.n;
	sref_ref_free(&plain);
	sref_ref_free(&stray);
	return r;
}

/* Every fixture, and again in stray mode where that changes anything:
 * every split point in two, one byte at a time, 300 random chunkings (a
 * quarter of them cancelling somewhere). */
Test(sse, fixtures_in_every_chunking)
{
	struct ts_fixture *f;
	size_t n = ts_fixtures(&f), with_strays = 0;
	for (size_t i = 0; i < n; i++) {
		int strays = ts_has_strays(&f[i]);
		with_strays += (size_t)strays;
		for (int stray = 0; stray <= strays; stray++)
			sref_all_chunkings(f[i].path, f[i].data, f[i].len, SREF_BIG, stray, 300, 1,
					 0x5eed0000u + i * 2 + (unsigned)stray);
	}
	cr_assert_geq(with_strays, 1, "no fixture has a bare JSON error any more");
	ts_fixtures_free(f, n);
}

/* A fixture bound so tight that some line or event crosses it: the error
 * must come out of the call holding the crossing byte, in any chunking. */
Test(sse, fixtures_with_tight_bounds)
{
	struct ts_fixture *f;
	size_t n = ts_fixtures(&f);
	static const size_t maxes[] = { 40, 100, 250, 600 };
	for (size_t i = 0; i < n; i++)
		for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++)
			sref_all_chunkings(f[i].path, f[i].data, f[i].len, maxes[m], (int)(m & 1), 40,
					 0, 0xb0d0u + i * 8 + m);
	ts_fixtures_free(f, n);
}

/* ---- generated corpus ----------------------------------------------------- */

static void ts_gen_bytes(uint64_t *rng, struct sref_buf *b, size_t n, int allow_eol)
{
	/* Bytes a value can hold: JSON punctuation, the colon and space the
	 * field parser looks at, NUL, U+2028 (which str.splitlines breaks on),
	 * multibyte and invalid UTF-8. */
	static const char *const pieces[] = {
		"a", "b", "z", "0", "9", ":", " ", "  ", "{", "}", "\"", ",", "[DONE]", "\t",
		"\xE2\x80\xA8", "\xD0\xB8", "\xE7\x95\x8C", "\xF0\x9F\x98\x80", "\xFF", "\xC3",
		"\xEF\xBB\xBF", "data", "event",
	};
	size_t np = sizeof pieces / sizeof pieces[0];
	for (size_t i = 0; i < n; i++) {
		size_t k = sref_below(rng, np + 3);
		if (k < np) {
			sref_puts(b, pieces[k]);
		} else if (k == np) {
			sref_put(b, "", 1); /* NUL */
		} else if (allow_eol) {
			sref_put(b, k == np + 1 ? "\r" : "\n", 1);
		} else {
			char c = (char)(0x80 + sref_below(rng, 0x80));
			sref_put(b, &c, 1);
		}
	}
}

static size_t ts_gen_len(uint64_t *rng)
{
	size_t k = sref_below(rng, 20);
	if (k == 0)
		return 100 + sref_below(rng, 1500); /* long: crosses the small bounds */
	if (k < 4)
		return sref_below(rng, 70);
	return sref_below(rng, 12);
}

/* One random SSE-ish input; max and stray mode chosen with it. */
static void ts_gen(uint64_t *rng, struct sref_buf *b, size_t *max, int *stray_mode)
{
	static const char *const eols[] = { "\n", "\r\n", "\r" };
	static const char *const data_pfx[] = { "data:", "data: ", "data:  ", "data" };
	static const char *const event_pfx[] = { "event:", "event: ", "event" };
	static const char *const other[] = {
		"id: 42", "id", "id:", "retry: 1000", "retry", "foo: bar", "Data: x", "datum:x",
		"eventx: y", "dat", " data: x", "data : x", "{", "  \"error\": {", "}", "[DONE]",
	};
	b->len = 0;
	*max = sref_below(rng, 3) ? SREF_BIG : 16 + sref_below(rng, 400);
	*stray_mode = (int)sref_below(rng, 2);
	int eol_mode = (int)sref_below(rng, 4); /* 0..2: one style, 3: mixed */
	size_t bom = sref_below(rng, 16);
	if (bom < 3)
		sref_put(b, "\xEF\xBB\xBF", 3);
	else if (bom == 3)
		sref_put(b, "\xEF\xBB\xBF", 1 + sref_below(rng, 2));
	else if (bom == 4)
		sref_put(b, "\xEF\xBB\xBF\xEF\xBB\xBF", 6);
	size_t lines = sref_below(rng, 40);
	for (size_t i = 0; i < lines; i++) {
		size_t kind = sref_below(rng, 20);
		if (kind < 6) {
			sref_puts(b, data_pfx[sref_below(rng, 4)]);
			ts_gen_bytes(rng, b, ts_gen_len(rng), 0);
		} else if (kind < 8) {
			sref_puts(b, event_pfx[sref_below(rng, 3)]);
			/* Names around the 64-byte limit now and then. */
			size_t nl = sref_below(rng, 4) ? sref_below(rng, 12) : 58 + sref_below(rng, 10);
			sref_fill(b, (char)('a' + sref_below(rng, 26)), nl);
		} else if (kind < 10) {
			sref_puts(b, ":");
			ts_gen_bytes(rng, b, sref_below(rng, 8) ? sref_below(rng, 10) : 600, 0);
		} else if (kind < 14) {
			/* blank line: only the terminator below */
		} else if (kind < 18) {
			sref_puts(b, other[sref_below(rng, sizeof other / sizeof other[0])]);
		} else {
			/* Garbage, line ends included. */
			ts_gen_bytes(rng, b, 1 + sref_below(rng, 30), 1);
		}
		if (i + 1 < lines || sref_below(rng, 3))
			sref_puts(b, eols[eol_mode < 3 ? eol_mode : (int)sref_below(rng, 3)]);
	}
}

/*
 * Thousands of generated inputs, each in several random chunkings, one
 * byte at a time, and (while short) split at every point. About a third
 * have a bound small enough to be crossed somewhere.
 */
Test(sse, generated_corpus)
{
	uint64_t rng = 0xC0FFEEull;
	struct sref_buf b = { 0 };
	size_t errors = 0, events = 0;
	for (unsigned t = 0; t < 2000; t++) {
		size_t max;
		int stray_mode;
		ts_gen(&rng, &b, &max, &stray_mode);
		char label[64];
		snprintf(label, sizeof label, "generated case %u", t);
		struct sref_ref ref;
		sref_ref_parse(b.p, b.len, max, stray_mode, &ref);
		errors += ref.rc != 0;
		events += ref.n;
		sref_ref_free(&ref);
		sref_all_chunkings(label, b.p, b.len, max, stray_mode, 4, b.len < 160, rng);
	}
	/* The corpus is only worth something if it reaches both outcomes. */
	cr_assert_gt(errors, 150, "only %zu generated cases cross a bound", errors);
	cr_assert_gt(events, 5000, "only %zu events in the generated corpus", events);
	free(b.p);
}
