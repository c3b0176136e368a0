/*
 * test_scale.c — many client processes, each with many concurrent streams:
 * every byte of every stream checked, then the sidecar's counters show that
 * everything was accounted for and freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(scale, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

#define SCALE_CLIENTS 8
#define SCALE_STREAMS 64

/* Exit codes of a child, so the parent can say what went wrong. */
enum { CHILD_OK = 0, CHILD_CONNECT = 10, CHILD_SUBMIT, CHILD_NEXT, CHILD_CHECK, CHILD_FOREIGN };

struct scale_req {
	char prompt[160];
	long tokens, max_tokens;
	int stream;
	uint64_t id;
};

/* Distinct prompts of varying length; some cut by max_tokens, some cycling
 * past their words, some not streamed. */
static void scale_make(struct scale_req *r, int client, int i, long tokens)
{
	int n = snprintf(r->prompt, sizeof r->prompt, "client%d stream%d", client, i);
	for (int w = 0; w < i % 9; w++)
		n += snprintf(r->prompt + n, sizeof r->prompt - (size_t)n, " w%d-%d", w, client * i);
	r->tokens = -1;
	r->max_tokens = -1;
	r->stream = i % 16 != 7;
	if (i % 8 == 3)
		r->max_tokens = 2;
	if (i % 8 == 5)
		r->tokens = 3 * (2 + i % 9);
	else if (tokens >= 0)
		r->tokens = tokens;
}

static int scale_child(const char *sock, int k, int never_spin, long tokens)
{
	/* Half the clients never spin, so the sleep/wake path carries them. */
	if (never_spin || k % 2)
		setenv("RINGSIDE_SPIN_US", "0", 1);
	rs_client *c;
	int rc = rs_connect(sock, &c);
	if (rc) {
		fprintf(stderr, "child %d: rs_connect: %s\n", k, rs_strerror(rc));
		return CHILD_CONNECT;
	}
	static struct scale_req reqs[SCALE_STREAMS];
	struct h_set set = { 0 };
	for (int i = 0; i < SCALE_STREAMS; i++) {
		struct scale_req *r = &reqs[i];
		scale_make(r, k, i, tokens);
		char *b = h_body(r->prompt, r->stream, r->tokens, r->max_tokens, -1, -1);
		struct rs_request rq = { .model = H_MODEL, .body = b, .body_len = strlen(b) };
		rc = rs_submit(c, &rq, &r->id);
		free(b);
		if (rc) {
			fprintf(stderr, "child %d: rs_submit %d: %s\n", k, i, rs_strerror(rc));
			return CHILD_SUBMIT;
		}
		h_set_add(&set, r->id);
	}
	rc = h_drain(c, &set, H_EVENT_MS);
	if (rc) {
		fprintf(stderr, "child %d: rs_next: %s\n", k, rs_strerror(rc));
		return CHILD_NEXT;
	}
	for (int i = 0; i < SCALE_STREAMS; i++) {
		struct scale_req *r = &reqs[i];
		char *want = h_expected_reply(r->prompt, r->tokens, r->max_tokens);
		const char *finish = h_expected_finish(r->prompt, r->tokens, r->max_tokens);
		char why[512];
		int bad = h_check_done(h_set_find(&set, r->id), H_PROVIDER, H_UPSTREAM, want,
				       h_word_count(r->prompt), h_word_count(want), finish, why,
				       sizeof why);
		free(want);
		if (bad) {
			fprintf(stderr, "child %d: %s\n", k, why);
			return CHILD_CHECK;
		}
	}
	if (set.foreign)
		return CHILD_FOREIGN;
	h_set_free(&set);
	rs_close(c);
	return CHILD_OK;
}

static void scale_run(const char *limits, int never_spin, long tokens)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = limits });
	pid_t kids[SCALE_CLIENTS];
	for (int k = 0; k < SCALE_CLIENTS; k++) {
		kids[k] = h_fork();
		if (kids[k] == 0)
			_exit(scale_child(sc.sock, k, never_spin, tokens));
	}
	for (int k = 0; k < SCALE_CLIENTS; k++) {
		int st = h_wait_pid(kids[k], 2 * H_WAIT_MS);
		cr_assert(st >= 0, "client %d did not finish", k);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == CHILD_OK,
			  "client %d failed (status 0x%x; see its stderr)", k, st);
	}
	h_wait_stat(&sc, "clients_connected", 0);
	h_wait_stat(&sc, "segments_live", 0);
	cr_assert_eq(h_stat(&sc, "streams_active"), 0);
	cr_assert_eq(h_stat(&sc, "streams_total"), SCALE_CLIENTS * SCALE_STREAMS);
	cr_assert_eq(h_stat(&sc, "streams_done"), SCALE_CLIENTS * SCALE_STREAMS);
	cr_assert_eq(h_stat(&sc, "streams_dropped"), 0);
	cr_assert_eq(h_stat(&sc, "clients_total"), SCALE_CLIENTS);
	cr_assert_eq(h_stat(&sc, "segment_bytes_live"), 0);
	h_stop(&sc);
}

Test(scale, test_many_clients_many_streams_exact_text)
{
	scale_run(NULL, 0, -1);
}

/* Nobody spins: every hand-over in both directions is a sleep and a bell,
 * the path where a lost wake-up would hang a stream. Longer replies into
 * small event rings make the sidecar pause and resume streams as well. */
Test(scale, test_many_clients_no_spin_small_rings)
{
	scale_run("spin_us: 0, event_ring: 16KiB", 1, 40);
}
