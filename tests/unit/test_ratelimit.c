/*
 * test_ratelimit.c — per-deployment limits (sidecar/ratelimit.c) against an
 * injected clock: token buckets full at start, refilled exactly however
 * time is sliced, waits exact to the nanosecond, debt from corrections and
 * from a request larger than the bucket, never above capacity, no limit at
 * 0, no overflow at a tpm of 10^12 over hours, a clock that steps back;
 * then rl_admit's all-or-nothing admission, the concurrency limit, release
 * corrections, refusals counted by the first limit hit, rl_peek, and the
 * token estimate.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "backoff.h"
#include "ratelimit.h"

#define S(x) ((uint64_t)(x) * 1000000000ull)
#define MS(x) ((uint64_t)(x) * 1000000ull)

/* Somewhere far from 0, so that nothing depends on the clock's origin. */
#define T0 S(1000000)

/* One token at a limit of per_minute is 60e9 / per_minute ns. */
#define NS_PER_MIN 60000000000ull

/* Take single tokens at now until refused; how many went. */
static uint64_t tr_drain(struct rl_bucket *b, uint64_t now)
{
	uint64_t n = 0;
	while (!rl_bucket_take(b, now, 1))
		cr_assert_lt(++n, 10000000);
	return n;
}

Test(rl_bucket, full_at_start_then_one_token_per_second_at_60_a_minute)
{
	struct rl_bucket b;
	rl_bucket_init(&b, 60, T0);
	cr_assert_eq(b.level, 60);
	cr_assert_eq(rl_bucket_wait(&b, T0, 60), 0);
	cr_assert_eq(tr_drain(&b, T0), 60);
	cr_assert_eq(rl_bucket_take(&b, T0, 1), S(1));
	cr_assert_eq(rl_bucket_take(&b, T0 + S(1) - 1, 1), 1);
	cr_assert_eq(rl_bucket_take(&b, T0 + S(1), 1), 0);
	/* Ten seconds later exactly ten more, and the eleventh a second on. */
	cr_assert_eq(rl_bucket_wait(&b, T0 + S(11), 10), 0);
	cr_assert_eq(rl_bucket_wait(&b, T0 + S(11), 11), S(1));
	cr_assert_eq(rl_bucket_take(&b, T0 + S(11), 10), 0);
	cr_assert_eq(b.level, 0);
	cr_assert_eq(b.frac, 0);
}

Test(rl_bucket, refill_is_exact_however_time_is_sliced)
{
	/* From 2 up: at 1 a minute the bucket holds one token, and a
	 * greedy taker cannot keep it from filling (and losing time). */
	const uint64_t limits[] = { 2, 7, 60, 999, 123457, 1000000007ull, 1000000000000ull };
	uint64_t st = 77;
	struct bo_rng gen = { bo_xorshift, &st };
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		uint64_t pm = limits[i], now = T0;
		struct rl_bucket b;
		rl_bucket_init(&b, pm, T0);
		/* Emptied at T0: from there no time is lost at capacity. */
		uint64_t taken = rl_bucket_take(&b, T0, pm) ? 0 : pm;
		/* Greedy takers at odd moments keep the bucket below full, so
		 * every fraction of a token has to be carried, never dropped. */
		uint64_t step = NS_PER_MIN / pm / 3 + 1;
		for (int k = 0; k < 3000; k++) {
			now += 1 + gen.next(gen.state) % (2 * step);
			uint64_t want = 1 + gen.next(gen.state) % (pm < 50 ? 1 : pm / 50);
			while (!rl_bucket_take(&b, now, want))
				taken += want;
		}
		unsigned __int128 refilled = (unsigned __int128)(now - T0) * pm / NS_PER_MIN;
		uint64_t left = b.level > 0 ? (uint64_t)b.level : 0;
		cr_assert(taken + left == pm + (uint64_t)refilled,
			  "limit %llu: taken %llu + left %llu", (unsigned long long)pm,
			  (unsigned long long)taken, (unsigned long long)left);
	}
}

Test(rl_bucket, a_returned_wait_is_exact_to_the_ns)
{
	const uint64_t limits[] = { 1, 7, 60, 1000, 123457, 1000000007ull, 1000000000000ull };
	uint64_t st = 5;
	struct bo_rng gen = { bo_xorshift, &st };
	for (int round = 0; round < 5000; round++) {
		uint64_t pm = limits[round % 7], now = T0;
		struct rl_bucket b;
		rl_bucket_init(&b, pm, now);
		/* Some level (debt included) and some fraction of a token. */
		rl_bucket_adjust(&b, now, -(int64_t)(gen.next(gen.state) % (2 * pm + 1)));
		now += gen.next(gen.state) % (NS_PER_MIN / pm + 1);
		uint64_t n = 1 + gen.next(gen.state) % (2 * pm);
		struct rl_bucket early = b, exact = b;
		uint64_t w = rl_bucket_wait(&b, now, n);
		if (!w) {
			cr_assert_eq(rl_bucket_take(&exact, now, n), 0);
			continue;
		}
		cr_assert_eq(rl_bucket_take(&early, now + w - 1, n), 1, "round %d", round);
		cr_assert_eq(rl_bucket_take(&exact, now + w, n), 0, "round %d", round);
	}
}

Test(rl_bucket, debt_from_a_correction_delays_later_takes)
{
	struct rl_bucket b;
	rl_bucket_init(&b, 60, T0);
	rl_bucket_adjust(&b, T0, -100);
	cr_assert_eq(b.level, -40);
	cr_assert_eq(rl_bucket_wait(&b, T0, 1), S(41));
	/* Half a token in, the debt still counts whole. */
	cr_assert_eq(rl_bucket_wait(&b, T0 + MS(500), 1), S(41) - MS(500));
	/* Giving back more than was charged stops at capacity, exactly. */
	rl_bucket_adjust(&b, T0 + MS(500), 1000);
	cr_assert_eq(b.level, 60);
	cr_assert_eq(b.frac, 0);
	cr_assert_eq(rl_bucket_wait(&b, T0 + MS(500), 61), 0, "more than cap: waits for full");
}

Test(rl_bucket, a_request_larger_than_the_bucket_goes_when_full_into_debt)
{
	struct rl_bucket b;
	rl_bucket_init(&b, 100, T0); /* a token each 600 ms */
	cr_assert_eq(rl_bucket_take(&b, T0, 250), 0);
	cr_assert_eq(b.level, -150);
	cr_assert_eq(rl_bucket_wait(&b, T0, 1), MS(151 * 600));
	/* Not full: it waits for full, not for 250 (which never comes). */
	rl_bucket_init(&b, 100, T0);
	cr_assert_eq(rl_bucket_take(&b, T0, 1), 0);
	cr_assert_eq(rl_bucket_take(&b, T0, 250), MS(600));
	cr_assert_eq(rl_bucket_take(&b, T0 + MS(600) - 1, 250), 1);
	cr_assert_eq(rl_bucket_take(&b, T0 + MS(600), 250), 0);
	cr_assert_eq(b.level, -150);
}

Test(rl_bucket, never_above_capacity)
{
	struct rl_bucket b;
	rl_bucket_init(&b, 60, T0);
	cr_assert_eq(rl_bucket_wait(&b, T0 + S(36000), 60), 0);
	cr_assert_eq(b.level, 60);
	cr_assert_eq(rl_bucket_take(&b, T0 + S(36000), 1), 0);
	rl_bucket_adjust(&b, T0 + S(36000) + MS(700), INT64_MAX);
	cr_assert_eq(b.level, 60);
	cr_assert_eq(b.frac, 0);
	cr_assert_eq(tr_drain(&b, T0 + S(36001)), 60);
	/* Refilled to the brim mid-token: no fraction above it. */
	cr_assert_eq(rl_bucket_wait(&b, T0 + S(36001) + S(60) + 1, 60), 0);
	cr_assert_eq(b.level, 60);
	cr_assert_eq(b.frac, 0);
}

Test(rl_bucket, a_limit_of_0_is_no_limit)
{
	struct rl_bucket b;
	rl_bucket_init(&b, 0, T0);
	cr_assert_eq(rl_bucket_take(&b, T0, UINT64_MAX), 0);
	cr_assert_eq(rl_bucket_take(&b, 0, UINT64_MAX), 0);
	rl_bucket_adjust(&b, T0, INT64_MIN);
	cr_assert_eq(rl_bucket_wait(&b, T0, 1), 0);
	cr_assert_eq(b.level, 0);
}

Test(rl_bucket, huge_limits_debts_and_times_do_not_overflow)
{
	struct rl_bucket b;
	const uint64_t tpm = 1000000000000ull; /* 10^12: 50/3 tokens per ns */
	rl_bucket_init(&b, tpm, T0);
	cr_assert_eq(rl_bucket_take(&b, T0, tpm), 0);
	cr_assert_eq(rl_bucket_wait(&b, T0, tpm), S(60));
	cr_assert_eq(rl_bucket_wait(&b, T0, 17), 2, "17 tokens need 1.02 ns");
	cr_assert_eq(rl_bucket_take(&b, T0 + 3, 50), 0, "3 ns bring exactly 50");
	cr_assert_eq(b.level, 0);
	cr_assert_eq(b.frac, 0);
	cr_assert_eq(rl_bucket_wait(&b, T0 + S(3600) * 5, tpm), 0);
	cr_assert_eq(b.level, (int64_t)tpm);
	/* Past int64: taken as INT64_MAX; refill over all of time. */
	rl_bucket_init(&b, UINT64_MAX, 0);
	cr_assert_eq(b.per_minute, (uint64_t)INT64_MAX);
	cr_assert_eq(rl_bucket_take(&b, 0, UINT64_MAX), 0);
	cr_assert_eq(b.level, -INT64_MAX, "the debt saturates");
	cr_assert_eq(rl_bucket_wait(&b, 0, 1), S(60) + 1, "2^63 tokens at 2^63 - 1 a minute");
	cr_assert_eq(rl_bucket_wait(&b, UINT64_MAX, (uint64_t)INT64_MAX), 0);
	/* The deepest debt saturates, and its wait stays a wait. */
	rl_bucket_init(&b, 1, T0);
	rl_bucket_adjust(&b, T0, INT64_MIN);
	rl_bucket_adjust(&b, T0, INT64_MIN);
	cr_assert_eq(b.level, -INT64_MAX);
	cr_assert_eq(rl_bucket_take(&b, T0, UINT64_MAX), RL_WAIT_RELEASE - 1);
	rl_bucket_init(&b, tpm, T0);
	cr_assert_eq(rl_bucket_take(&b, T0, UINT64_MAX), 0);
	cr_assert_eq(b.level, -INT64_MAX);
	cr_assert_lt(rl_bucket_wait(&b, T0, 1), RL_WAIT_RELEASE);
}

Test(rl_bucket, a_clock_stepping_back_refills_nothing)
{
	struct rl_bucket b;
	rl_bucket_init(&b, 60, T0);
	cr_assert_eq(tr_drain(&b, T0 + S(10)), 60);
	cr_assert_eq(rl_bucket_wait(&b, T0, 1), S(1), "the earlier time is taken as the latest");
	cr_assert_eq(rl_bucket_take(&b, 0, 1), S(1));
	cr_assert_eq(b.last_ns, T0 + S(10));
	/* Coming back: a second after the latest time seen, not after T0. */
	cr_assert_eq(rl_bucket_take(&b, T0 + S(11) - 1, 1), 1);
	cr_assert_eq(rl_bucket_take(&b, T0 + S(11), 1), 0);
}

/* ---- rl: the three limits together ---------------------------------------------- */

static void tr_init(struct rl *r, uint32_t conc, uint32_t rpm, uint64_t tpm)
{
	struct rl_limits lim = { .max_concurrent = conc, .rpm = rpm, .tpm = tpm };
	rl_init(r, &lim, T0);
}

Test(rl, limited_means_any_limit_set)
{
	struct rl r;
	tr_init(&r, 0, 0, 0);
	cr_assert_not(rl_limited(&r));
	cr_assert_eq(rl_admit(&r, T0, UINT64_MAX), 0, "no limits admit anything");
	tr_init(&r, 1, 0, 0);
	cr_assert(rl_limited(&r));
	tr_init(&r, 0, 1, 0);
	cr_assert(rl_limited(&r));
	tr_init(&r, 0, 0, 1);
	cr_assert(rl_limited(&r));
}

Test(rl, a_refusal_takes_nothing_from_any_limit)
{
	struct rl r;
	tr_init(&r, 3, 10, 100); /* a token each 600 ms */
	cr_assert_eq(rl_admit(&r, T0, 100), 0);
	cr_assert_eq(r.inflight, 1);
	cr_assert_eq(r.req.level, 9);
	cr_assert_eq(r.tok.level, 0);
	/* tpm refuses: no rpm token, no slot. */
	cr_assert_eq(rl_admit(&r, T0, 1), MS(600));
	cr_assert_eq(r.inflight, 1);
	cr_assert_eq(r.req.level, 9);
	cr_assert_eq(r.stats.limited_tpm, 1);
	cr_assert_eq(r.stats.admitted, 1);
	/* rpm refuses: no tokens, no slot. */
	tr_init(&r, 3, 1, 100);
	cr_assert_eq(rl_admit(&r, T0, 10), 0);
	cr_assert_eq(rl_admit(&r, T0, 10), S(60));
	cr_assert_eq(r.tok.level, 90);
	cr_assert_eq(r.inflight, 1);
	cr_assert_eq(r.stats.limited_rpm, 1);
	cr_assert_eq(rl_admit(&r, T0 + S(60), 10), 0);
	cr_assert_eq(r.tok.level, 90, "refilled to full, then 10 taken");
}

Test(rl, the_concurrency_limit_waits_for_a_release)
{
	struct rl r;
	tr_init(&r, 2, 60, 0);
	cr_assert_eq(rl_admit(&r, T0, 5), 0);
	cr_assert_eq(rl_admit(&r, T0, 5), 0);
	cr_assert_eq(rl_admit(&r, T0, 5), RL_WAIT_RELEASE);
	cr_assert_eq(rl_admit(&r, T0 + S(3600), 5), RL_WAIT_RELEASE, "time does not help");
	cr_assert_eq(r.stats.limited_concurrent, 2);
	cr_assert_eq(r.req.level, 58);
	rl_release(&r, T0, 5, -1);
	cr_assert_eq(r.inflight, 1);
	cr_assert_eq(rl_admit(&r, T0, 5), 0);
	/* Releases without admits do not wrap the count. */
	for (int i = 0; i < 5; i++)
		rl_release(&r, T0, 0, -1);
	cr_assert_eq(r.inflight, 0);
	/* Without a concurrency limit in flight is still counted. */
	tr_init(&r, 0, 0, 0);
	rl_admit(&r, T0, 1);
	rl_admit(&r, T0, 1);
	cr_assert_eq(r.inflight, 2);
}

Test(rl, refusals_count_the_first_limit_hit_and_wait_for_the_last)
{
	struct rl r;
	tr_init(&r, 1, 2, 60); /* a request each 30 s, a token each second */
	cr_assert_eq(rl_admit(&r, T0, 60), 0);
	/* All three bind: the concurrency limit is what is counted. */
	cr_assert_eq(rl_admit(&r, T0, 60), RL_WAIT_RELEASE);
	cr_assert_eq(r.stats.limited_concurrent, 1);
	rl_release(&r, T0, 60, -1);
	/* tpm only. */
	cr_assert_eq(rl_admit(&r, T0, 10), S(10));
	cr_assert_eq(r.stats.limited_tpm, 1);
	cr_assert_eq(rl_admit(&r, T0, 0), 0, "no tokens needed, none in debt");
	rl_release(&r, T0, 0, -1);
	/* rpm and tpm: counted as rpm, the wait is the longer one. */
	cr_assert_eq(rl_admit(&r, T0, 40), S(40));
	cr_assert_eq(rl_admit(&r, T0 + S(20), 25), S(10));
	cr_assert_eq(r.stats.limited_rpm, 2);
	cr_assert_eq(r.stats.limited_tpm, 1);
	cr_assert_eq(r.stats.admitted, 2);
}

Test(rl, a_release_corrects_the_estimate)
{
	struct rl r;
	tr_init(&r, 0, 0, 100);
	cr_assert_eq(rl_admit(&r, T0, 50), 0);
	rl_release(&r, T0, 50, 20);
	cr_assert_eq(r.tok.level, 80, "30 estimated too many come back");
	cr_assert_eq(rl_admit(&r, T0, 50), 0);
	rl_release(&r, T0, 50, 130);
	cr_assert_eq(r.tok.level, -50, "80 more charged: debt");
	cr_assert_eq(rl_admit(&r, T0, 0), MS(50 * 600));
	rl_release(&r, T0, 10, -1);
	cr_assert_eq(r.tok.level, -50, "no count, no correction");
	/* Answers that used nothing give the estimate back, capped. */
	rl_release(&r, T0, UINT64_MAX, 0);
	cr_assert_eq(r.tok.level, 100);
	rl_release(&r, T0, 0, INT64_MAX);
	cr_assert_eq(r.tok.level, 100 - INT64_MAX);
	rl_release(&r, T0, 0, INT64_MAX);
	cr_assert_eq(r.tok.level, -INT64_MAX, "the debt saturates");
}

Test(rl, peek_tells_the_wait_and_changes_nothing)
{
	/* Two limiters walk the same random traffic; only a is peeked at,
	 * before every admit. */
	struct rl a, b;
	tr_init(&a, 2, 3, 100);
	tr_init(&b, 2, 3, 100);
	uint64_t st = 11, now = T0;
	struct bo_rng gen = { bo_xorshift, &st };
	for (int i = 0; i < 300; i++) {
		now += gen.next(gen.state) % S(10);
		uint64_t est = 1 + gen.next(gen.state) % 120;
		uint64_t p = rl_peek(&a, now, est);
		cr_assert_eq(rl_peek(&a, now, est), p);
		cr_assert_eq(rl_admit(&a, now, est), p, "step %d", i);
		cr_assert_eq(rl_admit(&b, now, est), p, "step %d", i);
		if (a.inflight && gen.next(gen.state) % 3 == 0) {
			rl_release(&a, now, est, 5);
			rl_release(&b, now, est, 5);
		}
	}
	/* The walk met every kind of answer. */
	cr_assert_gt(a.stats.admitted, 0);
	cr_assert_gt(a.stats.limited_concurrent, 0);
	cr_assert_gt(a.stats.limited_rpm, 0);
	cr_assert_gt(a.stats.limited_tpm, 0);
	cr_assert(!memcmp(&a.stats, &b.stats, sizeof a.stats));
	cr_assert_eq(a.inflight, b.inflight);
	cr_assert_eq(a.tok.level, b.tok.level);
	cr_assert_eq(a.tok.frac, b.tok.frac);
	struct rl_stats before = a.stats;
	uint32_t inflight = a.inflight;
	rl_peek(&a, now, 1000);
	cr_assert(!memcmp(&a.stats, &before, sizeof before));
	cr_assert_eq(a.inflight, inflight);
}

Test(rl, the_estimate_is_a_quarter_of_the_bytes_plus_the_completion)
{
	cr_assert_eq(rl_estimate_tokens(0, -1), RL_EST_COMPLETION_DEFAULT);
	cr_assert_eq(rl_estimate_tokens(1, 0), 1);
	cr_assert_eq(rl_estimate_tokens(4, 0), 1);
	cr_assert_eq(rl_estimate_tokens(5, 0), 2);
	cr_assert_eq(rl_estimate_tokens(4000, 100), 1100);
	cr_assert_eq(rl_estimate_tokens(0, RL_EST_COMPLETION_MAX), RL_EST_COMPLETION_MAX);
	cr_assert_eq(rl_estimate_tokens(0, RL_EST_COMPLETION_MAX + 1), RL_EST_COMPLETION_MAX);
	cr_assert_eq(rl_estimate_tokens(0, INT64_MAX), RL_EST_COMPLETION_MAX);
	cr_assert_eq(rl_estimate_tokens(0, INT64_MIN), RL_EST_COMPLETION_DEFAULT);
	cr_assert_eq(rl_estimate_tokens(SIZE_MAX, -1),
		     (uint64_t)SIZE_MAX / 4 + 1 + RL_EST_COMPLETION_DEFAULT);
}
