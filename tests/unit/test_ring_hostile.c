/*
 * test_ring_hostile.c — a ring consumer or producer facing hostile indices
 * and lengths (run these under ASan: the data array is its own heap block,
 * so any read outside it is reported).
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

/* ---- hostile producer (seen by the consumer) ------------------------------------ */

static void tr_put_hdr(struct rtu_ring *t, uint64_t pos, uint32_t len, uint16_t type)
{
	struct ring_frame h = { .len = len, .type = type, .stream = 1 };
	memcpy(t->data + (pos & (t->size - 1)), &h, sizeof h);
}

static void tr_set_tail(struct rtu_ring *t, uint64_t v)
{
	atomic_store(&t->ctl->tail, v);
}

static void tr_set_head(struct rtu_ring *t, uint64_t v)
{
	atomic_store(&t->ctl->head, v);
}

static int tr_peek(struct rtu_ring *t)
{
	struct ring_frame h;
	const uint8_t *pl;
	return ring_peek(&t->c, &h, &pl);
}

Test(ring_hostile, tail_behind_head)
{
	struct rtu_ring t;
	rtu_open_at(&t, 4096, 8192);
	tr_set_tail(&t, 8192 - 8);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	cr_assert_eq(ring_sleep_prepare(&t.c), -EPROTO);
	tr_set_tail(&t, 0);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
}

Test(ring_hostile, tail_more_than_size_ahead)
{
	struct rtu_ring t;
	rtu_open_at(&t, 4096, 8192);
	tr_set_tail(&t, 8192 + 4096 + 8);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	tr_set_tail(&t, UINT64_MAX);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	cr_assert_eq(ring_sleep_prepare(&t.c), -EPROTO);
	rtu_close(&t);
}

Test(ring_hostile, tail_moves_backwards)
{
	struct rtu_ring t;
	rtu_open(&t, 4096);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ring_push(&t.p, 1, 0, (uint64_t)i, "abcdefgh", 8), 0);
	cr_assert_eq(tr_peek(&t), 1);
	ring_release(&t.c);
	/* Still ahead of our head, but behind the tail we already saw. */
	tr_set_tail(&t, 3 * 24 - 24);
	cr_assert_eq(ring_sleep_prepare(&t.c), -EPROTO);
	/* Frames inside the tail we validated may still be read... */
	struct rtu_ring u;
	rtu_open(&u, 4096);
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
	rtu_close(&u);
	rtu_close(&t);
}

Test(ring_hostile, tail_inside_a_record)
{
	struct rtu_ring t;
	rtu_open(&t, 4096);
	tr_put_hdr(&t, 0, 100, 1);
	tr_set_tail(&t, 64);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);

	/* Inside the header itself. */
	rtu_open(&t, 4096);
	tr_put_hdr(&t, 0, 0, 1);
	tr_set_tail(&t, 8);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);

	/* Inside a PAD, or exactly at its end with nothing after it. */
	rtu_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 48, RING_T_PAD);
	tr_set_tail(&t, 4096 - 32);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
	rtu_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 48, RING_T_PAD);
	tr_set_tail(&t, 4096);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
}

Test(ring_hostile, len_over_max_payload)
{
	static const uint32_t lens[] = { 1009, 2048, 4096, 0x7fffffff, UINT32_MAX };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		struct rtu_ring t;
		rtu_open(&t, 4096);
		tr_put_hdr(&t, 0, lens[i], 1);
		tr_set_tail(&t, 4096);
		cr_assert_eq(tr_peek(&t), -EPROTO, "len %u", lens[i]);
		rtu_close(&t);
	}
}

Test(ring_hostile, record_straddles_lap_end)
{
	struct rtu_ring t;
	/* 64 bytes to the lap end, a 120-byte record claimed there: its payload
	 * would run past the array. */
	rtu_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 100, 1);
	tr_set_tail(&t, 4096 - 64 + 120);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
	/* Same at the largest legal length. */
	rtu_open_at(&t, 4096, 4096 - 512);
	tr_put_hdr(&t, 4096 - 512, 1008, 1);
	tr_set_tail(&t, 4096 - 512 + 1024);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
}

Test(ring_hostile, pad_with_wrong_len)
{
	static const uint32_t lens[] = { 0, 40, 56, 4096, UINT32_MAX };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		struct rtu_ring t;
		rtu_open_at(&t, 4096, 4096 - 64);
		tr_put_hdr(&t, 4096 - 64, lens[i], RING_T_PAD);
		tr_put_hdr(&t, 4096, 0, 1);
		tr_set_tail(&t, 4096 + 16);
		cr_assert_eq(tr_peek(&t), -EPROTO, "pad len %u", lens[i]);
		rtu_close(&t);
	}
	/* A PAD in the middle of a lap is a PAD with the wrong len too. */
	struct rtu_ring t;
	rtu_open(&t, 4096);
	tr_put_hdr(&t, 0, 16, RING_T_PAD);
	tr_put_hdr(&t, 32, 0, 1);
	tr_set_tail(&t, 48);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
	/* The right len is accepted (control). */
	rtu_open_at(&t, 4096, 4096 - 64);
	tr_put_hdr(&t, 4096 - 64, 48, RING_T_PAD);
	tr_put_hdr(&t, 4096, 0, 1);
	tr_set_tail(&t, 4096 + 16);
	cr_assert_eq(tr_peek(&t), 1);
	rtu_close(&t);
}

Test(ring_hostile, corrupt_implicit_skip)
{
	struct rtu_ring t;
	/* A tail that ends inside (or right at the end of) the 8-byte remnant
	 * claims bytes that cannot hold a record. */
	static const uint64_t tails[] = { 4096 - 4, 4096 - 1, 4096 };
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		rtu_open_at(&t, 4096, 4096 - 8);
		tr_set_tail(&t, tails[i]);
		cr_assert_eq(tr_peek(&t), -EPROTO, "tail %lu", (unsigned long)tails[i]);
		rtu_close(&t);
	}
	/* A skip followed by a record that is not all there. */
	rtu_open_at(&t, 4096, 4096 - 8);
	tr_put_hdr(&t, 4096, 64, 1);
	tr_set_tail(&t, 4096 + 16);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
	/* Control: skip + a whole record is fine. */
	rtu_open_at(&t, 4096, 4096 - 8);
	tr_put_hdr(&t, 4096, 0, 1);
	tr_set_tail(&t, 4096 + 16);
	cr_assert_eq(tr_peek(&t), 1);
	rtu_close(&t);
}

Test(ring_hostile, unaligned_tail)
{
	struct rtu_ring t;
	rtu_open(&t, 4096);
	tr_put_hdr(&t, 0, 0, 1);
	tr_set_tail(&t, 20);
	cr_assert_eq(tr_peek(&t), 1);
	ring_release(&t.c);
	cr_assert_eq(tr_peek(&t), -EPROTO);
	rtu_close(&t);
}

/* The consumer acts on its private copy of the header: rewriting the shared
 * one after ring_peek cannot make ring_release skip a different amount. */
Test(ring_hostile, header_rewritten_after_peek)
{
	struct rtu_ring t;
	struct ring_frame h;
	const uint8_t *pl;
	rtu_open(&t, 4096);
	cr_assert_eq(ring_push(&t.p, 1, 0, 1, "12345678", 8), 0);
	cr_assert_eq(ring_push(&t.p, 1, 0, 2, "12345678", 8), 0);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	tr_put_hdr(&t, 0, 1000, 1);
	cr_assert_eq(h.len, 8);
	ring_release(&t.c);
	cr_assert_eq(rtu_head(&t), 24);
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
	cr_assert_eq(h.stream, 2);
	rtu_close(&t);
}

/* Garbage everywhere: random bytes and structured-looking records, random
 * tails near the head. The consumer may return frames, 0 or -EPROTO, but
 * every frame it returns lies inside the array and inside the tail. */
Test(ring_hostile, fuzz_consumer)
{
	struct rtu_ring t;
	uint64_t rs = 12345;
	rtu_open(&t, 4096);
	int iters = RTU_ASAN ? 20000 : 100000;
	uint64_t frames = 0, eproto = 0;
	for (int it = 0; it < iters; it++) {
		uint64_t start = (rtu_rand(&rs) % (1u << 20)) & ~7ull;
		rtu_close(&t);
		rtu_open_at(&t, 4096, start);
		for (uint32_t i = 0; i < 4096; i += 8) {
			uint64_t r = rtu_rand(&rs);
			memcpy(t.data + i, &r, 8);
		}
		/* Plant plausible headers so some of the garbage is accepted. */
		uint64_t pos = start;
		for (int k = 0; k < 8; k++) {
			uint64_t r = rtu_rand(&rs);
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
		uint64_t tail = rtu_rand(&rs) % 2 ? start + rtu_rand(&rs) % 4200
						 : pos - rtu_rand(&rs) % 24;
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
			if (rtu_rand(&rs) % 8 == 0) {
				tail = t.c.pos + rtu_rand(&rs) % 8192 - 2048;
				tails[ntails++] = tail;
				tr_set_tail(&t, tail);
			}
		}
	}
	cr_assert_gt(frames, 1000);
	cr_assert_gt(eproto, 1000);
	rtu_close(&t);
}

/* ---- hostile consumer (seen by the producer) ---------------------------------------- */

static void tr_fill_ring(struct rtu_ring *t)
{
	struct ring_frame *f;
	while (ring_reserve(&t->p, 100, &f) == 0)
		ring_commit(&t->p, f, 100, 1, 0, 0);
}

Test(ring_hostile, head_ahead_of_tail)
{
	struct rtu_ring t;
	struct ring_frame *f;
	rtu_open(&t, 4096);
	tr_fill_ring(&t);
	tr_set_head(&t, rtu_tail(&t) + 8);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), -EPROTO);
	cr_assert_eq(ring_wait_space_prepare(&t.p, 128), -EPROTO);
	cr_assert_eq(ring_refresh_head(&t.p), -EPROTO);
	tr_set_head(&t, UINT64_MAX);
	cr_assert_eq(ring_reserve(&t.p, 100, &f), -EPROTO);
	cr_assert_eq(ring_push(&t.p, 1, 0, 0, "x", 1), -EPROTO);
	rtu_close(&t);
}

Test(ring_hostile, head_moves_backwards)
{
	struct rtu_ring t;
	struct ring_frame *f;
	rtu_open(&t, 4096);
	tr_fill_ring(&t);
	/* The consumer frees two records; the producer sees that head... */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(tr_peek(&t), 1);
		ring_release(&t.c);
	}
	uint64_t h = rtu_head(&t);
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
	rtu_close(&t);
}
