/*
 * breaker.c — per-deployment circuit breaker (see breaker.h).
 */
#include "breaker.h"

#include <errno.h>
#include <string.h>

#define BRK_NS_PER_MS 1000000ull

/* The window of the example: big enough that one unlucky request
 * in a quiet minute does not decide, small enough to react within a few
 * seconds of real traffic. */
#define BRK_DEF_WINDOW 20u
/* Half the window: no verdict on a handful of calls right after start-up
 * or after closing. */
#define BRK_DEF_MIN_CALLS 10u
/* Resilience4j's default failure-rate threshold. */
#define BRK_DEF_FAILURE_PCT 50u
/* Half the providers' default first-chunk deadline (60 s,
 * config_provider.c): a deployment that needs that long to start most of
 * its replies is degraded, while a long prompt or a reasoning model now
 * and then is not (hence 80%, not a majority). */
#define BRK_DEF_SLOW_MS 30000u
#define BRK_DEF_SLOW_PCT 80u
/* First wait: long enough for a restarting server or a burst of 503s to
 * pass, short enough that a healthy deployment is not lost for long. */
#define BRK_DEF_OPEN_WAIT_MS 5000u
/* Cap of the doubled wait: Resilience4j's default wait in open state. */
#define BRK_DEF_OPEN_MAX_MS 60000u
/* Two successes before trusting the deployment again (one can be luck: a
 * short reply), and two in flight at once bound how many requests a still
 * broken deployment can hurt (each of them may still fall back). */
#define BRK_DEF_PROBES 2u

/* ring[] slot bits */
#define BRK_F_FAIL 0x1u
#define BRK_F_SLOW 0x2u

struct brk_config brk_config_default(void)
{
	return (struct brk_config){
		.window = BRK_DEF_WINDOW,
		.min_calls = BRK_DEF_MIN_CALLS,
		.failure_pct = BRK_DEF_FAILURE_PCT,
		.slow_ns = BRK_DEF_SLOW_MS * BRK_NS_PER_MS,
		.slow_pct = BRK_DEF_SLOW_PCT,
		.open_wait_ns = BRK_DEF_OPEN_WAIT_MS * BRK_NS_PER_MS,
		.open_max_ns = BRK_DEF_OPEN_MAX_MS * BRK_NS_PER_MS,
		.probes = BRK_DEF_PROBES,
	};
}

int brk_config_check(const struct brk_config *c, const char **field)
{
	const char *bad = NULL;
	if (c->window < 1 || c->window > BRK_WINDOW_MAX)
		bad = "window";
	else if (c->min_calls < 1 || c->min_calls > c->window)
		bad = "min_calls";
	else if (c->failure_pct > 100)
		bad = "failure_pct";
	else if (c->slow_pct > 100)
		bad = "slow_pct";
	else if (!c->open_wait_ns)
		bad = "open_wait";
	else if (c->open_max_ns < c->open_wait_ns)
		bad = "open_max";
	else if (c->probes < 1 || c->probes > BRK_PROBES_MAX)
		bad = "probes";
	if (field)
		*field = bad;
	return bad ? -EINVAL : 0;
}

static uint64_t brk_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void brk_window_clear(struct brk *b)
{
	memset(b->ring, 0, sizeof b->ring);
	b->head = b->calls = b->failures = b->slows = 0;
}

/* Every state change goes through here: one epoch bump (stale tickets),
 * one counter, one callback. */
static void brk_set_state(struct brk *b, enum brk_state to, uint64_t now)
{
	enum brk_state from = b->state;
	b->state = to;
	b->epoch++;
	b->probes_out = b->probes_ok = 0;
	brk_window_clear(b);
	if (to == BRK_OPEN)
		b->stats.opened++;
	else if (to == BRK_HALF_OPEN)
		b->stats.half_opened++;
	else
		b->stats.closed++;
	if (b->on_change)
		b->on_change(b->arg, b, from, to, now);
}

/* Open for `wait` from now, never moving an existing end earlier. */
static void brk_trip(struct brk *b, uint64_t now, uint64_t wait)
{
	uint64_t until = brk_add_sat(now, wait);
	b->wait_ns = wait;
	if (until > b->open_until)
		b->open_until = until;
	brk_set_state(b, BRK_OPEN, now);
}

int brk_init(struct brk *b, const struct brk_config *cfg, brk_change_fn on_change, void *arg)
{
	if (brk_config_check(cfg, NULL))
		return -EINVAL;
	memset(b, 0, sizeof *b);
	b->cfg = *cfg;
	b->state = BRK_CLOSED;
	b->wait_ns = cfg->open_wait_ns;
	b->on_change = on_change;
	b->arg = arg;
	return 0;
}

/* At or past the limit? pct 0 disables; the products fit easily in 64
 * bits (counts <= BRK_WINDOW_MAX, pct <= 100). */
static int brk_over(uint32_t n, uint32_t calls, uint32_t pct)
{
	return pct && (uint64_t)n * 100u >= (uint64_t)pct * calls;
}

static void brk_record(struct brk *b, uint64_t now, unsigned bits)
{
	if (b->calls == b->cfg.window) {
		/* Full: the oldest outcome leaves as the newest enters. */
		uint8_t old = b->ring[b->head];
		b->failures -= old & BRK_F_FAIL ? 1u : 0u;
		b->slows -= old & BRK_F_SLOW ? 1u : 0u;
		b->ring[b->head] = (uint8_t)bits;
		b->head = (b->head + 1) % b->cfg.window;
	} else {
		b->ring[(b->head + b->calls) % b->cfg.window] = (uint8_t)bits;
		b->calls++;
	}
	b->failures += bits & BRK_F_FAIL ? 1u : 0u;
	b->slows += bits & BRK_F_SLOW ? 1u : 0u;
	if (b->calls < b->cfg.min_calls)
		return;
	if (brk_over(b->failures, b->calls, b->cfg.failure_pct) ||
	    brk_over(b->slows, b->calls, b->cfg.slow_pct))
		brk_trip(b, now, b->cfg.open_wait_ns);
}

static enum brk_admit brk_decide(const struct brk *b, uint64_t now)
{
	switch (b->state) {
	case BRK_CLOSED:
		return BRK_ALLOW;
	case BRK_OPEN:
		if (now < b->open_until)
			return BRK_DENY_OPEN;
		/* The wait is over: this request is the first probe. */
		return BRK_ALLOW_PROBE;
	default:
		return b->probes_out < b->cfg.probes ? BRK_ALLOW_PROBE : BRK_DENY_PROBING;
	}
}

enum brk_admit brk_allow(struct brk *b, uint64_t now, struct brk_ticket *t)
{
	enum brk_admit a = brk_decide(b, now);
	if (a == BRK_DENY_OPEN || a == BRK_DENY_PROBING) {
		b->stats.rejected++;
		return a;
	}
	if (a == BRK_ALLOW_PROBE) {
		if (b->state == BRK_OPEN)
			brk_set_state(b, BRK_HALF_OPEN, now);
		b->probes_out++;
	}
	t->epoch = b->epoch;
	t->probe = a == BRK_ALLOW_PROBE;
	return a;
}

int brk_available(const struct brk *b, uint64_t now)
{
	enum brk_admit a = brk_decide(b, now);
	return a == BRK_ALLOW || a == BRK_ALLOW_PROBE;
}

static int brk_current(const struct brk *b, struct brk_ticket t)
{
	return t.epoch == b->epoch && t.probe == (b->state == BRK_HALF_OPEN);
}

void brk_on_result(struct brk *b, uint64_t now, struct brk_ticket t, enum brk_outcome o,
		   uint64_t first_chunk_ns)
{
	if (!brk_current(b, t))
		return; /* admitted under an earlier state: no say in this one */
	unsigned bits = 0;
	if (o == BRK_FAILURE)
		bits |= BRK_F_FAIL;
	if (o == BRK_SLOW || (b->cfg.slow_ns && first_chunk_ns > b->cfg.slow_ns))
		bits |= BRK_F_SLOW;
	if (b->state == BRK_CLOSED) {
		brk_record(b, now, bits);
		return;
	}
	/* A half-open probe. A slow one re-opens too when slowness is a
	 * reason to open at all: the deployment has not recovered. (A ticket
	 * reported twice must not wrap the count and wedge the breaker.) */
	if (b->probes_out)
		b->probes_out--;
	if ((bits & BRK_F_FAIL) || ((bits & BRK_F_SLOW) && b->cfg.slow_pct)) {
		uint64_t wait = b->wait_ns > b->cfg.open_max_ns / 2 ? b->cfg.open_max_ns
								     : b->wait_ns * 2;
		brk_trip(b, now, wait);
	} else if (++b->probes_ok >= b->cfg.probes) {
		b->wait_ns = b->cfg.open_wait_ns;
		brk_set_state(b, BRK_CLOSED, now);
	}
}

void brk_on_abandon(struct brk *b, struct brk_ticket t)
{
	if (brk_current(b, t) && t.probe && b->probes_out)
		b->probes_out--;
}

void brk_cooldown(struct brk *b, uint64_t now, uint64_t until)
{
	if (until <= now || (b->state == BRK_OPEN && until <= b->open_until))
		return;
	b->stats.cooldowns++;
	b->open_until = until;
	/* Already open: only the end moves (later). Otherwise open now; the
	 * wait that a failing probe doubles stays what the trips made it. */
	if (b->state != BRK_OPEN)
		brk_set_state(b, BRK_OPEN, now);
}

uint64_t brk_retry_at(const struct brk *b, uint64_t now)
{
	switch (brk_decide(b, now)) {
	case BRK_DENY_OPEN:
		return b->open_until;
	case BRK_DENY_PROBING:
		return UINT64_MAX;
	default:
		return now;
	}
}

const char *brk_state_name(enum brk_state s)
{
	switch (s) {
	case BRK_CLOSED:
		return "closed";
	case BRK_OPEN:
		return "open";
	case BRK_HALF_OPEN:
		return "half-open";
	}
	return "?";
}
