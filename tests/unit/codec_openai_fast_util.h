/*
 * codec_openai_fast_util.h — the differential runs shared by the tests of
 * the OpenAI decoder's fast path (test_codec_openai_fast*.c): the same
 * input decoded with the fast path (oa_on_event) and without it
 * (oa_on_event_slow), every sink call written down with its bytes and
 * every return code after it, and the two records compared byte for byte.
 * Each comparison runs twice: with a sink that takes everything and with
 * one whose text callback fails.
 */
#ifndef RINGSIDE_TEST_CODEC_OPENAI_FAST_UTIL_H
#define RINGSIDE_TEST_CODEC_OPENAI_FAST_UTIL_H

#include <stddef.h>

/* Events handed to a fresh decoder as they are (no framing), then on_end;
 * and the same again with [DONE] after them. count < 7. what and which
 * name the case in a failure. */
void of_same_events(const char *const *ev, const size_t *n, size_t count, const char *what,
		    size_t which);

/* A whole SSE stream through the framing, then on_end. */
void of_same_stream(const char *sse, size_t len, const char *what, size_t which);

/* Does the fast path take this chunk (trimmed event data)? */
int of_takes(const char *data, size_t n);

#endif
