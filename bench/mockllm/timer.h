/*
 * timer.h — a binary min-heap of deadlines, one per worker.
 *
 * Every paced response (ttft, itl, slow headers, lingering close) keeps one
 * struct ml_timer in its connection; arming, moving and cancelling are
 * O(log n) with no allocation once the heap has grown to the number of
 * connections. The loop sleeps until the earliest deadline.
 */
#ifndef ML_TIMER_H
#define ML_TIMER_H

#include <stddef.h>
#include <stdint.h>

#define ML_TIMER_IDLE SIZE_MAX

struct ml_timer {
	uint64_t at;  /* deadline, CLOCK_MONOTONIC ns */
	size_t slot;  /* index in the heap, ML_TIMER_IDLE when not armed */
};

struct ml_heap {
	struct ml_timer **v;
	size_t n, cap;
};

static inline void ml_timer_init(struct ml_timer *t)
{
	t->slot = ML_TIMER_IDLE;
}

/* Arm t at `at`, or move it there when it is armed already. */
void ml_heap_set(struct ml_heap *h, struct ml_timer *t, uint64_t at);

/* Disarm t; a no-op when it is not armed. */
void ml_heap_del(struct ml_heap *h, struct ml_timer *t);

/* Remove and return the earliest timer if it is due at `now`, else NULL. */
struct ml_timer *ml_heap_pop_due(struct ml_heap *h, uint64_t now);

/* The earliest deadline, or UINT64_MAX when nothing is armed. */
static inline uint64_t ml_heap_next(const struct ml_heap *h)
{
	return h->n ? h->v[0]->at : UINT64_MAX;
}

void ml_heap_free(struct ml_heap *h);

#endif
