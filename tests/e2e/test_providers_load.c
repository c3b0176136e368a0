/*
 * test_providers_load.c — real providers under load: a client that stops
 * reading pauses the upstream transfer instead of growing the sidecar's
 * memory; connections are reused (mockllm sees far fewer connections than
 * requests); streams to one provider run side by side; many clients with
 * many streams over every kind get every byte right; and SIGTERM with
 * transfers in flight ends every stream and closes every connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness_mockllm.h"

TestSuite(providers_load, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

static const struct h_ml_kind *const l_oa = &h_ml_kinds[H_ML_KIND_OPENAI];

/* ---- a slow reader ---------------------------------------------------------------------- */

/* Resident memory of pid in KiB (VmRSS of /proc/PID/status). */
static uint64_t l_rss_kib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	char *s = h_read_file(path, NULL);
	cr_assert(s, "cannot read %s", path);
	const char *p = strstr(s, "\nVmRSS:");
	cr_assert(p, "no VmRSS in %s", path);
	unsigned long long kib = strtoull(p + 7, NULL, 10);
	free(s);
	return kib;
}

/* Unpaced, ~40 MB of SSE for ~1.2 MB of text: far more than any buffer the
 * sidecar may hold for one stream, so unbounded buffering would show. */
#define L_FLOOD_TOKENS 200000
/* How much the sidecar's memory may move while the stream stays paused:
 * allocator noise, not the stream (which would be tens of MiB). */
#define L_RSS_SLACK_KIB (4u * 1024u)

Test(providers_load, test_slow_reader_pauses_upstream_memory_bounded)
{
	struct h_ml_aliases as = { 0 };
	char knobs[32];
	snprintf(knobs, sizeof knobs, "tokens=%d", L_FLOOD_TOKENS);
	const char *model = h_ml_alias_add(&as, "flood", l_oa, knobs);
	struct h_ml_env e;
	h_ml_up(&e, "event_ring: 16KiB", NULL, &as);
	char *b = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
	struct h_set set = { 0 };
	struct h_stream *st = h_set_add(&set, h_submit(e.c, "flood", b));
	free(b);
	/* Not reading: the ring fills and the transfer must pause. */
	h_wait_stat_ge(&e.sc, "ring_full_pauses", 1);
	uint64_t rss1 = l_rss_kib(e.sc.pid);
	uint64_t sent1 = h_ml_stat(&e.ml, "bytes_sent");
	/* Still not reading, for a while: whatever mockllm can push into the
	 * sockets in that time must not end up in the sidecar's heap. */
	h_sleep_ms(400);
	uint64_t rss2 = l_rss_kib(e.sc.pid);
	uint64_t sent2 = h_ml_stat(&e.ml, "bytes_sent");
	cr_assert(rss2 <= rss1 + L_RSS_SLACK_KIB,
		  "sidecar grew from %llu to %llu KiB while its client read nothing",
		  (unsigned long long)rss1, (unsigned long long)rss2);
	/* The upstream felt the pause too: it could not send the reply. */
	cr_assert(sent2 < (uint64_t)L_FLOOD_TOKENS * 100,
		  "mockllm sent %llu bytes (%llu at the first pause) to a paused transfer",
		  (unsigned long long)sent2, (unsigned long long)sent1);
	cr_assert_eq(st->n_delta, 0);
	/* Now read it all: every token, in order, then DONE. */
	cr_assert_eq(h_drain(e.c, &set, H_EVENT_MS), RS_OK);
	char *want = h_expected_reply(H_ML_PROMPT, L_FLOOD_TOKENS, -1);
	char why[512];
	cr_assert(h_check_done(st, H_ML_OPENAI, model, want, H_ML_WORDS, L_FLOOD_TOKENS, "stop", why,
			       sizeof why) == 0, "%s", why);
	free(want);
	cr_assert(h_stat(&e.sc, "ring_full_pauses") > 1, "the stream never paused again");
	h_set_free(&set);
	h_ml_down(&e);
}

/* ---- connection reuse ---------------------------------------------------------------------- */

#define L_SEQ_REQUESTS 200
#define L_SEQ_MAX_CONNS 10
#define L_PAR_REQUESTS 50
#define L_PAR_INFLIGHT 8
#define L_PAR_MAX_CONNS 16

/* Connections mockllm accepted since its last reset, not counting the
 * /stats query that asks. */
static uint64_t l_conns(const struct h_ml *ml)
{
	return h_ml_stat(ml, "connections_accepted") - 1;
}

static uint64_t l_pool(const struct h_sidecar *sc, const char *counter)
{
	char key[96];
	return h_stat(sc, h_ml_pool_key(key, sizeof key, counter, H_ML_OPENAI));
}

Test(providers_load, test_connections_are_reused)
{
	struct h_ml_aliases as = { 0 };
	const char *model = h_ml_alias_add(&as, "short", l_oa, "tokens=3");
	const char *paced = h_ml_alias_add(&as, "paced", l_oa, "tokens=5,itl_us=1000");
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	char *three = h_expected_reply(H_ML_PROMPT, 3, -1);
	char *five = h_expected_reply(H_ML_PROMPT, 5, -1);

	/* One after the other: one warm connection serves them all. */
	h_ml_reset(&e.ml);
	for (int i = 0; i < L_SEQ_REQUESTS; i++) {
		struct h_ml_res r;
		h_ml_run(&e, "short", 1, &r);
		h_ml_assert_done(&r, l_oa, model, three, 3, "stop");
		h_ml_res_free(&r);
	}
	uint64_t conns = l_conns(&e.ml);
	cr_assert_eq(h_ml_stat(&e.ml, "requests_total"), L_SEQ_REQUESTS);
	cr_assert(conns >= 1 && conns <= L_SEQ_MAX_CONNS, "%llu connections for %d requests",
		  (unsigned long long)conns, L_SEQ_REQUESTS);
	uint64_t reused = l_pool(&e.sc, "upstream_conns_reused");
	cr_assert(reused >= L_SEQ_REQUESTS - conns, "upstream_conns_reused %llu, connections %llu",
		  (unsigned long long)reused, (unsigned long long)conns);

	/* L_PAR_INFLIGHT at a time: a handful of connections, each reused. */
	h_ml_reset(&e.ml);
	struct h_set set = { 0 };
	int submitted = 0;
	while (submitted < L_PAR_REQUESTS || set.open) {
		while (submitted < L_PAR_REQUESTS && set.open < L_PAR_INFLIGHT) {
			char *b = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
			h_set_add(&set, h_submit(e.c, "paced", b));
			free(b);
			submitted++;
		}
		struct rs_event ev;
		int rc = rs_next(e.c, &ev, H_EVENT_MS);
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(&set, &ev);
	}
	for (size_t i = 0; i < set.n; i++) {
		char why[512];
		cr_assert(h_check_done(&set.v[i], H_ML_OPENAI, paced, five, H_ML_WORDS, 5, "stop", why,
				       sizeof why) == 0, "%s", why);
	}
	h_set_free(&set);
	conns = l_conns(&e.ml);
	cr_assert_eq(h_ml_stat(&e.ml, "requests_total"), L_PAR_REQUESTS);
	cr_assert(conns >= 1 && conns <= L_PAR_MAX_CONNS, "%llu connections for %d requests",
		  (unsigned long long)conns, L_PAR_REQUESTS);
	uint64_t reused2 = l_pool(&e.sc, "upstream_conns_reused") - reused;
	cr_assert(reused2 >= L_PAR_REQUESTS - conns, "upstream_conns_reused +%llu, connections %llu",
		  (unsigned long long)reused2, (unsigned long long)conns);
	cr_assert_eq(l_pool(&e.sc, "upstream_requests"), L_SEQ_REQUESTS + L_PAR_REQUESTS);
	free(three);
	free(five);
	h_ml_down(&e);
}

/* ---- recycled transfer handles ------------------------------------------------------------ */

/* Prompts of different lengths, so a body or size left over from the
 * handle's last request would show in the echo. */
#define L_LONG_PROMPT "one two three four five six seven eight nine ten eleven twelve thirteen"
#define L_SHORT_PROMPT "ab cd"

/* prompt to alias, read to the end, checked word for word. */
static void l_exact(struct h_ml_env *e, const struct h_ml_kind *kd, const char *alias,
		    const char *model, const char *prompt, long tokens)
{
	char *b = h_body(prompt, 1, -1, -1, -1, -1);
	struct h_set set = { 0 };
	struct h_ml_obs o;
	cr_assert_eq(h_ml_collect(e->c, alias, b, &set, &o), RS_OK);
	char *want = h_expected_reply(prompt, tokens, -1);
	char why[512];
	cr_assert(h_check_done(&set.v[0], kd->provider, model, want, h_word_count(prompt),
			       (uint32_t)tokens, "stop", why, sizeof why) == 0,
		  "%s, %s after earlier requests on its handles: %s", kd->kind, alias, why);
	free(want);
	free(b);
	h_ml_obs_free(&o);
	h_set_free(&set);
}

/* The sidecar keeps each provider's curl handles set up between requests
 * and hands a transfer its request in place: every request must still go
 * out as itself (its URL, which names the model for Gemini, its headers,
 * its body and its length) after longer ones, other models and a transfer
 * cut off mid-stream on the same handles. */
Test(providers_load, test_recycled_handles_send_each_request_as_itself)
{
	struct h_ml_aliases as = { 0 };
	char a3[H_ML_NKINDS][32], a7[H_ML_NKINDS][32], ap[H_ML_NKINDS][32];
	const char *m3[H_ML_NKINDS], *m7[H_ML_NKINDS];
	for (int k = 0; k < H_ML_NKINDS; k++) {
		snprintf(a3[k], sizeof a3[k], "%s-3", h_ml_kinds[k].kind);
		snprintf(a7[k], sizeof a7[k], "%s-7", h_ml_kinds[k].kind);
		snprintf(ap[k], sizeof ap[k], "%s-p", h_ml_kinds[k].kind);
		m3[k] = h_ml_alias_add(&as, a3[k], &h_ml_kinds[k], "tokens=3");
		m7[k] = h_ml_alias_add(&as, a7[k], &h_ml_kinds[k], "tokens=7");
		h_ml_alias_add(&as, ap[k], &h_ml_kinds[k], "tokens=100000,itl_us=1000");
	}
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	for (int k = 0; k < H_ML_NKINDS; k++) {
		const struct h_ml_kind *kd = &h_ml_kinds[k];
		l_exact(&e, kd, a7[k], m7[k], L_LONG_PROMPT, 7);
		l_exact(&e, kd, a3[k], m3[k], L_SHORT_PROMPT, 3);
		/* A transfer aborted mid-stream: its handle goes back to the pool. */
		char *b = h_body(L_LONG_PROMPT, 1, -1, -1, -1, -1);
		struct h_set set = { 0 };
		struct h_stream *st = h_set_add(&set, h_submit(e.c, ap[k], b));
		free(b);
		while (st->n_delta == 0 && st->phase != H_ENDED) {
			struct rs_event ev;
			int rc = rs_next(e.c, &ev, H_EVENT_MS);
			cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
			h_set_event(&set, &ev);
		}
		cr_assert_eq(rs_cancel(e.c, st->id), RS_OK);
		cr_assert_eq(h_drain(e.c, &set, H_EVENT_MS), RS_OK);
		h_set_free(&set);
		l_exact(&e, kd, a3[k], m3[k], L_SHORT_PROMPT, 3);
		l_exact(&e, kd, a7[k], m7[k], H_ML_PROMPT, 7);
	}
	char key[96];
	for (int k = 0; k < H_ML_NKINDS; k++)
		cr_assert_eq(h_stat(&e.sc, h_ml_pool_key(key, sizeof key, "upstream_aborted",
							  h_ml_kinds[k].provider)),
			     1, "%s: the cut transfer was not aborted", h_ml_kinds[k].kind);
	h_ml_down(&e);
}

/* ---- streams side by side --------------------------------------------------------------- */

#define L_SIDE_BY_SIDE 4

/* Several long streams to each provider at once: every one of them flows
 * (gets DELTAs) while the others are still running, so a provider is not
 * held to one transfer at a time. Then the client cancels them all. */
Test(providers_load, test_streams_to_one_provider_run_side_by_side)
{
	struct h_ml_aliases as = { 0 };
	for (int k = 0; k < H_ML_NKINDS; k++)
		h_ml_alias_add(&as, h_ml_kinds[k].kind, &h_ml_kinds[k], "tokens=100000,itl_us=1000");
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	struct h_set set = { 0 };
	for (int k = 0; k < H_ML_NKINDS; k++) {
		for (int i = 0; i < L_SIDE_BY_SIDE; i++) {
			char *b = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
			h_set_add(&set, h_submit(e.c, h_ml_kinds[k].kind, b));
			free(b);
		}
	}
	/* Bounded by H_WAIT_MS as a whole: the streams that flow keep rs_next
	 * busy, so its own timeout would never say that others do not. */
	uint64_t until = h_now_ms() + H_WAIT_MS;
	size_t flowing = 0;
	while (flowing < set.n && h_now_ms() < until) {
		struct rs_event ev;
		int rc = rs_next(e.c, &ev, H_EVENT_MS);
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		struct h_stream *st = h_set_find(&set, ev.stream);
		unsigned before = st ? st->n_delta : 0;
		h_set_event(&set, &ev);
		cr_assert(!st || st->phase != H_ENDED, "stream %llu ended: %d %s",
			  (unsigned long long)ev.stream, st->err_code, st->err_msg);
		flowing += st && before == 0 && st->n_delta == 1;
	}
	char idle[512] = "";
	size_t n = 0;
	for (int k = 0; k < H_ML_NKINDS && n < sizeof idle - 1; k++) {
		unsigned waiting = 0;
		for (int i = 0; i < L_SIDE_BY_SIDE; i++)
			waiting += set.v[k * L_SIDE_BY_SIDE + i].n_delta == 0;
		if (waiting)
			n += (size_t)snprintf(idle + n, sizeof idle - n, " %s: %u of %d;",
					      h_ml_kinds[k].kind, waiting, L_SIDE_BY_SIDE);
	}
	cr_assert(!idle[0], "streams that got nothing while others of their provider ran (mockllm "
		  "saw %llu requests of %zu):%s", (unsigned long long)h_ml_stat(&e.ml, "requests_total"),
		  set.n, idle);
	for (size_t i = 0; i < set.n; i++)
		cr_assert_eq(rs_cancel(e.c, set.v[i].id), RS_OK);
	cr_assert_eq(h_drain(e.c, &set, H_EVENT_MS), RS_OK);
	for (size_t i = 0; i < set.n; i++) {
		char why[512];
		cr_assert(h_check_error(&set.v[i], RS_ERR_CANCELLED, why, sizeof why) == 0, "%s", why);
	}
	h_ml_wait_stat(&e.ml, "requests_cancelled", set.n);
	h_set_free(&set);
	h_ml_down(&e);
}

/* ---- many clients, every kind ------------------------------------------------------------ */

#define L_CLIENTS 4
#define L_STREAMS 32
#define L_PACED_TOKENS 24

enum { L_CHILD_OK = 0, L_CHILD_CONNECT = 10, L_CHILD_SUBMIT, L_CHILD_NEXT, L_CHILD_CHECK };

/* Aliases "<kind>-w" (the prompt's words, unpaced) and "<kind>-t"
 * (L_PACED_TOKENS tokens, paced, so the words cycle and streams interleave). */
static void l_mixed_aliases(struct h_ml_aliases *as)
{
	char knobs[48];
	snprintf(knobs, sizeof knobs, "tokens=%d,itl_us=500", L_PACED_TOKENS);
	for (int k = 0; k < H_ML_NKINDS; k++) {
		char alias[32];
		snprintf(alias, sizeof alias, "%s-w", h_ml_kinds[k].kind);
		h_ml_alias_add(as, alias, &h_ml_kinds[k], NULL);
		snprintf(alias, sizeof alias, "%s-t", h_ml_kinds[k].kind);
		h_ml_alias_add(as, alias, &h_ml_kinds[k], knobs);
	}
}

/* Child k: L_STREAMS streams at once, mixed over kinds, paced or not,
 * streamed or not, each with a prompt of its own; every byte checked. */
static int l_mixed_child(const char *sock, const struct h_ml_aliases *as, int k)
{
	rs_client *c;
	if (rs_connect(sock, &c))
		return L_CHILD_CONNECT;
	static char prompts[L_STREAMS][128];
	static int alias_of[L_STREAMS];
	struct h_set set = { 0 };
	for (int i = 0; i < L_STREAMS; i++) {
		int n = snprintf(prompts[i], sizeof prompts[i], "client%d stream%d", k, i);
		for (int w = 0; w < i % 7; w++)
			n += snprintf(prompts[i] + n, sizeof prompts[i] - (size_t)n, " w%d", w * k + i);
		alias_of[i] = ((i + k) % H_ML_NKINDS) * 2 + i % 2;
		char *b = h_body(prompts[i], i % 8 != 7, -1, -1, -1, -1);
		struct rs_request rq = { .model = as->alias[alias_of[i]], .body = b,
					 .body_len = strlen(b) };
		uint64_t id;
		int rc = rs_submit(c, &rq, &id);
		free(b);
		if (rc) {
			fprintf(stderr, "client %d: rs_submit %d: %s\n", k, i, rs_strerror(rc));
			return L_CHILD_SUBMIT;
		}
		h_set_add(&set, id);
	}
	int rc = h_drain(c, &set, H_EVENT_MS);
	if (rc) {
		fprintf(stderr, "client %d: rs_next: %s\n", k, rs_strerror(rc));
		return L_CHILD_NEXT;
	}
	int bad = 0;
	for (int i = 0; i < L_STREAMS && !bad; i++) {
		const struct h_ml_alias *a = &as->a[alias_of[i]];
		long tokens = alias_of[i] % 2 ? L_PACED_TOKENS : -1;
		char *want = h_expected_reply(prompts[i], tokens, -1);
		char why[512];
		bad = h_check_done(&set.v[i], a->provider, a->model, want, h_word_count(prompts[i]),
				   h_word_count(want), "stop", why, sizeof why);
		if (bad)
			fprintf(stderr, "client %d, %s: %s\n", k, a->alias, why);
		free(want);
	}
	h_set_free(&set);
	rs_close(c);
	return bad ? L_CHILD_CHECK : L_CHILD_OK;
}

Test(providers_load, test_many_clients_every_kind_exact_text)
{
	struct h_ml_aliases as = { 0 };
	l_mixed_aliases(&as);
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	pid_t kids[L_CLIENTS];
	for (int k = 0; k < L_CLIENTS; k++) {
		kids[k] = h_fork();
		if (kids[k] == 0)
			_exit(l_mixed_child(e.sc.sock, &as, k));
	}
	for (int k = 0; k < L_CLIENTS; k++) {
		int st = h_wait_pid(kids[k], 2 * H_WAIT_MS);
		cr_assert(st >= 0, "client %d did not finish", k);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == L_CHILD_OK,
			  "client %d failed (status 0x%x; see its stderr)", k, st);
	}
	cr_assert_eq(h_ml_stat(&e.ml, "requests_total"), L_CLIENTS * L_STREAMS);
	cr_assert_eq(h_ml_stat(&e.ml, "streams_completed") + h_ml_stat(&e.ml, "responses_completed"),
		     L_CLIENTS * L_STREAMS);
	h_wait_stat(&e.sc, "streams_active", 0);
	cr_assert_eq(h_stat(&e.sc, "streams_done"), L_CLIENTS * L_STREAMS);
	for (int k = 0; k < H_ML_NKINDS; k++) {
		char key[96];
		h_ml_pool_key(key, sizeof key, "upstream_active", h_ml_kinds[k].provider);
		cr_assert_eq(h_stat(&e.sc, key), 0, "%s", key);
	}
	h_ml_down(&e);
}

/* ---- shutdown with transfers in flight ------------------------------------------------------ */

/* SIGTERM while every kind streams: each stream gets its terminal event,
 * the sidecar exits 0 with a clean log (h_stop), and mockllm sees every
 * connection closed under a reply it was still sending. */
Test(providers_load, test_sigterm_with_upstream_streams_in_flight)
{
	struct h_ml_aliases as = { 0 };
	for (int k = 0; k < H_ML_NKINDS; k++)
		h_ml_alias_add(&as, h_ml_kinds[k].kind, &h_ml_kinds[k], "tokens=100000,itl_us=1000");
	struct h_ml_env e;
	h_ml_up(&e, NULL, NULL, &as);
	struct h_set set = { 0 };
	for (int k = 0; k < H_ML_NKINDS; k++) {
		char *b = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
		h_set_add(&set, h_submit(e.c, h_ml_kinds[k].kind, b));
		free(b);
	}
	for (size_t flowing = 0; flowing < set.n;) {
		struct rs_event ev;
		int rc = rs_next(e.c, &ev, H_EVENT_MS);
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		struct h_stream *st = h_set_find(&set, ev.stream);
		unsigned before = st ? st->n_delta : 0;
		h_set_event(&set, &ev);
		flowing += st && before == 0 && st->n_delta == 1;
	}
	h_ml_wait_stat(&e.ml, "connections_open", H_ML_NKINDS + 1 /* this query */);
	h_stop(&e.sc);
	for (;;) {
		struct rs_event ev;
		int rc = rs_next(e.c, &ev, H_EVENT_MS);
		if (rc == RS_EDISCONNECTED)
			break;
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(&set, &ev);
	}
	for (size_t i = 0; i < set.n; i++) {
		const struct h_stream *st = &set.v[i];
		char why[512];
		cr_assert(h_check_error(st, RS_ERR_SHUTDOWN, why, sizeof why) == 0, "%s: %s",
			  h_ml_kinds[i].kind, why);
		char *want = h_expected_reply(H_ML_PROMPT, st->n_delta, -1);
		cr_assert_str_eq(st->text, want, "%s: text before the shutdown", h_ml_kinds[i].kind);
		free(want);
	}
	h_set_free(&set);
	rs_close(e.c);
	h_ml_wait_stat(&e.ml, "requests_cancelled", H_ML_NKINDS);
	h_ml_wait_stat(&e.ml, "connections_open", 1 /* this query */);
	h_ml_stop(&e.ml);
}
