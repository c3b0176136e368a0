/*
 * ringside.h — libringside, the client side of the ringside LLM sidecar.
 *
 * An application connects to the sidecar running on the same host, submits
 * chat requests (OpenAI chat.completions JSON) for a model alias, and reads
 * the streamed reply as events, through shared-memory rings: no HTTP, no
 * JSON parsing of the reply, no system call while both sides are awake.
 *
 *     rs_client *c;
 *     if (rs_connect(NULL, &c) != RS_OK) ...;
 *     uint64_t s;
 *     rs_submit_prompt(c, "mock", "Hello there", &s);
 *     struct rs_event ev;
 *     while (rs_next(c, &ev, -1) == RS_OK && ev.type != RS_EV_DONE && ev.type != RS_EV_ERROR)
 *             if (ev.type == RS_EV_DELTA) fwrite(ev.text, 1, ev.text_len, stdout);
 *     rs_close(c);
 *
 * Return values: every function returns RS_OK (0) or a negative RS_E* code;
 * rs_strerror() turns one into a sentence. errno is not part of the API.
 *
 * Threads: an rs_client is not thread-safe. Use one per thread, or serialise
 * every call on it. Distinct clients are independent. The library creates no
 * threads and installs no signal handlers; it never raises SIGPIPE.
 *
 * Memory: rs_connect allocates once (the client and its bookkeeping, sized by
 * the limits the sidecar announces). Nothing is allocated per event; a
 * request allocates only when it is larger than any request before it.
 *
 * Streams: each rs_submit opens a stream with a fresh id. Every stream ends
 * with exactly one RS_EV_DONE or RS_EV_ERROR, including after rs_cancel and
 * when the sidecar dies (then the library itself delivers an RS_EV_ERROR
 * with code RS_ERR_DISCONNECTED for each stream still open, and rs_next
 * returns RS_EDISCONNECTED afterwards).
 */
#ifndef RINGSIDE_H
#define RINGSIDE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RS_BUILDING_LIB)
#define RS_API __attribute__((visibility("default")))
#else
#define RS_API
#endif

/* ---- API return codes ------------------------------------------------------ */
enum {
	RS_OK = 0,
	RS_EINVAL = -1,        /* bad argument */
	RS_ENOSIDECAR = -2,    /* no sidecar listening on the socket path */
	RS_EDISCONNECTED = -3, /* the sidecar went away; reconnect */
	RS_EPROTO = -4,        /* the sidecar broke the protocol (corrupt ring, bad handshake) */
	RS_ETIMEDOUT = -5,     /* rs_next: no event within the timeout */
	RS_EAGAIN = -6,        /* rs_submit: max streams open; read events first */
	RS_ETOOBIG = -7,       /* request larger than the sidecar's max_request */
	RS_ENOMEM = -8,
	RS_EREFUSED = -9,      /* the sidecar refused this client (limits, permissions) */
	RS_EVERSION = -10,     /* sidecar speaks another ABI version */
	RS_ESYS = -11,         /* unexpected system error */
	RS_ENOSTREAM = -12,    /* rs_cancel: no such open stream */
};

/* ---- stream error codes (rs_event.error.code on RS_EV_ERROR) ---------------- */
enum {
	RS_ERR_BAD_REQUEST = 1,   /* malformed or invalid request */
	RS_ERR_UNKNOWN_MODEL = 2, /* no such model alias */
	RS_ERR_TOO_LARGE = 3,     /* request over the size limit */
	RS_ERR_CANCELLED = 4,     /* rs_cancel */
	RS_ERR_TIMEOUT = 5,       /* a deadline passed */
	RS_ERR_UPSTREAM = 6,      /* the provider answered with an error */
	RS_ERR_TRUNCATED = 7,     /* the provider's stream ended early */
	RS_ERR_RATE_LIMITED = 8,
	RS_ERR_UNAVAILABLE = 9,   /* no healthy deployment */
	RS_ERR_INTERNAL = 10,
	RS_ERR_SHUTDOWN = 11,     /* the sidecar is shutting down */
	RS_ERR_DISCONNECTED = 12, /* delivered by the library: the sidecar died */
	RS_ERR_OVERLOADED = 13,   /* sidecar-wide limit reached */
};

/* ---- request ---------------------------------------------------------------- */
enum { RS_CACHE_DEFAULT = 0, RS_CACHE_BYPASS = 1, RS_CACHE_REFRESH = 2 };

struct rs_request {
	const char *model;     /* model alias, NUL-terminated (<= 255 bytes) */
	const char *body;      /* OpenAI chat.completions JSON; not NUL-terminated */
	size_t body_len;
	uint32_t flags;        /* reserved, 0 */
	uint32_t deadline_ms;  /* total time allowed, 0 = the sidecar's default */
	int cache_policy;      /* RS_CACHE_* */
};

/* ---- events ----------------------------------------------------------------- */
enum rs_event_type {
	RS_EV_START = 1,      /* the deployment serving the stream answered: start.* */
	RS_EV_DELTA = 2,      /* text: text/text_len */
	RS_EV_TOOL_DELTA = 3, /* tool call: tool.*, argument fragment in text */
	RS_EV_REASONING = 4,  /* thinking text: text/text_len */
	RS_EV_USAGE = 5,      /* token counts: usage.* */
	RS_EV_DONE = 6,       /* end: finish reason in text ("stop", "length", ...) */
	RS_EV_ERROR = 7,      /* end: error.*, message in text */
};

/*
 * One event. Every pointer in it points into the client's receive ring (no
 * copy) and stays valid until the next call of rs_next, rs_next_us, rs_close
 * or rs_submit* on the same client; copy what you keep. Strings are NOT
 * NUL-terminated: use the lengths.
 */
struct rs_event {
	int type;              /* RS_EV_* */
	uint64_t stream;
	const char *text;
	size_t text_len;
	union {
		struct {
			const char *provider;
			size_t provider_len;
			const char *model;
			size_t model_len;
			uint32_t attempt;  /* the upstream attempt serving it, from 1 */
			int cache_hit;
		} start;
		struct {
			uint32_t attempts; /* upstream attempts made, the serving one included */
		} done;
		struct {
			uint32_t index;
			const char *id;
			size_t id_len;
			const char *name;
			size_t name_len;
		} tool;
		struct {
			uint32_t prompt_tokens;
			uint32_t completion_tokens;
			uint32_t total_tokens;
			uint64_t cost_nano_usd;
		} usage;
		struct {
			int code;        /* RS_ERR_* */
			int http_status; /* upstream HTTP status, 0 if none */
			int retryable;   /* 1 if retrying later may succeed */
			uint32_t attempts;       /* upstream attempts made; 0 if none */
			uint32_t retry_after_ms; /* try again no sooner than this; 0 = unknown */
		} error;
	};
};

typedef struct rs_client rs_client;

/*
 * Connect to the sidecar. socket_path: explicit path, or NULL for
 * $RINGSIDE_SOCKET, or else the default (rs_default_socket). On success *out
 * owns the connection until rs_close.
 */
RS_API int rs_connect(const char *socket_path, rs_client **out);

/* Submit a chat request; *stream_out receives the new stream's id. Fails with
 * RS_ETOOBIG (over the sidecar's max_request), RS_EAGAIN (the sidecar's limit
 * of open streams per client is reached: read events first), RS_EINVAL,
 * RS_EDISCONNECTED. May wait briefly while the submit ring is full. */
RS_API int rs_submit(rs_client *c, const struct rs_request *req, uint64_t *stream_out);

/* Convenience: one user message `prompt` (NUL-terminated), streamed. */
RS_API int rs_submit_prompt(rs_client *c, const char *model, const char *prompt,
			    uint64_t *stream_out);

/* Next event of any stream. timeout_ms: -1 waits forever, 0 polls. Returns
 * RS_OK with *ev filled, RS_ETIMEDOUT, RS_EDISCONNECTED (after every open
 * stream got its RS_ERR_DISCONNECTED event) or RS_EPROTO. */
RS_API int rs_next(rs_client *c, struct rs_event *ev, int timeout_ms);

/* rs_next with the timeout in microseconds, for callers that keep a
 * schedule finer than a millisecond. timeout_us: -1 waits forever (so does
 * any other negative value), 0 polls exactly like rs_next(c, ev, 0) (and,
 * like it, arms rs_fd() when there is nothing to read), n > 0 returns
 * RS_ETIMEDOUT no earlier than n us from the call. Same results and same
 * lifetime of *ev's pointers as rs_next. A wait spins briefly, then sleeps
 * until the deadline to the microsecond (epoll_pwait2; on kernels before
 * 5.11 the sleep is rounded up to whole milliseconds). Sleeps are subject to
 * the thread's timer slack, 50 us by default; see prctl(PR_SET_TIMERSLACK).
 * rs_next(c, ev, ms) is rs_next_us(c, ev, ms < 0 ? -1 : ms * 1000LL). */
RS_API int rs_next_us(rs_client *c, struct rs_event *ev, long long timeout_us);

/* Ask the sidecar to stop a stream. Its RS_EV_ERROR (RS_ERR_CANCELLED), or a
 * DONE that was already on its way, still arrives through rs_next. */
RS_API int rs_cancel(rs_client *c, uint64_t stream);

/* A file descriptor that becomes readable when rs_next has something to say
 * (an event, or the sidecar's death) after rs_next returned RS_ETIMEDOUT.
 * For poll/epoll integration: wait for POLLIN, then call rs_next with
 * timeout 0 until it returns RS_ETIMEDOUT. Owned by the client. */
RS_API int rs_fd(const rs_client *c);

/* Number of streams submitted and not yet ended. */
RS_API unsigned rs_open_streams(const rs_client *c);

/* Close the connection; open streams are cancelled by the sidecar. NULL ok. */
RS_API void rs_close(rs_client *c);

/* Human sentence for an RS_E* return code. Never NULL. */
RS_API const char *rs_strerror(int rc);

/* Short name for an RS_ERR_* stream error code ("timeout", ...). Never NULL. */
RS_API const char *rs_errcode_name(int code);

/* The default socket path: $XDG_RUNTIME_DIR/ringside.sock when set, else
 * /tmp/ringside-<uid>.sock. Writes at most len bytes, NUL-terminated.
 * Returns RS_OK or RS_EINVAL when len is too small. */
RS_API int rs_default_socket(char *buf, size_t len);

/* Ask the sidecar for its counters (text, one "key value" per line, NUL-
 * terminated, truncated to len). Opens its own short connection. */
RS_API int rs_stats(const char *socket_path, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
