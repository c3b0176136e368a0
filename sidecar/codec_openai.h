/*
 * codec_openai.h — private to the OpenAI codec, shared by its five files:
 * codec_openai.c (request building, the codec tables), codec_openai_dec.c
 * (streams and bodies), codec_openai_fast.c (the common chunk without a
 * tree), codec_openai_tpl.c (the next chunk against the last one) and
 * codec_openai_err.c (errors). Nothing else includes it but the
 * codec's unit tests; the public face is pc_openai and pc_azure in pcodec.h.
 *
 * OpenAI, Azure OpenAI and the OpenAI-compatible servers (vLLM, TGI's
 * /v1/chat/completions, llama.cpp, DeepSeek...) answer in the same shape, so
 * both codecs share one decoder; they differ only in how a request is
 * addressed and authenticated.
 *
 * Internal helpers that may end the reply return 0 to go on, 1 when the
 * decoder has just ended (an error was reported: nothing more may reach the
 * sink), or the sink's negative errno.
 */
#ifndef RINGSIDE_CODEC_OPENAI_H
#define RINGSIDE_CODEC_OPENAI_H

#include <stddef.h>

#include <jansson.h>

#include "jtpl.h"
#include "pcodec.h"

/* Room for the codec's own error texts; pc_fail keeps 255 bytes of any
 * message, and ours are one short sentence plus a parser's remark. */
#define OA_MSG_MAX 200
/* finish_reason kept verbatim; OpenAI's longest is "content_filter". */
#define OA_RAW_MAX 32
/* Escaped content the fast path decodes into the decoder's own buffer.
 * OpenAI sends a token or a few per chunk; a chunk with more than this
 * (after escapes) is decoded by jansson instead. Unescaped content is
 * delivered from the event itself, whatever its size. */
#define OA_FAST_TEXT_MAX 8192

/* The pcodec entry points (codec_openai_dec.c, codec_openai_err.c). */
int oa_dec_init(struct pc_dec *d);
void oa_dec_free(struct pc_dec *d);
int oa_on_event(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		size_t data_len, const struct uev_sink *s);
int oa_on_end(struct pc_dec *d, const struct uev_sink *s);
int oa_on_body(struct pc_dec *d, const char *body, size_t len, const struct uev_sink *s);
int oa_on_error(struct pc_dec *d, int status, const char *body, size_t len,
		const struct uev_sink *s);

/* The same as oa_on_event without the fast path: the unit tests decode
 * every event both ways and compare. */
int oa_on_event_slow(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		     size_t data_len, const struct uev_sink *s);

/* codec_openai_fast.c, for the decoder: what one chunk said, read without a
 * tree. */
struct oa_fast {
	const char *text;        /* choice 0's content: into the event, or buf */
	size_t text_len;         /* 0: none, null or empty */
	int have_finish;         /* choice 0's finish_reason was a string... */
	int have_usage;          /* usage held an integer count: deliver these */
	uint32_t prompt_tokens, completion_tokens;
	size_t finish_len;       /* ...whose first finish_len bytes are here: */
	char finish[OA_RAW_MAX]; /* as many as the decoder keeps */
	/* Where in the chunk (byte offsets) oa_fast_scan found choice 0's
	 * content string, and the last top-level string it skipped unread
	 * (id, model, system_fingerprint, obfuscation...): from the opening
	 * quote to past the closing one; end 0 when there was none. */
	size_t text_at, text_end, skip_at, skip_end;
	const char *base;        /* the chunk those offsets are into */
	char buf[OA_FAST_TEXT_MAX]; /* last: oa_dec_init leaves it uninitialised */
};


/*
 * Read a chat.completion.chunk (trimmed event data) in one pass if it has
 * the common shape: choices empty or one choice 0 whose delta has at most
 * role, content (a string or null) and a null refusal, usage null, absent or
 * an object whose prompt_tokens and completion_tokens are integers or absent,
 * no error. 1: understood, *f says what to deliver. 0: declined, for any
 * other shape or anything jansson might parse differently or refuse; nothing
 * was reported and the chunk goes to jansson as if this had not run.
 */
int oa_fast_scan(const char *data, size_t n, struct oa_fast *f);

/*
 * codec_openai_tpl.c: the last chunk that said nothing but choice 0's
 * content, as a template (jtpl.h) whose holes are that content and the last
 * top-level string oa_fast_scan skipped unread (system_fingerprint, or the
 * obfuscation padding that changes with every chunk).
 */
struct oa_tpl {
	unsigned text_hole;      /* which hole is the content */
	struct jtpl t;           /* last: its bytes are left uninitialised */
};

/* Does the chunk (trimmed event data) match t? 1: yes, and *f says what
 * oa_fast_scan would have said of it (its text only). 0: no template, no
 * match, or text too long for f->buf; nothing reported. */
int oa_tpl_match(const struct oa_tpl *t, const char *data, size_t n, struct oa_fast *f);

/* After oa_fast_scan took a chunk (1) and filled f: keep it as t if it said
 * nothing but content and fits; otherwise t stays as it was. */
void oa_tpl_learn(struct oa_tpl *t, const char *data, size_t n, const struct oa_fast *f);

/* Chunks of this decoder's stream that the template matched (tests). */
unsigned long oa_dec_tpl_hits(const struct pc_dec *d);

/* codec_openai_err.c, for the decoder: */

/* pc_fail, returning 1 (ended) unless the sink failed. */
int oa_fail(struct pc_dec *d, const struct uev_sink *s, int code, int status, int retryable,
	    const char *msg, size_t len);
/* "malformed WHAT from provider: DETAIL", RS_ERR_UPSTREAM, not retryable. */
int oa_malformed(struct pc_dec *d, const struct uev_sink *s, const char *what, const char *detail);
/* Does this 2xx object carry an error instead of a reply? */
int oa_is_error(json_t *o);
/* Report the error an object carries (see oa_is_error). */
int oa_fail_inband(struct pc_dec *d, const struct uev_sink *s, json_t *outer);
/* An SSE event named "error"; data trimmed, possibly empty. */
int oa_event_error(struct pc_dec *d, const struct uev_sink *s, const char *data, size_t n);
/* v is a JSON string equal to str. */
int oa_str_is(json_t *v, const char *str);

#endif
