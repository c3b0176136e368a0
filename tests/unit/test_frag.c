/*
 * test_frag.c — fragmentation and reassembly: round trips of 0 B .. 8 MiB
 * messages through a 64 KiB ring with a consumer thread, the size limit
 * (FRAG_TOOBIG once, then silence, then the next message intact),
 * interleaved messages (FRAG_EPROTO), resumable writes and buffer reuse.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "shm/frag.h"

#if defined(__SANITIZE_ADDRESS__)
#define TF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TF_ASAN 1
#endif
#endif
#ifndef TF_ASAN
#define TF_ASAN 0
#endif

#define TF_MIB (1024u * 1024u)

/* ---- helpers --------------------------------------------------------------- */

static uint64_t tf_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Message bytes derived from a seed, so tests need not keep copies. */
static void tf_fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t s = (seed * 0x9E3779B97F4A7C15ull) | 1, v;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		v = tf_rand(&s);
		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		v = tf_rand(&s);
		memcpy(p + i, &v, len - i);
	}
}

/* FNV-1a over 8-byte words (then the tail bytes): order-sensitive and fast
 * enough for hundreds of megabytes under ASan. */
static uint64_t tf_sum(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull, w;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001B3ull;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001B3ull;
	return h ^ len;
}

struct tf_ring {
	struct ring_ctl *ctl;
	uint8_t *data;
	struct ring p, c;
};

static void tf_open(struct tf_ring *t, uint32_t size)
{
	t->ctl = aligned_alloc(RING_CACHELINE, sizeof *t->ctl);
	t->data = malloc(size);
	cr_assert(t->ctl && t->data);
	memset(t->ctl, 0, sizeof *t->ctl);
	ring_ctl_reset(t->ctl);
	cr_assert_eq(ring_init_view(&t->p, t->ctl, t->data, size, 1), 0);
	cr_assert_eq(ring_init_view(&t->c, t->ctl, t->data, size, 0), 0);
}

static void tf_close(struct tf_ring *t)
{
	free(t->ctl);
	free(t->data);
}

/* Push one raw fragment (for tests that build the sequence by hand). */
static void tf_push(struct tf_ring *t, uint16_t type, uint64_t stream, int more,
		    const void *p, uint32_t len)
{
	cr_assert_eq(ring_push(&t->p, type, more ? RING_F_MORE : 0, stream, p, len), 0);
}

/* Peek, feed, release one frame; the frame must be there. */
static int tf_add_next(struct tf_ring *t, struct frag_buf *f)
{
	struct ring_frame h;
	const uint8_t *pl;
	cr_assert_eq(ring_peek(&t->c, &h, &pl), 1);
	int rc = frag_add(f, &h, pl);
	ring_release(&t->c);
	return rc;
}

/* ---- producer side ------------------------------------------------------------ */

Test(frag, write_edge_sizes)
{
	struct tf_ring t;
	tf_open(&t, 65536);
	uint32_t mp = t.p.max_payload;
	static uint8_t msg[3 * 16368 + 1];
	tf_fill(msg, sizeof msg, 1);
	const size_t lens[] = { 0, 1, mp - 1, mp, mp + 1, 2 * mp, 2 * mp + 1, 3 * mp + 1 };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t done = 0, len = lens[i];
		cr_assert_eq(frag_write(&t.p, 5, 100 + i, len ? msg : NULL, len, &done), 1);
		cr_assert_eq(done, len);
		size_t frames = len ? (len + mp - 1) / mp : 1, got = 0;
		for (size_t k = 0; k < frames; k++) {
			struct ring_frame h;
			const uint8_t *pl;
			cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
			cr_assert_eq(h.type, 5);
			cr_assert_eq(h.stream, 100 + i);
			cr_assert_eq(h.flags, k + 1 < frames ? RING_F_MORE : 0, "len %zu frame %zu",
				     len, k);
			cr_assert_eq(h.len, k + 1 < frames ? mp : len - got);
			cr_assert_eq(memcmp(pl, msg + got, h.len), 0);
			got += h.len;
			ring_release(&t.c);
		}
		cr_assert_eq(got, len);
		struct ring_frame h;
		const uint8_t *pl;
		cr_assert_eq(ring_peek(&t.c, &h, &pl), 0, "len %zu: no extra frame", len);
	}
	size_t done = 5;
	cr_assert_eq(frag_write(&t.p, 5, 1, msg, 4, &done), -EINVAL);
	done = 0;
	cr_assert_eq(frag_write(&t.p, RING_T_PAD, 1, msg, 4, &done), -EINVAL);
	cr_assert_eq(done, 0);
	tf_close(&t);
}

Test(frag, write_resumes_when_ring_fills)
{
	struct tf_ring t;
	tf_open(&t, 4096);
	uint32_t mp = t.p.max_payload;
	uint8_t msg[10000];
	tf_fill(msg, sizeof msg, 2);
	size_t done = 0;
	/* Four max records fill a 4 KiB ring. */
	cr_assert_eq(frag_write(&t.p, 3, 9, msg, sizeof msg, &done), 0);
	cr_assert_eq(done, 4 * mp);
	cr_assert_eq(frag_write(&t.p, 3, 9, msg, sizeof msg, &done), 0);
	cr_assert_eq(done, 4 * mp, "a full ring makes no progress");
	struct frag_buf f;
	frag_init(&f, sizeof msg);
	int rc = FRAG_PARTIAL, frames = 0, calls = 2;
	while (rc == FRAG_PARTIAL) {
		struct ring_frame h;
		const uint8_t *pl;
		int pk = ring_peek(&t.c, &h, &pl);
		cr_assert_geq(pk, 0);
		if (pk == 0) {
			cr_assert_geq(frag_write(&t.p, 3, 9, msg, sizeof msg, &done), 0);
			calls++;
			continue;
		}
		rc = frag_add(&f, &h, pl);
		ring_release(&t.c);
		frames++;
	}
	cr_assert_eq(rc, FRAG_COMPLETE);
	cr_assert_eq(frames, (int)((sizeof msg + mp - 1) / mp));
	cr_assert_eq(f.len, sizeof msg);
	cr_assert_eq(memcmp(f.buf, msg, sizeof msg), 0);
	cr_assert_eq(f.stream, 9);
	cr_assert_eq(f.type, 3);
	cr_assert_geq(calls, 4);
	/* Calling again once done writes nothing more. */
	cr_assert_eq(frag_write(&t.p, 3, 9, msg, sizeof msg, &done), 1);
	struct ring_frame h;
	const uint8_t *pl;
	cr_assert_eq(ring_peek(&t.c, &h, &pl), 0);
	frag_free(&f);
	tf_close(&t);
}

Test(frag, write_reports_corrupt_ring)
{
	struct tf_ring t;
	tf_open(&t, 4096);
	uint8_t msg[8192] = { 0 };
	size_t done = 0;
	cr_assert_eq(frag_write(&t.p, 1, 1, msg, sizeof msg, &done), 0);
	atomic_store(&t.ctl->head, atomic_load(&t.ctl->tail) + 8);
	size_t before = done;
	cr_assert_eq(frag_write(&t.p, 1, 1, msg, sizeof msg, &done), -EPROTO);
	cr_assert_eq(done, before);
	tf_close(&t);
}

/* ---- consumer side ------------------------------------------------------------ */

Test(frag, toobig_once_then_discard_then_next_intact)
{
	struct tf_ring t;
	tf_open(&t, 65536);
	uint32_t mp = t.p.max_payload; /* 16368 */
	const size_t max = 100000;
	struct frag_buf f;
	frag_init(&f, max);
	static uint8_t msg[300000];

	/* Messages and what the consumer must say for each of their frames. */
	struct {
		size_t len;
		uint64_t stream;
	} msgs[] = {
		{ 50000, 1 },   /* fits */
		{ 300000, 2 },  /* crosses max at fragment 7 of 19 */
		{ 70000, 3 },   /* intact after the discarded one */
		{ max, 4 },     /* exactly the limit */
		{ max + 1, 5 }, /* crosses at its last fragment: no DISCARDED */
		{ 10, 6 },
		{ 0, 7 },
	};
	for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
		size_t len = msgs[m].len, done = 0;
		tf_fill(msg, len, m);
		size_t frames = len ? (len + mp - 1) / mp : 1;
		size_t cross = len > max ? max / mp : SIZE_MAX; /* 0-based fragment */
		size_t k = 0;
		int w;
		do {
			w = frag_write(&t.p, 2, msgs[m].stream, msg, len, &done);
			cr_assert_geq(w, 0);
			struct ring_frame h;
			const uint8_t *pl;
			while (ring_peek(&t.c, &h, &pl) == 1) {
				int rc = frag_add(&f, &h, pl);
				ring_release(&t.c);
				int want = k < cross ? (k + 1 < frames ? FRAG_PARTIAL : FRAG_COMPLETE)
					   : k == cross ? FRAG_TOOBIG : FRAG_DISCARDED;
				cr_assert_eq(rc, want, "message %zu (%zu bytes) fragment %zu/%zu: %d",
					     m, len, k, frames, rc);
				k++;
			}
		} while (w == 0);
		cr_assert_eq(k, frames);
		if (len <= max) {
			cr_assert_eq(f.len, len);
			cr_assert_eq(f.stream, msgs[m].stream);
			cr_assert_eq(tf_sum(f.buf ? f.buf : msg, f.len), tf_sum(msg, len));
		}
		cr_assert_eq(f.active, 0);
		cr_assert_eq(f.discarding, 0);
		cr_assert_leq(f.cap, max);
	}
	frag_free(&f);
	tf_close(&t);
}

Test(frag, toobig_single_frame)
{
	struct tf_ring t;
	tf_open(&t, 65536);
	struct frag_buf f;
	frag_init(&f, 100);
	uint8_t msg[1000];
	tf_fill(msg, sizeof msg, 3);
	tf_push(&t, 1, 1, 0, msg, 101);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_TOOBIG);
	cr_assert_eq(f.active, 0);
	tf_push(&t, 1, 2, 0, msg, 100);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_COMPLETE);
	cr_assert_eq(f.len, 100);
	cr_assert_eq(memcmp(f.buf, msg, 100), 0);
	/* Over the limit at the first of several fragments. */
	tf_push(&t, 1, 3, 1, msg, 500);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_TOOBIG);
	tf_push(&t, 1, 3, 1, msg, 5);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_DISCARDED);
	tf_push(&t, 1, 3, 0, msg, 0);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_DISCARDED);
	tf_push(&t, 1, 4, 0, msg, 7);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_COMPLETE);
	cr_assert_eq(f.len, 7);
	cr_assert_eq(f.stream, 4);
	/* max 0: only empty messages pass. */
	frag_free(&f);
	frag_init(&f, 0);
	tf_push(&t, 1, 5, 0, msg, 0);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_COMPLETE);
	cr_assert_eq(f.len, 0);
	tf_push(&t, 1, 6, 0, msg, 1);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_TOOBIG);
	frag_free(&f);
	tf_close(&t);
}

Test(frag, interleaved_stream_is_eproto)
{
	struct tf_ring t;
	tf_open(&t, 65536);
	struct frag_buf f;
	frag_init(&f, 1 << 20);
	uint8_t b[64] = { 1, 2, 3 };

	/* Another stream in the middle of a message. */
	tf_push(&t, 1, 10, 1, b, 64);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_PARTIAL);
	tf_push(&t, 1, 11, 0, b, 64);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_EPROTO);
	cr_assert_lt(FRAG_EPROTO, 0, "connection-level errors are negative");
	cr_assert_eq(f.active, 0);

	/* Same stream, another type. */
	tf_push(&t, 1, 12, 1, b, 64);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_PARTIAL);
	tf_push(&t, 2, 12, 1, b, 64);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_EPROTO);

	/* While discarding: fragments must still be contiguous. */
	frag_free(&f);
	frag_init(&f, 100);
	tf_push(&t, 1, 13, 1, b, 64);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_PARTIAL);
	tf_push(&t, 1, 13, 1, b, 64);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_TOOBIG);
	tf_push(&t, 1, 14, 1, b, 64);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_EPROTO);

	/* A whole message of another stream after one that ended is fine. */
	tf_push(&t, 1, 15, 1, b, 10);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_PARTIAL);
	tf_push(&t, 1, 15, 0, b, 10);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_COMPLETE);
	tf_push(&t, 1, 16, 0, b, 10);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_COMPLETE);
	cr_assert_eq(f.stream, 16);

	/* frag_reset forgets a message in progress. */
	tf_push(&t, 1, 17, 1, b, 10);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_PARTIAL);
	frag_reset(&f);
	tf_push(&t, 1, 18, 0, b, 3);
	cr_assert_eq(tf_add_next(&t, &f), FRAG_COMPLETE);
	cr_assert_eq(f.len, 3);
	frag_free(&f);
	tf_close(&t);
}

/* The payload stays in shared memory where the peer may rewrite it: what we
 * hand out must be our copy. Fragments of any size (empty ones too) join up. */
Test(frag, copies_out_of_shared_memory)
{
	struct tf_ring t;
	tf_open(&t, 65536);
	struct frag_buf f;
	frag_init(&f, 1 << 20);
	uint8_t msg[5000];
	tf_fill(msg, sizeof msg, 4);
	const uint32_t cuts[] = { 0, 1, 0, 999, 4000 };
	size_t off = 0;
	for (size_t i = 0; i < 5; i++) {
		struct ring_frame h;
		const uint8_t *pl;
		tf_push(&t, 7, 70, i < 4, msg + off, cuts[i]);
		off += cuts[i];
		cr_assert_eq(ring_peek(&t.c, &h, &pl), 1);
		int rc = frag_add(&f, &h, pl);
		cr_assert_eq(rc, i < 4 ? FRAG_PARTIAL : FRAG_COMPLETE);
		/* Hostile peer: rewrite the payload right after we read it. */
		memset((uint8_t *)pl, 0xAA, h.len);
		ring_release(&t.c);
	}
	cr_assert_eq(f.len, sizeof msg);
	cr_assert_eq(memcmp(f.buf, msg, sizeof msg), 0);
	frag_free(&f);
	tf_close(&t);
}

Test(frag, buffer_grows_geometrically_and_is_reused)
{
	struct frag_buf f;
	const size_t max = 3 * TF_MIB + 12345; /* not a power of two */
	frag_init(&f, max);
	static uint8_t chunk[65536];
	struct ring_frame h = { .type = 1, .stream = 1 };
	size_t caps[64];
	int ncaps = 0;
	/* One message growing to the limit, 64 KiB at a time. */
	for (size_t len = 0; len < max;) {
		h.len = (uint32_t)(max - len < sizeof chunk ? max - len : sizeof chunk);
		h.flags = len + h.len < max ? RING_F_MORE : 0;
		int rc = frag_add(&f, &h, chunk);
		len += h.len;
		cr_assert_eq(rc, len < max ? FRAG_PARTIAL : FRAG_COMPLETE);
		cr_assert_geq(f.cap, f.len);
		cr_assert_leq(f.cap, max);
		if (!ncaps || caps[ncaps - 1] != f.cap)
			caps[ncaps++] = f.cap;
	}
	cr_assert_eq(f.cap, max, "capped at max, not the next power of two");
	for (int i = 1; i + 1 < ncaps; i++)
		cr_assert_eq(caps[i], 2 * caps[i - 1], "doubling");
	cr_assert_leq(ncaps, 12);
	/* Smaller messages reuse the buffer, after a reset as well. */
	uint8_t *buf = f.buf;
	h.len = 100;
	h.flags = 0;
	cr_assert_eq(frag_add(&f, &h, chunk), FRAG_COMPLETE);
	frag_reset(&f);
	cr_assert_eq(frag_add(&f, &h, chunk), FRAG_COMPLETE);
	cr_assert_eq(f.buf, buf);
	cr_assert_eq(f.cap, max);
	frag_free(&f);
	cr_assert_null(f.buf);
	cr_assert_eq(f.cap, 0);
	cr_assert_eq(f.max, max, "frag_free keeps the limit");
	frag_free(&f);
}

/* A failed allocation drops that message like FRAG_TOOBIG and nothing else. */
Test(frag, enomem_drops_one_message)
{
	if (TF_ASAN)
		cr_skip_test("address-space limits and ASan's shadow memory do not mix");
	struct rlimit old, lim;
	cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
	FILE *fp = fopen("/proc/self/statm", "r");
	cr_assert(fp);
	unsigned long pages = 0;
	cr_assert_eq(fscanf(fp, "%lu", &pages), 1);
	fclose(fp);
	/* Room for some growth, not for a 256 MiB buffer. */
	lim = old;
	lim.rlim_cur = pages * (rlim_t)sysconf(_SC_PAGESIZE) + 64 * (rlim_t)TF_MIB;
	cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);

	struct frag_buf f;
	frag_init(&f, 1u << 30);
	static uint8_t chunk[1 << 20];
	struct ring_frame h = { .len = sizeof chunk, .type = 1, .stream = 1, .flags = RING_F_MORE };
	int rc, n = 0;
	while ((rc = frag_add(&f, &h, chunk)) == FRAG_PARTIAL)
		cr_assert_lt(++n, 1024);
	cr_assert_eq(rc, -ENOMEM);
	cr_assert_eq(frag_add(&f, &h, chunk), FRAG_DISCARDED);
	h.flags = 0;
	cr_assert_eq(frag_add(&f, &h, chunk), FRAG_DISCARDED);
	h.stream = 2;
	h.len = 10;
	cr_assert_eq(frag_add(&f, &h, chunk), FRAG_COMPLETE);
	cr_assert_eq(f.len, 10);
	cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
	frag_free(&f);
}

/* ---- round trip with a consumer thread ------------------------------------------ */

#define TF_RT_MAX (8u * TF_MIB)
#define TF_RT_RANDOM (TF_ASAN ? 150u : 400u)

struct tf_expect {
	size_t len;
	uint64_t sum, stream;
	uint16_t type;
};

struct tf_rt {
	struct tf_ring t;
	int data_fd, space_fd;
	size_t n;
	struct tf_expect *want; /* filled by the producer before it writes */
	uint64_t bytes, frames, cons_sleeps, prod_sleeps;
	_Atomic int stop;
	char err[200];
};

static void tf_kick(int fd)
{
	uint64_t one = 1;
	ssize_t w = write(fd, &one, sizeof one);
	(void)w;
}

static void tf_block(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);
	(void)r;
}

static void *tf_rt_consumer(void *arg)
{
	struct tf_rt *s = arg;
	struct ring *c = &s->t.c;
	struct frag_buf f;
	frag_init(&f, TF_RT_MAX);
	size_t i = 0, frames = 0;
	while (i < s->n) {
		struct ring_frame h;
		const uint8_t *pl;
		int rc = ring_peek(c, &h, &pl);
		if (rc == 0) {
			rc = ring_sleep_prepare(c);
			if (rc == 0) {
				tf_block(s->data_fd);
				ring_sleep_cancel(c);
				s->cons_sleeps++;
			}
			if (rc >= 0)
				continue;
		}
		if (rc < 0) {
			snprintf(s->err, sizeof s->err, "message %zu: ring %d", i, rc);
			goto fail;
		}
		rc = frag_add(&f, &h, pl);
		ring_release(c);
		if (ring_producer_blocked(c))
			tf_kick(s->space_fd);
		s->frames++;
		frames++;
		if (rc == FRAG_PARTIAL)
			continue;
		const struct tf_expect *w = &s->want[i];
		size_t want_frames = w->len ? (w->len + c->max_payload - 1) / c->max_payload : 1;
		if (rc != FRAG_COMPLETE || f.len != w->len || f.stream != w->stream ||
		    f.type != w->type || frames != want_frames ||
		    tf_sum(f.len ? f.buf : (const uint8_t *)"", f.len) != w->sum) {
			snprintf(s->err, sizeof s->err,
				 "message %zu: rc %d len %zu/%zu stream %lu/%lu frames %zu/%zu", i,
				 rc, f.len, w->len, (unsigned long)f.stream,
				 (unsigned long)w->stream, frames, want_frames);
			goto fail;
		}
		s->bytes += f.len;
		frames = 0;
		i++;
	}
	frag_free(&f);
	return NULL;
fail:
	frag_free(&f);
	atomic_store(&s->stop, 1);
	tf_kick(s->space_fd);
	return NULL;
}

static size_t tf_rt_len(size_t i, uint64_t *rs, uint32_t mp)
{
	static const size_t fixed[] = { 0, 1, 7, 8, 16367, 16368, 16369, 32736, 32737,
					TF_RT_MAX, TF_RT_MAX - 1, 65536 };
	if (i < sizeof fixed / sizeof fixed[0])
		return fixed[i] == 16368 ? mp : fixed[i];
	/* Log-uniform up to 8 MiB: every scale from bytes to megabytes. */
	uint64_t r = tf_rand(rs);
	unsigned bits = (unsigned)(r % 24);
	return (size_t)((r >> 8) & ((1ull << bits) - 1)) % (TF_RT_MAX + 1);
}

Test(frag, round_trip_0_to_8mib_through_64k_ring, .timeout = 120)
{
	struct tf_rt *s = calloc(1, sizeof *s);
	cr_assert(s);
	tf_open(&s->t, 65536);
	cr_assert_eq(s->t.p.max_payload, 16368);
	s->n = 12 + TF_RT_RANDOM;
	s->want = calloc(s->n, sizeof *s->want);
	uint8_t *msg = malloc(TF_RT_MAX);
	cr_assert(s->want && msg);
	s->data_fd = eventfd(0, EFD_CLOEXEC);
	s->space_fd = eventfd(0, EFD_CLOEXEC);
	cr_assert(s->data_fd >= 0 && s->space_fd >= 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, tf_rt_consumer, s), 0);

	struct ring *p = &s->t.p;
	uint64_t rs = 2024;
	for (size_t i = 0; i < s->n && !atomic_load(&s->stop); i++) {
		size_t len = tf_rt_len(i, &rs, p->max_payload);
		tf_fill(msg, len, i);
		struct tf_expect *w = &s->want[i];
		w->len = len;
		w->sum = tf_sum(msg, len);
		w->stream = 1000 + i * 2;
		w->type = (uint16_t)(1 + i % 7);
		size_t done = 0;
		for (;;) {
			int rc = frag_write(p, w->type, w->stream, msg, len, &done);
			if (ring_consumer_sleeping(p))
				tf_kick(s->data_fd);
			if (rc == 1)
				break;
			cr_assert_eq(rc, 0, "frag_write %d", rc);
			if (atomic_load(&s->stop))
				break;
			rc = ring_wait_space_prepare(p, FRAG_WAIT_SPACE(p));
			cr_assert_geq(rc, 0);
			if (rc == 0) {
				tf_block(s->space_fd);
				atomic_store_explicit(&p->ctl->prod_waiting, 0, memory_order_relaxed);
				s->prod_sleeps++;
			}
		}
	}
	pthread_join(th, NULL);
	cr_assert_eq(s->err[0], 0, "%s", s->err);
	cr_assert_eq(atomic_load(&s->t.ctl->head), atomic_load(&s->t.ctl->tail));
	cr_log_info("frag round trip: %zu messages, %lu MiB in %lu frames; consumer slept %lu, "
		    "producer slept %lu",
		    s->n, (unsigned long)(s->bytes / TF_MIB), (unsigned long)s->frames,
		    (unsigned long)s->cons_sleeps, (unsigned long)s->prod_sleeps);
	close(s->data_fd);
	close(s->space_fd);
	free(msg);
	free(s->want);
	tf_close(&s->t);
	free(s);
}
