/*
 * codec_openai_fast.c — the common chat.completion.chunk read in one pass,
 * without a jansson tree (see codec_openai.h: oa_fast_scan).
 *
 * Nearly every event of an OpenAI-shaped stream is one token of choice 0's
 * content, and building a tree of the whole chunk to read that one string
 * was a third of the sidecar's CPU per request. This file reads exactly the
 * shape codec_openai_dec.c would make of such a chunk, and declines
 * everything else so the tree path handles it as before. Its rule is to
 * decline whenever the tree path could do anything but deliver the content
 * and note the finish reason:
 *
 *   - anything jansson might refuse (jscan.h accepts a subset of it);
 *   - anything that is or might be an error (oa_is_error: an "error"
 *     member, or "object" saying "error");
 *   - more than one choice, a choice other than choice 0;
 *   - usage counts that are not integers (the tree path reads those as
 *     absent), or given twice; its other members (total_tokens, details)
 *     are skipped, because the tree path reads no other;
 *   - any delta member that the tree path reads other than content, and
 *     any it does not know (reasoning, tool calls, refusals, arrays...);
 *     members of the choice other than index, delta and finish_reason are
 *     skipped, because the tree path reads no other;
 *   - a repeated key that the tree path reads: jansson keeps the last one.
 *
 * Keys are compared decoded ("\u0063ontent" is content), as jansson's
 * lookups see them. Nothing here reports or changes decoder state: the
 * caller delivers what *f holds only once the whole chunk has passed.
 */
#include "codec_openai.h"

#include <stdint.h>
#include <string.h>

#include "jscan.h"

/* A key of the document, decoded, equal to a literal. */
#define OA_KEY(k, lit) js_str_is((k), (lit), sizeof(lit) - 1)

/* Keys the tree path reads, each allowed once per object. */
enum {
	OA_SEEN_CHOICES = 1u << 0,
	OA_SEEN_USAGE = 1u << 1,
	OA_SEEN_INDEX = 1u << 2,
	OA_SEEN_DELTA = 1u << 3,
	OA_SEEN_FINISH = 1u << 4,
	OA_SEEN_CONTENT = 1u << 5,
	OA_SEEN_REFUSAL = 1u << 6,
	OA_SEEN_PROMPT = 1u << 7,
	OA_SEEN_COMPLETION = 1u << 8,
};

/* 0 the first time a key is seen, -1 after. */
static int oa_once(unsigned *seen, unsigned key)
{
	if (*seen & key)
		return -1;
	*seen |= key;
	return 0;
}

/* A count as oa_u32 (codec_openai_dec.c) clamps it. */
static uint32_t oa_fast_u32(int64_t v)
{
	return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* usage: null, or an object read as oa_usage reads it. A count that is not
 * an integer declines rather than be read as absent here too: it never
 * happens, and one rule less to keep equal. */
static int oa_fast_usage(struct js *j, struct oa_fast *f)
{
	struct js_str k;
	unsigned seen = 0;
	int64_t v;
	int r;

	if (js_peek(j) == JS_NULL)
		return js_skip(j);
	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		uint32_t *dst;
		if (OA_KEY(&k, "prompt_tokens")) {
			if (oa_once(&seen, OA_SEEN_PROMPT))
				return -1;
			dst = &f->prompt_tokens;
		} else if (OA_KEY(&k, "completion_tokens")) {
			if (oa_once(&seen, OA_SEEN_COMPLETION))
				return -1;
			dst = &f->completion_tokens;
		} else {
			if (js_skip(j))
				return -1;
			continue;
		}
		if (js_peek(j) != JS_NUMBER || js_number(j, &v) != JS_NUM_INT)
			return -1;
		*dst = oa_fast_u32(v);
		f->have_usage = 1;
	}
	return r;
}

/* content: the event's own bytes when nothing needs decoding, else decoded
 * into f->buf if it fits. */
static int oa_fast_text(const struct js_str *v, struct oa_fast *f)
{
	return js_text(v, f->buf, sizeof f->buf, &f->text, &f->text_len);
}

/* The delta: role (never read), content, and a null refusal. */
static int oa_fast_delta(struct js *j, struct oa_fast *f)
{
	struct js_str k, v;
	unsigned seen = 0;
	int r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (OA_KEY(&k, "role")) {
			r = js_skip(j);
		} else if (OA_KEY(&k, "content")) {
			if (oa_once(&seen, OA_SEEN_CONTENT))
				return -1;
			if (js_peek(j) == JS_NULL)
				r = js_skip(j);
			else if (js_string(j, &v))
				r = -1;
			else {
				f->text_at = (size_t)(v.p - 1 - f->base);
				f->text_end = (size_t)(v.p + v.n + 1 - f->base);
				r = oa_fast_text(&v, f);
			}
		} else if (OA_KEY(&k, "refusal")) {
			if (oa_once(&seen, OA_SEEN_REFUSAL) || js_peek(j) != JS_NULL)
				return -1;
			r = js_skip(j);
		} else {
			return -1;
		}
		if (r)
			return -1;
	}
	return r;
}

/* The one choice: choice 0 by its index, or by being first when it has
 * none (oa_choice0's rule). */
static int oa_fast_choice(struct js *j, struct oa_fast *f)
{
	struct js_str k, v;
	unsigned seen = 0;
	int64_t index;
	int r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		if (OA_KEY(&k, "index")) {
			if (oa_once(&seen, OA_SEEN_INDEX) || js_number(j, &index) != JS_NUM_INT || index)
				return -1;
		} else if (OA_KEY(&k, "delta")) {
			if (oa_once(&seen, OA_SEEN_DELTA) || oa_fast_delta(j, f))
				return -1;
		} else if (OA_KEY(&k, "finish_reason")) {
			if (oa_once(&seen, OA_SEEN_FINISH))
				return -1;
			if (js_peek(j) == JS_NULL) {
				if (js_skip(j))
					return -1;
			} else {
				size_t n;
				if (js_string(j, &v))
					return -1;
				/* the decoder keeps no more than fits here */
				n = js_unescape(&v, f->finish, sizeof f->finish);
				f->finish_len = n < sizeof f->finish ? n : sizeof f->finish;
				f->have_finish = 1;
			}
		} else if (js_skip(j)) {
			/* Any other member of a choice (logprobs, Azure's
			 * content_filter_results, vLLM's stop_reason) is one the
			 * tree path never reads either: skipped, not declined. */
			return -1;
		}
	}
	return r;
}

/* choices: empty, or exactly one choice (with two, the second might be
 * choice 0). */
static int oa_fast_choices(struct js *j, struct oa_fast *f)
{
	int r;

	if (js_array(j) || (r = js_element(j)) < 0)
		return -1;
	if (!r)
		return 0;
	if (oa_fast_choice(j, f))
		return -1;
	return js_element(j) ? -1 : 0;
}

int oa_fast_scan(const char *data, size_t n, struct oa_fast *f)
{
	static const char err[] = "error";
	char word[sizeof err - 1];
	struct js j;
	struct js_str k, v;
	unsigned seen = 0;
	int r;

	f->text_len = 0;
	f->have_finish = 0;
	f->have_usage = 0;
	f->prompt_tokens = f->completion_tokens = 0;
	f->text_end = f->skip_end = 0;
	f->base = data;
	js_init(&j, data, n);
	if (js_object(&j))
		return 0;
	while ((r = js_member(&j, &k)) == 1) {
		if (OA_KEY(&k, "choices")) {
			if (oa_once(&seen, OA_SEEN_CHOICES) || oa_fast_choices(&j, f))
				return 0;
		} else if (OA_KEY(&k, "usage")) {
			if (oa_once(&seen, OA_SEEN_USAGE) || oa_fast_usage(&j, f))
				return 0;
		} else if (OA_KEY(&k, "error")) {
			return 0;
		} else if (OA_KEY(&k, "object") && js_peek(&j) == JS_STRING) {
			/* oa_is_error compares "object" with strcmp, so any
			 * string starting "error" might be one; refusing every
			 * such occurrence also covers repeated "object" keys */
			if (js_string(&j, &v) ||
			    (js_unescape(&v, word, sizeof word) >= sizeof word && !memcmp(word, err, sizeof word)))
				return 0;
		} else if (js_peek(&j) == JS_STRING) {
			/* skipped like any other, but noted for the template */
			if (js_string(&j, &v))
				return 0;
			f->skip_at = (size_t)(v.p - 1 - data);
			f->skip_end = (size_t)(v.p + v.n + 1 - data);
		} else if (js_skip(&j)) {
			return 0;
		}
	}
	return !r && !js_end(&j);
}
