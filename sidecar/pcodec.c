/*
 * pcodec.c — what every provider codec shares (see pcodec.h): the request
 * holder, status classification, redaction, and the exactly-once end.
 */
#include "pcodec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringside.h"

void pc_http_free(struct pc_http *h)
{
	free(h->url);
	for (unsigned i = 0; i < h->n_headers; i++)
		free(h->headers[i]);
	free(h->body);
	memset(h, 0, sizeof *h);
}

int pc_http_header(struct pc_http *h, const char *fmt, ...)
{
	if (h->n_headers >= PC_MAX_HEADERS)
		return -E2BIG;
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	h->headers[h->n_headers++] = line;
	return 0;
}

int pc_status_retryable(int status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

int pc_status_code(int status)
{
	switch (status) {
	case 429:
		return RS_ERR_RATE_LIMITED;
	case 408:
	case 504:
		return RS_ERR_TIMEOUT;
	case 503:
	case 529:
		return RS_ERR_UNAVAILABLE;
	default:
		return RS_ERR_UPSTREAM;
	}
}

/* Looks like a credential: a known key prefix, or a long unbroken run of
 * key alphabet (hex, base64, dashes) that no human sentence contains. */
static int pc_secretish(const char *w, size_t n)
{
	static const char *const prefixes[] = { "sk-", "sk_", "AIza", "xai-", "gsk_", "pk-", "rk-" };
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t pl = strlen(prefixes[i]);
		if (n > pl + 4 && !memcmp(w, prefixes[i], pl))
			return 1;
	}
	if (n < 32)
		return 0;
	int digits = 0;
	for (size_t i = 0; i < n; i++)
		digits += w[i] >= '0' && w[i] <= '9';
	return digits >= 4;
}

static int pc_wordch(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '+' || c == '/' || c == '=' || c == '*' || c >= 0x80;
}

size_t pc_redact(char *out, size_t cap, const char *msg, size_t len)
{
	static const char red[] = "[redacted]";
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len && o + 1 < cap;) {
		unsigned char c = (unsigned char)msg[i];
		if (!pc_wordch(c)) {
			out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && pc_wordch((unsigned char)msg[j]))
			j++;
		const char *w = msg + i;
		size_t n = j - i;
		if (pc_secretish(w, n)) {
			w = red;
			n = sizeof red - 1;
		}
		if (n > cap - 1 - o)
			n = cap - 1 - o;
		memcpy(out + o, w, n);
		o += n;
		i = j;
	}
	out[o] = 0;
	return o;
}

int pc_fail(struct pc_dec *d, const struct uev_sink *s, int code, int http_status,
	    int retryable, const char *msg, size_t len)
{
	if (d->done)
		return 0;
	d->done = 1;
	char buf[256];
	size_t n = pc_redact(buf, sizeof buf, msg, len);
	return s->error(s->arg, code, http_status, retryable, buf, n);
}

int pc_finish(struct pc_dec *d, const struct uev_sink *s, const char *reason, const char *raw)
{
	if (d->done)
		return 0;
	d->done = 1;
	return s->finish(s->arg, reason, raw ? raw : "");
}
