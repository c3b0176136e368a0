/*
 * http.c — the adapter for every HTTP provider: a codec (pcodec.h) for the
 * provider's format, a transfer on the provider's pool (upstream.h), the
 * stream framing (sse.h / ndjson.h), and the deadlines.
 *
 *   start    codec->build, START, transfer, first-chunk + total deadline
 *   data     framing -> codec -> sink -> ring (or outbox when the ring is
 *            full; the transfer pauses until the outbox drains)
 *   end      the codec's finish or error, delivered after everything queued
 *            before it: USAGE, then DONE; or ERROR
 *   stop     abort the transfer (the upstream sees the connection closed or
 *            its HTTP/2 stream reset) unless the response already ended,
 *            in which case it finishes reading so the connection is reused
 *
 * Ending a stream frees this state, so nothing here ends the stream while
 * curl is delivering data to it (in_feed): the end is decided inside the
 * callback and carried out as the callback's last act.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backoff.h"
#include "chatreq.h"
#include "client.h"
#include "errclass.h"
#include "jarena.h"
#include "log.h"
#include "ndjson.h"
#include "outbox.h"
#include "pcodec.h"
#include "provider.h"
#include "ringside.h"
#include "server.h"
#include "shm/proto.h"
#include "sse.h"
#include "stream.h"
#include "upstream.h"

#include <curl/curl.h>

/* Largest single SSE event or NDJSON line we accept from a provider. */
#define HP_MAX_EVENT (4u << 20)
/* Largest error body we keep to read the provider's message from. */
#define HP_MAX_ERROR_BODY (64u << 10)
/* Largest non-streamed response body. */
#define HP_MAX_BODY (64u << 20)

enum hp_end { HP_END_NONE = 0, HP_END_DONE, HP_END_ERROR };

struct hp {
	struct stream *s;
	const struct pc_codec *codec;
	struct pc_dec dec;
	struct up_xfer *x;
	enum pc_format fmt;
	struct sse sse;
	struct ndjson nd;
	struct outbox ob;
	struct loop_timer timer;
	uint64_t first_deadline, total_deadline, idle_ns, last_data;
	char *body;                 /* error body, or the whole non-streamed body */
	size_t body_len, body_cap;
	long status;
	int got_data;               /* any body byte (truncation vs never answered) */
	int got_content;            /* a text, reasoning or tool event: the first chunk */
	int in_feed;
	int paused;
	uint32_t prompt, completion;
	int have_usage;
	enum hp_end end;
	uint16_t err_code, err_status;
	uint8_t err_retryable;
	int curl_code;              /* the transfer's failure, for the retry policy */
	enum ec_deadline deadline;  /* which of our deadlines ended it */
	char end_text[200];
	/* Retry-After as sent (an HTTP-date is 29 bytes) and retry-after-ms. */
	char retry_after[40];
	char retry_after_ms[24];
};

static void hp_try_end(struct hp *h);

/* ---- writing events: ring first, outbox when it is full ------------------------- */

static void hp_emit(struct hp *h, uint16_t type, const void *a, size_t alen, const void *b,
		    size_t blen, const void *c, size_t clen)
{
	if (outbox_empty(&h->ob)) {
		int rc = stream_emit_frame(h->s, type, a, alen, b, blen, c, clen);
		if (rc != -EAGAIN)
			return; /* written, or the client is going away (-EPIPE) */
	}
	if (outbox_push(&h->ob, type, a, alen, b, blen, c, clen) && h->end == HP_END_NONE) {
		h->end = HP_END_ERROR;
		h->err_code = RS_ERR_INTERNAL;
		h->err_retryable = 1;
		snprintf(h->end_text, sizeof h->end_text, "out of memory queueing events");
	}
}

static int hp_sink_text(void *arg, enum uev_text kind, const char *p, size_t n)
{
	struct hp *h = arg;
	h->got_content = 1;
	size_t max = stream_max_payload(h->s);
	uint16_t type = kind == UEV_REASONING ? PROTO_REASONING : PROTO_DELTA;
	while (n) {
		size_t k = n < max ? n : max;
		hp_emit(h, type, p, k, NULL, 0, NULL, 0);
		p += k;
		n -= k;
	}
	return 0;
}

static int hp_sink_tool(void *arg, uint32_t index, const char *id, size_t id_len,
			const char *name, size_t name_len, const char *args, size_t args_len)
{
	struct hp *h = arg;
	size_t max = stream_max_payload(h->s);
	h->got_content = 1;
	if (id_len > 255)
		id_len = 255;
	if (name_len > 255)
		name_len = 255;
	do {
		struct proto_tool_delta t = { .index = index, .id_len = (uint16_t)id_len,
					      .name_len = (uint16_t)name_len };
		size_t room = max - sizeof t - id_len - name_len;
		size_t k = args_len < room ? args_len : room;
		/* id and name travel with the first piece only. */
		char idname[512];
		if (id_len)
			memcpy(idname, id, id_len);
		if (name_len)
			memcpy(idname + id_len, name, name_len);
		hp_emit(h, PROTO_TOOL_DELTA, &t, sizeof t, idname, id_len + name_len, args, k);
		args += k;
		args_len -= k;
		id_len = name_len = 0;
	} while (args_len);
	return 0;
}

static int hp_sink_usage(void *arg, uint32_t prompt, uint32_t completion)
{
	struct hp *h = arg;
	h->prompt = prompt;
	h->completion = completion;
	h->have_usage = 1;
	return 0;
}

static int hp_sink_finish(void *arg, const char *reason, const char *raw)
{
	(void)raw;
	struct hp *h = arg;
	if (h->end != HP_END_NONE)
		return 0;
	if (h->have_usage) {
		struct proto_usage u = { .prompt_tokens = h->prompt, .completion_tokens = h->completion,
					 .total_tokens = h->prompt + h->completion };
		hp_emit(h, PROTO_USAGE, &u, sizeof u, NULL, 0, NULL, 0);
	}
	h->end = HP_END_DONE;
	snprintf(h->end_text, sizeof h->end_text, "%s", reason);
	return 0;
}

static int hp_sink_error(void *arg, int code, int status, int retryable, const char *msg, size_t n)
{
	struct hp *h = arg;
	if (h->end != HP_END_NONE)
		return 0;
	h->end = HP_END_ERROR;
	h->err_code = (uint16_t)code;
	h->err_status = (uint16_t)status;
	h->err_retryable = (uint8_t)!!retryable;
	if (h->retry_after_ms[0])
		snprintf(h->end_text, sizeof h->end_text, "%s: %.*s (retry after %s ms)",
			 h->s->prov->name, (int)n, msg, h->retry_after_ms);
	else if (h->retry_after[0])
		snprintf(h->end_text, sizeof h->end_text, "%s: %.*s (retry after %s)",
			 h->s->prov->name, (int)n, msg, h->retry_after);
	else
		snprintf(h->end_text, sizeof h->end_text, "%s: %.*s", h->s->prov->name, (int)n, msg);
	return 0;
}

static const struct uev_sink *hp_sink(struct hp *h, struct uev_sink *s)
{
	*s = (struct uev_sink){ .arg = h, .text = hp_sink_text, .tool = hp_sink_tool,
				.usage = hp_sink_usage, .finish = hp_sink_finish,
				.error = hp_sink_error };
	return s;
}

/* Our own failure (transport, deadline, limits) as the stream's end. */
static void hp_fail(struct hp *h, int code, int status, int retryable, const char *fmt, const char *detail)
{
	if (h->end != HP_END_NONE)
		return;
	h->end = HP_END_ERROR;
	h->err_code = (uint16_t)code;
	h->err_status = (uint16_t)status;
	h->err_retryable = (uint8_t)retryable;
	snprintf(h->end_text, sizeof h->end_text, fmt, h->s->prov->name, detail);
}

/* ---- deadlines --------------------------------------------------------------------- */

static void hp_arm_timer(struct hp *h)
{
	struct loop *l = stream_loop(h->s);
	/* Until the first content the first-chunk deadline rules (pings and
	 * role-only chunks do not count); after it, the idle one. */
	uint64_t when = h->got_content ? (h->idle_ns ? h->last_data + h->idle_ns : 0) : h->first_deadline;
	if (h->total_deadline && (!when || h->total_deadline < when))
		when = h->total_deadline;
	if (when)
		loop_timer_arm(l, &h->timer, when);
}

static void hp_timer_fired(struct loop_timer *t)
{
	struct hp *h = (struct hp *)((char *)t - offsetof(struct hp, timer));
	uint64_t now = stream_loop(h->s)->now;
	const struct cfg_provider *p = h->s->prov;
	char d[48];
	if (h->total_deadline && now >= h->total_deadline) {
		h->deadline = EC_DL_TOTAL;
		snprintf(d, sizeof d, "%u ms", p->total_timeout_ms);
		hp_fail(h, RS_ERR_TIMEOUT, 0, 1, "%s: no complete response within %s", d);
	} else if (!h->got_content) {
		h->deadline = EC_DL_FIRST_CHUNK;
		snprintf(d, sizeof d, "%u ms", p->first_chunk_timeout_ms);
		hp_fail(h, RS_ERR_TIMEOUT, 0, 1, "%s: no first chunk within %s", d);
	} else {
		h->deadline = EC_DL_IDLE;
		snprintf(d, sizeof d, "%u ms", p->idle_timeout_ms);
		hp_fail(h, RS_ERR_TIMEOUT, 0, 1, "%s: stream idle for %s", d);
	}
	hp_try_end(h);
}

/* ---- the end ------------------------------------------------------------------------ */

/* The provider's Retry-After as a delay, UINT64_MAX when none (or none we
 * can read) came. retry-after-ms wins, as in the OpenAI and Anthropic SDKs. */
static uint64_t hp_retry_after_ns(const struct hp *h)
{
	uint64_t ns;
	if (h->retry_after_ms[0] &&
	    !bo_parse_retry_after_ms(h->retry_after_ms, strlen(h->retry_after_ms), &ns))
		return ns;
	if (h->retry_after[0] &&
	    !bo_parse_retry_after(h->retry_after, strlen(h->retry_after), (int64_t)time(NULL), &ns))
		return ns;
	return UINT64_MAX;
}

/* Deliver the decided end once everything queued before it is out. May free
 * h: the caller's last act. */
static void hp_try_end(struct hp *h)
{
	if (h->end == HP_END_NONE || h->in_feed || !outbox_empty(&h->ob))
		return;
	struct stream *s = h->s;
	if (h->end == HP_END_DONE) {
		stream_end_done(s, h->end_text);
		return;
	}
	stream_note_failure(s, h->curl_code, h->deadline, hp_retry_after_ns(h));
	stream_end_error(s, h->err_code, h->err_status, h->err_retryable, "%s", h->end_text);
}

/* ---- transfer callbacks ------------------------------------------------------------ */

static void hp_on_header(void *owner, const char *line, size_t len)
{
	struct hp *h = owner;
	static const char ra[] = "retry-after:", ram[] = "retry-after-ms:";
	char *dst = NULL;
	size_t cap = 0, skip = 0;
	if (len > sizeof ra - 1 && !strncasecmp(line, ra, sizeof ra - 1))
		dst = h->retry_after, cap = sizeof h->retry_after, skip = sizeof ra - 1;
	else if (len > sizeof ram - 1 && !strncasecmp(line, ram, sizeof ram - 1))
		dst = h->retry_after_ms, cap = sizeof h->retry_after_ms, skip = sizeof ram - 1;
	if (!dst)
		return;
	const char *v = line + skip;
	size_t n = len - skip;
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	/* Longer than any valid value: keep nothing rather than a prefix that
	 * could parse as something else. */
	if (n >= cap)
		n = 0;
	memcpy(dst, v, n);
	dst[n] = 0;
}

static int hp_keep(struct hp *h, const char *p, size_t len, size_t max)
{
	if (h->body_len + len > max)
		return -EMSGSIZE;
	if (h->body_len + len > h->body_cap) {
		size_t cap = h->body_cap ? h->body_cap : 4096;
		while (cap < h->body_len + len)
			cap *= 2;
		char *b = realloc(h->body, cap);
		if (!b)
			return -ENOMEM;
		h->body = b;
		h->body_cap = cap;
	}
	memcpy(h->body + h->body_len, p, len);
	h->body_len += len;
	return 0;
}

static int hp_on_sse(void *arg, const char *ev, size_t ev_len, const char *data, size_t n)
{
	struct hp *h = arg;
	struct uev_sink s;
	/* The event's JSON lives and dies in the arena: no malloc per event. */
	jarena_begin();
	int rc = h->codec->on_event(&h->dec, ev, ev_len, data, n, hp_sink(h, &s));
	jarena_end();
	return rc;
}

static int hp_on_line(void *arg, const char *line, size_t n)
{
	struct hp *h = arg;
	struct uev_sink s;
	jarena_begin();
	int rc = h->codec->on_event(&h->dec, NULL, 0, line, n, hp_sink(h, &s));
	jarena_end();
	return rc;
}

static void hp_frame_error(struct hp *h, int rc)
{
	if (rc == -EMSGSIZE)
		hp_fail(h, RS_ERR_UPSTREAM, 0, 0, "%s: %s", "event larger than the sidecar accepts");
	else if (rc)
		hp_fail(h, RS_ERR_INTERNAL, 0, 1, "%s: %s", "cannot decode the stream");
}

static size_t hp_on_data(void *owner, const char *p, size_t len)
{
	struct hp *h = owner;
	if (!outbox_empty(&h->ob)) {
		h->paused = 1;
		return UP_PAUSE;
	}
	if (h->end != HP_END_NONE)
		return len; /* decided already; drain what is left quietly */
	if (!h->status) {
		h->status = up_xfer_status(h->x);
		/* A streamed request answered with one JSON document (an error
		 * shaped as a 200, or a server that ignores "stream") is read
		 * whole, so the provider's own words are not lost. */
		const char *ct = up_xfer_content_type(h->x);
		if (h->status < 400 && h->fmt != PC_FMT_JSON && ct &&
		    !strncasecmp(ct, "application/json", 16))
			h->fmt = PC_FMT_JSON;
	}
	if (h->status >= 400 || h->fmt == PC_FMT_JSON) {
		int rc = hp_keep(h, p, len, h->status >= 400 ? HP_MAX_ERROR_BODY : HP_MAX_BODY);
		if (rc == -EMSGSIZE && h->status >= 400)
			return len; /* the start of an error body is enough */
		if (rc) {
			hp_fail(h, RS_ERR_UPSTREAM, 0, 0, "%s: %s", "response larger than the sidecar accepts");
			hp_try_end(h);
			return 0;
		}
		return len;
	}
	h->got_data = 1;
	h->last_data = stream_loop(h->s)->now;
	h->in_feed = 1;
	int rc = h->fmt == PC_FMT_SSE ? sse_feed(&h->sse, p, len, hp_on_sse, h)
				      : ndjson_feed(&h->nd, p, len, hp_on_line, h);
	h->in_feed = 0;
	hp_frame_error(h, rc);
	if (h->end == HP_END_NONE)
		hp_arm_timer(h);
	hp_try_end(h); /* may free h */
	return len;
}

static void hp_on_done(void *owner, int code, long status, const char *err)
{
	struct hp *h = owner;
	struct uev_sink s;
	h->status = status;
	if (code != CURLE_OK && h->end == HP_END_NONE)
		h->curl_code = code;
	if (code != CURLE_OK) {
		if (code == CURLE_OPERATION_TIMEDOUT)
			hp_fail(h, RS_ERR_TIMEOUT, 0, 1, "%s: %s", err);
		else if (h->got_data && status < 400)
			hp_fail(h, RS_ERR_TRUNCATED, (int)status, 1, "%s: stream cut: %s", err);
		else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
			hp_fail(h, RS_ERR_UNAVAILABLE, 0, 1, "%s: cannot connect: %s", err);
		else
			hp_fail(h, RS_ERR_UPSTREAM, (int)status, 1, "%s: %s", err);
	} else if (status >= 400) {
		h->codec->on_error(&h->dec, (int)status, h->body, h->body_len, hp_sink(h, &s));
	} else if (h->fmt == PC_FMT_JSON) {
		h->codec->on_body(&h->dec, h->body ? h->body : "", h->body_len, hp_sink(h, &s));
	} else {
		int rc = h->fmt == PC_FMT_SSE ? sse_finish(&h->sse, hp_on_sse, h)
					      : ndjson_finish(&h->nd, hp_on_line, h);
		hp_frame_error(h, rc);
		h->codec->on_end(&h->dec, hp_sink(h, &s));
	}
	if (h->end == HP_END_NONE)
		hp_fail(h, RS_ERR_INTERNAL, 0, 1, "%s: %s", "response ended without a result");
	up_xfer_release(h->x, 0);
	h->x = NULL;
	hp_try_end(h);
}

static const struct up_xfer_ops hp_xfer_ops = {
	.on_header = hp_on_header,
	.on_data = hp_on_data,
	.on_done = hp_on_done,
};

/* ---- provider_ops ------------------------------------------------------------------ */

static int hp_start(struct stream *s, const struct chatreq *req)
{
	const struct cfg_provider *p = s->prov;
	struct up_pool *pool = srv_pool(s->client->srv, p);
	const struct pc_codec *codec = pc_codec_for(p->kind);
	if (!pool || !codec)
		return -ENOSYS;
	struct hp *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->s = s;
	h->codec = codec;
	h->dec.codec = codec;
	h->timer.idx = LOOP_TIMER_IDLE;
	h->timer.fn = hp_timer_fired;
	struct pc_target t = { .prov = p, .model = s->umodel };
	struct pc_http http = { 0 };
	char err[160];
	int rc = codec->build(&t, req, req->stream, &http, err, sizeof err);
	if (rc) {
		free(h);
		if (rc == -EINVAL) {
			/* The request cannot be said to this provider: the
			 * client's problem, reported on its stream. */
			s->pstate = NULL;
			s->live = 0;
			stream_end_error(s, RS_ERR_BAD_REQUEST, 0, 0, "%s: %s", p->name, err);
			return 0;
		}
		return rc;
	}
	h->fmt = http.format;
	if (codec->dec_init(&h->dec)) {
		pc_http_free(&http);
		free(h);
		return -ENOMEM;
	}
	sse_init(&h->sse, HP_MAX_EVENT, !!(codec->flags & PC_SSE_STRAY));
	ndjson_init(&h->nd, HP_MAX_EVENT);
	s->pstate = h;
	stream_emit_start(s, p->name, s->umodel, 1, 0);
	h->x = up_xfer_start(pool, &http, &hp_xfer_ops, h);
	pc_http_free(&http);
	uint64_t now = stream_loop(s)->now;
	h->idle_ns = (uint64_t)p->idle_timeout_ms * 1000000u;
	/* A non-streamed answer arrives whole at the end: only the total
	 * deadline applies to it. */
	h->first_deadline = p->first_chunk_timeout_ms && h->fmt != PC_FMT_JSON
				    ? now + (uint64_t)p->first_chunk_timeout_ms * 1000000u : 0;
	h->total_deadline = p->total_timeout_ms ? now + (uint64_t)p->total_timeout_ms * 1000000u : 0;
	if (!h->x) {
		hp_fail(h, RS_ERR_INTERNAL, 0, 1, "%s: %s", "cannot start the transfer");
		hp_try_end(h);
		return 0;
	}
	hp_arm_timer(h);
	return 0;
}

/* The client drained: flush the outbox, then deliver the end or let the
 * transfer run again. */
static void hp_resume(struct stream *s)
{
	struct hp *h = s->pstate;
	uint16_t type;
	const uint8_t *p;
	size_t len;
	while (outbox_peek(&h->ob, &type, &p, &len)) {
		int rc = stream_emit_frame(s, type, p, len, NULL, 0, NULL, 0);
		if (rc == -EAGAIN)
			return; /* blocked again; we come back here */
		outbox_pop(&h->ob);
	}
	if (h->end != HP_END_NONE) {
		hp_try_end(h);
		return;
	}
	if (h->paused && h->x) {
		h->paused = 0;
		up_xfer_resume(h->x);
	}
}

static void hp_stop(struct stream *s)
{
	struct hp *h = s->pstate;
	if (!h)
		return;
	loop_timer_cancel(stream_loop(s), &h->timer);
	if (h->x)
		/* Finished by the codec: read the rest so the connection can be
		 * reused. Anything else (cancel, deadline, client death): cut. */
		up_xfer_release(h->x, h->dec.done);
	h->codec->dec_free(&h->dec);
	sse_free(&h->sse);
	ndjson_free(&h->nd);
	outbox_free(&h->ob);
	free(h->body);
	free(h);
	s->pstate = NULL;
}

const struct provider_ops provider_http = {
	.kind = "http",
	.start = hp_start,
	.resume = hp_resume,
	.stop = hp_stop,
};
