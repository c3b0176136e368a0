/*
 * test_lb.c — load balancing (sidecar/lb.c) with injected randomness: the
 * four strategies' orders (written order, round-robin rotation and its
 * counter, weighted sampling without replacement against its exact
 * distribution and against scripted draws, least latency with untried
 * first and stable ties), the clamping of n, and the time-to-first-chunk
 * tracker: EWMA steps and convergence, p95 against a brute-force nearest
 * rank, no p95 below the minimum, and saturation.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lb.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)

/* A fixed draw sequence; running past it fails the test. */
struct tl_script {
	const uint64_t *v;
	size_t n, used;
};

static uint64_t tl_script_next(void *state)
{
	struct tl_script *s = state;
	cr_assert_lt(s->used, s->n, "more draws than scripted");
	return s->v[s->used++];
}

static struct bo_rng tl_script_rng(struct tl_script *s, const uint64_t *v, size_t n)
{
	*s = (struct tl_script){ .v = v, .n = n };
	return (struct bo_rng){ .next = tl_script_next, .state = s };
}

/* A seeded xorshift: the same orders on every run. */
static struct bo_rng tl_seeded(uint64_t *state, uint64_t seed)
{
	*state = seed;
	return (struct bo_rng){ .next = bo_xorshift, .state = state };
}

static void tl_assert_perm(const uint32_t *order, size_t n)
{
	int seen[LB_MAX_TARGETS] = { 0 };
	for (size_t i = 0; i < n; i++) {
		cr_assert_lt(order[i], n, "index %zu out of range", i);
		cr_assert_not(seen[order[i]], "index %u twice", order[i]);
		seen[order[i]] = 1;
	}
}

static void tl_assert_order(const uint32_t *got, const uint32_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "position %zu: %u, want %u", i, got[i], want[i]);
}

Test(lb, strategy_names_round_trip_exactly)
{
	const char *names[] = { "fallback", "weighted", "round_robin", "least_latency" };
	for (int s = 0; s < 4; s++) {
		cr_assert_str_eq(lb_strategy_name((enum cfg_strategy)s), names[s]);
		cr_assert_eq(lb_strategy_from_name(names[s], strlen(names[s])), s);
	}
	cr_assert_str_eq(lb_strategy_name((enum cfg_strategy)4), "?");
	cr_assert_str_eq(lb_strategy_name((enum cfg_strategy)-1), "?");
	/* Exact: no prefix, no case folding, no trailing bytes. */
	cr_assert_eq(lb_strategy_from_name("fall", 4), -EINVAL);
	cr_assert_eq(lb_strategy_from_name("Fallback", 8), -EINVAL);
	cr_assert_eq(lb_strategy_from_name("fallback ", 9), -EINVAL);
	cr_assert_eq(lb_strategy_from_name("weighted", 0), -EINVAL);
	cr_assert_eq(lb_strategy_from_name("", 0), -EINVAL);
	/* The length decides, not a NUL. */
	cr_assert_eq(lb_strategy_from_name("weightedXYZ", 8), CFG_STRAT_WEIGHTED);
}

Test(lb, fallback_is_the_written_order_and_touches_nothing)
{
	struct lb_cand c[5] = { { 5, 900 }, { 1, 0 }, { 9, 10 }, { 0, 5 }, { 2, 1 } };
	struct tl_script s;
	struct bo_rng rng = tl_script_rng(&s, NULL, 0);
	uint32_t order[5], rr = 7;
	const uint32_t want[5] = { 0, 1, 2, 3, 4 };
	cr_assert_eq(lb_order(CFG_STRAT_FALLBACK, c, 5, &rr, &rng, order), 5);
	tl_assert_order(order, want, 5);
	cr_assert_eq(rr, 7);
	/* An unknown strategy is served the written order too. */
	cr_assert_eq(lb_order((enum cfg_strategy)99, c, 5, &rr, &rng, order), 5);
	tl_assert_order(order, want, 5);
	cr_assert_eq(rr, 7);
	cr_assert_eq(s.used, 0);
}

Test(lb, round_robin_rotates_the_first_choice_per_call)
{
	struct lb_cand c[3] = { { 1, 0 }, { 1, 0 }, { 1, 0 } };
	const uint32_t want[4][3] = { { 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 0, 1, 2 } };
	uint32_t order[3], rr = 0;
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(lb_order(CFG_STRAT_ROUND_ROBIN, c, 3, &rr, NULL, order), 3);
		tl_assert_order(order, want[i], 3);
		cr_assert_eq(rr, (uint32_t)i + 1);
	}
	/* Other strategies leave the counter alone. */
	cr_assert_eq(lb_order(CFG_STRAT_LEAST_LATENCY, c, 3, &rr, NULL, order), 3);
	cr_assert_eq(lb_order(CFG_STRAT_WEIGHTED, c, 3, &rr, NULL, order), 3);
	cr_assert_eq(rr, 4);
	cr_assert_eq(lb_order(CFG_STRAT_ROUND_ROBIN, c, 3, &rr, NULL, order), 3);
	tl_assert_order(order, want[1], 3);
	/* Each candidate is first equally often. */
	int first[3] = { 0 };
	for (int i = 0; i < 300; i++) {
		lb_order(CFG_STRAT_ROUND_ROBIN, c, 3, &rr, NULL, order);
		first[order[0]]++;
	}
	cr_assert(first[0] == 100 && first[1] == 100 && first[2] == 100);
	/* Wrapping the counter still yields permutations. */
	rr = UINT32_MAX;
	lb_order(CFG_STRAT_ROUND_ROBIN, c, 3, &rr, NULL, order);
	tl_assert_perm(order, 3);
	cr_assert_eq(order[0], UINT32_MAX % 3);
	cr_assert_eq(rr, 0);
}

Test(lb, least_latency_puts_untried_first_and_keeps_ties_in_order)
{
	struct lb_cand c[7] = { { 1, MS(300) }, { 1, 0 }, { 1, MS(100) }, { 1, 0 },
				{ 1, MS(100) }, { 1, MS(50) }, { 1, UINT64_MAX } };
	const uint32_t want[7] = { 1, 3, 5, 2, 4, 0, 6 };
	uint32_t order[7], rr = 3;
	cr_assert_eq(lb_order(CFG_STRAT_LEAST_LATENCY, c, 7, &rr, NULL, order), 7);
	tl_assert_order(order, want, 7);
	cr_assert_eq(rr, 3);
	/* All equal: written order. */
	struct lb_cand e[4] = { { 1, 5 }, { 1, 5 }, { 1, 5 }, { 1, 5 } };
	const uint32_t ident[4] = { 0, 1, 2, 3 };
	lb_order(CFG_STRAT_LEAST_LATENCY, e, 4, &rr, NULL, order);
	tl_assert_order(order, ident, 4);
	/* Reverse sorted input comes out reversed. */
	struct lb_cand d[4] = { { 1, 40 }, { 1, 30 }, { 1, 20 }, { 1, 10 } };
	const uint32_t rev[4] = { 3, 2, 1, 0 };
	lb_order(CFG_STRAT_LEAST_LATENCY, d, 4, &rr, NULL, order);
	tl_assert_order(order, rev, 4);
}

Test(lb, weighted_follows_scripted_draws_over_the_candidates_left)
{
	/* Weights 1, 3, 6: of a draw's r % total, unit 0 is c0, 1..3 c1,
	 * 4..9 c2; then the same over the candidates left, in written
	 * order. */
	struct lb_cand c[3] = { { 1, 0 }, { 3, 0 }, { 6, 0 } };
	uint32_t order[3], rr = 0;
	struct tl_script s;
	const struct {
		uint64_t draws[2];
		uint32_t want[3];
	} cases[] = {
		{ { 0, 0 }, { 0, 1, 2 } },          /* c0; of c1 c2 (9): 0 -> c1 */
		{ { 10, 3 }, { 0, 2, 1 } },         /* 10 % 10 -> c0; 3 -> c2 */
		{ { 1, 0 }, { 1, 0, 2 } },          /* c1; of c0 c2 (7): 0 -> c0 */
		{ { 3, 1 }, { 1, 2, 0 } },          /* c1; 1 -> c2 */
		{ { 4, 0 }, { 2, 0, 1 } },          /* c2; of c0 c1 (4): 0 -> c0 */
		{ { 9, 3 }, { 2, 1, 0 } },          /* c2; 3 -> c1 */
		{ { 19, 1 }, { 2, 1, 0 } },         /* 19 % 10 = 9 -> c2; 1 -> c1 */
		{ { UINT64_MAX, 6 }, { 2, 1, 0 } }, /* (2^64 - 1) % 10 = 5 -> c2; 6 % 4 -> c1 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct bo_rng rng = tl_script_rng(&s, cases[i].draws, 2);
		cr_assert_eq(lb_order(CFG_STRAT_WEIGHTED, c, 3, &rr, &rng, order), 3);
		tl_assert_order(order, cases[i].want, 3);
		cr_assert_eq(s.used, 2, "n - 1 draws: the last position needs none");
	}
	cr_assert_eq(rr, 0);
}

Test(lb, weighted_takes_weight_0_as_1_and_huge_weights_whole)
{
	struct lb_cand z[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
	uint32_t order[3], rr = 0;
	struct tl_script s;
	/* Total 3: draw 1 is the second candidate, then 1 of the 2 left the
	 * third. */
	const uint64_t d1[] = { 1, 1 };
	struct bo_rng rng = tl_script_rng(&s, d1, 2);
	lb_order(CFG_STRAT_WEIGHTED, z, 3, &rr, &rng, order);
	const uint32_t want1[3] = { 1, 2, 0 };
	tl_assert_order(order, want1, 3);
	/* A weight of 0 among real ones is one unit, not nothing. */
	struct lb_cand m[2] = { { 0, 0 }, { 9, 0 } };
	const uint64_t d2[] = { 0 };
	rng = tl_script_rng(&s, d2, 1);
	lb_order(CFG_STRAT_WEIGHTED, m, 2, &rr, &rng, order);
	cr_assert_eq(order[0], 0);
	/* 16 weights of 2^32 - 1: the total (about 2^36) is summed in 64
	 * bits; the last unit belongs to the last candidate. */
	struct lb_cand h[LB_MAX_TARGETS];
	for (int i = 0; i < LB_MAX_TARGETS; i++)
		h[i] = (struct lb_cand){ UINT32_MAX, 0 };
	uint64_t dh[LB_MAX_TARGETS - 1];
	for (int i = 0; i < LB_MAX_TARGETS - 1; i++)
		dh[i] = (uint64_t)UINT32_MAX * (uint64_t)(LB_MAX_TARGETS - i) - 1;
	uint32_t oh[LB_MAX_TARGETS];
	rng = tl_script_rng(&s, dh, LB_MAX_TARGETS - 1);
	lb_order(CFG_STRAT_WEIGHTED, h, LB_MAX_TARGETS, &rr, &rng, oh);
	/* Always the last one left: the order comes out reversed. */
	for (int i = 0; i < LB_MAX_TARGETS; i++)
		cr_assert_eq(oh[i], (uint32_t)(LB_MAX_TARGETS - 1 - i));
}

/* P(candidate i drawn second) for weights w: sum over the first j != i of
 * w_j / T * w_i / (T - w_j). */
static double tl_p_second(const double *w, int n, int i)
{
	double t = 0, p = 0;
	for (int j = 0; j < n; j++)
		t += w[j];
	for (int j = 0; j < n; j++)
		if (j != i)
			p += w[j] / t * w[i] / (t - w[j]);
	return p;
}

Test(lb, weighted_draws_follow_the_weights)
{
	const double w[4] = { 1, 2, 3, 4 };
	struct lb_cand c[4] = { { 1, 0 }, { 2, 0 }, { 3, 0 }, { 4, 0 } };
	const int draws = 100000;
	int first[4] = { 0 }, second[4] = { 0 };
	uint64_t st;
	struct bo_rng rng = tl_seeded(&st, 0x5eed1234abcdull);
	uint32_t order[4], rr = 0;
	for (int k = 0; k < draws; k++) {
		cr_assert_eq(lb_order(CFG_STRAT_WEIGHTED, c, 4, &rr, &rng, order), 4);
		tl_assert_perm(order, 4);
		first[order[0]]++;
		second[order[1]]++;
	}
	/* One standard deviation of a share over 100k draws is at most
	 * 0.16%: a 1% band is six of them, never a flake with a fixed seed
	 * and still tight enough to catch a wrong distribution. */
	for (int i = 0; i < 4; i++) {
		double got1 = (double)first[i] / draws, want1 = w[i] / 10.0;
		double got2 = (double)second[i] / draws, want2 = tl_p_second(w, 4, i);
		cr_assert(got1 > want1 - 0.01 && got1 < want1 + 0.01,
			  "first %d: %.4f, want %.4f", i, got1, want1);
		cr_assert(got2 > want2 - 0.01 && got2 < want2 + 0.01,
			  "second %d: %.4f, want %.4f", i, got2, want2);
	}
}

Test(lb, every_strategy_writes_a_permutation_for_every_n)
{
	uint64_t st, gst;
	struct bo_rng rng = tl_seeded(&st, 42);
	struct bo_rng gen = tl_seeded(&gst, 7);
	struct lb_cand c[LB_MAX_TARGETS];
	uint32_t order[LB_MAX_TARGETS], rr = 0;
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + gen.next(gen.state) % LB_MAX_TARGETS;
		for (size_t i = 0; i < n; i++) {
			uint64_t r = gen.next(gen.state);
			c[i] = (struct lb_cand){ (uint32_t)(r % 4 ? r % 1000 : 0),
						 r % 3 ? (r >> 20) % 5 : 0 };
		}
		enum cfg_strategy s = (enum cfg_strategy)(round % 4);
		/* Half the weighted rounds draw from the default source. */
		const struct bo_rng *src = round % 8 == 1 ? NULL : &rng;
		cr_assert_eq(lb_order(s, c, n, &rr, src, order), n);
		tl_assert_perm(order, n);
	}
}

Test(lb, n_is_clamped_and_a_single_candidate_needs_no_draw)
{
	struct lb_cand c[LB_MAX_TARGETS + 4];
	for (int i = 0; i < LB_MAX_TARGETS + 4; i++)
		c[i] = (struct lb_cand){ 1, (uint64_t)(100 - i) };
	uint32_t order[LB_MAX_TARGETS + 4];
	uint32_t rr = 0;
	struct tl_script s;
	struct bo_rng none = tl_script_rng(&s, NULL, 0);
	for (int st = 0; st < 4; st++) {
		/* 0 writes nothing and takes no turn. */
		uint32_t rr0 = rr;
		memset(order, 0xff, sizeof order);
		cr_assert_eq(lb_order((enum cfg_strategy)st, c, 0, &rr, &none, order), 0);
		cr_assert_eq(order[0], UINT32_MAX);
		cr_assert_eq(rr, rr0);
		/* 1: the one candidate, no draw even for weighted. */
		cr_assert_eq(lb_order((enum cfg_strategy)st, c, 1, &rr, &none, order), 1);
		cr_assert_eq(order[0], 0);
		cr_assert_eq(order[1], UINT32_MAX);
		/* More than the maximum: the first LB_MAX_TARGETS only. */
		uint64_t st_x;
		struct bo_rng rng = tl_seeded(&st_x, 99);
		memset(order, 0xff, sizeof order);
		cr_assert_eq(lb_order((enum cfg_strategy)st, c, LB_MAX_TARGETS + 4, &rr, &rng,
				      order), LB_MAX_TARGETS);
		tl_assert_perm(order, LB_MAX_TARGETS);
		cr_assert_eq(order[LB_MAX_TARGETS], UINT32_MAX);
		cr_assert_eq(lb_order((enum cfg_strategy)st, c, LB_MAX_TARGETS, &rr, &rng, order),
			     LB_MAX_TARGETS);
		tl_assert_perm(order, LB_MAX_TARGETS);
	}
	cr_assert_eq(s.used, 0);
	/* Round robin took one turn per non-empty call: 3. */
	cr_assert_eq(rr, 3);
	/* Least latency over the clamped 16 (latency falling with index). */
	lb_order(CFG_STRAT_LEAST_LATENCY, c, LB_MAX_TARGETS + 4, &rr, NULL, order);
	cr_assert_eq(order[0], LB_MAX_TARGETS - 1);
}

/* ---- time to first chunk ---------------------------------------------------------- */

Test(lb_lat, the_first_sample_sets_the_average_and_later_ones_move_it_by_alpha)
{
	struct lb_lat l = { 0 };
	cr_assert_eq(lb_lat_p95(&l), 0);
	lb_lat_add(&l, 1000);
	cr_assert_eq(l.ewma_ns, 1000);
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.ring_us[0], 1);
	/* + ceil(1000 * 205 / 1024) = + ceil(200.2) */
	lb_lat_add(&l, 2000);
	cr_assert_eq(l.ewma_ns, 1201);
	/* A 0 sample counts as 1 ns: - ceil(1200 * 205 / 1024) = - 241 */
	lb_lat_add(&l, 0);
	cr_assert_eq(l.ewma_ns, 960);
	cr_assert_eq(l.ring_us[2], 0);
	/* The same sample again: no move. */
	lb_lat_add(&l, 960);
	cr_assert_eq(l.ewma_ns, 960);
	/* Starting from 0 ns keeps it measured (non-zero). */
	struct lb_lat z = { 0 };
	lb_lat_add(&z, 0);
	cr_assert_eq(z.ewma_ns, 1);
}

Test(lb_lat, the_average_converges_like_the_float_one_and_then_exactly)
{
	struct lb_lat l = { 0 };
	double ref = 1e9;
	lb_lat_add(&l, 1000000000u);
	for (int i = 1; i <= 60; i++) {
		lb_lat_add(&l, MS(5));
		ref += (205.0 / 1024.0) * (5e6 - ref);
		/* Rounding each step's size up moves it under 1 ns further
		 * per step. */
		cr_assert(l.ewma_ns >= ref - i - 1 && l.ewma_ns <= ref + 1,
			  "step %d: %llu, float %.1f", i, (unsigned long long)l.ewma_ns, ref);
	}
	for (int i = 0; i < 200; i++)
		lb_lat_add(&l, MS(5));
	cr_assert_eq(l.ewma_ns, MS(5), "a steady latency is reached exactly");
	/* And upward. */
	for (int i = 0; i < 300; i++)
		lb_lat_add(&l, MS(80));
	cr_assert_eq(l.ewma_ns, MS(80));
}

/* Nearest-rank p95 by counting: the smallest sample v with at least 95%
 * of the k samples <= v. Independent of lb.c's sort-and-index. */
static uint64_t tl_p95_ref(const uint32_t *s, size_t k)
{
	uint32_t best = UINT32_MAX;
	for (size_t i = 0; i < k; i++) {
		size_t le = 0;
		for (size_t j = 0; j < k; j++)
			le += s[j] <= s[i];
		if (le * 100 >= 95 * k && s[i] < best)
			best = s[i];
	}
	return (uint64_t)best * 1000u;
}

Test(lb_lat, p95_is_the_nearest_rank_of_the_kept_samples)
{
	uint64_t st;
	struct bo_rng gen = tl_seeded(&st, 2024);
	for (int round = 0; round < 300; round++) {
		struct lb_lat l = { 0 };
		uint32_t hist[400];
		size_t total = LB_LAT_MIN_P95 + gen.next(gen.state) % 380;
		/* Narrow ranges give many ties, wide ones few. */
		uint64_t range = round % 3 == 0 ? 10 : round % 3 == 1 ? 5000 : 2000000;
		for (size_t i = 0; i < total; i++) {
			uint64_t ns = (gen.next(gen.state) % range) * 1000u + gen.next(gen.state) % 1000u;
			hist[i] = (uint32_t)(ns / 1000u);
			lb_lat_add(&l, ns);
		}
		size_t k = total < LB_LAT_SAMPLES ? total : LB_LAT_SAMPLES;
		cr_assert_eq(l.n, k);
		uint64_t want = tl_p95_ref(hist + total - k, k);
		cr_assert_eq(lb_lat_p95(&l), want, "round %d: %zu samples", round, total);
	}
}

Test(lb_lat, no_p95_below_the_minimum_and_old_samples_leave)
{
	struct lb_lat l = { 0 };
	for (int i = 0; i < LB_LAT_MIN_P95 - 1; i++) {
		lb_lat_add(&l, MS(10));
		cr_assert_eq(lb_lat_p95(&l), 0);
	}
	lb_lat_add(&l, MS(10));
	cr_assert_eq(lb_lat_p95(&l), MS(10));
	/* 19 of 20 fast and one slow: rank ceil(0.95 * 20) = 19, fast. */
	struct lb_lat m = { 0 };
	for (int i = 0; i < 19; i++)
		lb_lat_add(&m, MS(1));
	lb_lat_add(&m, MS(900));
	cr_assert_eq(lb_lat_p95(&m), MS(1));
	/* A full ring of slow samples, then a full ring of fast ones: the
	 * slow ones are gone. */
	struct lb_lat r = { 0 };
	for (int i = 0; i < LB_LAT_SAMPLES; i++)
		lb_lat_add(&r, MS(900));
	for (int i = 0; i < LB_LAT_SAMPLES; i++)
		lb_lat_add(&r, MS(2));
	cr_assert_eq(r.n, LB_LAT_SAMPLES);
	cr_assert_eq(r.head, 0);
	cr_assert_eq(lb_lat_p95(&r), MS(2));
	/* Sub-microsecond parts are dropped in the ring, not rounded. */
	struct lb_lat u = { 0 };
	for (int i = 0; i < LB_LAT_MIN_P95; i++)
		lb_lat_add(&u, 1999);
	cr_assert_eq(lb_lat_p95(&u), 1000);
}

Test(lb_lat, huge_samples_saturate_and_never_wrap)
{
	struct lb_lat l = { 0 };
	for (int i = 0; i < LB_LAT_MIN_P95; i++)
		lb_lat_add(&l, UINT64_MAX);
	cr_assert_eq(l.ring_us[0], UINT32_MAX);
	cr_assert_eq(lb_lat_p95(&l), (uint64_t)UINT32_MAX * 1000u);
	cr_assert_eq(l.ewma_ns, UINT64_MAX);
	/* From the top down to 1 and back: each step checked against 128-bit
	 * arithmetic. */
	unsigned __int128 want = UINT64_MAX;
	uint64_t d = UINT64_MAX - 1;
	want -= ((unsigned __int128)d * 205 + 1023) / 1024;
	lb_lat_add(&l, 1);
	cr_assert(l.ewma_ns == (uint64_t)want);
	struct lb_lat s = { 0 };
	lb_lat_add(&s, 1);
	lb_lat_add(&s, UINT64_MAX);
	want = 1 + ((unsigned __int128)(UINT64_MAX - 1) * 205 + 1023) / 1024;
	cr_assert(s.ewma_ns == (uint64_t)want);
	for (int i = 0; i < 1000; i++)
		lb_lat_add(&s, UINT64_MAX);
	cr_assert_eq(s.ewma_ns, UINT64_MAX);
}
