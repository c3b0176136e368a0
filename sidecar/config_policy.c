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
#include <stddef.h>
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
#define LD_QUEUE_DEF		1024u
/* Largest retry budget: retries at ten times the request rate is no budget. */
#define LD_BUDGET_PCT_MAX	1000u
#define LD_MIN_RETRIES_MAX	1000000u
#define LD_US_PER_S		1000000u
#define LD_NS_PER_MS		1000000u

static int ld_retry_on(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_on_limit(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_window_s(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
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
	FIELD(struct cfg, R(budget.min_retries), "min_retries", CFG_LT_COUNT, 0,
	      LD_MIN_RETRIES_MAX),
	CALL("window", ld_window_s),
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

/* The sections whose keys are checked against each other after the file
 * is read; their nodes stay valid until the load ends. */
enum ld_sect { LD_RETRY, LD_BUDGET, LD_BREAKER };
static const char *const sect_paths[] = {
	[LD_RETRY] = "resilience.retry",
	[LD_BUDGET] = "resilience.retry_budget",
	[LD_BREAKER] = "resilience.breaker",
};

void cfg_resilience_defaults(struct cfg_resilience *r)
{
	struct bo_config bo = bo_config_default();
	struct rbud_config rb = rbud_config_default();
	struct brk_config bk = brk_config_default();

	r->retry.max_attempts = bo.max_attempts;
	r->retry.backoff_base_ms = (uint32_t)(bo.base_ns / LD_NS_PER_MS);
	r->retry.backoff_cap_ms = (uint32_t)(bo.cap_ns / LD_NS_PER_MS);
	r->retry.min_time_left_ms = (uint32_t)(bo.min_left_ns / LD_NS_PER_MS);
	r->retry.retry_on = ec_policy_default().retry;
	r->budget.percent = rb.percent;
	r->budget.min_retries = rb.min_retries;
	r->budget.window_s = rb.window_s;
	r->breaker.window = bk.window;
	r->breaker.min_calls = bk.min_calls;
	r->breaker.failure_pct = bk.failure_pct;
	r->breaker.slow_call_ms = (uint32_t)(bk.slow_ns / LD_NS_PER_MS);
	r->breaker.slow_pct = bk.slow_pct;
	r->breaker.open_wait_ms = (uint32_t)(bk.open_wait_ns / LD_NS_PER_MS);
	r->breaker.open_max_ms = (uint32_t)(bk.open_max_ns / LD_NS_PER_MS);
	r->breaker.probes = bk.probes;
	r->rate_limit.reject = 0;
	r->rate_limit.max_queue = LD_QUEUE_DEF;
}

/* A section is kept (node and line) for the checks across its keys. */
static int ld_sect(struct cfg_ld *ld, enum ld_sect s, struct fy_node *val, int line,
		   const char *path, const struct cfg_ld_field *fields, size_t n_fields)
{
	int ret = cfg_ld_deref(ld, &val, line, path);

	if (ret)
		return ret;
	ld->res_node[s] = val;
	ld->res_line[s] = line;
	return cfg_ld_section(ld, val, line, path, fields, n_fields, ld->c);
}

static int ld_retry(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	return ld_sect(ld, LD_RETRY, val, line, path, retry_fields, N_ELEMS(retry_fields));
}

static int ld_budget(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	return ld_sect(ld, LD_BUDGET, val, line, path, budget_fields, N_ELEMS(budget_fields));
}

static int ld_breaker(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	return ld_sect(ld, LD_BREAKER, val, line, path, breaker_fields, N_ELEMS(breaker_fields));
}

/* retry_budget.window: the budget keeps one bucket per second, so the
 * window is whole seconds. */
static int ld_window_s(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	char shown[CFG_LD_SHOW], hi[CFG_VALUE_BUF];
	const char *s, *why = NULL;
	size_t len;
	uint64_t us;
	int ret;

	if ((ret = cfg_ld_scalar(ld, &val, line, path, &s, &len)))
		return ret;
	cfg_ld_show(shown, sizeof(shown), s, len);
	if (cfg_parse_duration_us(s, len, &us, &why))
		return cfg_ld_fail(ld, line, path, "'%s' %s", shown, why);
	if (us % LD_US_PER_S)
		return cfg_ld_fail(ld, line, path, "'%s' is not a whole number of seconds", shown);
	if (us < LD_US_PER_S || us / LD_US_PER_S > RBUD_WINDOW_MAX_S) {
		cfg_format_duration_us((uint64_t)RBUD_WINDOW_MAX_S * LD_US_PER_S, hi, sizeof(hi));
		return cfg_ld_fail(ld, line, path, "'%s' is out of range (1s..%s)", shown, hi);
	}
	ld->c->resilience.budget.window_s = (uint32_t)(us / LD_US_PER_S);
	return 0;
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

/* One name of retry_on: a class that may be retried, or a clear refusal. */
static int ld_retry_class(struct cfg_ld *ld, struct ec_policy *pol, const char *s, size_t len,
			  int line, const char *path)
{
	const char *names[EC_COUNT], *near;
	char shown[CFG_LD_SHOW], known[512] = "", name[32];
	int cls = -EINVAL;

	cfg_ld_show(shown, sizeof(shown), s, len);
	/* Class names are short; longer text (or a NUL in it) is none of them. */
	if (len < sizeof(name) && !memchr(s, '\0', len)) {
		memcpy(name, s, len);
		name[len] = '\0';
		cls = ec_from_name(name);
	}
	if (cls >= 0) {
		if (ec_policy_set(pol, (enum ec_class)cls, 1))
			return cfg_ld_fail(ld, line, path, "'%s' is never retried: the same request "
					   "would be refused again, or nobody waits for it", shown);
		return 0;
	}
	for (int k = 0; k < EC_COUNT; k++) {
		names[k] = ec_name((enum ec_class)k);
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k ? ", " : "",
			 names[k]);
	}
	if ((near = cfg_ld_nearest(s, len, names, EC_COUNT)))
		return cfg_ld_fail(ld, line, path, "unknown error class '%s' (did you mean '%s'?)",
				   shown, near);
	return cfg_ld_fail(ld, line, path, "unknown error class '%s' (known: %s)", shown, known);
}

/* A list of error class names (errclass.h); [] retries nothing, and a name
 * given twice is the same as once. */
static int ld_retry_on(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ec_policy pol = { 0 };
	char sub[CFG_LD_PATH + 16];
	int ret, count;

	if ((ret = cfg_ld_deref(ld, &val, line, path)))
		return ret;
	if (!val || !fy_node_is_sequence(val))
		return cfg_ld_fail(ld, line, path, "must be a list of error classes, e.g. "
				   "[connect, http_5xx, http_429]");
	count = fy_node_sequence_item_count(val);
	for (int i = 0; i < count; i++) {
		struct fy_node *item = fy_node_sequence_get_by_index(val, i);
		int iline = cfg_ld_line(item, line);
		const char *s;
		size_t len;

		snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		if ((ret = cfg_ld_scalar(ld, &item, iline, sub, &s, &len)) ||
		    (ret = ld_retry_class(ld, &pol, s, len, iline, sub)))
			return ret;
	}
	ld->c->resilience.retry.retry_on = pol.retry;
	return 0;
}

int cfg_ld_resilience(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	return cfg_ld_section(ld, val, line, path, resilience_fields, N_ELEMS(resilience_fields),
			      ld->c);
}

/* ---- after the whole file ---------------------------------------------------- */

/* Key `key` of section s, if the file gives it: its line and path. */
static int ld_key_at(struct cfg_ld *ld, enum ld_sect s, const char *key, int *line,
		     char *path, size_t size)
{
	struct fy_node *sect = ld->res_node[s], *v;

	snprintf(path, size, "%s.%s", sect_paths[s], key);
	*line = ld->res_line[s];
	return sect && fy_node_is_mapping(sect) && cfg_ld_lookup(sect, key, &v, line);
}

/* Two keys of one section where lo <= hi must hold. `dep` is the key whose
 * range the other sets (min_calls: 1..window): the message goes on it when
 * the file gives it, else on the other key, which then broke dep's default. */
struct ld_order {
	enum ld_sect sect;
	const char *lo, *hi;
	size_t lo_off, hi_off;	/* uint32_t members of struct cfg_resilience */
	int dep_is_hi, ms;
};

static const struct ld_order orders[] = {
	{ LD_RETRY, "backoff_base", "backoff_cap", offsetof(struct cfg_resilience,
	  retry.backoff_base_ms), offsetof(struct cfg_resilience, retry.backoff_cap_ms), 1, 1 },
	{ LD_BREAKER, "min_calls", "window", offsetof(struct cfg_resilience, breaker.min_calls),
	  offsetof(struct cfg_resilience, breaker.window), 0, 0 },
	{ LD_BREAKER, "open_wait", "open_max", offsetof(struct cfg_resilience,
	  breaker.open_wait_ms), offsetof(struct cfg_resilience, breaker.open_max_ms), 1, 1 },
};

static void ld_format(uint32_t v, int ms, char *buf, size_t size)
{
	if (ms)
		cfg_format_duration_us((uint64_t)v * 1000u, buf, size);
	else
		snprintf(buf, size, "%u", v);
}

static int ld_check_order(struct cfg_ld *ld, const struct ld_order *o)
{
	const char *r = (const char *)&ld->c->resilience;
	uint32_t lo = *(const uint32_t *)(r + o->lo_off), hi = *(const uint32_t *)(r + o->hi_off);
	const char *dep = o->dep_is_hi ? o->hi : o->lo, *other = o->dep_is_hi ? o->lo : o->hi;
	char path[CFG_LD_PATH], unused[CFG_LD_PATH], a[CFG_VALUE_BUF], b[CFG_VALUE_BUF];
	int line, oline, on_lo, other_given;

	if (lo <= hi)
		return 0;
	ld_format(lo, o->ms, a, sizeof(a));
	ld_format(hi, o->ms, b, sizeof(b));
	if (ld_key_at(ld, o->sect, dep, &line, path, sizeof(path))) {
		on_lo = !o->dep_is_hi;
		other_given = ld_key_at(ld, o->sect, other, &oline, unused, sizeof(unused));
	} else {
		ld_key_at(ld, o->sect, other, &line, path, sizeof(path));
		on_lo = o->dep_is_hi;
		other_given = 0;
	}
	if (on_lo)
		return cfg_ld_fail(ld, line, path, "%s is more than %s (%s%s)", a, o->hi, b,
				   other_given ? "" : ", the default");
	return cfg_ld_fail(ld, line, path, "%s is less than %s (%s%s)", b, o->lo, a,
			   other_given ? "" : ", the default");
}

/* A module's own check refused what the tables let through (they are meant
 * to be at least as strict): name the field by its key. */
static int ld_module_fail(struct cfg_ld *ld, enum ld_sect s, const char *field,
			  const char *module)
{
	static const char *const keys[][2] = {
		{ "base", "backoff_base" }, { "cap", "backoff_cap" },
		{ "failure_pct", "failure_rate" }, { "slow_pct", "slow_call_rate" },
	};
	char path[CFG_LD_PATH];
	const char *key = field ? field : "?";
	int line;

	for (size_t i = 0; i < N_ELEMS(keys); i++)
		if (!strcmp(key, keys[i][0]))
			key = keys[i][1];
	ld_key_at(ld, s, key, &line, path, sizeof(path));
	return cfg_ld_fail(ld, line, path, "refused by the %s", module);
}

int cfg_ld_resilience_finish(struct cfg_ld *ld)
{
	const struct cfg_resilience *r = &ld->c->resilience;
	const char *field = NULL;
	int ret;

	for (size_t i = 0; i < N_ELEMS(orders); i++)
		if ((ret = ld_check_order(ld, &orders[i])))
			return ret;
	struct bo_config bo = {
		.base_ns = (uint64_t)r->retry.backoff_base_ms * LD_NS_PER_MS,
		.cap_ns = (uint64_t)r->retry.backoff_cap_ms * LD_NS_PER_MS,
		.max_attempts = r->retry.max_attempts,
		.min_left_ns = (uint64_t)r->retry.min_time_left_ms * LD_NS_PER_MS,
	};
	if (bo_config_check(&bo, &field))
		return ld_module_fail(ld, LD_RETRY, field, "backoff");
	struct rbud_config rb = { .percent = r->budget.percent, .min_retries = r->budget.min_retries,
				  .window_s = r->budget.window_s };
	if (rbud_config_check(&rb, &field))
		return ld_module_fail(ld, LD_BUDGET, field, "retry budget");
	struct brk_config bk = {
		.window = r->breaker.window, .min_calls = r->breaker.min_calls,
		.failure_pct = r->breaker.failure_pct,
		.slow_ns = (uint64_t)r->breaker.slow_call_ms * LD_NS_PER_MS,
		.slow_pct = r->breaker.slow_pct,
		.open_wait_ns = (uint64_t)r->breaker.open_wait_ms * LD_NS_PER_MS,
		.open_max_ns = (uint64_t)r->breaker.open_max_ms * LD_NS_PER_MS,
		.probes = r->breaker.probes,
	};
	if (brk_config_check(&bk, &field))
		return ld_module_fail(ld, LD_BREAKER, field, "circuit breaker");
	return 0;
}
