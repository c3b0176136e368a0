/*
 * codec_gemini_fast.c — the common Gemini stream event read in one pass,
 * without a jansson tree (see codec_gemini.h: gm_fast_scan).
 *
 * A Gemini stream is a whole GenerateContentResponse per event, and nearly
 * all of them are text parts of candidate 0 with usageMetadata repeated.
 * This file reads exactly what codec_gemini.c's tree path (gm_response)
 * makes of such an event and declines everything else, so the tree path
 * handles it as before:
 *
 *   - anything jansson might refuse (jscan.h accepts a subset of it);
 *   - an "error" member, whatever its value;
 *   - candidates that are not an array, or whose first element is
 *     missing or not an object (the tree then reads promptFeedback);
 *   - content or parts of another type than object and array, a part
 *     that is not an object, a functionCall, a text that is not a string,
 *     a "thought" other than true or false, more than GM_FAST_PARTS texts;
 *   - usageMetadata that is not an object, a token count that is not an
 *     integer (the tree reads it as 0), a finishReason that is not a
 *     string, is escaped or longer than GM_FAST_FINISH_MAX;
 *   - a repeated key the tree path reads: jansson keeps the last one.
 *
 * Everything else (other candidates, index, safetyRatings, role,
 * thoughtSignature, modelVersion, responseId, promptFeedback next to a
 * candidate) is skipped, because the tree path reads none of it here.
 *
 * The last event taken without a finish reason is kept as a template
 * (jtpl.h; the end of this file): the next event is compared with it, and
 * only its part texts and usageMetadata's numbers, the values that change
 * from event to event, are read again, with the same rules as above.
 */
#include "codec_gemini.h"

#include <string.h>

#include "jscan.h"

#define GM_KEY(k, lit) js_str_is((k), (lit), sizeof(lit) - 1)

/* 0 the first time, -1 after: a key the tree reads, seen twice. */
static int gm_once(int *seen)
{
	return (*seen)++ ? -1 : 0;
}

static uint32_t gm_fast_u32(int64_t v)
{
	return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Note a hole for the template: the token [at, end) of kind k. */
static void gm_hole(struct gm_fast *f, const char *at, const char *end, enum jtpl_kind k,
		    unsigned role)
{
	if (f->nholes == JTPL_HOLES) {
		f->holes_full = 1;
		return;
	}
	f->hole[f->nholes] = (struct jtpl_hole){ (size_t)(at - f->base), (size_t)(end - f->base), k };
	f->role[f->nholes++] = (unsigned char)role;
}

/* A token count: an integer, clamped as cu_u32 clamps it. */
static int gm_fast_count(struct js *j, uint32_t *out, struct gm_fast *f, unsigned role)
{
	int64_t v;
	const char *at;

	if (js_peek(j) != JS_NUMBER)
		return -1;
	at = j->p;
	if (js_number(j, &v) != JS_NUM_INT)
		return -1;
	*out = gm_fast_u32(v);
	gm_hole(f, at, j->p, JTPL_NUM, role);
	return 0;
}

static int gm_fast_usage(struct js *j, struct gm_fast *f)
{
	struct js_str k;
	int prompt = 0, cand = 0, r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (GM_KEY(&k, "promptTokenCount")) {
			r = gm_once(&prompt) || gm_fast_count(j, &f->prompt, f, GM_HOLE_PROMPT) ? -1 : 0;
		} else if (GM_KEY(&k, "candidatesTokenCount")) {
			r = gm_once(&cand) || gm_fast_count(j, &f->completion, f, GM_HOLE_COMPLETION)
				    ? -1
				    : 0;
		} else if (js_peek(j) == JS_NUMBER) {
			/* skipped, but a running total may change: a hole */
			const char *at = j->p;
			if (!(r = js_skip(j)))
				gm_hole(f, at, j->p, JTPL_NUM, GM_HOLE_SKIP);
		} else {
			r = js_skip(j);
		}
		if (r)
			return -1;
	}
	f->have_usage = 1;
	return r;
}

/* A part's text, delivered when not empty: from the event itself, or
 * decoded into f->buf. The scan and the template both take texts here, so
 * they take them alike. */
static int gm_fast_take(const struct js_str *text, enum uev_text kind, struct gm_fast *f)
{
	const char *p;
	size_t n;

	if (!text->n)
		return 0;
	if (f->n == GM_FAST_PARTS ||
	    js_text(text, f->buf + f->used, sizeof f->buf - f->used, &p, &n))
		return -1;
	if (text->esc)
		f->used += n;
	f->text[f->n] = p;
	f->len[f->n] = n;
	f->kind[f->n] = kind;
	f->n++;
	return 0;
}

/* One part: its text (delivered when not empty) and thought flag. */
static int gm_fast_part(struct js *j, struct gm_fast *f)
{
	struct js_str k, text;
	int have_text = 0, thought_seen = 0, thought = 0, r;
	unsigned hole = JTPL_HOLES;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (GM_KEY(&k, "text")) {
			if (gm_once(&have_text) || js_peek(j) != JS_STRING || js_string(j, &text))
				return -1;
			hole = f->nholes;
			gm_hole(f, text.p - 1, text.p + text.n + 1, JTPL_STR, GM_HOLE_TEXT);
		} else if (GM_KEY(&k, "thought")) {
			enum js_type t = js_peek(j);
			if (gm_once(&thought_seen) || (t != JS_TRUE && t != JS_FALSE) || js_skip(j))
				return -1;
			thought = t == JS_TRUE;
		} else if (GM_KEY(&k, "functionCall")) {
			return -1;
		} else if (js_skip(j)) {
			return -1;
		}
	}
	if (hole < f->nholes)
		f->hkind[hole] = thought ? UEV_REASONING : UEV_TEXT;
	if (r || !have_text)
		return r ? -1 : 0;
	return gm_fast_take(&text, thought ? UEV_REASONING : UEV_TEXT, f);
}

static int gm_fast_content(struct js *j, struct gm_fast *f)
{
	struct js_str k;
	int parts = 0, r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (GM_KEY(&k, "parts")) {
			if (gm_once(&parts) || js_array(j))
				return -1;
			while ((r = js_element(j)) == 1)
				if (gm_fast_part(j, f))
					return -1;
		} else {
			r = js_skip(j);
		}
		if (r)
			return -1;
	}
	return r;
}

/* Candidate 0: its content and finishReason. */
static int gm_fast_candidate(struct js *j, struct gm_fast *f)
{
	struct js_str k, fr;
	int content = 0, finish = 0, r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (GM_KEY(&k, "content")) {
			r = gm_once(&content) || gm_fast_content(j, f) ? -1 : 0;
		} else if (GM_KEY(&k, "finishReason")) {
			if (gm_once(&finish) || js_peek(j) != JS_STRING || js_string(j, &fr) || fr.esc ||
			    fr.n > GM_FAST_FINISH_MAX)
				return -1;
			memcpy(f->finish, fr.p, fr.n);
			f->finish[fr.n] = 0;
			f->have_finish = 1;
			r = 0;
		} else {
			r = js_skip(j);
		}
		if (r)
			return -1;
	}
	return r;
}

static int gm_fast_candidates(struct js *j, struct gm_fast *f)
{
	int r;

	if (js_array(j) || js_element(j) != 1 || gm_fast_candidate(j, f))
		return -1;
	while ((r = js_element(j)) == 1)
		if (js_skip(j))
			return -1;
	return r;
}

int gm_fast_scan(const char *data, size_t n, struct gm_fast *f)
{
	struct js j;
	struct js_str k;
	int cands = 0, usage = 0, r;

	f->n = 0;
	f->used = 0;
	f->have_usage = f->have_finish = 0;
	f->prompt = f->completion = 0;
	f->base = data;
	f->nholes = 0;
	f->holes_full = 0;
	js_init(&j, data, n);
	if (js_object(&j))
		return 0;
	while ((r = js_member(&j, &k)) == 1) {
		if (GM_KEY(&k, "candidates"))
			r = gm_once(&cands) || gm_fast_candidates(&j, f) ? -1 : 0;
		else if (GM_KEY(&k, "usageMetadata"))
			r = gm_once(&usage) || gm_fast_usage(&j, f) ? -1 : 0;
		else if (GM_KEY(&k, "error"))
			return 0;
		else
			r = js_skip(&j);
		if (r)
			return 0;
	}
	return !r && !js_end(&j) && cands;
}

/* ---- the next event against the last one ------------------------------------------------ */

int gm_tpl_match(const struct gm_tpl *t, const char *data, size_t n, struct gm_fast *f)
{
	struct jtpl_val v[JTPL_HOLES];

	if (!jtpl_match(&t->t, data, n, v))
		return 0;
	f->n = 0;
	f->used = 0;
	f->have_usage = t->have_usage;
	f->have_finish = 0;
	f->prompt = f->completion = 0;
	for (unsigned i = 0; i < t->t.n; i++) {
		switch (t->role[i]) {
		case GM_HOLE_TEXT:
			if (gm_fast_take(&v[i].s, t->kind[i], f))
				return 0;
			break;
		case GM_HOLE_PROMPT:
		case GM_HOLE_COMPLETION:
			if (v[i].num != JS_NUM_INT)
				return 0;
			*(t->role[i] == GM_HOLE_PROMPT ? &f->prompt : &f->completion) = gm_fast_u32(v[i].iv);
			break;
		default:
			break;
		}
	}
	return 1;
}

void gm_tpl_learn(struct gm_tpl *t, const char *data, size_t n, const struct gm_fast *f)
{
	if (f->have_finish || f->holes_full || jtpl_learn(&t->t, data, n, f->hole, f->nholes))
		return;
	t->have_usage = f->have_usage;
	memcpy(t->role, f->role, f->nholes);
	for (unsigned i = 0; i < f->nholes; i++)
		t->kind[i] = f->hkind[i];
}
