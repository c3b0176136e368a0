/*
 * ratelimit.c — concurrency and per-minute token buckets (see ratelimit.h).
 *
 * The level is whole tokens (level) plus frac / RL_UNITS_PER_TOKEN of a
 * token, 0 <= frac < RL_UNITS_PER_TOKEN. A refill of elapsed_ns adds
 * elapsed_ns * per_minute units: exact, no rounding ever drops a fraction
 * of a token, so a limit of 60 per minute gives back exactly one token per
 * second however the calls slice the time. The products (ns of hours times
 * a tpm of 10^12, debt times 60e9) do not fit 64 bits, so they are formed
 * in 128 bits; every result that goes back into the bucket does fit.
 */
#include "ratelimit.h"

#include <string.h>

#ifndef __SIZEOF_INT128__
#error "ratelimit.c needs a compiler with 128-bit integers (gcc or clang, 64-bit target)"
#endif

typedef unsigned __int128 rl_u128;
typedef __int128 rl_i128;

/* ns per minute: the refill is per_minute tokens per this many ns, so one
 * token is this many units and one ns of refill is per_minute units. */
#define RL_UNITS_PER_TOKEN 60000000000ull

/* The level is an int64: a limit above its range is no limit in practice
 * (9e18 tokens a minute), and clamping keeps the capacity representable. */
#define RL_PER_MINUTE_MAX ((uint64_t)INT64_MAX)
/* Deepest debt: symmetric with the capacity so that (need - level) always
 * fits a uint64. */
#define RL_LEVEL_MIN (-INT64_MAX)
/* Longest wait a bucket returns: RL_WAIT_RELEASE means a concurrency limit. */
#define RL_WAIT_MAX (RL_WAIT_RELEASE - 1)

void rl_bucket_init(struct rl_bucket *b, uint64_t per_minute, uint64_t now)
{
	if (per_minute > RL_PER_MINUTE_MAX)
		per_minute = RL_PER_MINUTE_MAX;
	b->per_minute = per_minute;
	b->level = (int64_t)per_minute;
	b->frac = 0;
	b->last_ns = now;
}

static void rl_fill(struct rl_bucket *b)
{
	b->level = (int64_t)b->per_minute;
	b->frac = 0;
}

/* Bring the level to now. A time before last_ns refills nothing and does
 * not move last_ns back, so a clock that steps back never refills twice. */
static void rl_refill(struct rl_bucket *b, uint64_t now)
{
	if (now <= b->last_ns)
		return;
	uint64_t elapsed = now - b->last_ns;
	b->last_ns = now;
	if (b->level >= (int64_t)b->per_minute)
		return; /* full: time passing at capacity is lost, as it should be */
	/* Units missing to full: (cap - level) <= 2^64, times 60e9 < 2^100. */
	rl_u128 missing = (rl_u128)(uint64_t)((rl_i128)b->per_minute - b->level) *
			  RL_UNITS_PER_TOKEN - b->frac;
	/* elapsed < 2^64 and per_minute < 2^63: the product fits 127 bits. */
	rl_u128 gain = (rl_u128)elapsed * b->per_minute;
	if (gain >= missing) {
		rl_fill(b);
		return;
	}
	/* gain + frac < (cap - level) tokens: the new level stays below cap. */
	rl_u128 units = gain + b->frac;
	b->level += (int64_t)(units / RL_UNITS_PER_TOKEN);
	b->frac = (uint64_t)(units % RL_UNITS_PER_TOKEN);
}

/* Level after charging delta (either sign), within [RL_LEVEL_MIN, cap];
 * reaching cap drops the fraction (a full bucket holds exactly cap). */
static void rl_add(struct rl_bucket *b, rl_i128 delta)
{
	rl_i128 v = (rl_i128)b->level + delta;
	if (v >= (rl_i128)b->per_minute)
		rl_fill(b);
	else if (v < RL_LEVEL_MIN)
		b->level = RL_LEVEL_MIN;
	else
		b->level = (int64_t)v;
}

uint64_t rl_bucket_wait(struct rl_bucket *b, uint64_t now, uint64_t n)
{
	if (!b->per_minute)
		return 0;
	rl_refill(b, now);
	/* More than the capacity waits for a full bucket only (else it
	 * could never go) and then leaves the bucket in debt. */
	int64_t need = n < b->per_minute ? (int64_t)n : (int64_t)b->per_minute;
	/* level + frac / U >= need  <=>  level >= need, need being whole. */
	if (b->level >= need)
		return 0;
	rl_u128 missing = (rl_u128)(uint64_t)((rl_i128)need - b->level) * RL_UNITS_PER_TOKEN -
			  b->frac;
	/* The first ns at which missing units have come in: rounded up, so
	 * that a take after exactly this wait succeeds and one ns earlier
	 * does not. */
	rl_u128 wait = (missing + b->per_minute - 1) / b->per_minute;
	return wait > RL_WAIT_MAX ? RL_WAIT_MAX : (uint64_t)wait;
}

uint64_t rl_bucket_take(struct rl_bucket *b, uint64_t now, uint64_t n)
{
	uint64_t wait = rl_bucket_wait(b, now, n);
	if (wait || !b->per_minute)
		return wait;
	rl_add(b, -(rl_i128)n);
	return 0;
}

void rl_bucket_adjust(struct rl_bucket *b, uint64_t now, int64_t delta)
{
	if (!b->per_minute)
		return;
	rl_refill(b, now);
	rl_add(b, delta);
}

void rl_init(struct rl *r, const struct rl_limits *lim, uint64_t now)
{
	memset(r, 0, sizeof *r);
	r->lim = *lim;
	rl_bucket_init(&r->req, lim->rpm, now);
	rl_bucket_init(&r->tok, lim->tpm, now);
}

int rl_limited(const struct rl *r)
{
	return r->lim.max_concurrent || r->lim.rpm || r->lim.tpm;
}

/* Which limit stops a request first, in the order of the stats. */
enum rl_hit { RL_HIT_NONE, RL_HIT_CONCURRENT, RL_HIT_RPM, RL_HIT_TPM };

/* The wait for one request of est_tokens, and the first limit hit. Both
 * buckets are asked even when the first refuses: the wait is the later of
 * the two, since the request needs both. */
static uint64_t rl_wait(struct rl *r, uint64_t now, uint64_t est_tokens, enum rl_hit *hit)
{
	if (r->lim.max_concurrent && r->inflight >= r->lim.max_concurrent) {
		*hit = RL_HIT_CONCURRENT;
		return RL_WAIT_RELEASE;
	}
	uint64_t rw = rl_bucket_wait(&r->req, now, 1);
	uint64_t tw = rl_bucket_wait(&r->tok, now, est_tokens);
	*hit = rw ? RL_HIT_RPM : tw ? RL_HIT_TPM : RL_HIT_NONE;
	return rw > tw ? rw : tw;
}

uint64_t rl_admit(struct rl *r, uint64_t now, uint64_t est_tokens)
{
	enum rl_hit hit;
	uint64_t wait = rl_wait(r, now, est_tokens, &hit);
	switch (hit) {
	case RL_HIT_CONCURRENT:
		r->stats.limited_concurrent++;
		return wait;
	case RL_HIT_RPM:
		r->stats.limited_rpm++;
		return wait;
	case RL_HIT_TPM:
		r->stats.limited_tpm++;
		return wait;
	case RL_HIT_NONE:
		break;
	}
	/* Both waits were 0 at this now: neither take can refuse. */
	rl_bucket_take(&r->req, now, 1);
	rl_bucket_take(&r->tok, now, est_tokens);
	r->inflight++;
	r->stats.admitted++;
	return 0;
}

uint64_t rl_peek(struct rl *r, uint64_t now, uint64_t est_tokens)
{
	enum rl_hit hit;
	return rl_wait(r, now, est_tokens, &hit);
}

void rl_release(struct rl *r, uint64_t now, uint64_t est_tokens, int64_t actual_tokens)
{
	/* A release without its admit must not wrap the count and block
	 * the deployment for good. */
	if (r->inflight)
		r->inflight--;
	if (actual_tokens < 0)
		return;
	rl_i128 delta = (rl_i128)est_tokens - actual_tokens;
	if (delta > INT64_MAX)
		delta = INT64_MAX;
	rl_bucket_adjust(&r->tok, now, (int64_t)delta);
}

/* OpenAI's rule of thumb: ~4 bytes of English text per token. */
#define RL_BYTES_PER_TOKEN 4u

uint64_t rl_estimate_tokens(size_t prompt_bytes, int64_t max_tokens)
{
	uint64_t prompt = prompt_bytes / RL_BYTES_PER_TOKEN +
			  (prompt_bytes % RL_BYTES_PER_TOKEN ? 1u : 0u);
	uint64_t completion = RL_EST_COMPLETION_DEFAULT;
	if (max_tokens >= 0)
		completion = (uint64_t)max_tokens < RL_EST_COMPLETION_MAX ? (uint64_t)max_tokens
									  : RL_EST_COMPLETION_MAX;
	return prompt + completion;
}
