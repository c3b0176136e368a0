/*
 * ratelimit.h — per-deployment (and per-tenant) limits: requests in flight,
 * requests per minute, tokens per minute.
 *
 * Requests and tokens per minute are token buckets: capacity = the limit,
 * refilled continuously at limit per 60 s, full at start. That is what the
 * providers' own rpm/tpm limits behave like, so a deployment configured
 * with the provider's numbers is not sent what the provider would 429.
 *
 * Tokens are not known until the answer's USAGE, so a request is charged
 * an estimate up front (rl_estimate_tokens) and corrected at its end
 * (rl_release with the real count): the bucket may go into debt, and a
 * debt delays later requests, never a request already admitted. A request
 * estimated larger than the whole capacity is admitted when the bucket is
 * full (else it could never go), leaving it in debt.
 *
 * Integer arithmetic only (no float drift); the bucket level is kept as
 * whole tokens plus a remainder in units of 1/60e9 token, so refill per
 * nanosecond is exact (limit units per ns) while a tpm of 10^12 still fits:
 * the whole level in those units (limit * 60e9) would overflow 64 bits
 * above a limit of ~1.5e8. Limits above INT64_MAX are taken as INT64_MAX.
 * No allocation; time is the caller's (ns, monotonic; a time earlier than
 * one already seen is taken as that time); one loop thread uses an rl.
 */
#ifndef RINGSIDE_RATELIMIT_H
#define RINGSIDE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Returned as a wait when only a release (a request ending) can make room:
 * the concurrency limit. */
#define RL_WAIT_RELEASE UINT64_MAX

/* Completion tokens assumed when the request gives no max_tokens, and the
 * most assumed when it gives a larger one (a max_tokens of a million would
 * otherwise hold the whole bucket for a short answer). */
#define RL_EST_COMPLETION_DEFAULT 256u
#define RL_EST_COMPLETION_MAX 4096u

struct rl_bucket {
	uint64_t per_minute;    /* the limit; 0 = no limit (every take succeeds) */
	int64_t level;          /* whole tokens; may be < 0 (debt) */
	uint64_t frac;          /* plus frac / 60e9 token: 0..60e9 - 1 */
	uint64_t last_ns;       /* last refill */
};

/* A full bucket of per_minute (0: unlimited). */
void rl_bucket_init(struct rl_bucket *b, uint64_t per_minute, uint64_t now);

/* ns until n tokens could be taken (0: now; never RL_WAIT_RELEASE, a wait
 * too long to count saturates below it). Changes nothing but the refill. */
uint64_t rl_bucket_wait(struct rl_bucket *b, uint64_t now, uint64_t n);

/* Take n tokens if rl_bucket_wait is 0 and return 0; else take nothing
 * and return the wait. */
uint64_t rl_bucket_take(struct rl_bucket *b, uint64_t now, uint64_t n);

/* Add delta tokens back (> 0) or charge more (< 0); the level never
 * exceeds capacity. */
void rl_bucket_adjust(struct rl_bucket *b, uint64_t now, int64_t delta);

struct rl_limits {
	uint32_t max_concurrent;  /* 0 = none */
	uint32_t rpm;             /* 0 = none */
	uint64_t tpm;             /* 0 = none */
};

struct rl_stats {
	uint64_t admitted;
	uint64_t limited_concurrent;  /* rl_admit refusals, by first limit hit */
	uint64_t limited_rpm;
	uint64_t limited_tpm;
};

struct rl {
	struct rl_limits lim;
	uint32_t inflight;
	struct rl_bucket req, tok;
	struct rl_stats stats;
};

void rl_init(struct rl *r, const struct rl_limits *lim, uint64_t now);

/* Any limit set at all? (A deployment without limits skips the calls.) */
int rl_limited(const struct rl *r);

/* Admit one request charged est_tokens: 0 when admitted (in flight + 1,
 * one request and est_tokens taken from the buckets, all or nothing);
 * else nothing changes and the result is the wait: ns until the buckets
 * could admit it, or RL_WAIT_RELEASE when the concurrency limit is what
 * stops it. Counts the refusal in stats by the first limit hit, checked in
 * the order concurrency, rpm, tpm. */
uint64_t rl_admit(struct rl *r, uint64_t now, uint64_t est_tokens);

/* The wait rl_admit would return, without admitting or counting. */
uint64_t rl_peek(struct rl *r, uint64_t now, uint64_t est_tokens);

/* An admitted request ended: in flight - 1, and when actual_tokens >= 0
 * the token bucket is corrected by est_tokens - actual_tokens. */
void rl_release(struct rl *r, uint64_t now, uint64_t est_tokens, int64_t actual_tokens);

/* The up-front estimate: ceil(prompt_bytes / 4) (OpenAI's rule of thumb,
 * ~4 bytes of English per token) plus max_tokens clamped to
 * RL_EST_COMPLETION_MAX, or RL_EST_COMPLETION_DEFAULT when max_tokens < 0
 * (absent). */
uint64_t rl_estimate_tokens(size_t prompt_bytes, int64_t max_tokens);

#endif
