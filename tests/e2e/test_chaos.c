/*
 * test_chaos.c — many clients against an alias of two deployments, one of
 * which fails 30% of its requests with a mix of faults (mockllm's chaos
 * knob: 500, 503, 429 with retry-after-ms, overloaded, resets before and
 * after the headers, a malformed first event, an in-stream error). Every
 * request must end with exactly one DONE or ERROR, every DONE must carry
 * its whole text, and at least 99.9% must succeed. The figures (requests,
 * retries, fallbacks, breaker openings, first-chunk p99 with and without
 * faults) are printed for the note; no assertion is on time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "harness_mockllm.h"

TestSuite(chaos, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

#define CX_CLIENTS 8
#define CX_FLAKY "flaky@chaos=30,seed=11,itl_us=500"
#define CX_FLAKY_STAT(counter) counter "{deployment=\"p1/" CX_FLAKY "\"}"
#define CX_PER_CLIENT 250

struct cx_client {
	const struct h_sidecar *sc;
	const char *alias;
	int idx;
	/* results */
	unsigned done, errors, bad_text, bad_order, rc_fail;
	unsigned lat_n;
	uint64_t lat_us[CX_PER_CLIENT];
	char first_error[256];
};

static uint64_t cx_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One client: its own connection, requests one after another, each with a
 * prompt of its own so a reply mixed up with another's shows. Never
 * asserts (a thread). */
static void *cx_run(void *arg)
{
	struct cx_client *k = arg;
	rs_client *c;
	if (rs_connect(k->sc->sock, &c) != RS_OK) {
		k->rc_fail = CX_PER_CLIENT;
		return NULL;
	}
	for (int i = 0; i < CX_PER_CLIENT; i++) {
		char prompt[96];
		snprintf(prompt, sizeof prompt, "client %d request %d says hello", k->idx, i);
		char *body = h_body(prompt, 1, -1, -1, -1, -1);
		struct rs_request rq = { .model = k->alias, .body = body, .body_len = strlen(body) };
		uint64_t id, t0 = cx_now_us();
		int rc = rs_submit(c, &rq, &id);
		free(body);
		if (rc) {
			k->rc_fail++;
			continue;
		}
		char text[256];
		size_t tl = 0;
		int ended = 0, started = 0, got_first = 0;
		while (!ended) {
			struct rs_event ev;
			rc = rs_next(c, &ev, H_EVENT_MS);
			if (rc) {
				k->rc_fail++;
				break;
			}
			if (ev.stream != id) {
				k->bad_order++;
				continue;
			}
			switch (ev.type) {
			case RS_EV_START:
				if (started++)
					k->bad_order++;
				break;
			case RS_EV_DELTA:
				if (!started)
					k->bad_order++;
				if (!got_first) {
					got_first = 1;
					k->lat_us[k->lat_n++] = cx_now_us() - t0;
				}
				if (tl + ev.text_len < sizeof text) {
					memcpy(text + tl, ev.text, ev.text_len);
					tl += ev.text_len;
				}
				break;
			case RS_EV_DONE:
				ended = 1;
				k->done++;
				text[tl] = 0;
				if (strcmp(text, prompt))
					k->bad_text++;
				break;
			case RS_EV_ERROR:
				ended = 1;
				k->errors++;
				if (!k->first_error[0])
					snprintf(k->first_error, sizeof k->first_error, "%s: %.*s",
						 rs_errcode_name(ev.error.code), (int)ev.text_len, ev.text);
				break;
			default:
				break;
			}
		}
		if (rc)
			break;
	}
	rs_close(c);
	return NULL;
}

static int cx_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct cx_result {
	unsigned requests, done, errors, bad_text, bad_order, rc_fail;
	uint64_t p50_us, p99_us;
	char first_error[256];
};

static void cx_load(const struct h_sidecar *sc, const char *alias, struct cx_result *r)
{
	static struct cx_client k[CX_CLIENTS];
	pthread_t th[CX_CLIENTS];
	memset(k, 0, sizeof k);
	memset(r, 0, sizeof *r);
	for (int i = 0; i < CX_CLIENTS; i++) {
		k[i] = (struct cx_client){ .sc = sc, .alias = alias, .idx = i };
		cr_assert_eq(pthread_create(&th[i], NULL, cx_run, &k[i]), 0);
	}
	static uint64_t all[CX_CLIENTS * CX_PER_CLIENT];
	size_t n = 0;
	for (int i = 0; i < CX_CLIENTS; i++) {
		pthread_join(th[i], NULL);
		r->requests += CX_PER_CLIENT;
		r->done += k[i].done;
		r->errors += k[i].errors;
		r->bad_text += k[i].bad_text;
		r->bad_order += k[i].bad_order;
		r->rc_fail += k[i].rc_fail;
		if (!r->first_error[0] && k[i].first_error[0])
			memcpy(r->first_error, k[i].first_error, sizeof r->first_error);
		memcpy(all + n, k[i].lat_us, k[i].lat_n * sizeof all[0]);
		n += k[i].lat_n;
	}
	qsort(all, n, sizeof all[0], cx_cmp);
	if (n) {
		r->p50_us = all[(n - 1) / 2];
		r->p99_us = all[(n * 99 + 99) / 100 - 1];
	}
}

Test(chaos, test_chaos_run_every_request_ends_once_and_999_per_mille_succeed)
{
	struct h_ml ml;
	struct h_sidecar sc;
	h_ml_start(&ml);
	char yaml[2048];
	snprintf(yaml, sizeof yaml,
		 "log: {level: warn}\n"
		 "providers:\n"
		 "  p1: {kind: openai, base_url: \"http://127.0.0.1:%d/v1\"}\n"
		 "models:\n"
		 "  calm: {provider: p1, model: \"steady@itl_us=500\"}\n"
		 "  cx:\n"
		 "    targets:\n"
		 "      - {provider: p1, model: \"" CX_FLAKY "\"}\n"
		 "      - {provider: p1, model: \"steady@itl_us=500\"}\n"
		 "resilience:\n"
		 "  retry: {backoff_base: 5ms, backoff_cap: 50ms}\n"
		 /* A wider window than the default, so that 30% failures trip
		  * it only on a bad run of luck, and short open waits: the run
		  * lasts seconds, and a breaker open through most of it would
		  * keep the faults away from the router. */
		 "  breaker: {window: 40, min_calls: 20, open_wait: 10ms, open_max: 50ms}\n",
		 ml.port);
	h_start_yaml(&sc, yaml);

	struct cx_result calm, cx;
	cx_load(&sc, "calm", &calm);
	uint64_t ml_chaos0 = h_ml_stat(&ml, "chaos");
	cx_load(&sc, "cx", &cx);
	uint64_t faults = h_ml_stat(&ml, "chaos") - ml_chaos0;

	fprintf(stderr,
		"chaos: %u requests, %u DONE, %u ERROR (%s); upstream faults %llu; "
		"flaky attempts %llu, failed %llu; retries %llu, fallbacks %llu, breaker openings %llu; "
		"first chunk p50/p99 %llu/%llu us with faults, %llu/%llu us without\n",
		cx.requests, cx.done, cx.errors, cx.first_error[0] ? cx.first_error : "-",
		(unsigned long long)faults, (unsigned long long)h_stat(&sc, CX_FLAKY_STAT("deployment_attempts")),
		(unsigned long long)h_stat(&sc, CX_FLAKY_STAT("deployment_failures")),
		(unsigned long long)h_stat(&sc, "route_retries"),
		(unsigned long long)h_stat(&sc, "route_fallbacks"),
		(unsigned long long)h_stat(&sc, CX_FLAKY_STAT("deployment_breaker_opened")),
		(unsigned long long)cx.p50_us, (unsigned long long)cx.p99_us,
		(unsigned long long)calm.p50_us, (unsigned long long)calm.p99_us);

	cr_assert_eq(calm.done, calm.requests, "without faults every request succeeds: %s",
		     calm.first_error);
	cr_assert_eq(cx.rc_fail, 0, "a client call failed");
	cr_assert_eq(cx.done + cx.errors, cx.requests, "a request did not end exactly once");
	cr_assert_eq(cx.bad_order, 0, "events out of order or on a foreign stream");
	cr_assert_eq(cx.bad_text, 0, "%u DONE replies were not intact", cx.bad_text);
	/* Retry-After cooldowns and the breaker keep much of the traffic off
	 * the flaky deployment (that is their job); enough still reaches it
	 * for every kind of fault to be served around many times. */
	cr_assert(faults >= cx.requests / 50, "the flaky deployment injected only %llu faults",
		  (unsigned long long)faults);
	cr_assert(cx.done * 1000ull >= cx.requests * 999ull, "success %u of %u: first error %s",
		  cx.done, cx.requests, cx.first_error);
	h_stop(&sc);
	h_ml_stop(&ml);
}
