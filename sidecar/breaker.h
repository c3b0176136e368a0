/*
 * breaker.h — one circuit breaker per deployment.
 *
 *            failure or slow-call rate >= limit
 *            (last N calls, at least M of them)     after the wait
 *   CLOSED ------------------------------------> OPEN ---------------> HALF-OPEN
 *     ^                                           ^                        |
 *     |                                           +---- a probe failed ----+
 *     |                                                 (wait doubled)     |
 *     +----------------------- K probes succeeded -------------------------+
 *
 * Closed: every request goes through; the outcomes of the last N calls sit
 * in a fixed ring (no allocation, counts kept incrementally). Once M calls
 * are in the window, a failure rate or slow-call rate (first chunk slower
 * than a threshold) at or above its limit opens the breaker.
 *
 * Open: nothing goes through until open_until. The first trip waits
 * open_wait; a probe that fails re-opens with twice the previous wait, up
 * to a cap; closing resets it. An external cooldown (a 429's Retry-After,
 * seen by one client, applies to every client of the deployment) opens the
 * breaker until a given time. Trips and cooldowns only ever move
 * open_until later, never earlier.
 *
 * Half-open: at most K probe requests in flight at once; each success is
 * counted, K of them close the breaker; one failure (or slow call) re-opens
 * it. A probe cancelled without a verdict frees its slot (brk_on_abandon).
 *
 * Results that come back after the state moved on belong to requests
 * admitted under an earlier state: brk_allow hands each request a ticket
 * stamped with the state's epoch, and a result or abandon with a stale
 * ticket is ignored. So a slow request admitted while closed cannot close
 * a breaker that opened meanwhile, nor take a probe's slot.
 *
 * Time is the caller's: every call takes now (ns, monotonic); nothing here
 * reads a clock. Open -> half-open happens lazily, in the first brk_allow
 * at or after open_until. Every state change calls the change callback
 * once (log it, count it) and bumps a counter in brk.stats.
 *
 * Ownership: the deployment owns its breaker; one loop thread uses it.
 */
#ifndef RINGSIDE_BREAKER_H
#define RINGSIDE_BREAKER_H

#include <stdint.h>

/* Largest window N: a fixed array per deployment (one byte per call). */
#define BRK_WINDOW_MAX 256
/* Most probes K in half-open: more is not probing any more. */
#define BRK_PROBES_MAX 16

enum brk_state { BRK_CLOSED = 0, BRK_OPEN, BRK_HALF_OPEN };

struct brk_config {
	uint32_t window;        /* N: calls in the sliding window, 1..BRK_WINDOW_MAX */
	uint32_t min_calls;     /* M: no verdict before this many, 1..window */
	uint32_t failure_pct;   /* open at this failure rate, 1..100; 0: never */
	uint64_t slow_ns;       /* first chunk slower than this is slow; 0: never */
	uint32_t slow_pct;      /* open at this slow-call rate, 1..100; 0: never */
	uint64_t open_wait_ns;  /* first wait in open, > 0 */
	uint64_t open_max_ns;   /* cap of the doubled wait, >= open_wait_ns */
	uint32_t probes;        /* K: probes in flight in half-open, 1..BRK_PROBES_MAX */
};

/* N 20, M 10, failures 50%, slow 30 s at 80%, wait 5 s doubling to 1 min,
 * K 2 (brk_config_default's comments say why). */
struct brk_config brk_config_default(void);

/* 0 or -EINVAL with the first offending field named in *field. */
int brk_config_check(const struct brk_config *c, const char **field);

enum brk_outcome {
	BRK_SUCCESS = 0,  /* slow too if first_chunk_ns > slow_ns */
	BRK_FAILURE,      /* a fault of the deployment (ec_is_fault) */
	BRK_SLOW,         /* a success the caller already judged slow */
};

enum brk_admit {
	BRK_ALLOW = 0,       /* closed: go */
	BRK_ALLOW_PROBE,     /* half-open: go, as one of the K probes */
	BRK_DENY_OPEN,       /* open until brk_retry_at */
	BRK_DENY_PROBING,    /* half-open, every probe slot taken */
};

/* Given out by brk_allow, handed back with the request's result. */
struct brk_ticket {
	uint32_t epoch;
	uint8_t probe;
};

struct brk;
typedef void (*brk_change_fn)(void *arg, const struct brk *b, enum brk_state from,
			      enum brk_state to, uint64_t now);

struct brk_stats {
	uint64_t opened;        /* entries into open (trips, re-trips, cooldowns) */
	uint64_t half_opened;
	uint64_t closed;
	uint64_t rejected;      /* brk_allow denials */
	uint64_t cooldowns;     /* brk_cooldown calls that opened or extended */
};

struct brk {
	struct brk_config cfg;
	enum brk_state state;
	uint32_t epoch;          /* bumped at every state change */
	uint64_t open_until;     /* open: when probing may start */
	uint64_t wait_ns;        /* wait of the last trip (doubles on re-trips) */
	uint32_t probes_out;     /* half-open: probes admitted, no verdict yet */
	uint32_t probes_ok;      /* half-open: probes that succeeded */
	/* closed: the last `calls` outcomes, oldest at ring[head] */
	uint8_t ring[BRK_WINDOW_MAX];
	uint32_t head, calls, failures, slows;
	brk_change_fn on_change;
	void *arg;
	struct brk_stats stats;
};

/* A closed breaker. on_change may be NULL. 0 or -EINVAL (bad config). */
int brk_init(struct brk *b, const struct brk_config *cfg, brk_change_fn on_change, void *arg);

/* May a request go to this deployment now? On BRK_ALLOW / BRK_ALLOW_PROBE
 * *t identifies the request to brk_on_result / brk_on_abandon. A denial
 * counts in stats.rejected. */
enum brk_admit brk_allow(struct brk *b, uint64_t now, struct brk_ticket *t);

/* Would brk_allow admit now? Changes nothing, counts nothing: for choosing
 * among deployments before committing to one. */
int brk_available(const struct brk *b, uint64_t now);

/* The verdict of an admitted request. first_chunk_ns: time to its first
 * chunk, 0 if unknown (then only BRK_SLOW marks it slow). */
void brk_on_result(struct brk *b, uint64_t now, struct brk_ticket t, enum brk_outcome o,
		   uint64_t first_chunk_ns);

/* An admitted request ended without a verdict (cancelled, or its answer
 * says nothing about the deployment): a probe frees its slot. */
void brk_on_abandon(struct brk *b, struct brk_ticket t);

/* Keep the deployment closed to everybody until `until` (e.g. a 429's
 * Retry-After). Opens a closed or half-open breaker; extends an open one
 * whose wait ends earlier; never shortens. A time not after now is
 * ignored. */
void brk_cooldown(struct brk *b, uint64_t now, uint64_t until);

/* Earliest time brk_allow may admit: now if it would now, open_until while
 * open, UINT64_MAX when every probe slot is taken (a slot frees at a
 * probe's verdict, not at a known time). For "every deployment is open:
 * wait for the earliest if within the deadline, else fail saying when". */
uint64_t brk_retry_at(const struct brk *b, uint64_t now);

/* "closed", "open", "half-open". */
const char *brk_state_name(enum brk_state s);

#endif
