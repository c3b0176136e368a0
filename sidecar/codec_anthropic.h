/*
 * codec_anthropic.h — private to the Anthropic codec. Nothing else includes
 * it; the public face is pc_anthropic in pcodec.h.
 *
 *   codec_anthropic.c      decoding of streams, bodies and error replies,
 *                          and the codec table
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
#include "pcodec.h"

/* pc_codec.build for pc_anthropic (see pcodec.h). On failure *out holds
 * nothing. */
int an_build(const struct pc_target *t, const struct chatreq *req, int stream,
	     struct pc_http *out, char *err, size_t errlen);

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
