/*
 * deploy.c — per-deployment runtime state (see deploy.h).
 */
#include "deploy.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/* A breaker's state changes are rare and matter: one log line each. */
static void dep_on_change(void *arg, const struct brk *b, enum brk_state from,
			  enum brk_state to, uint64_t now)
{
	const struct dep *d = arg;
	if (to == BRK_OPEN)
		log_warn("deployment %s: circuit %s -> %s for %llu ms", d->name,
			 brk_state_name(from), brk_state_name(to),
			 (unsigned long long)((b->open_until > now ? b->open_until - now : 0) / 1000000u));
	else
		log_info("deployment %s: circuit %s -> %s", d->name, brk_state_name(from),
			 brk_state_name(to));
}

static struct brk_config dep_brk_config(const struct cfg_resilience *r)
{
	struct brk_config b = {
		.window = r->breaker.window,
		.min_calls = r->breaker.min_calls,
		.failure_pct = r->breaker.failure_pct,
		.slow_ns = (uint64_t)r->breaker.slow_call_ms * 1000000u,
		.slow_pct = r->breaker.slow_pct,
		.open_wait_ns = (uint64_t)r->breaker.open_wait_ms * 1000000u,
		.open_max_ns = (uint64_t)r->breaker.open_max_ms * 1000000u,
		.probes = r->breaker.probes,
	};
	return b;
}

struct dep *dep_new_all(const struct cfg *c, uint64_t now, size_t *n)
{
	*n = 0;
	if (!c->n_deployments)
		return NULL;
	struct dep *v = calloc(c->n_deployments, sizeof *v);
	if (!v)
		return NULL;
	struct brk_config bc = dep_brk_config(&c->resilience);
	struct rbud_config rc = { .percent = c->resilience.budget.percent,
				  .min_retries = c->resilience.budget.min_retries,
				  .window_s = c->resilience.budget.window_s };
	for (size_t i = 0; i < c->n_deployments; i++) {
		struct dep *d = &v[i];
		d->cfg = &c->deployments[i];
		d->prov = &c->providers[d->cfg->provider_idx];
		snprintf(d->name, sizeof d->name, "%s/%s", d->prov->name, d->cfg->model);
		struct rl_limits lim = { .max_concurrent = d->cfg->max_concurrent,
					 .rpm = d->cfg->rpm, .tpm = d->cfg->tpm };
		if (brk_init(&d->brk, &bc, dep_on_change, d) || rbud_init(&d->budget, &rc)) {
			free(v);
			return NULL;
		}
		rl_init(&d->rl, &lim, now);
	}
	*n = c->n_deployments;
	return v;
}

void dep_free_all(struct dep *d)
{
	free(d);
}

uint64_t dep_wait(struct dep *d, uint64_t now, uint64_t est_tokens, enum dep_why *why)
{
	uint64_t at = brk_retry_at(&d->brk, now);
	uint64_t w = at == UINT64_MAX ? UINT64_MAX : at > now ? at - now : 0;
	/* brk_cooldown moved open_until to the 429's end: that is the cause. */
	*why = w && d->brk.state == BRK_OPEN && d->cooldown_until >= d->brk.open_until
		       ? DEP_WHY_COOLDOWN : DEP_WHY_BREAKER;
	if (rl_limited(&d->rl)) {
		uint64_t lw = rl_peek(&d->rl, now, est_tokens);
		if (lw > w) {
			w = lw;
			*why = DEP_WHY_LIMIT;
		}
	}
	return w;
}

void dep_cooldown(struct dep *d, uint64_t now, uint64_t until)
{
	brk_cooldown(&d->brk, now, until);
	if (until > d->cooldown_until)
		d->cooldown_until = until;
	d->st.cooldowns++;
}

size_t dep_render(const struct dep *v, size_t n, uint64_t now, char *buf, size_t len)
{
	size_t off = 0;
	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dep *d = &v[i];
		const struct dep_stats *s = &d->st;
		const struct brk_stats *b = &d->brk.stats;
		const char *nm = d->name;
		uint64_t open_ms = d->brk.state == BRK_OPEN && d->brk.open_until > now
					   ? (d->brk.open_until - now) / 1000000u : 0;
		int w = snprintf(buf + off, len - off,
				 "deployment_state{deployment=\"%s\",state=\"%s\"} 1\n"
				 "deployment_open_ms{deployment=\"%s\"} %llu\n"
				 "deployment_attempts{deployment=\"%s\"} %llu\n"
				 "deployment_successes{deployment=\"%s\"} %llu\n"
				 "deployment_failures{deployment=\"%s\"} %llu\n"
				 "deployment_retries{deployment=\"%s\"} %llu\n"
				 "deployment_fallbacks{deployment=\"%s\"} %llu\n"
				 "deployment_hedges{deployment=\"%s\"} %llu\n"
				 "deployment_cooldowns{deployment=\"%s\"} %llu\n"
				 "deployment_budget_denied{deployment=\"%s\"} %llu\n"
				 "deployment_breaker_opened{deployment=\"%s\"} %llu\n"
				 "deployment_breaker_half_opened{deployment=\"%s\"} %llu\n"
				 "deployment_breaker_closed{deployment=\"%s\"} %llu\n"
				 "deployment_breaker_rejected{deployment=\"%s\"} %llu\n"
				 "deployment_inflight{deployment=\"%s\"} %u\n"
				 "deployment_rate_limited{deployment=\"%s\"} %llu\n"
				 "deployment_ttft_ewma_us{deployment=\"%s\"} %llu\n",
				 nm, brk_state_name(d->brk.state), nm, (unsigned long long)open_ms,
				 nm, (unsigned long long)s->attempts, nm, (unsigned long long)s->successes,
				 nm, (unsigned long long)s->failures, nm, (unsigned long long)s->retries,
				 nm, (unsigned long long)s->fallbacks, nm, (unsigned long long)s->hedges,
				 nm, (unsigned long long)s->cooldowns,
				 nm, (unsigned long long)s->budget_denied,
				 nm, (unsigned long long)b->opened, nm, (unsigned long long)b->half_opened,
				 nm, (unsigned long long)b->closed, nm, (unsigned long long)b->rejected,
				 nm, d->rl.inflight,
				 nm, (unsigned long long)(d->rl.stats.limited_concurrent +
							  d->rl.stats.limited_rpm + d->rl.stats.limited_tpm),
				 nm, (unsigned long long)(d->lat.ewma_ns / 1000u));
		if (w < 0 || (size_t)w >= len - off) {
			buf[off] = 0;
			break;
		}
		off += (size_t)w;
	}
	return off;
}
