/*
 * jload.h — a jansson tree from JSON text, lexed by jscan instead of
 * jansson's own lexer: the same tree json_loadb builds, for the documents
 * jscan accepts, in about a third of the instructions.
 *
 * Every request a client submits is parsed into a tree (chatreq.c), and so
 * is every Anthropic and Gemini event; json_loadb spent ~15k instructions
 * on a 70-byte body (callgrind) and more than half of the sidecar's on
 * those streams, most of it in its lexer, which reads one byte at a time
 * through a callback. Every codec parses through jload_b. jload walks the text with jscan (jscan.h, eight bytes at a
 * time) and builds the tree with jansson's own constructors, so the result
 * is an ordinary json_t: same values, same key order (the first place of
 * a key, its last value, as json_loadb), same integer/real distinction.
 *
 * It is a fast path, not a parser of its own: it declines (returns NULL)
 * whatever it is not sure to build exactly as json_loadb would, and the
 * caller then calls json_loadb, which also writes the error message for a
 * text that is bad. It declines:
 *   - anything jscan refuses (jscan.h: a strict subset of what jansson
 *     accepts, nesting up to JS_MAX_DEPTH);
 *   - a duplicate key under JSON_REJECT_DUPLICATES, a \u0000 in a string
 *     without JSON_ALLOW_NUL, a value other than an object or array at the
 *     top without JSON_DECODE_ANY;
 *   - any flag besides those three;
 *   - a real written with more than JL_REAL_MAX characters, or any real
 *     when the locale's decimal point is not '.';
 *   - and fails (NULL too) when memory runs out, which json_loadb then
 *     reports in its own way.
 * tests/unit/test_jload.c holds it to json_loadb.
 */
#ifndef RINGSIDE_JLOAD_H
#define RINGSIDE_JLOAD_H

#include <stddef.h>

#include <jansson.h>

/* Longest real (as written) converted here; longer ones are declined. */
#define JL_REAL_MAX 64

/* The tree of s[0..n), or NULL: declined (see above). flags as
 * json_loadb's, limited to JSON_REJECT_DUPLICATES, JSON_ALLOW_NUL and
 * JSON_DECODE_ANY. */
json_t *jload(const char *s, size_t n, size_t flags);

/* What json_loadb(s, n, flags, err) returns, by jload when it can: the
 * drop-in for the codecs. err (if not NULL) is written only on failure,
 * by json_loadb. s may be NULL when n is 0, which json_loadb alone would
 * refuse as an invalid argument rather than as empty text. */
json_t *jload_b(const char *s, size_t n, size_t flags, json_error_t *err);

#endif
