/*
 * retry_budget.h — how many retries one deployment may take, so that a
 * failing provider is not hammered by a retry storm.
 *
 * Over a sliding window of the last W seconds, retries may be at most P%
 * of requests, but never fewer than a small minimum per window, so that a
 * deployment with little traffic can still retry its occasional failure:
 *
 *   allowed retries in the window = max(min_retries, requests * P / 100)
 *
 * When every request fails, the deployment sees at most (1 + P/100) times
 * its normal load instead of max_attempts times. (Finagle's RetryBudget;
 * its defaults, 20% over 10 s, are ours.)
 *
 * The window is W buckets of one second in a fixed ring: no allocation,
 * O(1) per call (plus clearing the buckets of seconds that passed with no
 * call at all). It covers the current, partial second and the W - 1 before
 * it, so a request or retry ages out between W - 1 and W seconds after it
 * was counted.
 *
 * What counts: rbud_on_request for each first attempt on this deployment
 * (a new request, or one that falls back here from another deployment);
 * rbud_try_retry before each further attempt on the same deployment.
 * Time is the caller's (ns, monotonic): nothing here reads a clock. A time
 * earlier than one already seen is taken as that time.
 *
 * Ownership: the deployment owns its budget; one loop thread uses it.
 */
#ifndef RINGSIDE_RETRY_BUDGET_H
#define RINGSIDE_RETRY_BUDGET_H

#include <stdint.h>

/* Longest window: one minute of one-second buckets. */
#define RBUD_WINDOW_MAX_S 60u

struct rbud_config {
	uint32_t percent;      /* P: retries as % of requests, 0..1000 */
	uint32_t min_retries;  /* retries allowed per window whatever the traffic */
	uint32_t window_s;     /* W: 1..RBUD_WINDOW_MAX_S */
};

/* 20% over 10 s, at least 3 retries per window. */
struct rbud_config rbud_config_default(void);

/* 0 or -EINVAL with the offending field in *field. */
int rbud_config_check(const struct rbud_config *c, const char **field);

struct rbud_stats {
	uint64_t requests;
	uint64_t retries;     /* allowed */
	uint64_t denied;
};

struct rbud {
	struct rbud_config cfg;
	uint64_t sec;                         /* second of the newest bucket */
	uint32_t req[RBUD_WINDOW_MAX_S];      /* per second, index sec % window */
	uint32_t ret[RBUD_WINDOW_MAX_S];
	uint64_t req_sum, ret_sum;            /* over the window */
	struct rbud_stats stats;
};

/* 0 or -EINVAL (bad config). */
int rbud_init(struct rbud *b, const struct rbud_config *cfg);

/* A first attempt goes to the deployment. */
void rbud_on_request(struct rbud *b, uint64_t now);

/* May another attempt go to the same deployment? 1: yes, counted as a
 * retry; 0: the budget is spent (counted in stats.denied). */
int rbud_try_retry(struct rbud *b, uint64_t now);

/* Retries the window still allows now (for metrics and logs). */
uint64_t rbud_available(struct rbud *b, uint64_t now);

#endif
