/*
 * formats.h — what a reply is, and how each provider spells it.
 *
 * formats.c reads the request (which endpoint, which model, which words to
 * echo, streaming or not) into a struct ml_reply; the four fmt_*.c files
 * each implement struct ml_fmt_ops, rendering that reply in one provider's
 * exact wire shape (see /work/shared/fixtures). The connection code (conn.c,
 * reply.c) decides when each piece is sent; the ops only append bytes.
 */
#ifndef ML_FORMATS_H
#define ML_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "knobs.h"
#include "stats.h"

/* Most tokens one reply may ask for: 10 M tokens is ~60 MB of text. */
#define ML_MAX_TOKENS 10000000L

struct ml_word {
	uint32_t off, len; /* in ml_reply.text */
};

/* One response being generated. It lives in its connection and its buffers
 * are reused by the next request, so steady-state replies allocate nothing
 * but what jansson needs to read the request body. */
struct ml_reply {
	enum ml_fmt fmt;
	const struct ml_fmt_ops *ops;
	struct ml_knobs knobs;
	struct ml_buf text;      /* the words to echo, back to back */
	struct ml_word *words;
	size_t nwords, words_cap;
	struct ml_buf model;     /* model name without the knob suffix, JSON-escaped */
	struct ml_buf prefix;    /* what the format pre-renders for every event */
	uint64_t id;             /* request number: ids like chatcmpl-mock<id> */
	uint64_t created;        /* wall clock at arrival: unix seconds ... */
	uint32_t created_nsec;   /* ... and nanoseconds (Ollama's created_at) */
	uint64_t start_ns;       /* CLOCK_MONOTONIC at arrival */
	uint32_t tokens;         /* word tokens in the reply */
	uint32_t chunks;         /* content chunks: tokens, or 1 for a whole tool call */
	uint32_t sent;           /* content chunks rendered so far */
	uint32_t prompt_tokens;
	uint32_t events;         /* events rendered so far (Gemini's JSON array commas) */
	bool stream;
	bool include_usage;      /* OpenAI stream_options.include_usage */
	bool gemini_sse;         /* Gemini ?alt=sse (else one JSON array) */
};

struct ml_fmt_ops {
	const char *ctype_stream;
	const char *ctype_json;
	const char *id_header; /* the provider's request-id response header */
	/* Called once the reply is known: pre-render r->prefix. */
	void (*begin)(struct ml_reply *r);
	/* Events that go out with the response head (role chunk, message_start). */
	void (*head)(struct ml_reply *r, struct ml_buf *o);
	/* Content chunk number r->sent; the caller increments sent after. */
	void (*chunk)(struct ml_reply *r, struct ml_buf *o);
	/* After the last chunk: finish reason, usage, terminator. */
	void (*finish)(struct ml_reply *r, struct ml_buf *o);
	/* The provider's in-stream error event. */
	void (*error)(struct ml_reply *r, struct ml_buf *o);
	/* One event in the provider's framing whose payload is not valid JSON. */
	void (*malformed)(struct ml_reply *r, struct ml_buf *o);
	/* The whole non-streaming body. */
	void (*whole)(struct ml_reply *r, struct ml_buf *o);
	/* An error body for status; msg NULL: the provider's usual text. */
	void (*status_body)(const struct ml_reply *r, int status, const char *msg, struct ml_buf *o);
};

extern const struct ml_fmt_ops ml_fmt_openai;
extern const struct ml_fmt_ops ml_fmt_anthropic;
extern const struct ml_fmt_ops ml_fmt_gemini;
extern const struct ml_fmt_ops ml_fmt_ollama;

/* An LLM endpoint recognised from the request target. */
struct ml_route {
	enum ml_fmt fmt;
	const char *path_model; /* model named in the path (Gemini, Azure), or NULL */
	size_t path_model_len;
	bool path_stream;       /* Gemini :streamGenerateContent */
	bool gemini_sse;        /* Gemini alt=sse */
};

/* Which endpoint path (and query) is; -1 when it is none of the four. */
int ml_route(const char *path, size_t n, const char *query, size_t qn, struct ml_route *rt);

/* Reset r for a new request in format rt->fmt (knobs unset, buffers kept). */
void ml_reply_reset(struct ml_reply *r, const struct ml_route *rt, uint64_t id, uint64_t now_ns);

/*
 * Read the request body into r: model (and its knob suffix, applied over
 * whatever r->knobs holds), streaming, the words to echo, usage counts.
 * Returns 0, or -1 with a message for a 400 in err.
 */
int ml_reply_prepare(struct ml_reply *r, const struct ml_route *rt, const char *body, size_t n,
		     char *err, size_t errlen);

void ml_reply_free(struct ml_reply *r);

/* Token i of the reply text: a space before every word but the first. */
void ml_reply_word(const struct ml_reply *r, uint32_t i, struct ml_buf *o, int depth);

/* The whole reply text (all tokens). */
void ml_reply_text(const struct ml_reply *r, struct ml_buf *o, int depth);

/*
 * Fragment i of the tool-call arguments {"text":"<reply text>"}: fragment 0
 * opens the object, fragment chunks-1 closes it, and with one chunk it is
 * the whole object. depth 0 renders the object as JSON (Gemini, Ollama:
 * arguments are an object); depth 1 as the inside of a JSON string (OpenAI
 * "arguments", Anthropic "partial_json"). The words are escaped once more.
 */
void ml_reply_args(const struct ml_reply *r, uint32_t i, struct ml_buf *o, int depth);

static inline bool ml_reply_tool(const struct ml_reply *r)
{
	return r->knobs.tool[0] != 0;
}

#endif
