/*
 * frag.h — messages larger than one ring frame.
 *
 * A message of `len` bytes travels as ceil(len / max_payload) frames (one
 * frame when len is 0) that all carry the message's type and stream; every
 * frame but the last has RING_F_MORE. The fragments of one message are
 * contiguous in the ring: a producer that has started a message writes
 * nothing else into that ring until frag_write says the message is done, and
 * a consumer treats anything else in between as a protocol violation.
 *
 * Producer: frag_write writes what fits now and remembers its progress in the
 * caller's *done, so a producer facing a full ring can kick the consumer,
 * wait for space (FRAG_WAIT_SPACE bytes is always enough for the next
 * fragment) and call again.
 *
 * Consumer: frag_add copies each fragment out of shared memory into a private
 * buffer bounded by `max` bytes. A message over the limit costs that stream an
 * error and nothing else: its remaining fragments are swallowed so the ring
 * stays in step.
 *
 * libc only: this file is also built into libringside.
 */
#ifndef RINGSIDE_SHM_FRAG_H
#define RINGSIDE_SHM_FRAG_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"

/* Free bytes that guarantee room for any one fragment, including the PAD
 * that may precede it at the end of a lap: a record is at most size/4 bytes
 * (ring_max_payload_for) and the pad is shorter than that record. */
#define FRAG_WAIT_SPACE(r) ((r)->size / 2)

/*
 * Write message (type, stream, p/len) as one or more frames, all but the last
 * with RING_F_MORE. *done is the number of message bytes already written by
 * earlier calls for this message: start at 0 and pass the same arguments and
 * the same *done again after a 0 return. Returns 1 when the whole message is
 * written, 0 when the ring filled up first, -EINVAL when *done > len or
 * type is RING_T_PAD, -EPROTO when the consumer's head is corrupt. Makes no system call: kicking
 * a sleeping consumer (ring_consumer_sleeping) is the caller's job, after a
 * 0 return as well, since the consumer must drain for us to make progress.
 * p may be NULL when len is 0.
 */
int frag_write(struct ring *r, uint16_t type, uint64_t stream, const void *p,
	       size_t len, size_t *done);

/* Consumer reassembly buffer, bounded by max bytes. buf may be NULL while
 * cap is 0 (nothing received yet, or only empty messages). */
struct frag_buf {
	uint8_t *buf;
	size_t len, cap, max;
	uint64_t stream;
	uint16_t type;
	int active;     /* a message has started and not ended */
	int discarding; /* ...and it is over max: swallow its fragments */
};

/* frag_add results. Positive values concern one message only; negative ones
 * are the connection's problem (drop it, as for a corrupt ring). */
enum frag_result {
	FRAG_COMPLETE = 1,  /* message in buf/len/stream/type */
	FRAG_PARTIAL = 2,   /* more fragments expected */
	FRAG_TOOBIG = 3,    /* message exceeds max; reported once per message */
	FRAG_DISCARDED = 4, /* a later fragment of a message reported TOOBIG */
	FRAG_EPROTO = -EPROTO, /* fragments of two messages interleave */
};

void frag_init(struct frag_buf *f, size_t max);
void frag_free(struct frag_buf *f);

/*
 * Feed one frame returned by ring_peek (header validated; payload still in
 * shared memory, copied here). Returns an enum frag_result or -ENOMEM.
 *
 * FRAG_COMPLETE: the message is in f->buf (f->len bytes, buf NULL possible
 * when len is 0), f->stream and f->type, valid until the next frag_add or
 * frag_reset.
 * FRAG_TOOBIG: returned exactly once per message, at the fragment that
 * crosses max; the rest of that message's fragments return FRAG_DISCARDED.
 * The caller fails that stream only.
 * -ENOMEM: the buffer could not grow. The message is dropped exactly as for
 * FRAG_TOOBIG (its remaining fragments return FRAG_DISCARDED), so the caller
 * may fail that stream and carry on.
 * FRAG_EPROTO: a frame of another stream or type arrived in the middle of a
 * message. The state is reset; the connection should be dropped.
 */
int frag_add(struct frag_buf *f, const struct ring_frame *hdr, const uint8_t *payload);

/* Forget any message in progress; keeps the buffer for reuse. */
void frag_reset(struct frag_buf *f);

#endif
