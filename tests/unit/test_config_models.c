/*
 * test_config_models.c — model aliases in both forms, their targets and
 * the deployments those resolve to (shared across aliases, limits joined
 * or in conflict), strategies, attempts, hedging; the dump of all of it;
 * hostile shapes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cfg_test_util.h"
#include "config.h"

#define PROVS "providers:\n  a: {kind: mock}\n  b: {kind: mock}\n"
/* Alias x on line 5, in flow form. */
#define ALIAS(body) PROVS "models:\n  x: {" body "}\n"
/* Alias x with two targets, the first with extra keys. */
#define TARGET(body) ALIAS("targets: [{provider: a, " body "}, {provider: b}]")
#define TWO "targets: [{provider: a}, {provider: b}]"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the two forms ----------------------------------------------------------------- */

Test(config_models, simple_form_is_one_target_of_weight_one)
{
	struct cfg c;

	cfgt_load_ok(PROVS "models:\n"
		     "  x:\n"
		     "    provider: b\n"
		     "    model: up\n"
		     "    max_concurrent: 3\n"
		     "    rpm: 60\n"
		     "    tpm: 1000\n"
		     "    max_attempts: 2\n"
		     "    strategy: weighted\n", &c);
	const struct cfg_model *m = &c.models[0];
	cr_assert_eq(m->n_targets, 1);
	cr_assert_str_eq(m->targets[0].provider, "b");
	cr_assert_eq(m->targets[0].provider_idx, 1);
	cr_assert_str_eq(m->targets[0].model, "up");
	cr_assert_eq(m->targets[0].weight, 1);
	cr_assert(m->targets[0].line == 5 && m->targets[0].provider_line == 6);
	/* The first target stands for the alias. */
	cr_assert(!strcmp(m->provider, "b") && m->provider_idx == 1 && !strcmp(m->model, "up"));
	cr_assert_eq(m->provider_line, 6);
	cr_assert_eq(m->max_attempts, 2);
	cr_assert_eq(m->strategy, CFG_STRAT_WEIGHTED, "allowed, if pointless, with one target");
	cr_assert_eq(c.n_deployments, 1);
	const struct cfg_deployment *d = &c.deployments[0];
	cr_assert(d->provider_idx == 1 && !strcmp(d->model, "up") && d->line == 5);
	cr_assert(d->max_concurrent == 3 && d->rpm == 60 && d->tpm == 1000);
	cfgt_dump_fixed_point(&c);
	cfg_free(&c);
}

Test(config_models, targets_form_and_its_defaults)
{
	struct cfg c;

	/* resilience comes after the models: the alias's default is resolved
	 * once the whole file is read. */
	cfgt_load_ok(PROVS "models:\n"
		     "  x:\n"
		     "    targets:\n"
		     "      - provider: a\n"
		     "      - {provider: b, model: m}\n"
		     "resilience: {retry: {max_attempts: 7}}\n", &c);
	const struct cfg_model *m = &c.models[0];
	cr_assert_eq(m->strategy, CFG_STRAT_FALLBACK);
	cr_assert_eq(m->max_attempts, 7);
	cr_assert_eq(m->hedge_after_ms, 0);
	cr_assert_eq(m->hedge_p95, 0);
	cr_assert_eq(m->n_targets, 2);
	cr_assert_str_eq(m->targets[0].model, "x", "model defaults to the alias");
	cr_assert(m->targets[0].weight == 1 && m->targets[1].weight == 1);
	cr_assert(m->targets[0].line == 7 && m->targets[0].provider_line == 7);
	cr_assert_eq(m->targets[1].line, 8);
	cr_assert_eq(m->targets[0].max_concurrent + m->targets[0].rpm + m->targets[0].tpm, 0);
	cr_assert(!strcmp(m->provider, "a") && !strcmp(m->model, "x") && m->provider_line == 7);
	/* First seen, first listed. */
	cr_assert_eq(c.n_deployments, 2);
	cr_assert(!strcmp(c.deployments[0].model, "x") && c.deployments[0].provider_idx == 0);
	cr_assert(!strcmp(c.deployments[1].model, "m") && c.deployments[1].provider_idx == 1);
	cr_assert(c.deployments[1].line == 8 && m->targets[1].deployment == 1);
	cr_assert_eq(c.deployments[0].rpm + c.deployments[0].tpm + c.deployments[0].max_concurrent, 0);
	cfg_free(&c);
}

Test(config_models, bounds)
{
	static const struct cfgt_case cases[] = {
		{ TARGET("weight: 0"),
		  "t.yaml:5: models.x.targets[0].weight: '0' is out of range (1..1000000)" },
		{ TARGET("weight: 1"), NULL },
		{ TARGET("weight: 1000000"), NULL },
		{ TARGET("weight: 1000001"),
		  "t.yaml:5: models.x.targets[0].weight: '1000001' is out of range (1..1000000)" },
		{ TARGET("max_concurrent: 0"), NULL },
		{ TARGET("max_concurrent: 1000000"), NULL },
		{ TARGET("max_concurrent: 1000001"), "t.yaml:5: models.x.targets[0].max_concurrent: "
		  "'1000001' is out of range (0..1000000)" },
		{ TARGET("rpm: 0"), NULL },
		{ TARGET("rpm: 100000000"), NULL },
		{ TARGET("rpm: 100000001"),
		  "t.yaml:5: models.x.targets[0].rpm: '100000001' is out of range (0..100000000)" },
		{ TARGET("tpm: 0"), NULL },
		{ TARGET("tpm: 1000000000000"), NULL },
		{ TARGET("tpm: 1000000000001"), "t.yaml:5: models.x.targets[0].tpm: "
		  "'1000000000001' is out of range (0..1000000000000)" },
		{ ALIAS("provider: a, max_concurrent: 1000000"), NULL },
		{ ALIAS("provider: a, max_concurrent: 1000001"),
		  "t.yaml:5: models.x.max_concurrent: '1000001' is out of range (0..1000000)" },
		{ ALIAS("provider: a, rpm: 100000000"), NULL },
		{ ALIAS("provider: a, rpm: 100000001"),
		  "t.yaml:5: models.x.rpm: '100000001' is out of range (0..100000000)" },
		{ ALIAS("provider: a, tpm: 1000000000000"), NULL },
		{ ALIAS("provider: a, tpm: 1000000000001"),
		  "t.yaml:5: models.x.tpm: '1000000000001' is out of range (0..1000000000000)" },
		{ ALIAS("provider: a, max_attempts: 0"),
		  "t.yaml:5: models.x.max_attempts: '0' is out of range (1..16)" },
		{ ALIAS("provider: a, max_attempts: 1"), NULL },
		{ ALIAS("provider: a, max_attempts: 16"), NULL },
		{ ALIAS("provider: a, max_attempts: 17"),
		  "t.yaml:5: models.x.max_attempts: '17' is out of range (1..16)" },
		{ ALIAS(TWO ", max_attempts: 17"),
		  "t.yaml:5: models.x.max_attempts: '17' is out of range (1..16)" },
		{ ALIAS(TWO ", hedge_after: 0"),
		  "t.yaml:5: models.x.hedge_after: '0' must be whole milliseconds in 1ms..10m" },
		{ ALIAS(TWO ", hedge_after: 999us"),
		  "t.yaml:5: models.x.hedge_after: '999us' must be whole milliseconds in 1ms..10m" },
		{ ALIAS(TWO ", hedge_after: 1ms"), NULL },
		{ ALIAS(TWO ", hedge_after: 1001us"),
		  "t.yaml:5: models.x.hedge_after: '1001us' must be whole milliseconds in 1ms..10m" },
		{ ALIAS(TWO ", hedge_after: 10m"), NULL },
		{ ALIAS(TWO ", hedge_after: 600001ms"),
		  "t.yaml:5: models.x.hedge_after: '600001ms' must be whole milliseconds in 1ms..10m" },
	};

	cfgt_expect_outcomes(cases, N(cases));
}

Test(config_models, the_last_bounds_load_as_written)
{
	struct cfg c;

	cfgt_load_ok(ALIAS("hedge_after: 10m, max_attempts: 16, targets: [{provider: a, "
			   "weight: 1000000, max_concurrent: 1000000, rpm: 100000000, "
			   "tpm: 1000000000000}, {provider: b}]"), &c);
	const struct cfg_target *t = &c.models[0].targets[0];
	cr_assert_eq(t->weight, 1000000);
	cr_assert_eq(c.deployments[0].max_concurrent, 1000000);
	cr_assert_eq(c.deployments[0].rpm, 100000000);
	cr_assert_eq(c.deployments[0].tpm, 1000000000000ull);
	cr_assert_eq(c.models[0].hedge_after_ms, 600000);
	cr_assert_eq(c.models[0].max_attempts, 16);
	cfgt_dump_fixed_point(&c);
	cfg_free(&c);
}

Test(config_models, most_targets)
{
	char yaml[4096];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), PROVS "models:\n  x:\n    targets:\n");
	struct cfg c;

	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "      - {provider: a, model: m%d}\n", i);
	cfgt_load_ok(yaml, &c);
	cr_assert_eq(c.models[0].n_targets, 16);
	cr_assert_eq(c.n_deployments, 16);
	cfg_free(&c);
	snprintf(yaml + n, sizeof(yaml) - n, "      - {provider: a, model: m16}\n");
	cfgt_expect_error(yaml, "t.yaml:6: models.x.targets: 17 targets; at most 16");
}

/* ---- shapes --------------------------------------------------------------------------- */

Test(config_models, targets_shapes)
{
	static const struct cfgt_case cases[] = {
		{ ALIAS("targets: {provider: a}"), "t.yaml:5: models.x.targets: must be a list of "
		  "targets (- {provider: NAME, model: MODEL})" },
		{ ALIAS("targets: 3"), "t.yaml:5: models.x.targets: must be a list of targets "
		  "(- {provider: NAME, model: MODEL})" },
		{ ALIAS("targets: ~"), "t.yaml:5: models.x.targets: must be a list of targets "
		  "(- {provider: NAME, model: MODEL})" },
		{ ALIAS("targets: []"), "t.yaml:5: models.x.targets: needs at least one target" },
		{ PROVS "models:\n  x:\n    targets:\n      - a\n",
		  "t.yaml:7: models.x.targets[0]: expected a mapping, found a single value" },
		{ ALIAS("targets: [{provider: a}, [b]]"),
		  "t.yaml:5: models.x.targets[1]: expected a mapping, found a list" },
		{ ALIAS("targets: [~]"), "t.yaml:5: models.x.targets[0]: expected a mapping, found nothing" },
		{ ALIAS("targets: [{}]"), "t.yaml:5: models.x.targets[0]: missing key 'provider'" },
		{ PROVS "models:\n  x:\n    targets:\n      - {model: q}\n",
		  "t.yaml:7: models.x.targets[0]: missing key 'provider'" },
		{ ALIAS("targets: [{provider: a, weigth: 2}]"),
		  "t.yaml:5: models.x.targets[0]: unknown key 'weigth' (did you mean 'weight'?)" },
		{ ALIAS("targets: [{provider: a, strategy: weighted}]"),
		  "t.yaml:5: models.x.targets[0]: unknown key 'strategy' (known: provider, model, "
		  "weight, max_concurrent, rpm, tpm)" },
		{ ALIAS("provider: a, weight: 2"), "t.yaml:5: models.x: unknown key 'weight' (known: "
		  "provider, model, max_concurrent, rpm, tpm, max_attempts, strategy, targets, "
		  "hedge_after)" },
		{ ALIAS("targets: [{provider: [a]}]"),
		  "t.yaml:5: models.x.targets[0].provider: expected a single value, found a list" },
		{ ALIAS("targets: [{provider: a, weight: [1]}]"),
		  "t.yaml:5: models.x.targets[0].weight: expected a single value, found a list" },
		{ ALIAS("targets: [{provider: a, rpm: {n: 1}}]"),
		  "t.yaml:5: models.x.targets[0].rpm: expected a single value, found a mapping" },
		{ ALIAS("targets: [{provider: a, model: ''}]"),
		  "t.yaml:5: models.x.targets[0].model: name is empty" },
		{ ALIAS("provider: a, strategy: [weighted]"),
		  "t.yaml:5: models.x.strategy: expected a single value, found a list" },
		{ ALIAS("provider: a, max_attempts: three"),
		  "t.yaml:5: models.x.max_attempts: 'three' is not a number" },
		{ ALIAS("provider: a, targets: [{provider: b}]"),
		  "t.yaml:5: models.x.provider: not with 'targets': give provider, model and limits "
		  "in each target" },
		{ PROVS "models:\n  x:\n    targets: [{provider: b}]\n    model: q\n",
		  "t.yaml:7: models.x.model: not with 'targets': give provider, model and limits in "
		  "each target" },
		/* A limit of 0 says "no limit", but it is still at the wrong place. */
		{ PROVS "models:\n  x:\n    targets: [{provider: b}]\n    rpm: 0\n",
		  "t.yaml:7: models.x.rpm: not with 'targets': give provider, model and limits in "
		  "each target" },
		{ PROVS "models:\n  x: a\n", "t.yaml:5: models.x: expected a mapping, found a single value" },
		/* Hostile values get a plain message. */
		{ PROVS "models:\n  x:\n    targets: [{provider: a, weight: 99999999999999999999999}]\n",
		  "t.yaml:6: models.x.targets[0].weight: '99999999999999999999999' is too large" },
		{ PROVS "models:\n  x:\n    targets: [{provider: a, tpm: -1}]\n",
		  "t.yaml:6: models.x.targets[0].tpm: '-1' must not be negative" },
		{ PROVS "models:\n  x:\n    targets: [*nowhere]\n",
		  "t.yaml:6: models.x.targets[0]: alias '*nowhere' does not resolve (no such anchor, "
		  "or a loop)" },
		{ PROVS "models:\n  x:\n    targets: [{provider: a, model: \"q\\tr\"}]\n",
		  "t.yaml:6: models.x.targets[0].model: name 'q\\x09r' contains a control character" },
	};

	cfgt_expect_errors(cases, N(cases));
}

/* ---- providers, deployments, limits ------------------------------------------------------- */

Test(config_models, unknown_provider_is_reported_at_its_own_line)
{
	static const struct cfgt_case cases[] = {
		{ PROVS "models:\n  x:\n    targets:\n      - model: q\n        weight: 2\n"
		  "        provider: nope\n",
		  "t.yaml:9: models.x.targets[0].provider: no provider named 'nope'" },
		{ PROVS "models:\n  x:\n    targets:\n      - {provider: a}\n      - {provider: nope}\n",
		  "t.yaml:8: models.x.targets[1].provider: no provider named 'nope'" },
		/* One target written on the alias's own line is still a target. */
		{ ALIAS("targets: [{provider: nope}]"),
		  "t.yaml:5: models.x.targets[0].provider: no provider named 'nope'" },
		{ ALIAS("provider: nope"), "t.yaml:5: models.x.provider: no provider named 'nope'" },
		{ PROVS "models:\n  x:\n    model: q\n\n    provider:\n      nope\n",
		  "t.yaml:9: models.x.provider: no provider named 'nope'" },
	};

	cfgt_expect_errors(cases, N(cases));
}

Test(config_models, duplicate_targets)
{
	static const struct cfgt_case cases[] = {
		{ PROVS "models:\n  x:\n    targets:\n      - {provider: a, model: q}\n"
		  "      - {provider: a, model: q}\n",
		  "t.yaml:8: models.x.targets[1]: duplicate target: a/q is targets[0] already" },
		/* The model defaults to the alias: the same deployment again. */
		{ ALIAS("targets: [{provider: b}, {provider: a}, {provider: a, model: x}]"),
		  "t.yaml:5: models.x.targets[2]: duplicate target: a/x is targets[1] already" },
	};
	struct cfg c;

	cfgt_expect_errors(cases, N(cases));
	/* Same model on two providers, two models on one provider: all distinct. */
	cfgt_load_ok(ALIAS("targets: [{provider: a, model: q}, {provider: b, model: q}, "
			   "{provider: a, model: r}]"), &c);
	cr_assert_eq(c.n_deployments, 3);
	cfg_free(&c);
}

static const char shared[] =
	PROVS
	"models:\n"
	"  x:\n"
	"    provider: a\n"
	"    model: q\n"
	"    rpm: 500\n"
	"  y:\n"
	"    strategy: weighted\n"
	"    targets:\n"
	"      - {provider: b, model: q}\n"
	"      - provider: a\n"
	"        model: q\n"
	"        rpm: %s\n"
	"        tpm: 7\n"
	"  z: {targets: [{provider: b, model: q, max_concurrent: 4}, {provider: a, model: z}]}\n";

Test(config_models, one_deployment_shared_by_aliases)
{
	char yaml[sizeof(shared) + 16];
	struct cfg c;

	snprintf(yaml, sizeof(yaml), shared, "500");
	cfgt_load_ok(yaml, &c);
	const struct cfg_model *x = &c.models[0], *y = &c.models[1], *z = &c.models[2];
	/* a/q, b/q, a/z: in the order first seen. */
	cr_assert_eq(c.n_deployments, 3);
	cr_assert_eq(x->targets[0].deployment, 0);
	cr_assert_eq(y->targets[1].deployment, 0);
	cr_assert_eq(y->targets[0].deployment, 1);
	cr_assert_eq(z->targets[0].deployment, 1);
	cr_assert_eq(z->targets[1].deployment, 2);
	cr_assert_eq(c.deployments[0].line, 5, "the first target naming it");
	cr_assert_eq(c.deployments[1].line, 12);
	/* Each limit is given once, or twice the same: they all join. */
	cr_assert_eq(c.deployments[0].rpm, 500);
	cr_assert_eq(c.deployments[0].tpm, 7);
	cr_assert_eq(c.deployments[0].max_concurrent, 0);
	cr_assert_eq(c.deployments[1].max_concurrent, 4);
	cr_assert_eq(c.deployments[1].rpm, 0);
	/* A target keeps what it said itself. */
	cr_assert_eq(y->targets[0].max_concurrent, 0);
	cfgt_dump_fixed_point(&c);
	cfg_free(&c);
}

Test(config_models, conflicting_limits_name_both_lines)
{
	char yaml[sizeof(shared) + 16];

	snprintf(yaml, sizeof(yaml), shared, "600");
	cfgt_expect_error(yaml, "t.yaml:15: models.y.targets[1].rpm: conflicts with 500 given at "
			  "line 8 for deployment a/q");
	static const struct cfgt_case cases[] = {
		{ PROVS "models:\n  x: {provider: a, model: q, rpm: 5}\n  y:\n    targets:\n"
		  "      - {provider: a, model: q, rpm: 6}\n",
		  "t.yaml:8: models.y.targets[0].rpm: conflicts with 5 given at line 5 for "
		  "deployment a/q" },
		/* The simple form second: the path has no targets[]. */
		{ PROVS "models:\n  y: {targets: [{provider: b, model: q, tpm: 10}]}\n  x:\n"
		  "    provider: b\n    model: q\n    tpm: 11\n",
		  "t.yaml:9: models.x.tpm: conflicts with 10 given at line 5 for deployment b/q" },
		{ PROVS "models:\n  x: {provider: a, max_concurrent: 2}\n"
		  "  y: {targets: [{provider: b}, {provider: a, model: x, max_concurrent: 3}]}\n",
		  "t.yaml:6: models.y.targets[1].max_concurrent: conflicts with 2 given at line 5 "
		  "for deployment a/x" },
	};
	cfgt_expect_errors(cases, N(cases));
}

/* ---- strategy, attempts, hedging ------------------------------------------------------------ */

Test(config_models, strategies)
{
	static const struct { const char *name; enum cfg_strategy s; } names[] = {
		{ "fallback", CFG_STRAT_FALLBACK }, { "weighted", CFG_STRAT_WEIGHTED },
		{ "round_robin", CFG_STRAT_ROUND_ROBIN }, { "least_latency", CFG_STRAT_LEAST_LATENCY },
	};
	static const struct cfgt_case cases[] = {
		{ ALIAS(TWO ", strategy: random"), "t.yaml:5: models.x.strategy: unknown strategy "
		  "'random' (known: fallback, weighted, round_robin, least_latency)" },
		{ ALIAS(TWO ", strategy: round-robin"), "t.yaml:5: models.x.strategy: unknown "
		  "strategy 'round-robin' (did you mean 'round_robin'?)" },
		{ ALIAS(TWO ", strategy: Weighted"), "t.yaml:5: models.x.strategy: unknown strategy "
		  "'Weighted' (did you mean 'weighted'?)" },
		{ ALIAS(TWO ", strategy: ''"), "t.yaml:5: models.x.strategy: unknown strategy '' "
		  "(known: fallback, weighted, round_robin, least_latency)" },
		{ ALIAS(TWO ", strategy:"), "t.yaml:5: models.x.strategy: missing value" },
	};
	char yaml[256];
	struct cfg c;

	for (size_t i = 0; i < N(names); i++) {
		snprintf(yaml, sizeof(yaml), ALIAS(TWO ", strategy: %s"), names[i].name);
		cfgt_load_ok(yaml, &c);
		cr_assert_eq(c.models[0].strategy, names[i].s, "%s", names[i].name);
		cfgt_round_trip(&c);
		cfg_free(&c);
	}
	cfgt_expect_errors(cases, N(cases));
}

Test(config_models, hedge_after)
{
	static const struct { const char *v; uint32_t ms; int p95; } forms[] = {
		{ "p95", 0, 1 }, { "1500ms", 1500, 0 }, { "2s", 2000, 0 }, { "250", 250, 0 },
		{ "3000us", 3, 0 }, { "1m", 60000, 0 },
	};
	static const struct cfgt_case cases[] = {
		{ ALIAS(TWO ", hedge_after: p99"),
		  "t.yaml:5: models.x.hedge_after: 'p99' is not a number (or p95)" },
		{ ALIAS(TWO ", hedge_after: P95"),
		  "t.yaml:5: models.x.hedge_after: 'P95' is not a number (or p95)" },
		{ ALIAS(TWO ", hedge_after: -1s"),
		  "t.yaml:5: models.x.hedge_after: '-1s' must not be negative (or p95)" },
		{ ALIAS(TWO ", hedge_after: [1s]"),
		  "t.yaml:5: models.x.hedge_after: expected a single value, found a list" },
		{ ALIAS(TWO ", hedge_after: ~"), "t.yaml:5: models.x.hedge_after: missing value" },
		{ PROVS "models:\n  x:\n    provider: a\n    hedge_after: 1s\n",
		  "t.yaml:7: models.x.hedge_after: hedging needs at least two targets" },
		{ PROVS "models:\n  x:\n    hedge_after: p95\n    targets: [{provider: a}]\n",
		  "t.yaml:6: models.x.hedge_after: hedging needs at least two targets" },
	};
	char yaml[256];
	struct cfg c;

	for (size_t i = 0; i < N(forms); i++) {
		snprintf(yaml, sizeof(yaml), ALIAS(TWO ", hedge_after: %s"), forms[i].v);
		cfgt_load_ok(yaml, &c);
		cr_assert_eq(c.models[0].hedge_after_ms, forms[i].ms, "%s", forms[i].v);
		cr_assert_eq(c.models[0].hedge_p95, forms[i].p95, "%s", forms[i].v);
		cfgt_round_trip(&c);
		cfg_free(&c);
	}
	cfgt_expect_errors(cases, N(cases));
}

/* ---- dump ------------------------------------------------------------------------------------ */

static const char every_key[] =
	PROVS
	"models:\n"
	"  s: {provider: a, model: m1, max_concurrent: 2, rpm: 60, tpm: 1000, max_attempts: 2}\n"
	"  w:\n"
	"    strategy: weighted\n"
	"    hedge_after: p95\n"
	"    targets:\n"
	"      - {provider: a, model: m1, weight: 3}\n"
	"      - {provider: b, weight: 5, max_concurrent: 1, rpm: 7, tpm: 9}\n"
	"  rr: {strategy: round_robin, targets: [{provider: b, model: m1}]}\n"
	"  heavy: {targets: [{provider: b, model: m3, weight: 4}]}\n"
	"  ll:\n"
	"    strategy: least_latency\n"
	"    hedge_after: 1500ms\n"
	"    max_attempts: 16\n"
	"    targets: [{provider: b, model: m3}, {provider: a, model: \"x: y\"}]\n"
	"resilience:\n"
	"  retry: {max_attempts: 4, backoff_base: 10ms, backoff_cap: 1s, min_time_left: 0,"
	" retry_on: [connect, http_5xx, internal]}\n"
	"  retry_budget: {percent: 50, min_retries: 1, window: 30s}\n"
	"  breaker: {window: 8, min_calls: 4, failure_rate: 60, slow_call: 2s, slow_call_rate: 0,"
	" open_wait: 1s, open_max: 8s, probes: 3}\n"
	"  rate_limit: {on_limit: reject, max_queue: 9}\n"
	"tenants: {root: {rpm: 10}}\n";

Test(config_models, dump_writes_every_key_and_loads_back_equal)
{
	struct cfg c;
	char *text;

	cfgt_load_ok(every_key, &c);
	cr_assert_eq(c.n_deployments, 5, "a/m1 b/w b/m1 b/m3 a/\"x: y\"");
	cr_assert_eq(c.models[0].max_attempts, 2);
	cr_assert_eq(c.models[1].max_attempts, 4, "resilience.retry.max_attempts");
	text = cfgt_dump(&c);
	/* One target, weight 1, the default strategy: the simple form. */
	cr_assert(strstr(text, "  \"s\":\n    strategy: fallback\n    max_attempts: 2\n"
			 "    provider: \"a\"\n    model: \"m1\"\n    max_concurrent: 2\n    rpm: 60\n"
			 "    tpm: 1000\n"), "%s", text);
	/* One target, but a strategy or a weight the simple form cannot say. */
	cr_assert(strstr(text, "  \"rr\":\n    strategy: round_robin\n    max_attempts: 4\n"
			 "    targets:\n      - {provider: \"b\", model: \"m1\", weight: 1}\n"), "%s", text);
	cr_assert(strstr(text, "    targets:\n      - {provider: \"b\", model: \"m3\", weight: 4}\n"),
		  "%s", text);
	cr_assert(strstr(text, "  \"w\":\n    strategy: weighted\n    max_attempts: 4\n"
			 "    hedge_after: p95\n    targets:\n"
			 "      - {provider: \"a\", model: \"m1\", weight: 3}\n"
			 "      - {provider: \"b\", model: \"w\", weight: 5, max_concurrent: 1, rpm: 7, "
			 "tpm: 9}\n"), "%s", text);
	cr_assert(strstr(text, "    hedge_after: 1500ms\n"), "%s", text);
	cr_assert(strstr(text, "    retry_on: [connect, http_5xx, internal]\n"), "%s", text);
	free(text);
	cfgt_dump_fixed_point(&c);
	cfg_free(&c);
}

/* ---- hostile input -------------------------------------------------------------------------- */

Test(config_models, hostile_shapes_fail_cleanly)
{
	static const char *const yamls[] = {
		PROVS "models:\n  x:\n    targets: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		PROVS "models:\n  x:\n    targets: [{provider: {a: {b: {c: {d: {e: [[[[[[]]]]]]}}}}}}]\n",
		PROVS "models:\n  x:\n    targets: [{provider: [a]}]\n",
		PROVS "models:\n  x:\n    targets: [{provider: a, weight: 99999999999999999999999}]\n",
		PROVS "models:\n  x:\n    targets: [{provider: a, rpm: 18446744073709551616}]\n",
		PROVS "models:\n  x:\n    targets: [{provider: a, tpm: -1}, {provider: b, tpm: 1e3}]\n",
		PROVS "models:\n  x:\n    targets: &t [{provider: a}, *t]\n",
		PROVS "models:\n  x:\n    targets: [*nowhere]\n",
		PROVS "models:\n  x:\n    targets: *nowhere\n",
		PROVS "models:\n  x: {targets: [~]}\n",
		PROVS "models:\n  x: {targets: [{provider: a}], strategy: [weighted]}\n",
		PROVS "models:\n  x: {targets: [{provider: a}, {provider: b}], hedge_after: {p: 95}}\n",
		PROVS "models:\n  x: {targets: [{provider: a}], targets: [{provider: b}]}\n",
		PROVS "models:\n  x: &x {targets: [{provider: a}, {provider: b}]}\n  y: *x\n",
		PROVS "models:\n  x: {targets: [{? [a] : b}]}\n",
		PROVS "models:\n  x: {targets: [{provider: a, model: \"q\\u0000r\"}]}\n",
		PROVS "models:\n  x: {targets: [{provider: a, model: \"q\\tr\"}]}\n",
		PROVS "models: &m\n  x: {targets: [{provider: a}]}\n  y: *m\n",
	};

	for (size_t i = 0; i < N(yamls); i++)
		cfgt_survive(yamls[i], strlen(yamls[i]));
}

Test(config_models, a_huge_value_is_cut_in_the_message)
{
	static const char head[] = PROVS "models:\n  x: {" TWO ", strategy: ";
	char *big = malloc(sizeof(head) + 250000 + 2);

	/* A huge strategy value is cut in the message and not compared at length. */
	cr_assert_not_null(big);
	memcpy(big, head, sizeof(head) - 1);
	memset(big + sizeof(head) - 1, 'w', 250000);
	strcpy(big + sizeof(head) - 1 + 250000, "}\n");
	cfgt_expect_error(big, "t.yaml:5: models.x.strategy: unknown strategy "
			  "'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' (known: fallback, weighted, "
			  "round_robin, least_latency)");
	free(big);
}
