/*
 * ring_test_util.h — helpers shared by the ring tests (test_ring*.c): a ring
 * in private memory with both views, deterministic frame contents, and a
 * queue of expected frames checked against the layout rule.
 */
#ifndef RINGSIDE_TEST_RING_TEST_UTIL_H
#define RINGSIDE_TEST_RING_TEST_UTIL_H

#include <stdint.h>

#include "shm/ring.h"

#if defined(__SANITIZE_ADDRESS__)
#define RTU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTU_ASAN 1
#endif
#endif
#ifndef RTU_ASAN
#define RTU_ASAN 0
#endif

/* Fill byte for fresh ring memory: lets a test see that bytes nobody should
 * write (an implicit skip) were left alone. */
#define RTU_FILL 0xEE

struct rtu_ring {
	struct ring_ctl *ctl;
	uint8_t *data;
	uint32_t size;
	struct ring p, c;
};

/* Frames the tests expect, in ring order. A ring of at most 64 KiB holds at
 * most 4096 records of 16 bytes. */
#define RTU_QCAP 4096u
struct rtu_q {
	uint32_t len[RTU_QCAP];
	uint64_t seq[RTU_QCAP];
	uint64_t head, tail;
	uint64_t pads, skips, eagain;
};

/* xorshift64*: deterministic, so producer and consumer can each derive the
 * same length and bytes from a frame's sequence number. */
uint64_t rtu_rand(uint64_t *s);
uint64_t rtu_seed(uint64_t n);

/* Fill p with frame seq's bytes; rtu_check: 1 when p holds exactly those,
 * with *sum accumulating a checksum. */
void rtu_fill(uint8_t *p, uint32_t len, uint64_t seq);
int rtu_check(const uint8_t *p, uint32_t len, uint64_t seq, uint64_t *sum);

/* Both views of one ring, head and tail at start (rtu_open: at 0). */
void rtu_open_at(struct rtu_ring *t, uint32_t size, uint64_t start);
void rtu_open(struct rtu_ring *t, uint32_t size);
void rtu_close(struct rtu_ring *t);
uint64_t rtu_tail(const struct rtu_ring *t);
uint64_t rtu_head(const struct rtu_ring *t);

/* The record type frame seq is committed with. */
uint16_t rtu_type(uint64_t seq);

/* Push frame seq of len bytes and check it against the layout rule;
 * 0 or -EAGAIN. */
int rtu_push(struct rtu_ring *t, struct rtu_q *q, uint32_t len, uint64_t seq);

/* Consume the oldest expected frame (rtu_drain: all of them), every byte
 * compared. */
void rtu_pop(struct rtu_ring *t, struct rtu_q *q);
void rtu_drain(struct rtu_ring *t, struct rtu_q *q);

/* A zeroed queue; the caller frees it. */
struct rtu_q *rtu_q_new(void);

#endif
