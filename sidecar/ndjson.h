/*
 * ndjson.h — incremental splitter for newline-delimited JSON (Ollama).
 *
 * Bytes in, split anywhere; one callback per non-blank line (a CR before
 * the LF is dropped). A last line without LF is delivered by
 * ndjson_finish. Lines longer than max are an error, never an unbounded
 * buffer. The JSON itself is the codec's business.
 */
#ifndef RINGSIDE_NDJSON_H
#define RINGSIDE_NDJSON_H

#include <stddef.h>

typedef int (*ndjson_line_fn)(void *arg, const char *line, size_t len);

struct ndjson {
	char *buf;
	size_t len, cap, max;
	size_t lines;
	unsigned char unterminated; /* ndjson_finish delivered a line without LF */
};

void ndjson_init(struct ndjson *p, size_t max_line);
void ndjson_free(struct ndjson *p);

/* 0, -EMSGSIZE (line over max), -ENOMEM, or the callback's negative value. */
int ndjson_feed(struct ndjson *p, const char *buf, size_t len, ndjson_line_fn cb, void *arg);
int ndjson_finish(struct ndjson *p, ndjson_line_fn cb, void *arg);

#endif
