/*
 * rb_stats.c — latency samples and the figures drawn from them.
 *
 * Samples are kept whole (no histogram buckets) so that every percentile
 * is an observed latency, exactly, and pooled rounds give the same answer
 * as one long run would. Percentiles are nearest-rank: the smallest sample
 * with at least q of all samples at or below it, which never interpolates
 * a value nobody measured and makes p100 the maximum.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb_stats.h"

/* First allocation: a sequential phase of a quick run fits without growing. */
#define ST_INITIAL_CAP 1024u

/* The runner adds samples from its event callbacks, which have no way to
 * report an error; a benchmark that dropped samples on a failed allocation
 * would print figures for requests it did not count, so running out of
 * memory ends it instead. */
static void st_reserve(struct rb_samples *s, size_t want)
{
	if (want <= s->cap)
		return;
	size_t cap = s->cap ? s->cap : ST_INITIAL_CAP;
	while (cap < want) {
		if (cap > SIZE_MAX / 2 / sizeof *s->v)
			goto oom;
		cap *= 2;
	}
	uint64_t *v = realloc(s->v, cap * sizeof *v);
	if (!v)
		goto oom;
	s->v = v;
	s->cap = cap;
	return;
oom:
	fprintf(stderr, "ringside-bench: out of memory for %zu samples\n", want);
	abort();
}

void rb_samples_add(struct rb_samples *s, uint64_t ns)
{
	if (s->n == s->cap)
		st_reserve(s, s->n + 1);
	s->v[s->n++] = ns;
	s->sorted = 0;
}

void rb_samples_merge(struct rb_samples *dst, const struct rb_samples *src)
{
	size_t n = src->n; /* before dst grows: src may be dst */
	if (!n)
		return;
	st_reserve(dst, dst->n + n);
	memcpy(dst->v + dst->n, src->v, n * sizeof *dst->v);
	dst->n += n;
	dst->sorted = 0;
}

void rb_samples_clear(struct rb_samples *s)
{
	s->n = 0;
	s->sorted = 0;
}

void rb_samples_free(struct rb_samples *s)
{
	free(s->v);
	*s = (struct rb_samples){ 0 };
}

static int st_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void rb_samples_sort(struct rb_samples *s)
{
	if (s->sorted)
		return;
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, st_cmp);
	s->sorted = 1;
}

uint64_t rb_samples_pct(struct rb_samples *s, double q)
{
	if (!s->n)
		return 0;
	rb_samples_sort(s);
	if (!(q > 0)) /* also NaN */
		return s->v[0];
	if (q >= 1)
		return s->v[s->n - 1];
	/* rank = ceil(q * n), 1-based. The product is pulled down by a few
	 * ulps first: 0.99 * 100 must be rank 99, not 100 because 0.99 has
	 * no exact binary form. */
	double x = q * (double)s->n;
	size_t rank = (size_t)ceil(x - x * 1e-12);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

void rb_summarize(struct rb_samples *s, struct rb_summary *out)
{
	*out = (struct rb_summary){ .n = s->n };
	if (!s->n)
		return;
	rb_samples_sort(s);
	double sum = 0;
	for (size_t i = 0; i < s->n; i++)
		sum += (double)s->v[i];
	out->p50 = (double)rb_samples_pct(s, 0.50) / 1e3;
	out->p90 = (double)rb_samples_pct(s, 0.90) / 1e3;
	out->p99 = (double)rb_samples_pct(s, 0.99) / 1e3;
	out->p999 = (double)rb_samples_pct(s, 0.999) / 1e3;
	out->max = (double)s->v[s->n - 1] / 1e3;
	out->mean = sum / (double)s->n / 1e3;
}

/* The k-th smallest (0-based) of v, by counting: n is a number of rounds,
 * so O(n^2) costs nothing and needs no copy to sort, hence no allocation
 * that could fail. */
static double st_kth(const double *v, size_t n, size_t k)
{
	for (size_t i = 0; i < n; i++) {
		size_t less = 0, equal = 0;
		for (size_t j = 0; j < n; j++) {
			less += v[j] < v[i];
			equal += v[j] == v[i];
		}
		if (less <= k && k < less + equal)
			return v[i];
	}
	return v[0]; /* only reached with NaN among the values */
}

double rb_spread(const double *v, size_t n)
{
	if (n < 2)
		return 0;
	double lo = v[0], hi = v[0];
	for (size_t i = 1; i < n; i++) {
		if (v[i] < lo)
			lo = v[i];
		if (v[i] > hi)
			hi = v[i];
	}
	if (hi == lo)
		return 0;
	double med = n & 1 ? st_kth(v, n, n / 2)
			   : (st_kth(v, n, n / 2 - 1) + st_kth(v, n, n / 2)) / 2;
	/* A median of zero means most rounds measured nothing (every request
	 * failed) while another did: no figure of these rounds agrees, and
	 * calling that a spread of 0 would hide it. */
	if (!(med > 0))
		return INFINITY;
	return (hi - lo) / med;
}
