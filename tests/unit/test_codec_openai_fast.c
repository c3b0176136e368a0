/*
 * test_codec_openai_fast.c — the OpenAI decoder's fast path
 * (codec_openai_fast.c) changes nothing anybody can see. Every event of
 * every recorded OpenAI stream, thousands of seeded mutations of them, and
 * a list of tricky chunks decode to the same sink calls, with the same
 * bytes, in the same order, with the same return codes, as through
 * oa_on_event_slow (jansson only) — also when the sink fails. And the fast
 * path does take the common chunks: a path that declined everything would
 * pass the rest of this file. Hand-written corner cases are in
 * test_codec_openai_fast_cases.c.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fast_util.h"
#include "fx.h"
#include "jmut.h"

/* Bound for a whole mutated stream: the largest fixture plus a mutation. */
#define OF_MAX_STREAM (64u << 10)
/* Seeded variants of each fixture event, and of each whole stream. */
#define OF_EVENT_MUTATIONS 150
#define OF_STREAM_MUTATIONS 200

static const char *const of_fixtures[] = {
	"openai_stream_basic.sse",        "openai_stream_usage.sse",
	"openai_stream_tools.sse",        "openai_stream_tools_parallel.sse",
	"openai_stream_n3_refusal.sse",
};
#define OF_N_FIXTURES (sizeof of_fixtures / sizeof of_fixtures[0])

/* ---- recorded streams and their mutations ------------------------------------------ */

Test(codec_openai_fast, fixture_streams_unchanged)
{
	char path[512];

	for (size_t f = 0; f < OF_N_FIXTURES; f++) {
		size_t len;
		char *b = fx_read(fx_path(of_fixtures[f], path, sizeof path), &len);
		cr_assert_not_null(b, "%s", path);
		of_same_stream(b, len, of_fixtures[f], 0);
		free(b);
	}
}

/* Each event alone and after the fixture's first one, mutated. */
Test(codec_openai_fast, mutated_fixture_events_unchanged)
{
	static char out[JM_MAX];
	struct jm_lines l;
	unsigned seed = 11;
	size_t variants = 0, taken = 0;

	for (size_t f = 0; f < OF_N_FIXTURES; f++) {
		jm_lines(of_fixtures[f], &l);
		for (size_t i = 0; i < l.count; i++) {
			for (int m = 0; m <= OF_EVENT_MUTATIONS; m++) {
				size_t n = m ? jm_mutate(l.p[i], l.n[i], out, &seed) : l.n[i];
				const char *ev[2] = { l.p[0], m ? out : l.p[i] };
				size_t evn[2] = { l.n[0], n };
				of_same_events(ev + 1, evn + 1, 1, of_fixtures[f], i);
				of_same_events(ev, evn, 2, of_fixtures[f], i);
				taken += (size_t)of_takes(ev[1], n);
				variants++;
			}
		}
		jm_lines_free(&l);
	}
	/* the mutations must reach the fast path's acceptance too, not only
	 * its refusals: about a third of the lines are taken unmutated */
	cr_assert_gt(taken, variants / 20, "fast path took %zu of %zu", taken, variants);
}

/* Whole streams through the framing, one event of each mutated. */
Test(codec_openai_fast, mutated_streams_unchanged)
{
	static char out[JM_MAX], sse[OF_MAX_STREAM];
	struct jm_lines l;
	unsigned seed = 5;

	for (size_t f = 0; f < OF_N_FIXTURES; f++) {
		jm_lines(of_fixtures[f], &l);
		for (int m = 0; m < OF_STREAM_MUTATIONS; m++) {
			size_t at = (size_t)rand_r(&seed) % l.count, len = 0;
			for (size_t i = 0; i < l.count; i++) {
				size_t n = i == at ? jm_mutate(l.p[i], l.n[i], out, &seed) : l.n[i];
				memcpy(sse + len, "data: ", 6);
				memcpy(sse + len + 6, i == at ? out : l.p[i], n);
				memcpy(sse + len + 6 + n, "\n\n", 2);
				len += n + 8;
			}
			cr_assert_leq(len, sizeof sse);
			of_same_stream(sse, len, of_fixtures[f], (size_t)m);
		}
		jm_lines_free(&l);
	}
}

/* ---- what the fast path takes -------------------------------------------------------- */

/* Every chunk of the plain streams, the usage one included; in the
 * others, the chunks of choice 0 that carry content or a finish. */
Test(codec_openai_fast, takes_the_common_chunks)
{
	static const struct {
		const char *file;
		size_t declined; /* besides [DONE] */
	} want[] = {
		{ "openai_stream_basic.sse", 0 },
		{ "openai_stream_usage.sse", 0 },
		{ "openai_stream_tools.sse", 8 },           /* with tool calls */
		{ "openai_stream_tools_parallel.sse", 22 }, /* with tool calls */
		{ "openai_stream_n3_refusal.sse", 60 },     /* choices 1 and 2 */
	};
	struct jm_lines l;

	for (size_t f = 0; f < sizeof want / sizeof want[0]; f++) {
		size_t declined = 0;
		jm_lines(want[f].file, &l);
		for (size_t i = 0; i + 1 < l.count; i++) {
			int took = of_takes(l.p[i], l.n[i]);
			declined += !took;
			/* content chunks of choice 0 are always taken */
			if (strstr(l.p[i], "\"index\":0,\"delta\":{\"content\":"))
				cr_assert(took, "%s line %zu declined: %s", want[f].file, i, l.p[i]);
		}
		cr_assert_eq(declined, want[f].declined, "%s: %zu declined", want[f].file, declined);
		jm_lines_free(&l);
	}
}
