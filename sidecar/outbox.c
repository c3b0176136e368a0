/*
 * outbox.c — ordered spill of events for a full ring (see outbox.h).
 *
 * Records are {u32 len, u16 type, u16 pad} + payload, 8-byte aligned, in
 * one growing buffer that is compacted when it empties.
 */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct outbox_rec {
	uint32_t len;
	uint16_t type;
	uint16_t pad;
};

static size_t outbox_rec_size(size_t len)
{
	return (sizeof(struct outbox_rec) + len + 7) & ~(size_t)7;
}

int outbox_push(struct outbox *o, uint16_t type, const void *a, size_t alen,
		const void *b, size_t blen, const void *c, size_t clen)
{
	size_t len = alen + blen + clen;
	size_t need = outbox_rec_size(len);
	if (len > UINT32_MAX)
		return -E2BIG;
	if (o->head == o->len)
		o->head = o->len = 0;
	if (o->len + need > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + need)
			cap *= 2;
		uint8_t *n = realloc(o->buf, cap);
		if (!n)
			return -ENOMEM;
		o->buf = n;
		o->cap = cap;
	}
	struct outbox_rec r = { .len = (uint32_t)len, .type = type };
	uint8_t *p = o->buf + o->len;
	memcpy(p, &r, sizeof r);
	p += sizeof r;
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	if (clen)
		memcpy(p + alen + blen, c, clen);
	o->len += need;
	return 0;
}

int outbox_peek(const struct outbox *o, uint16_t *type, const uint8_t **p, size_t *len)
{
	if (o->head == o->len)
		return 0;
	struct outbox_rec r;
	memcpy(&r, o->buf + o->head, sizeof r);
	*type = r.type;
	*p = o->buf + o->head + sizeof r;
	*len = r.len;
	return 1;
}

void outbox_pop(struct outbox *o)
{
	struct outbox_rec r;
	memcpy(&r, o->buf + o->head, sizeof r);
	o->head += outbox_rec_size(r.len);
	if (o->head == o->len)
		o->head = o->len = 0;
}

void outbox_free(struct outbox *o)
{
	free(o->buf);
	memset(o, 0, sizeof *o);
}
