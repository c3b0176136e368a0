/*
 * upstream.h — HTTP to the providers: libcurl's multi_socket API driven by
 * the sidecar's io_uring loop.
 *
 * One pool per configured HTTP provider, each its own curl multi handle: its
 * own connection cache (keep-alive, HTTP/2 multiplexing), its own cap on
 * connections, its own counts of new and reused connections. curl's socket
 * callback becomes poll requests on the ring, its timer callback one loop
 * timer; there is no second event loop and no thread.
 *
 * curl must never be re-entered from inside one of its own callbacks, and
 * curl_easy_pause(CONT) calls the write callback synchronously. So the
 * owner-facing calls that would enter curl (resume, release) only queue the
 * work; up_pool_poll, run from the loop outside any curl call, does it.
 */
#ifndef RINGSIDE_UPSTREAM_H
#define RINGSIDE_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct cfg_provider;
struct pc_http;
struct up_pool;
struct up_xfer;

/* Returned by on_data to stop delivery until up_xfer_resume. */
#define UP_PAUSE ((size_t)-1)

struct up_xfer_ops {
	/* One response header line (status line included), CRLF stripped. */
	void (*on_header)(void *owner, const char *line, size_t len);
	/* Body bytes (status known through up_xfer_status). Return len when
	 * consumed, UP_PAUSE to get the same bytes again after a resume, or
	 * 0 to abort the transfer. */
	size_t (*on_data)(void *owner, const char *p, size_t len);
	/* The transfer ended: curl result (0 = complete), HTTP status (0 if
	 * none arrived), and curl's error text. The owner then calls
	 * up_xfer_release. */
	void (*on_done)(void *owner, int curl_code, long status, const char *err);
};

struct up_stats {
	uint64_t requests;
	uint64_t conns_new;      /* transfers that opened a connection */
	uint64_t conns_reused;   /* transfers that found one warm */
	uint64_t failures;       /* transport failures (no HTTP status) */
	uint64_t aborted;        /* released before completion */
	uint64_t h2;             /* transfers that ran over HTTP/2 */
	uint32_t active;
};

/* Create the pool for one provider. NULL on failure (logged). */
struct up_pool *up_pool_new(struct loop *l, const struct cfg_provider *p);
void up_pool_free(struct up_pool *p);

/* Deferred work: zero-delay curl timeouts, resumes, releases, completions.
 * Returns how much was done (the loop keeps spinning while > 0). */
int up_pool_poll(struct up_pool *p);

/* Has queued work (the loop must not sleep). */
int up_pool_pending(const struct up_pool *p);

const struct up_stats *up_pool_stats(const struct up_pool *p);

/* Start a request. The transfer takes what req owns (req is left zeroed,
 * success or not) and keeps it until it is recycled: curl sends the body
 * and header lines from it in place. NULL on failure. */
struct up_xfer *up_xfer_start(struct up_pool *p, struct pc_http *req,
			      const struct up_xfer_ops *ops, void *owner);

/* HTTP status of the response so far (0 before the status line). */
long up_xfer_status(const struct up_xfer *x);

/* The response's Content-Type, or NULL before headers / when none. */
const char *up_xfer_content_type(const struct up_xfer *x);

/* Deliver data again after on_data returned UP_PAUSE. */
void up_xfer_resume(struct up_xfer *x);

/* The owner is done: no more callbacks. keep_reading: let a transfer whose
 * response is logically complete finish reading (so its connection goes
 * back to the pool); otherwise it is aborted (the server sees the
 * connection closed or the HTTP/2 stream reset). */
void up_xfer_release(struct up_xfer *x, int keep_reading);

/* Sockets whose poll has not come back yet, over all pools (shutdown
 * waits for 0 before the loop goes away). */
int up_live_socks(void);

/* Process-wide curl set-up; call once before any pool. */
int up_global_init(void);
void up_global_cleanup(void);

#endif
