/*
 * test_codec_gemini_tpl.c — the Gemini decoder's template (the last
 * event's part texts and usage counts as holes: codec_gemini_fast.c)
 * against the tree path: events after a learnt one with new texts and
 * counts, hostile texts and cuts, counts of every kind (reals, negatives,
 * past 2^32 and 2^63), every recorded event mutated after itself; the
 * template reads a stream's events, and never learns from a finish or
 * from an event with more holes than it keeps.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fast_util.h"
#include "jmut.h"
#include "sidecar/codec_gemini.h"

/* Seeded variants of each recorded event, each read after the event. */
#define GT_MUTATIONS 600
/* Events in the decoder-level stream. */
#define GT_STREAM_EVENTS 40
#define GT_EVENT_MAX (12u << 10)

static const char *const gt_streams[] = {
	"gemini_stream.sse",
	"gemini_stream_utf8.sse",
	"gemini_stream_thinking_function_call.sse",
};

/* mockllm's event: one part (thought or not) with text (a raw JSON string
 * body), the counts as given (raw JSON numbers), and an optional finish. */
static size_t gt_event(char *buf, size_t cap, const char *text, int thought, const char *prompt,
		       const char *cand, const char *finish)
{
	int n = snprintf(buf, cap,
			 "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"%s\"%s}],\"role\":\"model\"},"
			 "%s%s%s\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":%s,"
			 "\"candidatesTokenCount\":%s,\"totalTokenCount\":%s},\"modelVersion\":\"gemini-x\","
			 "\"responseId\":\"mock7\"}",
			 text, thought ? ",\"thought\":true" : "", finish ? "\"finishReason\":\"" : "",
			 finish ? finish : "", finish ? "\"," : "", prompt, cand, cand);
	cr_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static void gt_use(void)
{
	of_use(&pc_gemini, pc_gemini.on_event, gm_on_event_slow);
}

static void gt_same_pair(const char *learn, size_t ln, const char *data, size_t n,
			 const char *what, size_t which)
{
	const char *ev[2] = { learn, data };
	size_t evn[2] = { ln, n };
	of_same_events(ev, evn, 2, what, which);
}

/* Does the template learnt from learn match data? */
static int gt_takes(const char *learn, size_t ln, const char *data, size_t n, struct gm_fast *f)
{
	static struct gm_tpl t;
	jtpl_clear(&t.t);
	if (gm_fast_scan(learn, ln, f))
		gm_tpl_learn(&t, learn, ln, f);
	return gm_tpl_match(&t, data, n, f);
}

Test(codec_gemini_tpl, takes_next_events_with_new_texts_and_counts)
{
	static struct gm_fast f;
	static const char *const texts[] = { "Hello", " world", "", "caf\\u00e9", "\\n", "\xe2\x82\xac",
					     "a\\\"b" };
	char a[512], b[512], c1[16], c2[16];
	gt_use();
	for (int thought = 0; thought < 2; thought++) {
		for (size_t i = 0; i + 1 < sizeof texts / sizeof texts[0]; i++) {
			snprintf(c1, sizeof c1, "%zu", i + 1);
			snprintf(c2, sizeof c2, "%zu", i + 20);
			size_t na = gt_event(a, sizeof a, texts[i], thought, "3", c1, NULL);
			size_t nb = gt_event(b, sizeof b, texts[i + 1], thought, "3", c2, NULL);
			cr_assert(gt_takes(a, na, b, nb, &f), "not taken after %s: %s", a, b);
			cr_assert_eq(f.completion, i + 20);
			cr_assert_eq(f.n, texts[i + 1][0] ? 1u : 0u);
			if (f.n)
				cr_assert_eq(f.kind[0], thought ? UEV_REASONING : UEV_TEXT);
			gt_same_pair(a, na, b, nb, "next event", (size_t)thought * 100 + i);
		}
	}
	/* the last event, with a finish reason, is matched by no template and
	 * teaches none */
	size_t na = gt_event(a, sizeof a, "x", 0, "3", "4", NULL);
	size_t nb = gt_event(b, sizeof b, "y", 0, "3", "5", "STOP");
	cr_assert_not(gt_takes(a, na, b, nb, &f));
	cr_assert_not(gt_takes(b, nb, b, nb, &f), "learnt from a finish");
	gt_same_pair(a, na, b, nb, "finish", 0);
}

Test(codec_gemini_tpl, counts_of_every_kind)
{
	static struct gm_fast f;
	static const struct {
		const char *v;
		int taken;
		uint32_t want;
	} counts[] = {
		{ "0", 1, 0 },          { "-5", 1, 0 },         { "4294967295", 1, UINT32_MAX },
		{ "4294967296", 1, UINT32_MAX }, { "9223372036854775807", 1, UINT32_MAX },
		{ "9223372036854775808", 0, 0 }, { "3.5", 0, 0 }, { "1e2", 0, 0 },
		{ "-0", 1, 0 },         { "01", 0, 0 },         { "-", 0, 0 },
		{ "\"7\"", 0, 0 },      { "null", 0, 0 },
	};
	char a[512], b[512];
	gt_use();
	size_t na = gt_event(a, sizeof a, "x", 0, "3", "4", NULL);
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		size_t nb = gt_event(b, sizeof b, "y", 0, counts[i].v, counts[i].v, NULL);
		cr_assert_eq(gt_takes(a, na, b, nb, &f), counts[i].taken, "count %s", counts[i].v);
		if (counts[i].taken)
			cr_assert(f.prompt == counts[i].want && f.completion == counts[i].want,
				  "count %s read as %u/%u", counts[i].v, f.prompt, f.completion);
		gt_same_pair(a, na, b, nb, "count", i);
	}
}

Test(codec_gemini_tpl, hostile_texts_unchanged)
{
	static char a[512], b[GT_EVENT_MAX], big[GT_EVENT_MAX - 1024];
	static struct gm_fast f;
	gt_use();
	size_t na = gt_event(a, sizeof a, "plain", 0, "3", "4", NULL);
	for (size_t i = 0; i < of_n_hostile; i++) {
		size_t nb = gt_event(b, sizeof b, of_hostile[i], 0, "3", "5", NULL);
		gt_same_pair(a, na, b, nb, "hostile text", i);
		for (size_t cut = 30; cut < nb; cut += 7)
			gt_same_pair(a, na, b, cut, "hostile text cut", i * 1000 + cut);
	}
	for (int escaped = 0; escaped < 2; escaped++) {
		of_long_text(big, sizeof big, GM_FAST_TEXT_MAX + 64, escaped);
		size_t nb = gt_event(b, sizeof b, big, 0, "3", "5", NULL);
		gt_same_pair(a, na, b, nb, "long text", (size_t)escaped);
		cr_assert_eq(gt_takes(a, na, b, nb, &f), !escaped);
	}
}

Test(codec_gemini_tpl, no_template_past_its_holes)
{
	static struct gm_fast f;
	/* nine numbers in usageMetadata and a text: ten holes */
	static const char many[] =
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}],\"usageMetadata\":{"
		"\"promptTokenCount\":1,\"candidatesTokenCount\":2,\"totalTokenCount\":3,\"a\":4,\"b\":5,"
		"\"c\":6,\"d\":7,\"e\":8,\"f\":9}}";
	gt_use();
	cr_assert(gm_fast_scan(many, sizeof many - 1, &f));
	cr_assert(f.holes_full);
	cr_assert_not(gt_takes(many, sizeof many - 1, many, sizeof many - 1, &f));
	gt_same_pair(many, sizeof many - 1, many, sizeof many - 1, "many holes", 0);
}

static int gt_takes_any(const char *learn, size_t ln, const char *data, size_t n)
{
	static struct gm_fast f;
	return gt_takes(learn, ln, data, n, &f);
}

Test(codec_gemini_tpl, mutated_after_themselves_unchanged)
{
	size_t pairs, matched;
	gt_use();
	matched = of_mutated_after_themselves(gt_streams, sizeof gt_streams / sizeof gt_streams[0],
					      GT_MUTATIONS, 37, gt_same_pair, gt_takes_any, &pairs);
	cr_assert(matched >= 50, "the template matched %zu of %zu mutated events", matched, pairs);
}

Test(codec_gemini_tpl, stream_events_are_read_by_the_template)
{
	struct pc_dec d = { .codec = &pc_gemini };
	struct uev_sink s;
	char ev[512], cand[16];
	of_quiet_sink(&s);
	cr_assert_eq(pc_gemini.dec_init(&d), 0);
	for (int i = 0; i < GT_STREAM_EVENTS; i++) {
		snprintf(cand, sizeof cand, "%d", i + 1);
		size_t n = gt_event(ev, sizeof ev, i % 2 ? " two" : "one", 0, "3", cand, NULL);
		cr_assert_eq(pc_gemini.on_event(&d, NULL, 0, ev, n, &s), 0);
	}
	cr_assert_eq(gm_dec_tpl_hits(&d), GT_STREAM_EVENTS - 1, "%lu of %d matched",
		     gm_dec_tpl_hits(&d), GT_STREAM_EVENTS);
	pc_gemini.dec_free(&d);
}
