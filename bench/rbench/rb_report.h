/*
 * rb_report.h — what ringside-bench found, written three ways: a Markdown
 * table on stdout, JSON for machines, and an SVG latency CDF per load shape
 * (every mode on one chart, log time axis) that is legible on its own.
 */
#ifndef RB_REPORT_H
#define RB_REPORT_H

#include <stdio.h>

#include "rb_run.h"
#include "rb_stats.h"

#define RB_MAX_ROUNDS 16

/* One (mode, shape) over all rounds. Samples are pooled over the rounds. */
struct rb_result {
	const struct rb_mode_ops *mode;
	const struct rb_shape *shape;
	struct rb_samples first, gap, total, lag; /* ns, pooled */
	struct rb_summary sfirst, sgap, stotal, slag; /* µs; lag: open loop only */
	unsigned ok, failed, late;
	uint64_t chunks;
	double rps, cps;          /* achieved: measured requests (chunks) / measured wall time */
	double srv_cpu_us_req;    /* server CPU per request, µs; < 0: no server */
	double srv_cpu_us_chunk;  /* server CPU per chunk, µs; < 0: no server */
	double cli_cpu_us_req;    /* the benchmark process' own CPU per request, µs */
	long srv_rss_kb;          /* < 0: no server */
	unsigned rounds;
	double round_p50[RB_MAX_ROUNDS]; /* first chunk p50 of each round, µs */
	double round_p99[RB_MAX_ROUNDS]; /* first chunk p99 of each round, µs */
	double spread_p50, spread_p99;   /* rb_spread of the two above */
	int unstable;                    /* spreads beyond what we trust */
};

/* The sidecar's CPU cost as a + b * chunks per request, fitted from two
 * sequential runs that differ only in reply length. */
struct rb_cpu_fit {
	int valid;
	double us_per_req;   /* a */
	double us_per_chunk; /* b */
	unsigned tokens_short, tokens_long;
};

struct rb_report {
	char title[128];
	char machine[256]; /* CPU model, cores, kernel */
	char params[512];  /* one line: tokens, rounds, shapes, knobs */
	char date[40];     /* UTC, ISO 8601 */
	char command[256]; /* how to reproduce */
	double spread_limit_p50, spread_limit_p99; /* what "unstable" means */
	struct rb_result *res;
	size_t nres;
	struct rb_cpu_fit fit;
};

/* The result for (mode name, shape label), or NULL. */
const struct rb_result *rb_report_find(const struct rb_report *r, const char *mode,
				       const char *shape);

/* Markdown: one table of every result, then ringside's overhead (shm minus
 * direct, per percentile, per shape), the gateway round trip against the
 * floor (shm-mock / floor-*), the CPU fit, and the unstable results. */
void rb_report_md(FILE *f, const struct rb_report *r);

/* The same figures (and the per-round values) as JSON. 0 or -1 (errno). */
int rb_report_json(const char *path, const struct rb_report *r);

/* CDF of time to first chunk of every mode run in `shape`, on a log time
 * axis, with title, axis labels and units, legend (mode and its p50/p99),
 * and a footer with machine, parameters and date. 0 or -1 (errno). */
int rb_report_svg(const char *path, const struct rb_report *r, const char *shape);

#endif
