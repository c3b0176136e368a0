/*
 * http.h — the HTTP/1.1 request parser and response-head writer.
 *
 * The parser is hand-written for the subset a fake provider needs: request
 * line, headers, a Content-Length body. It never copies: it points into the
 * connection's input buffer, and reports how many bytes the request used so
 * the next pipelined request starts right after it. Bodies framed with
 * Transfer-Encoding are refused with 411, the way many API front ends do.
 */
#ifndef ML_HTTP_H
#define ML_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Largest request head (request line + headers) accepted: 64 KiB, as
 * common proxies' defaults are 8-64 KiB. */
#define ML_HTTP_MAX_HEAD (64u * 1024u)
/* Largest request body accepted: 16 MiB of chat history is plenty. */
#define ML_HTTP_MAX_BODY (16u * 1024u * 1024u)

struct ml_http_req {
	const char *method;
	size_t method_len;
	const char *path; /* target up to '?' */
	size_t path_len;
	const char *query; /* after '?', or NULL */
	size_t query_len;
	const char *xmock; /* value of `x-mock`, or NULL */
	size_t xmock_len;
	const char *body;
	size_t body_len;
	size_t head_len; /* bytes of the head, including the blank line */
	bool keep_alive;
	bool http10; /* HTTP/1.0: no chunked responses */
	bool expect_continue;
};

/*
 * Parse one request at p[0..n). Returns the request's total length when it
 * is complete; 0 when more bytes are needed (r->head_len is non-zero once
 * the head is complete, with r->body_len the announced length); or a
 * negated HTTP status (-400, -411, -413, -431, -505) for a request that
 * cannot be served, after which the connection must close.
 */
long ml_http_parse(const char *p, size_t n, struct ml_http_req *r);

/* Reason phrase for a status code ("Unknown" for codes without one). */
const char *ml_http_reason(int status);

/* Case-insensitive equality of s[0..n) and the NUL-terminated lit. */
bool ml_http_ieq(const char *s, size_t n, const char *lit);

/*
 * Append a status line and the headers every response shares: content-type,
 * the provider's request-id header (id_header NULL: none), and
 * `connection: close` when the connection ends after this response. The
 * caller adds its own headers and the blank line.
 */
void ml_http_head(struct ml_buf *out, int status, const char *ctype, const char *id_header,
		  unsigned long long id, bool close);

#endif
