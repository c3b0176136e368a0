/*
 * lb.h — load balancing: in which order a request tries an alias's
 * targets, and the time to first chunk each deployment shows.
 *
 * lb_order turns a strategy (config.h, enum cfg_strategy) and the alias's
 * candidates into a preference order for one request: the first entry is
 * the first attempt, the next ones are where retries fall back to. Health
 * is not decided here: the caller walks the order and skips a candidate
 * whose breaker is open or that is over a rate limit, so every strategy is
 * health-aware the same way.
 *
 *   fallback       the order written
 *   weighted       weighted random sampling without replacement: the first
 *                  is drawn with probability weight / total, the second
 *                  among the rest the same way, ...
 *   round_robin    the first choice rotates per request (the alias's own
 *                  counter), the rest follow it in written order, wrapping
 *   least_latency  lowest moving average time to first chunk first; a
 *                  deployment with no sample yet counts as 0, so each one
 *                  is tried (and measured) early; ties keep written order
 *
 * lb_lat keeps one deployment's time-to-first-chunk: an exponentially
 * weighted moving average (for least_latency) and the last LB_LAT_SAMPLES
 * samples (for hedge_after: p95). No allocation; no clock read; randomness
 * is injected (struct bo_rng from backoff.h) so tests replay exact orders.
 */
#ifndef RINGSIDE_LB_H
#define RINGSIDE_LB_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "config.h"

/* Most targets per alias: more is a config mistake, and orders fit on the
 * stack. */
#define LB_MAX_TARGETS 16

/* Samples kept for the p95: enough that the 95th percentile is not one
 * outlier, few enough to sort on demand. */
#define LB_LAT_SAMPLES 128
/* Fewer samples than this: no p95 yet (lb_lat_p95 returns 0). */
#define LB_LAT_MIN_P95 20
/* EWMA weight of a new sample, in 1/1024ths (alpha = 0.2). */
#define LB_LAT_ALPHA_1024 205

struct lb_lat {
	uint64_t ewma_ns;               /* 0 until the first sample */
	uint32_t n;                     /* samples in ring (<= LB_LAT_SAMPLES) */
	uint32_t head;                  /* next slot to write */
	uint32_t ring_us[LB_LAT_SAMPLES]; /* microseconds, saturating at UINT32_MAX */
};

/* Record one time to first chunk (ns). */
void lb_lat_add(struct lb_lat *l, uint64_t ns);

/* The 95th percentile (nearest rank) of the samples kept, in ns; 0 when
 * fewer than LB_LAT_MIN_P95. */
uint64_t lb_lat_p95(const struct lb_lat *l);

/* What lb_order knows of one target. */
struct lb_cand {
	uint32_t weight;        /* >= 1 (weighted); 0 is taken as 1 */
	uint64_t latency_ns;    /* moving average; 0 = no sample yet */
};

/*
 * Write into order[0..n) the indices 0..n-1 of cand in the order this
 * request should try them (a permutation: every index exactly once).
 * n: 1..LB_MAX_TARGETS (0 writes nothing; more is clamped to the first
 * LB_MAX_TARGETS). rr: the alias's round-robin counter, advanced by one per
 * call for round_robin and untouched otherwise. rng: used by weighted only;
 * NULL means bo_rng_default(). Returns the number written.
 */
size_t lb_order(enum cfg_strategy strategy, const struct lb_cand *cand, size_t n,
		uint32_t *rr, const struct bo_rng *rng, uint32_t *order);

/* "fallback", "weighted", "round_robin", "least_latency"; "?" out of range. */
const char *lb_strategy_name(enum cfg_strategy s);

/* The strategy named name[0..len) (exact), or -EINVAL. */
int lb_strategy_from_name(const char *name, size_t len);

#endif
