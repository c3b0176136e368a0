/*
 * codec_anthropic.h — private to the Anthropic codec. Nothing else includes
 * it; the public face is pc_anthropic in pcodec.h.
 *
 *   codec_anthropic.c      decoding of streams, bodies and error replies,
 *                          and the codec table
 *   codec_anthropic_fast.c the common stream event (a text or thinking
 *                          delta) read without a jansson tree, or
 *                          against the last one (a template)
 *   codec_anthropic_req.c  the request: messages, content blocks, HTTP
 *   codec_anthropic_opt.c  the request's parameters (limits, sampling,
 *                          tools, tool_choice, thinking)
 */
#ifndef RINGSIDE_CODEC_ANTHROPIC_H
#define RINGSIDE_CODEC_ANTHROPIC_H

#include <errno.h>
#include <stddef.h>

#include <jansson.h>

#include "chatreq.h"
#include "jtpl.h"
#include "pcodec.h"

/* pc_codec.build for pc_anthropic (see pcodec.h). On failure *out holds
 * nothing. */
int an_build(const struct pc_target *t, const struct chatreq *req, int stream,
	     struct pc_http *out, char *err, size_t errlen);

/* ---- the stream's fast path (codec_anthropic_fast.c) ----------------------------- */

/* Escaped delta text decoded into the decoder's own buffer; a delta with
 * more (after escapes) goes to jansson. Unescaped text is delivered from
 * the event itself, whatever its size. */
#define AN_FAST_TEXT_MAX 4096

struct an_fast {
	const char *text;   /* the delta's text: into the event, or buf */
	size_t len;         /* 0: none, or empty */
	enum uev_text kind; /* UEV_TEXT (text_delta) or UEV_REASONING (thinking_delta) */
	/* Where in the event (byte offsets) the delivered string was, from
	 * its opening quote to past the closing one; end 0: there was none. */
	size_t text_at, text_end;
	char buf[AN_FAST_TEXT_MAX]; /* last: an_dec_init leaves it uninitialised */
};

/*
 * The last delta an_fast_delta took that delivered a string, as a template
 * (jtpl.h) with that string as its one hole: the deltas of a block differ
 * only there. Its kind came from the delta's type, which a match repeats.
 */
struct an_tpl {
	enum uev_text kind;
	struct jtpl t;      /* last: its bytes are left uninitialised */
};

/*
 * Read a content_block_delta event (its data, with an event name other than
 * "error") carrying a text_delta or thinking_delta, in one pass. 1: taken,
 * *f says what to deliver (nothing when len is 0), as the tree path would.
 * 0: declined, for any other event or anything jansson might read
 * differently; nothing was reported and the event goes to jansson.
 */
int an_fast_delta(const char *data, size_t n, struct an_fast *f);

/* The same event read against t: 1 and *f as an_fast_delta would fill it,
 * or 0 (no template, no match, text too long for f->buf). */
int an_tpl_match(const struct an_tpl *t, const char *data, size_t n, struct an_fast *f);

/* After an_fast_delta took data (1) and filled f: keep it as t if it
 * delivered a string and fits; otherwise t stays as it was. */
void an_tpl_learn(struct an_tpl *t, const char *data, size_t n, const struct an_fast *f);

/* Events of this decoder's stream that the template matched (tests). */
unsigned long an_dec_tpl_hits(const struct pc_dec *d);

/* pc_anthropic.on_event without the fast path: the unit tests decode every
 * event both ways and compare. */
int an_on_event_slow(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		     size_t data_len, const struct uev_sink *s);

/* ---- shared by the request files ----------------------------------------------- */

/* Where a request's one-line reason for -EINVAL goes. */
struct an_err {
	char *buf;
	size_t len;
};

/* Write the reason; returns -EINVAL. */
int an_bad(struct an_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Everything but the messages, from the client's request into out (the
 * Anthropic body). 0, -EINVAL (reason in e) or -ENOMEM. */
int an_params(struct an_err *e, const struct chatreq *req, json_t *out);

/* jansson's append and set take the value's reference even when they fail,
 * and fail on a NULL value: a failed json_pack needs no separate check. */
static inline int an_push(json_t *arr, json_t *v)
{
	return json_array_append_new(arr, v) ? -ENOMEM : 0;
}

static inline int an_set(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new(obj, key, v) ? -ENOMEM : 0;
}

/* Present and not null: OpenAI's schema makes most fields nullable. */
static inline int an_present(const json_t *v)
{
	return v && !json_is_null(v);
}

static inline int an_nonempty(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0;
}

/* An object's "type", "" when it has none. */
static inline const char *an_type(const json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "type"));

	return t ? t : "";
}

#endif
