/*
 * test_resilience.c — the router against real mockllm processes: fallback
 * on 5xx, a 429's Retry-After cooling a deployment for every client, the
 * circuit breaker's whole cycle against a provider that is down and comes
 * back, no retry after the first DELTA, hedging, and rate limits. Every
 * assertion is on what the client saw (START's deployment and attempt,
 * DONE / ERROR with their attempt counts) and on what the upstream saw
 * (mockllm's counters); none on how long anything took.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness_mockllm.h"

TestSuite(resilience, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

/* Backoff short enough that retries do not slow the suite. */
#define RZ_FAST_RETRY "  retry: {backoff_base: 5ms, backoff_cap: 20ms}\n"

/* What one stream showed the client. */
struct rz_out {
	unsigned n_start, n_delta, n_other, n_done, n_error;
	int order_bad;               /* an event before START, or after the end */
	char provider[64], model[192];
	uint32_t attempt;            /* START's */
	char text[4096];
	size_t text_len;
	uint32_t attempts;           /* DONE's or ERROR's */
	int code, status, retryable;
	uint32_t retry_after_ms;
	char msg[256];
};

static void rz_copy(char *dst, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = 0;
}

/* Submit the standard prompt (deadline_ms 0: the sidecar's default) and
 * read to the stream's end. RS_OK or the failing call's code; never asserts
 * (a forked client may use it). */
static int rz_run_deadline(rs_client *c, const char *alias, uint32_t deadline_ms, struct rz_out *o)
{
	memset(o, 0, sizeof *o);
	char *body = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
	struct rs_request rq = { .model = alias, .body = body, .body_len = strlen(body),
				 .deadline_ms = deadline_ms };
	uint64_t id;
	int rc = rs_submit(c, &rq, &id);
	free(body);
	if (rc)
		return rc;
	for (;;) {
		struct rs_event ev;
		rc = rs_next(c, &ev, H_EVENT_MS);
		if (rc)
			return rc;
		if (ev.stream != id) {
			o->order_bad = 1;
			continue;
		}
		if (o->n_done + o->n_error)
			o->order_bad = 1;
		switch (ev.type) {
		case RS_EV_START:
			if (o->n_start++ || o->n_delta)
				o->order_bad = 1;
			rz_copy(o->provider, sizeof o->provider, ev.start.provider, ev.start.provider_len);
			rz_copy(o->model, sizeof o->model, ev.start.model, ev.start.model_len);
			o->attempt = ev.start.attempt;
			break;
		case RS_EV_DELTA:
			if (!o->n_start)
				o->order_bad = 1;
			o->n_delta++;
			if (o->text_len + ev.text_len < sizeof o->text) {
				memcpy(o->text + o->text_len, ev.text, ev.text_len);
				o->text_len += ev.text_len;
				o->text[o->text_len] = 0;
			}
			break;
		case RS_EV_DONE:
			o->n_done++;
			o->attempts = ev.done.attempts;
			rz_copy(o->msg, sizeof o->msg, ev.text, ev.text_len);
			return RS_OK;
		case RS_EV_ERROR:
			o->n_error++;
			o->attempts = ev.error.attempts;
			o->code = ev.error.code;
			o->status = ev.error.http_status;
			o->retryable = ev.error.retryable;
			o->retry_after_ms = ev.error.retry_after_ms;
			rz_copy(o->msg, sizeof o->msg, ev.text, ev.text_len);
			return RS_OK;
		default:
			o->n_other++;
			break;
		}
	}
}

static void rz_run(rs_client *c, const char *alias, struct rz_out *o)
{
	int rc = rz_run_deadline(c, alias, 0, o);
	cr_assert(rc == RS_OK, "%s: %s", alias, rs_strerror(rc));
	cr_assert(!o->order_bad, "%s: events out of order", alias);
}

/* The stream ended with DONE, served by provider/model at attempt
 * `attempt`, after `attempts` attempts in all, with the whole echo. */
static void rz_assert_served(const struct rz_out *o, const char *provider, const char *model,
			     uint32_t attempt, uint32_t attempts)
{
	cr_assert(o->n_done == 1, "not DONE: error %d '%s'", o->code, o->msg);
	cr_assert(o->n_start == 1, "%u START", o->n_start);
	cr_assert_str_eq(o->provider, provider);
	cr_assert_str_eq(o->model, model);
	cr_assert(o->attempt == attempt, "served by attempt %u, not %u", o->attempt, attempt);
	cr_assert(o->attempts == attempts, "DONE says %u attempts, not %u", o->attempts, attempts);
	cr_assert_str_eq(o->text, H_ML_PROMPT);
}

/* A config: providers p1 (and p2 when port2 > 0, both OpenAI-shaped) on
 * mockllm ports, then the models and resilience text as given. */
static void rz_sidecar(struct h_sidecar *sc, int port1, int port2, const char *models,
		       const char *resilience)
{
	char yaml[8192], p2[160] = "";
	if (port2 > 0)
		snprintf(p2, sizeof p2, "  p2: {kind: openai, base_url: \"http://127.0.0.1:%d/v1\"}\n",
			 port2);
	int w = snprintf(yaml, sizeof yaml,
			 "log: {level: info}\n"
			 "providers:\n"
			 "  p1: {kind: openai, base_url: \"http://127.0.0.1:%d/v1\"}\n"
			 "%s"
			 "models:\n%s"
			 "resilience:\n%s",
			 port1, p2, models, resilience ? resilience : RZ_FAST_RETRY);
	cr_assert(w > 0 && (size_t)w < sizeof yaml);
	h_start_yaml(sc, yaml);
}

static uint64_t rz_dep_stat(const struct h_sidecar *sc, const char *counter, const char *dep)
{
	char key[256];
	snprintf(key, sizeof key, "%s{deployment=\"%s\"}", counter, dep);
	return h_stat(sc, key);
}

/* ---- fallback and retries ------------------------------------------------------------- */

Test(resilience, test_500s_fall_back_to_the_second_deployment)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0,
		   "  fb:\n"
		   "    targets:\n"
		   "      - {provider: p1, model: \"bad@status=500\"}\n"
		   "      - {provider: p1, model: good}\n", NULL);
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	rz_run(c, "fb", &o);
	rz_assert_served(&o, "p1", "good", 2, 2);
	cr_assert_eq(h_ml_stat(&ml, "status"), 1, "the failing deployment was asked once");
	cr_assert_eq(h_stat(&sc, "route_fallbacks"), 1);
	cr_assert_eq(rz_dep_stat(&sc, "deployment_failures", "p1/bad@status=500"), 1);
	cr_assert_eq(rz_dep_stat(&sc, "deployment_successes", "p1/good"), 1);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

Test(resilience, test_a_400_is_not_retried)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0,
		   "  r4:\n"
		   "    targets:\n"
		   "      - {provider: p1, model: \"bad@status=400\"}\n"
		   "      - {provider: p1, model: good}\n", NULL);
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	rz_run(c, "r4", &o);
	cr_assert(o.n_error == 1 && o.n_start == 0, "a refused request must end at once");
	cr_assert_eq(o.status, 400);
	cr_assert_eq(o.attempts, 1);
	cr_assert_eq(h_ml_stat(&ml, "status"), 1);
	cr_assert_eq(h_stat(&sc, "route_attempts"), 1);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

Test(resilience, test_a_stream_cut_after_its_first_delta_is_not_retried)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0,
		   "  cut:\n"
		   "    targets:\n"
		   "      - {provider: p1, model: \"m@tokens=5,reset_after=2\"}\n"
		   "      - {provider: p1, model: good}\n", NULL);
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	rz_run(c, "cut", &o);
	cr_assert(o.n_start == 1 && o.n_delta >= 1, "the first chunks reached the client");
	cr_assert_str_eq(o.model, "m@tokens=5,reset_after=2");
	cr_assert(o.n_error == 1, "a cut stream ends with ERROR, not a retry");
	cr_assert_eq(o.code, RS_ERR_TRUNCATED, "code %d: %s", o.code, o.msg);
	cr_assert_eq(o.attempts, 1);
	cr_assert_eq(h_stat(&sc, "route_attempts"), 1, "nothing was retried");
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

/* ---- Retry-After ---------------------------------------------------------------------- */

Test(resilience, test_a_429s_retry_after_cools_the_deployment_for_every_client)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0,
		   "  rl:\n"
		   "    targets:\n"
		   "      - {provider: p1, model: \"busy@status=429,retry_after=30\"}\n"
		   "      - {provider: p1, model: good}\n", NULL);
	rs_client *a = h_connect(&sc), *b = h_connect(&sc);
	struct rz_out o;
	rz_run(a, "rl", &o);
	rz_assert_served(&o, "p1", "good", 2, 2);
	/* Another client, another connection: the first deployment is not
	 * asked again while its Retry-After runs. */
	rz_run(b, "rl", &o);
	rz_assert_served(&o, "p1", "good", 1, 1);
	rz_run(a, "rl", &o);
	rz_assert_served(&o, "p1", "good", 1, 1);
	cr_assert_eq(h_ml_stat(&ml, "status"), 1, "the 429ing deployment was asked again");
	const char *busy = "p1/busy@status=429,retry_after=30";
	cr_assert_eq(rz_dep_stat(&sc, "deployment_cooldowns", busy), 1);
	char key[256];
	snprintf(key, sizeof key, "deployment_state{deployment=\"%s\",state=\"open\"}", busy);
	cr_assert_eq(h_stat(&sc, key), 1);
	rs_close(a);
	rs_close(b);
	h_stop(&sc);
	h_ml_stop(&ml);
}

Test(resilience, test_a_lone_429ing_deployment_fails_at_once_saying_when)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0, "  solo: {provider: p1, model: \"busy@status=429,retry_after=30\"}\n",
		   NULL);
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	/* 30 s of Retry-After do not fit a 5 s deadline: no waiting. */
	cr_assert_eq(rz_run_deadline(c, "solo", 5000, &o), RS_OK);
	cr_assert(o.n_error == 1, "expected ERROR");
	cr_assert_eq(o.code, RS_ERR_RATE_LIMITED, "code %d: %s", o.code, o.msg);
	cr_assert_eq(o.attempts, 1);
	cr_assert(o.retry_after_ms > 20000 && o.retry_after_ms <= 30000, "retry_after_ms %u",
		  o.retry_after_ms);
	/* Again: the sidecar answers for the provider, which is not asked. */
	cr_assert_eq(rz_run_deadline(c, "solo", 5000, &o), RS_OK);
	cr_assert(o.n_error == 1 && o.code == RS_ERR_RATE_LIMITED, "code %d: %s", o.code, o.msg);
	cr_assert_eq(o.attempts, 0);
	cr_assert(o.retry_after_ms > 20000 && o.retry_after_ms <= 30000, "retry_after_ms %u",
		  o.retry_after_ms);
	cr_assert_eq(h_ml_stat(&ml, "status"), 1);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

/* ---- the circuit breaker ---------------------------------------------------------------- */

Test(resilience, test_breaker_opens_skips_probes_and_closes_when_the_provider_is_back)
{
	int port = h_ml_dead_port();
	struct h_ml ml, back;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, port, ml.port,
		   "  br:\n"
		   "    targets:\n"
		   "      - {provider: p1, model: m}\n"
		   "      - {provider: p2, model: good}\n",
		   RZ_FAST_RETRY
		   "  breaker: {window: 4, min_calls: 4, failure_rate: 50, open_wait: 300ms,"
		   " open_max: 1s, probes: 1}\n");
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	/* p1 refuses connections: each request falls back to p2. */
	for (int i = 0; i < 4; i++) {
		rz_run(c, "br", &o);
		rz_assert_served(&o, "p2", "good", 2, 2);
	}
	cr_assert_eq(rz_dep_stat(&sc, "deployment_breaker_opened", "p1/m"), 1);
	/* Open: p1 is skipped, not tried. */
	rz_run(c, "br", &o);
	rz_assert_served(&o, "p2", "good", 1, 1);
	cr_assert_eq(rz_dep_stat(&sc, "deployment_attempts", "p1/m"), 4);
	/* The provider comes back on its port; after the open wait the next
	 * request is the probe, and it closes the breaker. */
	h_ml_start_on(&back, port);
	usleep(400 * 1000);
	rz_run(c, "br", &o);
	rz_assert_served(&o, "p1", "m", 1, 1);
	cr_assert_eq(rz_dep_stat(&sc, "deployment_breaker_half_opened", "p1/m"), 1);
	cr_assert_eq(rz_dep_stat(&sc, "deployment_breaker_closed", "p1/m"), 1);
	rz_run(c, "br", &o);
	rz_assert_served(&o, "p1", "m", 1, 1);
	/* Each state change logged once. */
	cr_assert_eq(h_log_count(&sc, "circuit closed -> open"), 1, "%s", h_log_tail(&sc));
	cr_assert_eq(h_log_count(&sc, "circuit open -> half-open"), 1, "%s", h_log_tail(&sc));
	cr_assert_eq(h_log_count(&sc, "circuit half-open -> closed"), 1, "%s", h_log_tail(&sc));
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&back);
	h_ml_stop(&ml);
}

Test(resilience, test_every_deployment_open_fails_at_once_saying_when)
{
	int port = h_ml_dead_port();
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, port, 0,
		   "  down: {provider: p1, model: m, max_attempts: 1}\n",
		   "  breaker: {window: 2, min_calls: 2, failure_rate: 50, open_wait: 30s, open_max: 1m}\n");
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(rz_run_deadline(c, "down", 5000, &o), RS_OK);
		cr_assert(o.n_error == 1 && o.code == RS_ERR_UNAVAILABLE, "code %d: %s", o.code, o.msg);
		cr_assert_eq(o.attempts, 1);
	}
	/* The half-open probe is 30 s away, past the 5 s deadline. */
	cr_assert_eq(rz_run_deadline(c, "down", 5000, &o), RS_OK);
	cr_assert(o.n_error == 1 && o.code == RS_ERR_UNAVAILABLE, "code %d: %s", o.code, o.msg);
	cr_assert_eq(o.attempts, 0);
	cr_assert(o.retry_after_ms > 20000 && o.retry_after_ms <= 30000, "retry_after_ms %u",
		  o.retry_after_ms);
	cr_assert_eq(rz_dep_stat(&sc, "deployment_attempts", "p1/m"), 2);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

/* ---- hedging ------------------------------------------------------------------------------ */

Test(resilience, test_a_hedged_request_is_served_by_the_faster_and_the_slower_is_cancelled)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0,
		   "  hg:\n"
		   "    hedge_after: 50ms\n"
		   "    targets:\n"
		   "      - {provider: p1, model: \"slow@ttft_us=20000000\"}\n"
		   "      - {provider: p1, model: fast}\n", NULL);
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	rz_run(c, "hg", &o);
	rz_assert_served(&o, "p1", "fast", 2, 2);
	cr_assert_eq(h_stat(&sc, "route_hedges"), 1);
	cr_assert_eq(h_stat(&sc, "route_hedge_wins"), 1);
	cr_assert_eq(h_log_count(&sc, "hedging on p1/fast after"), 1, "%s", h_log_tail(&sc));
	/* The loser's upstream request is cut, and mockllm sees it go. */
	h_ml_wait_stat(&ml, "requests_cancelled", 1);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

/* ---- rate limits ---------------------------------------------------------------------------- */

Test(resilience, test_over_rpm_is_rejected_with_when_to_retry)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0, "  lim: {provider: p1, model: m, rpm: 2}\n",
		   RZ_FAST_RETRY "  rate_limit: {on_limit: reject}\n");
	rs_client *c = h_connect(&sc);
	struct rz_out o;
	rz_run(c, "lim", &o);
	rz_assert_served(&o, "p1", "m", 1, 1);
	rz_run(c, "lim", &o);
	rz_assert_served(&o, "p1", "m", 1, 1);
	rz_run(c, "lim", &o);
	cr_assert(o.n_error == 1 && o.code == RS_ERR_RATE_LIMITED, "code %d: %s", o.code, o.msg);
	cr_assert_eq(o.attempts, 0);
	/* rpm 2: one request back every 30 s. */
	cr_assert(o.retry_after_ms > 0 && o.retry_after_ms <= 30000, "retry_after_ms %u",
		  o.retry_after_ms);
	cr_assert_eq(rz_dep_stat(&sc, "deployment_attempts", "p1/m"), 2);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

Test(resilience, test_over_max_concurrent_waits_its_turn)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	rz_sidecar(&sc, ml.port, 0,
		   "  one: {provider: p1, model: \"m@ttft_us=50000\", max_concurrent: 1}\n", NULL);
	rs_client *c = h_connect(&sc);
	char *body = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
	struct h_set set = { 0 };
	for (int i = 0; i < 3; i++)
		h_set_add(&set, h_submit(c, "one", body));
	free(body);
	h_drain(c, &set, H_EVENT_MS);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(set.v[i].n_done, 1, "stream %d: error %d", i, set.v[i].err_code);
		cr_assert_eq(set.v[i].n_out_of_order, 0);
	}
	cr_assert(h_stat(&sc, "route_waits") >= 2, "the second and third waited");
	cr_assert_eq(rz_dep_stat(&sc, "deployment_attempts", "p1/m@ttft_us=50000"), 3);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}

/* ---- tenants ---------------------------------------------------------------------------------- */

Test(resilience, test_a_tenant_over_its_concurrency_is_refused_and_others_go_on)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	char yaml[2048];
	/* This test's user is the tenant: one request at a time. */
	snprintf(yaml, sizeof yaml,
		 "log: {level: info}\n"
		 "providers:\n  p1: {kind: openai, base_url: \"http://127.0.0.1:%d/v1\"}\n"
		 "models:\n  slow: {provider: p1, model: \"m@ttft_us=300000\"}\n"
		 "  fast: {provider: p1, model: m}\n"
		 "resilience: {rate_limit: {on_limit: reject}}\n"
		 "tenants:\n  \"%u\": {max_concurrent: 1}\n",
		 ml.port, (unsigned)getuid());
	h_start_yaml(&sc, yaml);
	rs_client *c = h_connect(&sc);
	char *body = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
	uint64_t first = h_submit(c, "slow", body);
	free(body);
	/* The second request of the same tenant, while the first runs. */
	struct rz_out o;
	cr_assert_eq(rz_run_deadline(c, "fast", 0, &o), RS_OK);
	cr_assert(o.n_error == 1 && o.code == RS_ERR_RATE_LIMITED, "code %d: %s", o.code, o.msg);
	cr_assert(strstr(o.msg, "tenant"), "%s", o.msg);
	cr_assert_eq(o.attempts, 0);
	/* The first one is served whole; then the tenant has room again. */
	struct h_set set = { 0 };
	h_set_add(&set, first);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	cr_assert_eq(set.v[0].n_done, 1);
	h_set_free(&set);
	rz_run(c, "fast", &o);
	rz_assert_served(&o, "p1", "m", 1, 1);
	cr_assert_eq(h_stat(&sc, "route_rejected"), 1);
	rs_close(c);
	h_stop(&sc);
	h_ml_stop(&ml);
}
