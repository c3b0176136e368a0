/*
 * harness_http.h — a minimal HTTP/1.1 client over plain sockets (no
 * libcurl) and a small validating JSON walker (the e2e binary links no JSON
 * library), for tests that speak to a server byte by byte. Every read is
 * bounded (H_HTTP_WAIT_MS) so a bug fails instead of hanging.
 */
#ifndef RINGSIDE_TEST_HARNESS_HTTP_H
#define RINGSIDE_TEST_HARNESS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bound on any one wait: generous for ASan builds on a loaded machine. */
#define H_HTTP_WAIT_MS 15000

/* CLOCK_MONOTONIC in ms, and a sleep that survives EINTR. */
uint64_t h_http_now_ms(void);
void h_http_sleep_ms(unsigned ms);

/* ---- a minimal HTTP/1.1 client ------------------------------------------ */

struct h_http_conn {
	int fd;
	char *buf; /* received, not yet consumed */
	size_t len, cap;
};

struct h_http_resp {
	int status;
	char head[8192];
	char *body; /* de-chunked */
	size_t body_len, body_cap;
	bool complete; /* the framing ended the body */
	int end;       /* 0, or how reading stopped: -ETIMEDOUT, -ECONNRESET, 1 = EOF */
};

/* Connect to 127.0.0.1:port. */
void h_http_connect(struct h_http_conn *c, int port);
void h_http_close(struct h_http_conn *c);
void h_http_send(struct h_http_conn *c, const char *data, size_t n);

/* Send one request; extra is more header lines, each ending in CRLF. */
void h_http_request(struct h_http_conn *c, const char *method, const char *path, const char *extra,
		    const char *body);

/* Receive more bytes before the deadline: >0 read, 0 EOF, -errno. */
int h_http_fill(struct h_http_conn *c, uint64_t deadline);

void h_http_resp_free(struct h_http_resp *r);

/* Occurrences of needle in s[0..n). */
size_t h_http_count(const char *s, size_t n, const char *needle);

/* Value of header name (lower case) in the response head, or NULL. */
const char *h_http_header(const struct h_http_resp *r, const char *name, char *out, size_t cap);

/*
 * Read one response: skip 1xx, parse the head, then the body until the
 * framing ends it, the connection ends, the deadline passes, or (stop_at
 * non-NULL) the body holds stop_n occurrences of stop_at. h_http_read:
 * until the end.
 */
void h_http_read_until(struct h_http_conn *c, struct h_http_resp *r, const char *stop_at,
		       size_t stop_n);
void h_http_read(struct h_http_conn *c, struct h_http_resp *r);

/* ---- a validating JSON walker ------------------------------------------- */

/* s[0..n) is one valid JSON value (surrounding whitespace allowed). */
bool h_http_js_valid(const char *s, size_t n);

/* The raw value at a dotted path ("choices.0.delta.content"). */
bool h_http_js_at(const char *s, size_t n, const char *path, const char **vp, size_t *vn);

/* Append the string at path (unescaped) to out; false when absent or not a
 * string. Escapes beyond ASCII \uXXXX are not needed by these tests. */
bool h_http_js_str(const char *s, size_t n, const char *path, char *out, size_t cap);

/* Replace out with the string at path, when there is one. */
bool h_http_js_set(const char *s, size_t n, const char *path, char *out, size_t cap);

/* The non-negative integer at path, or -1. */
long h_http_js_num(const char *s, size_t n, const char *path);

/* Is the value at path exactly the literal (true, null, ...)? */
bool h_http_js_is(const char *s, size_t n, const char *path, const char *lit);

/* Copy the raw JSON at path into out ("" when absent). */
void h_http_js_raw(const char *s, size_t n, const char *path, char *out, size_t cap);

#endif
