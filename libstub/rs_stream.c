/*
 * rs_stream.c — opening and cancelling streams: the open-stream set, writing
 * REQUEST (fragmented when large) and CANCEL frames into the submit ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rs_internal.h"
#include "shm/frag.h"

/* ---- open-stream set (linear probing, backward-shift deletion) ---------- */

static inline uint32_t rs_slot(const struct rs_client *c, uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & c->open_mask;
}

int rs_open_has(const struct rs_client *c, uint64_t id)
{
	/* 0 marks an empty slot; no stream ever has it. */
	if (id == 0)
		return 0;
	for (uint32_t i = rs_slot(c, id);; i = (i + 1) & c->open_mask) {
		if (c->open[i] == id)
			return 1;
		if (c->open[i] == 0)
			return 0;
	}
}

int rs_open_insert(struct rs_client *c, uint64_t id)
{
	/* The table holds at least twice max_streams slots, so it never fills. */
	uint32_t i = rs_slot(c, id);
	while (c->open[i])
		i = (i + 1) & c->open_mask;
	c->open[i] = id;
	c->n_open++;
	return 0;
}

int rs_open_remove(struct rs_client *c, uint64_t id)
{
	if (id == 0)
		return -ENOENT;
	uint32_t i = rs_slot(c, id);
	while (c->open[i] != id) {
		if (c->open[i] == 0)
			return -ENOENT;
		i = (i + 1) & c->open_mask;
	}
	/* Backward shift: pull later entries of the same cluster into the hole
	 * when their home slot is at or before it. */
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & c->open_mask;
		if (c->open[j] == 0)
			break;
		uint32_t home = rs_slot(c, c->open[j]);
		if (((j - home) & c->open_mask) >= ((j - i) & c->open_mask)) {
			c->open[i] = c->open[j];
			i = j;
		}
	}
	c->open[i] = 0;
	c->n_open--;
	return 0;
}

RS_API unsigned rs_open_streams(const rs_client *c)
{
	return c ? c->n_open : 0;
}

/* ---- writing ------------------------------------------------------------- */

static int rs_grow_scratch(struct rs_client *c, size_t need)
{
	if (need <= c->scratch_cap)
		return RS_OK;
	size_t cap = c->scratch_cap ? c->scratch_cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(c->scratch, cap);
	if (!p)
		return RS_ENOMEM;
	c->scratch = p;
	c->scratch_cap = cap;
	return RS_OK;
}

/* Write one whole message (fragments if needed), waiting for room. */
static int rs_write_msg(struct rs_client *c, uint16_t type, uint64_t stream,
			const void *p, size_t len)
{
	size_t done = 0;
	for (;;) {
		int r = frag_write(&c->sub, type, stream, p, len, &done);
		if (r == 1)
			break;
		if (r < 0) {
			rs_mark_dead(c, RS_EPROTO, RS_ERR_INTERNAL);
			return RS_EPROTO;
		}
		/* Let the sidecar see the fragments written so far. */
		rs_kick_sidecar(c);
		r = rs_wait(c, UINT64_MAX, 1);
		if (r)
			return r;
	}
	rs_kick_sidecar(c);
	return RS_OK;
}

static int rs_check_usable(const struct rs_client *c)
{
	if (!c)
		return RS_EINVAL;
	if (c->state != RS_ST_OK)
		return c->final_rc ? c->final_rc : RS_EDISCONNECTED;
	return RS_OK;
}

RS_API int rs_submit(rs_client *c, const struct rs_request *req, uint64_t *stream_out)
{
	int rc = rs_check_usable(c);
	if (rc)
		return rc;
	if (!req || !req->model || (!req->body && req->body_len) || !stream_out)
		return RS_EINVAL;
	size_t mlen = strlen(req->model);
	if (mlen == 0 || mlen > 255 || req->body_len > UINT32_MAX)
		return RS_EINVAL;
	struct proto_request h = { .flags = req->flags, .deadline_ms = req->deadline_ms,
				   .model_len = (uint16_t)mlen,
				   .cache_policy = (uint16_t)req->cache_policy,
				   .body_len = (uint32_t)req->body_len };
	size_t total = sizeof h + mlen + req->body_len;
	if (total > c->max_request)
		return RS_ETOOBIG;
	if (c->n_open >= c->max_streams)
		return RS_EAGAIN;
	uint64_t id = c->next_stream++;

	struct ring_frame *f;
	if (total <= c->sub.max_payload && ring_reserve(&c->sub, (uint32_t)total, &f) == 0) {
		/* Common case: one frame, written in place, no copy. */
		char *p = ring_payload(f);
		memcpy(p, &h, sizeof h);
		memcpy(p + sizeof h, req->model, mlen);
		if (req->body_len)
			memcpy(p + sizeof h + mlen, req->body, req->body_len);
		ring_commit(&c->sub, f, (uint32_t)total, PROTO_REQUEST, 0, id);
		rs_kick_sidecar(c);
	} else {
		const char *body = req->body;
		/* The body may live in our own scratch (rs_submit_prompt). */
		size_t boff = body >= c->scratch && body < c->scratch + c->scratch_cap
				      ? (size_t)(body - c->scratch) : SIZE_MAX;
		size_t base = boff == SIZE_MAX ? 0 : boff + req->body_len;
		rc = rs_grow_scratch(c, base + total);
		if (rc)
			return rc;
		if (boff != SIZE_MAX)
			body = c->scratch + boff;
		char *p = c->scratch + base;
		memcpy(p, &h, sizeof h);
		memcpy(p + sizeof h, req->model, mlen);
		if (req->body_len)
			memcpy(p + sizeof h + mlen, body, req->body_len);
		rc = rs_write_msg(c, PROTO_REQUEST, id, p, total);
		if (rc)
			return rc;
	}
	rs_open_insert(c, id);
	*stream_out = id;
	return RS_OK;
}

/* JSON string escaping of arbitrary bytes; UTF-8 is passed through as is
 * (the sidecar rejects invalid UTF-8 with a typed error). */
static size_t rs_json_escape(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[ch >> 4];
			out[n + 5] = hex[ch & 15];
			n += 6;
		} else {
			out[n++] = (char)ch;
		}
	}
	return n;
}

RS_API int rs_submit_prompt(rs_client *c, const char *model, const char *prompt,
			    uint64_t *stream_out)
{
	static const char pre[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"";
	static const char post[] = "\"}],\"stream\":true}";
	int rc = rs_check_usable(c);
	if (rc)
		return rc;
	if (!prompt)
		return RS_EINVAL;
	size_t plen = strlen(prompt);
	if (plen > c->max_request)
		return RS_ETOOBIG;
	/* Worst case every byte becomes \u00XX. */
	rc = rs_grow_scratch(c, sizeof pre + 6 * plen + sizeof post);
	if (rc)
		return rc;
	char *p = c->scratch;
	memcpy(p, pre, sizeof pre - 1);
	size_t n = sizeof pre - 1;
	n += rs_json_escape(p + n, prompt);
	memcpy(p + n, post, sizeof post - 1);
	n += sizeof post - 1;
	struct rs_request req = { .model = model, .body = p, .body_len = n };
	return rs_submit(c, &req, stream_out);
}

RS_API int rs_cancel(rs_client *c, uint64_t stream)
{
	int rc = rs_check_usable(c);
	if (rc)
		return rc;
	if (!rs_open_has(c, stream))
		return RS_ENOSTREAM;
	return rs_write_msg(c, PROTO_CANCEL, stream, NULL, 0);
}
