/*
 * codec_fast_util.h — the differential runs shared by the tests of the
 * decoders' fast paths (test_codec_openai_fast*.c, test_codec_anthropic_
 * fast.c): the same input decoded with the fast path (the codec's on_event)
 * and without it (its *_on_event_slow), every sink call written down with
 * its bytes and every return code after it, and the two records compared
 * byte for byte. Each comparison runs twice: with a sink that takes
 * everything and with one whose text callback fails.
 */
#ifndef RINGSIDE_TEST_CODEC_FAST_UTIL_H
#define RINGSIDE_TEST_CODEC_FAST_UTIL_H

#include <stddef.h>

#include "sidecar/pcodec.h"

typedef int (*of_event_fn)(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
			   size_t data_len, const struct uev_sink *s);

/* The decoder the runs below compare, its fast and its slow entry. Until
 * called: OpenAI's (oa_on_event, oa_on_event_slow). */
void of_use(const struct pc_codec *c, of_event_fn fast, of_event_fn slow);

/* Events handed to a fresh decoder as they are (no framing), then on_end;
 * and the same again with [DONE] after them. count < 7. what and which
 * name the case in a failure. */
void of_same_events(const char *const *ev, const size_t *n, size_t count, const char *what,
		    size_t which);

/* Named events (name[i] may be NULL) handed to a fresh decoder, then
 * on_end. count < 8. */
void of_same_named(const char *const *name, const char *const *ev, const size_t *n,
		   size_t count, const char *what, size_t which);

/* A whole SSE stream through the framing, then on_end. */
void of_same_stream(const char *sse, size_t len, const char *what, size_t which);

/* Each recorded stream (fixture file names) through of_same_stream. */
void of_same_fixtures(const char *const *files, size_t count);

/* n bytes of text as a JSON string's raw body: 'a's, or n "\\n" escapes
 * when escaped; NUL-terminated into buf, which must hold it. */
void of_long_text(char *buf, size_t cap, size_t n, int escaped);

/* prefix, then n bytes of text ('a's, or n "\\n" escapes when escaped),
 * then suffix: an event whose one string is longer than a fast path's
 * decode buffer. malloc'd. */
char *of_long_event(const char *prefix, size_t n, int escaped, const char *suffix);

/* Does the OpenAI fast path take this chunk (trimmed event data)? */
int of_takes(const char *data, size_t n);

/* A sink that takes everything and keeps nothing. */
void of_quiet_sink(struct uev_sink *s);

/* Raw bytes to put between a string's quotes where a template has a hole:
 * early quotes, smuggled keys, a backslash escaping the closing quote, bad
 * escapes and surrogates, control bytes, invalid UTF-8, \u0000. */
extern const char *const of_hostile[];
extern const size_t of_n_hostile;

/* Does the OpenAI template learnt from learn (if the fast path takes it and
 * it qualifies) match data? */
int of_tpl_takes(const char *learn, size_t ln, const char *data, size_t n);

/* A template test's pair: learn's event, then data's, through both
 * decoders and compared (what, which name the case). */
typedef void (*of_pair_fn)(const char *learn, size_t ln, const char *data, size_t n,
			   const char *what, size_t which);
/* Does the codec's template, learnt from learn, read data? */
typedef int (*of_tpl_fn)(const char *learn, size_t ln, const char *data, size_t n);

/* Each data line of each fixture followed by `mutations` seeded mutations
 * of itself, each pair through same(); returns how many of the mutations
 * takes() says the template read, and the number of pairs in *pairs. */
size_t of_mutated_after_themselves(const char *const *files, size_t count, int mutations,
				   unsigned seed, of_pair_fn same, of_tpl_fn takes, size_t *pairs);

#endif
