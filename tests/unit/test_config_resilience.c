/*
 * test_config_resilience.c — the `resilience:` section: defaults (the
 * modules' own), every key and its bounds, the checks across keys (on the
 * line of the key they are about), retry_on's names, the dump, and
 * hostile shapes; and tenants, whose limits resilience.rate_limit enforces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "backoff.h"
#include "breaker.h"
#include "cfg_test_util.h"
#include "config.h"
#include "errclass.h"
#include "retry_budget.h"

/* One section in flow form on line 1. */
#define RES(sect, body) "resilience: {" sect ": {" body "}}\n" CFGT_TAIL

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define BIT(c) (1u << (c))

/* ---- defaults ---------------------------------------------------------------------- */

Test(config_resilience, defaults_are_the_documented_and_the_modules_own)
{
	struct cfg c;

	cfgt_load_ok(CFGT_TAIL, &c);
	const struct cfg_resilience *r = &c.resilience;
	/* As config.h documents them (the struct has no padding: all 32-bit). */
	const struct cfg_resilience doc = {
		.retry = { .max_attempts = 3, .backoff_base_ms = 500, .backoff_cap_ms = 8000,
			   .min_time_left_ms = 200, .retry_on = r->retry.retry_on },
		.budget = { .percent = 20, .min_retries = 3, .window_s = 10 },
		.breaker = { .window = 20, .min_calls = 10, .failure_pct = 50, .slow_pct = 80,
			     .probes = 2, .slow_call_ms = 30000, .open_wait_ms = 5000,
			     .open_max_ms = 60000 },
		.rate_limit = { .reject = 0, .max_queue = 1024 },
	};
	cr_assert_eq(memcmp(r, &doc, sizeof(doc)), 0);
	/* And as the modules have them. */
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
	/* Every transient class, none of the refused ones. */
	cr_assert(r->retry.retry_on & BIT(EC_CONNECT));
	cr_assert(r->retry.retry_on & BIT(EC_TRUNCATED));
	cr_assert_eq(r->retry.retry_on & (BIT(EC_REJECTED) | BIT(EC_CANCELLED) | BIT(EC_INTERNAL)), 0);
	cr_assert_eq(c.models[0].max_attempts, 3);
	cfg_free(&c);
}

Test(config_resilience, empty_sections_keep_the_defaults)
{
	struct cfg c, d;

	cfgt_load_ok(CFGT_TAIL, &d);
	cfgt_load_ok("resilience:\n" CFGT_TAIL, &c);
	cr_assert_eq(memcmp(&c.resilience, &d.resilience, sizeof(c.resilience)), 0);
	cfg_free(&c);
	cfgt_load_ok("resilience: {retry: ~, retry_budget: {}, breaker:, rate_limit: ~}\n"
		     CFGT_TAIL, &c);
	cr_assert_eq(memcmp(&c.resilience, &d.resilience, sizeof(c.resilience)), 0);
	cfg_free(&c);
	cfg_free(&d);
}

/* ---- every key ---------------------------------------------------------------------------- */

static const char every_key[] =
	"resilience:\n"
	"  retry:\n"
	"    max_attempts: 5\n"
	"    backoff_base: 20ms\n"
	"    backoff_cap: 2s\n"
	"    min_time_left: 0\n"
	"    retry_on: [http_429, connect, internal, connect]\n"
	"  retry_budget:\n"
	"    percent: 0\n"
	"    min_retries: 7\n"
	"    window: 1m\n"
	"  breaker:\n"
	"    window: 40\n"
	"    min_calls: 40\n"
	"    failure_rate: 0\n"
	"    slow_call: 1500ms\n"
	"    slow_call_rate: 100\n"
	"    open_wait: 250ms\n"
	"    open_max: 250ms\n"
	"    probes: 16\n"
	"  rate_limit:\n"
	"    on_limit: reject\n"
	"    max_queue: 1\n"
	CFGT_TAIL;

Test(config_resilience, every_key_is_read)
{
	struct cfg c;

	cfgt_load_ok(every_key, &c);
	const struct cfg_resilience *r = &c.resilience;
	cr_assert_eq(r->retry.max_attempts, 5);
	cr_assert_eq(r->retry.backoff_base_ms, 20);
	cr_assert_eq(r->retry.backoff_cap_ms, 2000);
	cr_assert_eq(r->retry.min_time_left_ms, 0);
	cr_assert_eq(r->retry.retry_on, BIT(EC_HTTP_429) | BIT(EC_CONNECT) | BIT(EC_INTERNAL),
		     "a name given twice counts once");
	cr_assert_eq(r->budget.percent, 0);
	cr_assert_eq(r->budget.min_retries, 7);
	cr_assert_eq(r->budget.window_s, 60);
	cr_assert_eq(r->breaker.window, 40);
	cr_assert_eq(r->breaker.min_calls, 40);
	cr_assert_eq(r->breaker.failure_pct, 0);
	cr_assert_eq(r->breaker.slow_call_ms, 1500);
	cr_assert_eq(r->breaker.slow_pct, 100);
	cr_assert_eq(r->breaker.open_wait_ms, 250);
	cr_assert_eq(r->breaker.open_max_ms, 250);
	cr_assert_eq(r->breaker.probes, 16);
	cr_assert_eq(r->rate_limit.reject, 1);
	cr_assert_eq(r->rate_limit.max_queue, 1);
	cr_assert_eq(c.models[0].max_attempts, 5, "the alias's default");
	cfgt_dump_fixed_point(&c);
	cfg_free(&c);
}

Test(config_resilience, dump_writes_the_whole_section)
{
	struct cfg c;
	char *text;

	cfgt_load_ok(every_key, &c);
	text = cfgt_dump(&c);
	cr_assert(strstr(text, "resilience:\n"
			 "  retry:\n"
			 "    max_attempts: 5\n"
			 "    backoff_base: 20ms\n"
			 "    backoff_cap: 2s\n"
			 "    min_time_left: 0us\n"
			 "    retry_on: [connect, http_429, internal]\n"
			 "  retry_budget:\n"
			 "    percent: 0\n"
			 "    min_retries: 7\n"
			 "    window: 1m\n"
			 "  breaker:\n"
			 "    window: 40\n"
			 "    min_calls: 40\n"
			 "    failure_rate: 0\n"
			 "    slow_call: 1500ms\n"
			 "    slow_call_rate: 100\n"
			 "    open_wait: 250ms\n"
			 "    open_max: 250ms\n"
			 "    probes: 16\n"
			 "  rate_limit:\n"
			 "    on_limit: reject\n"
			 "    max_queue: 1\n"), "%s", text);
	free(text);
	cfg_free(&c);
	/* The defaults, and retrying nothing, dump and load back too. */
	cfgt_load_ok(CFGT_TAIL, &c);
	cfgt_dump_fixed_point(&c);
	cfg_free(&c);
	cfgt_load_ok(RES("retry", "retry_on: []"), &c);
	text = cfgt_dump(&c);
	cr_assert(strstr(text, "    retry_on: []\n"), "%s", text);
	free(text);
	cfgt_dump_fixed_point(&c);
	cfg_free(&c);
}

/* ---- bounds ------------------------------------------------------------------------------------ */

Test(config_resilience, retry_bounds)
{
	static const struct cfgt_case cases[] = {
		{ RES("retry", "max_attempts: 0"),
		  "t.yaml:1: resilience.retry.max_attempts: '0' is out of range (1..16)" },
		{ RES("retry", "max_attempts: 1"), NULL },
		{ RES("retry", "max_attempts: 16"), NULL },
		{ RES("retry", "max_attempts: 17"),
		  "t.yaml:1: resilience.retry.max_attempts: '17' is out of range (1..16)" },
		{ RES("retry", "backoff_base: 0"),
		  "t.yaml:1: resilience.retry.backoff_base: '0' is out of range (1ms..1h)" },
		{ RES("retry", "backoff_base: 1ms"), NULL },
		{ RES("retry", "backoff_base: 1h, backoff_cap: 1h"), NULL },
		{ RES("retry", "backoff_base: 3600001ms, backoff_cap: 1h"),
		  "t.yaml:1: resilience.retry.backoff_base: '3600001ms' is out of range (1ms..1h)" },
		{ RES("retry", "backoff_base: 1500us"), "t.yaml:1: resilience.retry.backoff_base: "
		  "'1500us' is not a whole number of milliseconds" },
		{ RES("retry", "backoff_cap: 0"),
		  "t.yaml:1: resilience.retry.backoff_cap: '0' is out of range (1ms..1h)" },
		{ RES("retry", "backoff_base: 1ms, backoff_cap: 1ms"), NULL },
		{ RES("retry", "backoff_cap: 1h"), NULL },
		{ RES("retry", "backoff_cap: 3600001ms"),
		  "t.yaml:1: resilience.retry.backoff_cap: '3600001ms' is out of range (1ms..1h)" },
		{ RES("retry", "min_time_left: 0"), NULL },
		{ RES("retry", "min_time_left: 1h"), NULL },
		{ RES("retry", "min_time_left: 3600001ms"),
		  "t.yaml:1: resilience.retry.min_time_left: '3600001ms' is out of range (0us..1h)" },
	};

	cfgt_expect_outcomes(cases, N(cases));
}

Test(config_resilience, retry_budget_bounds)
{
	static const struct cfgt_case cases[] = {
		{ RES("retry_budget", "percent: 0"), NULL },
		{ RES("retry_budget", "percent: 1000"), NULL },
		{ RES("retry_budget", "percent: 1001"),
		  "t.yaml:1: resilience.retry_budget.percent: '1001' is out of range (0..1000)" },
		{ RES("retry_budget", "min_retries: 0"), NULL },
		{ RES("retry_budget", "min_retries: 1000000"), NULL },
		{ RES("retry_budget", "min_retries: 1000001"), "t.yaml:1: "
		  "resilience.retry_budget.min_retries: '1000001' is out of range (0..1000000)" },
		{ RES("retry_budget", "window: 0s"),
		  "t.yaml:1: resilience.retry_budget.window: '0s' is out of range (1s..1m)" },
		{ RES("retry_budget", "window: 1s"), NULL },
		{ RES("retry_budget", "window: 1000"), NULL },
		{ RES("retry_budget", "window: 60s"), NULL },
		{ RES("retry_budget", "window: 61s"),
		  "t.yaml:1: resilience.retry_budget.window: '61s' is out of range (1s..1m)" },
		{ RES("retry_budget", "window: 1500ms"), "t.yaml:1: resilience.retry_budget.window: "
		  "'1500ms' is not a whole number of seconds" },
		{ RES("retry_budget", "window: 500"), "t.yaml:1: resilience.retry_budget.window: "
		  "'500' is not a whole number of seconds" },
		{ RES("retry_budget", "window: 10sec"), "t.yaml:1: resilience.retry_budget.window: "
		  "'10sec' has an unknown unit (use us, ms, s, m, h)" },
	};

	cfgt_expect_outcomes(cases, N(cases));
}

Test(config_resilience, breaker_bounds)
{
	static const struct cfgt_case cases[] = {
		{ RES("breaker", "window: 0"),
		  "t.yaml:1: resilience.breaker.window: '0' is out of range (1..256)" },
		{ RES("breaker", "window: 1, min_calls: 1"), NULL },
		{ RES("breaker", "window: 256"), NULL },
		{ RES("breaker", "window: 257"),
		  "t.yaml:1: resilience.breaker.window: '257' is out of range (1..256)" },
		{ RES("breaker", "min_calls: 0"),
		  "t.yaml:1: resilience.breaker.min_calls: '0' is out of range (1..256)" },
		{ RES("breaker", "min_calls: 1"), NULL },
		{ RES("breaker", "window: 256, min_calls: 256"), NULL },
		{ RES("breaker", "window: 256, min_calls: 257"),
		  "t.yaml:1: resilience.breaker.min_calls: '257' is out of range (1..256)" },
		{ RES("breaker", "failure_rate: 0"), NULL },
		{ RES("breaker", "failure_rate: 100"), NULL },
		{ RES("breaker", "failure_rate: 101"),
		  "t.yaml:1: resilience.breaker.failure_rate: '101' is out of range (0..100)" },
		{ RES("breaker", "slow_call: 0"),
		  "t.yaml:1: resilience.breaker.slow_call: '0' is out of range (1ms..1h)" },
		{ RES("breaker", "slow_call: 1ms"), NULL },
		{ RES("breaker", "slow_call: 1h"), NULL },
		{ RES("breaker", "slow_call: 3600001ms"),
		  "t.yaml:1: resilience.breaker.slow_call: '3600001ms' is out of range (1ms..1h)" },
		{ RES("breaker", "slow_call_rate: 0"), NULL },
		{ RES("breaker", "slow_call_rate: 100"), NULL },
		{ RES("breaker", "slow_call_rate: 101"),
		  "t.yaml:1: resilience.breaker.slow_call_rate: '101' is out of range (0..100)" },
		{ RES("breaker", "open_wait: 0"),
		  "t.yaml:1: resilience.breaker.open_wait: '0' is out of range (1ms..1h)" },
		{ RES("breaker", "open_wait: 1ms"), NULL },
		{ RES("breaker", "open_wait: 1m"), NULL },
		{ RES("breaker", "open_wait: 1h, open_max: 1h"), NULL },
		{ RES("breaker", "open_max: 0"),
		  "t.yaml:1: resilience.breaker.open_max: '0' is out of range (1ms..1h)" },
		{ RES("breaker", "open_wait: 1ms, open_max: 1ms"), NULL },
		{ RES("breaker", "open_max: 3600001ms"),
		  "t.yaml:1: resilience.breaker.open_max: '3600001ms' is out of range (1ms..1h)" },
		{ RES("breaker", "probes: 0"),
		  "t.yaml:1: resilience.breaker.probes: '0' is out of range (1..16)" },
		{ RES("breaker", "probes: 1"), NULL },
		{ RES("breaker", "probes: 16"), NULL },
		{ RES("breaker", "probes: 17"),
		  "t.yaml:1: resilience.breaker.probes: '17' is out of range (1..16)" },
	};

	cfgt_expect_outcomes(cases, N(cases));
}

Test(config_resilience, rate_limit_bounds)
{
	static const struct cfgt_case cases[] = {
		{ RES("rate_limit", "on_limit: wait"), NULL },
		{ RES("rate_limit", "on_limit: reject"), NULL },
		{ RES("rate_limit", "on_limit: drop"),
		  "t.yaml:1: resilience.rate_limit.on_limit: 'drop' is not wait or reject" },
		{ RES("rate_limit", "on_limit: Wait"),
		  "t.yaml:1: resilience.rate_limit.on_limit: 'Wait' is not wait or reject" },
		{ RES("rate_limit", "on_limit: [wait]"),
		  "t.yaml:1: resilience.rate_limit.on_limit: expected a single value, found a list" },
		{ RES("rate_limit", "max_queue: 0"),
		  "t.yaml:1: resilience.rate_limit.max_queue: '0' is out of range (1..1000000)" },
		{ RES("rate_limit", "max_queue: 1"), NULL },
		{ RES("rate_limit", "max_queue: 1000000"), NULL },
		{ RES("rate_limit", "max_queue: 1000001"),
		  "t.yaml:1: resilience.rate_limit.max_queue: '1000001' is out of range (1..1000000)" },
	};

	cfgt_expect_outcomes(cases, N(cases));
}

/* ---- checks across keys --------------------------------------------------------------------- */

Test(config_resilience, ordered_pairs_are_reported_on_the_key_at_fault)
{
	static const struct cfgt_case cases[] = {
		{ "resilience:\n  breaker:\n    window: 5\n    min_calls: 6\n" CFGT_TAIL,
		  "t.yaml:4: resilience.breaker.min_calls: 6 is more than window (5)" },
		/* Only window given: it broke min_calls' default. */
		{ "resilience:\n  breaker:\n    probes: 2\n    window: 5\n" CFGT_TAIL,
		  "t.yaml:4: resilience.breaker.window: 5 is less than min_calls (10, the default)" },
		{ "resilience:\n  breaker:\n    min_calls: 30\n" CFGT_TAIL,
		  "t.yaml:3: resilience.breaker.min_calls: 30 is more than window (20, the default)" },
		{ "resilience:\n  breaker:\n    open_wait: 10s\n    open_max: 5s\n" CFGT_TAIL,
		  "t.yaml:4: resilience.breaker.open_max: 5s is less than open_wait (10s)" },
		{ "resilience:\n  breaker:\n    open_wait: 2m\n" CFGT_TAIL,
		  "t.yaml:3: resilience.breaker.open_wait: 2m is more than open_max (1m, the default)" },
		{ "resilience:\n  breaker:\n    open_max: 1s\n" CFGT_TAIL,
		  "t.yaml:3: resilience.breaker.open_max: 1s is less than open_wait (5s, the default)" },
		{ "resilience:\n  retry:\n    backoff_cap: 1s\n    backoff_base: 2s\n" CFGT_TAIL,
		  "t.yaml:3: resilience.retry.backoff_cap: 1s is less than backoff_base (2s)" },
		{ "resilience:\n  retry:\n    backoff_base: 10s\n" CFGT_TAIL,
		  "t.yaml:3: resilience.retry.backoff_base: 10s is more than backoff_cap (8s, the "
		  "default)" },
		{ "resilience:\n  retry:\n    backoff_cap: 100ms\n" CFGT_TAIL,
		  "t.yaml:3: resilience.retry.backoff_cap: 100ms is less than backoff_base (500ms, "
		  "the default)" },
		/* The value on the line after its key is where it is written. */
		{ "resilience:\n  breaker:\n    window: 5\n    min_calls:\n      6\n" CFGT_TAIL,
		  "t.yaml:5: resilience.breaker.min_calls: 6 is more than window (5)" },
	};

	cfgt_expect_errors(cases, N(cases));
}

/* ---- retry_on ------------------------------------------------------------------------------------- */

Test(config_resilience, retry_on_names)
{
	static const struct cfgt_case cases[] = {
		{ RES("retry", "retry_on: [connect, conect]"), "t.yaml:1: resilience.retry.retry_on[1]: "
		  "unknown error class 'conect' (did you mean 'connect'?)" },
		/* As near to http_408 as to http_5xx: no guess. */
		{ RES("retry", "retry_on: [http_500]"), "t.yaml:1: resilience.retry.retry_on[0]: "
		  "unknown error class 'http_500' (known: connect, tls, network, timeout_first_chunk, "
		  "timeout_idle, timeout_total, http_408, http_409, http_429, http_5xx, overloaded, "
		  "malformed, truncated, rejected, cancelled, internal)" },
		{ RES("retry", "retry_on: [rejected]"), "t.yaml:1: resilience.retry.retry_on[0]: "
		  "'rejected' is never retried: the same request would be refused again, or nobody "
		  "waits for it" },
		{ "resilience:\n  retry:\n    retry_on:\n      - connect\n      - cancelled\n" CFGT_TAIL,
		  "t.yaml:5: resilience.retry.retry_on[1]: 'cancelled' is never retried: the same "
		  "request would be refused again, or nobody waits for it" },
		{ RES("retry", "retry_on: connect"), "t.yaml:1: resilience.retry.retry_on: must be a "
		  "list of error classes, e.g. [connect, http_5xx, http_429]" },
		{ RES("retry", "retry_on: ~"), "t.yaml:1: resilience.retry.retry_on: must be a list "
		  "of error classes, e.g. [connect, http_5xx, http_429]" },
		{ RES("retry", "retry_on: {connect: true}"), "t.yaml:1: resilience.retry.retry_on: "
		  "must be a list of error classes, e.g. [connect, http_5xx, http_429]" },
		{ RES("retry", "retry_on: [[connect]]"), "t.yaml:1: resilience.retry.retry_on[0]: "
		  "expected a single value, found a list" },
		{ RES("retry", "retry_on: [~]"), "t.yaml:1: resilience.retry.retry_on[0]: missing value" },
		{ RES("retry", "retry_on: [\"connect\\u0000\"]"), "t.yaml:1: "
		  "resilience.retry.retry_on[0]: unknown error class 'connect\\x00' (did you mean "
		  "'connect'?)" },
		{ RES("retry", "retry_on: [CONNECT]"), "t.yaml:1: resilience.retry.retry_on[0]: "
		  "unknown error class 'CONNECT' (known: connect, tls, network, timeout_first_chunk, "
		  "timeout_idle, timeout_total, http_408, http_409, http_429, http_5xx, overloaded, "
		  "malformed, truncated, rejected, cancelled, internal)" },
	};
	struct cfg c;

	cfgt_expect_errors(cases, N(cases));
	cfgt_load_ok(RES("retry", "retry_on: []"), &c);
	cr_assert_eq(c.resilience.retry.retry_on, 0, "[] retries nothing");
	cfg_free(&c);
	cfgt_load_ok(RES("retry", "retry_on: [internal, http_408, http_408]"), &c);
	cr_assert_eq(c.resilience.retry.retry_on, BIT(EC_INTERNAL) | BIT(EC_HTTP_408));
	cfg_free(&c);
}

/* ---- shapes and unknown keys ------------------------------------------------------------------------ */

Test(config_resilience, shapes_and_unknown_keys)
{
	static const struct cfgt_case cases[] = {
		{ "resilience: [retry]\n" CFGT_TAIL,
		  "t.yaml:1: resilience: expected a mapping, found a list" },
		{ "resilience: {retry: []}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.retry: expected a mapping, found a list" },
		{ "resilience: {breaker: 5}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.breaker: expected a mapping, found a single value" },
		{ "resilience: {rate_limit: [wait]}\n" CFGT_TAIL,
		  "t.yaml:1: resilience.rate_limit: expected a mapping, found a list" },
		{ "resilience: {breakr: {}}\n" CFGT_TAIL,
		  "t.yaml:1: resilience: unknown key 'breakr' (did you mean 'breaker'?)" },
		{ "resilience: {retries: {}}\n" CFGT_TAIL, "t.yaml:1: resilience: unknown key "
		  "'retries' (known: retry, retry_budget, breaker, rate_limit)" },
		{ RES("retry", "max_attempt: 2"), "t.yaml:1: resilience.retry: unknown key "
		  "'max_attempt' (did you mean 'max_attempts'?)" },
		{ RES("retry_budget", "percentage: 5"), "t.yaml:1: resilience.retry_budget: unknown "
		  "key 'percentage' (known: percent, min_retries, window)" },
		{ RES("breaker", "failure_pct: 5"), "t.yaml:1: resilience.breaker: unknown key "
		  "'failure_pct' (known: window, min_calls, failure_rate, slow_call, slow_call_rate, "
		  "open_wait, open_max, probes)" },
		{ RES("rate_limit", "on_limits: wait"), "t.yaml:1: resilience.rate_limit: unknown key "
		  "'on_limits' (did you mean 'on_limit'?)" },
		{ RES("breaker", "window: [5]"),
		  "t.yaml:1: resilience.breaker.window: expected a single value, found a list" },
		{ RES("retry", "backoff_base: {ms: 5}"),
		  "t.yaml:1: resilience.retry.backoff_base: expected a single value, found a mapping" },
		{ RES("retry_budget", "window: [10s]"),
		  "t.yaml:1: resilience.retry_budget.window: expected a single value, found a list" },
		{ RES("retry_budget", "window:"), "t.yaml:1: resilience.retry_budget.window: missing value" },
	};

	cfgt_expect_errors(cases, N(cases));
}

Test(config_resilience, hostile_values)
{
	static const struct cfgt_case cases[] = {
		{ RES("breaker", "window: 99999999999999999999999"),
		  "t.yaml:1: resilience.breaker.window: '99999999999999999999999' is too large" },
		{ RES("retry", "backoff_cap: 18446744073709551615s"),
		  "t.yaml:1: resilience.retry.backoff_cap: '18446744073709551615s' is too large" },
		{ RES("retry_budget", "window: 18446744073709551615m"),
		  "t.yaml:1: resilience.retry_budget.window: '18446744073709551615m' is too large" },
		{ RES("rate_limit", "max_queue: -1"),
		  "t.yaml:1: resilience.rate_limit.max_queue: '-1' must not be negative" },
	};
	static const char *const yamls[] = {
		"resilience: {retry: {retry_on: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}\n" CFGT_TAIL,
		"resilience: {retry: {retry_on: &r [connect, *r]}}\n" CFGT_TAIL,
		"resilience: {retry: {retry_on: *nowhere}}\n" CFGT_TAIL,
		"resilience: &r {retry: *r}\n" CFGT_TAIL,
		"resilience: {breaker: {window: &w 5, min_calls: *w}}\n" CFGT_TAIL,
		"resilience: {breaker: {? [window] : 5}}\n" CFGT_TAIL,
		"resilience: {retry: {retry_on: [\"\\u0001\\u0002\"]}}\n" CFGT_TAIL,
		"resilience: {retry: ~, retry: {max_attempts: 2}}\n" CFGT_TAIL,
		"resilience: {breaker: {open_wait: 1h, open_max: 3600000ms, slow_call: 3600000ms}}\n"
		CFGT_TAIL,
	};
	char *big = malloc(300000);
	size_t n;

	cfgt_expect_errors(cases, N(cases));
	for (size_t i = 0; i < N(yamls); i++)
		cfgt_survive(yamls[i], strlen(yamls[i]));
	/* A huge class name: cut in the message, never copied or compared whole. */
	cr_assert_not_null(big);
	n = (size_t)sprintf(big, "resilience: {retry: {retry_on: [");
	memset(big + n, 'c', 250000);
	strcpy(big + n + 250000, "]}}\n" CFGT_TAIL);
	cfgt_expect_error(big, "t.yaml:1: resilience.retry.retry_on[0]: unknown error class "
			  "'cccccccccccccccccccccccccccccccccccccccc...' (known: connect, tls, network, "
			  "timeout_first_chunk, timeout_idle, timeout_total, http_408, http_409, "
			  "http_429, http_5xx, overloaded, malformed, truncated, rejected, cancelled, "
			  "internal)");
	free(big);
}

/* ---- tenants: the per-user side of rate limiting ----------------------------------------------- */

Test(config_resilience, tenants)
{
	struct cfg c;

	cfgt_load_ok("tenants:\n  root: {rpm: 10}\n  \"4242\": {max_concurrent: 2, tpm: 5000}\n"
		     "  \"*\": {max_concurrent: 9}\n" CFGT_TAIL, &c);
	cr_assert_eq(c.n_tenants, 3);
	cr_assert_eq(cfg_find_tenant(&c, 0)->rpm, 10, "root is uid 0");
	cr_assert_eq(cfg_find_tenant(&c, 4242)->tpm, 5000, "a number that is no user is a uid");
	cr_assert(cfg_find_tenant(&c, 777)->any, "everybody else is \"*\"");
	cfgt_round_trip(&c);
	cfg_free(&c);
	cfgt_load_ok(CFGT_TAIL, &c);
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
	cfgt_expect_errors(cases, N(cases));
}
