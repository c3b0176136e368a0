/*
 * lb.c — load-balancing orders and time-to-first-chunk tracking (see lb.h).
 */
#include "lb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LB_NS_PER_US 1000u

/* log2 of the 1024 in LB_LAT_ALPHA_1024. */
#define LB_ALPHA_SHIFT 10
#define LB_ALPHA_MASK ((1u << LB_ALPHA_SHIFT) - 1u)

/* The percentile lb_lat_p95 reports, as a fraction. */
#define LB_P95_NUM 95u
#define LB_P95_DEN 100u

/* ---- time to first chunk ---------------------------------------------------------- */

/* alpha * d, rounded up, for any d: with d = 1024 q + r the product is
 * alpha q + alpha r / 1024, so no intermediate exceeds alpha * 1024.
 * Rounding up (not down) makes a steady latency reached exactly instead of
 * approached within a few ns forever; it never overshoots, alpha < 1. */
static uint64_t lb_ewma_step(uint64_t d)
{
	return (d >> LB_ALPHA_SHIFT) * LB_LAT_ALPHA_1024 +
	       (((d & LB_ALPHA_MASK) * LB_LAT_ALPHA_1024 + LB_ALPHA_MASK) >> LB_ALPHA_SHIFT);
}

void lb_lat_add(struct lb_lat *l, uint64_t ns)
{
	uint64_t us = ns / LB_NS_PER_US;
	l->ring_us[l->head] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	l->head = (l->head + 1) % LB_LAT_SAMPLES;
	if (l->n < LB_LAT_SAMPLES)
		l->n++;

	/* A 0 ns sample (a clock that did not move) counts as 1 ns: an
	 * EWMA of 0 means "never measured" to least_latency. */
	if (!ns)
		ns = 1;
	if (!l->ewma_ns)
		l->ewma_ns = ns;
	else if (ns > l->ewma_ns)
		l->ewma_ns += lb_ewma_step(ns - l->ewma_ns);
	else
		l->ewma_ns -= lb_ewma_step(l->ewma_ns - ns);
}

static int lb_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

uint64_t lb_lat_p95(const struct lb_lat *l)
{
	uint32_t s[LB_LAT_SAMPLES];
	uint32_t n = l->n < LB_LAT_SAMPLES ? l->n : LB_LAT_SAMPLES;
	if (n < LB_LAT_MIN_P95)
		return 0;
	/* Until the ring is full the samples are its first n slots; after,
	 * all of them. Order does not matter: they are sorted. */
	memcpy(s, l->ring_us, n * sizeof *s);
	qsort(s, n, sizeof *s, lb_cmp_u32);
	/* Nearest rank: the smallest sample with at least 95% of the
	 * samples at or below it, rank ceil(0.95 n). */
	uint32_t rank = (LB_P95_NUM * n + LB_P95_DEN - 1) / LB_P95_DEN;
	return (uint64_t)s[rank - 1] * LB_NS_PER_US;
}

/* ---- orders ---------------------------------------------------------------------- */

static void lb_identity(uint32_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
}

/* Sampling without replacement: each position draws among the candidates
 * left, each with probability weight / (their total). The ones left keep
 * written order, so an injected rng's value names the same candidate a
 * reader would count to. The total is below 16 * 2^32 = 2^36, so reducing
 * a 64-bit draw modulo it is biased by less than 2^36 / 2^64 = 2^-28 (the
 * first 2^64 mod total residues are one draw likelier): nothing a weight
 * of at most a million could express. */
static void lb_weighted(const struct lb_cand *cand, size_t n, const struct bo_rng *rng,
			uint32_t *order)
{
	uint64_t w[LB_MAX_TARGETS], total = 0;
	struct bo_rng def;

	for (size_t i = 0; i < n; i++) {
		order[i] = (uint32_t)i;
		w[i] = cand[i].weight ? cand[i].weight : 1u;
		total += w[i];
	}
	/* The last position has one candidate left: no draw. */
	for (size_t k = 0; k + 1 < n; k++) {
		if (!rng) {
			def = bo_rng_default();
			rng = &def;
		}
		uint64_t r = rng->next(rng->state) % total;
		size_t j = k;
		while (r >= w[j])
			r -= w[j++];
		uint32_t pick = order[j];
		uint64_t pw = w[j];
		memmove(&order[k + 1], &order[k], (j - k) * sizeof *order);
		memmove(&w[k + 1], &w[k], (j - k) * sizeof *w);
		order[k] = pick;
		w[k] = pw;
		total -= pw;
	}
}

/* Stable insertion sort by latency (n is at most 16): 0, never measured,
 * sorts first by itself, and equal latencies keep written order. */
static void lb_least_latency(const struct lb_cand *cand, size_t n, uint32_t *order)
{
	lb_identity(order, n);
	for (size_t i = 1; i < n; i++) {
		uint32_t x = order[i];
		size_t j = i;
		while (j > 0 && cand[order[j - 1]].latency_ns > cand[x].latency_ns) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
}

size_t lb_order(enum cfg_strategy strategy, const struct lb_cand *cand, size_t n,
		uint32_t *rr, const struct bo_rng *rng, uint32_t *order)
{
	if (n > LB_MAX_TARGETS)
		n = LB_MAX_TARGETS;
	if (!n)
		return 0; /* nothing to order: no request went, no turn taken */
	switch (strategy) {
	case CFG_STRAT_WEIGHTED:
		lb_weighted(cand, n, rng, order);
		break;
	case CFG_STRAT_ROUND_ROBIN: {
		/* The counter wraps at 2^32; one uneven turn then, unless n
		 * divides 2^32, is of no consequence. */
		uint32_t first = (uint32_t)(*rr % n);
		(*rr)++;
		for (size_t i = 0; i < n; i++)
			order[i] = (uint32_t)((first + i) % n);
		break;
	}
	case CFG_STRAT_LEAST_LATENCY:
		lb_least_latency(cand, n, order);
		break;
	default:
		/* CFG_STRAT_FALLBACK, and anything config.c would have
		 * refused: the order written is never wrong, only plain. */
		lb_identity(order, n);
		break;
	}
	return n;
}

static const char *const lb_names[] = {
	[CFG_STRAT_FALLBACK] = "fallback",
	[CFG_STRAT_WEIGHTED] = "weighted",
	[CFG_STRAT_ROUND_ROBIN] = "round_robin",
	[CFG_STRAT_LEAST_LATENCY] = "least_latency",
};

#define LB_N_NAMES (sizeof lb_names / sizeof lb_names[0])

const char *lb_strategy_name(enum cfg_strategy s)
{
	return (unsigned)s < LB_N_NAMES ? lb_names[s] : "?";
}

int lb_strategy_from_name(const char *name, size_t len)
{
	for (size_t i = 0; i < LB_N_NAMES; i++)
		if (strlen(lb_names[i]) == len && !memcmp(lb_names[i], name, len))
			return (int)i;
	return -EINVAL;
}
