/*
 * test_codec_openai_tpl.c — the OpenAI decoder's template
 * (codec_openai_tpl.c) changes nothing anybody can see, and takes the
 * chunks it is for. A chunk read after another one, mutated anywhere (in
 * the template's holes above all) or given hostile content, decodes to the
 * same sink calls, bytes and return codes as through oa_on_event_slow; a
 * stream of content chunks is read almost wholly by the template, with or
 * without a varying obfuscation field; and a chunk that said more than its
 * content (a finish reason, usage) is never learnt.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fast_util.h"
#include "jmut.h"
#include "sidecar/codec_openai.h"
#include "sidecar/pcodec.h"

/* Seeded variants of each fixture event, each read after the event. */
#define OT_MUTATIONS 150
/* Content chunks in the decoder-level stream. */
#define OT_STREAM_CHUNKS 50
/* Room for one test chunk, long contents included. */
#define OT_CHUNK_MAX (24u << 10)

static const char *const ot_fixtures[] = {
	"openai_stream_basic.sse",        "openai_stream_usage.sse",
	"openai_stream_tools.sse",        "openai_stream_tools_parallel.sse",
	"openai_stream_n3_refusal.sse",
};
#define OT_N_FIXTURES (sizeof ot_fixtures / sizeof ot_fixtures[0])

/* mockllm's chunk with content (a JSON string's raw body), an optional
 * obfuscation value after choices, and an optional finish reason. */
static size_t ot_chunk(char *buf, size_t cap, const char *content, const char *obf,
		       const char *finish)
{
	char fin[64];
	snprintf(fin, sizeof fin, finish ? "\"%s\"" : "null", finish);
	int n = snprintf(buf, cap,
			 "{\"id\":\"chatcmpl-mock7\",\"object\":\"chat.completion.chunk\","
			 "\"created\":1796485715,\"model\":\"m\",\"system_fingerprint\":\"fp_mockllm\","
			 "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"logprobs\":null,"
			 "\"finish_reason\":%s}]%s%s%s}",
			 content, fin, obf ? ",\"obfuscation\":\"" : "", obf ? obf : "", obf ? "\"" : "");
	cr_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* learn then data, through both decoders, compared. */
static void ot_same_pair(const char *learn, size_t ln, const char *data, size_t n,
			 const char *what, size_t which)
{
	const char *ev[2] = { learn, data };
	size_t evn[2] = { ln, n };
	of_same_events(ev, evn, 2, what, which);
}

/* ---- what the template takes ------------------------------------------------------------ */

/* Contents (raw JSON string bodies) a model sends, one after the other. */
static const char *const ot_contents[] = {
	"Hello",       " world",      "",           "caf\\u00e9", "\\n\\t",    "\xe6\x97\xa5\xe6\x9c\xac",
	"a\\\"b\\\\c", "\\ud83d\\ude00", "</s>",    " 42.",       "\\u0000",   "x",
};
#define OT_N_CONTENTS (sizeof ot_contents / sizeof ot_contents[0])

Test(codec_openai_tpl, takes_each_next_content_chunk)
{
	static char a[OT_CHUNK_MAX], b[OT_CHUNK_MAX];
	static const char *const obf[] = { NULL, "k3", "Zq9xY", "" };

	for (size_t o = 0; o < sizeof obf / sizeof obf[0]; o++) {
		for (size_t i = 0; i + 1 < OT_N_CONTENTS; i++) {
			/* obfuscation differs from chunk to chunk, as OpenAI's does */
			const char *o2 = obf[o] ? obf[(o + 1) % 4 ? (o + 1) % 4 : 1] : NULL;
			size_t na = ot_chunk(a, sizeof a, ot_contents[i], obf[o], NULL);
			size_t nb = ot_chunk(b, sizeof b, ot_contents[i + 1], o2, NULL);
			cr_assert(of_tpl_takes(a, na, b, nb), "not taken after \"%s\": %s", a, b);
			ot_same_pair(a, na, b, nb, "content pair", o * 100 + i);
		}
	}
}

/* What the decoder does with a stream: the role chunk, content chunks,
 * the finish chunk. Every content chunk after the first that follows the
 * role chunk is the template's. */
Test(codec_openai_tpl, stream_is_read_by_the_template)
{
	static char buf[64u << 10];
	char chunk[512];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof buf - n,
			      "data: {\"id\":\"chatcmpl-mock7\",\"object\":\"chat.completion.chunk\","
			      "\"created\":1796485715,\"model\":\"m\",\"system_fingerprint\":\"fp_mockllm\","
			      "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
			      "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
	for (int i = 0; i < OT_STREAM_CHUNKS; i++) {
		size_t c = ot_chunk(chunk, sizeof chunk, ot_contents[i % OT_N_CONTENTS], NULL, NULL);
		n += (size_t)snprintf(buf + n, sizeof buf - n, "data: %.*s\n\n", (int)c, chunk);
	}
	n += (size_t)snprintf(buf + n, sizeof buf - n,
			      "data: {\"id\":\"chatcmpl-mock7\",\"object\":\"chat.completion.chunk\","
			      "\"created\":1796485715,\"model\":\"m\",\"system_fingerprint\":\"fp_mockllm\","
			      "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
			      "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
	cr_assert(n < sizeof buf);
	of_same_stream(buf, n, "content stream", 0);

	/* and count: feed the same events to one fast decoder */
	struct pc_dec d = { .codec = &pc_openai };
	cr_assert_eq(oa_dec_init(&d), 0);
	struct uev_sink s;
	of_quiet_sink(&s);
	const char *p = buf, *end = buf + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		cr_assert_not_null(nl);
		if (nl - p > 6 && !memcmp(p, "data: ", 6))
			oa_on_event(&d, NULL, 0, p + 6, (size_t)(nl - p - 6), &s);
		p = nl + 1;
	}
	/* the first content chunk is scanned (after the role chunk's
	 * template missed), the rest matched */
	cr_assert_eq(oa_dec_tpl_hits(&d), OT_STREAM_CHUNKS - 1, "%lu of %d matched",
		     oa_dec_tpl_hits(&d), OT_STREAM_CHUNKS);
	oa_dec_free(&d);
}

/* A chunk that said a finish reason or usage besides content is not kept:
 * a match must say nothing but content. */
Test(codec_openai_tpl, learns_only_content_alone)
{
	char a[1024], b[1024];
	size_t na = ot_chunk(a, sizeof a, "end", NULL, "stop");
	size_t nb = ot_chunk(b, sizeof b, "more", NULL, "stop");
	cr_assert(of_takes(a, na), "the fast path should take %s", a);
	cr_assert_not(of_tpl_takes(a, na, b, nb), "learnt from a chunk with a finish reason");
	ot_same_pair(a, na, b, nb, "finish pair", 0);

	static const char usage[] =
		"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"u\"},\"finish_reason\":null}],"
		"\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
	static const char usage2[] =
		"{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"v\"},\"finish_reason\":null}],"
		"\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
	cr_assert(of_takes(usage, sizeof usage - 1));
	cr_assert_not(of_tpl_takes(usage, sizeof usage - 1, usage2, sizeof usage2 - 1),
		      "learnt from a chunk with usage");
	ot_same_pair(usage, sizeof usage - 1, usage2, sizeof usage2 - 1, "usage pair", 0);
}

/* ---- what it must not change ------------------------------------------------------------ */

/* Hostile contents (raw bytes between the content's quotes) after a plain
 * chunk: the template reads each exactly as the tree path does, or lets
 * the scan and the tree path have it. */
Test(codec_openai_tpl, hostile_contents_unchanged)
{
	static char a[OT_CHUNK_MAX], b[OT_CHUNK_MAX], big[OT_CHUNK_MAX - 1024];
	size_t na = ot_chunk(a, sizeof a, "plain", NULL, NULL);
	for (size_t i = 0; i < of_n_hostile; i++) {
		size_t nb = ot_chunk(b, sizeof b, of_hostile[i], NULL, NULL);
		ot_same_pair(a, na, b, nb, "hostile content", i);
		/* cut anywhere inside the hole and after it */
		for (size_t cut = na - 60; cut < nb; cut += 7)
			ot_same_pair(a, na, b, cut, "hostile content cut", i * 1000 + cut);
	}
	/* contents past the decode buffer: escaped (declined to the tree
	 * path) and plain (delivered from the event itself) */
	for (int escaped = 0; escaped < 2; escaped++) {
		of_long_text(big, sizeof big, OA_FAST_TEXT_MAX + 64, escaped);
		size_t nb = ot_chunk(b, sizeof b, big, NULL, NULL);
		ot_same_pair(a, na, b, nb, "long content", (size_t)escaped);
		cr_assert_eq(of_tpl_takes(a, na, b, nb), !escaped);
	}
}

/* Each recorded event, then a mutation of it: most mutations land outside
 * the holes (no match), some inside them (a match that must be right). */
Test(codec_openai_tpl, mutated_after_themselves_unchanged)
{
	size_t pairs, matched = of_mutated_after_themselves(ot_fixtures, OT_N_FIXTURES, OT_MUTATIONS,
							   29, ot_same_pair, of_tpl_takes, &pairs);
	/* the template did get to read mutated chunks */
	cr_assert(matched >= 100, "the template matched %zu of %zu mutated chunks", matched, pairs);
}
