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

/* A token count: an integer, clamped as cu_u32 clamps it. */
static int gm_fast_count(struct js *j, uint32_t *out)
{
	int64_t v;

	if (js_peek(j) != JS_NUMBER || js_number(j, &v) != JS_NUM_INT)
		return -1;
	*out = gm_fast_u32(v);
	return 0;
}

static int gm_fast_usage(struct js *j, struct gm_fast *f)
{
	struct js_str k;
	int prompt = 0, cand = 0, r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (GM_KEY(&k, "promptTokenCount"))
			r = gm_once(&prompt) || gm_fast_count(j, &f->prompt) ? -1 : 0;
		else if (GM_KEY(&k, "candidatesTokenCount"))
			r = gm_once(&cand) || gm_fast_count(j, &f->completion) ? -1 : 0;
		else
			r = js_skip(j);
		if (r)
			return -1;
	}
	f->have_usage = 1;
	return r;
}

/* One part: its text (delivered when not empty) and thought flag. */
static int gm_fast_part(struct js *j, struct gm_fast *f)
{
	struct js_str k, text;
	int have_text = 0, thought_seen = 0, thought = 0, r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (GM_KEY(&k, "text")) {
			if (gm_once(&have_text) || js_peek(j) != JS_STRING || js_string(j, &text))
				return -1;
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
	if (r || !have_text || !text.n)
		return r ? -1 : 0;
	if (f->n == GM_FAST_PARTS)
		return -1;
	const char *p;
	size_t n;
	if (js_text(&text, f->buf + f->used, sizeof f->buf - f->used, &p, &n))
		return -1;
	if (text.esc)
		f->used += n;
	f->text[f->n] = p;
	f->len[f->n] = n;
	f->kind[f->n] = thought ? UEV_REASONING : UEV_TEXT;
	f->n++;
	return 0;
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
