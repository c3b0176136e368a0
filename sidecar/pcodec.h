/*
 * pcodec.h — provider codecs: the pure half of an HTTP provider adapter.
 *
 * A codec knows one provider's wire format and nothing about sockets,
 * rings or timers, so every byte of it is unit-testable against recorded
 * streams:
 *
 *   build      OpenAI-shaped request (struct chatreq) -> the provider's HTTP
 *              request (URL, headers, JSON body)
 *   on_event   one unit of the provider's stream (an SSE event, or one NDJSON
 *              line) -> unified events through a struct uev_sink
 *   on_end     the response body ended (EOF): a clean finish if the
 *              provider's terminator was seen (or EOF is its terminator),
 *              else a typed "truncated" error
 *   on_body    a whole non-streamed 2xx body -> unified events
 *   on_error   an HTTP error status and its body -> one typed error
 *
 * Every reply a codec decodes ends in exactly one sink->finish or
 * sink->error call, after which the codec ignores its input (pc_dec.done).
 * Codecs never see or produce anything that reaches a log; messages they
 * pass to sink->error are the provider's own words with anything that looks
 * like a credential redacted (pc_redact).
 */
#ifndef RINGSIDE_PCODEC_H
#define RINGSIDE_PCODEC_H

#include <stddef.h>
#include <stdint.h>

struct chatreq;
struct cfg_provider;

/* ---- unified events out ------------------------------------------------------ */

enum uev_text { UEV_TEXT = 1, UEV_REASONING = 2 };

/*
 * Where decoded events go. Every callback returns 0, or a negative errno to
 * stop decoding (the codec call then returns that value). The caller
 * guarantees room for whatever one codec call produces, so there is no
 * "try again later" here.
 */
struct uev_sink {
	void *arg;
	/* Answer (UEV_TEXT) or thinking (UEV_REASONING) text; n > 0. */
	int (*text)(void *arg, enum uev_text kind, const char *p, size_t n);
	/* A tool-call fragment. index: 0-based ordinal of the call within
	 * this reply. id and name are non-empty on the first fragment of an
	 * index (a codec invents "call_<index>" when the provider has no id)
	 * and empty (NULL, 0) on later ones; args is a fragment of the JSON
	 * arguments text, possibly empty. */
	int (*tool)(void *arg, uint32_t index, const char *id, size_t id_len,
		    const char *name, size_t name_len, const char *args, size_t args_len);
	/* Token counts so far; a later call replaces an earlier one. */
	int (*usage)(void *arg, uint32_t prompt_tokens, uint32_t completion_tokens);
	/* The reply ended normally. reason is OpenAI's vocabulary (stop,
	 * length, tool_calls, content_filter); raw is the provider's own
	 * value ("end_turn", "MAX_TOKENS", ...), "" when it sent none. */
	int (*finish)(void *arg, const char *reason, const char *raw);
	/* The reply ended in error. code: RS_ERR_* (ringside.h); http_status:
	 * the HTTP status, or the provider's in-band code, 0 if none. */
	int (*error)(void *arg, int code, int http_status, int retryable,
		     const char *msg, size_t msg_len);
};

/* ---- HTTP request out -------------------------------------------------------- */

#define PC_MAX_HEADERS 8

enum pc_format {
	PC_FMT_SSE = 1,  /* text/event-stream: on_event per event */
	PC_FMT_NDJSON,   /* one JSON per line: on_event per line (ev NULL) */
	PC_FMT_JSON,     /* not streamed: on_body with the whole body */
};

struct pc_http {
	char *url;                         /* owned */
	char *headers[PC_MAX_HEADERS];     /* owned "Name: value" lines */
	unsigned n_headers;
	char *body;                        /* owned JSON, body_len bytes */
	size_t body_len;
	enum pc_format format;             /* framing of a 2xx response body */
};

/* Free what a build allocated; safe on a zeroed struct and twice. */
void pc_http_free(struct pc_http *h);

/* Append a header line built from fmt. 0, -ENOMEM or -E2BIG. */
int pc_http_header(struct pc_http *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Who to ask. */
struct pc_target {
	const struct cfg_provider *prov;   /* base_url, api_key, api_version */
	const char *model;                 /* upstream model name */
};

/* ---- decoding ------------------------------------------------------------------ */

/* Per-response decoder state. Codecs keep their own state in priv
 * (dec_init allocates it, dec_free frees it). */
struct pc_dec {
	const struct pc_codec *codec;
	uint8_t done;          /* finish or error reported: ignore the rest */
	void *priv;
};

/* pc_codec.flags */
#define PC_SSE_STRAY 0x1u /* lines of the SSE body that are no SSE field come
			   * to on_event as nameless events (Gemini ends a
			   * stream with a bare, unframed JSON error) */

struct pc_codec {
	const char *kind;
	unsigned flags;
	/* Build the upstream request; stream selects the streamed form (the
	 * codec adds what its provider needs to report usage while
	 * streaming). Returns 0, -EINVAL with a one-line reason in err (the
	 * request cannot be expressed for this provider), or -ENOMEM. */
	int (*build)(const struct pc_target *t, const struct chatreq *req, int stream,
		     struct pc_http *out, char *err, size_t errlen);
	int (*dec_init)(struct pc_dec *d);
	void (*dec_free)(struct pc_dec *d);
	/* One SSE event (ev: its event name, ev_len 0 when it had none) or
	 * one NDJSON line (ev NULL). data is not NUL-terminated. Malformed
	 * provider data is reported through sink->error (RS_ERR_UPSTREAM, not
	 * retryable... unless the provider's own error says so), never a crash. */
	int (*on_event)(struct pc_dec *d, const char *ev, size_t ev_len,
			const char *data, size_t data_len, const struct uev_sink *s);
	/* EOF of a streamed body. */
	int (*on_end)(struct pc_dec *d, const struct uev_sink *s);
	/* A whole non-streamed 2xx body. */
	int (*on_body)(struct pc_dec *d, const char *body, size_t len, const struct uev_sink *s);
	/* An HTTP error status with its (possibly empty or cut) body. */
	int (*on_error)(struct pc_dec *d, int status, const char *body, size_t len,
			const struct uev_sink *s);
};

extern const struct pc_codec pc_openai;
extern const struct pc_codec pc_azure;
extern const struct pc_codec pc_anthropic;
extern const struct pc_codec pc_gemini;
extern const struct pc_codec pc_ollama;

/* ---- shared helpers for codecs --------------------------------------------------- */

/* Is an HTTP status worth retrying elsewhere or later? 408, 409, 429, 5xx
 * and 529 are; other 4xx are not. */
int pc_status_retryable(int status);

/* RS_ERR_* for an HTTP error status: 429 -> RS_ERR_RATE_LIMITED, 408/504
 * -> RS_ERR_TIMEOUT, 529/503 -> RS_ERR_UNAVAILABLE... everything else
 * RS_ERR_UPSTREAM. */
int pc_status_code(int status);

/* Copy msg into out (NUL-terminated, at most cap-1 bytes) with every token
 * that looks like a credential (sk-..., sk-ant-..., AIza..., Bearer ...,
 * long hex/base64 runs) replaced by "[redacted]", control bytes by spaces.
 * Returns the length written. */
size_t pc_redact(char *out, size_t cap, const char *msg, size_t len);

/* Report an error through the sink once and mark the decoder done. */
int pc_fail(struct pc_dec *d, const struct uev_sink *s, int code, int http_status,
	    int retryable, const char *msg, size_t len);

/* Report the finish once and mark the decoder done. */
int pc_finish(struct pc_dec *d, const struct uev_sink *s, const char *reason, const char *raw);

#endif
