/*
 * test_ring.c — the SPSC frame ring: layout rules (pads, implicit skips,
 * exact -EAGAIN), byte-for-byte round trips over many laps, the wake-up
 * protocol under a two-thread stress, and a consumer or producer facing
 * hostile indices and lengths (run these under ASan: the data array is its
 * own heap block, so any read outside it is reported).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "shm/ring.h"

#if defined(__SANITIZE_ADDRESS__)
#define TR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TR_ASAN 1
#endif
#endif
#ifndef TR_ASAN
#define TR_ASAN 0
#endif

/* Fill byte for fresh ring memory: lets a test see that bytes nobody should
 * write (an implicit skip) were left alone. */
#define TR_FILL 0xEE

/* ---- helpers --------------------------------------------------------------- */

/* xorshift64*: deterministic, so producer and consumer can each derive the
 * same length and bytes from a frame's sequence number. */
static uint64_t tr_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t tr_seed(uint64_t n)
{
	return (n * 0x9E3779B97F4A7C15ull) | 1;
}

static void tr_fill(uint8_t *p, uint32_t len, uint64_t seq)
{
	uint64_t s = tr_seed(seq), v;
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8) {
		v = tr_rand(&s);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		v = tr_rand(&s);
		memcpy(p + i, &v, len - i);
	}
}

/* 1 when p holds exactly what tr_fill(seq) wrote; *sum accumulates a
 * checksum the two sides of a stress test compare at the end. */
static int tr_check(const uint8_t *p, uint32_t len, uint64_t seq, uint64_t *sum)
{
	uint64_t s = tr_seed(seq), v, w = 0;
	uint32_t i = 0;
	int ok = 1;
	for (; i + 8 <= len; i += 8) {
		v = tr_rand(&s);
		memcpy(&w, p + i, 8);
		ok &= v == w;
		*sum = (*sum ^ w) * 0x100000001B3ull;
	}
	if (i < len) {
		v = tr_rand(&s);
		w = 0;
		memcpy(&w, p + i, len - i);
		uint64_t m = ~0ull >> (8 * (8 - (len - i)));
		ok &= (v & m) == w;
		*sum = (*sum ^ w) * 0x100000001B3ull;
	}
	return ok;
}

struct tring {
	struct ring_ctl *ctl;
	uint8_t *data;
	uint32_t size;
	struct ring p, c;
};

/* Both views of one ring in private memory, with head and tail starting at
 * `start` (a multiple of 8) so a test can begin anywhere in a lap. */
static void tr_open_at(struct tring *t, uint32_t size, uint64_t start)
{
	t->size = size;
	t->ctl = aligned_alloc(RING_CACHELINE, sizeof *t->ctl);
	t->data = malloc(size);
	cr_assert(t->ctl && t->data);
	memset(t->ctl, 0, sizeof *t->ctl);
	ring_ctl_reset(t->ctl);
	atomic_store(&t->ctl->head, start);
	atomic_store(&t->ctl->tail, start);
	memset(t->data, TR_FILL, size);
	cr_assert_eq(ring_init_view(&t->p, t->ctl, t->data, size, 1), 0);
	cr_assert_eq(ring_init_view(&t->c, t->ctl, t->data, size, 0), 0);
}

static void tr_open(struct tring *t, uint32_t size)
{
	tr_open_at(t, size, 0);
}

static void tr_close(struct tring *t)
{
	free(t->ctl);
	free(t->data);
}

static uint64_t tr_tail(const struct tring *t)
{
	return atomic_load(&t->ctl->tail);
}

static uint64_t tr_head(const struct tring *t)
{
	return atomic_load(&t->ctl->head);
}

/* Frames the tests expect, in ring order. A ring of at most 64 KiB holds at
 * most 4096 records of 16 bytes. */
#define TR_QCAP 4096u
struct tr_q {
	uint32_t len[TR_QCAP];
	uint64_t seq[TR_QCAP];
	uint64_t head, tail;
	uint64_t pads, skips, eagain;
};

static uint16_t tr_type(uint64_t seq)
{
	return (uint16_t)(1 + seq % 1000);
}

/* Push frame `seq` of `len` bytes and check the outcome against the layout
 * rule, computed here independently of ring.h: the record goes at the tail
 * unless it would cross the lap end; then the rest of the lap is skipped,
 * with a PAD record when it can hold a header. -EAGAIN exactly when the free
 * bytes cannot hold skip + record. Returns 0 or -EAGAIN. */
static int tr_push(struct tring *t, struct tr_q *q, uint32_t len, uint64_t seq)
{
	uint64_t tail = tr_tail(t), head = tr_head(t);
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
	tr_fill(ring_payload(f), len, seq);
	ring_commit(&t->p, f, len, tr_type(seq), (uint16_t)(seq >> 3), seq);
	cr_assert_eq(tr_tail(t), tail + skip + rec);
	if (skip >= 16) {
		struct ring_frame pad;
		memcpy(&pad, t->data + off, sizeof pad);
		cr_assert_eq(pad.type, RING_T_PAD);
		cr_assert_eq(pad.len, skip - 16);
		q->pads++;
	} else if (skip) {
		q->skips++;
	}
	cr_assert(q->tail - q->head < TR_QCAP);
	q->len[q->tail % TR_QCAP] = len;
	q->seq[q->tail % TR_QCAP] = seq;
	q->tail++;
	return 0;
}

/* Consume the oldest expected frame and compare every byte. */
static void tr_pop(struct tring *t, struct tr_q *q)
{
	struct ring_frame h;
	const uint8_t *pl;
	uint64_t sum = 0;
	cr_assert(q->head < q->tail);
	uint32_t len = q->len[q->head % TR_QCAP];
	uint64_t seq = q->seq[q->head % TR_QCAP];
	int rc = ring_peek(&t->c, &h, &pl);
	cr_assert_eq(rc, 1, "seq %lu: peek %d", (unsigned long)seq, rc);
	cr_assert_eq(h.len, len);
	cr_assert_eq(h.type, tr_type(seq));
	cr_assert_eq(h.flags, (uint16_t)(seq >> 3));
	cr_assert_eq(h.stream, seq);
	cr_assert(pl >= t->data + 16 && pl + len <= t->data + t->size);
	cr_assert(tr_check(pl, len, seq, &sum), "seq %lu: payload differs", (unsigned long)seq);
	ring_release(&t->c);
	q->head++;
	if (q->head == q->tail) {
		cr_assert_eq(ring_peek(&t->c, &h, &pl), 0);
		cr_assert_eq(tr_head(t), tr_tail(t));
	}
}

static void tr_drain(struct tring *t, struct tr_q *q)
{
	while (q->head < q->tail)
		tr_pop(t, q);
}

static struct tr_q *tr_q_new(void)
{
	struct tr_q *q = calloc(1, sizeof *q);
	cr_assert(q);
	return q;
}

/* ---- layout ------------------------------------------------------------------ */

Test(ring, empty)
{
	struct tring t;
	struct ring_frame h;
	const uint8_t *pl;
	tr_open(&t, 4096);
	cr_assert_eq(t.p.max_payload, 4096 / 4 - 16);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
	cr_assert_eq(ring_maybe_nonempty(&t.c), 0);
	/* Releasing with nothing peeked must not move the head. */
	ring_release(&t.c);
	cr_assert_eq(tr_head(&t), 0);
	cr_assert_eq(ring_refresh_head(&t.p), 4096);
	tr_close(&t);
}

Test(ring, full_eagain_exact)
{
	struct tring t;
	struct tr_q *q = tr_q_new();
	struct ring_frame *f;
	tr_open(&t, 4096);
	/* Empty frames are 16-byte records: exactly 256 fit. */
	for (uint64_t i = 0; i < 256; i++)
		cr_assert_eq(tr_push(&t, q, 0, i), 0);
	cr_assert_eq(ring_reserve(&t.p, 0, &f), -EAGAIN);
	tr_pop(&t, q);
	cr_assert_eq(tr_push(&t, q, 0, 256), 0);
	cr_assert_eq(tr_push(&t, q, 0, 257), -EAGAIN);
	tr_drain(&t, q);
	free(q);
	tr_close(&t);

	/* Largest frames are a quarter of the ring: exactly four fit, then one
	 * more each time one leaves, always filling the ring to the byte. */
	q = tr_q_new();
	tr_open(&t, 4096);
	uint32_t mp = t.p.max_payload;
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(tr_push(&t, q, mp, 1000 + i), 0);
	cr_assert_eq(tr_tail(&t) - tr_head(&t), 4096);
	cr_assert_eq(ring_reserve(&t.p, 0, &f), -EAGAIN);
	for (uint64_t i = 0; i < 64; i++) {
		tr_pop(&t, q);
		cr_assert_eq(tr_push(&t, q, mp, 2000 + i), 0);
		cr_assert_eq(tr_push(&t, q, 0, 3000 + i), -EAGAIN);
	}
	/* Leave 8 bytes free: less than the smallest record. */
	tr_pop(&t, q);
	cr_assert_eq(tr_push(&t, q, mp - 8, 4000), 0);
	cr_assert_eq(tr_push(&t, q, 0, 4001), -EAGAIN);
	cr_assert_eq(q->pads + q->skips, 0);
	tr_drain(&t, q);
	cr_assert_eq(q->eagain, 65);
	free(q);
	tr_close(&t);
}

Test(ring, wrap_with_pad)
{
	struct tring t;
	struct tr_q *q = tr_q_new();
	/* 40 bytes left in the lap; a 48-byte record does not fit. */
	tr_open_at(&t, 4096, 3 * 4096 + 4096 - 40);
	cr_assert_eq(tr_push(&t, q, 32, 1), 0);
	cr_assert_eq(q->pads, 1);
	cr_assert_eq(tr_tail(&t), 4 * 4096 + 48);
	tr_pop(&t, q);
	cr_assert_eq(tr_head(&t), 4 * 4096 + 48);

	/* The largest pad: a lap end with room for just under one max frame. */
	tr_close(&t);
	tr_open_at(&t, 4096, 4096 - 1016);
	cr_assert_eq(tr_push(&t, q, t.p.max_payload, 2), 0);
	cr_assert_eq(q->pads, 2);
	tr_pop(&t, q);

	/* The smallest pad: 16 bytes, a header with len 0. */
	tr_close(&t);
	tr_open_at(&t, 4096, 4096 - 16);
	cr_assert_eq(tr_push(&t, q, 1, 3), 0);
	cr_assert_eq(q->pads, 3);
	/* The consumer skips the pad even when it peeks twice. */
	struct ring_frame h;
	const uint8_t *pl;
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(tr_head(&t), 4096, "the pad's bytes are released at once");
	tr_pop(&t, q);

	/* A record that fits exactly up to the lap end needs no pad. */
	tr_close(&t);
	tr_open_at(&t, 4096, 4096 - 48);
	cr_assert_eq(tr_push(&t, q, 32, 4), 0);
	cr_assert_eq(q->pads, 3);
	cr_assert_eq(tr_tail(&t), 4096);
	tr_pop(&t, q);
	free(q);
	tr_close(&t);
}

Test(ring, implicit_skip_at_lap_end)
{
	struct tring t;
	struct tr_q *q = tr_q_new();
	tr_open(&t, 4096);
	/* Reach the last 8 bytes of the lap through real frames: three
	 * 1024-byte records and one of 1016 end at 4088. */
	uint32_t mp = t.p.max_payload;
	for (uint64_t i = 0; i < 3; i++)
		cr_assert_eq(tr_push(&t, q, mp, i), 0);
	tr_pop(&t, q);
	cr_assert_eq(tr_push(&t, q, mp - 8, 3), 0);
	cr_assert_eq(tr_tail(&t), 4088);
	/* The consumer may sit right at the 8-byte remnant: that is an empty
	 * ring, not a corrupt one. */
	tr_drain(&t, q);
	cr_assert_eq(tr_head(&t), 4088);
	memset(t.data + 4088, TR_FILL, 8);
	/* The next record cannot have a PAD header in 8 bytes: it goes to the
	 * start of the next lap and the remnant is skipped on both sides. */
	cr_assert_eq(tr_push(&t, q, 0, 4), 0);
	cr_assert_eq(q->skips, 1);
	cr_assert_eq(q->pads, 0);
	cr_assert_eq(tr_tail(&t), 4096 + 16);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(t.data[4088 + i], TR_FILL, "skipped bytes are never written");
	tr_pop(&t, q);
	cr_assert_eq(tr_head(&t), 4096 + 16);

	/* Start right at the remnant and fill the ring: the 8 skipped bytes count
	 * as used until the consumer passes them, so the ring is full after
	 * 4088 bytes of records. */
	tr_close(&t);
	tr_open_at(&t, 4096, 4096 - 8);
	cr_assert_eq(tr_push(&t, q, 0, 5), 0);
	cr_assert_eq(q->skips, 2);
	for (uint64_t i = 0; i < 3; i++)
		cr_assert_eq(tr_push(&t, q, mp, 6 + i), 0);
	/* Used: 8 + 16 + 3 * 1024 = 3096; 1000 free. */
	cr_assert_eq(tr_push(&t, q, 1000 - 16, 9), 0);
	cr_assert_eq(tr_push(&t, q, 0, 10), -EAGAIN);
	tr_drain(&t, q);
	free(q);
	tr_close(&t);
}

Test(ring, max_payload_boundary)
{
	for (uint32_t size = RING_MIN_SIZE; size <= (1u << 20); size <<= 1) {
		struct tring t;
		struct tr_q *q = tr_q_new();
		struct ring_frame *f;
		tr_open(&t, size);
		uint32_t mp = size / 4 - 16;
		cr_assert_eq(t.p.max_payload, mp);
		cr_assert_eq(t.c.max_payload, mp);
		cr_assert_eq(ring_reserve(&t.p, mp + 1, &f), -EMSGSIZE);
		cr_assert_eq(ring_reserve(&t.p, UINT32_MAX, &f), -EMSGSIZE);
		cr_assert_eq(ring_push(&t.p, 1, 0, 1, t.data, mp + 1), -EMSGSIZE);
		cr_assert_eq(tr_tail(&t), 0, "a refused frame changes nothing");
		for (uint64_t i = 0; i < 9; i++) {
			cr_assert_eq(tr_push(&t, q, mp - (uint32_t)(i % 2), i), 0);
			tr_pop(&t, q);
		}
		free(q);
		tr_close(&t);
	}
}

Test(ring, commit_shorter_than_reserved)
{
	struct tring t;
	struct ring_frame *f, h;
	const uint8_t *pl;
	tr_open(&t, 4096);
	cr_assert_eq(ring_reserve(&t.p, 500, &f), 0);
	memcpy(ring_payload(f), "hello", 5);
	ring_commit(&t.p, f, 5, 7, 0, 42);
	cr_assert_eq(tr_tail(&t), 24, "the record is sized by the committed length");
	cr_assert_eq(ring_reserve(&t.p, 300, &f), 0);
	ring_commit(&t.p, f, 0, 8, 0, 43);
	cr_assert_eq(tr_tail(&t), 40);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.len, 5);
	cr_assert_eq(h.stream, 42);
	cr_assert_eq(memcmp(pl, "hello", 5), 0);
	ring_release(&t.c);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.len, 0);
	cr_assert_eq(h.type, 8);
	ring_release(&t.c);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
	tr_close(&t);

	/* A reservation that needed a pad keeps it even if the committed frame
	 * would have fitted before the lap end. */
	tr_open_at(&t, 4096, 4096 - 64);
	cr_assert_eq(ring_reserve(&t.p, 500, &f), 0);
	cr_assert_eq((uint8_t *)f, t.data);
	ring_commit(&t.p, f, 3, 9, 0, 44);
	cr_assert_eq(tr_tail(&t), 4096 + 24);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.len, 3);
	cr_assert_eq(h.stream, 44);
	ring_release(&t.c);
	cr_assert_eq(tr_head(&t), 4096 + 24);
	tr_close(&t);

	/* A reservation abandoned without commit publishes nothing. */
	tr_open(&t, 4096);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), 0);
	cr_assert_eq(tr_tail(&t), 0);
	cr_assert_eq(ring_push(&t.p, 2, 0, 45, "x", 1), 0);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.stream, 45);
	tr_close(&t);
}

/* Every length 0..max_payload, in three orders, through small rings: every
 * alignment of every record against the lap end occurs, so pads of every
 * size and implicit skips both happen many times. The consumer lags by a
 * pseudo-random number of frames. */
Test(ring, every_size_many_laps)
{
	for (uint32_t size = 4096; size <= 8192; size *= 2) {
		struct tring t;
		struct tr_q *q = tr_q_new();
		tr_open(&t, size);
		uint32_t mp = t.p.max_payload, n = mp + 1;
		uint64_t seq = 0, rs = 99;
		for (int order = 0; order < 3; order++) {
			for (uint32_t i = 0; i < n; i++) {
				uint32_t len = order == 0 ? i : order == 1 ? mp - i
							     : (uint32_t)(((uint64_t)i * 7919) % n);
				while (tr_push(&t, q, len, seq) == -EAGAIN) {
					uint64_t k = 1 + tr_rand(&rs) % 4;
					while (k-- && q->head < q->tail)
						tr_pop(&t, q);
				}
				seq++;
			}
		}
		tr_drain(&t, q);
		cr_assert_gt(tr_tail(&t) / size, 100, "many laps");
		cr_assert_gt(q->pads, 100);
		cr_assert_gt(q->skips, 0);
		free(q);
		tr_close(&t);
	}
}

/* One thread, random mix of pushes and pops, every outcome checked against
 * the model in tr_push and every byte against tr_fill. */
Test(ring, random_interleave)
{
	static const uint32_t sizes[] = { 4096, 16384, 65536 };
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		struct tring t;
		struct tr_q *q = tr_q_new();
		uint64_t rs = 7 + si;
		tr_open_at(&t, sizes[si], (uint64_t)1 << 40);
		uint32_t mp = t.p.max_payload;
		uint64_t seq = 0;
		for (int op = 0; op < 100000; op++) {
			uint64_t r = tr_rand(&rs);
			/* Pushes slightly more likely than pops, so the ring spends
			 * most of its time near full, where -EAGAIN is decided. */
			if (r % 100 < 55) {
				uint32_t len;
				switch ((r >> 8) % 4) {
				case 0:
					len = (uint32_t)((r >> 16) % 32);
					break;
				case 1:
					len = mp - (uint32_t)((r >> 16) % 32);
					break;
				default:
					len = (uint32_t)((r >> 16) % (mp + 1));
					break;
				}
				if (tr_push(&t, q, len, seq) == 0)
					seq++;
			} else if (q->head < q->tail) {
				tr_pop(&t, q);
			} else {
				struct ring_frame h;
				const uint8_t *pl;
				cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
			}
		}
		tr_drain(&t, q);
		cr_assert_gt(q->eagain, 100);
		cr_assert_gt(q->pads, 10);
		free(q);
		tr_close(&t);
	}
}

/* The wake-up words, one step at a time. */
Test(ring, wakeup_flags)
{
	struct tring t;
	struct ring_frame *f;
	tr_open(&t, 4096);
	/* Consumer: empty, so it may sleep and asks for a kick. */
	cr_assert_eq(ring_sleep_prepare(&t.c), 0);
	cr_assert_eq(atomic_load(&t.ctl->cons_waiting), 1);
	cr_assert_eq(ring_push(&t.p, 1, 0, 1, "a", 1), 0);
	cr_assert_eq(ring_consumer_sleeping(&t.p), 1);
	cr_assert_eq(ring_consumer_sleeping(&t.p), 0, "one kick per sleep");
	/* Data is there: do not sleep, and do not ask for a kick. */
	cr_assert_eq(ring_sleep_prepare(&t.c), 1);
	cr_assert_eq(atomic_load(&t.ctl->cons_waiting), 0);
	cr_assert_eq(ring_consumer_sleeping(&t.p), 0);
	ring_sleep_cancel(&t.c);

	/* Producer: fill, then wait for room for one more max frame. */
	while (ring_reserve(&t.p, t.p.max_payload, &f) == 0)
		ring_commit(&t.p, f, t.p.max_payload, 1, 0, 2);
	cr_assert_eq(ring_wait_space_prepare(&t.p, 1024), 0);
	cr_assert_eq(atomic_load(&t.ctl->prod_waiting), 1);
	cr_assert_eq(ring_producer_blocked(&t.c), 1);
	cr_assert_eq(ring_producer_blocked(&t.c), 0, "one kick per wait");
	struct ring_frame h;
	const uint8_t *pl;
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	ring_release(&t.c);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	ring_release(&t.c);
	cr_assert_eq(ring_wait_space_prepare(&t.p, 1024), 1);
	cr_assert_eq(atomic_load(&t.ctl->prod_waiting), 0);
	cr_assert_eq(ring_producer_blocked(&t.c), 0);
	tr_close(&t);
}

/* ---- two-thread stress --------------------------------------------------------- */

/* Enough to take the ring around a hundred thousand laps and through many
 * sleeps on both sides, within a few seconds even under ASan. */
#define TR_STRESS_FRAMES (TR_ASAN ? 2000000u : 3000000u)
/* Polls of the ring before a side announces that it sleeps. */
#define TR_SPIN 256

struct tr_stress {
	struct tring t;
	int data_fd;  /* producer -> consumer kicks */
	int space_fd; /* consumer -> producer kicks */
	uint64_t n;
	uint64_t prod_sum, cons_sum;
	uint64_t prod_sleeps, cons_sleeps, kicks_data, kicks_space;
	uint64_t skips, pads;
	_Atomic int stop; /* the consumer failed: the producer must not wait */
	char err[160];
};

static void tr_kick(int fd)
{
	uint64_t one = 1;
	ssize_t w = write(fd, &one, sizeof one);
	(void)w;
}

static void tr_block(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);
	(void)r;
}

/* The same length distribution on both sides, from the sequence number:
 * mostly small frames (the common case), some large ones, and empty ones. */
static uint32_t tr_stress_len(uint64_t seq, uint32_t mp)
{
	uint64_t s = tr_seed(seq ^ 0xabcdef);
	uint64_t r = tr_rand(&s);
	switch (r % 16) {
	case 0:
		return 0;
	case 1:
	case 2:
		return (uint32_t)((r >> 8) % (mp + 1));
	default:
		return (uint32_t)((r >> 8) % 128);
	}
}

static void *tr_stress_consumer(void *arg)
{
	struct tr_stress *s = arg;
	struct ring *c = &s->t.c;
	uint32_t mp = c->max_payload;
	uint64_t seq = 0;
	int spins = 0;
	while (seq < s->n) {
		struct ring_frame h;
		const uint8_t *pl;
		int rc = ring_peek(c, &h, &pl);
		if (rc == 1) {
			uint32_t len = tr_stress_len(seq, mp);
			if (h.stream != seq || h.len != len || h.type != tr_type(seq) ||
			    !tr_check(pl, h.len, seq, &s->cons_sum)) {
				snprintf(s->err, sizeof s->err,
					 "frame %lu: stream %lu len %u (want %u) type %u",
					 (unsigned long)seq, (unsigned long)h.stream, h.len, len,
					 h.type);
				goto fail;
			}
			ring_release(c);
			if (ring_producer_blocked(c)) {
				s->kicks_space++;
				tr_kick(s->space_fd);
			}
			seq++;
			spins = 0;
			continue;
		}
		if (rc < 0) {
			snprintf(s->err, sizeof s->err, "consumer: peek %d at frame %lu", rc,
				 (unsigned long)seq);
			goto fail;
		}
		if (++spins < TR_SPIN)
			continue;
		rc = ring_sleep_prepare(c);
		if (rc < 0) {
			snprintf(s->err, sizeof s->err, "consumer: sleep_prepare %d", rc);
			goto fail;
		}
		if (rc == 0) {
			tr_block(s->data_fd);
			ring_sleep_cancel(c);
			s->cons_sleeps++;
		}
		spins = 0;
	}
	return NULL;
fail:
	atomic_store(&s->stop, 1);
	tr_kick(s->space_fd);
	return NULL;
}

static void tr_stress_produce(struct tr_stress *s)
{
	struct ring *p = &s->t.p;
	uint32_t mp = p->max_payload;
	for (uint64_t seq = 0; seq < s->n; seq++) {
		uint32_t len = tr_stress_len(seq, mp);
		struct ring_frame *f;
		int spins = 0;
		for (;;) {
			int rc = ring_reserve(p, len, &f);
			if (rc == 0)
				break;
			if (rc != -EAGAIN) {
				snprintf(s->err, sizeof s->err, "producer: reserve %d", rc);
				return;
			}
			if (atomic_load_explicit(&s->stop, memory_order_relaxed))
				return;
			if (++spins < TR_SPIN)
				continue;
			/* The room the record needs, lap-end skip included. */
			uint32_t rec = ring_rec_size(len);
			uint32_t rem = p->size - (uint32_t)(p->pos & p->mask);
			rc = ring_wait_space_prepare(p, (rem < rec ? rem : 0) + rec);
			if (rc < 0) {
				snprintf(s->err, sizeof s->err, "producer: wait_space %d", rc);
				return;
			}
			if (rc == 0) {
				tr_block(s->space_fd);
				/* Woken by a stale count rather than a kick: stop asking. */
				atomic_store_explicit(&p->ctl->prod_waiting, 0, memory_order_relaxed);
				s->prod_sleeps++;
			}
			spins = 0;
		}
		uint64_t before = p->pos;
		tr_fill(ring_payload(f), len, seq);
		ring_commit(p, f, len, tr_type(seq), (uint16_t)(seq >> 3), seq);
		uint64_t used = p->pos - before, rec = ring_rec_size(len);
		if (used - rec >= 16)
			s->pads++;
		else if (used != rec)
			s->skips++;
		if (ring_consumer_sleeping(p)) {
			s->kicks_data++;
			tr_kick(s->data_fd);
		}
	}
}

Test(ring_stress, two_threads_wakeups, .timeout = 120)
{
	struct tr_stress *s = calloc(1, sizeof *s);
	cr_assert(s);
	tr_open(&s->t, 4096);
	s->n = TR_STRESS_FRAMES;
	s->data_fd = eventfd(0, EFD_CLOEXEC);
	s->space_fd = eventfd(0, EFD_CLOEXEC);
	cr_assert(s->data_fd >= 0 && s->space_fd >= 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, tr_stress_consumer, s), 0);
	tr_stress_produce(s);
	if (s->err[0]) {
		/* Unblock a consumer waiting for frames that will not come. */
		s->n = 0;
		tr_kick(s->data_fd);
	}
	pthread_join(th, NULL);
	cr_assert_eq(s->err[0], 0, "%s", s->err);
	/* The producer's checksum, recomputed from what it wrote. */
	for (uint64_t seq = 0; seq < s->n; seq++) {
		uint8_t buf[1024];
		uint32_t len = tr_stress_len(seq, s->t.p.max_payload);
		tr_fill(buf, len, seq);
		cr_assert(tr_check(buf, len, seq, &s->prod_sum));
	}
	cr_assert_eq(s->prod_sum, s->cons_sum);
	cr_assert_eq(tr_head(&s->t), tr_tail(&s->t));
	cr_assert_gt(s->pads, 0);
	cr_assert_gt(s->skips, 0);
	cr_log_info("ring stress: %lu frames, %lu laps, %lu pads, %lu skips, "
		    "consumer slept %lu (kicked %lu), producer slept %lu (kicked %lu)",
		    (unsigned long)s->n, (unsigned long)(tr_tail(&s->t) / 4096),
		    (unsigned long)s->pads, (unsigned long)s->skips,
		    (unsigned long)s->cons_sleeps, (unsigned long)s->kicks_data,
		    (unsigned long)s->prod_sleeps, (unsigned long)s->kicks_space);
	close(s->data_fd);
	close(s->space_fd);
	tr_close(&s->t);
	free(s);
}

/* ---- hostile producer (seen by the consumer) ------------------------------------ */

static void tr_put_hdr(struct tring *t, uint64_t pos, uint32_t len, uint16_t type)
{
	struct ring_frame h = { .len = len, .type = type, .stream = 1 };
	memcpy(t->data + (pos & (t->size - 1)), &h, sizeof h);
}

static void tr_set_tail(struct tring *t, uint64_t v)
{
	atomic_store(&t->ctl->tail, v);
}

static void tr_set_head(struct tring *t, uint64_t v)
{
	atomic_store(&t->ctl->head, v);
}

static int tr_peek(struct tring *t)
{
	struct ring_frame h;
	const uint8_t *pl;
	return ring_peek(&t->c, &h, &pl);
}

Test(ring_hostile, tail_behind_head)
{
	struct tring t;
	tr_open_at(&t, 4096, 8192);
	tr_set_tail(&t, 8192 - 8);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	cr_assert_eq(ring_sleep_prepare(&t.c), -EPROTO);
	tr_set_tail(&t, 0);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
}

Test(ring_hostile, tail_more_than_size_ahead)
{
	struct tring t;
	tr_open_at(&t, 4096, 8192);
	tr_set_tail(&t, 8192 + 4096 + 8);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_set_tail(&t, UINT64_MAX);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	cr_assert_eq(ring_sleep_prepare(&t.c), -EPROTO);
	tr_close(&t);
}

Test(ring_hostile, tail_moves_backwards)
{
	struct tring t;
	tr_open(&t, 4096);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ring_push(&t.p, 1, 0, (uint64_t)i, "abcdefgh", 8), 0);
	cr_assert_eq(tr_peek(&t), 1);
	ring_release(&t.c);
	/* Still ahead of our head, but behind the tail we already saw. */
	tr_set_tail(&t, 3 * 24 - 24);
	cr_assert_eq(ring_sleep_prepare(&t.c), -EPROTO);
	/* Frames inside the tail we validated may still be read... */
	struct tring u;
	tr_open(&u, 4096);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ring_push(&u.p, 1, 0, (uint64_t)i, "abcdefgh", 8), 0);
	cr_assert_eq(tr_peek(&u), 1);
	ring_release(&u.c);
	tr_set_tail(&u, 24);
	int rc;
	/* ...but the first look at the tail after that fails. */
	while ((rc = tr_peek(&u)) == 1)
		ring_release(&u.c);
	cr_assert_eq(rc, -EPROTO);
	tr_close(&u);
	tr_close(&t);
}

Test(ring_hostile, tail_inside_a_record)
{
	struct tring t;
	tr_open(&t, 4096);
	tr_put_hdr(&t, 0, 100, 1);
	tr_set_tail(&t, 64);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);

	/* Inside the header itself. */
	tr_open(&t, 4096);
	tr_put_hdr(&t, 0, 0, 1);
	tr_set_tail(&t, 8);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);

	/* Inside a PAD, or exactly at its end with nothing after it. */
	tr_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 48, RING_T_PAD);
	tr_set_tail(&t, 4096 - 32);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
	tr_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 48, RING_T_PAD);
	tr_set_tail(&t, 4096);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
}

Test(ring_hostile, len_over_max_payload)
{
	static const uint32_t lens[] = { 1009, 2048, 4096, 0x7fffffff, UINT32_MAX };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		struct tring t;
		tr_open(&t, 4096);
		tr_put_hdr(&t, 0, lens[i], 1);
		tr_set_tail(&t, 4096);
		cr_assert_eq(tr_peek(&t), -EPROTO, "len %u", lens[i]);
		tr_close(&t);
	}
}

Test(ring_hostile, record_straddles_lap_end)
{
	struct tring t;
	/* 64 bytes to the lap end, a 120-byte record claimed there: its payload
	 * would run past the array. */
	tr_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 100, 1);
	tr_set_tail(&t, 4096 - 64 + 120);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
	/* Same at the largest legal length. */
	tr_open_at(&t, 4096, 4096 - 512);
	tr_put_hdr(&t, 4096 - 512, 1008, 1);
	tr_set_tail(&t, 4096 - 512 + 1024);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
}

Test(ring_hostile, pad_with_wrong_len)
{
	static const uint32_t lens[] = { 0, 40, 56, 4096, UINT32_MAX };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		struct tring t;
		tr_open_at(&t, 4096, 4096 - 64);
		tr_put_hdr(&t, 4096 - 64, lens[i], RING_T_PAD);
		tr_put_hdr(&t, 4096, 0, 1);
		tr_set_tail(&t, 4096 + 16);
		cr_assert_eq(tr_peek(&t), -EPROTO, "pad len %u", lens[i]);
		tr_close(&t);
	}
	/* A PAD in the middle of a lap is a PAD with the wrong len too. */
	struct tring t;
	tr_open(&t, 4096);
	tr_put_hdr(&t, 0, 16, RING_T_PAD);
	tr_put_hdr(&t, 32, 0, 1);
	tr_set_tail(&t, 48);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
	/* The right len is accepted (control). */
	tr_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 48, RING_T_PAD);
	tr_put_hdr(&t, 4096, 0, 1);
	tr_set_tail(&t, 4096 + 16);
	cr_assert_eq(tr_peek(&t), 1);
	tr_close(&t);
}

Test(ring_hostile, corrupt_implicit_skip)
{
	struct tring t;
	/* A tail that ends inside (or right at the end of) the 8-byte remnant
	 * claims bytes that cannot hold a record. */
	static const uint64_t tails[] = { 4096 - 4, 4096 - 1, 4096 };
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		tr_open_at(&t, 4096, 4096 - 8);
		tr_set_tail(&t, tails[i]);
		cr_assert_eq(tr_peek(&t), -EPROTO, "tail %lu", (unsigned long)tails[i]);
		tr_close(&t);
	}
	/* A skip followed by a record that is not all there. */
	tr_open_at(&t, 4096, 4096 - 8);
	tr_put_hdr(&t, 4096, 64, 1);
	tr_set_tail(&t, 4096 + 16);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
	/* Control: skip + a whole record is fine. */
	tr_open_at(&t, 4096, 4096 - 8);
	tr_put_hdr(&t, 4096, 0, 1);
	tr_set_tail(&t, 4096 + 16);
	cr_assert_eq(tr_peek(&t), 1);
	tr_close(&t);
}

Test(ring_hostile, unaligned_tail)
{
	struct tring t;
	tr_open(&t, 4096);
	tr_put_hdr(&t, 0, 0, 1);
	tr_set_tail(&t, 20);
	cr_assert_eq(tr_peek(&t), 1);
	ring_release(&t.c);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_close(&t);
}

/* The consumer acts on its private copy of the header: rewriting the shared
 * one after ring_peek cannot make ring_release skip a different amount. */
Test(ring_hostile, header_rewritten_after_peek)
{
	struct tring t;
	struct ring_frame h;
	const uint8_t *pl;
	tr_open(&t, 4096);
	cr_assert_eq(ring_push(&t.p, 1, 0, 1, "12345678", 8), 0);
	cr_assert_eq(ring_push(&t.p, 1, 0, 2, "12345678", 8), 0);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	tr_put_hdr(&t, 0, 1000, 1);
	cr_assert_eq(h.len, 8);
	ring_release(&t.c);
	cr_assert_eq(tr_head(&t), 24);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.stream, 2);
	tr_close(&t);
}

/* Garbage everywhere: random bytes and structured-looking records, random
 * tails near the head. The consumer may return frames, 0 or -EPROTO, but
 * every frame it returns lies inside the array and inside the tail. */
Test(ring_hostile, fuzz_consumer)
{
	struct tring t;
	uint64_t rs = 12345;
	tr_open(&t, 4096);
	int iters = TR_ASAN ? 20000 : 100000;
	uint64_t frames = 0, eproto = 0;
	for (int it = 0; it < iters; it++) {
		uint64_t start = (tr_rand(&rs) % (1u << 20)) & ~7ull;
		tr_close(&t);
		tr_open_at(&t, 4096, start);
		for (uint32_t i = 0; i < 4096; i += 8) {
			uint64_t r = tr_rand(&rs);
			memcpy(t.data + i, &r, 8);
		}
		/* Plant plausible headers so some of the garbage is accepted. */
		uint64_t pos = start;
		for (int k = 0; k < 8; k++) {
			uint64_t r = tr_rand(&rs);
			uint32_t rem = 4096 - (uint32_t)(pos & 4095);
			uint32_t len;
			uint16_t type = (uint16_t)(r % 5 ? 1 : RING_T_PAD);
			if (rem < 16) {
				pos += rem;
				continue;
			}
			len = type == RING_T_PAD ? rem - 16 : (uint32_t)((r >> 8) % 1100);
			if (r % 7 == 0)
				len ^= 1u << ((r >> 32) % 32);
			tr_put_hdr(&t, pos, len, type);
			pos += type == RING_T_PAD ? rem : ring_rec_size(len % 1009);
		}
		uint64_t tail = tr_rand(&rs) % 2 ? start + tr_rand(&rs) % 4200
						 : pos - tr_rand(&rs) % 24;
		tr_set_tail(&t, tail);
		/* Every tail this iteration published: the consumer's idea of
		 * the tail must be one of them. */
		uint64_t tails[65];
		int ntails = 0;
		tails[ntails++] = tail;
		for (int k = 0; k < 64; k++) {
			struct ring_frame h;
			const uint8_t *pl;
			uint64_t before = t.c.pos;
			int rc = ring_peek(&t.c, &h, &pl);
			if (rc == 0)
				break;
			if (rc < 0) {
				cr_assert_eq(rc, -EPROTO);
				eproto++;
				break;
			}
			cr_assert_eq(rc, 1);
			cr_assert(h.len <= t.c.max_payload);
			cr_assert(pl >= t.data + 16 && pl + h.len <= t.data + 4096);
			int known = 0;
			for (int j = 0; j < ntails; j++)
				known |= tails[j] == t.c.peer;
			cr_assert(known);
			cr_assert(t.c.cur_end <= t.c.peer && t.c.cur_end > before);
			cr_assert(t.c.peer - before <= 4096);
			/* Touch every payload byte: ASan checks the bounds. */
			volatile uint8_t x = 0;
			for (uint32_t b = 0; b < h.len; b++)
				x ^= pl[b];
			(void)x;
			ring_release(&t.c);
			frames++;
			/* Sometimes the tail jumps somewhere else mid-way. */
			if (tr_rand(&rs) % 8 == 0) {
				tail = t.c.pos + tr_rand(&rs) % 8192 - 2048;
				tails[ntails++] = tail;
				tr_set_tail(&t, tail);
			}
		}
	}
	cr_assert_gt(frames, 1000);
	cr_assert_gt(eproto, 1000);
	tr_close(&t);
}

/* ---- hostile consumer (seen by the producer) ---------------------------------------- */

static void tr_fill_ring(struct tring *t)
{
	struct ring_frame *f;
	while (ring_reserve(&t->p, 100, &f) == 0)
		ring_commit(&t->p, f, 100, 1, 0, 0);
}

Test(ring_hostile, head_ahead_of_tail)
{
	struct tring t;
	struct ring_frame *f;
	tr_open(&t, 4096);
	tr_fill_ring(&t);
	tr_set_head(&t, tr_tail(&t) + 8);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), -EPROTO);
	cr_assert_eq(ring_wait_space_prepare(&t.p, 128), -EPROTO);
	cr_assert_eq(ring_refresh_head(&t.p), -EPROTO);
	tr_set_head(&t, UINT64_MAX);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), -EPROTO);
	cr_assert_eq(ring_push(&t.p, 1, 0, 0, "x", 1), -EPROTO);
	tr_close(&t);
}

Test(ring_hostile, head_moves_backwards)
{
	struct tring t;
	struct ring_frame *f;
	tr_open(&t, 4096);
	tr_fill_ring(&t);
	/* The consumer frees two records; the producer sees that head... */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(tr_peek(&t), 1);
		ring_release(&t.c);
	}
	uint64_t h = tr_head(&t);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), 0);
	ring_commit(&t.p, f, 100, 1, 0, 0);
	cr_assert_eq(t.p.peer, h);
	/* ...and then it moves back. The producer may still use the room it
	 * knows about (120 bytes), but its next look at the head fails. */
	tr_set_head(&t, h - 120);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), 0);
	ring_commit(&t.p, f, 100, 1, 0, 0);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), -EPROTO);
	cr_assert_eq(ring_wait_space_prepare(&t.p, 4096), -EPROTO);
	cr_assert_eq(ring_refresh_head(&t.p), -EPROTO);
	tr_close(&t);
}
