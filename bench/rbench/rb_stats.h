/*
 * rb_stats.h — latency samples and what is said about them: percentiles,
 * and how far repeated runs of the same measurement disagree.
 */
#ifndef RB_STATS_H
#define RB_STATS_H

#include <stddef.h>
#include <stdint.h>

/* A growable array of durations in nanoseconds. Zero-initialise to start. */
struct rb_samples {
	uint64_t *v;
	size_t n, cap;
	int sorted;
};

void rb_samples_add(struct rb_samples *s, uint64_t ns);
/* Append all of src to dst. */
void rb_samples_merge(struct rb_samples *dst, const struct rb_samples *src);
void rb_samples_clear(struct rb_samples *s); /* keeps the memory */
void rb_samples_free(struct rb_samples *s);
/* Sort in place (idempotent); percentiles need it. */
void rb_samples_sort(struct rb_samples *s);
/* q in [0,1]: nearest-rank percentile of the sorted samples; 0 if empty. */
uint64_t rb_samples_pct(struct rb_samples *s, double q);

/* The figures every table shows, in microseconds. */
struct rb_summary {
	size_t n;
	double p50, p90, p99, p999, max, mean;
};

void rb_summarize(struct rb_samples *s, struct rb_summary *out);

/* Spread of repeated measurements of one figure: (max - min) / median of
 * the values, 0 when fewer than two. */
double rb_spread(const double *v, size_t n);

#endif
