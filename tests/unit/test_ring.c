/*
 * test_ring.c — the SPSC frame ring: layout rules (pads, implicit skips,
 * exact -EAGAIN), byte-for-byte round trips over many laps, and the wake-up
 * protocol under a two-thread stress. Hostile indices and lengths are in
 * test_ring_hostile.c.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ring_test_util.h"
#include "shm/ring.h"

/* ---- layout ------------------------------------------------------------------ */

Test(ring, empty)
{
	struct rtu_ring t;
	struct ring_frame h;
	const uint8_t *pl;
	rtu_open(&t, 4096);
	cr_assert_eq(t.p.max_payload, 4096 / 4 - 16);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
	cr_assert_eq(ring_maybe_nonempty(&t.c), 0);
	/* Releasing with nothing peeked must not move the head. */
	ring_release(&t.c);
	cr_assert_eq(rtu_head(&t), 0);
	cr_assert_eq(ring_refresh_head(&t.p), 4096);
	rtu_close(&t);
}

Test(ring, full_eagain_exact)
{
	struct rtu_ring t;
	struct rtu_q *q = rtu_q_new();
	struct ring_frame *f;
	rtu_open(&t, 4096);
	/* Empty frames are 16-byte records: exactly 256 fit. */
	for (uint64_t i = 0; i < 256; i++)
		cr_assert_eq(rtu_push(&t, q, 0, i), 0);
	cr_assert_eq(ring_reserve(&t.p, 0, &f), -EAGAIN);
	rtu_pop(&t, q);
	cr_assert_eq(rtu_push(&t, q, 0, 256), 0);
	cr_assert_eq(rtu_push(&t, q, 0, 257), -EAGAIN);
	rtu_drain(&t, q);
	free(q);
	rtu_close(&t);

	/* Largest frames are a quarter of the ring: exactly four fit, then one
	 * more each time one leaves, always filling the ring to the byte. */
	q = rtu_q_new();
	rtu_open(&t, 4096);
	uint32_t mp = t.p.max_payload;
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(rtu_push(&t, q, mp, 1000 + i), 0);
	cr_assert_eq(rtu_tail(&t) - rtu_head(&t), 4096);
	cr_assert_eq(ring_reserve(&t.p, 0, &f), -EAGAIN);
	for (uint64_t i = 0; i < 64; i++) {
		rtu_pop(&t, q);
		cr_assert_eq(rtu_push(&t, q, mp, 2000 + i), 0);
		cr_assert_eq(rtu_push(&t, q, 0, 3000 + i), -EAGAIN);
	}
	/* Leave 8 bytes free: less than the smallest record. */
	rtu_pop(&t, q);
	cr_assert_eq(rtu_push(&t, q, mp - 8, 4000), 0);
	cr_assert_eq(rtu_push(&t, q, 0, 4001), -EAGAIN);
	cr_assert_eq(q->pads + q->skips, 0);
	rtu_drain(&t, q);
	cr_assert_eq(q->eagain, 65);
	free(q);
	rtu_close(&t);
}

Test(ring, wrap_with_pad)
{
	struct rtu_ring t;
	struct rtu_q *q = rtu_q_new();
	/* 40 bytes left in the lap; a 48-byte record does not fit. */
	rtu_open_at(&t, 4096, 3 * 4096 + 4096 - 40);
	cr_assert_eq(rtu_push(&t, q, 32, 1), 0);
	cr_assert_eq(q->pads, 1);
	cr_assert_eq(rtu_tail(&t), 4 * 4096 + 48);
	rtu_pop(&t, q);
	cr_assert_eq(rtu_head(&t), 4 * 4096 + 48);

	/* The largest pad: a lap end with room for just under one max frame. */
	rtu_close(&t);
	rtu_open_at(&t, 4096, 4096 - 1016);
	cr_assert_eq(rtu_push(&t, q, t.p.max_payload, 2), 0);
	cr_assert_eq(q->pads, 2);
	rtu_pop(&t, q);

	/* The smallest pad: 16 bytes, a header with len 0. */
	rtu_close(&t);
	rtu_open_at(&t, 4096, 4096 - 16);
	cr_assert_eq(rtu_push(&t, q, 1, 3), 0);
	cr_assert_eq(q->pads, 3);
	/* The consumer skips the pad even when it peeks twice. */
	struct ring_frame h;
	const uint8_t *pl;
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(rtu_head(&t), 4096, "the pad's bytes are released at once");
	rtu_pop(&t, q);

	/* A record that fits exactly up to the lap end needs no pad. */
	rtu_close(&t);
	rtu_open_at(&t, 4096, 4096 - 48);
	cr_assert_eq(rtu_push(&t, q, 32, 4), 0);
	cr_assert_eq(q->pads, 3);
	cr_assert_eq(rtu_tail(&t), 4096);
	rtu_pop(&t, q);
	free(q);
	rtu_close(&t);
}

Test(ring, implicit_skip_at_lap_end)
{
	struct rtu_ring t;
	struct rtu_q *q = rtu_q_new();
	rtu_open(&t, 4096);
	/* Reach the last 8 bytes of the lap through real frames: three
	 * 1024-byte records and one of 1016 end at 4088. */
	uint32_t mp = t.p.max_payload;
	for (uint64_t i = 0; i < 3; i++)
		cr_assert_eq(rtu_push(&t, q, mp, i), 0);
	rtu_pop(&t, q);
	cr_assert_eq(rtu_push(&t, q, mp - 8, 3), 0);
	cr_assert_eq(rtu_tail(&t), 4088);
	/* The consumer may sit right at the 8-byte remnant: that is an empty
	 * ring, not a corrupt one. */
	rtu_drain(&t, q);
	cr_assert_eq(rtu_head(&t), 4088);
	memset(t.data + 4088, RTU_FILL, 8);
	/* The next record cannot have a PAD header in 8 bytes: it goes to the
	 * start of the next lap and the remnant is skipped on both sides. */
	cr_assert_eq(rtu_push(&t, q, 0, 4), 0);
	cr_assert_eq(q->skips, 1);
	cr_assert_eq(q->pads, 0);
	cr_assert_eq(rtu_tail(&t), 4096 + 16);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(t.data[4088 + i], RTU_FILL, "skipped bytes are never written");
	rtu_pop(&t, q);
	cr_assert_eq(rtu_head(&t), 4096 + 16);

	/* Start right at the remnant and fill the ring: the 8 skipped bytes count
	 * as used until the consumer passes them, so the ring is full after
	 * 4088 bytes of records. */
	rtu_close(&t);
	rtu_open_at(&t, 4096, 4096 - 8);
	cr_assert_eq(rtu_push(&t, q, 0, 5), 0);
	cr_assert_eq(q->skips, 2);
	for (uint64_t i = 0; i < 3; i++)
		cr_assert_eq(rtu_push(&t, q, mp, 6 + i), 0);
	/* Used: 8 + 16 + 3 * 1024 = 3096; 1000 free. */
	cr_assert_eq(rtu_push(&t, q, 1000 - 16, 9), 0);
	cr_assert_eq(rtu_push(&t, q, 0, 10), -EAGAIN);
	rtu_drain(&t, q);
	free(q);
	rtu_close(&t);
}

Test(ring, max_payload_boundary)
{
	for (uint32_t size = RING_MIN_SIZE; size <= (1u << 20); size <<= 1) {
		struct rtu_ring t;
		struct rtu_q *q = rtu_q_new();
		struct ring_frame *f;
		rtu_open(&t, size);
		uint32_t mp = size / 4 - 16;
		cr_assert_eq(t.p.max_payload, mp);
		cr_assert_eq(t.c.max_payload, mp);
		cr_assert_eq(ring_reserve(&t.p, mp + 1, &f), -EMSGSIZE);
		cr_assert_eq(ring_reserve(&t.p, UINT32_MAX, &f), -EMSGSIZE);
		cr_assert_eq(ring_push(&t.p, 1, 0, 1, t.data, mp + 1), -EMSGSIZE);
		cr_assert_eq(rtu_tail(&t), 0, "a refused frame changes nothing");
		for (uint64_t i = 0; i < 9; i++) {
			cr_assert_eq(rtu_push(&t, q, mp - (uint32_t)(i % 2), i), 0);
			rtu_pop(&t, q);
		}
		free(q);
		rtu_close(&t);
	}
}

Test(ring, commit_shorter_than_reserved)
{
	struct rtu_ring t;
	struct ring_frame *f, h;
	const uint8_t *pl;
	rtu_open(&t, 4096);
	cr_assert_eq(ring_reserve(&t.p, 500, &f), 0);
	memcpy(ring_payload(f), "hello", 5);
	ring_commit(&t.p, f, 5, 7, 0, 42);
	cr_assert_eq(rtu_tail(&t), 24, "the record is sized by the committed length");
	cr_assert_eq(ring_reserve(&t.p, 300, &f), 0);
	ring_commit(&t.p, f, 0, 8, 0, 43);
	cr_assert_eq(rtu_tail(&t), 40);
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
	rtu_close(&t);

	/* A reservation that needed a pad keeps it even if the committed frame
	 * would have fitted before the lap end. */
	rtu_open_at(&t, 4096, 4096 - 64);
	cr_assert_eq(ring_reserve(&t.p, 500, &f), 0);
	cr_assert_eq((uint8_t *)f, t.data);
	ring_commit(&t.p, f, 3, 9, 0, 44);
	cr_assert_eq(rtu_tail(&t), 4096 + 24);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.len, 3);
	cr_assert_eq(h.stream, 44);
	ring_release(&t.c);
	cr_assert_eq(rtu_head(&t), 4096 + 24);
	rtu_close(&t);

	/* A reservation abandoned without commit publishes nothing. */
	rtu_open(&t, 4096);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), 0);
	cr_assert_eq(rtu_tail(&t), 0);
	cr_assert_eq(ring_push(&t.p, 2, 0, 45, "x", 1), 0);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.stream, 45);
	rtu_close(&t);
}

/* Every length 0..max_payload, in three orders, through small rings: every
 * alignment of every record against the lap end occurs, so pads of every
 * size and implicit skips both happen many times. The consumer lags by a
 * pseudo-random number of frames. */
Test(ring, every_size_many_laps)
{
	for (uint32_t size = 4096; size <= 8192; size *= 2) {
		struct rtu_ring t;
		struct rtu_q *q = rtu_q_new();
		rtu_open(&t, size);
		uint32_t mp = t.p.max_payload, n = mp + 1;
		uint64_t seq = 0, rs = 99;
		for (int order = 0; order < 3; order++) {
			for (uint32_t i = 0; i < n; i++) {
				uint32_t len = order == 0 ? i : order == 1 ? mp - i
							     : (uint32_t)(((uint64_t)i * 7919) % n);
				while (rtu_push(&t, q, len, seq) == -EAGAIN) {
					uint64_t k = 1 + rtu_rand(&rs) % 4;
					while (k-- && q->head < q->tail)
						rtu_pop(&t, q);
				}
				seq++;
			}
		}
		rtu_drain(&t, q);
		cr_assert_gt(rtu_tail(&t) / size, 100, "many laps");
		cr_assert_gt(q->pads, 100);
		cr_assert_gt(q->skips, 0);
		free(q);
		rtu_close(&t);
	}
}

/* One thread, random mix of pushes and pops, every outcome checked against
 * the model in rtu_push and every byte against rtu_fill. */
Test(ring, random_interleave)
{
	static const uint32_t sizes[] = { 4096, 16384, 65536 };
	for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
		struct rtu_ring t;
		struct rtu_q *q = rtu_q_new();
		uint64_t rs = 7 + si;
		rtu_open_at(&t, sizes[si], (uint64_t)1 << 40);
		uint32_t mp = t.p.max_payload;
		uint64_t seq = 0;
		for (int op = 0; op < 100000; op++) {
			uint64_t r = rtu_rand(&rs);
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
				if (rtu_push(&t, q, len, seq) == 0)
					seq++;
			} else if (q->head < q->tail) {
				rtu_pop(&t, q);
			} else {
				struct ring_frame h;
				const uint8_t *pl;
				cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
			}
		}
		rtu_drain(&t, q);
		cr_assert_gt(q->eagain, 100);
		cr_assert_gt(q->pads, 10);
		free(q);
		rtu_close(&t);
	}
}

/* The wake-up words, one step at a time. */
Test(ring, wakeup_flags)
{
	struct rtu_ring t;
	struct ring_frame *f;
	rtu_open(&t, 4096);
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
	rtu_close(&t);
}

/* Armed, then read what came without sleeping (an rs_next(0) loop): no
 * kick for frames already read, and the request stays for the next one. */
Test(ring, no_kick_for_frames_already_read)
{
	struct rtu_ring t;
	struct ring_frame h;
	const uint8_t *p;
	rtu_open(&t, 4096);
	cr_assert_eq(ring_sleep_prepare(&t.c), 0);
	cr_assert_eq(ring_push(&t.p, 1, 0, 1, "b", 1), 0);
	cr_assert_eq(ring_peek(&t.c, &h, &p), 1);
	ring_release(&t.c);
	cr_assert_eq(ring_consumer_sleeping(&t.p), 0, "kick for a frame already read");
	cr_assert_eq(atomic_load(&t.ctl->cons_waiting), 1);
	cr_assert_eq(ring_push(&t.p, 1, 0, 1, "c", 1), 0);
	cr_assert_eq(ring_consumer_sleeping(&t.p), 1);
	cr_assert_eq(ring_consumer_sleeping(&t.p), 0, "one kick per sleep");
	cr_assert_eq(ring_peek(&t.c, &h, &p), 1);
	ring_release(&t.c);
	rtu_close(&t);
}

/* ---- two-thread stress --------------------------------------------------------- */

/* Enough to take the ring around a hundred thousand laps and through many
 * sleeps on both sides, within a few seconds even under ASan. */
#define TR_STRESS_FRAMES (RTU_ASAN ? 2000000u : 3000000u)
/* Polls of the ring before a side announces that it sleeps. */
#define TR_SPIN 256

struct tr_stress {
	struct rtu_ring t;
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
	uint64_t s = rtu_seed(seq ^ 0xabcdef);
	uint64_t r = rtu_rand(&s);
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
			if (h.stream != seq || h.len != len || h.type != rtu_type(seq) ||
			    !rtu_check(pl, h.len, seq, &s->cons_sum)) {
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
		rtu_fill(ring_payload(f), len, seq);
		ring_commit(p, f, len, rtu_type(seq), (uint16_t)(seq >> 3), seq);
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
	rtu_open(&s->t, 4096);
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
		rtu_fill(buf, len, seq);
		cr_assert(rtu_check(buf, len, seq, &s->prod_sum));
	}
	cr_assert_eq(s->prod_sum, s->cons_sum);
	cr_assert_eq(rtu_head(&s->t), rtu_tail(&s->t));
	cr_assert_gt(s->pads, 0);
	cr_assert_gt(s->skips, 0);
	cr_log_info("ring stress: %lu frames, %lu laps, %lu pads, %lu skips, "
		    "consumer slept %lu (kicked %lu), producer slept %lu (kicked %lu)",
		    (unsigned long)s->n, (unsigned long)(rtu_tail(&s->t) / 4096),
		    (unsigned long)s->pads, (unsigned long)s->skips,
		    (unsigned long)s->cons_sleeps, (unsigned long)s->kicks_data,
		    (unsigned long)s->prod_sleeps, (unsigned long)s->kicks_space);
	close(s->data_fd);
	close(s->space_fd);
	rtu_close(&s->t);
	free(s);
}
