/*
 * config_policy.c — `resilience:`, the sidecar-wide policy of retries,
 * retry budgets, circuit breakers and rate limits (see config.h).
 *
 * The defaults are the modules' own (bo_config_default, rbud_config_default,
 * brk_config_default, ec_policy_default), so a config without this section
 * behaves exactly as the modules document. After the file is read the
 * values are put through the modules' own checks too: the config can hold
 * nothing they would refuse at start.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "breaker.h"
#include "config.h"
#include "config_load.h"
#include "config_value.h"
#include "errclass.h"
#include "retry_budget.h"

/* An hour: any longer backoff or wait is a config mistake, and it keeps
 * every duration below in 32-bit milliseconds. */
#define LD_POLICY_MS_MAX	3600000u
#define LD_QUEUE_MAX		1000000u
/* Largest retry budget: retries at ten times the request rate is no budget. */
#define LD_BUDGET_PCT_MAX	1000u

static int ld_retry_on(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_on_limit(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_breaker(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_budget(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_retry(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);

#define R(member) resilience.member

static const struct cfg_ld_field retry_fields[] = {
	FIELD(struct cfg, R(retry.max_attempts), "max_attempts", CFG_LT_COUNT, 1, 16),
	FIELD(struct cfg, R(retry.backoff_base_ms), "backoff_base", CFG_LT_MS, 1, LD_POLICY_MS_MAX),
	FIELD(struct cfg, R(retry.backoff_cap_ms), "backoff_cap", CFG_LT_MS, 1, LD_POLICY_MS_MAX),
	FIELD(struct cfg, R(retry.min_time_left_ms), "min_time_left", CFG_LT_MS, 0,
	      LD_POLICY_MS_MAX),
	CALL("retry_on", ld_retry_on),
};

static const struct cfg_ld_field budget_fields[] = {
	FIELD(struct cfg, R(budget.percent), "percent", CFG_LT_COUNT, 0, LD_BUDGET_PCT_MAX),
	FIELD(struct cfg, R(budget.min_retries), "min_retries", CFG_LT_COUNT, 0, 1000000),
	FIELD(struct cfg, R(budget.window_s), "window", CFG_LT_MS, 1000, RBUD_WINDOW_MAX_S * 1000u),
};

static const struct cfg_ld_field breaker_fields[] = {
	FIELD(struct cfg, R(breaker.window), "window", CFG_LT_COUNT, 1, BRK_WINDOW_MAX),
	FIELD(struct cfg, R(breaker.min_calls), "min_calls", CFG_LT_COUNT, 1, BRK_WINDOW_MAX),
	FIELD(struct cfg, R(breaker.failure_pct), "failure_rate", CFG_LT_COUNT, 0, 100),
	FIELD(struct cfg, R(breaker.slow_call_ms), "slow_call", CFG_LT_MS, 1, LD_POLICY_MS_MAX),
	FIELD(struct cfg, R(breaker.slow_pct), "slow_call_rate", CFG_LT_COUNT, 0, 100),
	FIELD(struct cfg, R(breaker.open_wait_ms), "open_wait", CFG_LT_MS, 1, LD_POLICY_MS_MAX),
	FIELD(struct cfg, R(breaker.open_max_ms), "open_max", CFG_LT_MS, 1, LD_POLICY_MS_MAX),
	FIELD(struct cfg, R(breaker.probes), "probes", CFG_LT_COUNT, 1, BRK_PROBES_MAX),
};

static const struct cfg_ld_field rate_limit_fields[] = {
	CALL("on_limit", ld_on_limit),
	FIELD(struct cfg, R(rate_limit.max_queue), "max_queue", CFG_LT_COUNT, 1, LD_QUEUE_MAX),
};

static const struct cfg_ld_field resilience_fields[] = {
	CALL("retry", ld_retry),
	CALL("retry_budget", ld_budget),
	CALL("breaker", ld_breaker),
	SECTION("rate_limit", rate_limit_fields),
};

void cfg_resilience_defaults(struct cfg_resilience *r)
{
	struct bo_config bo = bo_config_default();
	struct rbud_config rb = rbud_config_default();
	struct brk_config bk = brk_config_default();

	r->retry.max_attempts = bo.max_attempts;
	r->retry.backoff_base_ms = (uint32_t)(bo.base_ns / 1000000u);
	r->retry.backoff_cap_ms = (uint32_t)(bo.cap_ns / 1000000u);
	r->retry.min_time_left_ms = (uint32_t)(bo.min_left_ns / 1000000u);
	r->retry.retry_on = ec_policy_default().retry;
	r->budget.percent = rb.percent;
	r->budget.min_retries = rb.min_retries;
	r->budget.window_s = rb.window_s * 1000u; /* ms while reading; seconds after */
	r->breaker.window = bk.window;
	r->breaker.min_calls = bk.min_calls;
	r->breaker.failure_pct = bk.failure_pct;
	r->breaker.slow_call_ms = (uint32_t)(bk.slow_ns / 1000000u);
	r->breaker.slow_pct = bk.slow_pct;
	r->breaker.open_wait_ms = (uint32_t)(bk.open_wait_ns / 1000000u);
	r->breaker.open_max_ms = (uint32_t)(bk.open_max_ns / 1000000u);
	r->breaker.probes = bk.probes;
	r->rate_limit.reject = 0;
	r->rate_limit.max_queue = 1024;
}

static int ld_breaker(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	ld->breaker_line = line;
	return cfg_ld_section(ld, val, line, path, breaker_fields, N_ELEMS(breaker_fields), ld->c);
}

static int ld_retry(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	ld->retry_line = line;
	return cfg_ld_section(ld, val, line, path, retry_fields, N_ELEMS(retry_fields), ld->c);
}

static int ld_budget(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	ld->budget_line = line;
	return cfg_ld_section(ld, val, line, path, budget_fields, N_ELEMS(budget_fields), ld->c);
}

static int ld_on_limit(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	char shown[CFG_LD_SHOW];
	const char *s;
	size_t len;
	int ret;

	if ((ret = cfg_ld_scalar(ld, &val, line, path, &s, &len)))
		return ret;
	if (len == 4 && !memcmp(s, "wait", 4)) {
		ld->c->resilience.rate_limit.reject = 0;
		return 0;
	}
	if (len == 6 && !memcmp(s, "reject", 6)) {
		ld->c->resilience.rate_limit.reject = 1;
		return 0;
	}
	cfg_ld_show(shown, sizeof(shown), s, len);
	return cfg_ld_fail(ld, line, path, "'%s' is not wait or reject", shown);
}

/* A list of error class names (errclass.h); [] retries nothing. */
static int ld_retry_on(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ec_policy pol = { 0 };
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW], known[512] = "";
	int ret, count;

	if ((ret = cfg_ld_deref(ld, &val, line, path)))
		return ret;
	if (!val || !fy_node_is_sequence(val))
		return cfg_ld_fail(ld, line, path, "must be a list of error classes, e.g. "
				   "[connect, http_5xx, http_429]");
	count = fy_node_sequence_item_count(val);
	for (int i = 0; i < count; i++) {
		struct fy_node *item = fy_node_sequence_get_by_index(val, i);
		int iline = cfg_ld_line(item, line), cls;
		char name[32];
		const char *s;
		size_t len;

		snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		if ((ret = cfg_ld_scalar(ld, &item, iline, sub, &s, &len)))
			return ret;
		cfg_ld_show(shown, sizeof(shown), s, len);
		cls = -EINVAL;
		if (len < sizeof(name)) {
			memcpy(name, s, len);
			name[len] = 0;
			cls = ec_from_name(name);
		}
		if (cls < 0) {
			for (int k = 0; k < EC_COUNT; k++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
					 k ? ", " : "", ec_name((enum ec_class)k));
			return cfg_ld_fail(ld, iline, sub, "unknown error class '%s' (known: %s)",
					   shown, known);
		}
		if (ec_policy_set(&pol, (enum ec_class)cls, 1))
			return cfg_ld_fail(ld, iline, sub, "'%s' is never retried: the same request "
					   "would be refused again, or nobody waits for it", shown);
	}
	ld->c->resilience.retry.retry_on = pol.retry;
	return 0;
}

int cfg_ld_resilience(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	return cfg_ld_section(ld, val, line, path, resilience_fields, N_ELEMS(resilience_fields),
			      ld->c);
}

int cfg_ld_resilience_finish(struct cfg_ld *ld)
{
	struct cfg_resilience *r = &ld->c->resilience;
	const char *field = NULL;

	if (r->budget.window_s % 1000)
		return cfg_ld_fail(ld, ld->budget_line, "resilience.retry_budget.window",
				   "must be whole seconds");
	r->budget.window_s /= 1000;
	struct bo_config bo = {
		.base_ns = (uint64_t)r->retry.backoff_base_ms * 1000000u,
		.cap_ns = (uint64_t)r->retry.backoff_cap_ms * 1000000u,
		.max_attempts = r->retry.max_attempts,
		.min_left_ns = (uint64_t)r->retry.min_time_left_ms * 1000000u,
	};
	if (bo.cap_ns < bo.base_ns)
		return cfg_ld_fail(ld, ld->retry_line, "resilience.retry.backoff_cap",
				   "must be at least backoff_base");
	if (bo_config_check(&bo, &field))
		return cfg_ld_fail(ld, ld->retry_line, "resilience.retry", "invalid %s", field);
	struct rbud_config rb = { .percent = r->budget.percent, .min_retries = r->budget.min_retries,
				  .window_s = r->budget.window_s };
	if (rbud_config_check(&rb, &field))
		return cfg_ld_fail(ld, ld->budget_line, "resilience.retry_budget", "invalid %s",
				   field);
	if (r->breaker.min_calls > r->breaker.window)
		return cfg_ld_fail(ld, ld->breaker_line, "resilience.breaker.min_calls",
				   "%u is more than window (%u)", r->breaker.min_calls,
				   r->breaker.window);
	if (r->breaker.open_max_ms < r->breaker.open_wait_ms)
		return cfg_ld_fail(ld, ld->breaker_line, "resilience.breaker.open_max",
				   "must be at least open_wait");
	struct brk_config bk = {
		.window = r->breaker.window, .min_calls = r->breaker.min_calls,
		.failure_pct = r->breaker.failure_pct,
		.slow_ns = (uint64_t)r->breaker.slow_call_ms * 1000000u,
		.slow_pct = r->breaker.slow_pct,
		.open_wait_ns = (uint64_t)r->breaker.open_wait_ms * 1000000u,
		.open_max_ns = (uint64_t)r->breaker.open_max_ms * 1000000u,
		.probes = r->breaker.probes,
	};
	if (brk_config_check(&bk, &field))
		return cfg_ld_fail(ld, ld->breaker_line, "resilience.breaker", "invalid %s", field);
	return 0;
}
