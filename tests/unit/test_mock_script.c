/*
 * test_mock_script.c — the mock provider's reply, token by token.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/chatreq.h"
#include "sidecar/mock_script.h"

#define MS_ERRLEN 256
#define MS_MAX_PIECES 64

/* A request whose last user message is prompt (already JSON-escaped), with
 * extra top-level members (",\"max_tokens\":2", ...) appended. */
static void ms_request(struct chatreq *r, const char *prompt, const char *extra)
{
	char body[4096], err[MS_ERRLEN];
	int n;

	n = snprintf(body, sizeof(body),
		     "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
		     "{\"role\":\"user\",\"content\":\"%s\"}]%s}", prompt, extra ? extra : "");
	cr_assert(n > 0 && (size_t)n < sizeof(body));
	cr_assert_eq(chatreq_parse(r, body, (size_t)n, err, sizeof(err)), 0, "%s", err);
}

/* Run the script to the end with the given cap and compare every piece. The
 * chatreq is freed before the first token: the script must own its data. */
static void ms_expect(const char *prompt, const char *extra, size_t cap,
		      const char *const *want, size_t nwant, const char *finish,
		      uint32_t completion)
{
	struct chatreq r;
	struct mock_script m;
	char buf[256];
	size_t n, i = 0;

	cr_assert(cap <= sizeof(buf));
	ms_request(&r, prompt, extra);
	cr_assert_eq(mock_script_init(&m, &r), 0);
	chatreq_free(&r);

	while ((n = mock_script_next(&m, buf, cap)) > 0) {
		cr_assert(n <= cap);
		cr_assert(i < nwant, "extra piece %zu: '%.*s'", i, (int)n, buf);
		cr_assert_eq(n, strlen(want[i]), "piece %zu: got '%.*s' want '%s'", i, (int)n,
			     buf, want[i]);
		cr_assert_eq(memcmp(buf, want[i], n), 0, "piece %zu: got '%.*s' want '%s'", i,
			     (int)n, buf, want[i]);
		i++;
	}
	cr_assert_eq(i, nwant, "%zu pieces, want %zu", i, nwant);
	cr_assert(mock_script_done(&m));
	cr_assert_eq(mock_script_next(&m, buf, cap), 0, "a finished script stays finished");
	cr_assert_str_eq(mock_script_finish_reason(&m), finish);
	cr_assert_eq(mock_script_completion_tokens(&m), completion);
	cr_assert_eq(mock_script_tokens_emitted(&m), completion);
	mock_script_free(&m);
	mock_script_free(&m);
}

#define MS_N(a) (sizeof(a) / sizeof((a)[0]))

Test(mock_script, echoes_the_words)
{
	static const char *const w[] = { "hello", " world" };

	ms_expect("hello world", NULL, 256, w, MS_N(w), "stop", 2);
}

Test(mock_script, any_ascii_whitespace_separates)
{
	static const char *const w[] = { "a", " b", " c", " d", " e", " f", " gh" };

	ms_expect("  a\\tb\\nc\\rd\\fe\\u000bf   gh \\n", NULL, 256, w, MS_N(w), "stop", 7);
}

Test(mock_script, single_word_and_utf8_words)
{
	static const char *const one[] = { "Ping" };
	static const char *const utf[] = { "\xc3\xa9t\xc3\xa9", " \xe6\x97\xa5\xe6\x9c\xac" };

	ms_expect("Ping", NULL, 256, one, MS_N(one), "stop", 1);
	ms_expect("\\u00e9t\\u00e9 \xe6\x97\xa5\xe6\x9c\xac", NULL, 256, utf, MS_N(utf), "stop", 2);
}

Test(mock_script, last_user_message_is_the_prompt)
{
	static const char body[] =
		"{\"messages\":[{\"role\":\"user\",\"content\":\"first question\"},"
		"{\"role\":\"assistant\",\"content\":\"an answer\"},"
		"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"second \"},"
		"{\"type\":\"text\",\"text\":\"one\"}]},"
		"{\"role\":\"assistant\",\"content\":\"ignored\"}]}";
	static const char *const w[] = { "second", " one" };
	struct chatreq r;
	struct mock_script m;
	char err[MS_ERRLEN], buf[64];
	size_t i, n;

	cr_assert_eq(chatreq_parse(&r, body, strlen(body), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mock_script_init(&m, &r), 0);
	chatreq_free(&r);
	for (i = 0; i < MS_N(w); i++) {
		n = mock_script_next(&m, buf, sizeof(buf));
		cr_assert_eq(n, strlen(w[i]));
		cr_assert_eq(memcmp(buf, w[i], n), 0);
	}
	cr_assert_eq(mock_script_next(&m, buf, sizeof(buf)), 0);
	/* Usage: prompt words of every message, completion = tokens emitted. */
	cr_assert_eq(mock_script_prompt_tokens(&m), 2 + 2 + 2 + 1);
	cr_assert_eq(mock_script_completion_tokens(&m), 2);
	mock_script_free(&m);
}

Test(mock_script, cycles_when_tokens_exceed_words)
{
	static const char *const w[] = { "a", " b", " c", " a", " b", " c", " a" };

	ms_expect("a b c", ",\"mock\":{\"tokens\":7}", 256, w, MS_N(w), "stop", 7);
}

Test(mock_script, cycles_a_single_word)
{
	static const char *const w[] = { "la", " la", " la" };

	ms_expect("la", ",\"mock\":{\"tokens\":3}", 256, w, MS_N(w), "stop", 3);
}

Test(mock_script, fewer_tokens_than_words_is_stop)
{
	static const char *const w[] = { "one", " two" };

	/* The mock wanted exactly 2 tokens and said them: not truncated. */
	ms_expect("one two three four", ",\"mock\":{\"tokens\":2}", 256, w, MS_N(w), "stop", 2);
}

Test(mock_script, max_tokens_smaller_than_words_is_length)
{
	static const char *const w[] = { "one", " two" };

	ms_expect("one two three four", ",\"max_tokens\":2", 256, w, MS_N(w), "length", 2);
	ms_expect("one two three four", ",\"max_completion_tokens\":2,\"max_tokens\":9", 256, w,
		  MS_N(w), "length", 2);
}

Test(mock_script, max_tokens_caps_mock_tokens)
{
	static const char *const w[] = { "x", " y", " x" };

	ms_expect("x y", ",\"mock\":{\"tokens\":5},\"max_tokens\":3", 256, w, MS_N(w), "length", 3);
}

Test(mock_script, max_tokens_at_or_above_words_is_stop)
{
	static const char *const w[] = { "one", " two", " three" };

	ms_expect("one two three", ",\"max_tokens\":3", 256, w, MS_N(w), "stop", 3);
	ms_expect("one two three", ",\"max_tokens\":1000", 256, w, MS_N(w), "stop", 3);
}

Test(mock_script, zero_tokens_is_an_empty_reply)
{
	struct chatreq r;
	struct mock_script m;
	char buf[16];

	ms_expect("some words", ",\"mock\":{\"tokens\":0}", 256, NULL, 0, "stop", 0);
	ms_expect("some words", ",\"mock\":{\"tokens\":0},\"max_tokens\":1", 256, NULL, 0, "stop", 0);

	ms_request(&r, "some words", ",\"mock\":{\"tokens\":0}");
	cr_assert_eq(mock_script_init(&m, &r), 0);
	cr_assert(mock_script_done(&m), "done before the first call");
	cr_assert_eq(mock_script_prompt_tokens(&m), 4);
	chatreq_free(&r);
	cr_assert_eq(mock_script_next(&m, buf, sizeof(buf)), 0);
	mock_script_free(&m);
}

Test(mock_script, empty_prompt_says_empty)
{
	static const char *const w[] = { "(empty)" };
	static const char *const w3[] = { "(empty)", " (empty)", " (empty)" };
	static const char *const w2[] = { "(empty)", " (empty)" };
	static const char *const parts_body =
		"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
		"\"image_url\":{\"url\":\"data:,\"}}]}]}";
	struct chatreq r;
	struct mock_script m;
	char err[MS_ERRLEN], buf[16];

	ms_expect("", NULL, 256, w, MS_N(w), "stop", 1);
	ms_expect(" \\t\\n ", NULL, 256, w, MS_N(w), "stop", 1);
	ms_expect("", ",\"mock\":{\"tokens\":3}", 256, w3, MS_N(w3), "stop", 3);
	ms_expect("", ",\"mock\":{\"tokens\":3},\"max_tokens\":2", 256, w2, MS_N(w2), "length", 2);

	/* A user message made only of non-text parts has no words either. */
	cr_assert_eq(chatreq_parse(&r, parts_body, strlen(parts_body), err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(mock_script_init(&m, &r), 0);
	chatreq_free(&r);
	cr_assert_eq(mock_script_next(&m, buf, sizeof(buf)), 7);
	cr_assert_eq(memcmp(buf, "(empty)", 7), 0);
	cr_assert_eq(mock_script_next(&m, buf, sizeof(buf)), 0);
	cr_assert_eq(mock_script_prompt_tokens(&m), 0);
	mock_script_free(&m);
}

Test(mock_script, long_words_split_at_cap)
{
	/* cap 3: "abcdefgh" then " xy" then " abcdefgh" (cycled) */
	static const char *const w[] = {
		"abc", "def", "gh", " xy", " ab", "cde", "fgh",
	};
	static const char *const one[] = {
		"a", "b", "c", " ", "x", "y", " ", "a", "b", "c",
	};

	ms_expect("abcdefgh xy", ",\"mock\":{\"tokens\":3}", 3, w, MS_N(w), "stop", 3);
	/* cap 1: the leading space is a piece of its own. */
	ms_expect("abc xy", ",\"mock\":{\"tokens\":3}", 1, one, MS_N(one), "stop", 3);
}

Test(mock_script, exact_fit_is_one_piece)
{
	static const char *const w[] = { "abc", " de", "f", " g" };

	/* "abc" fits 3 exactly; " def" is 4 bytes and splits. */
	ms_expect("abc def g", NULL, 3, w, MS_N(w), "stop", 3);
}

Test(mock_script, split_respects_utf8_boundaries)
{
	/* "aé日x": a, é (2 bytes), 日 (3 bytes), x. cap 4 ends pieces before a
	 * character would be cut: "aé" (3 bytes), "日x" (4 bytes). */
	static const char *const w[] = { "a\xc3\xa9", "\xe6\x97\xa5x" };
	/* cap 1 cannot hold a character: bytes, in order, as a last resort. */
	static const char *const b[] = { "\xc3", "\xa9" };

	ms_expect("a\xc3\xa9\xe6\x97\xa5x", NULL, 4, w, MS_N(w), "stop", 1);
	ms_expect("\xc3\xa9", NULL, 1, b, MS_N(b), "stop", 1);
}

Test(mock_script, pieces_complete_tokens_only_at_the_end)
{
	struct chatreq r;
	struct mock_script m;
	char buf[4];

	ms_request(&r, "abcdefghij k", NULL);
	cr_assert_eq(mock_script_init(&m, &r), 0);
	chatreq_free(&r);
	cr_assert_eq(mock_script_tokens_emitted(&m), 0);
	cr_assert_eq(mock_script_next(&m, buf, 4), 4);
	cr_assert_eq(mock_script_tokens_emitted(&m), 0);
	cr_assert_eq(mock_script_next(&m, buf, 4), 4);
	cr_assert_eq(mock_script_tokens_emitted(&m), 0);
	cr_assert(!mock_script_done(&m));
	cr_assert_eq(mock_script_next(&m, buf, 4), 2);
	cr_assert_eq(memcmp(buf, "ij", 2), 0);
	cr_assert_eq(mock_script_tokens_emitted(&m), 1);
	cr_assert_eq(mock_script_next(&m, buf, 0), 0, "cap 0 writes nothing");
	cr_assert(!mock_script_done(&m), "and does not end the reply");
	cr_assert_eq(mock_script_next(&m, buf, 4), 2);
	cr_assert_eq(memcmp(buf, " k", 2), 0);
	cr_assert_eq(mock_script_tokens_emitted(&m), 2);
	cr_assert(mock_script_done(&m));
	mock_script_free(&m);
}

Test(mock_script, full_reply_is_the_words_joined)
{
	static const char prompt[] = "  The quick\\tbrown\\n\\nfox   jumps over\\r\\nthe lazy dog ";
	static const char want[] = "The quick brown fox jumps over the lazy dog";
	struct chatreq r;
	struct mock_script m;
	char out[128], buf[5];
	size_t n, len = 0;

	ms_request(&r, prompt, NULL);
	cr_assert_eq(mock_script_init(&m, &r), 0);
	cr_assert_eq(mock_script_prompt_tokens(&m), 2 + 9);
	chatreq_free(&r);
	while ((n = mock_script_next(&m, buf, sizeof(buf))) > 0) {
		cr_assert(len + n < sizeof(out));
		memcpy(out + len, buf, n);
		len += n;
	}
	out[len] = '\0';
	cr_assert_str_eq(out, want);
	cr_assert_eq(mock_script_completion_tokens(&m), 9);
	cr_assert_str_eq(mock_script_finish_reason(&m), "stop");
	mock_script_free(&m);
}

Test(mock_script, large_reply_from_knobs)
{
	struct chatreq r;
	struct mock_script m;
	char buf[64];
	uint64_t bytes = 0, pieces = 0;
	size_t n;

	/* 100000 tokens cycling over 3 words: "w1", then " w2", " w3", " w1" ... */
	ms_request(&r, "w1 w2 w3", ",\"mock\":{\"tokens\":100000,\"interval_us\":0}");
	cr_assert_eq(mock_script_init(&m, &r), 0);
	chatreq_free(&r);
	while ((n = mock_script_next(&m, buf, sizeof(buf))) > 0) {
		bytes += n;
		pieces++;
	}
	cr_assert_eq(pieces, 100000);
	cr_assert_eq(bytes, 2 + 3 * (100000 - 1));
	cr_assert_eq(mock_script_completion_tokens(&m), 100000);
	mock_script_free(&m);
}

Test(mock_script, hand_built_request)
{
	struct chatreq r;
	struct mock_script m;
	char buf[16];

	/* A zeroed chatreq (no parse) still yields a well-defined script. */
	memset(&r, 0, sizeof(r));
	r.max_tokens = -1;
	r.mock_tokens = -1;
	cr_assert_eq(mock_script_init(&m, &r), 0);
	cr_assert_eq(mock_script_next(&m, buf, sizeof(buf)), 7);
	cr_assert_eq(memcmp(buf, "(empty)", 7), 0);
	cr_assert(mock_script_done(&m));
	mock_script_free(&m);

	/* Text with an embedded NUL is just bytes to the script. */
	r.last_user = "a\0b c";
	r.last_user_len = 5;
	cr_assert_eq(mock_script_init(&m, &r), 0);
	cr_assert_eq(mock_script_next(&m, buf, sizeof(buf)), 3);
	cr_assert_eq(memcmp(buf, "a\0b", 3), 0);
	cr_assert_eq(mock_script_next(&m, buf, sizeof(buf)), 2);
	cr_assert_eq(memcmp(buf, " c", 2), 0);
	mock_script_free(&m);
}
