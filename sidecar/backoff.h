/*
 * backoff.h — when (and whether) a request tries again.
 *
 * One schedule per request, shared by its retries and its fallbacks: one
 * attempt count, one deadline. After attempt a (the first is 0) failed,
 * bo_next decides the next one:
 *
 *   - no more attempts once max_attempts were made;
 *   - otherwise a delay: "full jitter" (AWS Architecture Blog, "Exponential
 *     Backoff And Jitter"), uniform in [0, min(cap, base * 2^a)], so that
 *     clients that failed together do not come back together; or a delay
 *     fixed by the caller: the server's Retry-After (which overrides the
 *     jitter, and is not capped: the server knows), or 0 to move on to
 *     another deployment at once;
 *   - and the whole plan fits the request's deadline: the next attempt
 *     must start with at least min_left before the deadline. A jittered
 *     delay is drawn from what fits (still uniform, never past it); a
 *     fixed delay that does not fit is refused (BO_NO_TIME), so the caller
 *     can try a deployment that is not asking it to wait.
 *
 * Retry-After: `retry-after` is delta-seconds or an HTTP-date (RFC 9110
 * section 10.2.3; all three date formats of section 5.6.7, taken relative
 * to a wall-clock now the caller passes); `retry-after-ms` (OpenAI,
 * Azure) is milliseconds. Prefer retry-after-ms when both came, as the
 * OpenAI and Anthropic SDKs do. Both accept a decimal fraction (the SDKs
 * parse floats). Anything else (negative, garbage, overflow, further away
 * than BO_RETRY_AFTER_MAX_S) is refused with an error, never UB.
 *
 * Randomness is injected (struct bo_rng), so tests replay exact schedules;
 * bo_rng_default is xorshift64* seeded from getrandom once per thread.
 * Time is the caller's: nothing here reads a clock.
 */
#ifndef RINGSIDE_BACKOFF_H
#define RINGSIDE_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

/* A server asking for more than a day is not asking for a retry: the
 * longest quota windows providers use are daily. */
#define BO_RETRY_AFTER_MAX_S 86400u

/* bo_next's fixed_ns: no fixed delay, draw a jittered one. */
#define BO_JITTER UINT64_MAX

/* 64 random bits per call. */
struct bo_rng {
	uint64_t (*next)(void *state);
	void *state;
};

/* xorshift64* on a uint64_t state (never 0; a 0 state is replaced by a
 * fixed odd constant). */
uint64_t bo_xorshift(void *state);

/* This thread's default source: bo_xorshift on a thread-local state seeded
 * from getrandom (the state's address and the pid if that fails). */
struct bo_rng bo_rng_default(void);

struct bo_config {
	uint64_t base_ns;       /* ceiling of the first retry's delay, > 0 */
	uint64_t cap_ns;        /* largest jittered delay, >= base_ns */
	uint32_t max_attempts;  /* attempts in all, the first included, >= 1 */
	uint64_t min_left_ns;   /* an attempt needs at least this before the deadline */
};

/* 500 ms doubling to 8 s, 3 attempts (the OpenAI and Anthropic SDKs'
 * defaults: 2 retries), 200 ms left at least. */
struct bo_config bo_config_default(void);

/* 0 or -EINVAL with the offending field in *field. */
int bo_config_check(const struct bo_config *c, const char **field);

struct bo {
	struct bo_config cfg;
	struct bo_rng rng;
	uint64_t deadline_ns;   /* 0: none */
	uint32_t attempts;      /* made or decided so far, the first included */
	uint64_t planned_ns;    /* sum of the delays handed out */
};

/* A request's schedule, its first attempt under way. deadline_ns: the
 * request's deadline (absolute, the caller's clock), 0 for none. rng NULL:
 * bo_rng_default. 0 or -EINVAL (bad config). */
int bo_init(struct bo *b, const struct bo_config *cfg, const struct bo_rng *rng,
	    uint64_t deadline_ns);

enum bo_verdict {
	BO_RETRY = 0,     /* wait *delay_ns, then make attempt b->attempts - 1 */
	BO_NO_ATTEMPTS,   /* max_attempts reached */
	BO_NO_TIME,       /* the next attempt would not fit the deadline */
};

/* The last attempt failed (retryably): is there a next one, and when?
 * fixed_ns: BO_JITTER, a server's Retry-After delay, or 0 for at once.
 * Only BO_RETRY uses up an attempt. */
enum bo_verdict bo_next(struct bo *b, uint64_t now, uint64_t fixed_ns, uint64_t *delay_ns);

/* `retry-after` value (len bytes, no NUL needed) -> delay. wall_now_s:
 * the wall clock (Unix seconds) an HTTP-date is relative to; a date in the
 * past is a delay of 0. 0, -EINVAL (not a Retry-After value) or -ERANGE
 * (more than BO_RETRY_AFTER_MAX_S). */
int bo_parse_retry_after(const char *v, size_t len, int64_t wall_now_s, uint64_t *delay_ns);

/* `retry-after-ms` value -> delay. 0, -EINVAL or -ERANGE as above. */
int bo_parse_retry_after_ms(const char *v, size_t len, uint64_t *delay_ns);

#endif
