/*
 * loop.c — io_uring loop, timer heap and spin-then-sleep (see loop.h).
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "shm/relax.h"

/* Completions handled per peek: enough to amortise, small enough to stay on
 * the stack. */
#define LOOP_BATCH 64

uint64_t loop_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int loop_init(struct loop *l, unsigned entries, uint64_t spin_ns)
{
	memset(l, 0, sizeof *l);
	/* Best first: SINGLE_ISSUER + COOP_TASKRUN + TASKRUN_FLAG lets a
	 * spinning loop see completions without an interrupt, and notice
	 * pending task work through a flag instead of a system call
	 * (DESIGN.md: ~2 us instead of ~11 us per hop). Older kernels get
	 * the plain ring. */
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	int rc = -EINVAL;
	for (unsigned i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		struct io_uring_params p = { .flags = tries[i] | IORING_SETUP_CLAMP };
		rc = io_uring_queue_init_params(entries, &l->ring, &p);
		if (rc == 0) {
			l->setup_flags = tries[i];
			break;
		}
		if (rc != -EINVAL)
			return rc;
	}
	if (rc)
		return rc;
	l->ready = 1;
	l->spin_ns = spin_ns;
	l->gap_hits = UINT16_MAX; /* spin from the start, as if it had paid */
	l->now = loop_clock_ns();
	return 0;
}

void loop_free(struct loop *l)
{
	if (l->ready)
		io_uring_queue_exit(&l->ring);
	l->ready = 0;
	free(l->heap);
	l->heap = NULL;
}

struct io_uring_sqe *loop_sqe(struct loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	while (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

void loop_cancel(struct loop *l, struct loop_op *op)
{
	struct io_uring_sqe *sqe = loop_sqe(l);
	/* ASYNC_CANCEL, not POLL_REMOVE: removing a multishot poll can fail with
	 * -EALREADY while a wake-up owns it (DESIGN.md pitfalls). The cancel's
	 * own completion carries no op. */
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data(sqe, NULL);
}

/* ---- timer heap ------------------------------------------------------------ */

static void heap_set(struct loop *l, uint32_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->idx = i;
}

static void heap_up(struct loop *l, uint32_t i)
{
	struct loop_timer *t = l->heap[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (l->heap[p]->when <= t->when)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, uint32_t i)
{
	struct loop_timer *t = l->heap[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[c]->when)
			c++;
		if (l->heap[c]->when >= t->when)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	if (t->idx == LOOP_TIMER_IDLE)
		return;
	uint32_t i = t->idx;
	t->idx = LOOP_TIMER_IDLE;
	struct loop_timer *last = l->heap[--l->nheap];
	if (i == l->nheap)
		return;
	heap_set(l, i, last);
	heap_down(l, i);
	heap_up(l, last->idx);
}

int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t when)
{
	loop_timer_cancel(l, t);
	if (l->nheap == l->capheap) {
		uint32_t cap = l->capheap ? l->capheap * 2 : 256;
		struct loop_timer **h = realloc(l->heap, cap * sizeof *h);
		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->when = when;
	heap_set(l, l->nheap++, t);
	heap_up(l, t->idx);
	return 0;
}

static int loop_run_timers(struct loop *l)
{
	int n = 0;
	while (l->nheap && l->heap[0]->when <= l->now) {
		struct loop_timer *t = l->heap[0];
		loop_timer_cancel(l, t);
		t->fn(t);
		n++;
	}
	return n;
}

/* ---- running -------------------------------------------------------------- */

static int loop_reap(struct loop *l)
{
	struct io_uring_cqe *cqes[LOOP_BATCH];
	int total = 0;
	for (;;) {
		unsigned n = io_uring_peek_batch_cqe(&l->ring, cqes, LOOP_BATCH);
		for (unsigned i = 0; i < n; i++) {
			struct loop_op *op = io_uring_cqe_get_data(cqes[i]);
			int res = cqes[i]->res;
			unsigned flags = cqes[i]->flags;
			if (op)
				op->cb(op, res, flags);
		}
		io_uring_cq_advance(&l->ring, n);
		total += (int)n;
		if (n < LOOP_BATCH)
			return total;
	}
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}

/* Work came: if an idle gap was being timed, remember whether a spin would
 * have caught it. */
static void loop_gap_end(struct loop *l)
{
	if (!l->idle_open)
		return;
	l->idle_open = 0;
	l->gap_hits = (uint16_t)(l->gap_hits << 1 | (l->now - l->idle_since < l->spin_ns));
}

/* The spin budget of an idle pass that began at last_work. */
static uint64_t loop_spin_budget(struct loop *l, uint64_t last_work)
{
	if (!l->hooks.busy)
		return l->spin_ns;
	if (!l->idle_open) {
		if (l->hooks.busy(l->hooks.arg))
			return l->spin_ns;
		l->idle_open = 1;
		l->idle_since = last_work;
		if (__builtin_popcount(l->gap_hits) < LOOP_SPIN_HITS_MIN)
			l->spins_skipped++;
	}
	return __builtin_popcount(l->gap_hits) >= LOOP_SPIN_HITS_MIN ? l->spin_ns : 0;
}

int loop_run(struct loop *l)
{
	uint64_t last_work = loop_clock_ns();
	while (!l->stop) {
		l->now = loop_clock_ns();
		l->iterations++;
		int work = loop_run_timers(l);
		work += l->hooks.poll(l->hooks.arg);
		work += loop_reap(l);
		if (io_uring_sq_ready(&l->ring)) {
			int rc = io_uring_submit(&l->ring);
			if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
				return rc;
		}
		if (work) {
			loop_gap_end(l);
			last_work = l->now;
			continue;
		}
		/* Completions waiting for task work: run it (COOP_TASKRUN). */
		if (IO_URING_READ_ONCE(*l->ring.sq.kflags) & IORING_SQ_TASKRUN) {
			io_uring_get_events(&l->ring);
			continue;
		}
		/* With nothing in flight, a client reading what we wrote is
		 * what comes before its next request (loop.h). With requests
		 * in flight the spin runs anyway, and restarting it on every
		 * read would keep a busy sidecar from ever yielding its CPU. */
		if (l->hooks.progress && l->hooks.busy && !l->hooks.busy(l->hooks.arg)) {
			uint64_t p = l->hooks.progress(l->hooks.arg);
			if (p != l->progress) {
				l->progress = p;
				last_work = l->now;
				l->idle_since = l->now;
			}
		}
		if (l->now - last_work < loop_spin_budget(l, last_work)) {
			shm_cpu_relax();
			continue;
		}
		if (l->hooks.before_sleep(l->hooks.arg)) {
			l->hooks.after_wake(l->hooks.arg);
			last_work = l->now;
			continue;
		}
		struct __kernel_timespec ts, *tsp = NULL;
		if (l->nheap) {
			uint64_t when = l->heap[0]->when;
			uint64_t d = when > l->now ? when - l->now : 0;
			ts.tv_sec = (long long)(d / 1000000000u);
			ts.tv_nsec = (long long)(d % 1000000000u);
			tsp = &ts;
		}
		l->sleeps++;
		struct io_uring_cqe *cqe;
		int rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, tsp, NULL);
		l->hooks.after_wake(l->hooks.arg);
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			log_error("io_uring wait failed: %s", strerror(-rc));
			return rc;
		}
		l->wakeups++;
		last_work = loop_clock_ns();
	}
	return 0;
}
