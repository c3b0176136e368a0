/*
 * test_limits.c — configured limits refuse exactly what exceeds them, with a
 * typed error, and nothing else: max_request, max_clients,
 * max_streams_per_client.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "shm/proto.h"

TestSuite(limits, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

#define LIMIT_REQUEST (64u * 1024u)

/* A body of exactly `len` bytes: filler words in the prompt, at most
 * max_tokens of them echoed back so the reply stays small. */
static char *body_of_size(size_t len, int stream, unsigned *words)
{
	char *base = h_body("", stream, -1, 3, -1, -1);
	size_t bl = strlen(base);
	cr_assert(len > bl + 1);
	size_t plen = len - bl;
	char *prompt = malloc(plen + 1);
	cr_assert(prompt);
	for (size_t i = 0; i < plen; i++)
		prompt[i] = i % 3 == 2 ? ' ' : 'x';
	prompt[plen - 1] = 'x';
	prompt[plen] = 0;
	char *b = h_body(prompt, stream, -1, 3, -1, -1);
	cr_assert_eq(strlen(b), len);
	if (words)
		*words = h_word_count(prompt);
	free(prompt);
	free(base);
	return b;
}

Test(limits, test_oversized_request_refused_alone)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "max_request: 64KiB" });
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	const char *prompt = "in flight while a giant is refused";
	for (int i = 0; i < 3; i++) {
		char *b = h_body(prompt, 1, 200, -1, 0, 1000);
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
	}
	/* 100 KiB: refused by the library at once, nothing reaches the ring. */
	char *big = body_of_size(100u * 1024u, 1, NULL);
	struct rs_request rq = { .model = H_MODEL, .body = big, .body_len = strlen(big) };
	uint64_t id = 0;
	cr_assert_eq(rs_submit(c, &rq, &id), RS_ETOOBIG);
	char *bigp = malloc(100u * 1024u + 1);
	cr_assert(bigp);
	memset(bigp, 'y', 100u * 1024u);
	bigp[100u * 1024u] = 0;
	cr_assert_eq(rs_submit_prompt(c, H_MODEL, bigp, &id), RS_ETOOBIG);
	free(bigp);
	free(big);

	/* The limit counts header + model + body: exactly at it passes (as
	 * several fragments), one byte more does not. */
	size_t room = LIMIT_REQUEST - sizeof(struct proto_request) - strlen(H_MODEL);
	char *edge = body_of_size(room + 1, 0, NULL);
	rq.body = edge;
	rq.body_len = strlen(edge);
	cr_assert_eq(rs_submit(c, &rq, &id), RS_ETOOBIG);
	free(edge);
	unsigned words;
	edge = body_of_size(room, 0, &words);
	rq.body = edge;
	rq.body_len = strlen(edge);
	cr_assert_eq(rs_submit(c, &rq, &id), RS_OK, "a request of exactly max_request");
	free(edge);
	h_set_add(&set, id);

	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char why[512];
	char *want = h_expected_reply(prompt, 200, -1);
	for (int i = 0; i < 3; i++)
		cr_assert(h_check_done(&set.v[i], H_PROVIDER, H_UPSTREAM, want, h_word_count(prompt),
				       200, "stop", why, sizeof why) == 0, "%s", why);
	free(want);
	const struct h_stream *st = &set.v[3];
	cr_assert(h_check_done(st, H_PROVIDER, H_UPSTREAM, "xx xx xx", words, 3, "length", why,
			       sizeof why) == 0, "request at the limit: %s", why);
	cr_assert_eq(h_stat(&sc, "requests_too_large"), 0, "refused in the library, never sent");
	cr_assert_eq(h_stat(&sc, "streams_total"), 4);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

Test(limits, test_max_clients_refuses_then_admits)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "max_clients: 2" });
	rs_client *a = h_connect(&sc), *b = h_connect(&sc), *x = NULL;
	cr_assert_eq(rs_connect(sc.sock, &x), RS_EREFUSED);
	cr_assert_null(x);
	cr_assert_eq(h_stat(&sc, "clients_rejected"), 1);
	cr_assert_eq(h_stat(&sc, "clients_connected"), 2);
	rs_close(a);
	h_wait_stat(&sc, "clients_connected", 1);
	rs_client *c = h_connect(&sc);
	/* Both admitted clients work. */
	rs_client *both[] = { b, c };
	for (int i = 0; i < 2; i++) {
		struct h_set set = { 0 };
		char *body = h_body("admitted and served", 1, -1, -1, -1, -1);
		h_set_add(&set, h_submit(both[i], H_MODEL, body));
		free(body);
		cr_assert_eq(h_drain(both[i], &set, H_EVENT_MS), RS_OK);
		char why[512];
		cr_assert(h_check_done(&set.v[0], H_PROVIDER, H_UPSTREAM, "admitted and served", 3, 3,
				       "stop", why, sizeof why) == 0, "%s", why);
		h_set_free(&set);
	}
	rs_close(b);
	rs_close(c);
	h_wait_stat(&sc, "clients_connected", 0);
	cr_assert_eq(h_stat(&sc, "clients_total"), 3);
	h_stop(&sc);
}

Test(limits, test_max_streams_per_client_eagain)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "max_streams_per_client: 4" });
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	uint64_t endless[3];
	for (int i = 0; i < 3; i++) {
		char *b = h_body("never ending story", 1, 1000000, -1, 0, 1000);
		endless[i] = h_submit(c, H_MODEL, b);
		free(b);
		h_set_add(&set, endless[i]);
	}
	char *b = h_body("quick one", 1, -1, -1, -1, -1);
	uint64_t quick = h_submit(c, H_MODEL, b);
	h_set_add(&set, quick);
	cr_assert_eq(rs_open_streams(c), 4);
	uint64_t id = 0;
	struct rs_request rq = { .model = H_MODEL, .body = b, .body_len = strlen(b) };
	cr_assert_eq(rs_submit(c, &rq, &id), RS_EAGAIN, "fifth stream");
	cr_assert_eq(rs_submit_prompt(c, H_MODEL, "fifth", &id), RS_EAGAIN);
	/* Once one stream has ended (its DONE read) there is room again. */
	while (h_set_find(&set, quick)->phase != H_ENDED) {
		struct rs_event ev;
		cr_assert_eq(rs_next(c, &ev, H_EVENT_MS), RS_OK);
		h_set_event(&set, &ev);
	}
	char why[512];
	cr_assert(h_check_done(h_set_find(&set, quick), H_PROVIDER, H_UPSTREAM, "quick one", 2, 2,
			       "stop", why, sizeof why) == 0, "%s", why);
	cr_assert_eq(rs_submit(c, &rq, &id), RS_OK, "fifth stream after one ended");
	h_set_add(&set, id);
	cr_assert_eq(rs_submit(c, &rq, &id), RS_EAGAIN, "limit holds again");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(rs_cancel(c, endless[i]), RS_OK);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	for (int i = 0; i < 3; i++)
		cr_assert(h_check_error(h_set_find(&set, endless[i]), RS_ERR_CANCELLED, why,
					sizeof why) == 0, "%s", why);
	cr_assert(h_check_done(&set.v[4], H_PROVIDER, H_UPSTREAM, "quick one", 2, 2, "stop", why,
			       sizeof why) == 0, "%s", why);
	free(b);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}
