/*
 * fx.h — run recorded provider responses (tests/fixtures/) through the
 * framing parsers and a provider codec, record the unified events, and
 * compare them with the fixture's X.expected.json "deliver" block.
 *
 * Shared by the codec tests. Every run also checks the codec's contract:
 * exactly one finish or error, nothing after it, no empty text.
 */
#ifndef RINGSIDE_TEST_FX_H
#define RINGSIDE_TEST_FX_H

#include <stddef.h>
#include <stdint.h>

#include "pcodec.h"

#define FX_MAX_TOOLS 16

struct fx_tool {
	char id[128];
	char name[128];
	char args[4096];
	size_t args_len;
};

struct fx_result {
	char text[65536];
	size_t text_len;
	char reasoning[65536];
	size_t reasoning_len;
	struct fx_tool tools[FX_MAX_TOOLS];
	unsigned n_tools;
	uint32_t prompt_tokens, completion_tokens;
	int have_usage;
	int n_finish, n_error;       /* contract: n_finish + n_error == 1 */
	char finish[32], finish_raw[64];
	int err_code, err_status, err_retryable;
	char err_msg[512];
	int after_end;               /* sink calls after the end: must be 0 */
	int empty_text;              /* text calls with n == 0: must be 0 */
	int bad_tool;                /* first fragment of an index without id/name, or repeated */
	int rc;                      /* the codec's / framing's last return */
};

/* Path of a fixture by file name (honours $RINGSIDE_FIXTURES). */
const char *fx_path(const char *name, char *buf, size_t len);

/* Read a whole file (NUL-terminated, caller frees). NULL on failure. */
char *fx_read(const char *path, size_t *len);

/*
 * Feed a streamed response through its framing (the codec's build format:
 * SSE for fmt PC_FMT_SSE, NDJSON otherwise) and the codec. split: 0 = all at
 * once, N > 0 = chunks of N bytes, and with seed != 0 random chunk sizes
 * (1..N) from that seed. Ends with the framing's finish and on_end.
 */
void fx_run_stream(const struct pc_codec *c, enum pc_format fmt, const char *data, size_t len,
		   size_t split, unsigned seed, struct fx_result *r);

/* A whole non-streamed 2xx body. */
void fx_run_body(const struct pc_codec *c, const char *data, size_t len, struct fx_result *r);

/* An HTTP error response. */
void fx_run_error(const struct pc_codec *c, int status, const char *data, size_t len,
		  struct fx_result *r);

/* Compare with expected.json's "deliver" (text, reasoning_text, tool_calls,
 * finish_reason, usage input/output tokens, error presence). Returns NULL
 * when equal, else a description of the first difference (in buf). */
const char *fx_check(const struct fx_result *r, const char *expected_path, char *buf, size_t len);

/* The contract checks alone (exactly one end, nothing after, no empty text). */
const char *fx_contract(const struct fx_result *r);

#endif
