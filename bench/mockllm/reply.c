/*
 * reply.c — when each byte of an LLM reply goes out: knobs, injected
 * statuses and chaos' draw at the start, then the schedule (slow headers, time to first
 * token, inter-token latency), the stream faults (reset, stall, malformed,
 * error) and the terminator. Rendering is the formats' job (formats.h).
 *
 * Everything due at the same instant is rendered into one HTTP chunk and
 * leaves in one send: with itl_us=0 a whole reply is one write.
 */
#include <stdio.h>

#include "conn.h"

/* Largest HTTP chunk a step builds before sending it. */
#define ML_BATCH_MAX (64u * 1024u)
/* Bytes one step may render before yielding to other connections. */
#define ML_STEP_MAX (256u * 1024u)

static const char ml_last_chunk[] = "0\r\n\r\n";

/* A batch of events is one HTTP chunk; HTTP/1.0 has no chunked encoding,
 * so there the events go raw and closing the connection ends the body. */
static size_t batch_begin(struct ml_conn *c)
{
	return c->http10 ? SIZE_MAX : ml_chunk_begin(&c->out);
}

static void batch_end(struct ml_conn *c, size_t mark)
{
	if (mark != SIZE_MAX)
		ml_chunk_end(&c->out, mark);
}

static void body_end(struct ml_conn *c)
{
	if (c->http10)
		c->close_after = true;
	else
		ML_PUT(&c->out, ml_last_chunk);
}

/* Is the fault knob k due after `done` content chunks? */
static bool fault_at(long k, uint32_t done)
{
	return k != ML_UNSET && (uint64_t)k == done;
}

/* splitmix64 finaliser: spreads (seed, request number) evenly over 0..99. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Salts chaos='s hash input apart from fail_pct's ("chaos" in ASCII), so
 * the two pick requests independently. */
#define ML_CHAOS_SALT 0x6368616f73ull

/* chaos' plain 503 says what it is: the usual 503 text of OpenAI and
 * Gemini is their "overloaded" one, which ML_CHAOS_OVERLOADED sends. */
static const char chaos_503_msg[] = "Service Unavailable (mockllm chaos)";
/* chaos' 429 carries retry-after-ms with this: small, so a gateway that
 * honours it barely waits. OpenAI's usual 429 text says "try again in 1s";
 * chaos' says this instead, as clients may read the delay from either. */
#define ML_CHAOS_RETRY_MS 20
#define ML_CHAOS_OPENAI_429_FMT \
	"Rate limit reached for requests (mockllm chaos). Please try again in %dms."
/* Ollama has no overloaded type: a full queue is a 503 with this text
 * (ErrMaxQueue), which fmt_ollama.c also sends for a 429. */
static const char chaos_ollama_busy[] =
	"server busy, please try again. maximum pending requests exceeded";

/* Count fault f, which chaos draws as `as` (ML_CHAOS_COUNT: never), unless
 * chaos did draw it for this reply: then it was counted as chaos. */
static void fault_count(struct ml_conn *c, enum ml_fault f, enum ml_chaos as)
{
	if (c->reply.knobs.chaos_fault != (long)as)
		ml_stat_add(&c->w->stats.faults[f], 1);
}

/* Is this request one chaos= fails, and how (knobs.h)? Sets c->status (-1:
 * RST before the status line), c->err for a message of its own, or the
 * stream fault knobs. */
static void chaos_apply(struct ml_conn *c, const struct ml_route *rt, struct ml_knobs *k,
			uint64_t seed, uint64_t id)
{
	uint64_t h = mix64((seed * 0x100000001b3ull) ^ id ^ ML_CHAOS_SALT);
	if ((h & 0xffffffffu) % 100 >= (uint64_t)k->chaos)
		return;
	enum ml_chaos f = (enum ml_chaos)((h >> 32) % ML_CHAOS_COUNT);
	k->chaos_fault = f;
	ml_stat_add(&c->w->stats.faults[ML_FAULT_CHAOS], 1);
	ml_stat_add(&c->w->stats.chaos[f], 1);
	switch (f) {
	case ML_CHAOS_500: c->status = 500; break;
	case ML_CHAOS_503:
		c->status = 503;
		snprintf(c->err, sizeof c->err, "%s", chaos_503_msg);
		break;
	case ML_CHAOS_429:
		c->status = 429;
		k->retry_after_ms = ML_CHAOS_RETRY_MS;
		if (rt->fmt == ML_FMT_OPENAI)
			snprintf(c->err, sizeof c->err, ML_CHAOS_OPENAI_429_FMT, ML_CHAOS_RETRY_MS);
		break;
	case ML_CHAOS_OVERLOADED:
		c->status = rt->fmt == ML_FMT_ANTHROPIC ? 529 : 503;
		if (rt->fmt == ML_FMT_OLLAMA)
			snprintf(c->err, sizeof c->err, "%s", chaos_ollama_busy);
		break;
	case ML_CHAOS_RST_HEAD: c->status = -1; break;
	case ML_CHAOS_RST_BODY: k->reset_after = 0; break;
	case ML_CHAOS_MALFORMED: k->malformed_after = 0; break;
	case ML_CHAOS_ERROR: k->error_after = 0; break;
	case ML_CHAOS_COUNT: break;
	}
}

void ml_reply_begin(struct ml_conn *c, const struct ml_route *rt, const struct ml_http_req *q)
{
	struct ml_worker *w = c->w;
	struct ml_reply *r = &c->reply;
	struct ml_knobs *k = &r->knobs;
	ml_reply_reset(r, rt, ml_stats_next_request(), w->now);
	ml_stat_add(&w->stats.requests[rt->fmt], 1);
	c->status = 0;
	c->err[0] = 0;
	c->malformed_done = false;
	if (q->xmock && ml_knobs_parse(k, q->xmock, q->xmock_len, c->err, sizeof c->err) < 0)
		c->status = 400;
	else if (ml_reply_prepare(r, rt, q->body, q->body_len, c->err, sizeof c->err) < 0)
		c->status = 400;
	else if (k->fail_pct != ML_UNSET) {
		uint64_t seed = k->seed != ML_UNSET ? (uint64_t)k->seed : 0;
		if (mix64(seed * 0x100000001b3ull ^ r->id) % 100 < (uint64_t)k->fail_pct) {
			c->status = k->status != ML_UNSET ? (int)k->status : 500;
			ml_stat_add(&w->stats.faults[ML_FAULT_FAIL_PCT], 1);
		}
	} else if (k->status != ML_UNSET) {
		c->status = (int)k->status;
		ml_stat_add(&w->stats.faults[ML_FAULT_STATUS], 1);
	}
	if (!c->status && k->chaos != ML_UNSET)
		chaos_apply(c, rt, k, k->seed != ML_UNSET ? (uint64_t)k->seed : 0, r->id);
	uint64_t slow = k->slow_headers_us != ML_UNSET ? (uint64_t)k->slow_headers_us * 1000u : 0;
	uint64_t ttft = k->ttft_us != ML_UNSET ? (uint64_t)k->ttft_us * 1000u : 0;
	c->t_head = r->start_ns + slow;
	c->t_first = r->start_ns + ttft;
	c->phase = ML_PH_HEAD;
}

static uint64_t itl_ns(const struct ml_reply *r)
{
	return r->knobs.itl_us != ML_UNSET ? (uint64_t)r->knobs.itl_us * 1000u : 0;
}

/* Status line and headers into w->scratch (fixed length) or c->out. */
static void reply_head(struct ml_conn *c, struct ml_buf *h, int status, const char *ctype,
		       bool chunked, size_t clen)
{
	const struct ml_reply *r = &c->reply;
	ml_http_head(h, status, ctype, r->ops->id_header, r->id, !c->keep_alive);
	if (chunked) {
		if (!c->http10)
			ML_PUT(h, "transfer-encoding: chunked\r\n");
		ML_PUT(h, "cache-control: no-cache\r\n");
	} else {
		ML_PUT(h, "content-length: ");
		ml_buf_u64(h, clen);
		ML_PUT(h, "\r\n");
	}
	if (r->knobs.retry_after != ML_UNSET) {
		ML_PUT(h, "retry-after: ");
		ml_buf_u64(h, (uint64_t)r->knobs.retry_after);
		ML_PUT(h, "\r\n");
	}
	if (r->knobs.retry_after_ms != ML_UNSET) {
		ML_PUT(h, "retry-after-ms: ");
		ml_buf_u64(h, (uint64_t)r->knobs.retry_after_ms);
		ML_PUT(h, "\r\n");
	}
	ML_PUT(h, "\r\n");
}

/* Put a fixed-length head in front of the body rendered from mark on. */
static void reply_fixed(struct ml_conn *c, int status, const char *ctype, size_t mark)
{
	struct ml_buf *h = &c->w->scratch;
	h->len = 0;
	reply_head(c, h, status, ctype, false, c->out.len - mark);
	ml_conn_insert_head(c, mark);
}

static void reply_done(struct ml_conn *c)
{
	c->phase = ML_PH_IDLE;
	if (!c->keep_alive)
		c->close_after = true;
}

static void reply_status(struct ml_conn *c, int status)
{
	struct ml_reply *r = &c->reply;
	size_t mark = c->out.len;
	r->ops->status_body(r, status, c->err[0] ? c->err : NULL, &c->out);
	reply_fixed(c, status, r->ops->ctype_json, mark);
	reply_done(c);
}

/* A non-streaming reply, sent whole once its last token would be done.
 * The chunk faults act on the whole body: RST or silence instead of it,
 * the provider's 500, or a cut-off body. */
static void reply_whole(struct ml_conn *c)
{
	struct ml_worker *w = c->w;
	struct ml_reply *r = &c->reply;
	const struct ml_knobs *k = &r->knobs;
	uint64_t due = c->t_first + itl_ns(r) * (r->chunks ? r->chunks - 1 : 0);
	if (due < c->t_head)
		due = c->t_head;
	if (w->now < due) {
		ml_conn_arm(c, due);
		return;
	}
	if (k->reset_after != ML_UNSET && (uint64_t)k->reset_after <= r->chunks) {
		fault_count(c, ML_FAULT_RESET, ML_CHAOS_RST_BODY);
		c->phase = ML_PH_IDLE;
		c->rst = true;
		return;
	}
	if (k->stall_after != ML_UNSET && (uint64_t)k->stall_after <= r->chunks) {
		fault_count(c, ML_FAULT_STALL, ML_CHAOS_COUNT);
		c->phase = ML_PH_STALLED;
		return;
	}
	if (k->error_after != ML_UNSET && (uint64_t)k->error_after <= r->chunks) {
		fault_count(c, ML_FAULT_ERROR, ML_CHAOS_ERROR);
		reply_status(c, 500);
		return;
	}
	size_t mark = c->out.len;
	r->ops->whole(r, &c->out);
	if (k->malformed_after != ML_UNSET && (uint64_t)k->malformed_after <= r->chunks) {
		fault_count(c, ML_FAULT_MALFORMED, ML_CHAOS_MALFORMED);
		c->out.len = mark + (c->out.len - mark) / 2;
	}
	reply_fixed(c, 200, r->ops->ctype_json, mark);
	ml_stat_add(&w->stats.responses_completed, 1);
	reply_done(c);
}

static void reply_stream_head(struct ml_conn *c)
{
	struct ml_reply *r = &c->reply;
	bool array = r->fmt == ML_FMT_GEMINI && !r->gemini_sse;
	if (c->http10)
		c->keep_alive = false;
	reply_head(c, &c->out, 200, array ? r->ops->ctype_json : r->ops->ctype_stream, true, 0);
	size_t mark = batch_begin(c);
	r->ops->head(r, &c->out);
	batch_end(c, mark);
	c->phase = ML_PH_STREAM;
}

/*
 * Render the chunks that are due. Returns with the batch's HTTP chunk
 * closed, and either the reply ended, a timer armed for the next chunk, or
 * the socket full (EPOLLOUT resumes it).
 */
static void reply_stream(struct ml_conn *c)
{
	struct ml_worker *w = c->w;
	struct ml_reply *r = &c->reply;
	const struct ml_knobs *k = &r->knobs;
	uint64_t itl = itl_ns(r);
	size_t step_bytes = 0;
	size_t start = c->out.len;
	size_t mark = batch_begin(c);
	for (;;) {
		uint32_t done = r->sent;
		if (fault_at(k->reset_after, done)) {
			fault_count(c, ML_FAULT_RESET, ML_CHAOS_RST_BODY);
			batch_end(c, mark);
			c->phase = ML_PH_IDLE;
			c->rst = true;
			return;
		}
		if (fault_at(k->stall_after, done)) {
			fault_count(c, ML_FAULT_STALL, ML_CHAOS_COUNT);
			batch_end(c, mark);
			c->phase = ML_PH_STALLED;
			return;
		}
		if (fault_at(k->error_after, done)) {
			/* The body still ends cleanly, so the client sees the
			 * provider's error event rather than a broken transfer;
			 * then the connection closes, as providers do. */
			fault_count(c, ML_FAULT_ERROR, ML_CHAOS_ERROR);
			r->ops->error(r, &c->out);
			batch_end(c, mark);
			body_end(c);
			reply_done(c);
			c->close_after = true;
			return;
		}
		if (fault_at(k->malformed_after, done) && !c->malformed_done) {
			fault_count(c, ML_FAULT_MALFORMED, ML_CHAOS_MALFORMED);
			r->ops->malformed(r, &c->out);
			c->malformed_done = true;
		}
		if (done == r->chunks) {
			r->ops->finish(r, &c->out);
			batch_end(c, mark);
			body_end(c);
			ml_stat_add(&w->stats.streams_completed, 1);
			reply_done(c);
			return;
		}
		uint64_t due = c->t_first + itl * done;
		if (due > w->now) {
			batch_end(c, mark);
			ml_conn_arm(c, due);
			return;
		}
		r->ops->chunk(r, &c->out);
		r->sent++;
		if (c->out.len - start >= ML_BATCH_MAX) {
			step_bytes += c->out.len - start;
			batch_end(c, mark);
			if (ml_conn_send(c) < 0 || ml_conn_pending(c) >= ML_OUT_HIGH)
				return;
			if (step_bytes >= ML_STEP_MAX) {
				ml_conn_arm(c, w->now + 1);
				return;
			}
			start = c->out.len;
			mark = batch_begin(c);
		}
	}
}

void ml_reply_step(struct ml_conn *c)
{
	if (ml_conn_pending(c) >= ML_OUT_HIGH)
		return;
	if (c->phase == ML_PH_HEAD) {
		if (c->w->now < c->t_head) {
			ml_conn_arm(c, c->t_head);
			return;
		}
		if (c->status < 0) {
			/* chaos: the connection dies before a byte of the reply */
			c->phase = ML_PH_IDLE;
			c->rst = true;
			return;
		}
		if (c->status) {
			reply_status(c, c->status);
			return;
		}
		if (!c->reply.stream) {
			reply_whole(c);
			return;
		}
		reply_stream_head(c);
	}
	if (c->phase == ML_PH_STREAM)
		reply_stream(c);
}
