/*
 * test_next_us.c — rs_next_us, rs_next with a microsecond timeout: polling
 * and bounded waits time out cleanly, waits of every size deliver a stream
 * intact, and a negative timeout other than -1 waits forever like -1 (the
 * documented choice, the same rs_next makes for negative milliseconds).
 *
 * Nothing here measures how long a wait took: precision is a property of
 * the kernel's timers and the machine's load, not something a test on a
 * shared machine can assert. What must hold is the contract.
 */
#include <limits.h>
#include <poll.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(next_us, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

/* The mock's pacing for streams the reader must wait for: the first DELTA
 * 5 ms after the submit and 2 ms between tokens, far past the client's
 * 20 us spin, so each event is waited for in a real sleep. */
#define SLOW_TTFT_US 5000
#define SLOW_INTERVAL_US 2000

/* Read every stream of set with rs_next_us(timeout_us). A wait that times
 * out is retried: a loaded machine may leave any gap between two events,
 * and what this proves is that nothing is lost or garbled, not speed. The
 * whole read is bounded by H_EVENT_MS. */
static void read_all_us(rs_client *c, struct h_set *set, long long timeout_us)
{
	uint64_t until = h_now_ms() + H_EVENT_MS;
	while (set->open) {
		struct rs_event ev;
		int rc = rs_next_us(c, &ev, timeout_us);
		if (rc == RS_ETIMEDOUT && h_now_ms() < until)
			continue;
		cr_assert(rc == RS_OK, "rs_next_us(%lld): %s", timeout_us, rs_strerror(rc));
		h_set_event(set, &ev);
	}
}

static void check_reply(const struct h_stream *st, const char *prompt, long tokens)
{
	char why[512];
	char *want = h_expected_reply(prompt, tokens, -1);
	unsigned completion = tokens >= 0 ? (unsigned)tokens : h_word_count(prompt);
	cr_assert(h_check_done(st, H_PROVIDER, H_UPSTREAM, want, h_word_count(prompt),
			       completion, "stop", why, sizeof why) == 0, "%s", why);
	free(want);
}

static uint64_t submit_slow(rs_client *c, const char *prompt, long tokens)
{
	char *b = h_body(prompt, 1, tokens, -1, SLOW_TTFT_US, SLOW_INTERVAL_US);
	uint64_t id = h_submit(c, H_MODEL, b);
	free(b);
	return id;
}

Test(next_us, test_zero_on_empty_ring_times_out_and_arms_fd)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	struct rs_event ev;
	cr_assert_eq(rs_next_us(c, &ev, 0), RS_ETIMEDOUT);
	struct pollfd p = { .fd = rs_fd(c), .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "rs_fd readable with nothing to say");
	/* 0 armed the bell as rs_next(0) does: the next event must make
	 * rs_fd readable without another call. */
	const char *prompt = "tick tock";
	struct h_set set = { 0 };
	h_set_add(&set, submit_slow(c, prompt, -1));
	cr_assert_eq(poll(&p, 1, H_EVENT_MS), 1, "rs_fd never became readable");
	cr_assert_eq(rs_next_us(c, &ev, 0), RS_OK, "rs_fd was readable but rs_next_us(0) had nothing");
	h_set_event(&set, &ev);
	read_all_us(c, &set, 200000);
	check_reply(&set.v[0], prompt, -1);
	cr_assert_eq(rs_next_us(c, &ev, 0), RS_ETIMEDOUT);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

Test(next_us, test_bounded_wait_with_nothing_coming_times_out)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	struct rs_event ev;
	/* Below, at and above one millisecond, and shorter than the spin. */
	static const long long waits_us[] = { 1, 300, 999, 1000, 2000 };
	for (size_t i = 0; i < sizeof waits_us / sizeof waits_us[0]; i++)
		cr_assert_eq(rs_next_us(c, &ev, waits_us[i]), RS_ETIMEDOUT,
			     "rs_next_us(%lld) with nothing coming", waits_us[i]);
	/* A bounded wait withdraws its request for a kick when it gives up. */
	struct pollfd p = { .fd = rs_fd(c), .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 0), 0, "rs_fd readable with nothing to say");
	rs_close(c);
	h_stop(&sc);
}

Test(next_us, test_stream_read_with_200ms_waits_arrives_intact)
{
	struct h_sidecar sc;
	/* A small event ring, so that the unpaced stream below wraps it many
	 * times and fills it while the reader sleeps. */
	h_start(&sc, &(struct h_opts){ .limits = "event_ring: 64KiB" });
	rs_client *c = h_connect(&sc);
	/* One stream paced so that every event is slept for, one unpaced and
	 * long enough to cycle the event ring several times over. */
	const char *slow = "alpha beta gamma delta epsilon";
	const char *fast = "one two three four";
	struct h_set set = { 0 };
	h_set_add(&set, submit_slow(c, slow, 40));
	char *b = h_body(fast, 1, 20000, -1, 0, 0);
	h_set_add(&set, h_submit(c, H_MODEL, b));
	free(b);
	read_all_us(c, &set, 200000);
	check_reply(&set.v[0], slow, 40);
	check_reply(&set.v[1], fast, 20000);
	cr_assert_eq(set.foreign, 0);
	h_wait_stat(&sc, "streams_active", 0);
	cr_assert_eq(h_stat(&sc, "streams_dropped"), 0);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

/* Sub-millisecond waits time out between almost every two events of a
 * paced stream: each timeout must leave the client ready for the next. */
Test(next_us, test_stream_read_with_sub_ms_waits_arrives_intact)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	const char *prompt = "red green blue";
	struct h_set set = { 0 };
	h_set_add(&set, submit_slow(c, prompt, 30));
	read_all_us(c, &set, 300);
	check_reply(&set.v[0], prompt, 30);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

/* Every negative timeout waits forever, and so does one too long to turn
 * into a deadline: each stream is read to its end, each event waited for
 * in a sleep, without a single RS_ETIMEDOUT. */
Test(next_us, test_negative_and_huge_timeouts_wait_forever)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	static const long long forever[] = { -1, -2, -1000000, LLONG_MIN, LLONG_MAX };
	for (size_t i = 0; i < sizeof forever / sizeof forever[0]; i++) {
		const char *prompt = "wait for me";
		struct h_set set = { 0 };
		h_set_add(&set, submit_slow(c, prompt, 6));
		while (set.open) {
			struct rs_event ev;
			int rc = rs_next_us(c, &ev, forever[i]);
			cr_assert(rc == RS_OK, "rs_next_us(%lld): %s", forever[i], rs_strerror(rc));
			h_set_event(&set, &ev);
		}
		check_reply(&set.v[0], prompt, 6);
		h_set_free(&set);
	}
	rs_close(c);
	h_stop(&sc);
}

Test(next_us, test_bad_arguments)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	struct rs_event ev;
	cr_assert_eq(rs_next_us(NULL, &ev, 0), RS_EINVAL);
	cr_assert_eq(rs_next_us(c, NULL, 1000), RS_EINVAL);
	cr_assert_eq(rs_next_us(c, &ev, 0), RS_ETIMEDOUT, "the client still works");
	rs_close(c);
	h_stop(&sc);
}
