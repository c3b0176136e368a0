/*
 * mock_script.h — the deterministic reply of the offline `mock` provider.
 *
 * The mock echoes the words of the last user message, so a test can predict
 * every byte of a stream from its request alone:
 *
 *   words  the last user message split on ASCII whitespace; "(empty)" if none
 *   W      mock.tokens when given (0 allowed: empty reply), else the word count
 *   K      min(W, max_tokens) when max_tokens is given, else W
 *   token  i (0 <= i < K) is words[i % nwords], with one leading space if i > 0
 *   finish "length" when K < W, else "stop"
 *   usage  prompt = the request's prompt_words, completion = K
 *
 * This file only produces bytes; the caller owns timing (mock.ttft_us,
 * mock.interval_us) and framing. Everything is allocated by mock_script_init,
 * so producing a token never allocates.
 */
#ifndef RINGSIDE_SIDECAR_MOCK_SCRIPT_H
#define RINGSIDE_SIDECAR_MOCK_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "chatreq.h"

struct mock_word {
	size_t off, len; /* into mock_script.text */
};

/* Private: use the functions below. */
struct mock_script {
	/* The words joined by single spaces after one leading space, so that
	 * every token, with its leading space or without, is one contiguous
	 * slice: text + off - (i > 0) up to text + off + len. */
	char *text;
	struct mock_word *words;
	size_t nwords;
	uint64_t want;       /* W */
	uint64_t k;          /* K: tokens this reply emits */
	uint64_t i;          /* tokens fully emitted */
	size_t piece;        /* bytes of token i already emitted */
	uint32_t prompt_words;
};

/* Build the script for r. Copies what it needs, so r may be freed afterwards.
 * Returns 0 or -ENOMEM (then *m owns nothing). */
int mock_script_init(struct mock_script *m, const struct chatreq *r);

/*
 * Write the next piece of the reply into buf, at most cap bytes, and return
 * its length; 0 once the reply is complete (or when cap is 0). A token that
 * does not fit is split across calls; only its first piece carries the
 * leading space and only its last completes it. A split prefers to end on a
 * UTF-8 character boundary so each piece is valid text on its own; only a cap
 * smaller than one character cuts inside it.
 */
size_t mock_script_next(struct mock_script *m, char *buf, size_t cap);

/* 1 when every token has been emitted. */
int mock_script_done(const struct mock_script *m);

/* Tokens fully emitted so far: the caller paces on its changes, so the
 * pieces of one split token go out back to back. */
uint32_t mock_script_tokens_emitted(const struct mock_script *m);

/* "stop" or "length"; fixed at init. */
const char *mock_script_finish_reason(const struct mock_script *m);

/* Usage: K completion tokens and the request's prompt word count. */
uint32_t mock_script_completion_tokens(const struct mock_script *m);
uint32_t mock_script_prompt_tokens(const struct mock_script *m);

/* Release what *m owns and zero it; safe on a zeroed or freed script. */
void mock_script_free(struct mock_script *m);

#endif
