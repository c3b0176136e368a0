/*
 * codec_gemini.h — private to the Gemini codec. Nothing else includes it;
 * the public face is pc_gemini in pcodec.h.
 *
 *   codec_gemini.c      decoding of streams, bodies and error replies, and
 *                       the codec table
 *   codec_gemini_fast.c the common stream event (text parts of candidate
 *                       0, usage, a finish reason) read without a tree
 *   codec_gemini_req.c  the request
 */
#ifndef RINGSIDE_CODEC_GEMINI_H
#define RINGSIDE_CODEC_GEMINI_H

#include <stddef.h>
#include <stdint.h>

#include "pcodec.h"

/* Text parts one fast event may carry; more go to jansson. */
#define GM_FAST_PARTS 8
/* Escaped part text decoded into the decoder's own buffer, all parts of
 * one event together; more goes to jansson. Unescaped text is delivered
 * from the event itself, whatever its size. */
#define GM_FAST_TEXT_MAX 4096
/* Longest finishReason the fast path passes on; longer goes to jansson. */
#define GM_FAST_FINISH_MAX 63

struct gm_fast {
	size_t n;                            /* non-empty text parts, in order */
	const char *text[GM_FAST_PARTS];
	size_t len[GM_FAST_PARTS];
	enum uev_text kind[GM_FAST_PARTS];   /* UEV_REASONING for "thought": true */
	int have_usage;                      /* usageMetadata was an object */
	uint32_t prompt, completion;
	int have_finish;                     /* candidate 0 had a finishReason */
	char finish[GM_FAST_FINISH_MAX + 1];
	size_t used;                         /* bytes of buf in use */
	char buf[GM_FAST_TEXT_MAX];          /* last: gm_dec_init leaves it uninitialised */
};

/*
 * Read a streamed GenerateContentResponse (its data) whose candidate 0
 * carries only text parts, in one pass. 1: taken, *f says what the tree
 * path would do with it (usage, then the texts, then the finish). 0:
 * declined, for any other shape or anything jansson might read
 * differently; nothing was reported and the event goes to jansson.
 */
int gm_fast_scan(const char *data, size_t n, struct gm_fast *f);

/* pc_gemini.on_event without the fast path, for the differential tests. */
int gm_on_event_slow(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		     size_t data_len, const struct uev_sink *s);

#endif
