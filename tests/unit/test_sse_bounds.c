/*
 * test_sse_bounds.c — the incremental SSE parser at its bounds (line, joined
 * data, event name, strays, buffer growth, a callback that stops the feed)
 * and on hostile input (NUL bytes, bad UTF-8, garbage, megabytes of line
 * ends or comments, BOMs), every case against the reference in sse_ref.c.
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

/* ---- bounds ---------------------------------------------------------------- */

/* One input at one bound: reference outcome as stated, then all chunkings. */
static void ts_bound_case(const char *label, const struct sref_buf *b, size_t max, int want_err)
{
	for (int stray = 0; stray <= 1; stray++) {
		struct sref_ref ref;
		sref_ref_parse(b->p, b->len, max, stray, &ref);
		cr_assert_eq(ref.rc, want_err ? -EMSGSIZE : 0, "%s: reference rc %d", label, ref.rc);
		sref_ref_free(&ref);
		sref_all_chunkings(label, b->p, b->len, max, stray, 100, b->len < 2000, 7);
	}
}

Test(sse_bounds, line_of_max_bytes_passes_one_more_fails)
{
	const size_t max = 300;
	struct sref_buf b = { 0 };
	sref_puts(&b, "data: ");
	sref_fill(&b, 'x', max - 6);
	sref_puts(&b, "\n\n");
	ts_bound_case("line of max bytes", &b, max, 0);
	b.len = 0;
	sref_puts(&b, "data: ");
	sref_fill(&b, 'x', max - 5);
	sref_puts(&b, "\n\n");
	ts_bound_case("line of max + 1 bytes", &b, max, 1);
	/* Ignored lines are bounded too: they are buffered until known. */
	b.len = 0;
	sref_puts(&b, "id: ");
	sref_fill(&b, '7', max);
	sref_puts(&b, "\ndata: a\n\n");
	ts_bound_case("long id line", &b, max, 1);

	/* The same line complete in one read must fail like a split one. */
	b.len = 0;
	sref_puts(&b, "data: ");
	sref_fill(&b, 'x', max);
	sref_puts(&b, "\n\n");
	struct sse p;
	size_t got = 0;
	sse_init(&p, max, 0);
	cr_assert_eq(sse_feed(&p, b.p, b.len, sref_never, &got), -EMSGSIZE);
	cr_assert_eq(got, 0);
	sse_free(&p);
	free(b.p);
}

Test(sse_bounds, joined_data_of_max_bytes_passes_one_more_fails)
{
	const size_t max = 100;
	struct sref_buf b = { 0 };
	/* 3 lines of 32 and 2 joining LFs, then a 1-byte line and its LF: 100. */
	for (int i = 0; i < 3; i++) {
		sref_puts(&b, "data:");
		sref_fill(&b, 'a' + (char)i, 32);
		sref_puts(&b, "\n");
	}
	sref_puts(&b, "data: z\n\n");
	ts_bound_case("joined data of max bytes", &b, max, 0);
	b.len -= 2;
	sref_puts(&b, "\ndata:\n\n"); /* one more LF and an empty line: 101 */
	ts_bound_case("joined data of max + 1 bytes", &b, max, 1);
	b.len = 0;
	for (int i = 0; i < 4; i++) {
		sref_puts(&b, "data:");
		sref_fill(&b, 'a' + (char)i, 30);
		sref_puts(&b, i == 3 ? "\r\n\r\n" : "\r\n");
	}
	ts_bound_case("joined data over max, CRLF", &b, max, 1);
	free(b.p);
}

Test(sse_bounds, event_name_of_64_bytes_fails)
{
	struct sref_buf b = { 0 };
	sref_puts(&b, "event: ");
	sref_fill(&b, 'n', SREF_NAME_MAX - 1);
	sref_puts(&b, "\ndata: x\n\n");
	ts_bound_case("event name of 63 bytes", &b, SREF_BIG, 0);
	b.len = 0;
	sref_puts(&b, "event:");
	sref_fill(&b, 'n', SREF_NAME_MAX);
	sref_puts(&b, "\ndata: x\n\n");
	ts_bound_case("event name of 64 bytes", &b, SREF_BIG, 1);
	/* Strays before the long name must not come out first in any chunking. */
	b.len = 0;
	sref_puts(&b, "{\n\"x\": 1\nevent: ");
	sref_fill(&b, 'n', 200);
	sref_puts(&b, "\ndata: x\n\n");
	ts_bound_case("event name of 200 bytes after strays", &b, SREF_BIG, 1);
	free(b.p);
}

Test(sse_bounds, strays_are_bounded)
{
	const size_t max = 64;
	struct sref_buf b = { 0 };
	for (int i = 0; i < 10; i++)
		sref_puts(&b, "  \"field\": 12345,\n");
	sref_puts(&b, "data: x\n\n");
	struct sref_ref ref;
	sref_ref_parse(b.p, b.len, max, 1, &ref);
	cr_assert_eq(ref.rc, -EMSGSIZE);
	sref_ref_free(&ref);
	sref_all_chunkings("joined strays over max", b.p, b.len, max, 1, 100, 1, 9);
	/* Ignored when stray mode is off. */
	sref_ref_parse(b.p, b.len, max, 0, &ref);
	cr_assert_eq(ref.rc, 0);
	cr_assert_eq(ref.n, 1);
	sref_ref_free(&ref);
	free(b.p);
}

/* Long streams of near-max events: the buffers stop growing at the bound,
 * checked by sref_run after every chunking. */
Test(sse_bounds, buffers_stay_within_the_bound)
{
	const size_t max = 2048;
	uint64_t rng = 77;
	struct sref_buf b = { 0 };
	for (int i = 0; i < 60; i++) {
		sref_puts(&b, "data: ");
		sref_fill(&b, 'q', sref_below(&rng, max - 6));
		sref_puts(&b, "\n\n");
	}
	sref_all_chunkings("near-max events", b.p, b.len, max, 0, 50, 0, 11);
	free(b.p);
}

static int ts_count_cb(void *arg, const char *ev, size_t ev_len, const char *data,
		       size_t data_len)
{
	(void)ev;
	(void)ev_len;
	(void)data;
	(void)data_len;
	size_t *n = arg;
	return ++*n == 2 ? -ECANCELED : 0;
}

Test(sse_bounds, negative_callback_stops_the_feed)
{
	/* Three events in one read: the second callback stops; the third is
	 * never seen, and the stop is the feed's return value. */
	static const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	struct sse p;
	size_t n = 0;
	sse_init(&p, SREF_BIG, 0);
	cr_assert_eq(sse_feed(&p, in, sizeof in - 1, ts_count_cb, &n), -ECANCELED);
	cr_assert_eq(n, 2);
	sse_free(&p);
	/* From sse_finish too. */
	static const char in2[] = "data: 1\n\ndata: 2";
	n = 0;
	sse_init(&p, SREF_BIG, 0);
	cr_assert_eq(sse_feed(&p, in2, sizeof in2 - 1, ts_count_cb, &n), 0);
	cr_assert_eq(sse_finish(&p, ts_count_cb, &n), -ECANCELED);
	cr_assert_eq(n, 2);
	sse_free(&p);
}

/* ---- hostile input ---------------------------------------------------------- */

Test(sse_hostile, nul_bytes_and_invalid_utf8_pass_through)
{
	static const char in[] = "event: a\0b\ndata: x\0y\xFF\xC3(\xED\xA0\x80\ndata: \0\n\n";
	struct sref_ref ref;
	sref_ref_parse(in, sizeof in - 1, SREF_BIG, 0, &ref);
	cr_assert_eq(ref.n, 1);
	cr_assert_eq(ref.ev[0].name_len, 3);
	cr_assert(!memcmp(ref.ev[0].name, "a\0b", 3));
	cr_assert_eq(ref.ev[0].data_len, 11);
	cr_assert(!memcmp(ref.ev[0].data, "x\0y\xFF\xC3(\xED\xA0\x80\n\0", 11));
	sref_ref_free(&ref);
	sref_all_chunkings("NUL and invalid UTF-8", in, sizeof in - 1, SREF_BIG, 0, 100, 1, 3);
}

Test(sse_hostile, binary_garbage)
{
	uint64_t rng = 0xBAD;
	struct sref_buf b = { 0 };
	for (int t = 0; t < 6; t++) {
		b.len = 0;
		size_t n = 4096 + sref_below(&rng, 8192);
		for (size_t i = 0; i < n; i++) {
			/* Line ends and colons often enough to make fields of it. */
			size_t k = sref_below(&rng, 16);
			char c = k == 0 ? '\n' : k == 1 ? '\r' : k == 2 ? ':' : (char)sref_rand(&rng);
			sref_put(&b, &c, 1);
		}
		char label[32];
		snprintf(label, sizeof label, "garbage %d", t);
		sref_all_chunkings(label, b.p, b.len, t & 1 ? 64 : SREF_BIG, t >> 1 & 1, 30, 0, rng);
	}
	free(b.p);
}

/* 10 MB of bare line ends in reads of step bytes: no events and no growth
 * (at most the first, smallest buffer). */
static void ts_line_ends(char c, size_t step)
{
	const size_t n = 10 * 1000 * 1000;
	char *in = malloc(n);
	cr_assert(in);
	memset(in, c, n);
	struct sse p;
	size_t got = 0;
	sse_init(&p, 1024, c == '\r');
	for (size_t off = 0, k; off < n; off += k) {
		k = n - off < step ? n - off : step;
		cr_assert_eq(sse_feed(&p, in + off, k, sref_never, &got), 0);
	}
	cr_assert_eq(sse_finish(&p, sref_never, &got), 0);
	cr_assert_eq(got, 0);
	cr_assert_leq(p.line_cap + p.data_cap + p.stray_cap, 256);
	sse_free(&p);
	free(in);
}

Test(sse_hostile, ten_mb_of_lf)
{
	ts_line_ends('\n', SIZE_MAX);
}

Test(sse_hostile, ten_mb_of_cr)
{
	/* Reads of 64 KiB: a CR ends each one, waiting for an LF. */
	ts_line_ends('\r', 65536);
}

/*
 * Comment lines are never buffered, whole or split, however long: the
 * parser skips to the line end. So a 1 MB keep-alive comment passes under
 * a 64 KiB bound in any chunking, and the line buffer never grows past
 * its first 256 bytes. (Before, a comment split across reads was buffered
 * like any line, and failed the bound only when it arrived in pieces.)
 */
Test(sse_hostile, megabyte_comment_lines_are_not_buffered)
{
	const size_t max = 65536, clen = SREF_MIB;
	struct sref_buf b = { 0 };
	for (int i = 0; i < 3; i++) {
		sref_puts(&b, ":");
		sref_fill(&b, i == 1 ? ' ' : 'k', clen);
		sref_puts(&b, i == 2 ? "\r" : "\r\n");
		sref_puts(&b, "data: after\n\n");
	}
	static const size_t steps[] = { SIZE_MAX, 65536, 4093, 61 };
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		struct sse p;
		size_t got = 0;
		sse_init(&p, max, 1);
		for (size_t off = 0, k; off < b.len; off += k) {
			k = b.len - off < steps[s] ? b.len - off : steps[s];
			int rc = sse_feed(&p, b.p + off, k, sref_never, &got);
			if (rc || p.line_cap > 256)
				cr_assert_fail("chunks of %zu, at %zu: rc %d, line buffer %zu",
					       steps[s], off, rc, p.line_cap);
		}
		cr_assert_eq(sse_finish(&p, sref_never, &got), 0);
		cr_assert_eq(got, 3);
		sse_free(&p);
	}
	free(b.p);
}

Test(sse_hostile, bom_only_partial_bom_and_split_bom)
{
	SREF_EXPECT("\xEF\xBB\xBF", 0, 0, SREF_NONE);
	SREF_EXPECT("\xEF\xBB\xBF", 1, 0, SREF_NONE);
	/* A partial BOM at EOF is a line of its own: an unknown field, or a
	 * stray in stray mode; never a crash, never a hang. */
	SREF_EXPECT("\xEF", 0, 0, SREF_NONE);
	SREF_EXPECT("\xEF\xBB", 0, 0, SREF_NONE);
	SREF_EXPECT("\xEF\xBB", 1, 0, "", "\xEF\xBB");
	SREF_EXPECT("\xEF\xBB" "data: x\n\n", 1, 0, "", "\xEF\xBB" "data: x");
	SREF_EXPECT("\xEF\n" "data: x\n\n", 0, 0, "", "x");
	SREF_EXPECT("\xEF\xBB\r\n" "data: x\n\n", 1, 0, "", "\xEF\xBB", "", "x");
	SREF_EXPECT("\xEF\xBB\xBF" ":c\r\n" "data: x", 0, 1, "", "x");
}

Test(sse_hostile, empty_and_null_feeds)
{
	struct sse p;
	size_t got = 0;
	sse_init(&p, SREF_BIG, 0);
	cr_assert_eq(sse_feed(&p, NULL, 0, sref_never, &got), 0);
	cr_assert_eq(sse_feed(&p, "\xEF\xBB", 2, sref_never, &got), 0);
	cr_assert_eq(sse_feed(&p, NULL, 0, sref_never, &got), 0);
	cr_assert_eq(sse_feed(&p, "\xBF" "data: x\r", 9, sref_never, &got), 0);
	cr_assert_eq(sse_feed(&p, NULL, 0, sref_never, &got), 0);
	cr_assert_eq(sse_feed(&p, "\n\r", 2, sref_never, &got), 0);
	cr_assert_eq(got, 1);
	cr_assert_eq(sse_finish(&p, sref_never, &got), 0);
	cr_assert_eq(got, 1);
	cr_assert_eq(p.unterminated, 0);
	sse_free(&p);
	/* Finish on a fresh parser, and free twice (sse_free resets). */
	sse_init(&p, SREF_BIG, 1);
	cr_assert_eq(sse_finish(&p, sref_never, &got), 0);
	sse_free(&p);
	sse_free(&p);
	cr_assert_eq(got, 1);
}
