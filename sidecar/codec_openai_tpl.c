/*
 * codec_openai_tpl.c — the next chunk of an OpenAI stream read against the
 * last one (see codec_openai.h: struct oa_tpl; jtpl.h for why a match reads
 * the same as a scan).
 *
 * Every content chunk of a stream repeats the same id, object, created,
 * model and fingerprint around a new token, so after the first one the
 * only news in ~250 bytes is a few bytes of content; oa_fast_scan still
 * walked all of it, and per chunk that walk was most of the sidecar's work
 * on a long reply. The holes are the content, which is decoded again here
 * exactly as oa_fast_scan decodes it, and a string oa_fast_scan skips
 * unread. A template is learnt only from a chunk that said no finish
 * reason and no usage, so a match says none either.
 */
#include "codec_openai.h"

int oa_tpl_match(const struct oa_tpl *t, const char *data, size_t n, struct oa_fast *f)
{
	struct jtpl_val v[JTPL_HOLES];

	if (!jtpl_match(&t->t, data, n, v))
		return 0;
	f->text_len = 0;
	f->have_finish = 0;
	f->have_usage = 0;
	f->prompt_tokens = f->completion_tokens = 0;
	return js_text(&v[t->text_hole].s, f->buf, sizeof f->buf, &f->text, &f->text_len) == 0;
}

void oa_tpl_learn(struct oa_tpl *t, const char *data, size_t n, const struct oa_fast *f)
{
	struct jtpl_hole h[2] = { { f->text_at, f->text_end, JTPL_STR } };
	unsigned holes = 1, text = 0;

	if (f->have_finish || f->have_usage || !f->text_end || n > sizeof t->t.doc)
		return;
	if (f->skip_end) {
		/* in the order they occur; tokens never overlap */
		struct jtpl_hole skip = { f->skip_at, f->skip_end, JTPL_STR };
		text = f->skip_at < f->text_at;
		h[text] = h[0];
		h[!text] = skip;
		holes = 2;
	}
	if (!jtpl_learn(&t->t, data, n, h, holes))
		t->text_hole = text;
}
