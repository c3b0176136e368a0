/*
 * ring.c — the out-of-line parts of the SPSC frame ring: view set-up and the
 * consumer's slow path (pads, lap ends, refreshing and validating the tail).
 */
#include "ring.h"

void ring_ctl_reset(struct ring_ctl *ctl)
{
	atomic_store(&ctl->tail, 0);
	atomic_store(&ctl->head, 0);
	atomic_store(&ctl->prod_waiting, 0);
	atomic_store(&ctl->cons_waiting, 0);
}

int ring_init_view(struct ring *r, struct ring_ctl *ctl, uint8_t *data,
		   uint32_t size, int producer)
{
	if (size < RING_MIN_SIZE || size > RING_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	memset(r, 0, sizeof *r);
	r->ctl = ctl;
	r->data = data;
	r->size = size;
	r->mask = size - 1;
	r->max_payload = ring_max_payload_for(size);
	uint64_t head = atomic_load_explicit(&ctl->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&ctl->tail, memory_order_acquire);
	if (tail < head || tail - head > size || (head & (RING_ALIGN - 1)) ||
	    (tail & (RING_ALIGN - 1)))
		return -EPROTO;
	if (producer) {
		r->pos = tail;
		r->peer = head;
	} else {
		r->pos = head;
		r->peer = head;
	}
	r->cur_end = r->pos;
	return 0;
}

/* Consumed bytes that carry no frame (pad or implicit skip): publish the new
 * head at once, or a producer waiting for exactly that room would sleep
 * forever while we report the ring empty. */
static void ring_skip(struct ring *r, uint32_t n)
{
	r->pos += n;
	r->cur_end = r->pos;
	atomic_store_explicit(&r->ctl->head, r->pos, memory_order_release);
}

int ring_peek_slow(struct ring *r, struct ring_frame *hdr, const uint8_t **payload)
{
	for (;;) {
		uint64_t avail = r->peer - r->pos;
		if (avail == 0) {
			int64_t a = ring_refresh_tail(r);
			if (a <= 0)
				return (int)a;
			avail = (uint64_t)a;
		}
		uint32_t off = (uint32_t)(r->pos & r->mask);
		uint32_t rem = r->size - off;
		if (rem < RING_FRAME_HDR) {
			/* Implicit skip: the producer never ends a record there. */
			if (avail <= rem)
				return -EPROTO;
			ring_skip(r, rem);
			continue;
		}
		memcpy(hdr, r->data + off, RING_FRAME_HDR);
		if (hdr->type == RING_T_PAD) {
			if (hdr->len != rem - RING_FRAME_HDR || avail <= rem)
				return -EPROTO;
			ring_skip(r, rem);
			continue;
		}
		if (hdr->len > r->max_payload)
			return -EPROTO;
		uint32_t rec = ring_rec_size(hdr->len);
		if (rec > rem || rec > avail)
			return -EPROTO;
		*payload = r->data + off + RING_FRAME_HDR;
		r->cur_end = r->pos + rec;
		return 1;
	}
}
