/*
 * ndjson.c — NDJSON line splitter (see ndjson.h).
 */
#include "ndjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ndjson_init(struct ndjson *p, size_t max_line)
{
	memset(p, 0, sizeof *p);
	p->max = max_line;
}

void ndjson_free(struct ndjson *p)
{
	free(p->buf);
	memset(p, 0, sizeof *p);
}

static int ndjson_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static int ndjson_emit(struct ndjson *p, const char *s, size_t n, ndjson_line_fn cb, void *arg)
{
	if (n > p->max)
		return -EMSGSIZE;
	if (n && s[n - 1] == '\r')
		n--;
	if (ndjson_blank(s, n))
		return 0;
	p->lines++;
	return cb(arg, s, n);
}

static int ndjson_keep(struct ndjson *p, const char *s, size_t n)
{
	if (p->len + n > p->max)
		return -EMSGSIZE;
	if (p->len + n > p->cap) {
		size_t c = p->cap ? p->cap : 256;
		while (c < p->len + n)
			c *= 2;
		char *b = realloc(p->buf, c);
		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = c;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	return 0;
}

int ndjson_feed(struct ndjson *p, const char *buf, size_t len, ndjson_line_fn cb, void *arg)
{
	/* buf may be NULL for an empty read, and NULL + 0 is undefined. */
	if (!len)
		return 0;
	const char *s = buf, *end = buf + len;
	int rc;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return ndjson_keep(p, s, (size_t)(end - s));
		if (p->len) {
			/* Finish the line begun in an earlier read. */
			if ((rc = ndjson_keep(p, s, (size_t)(nl - s))))
				return rc;
			size_t n = p->len;
			p->len = 0;
			rc = ndjson_emit(p, p->buf, n, cb, arg);
		} else {
			rc = ndjson_emit(p, s, (size_t)(nl - s), cb, arg);
		}
		if (rc)
			return rc;
		s = nl + 1;
	}
	return 0;
}

int ndjson_finish(struct ndjson *p, ndjson_line_fn cb, void *arg)
{
	if (!p->len)
		return 0;
	size_t n = p->len;
	p->len = 0;
	if (ndjson_blank(p->buf, n))
		return 0;
	p->unterminated = 1;
	return ndjson_emit(p, p->buf, n, cb, arg);
}
