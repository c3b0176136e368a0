/*
 * codec_openai_tpl.c — the next chunk of an OpenAI stream read against the
 * last one (see codec_openai.h: struct oa_tpl).
 *
 * Every content chunk of a stream repeats the same id, object, created,
 * model and fingerprint around a new token, so after the first one the
 * only news in ~250 bytes is a few bytes of content. oa_fast_scan still
 * walks all of it, every key and value; per chunk that walk was most of
 * the sidecar's work on a long reply. Here the chunk is compared with the
 * last plain one byte for byte, with each hole (a string token of the
 * template) lexed instead.
 *
 * Why a match reads the same as a scan would: JSON tokens do not depend on
 * what surrounds them, so bytes equal to the template's up to a hole put
 * the lexer at the start of a string token, exactly as in the template; a
 * whole string token there (js_lex_string, the very lexer oa_fast_scan
 * uses, with the same rules) leaves it after one; the template's next
 * bytes follow. The chunk is therefore the template's token sequence with
 * other strings in the holes: the same keys, the same structure, the same
 * values everywhere else. oa_fast_scan's verdict depends on the content's
 * value only through its decoding (redone here), and not at all on a
 * string it skips unread, which is all a hole can be. The template is only
 * learnt from a chunk oa_fast_scan took that had no finish reason and no
 * usage, so a match has none either.
 */
#include "codec_openai.h"

#include <string.h>

#include "jscan.h"
#include "jscan_lex.h"

int oa_tpl_match(const struct oa_tpl *t, const char *data, size_t n, struct oa_fast *f)
{
	const char *p = data, *end = data + n;
	size_t at = 0;
	struct js_str s, text = { 0 };

	if (!t->len)
		return 0;
	for (unsigned i = 0; i < t->nholes; i++) {
		size_t fixed = t->at[i] - at;
		/* the fixed bytes, then the hole's opening quote */
		if ((size_t)(end - p) <= fixed || memcmp(p, t->doc + at, fixed) || p[fixed] != '"')
			return 0;
		p = js_lex_string(p + fixed, end, &s, 0);
		if (!p)
			return 0;
		if (i == t->text_hole)
			text = s;
		at = t->end[i];
	}
	if ((size_t)(end - p) != t->len - at || memcmp(p, t->doc + at, t->len - at))
		return 0;
	f->text_len = 0;
	f->have_finish = 0;
	f->have_usage = 0;
	f->prompt_tokens = f->completion_tokens = 0;
	return js_text(&text, f->buf, sizeof f->buf, &f->text, &f->text_len) == 0;
}

void oa_tpl_learn(struct oa_tpl *t, const char *data, size_t n, const struct oa_fast *f)
{
	if (f->have_finish || f->have_usage || !f->text_end || n > sizeof t->doc)
		return;
	t->nholes = 1;
	t->text_hole = 0;
	t->at[0] = f->text_at;
	t->end[0] = f->text_end;
	if (f->skip_end) {
		/* two holes in the order they occur; tokens never overlap */
		unsigned skip = f->skip_at < f->text_at ? 0 : 1;
		t->text_hole = !skip;
		t->at[skip] = f->skip_at;
		t->end[skip] = f->skip_end;
		t->at[!skip] = f->text_at;
		t->end[!skip] = f->text_end;
		t->nholes = 2;
	}
	memcpy(t->doc, data, n);
	t->len = n;
}
