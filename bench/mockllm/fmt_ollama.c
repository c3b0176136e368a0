/*
 * fmt_ollama.c — Ollama /api/chat: one JSON object per line, the last with
 * "done":true, done_reason and the token counts; with "stream":false the
 * same final object alone. Shapes follow ollama_chat.ndjson,
 * ollama_chat_tools.ndjson and ollama_error_404.json.
 */
#include "formats.h"

#include <time.h>

/* Every line starts the same up to the message content. */
static void ol_begin(struct ml_reply *r)
{
	struct ml_buf *p = &r->prefix;
	time_t sec = (time_t)r->created;
	struct tm tm;
	char ts[32];
	gmtime_r(&sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	ML_PUT(p, "{\"model\":\"");
	ml_buf_put(p, r->model.p, r->model.len);
	ML_PUT(p, "\",\"created_at\":\"");
	ml_buf_puts(p, ts);
	ml_buf_putc(p, '.');
	/* Nine digits of nanoseconds, as Go's RFC3339Nano prints them. */
	char ns[10];
	uint32_t v = r->created_nsec;
	for (int i = 8; i >= 0; i--) {
		ns[i] = (char)('0' + v % 10);
		v /= 10;
	}
	ml_buf_put(p, ns, 9);
	ML_PUT(p, "Z\",\"message\":{\"role\":\"assistant\",\"content\":\"");
}

static void ol_tool_calls(const struct ml_reply *r, struct ml_buf *o)
{
	ML_PUT(o, ",\"tool_calls\":[{\"function\":{\"name\":\"");
	ml_buf_puts(o, r->knobs.tool);
	ML_PUT(o, "\",\"arguments\":");
	ml_reply_args(r, 0, o, 0);
	ML_PUT(o, "}}]");
}

/* The final object's tail: done_reason, done, durations (ns) and counts. */
static void ol_done(const struct ml_reply *r, struct ml_buf *o)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	uint64_t total = now_ns > r->start_ns ? now_ns - r->start_ns : 1;
	ML_PUT(o, "},\"done_reason\":\"stop\",\"done\":true,\"total_duration\":");
	ml_buf_u64(o, total);
	ML_PUT(o, ",\"prompt_eval_count\":");
	ml_buf_u64(o, r->prompt_tokens);
	ML_PUT(o, ",\"eval_count\":");
	ml_buf_u64(o, r->tokens);
	ML_PUT(o, ",\"eval_duration\":");
	ml_buf_u64(o, total);
	ml_buf_putc(o, '}');
}

static void ol_head(struct ml_reply *r, struct ml_buf *o)
{
	(void)r;
	(void)o;
}

static void ol_chunk(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	if (ml_reply_tool(r)) {
		ml_buf_putc(o, '"');
		ol_tool_calls(r, o);
	} else {
		ml_reply_word(r, r->sent, o, 1);
		ml_buf_putc(o, '"');
	}
	ML_PUT(o, "},\"done\":false}\n");
}

static void ol_finish(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	ml_buf_putc(o, '"');
	ol_done(r, o);
	ml_buf_putc(o, '\n');
}

static void ol_error(struct ml_reply *r, struct ml_buf *o)
{
	(void)r;
	ML_PUT(o, "{\"error\":\"an error was encountered while running the model: mockllm injected error\"}\n");
}

static void ol_malformed(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	ml_buf_putc(o, '\n');
}

static void ol_whole(struct ml_reply *r, struct ml_buf *o)
{
	ml_buf_put(o, r->prefix.p, r->prefix.len);
	if (ml_reply_tool(r)) {
		ml_buf_putc(o, '"');
		ol_tool_calls(r, o);
	} else {
		ml_reply_text(r, o, 1);
		ml_buf_putc(o, '"');
	}
	ol_done(r, o);
}

static void ol_status_body(const struct ml_reply *r, int status, const char *msg, struct ml_buf *o)
{
	const char *text = "mockllm injected this status";
	if (status == 404)
		text = "model not found, try pulling it first";
	else if (status == 429)
		text = "server busy, please try again. maximum pending requests exceeded";
	else if (status == 500)
		text = "an error was encountered while running the model";
	msg = msg ? msg : text;
	(void)r;
	ML_PUT(o, "{\"error\":\"");
	ml_buf_json(o, msg, strlen(msg), 1);
	ML_PUT(o, "\"}");
}

const struct ml_fmt_ops ml_fmt_ollama = {
	.ctype_stream = "application/x-ndjson",
	.ctype_json = "application/json; charset=utf-8",
	.id_header = NULL,
	.begin = ol_begin,
	.head = ol_head,
	.chunk = ol_chunk,
	.finish = ol_finish,
	.error = ol_error,
	.malformed = ol_malformed,
	.whole = ol_whole,
	.status_body = ol_status_body,
};
