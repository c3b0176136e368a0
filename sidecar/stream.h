/*
 * stream.h — one request's life inside the sidecar, and the only way events
 * reach a client's event ring.
 *
 * A stream is created for every REQUEST frame, even a bad one, so that every
 * stream ends with exactly one DONE or ERROR. Non-terminal events are
 * written straight into the ring (no copy, no allocation, no system call);
 * when the ring is full the call returns -EAGAIN, the stream joins its
 * client's blocked list and its adapter's resume() runs when the client has
 * drained. Terminal events never fail: when the ring is full the stream keeps
 * the event and delivers it later, then frees itself.
 *
 * Attempts: a client's stream is served by the router (route.h), which
 * runs each upstream attempt as a child stream (parent set, same client and
 * id, not in the client's map). Adapters cannot tell the difference: a
 * child's events go through the router, which passes on those of the
 * attempt that won and swallows the others, and a child's end is the
 * router's to act on (retry, fall back, or end the parent).
 */
#ifndef RINGSIDE_STREAM_H
#define RINGSIDE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct client;
struct provider_ops;
struct cfg_provider;
struct cfg_model;
struct chatreq;
struct route_attempt;

/* Longest terminal text we keep (finish reason or error message). */
#define STREAM_END_TEXT 240

struct stream {
	uint64_t id;
	struct client *client;
	const struct provider_ops *ops;
	const struct cfg_provider *prov;
	const struct cfg_model *model;
	const char *umodel;             /* upstream model name the adapter asks for */
	struct stream *parent;          /* a router's attempt: the client's stream */
	struct route_attempt *att;      /* a child's bookkeeping in the router */
	void *pstate;                   /* the adapter's */
	struct loop_timer deadline;
	struct stream *blk_next;        /* client's blocked list */
	uint64_t t_created;
	uint64_t deadline_at;           /* loop ns; 0 = none */
	uint8_t live;                   /* adapter started and not yet stopped */
	uint8_t ending;                 /* terminal event pending or written */
	uint8_t on_blocked;
	uint8_t kicked;                 /* first content event sent: client woken */
	uint8_t start_pending;          /* START owed before the next event */
	uint32_t start_attempt;
	const char *start_prov, *start_model; /* config strings: outlive the stream */
	/* pending terminal event */
	uint16_t end_type;              /* PROTO_DONE or PROTO_ERROR */
	uint16_t err_code;
	uint16_t http_status;
	uint8_t retryable;
	uint16_t attempts;              /* upstream attempts, for DONE / ERROR */
	uint32_t retry_after_ms;        /* ERROR: when to try again, 0 = unknown */
	/* what the adapter knows of its failure (stream_note_failure) */
	int fail_curl;
	uint8_t fail_deadline;          /* enum ec_deadline */
	uint64_t fail_retry_after_ns;   /* UINT64_MAX = none given */
	uint16_t end_len;
	char end_text[STREAM_END_TEXT];
};

/* Allocate a stream for client c (not yet in the client's map). */
struct stream *stream_new(struct client *c, uint64_t id, uint32_t deadline_ms);

/* Start serving with ops; ends the stream with an error if start fails. */
void stream_start(struct stream *s, const struct provider_ops *ops,
		  const struct cfg_provider *prov, const struct cfg_model *model,
		  const struct chatreq *req);

struct loop *stream_loop(const struct stream *s);

/* Non-terminal events: 0 written, -EAGAIN ring full (resume() follows),
 * -EPIPE the client is going away (stop producing; stop() follows). */
int stream_emit_start(struct stream *s, const char *provider, const char *model,
		      uint32_t attempt, int cache_hit);
/* Owe the client a START (provider and model must outlive the stream:
 * config strings): it is written right before the stream's next event,
 * terminal ones included, so it is never written for nothing and costs no
 * wake-up of its own. */
void stream_set_start(struct stream *s, const char *provider, const char *model,
		      uint32_t attempt);
int stream_emit_usage(struct stream *s, uint32_t prompt, uint32_t completion,
		      uint64_t cost_nano_usd);
/* Any event frame, its payload made of up to three parts (at most the
 * ring's max payload in all). Same returns as above. */
int stream_emit_frame(struct stream *s, uint16_t type, const void *a, size_t alen,
		      const void *b, size_t blen, const void *c, size_t clen);

/* Largest payload one event frame can carry for this stream's client. */
size_t stream_max_payload(const struct stream *s);

/* DELTA or REASONING text; long text is split over frames. Returns bytes
 * written (> 0, possibly fewer than len), -EAGAIN, or -EPIPE. */
long stream_emit_text(struct stream *s, uint16_t type, const char *text, size_t len);

/* Before ending with an error, an adapter says what only it knows, for
 * the retry policy (errclass.h): libcurl's result when the transfer itself
 * failed (0 otherwise), which of its deadlines fired (enum ec_deadline), and
 * the provider's Retry-After as a delay (UINT64_MAX when none came). */
void stream_note_failure(struct stream *s, int curl_code, int deadline, uint64_t retry_after_ns);

/* Terminal events: exactly one per stream, later calls are ignored. Stops
 * the adapter first. After this the caller must not touch s. */
void stream_end_done(struct stream *s, const char *reason);
void stream_end_error(struct stream *s, int code, int http_status, int retryable,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The client's ring may have room: deliver a pending terminal, or resume the
 * adapter. Called by the client for each stream on its blocked list. */
void stream_flush(struct stream *s);

/* The client is gone: stop, free, no events. */
void stream_drop(struct stream *s);

#endif
