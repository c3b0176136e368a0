/*
 * test_backoff.c — the retry schedule and Retry-After parsing
 * (sidecar/backoff.c) against an injected clock and random source: every
 * jittered delay within [0, min(cap, base * 2^attempt)] over many seeds
 * (and the range actually covered), the attempt limit, the deadline
 * budget (jitter drawn from what fits, fixed delays refused), server
 * delays overriding the jitter; retry-after in delta-seconds and all three
 * HTTP-date forms, retry-after-ms, and hostile values.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "backoff.h"

#define S(x) ((uint64_t)(x) * 1000000000ull)
#define MS(x) ((uint64_t)(x) * 1000000ull)

/* "Sun, 06 Nov 1994 08:49:37 GMT", the RFC's example, in Unix seconds. */
#define TB_RFC_EXAMPLE 784111777
/* 2020-01-01 00:00:00 UTC */
#define TB_Y2020 1577836800

/* A source that returns a fixed value: delays at the ends of the range. */
static uint64_t tb_fixed(void *state)
{
	return *(uint64_t *)state;
}

/* base 100 ms, cap 1 s, 10 attempts, no minimum left. */
static struct bo_config tb_cfg(void)
{
	return (struct bo_config){ .base_ns = MS(100), .cap_ns = S(1), .max_attempts = 10 };
}

static uint64_t tb_ceiling(uint32_t retry)
{
	uint64_t c = MS(100) << retry;
	return c < S(1) ? c : S(1);
}

Test(backoff, defaults_are_the_sdk_ones)
{
	struct bo_config c = bo_config_default();
	const char *field = "x";
	cr_assert_eq(bo_config_check(&c, &field), 0);
	cr_assert_null(field);
	cr_assert_eq(c.base_ns, MS(500));
	cr_assert_eq(c.cap_ns, S(8));
	cr_assert_eq(c.max_attempts, 3);

	struct bo b;
	struct bo_config bad = c;
	bad.base_ns = 0;
	cr_assert_eq(bo_config_check(&bad, &field), -EINVAL);
	cr_assert_str_eq(field, "base");
	bad = c;
	bad.cap_ns = c.base_ns - 1;
	cr_assert_eq(bo_config_check(&bad, &field), -EINVAL);
	cr_assert_str_eq(field, "cap");
	bad = c;
	bad.max_attempts = 0;
	cr_assert_eq(bo_config_check(&bad, &field), -EINVAL);
	cr_assert_str_eq(field, "max_attempts");
	cr_assert_eq(bo_init(&b, &bad, NULL, 0), -EINVAL);
	struct bo_rng no_fn = { 0 };
	cr_assert_eq(bo_init(&b, &c, &no_fn, 0), -EINVAL);
}

Test(backoff, full_jitter_stays_in_bounds_and_covers_the_range)
{
	uint64_t lo[9], hi[9];
	for (int r = 0; r < 9; r++)
		lo[r] = UINT64_MAX, hi[r] = 0;
	for (uint64_t seed = 1; seed <= 2000; seed++) {
		uint64_t st = seed;
		struct bo_rng rng = { bo_xorshift, &st };
		struct bo_config c = tb_cfg();
		struct bo b;
		cr_assert_eq(bo_init(&b, &c, &rng, 0), 0);
		uint64_t sum = 0, d;
		for (uint32_t r = 0; r < 9; r++) {
			cr_assert_eq(bo_next(&b, S(1), BO_JITTER, &d), BO_RETRY);
			cr_assert_leq(d, tb_ceiling(r), "seed %llu retry %u: %llu",
				      (unsigned long long)seed, r, (unsigned long long)d);
			lo[r] = d < lo[r] ? d : lo[r];
			hi[r] = d > hi[r] ? d : hi[r];
			sum += d;
		}
		cr_assert_eq(b.attempts, 10);
		cr_assert_eq(b.planned_ns, sum);
		cr_assert_eq(bo_next(&b, S(1), BO_JITTER, &d), BO_NO_ATTEMPTS);
	}
	/* Jitter, not a fixed schedule: over 2000 seeds each retry's delays
	 * reach both ends of its range (uniform: a miss is ~e^-200). */
	for (int r = 0; r < 9; r++) {
		cr_assert_lt(lo[r], tb_ceiling((uint32_t)r) / 10, "retry %d", r);
		cr_assert_gt(hi[r], tb_ceiling((uint32_t)r) / 10 * 9, "retry %d", r);
	}
}

Test(backoff, the_ends_of_the_range_are_reachable)
{
	/* A source returning the ceiling itself gives the ceiling (the range
	 * is inclusive); one returning ceiling + 1 wraps to 0. */
	for (uint32_t r = 0; r < 6; r++) {
		struct bo_config c = tb_cfg();
		uint64_t v = tb_ceiling(r), d;
		struct bo_rng rng = { tb_fixed, &v };
		struct bo b;
		cr_assert_eq(bo_init(&b, &c, &rng, 0), 0);
		b.attempts = r + 1; /* as if r retries were made */
		cr_assert_eq(bo_next(&b, 0, BO_JITTER, &d), BO_RETRY);
		cr_assert_eq(d, tb_ceiling(r), "retry %u", r);
		v = tb_ceiling(r) + 1;
		b.attempts = r + 1;
		cr_assert_eq(bo_next(&b, 0, BO_JITTER, &d), BO_RETRY);
		cr_assert_eq(d, 0);
	}
}

Test(backoff, the_attempt_limit_counts_the_first_attempt)
{
	struct bo_config c = tb_cfg();
	struct bo b;
	uint64_t d;
	c.max_attempts = 3;
	cr_assert_eq(bo_init(&b, &c, NULL, 0), 0);
	cr_assert_eq(bo_next(&b, 0, BO_JITTER, &d), BO_RETRY);
	cr_assert_eq(bo_next(&b, 0, 0, &d), BO_RETRY); /* a fallback shares the count */
	cr_assert_eq(d, 0);
	cr_assert_eq(bo_next(&b, 0, BO_JITTER, &d), BO_NO_ATTEMPTS);
	cr_assert_eq(bo_next(&b, 0, 0, &d), BO_NO_ATTEMPTS);
	cr_assert_eq(b.attempts, 3);
	c.max_attempts = 1;
	cr_assert_eq(bo_init(&b, &c, NULL, 0), 0);
	cr_assert_eq(bo_next(&b, 0, BO_JITTER, &d), BO_NO_ATTEMPTS, "no retries at all");
}

Test(backoff, many_attempts_do_not_overflow_the_ceiling)
{
	struct bo_config c = { .base_ns = 3, .cap_ns = UINT64_MAX / 2, .max_attempts = 300 };
	uint64_t v = UINT64_MAX, d;
	struct bo_rng rng = { tb_fixed, &v };
	struct bo b;
	cr_assert_eq(bo_init(&b, &c, &rng, 0), 0);
	for (int i = 0; i < 299; i++) {
		cr_assert_eq(bo_next(&b, 0, BO_JITTER, &d), BO_RETRY);
		cr_assert_leq(d, c.cap_ns);
	}
	cr_assert_eq(b.planned_ns, UINT64_MAX, "the sum saturates");
	/* A cap of "forever" draws from the whole 64-bit range. */
	c.cap_ns = UINT64_MAX;
	c.base_ns = UINT64_MAX;
	cr_assert_eq(bo_init(&b, &c, &rng, 0), 0);
	cr_assert_eq(bo_next(&b, 0, BO_JITTER, &d), BO_RETRY);
	cr_assert_eq(d, UINT64_MAX);
}

Test(backoff, jitter_is_drawn_from_what_fits_the_deadline)
{
	for (uint64_t seed = 1; seed <= 500; seed++) {
		uint64_t st = seed, d;
		struct bo_rng rng = { bo_xorshift, &st };
		struct bo_config c = tb_cfg();
		struct bo b;
		c.min_left_ns = MS(200);
		/* 600 ms before the deadline: 400 ms of room, under the
		 * 4th retry's 800 ms ceiling. */
		cr_assert_eq(bo_init(&b, &c, &rng, S(10)), 0);
		b.attempts = 4;
		cr_assert_eq(bo_next(&b, S(10) - MS(600), BO_JITTER, &d), BO_RETRY);
		cr_assert_leq(d, MS(400), "seed %llu", (unsigned long long)seed);
	}
	struct bo_config c = tb_cfg();
	struct bo b;
	uint64_t v = UINT64_MAX, d;
	struct bo_rng rng = { tb_fixed, &v };
	c.min_left_ns = MS(200);
	cr_assert_eq(bo_init(&b, &c, &rng, S(10)), 0);
	/* Exactly min_left left: a retry at once still fits. */
	cr_assert_eq(bo_next(&b, S(10) - MS(200), BO_JITTER, &d), BO_RETRY);
	cr_assert_eq(d, 0);
	/* Less than that, at or past the deadline: no time, no attempt used. */
	uint32_t used = b.attempts;
	cr_assert_eq(bo_next(&b, S(10) - MS(200) + 1, BO_JITTER, &d), BO_NO_TIME);
	cr_assert_eq(bo_next(&b, S(10), BO_JITTER, &d), BO_NO_TIME);
	cr_assert_eq(bo_next(&b, S(11), 0, &d), BO_NO_TIME);
	cr_assert_eq(b.attempts, used);
}

Test(backoff, a_server_delay_overrides_the_jitter_within_the_deadline)
{
	struct bo_config c = tb_cfg();
	struct bo b;
	uint64_t v = 0, d;
	struct bo_rng rng = { tb_fixed, &v };
	c.min_left_ns = MS(200);
	cr_assert_eq(bo_init(&b, &c, &rng, S(60)), 0);
	/* Not capped by cap_ns: the server knows when it will take us. */
	cr_assert_eq(bo_next(&b, S(0), S(20), &d), BO_RETRY);
	cr_assert_eq(d, S(20));
	/* 20 s at t=39.8 s ends at 59.8 s, exactly min_left before 60 s. */
	cr_assert_eq(bo_next(&b, S(39) + MS(800), S(20), &d), BO_RETRY);
	/* One ns more does not fit: refused, attempt kept for another
	 * deployment that is not asking us to wait. */
	uint32_t used = b.attempts;
	cr_assert_eq(bo_next(&b, S(39) + MS(800) + 1, S(20), &d), BO_NO_TIME);
	cr_assert_eq(b.attempts, used);
	cr_assert_eq(bo_next(&b, S(39) + MS(800) + 1, 0, &d), BO_RETRY);
	cr_assert_eq(d, 0);
	cr_assert_eq(b.planned_ns, S(40));
	/* Without a deadline any server delay is taken. */
	cr_assert_eq(bo_init(&b, &c, &rng, 0), 0);
	cr_assert_eq(bo_next(&b, 0, S(86400), &d), BO_RETRY);
	cr_assert_eq(d, S(86400));
}

Test(backoff, default_source_works_and_xorshift_leaves_zero)
{
	struct bo_rng r = bo_rng_default();
	cr_assert_not_null(r.next);
	cr_assert_not_null(r.state);
	uint64_t a = r.next(r.state), b = r.next(r.state);
	cr_assert_neq(a, b);
	cr_assert_neq(*(uint64_t *)r.state, 0);
	struct bo_rng again = bo_rng_default();
	cr_assert_eq(again.state, r.state, "one state per thread");
	uint64_t z = 0;
	cr_assert_neq(bo_xorshift(&z), 0);
	cr_assert_neq(z, 0, "a zero state does not stick");
	/* bo_init with no source uses the default one. */
	struct bo_config c = tb_cfg();
	struct bo bo;
	cr_assert_eq(bo_init(&bo, &c, NULL, 0), 0);
	cr_assert_eq(bo.rng.next, bo_xorshift);
}

/* ---- Retry-After ---------------------------------------------------------------- */

static int tb_ra(const char *v, int64_t now, uint64_t *d)
{
	return bo_parse_retry_after(v, strlen(v), now, d);
}

static int tb_ra_ms(const char *v, uint64_t *d)
{
	return bo_parse_retry_after_ms(v, strlen(v), d);
}

Test(backoff, retry_after_delta_seconds)
{
	const struct {
		const char *v;
		uint64_t want;
	} ok[] = {
		{ "0", 0 },	       { "1", S(1) },	       { "120", S(120) },
		{ " 7 \t", S(7) },     { "007", S(7) },	       { "1.5", MS(1500) },
		{ "0.001", MS(1) },    { "86400", S(86400) },  { "1.0000000019", S(1) + 1 },
		{ "86399.999999999", S(86400) - 1 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		uint64_t d = 12345;
		cr_assert_eq(tb_ra(ok[i].v, TB_Y2020, &d), 0, "'%s'", ok[i].v);
		cr_assert_eq(d, ok[i].want, "'%s': %llu", ok[i].v, (unsigned long long)d);
	}
}

Test(backoff, retry_after_hostile_values_are_refused)
{
	const char *inval[] = { "",	  " ",	       "-1",	     "+5",	 "abc",	  "1e3",
				"0x10",	  "1.",	       ".5",	     "1.2.3",	 "5 5",	  "5s",
				"inf",	  "NaN",       "1,5",	     "１",	 "9999999999999999999999x",
				"Sun, 06 Nov 1994 08:49:37 GMTx" };
	const char *range[] = { "86401", "86400.000000001", "18446744073709551616",
				"99999999999999999999999999999999999999" };
	uint64_t d = 777;
	for (size_t i = 0; i < sizeof inval / sizeof inval[0]; i++)
		cr_assert_eq(tb_ra(inval[i], TB_Y2020, &d), -EINVAL, "'%s'", inval[i]);
	for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
		cr_assert_eq(tb_ra(range[i], TB_Y2020, &d), -ERANGE, "'%s'", range[i]);
	cr_assert_eq(d, 777, "untouched on error");
	/* Bytes past len are not read; a NUL inside is garbage. */
	cr_assert_eq(bo_parse_retry_after("12junk", 2, TB_Y2020, &d), 0);
	cr_assert_eq(d, S(12));
	cr_assert_eq(bo_parse_retry_after("1\0" "2", 3, TB_Y2020, &d), -EINVAL);
	cr_assert_eq(bo_parse_retry_after(NULL, 0, TB_Y2020, &d), -EINVAL);
	cr_assert_eq(bo_parse_retry_after_ms(NULL, 0, &d), -EINVAL);
}

Test(backoff, retry_after_ms)
{
	uint64_t d = 0;
	cr_assert_eq(tb_ra_ms("1500", &d), 0);
	cr_assert_eq(d, MS(1500));
	cr_assert_eq(tb_ra_ms(" 0.5 ", &d), 0);
	cr_assert_eq(d, 500000);
	cr_assert_eq(tb_ra_ms("0", &d), 0);
	cr_assert_eq(d, 0);
	cr_assert_eq(tb_ra_ms("86400000", &d), 0);
	cr_assert_eq(d, S(86400));
	cr_assert_eq(tb_ra_ms("86400000.000001", &d), -ERANGE);
	cr_assert_eq(tb_ra_ms("86400001", &d), -ERANGE);
	cr_assert_eq(tb_ra_ms("340282366920938463463374607431768211456", &d), -ERANGE);
	cr_assert_eq(tb_ra_ms("340282366920938463463374607431768211456ms", &d), -EINVAL);
	cr_assert_eq(tb_ra_ms("-100", &d), -EINVAL);
	cr_assert_eq(tb_ra_ms("", &d), -EINVAL);
	cr_assert_eq(tb_ra_ms("Sun, 06 Nov 1994 08:49:37 GMT", &d), -EINVAL, "no dates here");
}

Test(backoff, retry_after_http_date_in_all_three_forms)
{
	const char *forms[] = {
		"Sun, 06 Nov 1994 08:49:37 GMT",  /* IMF-fixdate */
		"Sunday, 06-Nov-94 08:49:37 GMT", /* rfc850 */
		"Sun Nov  6 08:49:37 1994",	  /* asctime */
		" Sun, 06 Nov 1994 08:49:37 GMT\t",
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		uint64_t d = 1;
		cr_assert_eq(tb_ra(forms[i], TB_RFC_EXAMPLE - 120, &d), 0, "'%s'", forms[i]);
		cr_assert_eq(d, S(120), "'%s'", forms[i]);
		/* At or after the date: retry now. */
		cr_assert_eq(tb_ra(forms[i], TB_RFC_EXAMPLE, &d), 0);
		cr_assert_eq(d, 0);
		cr_assert_eq(tb_ra(forms[i], TB_RFC_EXAMPLE + 3600, &d), 0);
		cr_assert_eq(d, 0);
		/* More than a day ahead is refused, not obeyed. */
		cr_assert_eq(tb_ra(forms[i], TB_RFC_EXAMPLE - 86401, &d), -ERANGE);
	}
	uint64_t d;
	cr_assert_eq(tb_ra("Wed Nov 16 08:49:37 1994", TB_RFC_EXAMPLE + 10 * 86400 - 30, &d), 0);
	cr_assert_eq(d, S(30), "two-digit asctime day");
	cr_assert_eq(tb_ra("Thu, 29 Feb 2024 12:00:00 GMT", 1709208000 - 5, &d), 0);
	cr_assert_eq(d, S(5), "leap day");
	cr_assert_eq(tb_ra("Tue, 29 Feb 2000 00:00:00 GMT", 951782400 - 1, &d), 0);
	cr_assert_eq(d, S(1), "400-year leap day");
	cr_assert_eq(tb_ra("Wed, 01 Jan 2020 00:00:60 GMT", TB_Y2020, &d), 0);
	cr_assert_eq(d, S(60), "leap second");
}

Test(backoff, rfc850_two_digit_years_follow_the_fifty_year_rule)
{
	uint64_t d = 1;
	/* In 2020, "70" is 2070 (50 years ahead, not more): far future. */
	cr_assert_eq(tb_ra("Thursday, 01-Jan-70 00:00:00 GMT", TB_Y2020, &d), -ERANGE);
	/* "71" would be 51 years ahead: 1971, the past. */
	cr_assert_eq(tb_ra("Friday, 01-Jan-71 00:00:00 GMT", TB_Y2020, &d), 0);
	cr_assert_eq(d, 0);
	/* "20" is this century's 2020: one minute ahead. */
	cr_assert_eq(tb_ra("Wednesday, 01-Jan-20 00:01:00 GMT", TB_Y2020, &d), 0);
	cr_assert_eq(d, S(60));
	/* Close to the turn of a century: 2069-12-31 23:59:00, "70" is 2070. */
	cr_assert_eq(tb_ra("Wednesday, 01-Jan-70 00:00:00 GMT", 3155759940, &d), 0);
	cr_assert_eq(d, S(60));
	/* ... and "10" is 2110, 41 years ahead, not 2010. */
	cr_assert_eq(tb_ra("Wednesday, 01-Jan-10 00:00:00 GMT", 3155759940, &d), -ERANGE);
}

Test(backoff, malformed_http_dates_are_refused)
{
	const char *bad[] = {
		"Sun, 31 Feb 1994 08:49:37 GMT", /* no such day */
		"Sat, 29 Feb 2023 08:49:37 GMT", /* not a leap year */
		"Thu, 29 Feb 1900 08:49:37 GMT", /* century, not leap */
		"Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:37 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
		"sun, 06 Nov 1994 08:49:37 GMT", /* case-sensitive */
		"Sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37",	 "Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",	 "Sun, 06 Nov 1994 8:49:37 GMT",
		"Sun,06 Nov 1994 08:49:37 GMT",	 "Sun, 06 Nov 1994 08:49:37 GMT GMT",
		"Sunday, 06 Nov 1994 08:49:37 GMT", /* long name, short form */
		"Sun, 06-Nov-94 08:49:37 GMT",	    /* short name, rfc850 form */
		"Sundae, 06-Nov-94 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",	    /* asctime pads with a space */
		"Sun Nov  6 08:49:37 94",	    "Sun Nov  6 08:49:37 1994 GMT",
		"Sun Xyz  6 08:49:37 1994",	    "Sunx Nov  6 08:49:37 1994",
		"Sun",				    "Sun, ",
		"Sun, 06 Nov 1994 08:49:-7 GMT",    "Sun, 06 Nov 1994 08:49:37 GM",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t d = 5;
		cr_assert_eq(tb_ra(bad[i], TB_RFC_EXAMPLE, &d), -EINVAL, "'%s'", bad[i]);
		cr_assert_eq(d, 5);
	}
}

Test(backoff, extreme_wall_clocks_are_no_undefined_behaviour)
{
	uint64_t d = 1;
	/* Whatever the caller's clock says, the answer is defined. */
	cr_assert_eq(tb_ra("Fri, 31 Dec 9999 23:59:59 GMT", INT64_MIN, &d), -ERANGE);
	cr_assert_eq(tb_ra("Fri, 31 Dec 9999 23:59:59 GMT", INT64_MAX, &d), 0);
	cr_assert_eq(d, 0);
	cr_assert_eq(tb_ra("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799 - 2, &d), 0);
	cr_assert_eq(d, S(2));
	cr_assert_eq(tb_ra("Sat, 01 Jan 0000 00:00:00 GMT", TB_Y2020, &d), 0);
	cr_assert_eq(d, 0);
	cr_assert_eq(tb_ra("Thursday, 01-Jan-70 00:00:00 GMT", INT64_MIN, &d), -ERANGE);
	cr_assert_eq(tb_ra("Thursday, 01-Jan-70 00:00:00 GMT", INT64_MAX, &d), 0);
}
