/*
 * test_codec_openai_hostile.c — the OpenAI codec on hostile input: garbage,
 * deep nesting, non-objects, invalid UTF-8, wrong types, odd tool indexes,
 * and NUL bytes in text.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringside.h"
#include "sidecar/chatreq.h"
#include "sidecar/config.h"
#include "sidecar/pcodec.h"
#include "codec_openai_util.h"
#include "fx.h"

/* ---- hostile input ----------------------------------------------------------------- */

/* A stream built at run time (binary-safe), whole and at two splits. */
static void oat_stream_bin(const char *data, size_t len)
{
	static struct fx_result split;
	const char *why;

	fx_run_stream(&pc_openai, PC_FMT_SSE, data, len, 4096, 7, &split);
	fx_run_stream(&pc_openai, PC_FMT_SSE, data, len, 0, 0, &oat_r);
	why = fx_contract(&oat_r);
	cr_assert_null(why, "%s", why);
	cr_assert_eq(split.n_error, oat_r.n_error);
	cr_assert_eq(split.err_code, oat_r.err_code);
}

static char *oat_event(const char *body, size_t body_len, const char *tail, size_t *len)
{
	size_t tl = strlen(tail);
	char *b = malloc(6 + body_len + 2 + tl);

	cr_assert_not_null(b);
	memcpy(b, "data: ", 6);
	memcpy(b + 6, body, body_len);
	memcpy(b + 6 + body_len, "\n\n", 2);
	memcpy(b + 8 + body_len, tail, tl);
	*len = 8 + body_len + tl;
	return b;
}

Test(codec_openai, hostile_megabyte_of_garbage)
{
	/* just under the framing's 1 MiB event bound, so the codec sees it */
	size_t n = 1000000, len;
	char *junk = malloc(n), *s;
	unsigned seed = 42;

	cr_assert_not_null(junk);
	for (size_t i = 0; i < n; i++) {
		junk[i] = (char)(rand_r(&seed) & 0xff);
		if (junk[i] == '\n' || junk[i] == '\r')
			junk[i] = '{';
	}
	s = oat_event(junk, n, OAT_DONE, &len);
	oat_stream_bin(s, len);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	free(s);
	/* the same as the last thing before EOF: a cut stream */
	s = oat_event(junk, n, "", &len);
	oat_stream_bin(s, len);
	oat_assert_error(RS_ERR_TRUNCATED, 0, 1);
	free(s);

	fx_run_body(&pc_openai, junk, n, &oat_r);
	cr_assert_null(fx_contract(&oat_r));
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	fx_run_error(&pc_openai, 500, junk, n, &oat_r);
	cr_assert_null(fx_contract(&oat_r));
	oat_assert_error(RS_ERR_UPSTREAM, 500, 1);
	cr_assert_str_eq(oat_r.err_msg, "HTTP 500");
	free(junk);
}

Test(codec_openai, hostile_deep_nesting)
{
	size_t depth = 200000, len;
	char *deep = malloc(depth), *s;

	cr_assert_not_null(deep);
	memset(deep, '[', depth);
	s = oat_event(deep, depth, OAT_DONE, &len);
	oat_stream_bin(s, len);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	free(s);
	fx_run_body(&pc_openai, deep, depth, &oat_r);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	free(deep);

	/* nesting a parser accepts, in a key nobody reads, is ignored */
	char ok[4096];
	int o = snprintf(ok, sizeof ok, "data: {\"junk\":");
	for (int i = 0; i < 1000; i++)
		ok[o++] = '[';
	for (int i = 0; i < 1000; i++)
		ok[o++] = ']';
	snprintf(ok + o, sizeof ok - o, ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"fine\"}}]}"
					"\n\n" OAT_DONE);
	oat_stream(ok);
	oat_assert_finish("stop", "");
	cr_assert_str_eq(oat_r.text, "fine");
}

Test(codec_openai, hostile_non_objects)
{
	static const char *const events[] = {
		"data: [1,2]\n\n", "data: \"str\"\n\n", "data: 42\n\n", "data: null\n\n",
		"data: true\n\n",
	};
	char buf[256];

	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
		snprintf(buf, sizeof buf, "%s%s", events[i], OAT_DONE);
		oat_stream(buf);
		oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
		fx_run_body(&pc_openai, events[i] + 6, strlen(events[i]) - 8, &oat_r);
		oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	}
}

Test(codec_openai, hostile_invalid_utf8)
{
	static const char *const bad[] = {
		"\xff\xfe",         /* never valid */
		"\xc0\xaf",         /* overlong '/' */
		"\xed\xa0\x80",     /* a surrogate */
		"\xe2\x82",         /* cut sequence */
	};
	char buf[512];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(buf, sizeof buf, OAT_TEXT("ok") OAT_TEXT("%s") OAT_DONE, bad[i]);
		oat_stream(buf);
		oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
		cr_assert_str_eq(oat_r.text, "ok");
		snprintf(buf, sizeof buf, "{\"error\":{\"message\":\"%s\"}}", bad[i]);
		fx_run_error(&pc_openai, 400, buf, strlen(buf), &oat_r);
		oat_assert_error(RS_ERR_UPSTREAM, 400, 0);
		cr_assert_str_eq(oat_r.err_msg, "HTTP 400");
	}
}

Test(codec_openai, hostile_wrong_types)
{
	/* every field the codec reads, with the wrong type: ignored, no crash */
	oat_stream("data: {\"choices\":{\"index\":0}}\n\n"
		   "data: {\"choices\":[7,null,\"x\"]}\n\n"
		   "data: {\"choices\":[{\"index\":\"0\",\"delta\":{\"content\":\"no\"}}]}\n\n"
		   "data: {\"choices\":[{\"index\":0,\"delta\":\"content\"}]}\n\n"
		   "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":5,\"refusal\":[],"
		   "\"reasoning_content\":{},\"tool_calls\":\"x\",\"function_call\":[1]},"
		   "\"finish_reason\":7}]}\n\n"
		   "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[1,null,[]]}}]}\n\n"
		   "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\"3\",\"completion_tokens\":1.5}}\n\n"
		   "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"yes\"}}],\"error\":null,"
		   "\"usage\":\"lots\"}\n\n" OAT_DONE);
	oat_assert_finish("stop", "");
	cr_assert_str_eq(oat_r.text, "yes");
	cr_assert_eq(oat_r.have_usage, 0);

	/* counts out of range are clamped, not wrapped */
	oat_stream("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":"
		   "99999999999999}}\n\n" OAT_DONE);
	cr_assert_eq(oat_r.prompt_tokens, 0);
	cr_assert_eq(oat_r.completion_tokens, UINT32_MAX);
}

Test(codec_openai, hostile_tool_indexes)
{
	/* a huge and a negative index are just keys */
	oat_stream(OAT_CHUNK("{\"tool_calls\":[{\"index\":9223372036854775807,\"id\":\"a\",\"function\":"
			     "{\"name\":\"f\",\"arguments\":\"{}\"}},{\"index\":-3,\"id\":\"b\","
			     "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}", "null") OAT_DONE);
	oat_assert_finish("stop", "");
	cr_assert_eq(oat_r.n_tools, 2);

	/* more calls than any reply makes */
	size_t cap = 300 * 120, o = 0;
	char *s = malloc(cap);
	cr_assert_not_null(s);
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(s + o, cap - o,
				      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":%d,"
				      "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n", i);
	o += (size_t)snprintf(s + o, cap - o, OAT_DONE);
	fx_run_stream(&pc_openai, PC_FMT_SSE, s, o, 0, 0, &oat_r);
	free(s);
	/* (the recording sink keeps FX_MAX_TOOLS calls and flags the rest) */
	cr_assert_eq(oat_r.rc, 0);
	cr_assert_eq(oat_r.after_end, 0);
	oat_assert_error(RS_ERR_UPSTREAM, 0, 0);
	cr_assert_str_eq(oat_r.err_msg, "malformed event from provider: too many tool calls");
}

Test(codec_openai, nul_in_text_is_kept)
{
	oat_stream(OAT_TEXT("a\\u0000b") OAT_DONE);
	oat_assert_finish("stop", "");
	cr_assert_eq(oat_r.text_len, 3);
	cr_assert_eq(memcmp(oat_r.text, "a\0b", 3), 0);
}
