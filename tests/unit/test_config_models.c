/*
 * test_config_models.c — model aliases with several targets, their
 * deployments, strategies, attempts and hedging; and the resilience
 * section: defaults, bounds, cross-key checks, dump round trips, hostile
 * shapes.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "backoff.h"
#include "breaker.h"
#include "cfg_test_util.h"
#include "config.h"
#include "errclass.h"
#include "retry_budget.h"

#define PROVS "providers:\n  a: {kind: mock}\n  b: {kind: mock}\n"

static const char multi[] =
	PROVS
	"models:\n"
	"  one: {provider: a, model: m1, rpm: 60}\n"
	"  two:\n"
	"    strategy: least_latency\n"
	"    max_attempts: 5\n"
	"    hedge_after: p95\n"
	"    targets:\n"
	"      - {provider: b, weight: 7, tpm: 90000}\n"
	"      - provider: a\n"
	"        model: m1\n"
	"        max_concurrent: 4\n"
	"  three:\n"
	"    strategy: round_robin\n"
	"    hedge_after: 1500ms\n"
	"    targets: [{provider: a, model: m1}, {provider: b, model: m2}]\n"
	"resilience:\n"
	"  retry: {max_attempts: 4, backoff_base: 10ms, backoff_cap: 1s, min_time_left: 0,"
	" retry_on: [connect, http_5xx]}\n"
	"  retry_budget: {percent: 50, min_retries: 1, window: 30s}\n"
	"  breaker: {window: 8, min_calls: 4, failure_rate: 60, slow_call: 2s, slow_call_rate: 0,"
	" open_wait: 1s, open_max: 8s, probes: 3}\n"
	"  rate_limit: {on_limit: reject, max_queue: 9}\n";

static void load(const char *yaml, struct cfg *c)
{
	char err[CFGT_ERRLEN];

	cr_assert_eq(cfgt_load(yaml, strlen(yaml), c, err), 0, "%s", err);
}

Test(config_models, targets_and_shared_deployments)
{
	struct cfg c;

	load(multi, &c);
	cr_assert_eq(c.n_models, 3);
	const struct cfg_model *one = &c.models[0], *two = &c.models[1], *three = &c.models[2];
	cr_assert_eq(one->n_targets, 1);
	cr_assert_eq(one->strategy, CFG_STRAT_FALLBACK);
	cr_assert_eq(one->max_attempts, 4, "the alias inherits resilience.retry.max_attempts");
	cr_assert_eq(two->strategy, CFG_STRAT_LEAST_LATENCY);
	cr_assert_eq(two->max_attempts, 5);
	cr_assert(two->hedge_p95 && !two->hedge_after_ms);
	cr_assert_eq(three->hedge_after_ms, 1500);
	cr_assert_eq(three->strategy, CFG_STRAT_ROUND_ROBIN);
	cr_assert_eq(two->n_targets, 2);
	cr_assert_str_eq(two->targets[0].model, "two", "model defaults to the alias");
	cr_assert_eq(two->targets[0].weight, 7);
	cr_assert_eq(two->targets[1].weight, 1);
	/* The first target stands for the alias. */
	cr_assert_str_eq(two->provider, "b");
	cr_assert_str_eq(two->model, "two");
	/* a/m1 (three targets), b/two, b/m2. */
	cr_assert_eq(c.n_deployments, 3);
	cr_assert_eq(one->targets[0].deployment, two->targets[1].deployment);
	cr_assert_eq(one->targets[0].deployment, three->targets[0].deployment);
	const struct cfg_deployment *am1 = &c.deployments[one->targets[0].deployment];
	cr_assert_str_eq(am1->model, "m1");
	cr_assert_eq(am1->rpm, 60, "limits from one target join the deployment");
	cr_assert_eq(am1->max_concurrent, 4);
	cr_assert_eq(c.deployments[two->targets[0].deployment].tpm, 90000);
	cr_assert_eq(c.resilience.retry.retry_on, (1u << EC_CONNECT) | (1u << EC_HTTP_5XX));
	cr_assert_eq(c.resilience.budget.window_s, 30);
	cr_assert_eq(c.resilience.breaker.probes, 3);
	cr_assert_eq(c.resilience.rate_limit.reject, 1);
	cr_assert_eq(c.resilience.rate_limit.max_queue, 9);
	cfgt_round_trip(&c);
	/* And the dump of the dump is the same text. */
	char *t1 = cfgt_dump(&c);
	struct cfg d;
	load(t1, &d);
	char *t2 = cfgt_dump(&d);
	cr_assert_str_eq(t1 + strcspn(t1, "\n"), t2 + strcspn(t2, "\n"));
	free(t1);
	free(t2);
	cfg_free(&d);
	cfg_free(&c);
}

Test(config_models, resilience_defaults_are_the_modules_own)
{
	struct cfg c;

	load(CFGT_TAIL, &c);
	const struct cfg_resilience *r = &c.resilience;
	struct bo_config bo = bo_config_default();
	struct brk_config bk = brk_config_default();
	struct rbud_config rb = rbud_config_default();
	cr_assert_eq(r->retry.max_attempts, bo.max_attempts);
	cr_assert_eq((uint64_t)r->retry.backoff_base_ms * 1000000u, bo.base_ns);
	cr_assert_eq((uint64_t)r->retry.backoff_cap_ms * 1000000u, bo.cap_ns);
	cr_assert_eq((uint64_t)r->retry.min_time_left_ms * 1000000u, bo.min_left_ns);
	cr_assert_eq(r->retry.retry_on, ec_policy_default().retry);
	cr_assert_eq(r->budget.percent, rb.percent);
	cr_assert_eq(r->budget.min_retries, rb.min_retries);
	cr_assert_eq(r->budget.window_s, rb.window_s);
	cr_assert_eq(r->breaker.window, bk.window);
	cr_assert_eq(r->breaker.min_calls, bk.min_calls);
	cr_assert_eq(r->breaker.failure_pct, bk.failure_pct);
	cr_assert_eq((uint64_t)r->breaker.slow_call_ms * 1000000u, bk.slow_ns);
	cr_assert_eq(r->breaker.slow_pct, bk.slow_pct);
	cr_assert_eq((uint64_t)r->breaker.open_wait_ms * 1000000u, bk.open_wait_ns);
	cr_assert_eq((uint64_t)r->breaker.open_max_ms * 1000000u, bk.open_max_ns);
	cr_assert_eq(r->breaker.probes, bk.probes);
	cr_assert_eq(r->rate_limit.reject, 0);
	cr_assert_eq(c.models[0].max_attempts, bo.max_attempts);
	cr_assert_eq(c.n_deployments, 1);
	cfgt_round_trip(&c);
	cfg_free(&c);
}

Test(config_models, alias_errors)
{
	static const struct cfgt_case cases[] = {
		{ PROVS "models:\n  x: {provider: a, targets: [{provider: b}]}\n",
		  "t.yaml:5: models.x: 'targets' replaces provider, model and limits at the "
		  "alias: give those in each target" },
		{ PROVS "models:\n  x: {targets: []}\n", "t.yaml:5: models.x.targets: needs at least one target" },
		{ PROVS "models:\n  x: {targets: {provider: a}}\n",
		  "t.yaml:5: models.x.targets: must be a list of targets (- {provider: NAME, model: MODEL})" },
		{ PROVS "models:\n  x:\n    targets:\n      - a\n",
		  "t.yaml:7: models.x.targets[0]: expected a mapping, found a single value" },
		{ PROVS "models:\n  x:\n    targets:\n      - {model: q}\n",
		  "t.yaml:7: models.x.targets[0]: missing key 'provider'" },
		{ PROVS "models:\n  x:\n    targets:\n      - {provider: a}\n      - {provider: nope}\n",
		  "t.yaml:8: models.x.targets[1].provider: no provider named 'nope'" },
		{ PROVS "models:\n  x:\n    targets:\n      - {provider: a, model: q}\n      - {provider: a, model: q}\n",
		  "t.yaml:8: models.x.targets[1]: duplicate target: a/q is targets[0] already" },
		{ PROVS "models:\n  x: {provider: a, model: q, rpm: 5}\n  y:\n    targets:\n      - {provider: a, model: q, rpm: 6}\n",
		  "t.yaml:8: models.y.targets[0].rpm: conflicts with 5 given at line 5 for deployment a/q" },
		{ PROVS "models:\n  x: {provider: a, strategy: random}\n",
		  "t.yaml:5: models.x.strategy: unknown strategy 'random' (known: fallback, weighted, "
		  "round_robin, least_latency)" },
		{ PROVS "models:\n  x: {provider: a, hedge_after: 1s}\n",
		  "t.yaml:5: models.x: hedge_after needs at least two targets" },
		{ PROVS "models:\n  x: {provider: a, hedge_after: 11m}\n",
		  "t.yaml:5: models.x.hedge_after: '11m' must be whole milliseconds in 1ms..10m" },
		{ PROVS "models:\n  x: {provider: a, hedge_after: p99}\n",
		  "t.yaml:5: models.x.hedge_after: 'p99' is not a number (or p95)" },
		{ PROVS "models:\n  x: {provider: a, max_attempts: 17}\n",
		  "t.yaml:5: models.x.max_attempts: '17' is out of range (1..16)" },
		{ PROVS "models:\n  x: {targets: [{provider: a, weight: 0}]}\n",
		  "t.yaml:5: models.x.targets[0].weight: '0' is out of range (1..1000000)" },
		{ PROVS "models:\n  x: {provider: a, tpm: 1000000000001}\n",
		  "t.yaml:5: models.x.tpm: '1000000000001' is out of range (0..1000000000000)" },
		{ PROVS "models:\n  x: {provider: a, targets: 3}\n",
		  "t.yaml:5: models.x.targets: must be a list of targets (- {provider: NAME, model: MODEL})" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config_models, too_many_targets)
{
	char yaml[4096];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), PROVS "models:\n  x:\n    targets:\n");

	for (int i = 0; i < 17; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "      - {provider: a, model: m%d}\n", i);
	cfgt_expect_error(yaml, "t.yaml:6: models.x.targets: 17 targets; at most 16");
}

Test(config_models, resilience_errors)
{
	static const struct cfgt_case cases[] = {
		{ "resilience: {retry: {retry_on: [connect, nope]}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry.retry_on[1]: unknown error class 'nope' (known: connect, tls, "
		  "network, timeout_first_chunk, timeout_idle, timeout_total, http_408, http_409, http_429, "
		  "http_5xx, overloaded, malformed, truncated, rejected, cancelled, internal)" },
		{ "resilience: {retry: {retry_on: [rejected]}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry.retry_on[0]: 'rejected' is never retried: the same request "
		  "would be refused again, or nobody waits for it" },
		{ "resilience: {retry: {retry_on: connect}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry.retry_on: must be a list of error classes, e.g. "
		  "[connect, http_5xx, http_429]" },
		{ "resilience: {retry: {backoff_base: 2s, backoff_cap: 1s}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry.backoff_cap: must be at least backoff_base" },
		{ "resilience: {retry: {max_attempts: 0}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry.max_attempts: '0' is out of range (1..16)" },
		{ "resilience: {retry_budget: {window: 1500ms}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry_budget.window: must be whole seconds" },
		{ "resilience: {retry_budget: {window: 61s}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry_budget.window: '61s' is out of range (1s..1m)" },
		{ "resilience: {breaker: {window: 5, min_calls: 6}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.breaker.min_calls: 6 is more than window (5)" },
		{ "resilience: {breaker: {open_wait: 10s, open_max: 5s}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.breaker.open_max: must be at least open_wait" },
		{ "resilience: {breaker: {failure_rate: 101}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.breaker.failure_rate: '101' is out of range (0..100)" },
		{ "resilience: {breaker: {probes: 17}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.breaker.probes: '17' is out of range (1..16)" },
		{ "resilience: {rate_limit: {on_limit: drop}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.rate_limit.on_limit: 'drop' is not wait or reject" },
		{ "resilience: {breakr: {}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience: unknown key 'breakr' (did you mean 'breaker'?)" },
		{ "resilience: [retry]\n" CFGT_TAIL,
		  "t.yaml:1: resilience: expected a mapping, found a list" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config_models, empty_retry_on_retries_nothing)
{
	struct cfg c;

	load("resilience: {retry: {retry_on: []}}\n" CFGT_TAIL, &c);
	cr_assert_eq(c.resilience.retry.retry_on, 0);
	cfgt_round_trip(&c);
	cfg_free(&c);
}

Test(config_models, hostile_shapes_fail_cleanly)
{
	static const char *const yamls[] = {
		PROVS "models:\n  x:\n    targets: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		PROVS "models:\n  x:\n    targets: [{provider: [a]}]\n",
		PROVS "models:\n  x:\n    targets: [{provider: a, weight: 99999999999999999999999}]\n",
		PROVS "models:\n  x:\n    targets: &t [{provider: a}, *t]\n",
		PROVS "models:\n  x: {targets: [~]}\n",
		PROVS "models:\n  x: {targets: [{provider: a}], strategy: [weighted]}\n",
		"resilience: {retry: {retry_on: [[connect]]}}\n" CFGT_TAIL,
		"resilience: {retry: {retry_on: [~]}}\n" CFGT_TAIL,
		"resilience: {retry: {retry_on: [\"connect\\u0000\"]}}\n" CFGT_TAIL,
		"resilience: {breaker: ~, retry: ~, rate_limit: ~, retry_budget: ~}\n" CFGT_TAIL,
	};

	for (size_t i = 0; i < sizeof(yamls) / sizeof(yamls[0]); i++)
		cfgt_survive(yamls[i], strlen(yamls[i]));
}

Test(config_models, tenants)
{
	struct cfg c;

	load("tenants:\n  root: {rpm: 10}\n  \"4242\": {max_concurrent: 2, tpm: 5000}\n"
	     "  \"*\": {max_concurrent: 9}\n" CFGT_TAIL, &c);
	cr_assert_eq(c.n_tenants, 3);
	cr_assert_eq(cfg_find_tenant(&c, 0)->rpm, 10, "root is uid 0");
	cr_assert_eq(cfg_find_tenant(&c, 4242)->tpm, 5000, "a number that is no user is a uid");
	cr_assert(cfg_find_tenant(&c, 777)->any, "everybody else is \"*\"");
	cfgt_round_trip(&c);
	cfg_free(&c);
	load(CFGT_TAIL, &c);
	cr_assert_null(cfg_find_tenant(&c, 0), "no tenants: no limits");
	cfg_free(&c);
	static const struct cfgt_case cases[] = {
		{ "tenants:\n  no-such-user-here: {rpm: 1}\n" CFGT_TAIL,
		  "t.yaml:2: tenants.no-such-user-here: no such user 'no-such-user-here'" },
		{ "tenants:\n  root: {rpm: 1}\n  \"0\": {rpm: 2}\n" CFGT_TAIL,
		  "t.yaml:3: tenants.0: '0' is the same tenant as 'root' at line 2" },
		{ "tenants:\n  root: {rmp: 1}\n" CFGT_TAIL,
		  "t.yaml:2: tenants.root: unknown key 'rmp' (did you mean 'rpm'?)" },
		{ "tenants: [root]\n" CFGT_TAIL, "t.yaml:1: tenants: expected a mapping, found a list" },
	};
	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}
