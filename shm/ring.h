/*
 * ring.h — single-producer single-consumer frame ring in shared memory.
 *
 * The ring is a power-of-two byte array plus a control block. Positions
 * (head, tail) are 64-bit byte counters that only grow; the offset of a
 * position is pos & mask. Records are 8-byte aligned:
 *
 *     struct ring_frame { u32 len; u16 type; u16 flags; u64 stream; } + payload
 *
 * A record never straddles the end of the array. When the next record does
 * not fit before the end, the producer writes a PAD record (type 0) covering
 * the rest of the lap; when fewer than sizeof(struct ring_frame) bytes remain
 * there is no room even for a PAD header and both sides skip them implicitly.
 *
 * Both sides keep a private copy of their own position and validate every
 * index and length they read from the other side: the peer may be buggy or
 * hostile. A violation is reported as -EPROTO and the ring must then be
 * abandoned (it is the whole connection's problem, nobody else's).
 *
 * Publication is C11 release/acquire: the producer writes a record, then
 * stores tail with release; the consumer loads tail with acquire, reads the
 * record, then stores head with release so the producer may reuse the bytes.
 *
 * Wake-ups: each side has a `waiting` word. A consumer about to sleep sets
 * cons_waiting, issues a full fence and re-checks the ring (ring_sleep_prepare);
 * a producer after publishing issues a full fence and reads cons_waiting
 * (ring_consumer_sleeping). The symmetric pair prod_waiting /
 * ring_producer_blocked is for a producer waiting for space. How the sleeper
 * is woken (eventfd, io_uring) is up to the caller; the ring makes no system
 * calls at all.
 *
 * The hot path is inline here; nothing allocates.
 */
#ifndef RINGSIDE_SHM_RING_H
#define RINGSIDE_SHM_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RING_CACHELINE 64
#define RING_ALIGN 8u
#define RING_FRAME_HDR ((uint32_t)sizeof(struct ring_frame))
#define RING_MIN_SIZE 4096u
#define RING_MAX_SIZE (1u << 30)

/* Record type 0 is the ring's own PAD record; users number from 1. */
#define RING_T_PAD 0
/* Frame flag: more fragments of this message follow (see frag.h). */
#define RING_F_MORE 0x1u

struct ring_frame {
	uint32_t len;    /* payload bytes, excluding this header */
	uint16_t type;
	uint16_t flags;
	uint64_t stream;
};

/* Control block in shared memory. Each side writes its own index on its own
 * cache line; the waiting words are set by their owner and cleared by the
 * side that answers them (one kick per sleep). */
struct ring_ctl {
	_Alignas(RING_CACHELINE) _Atomic uint64_t tail; /* written by producer */
	_Atomic uint32_t prod_waiting;                  /* producer wants space */
	uint32_t pad0;
	_Alignas(RING_CACHELINE) _Atomic uint64_t head; /* written by consumer */
	_Atomic uint32_t cons_waiting;                  /* consumer is asleep */
	uint32_t pad1;
	_Alignas(RING_CACHELINE) char end[];
};

/* One side's private view of a ring. Lives in private memory. */
struct ring {
	struct ring_ctl *ctl;
	uint8_t *data;
	uint32_t size;        /* bytes in data, a power of two */
	uint32_t mask;
	uint32_t max_payload; /* largest payload of one frame */
	uint32_t pad;
	uint64_t pos;         /* producer: next tail; consumer: next head */
	uint64_t peer;        /* producer: last head seen; consumer: last tail seen */
	uint64_t resv;        /* producer: position of the reserved record */
	uint64_t cur_end;     /* consumer: position after the peeked record */
};

static inline uint32_t ring_rec_size(uint32_t len)
{
	return (RING_FRAME_HDR + len + (RING_ALIGN - 1)) & ~(RING_ALIGN - 1);
}

/* Largest payload one frame may carry in a ring of `size` bytes. A quarter of
 * the ring: a record of at most size/2 always fits once the ring drains, even
 * when it must first pad to the end of the lap, and a quarter leaves room for
 * other frames to flow between the fragments of a large message. */
static inline uint32_t ring_max_payload_for(uint32_t size)
{
	return size / 4 - RING_FRAME_HDR;
}

/* Set up a private view. The caller has validated size (power of two, within
 * RING_MIN_SIZE..RING_MAX_SIZE) and that ctl/data are mapped. `producer`
 * selects which index is ours. Returns 0 or -EPROTO if the shared indices are
 * already inconsistent. */
int ring_init_view(struct ring *r, struct ring_ctl *ctl, uint8_t *data,
		   uint32_t size, int producer);

/* Initialise a fresh control block (creator of the segment only). */
void ring_ctl_reset(struct ring_ctl *ctl);

/* ---- producer ------------------------------------------------------------ */

/* Refresh the consumer's head and check it. Returns free bytes or -EPROTO. */
static inline int64_t ring_refresh_head(struct ring *r)
{
	uint64_t h = atomic_load_explicit(&r->ctl->head, memory_order_acquire);
	/* head may only move forward, and never past what we produced. */
	if (h < r->peer || h > r->pos)
		return -EPROTO;
	r->peer = h;
	return (int64_t)r->size - (int64_t)(r->pos - h);
}

/*
 * Reserve room for a frame with up to `len` payload bytes. On success returns
 * a pointer to the frame header (payload follows it) that stays valid until
 * ring_commit. -EMSGSIZE: len exceeds max_payload. -EAGAIN: not enough room
 * now. -EPROTO: the consumer's head is corrupt.
 */
static inline int ring_reserve(struct ring *r, uint32_t len, struct ring_frame **out)
{
	if (len > r->max_payload)
		return -EMSGSIZE;
	uint32_t rec = ring_rec_size(len);
	uint32_t off = (uint32_t)(r->pos & r->mask);
	uint32_t rem = r->size - off;
	uint32_t skip = rem < rec ? rem : 0;
	uint64_t need = (uint64_t)skip + rec;
	if ((uint64_t)r->size - (r->pos - r->peer) < need) {
		int64_t fr = ring_refresh_head(r);
		/* Not (int)fr: gcc cannot tell that truncating a negative
		 * int64_t never yields 0 here, and warns that *out may be used
		 * uninitialised in every caller (-Werror breaks the build). */
		if (fr < 0)
			return -EPROTO;
		if ((uint64_t)fr < need)
			return -EAGAIN;
	}
	if (skip >= RING_FRAME_HDR) {
		struct ring_frame pad = { .len = skip - RING_FRAME_HDR, .type = RING_T_PAD };
		memcpy(r->data + off, &pad, sizeof pad);
	}
	r->resv = r->pos + skip;
	*out = (struct ring_frame *)(void *)(r->data + (r->resv & r->mask));
	return 0;
}

static inline void *ring_payload(struct ring_frame *f)
{
	return (uint8_t *)f + RING_FRAME_HDR;
}

/* Fill the header of the reserved frame and publish it. `len` may be smaller
 * than what was reserved (write first, then say how much). */
static inline void ring_commit(struct ring *r, struct ring_frame *f, uint32_t len,
			       uint16_t type, uint16_t flags, uint64_t stream)
{
	f->len = len;
	f->type = type;
	f->flags = flags;
	f->stream = stream;
	r->pos = r->resv + ring_rec_size(len);
	atomic_store_explicit(&r->ctl->tail, r->pos, memory_order_release);
}

/* Copying convenience: reserve, copy, commit. */
static inline int ring_push(struct ring *r, uint16_t type, uint16_t flags,
			    uint64_t stream, const void *p, uint32_t len)
{
	struct ring_frame *f;
	int rc = ring_reserve(r, len, &f);
	if (rc)
		return rc;
	if (len)
		memcpy(ring_payload(f), p, len);
	ring_commit(r, f, len, type, flags, stream);
	return 0;
}

/* After publishing: is the consumer asleep and in need of a kick? The full
 * fence pairs with the one in ring_sleep_prepare (Dekker): either the
 * consumer's re-check sees our tail or we see its waiting flag. Clears the
 * flag, so one kick is sent per sleep.
 *
 * A consumer that has already read everything we committed needs no kick,
 * even if it asks for one: it read our frames without sleeping and has
 * armed again for the next ones. Kicking it would wake it for nothing (and
 * a poller of the bell would find the fd readable with nothing to read), so
 * the flag stays set for the next commit. The acquire load pairs with the
 * release store of the flag: a consumer that armed after consuming is seen
 * with its new head. */
static inline int ring_consumer_sleeping(struct ring *r)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&r->ctl->cons_waiting, memory_order_acquire))
		return 0;
	if (atomic_load_explicit(&r->ctl->head, memory_order_relaxed) == r->pos)
		return 0;
	return atomic_exchange_explicit(&r->ctl->cons_waiting, 0, memory_order_relaxed) != 0;
}

/* Producer found the ring full and is about to sleep until space frees.
 * Returns 1 if space appeared meanwhile (do not sleep), 0 to sleep, -EPROTO. */
static inline int ring_wait_space_prepare(struct ring *r, uint32_t need)
{
	atomic_store_explicit(&r->ctl->prod_waiting, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	int64_t fr = ring_refresh_head(r);
	if (fr < 0)
		return (int)fr;
	if ((uint64_t)fr >= need) {
		atomic_store_explicit(&r->ctl->prod_waiting, 0, memory_order_relaxed);
		return 1;
	}
	return 0;
}

/* Producer woke up (for any reason): stop asking for kicks. */
static inline void ring_wait_space_cancel(struct ring *r)
{
	atomic_store_explicit(&r->ctl->prod_waiting, 0, memory_order_relaxed);
}

/* ---- consumer ------------------------------------------------------------ */

/* Load and check the producer's tail. Returns bytes available or -EPROTO. */
static inline int64_t ring_refresh_tail(struct ring *r)
{
	uint64_t t = atomic_load_explicit(&r->ctl->tail, memory_order_acquire);
	if (t < r->peer || t - r->pos > r->size || t < r->pos)
		return -EPROTO;
	r->peer = t;
	return (int64_t)(t - r->pos);
}

/* Slow path of ring_peek: validate and skip pads. Out of line. */
int ring_peek_slow(struct ring *r, struct ring_frame *hdr, const uint8_t **payload);

/*
 * Look at the next frame without consuming it. Returns 1 and fills a private
 * copy of the header (validated: safe to trust len) and a pointer to the
 * payload in shared memory (the peer can still scribble on it: copy what you
 * must not see change). 0: ring empty. -EPROTO: corrupt ring.
 */
static inline int ring_peek(struct ring *r, struct ring_frame *hdr, const uint8_t **payload)
{
	/* Fast path: an ordinary frame inside the tail we already validated. */
	if (r->peer != r->pos) {
		uint32_t off = (uint32_t)(r->pos & r->mask);
		if (r->size - off >= RING_FRAME_HDR) {
			memcpy(hdr, r->data + off, RING_FRAME_HDR);
			if (hdr->type != RING_T_PAD && hdr->len <= r->max_payload) {
				uint32_t rec = ring_rec_size(hdr->len);
				if (rec <= r->size - off && rec <= r->peer - r->pos) {
					*payload = r->data + off + RING_FRAME_HDR;
					r->cur_end = r->pos + rec;
					return 1;
				}
			}
		}
	}
	return ring_peek_slow(r, hdr, payload);
}

/* Consume the frame returned by the last successful ring_peek. */
static inline void ring_release(struct ring *r)
{
	r->pos = r->cur_end;
	atomic_store_explicit(&r->ctl->head, r->pos, memory_order_release);
}

/* After releasing: does the producer wait for space? (pairs with
 * ring_wait_space_prepare; clears the flag). */
static inline int ring_producer_blocked(struct ring *r)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&r->ctl->prod_waiting, memory_order_relaxed))
		return 0;
	return atomic_exchange_explicit(&r->ctl->prod_waiting, 0, memory_order_relaxed) != 0;
}

/* Consumer about to sleep. Returns 1 if data arrived meanwhile (do not sleep;
 * flag cleared), 0 to sleep, -EPROTO on a corrupt tail. */
static inline int ring_sleep_prepare(struct ring *r)
{
	atomic_store_explicit(&r->ctl->cons_waiting, 1, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	int64_t av = ring_refresh_tail(r);
	if (av < 0)
		return (int)av;
	if (av > 0) {
		atomic_store_explicit(&r->ctl->cons_waiting, 0, memory_order_relaxed);
		return 1;
	}
	return 0;
}

/* Consumer woke up (for any reason): stop asking for kicks. */
static inline void ring_sleep_cancel(struct ring *r)
{
	atomic_store_explicit(&r->ctl->cons_waiting, 0, memory_order_relaxed);
}

/* Producer: where the consumer's head is now (cheap, no validation: for
 * noticing that it moved, not for reserving). */
static inline uint64_t ring_consumed(const struct ring *r)
{
	return atomic_load_explicit(&r->ctl->head, memory_order_relaxed);
}

/* Is anything committed that we have not consumed? (cheap, no validation) */
static inline int ring_maybe_nonempty(const struct ring *r)
{
	return atomic_load_explicit(&r->ctl->tail, memory_order_relaxed) != r->pos;
}

#endif
