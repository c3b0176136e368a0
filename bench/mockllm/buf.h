/*
 * buf.h — mockllm's growable byte buffer and the appenders every response
 * is rendered with.
 *
 * Buffers live in a connection and are reused from request to request, so
 * after warm-up rendering a token is a few memcpys and no allocation. An
 * allocation failure ends the process (ml_die): mockllm is a test tool, and
 * a half-rendered event would be a worse failure than a loud exit.
 */
#ifndef ML_BUF_H
#define ML_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ml_buf {
	char *p;
	size_t len;
	size_t cap;
};

/* Print "mockllm: <msg>" to stderr and exit(2). */
void ml_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Make room for `more` bytes after len (slow path of the inline appenders). */
void ml_buf_grow(struct ml_buf *b, size_t more);
void ml_buf_free(struct ml_buf *b);

static inline void ml_buf_reserve(struct ml_buf *b, size_t more)
{
	if (b->cap - b->len < more)
		ml_buf_grow(b, more);
}

static inline void ml_buf_put(struct ml_buf *b, const void *s, size_t n)
{
	ml_buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void ml_buf_putc(struct ml_buf *b, char ch)
{
	ml_buf_reserve(b, 1);
	b->p[b->len++] = ch;
}

/* Append a string literal without strlen. */
#define ML_PUT(b, lit) ml_buf_put((b), (lit), sizeof(lit) - 1)

static inline void ml_buf_puts(struct ml_buf *b, const char *s)
{
	ml_buf_put(b, s, strlen(s));
}

void ml_buf_u64(struct ml_buf *b, uint64_t v);

/*
 * Append s[0..n) escaped as the inside of a JSON string. depth 2 escapes
 * the result once more: tool-call arguments are JSON text carried inside a
 * JSON string (OpenAI "arguments", Anthropic "partial_json").
 */
void ml_buf_json(struct ml_buf *b, const char *s, size_t n, int depth);

/*
 * HTTP/1.1 chunked framing around what is appended between begin and end:
 * begin reserves room for the size line and returns a mark, end writes the
 * size line and closes the chunk. An empty chunk is removed again, since a
 * zero-size chunk would end the body.
 */
size_t ml_chunk_begin(struct ml_buf *b);
void ml_chunk_end(struct ml_buf *b, size_t mark);

#endif
