/*
 * test_retry_budget.c — the per-deployment retry budget
 * (sidecar/retry_budget.c) against an injected clock: the minimum
 * allowance with no traffic, the percentage of requests, requests and
 * retries leaving the window second by second, long idle gaps, a clock
 * that steps back, and the counters.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "retry_budget.h"

#define S(x) ((uint64_t)(x) * 1000000000ull)
#define MS(x) ((uint64_t)(x) * 1000000ull)

/* Somewhere far from 0, so that nothing depends on the clock's origin. */
#define T0 S(1000000)

static void tr_init(struct rbud *b)
{
	struct rbud_config c = rbud_config_default();
	cr_assert_eq(rbud_init(b, &c), 0);
}

static void tr_requests(struct rbud *b, uint64_t now, int n)
{
	for (int i = 0; i < n; i++)
		rbud_on_request(b, now);
}

/* How many retries are granted in a row at now. */
static int tr_drain(struct rbud *b, uint64_t now)
{
	int n = 0;
	while (rbud_try_retry(b, now))
		cr_assert_lt(++n, 100000);
	return n;
}

Test(retry_budget, defaults_and_bad_configs)
{
	struct rbud_config c = rbud_config_default();
	const char *field = "x";
	cr_assert_eq(rbud_config_check(&c, &field), 0);
	cr_assert_null(field);
	cr_assert_eq(c.percent, 20);
	cr_assert_eq(c.window_s, 10);
	cr_assert_eq(c.min_retries, 3);

	struct rbud b;
	struct rbud_config bad = c;
	bad.window_s = 0;
	cr_assert_eq(rbud_config_check(&bad, &field), -EINVAL);
	cr_assert_str_eq(field, "window");
	bad.window_s = RBUD_WINDOW_MAX_S + 1;
	cr_assert_eq(rbud_init(&b, &bad), -EINVAL);
	bad = c;
	bad.percent = 1001;
	cr_assert_eq(rbud_config_check(&bad, &field), -EINVAL);
	cr_assert_str_eq(field, "percent");
}

Test(retry_budget, a_quiet_deployment_still_gets_the_minimum)
{
	struct rbud b;
	tr_init(&b);
	cr_assert_eq(rbud_available(&b, T0), 3);
	cr_assert_eq(tr_drain(&b, T0), 3);
	cr_assert_eq(rbud_available(&b, T0), 0);
	/* A few requests do not lift it: 20% of 10 is 2, under 3. */
	tr_requests(&b, T0, 10);
	cr_assert_not(rbud_try_retry(&b, T0));
	cr_assert_eq(b.stats.retries, 3);
	cr_assert_eq(b.stats.denied, 2);
}

Test(retry_budget, retries_are_a_percentage_of_requests)
{
	struct rbud b;
	tr_init(&b);
	tr_requests(&b, T0, 100);
	cr_assert_eq(tr_drain(&b, T0), 20);
	/* Every 5 more requests buy one more retry. */
	tr_requests(&b, T0, 4);
	cr_assert_not(rbud_try_retry(&b, T0));
	tr_requests(&b, T0, 1);
	cr_assert(rbud_try_retry(&b, T0));
	cr_assert_not(rbud_try_retry(&b, T0));

	struct rbud_config c = rbud_config_default();
	c.percent = 50;
	c.min_retries = 0;
	cr_assert_eq(rbud_init(&b, &c), 0);
	cr_assert_not(rbud_try_retry(&b, T0), "no minimum, no requests: nothing");
	tr_requests(&b, T0, 7);
	cr_assert_eq(tr_drain(&b, T0), 3, "50%% of 7, rounded down");

	c.percent = 0;
	cr_assert_eq(rbud_init(&b, &c), 0);
	tr_requests(&b, T0, 1000);
	cr_assert_eq(tr_drain(&b, T0), 0, "retries off");
}

Test(retry_budget, requests_and_retries_leave_the_window)
{
	struct rbud b;
	tr_init(&b);
	tr_requests(&b, T0, 100);
	cr_assert_eq(tr_drain(&b, T0), 20);
	/* The window is this second and the 9 before it: still full at
	 * T0 + 9.999 s. */
	cr_assert_not(rbud_try_retry(&b, T0 + S(9) + MS(999)));
	cr_assert_eq(b.req_sum, 100);
	/* At T0 + 10 s second T0 has left: back to the minimum. */
	cr_assert_eq(rbud_available(&b, T0 + S(10)), 3);
	cr_assert_eq(b.req_sum, 0);
	cr_assert_eq(b.ret_sum, 0);
	cr_assert_eq(tr_drain(&b, T0 + S(10)), 3);
}

Test(retry_budget, the_window_slides_second_by_second)
{
	struct rbud b;
	tr_init(&b);
	/* 10 requests a second for 10 s: 100 in the window, 20 retries. */
	for (int s = 0; s < 10; s++)
		tr_requests(&b, T0 + S(s) + MS(500), 10);
	cr_assert_eq(b.req_sum, 100);
	/* Spend 2 retries a second over the same 10 s. */
	struct rbud fresh;
	tr_init(&fresh);
	for (int s = 0; s < 10; s++) {
		tr_requests(&fresh, T0 + S(s), 10);
		cr_assert(rbud_try_retry(&fresh, T0 + S(s)));
		cr_assert(rbud_try_retry(&fresh, T0 + S(s)));
	}
	cr_assert_eq(fresh.ret_sum, 20);
	cr_assert_not(rbud_try_retry(&fresh, T0 + S(9)));
	/* Each new second drops one second of requests (10) and retries
	 * (2) and adds the new second's: steady state, 2 retries a second. */
	for (int s = 10; s < 30; s++) {
		tr_requests(&fresh, T0 + S(s), 10);
		cr_assert_eq(fresh.req_sum, 100, "second %d", s);
		cr_assert_eq(tr_drain(&fresh, T0 + S(s)), 2, "second %d", s);
	}
	/* Traffic stops: requests age out, the allowance falls to the
	 * minimum once they are gone. */
	cr_assert_eq(rbud_available(&fresh, T0 + S(35)), 0, "40 req, 20%%: 8, 10 used");
	cr_assert_eq(fresh.req_sum, 40);
	cr_assert_eq(fresh.ret_sum, 8);
	cr_assert_eq(rbud_available(&fresh, T0 + S(39)), 3);
}

Test(retry_budget, long_gaps_and_a_clock_stepping_back)
{
	struct rbud b;
	tr_init(&b);
	tr_requests(&b, T0, 50);
	cr_assert_eq(tr_drain(&b, T0), 10);
	/* Hours later nothing is left, and clearing costs one window. */
	cr_assert_eq(rbud_available(&b, T0 + S(7200)), 3);
	cr_assert_eq(b.req_sum, 0);
	tr_requests(&b, T0 + S(7200), 50);
	/* An earlier time counts as the newest second: sums stay exact. */
	cr_assert_eq(tr_drain(&b, T0 + S(7000)), 10);
	cr_assert_eq(b.req_sum, 50);
	cr_assert_eq(b.ret_sum, 10);
	cr_assert_eq(rbud_available(&b, T0 + S(7210)), 3);
	cr_assert_eq(b.req_sum, 0);
	cr_assert_eq(b.ret_sum, 0);
	/* The counters keep everything since init. */
	cr_assert_eq(b.stats.requests, 100);
	cr_assert_eq(b.stats.retries, 20);
	cr_assert_eq(b.stats.denied, 2);
}

Test(retry_budget, a_one_second_window)
{
	struct rbud b;
	struct rbud_config c = { .percent = 100, .min_retries = 1, .window_s = 1 };
	cr_assert_eq(rbud_init(&b, &c), 0);
	tr_requests(&b, T0, 5);
	cr_assert_eq(tr_drain(&b, T0 + MS(999)), 5);
	cr_assert_eq(tr_drain(&b, T0 + S(1)), 1, "next second: the minimum");
}
