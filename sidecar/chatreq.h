/*
 * chatreq.h — parse and validate an OpenAI chat.completions request body.
 *
 * The body comes from an untrusted client: any bytes, any length, not
 * NUL-terminated. chatreq_parse either accepts it and extracts the few facts
 * the sidecar needs before a provider sees the request (streaming, token
 * limit, the prompt for the mock provider, a word count for usage), or
 * rejects it with one line that says which field is wrong and why. The parsed
 * document stays in `root` so provider adapters can translate it later.
 *
 * What is checked is what every provider adapter relies on (the shape of
 * `messages`, the types of the parameters the sidecar itself reads); every
 * other top-level key is passed through untouched, because OpenAI keeps
 * adding parameters and a gateway must not lag behind them.
 *
 * JSON null for an optional parameter ("stream", "max_tokens",
 * "max_completion_tokens", "mock" and its keys) means "absent", as in
 * OpenAI's own schema where those fields are nullable and SDKs send them so.
 */
#ifndef RINGSIDE_SIDECAR_CHATREQ_H
#define RINGSIDE_SIDECAR_CHATREQ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Bounds on the client's numbers. The token limit is far above any model's
 * context yet keeps arithmetic on it in range; the mock knobs are bounded so
 * a test request cannot pin a stream for more than a minute per gap or ask
 * for an unbounded reply. */
#define CHATREQ_MAX_TOKENS_LIMIT 1000000000LL
#define CHATREQ_MOCK_TOKENS_LIMIT 10000000LL
#define CHATREQ_MOCK_TIME_LIMIT_US 60000000LL

struct chatreq {
	json_t *root;              /* owned; the parsed body */
	int stream;                /* "stream"; OpenAI's default is false */
	int64_t max_tokens;        /* "max_completion_tokens", else "max_tokens"; -1 when absent */
	const char *last_user;     /* text of the last user message; never NULL after success */
	size_t last_user_len;
	uint32_t prompt_words;     /* words in the text of all messages, saturating */
	/* Knobs of the offline mock provider, from "mock": {...}; -1 when absent. */
	int64_t mock_tokens, mock_ttft_us, mock_interval_us;
	char *last_user_buf;       /* owned; backs last_user when it joins several text parts */
};

/*
 * The one definition of a word separator (ASCII whitespace: space, \t, \n,
 * \v, \f, \r), shared by prompt_words and the mock provider's reply so the
 * two always agree on what a word is.
 */
static inline int chatreq_is_word_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * Parse body[0..len) into *r. The body must be one JSON object, valid UTF-8,
 * with no duplicate keys and no "\u0000" escapes (a NUL would be silently
 * truncated by every later consumer of a C string). Returns 0, -EINVAL with a
 * one-line message in err for an invalid body, or -ENOMEM. Messages name the
 * field ("messages[2].role: ...") and quote at most a few bytes of client
 * data, with non-printable bytes replaced. err may be NULL; it is always
 * NUL-terminated when errlen > 0. On failure *r owns nothing (chatreq_free on
 * it is a harmless no-op).
 */
int chatreq_parse(struct chatreq *r, const char *body, size_t len, char *err, size_t errlen);

/* Release what *r owns and zero it; safe on a zeroed or already freed r. */
void chatreq_free(struct chatreq *r);

#endif
