/*
 * frag.c — splitting messages into frames and putting them back together.
 */
#include "frag.h"

#include <stdlib.h>
#include <string.h>

/* First allocation of a reassembly buffer: one page, so that a stream of
 * small messages settles on one small buffer instead of many reallocs. */
#define FRAG_MIN_CAP 4096u

int frag_write(struct ring *r, uint16_t type, uint64_t stream, const void *p,
	       size_t len, size_t *done)
{
	/* Type 0 would read as a PAD record on the other side. */
	if (*done > len || type == RING_T_PAD)
		return -EINVAL;
	/* An empty message is one empty frame; for any other the loop ends
	 * when every byte is out (also on a call after a finished write). */
	int first = len == 0;
	while (*done < len || first) {
		size_t left = len - *done;
		uint32_t n = left > r->max_payload ? r->max_payload : (uint32_t)left;
		struct ring_frame *fr;
		int rc = ring_reserve(r, n, &fr);
		if (rc == -EAGAIN)
			return 0;
		if (rc)
			return rc;
		if (n)
			memcpy(ring_payload(fr), (const uint8_t *)p + *done, n);
		ring_commit(r, fr, n, type, n < left ? RING_F_MORE : 0, stream);
		*done += n;
		first = 0;
	}
	return 1;
}

void frag_init(struct frag_buf *f, size_t max)
{
	memset(f, 0, sizeof *f);
	f->max = max;
}

void frag_free(struct frag_buf *f)
{
	free(f->buf);
	frag_init(f, f->max);
}

void frag_reset(struct frag_buf *f)
{
	f->len = 0;
	f->active = 0;
	f->discarding = 0;
}

/* Make room for `need` bytes (need <= f->max). Doubling keeps the number of
 * reallocs logarithmic in the largest message; capping at max keeps a
 * client from making us hold more than the limit we announced. */
static int frag_grow(struct frag_buf *f, size_t need)
{
	if (need <= f->cap)
		return 0;
	size_t cap = f->cap ? f->cap : FRAG_MIN_CAP;
	while (cap < need && cap <= f->max / 2)
		cap *= 2;
	if (cap < need || cap > f->max)
		cap = f->max;
	uint8_t *b = realloc(f->buf, cap);
	if (!b)
		return -ENOMEM;
	f->buf = b;
	f->cap = cap;
	return 0;
}

/* End of a message that will not be delivered: swallow its other fragments
 * unless this was the last one. */
static void frag_drop(struct frag_buf *f, int more)
{
	f->len = 0;
	f->active = more;
	f->discarding = more;
}

int frag_add(struct frag_buf *f, const struct ring_frame *hdr, const uint8_t *payload)
{
	int more = (hdr->flags & RING_F_MORE) != 0;
	if (f->active) {
		/* Fragments of one message are contiguous in the ring. */
		if (hdr->stream != f->stream || hdr->type != f->type) {
			frag_reset(f);
			return FRAG_EPROTO;
		}
		if (f->discarding) {
			frag_drop(f, more);
			return FRAG_DISCARDED;
		}
	} else {
		f->stream = hdr->stream;
		f->type = hdr->type;
		f->len = 0;
		f->active = 1;
		f->discarding = 0;
	}
	/* Written so that len + hdr->len cannot overflow. */
	if (hdr->len > f->max - f->len) {
		frag_drop(f, more);
		return FRAG_TOOBIG;
	}
	if (hdr->len) {
		int rc = frag_grow(f, f->len + hdr->len);
		if (rc) {
			frag_drop(f, more);
			return rc;
		}
		memcpy(f->buf + f->len, payload, hdr->len);
		f->len += hdr->len;
	}
	if (more)
		return FRAG_PARTIAL;
	f->active = 0;
	return FRAG_COMPLETE;
}
