/*
 * test_codec_anthropic_fast.c — the Anthropic decoder's fast path
 * (codec_anthropic_fast.c) against its tree path: whole recorded streams,
 * every recorded event and seeded mutations of it after each kind of block
 * start, and hand-written corners (escapes, \u0000, repeated and escaped
 * keys, wrong types, other deltas, the "error" event name, text past the
 * decode buffer). The client must see the same either way
 * (codec_fast_util.h); the fast path must take the text and thinking
 * deltas of the recorded streams.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fast_util.h"
#include "jmut.h"
#include "sidecar/codec_anthropic.h"

static const char *const ac_streams[] = {
	"anthropic_stream_basic.sse",
	"anthropic_stream_tools.sse",
	"anthropic_stream_thinking_refusal.sse",
	"anthropic_stream_error.sse",
};

/* Block starts that set the decoder's state before the event under test. */
static const char ac_msg_start[] =
	"{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}";
static const char ac_start_tool[] =
	"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\","
	"\"name\":\"f\",\"input\":{}}}";
static const char *const ac_starts[] = {
	"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
	"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}",
	ac_start_tool,
};
static const char ac_stop[] = "{\"type\":\"message_stop\"}";

static void ac_use(void)
{
	of_use(&pc_anthropic, pc_anthropic.on_event, an_on_event_slow);
}

/* The event (named `name`) after message_start and each kind of block
 * start, then message_stop: both paths must report the same. */
static void ac_same(const char *name, const char *data, size_t n, const char *what, size_t which)
{
	for (size_t b = 0; b < sizeof ac_starts / sizeof ac_starts[0]; b++) {
		const char *names[] = { "message_start", "content_block_start", name, "message_stop" };
		const char *ev[] = { ac_msg_start, ac_starts[b], data, ac_stop };
		const size_t len[] = { strlen(ac_msg_start), strlen(ac_starts[b]), n, strlen(ac_stop) };
		of_same_named(names, ev, len, 4, what, which);
	}
}

static int ac_takes(const char *data, size_t n)
{
	static struct an_fast f;
	return an_fast_delta(data, n, &f);
}

Test(codec_anthropic_fast, whole_recorded_streams_decode_the_same)
{
	ac_use();
	of_same_fixtures(ac_streams, sizeof ac_streams / sizeof ac_streams[0]);
}

Test(codec_anthropic_fast, takes_every_recorded_text_and_thinking_delta)
{
	size_t deltas = 0;
	for (size_t i = 0; i < sizeof ac_streams / sizeof ac_streams[0]; i++) {
		struct jm_lines l;
		jm_lines(ac_streams[i], &l);
		for (size_t k = 0; k < l.count; k++) {
			int delta = strstr(l.p[k], "\"text_delta\"") || strstr(l.p[k], "\"thinking_delta\"");
			cr_assert_eq(ac_takes(l.p[k], l.n[k]), delta, "%s: %.*s", ac_streams[i],
				     (int)l.n[k], l.p[k]);
			deltas += (size_t)delta;
		}
		jm_lines_free(&l);
	}
	cr_assert_geq(deltas, 10, "only %zu deltas recorded", deltas);
}

Test(codec_anthropic_fast, recorded_events_and_their_mutations_decode_the_same)
{
	static char mut[JM_MAX];
	static const char *const names[] = { "content_block_delta", NULL, "error", "ping" };
	unsigned seed = 5;
	size_t cases = 0;

	ac_use();
	for (size_t i = 0; i < sizeof ac_streams / sizeof ac_streams[0]; i++) {
		struct jm_lines l;
		jm_lines(ac_streams[i], &l);
		for (size_t k = 0; k < l.count; k++) {
			for (size_t nm = 0; nm < sizeof names / sizeof names[0]; nm++)
				ac_same(names[nm], l.p[k], l.n[k], ac_streams[i], k);
			for (int m = 0; m < 25; m++) {
				size_t n = jm_mutate(l.p[k], l.n[k], mut, &seed);
				ac_same(names[m % 2], mut, n, "mutation", cases++);
			}
		}
		jm_lines_free(&l);
	}
	cr_assert_gt(cases, 1000);
}

/* A content_block_delta with this delta. */
#define AC_D(delta) "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":" delta "}"

Test(codec_anthropic_fast, corners_decode_the_same)
{
	static const struct {
		const char *s;
		int take; /* the fast path must take it (1) or decline it (0) */
	} cases[] = {
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"hi\"}"), 1 },
		{ AC_D("{\"text\":\"type after text\",\"type\":\"text_delta\"}"), 1 },
		{ AC_D("{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}"), 1 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"\"}"), 1 },
		{ AC_D("{\"type\":\"text_delta\"}"), 1 },
		{ AC_D("{\"type\":\"text_delta\",\"thinking\":\"not read\",\"text\":\"read\"}"), 1 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"esc \\\"q\\\" \\n \\u00e9 \\ud83d\\ude00\"}"), 1 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"nul \\u0000 inside\"}"), 1 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"x\",\"citations\":[{\"a\":1}]}"), 1 },
		{ "{\"index\":7,\"delta\":{\"type\":\"text_delta\",\"text\":\"no index needed\"},"
		  "\"type\":\"content_block_delta\"}", 1 },
		{ "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"no index\"}}", 1 },
		{ "{\"type\":\"content_block_delta\",\"extra\":{\"deep\":[1,2,{\"x\":null}]},"
		  "\"delta\":{\"type\":\"text_delta\",\"text\":\"skipped member\"}}", 1 },
		/* declined: other deltas and events */
		{ AC_D("{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}"), 0 },
		{ AC_D("{\"type\":\"signature_delta\",\"signature\":\"abc\"}"), 0 },
		{ AC_D("{\"type\":\"citations_delta\",\"citation\":{}}"), 0 },
		{ AC_D("{\"text\":\"no type\"}"), 0 },
		{ AC_D("{\"type\":5,\"text\":\"x\"}"), 0 },
		{ AC_D("{\"type\":\"text_\\u0064elta\",\"text\":\"escaped type\"}"), 0 },
		{ AC_D("null"), 0 },
		{ AC_D("[]"), 0 },
		{ "{\"type\":\"content_block_delta\",\"index\":0}", 0 },
		{ "{\"type\":\"content_block_stop\",\"index\":0}", 0 },
		{ "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}", 0 },
		{ "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", 0 },
		{ "{\"type\":\"content_block_\\u0064elta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}", 0 },
		{ "{\"delta\":{\"type\":\"text_delta\",\"text\":\"no type at all\"}}", 0 },
		{ "{\"type\":null,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}", 0 },
		/* declined: wrong types and repeated keys the tree reads */
		{ AC_D("{\"type\":\"text_delta\",\"text\":5}"), 0 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":null}"), 0 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"a\",\"text\":\"b\"}"), 0 },
		{ AC_D("{\"type\":\"text_delta\",\"type\":\"thinking_delta\",\"thinking\":\"x\"}"), 0 },
		{ "{\"type\":\"content_block_delta\",\"type\":\"content_block_delta\","
		  "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}", 0 },
		{ "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"},"
		  "\"delta\":{\"type\":\"text_delta\",\"text\":\"b\"}}", 0 },
		/* declined: what jscan refuses */
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"cut"), 0 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"\\ud800\"}"), 0 },
		{ AC_D("{\"type\":\"text_delta\",\"text\":\"x\"}") " trailing", 0 },
		{ "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\",}}", 0 },
		{ "", 0 },
		{ "[DONE]", 0 },
	};

	ac_use();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].s);
		cr_assert_eq(ac_takes(cases[i].s, n), cases[i].take, "case %zu: %s", i, cases[i].s);
		ac_same("content_block_delta", cases[i].s, n, cases[i].s, i);
		ac_same(NULL, cases[i].s, n, cases[i].s, i);
		ac_same("error", cases[i].s, n, cases[i].s, i);
	}
}

Test(codec_anthropic_fast, long_text_is_taken_plain_and_declined_escaped_past_the_buffer)
{
	static const char pre[] = "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"", suf[] = "\"}}";
	char *plain = of_long_event(pre, 3 * AN_FAST_TEXT_MAX, 0, suf);
	char *esc = of_long_event(pre, 3 * AN_FAST_TEXT_MAX, 1, suf);

	ac_use();
	cr_assert_eq(ac_takes(plain, strlen(plain)), 1);
	cr_assert_eq(ac_takes(esc, strlen(esc)), 0);
	ac_same("content_block_delta", plain, strlen(plain), "long plain", 0);
	ac_same("content_block_delta", esc, strlen(esc), "long escaped", 0);
	free(plain);
	free(esc);
}
