/*
 * test_codec_openai_fast_cases.c — hand-written corners of the OpenAI
 * decoder's fast path: escaped and repeated keys, choices other than 0,
 * usage, every way a chunk can be an error, escapes and surrogates and bad
 * UTF-8 in content, nulls and wrong types where values are read, numbers
 * jansson refuses, huge content, deep nesting. For each, what the fast path
 * must do (take or decline), and that the client sees the same either way
 * (codec_fast_util.h). Fixtures and their mutations are in
 * test_codec_openai_fast.c.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fast_util.h"
#include "sidecar/codec_openai.h"

/* A chunk, its length (NULs included), and whether the fast path must
 * take it (1), decline it (0), or either (-1). */
struct oc_case {
	const char *s;
	size_t n;
	int take;
};
#define OC(s, take) { s, sizeof(s) - 1, take }
#define OC_CHOICE(choice, take) OC("{\"id\":\"c\",\"choices\":[" choice "]}", take)
#define OC_DELTA(delta, take) OC_CHOICE("{\"index\":0,\"delta\":" delta "}", take)
#define OC_TEXT(text, take) OC_DELTA("{\"content\":\"" text "\"}", take)
#define OC_FINISH(reason, take) OC_CHOICE("{\"index\":0,\"delta\":{},\"finish_reason\":" reason "}", take)

/* Chunks seen before and after the case, so finishes noted by one path
 * and overwritten by the other would show. */
static const char oc_role[] =
	"{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
	"\"logprobs\":null,\"finish_reason\":null}]}";
static const char oc_stop[] = "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}";

static const struct oc_case oc_cases[] = {
	/* the common shapes */
	OC_TEXT("hi", 1),
	OC_CHOICE("{\"delta\":{\"content\":\"no index: first is choice 0\"}}", 1),
	OC_CHOICE("{\"index\":-0,\"delta\":{\"content\":\"minus zero\"}}", 1),
	OC_CHOICE("{\"index\":0}", 1),
	OC_DELTA("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", 1),
	OC_DELTA("{\"role\":5,\"content\":null}", 1),
	OC_DELTA("{}", 1),
	OC("{}", 1),
	OC("{\"choices\":[]}", 1),
	OC("{\"choices\":[],\"usage\":null}", 1),
	OC("{\"usage\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"usage first\"}}]}", 1),
	OC("{\"detail\":\"Not Found\"}", 1),
	OC("{\"object\":\"chat.completion.chunk\",\"choices\":[]}", 1),
	OC("{\"object\":null,\"choices\":[]}", 1),
	OC("{\"object\":5}", 1),
	OC(" { \"choices\" : [ { \"index\" : 0 , \"delta\" : { \"content\" : \"spaced\" } } ] } ", 1),
	OC_CHOICE("{\"index\":0,\"logprobs\":{\"content\":[{\"token\":\"hi\",\"logprob\":-0.1,"
		  "\"bytes\":[104,105],\"top_logprobs\":[]}]},\"delta\":{\"content\":\"hi\"}}", 1),
	/* escaped keys are the keys they decode to */
	OC("{\"\\u0063hoices\":[{\"index\":0,\"delta\":{\"\\u0063ontent\":\"escaped keys\"}}]}", 1),
	OC("{\"choices\":[{\"ind\\u0065x\":1,\"delta\":{\"content\":\"index 1\"}}]}", 0),
	/* content with escapes, NULs, surrogates, UTF-8 */
	OC_TEXT("caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t", 1),
	OC_TEXT("a\\u0000b", 1),
	OC_TEXT("", 1),
	OC_DELTA("{\"content\":null}", 1),
	OC_TEXT("\xe2\x82\xac \xf0\x9f\x98\x80 \x7f", 1),
	OC_TEXT("\\ud800", 0),
	OC_TEXT("\\udc00x", 0),
	OC_TEXT("\\ud800\\u0041", 0),
	OC_TEXT("\xc3\x28", 0),
	OC_TEXT("\xed\xa0\x80", 0),
	OC_TEXT("\xf4\x90\x80\x80", 0),
	OC_TEXT("\xc0\xaf", 0),
	OC_TEXT("\xe2\x82", 0),
	OC_TEXT("\x01", 0),
	OC_TEXT("tab\tinside", 0),
	OC_TEXT("\\x41", 0),
	/* finish reasons, as the decoder keeps them */
	OC_FINISH("\"stop\"", 1),
	OC_FINISH("\"length\"", 1),
	OC_FINISH("\"function_call\"", 1),
	OC_FINISH("\"max_tokens\"", 1),
	OC_FINISH("\"content_filter\"", 1),
	OC_FINISH("\"\\u0073top\"", 1),
	OC_FINISH("\"st\\u0000op\"", 1),
	OC_FINISH("\"st\xc3\xb3p\"", 1),
	OC_FINISH("\"a b\"", 1),
	OC_FINISH("\"\"", 1),
	OC_FINISH("\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		  "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9x\"", 1),
	OC_FINISH("\"a_finish_reason_longer_than_the_thirty_one_bytes_kept\"", 1),
	OC_FINISH("null", 1),
	OC_FINISH("5", 0),
	OC_FINISH("{}", 0),
	/* repeated keys: jansson keeps the last */
	OC("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],"
	   "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}", 0),
	OC_DELTA("{\"content\":\"a\",\"content\":\"b\"}", 0),
	OC_DELTA("{\"content\":\"a\",\"\\u0063ontent\":\"b\"}", 0),
	OC_DELTA("{\"refusal\":null,\"refusal\":null}", 0),
	OC_DELTA("{\"role\":\"a\",\"role\":\"b\",\"content\":\"roles repeat\"}", 1),
	OC_CHOICE("{\"index\":0,\"index\":1,\"delta\":{\"content\":\"x\"}}", 0),
	OC_CHOICE("{\"index\":1,\"index\":0,\"delta\":{\"content\":\"x\"}}", 0),
	OC_CHOICE("{\"index\":0,\"delta\":{\"content\":\"a\"},\"delta\":{\"content\":\"b\"}}", 0),
	OC_CHOICE("{\"index\":0,\"finish_reason\":\"stop\",\"finish_reason\":\"length\"}", 0),
	OC("{\"choices\":[],\"usage\":null,\"usage\":null}", 0),
	/* choices other than one choice 0 */
	OC_CHOICE("{\"index\":1,\"delta\":{\"content\":\"choice 1\"}}", 0),
	OC_CHOICE("{\"index\":\"0\",\"delta\":{\"content\":\"x\"}}", 0),
	OC_CHOICE("{\"index\":0.0,\"delta\":{\"content\":\"x\"}}", 0),
	OC_CHOICE("{\"index\":1e0,\"delta\":{\"content\":\"x\"}}", 0),
	OC_CHOICE("{\"index\":null,\"delta\":{\"content\":\"x\"}}", 0),
	OC_CHOICE("{\"index\":1,\"delta\":{\"content\":\"one\"}},{\"index\":0,\"delta\":{\"content\":\"zero\"}}", 0),
	OC_CHOICE("{\"index\":0,\"delta\":{\"content\":\"zero\"}},{\"index\":1,\"delta\":{\"content\":\"one\"}}", 0),
	OC_CHOICE("{\"delta\":{\"content\":\"a\"}},{\"delta\":{\"content\":\"b\"}}", 0),
	OC_CHOICE("null", 0),
	OC_CHOICE("1", 0),
	OC("{\"choices\":null}", 0),
	OC("{\"choices\":{}}", 0),
	/* usage counts: integers are read, clamped as the tree clamps them;
	 * other members skipped; anything else goes the tree way */
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}", 1),
	OC("{\"usage\":{\"completion_tokens\":7,\"prompt_tokens\":5},\"choices\":[]}", 1),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5}}", 1),
	OC("{\"choices\":[],\"usage\":{\"completion_tokens\":9}}", 1),
	OC("{\"choices\":[],\"usage\":{}}", 1),
	OC("{\"choices\":[],\"usage\":{\"total_tokens\":12}}", 1),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":4294967296}}", 1),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":-0}}", 1),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":99999999999999999999}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":0,"
	   "\"audio_tokens\":0},\"completion_tokens\":2,\"completion_tokens_details\":{\"reasoning_tokens\":0}}}", 1),
	OC("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"last\"},\"finish_reason\":\"stop\"}],"
	   "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}", 1),
	OC("{\"choices\":[],\"usage\":{\"\\u0070rompt_tokens\":5,\"completion_tokens\":7}}", 1),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5.0,\"completion_tokens\":7}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5e0}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":\"5\",\"completion_tokens\":7}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":null,\"completion_tokens\":7}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"prompt_tokens\":6}}", 0),
	OC("{\"choices\":[],\"usage\":{\"completion_tokens\":5,\"completion_tokens\":6}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5},\"usage\":null}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5,}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":5}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":}}", 0),
	OC("{\"choices\":[],\"usage\":{\"prompt_tokens\":01}}", 0),
	OC("{\"choices\":[],\"usage\":5}", 0),
	OC("{\"choices\":[],\"usage\":[]}", 0),
	OC("{\"choices\":[],\"usage\":\"x\"}", 0),
	/* errors, and what might be one */
	OC("{\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}", 0),
	OC("{\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"null error\"}}]}", 0),
	OC("{\"error\":\"\",\"choices\":[]}", 0),
	OC("{\"error\":0,\"choices\":[]}", 0),
	OC("{\"error\":\"Model is overloaded\",\"error_type\":\"overloaded\"}", 0),
	OC("{\"\\u0065rror\":{\"message\":\"escaped key\"}}", 0),
	OC("{\"object\":\"error\",\"message\":\"old vLLM\",\"type\":\"BadRequestError\",\"code\":400}", 0),
	OC("{\"object\":\"\\u0065rror\",\"message\":\"escaped\"}", 0),
	OC("{\"object\":\"error\\u0000x\",\"message\":\"strcmp stops at NUL\"}", 0),
	OC("{\"object\":\"errors\",\"choices\":[]}", 0),
	OC("{\"object\":\"chat.completion.chunk\",\"object\":\"error\"}", 0),
	OC("{\"object\":\"error\",\"object\":\"chat.completion.chunk\","
	   "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"the last object wins\"}}]}", 0),
	/* deltas with more than content */
	OC_DELTA("null", 0),
	OC_DELTA("\"x\"", 0),
	OC_DELTA("{\"reasoning_content\":\"think\"}", 0),
	OC_DELTA("{\"reasoning\":\"think\",\"content\":\"x\"}", 0),
	OC_DELTA("{\"refusal\":\"no\"}", 0),
	OC_DELTA("{\"refusal\":\"\"}", 0),
	OC_DELTA("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}", 0),
	OC_DELTA("{\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}}", 0),
	OC_DELTA("{\"content\":[{\"type\":\"text\",\"text\":\"part\"}]}", 0),
	OC_DELTA("{\"content\":5}", 0),
	OC_DELTA("{\"content\":true}", 0),
	OC_DELTA("{\"audio\":null,\"content\":\"x\"}", 0),
	/* members of a choice the tree path never reads: skipped */
	OC_CHOICE("{\"index\":0,\"text\":\"x\",\"delta\":{}}", 1),
	OC_CHOICE("{\"index\":0,\"message\":{\"content\":\"not read when streamed\"},"
		  "\"delta\":{\"content\":\"x\"}}", 1),
	/* Azure OpenAI: content filter verdicts on every chunk */
	OC("{\"choices\":[{\"content_filter_results\":{\"hate\":{\"filtered\":false,"
	   "\"severity\":\"safe\"},\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"}},"
	   "\"delta\":{\"content\":\"azure\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],"
	   "\"created\":1733400000,\"id\":\"chatcmpl-a\",\"model\":\"gpt-4o-mini\","
	   "\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_1\"}", 1),
	OC("{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
	   "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}", 1),
	/* vLLM: stop_reason beside finish_reason */
	OC_CHOICE("{\"index\":0,\"delta\":{\"content\":\"vllm\"},\"logprobs\":null,"
		  "\"finish_reason\":null,\"stop_reason\":null}", 1),
	OC_CHOICE("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\","
		  "\"stop_reason\":128001}", 1),
	/* an unread member that is not valid JSON still declines */
	OC_CHOICE("{\"index\":0,\"stop_reason\":1e400,\"delta\":{\"content\":\"x\"}}", 0),
	/* not JSON, or not what jansson takes */
	OC("{\"created\":99999999999999999999,\"choices\":[]}", 0),
	OC("{\"created\":-9223372036854775808,\"choices\":[]}", 1),
	OC("{\"x\":1e400,\"choices\":[]}", 0),
	OC("{\"x\":1.5e308,\"choices\":[]}", 0),
	OC("{\"x\":1e-400,\"choices\":[]}", 1),
	OC("{\"a\\u0000\":1,\"choices\":[]}", 0),
	OC("{\"choices\":[]} x", 0),
	OC("{\"choices\":[]}}", 0),
	OC("{\"choices\":[],}", 0),
	OC("[{\"choices\":[]}]", 0),
	OC("\"chunk\"", 0),
	OC("{", 0),
	OC("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cut", 0),
	OC("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\0", 0),
};

static void oc_check(const char *s, size_t n, int take, size_t which)
{
	const char *ev[3] = { oc_role, s, oc_stop };
	size_t evn[3] = { sizeof oc_role - 1, n, sizeof oc_stop - 1 };

	if (take >= 0)
		cr_assert_eq(of_takes(s, n), take, "case %zu: fast path %s '%.*s'", which,
			     take ? "declined" : "took", (int)n, s);
	of_same_events(ev + 1, evn + 1, 1, "case", which);
	of_same_events(ev, evn, 2, "case after role", which);
	of_same_events(ev + 1, evn + 1, 2, "case before stop", which);
}

Test(codec_openai_fast, tricky_chunks)
{
	for (size_t i = 0; i < sizeof oc_cases / sizeof oc_cases[0]; i++)
		oc_check(oc_cases[i].s, oc_cases[i].n, oc_cases[i].take, i);
}

/* A chunk whose content is n bytes of 'a', the first escape-free or "\n". */
static char *oc_content(size_t n, int escaped, size_t *len)
{
	static const char head[] = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
	static const char tail[] = "\"}}]}";
	size_t raw = n + (size_t)escaped; /* "\n" is two bytes for one */
	char *b = malloc(sizeof head + raw + sizeof tail);

	cr_assert_not_null(b);
	memcpy(b, head, sizeof head - 1);
	memset(b + sizeof head - 1, 'a', raw);
	if (escaped)
		memcpy(b + sizeof head - 1, "\\n", 2);
	memcpy(b + sizeof head - 1 + raw, tail, sizeof tail - 1);
	*len = sizeof head - 1 + raw + sizeof tail - 1;
	return b;
}

/* Content with no escape is delivered from the event, whatever its size;
 * escaped content up to the decoder's buffer and no further. */
Test(codec_openai_fast, huge_content)
{
	static const struct {
		size_t n;
		int escaped, take;
	} cases[] = {
		{ 100u << 10, 0, 1 },
		{ 100u << 10, 1, 0 },
		{ OA_FAST_TEXT_MAX, 1, 1 },
		{ OA_FAST_TEXT_MAX + 1, 1, 0 },
		{ OA_FAST_TEXT_MAX + 1, 0, 1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		char *b = oc_content(cases[i].n, cases[i].escaped, &len);
		oc_check(b, len, cases[i].take, i);
		free(b);
	}
}

/* Nesting in a member nobody reads: the fast path declines past its
 * scanner's depth and jansson, which goes deeper, decides. */
Test(codec_openai_fast, deep_nesting_in_an_unread_member)
{
	static const char head[] = "{\"x\":", tail[] = ",\"choices\":[]}";
	char buf[4096];

	for (size_t depth = 60; depth <= 70; depth++) {
		size_t n = sizeof head - 1;
		memcpy(buf, head, n);
		memset(buf + n, '[', depth);
		memset(buf + n + depth, ']', depth);
		n += 2 * depth;
		memcpy(buf + n, tail, sizeof tail - 1);
		n += sizeof tail - 1;
		/* the chunk itself is one level */
		oc_check(buf, n, depth < 64, depth);
	}
}
