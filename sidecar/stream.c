/*
 * stream.c — stream lifecycle and event writing (see stream.h).
 */
#include "stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "ringside.h"
#include "provider.h"
#include "route.h"
#include "server.h"
#include "shm/proto.h"
#include "stats.h"

struct loop *stream_loop(const struct stream *s)
{
	return &s->client->srv->loop;
}

static void stream_deadline_fired(struct loop_timer *t)
{
	struct stream *s = (struct stream *)((char *)t - offsetof(struct stream, deadline));
	uint64_t ms = (stream_loop(s)->now - s->t_created) / 1000000u;
	stream_end_error(s, RS_ERR_TIMEOUT, 0, 1,
			 "deadline exceeded after %llu ms", (unsigned long long)ms);
}

struct stream *stream_new(struct client *c, uint64_t id, uint32_t deadline_ms)
{
	struct stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->id = id;
	s->client = c;
	s->t_created = c->srv->loop.now;
	s->deadline.idx = LOOP_TIMER_IDLE;
	s->deadline.fn = stream_deadline_fired;
	s->fail_retry_after_ns = UINT64_MAX;
	if (deadline_ms)
		s->deadline_at = s->t_created + (uint64_t)deadline_ms * 1000000u;
	if (deadline_ms &&
	    loop_timer_arm(&c->srv->loop, &s->deadline,
			   s->t_created + (uint64_t)deadline_ms * 1000000u)) {
		free(s);
		return NULL;
	}
	stats.streams_active++;
	stats.streams_total++;
	return s;
}

void stream_start(struct stream *s, const struct provider_ops *ops,
		  const struct cfg_provider *prov, const struct cfg_model *model,
		  const struct chatreq *req)
{
	s->ops = ops;
	s->prov = prov;
	s->model = model;
	if (!s->umodel)
		s->umodel = model->model;
	s->live = 1;
	int rc = ops->start(s, req);
	if (rc) {
		s->live = 0;
		stream_end_error(s, RS_ERR_INTERNAL, 0, 1,
				 "provider %s could not start: %s", prov->name, strerror(-rc));
	}
}

static int stream_write_start(struct stream *s);

int stream_emit_frame(struct stream *s, uint16_t type, const void *a, size_t alen,
			const void *b, size_t blen, const void *c3, size_t clen)
{
	struct client *c = s->client;
	if (s->parent)
		return route_emit(s, type, a, alen, b, blen, c3, clen);
	if (c->doomed || c->closing)
		return -EPIPE;
	/* Streams queued for room go first: writing past them would reorder
	 * this stream's own events if it is among them. */
	if (s->on_blocked)
		return -EAGAIN;
	if (s->start_pending) {
		int rc = stream_write_start(s);
		if (rc)
			return rc;
	}
	struct ring_frame *f;
	size_t total = alen + blen + clen;
	int rc = ring_reserve(&c->ev, (uint32_t)total, &f);
	if (rc == -EAGAIN) {
		stats.ring_full_pauses++;
		client_block(c, s);
		return -EAGAIN;
	}
	if (rc) {
		client_doom(c, "corrupt event ring head");
		return -EPIPE;
	}
	char *p = ring_payload(f);
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	if (clen)
		memcpy(p + alen + blen, c3, clen);
	ring_commit(&c->ev, f, (uint32_t)total, type, 0, s->id);
	stats.events_written++;
	client_mark_dirty(c);
	/* The first content of a stream is what the application waits for:
	 * wake it now, not after the rest of this pass has been parsed. A
	 * fence and a load; a system call only if the client sleeps. */
	if (!s->kicked && type != PROTO_START) {
		s->kicked = 1;
		client_kick_now(c);
	}
	return 0;
}

static int stream_write_start(struct stream *s)
{
	s->start_pending = 0;
	int rc = stream_emit_start(s, s->start_prov, s->start_model, s->start_attempt, 0);
	if (rc == -EAGAIN)
		s->start_pending = 1;
	return rc;
}

void stream_set_start(struct stream *s, const char *provider, const char *model,
		      uint32_t attempt)
{
	s->start_prov = provider;
	s->start_model = model;
	s->start_attempt = attempt;
	s->start_pending = 1;
}

int stream_emit_start(struct stream *s, const char *provider, const char *model,
		      uint32_t attempt, int cache_hit)
{
	size_t pl = strnlen(provider, 255), ml = strnlen(model, 255);
	struct proto_start h = { .provider_len = (uint16_t)pl, .model_len = (uint16_t)ml,
				 .flags = cache_hit ? PROTO_START_CACHE_HIT : 0,
				 .attempt = attempt };
	return stream_emit_frame(s, PROTO_START, &h, sizeof h, provider, pl, model, ml);
}

int stream_emit_usage(struct stream *s, uint32_t prompt, uint32_t completion,
		      uint64_t cost_nano_usd)
{
	struct proto_usage u = { .prompt_tokens = prompt, .completion_tokens = completion,
				 .total_tokens = prompt + completion,
				 .cost_nano_usd = cost_nano_usd };
	return stream_emit_frame(s, PROTO_USAGE, &u, sizeof u, NULL, 0, NULL, 0);
}

size_t stream_max_payload(const struct stream *s)
{
	return s->client->ev.max_payload;
}

long stream_emit_text(struct stream *s, uint16_t type, const char *text, size_t len)
{
	size_t max = s->client->ev.max_payload;
	size_t n = len < max ? len : max;
	int rc = stream_emit_frame(s, type, text, n, NULL, 0, NULL, 0);
	return rc ? rc : (long)n;
}

static void stream_free(struct stream *s)
{
	loop_timer_cancel(stream_loop(s), &s->deadline);
	client_forget(s->client, s);
	stats.streams_active--;
	free(s);
}

/* Try to write the pending terminal event; frees the stream on success. */
static void stream_write_end(struct stream *s)
{
	struct client *c = s->client;
	int rc;
	if (s->end_type == PROTO_DONE) {
		struct proto_done d = { .reason_len = s->end_len, .attempts = s->attempts };
		rc = stream_emit_frame(s, PROTO_DONE, &d, sizeof d, s->end_text, s->end_len, NULL, 0);
	} else {
		struct proto_error e = { .code = s->err_code, .http_status = s->http_status,
					 .retryable = s->retryable, .msg_len = s->end_len,
					 .attempts = s->attempts,
					 .retry_after_ms = s->retry_after_ms };
		rc = stream_emit_frame(s, PROTO_ERROR, &e, sizeof e, s->end_text, s->end_len, NULL, 0);
	}
	if (rc == -EAGAIN)
		return; /* on the blocked list; stream_flush retries */
	if (rc == 0) {
		if (s->end_type == PROTO_DONE)
			stats.streams_done++;
		else
			stats.streams_error++;
	}
	(void)c;
	stream_free(s);
}

static void stream_stop_adapter(struct stream *s)
{
	loop_timer_cancel(stream_loop(s), &s->deadline);
	if (s->live) {
		s->live = 0;
		s->ops->stop(s);
	}
}

void stream_end_done(struct stream *s, const char *reason)
{
	if (s->ending)
		return;
	s->ending = 1;
	/* Copy first: reason may live in the adapter's state, which stopping
	 * it frees. */
	s->end_type = PROTO_DONE;
	s->end_len = (uint16_t)strnlen(reason, STREAM_END_TEXT - 1);
	memcpy(s->end_text, reason, s->end_len);
	stream_stop_adapter(s);
	if (s->parent) {
		route_attempt_end(s); /* may free s */
		return;
	}
	stream_write_end(s);
}

void stream_end_error(struct stream *s, int code, int http_status, int retryable,
		      const char *fmt, ...)
{
	if (s->ending)
		return;
	s->ending = 1;
	s->end_type = PROTO_ERROR;
	s->err_code = (uint16_t)code;
	s->http_status = (uint16_t)http_status;
	s->retryable = (uint8_t)!!retryable;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->end_text, sizeof s->end_text, fmt, ap);
	va_end(ap);
	s->end_len = (uint16_t)(n < 0 ? 0 : (size_t)n >= sizeof s->end_text ? sizeof s->end_text - 1 : (size_t)n);
	/* Formatted before stopping the adapter: the arguments may live in its
	 * state. */
	stream_stop_adapter(s);
	if (s->parent) {
		route_attempt_end(s); /* may free s */
		return;
	}
	if (code == RS_ERR_CANCELLED)
		stats.streams_cancelled++;
	log_debug("client %llu stream %llu error %d: %.*s",
		  (unsigned long long)s->client->id, (unsigned long long)s->id, code,
		  (int)s->end_len, s->end_text);
	stream_write_end(s);
}

void stream_note_failure(struct stream *s, int curl_code, int deadline, uint64_t retry_after_ns)
{
	s->fail_curl = curl_code;
	s->fail_deadline = (uint8_t)deadline;
	s->fail_retry_after_ns = retry_after_ns;
}

void stream_flush(struct stream *s)
{
	/* The client took s off its blocked list before calling us. */
	if (s->ending)
		stream_write_end(s);
	else if (s->live)
		s->ops->resume(s);
}

void stream_drop(struct stream *s)
{
	stream_stop_adapter(s);
	stats.streams_dropped++;
	stream_free(s);
}
