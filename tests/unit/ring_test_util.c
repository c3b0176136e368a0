/*
 * ring_test_util.c — helpers shared by the ring tests; see ring_test_util.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring_test_util.h"

/* xorshift64*: deterministic, so producer and consumer can each derive the
 * same length and bytes from a frame's sequence number. */
uint64_t rtu_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

uint64_t rtu_seed(uint64_t n)
{
	return (n * 0x9E3779B97F4A7C15ull) | 1;
}

void rtu_fill(uint8_t *p, uint32_t len, uint64_t seq)
{
	uint64_t s = rtu_seed(seq), v;
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8) {
		v = rtu_rand(&s);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		v = rtu_rand(&s);
		memcpy(p + i, &v, len - i);
	}
}

/* 1 when p holds exactly what rtu_fill(seq) wrote; *sum accumulates a
 * checksum the two sides of a stress test compare at the end. */
int rtu_check(const uint8_t *p, uint32_t len, uint64_t seq, uint64_t *sum)
{
	uint64_t s = rtu_seed(seq), v, w = 0;
	uint32_t i = 0;
	int ok = 1;
	for (; i + 8 <= len; i += 8) {
		v = rtu_rand(&s);
		memcpy(&w, p + i, 8);
		ok &= v == w;
		*sum = (*sum ^ w) * 0x100000001B3ull;
	}
	if (i < len) {
		v = rtu_rand(&s);
		w = 0;
		memcpy(&w, p + i, len - i);
		uint64_t m = ~0ull >> (8 * (8 - (len - i)));
		ok &= (v & m) == w;
		*sum = (*sum ^ w) * 0x100000001B3ull;
	}
	return ok;
}

/* Both views of one ring in private memory, with head and tail starting at
 * `start` (a multiple of 8) so a test can begin anywhere in a lap. */
void rtu_open_at(struct rtu_ring *t, uint32_t size, uint64_t start)
{
	t->size = size;
	t->ctl = aligned_alloc(RING_CACHELINE, sizeof *t->ctl);
	t->data = malloc(size);
	cr_assert(t->ctl && t->data);
	memset(t->ctl, 0, sizeof *t->ctl);
	ring_ctl_reset(t->ctl);
	atomic_store(&t->ctl->head, start);
	atomic_store(&t->ctl->tail, start);
	memset(t->data, RTU_FILL, size);
	cr_assert_eq(ring_init_view(&t->p, t->ctl, t->data, size, 1), 0);
	cr_assert_eq(ring_init_view(&t->c, t->ctl, t->data, size, 0), 0);
}

void rtu_open(struct rtu_ring *t, uint32_t size)
{
	rtu_open_at(t, size, 0);
}

void rtu_close(struct rtu_ring *t)
{
	free(t->ctl);
	free(t->data);
}

uint64_t rtu_tail(const struct rtu_ring *t)
{
	return atomic_load(&t->ctl->tail);
}

uint64_t rtu_head(const struct rtu_ring *t)
{
	return atomic_load(&t->ctl->head);
}

uint16_t rtu_type(uint64_t seq)
{
	return (uint16_t)(1 + seq % 1000);
}

/* Push frame `seq` of `len` bytes and check the outcome against the layout
 * rule, computed here independently of ring.h: the record goes at the tail
 * unless it would cross the lap end; then the rest of the lap is skipped,
 * with a PAD record when it can hold a header. -EAGAIN exactly when the free
 * bytes cannot hold skip + record. Returns 0 or -EAGAIN. */
int rtu_push(struct rtu_ring *t, struct rtu_q *q, uint32_t len, uint64_t seq)
{
	uint64_t tail = rtu_tail(t), head = rtu_head(t);
	uint32_t rec = (16 + len + 7) & ~7u;
	uint32_t off = (uint32_t)(tail % t->size), rem = t->size - off;
	uint32_t skip = rem < rec ? rem : 0;
	uint64_t room = t->size - (tail - head);
	struct ring_frame *f;
	int rc = ring_reserve(&t->p, len, &f);
	if (room < (uint64_t)skip + rec) {
		cr_assert_eq(rc, -EAGAIN, "len %u room %lu need %u: rc %d", len,
			     (unsigned long)room, skip + rec, rc);
		q->eagain++;
		return -EAGAIN;
	}
	cr_assert_eq(rc, 0, "len %u room %lu need %u: rc %d", len, (unsigned long)room,
		     skip + rec, rc);
	cr_assert_eq((uint8_t *)f, t->data + (tail + skip) % t->size);
	rtu_fill(ring_payload(f), len, seq);
	ring_commit(&t->p, f, len, rtu_type(seq), (uint16_t)(seq >> 3), seq);
	cr_assert_eq(rtu_tail(t), tail + skip + rec);
	if (skip >= 16) {
		struct ring_frame pad;
		memcpy(&pad, t->data + off, sizeof pad);
		cr_assert_eq(pad.type, RING_T_PAD);
		cr_assert_eq(pad.len, skip - 16);
		q->pads++;
	} else if (skip) {
		q->skips++;
	}
	cr_assert(q->tail - q->head < RTU_QCAP);
	q->len[q->tail % RTU_QCAP] = len;
	q->seq[q->tail % RTU_QCAP] = seq;
	q->tail++;
	return 0;
}

/* Consume the oldest expected frame and compare every byte. */
void rtu_pop(struct rtu_ring *t, struct rtu_q *q)
{
	struct ring_frame h;
	const uint8_t *pl;
	uint64_t sum = 0;
	cr_assert(q->head < q->tail);
	uint32_t len = q->len[q->head % RTU_QCAP];
	uint64_t seq = q->seq[q->head % RTU_QCAP];
	int rc = ring_peek(&t->c, &h, &pl);
	cr_assert_eq(rc, 1, "seq %lu: peek %d", (unsigned long)seq, rc);
	cr_assert_eq(h.len, len);
	cr_assert_eq(h.type, rtu_type(seq));
	cr_assert_eq(h.flags, (uint16_t)(seq >> 3));
	cr_assert_eq(h.stream, seq);
	cr_assert(pl >= t->data + 16 && pl + len <= t->data + t->size);
	cr_assert(rtu_check(pl, len, seq, &sum), "seq %lu: payload differs", (unsigned long)seq);
	ring_release(&t->c);
	q->head++;
	if (q->head == q->tail) {
		cr_assert_eq(ring_peek(&t->c, &h, &pl), 0);
		cr_assert_eq(rtu_head(t), rtu_tail(t));
	}
}

void rtu_drain(struct rtu_ring *t, struct rtu_q *q)
{
	while (q->head < q->tail)
		rtu_pop(t, q);
}

struct rtu_q *rtu_q_new(void)
{
	struct rtu_q *q = calloc(1, sizeof *q);
	cr_assert(q);
	return q;
}
