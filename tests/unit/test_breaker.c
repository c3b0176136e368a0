/*
 * test_breaker.c — the per-deployment circuit breaker (sidecar/breaker.c)
 * against an injected clock: closed -> open on the failure or slow-call
 * rate once the minimum calls are in the window (and not before), the
 * window sliding, open -> half-open after the wait, K probes only, success
 * closing, failure re-opening with a doubled and capped wait, external
 * cooldowns that extend and never shorten, abandoned probes, stale
 * results, and the change callback and counters.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "breaker.h"

#define S(x) ((uint64_t)(x) * 1000000000ull)
#define MS(x) ((uint64_t)(x) * 1000000ull)

/* Every change the breaker reported, in order. */
struct tb_log {
	int n;
	enum brk_state from[64], to[64];
	uint64_t at[64];
};

static void tb_change(void *arg, const struct brk *b, enum brk_state from, enum brk_state to,
		      uint64_t now)
{
	struct tb_log *l = arg;
	cr_assert_eq(b->state, to, "the callback sees the new state");
	cr_assert_lt(l->n, 64);
	l->from[l->n] = from;
	l->to[l->n] = to;
	l->at[l->n] = now;
	l->n++;
}

/* Window 10, verdict from 4 calls, 50% failures, slow > 1 s at 50%, wait
 * 1 s doubling to 3 s, 2 probes. */
static struct brk_config tb_cfg(void)
{
	struct brk_config c = brk_config_default();
	c.window = 10;
	c.min_calls = 4;
	c.failure_pct = 50;
	c.slow_ns = S(1);
	c.slow_pct = 50;
	c.open_wait_ns = S(1);
	c.open_max_ns = S(3);
	c.probes = 2;
	return c;
}

static void tb_init(struct brk *b, struct tb_log *l)
{
	struct brk_config c = tb_cfg();
	*l = (struct tb_log){ 0 };
	cr_assert_eq(brk_init(b, &c, tb_change, l), 0);
}

/* One admitted call and its verdict. */
static void tb_call(struct brk *b, uint64_t now, enum brk_outcome o, uint64_t first_chunk)
{
	struct brk_ticket t;
	cr_assert_eq(brk_allow(b, now, &t), BRK_ALLOW);
	brk_on_result(b, now, t, o, first_chunk);
}

/* Open the breaker with failures starting at now (4 calls, all failed). */
static void tb_trip(struct brk *b, uint64_t now)
{
	for (int i = 0; i < 4; i++)
		tb_call(b, now, BRK_FAILURE, 0);
	cr_assert_eq(b->state, BRK_OPEN);
}

Test(breaker, defaults_are_valid_and_bad_configs_name_their_field)
{
	struct brk_config c = brk_config_default();
	const char *field = "x";
	cr_assert_eq(brk_config_check(&c, &field), 0);
	cr_assert_null(field);
	cr_assert_eq(c.window, 20);
	cr_assert_eq(c.min_calls, 10);
	cr_assert_eq(c.failure_pct, 50);
	cr_assert_geq(c.probes, 1);
	cr_assert_leq(c.probes, 3);

	struct brk b;
	const struct {
		const char *field;
		struct brk_config c;
	} bad[] = {
		{ "window", { .window = 0, .min_calls = 1, .open_wait_ns = 1, .open_max_ns = 1,
			      .probes = 1 } },
		{ "window", { .window = BRK_WINDOW_MAX + 1, .min_calls = 1, .open_wait_ns = 1,
			      .open_max_ns = 1, .probes = 1 } },
		{ "min_calls", { .window = 5, .min_calls = 0, .open_wait_ns = 1, .open_max_ns = 1,
				 .probes = 1 } },
		{ "min_calls", { .window = 5, .min_calls = 6, .open_wait_ns = 1, .open_max_ns = 1,
				 .probes = 1 } },
		{ "failure_pct", { .window = 5, .min_calls = 5, .failure_pct = 101, .open_wait_ns = 1,
				   .open_max_ns = 1, .probes = 1 } },
		{ "slow_pct", { .window = 5, .min_calls = 5, .slow_pct = 101, .open_wait_ns = 1,
				.open_max_ns = 1, .probes = 1 } },
		{ "open_wait", { .window = 5, .min_calls = 5, .open_wait_ns = 0, .open_max_ns = 1,
				 .probes = 1 } },
		{ "open_max", { .window = 5, .min_calls = 5, .open_wait_ns = 2, .open_max_ns = 1,
				.probes = 1 } },
		{ "probes", { .window = 5, .min_calls = 5, .open_wait_ns = 1, .open_max_ns = 1,
			      .probes = 0 } },
		{ "probes", { .window = 5, .min_calls = 5, .open_wait_ns = 1, .open_max_ns = 1,
			      .probes = BRK_PROBES_MAX + 1 } },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(brk_config_check(&bad[i].c, &field), -EINVAL, "case %zu", i);
		cr_assert_str_eq(field, bad[i].field, "case %zu", i);
		cr_assert_eq(brk_init(&b, &bad[i].c, NULL, NULL), -EINVAL);
	}
	/* The extremes themselves are fine. */
	struct brk_config edge = { .window = BRK_WINDOW_MAX, .min_calls = BRK_WINDOW_MAX,
				   .failure_pct = 100, .slow_pct = 100, .open_wait_ns = 1,
				   .open_max_ns = 1, .probes = BRK_PROBES_MAX };
	cr_assert_eq(brk_init(&b, &edge, NULL, NULL), 0);
}

Test(breaker, no_verdict_before_the_minimum_calls)
{
	struct brk b;
	struct tb_log l;
	tb_init(&b, &l);
	for (int i = 0; i < 3; i++) {
		tb_call(&b, S(1), BRK_FAILURE, 0);
		cr_assert_eq(b.state, BRK_CLOSED, "3 of 3 failed, but only %d calls", i + 1);
	}
	tb_call(&b, S(1), BRK_FAILURE, 0);
	cr_assert_eq(b.state, BRK_OPEN, "the 4th call reaches the minimum");
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.from[0], BRK_CLOSED);
	cr_assert_eq(l.to[0], BRK_OPEN);
	cr_assert_eq(l.at[0], S(1));
	cr_assert_eq(b.open_until, S(2));
	cr_assert_eq(b.stats.opened, 1);
}

Test(breaker, opens_at_the_failure_rate_not_below)
{
	struct brk b;
	struct tb_log l;
	tb_init(&b, &l);
	/* 3 of 7 (43%) stays closed, the 8th call making 4 of 8 (50%) opens. */
	const enum brk_outcome seq[] = { BRK_SUCCESS, BRK_SUCCESS, BRK_SUCCESS, BRK_FAILURE,
					 BRK_FAILURE, BRK_SUCCESS, BRK_FAILURE };
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++)
		tb_call(&b, S(1), seq[i], 0);
	cr_assert_eq(b.state, BRK_CLOSED);
	cr_assert_eq(b.calls, 7);
	cr_assert_eq(b.failures, 3);
	tb_call(&b, S(1), BRK_FAILURE, 0);
	cr_assert_eq(b.state, BRK_OPEN);
}

Test(breaker, the_window_slides_over_the_last_n_calls)
{
	struct brk b;
	struct tb_log l;
	struct brk_config c = tb_cfg();
	c.window = 4;
	c.failure_pct = 75;
	cr_assert_eq(brk_init(&b, &c, tb_change, &l), 0);
	l.n = 0;
	/* F F S S (50%), then two S push both failures out. */
	tb_call(&b, 0, BRK_FAILURE, 0);
	tb_call(&b, 0, BRK_FAILURE, 0);
	for (int i = 0; i < 4; i++)
		tb_call(&b, 0, BRK_SUCCESS, 0);
	cr_assert_eq(b.calls, 4);
	cr_assert_eq(b.failures, 0, "old failures left the window");
	/* S S S F, S S F F (50%): closed; S F F F (75%): open. */
	tb_call(&b, 0, BRK_FAILURE, 0);
	tb_call(&b, 0, BRK_FAILURE, 0);
	cr_assert_eq(b.state, BRK_CLOSED);
	cr_assert_eq(b.failures, 2);
	tb_call(&b, 0, BRK_FAILURE, 0);
	cr_assert_eq(b.state, BRK_OPEN);
	/* A long run keeps the counts equal to the ring's contents. */
	c.failure_pct = 0;
	cr_assert_eq(brk_init(&b, &c, NULL, NULL), 0);
	for (unsigned i = 0; i < 1000; i++) {
		tb_call(&b, 0, i % 3 ? BRK_SUCCESS : BRK_FAILURE, 0);
		unsigned want = 0;
		for (unsigned k = 0; k < b.calls; k++)
			want += b.ring[k] & 1u;
		cr_assert_eq(b.failures, want, "call %u", i);
	}
	cr_assert_eq(b.state, BRK_CLOSED, "failure_pct 0 never opens");
}

Test(breaker, slow_calls_open_it_too)
{
	struct brk b;
	struct tb_log l;
	tb_init(&b, &l);
	/* Exactly the threshold is not slow; one ns more is. */
	tb_call(&b, 0, BRK_SUCCESS, S(1));
	tb_call(&b, 0, BRK_SUCCESS, S(1) + 1);
	tb_call(&b, 0, BRK_SUCCESS, MS(20));
	cr_assert_eq(b.slows, 1);
	cr_assert_eq(b.state, BRK_CLOSED);
	/* A success the caller already judged slow, without a duration:
	 * 2 of 4 slow is 50%, and no failure at all. */
	tb_call(&b, 0, BRK_SLOW, 0);
	cr_assert_eq(b.state, BRK_OPEN);
	cr_assert_eq(l.n, 1);

	/* With slowness off, nothing is slow. */
	struct brk_config c = tb_cfg();
	c.slow_ns = 0;
	c.slow_pct = 0;
	cr_assert_eq(brk_init(&b, &c, NULL, NULL), 0);
	for (int i = 0; i < 10; i++)
		tb_call(&b, 0, BRK_SUCCESS, S(3600));
	cr_assert_eq(b.state, BRK_CLOSED);
}

Test(breaker, open_denies_until_the_wait_then_probes)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t;
	tb_init(&b, &l);
	tb_trip(&b, S(10));
	cr_assert_eq(brk_retry_at(&b, S(10)), S(11));
	cr_assert_eq(brk_allow(&b, S(10), &t), BRK_DENY_OPEN);
	cr_assert_eq(brk_allow(&b, S(11) - 1, &t), BRK_DENY_OPEN);
	cr_assert_not(brk_available(&b, S(11) - 1));
	cr_assert_eq(b.stats.rejected, 2);
	cr_assert(brk_available(&b, S(11)));
	cr_assert_eq(b.state, BRK_OPEN, "brk_available changes nothing");
	cr_assert_eq(brk_retry_at(&b, S(11)), S(11));
	cr_assert_eq(brk_allow(&b, S(11), &t), BRK_ALLOW_PROBE);
	cr_assert_eq(b.state, BRK_HALF_OPEN);
	cr_assert(t.probe);
	cr_assert_eq(l.n, 2);
	cr_assert_eq(l.to[1], BRK_HALF_OPEN);
	cr_assert_eq(l.at[1], S(11));
	cr_assert_eq(b.stats.half_opened, 1);
}

Test(breaker, half_open_lets_k_probes_through)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t1, t2, t3;
	tb_init(&b, &l);
	tb_trip(&b, 0);
	cr_assert_eq(brk_allow(&b, S(1), &t1), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t2), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t3), BRK_DENY_PROBING);
	cr_assert_eq(brk_allow(&b, S(100), &t3), BRK_DENY_PROBING, "time does not free a slot");
	cr_assert_not(brk_available(&b, S(100)));
	cr_assert_eq(brk_retry_at(&b, S(100)), UINT64_MAX);
	cr_assert_eq(b.stats.rejected, 2);
	/* One success frees a slot but does not close yet (K = 2). */
	brk_on_result(&b, S(2), t1, BRK_SUCCESS, MS(100));
	cr_assert_eq(b.state, BRK_HALF_OPEN);
	cr_assert_eq(brk_retry_at(&b, S(2)), S(2));
	cr_assert_eq(brk_allow(&b, S(2), &t3), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(2), &t1), BRK_DENY_PROBING);
}

Test(breaker, k_successes_close_with_a_fresh_window)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t1, t2;
	tb_init(&b, &l);
	tb_trip(&b, 0);
	cr_assert_eq(brk_allow(&b, S(1), &t1), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t2), BRK_ALLOW_PROBE);
	brk_on_result(&b, S(2), t2, BRK_SUCCESS, 0);
	brk_on_result(&b, S(3), t1, BRK_SUCCESS, 0);
	cr_assert_eq(b.state, BRK_CLOSED);
	cr_assert_eq(l.n, 3);
	cr_assert_eq(l.from[2], BRK_HALF_OPEN);
	cr_assert_eq(l.to[2], BRK_CLOSED);
	cr_assert_eq(l.at[2], S(3));
	cr_assert_eq(b.stats.closed, 1);
	/* The failures that opened it are forgotten: 3 more do not reopen. */
	cr_assert_eq(b.calls, 0);
	for (int i = 0; i < 3; i++)
		tb_call(&b, S(4), BRK_FAILURE, 0);
	cr_assert_eq(b.state, BRK_CLOSED);
}

Test(breaker, a_failed_probe_reopens_with_a_doubled_capped_wait)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t;
	uint64_t now = 0;
	tb_init(&b, &l);
	tb_trip(&b, now);
	const uint64_t waits[] = { S(2), S(3), S(3), S(3) }; /* 1 s doubled, capped at 3 s */
	for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
		now = b.open_until;
		cr_assert_eq(brk_allow(&b, now, &t), BRK_ALLOW_PROBE);
		brk_on_result(&b, now + MS(10), t, BRK_FAILURE, 0);
		cr_assert_eq(b.state, BRK_OPEN, "trip %zu", i);
		cr_assert_eq(b.open_until, now + MS(10) + waits[i], "trip %zu", i);
	}
	cr_assert_eq(b.stats.opened, 5);
	cr_assert_eq(b.stats.half_opened, 4);
	/* A slow probe is no recovery either. */
	now = b.open_until;
	cr_assert_eq(brk_allow(&b, now, &t), BRK_ALLOW_PROBE);
	brk_on_result(&b, now, t, BRK_SUCCESS, S(2));
	cr_assert_eq(b.state, BRK_OPEN);
	/* Closing resets the wait: the next trip waits the base again. */
	struct brk_ticket t2;
	now = b.open_until;
	cr_assert_eq(brk_allow(&b, now, &t), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, now, &t2), BRK_ALLOW_PROBE);
	brk_on_result(&b, now, t, BRK_SUCCESS, 0);
	brk_on_result(&b, now, t2, BRK_SUCCESS, 0);
	cr_assert_eq(b.state, BRK_CLOSED);
	tb_trip(&b, now);
	cr_assert_eq(b.open_until, now + S(1));
}

Test(breaker, cooldown_opens_for_everyone_and_never_shortens)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t;
	tb_init(&b, &l);
	/* A 429 with retry-after 30 s on a closed breaker. */
	brk_cooldown(&b, S(100), S(130));
	cr_assert_eq(b.state, BRK_OPEN);
	cr_assert_eq(b.open_until, S(130));
	cr_assert_eq(brk_retry_at(&b, S(100)), S(130));
	cr_assert_eq(l.n, 1);
	cr_assert_eq(b.stats.cooldowns, 1);
	/* Shorter ones change nothing; a longer one extends. */
	brk_cooldown(&b, S(101), S(120));
	cr_assert_eq(b.open_until, S(130));
	brk_cooldown(&b, S(101), S(130));
	cr_assert_eq(b.open_until, S(130));
	cr_assert_eq(b.stats.cooldowns, 1);
	brk_cooldown(&b, S(102), S(140));
	cr_assert_eq(b.open_until, S(140));
	cr_assert_eq(b.stats.cooldowns, 2);
	cr_assert_eq(l.n, 1, "extending is no state change");
	/* A time already past is no cooldown. */
	brk_cooldown(&b, S(150), S(150));
	brk_cooldown(&b, S(150), S(10));
	cr_assert_eq(b.open_until, S(140));
	cr_assert_eq(brk_allow(&b, S(139), &t), BRK_DENY_OPEN);
	cr_assert_eq(brk_allow(&b, S(140), &t), BRK_ALLOW_PROBE);
	/* A cooldown while probing re-opens; the probe's late verdict is
	 * ignored and does not close the breaker. */
	brk_cooldown(&b, S(141), S(145));
	cr_assert_eq(b.state, BRK_OPEN);
	brk_on_result(&b, S(142), t, BRK_SUCCESS, 0);
	cr_assert_eq(b.state, BRK_OPEN);
	cr_assert_eq(b.open_until, S(145));
}

Test(breaker, a_trip_never_shortens_a_longer_cooldown)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t1, t2;
	tb_init(&b, &l);
	/* Probing after a short cooldown, the first probe fails: open for
	 * the doubled wait (2 s). A 429 then asks for 60 s: extended. The
	 * other probe's failure, arriving late, must not pull the end back
	 * to its own now + wait. */
	brk_cooldown(&b, 0, S(1));
	cr_assert_eq(brk_allow(&b, S(1), &t1), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t2), BRK_ALLOW_PROBE);
	brk_on_result(&b, S(2), t1, BRK_FAILURE, 0);
	cr_assert_eq(b.open_until, S(4));
	brk_cooldown(&b, S(2), S(62));
	cr_assert_eq(b.open_until, S(62));
	brk_on_result(&b, S(3), t2, BRK_FAILURE, 0);
	cr_assert_eq(b.open_until, S(62));
	cr_assert_eq(b.state, BRK_OPEN);
}

Test(breaker, an_abandoned_probe_frees_its_slot)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t1, t2, t3;
	tb_init(&b, &l);
	tb_trip(&b, 0);
	cr_assert_eq(brk_allow(&b, S(1), &t1), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t2), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t3), BRK_DENY_PROBING);
	brk_on_abandon(&b, t1);
	cr_assert_eq(b.probes_out, 1);
	cr_assert_eq(b.state, BRK_HALF_OPEN, "no verdict");
	cr_assert_eq(brk_allow(&b, S(1), &t3), BRK_ALLOW_PROBE);
	/* The abandoned probe counts no success toward closing. */
	brk_on_result(&b, S(2), t2, BRK_SUCCESS, 0);
	cr_assert_eq(b.state, BRK_HALF_OPEN);
	brk_on_result(&b, S(2), t3, BRK_SUCCESS, 0);
	cr_assert_eq(b.state, BRK_CLOSED);
	/* Abandoning a closed-state request, or a stale probe, is a no-op. */
	struct brk_ticket c;
	cr_assert_eq(brk_allow(&b, S(3), &c), BRK_ALLOW);
	brk_on_abandon(&b, c);
	brk_on_abandon(&b, t1);
	cr_assert_eq(b.probes_out, 0);
	cr_assert_eq(b.calls, 0);
}

Test(breaker, a_probe_reported_twice_cannot_wedge_it)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t1, t2, t3;
	tb_init(&b, &l);
	tb_trip(&b, 0);
	cr_assert_eq(brk_allow(&b, S(1), &t1), BRK_ALLOW_PROBE);
	brk_on_abandon(&b, t1);
	brk_on_abandon(&b, t1);
	cr_assert_eq(b.probes_out, 0, "not wrapped below zero");
	/* Still exactly K slots. */
	cr_assert_eq(brk_allow(&b, S(1), &t1), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t2), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &t3), BRK_DENY_PROBING);
}

Test(breaker, results_from_an_earlier_state_are_ignored)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket slow_req, p1, p2;
	tb_init(&b, &l);
	/* Admitted while closed, still running when the breaker opens. */
	cr_assert_eq(brk_allow(&b, 0, &slow_req), BRK_ALLOW);
	tb_trip(&b, 0);
	cr_assert_eq(brk_allow(&b, S(1), &p1), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(1), &p2), BRK_ALLOW_PROBE);
	/* Its success must not count as a probe's, nor free a slot. */
	brk_on_result(&b, S(2), slow_req, BRK_SUCCESS, 0);
	cr_assert_eq(b.probes_ok, 0);
	cr_assert_eq(b.probes_out, 2);
	/* Nor its failure re-open the breaker. */
	brk_on_result(&b, S(2), slow_req, BRK_FAILURE, 0);
	cr_assert_eq(b.state, BRK_HALF_OPEN);
	brk_on_abandon(&b, slow_req);
	cr_assert_eq(b.probes_out, 2);
	/* A probe's result after the breaker closed is no closed-state call. */
	brk_on_result(&b, S(3), p1, BRK_SUCCESS, 0);
	brk_on_result(&b, S(3), p2, BRK_SUCCESS, 0);
	cr_assert_eq(b.state, BRK_CLOSED);
	brk_on_result(&b, S(3), p2, BRK_FAILURE, 0);
	cr_assert_eq(b.calls, 0);
}

Test(breaker, counters_and_callback_follow_a_whole_cycle)
{
	struct brk b;
	struct tb_log l;
	struct brk_ticket t, u;
	tb_init(&b, &l);
	tb_trip(&b, 0);                                   /* closed -> open */
	cr_assert_eq(brk_allow(&b, S(1), &t), BRK_ALLOW_PROBE); /* -> half-open */
	brk_on_result(&b, S(1), t, BRK_FAILURE, 0);       /* -> open, 2 s */
	cr_assert_eq(brk_allow(&b, S(2), &t), BRK_DENY_OPEN);
	cr_assert_eq(brk_allow(&b, S(3), &t), BRK_ALLOW_PROBE); /* -> half-open */
	cr_assert_eq(brk_allow(&b, S(3), &u), BRK_ALLOW_PROBE);
	cr_assert_eq(brk_allow(&b, S(3), &u), BRK_DENY_PROBING);
	brk_on_result(&b, S(4), t, BRK_SUCCESS, 0);
	brk_on_result(&b, S(4), u, BRK_SUCCESS, 0);       /* -> closed */
	const enum brk_state want[] = { BRK_OPEN, BRK_HALF_OPEN, BRK_OPEN, BRK_HALF_OPEN,
					BRK_CLOSED };
	cr_assert_eq(l.n, 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(l.to[i], want[i], "change %d", i);
		cr_assert_eq(l.from[i], i ? want[i - 1] : BRK_CLOSED, "change %d", i);
	}
	cr_assert_eq(b.stats.opened, 2);
	cr_assert_eq(b.stats.half_opened, 2);
	cr_assert_eq(b.stats.closed, 1);
	cr_assert_eq(b.stats.rejected, 2);
	cr_assert_eq(b.stats.cooldowns, 0);
	cr_assert_str_eq(brk_state_name(BRK_CLOSED), "closed");
	cr_assert_str_eq(brk_state_name(BRK_OPEN), "open");
	cr_assert_str_eq(brk_state_name(BRK_HALF_OPEN), "half-open");
}

Test(breaker, works_without_a_callback_and_saturates_far_in_time)
{
	struct brk b;
	struct brk_config c = tb_cfg();
	cr_assert_eq(brk_init(&b, &c, NULL, NULL), 0);
	/* A trip at the end of time does not wrap open_until to the past. */
	tb_trip(&b, UINT64_MAX - 5);
	cr_assert_eq(b.open_until, UINT64_MAX);
	struct brk_ticket t;
	cr_assert_eq(brk_allow(&b, UINT64_MAX - 1, &t), BRK_DENY_OPEN);
}
