/*
 * harness_http.c — a minimal HTTP/1.1 client and a validating JSON walker;
 * see harness_http.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <criterion/criterion.h>

#include "harness_http.h"

uint64_t h_http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void h_http_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- a minimal HTTP/1.1 client ------------------------------------------ */

void h_http_connect(struct h_http_conn *c, int port)
{
	memset(c, 0, sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(c->fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s", strerror(errno));
}

void h_http_close(struct h_http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

void h_http_send(struct h_http_conn *c, const char *data, size_t n)
{
	while (n) {
		ssize_t k = send(c->fd, data, n, MSG_NOSIGNAL);
		cr_assert(k > 0, "send: %s", strerror(errno));
		data += k;
		n -= (size_t)k;
	}
}

/* Send one request; extra is more header lines, each ending in CRLF. */
void h_http_request(struct h_http_conn *c, const char *method, const char *path, const char *extra,
		       const char *body)
{
	char head[2048];
	size_t bn = body ? strlen(body) : 0;
	int n = snprintf(head, sizeof head,
			 "%s %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
			 "%scontent-length: %zu\r\n\r\n",
			 method, path, extra ? extra : "", bn);
	cr_assert(n > 0 && (size_t)n < sizeof head);
	h_http_send(c, head, (size_t)n);
	if (bn)
		h_http_send(c, body, bn);
}

/* Receive more bytes before the deadline: >0 read, 0 EOF, -errno. */
int h_http_fill(struct h_http_conn *c, uint64_t deadline)
{
	uint64_t now = h_http_now_ms();
	if (now >= deadline)
		return -ETIMEDOUT;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int rc = poll(&pfd, 1, (int)(deadline - now));
	if (rc == 0)
		return -ETIMEDOUT;
	if (rc < 0)
		return -errno;
	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 131072;
		c->buf = realloc(c->buf, c->cap);
		cr_assert(c->buf);
	}
	ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n < 0)
		return -errno;
	c->len += (size_t)n;
	return (int)n;
}

static void h_http_consume(struct h_http_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static void h_http_body_add(struct h_http_resp *r, const char *p, size_t n)
{
	if (r->body_cap - r->body_len < n + 1) {
		while (r->body_cap - r->body_len < n + 1)
			r->body_cap = r->body_cap ? r->body_cap * 2 : 4096;
		r->body = realloc(r->body, r->body_cap);
		cr_assert(r->body);
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = 0;
}

void h_http_resp_free(struct h_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

size_t h_http_count(const char *s, size_t n, const char *needle)
{
	size_t k = 0, nl = strlen(needle);
	for (const char *p = s; s && (p = memmem(p, n - (size_t)(p - s), needle, nl)); p += nl)
		k++;
	return k;
}

/* Value of header name (lower case) in the response head, or NULL. */
const char *h_http_header(const struct h_http_resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			size_t vn = strcspn(v, "\r");
			snprintf(out, cap, "%.*s", (int)vn, v);
			return out;
		}
	}
	return NULL;
}

/*
 * Read one response: skip 1xx, parse the head, then the body until the
 * framing ends it, the connection ends, the deadline passes, or (stop_at
 * non-NULL) the body holds stop_n occurrences of stop_at.
 */
void h_http_read_until(struct h_http_conn *c, struct h_http_resp *r, const char *stop_at, size_t stop_n)
{
	uint64_t deadline = h_http_now_ms() + H_HTTP_WAIT_MS;
	memset(r, 0, sizeof *r);
	int rc;
	for (;;) {
		char *e = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		if (!e) {
			if ((rc = h_http_fill(c, deadline)) <= 0) {
				r->end = rc == 0 ? 1 : rc;
				return;
			}
			continue;
		}
		size_t hl = (size_t)(e - c->buf) + 4;
		cr_assert(hl < sizeof r->head, "response head too long");
		memcpy(r->head, c->buf, hl);
		r->head[hl] = 0;
		h_http_consume(c, hl);
		cr_assert(sscanf(r->head, "HTTP/1.1 %d", &r->status) == 1, "head: %s", r->head);
		if (r->status >= 200)
			break;
	}
	char v[64];
	bool chunked = h_http_header(r, "transfer-encoding", v, sizeof v) && strcmp(v, "chunked") == 0;
	long clen = h_http_header(r, "content-length", v, sizeof v) ? atol(v) : -1;
	for (;;) {
		if (stop_at && h_http_count(r->body, r->body_len, stop_at) >= stop_n)
			return;
		if (chunked) {
			char *le = c->len ? memmem(c->buf, c->len, "\r\n", 2) : NULL;
			if (le) {
				size_t size = strtoul(c->buf, NULL, 16), ll = (size_t)(le - c->buf) + 2;
				if (size == 0 && c->len >= ll + 2) {
					h_http_consume(c, ll + 2);
					r->complete = true;
					return;
				}
				if (size && c->len >= ll + size + 2) {
					h_http_body_add(r, c->buf + ll, size);
					h_http_consume(c, ll + size + 2);
					continue;
				}
			}
		} else if (clen >= 0 && c->len >= (size_t)clen - r->body_len) {
			size_t take = (size_t)clen - r->body_len;
			h_http_body_add(r, c->buf, take);
			h_http_consume(c, take);
			r->complete = true;
			return;
		} else if (c->len) {
			/* Content-Length not reached yet, or a body that ends
			 * when the connection does (HTTP/1.0). */
			h_http_body_add(r, c->buf, c->len);
			h_http_consume(c, c->len);
		}
		if ((rc = h_http_fill(c, deadline)) <= 0) {
			r->end = rc == 0 ? 1 : rc;
			return;
		}
	}
}

void h_http_read(struct h_http_conn *c, struct h_http_resp *r)
{
	h_http_read_until(c, r, NULL, 0);
}

/* ---- a validating JSON walker ------------------------------------------- */

static const char *h_http_js_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at a quote: the byte after the closing quote, or NULL if invalid. */
static const char *h_http_js_str_end(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"')
			return p + 1;
		if (ch < 0x20)
			return NULL;
		if (ch == '\\') {
			if (++p >= e)
				return NULL;
			if (*p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++p >= e || !strchr("0123456789abcdefABCDEF", *p))
						return NULL;
			} else if (!strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
	}
	return NULL;
}

static const char *h_http_js_lit(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

/* The end of the value at p, or NULL when it is not valid JSON. */
static const char *h_http_js_end(const char *p, const char *e, int depth)
{
	p = h_http_js_ws(p, e);
	if (p >= e || depth > 64)
		return NULL;
	if (*p == '{' || *p == '[') {
		bool obj = *p == '{';
		char close = obj ? '}' : ']';
		p = h_http_js_ws(p + 1, e);
		if (p < e && *p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				if (p >= e || *p != '"' || !(p = h_http_js_str_end(p, e)))
					return NULL;
				p = h_http_js_ws(p, e);
				if (p >= e || *p != ':')
					return NULL;
				p++;
			}
			if (!(p = h_http_js_end(p, e, depth + 1)))
				return NULL;
			p = h_http_js_ws(p, e);
			if (p >= e)
				return NULL;
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = h_http_js_ws(p + 1, e);
		}
	}
	if (*p == '"')
		return h_http_js_str_end(p, e);
	if (*p == 't')
		return h_http_js_lit(p, e, "true");
	if (*p == 'f')
		return h_http_js_lit(p, e, "false");
	if (*p == 'n')
		return h_http_js_lit(p, e, "null");
	const char *s = p;
	if (p < e && *p == '-')
		p++;
	const char *d = p;
	while (p < e && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
		p++;
	return p > d && p > s ? p : NULL;
}

bool h_http_js_valid(const char *s, size_t n)
{
	const char *p = h_http_js_end(s, s + n, 0);
	return p && h_http_js_ws(p, s + n) == s + n;
}

/* The raw value at a dotted path ("choices.0.delta.content"). */
bool h_http_js_at(const char *s, size_t n, const char *path, const char **vp, size_t *vn)
{
	const char *e = s + n, *p = h_http_js_ws(s, e);
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t seg = dot ? (size_t)(dot - path) : strlen(path);
		if (p < e && *p == '{') {
			p = h_http_js_ws(p + 1, e);
			for (;;) {
				if (p >= e || *p != '"')
					return false;
				const char *k = p + 1, *ke = h_http_js_str_end(p, e);
				if (!ke)
					return false;
				bool hit = (size_t)(ke - 1 - k) == seg && memcmp(k, path, seg) == 0;
				p = h_http_js_ws(ke, e);
				if (p >= e || *p != ':')
					return false;
				p = h_http_js_ws(p + 1, e);
				if (hit)
					break;
				if (!(p = h_http_js_end(p, e, 0)))
					return false;
				p = h_http_js_ws(p, e);
				if (p >= e || *p != ',')
					return false;
				p = h_http_js_ws(p + 1, e);
			}
		} else if (p < e && *p == '[') {
			long idx = atol(path);
			p = h_http_js_ws(p + 1, e);
			for (long i = 0; i < idx; i++) {
				if (p >= e || *p == ']' || !(p = h_http_js_end(p, e, 0)))
					return false;
				p = h_http_js_ws(p, e);
				if (p >= e || *p != ',')
					return false;
				p = h_http_js_ws(p + 1, e);
			}
			if (p >= e || *p == ']')
				return false;
		} else {
			return false;
		}
		path += seg + (dot ? 1 : 0);
	}
	const char *end = h_http_js_end(p, e, 0);
	if (!end)
		return false;
	*vp = p;
	*vn = (size_t)(end - p);
	return true;
}

/* Append the string at path (unescaped) to out; false when absent or not a
 * string. Escapes beyond ASCII \uXXXX are not needed by these tests. */
bool h_http_js_str(const char *s, size_t n, const char *path, char *out, size_t cap)
{
	const char *v;
	size_t vn;
	if (!h_http_js_at(s, n, path, &v, &vn) || v[0] != '"')
		return false;
	size_t o = strlen(out);
	for (size_t i = 1; i + 1 < vn && o + 1 < cap; i++) {
		char ch = v[i];
		if (ch == '\\') {
			ch = v[++i];
			if (ch == 'n')
				ch = '\n';
			else if (ch == 't')
				ch = '\t';
			else if (ch == 'u') {
				ch = (char)strtol((char[]){ v[i + 1], v[i + 2], v[i + 3], v[i + 4], 0 }, NULL, 16);
				i += 4;
			}
		}
		out[o++] = ch;
	}
	out[o] = 0;
	return true;
}

/* Replace out with the string at path, when there is one. */
bool h_http_js_set(const char *s, size_t n, const char *path, char *out, size_t cap)
{
	const char *v;
	size_t vn;
	if (!h_http_js_at(s, n, path, &v, &vn) || v[0] != '"')
		return false;
	out[0] = 0;
	return h_http_js_str(s, n, path, out, cap);
}

long h_http_js_num(const char *s, size_t n, const char *path)
{
	const char *v;
	size_t vn;
	if (!h_http_js_at(s, n, path, &v, &vn) || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')))
		return -1;
	return atol(v);
}

/* Is the value at path exactly the literal (true, null, ...)? */
bool h_http_js_is(const char *s, size_t n, const char *path, const char *lit)
{
	const char *v;
	size_t vn;
	return h_http_js_at(s, n, path, &v, &vn) && vn == strlen(lit) && memcmp(v, lit, vn) == 0;
}

/* Copy the raw JSON at path into out ("" when absent). */
void h_http_js_raw(const char *s, size_t n, const char *path, char *out, size_t cap)
{
	const char *v;
	size_t vn;
	out[0] = 0;
	if (h_http_js_at(s, n, path, &v, &vn))
		snprintf(out, cap, "%.*s", (int)vn, v);
}
