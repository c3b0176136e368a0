/*
 * test_flow.c — flow control and wake-ups: a reader that stalls pauses the
 * producer instead of losing or buffering text, and rs_fd() lets an event
 * loop sleep until the next event.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(flow, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

#define SLOW_TOKENS 20000

/* Both sides sleep instead of spinning, so every pause and resume goes
 * through the bells. */
static rs_client *connect_no_spin(const struct h_sidecar *sc)
{
	setenv("RINGSIDE_SPIN_US", "0", 1);
	rs_client *c = h_connect(sc);
	unsetenv("RINGSIDE_SPIN_US");
	return c;
}

Test(flow, test_slow_reader_pauses_producer)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "event_ring: 16KiB, spin_us: 0" });
	rs_client *c = connect_no_spin(&sc);
	const char *prompts[] = { "alpha beta gamma delta", "one two three", "x" };
	struct h_set set = { 0 };
	for (size_t i = 0; i < 3; i++) {
		char *b = h_body(prompts[i], 1, SLOW_TOKENS, -1, 0, 0);
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
	}
	/* Read nothing until the sidecar has found the ring full. */
	h_wait_stat_ge(&sc, "ring_full_pauses", 1);
	cr_assert(h_stat(&sc, "streams_done") == 0, "all of it fit in a 16 KiB ring?");
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char why[512];
	for (size_t i = 0; i < 3; i++) {
		char *want = h_expected_reply(prompts[i], SLOW_TOKENS, -1);
		cr_assert(h_check_done(&set.v[i], H_PROVIDER, H_UPSTREAM, want,
				       h_word_count(prompts[i]), SLOW_TOKENS, "stop", why,
				       sizeof why) == 0, "%s", why);
		free(want);
	}
	h_wait_stat(&sc, "streams_active", 0);
	cr_assert_eq(h_stat(&sc, "streams_dropped"), 0);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

/* rs_next(0) on one event; when it times out, the fd must turn readable
 * when something arrives, and then rs_next(0) must deliver it. */
static int next_via_fd(rs_client *c, struct rs_event *ev, unsigned *polls)
{
	int rc = rs_next(c, ev, 0);
	if (rc != RS_ETIMEDOUT)
		return rc;
	(*polls)++;
	struct pollfd p = { .fd = rs_fd(c), .events = POLLIN };
	cr_assert_eq(poll(&p, 1, H_EVENT_MS), 1, "rs_fd never became readable");
	rc = rs_next(c, ev, 0);
	cr_assert(rc != RS_ETIMEDOUT, "rs_fd was readable but rs_next(0) had nothing");
	return rc;
}

Test(flow, test_rs_fd_wakes_poll)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	int fd = rs_fd(c);
	cr_assert(fd >= 0);
	struct rs_event ev;
	cr_assert_eq(rs_next(c, &ev, 0), RS_ETIMEDOUT);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "rs_fd readable with nothing to say");
	cr_assert_eq(rs_next(c, &ev, 20), RS_ETIMEDOUT, "a bounded wait with nothing coming");
	cr_assert_eq(poll(&p, 1, 0), 0, "rs_fd readable with nothing to say");

	/* Slow enough that the reader runs dry between events: the first
	 * DELTA cannot come before 300 ms after the submit. */
	const char *prompt = "ping pong ping pong ping";
	char *b = h_body(prompt, 1, -1, -1, 300000, 30000);
	struct h_set set = { 0 };
	h_set_add(&set, h_submit(c, H_MODEL, b));
	free(b);
	unsigned polls = 0;
	while (set.open) {
		int rc = next_via_fd(c, &ev, &polls);
		cr_assert(rc == RS_OK, "rs_next: %s", rs_strerror(rc));
		h_set_event(&set, &ev);
	}
	char why[512];
	cr_assert(h_check_done(&set.v[0], H_PROVIDER, H_UPSTREAM, prompt, 5, 5, "stop", why,
			       sizeof why) == 0, "%s", why);
	cr_assert(polls >= 1, "never had to wait on rs_fd");
	cr_assert_eq(rs_next(c, &ev, 0), RS_ETIMEDOUT);
	cr_assert_eq(poll(&p, 1, 0), 0, "rs_fd readable after the stream ended");
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

/* An open stream when the sidecar dies: the fd wakes the poller and
 * rs_next(0) hands out the stream's DISCONNECTED error, then says
 * "disconnected" (an event loop that only ever calls rs_next(0) must learn
 * of the death, or it spins on a readable fd forever). */
Test(flow, test_rs_fd_readable_on_sidecar_death)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	/* First word at once, the next in 50 s: START and one DELTA, then
	 * silence. */
	char *b = h_body("talk slowly", 1, -1, -1, 0, 50000000);
	struct h_set set = { 0 };
	h_set_add(&set, h_submit(c, H_MODEL, b));
	free(b);
	struct rs_event ev;
	unsigned polls = 0;
	cr_assert_eq(next_via_fd(c, &ev, &polls), RS_OK);
	h_set_event(&set, &ev);
	cr_assert_eq(ev.type, RS_EV_START);
	cr_assert_eq(next_via_fd(c, &ev, &polls), RS_OK);
	h_set_event(&set, &ev);
	cr_assert_eq(ev.type, RS_EV_DELTA);
	cr_assert_eq(rs_next(c, &ev, 0), RS_ETIMEDOUT);
	h_kill9(&sc);
	cr_assert_eq(next_via_fd(c, &ev, &polls), RS_OK);
	h_set_event(&set, &ev);
	char why[512];
	cr_assert(h_check_error(&set.v[0], RS_ERR_DISCONNECTED, why, sizeof why) == 0, "%s", why);
	cr_assert_eq(rs_next(c, &ev, 0), RS_EDISCONNECTED);
	struct pollfd p = { .fd = rs_fd(c), .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 1, "the death stays visible on rs_fd");
	cr_assert_eq(rs_next(c, &ev, 0), RS_EDISCONNECTED);
	h_set_free(&set);
	rs_close(c);
}

/* Same with no stream open: nothing to end, just "disconnected". */
Test(flow, test_rs_fd_idle_client_sees_death)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	struct rs_event ev;
	cr_assert_eq(rs_next(c, &ev, 0), RS_ETIMEDOUT);
	h_kill9(&sc);
	struct pollfd p = { .fd = rs_fd(c), .events = POLLIN };
	cr_assert_eq(poll(&p, 1, H_EVENT_MS), 1, "rs_fd not readable after the sidecar died");
	cr_assert_eq(rs_next(c, &ev, 0), RS_EDISCONNECTED, "rs_next(0) after rs_fd turned readable");
	rs_close(c);
}
