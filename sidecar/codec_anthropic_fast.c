/*
 * codec_anthropic_fast.c — the common Anthropic stream event read in one
 * pass, without a jansson tree (see codec_anthropic.h: an_fast_delta).
 *
 * Almost every event of a Messages stream is a content_block_delta with
 * one text_delta or thinking_delta, and building a tree of it to read one
 * string cost more than everything else the sidecar does per event. This
 * file reads exactly what codec_anthropic.c's tree path makes of such an
 * event (an_block_delta: the delta's text, or thinking, as text of that
 * kind when not empty) and declines everything else, so the tree path
 * handles it as before:
 *
 *   - anything jansson might refuse (jscan.h accepts a subset of it);
 *   - a "type" that is missing, not a string, escaped, or anything but
 *     content_block_delta (errors included: the tree path reads the type
 *     with strcmp, which an escaped \u0000 could fool, so escapes decline);
 *   - a delta that is missing or not an object, whose "type" is not
 *     text_delta or thinking_delta (tool input, signatures, citations);
 *   - a text that is present but not a string;
 *   - a repeated key the tree path reads: jansson keeps the last one.
 *
 * Other members ("index" above all, which these deltas do not need) are
 * skipped, because the tree path reads no other. The caller declines
 * events named "error" before asking.
 *
 * The last delta taken is kept as a template (jtpl.h; the end of this
 * file): the deltas of a block differ only in their text, which is all a
 * match reads again.
 */
#include "codec_anthropic.h"

#include <string.h>

#include "jscan.h"

#define AN_KEY(k, lit) js_str_is((k), (lit), sizeof(lit) - 1)

/* A string equal to lit as sent, with no escape. */
static int an_fast_is(const struct js_str *s, const char *lit, size_t n)
{
	return !s->esc && s->n == n && !memcmp(s->p, lit, n);
}

#define AN_IS(s, lit) an_fast_is((s), (lit), sizeof(lit) - 1)

/* The delta: its type, and the text or thinking that type names. */
static int an_fast_inner(struct js *j, const char *data, struct an_fast *f)
{
	struct js_str k, type, text, thinking;
	int have_type = 0, have_text = 0, have_thinking = 0, r;

	if (js_object(j))
		return -1;
	while ((r = js_member(j, &k)) == 1) {
		struct js_str *dst = NULL;
		int *seen = NULL;
		if (AN_KEY(&k, "type")) {
			dst = &type;
			seen = &have_type;
		} else if (AN_KEY(&k, "text")) {
			dst = &text;
			seen = &have_text;
		} else if (AN_KEY(&k, "thinking")) {
			dst = &thinking;
			seen = &have_thinking;
		}
		if (!dst) {
			if (js_skip(j))
				return -1;
			continue;
		}
		if (*seen || js_peek(j) != JS_STRING || js_string(j, dst))
			return -1;
		*seen = 1;
	}
	if (r || !have_type)
		return -1;
	const struct js_str *v;
	if (AN_IS(&type, "text_delta")) {
		f->kind = UEV_TEXT;
		v = have_text ? &text : NULL;
	} else if (AN_IS(&type, "thinking_delta")) {
		f->kind = UEV_REASONING;
		v = have_thinking ? &thinking : NULL;
	} else {
		return -1;
	}
	if (!v)
		return 0; /* an_emit of a missing string: nothing */
	f->text_at = (size_t)(v->p - 1 - data);
	f->text_end = (size_t)(v->p + v->n + 1 - data);
	return js_text(v, f->buf, sizeof f->buf, &f->text, &f->len);
}

int an_fast_delta(const char *data, size_t n, struct an_fast *f)
{
	struct js j;
	struct js_str k, type;
	int have_type = 0, have_delta = 0, r;

	f->text = NULL;
	f->len = 0;
	f->kind = UEV_TEXT;
	f->text_end = 0;
	js_init(&j, data, n);
	if (js_object(&j))
		return 0;
	while ((r = js_member(&j, &k)) == 1) {
		if (AN_KEY(&k, "type")) {
			if (have_type || js_peek(&j) != JS_STRING || js_string(&j, &type))
				return 0;
			have_type = 1;
		} else if (AN_KEY(&k, "delta")) {
			if (have_delta || an_fast_inner(&j, data, f))
				return 0;
			have_delta = 1;
		} else if (js_skip(&j)) {
			return 0;
		}
	}
	return !r && !js_end(&j) && have_type && have_delta && AN_IS(&type, "content_block_delta");
}

/* ---- the next delta against the last one ------------------------------------------------ */

/* The hole is the one string an_fast_delta delivered, decoded here as it
 * decodes it; everything else it read (the types above all, which chose
 * the kind) is in the template's fixed bytes. */
int an_tpl_match(const struct an_tpl *t, const char *data, size_t n, struct an_fast *f)
{
	struct jtpl_val v[JTPL_HOLES];

	if (!jtpl_match(&t->t, data, n, v))
		return 0;
	f->kind = t->kind;
	f->text = NULL;
	f->len = 0;
	return js_text(&v[0].s, f->buf, sizeof f->buf, &f->text, &f->len) == 0;
}

void an_tpl_learn(struct an_tpl *t, const char *data, size_t n, const struct an_fast *f)
{
	struct jtpl_hole h = { f->text_at, f->text_end, JTPL_STR };

	if (f->text_end && !jtpl_learn(&t->t, data, n, &h, 1))
		t->kind = f->kind;
}
