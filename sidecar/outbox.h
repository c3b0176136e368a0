/*
 * outbox.h — events a stream could not write because its client's event
 * ring was full, kept in order until the client drains.
 *
 * Bounded by construction, not by a limit here: the HTTP adapter pauses
 * its transfer while anything waits, so the outbox holds at most what one
 * write callback of curl produced (or one whole non-streamed response).
 */
#ifndef RINGSIDE_OUTBOX_H
#define RINGSIDE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct outbox {
	uint8_t *buf;
	size_t head, len, cap; /* records live in [head, len) */
};

/* Append one frame (type + payload made of up to three parts). 0 or -ENOMEM. */
int outbox_push(struct outbox *o, uint16_t type, const void *a, size_t alen,
		const void *b, size_t blen, const void *c, size_t clen);

/* Peek the oldest frame: 1 and its type/payload, or 0 when empty. */
int outbox_peek(const struct outbox *o, uint16_t *type, const uint8_t **p, size_t *len);

/* Drop the oldest frame. */
void outbox_pop(struct outbox *o);

static inline int outbox_empty(const struct outbox *o)
{
	return o->head == o->len;
}

void outbox_free(struct outbox *o);

#endif
