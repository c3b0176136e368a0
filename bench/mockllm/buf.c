/*
 * buf.c — growable buffers, number and JSON-string appenders, chunk framing.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Chunk size line room: up to 8 hex digits (a 4 GiB chunk) plus CRLF. */
#define ML_CHUNK_HDR 10

void ml_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("mockllm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

void ml_buf_grow(struct ml_buf *b, size_t more)
{
	size_t want = b->len + more;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		ml_die("out of memory growing a buffer to %zu bytes", cap);
	b->p = p;
	b->cap = cap;
}

void ml_buf_free(struct ml_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void ml_buf_u64(struct ml_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ml_buf_put(b, tmp + i, sizeof tmp - i);
}

/* One byte as JSON string content; returns the length written to e. */
static size_t json_escape_byte(unsigned char ch, char e[6])
{
	static const char hex[] = "0123456789abcdef";
	switch (ch) {
	case '"': e[0] = '\\'; e[1] = '"'; return 2;
	case '\\': e[0] = '\\'; e[1] = '\\'; return 2;
	case '\n': e[0] = '\\'; e[1] = 'n'; return 2;
	case '\r': e[0] = '\\'; e[1] = 'r'; return 2;
	case '\t': e[0] = '\\'; e[1] = 't'; return 2;
	default:
		break;
	}
	if (ch < 0x20) {
		memcpy(e, "\\u00", 4);
		e[4] = hex[ch >> 4];
		e[5] = hex[ch & 15];
		return 6;
	}
	e[0] = (char)ch;
	return 1;
}

void ml_buf_json(struct ml_buf *b, const char *s, size_t n, int depth)
{
	/* Worst case per input byte: \u00XX escaped again is 7 bytes. */
	ml_buf_reserve(b, n * 7);
	char *o = b->p + b->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\') {
			*o++ = (char)ch;
			continue;
		}
		char e[6];
		size_t k = json_escape_byte(ch, e);
		for (size_t j = 0; j < k; j++) {
			/* The first escape only produces printable ASCII, so the
			 * second level only has quotes and backslashes to escape. */
			if (depth > 1 && (e[j] == '\\' || e[j] == '"'))
				*o++ = '\\';
			*o++ = e[j];
		}
	}
	b->len = (size_t)(o - b->p);
}

size_t ml_chunk_begin(struct ml_buf *b)
{
	size_t mark = b->len;
	ml_buf_reserve(b, ML_CHUNK_HDR);
	b->len += ML_CHUNK_HDR;
	return mark;
}

void ml_chunk_end(struct ml_buf *b, size_t mark)
{
	static const char hex[] = "0123456789abcdef";
	size_t body = b->len - mark - ML_CHUNK_HDR;
	if (body == 0) {
		b->len = mark;
		return;
	}
	char line[ML_CHUNK_HDR];
	size_t k = 0;
	for (int shift = 28; shift >= 0; shift -= 4) {
		unsigned d = (unsigned)(body >> shift) & 15;
		if (d || k)
			line[k++] = hex[d];
	}
	line[k++] = '\r';
	line[k++] = '\n';
	/* The reserved header room was sized for the largest size line; move
	 * the body down so the chunk carries no padding. */
	if (k < ML_CHUNK_HDR)
		memmove(b->p + mark + k, b->p + mark + ML_CHUNK_HDR, body);
	memcpy(b->p + mark, line, k);
	b->len = mark + k + body;
	ML_PUT(b, "\r\n");
}
