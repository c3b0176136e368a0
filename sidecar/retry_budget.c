/*
 * retry_budget.c — per-deployment retry budget (see retry_budget.h).
 */
#include "retry_budget.h"

#include <errno.h>
#include <string.h>

#define RBUD_NS_PER_S 1000000000ull

/* Finagle's RetryBudget defaults (percentCanRetry 0.2, ttl 10 s). Its
 * minimum is 10 retries per second for RPC fan-out; LLM traffic per
 * deployment is far thinner, and 3 per window lets a quiet deployment
 * retry its occasional failure without letting it storm. */
#define RBUD_DEF_PERCENT 20u
#define RBUD_DEF_MIN_RETRIES 3u
#define RBUD_DEF_WINDOW_S 10u
/* Above this, "budget" no longer means anything: 10 retries per request. */
#define RBUD_PERCENT_MAX 1000u

struct rbud_config rbud_config_default(void)
{
	return (struct rbud_config){
		.percent = RBUD_DEF_PERCENT,
		.min_retries = RBUD_DEF_MIN_RETRIES,
		.window_s = RBUD_DEF_WINDOW_S,
	};
}

int rbud_config_check(const struct rbud_config *c, const char **field)
{
	const char *bad = NULL;
	if (c->percent > RBUD_PERCENT_MAX)
		bad = "percent";
	else if (c->window_s < 1 || c->window_s > RBUD_WINDOW_MAX_S)
		bad = "window";
	if (field)
		*field = bad;
	return bad ? -EINVAL : 0;
}

int rbud_init(struct rbud *b, const struct rbud_config *cfg)
{
	if (rbud_config_check(cfg, NULL))
		return -EINVAL;
	memset(b, 0, sizeof *b);
	b->cfg = *cfg;
	return 0;
}

/* Move the window to now's second: buckets of the seconds that passed are
 * emptied and leave the sums. */
static uint32_t rbud_advance(struct rbud *b, uint64_t now)
{
	uint64_t sec = now / RBUD_NS_PER_S;
	uint32_t w = b->cfg.window_s;

	if (sec > b->sec) {
		/* Past a whole window nothing survives: clear each bucket
		 * once, not once per elapsed second. */
		uint64_t gap = sec - b->sec < w ? sec - b->sec : w;
		for (uint64_t i = 1; i <= gap; i++) {
			uint32_t k = (uint32_t)((b->sec + i) % w);
			b->req_sum -= b->req[k];
			b->ret_sum -= b->ret[k];
			b->req[k] = b->ret[k] = 0;
		}
		b->sec = sec;
	}
	return (uint32_t)(b->sec % w);
}

static uint64_t rbud_allowance(const struct rbud *b)
{
	uint64_t share = b->req_sum * b->cfg.percent / 100u;
	return share > b->cfg.min_retries ? share : b->cfg.min_retries;
}

void rbud_on_request(struct rbud *b, uint64_t now)
{
	uint32_t k = rbud_advance(b, now);
	if (b->req[k] < UINT32_MAX) {
		b->req[k]++;
		b->req_sum++;
	}
	b->stats.requests++;
}

int rbud_try_retry(struct rbud *b, uint64_t now)
{
	uint32_t k = rbud_advance(b, now);
	if (b->ret_sum >= rbud_allowance(b) || b->ret[k] == UINT32_MAX) {
		b->stats.denied++;
		return 0;
	}
	b->ret[k]++;
	b->ret_sum++;
	b->stats.retries++;
	return 1;
}

uint64_t rbud_available(struct rbud *b, uint64_t now)
{
	rbud_advance(b, now);
	uint64_t a = rbud_allowance(b);
	return a > b->ret_sum ? a - b->ret_sum : 0;
}
