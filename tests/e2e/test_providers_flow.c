/*
 * test_providers_flow.c — how an upstream transfer ends when it does not end
 * by itself: the provider's deadlines (first chunk, idle, total; also while
 * the response headers have not arrived), a provider nobody listens for,
 * the client's CANCEL and the client's death. Each ends the stream with one
 * typed ERROR, and a transfer the sidecar gives up is aborted: mockllm sees
 * the connection go away mid-reply (its requests_cancelled) and the
 * sidecar's pool counts it (upstream_aborted) and holds nothing
 * (upstream_active 0).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness_mockllm.h"

/* One attempt per request: these are one attempt's deadlines and flow
 * (retries of a timed-out attempt are test_resilience.c's). */
static void f_init(void)
{
	h_ml_extra_yaml(H_ML_ONE_ATTEMPT);
}

TestSuite(providers_flow, .init = f_init, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

/* Deadlines short enough to keep the suite quick, and far below the
 * delays the knobs ask mockllm for (1 s): which one wins is not a race. */
#define F_DEADLINE "200ms"
#define F_LATE_US "1000000"

/* A stream that would run for ~2 minutes: only a cancel, a deadline or a
 * death ends it. */
#define F_LONG_KNOBS "tokens=100000,itl_us=1000"

/* The sidecar let go of every transfer of provider prov and aborted n. */
static void f_assert_aborted(const struct h_ml_env *e, const char *prov, uint64_t n)
{
	char key[96];
	h_wait_stat(&e->sc, h_ml_pool_key(key, sizeof key, "upstream_active", prov), 0);
	h_wait_stat(&e->sc, h_ml_pool_key(key, sizeof key, "upstream_aborted", prov), n);
	h_wait_stat(&e->sc, "streams_active", 0);
}

/* Aliases "<kind>-<name>" for every kind, with the same knobs. */
static void f_alias_all(struct h_ml_aliases *as, const char *name, const char *knobs)
{
	for (int k = 0; k < H_ML_NKINDS; k++) {
		char alias[32];
		snprintf(alias, sizeof alias, "%s-%s", h_ml_kinds[k].kind, name);
		h_ml_alias_add(as, alias, &h_ml_kinds[k], knobs);
	}
}

/* One request to "<kind>-<name>" for every kind at once (each kind has a
 * pool of its own), read to the end; set->v[k] is kind k's stream. */
static void f_run_all(struct h_ml_env *e, const char *name, int stream, struct h_set *set)
{
	memset(set, 0, sizeof *set);
	for (int k = 0; k < H_ML_NKINDS; k++) {
		char alias[32];
		snprintf(alias, sizeof alias, "%s-%s", h_ml_kinds[k].kind, name);
		char *b = h_body(H_ML_PROMPT, stream, -1, -1, -1, -1);
		h_set_add(set, h_submit(e->c, alias, b));
		free(b);
	}
	int rc = h_drain(e->c, set, H_EVENT_MS);
	cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
}

/* Every kind's stream ended in one ERROR(timeout) after exactly `tokens`
 * tokens of text (negative: any number, one token per DELTA). The failing
 * kinds are listed together, so one run says which adapters are wrong. */
static void f_assert_timeouts(const struct h_set *set, const char *what, long tokens)
{
	char bad[2048] = "";
	size_t n = 0;
	for (int k = 0; k < H_ML_NKINDS && n < sizeof bad - 1; k++) {
		const struct h_stream *st = &set->v[k];
		const char *text = st->text ? st->text : "";
		char why[512] = "";
		if (h_check_error(st, RS_ERR_TIMEOUT, why, sizeof why) == 0) {
			char *want = h_expected_reply(H_ML_PROMPT, tokens >= 0 ? tokens : st->n_delta, -1);
			if (strcmp(text, want))
				snprintf(why, sizeof why, "text '%s', want '%s'", text, want);
			free(want);
		} else if (st->n_done) {
			snprintf(why, sizeof why, "DONE '%s' after %zu bytes of text", st->finish, st->len);
		}
		if (why[0])
			n += (size_t)snprintf(bad + n, sizeof bad - n, "\n  %s: %s", h_ml_kinds[k].kind,
					      why);
	}
	cr_assert(!bad[0], "%s:%s", what, bad);
}

/* ---- deadlines ------------------------------------------------------------------------ */

/* Nothing of the response yet, not even its status line: the first-chunk
 * deadline covers the wait for headers too. (A non-streamed answer arrives
 * whole at its end, so only the total deadline applies to it: below.) */
Test(providers_flow, test_first_chunk_timeout_before_headers)
{
	struct h_ml_aliases as = { 0 };
	f_alias_all(&as, "slowhead", "slow_headers_us=" F_LATE_US);
	struct h_ml_env e;
	h_ml_up(&e, NULL, "first_chunk_timeout: " F_DEADLINE, &as);
	struct h_set set;
	f_run_all(&e, "slowhead", 1, &set);
	f_assert_timeouts(&set, "slow headers", 0);
	h_set_free(&set);
	h_ml_wait_stat(&e.ml, "requests_cancelled", H_ML_NKINDS);
	for (int k = 0; k < H_ML_NKINDS; k++)
		f_assert_aborted(&e, h_ml_kinds[k].provider, 1);
	h_ml_down(&e);
}

/* Headers (and, for some formats, an opening event such as OpenAI's role
 * chunk or Anthropic's message_start) at once, the first token late: the
 * stream has no first chunk of the answer yet. */
Test(providers_flow, test_first_chunk_timeout_before_first_token)
{
	struct h_ml_aliases as = { 0 };
	f_alias_all(&as, "late", "ttft_us=" F_LATE_US);
	struct h_ml_env e;
	h_ml_up(&e, NULL, "first_chunk_timeout: " F_DEADLINE, &as);
	struct h_set set;
	f_run_all(&e, "late", 1, &set);
	f_assert_timeouts(&set, "late first token", 0);
	h_set_free(&set);
	h_ml_down(&e);
}

/* The total deadline also runs while the headers have not come, streamed
 * or not. */
Test(providers_flow, test_total_timeout_before_headers)
{
	struct h_ml_aliases as = { 0 };
	f_alias_all(&as, "slowhead", "slow_headers_us=" F_LATE_US);
	struct h_ml_env e;
	h_ml_up(&e, NULL, "total_timeout: " F_DEADLINE, &as);
	struct h_set set;
	f_run_all(&e, "slowhead", 1, &set);
	f_assert_timeouts(&set, "slow headers, streamed", 0);
	h_set_free(&set);
	f_run_all(&e, "slowhead", 0, &set);
	f_assert_timeouts(&set, "slow headers, not streamed", 0);
	h_set_free(&set);
	h_ml_wait_stat(&e.ml, "requests_cancelled", 2 * H_ML_NKINDS);
	for (int k = 0; k < H_ML_NKINDS; k++)
		f_assert_aborted(&e, h_ml_kinds[k].provider, 2);
	h_ml_down(&e);
}

Test(providers_flow, test_idle_timeout_after_two_tokens)
{
	struct h_ml_aliases as = { 0 };
	f_alias_all(&as, "stall", "tokens=10,itl_us=1000,stall_after=2");
	struct h_ml_env e;
	h_ml_up(&e, NULL, "idle_timeout: " F_DEADLINE, &as);
	struct h_set set;
	f_run_all(&e, "stall", 1, &set);
	f_assert_timeouts(&set, "stalled stream", 2);
	h_set_free(&set);
	h_ml_wait_stat(&e.ml, "requests_cancelled", H_ML_NKINDS);
	for (int k = 0; k < H_ML_NKINDS; k++)
		f_assert_aborted(&e, h_ml_kinds[k].provider, 1);
	h_ml_down(&e);
}

/* The total deadline ends streams that are still flowing, whichever timer
 * notices first: the adapter's, or curl's backstop (upstream.c sets
 * CURLOPT_TIMEOUT_MS to the same total). Which one that is varies from run
 * to run, so a few rounds give both their chance. */
#define F_TOTAL_ROUNDS 4

Test(providers_flow, test_total_timeout_while_streaming)
{
	struct h_ml_aliases as = { 0 };
	f_alias_all(&as, "long", F_LONG_KNOBS);
	struct h_ml_env e;
	h_ml_up(&e, NULL, "total_timeout: 300ms", &as);
	for (int round = 0; round < F_TOTAL_ROUNDS; round++) {
		struct h_set set;
		f_run_all(&e, "long", 1, &set);
		f_assert_timeouts(&set, "total deadline mid-stream", -1);
		h_set_free(&set);
	}
	h_ml_wait_stat(&e.ml, "requests_cancelled", F_TOTAL_ROUNDS * H_ML_NKINDS);
	for (int k = 0; k < H_ML_NKINDS; k++)
		f_assert_aborted(&e, h_ml_kinds[k].provider, F_TOTAL_ROUNDS);
	h_ml_down(&e);
}

/* Nobody listens at the provider's address: a typed, retryable error. */
Test(providers_flow, test_connect_refused_is_unavailable)
{
	struct h_ml_aliases as = { 0 };
	for (int k = 0; k < H_ML_NKINDS; k++)
		h_ml_alias_add(&as, h_ml_kinds[k].kind, &h_ml_kinds[k], NULL);
	struct h_ml_env e;
	memset(&e, 0, sizeof e);
	h_ml_sidecar(&e.sc, h_ml_dead_port(), NULL, NULL, as.a, as.n);
	e.c = h_connect(&e.sc);
	for (int k = 0; k < H_ML_NKINDS; k++) {
		struct h_ml_res r;
		h_ml_run(&e, h_ml_kinds[k].kind, 1, &r);
		char why[512];
		cr_assert(h_check_error(r.st, RS_ERR_UNAVAILABLE, why, sizeof why) == 0, "%s: %s",
			  h_ml_kinds[k].kind, why);
		cr_assert(r.o.retryable == 1 && r.o.http_status == 0, "%s: retryable %d status %d",
			  h_ml_kinds[k].kind, r.o.retryable, r.o.http_status);
		cr_assert(r.st->n_delta == 0);
		h_ml_res_free(&r);
	}
	rs_close(e.c);
	h_stop(&e.sc);
}

/* ---- cancel and death ----------------------------------------------------------------- */

/* Read events until the stream has n DELTAs. */
static void f_read_deltas(rs_client *c, struct h_set *set, struct h_stream *st, unsigned n)
{
	while (st->n_delta < n) {
		struct rs_event ev;
		int rc = rs_next(c, &ev, H_EVENT_MS);
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(set, &ev);
		cr_assert(st->phase != H_ENDED, "stream ended early: %d %s", st->err_code, st->err_msg);
	}
}

/* Every kind in turn on one mockllm: CANCEL after a few DELTAs aborts the
 * upstream transfer mid-reply. */
Test(providers_flow, test_cancel_aborts_upstream_every_kind)
{
	struct h_ml_aliases as = { 0 };
	for (int k = 0; k < H_ML_NKINDS; k++)
		h_ml_alias_add(&as, h_ml_kinds[k].kind, &h_ml_kinds[k], F_LONG_KNOBS);
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	for (int k = 0; k < H_ML_NKINDS; k++) {
		const struct h_ml_kind *kd = &h_ml_kinds[k];
		char *b = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
		struct h_set set = { 0 };
		struct h_stream *st = h_set_add(&set, h_submit(e.c, kd->kind, b));
		free(b);
		f_read_deltas(e.c, &set, st, 3);
		cr_assert_eq(rs_cancel(e.c, st->id), RS_OK);
		cr_assert_eq(h_drain(e.c, &set, H_EVENT_MS), RS_OK);
		char why[512];
		cr_assert(h_check_error(st, RS_ERR_CANCELLED, why, sizeof why) == 0, "%s: %s",
			  kd->kind, why);
		h_ml_wait_stat(&e.ml, "requests_cancelled", (uint64_t)k + 1);
		f_assert_aborted(&e, kd->provider, 1);
		h_set_free(&set);
	}
	h_ml_down(&e);
}

/* Child: one long stream per kind; say so once each has three DELTAs, then
 * wait to be killed. */
static int f_doomed_child(const char *sock, int report_fd)
{
	rs_client *c;
	if (rs_connect(sock, &c))
		return 10;
	uint64_t ids[H_ML_NKINDS];
	unsigned deltas[H_ML_NKINDS] = { 0 };
	for (int k = 0; k < H_ML_NKINDS; k++) {
		char alias[32];
		snprintf(alias, sizeof alias, "%s-long", h_ml_kinds[k].kind);
		char *b = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
		struct rs_request rq = { .model = alias, .body = b, .body_len = strlen(b) };
		int rc = rs_submit(c, &rq, &ids[k]);
		free(b);
		if (rc)
			return 11;
	}
	for (int ready = 0; ready < H_ML_NKINDS;) {
		struct rs_event ev;
		if (rs_next(c, &ev, H_EVENT_MS))
			return 12;
		if (ev.type == RS_EV_DONE || ev.type == RS_EV_ERROR)
			return 13;
		for (int k = 0; k < H_ML_NKINDS; k++)
			if (ev.stream == ids[k] && ev.type == RS_EV_DELTA && ++deltas[k] == 3)
				ready++;
	}
	if (write(report_fd, "x", 1) != 1)
		return 14;
	for (;;)
		pause();
}

/* Killed mid-stream, the client cannot cancel: its death does, for every
 * kind's transfer. */
Test(providers_flow, test_client_death_aborts_upstream)
{
	struct h_ml_aliases as = { 0 };
	f_alias_all(&as, "long", F_LONG_KNOBS);
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	int p[2];
	cr_assert(pipe(p) == 0);
	pid_t kid = h_fork();
	if (kid == 0) {
		close(p[0]);
		_exit(f_doomed_child(e.sc.sock, p[1]));
	}
	close(p[1]);
	char x;
	/* Bounded: the child exits (closing the pipe) when its reads time out. */
	cr_assert(read(p[0], &x, 1) == 1, "the child did not get its DELTAs (status 0x%x)",
		  h_wait_pid(kid, H_WAIT_MS));
	close(p[0]);
	cr_assert_eq(h_ml_stat(&e.ml, "requests_cancelled"), 0);
	cr_assert(kill(kid, SIGKILL) == 0);
	cr_assert(h_wait_pid(kid, H_WAIT_MS) >= 0);
	h_wait_stat(&e.sc, "clients_connected", 1); /* ours, from h_ml_up */
	h_ml_wait_stat(&e.ml, "requests_cancelled", H_ML_NKINDS);
	for (int k = 0; k < H_ML_NKINDS; k++)
		f_assert_aborted(&e, h_ml_kinds[k].provider, 1);
	h_ml_down(&e);
}
