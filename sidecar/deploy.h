/*
 * deploy.h — what the sidecar knows of each deployment (a provider and an
 * upstream model, config.h's struct cfg_deployment) while it runs: its
 * circuit breaker, retry budget, rate limits and latency, shared by every
 * request and every client of every alias that targets it. That sharing is
 * the point of a per-host sidecar: one client's 429 cools the deployment
 * for all of them, and one breaker sees every failure.
 *
 * One array, indexed like cfg.deployments, owned by the server; one loop
 * thread uses it.
 */
#ifndef RINGSIDE_DEPLOY_H
#define RINGSIDE_DEPLOY_H

#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "config.h"
#include "lb.h"
#include "ratelimit.h"
#include "retry_budget.h"

struct dep_stats {
	uint64_t attempts;       /* attempts started here */
	uint64_t successes;      /* attempts that ended with DONE */
	uint64_t failures;       /* attempts that failed (any class but cancelled) */
	uint64_t retries;        /* attempts that were a retry here */
	uint64_t fallbacks;      /* attempts that came here after another deployment failed */
	uint64_t hedges;         /* attempts started as a hedge */
	uint64_t cooldowns;      /* Retry-After cooldowns applied */
	uint64_t budget_denied;  /* retries the budget refused */
};

struct dep {
	const struct cfg_deployment *cfg;
	const struct cfg_provider *prov;
	char name[2 * CFG_NAME_MAX + 2];  /* "provider/model", for logs and stats */
	struct brk brk;
	struct rbud budget;
	struct rl rl;
	struct lb_lat lat;
	uint64_t cooldown_until;          /* latest 429 cooldown's end */
	struct dep_stats st;
};

/* One dep per cfg->deployments entry, breakers closed, buckets full. NULL
 * when there is no memory (or n_deployments is 0: then *n is 0 too). The
 * config was checked at load, so the module configs are valid. */
struct dep *dep_new_all(const struct cfg *c, uint64_t now, size_t *n);
void dep_free_all(struct dep *d);

/* What keeps a request from a deployment. */
enum dep_why {
	DEP_WHY_BREAKER = 0,  /* its circuit is open (or every probe slot taken) */
	DEP_WHY_LIMIT,        /* our own rate limits for it */
	DEP_WHY_COOLDOWN,     /* the provider's 429 asked us to wait */
	DEP_WHY_TENANT,       /* the client's tenant is over its limits (route.c) */
};

/* ns until a request could start on d (0: now): the later of the breaker's
 * retry time and the rate limits' wait for est_tokens. UINT64_MAX when only
 * a probe's verdict or a request's end can make room. *why says which. */
uint64_t dep_wait(struct dep *d, uint64_t now, uint64_t est_tokens, enum dep_why *why);

/* The provider answered 429 with a Retry-After: nobody asks before until. */
void dep_cooldown(struct dep *d, uint64_t now, uint64_t until);

/* "key{labels} value" lines for STATS, appended at buf[0..len). Returns the
 * bytes written (NUL-terminated, truncated at a line). */
size_t dep_render(const struct dep *d, size_t n, uint64_t now, char *buf, size_t len);

#endif
