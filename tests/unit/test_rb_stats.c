/*
 * test_rb_stats.c — ringside-bench's statistics (bench/rbench/rb_stats.c):
 * nearest-rank percentiles on arrays whose answer is known by hand (one
 * sample, 1..100, 1..1000, unsorted input, duplicates, the empty set), the
 * summary in µs, merging (including a set into itself), growth past the
 * first allocation, and the spread between rounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "bench/rbench/rb_stats.h"

/* A fixed permutation of 1..n (times scale): 37 is coprime with the sizes
 * used, so i * 37 mod n visits every value once, in no sorted order. */
static void ts_fill_shuffled(struct rb_samples *s, unsigned n, uint64_t scale)
{
	for (unsigned i = 0; i < n; i++)
		rb_samples_add(s, ((uint64_t)(i * 37u % n) + 1) * scale);
}

Test(rb_stats, empty_set_is_all_zero)
{
	struct rb_samples s = { 0 };
	struct rb_summary sum;
	cr_assert_eq(rb_samples_pct(&s, 0.5), 0);
	cr_assert_eq(rb_samples_pct(&s, 1.0), 0);
	rb_samples_sort(&s);
	rb_summarize(&s, &sum);
	cr_assert_eq(sum.n, 0);
	cr_assert_eq(sum.p50, 0);
	cr_assert_eq(sum.p999, 0);
	cr_assert_eq(sum.max, 0);
	cr_assert_eq(sum.mean, 0);
	rb_samples_free(&s);
}

Test(rb_stats, one_sample_is_every_percentile)
{
	struct rb_samples s = { 0 };
	rb_samples_add(&s, 4242);
	const double qs[] = { 0, 0.001, 0.5, 0.99, 0.999, 1 };
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
		cr_assert_eq(rb_samples_pct(&s, qs[i]), 4242, "q=%g", qs[i]);
	struct rb_summary sum;
	rb_summarize(&s, &sum);
	cr_assert_eq(sum.n, 1);
	cr_assert_float_eq(sum.p50, 4.242, 1e-9);
	cr_assert_float_eq(sum.p999, 4.242, 1e-9);
	cr_assert_float_eq(sum.max, 4.242, 1e-9);
	cr_assert_float_eq(sum.mean, 4.242, 1e-9);
	rb_samples_free(&s);
}

/* 1..100 in any order: the nearest rank of q is ceil(100 q), so the value
 * is that rank, including where 100 q has no exact binary form. */
Test(rb_stats, nearest_rank_on_1_to_100_unsorted)
{
	struct rb_samples s = { 0 };
	ts_fill_shuffled(&s, 100, 1);
	cr_assert_eq(s.n, 100);
	cr_assert_eq(rb_samples_pct(&s, 0), 1);
	cr_assert_eq(rb_samples_pct(&s, 0.01), 1);
	cr_assert_eq(rb_samples_pct(&s, 0.011), 2);
	cr_assert_eq(rb_samples_pct(&s, 0.5), 50);
	cr_assert_eq(rb_samples_pct(&s, 0.505), 51);
	cr_assert_eq(rb_samples_pct(&s, 0.9), 90);
	cr_assert_eq(rb_samples_pct(&s, 0.99), 99);
	cr_assert_eq(rb_samples_pct(&s, 0.999), 100);
	cr_assert_eq(rb_samples_pct(&s, 1), 100);
	/* Out of range q clamps instead of reading outside the array. */
	cr_assert_eq(rb_samples_pct(&s, -1), 1);
	cr_assert_eq(rb_samples_pct(&s, 2), 100);
	cr_assert_eq(rb_samples_pct(&s, NAN), 1);
	for (size_t i = 1; i < s.n; i++)
		cr_assert_leq(s.v[i - 1], s.v[i]);
	rb_samples_free(&s);
}

Test(rb_stats, summary_of_1_to_1000_in_us)
{
	struct rb_samples s = { 0 };
	/* Descending input: the sort has real work to do. */
	for (uint64_t v = 1000; v >= 1; v--)
		rb_samples_add(&s, v * 1000);
	struct rb_summary sum;
	rb_summarize(&s, &sum);
	cr_assert_eq(sum.n, 1000);
	cr_assert_float_eq(sum.p50, 500, 1e-9);
	cr_assert_float_eq(sum.p90, 900, 1e-9);
	cr_assert_float_eq(sum.p99, 990, 1e-9);
	cr_assert_float_eq(sum.p999, 999, 1e-9);
	cr_assert_float_eq(sum.max, 1000, 1e-9);
	cr_assert_float_eq(sum.mean, 500.5, 1e-9);
	rb_samples_free(&s);
}

Test(rb_stats, duplicates_count_once_each)
{
	struct rb_samples s = { 0 };
	const uint64_t v[] = { 5, 9, 5, 1, 5 }; /* sorted: 1 5 5 5 9 */
	for (size_t i = 0; i < 5; i++)
		rb_samples_add(&s, v[i]);
	cr_assert_eq(rb_samples_pct(&s, 0.2), 1);  /* rank 1 */
	cr_assert_eq(rb_samples_pct(&s, 0.21), 5); /* rank 2 */
	cr_assert_eq(rb_samples_pct(&s, 0.5), 5);  /* rank 3 */
	cr_assert_eq(rb_samples_pct(&s, 0.8), 5);  /* rank 4 */
	cr_assert_eq(rb_samples_pct(&s, 0.81), 9); /* rank 5 */
	rb_samples_free(&s);
}

/* A sample added after a sort must not be missed by the next percentile. */
Test(rb_stats, add_after_sort_resorts)
{
	struct rb_samples s = { 0 };
	ts_fill_shuffled(&s, 10, 10); /* 10..100 */
	cr_assert_eq(rb_samples_pct(&s, 0), 10);
	rb_samples_add(&s, 1);
	cr_assert_eq(rb_samples_pct(&s, 0), 1);
	cr_assert_eq(rb_samples_pct(&s, 1), 100);
	rb_samples_free(&s);
}

Test(rb_stats, merge_appends_and_keeps_the_source)
{
	struct rb_samples a = { 0 }, b = { 0 }, empty = { 0 };
	ts_fill_shuffled(&a, 50, 1);  /* 1..50 */
	ts_fill_shuffled(&b, 50, 2);  /* 2..100, even */
	rb_samples_sort(&a);
	rb_samples_merge(&a, &b);
	cr_assert_eq(a.n, 100);
	cr_assert_eq(b.n, 50);
	cr_assert_eq(rb_samples_pct(&a, 1), 100);
	cr_assert_eq(rb_samples_pct(&a, 0.5), 34); /* rank 50 of 1..50 with 2..100 even */
	rb_samples_merge(&a, &empty);
	cr_assert_eq(a.n, 100);
	rb_samples_merge(&empty, &b);
	cr_assert_eq(empty.n, 50);
	cr_assert_eq(rb_samples_pct(&empty, 0), 2);
	rb_samples_free(&a);
	rb_samples_free(&b);
	rb_samples_free(&empty);
}

/* Pooling a set with itself doubles every sample, even when the set's
 * memory moves while it grows. */
Test(rb_stats, merge_into_itself)
{
	struct rb_samples s = { 0 };
	for (unsigned i = 0; i < 1024; i++) /* exactly full at the first allocation */
		rb_samples_add(&s, i + 1);
	rb_samples_merge(&s, &s);
	cr_assert_eq(s.n, 2048);
	rb_samples_sort(&s);
	for (size_t i = 0; i < s.n; i++)
		cr_assert_eq(s.v[i], i / 2 + 1);
	rb_samples_free(&s);
}

Test(rb_stats, grows_and_clear_keeps_memory)
{
	struct rb_samples s = { 0 };
	ts_fill_shuffled(&s, 100003, 1); /* past several doublings */
	cr_assert_eq(s.n, 100003);
	cr_assert_eq(rb_samples_pct(&s, 0.5), 50002);
	cr_assert_eq(rb_samples_pct(&s, 1), 100003);
	size_t cap = s.cap;
	uint64_t *mem = s.v;
	rb_samples_clear(&s);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(s.cap, cap);
	cr_assert_eq(s.v, mem);
	cr_assert_eq(rb_samples_pct(&s, 0.5), 0);
	rb_samples_add(&s, 7);
	cr_assert_eq(rb_samples_pct(&s, 0.5), 7);
	rb_samples_free(&s);
	cr_assert_null(s.v);
	cr_assert_eq(s.n + s.cap, 0);
}

Test(rb_stats, spread_of_known_values)
{
	const double one[] = { 100 }, same[] = { 100, 100, 100 }, two[] = { 90, 110 };
	const double three[] = { 125, 75, 100 }, four[] = { 4, 1, 3, 2 };
	const double dup[] = { 10, 20, 10, 10 };
	cr_assert_eq(rb_spread(NULL, 0), 0);
	cr_assert_eq(rb_spread(one, 1), 0);
	cr_assert_eq(rb_spread(same, 3), 0);
	cr_assert_float_eq(rb_spread(two, 2), 0.2, 1e-12);   /* 20 / 100 */
	cr_assert_float_eq(rb_spread(three, 3), 0.5, 1e-12); /* 50 / 100 */
	cr_assert_float_eq(rb_spread(four, 4), 1.2, 1e-12);  /* 3 / 2.5 */
	cr_assert_float_eq(rb_spread(dup, 4), 1.0, 1e-12);   /* 10 / 10 */
}

/* Rounds in which nothing was measured (p50 0) against one that was:
 * nothing agrees, so the spread must not read as small. */
Test(rb_stats, spread_with_zero_median_is_infinite)
{
	const double v[] = { 0, 0, 5 };
	cr_assert(isinf(rb_spread(v, 3)));
}
