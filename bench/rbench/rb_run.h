/*
 * rb_run.h — the runner: drives one mode through one load shape and
 * collects what it measured.
 *
 *   sequential  one request at a time, the next starts when one ends
 *   closed      `conc` requests always in flight (a new one when one ends)
 *   open        arrivals at a fixed `rate`, whatever is in flight; every
 *               latency counts from the request's scheduled start, so a
 *               stall that delays later starts shows in their figures
 *               instead of being hidden (no coordinated omission). With
 *               nothing in flight the runner sleeps to RB_LEAD_NS before
 *               an arrival and spins to it: a timer wake-up on a VM is
 *               late by tens of µs, which would be the benchmark's own
 *               lateness, not the mode's. `lag` records what remains.
 */
#ifndef RB_RUN_H
#define RB_RUN_H

#include <stdint.h>

#include "rb_mode.h"
#include "rb_stats.h"

enum rb_shape_kind { RB_SEQUENTIAL, RB_CLOSED, RB_OPEN };

struct rb_shape {
	enum rb_shape_kind kind;
	unsigned conc; /* closed: requests in flight */
	double rate;   /* open: arrivals per second */
	unsigned n;    /* measured requests */
	unsigned warm; /* requests before measuring (same shape) */
	char label[48]; /* "sequential", "closed c=16", "open 1000/s" */
};

/* What one (mode, shape) phase measured. Samples in nanoseconds. */
struct rb_phase {
	struct rb_samples first; /* start -> first content chunk */
	struct rb_samples gap;   /* between consecutive chunks of one request */
	struct rb_samples total; /* start -> end of stream */
	struct rb_samples lag;   /* open: scheduled start -> actual start */
	unsigned ok, failed;
	uint64_t chunks;
	uint64_t wall_ns;     /* first measured start -> last measured end */
	uint64_t srv_cpu_ns;  /* server_pid's CPU time over the measured part */
	uint64_t cli_cpu_ns;  /* this process' CPU time over the same */
	long srv_rss_kb;      /* server_pid's RSS at the end, -1 if none */
	unsigned late;        /* open: starts more than 1 ms behind schedule */
};

struct rb_run;

/* Runner state for one mode; max_inflight bounds open-loop backlog. */
struct rb_run *rb_run_new(unsigned max_inflight);
/* The sink to hand to the mode's open(). */
const struct rb_sink *rb_run_sink(struct rb_run *r);
/* Run warm-up then the measured requests. out is cleared first (its sample
 * memory reused). 0, or -1 if the mode failed fatally. Failed requests
 * are counted, not fatal. */
int rb_run_phase(struct rb_run *r, const struct rb_mode_ops *ops, void *st,
		 const struct rb_shape *sh, struct rb_phase *out);
void rb_run_free(struct rb_run *r);
void rb_phase_free(struct rb_phase *p);

#endif
