/*
 * timer.c — the deadline heap (see timer.h).
 */
#include "timer.h"

#include <stdlib.h>

#include "buf.h"

static void place(struct ml_heap *h, size_t i, struct ml_timer *t)
{
	h->v[i] = t;
	t->slot = i;
}

static void sift_up(struct ml_heap *h, size_t i)
{
	struct ml_timer *t = h->v[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->v[parent]->at <= t->at)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void sift_down(struct ml_heap *h, size_t i)
{
	struct ml_timer *t = h->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->at < h->v[c]->at)
			c++;
		if (t->at <= h->v[c]->at)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, t);
}

void ml_heap_set(struct ml_heap *h, struct ml_timer *t, uint64_t at)
{
	if (t->slot != ML_TIMER_IDLE) {
		uint64_t old = t->at;
		t->at = at;
		if (at < old)
			sift_up(h, t->slot);
		else
			sift_down(h, t->slot);
		return;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct ml_timer **v = realloc(h->v, cap * sizeof *v);
		if (!v)
			ml_die("out of memory growing the timer heap");
		h->v = v;
		h->cap = cap;
	}
	t->at = at;
	place(h, h->n++, t);
	sift_up(h, t->slot);
}

void ml_heap_del(struct ml_heap *h, struct ml_timer *t)
{
	size_t i = t->slot;
	if (i == ML_TIMER_IDLE)
		return;
	t->slot = ML_TIMER_IDLE;
	struct ml_timer *last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	if (i > 0 && h->v[(i - 1) / 2]->at > last->at)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct ml_timer *ml_heap_pop_due(struct ml_heap *h, uint64_t now)
{
	if (!h->n || h->v[0]->at > now)
		return NULL;
	struct ml_timer *t = h->v[0];
	ml_heap_del(h, t);
	return t;
}

void ml_heap_free(struct ml_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
