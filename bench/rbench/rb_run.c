/*
 * rb_run.c — the runner: one mode, one load shape, one set of figures.
 *
 * Slots are the runner's handles for requests in flight; the mode echoes
 * them back through the sink. Every latency counts from the request's
 * scheduled start: for closed loops that is the moment it was started, for
 * the open loop the arrival the schedule promised, so a request that could
 * not start on time (a stalled mode, a full slot table) pays for the delay
 * in its figures instead of silently shifting the schedule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb_proc.h"
#include "rb_run.h"
#include "shm/relax.h"

/* An open-loop start this far behind its schedule is counted as late. */
#define RB_LATE_NS 1000000u

/* The open loop, with nothing in flight, sleeps until this long before the
 * next arrival and spins the rest. Measured on a 2-vCPU VM (Firecracker,
 * Linux 6.18): a 1 ms sleep wakes 45-52 µs late at p50 and 80 µs at p90,
 * with timer slack at 1 ns; 200 µs covers that, and costs the benchmark a
 * fifth of a core's time only while the loop is idle. */
#define RB_LEAD_NS 200000u

struct rb_slot {
	uint64_t t_sched; /* latencies count from here */
	uint64_t t_first; /* first chunk, 0 before it */
	uint64_t t_last;  /* last chunk */
	int busy;
	int measured;     /* past the warm-up */
};

struct rb_run {
	struct rb_sink sink;
	struct rb_slot *slots;
	uint32_t *free; /* stack of free slot numbers */
	unsigned max, nfree;
	struct rb_phase *out;
	unsigned ended;   /* requests ended in this phase (warm-up included) */
	uint64_t last_end; /* latest measured end */
};

static void rb_on_chunk(void *arg, uint32_t slot, uint64_t now)
{
	struct rb_run *r = arg;
	if (slot >= r->max || !r->slots[slot].busy)
		return;
	struct rb_slot *s = &r->slots[slot];
	if (!s->t_first)
		s->t_first = now;
	else if (s->measured)
		rb_samples_add(&r->out->gap, now - s->t_last);
	s->t_last = now;
	if (s->measured)
		r->out->chunks++;
}

static void rb_on_end(void *arg, uint32_t slot, uint64_t now, int ok)
{
	struct rb_run *r = arg;
	if (slot >= r->max || !r->slots[slot].busy)
		return;
	struct rb_slot *s = &r->slots[slot];
	if (s->measured) {
		/* A stream that ended cleanly without content has no first
		 * chunk to report; count it as a failure of the benchmark. */
		if (ok && s->t_first) {
			r->out->ok++;
			rb_samples_add(&r->out->first, s->t_first - s->t_sched);
			rb_samples_add(&r->out->total, now - s->t_sched);
		} else {
			r->out->failed++;
		}
		r->last_end = now;
	}
	s->busy = 0;
	r->free[r->nfree++] = slot;
	r->ended++;
}

struct rb_run *rb_run_new(unsigned max_inflight)
{
	struct rb_run *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->slots = calloc(max_inflight, sizeof *r->slots);
	r->free = calloc(max_inflight, sizeof *r->free);
	if (!r->slots || !r->free) {
		rb_run_free(r);
		return NULL;
	}
	r->max = max_inflight;
	r->sink = (struct rb_sink){ .on_chunk = rb_on_chunk, .on_end = rb_on_end, .arg = r };
	return r;
}

const struct rb_sink *rb_run_sink(struct rb_run *r)
{
	return &r->sink;
}

void rb_run_free(struct rb_run *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r->free);
	free(r);
}

void rb_phase_free(struct rb_phase *p)
{
	rb_samples_free(&p->first);
	rb_samples_free(&p->gap);
	rb_samples_free(&p->total);
	rb_samples_free(&p->lag);
}

static void rb_phase_reset(struct rb_phase *p)
{
	rb_samples_clear(&p->first);
	rb_samples_clear(&p->gap);
	rb_samples_clear(&p->total);
	rb_samples_clear(&p->lag);
	p->ok = p->failed = p->late = 0;
	p->chunks = p->wall_ns = p->srv_cpu_ns = p->cli_cpu_ns = 0;
	p->srv_rss_kb = -1;
}

/* CPU counters at the start of the measured part. */
struct rb_mark {
	uint64_t t, srv, cli;
};

static void rb_mark_now(struct rb_mark *m, pid_t srv)
{
	m->srv = srv > 0 ? rb_proc_cpu_ns(srv) : 0;
	m->cli = rb_proc_self_cpu_ns();
	m->t = rb_now_ns();
}

int rb_run_phase(struct rb_run *r, const struct rb_mode_ops *ops, void *st,
		 const struct rb_shape *sh, struct rb_phase *out)
{
	rb_phase_reset(out);
	r->out = out;
	r->ended = 0;
	r->last_end = 0;
	r->nfree = 0;
	for (unsigned i = r->max; i-- > 0;) {
		r->slots[i].busy = 0;
		r->free[r->nfree++] = i;
	}
	unsigned conc = sh->kind == RB_SEQUENTIAL ? 1 : sh->kind == RB_CLOSED ? sh->conc : r->max;
	if (conc < 1 || conc > r->max)
		conc = r->max;
	const unsigned total = sh->warm + sh->n;
	const uint64_t period = sh->kind == RB_OPEN ? (uint64_t)(1e9 / sh->rate) : 0;
	pid_t srv = ops->server_pid ? ops->server_pid(st) : 0;
	struct rb_mark mark = { 0 };
	uint64_t t0 = rb_now_ns(), first_sched = 0;
	unsigned started = 0;
	while (r->ended < total) {
		uint64_t now = rb_now_ns();
		/* Start whatever is due and has a slot. */
		while (started < total && r->max - r->nfree < conc && r->nfree) {
			uint64_t sched = period ? t0 + (uint64_t)started * period : now;
			if (sched > now)
				break;
			if (started == sh->warm) {
				rb_mark_now(&mark, srv);
				/* The open schedule is not shifted by the warm-up's
				 * end: the first measured arrival is when it was due. */
				first_sched = period ? sched : mark.t;
			}
			uint32_t slot = r->free[--r->nfree];
			struct rb_slot *s = &r->slots[slot];
			*s = (struct rb_slot){ .t_sched = sched, .busy = 1,
					       .measured = started >= sh->warm };
			if (period && s->measured) {
				rb_samples_add(&out->lag, now - sched);
				if (now - sched > RB_LATE_NS)
					out->late++;
			}
			if (ops->start(st, slot) < 0)
				return -1;
			started++;
			now = rb_now_ns();
		}
		uint64_t deadline = UINT64_MAX;
		if (period && started < total)
			deadline = t0 + (uint64_t)started * period;
		if (r->nfree == r->max && deadline == UINT64_MAX)
			break; /* nothing in flight and nothing to start: cannot happen */
		now = rb_now_ns();
		if (period && deadline != UINT64_MAX && r->nfree == r->max && deadline > now) {
			/* Idle open loop: sleep to the lead, spin the rest. */
			if (deadline - now > RB_LEAD_NS) {
				if (ops->wait(st, deadline - RB_LEAD_NS) < 0)
					return -1;
			} else {
				while (rb_now_ns() < deadline)
					for (int i = 0; i < 64; i++)
						shm_cpu_relax();
			}
			continue;
		}
		if (r->nfree < r->max || deadline > now)
			if (ops->wait(st, deadline) < 0)
				return -1;
	}
	out->cli_cpu_ns = rb_proc_self_cpu_ns() - mark.cli;
	if (srv > 0) {
		out->srv_cpu_ns = rb_proc_cpu_ns(srv) - mark.srv;
		out->srv_rss_kb = rb_proc_rss_kb(srv);
	}
	out->wall_ns = r->last_end > first_sched ? r->last_end - first_sched : 0;
	return 0;
}
