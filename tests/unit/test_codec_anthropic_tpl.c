/*
 * test_codec_anthropic_tpl.c — the Anthropic decoder's template (the last
 * text or thinking delta, its string a hole: codec_anthropic_fast.c)
 * against the tree path: deltas after a learnt one, with hostile text in
 * the hole and cut anywhere, every recorded event mutated after itself;
 * and the template does read the deltas of a stream, of either kind.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fast_util.h"
#include "jmut.h"
#include "sidecar/codec_anthropic.h"

/* Seeded variants of each recorded event, each read after the event. */
#define AT_MUTATIONS 150
/* Deltas in the decoder-level stream. */
#define AT_STREAM_DELTAS 40

static const char *const at_streams[] = {
	"anthropic_stream_basic.sse",
	"anthropic_stream_tools.sse",
	"anthropic_stream_thinking_refusal.sse",
};

static const char at_msg_start[] =
	"{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}";
static const char at_block_start[] =
	"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}";
static const char at_stop[] = "{\"type\":\"message_stop\"}";

/* A delta of kind ("text" or "thinking") with text as raw JSON string body. */
static size_t at_delta(char *buf, size_t cap, const char *kind, const char *text)
{
	int n = snprintf(buf, cap,
			 "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"%s_delta\","
			 "\"%s\":\"%s\"}}",
			 kind, kind, text);
	cr_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* learn, then data, inside a message and a block, through both decoders. */
static void at_same_pair(const char *learn, size_t ln, const char *data, size_t n,
			 const char *what, size_t which)
{
	const char *names[] = { "message_start", "content_block_start", "content_block_delta",
				"content_block_delta", "message_stop" };
	const char *ev[] = { at_msg_start, at_block_start, learn, data, at_stop };
	const size_t len[] = { strlen(at_msg_start), strlen(at_block_start), ln, n, strlen(at_stop) };
	of_same_named(names, ev, len, 5, what, which);
}

/* Does the template learnt from learn match data, and with what kind? */
static int at_tpl_takes(const char *learn, size_t ln, const char *data, size_t n,
			enum uev_text *kind)
{
	static struct an_fast f;
	static struct an_tpl t;
	jtpl_clear(&t.t);
	if (an_fast_delta(learn, ln, &f))
		an_tpl_learn(&t, learn, ln, &f);
	int took = an_tpl_match(&t, data, n, &f);
	*kind = f.kind;
	return took;
}

static void at_use(void)
{
	of_use(&pc_anthropic, pc_anthropic.on_event, an_on_event_slow);
}

Test(codec_anthropic_tpl, takes_next_deltas_of_either_kind)
{
	static const char *const texts[] = { "Hello", " world", "", "caf\\u00e9", "\\n", "\xe2\x82\xac",
					     "a\\\"b", "\\ud83d\\ude00" };
	static const char *const kinds[] = { "text", "thinking" };
	char a[256], b[256];
	at_use();
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i + 1 < sizeof texts / sizeof texts[0]; i++) {
			size_t na = at_delta(a, sizeof a, kinds[k], texts[i]);
			size_t nb = at_delta(b, sizeof b, kinds[k], texts[i + 1]);
			enum uev_text kind;
			cr_assert(at_tpl_takes(a, na, b, nb, &kind), "not taken after %s: %s", a, b);
			cr_assert_eq(kind, k ? UEV_REASONING : UEV_TEXT);
			at_same_pair(a, na, b, nb, kinds[k], i);
		}
	}
	/* a delta of the other kind differs in its fixed bytes */
	size_t na = at_delta(a, sizeof a, "text", "x");
	size_t nb = at_delta(b, sizeof b, "thinking", "x");
	enum uev_text kind;
	cr_assert_not(at_tpl_takes(a, na, b, nb, &kind));
	at_same_pair(a, na, b, nb, "kinds", 0);
}

Test(codec_anthropic_tpl, hostile_text_unchanged)
{
	static char a[256], b[12u << 10], big[10u << 10];
	at_use();
	size_t na = at_delta(a, sizeof a, "text", "plain");
	for (size_t i = 0; i < of_n_hostile; i++) {
		size_t nb = at_delta(b, sizeof b, "text", of_hostile[i]);
		at_same_pair(a, na, b, nb, "hostile text", i);
		for (size_t cut = 20; cut < nb; cut += 5)
			at_same_pair(a, na, b, cut, "hostile text cut", i * 1000 + cut);
	}
	/* AN_FAST_TEXT_MAX + 64 bytes of text, plain (from the event) and
	 * escaped (too long to decode: the tree path's) */
	for (int escaped = 0; escaped < 2; escaped++) {
		of_long_text(big, sizeof big, AN_FAST_TEXT_MAX + 64, escaped);
		size_t nb = at_delta(b, sizeof b, "text", big);
		at_same_pair(a, na, b, nb, "long text", (size_t)escaped);
		enum uev_text kind;
		cr_assert_eq(at_tpl_takes(a, na, b, nb, &kind), !escaped);
	}
}

static int at_takes(const char *learn, size_t ln, const char *data, size_t n)
{
	enum uev_text kind;
	return at_tpl_takes(learn, ln, data, n, &kind);
}

Test(codec_anthropic_tpl, mutated_after_themselves_unchanged)
{
	size_t pairs, matched;
	at_use();
	matched = of_mutated_after_themselves(at_streams, sizeof at_streams / sizeof at_streams[0],
					      AT_MUTATIONS, 31, at_same_pair, at_takes, &pairs);
	cr_assert(matched >= 50, "the template matched %zu of %zu mutated events", matched, pairs);
}

Test(codec_anthropic_tpl, stream_deltas_are_read_by_the_template)
{
	struct pc_dec d = { .codec = &pc_anthropic };
	struct uev_sink s;
	of_quiet_sink(&s);
	char delta[256];
	cr_assert_eq(pc_anthropic.dec_init(&d), 0);
	cr_assert_eq(pc_anthropic.on_event(&d, "message_start", 13, at_msg_start,
					   strlen(at_msg_start), &s), 0);
	cr_assert_eq(pc_anthropic.on_event(&d, "content_block_start", 19, at_block_start,
					   strlen(at_block_start), &s), 0);
	for (int i = 0; i < AT_STREAM_DELTAS; i++) {
		size_t n = at_delta(delta, sizeof delta, "text", i % 2 ? " two" : "one");
		cr_assert_eq(pc_anthropic.on_event(&d, "content_block_delta", 19, delta, n, &s), 0);
	}
	cr_assert_eq(an_dec_tpl_hits(&d), AT_STREAM_DELTAS - 1, "%lu of %d matched",
		     an_dec_tpl_hits(&d), AT_STREAM_DELTAS);
	pc_anthropic.dec_free(&d);
}
