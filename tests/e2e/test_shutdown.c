/*
 * test_shutdown.c — SIGTERM with streams in flight: the sidecar ends every
 * open stream, exits 0 and removes its socket; the client sees exactly one
 * terminal event per stream and then "disconnected".
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(shutdown, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

/* Read everything the dead sidecar left, then the library's own endings. */
static void drain_after_exit(rs_client *c, struct h_set *set)
{
	for (;;) {
		struct rs_event ev;
		int rc = rs_next(c, &ev, H_EVENT_MS);
		if (rc == RS_EDISCONNECTED)
			break;
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(set, &ev);
	}
	cr_assert_eq(set->open, 0);
	cr_assert_eq(set->foreign, 0);
	cr_assert_eq(rs_open_streams(c), 0);
}

/* The streams' text so far is a prefix of what the mock would say. */
static void assert_prefix(const struct h_stream *st, const char *prompt)
{
	char *want = h_expected_reply(prompt, st->n_delta + 1, -1);
	cr_assert(st->len <= strlen(want) && memcmp(st->text ? st->text : "", want, st->len) == 0,
		  "stream %llu: text is not a prefix of the reply", (unsigned long long)st->id);
	free(want);
}

/* Room in every ring: the sidecar itself must say "shutdown" to each stream
 * (server.c). A small stream table (max_streams_per_client 8) makes the
 * streams share hash clusters, as a busy client's would. */
Test(shutdown, test_sigterm_ends_open_streams)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "max_streams_per_client: 8" });
	rs_client *c = h_connect(&sc);
	const char *prompt = "interrupted by a polite shutdown";
	struct h_set set = { 0 };
	for (int i = 0; i < 8; i++) {
		char *b = h_body(prompt, 1, 1000000, -1, 0, 1000);
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
	}
	while (1) {
		size_t started = 0;
		for (size_t i = 0; i < set.n; i++)
			started += set.v[i].n_delta > 0;
		if (started == set.n)
			break;
		struct rs_event ev;
		cr_assert_eq(rs_next(c, &ev, H_EVENT_MS), RS_OK);
		h_set_event(&set, &ev);
	}
	h_stop(&sc);
	drain_after_exit(c, &set);
	char why[512];
	for (size_t i = 0; i < set.n; i++) {
		cr_assert(h_check_error(&set.v[i], RS_ERR_SHUTDOWN, why, sizeof why) == 0, "%s", why);
		assert_prefix(&set.v[i], prompt);
	}
	struct rs_event ev;
	cr_assert_eq(rs_submit_prompt(c, H_MODEL, "too late", &(uint64_t){ 0 }), RS_EDISCONNECTED);
	cr_assert_eq(rs_next(c, &ev, 0), RS_EDISCONNECTED);
	h_set_free(&set);
	rs_close(c);
}

/* The client has stopped reading and its ring is full: the sidecar cannot
 * write "shutdown" everywhere, and must still exit at once and cleanly; the
 * library ends what the sidecar could not. */
Test(shutdown, test_sigterm_with_full_ring)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "event_ring: 16KiB" });
	rs_client *c = h_connect(&sc);
	const char *prompt = "flooding a reader that does not read";
	struct h_set set = { 0 };
	for (int i = 0; i < 4; i++) {
		char *b = h_body(prompt, 1, 1000000, -1, 0, 0);
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
	}
	h_wait_stat_ge(&sc, "ring_full_pauses", 1);
	h_stop(&sc);
	drain_after_exit(c, &set);
	for (size_t i = 0; i < set.n; i++) {
		const struct h_stream *st = &set.v[i];
		cr_assert_eq(st->n_error, 1);
		cr_assert(st->err_code == RS_ERR_SHUTDOWN || st->err_code == RS_ERR_DISCONNECTED,
			  "stream %llu ended with %s", (unsigned long long)st->id,
			  rs_errcode_name(st->err_code));
		cr_assert_eq(st->n_after_end + st->n_out_of_order + st->n_done, 0);
		assert_prefix(st, prompt);
	}
	h_set_free(&set);
	rs_close(c);
}

/* SIGINT is the same polite stop as SIGTERM (Ctrl-C in a terminal). */
Test(shutdown, test_sigint_stops_cleanly)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	h_stop_sig(&sc, SIGINT);
	struct rs_event ev;
	cr_assert_eq(rs_next(c, &ev, H_EVENT_MS), RS_EDISCONNECTED);
	rs_close(c);
}

/* A connection that never says HELLO is still pending when SIGTERM comes:
 * shutdown must not wait for it (nor for its handshake timeout). */
Test(shutdown, test_sigterm_with_pending_handshake)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "handshake_timeout: 60s" });
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, sc.sock);
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	rs_client *c = h_connect(&sc);
	h_stop(&sc);
	struct h_raw r = { .sock = fd, .sub_bell = -1, .ev_bell = -1, .awake_fd = -1 };
	cr_assert(h_raw_wait_eof(&r, H_WAIT_MS), "pending connection not closed");
	close(fd);
	struct rs_event ev;
	cr_assert_eq(rs_next(c, &ev, H_EVENT_MS), RS_EDISCONNECTED);
	rs_close(c);
}
