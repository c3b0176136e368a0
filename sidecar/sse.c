/*
 * sse.c — incremental SSE parser (see sse.h).
 */
#include "sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* SSE_COMMENT: inside a comment line begun in an earlier read, whose
 * bytes are dropped up to its terminator instead of being buffered. */
enum { SSE_START = 0, SSE_BOM1, SSE_BOM2, SSE_BODY, SSE_AFTER_CR, SSE_COMMENT };

void sse_init(struct sse *p, size_t max_event, int stray_mode)
{
	memset(p, 0, sizeof *p);
	p->max = max_event;
	p->stray_mode = (unsigned char)!!stray_mode;
}

void sse_free(struct sse *p)
{
	free(p->line);
	free(p->data);
	free(p->stray);
	memset(p, 0, sizeof *p);
}

/* Grow *buf to hold need bytes (+1 for a NUL some callers like), bounded. */
static int sse_reserve(char **buf, size_t *cap, size_t need, size_t max)
{
	if (need > max)
		return -EMSGSIZE;
	if (need + 1 <= *cap)
		return 0;
	size_t c = *cap ? *cap : 256;
	while (c < need + 1)
		c *= 2;
	char *n = realloc(*buf, c);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = c;
	return 0;
}

static int sse_append(char **buf, size_t *len, size_t *cap, size_t max, const char *p, size_t n)
{
	int rc = sse_reserve(buf, cap, *len + n, max);
	if (rc)
		return rc;
	if (n)
		memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

static int sse_flush_stray(struct sse *p, sse_event_fn cb, void *arg)
{
	if (!p->stray_len)
		return 0;
	size_t n = p->stray_len;
	p->stray_len = 0;
	p->events++;
	return cb(arg, "", 0, p->stray, n);
}

static int sse_dispatch(struct sse *p, sse_event_fn cb, void *arg)
{
	int rc = sse_flush_stray(p, cb, arg);
	if (rc)
		return rc;
	if (!p->have_data) {
		/* WHATWG: no data line, no event (the name is dropped too). */
		p->ev_len = 0;
		return 0;
	}
	size_t n = p->data_len;
	if (n && p->data[n - 1] == '\n')
		n--;
	p->have_data = 0;
	p->data_len = 0;
	size_t evl = p->ev_len;
	p->ev_len = 0;
	p->events++;
	return cb(arg, p->ev, evl, p->data ? p->data : "", n);
}

/* Value of a field line l[0..n) that has a colon after fl bytes: exactly
 * one leading space stripped. */
static size_t sse_value(const char *l, size_t n, size_t fl, const char **v)
{
	size_t off = fl + 1 + (n > fl + 1 && l[fl + 1] == ' ');
	*v = l + off;
	return n - off;
}

/*
 * The bounds that a data or event line crosses inside its value, checked
 * on the part of a line that has arrived so far: the read that holds the
 * crossing byte fails, however the stream was split, as sse_line fails
 * for the same line arriving whole. The joined data counts the LF that
 * joins this line to the ones before (data_len holds it already).
 */
static int sse_partial_check(const struct sse *p, const char *l, size_t n)
{
	const char *v;
	if (n >= 5 && !memcmp(l, "data:", 5)) {
		if (p->data_len + sse_value(l, n, 4, &v) > p->max)
			return -EMSGSIZE;
	} else if (n >= 6 && !memcmp(l, "event:", 6)) {
		if (sse_value(l, n, 5, &v) >= sizeof p->ev)
			return -EMSGSIZE;
	}
	return 0;
}

/* One complete line (terminator removed). Every bound is checked before
 * anything is dispatched, as it would have been had the line arrived in
 * pieces (a line complete in one read was never buffered, so its length
 * is checked here too). */
static int sse_line(struct sse *p, const char *l, size_t n, sse_event_fn cb, void *arg)
{
	if (n == 0)
		return sse_dispatch(p, cb, arg);
	if (l[0] == ':')
		return 0;
	if (n > p->max)
		return -EMSGSIZE;
	const char *colon = memchr(l, ':', n);
	size_t fl = colon ? (size_t)(colon - l) : n;
	const char *v = l + n;
	size_t vl = colon ? sse_value(l, n, fl, &v) : 0;
	int rc;
	if (fl == 4 && !memcmp(l, "data", 4)) {
		if (p->data_len + vl > p->max)
			return -EMSGSIZE;
		if ((rc = sse_flush_stray(p, cb, arg)))
			return rc;
		if ((rc = sse_append(&p->data, &p->data_len, &p->data_cap, p->max, v, vl)) ||
		    (rc = sse_append(&p->data, &p->data_len, &p->data_cap, p->max + 1, "\n", 1)))
			return rc;
		p->have_data = 1;
		return 0;
	}
	if (fl == 5 && !memcmp(l, "event", 5)) {
		if (vl >= sizeof p->ev)
			return -EMSGSIZE;
		if ((rc = sse_flush_stray(p, cb, arg)))
			return rc;
		memcpy(p->ev, v, vl);
		p->ev_len = vl;
		return 0;
	}
	/* id and retry mean nothing to a gateway, but they are fields: they
	 * end a run of strays like data and event do. */
	if ((fl == 2 && !memcmp(l, "id", 2)) || (fl == 5 && !memcmp(l, "retry", 5)))
		return sse_flush_stray(p, cb, arg);
	if (!p->stray_mode)
		return 0; /* unknown field: ignored, as the standard says */
	if (p->stray_len && (rc = sse_append(&p->stray, &p->stray_len, &p->stray_cap, p->max, "\n", 1)))
		return rc;
	return sse_append(&p->stray, &p->stray_len, &p->stray_cap, p->max, l, n);
}

/* The line so far plus [s, e) is complete. Avoids a copy when the whole
 * line arrived in this read. */
static int sse_end_line(struct sse *p, const char *s, const char *e, sse_event_fn cb, void *arg)
{
	int rc;
	if (!p->line_len)
		return sse_line(p, s, (size_t)(e - s), cb, arg);
	if ((rc = sse_append(&p->line, &p->line_len, &p->line_cap, p->max, s, (size_t)(e - s))))
		return rc;
	size_t n = p->line_len;
	p->line_len = 0;
	return sse_line(p, p->line, n, cb, arg);
}

/* The first CR or LF in [s, end), or end. Two memchr passes instead of one
 * loop over the bytes: a line is a whole JSON chunk, hundreds of bytes, and
 * a byte loop was the sidecar's single most expensive function per event
 * (callgrind); a CR is rare, and only the line before the LF is searched
 * for one. */
static const char *sse_eol(const char *s, const char *end)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		nl = end;
	const char *cr = memchr(s, '\r', (size_t)(nl - s));
	return cr ? cr : nl;
}

int sse_feed(struct sse *p, const char *buf, size_t len, sse_event_fn cb, void *arg)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
	/* An empty read changes nothing, and buf may then be NULL, which
	 * buf + len must not touch (undefined even for len 0). */
	if (!len)
		return 0;
	const char *s = buf, *end = buf + len;
	int rc;
	/* BOM: only at the very start; a partial BOM that turns out not to be
	 * one is given back to the line. */
	while (p->state < SSE_BODY && s < end) {
		if ((unsigned char)*s == bom[p->state]) {
			p->state++;
			s++;
			if (p->state == SSE_BODY)
				break;
			continue;
		}
		if ((rc = sse_append(&p->line, &p->line_len, &p->line_cap, p->max,
				     (const char *)bom, p->state)))
			return rc;
		p->state = SSE_BODY;
	}
	if (p->state == SSE_AFTER_CR && s < end) {
		if (*s == '\n')
			s++;
		p->state = SSE_BODY;
	}
	if (p->state == SSE_COMMENT) {
		/* The rest of a comment begun in an earlier read, and its
		 * terminator (a CR may again wait for its LF). */
		while (s < end && *s != '\n' && *s != '\r')
			s++;
		if (s == end)
			return 0;
		p->state = SSE_BODY;
		if (*s++ == '\r') {
			if (s == end) {
				p->state = SSE_AFTER_CR;
				return 0;
			}
			if (*s == '\n')
				s++;
		}
	}
	const char *start = s;
	while (s < end) {
		char c = *s;
		if (c != '\n' && c != '\r') {
			s = sse_eol(s + 1, end);
			continue;
		}
		if ((rc = sse_end_line(p, start, s, cb, arg)))
			return rc;
		s++;
		if (c == '\r') {
			if (s == end) {
				p->state = SSE_AFTER_CR;
				return 0;
			}
			if (*s == '\n')
				s++;
		}
		start = s;
	}
	if (start == end)
		return 0;
	/* A comment is never buffered, so a keep-alive of any length passes in
	 * any split, as it does when it arrives whole. */
	if (!p->line_len && *start == ':') {
		p->state = SSE_COMMENT;
		return 0;
	}
	if ((rc = sse_append(&p->line, &p->line_len, &p->line_cap, p->max, start,
			     (size_t)(end - start))))
		return rc;
	return sse_partial_check(p, p->line, p->line_len);
}

int sse_finish(struct sse *p, sse_event_fn cb, void *arg)
{
	static const char bom[3] = { (char)0xEF, (char)0xBB, (char)0xBF };
	int rc;
	if (p->state > SSE_START && p->state < SSE_BODY &&
	    (rc = sse_append(&p->line, &p->line_len, &p->line_cap, p->max, bom, p->state)))
		return rc;
	p->state = SSE_BODY;
	if (p->line_len) {
		size_t n = p->line_len;
		p->line_len = 0;
		if ((rc = sse_line(p, p->line, n, cb, arg)))
			return rc;
	}
	if (p->have_data)
		p->unterminated = 1;
	if ((rc = sse_dispatch(p, cb, arg)))
		return rc;
	return 0;
}
