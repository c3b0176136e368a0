/*
 * mock.c — the built-in offline provider. It streams the deterministic reply
 * of mock_script.h token by token, paced by loop timers: START at once, the
 * first DELTA after `ttft`, one more every `token_interval`, then USAGE and
 * DONE. A request may override the pacing with its "mock" object. With
 * "stream": false the whole reply goes out at once, in as few DELTAs as the
 * ring's frame size allows.
 *
 * No network, no keys, no allocation per token.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chatreq.h"
#include "mock_script.h"
#include "provider.h"
#include "ringside.h"
#include "shm/proto.h"
#include "stream.h"

/* A streamed DELTA carries one token; words longer than this are split. */
#define MOCK_TOKEN_MAX 256
/* A non-streamed reply is batched into DELTAs of up to this many bytes. */
#define MOCK_BATCH_MAX (64u * 1024u)

enum mock_phase { MOCK_START, MOCK_FIRST, MOCK_TOKENS, MOCK_USAGE };

struct mock {
	struct stream *s;
	struct mock_script script;
	struct loop_timer timer;
	uint64_t ttft_ns, interval_ns;
	int streaming;
	enum mock_phase phase;
	uint32_t tokens_seen;
	char *buf;       /* pending text: tok (streaming) or a malloc'd batch */
	size_t cap, len, off;
	char tok[MOCK_TOKEN_MAX];
};

static void mock_step(struct mock *m);

static void mock_timer_fired(struct loop_timer *t)
{
	struct mock *m = (struct mock *)((char *)t - offsetof(struct mock, timer));
	if (m->phase == MOCK_FIRST)
		m->phase = MOCK_TOKENS;
	mock_step(m);
}

static void mock_sleep(struct mock *m, uint64_t ns)
{
	struct loop *l = stream_loop(m->s);
	if (loop_timer_arm(l, &m->timer, l->now + ns))
		stream_end_error(m->s, RS_ERR_INTERNAL, 0, 1, "out of memory for a timer");
}

/* Fill m->buf with the next piece(s) of the reply. */
static void mock_fill(struct mock *m)
{
	m->off = 0;
	m->len = 0;
	do {
		size_t n = mock_script_next(&m->script, m->buf + m->len, m->cap - m->len);
		if (!n)
			break;
		m->len += n;
	} while (!m->streaming && m->len < m->cap);
}

/*
 * Advance as far as the ring and the pacing allow. Every exit either waits
 * for the timer, waits for resume() after -EAGAIN, or ends the stream.
 */
static void mock_step(struct mock *m)
{
	struct stream *s = m->s;
	for (;;) {
		switch (m->phase) {
		case MOCK_START: {
			int rc = stream_emit_start(s, s->prov->name, s->umodel, 1, 0);
			if (rc)
				return; /* -EAGAIN: resume; -EPIPE: stop follows */
			m->phase = MOCK_FIRST;
			mock_sleep(m, m->ttft_ns);
			return;
		}
		case MOCK_FIRST:
			return; /* the timer moves us on */
		case MOCK_TOKENS: {
			if (m->off == m->len) {
				mock_fill(m);
				if (m->len == 0) {
					m->phase = MOCK_USAGE;
					continue;
				}
			}
			long n = stream_emit_text(s, PROTO_DELTA, m->buf + m->off, m->len - m->off);
			if (n < 0)
				return;
			m->off += (size_t)n;
			if (m->off < m->len)
				continue;
			uint32_t seen = mock_script_tokens_emitted(&m->script);
			if (m->streaming && seen != m->tokens_seen && !mock_script_done(&m->script) &&
			    m->interval_ns) {
				m->tokens_seen = seen;
				mock_sleep(m, m->interval_ns);
				return;
			}
			m->tokens_seen = seen;
			continue;
		}
		case MOCK_USAGE:
			if (stream_emit_usage(s, mock_script_prompt_tokens(&m->script),
					      mock_script_completion_tokens(&m->script), 0))
				return;
			/* The last thing we do with s: it stops (frees) us. */
			stream_end_done(s, mock_script_finish_reason(&m->script));
			return;
		}
	}
}

static int mock_start(struct stream *s, const struct chatreq *req)
{
	struct mock *m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	m->s = s;
	m->timer.idx = LOOP_TIMER_IDLE;
	m->timer.fn = mock_timer_fired;
	m->streaming = req->stream;
	uint64_t ttft_us = req->mock_ttft_us >= 0 ? (uint64_t)req->mock_ttft_us : s->prov->mock_ttft_us;
	uint64_t itl_us = req->mock_interval_us >= 0 ? (uint64_t)req->mock_interval_us
						     : s->prov->mock_interval_us;
	m->ttft_ns = ttft_us * 1000u;
	m->interval_ns = itl_us * 1000u;
	if (mock_script_init(&m->script, req)) {
		free(m);
		return -ENOMEM;
	}
	if (m->streaming) {
		m->buf = m->tok;
		m->cap = sizeof m->tok;
	} else {
		m->buf = malloc(MOCK_BATCH_MAX);
		m->cap = MOCK_BATCH_MAX;
		if (!m->buf) {
			mock_script_free(&m->script);
			free(m);
			return -ENOMEM;
		}
	}
	s->pstate = m;
	mock_step(m);
	return 0;
}

static void mock_resume(struct stream *s)
{
	mock_step(s->pstate);
}

static void mock_stop(struct stream *s)
{
	struct mock *m = s->pstate;
	if (!m)
		return;
	loop_timer_cancel(stream_loop(s), &m->timer);
	mock_script_free(&m->script);
	if (m->buf != m->tok)
		free(m->buf);
	free(m);
	s->pstate = NULL;
}

const struct provider_ops provider_mock = {
	.kind = "mock",
	.start = mock_start,
	.resume = mock_resume,
	.stop = mock_stop,
};
