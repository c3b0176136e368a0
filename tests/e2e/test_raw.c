/*
 * test_raw.c — the protocol seen without libringside: a raw client on the
 * shm/ layer sends what the library would refuse to send (a REQUEST over
 * max_request, a sixth stream past the limit) and checks the sidecar's own
 * enforcement, frame by frame.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "shm/proto.h"

TestSuite(raw, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

#define RAW_LIMIT (64u * 1024u)

static void raw_connect(const struct h_sidecar *sc, struct h_raw *r)
{
	int rc = h_raw_connect(sc->sock, r);
	cr_assert(rc == 0, "raw connect: %s", strerror(-rc));
}

/* A valid body whose REQUEST (header + model + body) is exactly total bytes. */
static char *raw_body_for_total(size_t total, size_t *len, unsigned *words)
{
	char *base = h_body("", 1, -1, 2, -1, -1);
	size_t want = total - sizeof(struct proto_request) - strlen(H_MODEL);
	size_t plen = want - strlen(base);
	char *prompt = malloc(plen + 1);
	cr_assert(prompt);
	for (size_t i = 0; i < plen; i++)
		prompt[i] = i % 4 == 3 ? ' ' : 'z';
	prompt[plen - 1] = 'z';
	prompt[plen] = 0;
	char *b = h_body(prompt, 1, -1, 2, -1, -1);
	*len = strlen(b);
	cr_assert_eq(*len, want);
	*words = h_word_count(prompt);
	free(prompt);
	free(base);
	return b;
}

Test(raw, test_raw_oversized_request_gets_too_large)
{
	struct h_sidecar sc;
	/* A small submit ring, so the oversized request also has to wait for
	 * room between its fragments. */
	h_start(&sc, &(struct h_opts){ .limits = "max_request: 64KiB, submit_ring: 16KiB" });
	struct h_raw r;
	raw_connect(&sc, &r);
	struct h_set set = { 0 };
	char why[512];

	size_t len;
	unsigned words;
	char *b = raw_body_for_total(100u * 1024u, &len, &words);
	cr_assert_eq(h_raw_request(&r, 1, H_MODEL, b, len), 0);
	free(b);
	h_set_add(&set, 1);
	cr_assert_eq(h_raw_drain(&r, &set, H_EVENT_MS), 0);
	cr_assert(h_check_error(&set.v[0], RS_ERR_TOO_LARGE, why, sizeof why) == 0, "%s", why);

	/* The same connection carries on: a normal request... */
	const char *prompt = "small and fine after the giant";
	b = h_body(prompt, 1, -1, -1, -1, -1);
	cr_assert_eq(h_raw_request(&r, 2, H_MODEL, b, strlen(b)), 0);
	free(b);
	h_set_add(&set, 2);
	/* ...one byte over the limit... */
	b = raw_body_for_total(RAW_LIMIT + 1, &len, &words);
	cr_assert_eq(h_raw_request(&r, 3, H_MODEL, b, len), 0);
	free(b);
	h_set_add(&set, 3);
	/* ...and exactly at it. */
	b = raw_body_for_total(RAW_LIMIT, &len, &words);
	cr_assert_eq(h_raw_request(&r, 4, H_MODEL, b, len), 0);
	free(b);
	h_set_add(&set, 4);
	cr_assert_eq(h_raw_drain(&r, &set, H_EVENT_MS), 0);
	cr_assert(h_check_done(h_set_find(&set, 2), H_PROVIDER, H_UPSTREAM, prompt,
			       h_word_count(prompt), h_word_count(prompt), "stop", why,
			       sizeof why) == 0, "%s", why);
	cr_assert(h_check_error(h_set_find(&set, 3), RS_ERR_TOO_LARGE, why, sizeof why) == 0,
		  "one byte over: %s", why);
	const struct h_stream *st = h_set_find(&set, 4);
	cr_assert(h_check_done(st, H_PROVIDER, H_UPSTREAM, "zzz zzz", words, 2,
			       "length", why, sizeof why) == 0, "exactly at the limit: %s", why);
	cr_assert_eq(set.foreign, 0);
	cr_assert_eq(h_stat(&sc, "requests_too_large"), 2);
	cr_assert_eq(h_stat(&sc, "clients_killed"), 0);
	h_wait_stat(&sc, "streams_active", 0);
	struct rs_event ev;
	cr_assert_eq(h_raw_next(&r, &ev, 0), 0, "event after every stream ended");
	h_raw_close(&r);
	h_wait_stat(&sc, "clients_connected", 0);
	h_set_free(&set);
	h_stop(&sc);
}

/* The library never exceeds max_streams_per_client, but the sidecar must not
 * trust that: a fifth REQUEST waits in the ring until a stream ends. (Frames
 * behind it wait too, CANCEL included: by design a client over its limit
 * only stalls itself, so the stream that frees the slot ends on its own.) */
Test(raw, test_raw_stream_limit_enforced_by_sidecar)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "max_streams_per_client: 4" });
	struct h_raw r;
	raw_connect(&sc, &r);
	struct h_set set = { 0 };
	char *endless = h_body("endless raw stream", 1, 1000000, -1, 0, 1000);
	for (uint64_t id = 1; id <= 3; id++) {
		cr_assert_eq(h_raw_request(&r, id, H_MODEL, endless, strlen(endless)), 0);
		h_set_add(&set, id);
	}
	/* The fourth ends by itself after 50 tokens. */
	const char *p4 = "fourth ends soon";
	char *b = h_body(p4, 1, 50, -1, 0, 1000);
	cr_assert_eq(h_raw_request(&r, 4, H_MODEL, b, strlen(b)), 0);
	free(b);
	h_set_add(&set, 4);
	const char *p5 = "the fifth waits its turn";
	b = h_body(p5, 1, -1, -1, -1, -1);
	cr_assert_eq(h_raw_request(&r, 5, H_MODEL, b, strlen(b)), 0);
	free(b);
	h_set_add(&set, 5);
	/* Bounded: the endless streams never stop talking. */
	for (unsigned n = 0; h_set_find(&set, 5)->phase != H_ENDED; n++) {
		cr_assert(n < 100000, "the fifth stream never ended");
		struct rs_event ev;
		cr_assert_eq(h_raw_next(&r, &ev, H_EVENT_MS), 1);
		h_set_event(&set, &ev);
	}
	const struct h_stream *s4 = h_set_find(&set, 4), *s5 = h_set_find(&set, 5);
	char why[512];
	char *want4 = h_expected_reply(p4, 50, -1);
	cr_assert(h_check_done(s4, H_PROVIDER, H_UPSTREAM, want4, h_word_count(p4), 50, "stop", why,
			       sizeof why) == 0, "%s", why);
	free(want4);
	cr_assert(h_check_done(s5, H_PROVIDER, H_UPSTREAM, p5, h_word_count(p5), h_word_count(p5),
			       "stop", why, sizeof why) == 0, "%s", why);
	/* Causal order, not timing: the fifth could only start once the
	 * fourth had ended. */
	cr_assert(s5->seq_start > s4->seq_end, "fifth stream started (event %llu) before the "
		  "fourth ended (event %llu)", (unsigned long long)s5->seq_start,
		  (unsigned long long)s4->seq_end);
	for (uint64_t id = 1; id <= 3; id++)
		cr_assert_eq(h_raw_send(&r, PROTO_CANCEL, id, NULL, 0), 0);
	cr_assert_eq(h_raw_drain(&r, &set, H_EVENT_MS), 0);
	for (uint64_t id = 1; id <= 3; id++)
		cr_assert(h_check_error(h_set_find(&set, id), RS_ERR_CANCELLED, why, sizeof why) == 0,
			  "%s", why);
	cr_assert_eq(h_stat(&sc, "clients_killed"), 0);
	h_raw_close(&r);
	h_wait_stat(&sc, "clients_connected", 0);
	h_wait_stat(&sc, "streams_active", 0);
	free(endless);
	h_set_free(&set);
	h_stop(&sc);
}
