/*
 * test_death.c — either side dying mid-stream. A client's death frees
 * everything it held in the sidecar without disturbing other clients; the
 * sidecar's death ends every open stream in the client exactly once.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(death, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

#define DOOMED_STREAMS 4

/* A stream that would run for ~17 minutes: only death or cancel ends it. */
static char *endless_body(const char *prompt)
{
	return h_body(prompt, 1, 1000000, -1, 0, 1000);
}

/* Child: open endless streams, report the first DELTA, wait to be killed. */
static int doomed_child(const char *sock, int report_fd)
{
	rs_client *c;
	if (rs_connect(sock, &c))
		return 10;
	for (int i = 0; i < DOOMED_STREAMS; i++) {
		char *b = endless_body("doomed child keeps streaming");
		struct rs_request rq = { .model = H_MODEL, .body = b, .body_len = strlen(b) };
		uint64_t id;
		int rc = rs_submit(c, &rq, &id);
		free(b);
		if (rc)
			return 11;
	}
	for (;;) {
		struct rs_event ev;
		if (rs_next(c, &ev, H_EVENT_MS))
			return 12;
		if (ev.type == RS_EV_DELTA)
			break;
	}
	if (write(report_fd, "x", 1) != 1)
		return 13;
	for (;;)
		pause();
}

/* Read events until stream id has delivered its first DELTA. */
static void read_until_delta(rs_client *c, struct h_set *set, uint64_t id)
{
	for (;;) {
		struct rs_event ev;
		int rc = rs_next(c, &ev, H_EVENT_MS);
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(set, &ev);
		if (ev.stream == id && ev.type == RS_EV_DELTA)
			return;
	}
}

Test(death, test_client_death_frees_segment)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	int pfd[2];
	cr_assert(pipe(pfd) == 0);
	pid_t kid = h_fork();
	if (kid == 0) {
		close(pfd[0]);
		_exit(doomed_child(sc.sock, pfd[1]));
	}
	close(pfd[1]);
	struct pollfd p = { .fd = pfd[0], .events = POLLIN };
	cr_assert(poll(&p, 1, H_WAIT_MS) == 1, "child never reported its first DELTA");
	char x;
	cr_assert(read(pfd[0], &x, 1) == 1, "child exited before its first DELTA: status 0x%x",
		  h_wait_pid(kid, H_WAIT_MS));
	close(pfd[0]);

	/* A second client, mid-stream while the first one dies. */
	rs_client *c = h_connect(&sc);
	const char *prompt = "survivor keeps reading through the death of a neighbour";
	char *b = h_body(prompt, 1, 300, -1, 0, 1000);
	struct h_set set = { 0 };
	uint64_t id = h_submit(c, H_MODEL, b);
	free(b);
	h_set_add(&set, id);
	read_until_delta(c, &set, id);

	cr_assert(kill(kid, SIGKILL) == 0);
	int st = h_wait_pid(kid, H_WAIT_MS);
	cr_assert(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status 0x%x", st);

	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char *want = h_expected_reply(prompt, 300, -1);
	char why[512];
	cr_assert(h_check_done(&set.v[0], H_PROVIDER, H_UPSTREAM, want, h_word_count(prompt), 300,
			       "stop", why, sizeof why) == 0, "survivor: %s", why);
	free(want);

	h_wait_stat(&sc, "clients_connected", 1);
	h_wait_stat(&sc, "segments_live", 1);
	h_wait_stat(&sc, "streams_active", 0);
	cr_assert_eq(h_stat(&sc, "streams_dropped"), DOOMED_STREAMS);
	cr_assert_eq(h_stat(&sc, "clients_killed"), 0, "a dead client is not a hostile one");
	char line[64];
	snprintf(line, sizeof line, "closed: disconnected (pid=%d,", (int)kid);
	cr_assert_eq(h_log_count(&sc, line), 1, "no '%s' in the log:\n%s", line, h_log_tail(&sc));

	rs_close(c);
	h_wait_stat(&sc, "clients_connected", 0);
	h_wait_stat(&sc, "segments_live", 0);
	cr_assert_eq(h_stat(&sc, "segment_bytes_live"), 0);
	h_set_free(&set);
	h_stop(&sc);
}

/* After the sidecar is gone: every open stream got its one error, and the
 * client says "disconnected" from then on. */
static void assert_all_disconnected(rs_client *c, struct h_set *set)
{
	for (;;) {
		struct rs_event ev;
		int rc = rs_next(c, &ev, -1);
		if (rc == RS_EDISCONNECTED)
			break;
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(set, &ev);
	}
	char why[512];
	for (size_t i = 0; i < set->n; i++)
		cr_assert(h_check_error(&set->v[i], RS_ERR_DISCONNECTED, why, sizeof why) == 0,
			  "%s", why);
	cr_assert_eq(set->foreign, 0);
	cr_assert_eq(rs_open_streams(c), 0);
	struct rs_event ev;
	cr_assert_eq(rs_next(c, &ev, -1), RS_EDISCONNECTED);
	cr_assert_eq(rs_next(c, &ev, 0), RS_EDISCONNECTED);
	uint64_t id;
	char *b = h_body("anyone there", 1, -1, -1, -1, -1);
	struct rs_request rq = { .model = H_MODEL, .body = b, .body_len = strlen(b) };
	cr_assert_eq(rs_submit(c, &rq, &id), RS_EDISCONNECTED);
	cr_assert_eq(rs_submit_prompt(c, H_MODEL, "anyone there", &id), RS_EDISCONNECTED);
	free(b);
}

Test(death, test_sidecar_death_ends_open_streams)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	uint64_t ids[5];
	for (int i = 0; i < 5; i++) {
		char *b = endless_body("the sidecar will not see the end of this");
		ids[i] = h_submit(c, H_MODEL, b);
		free(b);
		h_set_add(&set, ids[i]);
	}
	for (int i = 0; i < 5; i++)
		if (!h_set_find(&set, ids[i])->n_delta)
			read_until_delta(c, &set, ids[i]);
	h_kill9(&sc);
	assert_all_disconnected(c, &set);
	rs_close(c);
	h_set_free(&set);
}

/* The client is asleep in rs_next(-1) when the sidecar dies: the socket's
 * EOF must wake it. A helper process does the killing, after a pause that
 * only makes it likely the reader is asleep by then (either way the test
 * proves the same contract). */
Test(death, test_sidecar_death_wakes_blocked_reader)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	/* One token, then nothing for 50 s. */
	char *b = h_body("one two", 1, 2, -1, 0, 50000000);
	uint64_t id = h_submit(c, H_MODEL, b);
	free(b);
	h_set_add(&set, id);
	read_until_delta(c, &set, id);
	pid_t sidecar = sc.pid;
	pid_t killer = h_fork();
	if (killer == 0) {
		h_sleep_ms(300);
		_exit(kill(sidecar, SIGKILL) == 0 ? 0 : 1);
	}
	assert_all_disconnected(c, &set);
	int st = h_wait_pid(killer, H_WAIT_MS);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	h_kill9(&sc);
	rs_close(c);
	h_set_free(&set);
}

/* The client is blocked in rs_submit on a full submit ring (the sidecar is
 * stopped, so nothing drains it) when the sidecar dies: rs_submit must
 * return, saying so, and the streams it did open still end once each. */
Test(death, test_sidecar_death_unblocks_full_submit)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "submit_ring: 4KiB" });
	rs_client *c = h_connect(&sc);
	cr_assert_eq(kill(sc.pid, SIGSTOP), 0);
	pid_t sidecar = sc.pid;
	pid_t killer = h_fork();
	if (killer == 0) {
		h_sleep_ms(300);
		_exit(kill(sidecar, SIGKILL) == 0 ? 0 : 1);
	}
	/* Each request is two fragments of a 4 KiB ring: a few fill it. */
	char *b = h_body("filler filler filler filler filler filler filler filler", 1, -1, -1, -1, -1);
	size_t len = strlen(b) + 1200;
	char *big = malloc(len + 1);
	cr_assert(big);
	memcpy(big, b, strlen(b) - 1);
	memset(big + strlen(b) - 1, ' ', len - strlen(b));
	strcpy(big + len - 1, "}");
	struct rs_request rq = { .model = H_MODEL, .body = big, .body_len = len };
	struct h_set set = { 0 };
	int rc = RS_OK;
	for (int i = 0; i < 1000 && rc == RS_OK; i++) {
		uint64_t id;
		rc = rs_submit(c, &rq, &id);
		if (rc == RS_OK)
			h_set_add(&set, id);
	}
	cr_assert_eq(rc, RS_EDISCONNECTED, "rs_submit on a full ring of a dead sidecar: %s",
		     rs_strerror(rc));
	cr_assert(set.n >= 1 && set.n < 1000, "%zu requests went in", set.n);
	assert_all_disconnected(c, &set);
	int st = h_wait_pid(killer, H_WAIT_MS);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	h_kill9(&sc);
	free(big);
	free(b);
	h_set_free(&set);
	rs_close(c);
}

/* A client that stopped reading dies while the sidecar holds its streams
 * paused on a full event ring: they are dropped and everything is freed. */
Test(death, test_client_death_with_full_ring_frees_streams)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "event_ring: 16KiB" });
	pid_t kid = h_fork();
	if (kid == 0) {
		rs_client *c;
		if (rs_connect(sc.sock, &c))
			_exit(10);
		for (int i = 0; i < 3; i++) {
			char *b = h_body("never read", 1, 1000000, -1, 0, 0);
			struct rs_request rq = { .model = H_MODEL, .body = b, .body_len = strlen(b) };
			uint64_t id;
			if (rs_submit(c, &rq, &id))
				_exit(11);
			free(b);
		}
		for (;;)
			pause();
	}
	h_wait_stat_ge(&sc, "ring_full_pauses", 1);
	h_wait_stat(&sc, "streams_active", 3);
	cr_assert_eq(kill(kid, SIGKILL), 0);
	int st = h_wait_pid(kid, H_WAIT_MS);
	cr_assert(st >= 0 && WIFSIGNALED(st), "child status 0x%x", st);
	h_wait_stat(&sc, "clients_connected", 0);
	h_wait_stat(&sc, "segments_live", 0);
	h_wait_stat(&sc, "streams_active", 0);
	cr_assert_eq(h_stat(&sc, "streams_dropped"), 3);
	cr_assert_eq(h_stat(&sc, "segment_bytes_live"), 0);
	/* And it still serves. */
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	char *b = h_body("business as usual", 1, -1, -1, -1, -1);
	h_set_add(&set, h_submit(c, H_MODEL, b));
	free(b);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char why[512];
	cr_assert(h_check_done(&set.v[0], H_PROVIDER, H_UPSTREAM, "business as usual", 3, 3, "stop",
			       why, sizeof why) == 0, "%s", why);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

/* rs_close with streams still open is a goodbye, not a crash, but the
 * sidecar frees the same way: every stream dropped, the segment unmapped. */
Test(death, test_rs_close_with_open_streams_frees_them)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	for (int i = 0; i < 3; i++) {
		char *b = endless_body("closed while talking");
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
	}
	read_until_delta(c, &set, set.v[2].id);
	h_wait_stat(&sc, "streams_active", 3);
	rs_close(c);
	h_wait_stat(&sc, "clients_connected", 0);
	h_wait_stat(&sc, "segments_live", 0);
	h_wait_stat(&sc, "streams_active", 0);
	cr_assert_eq(h_stat(&sc, "streams_dropped"), 3);
	cr_assert_eq(h_stat(&sc, "clients_killed"), 0);
	h_set_free(&set);
	h_stop(&sc);
}
