/*
 * test_streams.c — one client, many streams in flight: every event reaches
 * its own stream, every stream carries exactly the mock's reply, and every
 * stream ends exactly once, bad requests included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(streams, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

struct case_ok {
	const char *model, *upstream;
	const char *prompt;
	long tokens, max_tokens;
	const char *finish;
	uint64_t id;
};

/* A word longer than the mock's 256-byte DELTA, so one token arrives as
 * several DELTAs that must still join up. */
static char *long_word_prompt(void)
{
	char *p = malloc(700);
	cr_assert(p);
	strcpy(p, "before ");
	size_t n = strlen(p);
	for (int i = 0; i < 600; i++)
		p[n++] = (char)('a' + i % 26);
	strcpy(p + n, " after");
	return p;
}

/* Was any of the sentinel's events between this stream's START and end? */
static int overlapped(const struct h_stream *st, const uint64_t *seqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (seqs[i] > st->seq_start && seqs[i] < st->seq_end)
			return 1;
	return 0;
}

Test(streams, test_concurrent_streams_demultiplex_by_id)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	char *longp = long_word_prompt();
	struct case_ok cases[] = {
		{ H_MODEL, H_UPSTREAM, "the quick brown fox jumps over the lazy dog", -1, -1, "stop", 0 },
		{ H_MODEL_B, H_UPSTREAM_B, "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac",
		  -1, -1, "stop", 0 },
		{ H_MODEL, H_UPSTREAM, longp, -1, -1, "stop", 0 },
		{ H_MODEL, H_UPSTREAM, "one two three", 31, -1, "stop", 0 },
		{ H_MODEL, H_UPSTREAM, "a b c d e f g h i j k l", -1, 5, "length", 0 },
		{ H_MODEL, H_UPSTREAM, "  leading\tand\nodd \r\n whitespace  ", -1, -1, "stop", 0 },
		{ H_MODEL, H_UPSTREAM, "", -1, -1, "stop", 0 },
		{ H_MODEL, H_UPSTREAM, "nothing at all", -1, 1, "length", 0 },
		{ H_MODEL, H_UPSTREAM, "silent", 0, -1, "stop", 0 },
	};
	size_t ncases = sizeof cases / sizeof cases[0];
	struct h_set set = { 0 };

	/* The sentinel talks every millisecond until cancelled; the others
	 * are paced at 2 ms per token, so the loop's timers necessarily put
	 * sentinel events between theirs: proof the streams overlapped. */
	char *b = h_body("sentinel keeps talking", 1, 1000000, -1, 0, 1000);
	uint64_t sentinel = h_submit(c, H_MODEL, b);
	free(b);
	h_set_add(&set, sentinel);
	for (size_t i = 0; i < ncases; i++) {
		b = h_body(cases[i].prompt, 1, cases[i].tokens, cases[i].max_tokens, 1000, 2000);
		cases[i].id = h_submit(c, cases[i].model, b);
		free(b);
		h_set_add(&set, cases[i].id);
	}
	/* Non-streaming, and three requests that must fail alone. */
	b = h_body("all at once please", 0, -1, -1, -1, -1);
	uint64_t whole = h_submit(c, H_MODEL, b);
	free(b);
	h_set_add(&set, whole);
	b = h_body("who are you", 1, -1, -1, -1, -1);
	uint64_t unknown = h_submit(c, "no-such-model", b);
	free(b);
	h_set_add(&set, unknown);
	uint64_t malformed = h_submit(c, H_MODEL, "{\"messages\": [{\"role\": \"user\", \"content\": ");
	h_set_add(&set, malformed);
	uint64_t invalid = h_submit(c, H_MODEL, "{\"messages\": \"not an array\"}");
	h_set_add(&set, invalid);

	/* Read until all but the sentinel ended, noting where its events fall. */
	size_t nseq = 0, capseq = 1024;
	uint64_t *seqs = malloc(capseq * sizeof *seqs);
	cr_assert(seqs);
	while (set.open > 1) {
		struct rs_event ev;
		int rc = rs_next(c, &ev, H_EVENT_MS);
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(&set, &ev);
		if (ev.stream == sentinel) {
			if (nseq == capseq) {
				capseq *= 2;
				seqs = realloc(seqs, capseq * sizeof *seqs);
				cr_assert(seqs);
			}
			seqs[nseq++] = set.seq;
		}
	}
	char why[512];
	for (size_t i = 0; i < ncases; i++) {
		const struct h_stream *st = h_set_find(&set, cases[i].id);
		char *want = h_expected_reply(cases[i].prompt, cases[i].tokens, cases[i].max_tokens);
		/* Each token is one word and they are joined by single spaces. */
		unsigned kw = h_word_count(want);
		unsigned pw = h_word_count(cases[i].prompt);
		cr_assert(h_check_done(st, H_PROVIDER, cases[i].upstream, want, pw, kw,
				       cases[i].finish, why, sizeof why) == 0, "case %zu: %s", i, why);
		/* START is written with a stream's first event, so a reply of one
		 * token (or none) is START, DELTA and DONE in one go: nothing can
		 * fall between. Longer ones are paced 2 ms per token. */
		if (kw > 1)
			cr_assert(overlapped(st, seqs, nseq), "case %zu: no sentinel event inside the stream",
				  i);
		free(want);
	}
	const struct h_stream *st = h_set_find(&set, whole);
	cr_assert(h_check_done(st, H_PROVIDER, H_UPSTREAM, "all at once please", 4, 4, "stop", why,
			       sizeof why) == 0, "stream:false: %s", why);
	cr_assert_eq(st->n_delta, 1, "a short non-streamed reply comes in one DELTA, got %u",
		     st->n_delta);
	st = h_set_find(&set, unknown);
	cr_assert(h_check_error(st, RS_ERR_UNKNOWN_MODEL, why, sizeof why) == 0, "%s", why);
	cr_assert_eq(st->n_start, 0, "an unknown model must not START");
	st = h_set_find(&set, malformed);
	cr_assert(h_check_error(st, RS_ERR_BAD_REQUEST, why, sizeof why) == 0, "%s", why);
	cr_assert_eq(st->n_start + st->n_delta, 0);
	st = h_set_find(&set, invalid);
	cr_assert(h_check_error(st, RS_ERR_BAD_REQUEST, why, sizeof why) == 0, "%s", why);
	cr_assert_eq(set.foreign, 0, "%u events of unknown streams", set.foreign);

	cr_assert_eq(rs_cancel(c, sentinel), RS_OK);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	st = h_set_find(&set, sentinel);
	cr_assert(h_check_error(st, RS_ERR_CANCELLED, why, sizeof why) == 0, "sentinel: %s", why);

	/* Once the sidecar has freed every stream, anything it wrote is in the
	 * ring: nothing may follow a terminal event. */
	h_wait_stat(&sc, "streams_active", 0);
	struct rs_event ev;
	cr_assert_eq(rs_next(c, &ev, 0), RS_ETIMEDOUT, "event after every stream ended");
	cr_assert_eq(rs_open_streams(c), 0);
	cr_assert_eq(h_stat(&sc, "streams_total"), set.n);
	cr_assert_eq(h_stat(&sc, "requests_bad"), 2);
	cr_assert_eq(h_stat(&sc, "streams_done"), ncases + 1);
	cr_assert_eq(h_stat(&sc, "streams_error"), 4);
	/* Every event the sidecar wrote was read, once. */
	cr_assert_eq(h_stat(&sc, "events_written"), set.seq);
	rs_close(c);
	h_wait_stat(&sc, "clients_connected", 0);
	free(seqs);
	free(longp);
	h_set_free(&set);
	h_stop(&sc);
}

/* A non-streamed reply larger than one event frame arrives as several DELTAs
 * (a quarter of the 16 KiB ring each) that add up exactly. */
Test(streams, test_non_streaming_reply_spans_frames)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "event_ring: 16KiB" });
	rs_client *c = h_connect(&sc);
	const char *prompt = "lorem ipsum dolor sit amet consectetur";
	char *b = h_body(prompt, 0, 5000, -1, -1, -1);
	struct h_set set = { 0 };
	h_set_add(&set, h_submit(c, H_MODEL, b));
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char *want = h_expected_reply(prompt, 5000, -1);
	char why[512];
	cr_assert(h_check_done(&set.v[0], H_PROVIDER, H_UPSTREAM, want, 6, 5000, "stop", why,
			       sizeof why) == 0, "%s", why);
	cr_assert(set.v[0].n_delta > 1, "%zu bytes in %u DELTA", strlen(want), set.v[0].n_delta);
	free(want);
	free(b);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

/* Requests of several fragments each, many in flight, through a 16 KiB
 * submit ring: fragments wrap around the ring and rs_submit has to wait for
 * room; the echo proves every byte of every body arrived in order. */
Test(streams, test_large_requests_wrap_submit_ring)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "submit_ring: 16KiB" });
	rs_client *c = h_connect(&sc);
	enum { NREQ = 30, WORDS = 1200 };
	char *prompts[NREQ];
	struct h_set set = { 0 };
	for (int i = 0; i < NREQ; i++) {
		size_t cap = WORDS * 16, n = 0;
		prompts[i] = malloc(cap);
		cr_assert(prompts[i]);
		for (int w = 0; w < WORDS; w++)
			n += (size_t)snprintf(prompts[i] + n, cap - n, "%sr%d\xc3\xa9w%d", w ? " " : "",
					      i, w * 7 + i);
		char *b = h_body(prompts[i], i % 2, -1, -1, 0, 0);
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
	}
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char why[512];
	for (int i = 0; i < NREQ; i++) {
		cr_assert(h_check_done(&set.v[i], H_PROVIDER, H_UPSTREAM, prompts[i], WORDS, WORDS,
				       "stop", why, sizeof why) == 0, "request %d: %s", i, why);
		free(prompts[i]);
	}
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}
