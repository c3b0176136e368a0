/*
 * http.c — request parsing and response heads (see http.h).
 */
#include "http.h"

#include <string.h>

bool ml_http_ieq(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; i < n && lit[i]; i++) {
		char a = s[i], b = lit[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return i == n && lit[i] == 0;
}

/* RFC 9110 tchar: what header names and methods are made of. */
static bool is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Does the comma-separated header value v contain the token tok? */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		size_t e = j;
		while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > i && ml_http_ieq(v + i, e - i, tok))
			return true;
		i = j;
	}
	return false;
}

/* Next line of p[i..n): returns its end (excluding CR LF) and sets *next,
 * or returns -1 when no LF is there yet. A bare LF ends a line too. */
static long line_end(const char *p, size_t n, size_t i, size_t *next)
{
	const char *lf = memchr(p + i, '\n', n - i);
	if (!lf)
		return -1;
	size_t e = (size_t)(lf - p);
	*next = e + 1;
	if (e > i && p[e - 1] == '\r')
		e--;
	return (long)e;
}

static long parse_request_line(const char *p, size_t e, struct ml_http_req *r, int *minor)
{
	size_t i = 0;
	while (i < e && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= e || p[i] != ' ')
		return -400;
	r->method = p;
	r->method_len = i++;
	size_t t = i;
	while (i < e && p[i] != ' ')
		i++;
	if (i == t || i >= e)
		return -400;
	const char *target = p + t;
	size_t tn = i - t;
	/* Absolute form (proxies): drop scheme and authority. */
	size_t scheme = 0;
	if (tn > 7 && ml_http_ieq(target, 7, "http://"))
		scheme = 7;
	else if (tn > 8 && ml_http_ieq(target, 8, "https://"))
		scheme = 8;
	if (scheme) {
		const char *slash = memchr(target + scheme, '/', tn - scheme);
		if (!slash)
			return -400;
		tn -= (size_t)(slash - target);
		target = slash;
	}
	if (target[0] != '/')
		return -400;
	const char *q = memchr(target, '?', tn);
	r->path = target;
	r->path_len = q ? (size_t)(q - target) : tn;
	r->query = q ? q + 1 : NULL;
	r->query_len = q ? tn - r->path_len - 1 : 0;
	i++;
	if (e - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0)
		return (e - i >= 5 && memcmp(p + i, "HTTP/", 5) == 0) ? -505 : -400;
	if (p[i + 7] != '0' && p[i + 7] != '1')
		return -505;
	*minor = p[i + 7] - '0';
	return 0;
}

/* Apply one header line; returns 0 or a negated status. */
static long parse_header(const char *p, size_t s, size_t e, struct ml_http_req *r, long *clen,
			 bool *conn_close, bool *conn_keep)
{
	size_t c = s;
	while (c < e && is_tchar((unsigned char)p[c]))
		c++;
	/* No name, whitespace before the colon, or a folded line: RFC 9112
	 * says reject, since proxies disagree on what they mean. */
	if (c == s || c >= e || p[c] != ':')
		return -400;
	const char *name = p + s;
	size_t nn = c - s;
	size_t v = c + 1, ve = e;
	while (v < ve && (p[v] == ' ' || p[v] == '\t'))
		v++;
	while (ve > v && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
		ve--;
	const char *val = p + v;
	size_t vn = ve - v;
	if (ml_http_ieq(name, nn, "content-length")) {
		long len = 0;
		if (vn == 0)
			return -400;
		for (size_t i = 0; i < vn; i++) {
			if (val[i] < '0' || val[i] > '9')
				return -400;
			len = len * 10 + (val[i] - '0');
			if (len > (long)ML_HTTP_MAX_BODY)
				return -413;
		}
		if (*clen >= 0 && *clen != len)
			return -400;
		*clen = len;
	} else if (ml_http_ieq(name, nn, "transfer-encoding")) {
		return -411;
	} else if (ml_http_ieq(name, nn, "connection")) {
		*conn_close |= has_token(val, vn, "close");
		*conn_keep |= has_token(val, vn, "keep-alive");
	} else if (ml_http_ieq(name, nn, "expect")) {
		r->expect_continue = ml_http_ieq(val, vn, "100-continue");
	} else if (ml_http_ieq(name, nn, "x-mock")) {
		r->xmock = val;
		r->xmock_len = vn;
	}
	return 0;
}

long ml_http_parse(const char *p, size_t n, struct ml_http_req *r)
{
	memset(r, 0, sizeof *r);
	size_t i = 0, next;
	long e;
	/* RFC 9112 2.2: ignore empty lines before the request line (some
	 * clients send a CRLF after a POST body). */
	while (i < n && (p[i] == '\r' || p[i] == '\n'))
		i++;
	size_t start = i;
	if ((e = line_end(p, n, i, &next)) < 0)
		return n - start > ML_HTTP_MAX_HEAD ? -431 : 0;
	int minor = 1;
	long rc = parse_request_line(p + i, (size_t)e - i, r, &minor);
	if (rc < 0)
		return rc;
	long clen = -1;
	bool conn_close = false, conn_keep = false;
	for (;;) {
		i = next;
		if (i - start > ML_HTTP_MAX_HEAD)
			return -431;
		if ((e = line_end(p, n, i, &next)) < 0)
			return n - start > ML_HTTP_MAX_HEAD ? -431 : 0;
		if ((size_t)e == i)
			break;
		if ((rc = parse_header(p, i, (size_t)e, r, &clen, &conn_close, &conn_keep)) < 0)
			return rc;
	}
	r->head_len = next;
	r->body_len = clen > 0 ? (size_t)clen : 0;
	r->keep_alive = minor == 1 ? !conn_close : (conn_keep && !conn_close);
	r->http10 = minor == 0;
	if (n - next < r->body_len)
		return 0;
	r->body = p + next;
	return (long)(next + r->body_len);
}

const char *ml_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 499: return "Client Closed Request";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 529: return "Overloaded";
	default: return "Unknown";
	}
}

void ml_http_head(struct ml_buf *out, int status, const char *ctype, const char *id_header,
		  unsigned long long id, bool close)
{
	ML_PUT(out, "HTTP/1.1 ");
	ml_buf_u64(out, (uint64_t)status);
	ml_buf_putc(out, ' ');
	ml_buf_puts(out, ml_http_reason(status));
	ML_PUT(out, "\r\ncontent-type: ");
	ml_buf_puts(out, ctype);
	ML_PUT(out, "\r\n");
	if (id_header) {
		ml_buf_puts(out, id_header);
		ML_PUT(out, ": req_mock");
		ml_buf_u64(out, id);
		ML_PUT(out, "\r\n");
	}
	if (close)
		ML_PUT(out, "connection: close\r\n");
}
