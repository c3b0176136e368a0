/*
 * codec_gemini.h — private to the Gemini codec. Nothing else includes it;
 * the public face is pc_gemini in pcodec.h.
 *
 *   codec_gemini.c      decoding of streams, bodies and error replies, and
 *                       the codec table
 *   codec_gemini_fast.c the common stream event (text parts of candidate
 *                       0, usage, a finish reason) read without a tree,
 *                       or against the last one (a template)
 *   codec_gemini_req.c  the request
 */
#ifndef RINGSIDE_CODEC_GEMINI_H
#define RINGSIDE_CODEC_GEMINI_H

#include <stddef.h>
#include <stdint.h>

#include "jtpl.h"
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
	/* The values a template may vary, where gm_fast_scan found them
	 * (jtpl.h), in order: each part's text (empty or not) and its kind,
	 * the two counts it read, and the other numbers of usageMetadata. */
	const char *base;                    /* the event those offsets are into */
	unsigned nholes;
	int holes_full;                      /* more than JTPL_HOLES: no template */
	struct jtpl_hole hole[JTPL_HOLES];
	unsigned char role[JTPL_HOLES];      /* GM_HOLE_* */
	enum uev_text hkind[JTPL_HOLES];     /* of a text hole */
	char buf[GM_FAST_TEXT_MAX];          /* last: gm_dec_init leaves it uninitialised */
};

/* What a template's hole is to the decoder. */
enum { GM_HOLE_TEXT, GM_HOLE_PROMPT, GM_HOLE_COMPLETION, GM_HOLE_SKIP };

/*
 * The last event gm_fast_scan took that had no finish reason, as a template
 * (jtpl.h): its texts and usage counts are holes, everything else (the
 * structure, the thought flags, ids, the model) its fixed bytes. The
 * counts' presence and every decision gm_fast_scan takes on them (an
 * integer, clamped) are redone on a match.
 */
struct gm_tpl {
	int have_usage;
	unsigned char role[JTPL_HOLES];
	enum uev_text kind[JTPL_HOLES];
	struct jtpl t;                       /* last: its bytes stay uninitialised */
};

/*
 * Read a streamed GenerateContentResponse (its data) whose candidate 0
 * carries only text parts, in one pass. 1: taken, *f says what the tree
 * path would do with it (usage, then the texts, then the finish). 0:
 * declined, for any other shape or anything jansson might read
 * differently; nothing was reported and the event goes to jansson.
 */
int gm_fast_scan(const char *data, size_t n, struct gm_fast *f);

/* The same event read against t: 1 and *f as gm_fast_scan would fill it
 * (its hole records aside), or 0 (no template, no match, or anything
 * gm_fast_scan would decline). */
int gm_tpl_match(const struct gm_tpl *t, const char *data, size_t n, struct gm_fast *f);

/* After gm_fast_scan took data (1) and filled f: keep it as t if it had no
 * finish reason and fits; otherwise t stays as it was. */
void gm_tpl_learn(struct gm_tpl *t, const char *data, size_t n, const struct gm_fast *f);

/* Events of this decoder's stream that the template matched (tests). */
unsigned long gm_dec_tpl_hits(const struct pc_dec *d);

/* pc_gemini.on_event without the fast path, for the differential tests. */
int gm_on_event_slow(struct pc_dec *d, const char *ev, size_t ev_len, const char *data,
		     size_t data_len, const struct uev_sink *s);

#endif
