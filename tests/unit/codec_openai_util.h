/*
 * codec_openai_util.h — helpers shared by the OpenAI codec tests
 * (test_codec_openai*.c): the last run's result, an inline stream run whole
 * and byte by byte, the end assertions, and chunk builders.
 */
#ifndef RINGSIDE_TEST_CODEC_OPENAI_UTIL_H
#define RINGSIDE_TEST_CODEC_OPENAI_UTIL_H

#include "fx.h"

/* The result of the last run. */
extern struct fx_result oat_r;

/* An inline stream, whole and one byte at a time; both must agree and the
 * codec's contract must hold. The whole run's result is left in oat_r. */
void oat_stream(const char *sse);

/* oat_r ended with exactly one error of this code, status and retryability. */
void oat_assert_error(int code, int status, int retryable);

/* oat_r ended with exactly one finish: the unified reason and the raw one. */
void oat_assert_finish(const char *reason, const char *raw);

/* A chunk of choice 0 with the given delta; finish is a JSON value. */
#define OAT_CHUNK(delta, finish)                                                             \
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"     \
	"\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":" delta ",\"logprobs\":null,"     \
	"\"finish_reason\":" finish "}]}\n\n"
#define OAT_ROLE OAT_CHUNK("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null")
#define OAT_TEXT(t) OAT_CHUNK("{\"content\":\"" t "\"}", "null")
#define OAT_STOP OAT_CHUNK("{}", "\"stop\"")
#define OAT_USAGE(p, c)                                                                       \
	"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"     \
	"\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":" #p                       \
	",\"completion_tokens\":" #c ",\"total_tokens\":0}}\n\n"
#define OAT_DONE "data: [DONE]\n\n"

#endif
