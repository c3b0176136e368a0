/*
 * codec_openai_util.c — helpers shared by the OpenAI codec tests; see
 * codec_openai_util.h.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "codec_openai_util.h"
#include "sidecar/pcodec.h"

struct fx_result oat_r;

/* An inline stream, whole and one byte at a time; both must agree. The
 * contract (one end, nothing after it, no empty text) always holds. */
void oat_stream(const char *sse)
{
	static struct fx_result bytewise;
	const char *why;

	fx_run_stream(&pc_openai, PC_FMT_SSE, sse, strlen(sse), 1, 0, &bytewise);
	fx_run_stream(&pc_openai, PC_FMT_SSE, sse, strlen(sse), 0, 0, &oat_r);
	why = fx_contract(&oat_r);
	cr_assert_null(why, "%s (error: %s)", why, oat_r.err_msg);
	cr_assert_str_eq(bytewise.text, oat_r.text);
	cr_assert_str_eq(bytewise.reasoning, oat_r.reasoning);
	cr_assert_eq(bytewise.n_error, oat_r.n_error);
	cr_assert_eq(bytewise.err_code, oat_r.err_code);
	cr_assert_str_eq(bytewise.finish, oat_r.finish);
	cr_assert_eq(bytewise.n_tools, oat_r.n_tools);
}

void oat_assert_error(int code, int status, int retryable)
{
	cr_assert_eq(oat_r.n_error, 1, "no error; finish '%s'", oat_r.finish);
	cr_assert_eq(oat_r.err_code, code, "code %d, want %d (%s)", oat_r.err_code, code,
		     oat_r.err_msg);
	cr_assert_eq(oat_r.err_status, status, "status %d, want %d", oat_r.err_status, status);
	cr_assert_eq(oat_r.err_retryable, retryable, "retryable %d, want %d (%s)",
		     oat_r.err_retryable, retryable, oat_r.err_msg);
	cr_assert(oat_r.err_msg[0], "empty error message");
}

void oat_assert_finish(const char *reason, const char *raw)
{
	cr_assert_eq(oat_r.n_finish, 1, "no finish; error %d '%s'", oat_r.err_code, oat_r.err_msg);
	cr_assert_str_eq(oat_r.finish, reason);
	cr_assert_str_eq(oat_r.finish_raw, raw);
}
