/*
 * test_codec_gemini_fast.c — the Gemini decoder's fast path
 * (codec_gemini_fast.c) against its tree path: whole recorded streams,
 * every recorded event and seeded mutations of it, alone, before a final
 * event and after a text one, and hand-written corners (thoughts, several
 * parts, escapes, usage and finish shapes, repeated keys, function calls,
 * errors, prompt feedback). The client must see the same either way
 * (codec_fast_util.h); the fast path must take the recorded text events.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fast_util.h"
#include "jmut.h"
#include "sidecar/codec_gemini.h"

static const char *const gc_streams[] = {
	"gemini_stream.sse",
	"gemini_stream_utf8.sse",
	"gemini_stream_thinking_function_call.sse",
	"gemini_stream_prompt_blocked.sse",
	"gemini_stream_error_midstream.sse",
};

static const char gc_text[] =
	"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"before \"}],\"role\":\"model\"},\"index\":0}]}";
static const char gc_final[] =
	"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"end\"}],\"role\":\"model\"},"
	"\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":4,"
	"\"candidatesTokenCount\":9,\"totalTokenCount\":13}}";

static void gc_use(void)
{
	of_use(&pc_gemini, pc_gemini.on_event, gm_on_event_slow);
}

/* The event alone, before a final one, and after a text one. */
static void gc_same(const char *data, size_t n, const char *what, size_t which)
{
	const char *names[] = { NULL, NULL };
	const char *one[] = { data };
	const size_t one_n[] = { n };
	const char *before[] = { data, gc_final };
	const size_t before_n[] = { n, strlen(gc_final) };
	const char *after[] = { gc_text, data };
	const size_t after_n[] = { strlen(gc_text), n };

	of_same_named(names, one, one_n, 1, what, which);
	of_same_named(names, before, before_n, 2, what, which);
	of_same_named(names, after, after_n, 2, what, which);
}

static int gc_takes(const char *data, size_t n)
{
	static struct gm_fast f;
	return gm_fast_scan(data, n, &f);
}

Test(codec_gemini_fast, whole_recorded_streams_decode_the_same)
{
	gc_use();
	of_same_fixtures(gc_streams, sizeof gc_streams / sizeof gc_streams[0]);
}

/* Every recorded event whose candidate carries only text parts is taken;
 * function calls, errors and a blocked prompt are left to the tree. */
Test(codec_gemini_fast, takes_every_recorded_text_event)
{
	size_t taken = 0;
	for (size_t i = 0; i < sizeof gc_streams / sizeof gc_streams[0]; i++) {
		struct jm_lines l;
		jm_lines(gc_streams[i], &l);
		for (size_t k = 0; k < l.count; k++) {
			const char *p = l.p[k];
			int text_only = strstr(p, "\"candidates\"") && !strstr(p, "functionCall") &&
					!strstr(p, "\"error\"");
			cr_assert_eq(gc_takes(p, l.n[k]), text_only, "%s: %.*s", gc_streams[i],
				     (int)l.n[k], p);
			taken += (size_t)text_only;
		}
		jm_lines_free(&l);
	}
	cr_assert_geq(taken, 10, "only %zu text events recorded", taken);
}

Test(codec_gemini_fast, recorded_events_and_their_mutations_decode_the_same)
{
	static char mut[JM_MAX];
	unsigned seed = 9;
	size_t cases = 0;

	gc_use();
	for (size_t i = 0; i < sizeof gc_streams / sizeof gc_streams[0]; i++) {
		struct jm_lines l;
		jm_lines(gc_streams[i], &l);
		for (size_t k = 0; k < l.count; k++) {
			gc_same(l.p[k], l.n[k], gc_streams[i], k);
			for (int m = 0; m < 30; m++) {
				size_t n = jm_mutate(l.p[k], l.n[k], mut, &seed);
				gc_same(mut, n, "mutation", cases++);
			}
		}
		jm_lines_free(&l);
	}
	cr_assert_gt(cases, 300);
}

/* A candidate 0 with these parts. */
#define GC_P(parts) "{\"candidates\":[{\"content\":{\"parts\":[" parts "],\"role\":\"model\"},\"index\":0}]}"
/* A candidate 0 with this body. */
#define GC_C(cand) "{\"candidates\":[" cand "]}"

Test(codec_gemini_fast, corners_decode_the_same)
{
	static const struct {
		const char *s;
		int take; /* the fast path must take it (1) or decline it (0) */
	} cases[] = {
		{ GC_P("{\"text\":\"hi\"}"), 1 },
		{ GC_P("{\"text\":\"a\"},{\"text\":\"\"},{\"text\":\"b\",\"thought\":false}"), 1 },
		{ GC_P("{\"text\":\"thinking\",\"thought\":true},{\"text\":\"answer\"}"), 1 },
		{ GC_P("{\"thought\":true,\"text\":\"thought first\"}"), 1 },
		{ GC_P("{\"text\":\"x\",\"thoughtSignature\":\"c2ln\"}"), 1 },
		{ GC_P("{\"thoughtSignature\":\"only a signature\"}"), 1 },
		{ GC_P("{\"text\":\"esc \\\"q\\\" \\n \\u00e9 \\ud83d\\ude00 \\u0000\"}"), 1 },
		{ GC_P("{\"text\":\"\\n\"},{\"text\":\"\\t\"},{\"text\":\"plain\"}"), 1 },
		{ GC_P(""), 1 },
		{ GC_C("{\"content\":{\"role\":\"model\"},\"finishReason\":\"STOP\"}"), 1 },
		{ GC_C("{\"finishReason\":\"MAX_TOKENS\",\"content\":{\"parts\":[{\"text\":\"cut\"}]}}"), 1 },
		{ GC_C("{\"finishReason\":\"SAFETY\"}"), 1 },
		{ GC_C("{\"finishReason\":\"SOMETHING_NEW\"}"), 1 },
		{ GC_C("{\"content\":{\"parts\":[{\"text\":\"a\"}]}},{\"content\":{\"parts\":[{\"text\":\"second "
		       "candidate\"}]}}"), 1 },
		{ "{\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":3},"
		  "\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"usage first\"}]}}]}", 1 },
		{ "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}],\"usageMetadata\":"
		  "{\"promptTokenCount\":-2,\"candidatesTokenCount\":4294967296,\"thoughtsTokenCount\":7}}", 1 },
		{ "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}],\"usageMetadata\":{}}", 1 },
		{ "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"safetyRatings\":[{\"a\":1}]}],"
		  "\"modelVersion\":\"g\",\"responseId\":\"r\",\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}", 1 },
		/* declined */
		{ GC_P("{\"functionCall\":{\"name\":\"f\",\"args\":{}}}"), 0 },
		{ GC_P("{\"text\":\"a\",\"functionCall\":null}"), 0 },
		{ GC_P("{\"text\":5}"), 0 },
		{ GC_P("{\"text\":null}"), 0 },
		{ GC_P("{\"text\":\"a\",\"text\":\"b\"}"), 0 },
		{ GC_P("{\"text\":\"a\",\"thought\":1}"), 0 },
		{ GC_P("{\"text\":\"a\",\"thought\":true,\"thought\":false}"), 0 },
		{ GC_P("\"not a part\""), 0 },
		{ GC_P("{\"text\":\"1\"},{\"text\":\"2\"},{\"text\":\"3\"},{\"text\":\"4\"},{\"text\":\"5\"},"
		       "{\"text\":\"6\"},{\"text\":\"7\"},{\"text\":\"8\"},{\"text\":\"9\"}"), 0 },
		{ GC_C("{\"content\":{\"parts\":{}}}"), 0 },
		{ GC_C("{\"content\":null}"), 0 },
		{ GC_C("{\"content\":{\"parts\":[]},\"content\":{\"parts\":[]}}"), 0 },
		{ GC_C("{\"finishReason\":null}"), 0 },
		{ GC_C("{\"finishReason\":\"ST\\u004fP\"}"), 0 },
		{ GC_C("{\"finishReason\":\"STOP\",\"finishReason\":\"SAFETY\"}"), 0 },
		{ GC_C("{\"finishReason\":\"" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\"}"), 0 },
		{ GC_C("\"not a candidate\""), 0 },
		{ GC_C(""), 0 },
		{ "{\"candidates\":{}}", 0 },
		{ "{\"candidates\":[],\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}", 0 },
		{ "{\"promptFeedback\":{\"blockReason\":\"OTHER\"}}", 0 },
		{ "{\"usageMetadata\":{\"promptTokenCount\":1}}", 0 },
		{ "{\"candidates\":[{}],\"usageMetadata\":{\"promptTokenCount\":1.5}}", 0 },
		{ "{\"candidates\":[{}],\"usageMetadata\":{\"promptTokenCount\":\"1\"}}", 0 },
		{ "{\"candidates\":[{}],\"usageMetadata\":null}", 0 },
		{ "{\"candidates\":[{}],\"usageMetadata\":{\"promptTokenCount\":1,\"promptTokenCount\":2}}", 0 },
		{ "{\"candidates\":[{}],\"candidates\":[{}]}", 0 },
		{ "{\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}", 0 },
		{ "{\"candidates\":[{}],\"error\":null}", 0 },
		{ "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"cut\"", 0 },
		{ "{\"candidates\":[{}]} trailing", 0 },
		{ "[{\"candidates\":[{}]}]", 0 },
		{ "[DONE]", 0 },
	};

	gc_use();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].s);
		cr_assert_eq(gc_takes(cases[i].s, n), cases[i].take, "case %zu: %s", i, cases[i].s);
		gc_same(cases[i].s, n, cases[i].s, i);
	}
}

Test(codec_gemini_fast, long_text_is_taken_plain_and_declined_escaped_past_the_buffer)
{
	static const char pre[] = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"", suf[] = "\"}]}}]}";
	char *plain = of_long_event(pre, 3 * GM_FAST_TEXT_MAX, 0, suf);
	char *esc = of_long_event(pre, 3 * GM_FAST_TEXT_MAX, 1, suf);

	gc_use();
	cr_assert_eq(gc_takes(plain, strlen(plain)), 1);
	cr_assert_eq(gc_takes(esc, strlen(esc)), 0);
	gc_same(plain, strlen(plain), "long plain", 0);
	gc_same(esc, strlen(esc), "long escaped", 0);
	free(plain);
	free(esc);
}
