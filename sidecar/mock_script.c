/*
 * mock_script.c — see mock_script.h for the reply the mock provider gives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mock_script.h"

/* What the mock says to a prompt without a single word, so that a default
 * request still gets a non-empty reply to assert on. */
static const char empty_word[] = "(empty)";

static size_t split_words(const char *s, size_t n, struct mock_word *out)
{
	size_t i = 0, count = 0, start;

	for (;;) {
		while (i < n && chatreq_is_word_space((unsigned char)s[i]))
			i++;
		if (i == n)
			return count;
		start = i;
		while (i < n && !chatreq_is_word_space((unsigned char)s[i]))
			i++;
		if (out) {
			out[count].off = start;
			out[count].len = i - start;
		}
		count++;
	}
}

int mock_script_init(struct mock_script *m, const struct chatreq *r)
{
	const char *src = r->last_user ? r->last_user : "";
	size_t src_len = r->last_user ? r->last_user_len : 0;
	size_t w, pos = 0;

	memset(m, 0, sizeof(*m));
	m->nwords = split_words(src, src_len, NULL);
	if (m->nwords == 0) {
		src = empty_word;
		src_len = sizeof(empty_word) - 1;
		m->nwords = 1;
	}
	m->words = calloc(m->nwords, sizeof(*m->words));
	/* Each word but the first had at least one separator before it in src,
	 * so the words plus one space each fit in src_len + 1 bytes. */
	m->text = malloc(src_len + 2);
	if (!m->words || !m->text)
		goto fail;

	split_words(src, src_len, m->words);
	for (w = 0; w < m->nwords; w++) {
		m->text[pos++] = ' ';
		memcpy(m->text + pos, src + m->words[w].off, m->words[w].len);
		m->words[w].off = pos;
		pos += m->words[w].len;
	}
	m->text[pos] = '\0';

	m->want = r->mock_tokens >= 0 ? (uint64_t)r->mock_tokens : m->nwords;
	m->k = m->want;
	if (r->max_tokens >= 0 && (uint64_t)r->max_tokens < m->k)
		m->k = (uint64_t)r->max_tokens;
	m->prompt_words = r->prompt_words;
	return 0;

fail:
	mock_script_free(m);
	return -ENOMEM;
}

size_t mock_script_next(struct mock_script *m, char *buf, size_t cap)
{
	const struct mock_word *w;
	size_t start, end, n;

	if (m->i >= m->k || cap == 0)
		return 0;
	w = &m->words[m->i % m->nwords];
	start = w->off - (m->i > 0) + m->piece;
	end = w->off + w->len;
	n = end - start;
	if (n > cap) {
		/* Back off over UTF-8 continuation bytes (10xxxxxx) so the piece
		 * ends where a character starts; text[start + n] exists since
		 * the token goes on past the piece. */
		n = cap;
		while (n > 0 && ((unsigned char)m->text[start + n] & 0xc0) == 0x80)
			n--;
		if (n == 0)
			n = cap;
	}
	memcpy(buf, m->text + start, n);
	if (start + n == end) {
		m->i++;
		m->piece = 0;
	} else {
		m->piece += n;
	}
	return n;
}

int mock_script_done(const struct mock_script *m)
{
	return m->i >= m->k;
}

uint32_t mock_script_tokens_emitted(const struct mock_script *m)
{
	return (uint32_t)m->i;
}

const char *mock_script_finish_reason(const struct mock_script *m)
{
	return m->k < m->want ? "length" : "stop";
}

uint32_t mock_script_completion_tokens(const struct mock_script *m)
{
	/* K is at most CHATREQ_MOCK_TOKENS_LIMIT or a word count of one body,
	 * both far below 2^32. */
	return (uint32_t)m->k;
}

uint32_t mock_script_prompt_tokens(const struct mock_script *m)
{
	return m->prompt_words;
}

void mock_script_free(struct mock_script *m)
{
	free(m->text);
	free(m->words);
	memset(m, 0, sizeof(*m));
}
