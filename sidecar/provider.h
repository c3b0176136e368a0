/*
 * provider.h — the interface every provider adapter implements (like Redis'
 * ConnectionType): a small vtable, one adapter per file under providers/.
 *
 * An adapter turns a validated request into unified events on its stream:
 * stream_emit_* for START, text, usage (which may report -EAGAIN when the
 * client's event ring is full: keep the data, stop producing, and carry on
 * when `resume` is called), then exactly one stream_end_done or
 * stream_end_error, which is the last thing the adapter does with the stream.
 */
#ifndef RINGSIDE_PROVIDER_H
#define RINGSIDE_PROVIDER_H

#include "config.h"

struct stream;
struct chatreq;

struct provider_ops {
	const char *kind;
	/* Begin serving s (s->pstate is the adapter's). 0, or -errno: the
	 * caller then ends the stream with an internal error. */
	int (*start)(struct stream *s, const struct chatreq *req);
	/* The client's event ring has room again after an -EAGAIN. */
	void (*resume)(struct stream *s);
	/* Stop at once and free the adapter's state; write nothing. Called
	 * exactly once per successful start: on cancel, deadline, client death,
	 * shutdown, or when the adapter itself ends the stream. */
	void (*stop)(struct stream *s);
};

const struct provider_ops *provider_ops_for(enum cfg_kind kind);

/* The wire format of an HTTP provider kind; NULL for mock. */
struct pc_codec;
const struct pc_codec *pc_codec_for(enum cfg_kind kind);

extern const struct provider_ops provider_mock;
extern const struct provider_ops provider_http; /* every HTTP kind, via its codec */

#endif
