/*
 * test_chat_tool.c — ringside-chat as a script sees it: the reply on stdout,
 * diagnostics on stderr, and exit codes that tell failures apart
 * (0 ok, 3 sidecar unreachable, 4 request rejected, 5 upstream failure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(chat_tool, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

/* Run ringside-chat with args against socket sock. */
static int chat(const char *sock, const char *const args[], const char *in, char **out, char **err)
{
	const char *argv[16] = { h_env("RINGSIDE_CHAT") };
	size_t n = 1;
	for (size_t i = 0; args[i]; i++) {
		cr_assert(n < 15);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	char env_sock[160];
	snprintf(env_sock, sizeof env_sock, "RINGSIDE_SOCKET=%s", sock);
	const char *const env[] = { env_sock, NULL };
	return h_run(argv, env, in, out, err);
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(chat_tool, test_chat_prints_reply)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	char *out, *err;
	int rc = chat(sc.sock, (const char *[]){ "hello", "there", "world", NULL }, NULL, &out, &err);
	cr_assert_eq(rc, 0, "exit %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "hello there world\n");
	cr_assert_str_eq(err, "", "stderr without -v: %s", err);
	free(out);
	free(err);

	/* -v: provider, usage and first-chunk time on stderr; stdout unchanged. */
	rc = chat(sc.sock, (const char *[]){ "-v", "hello", "there", "world", NULL }, NULL, &out, &err);
	cr_assert_eq(rc, 0, "exit %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "hello there world\n");
	cr_assert(strstr(err, "[" H_PROVIDER " / " H_UPSTREAM "]"), "stderr: %s", err);
	cr_assert(strstr(err, "usage: prompt 3, completion 3, total 6 tokens"), "stderr: %s", err);
	cr_assert(strstr(err, "first chunk"), "stderr: %s", err);
	cr_assert(strstr(err, "finish: stop"), "stderr: %s", err);
	free(out);
	free(err);

	/* -m picks the alias. */
	rc = chat(sc.sock, (const char *[]){ "-v", "-m", H_MODEL_B, "other", "alias", NULL }, NULL, &out,
		  &err);
	cr_assert_eq(rc, 0, "exit %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "other alias\n");
	cr_assert(strstr(err, "[" H_PROVIDER " / " H_UPSTREAM_B "]"), "stderr: %s", err);
	free(out);
	free(err);

	/* -s names the socket explicitly, overriding the environment. */
	const char *argv[] = { h_env("RINGSIDE_CHAT"), "-s", sc.sock, "by", "flag", NULL };
	const char *const env[] = { "RINGSIDE_SOCKET=/tmp/rse2e-nowhere.sock", NULL };
	rc = h_run(argv, env, NULL, &out, &err);
	cr_assert_eq(rc, 0, "exit %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "by flag\n");
	free(out);
	free(err);
	h_stop(&sc);
}

Test(chat_tool, test_chat_reads_stdin)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	char *out, *err;
	int rc = chat(sc.sock, (const char *[]){ NULL }, "from standard\ninput  please\n", &out, &err);
	cr_assert_eq(rc, 0, "exit %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "from standard input please\n");
	free(out);
	free(err);
	h_stop(&sc);
}

Test(chat_tool, test_chat_without_sidecar_exits_3)
{
	char *out, *err;
	int rc = chat("/tmp/rse2e-nobody-listens.sock", (const char *[]){ "hello", NULL }, NULL, &out,
		      &err);
	cr_assert_eq(rc, 3, "exit %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "");
	/* A sentence a person can act on, naming the path, not a number. */
	cr_assert(strstr(err, "/tmp/rse2e-nobody-listens.sock"), "stderr: %s", err);
	cr_assert(strstr(err, rs_strerror(RS_ENOSIDECAR)), "stderr: %s", err);
	cr_assert_null(strstr(err, "-2"), "stderr shows a code: %s", err);
	free(out);
	free(err);
}

/* Scripts log stderr line by line: the failure is one line. */
Test(chat_tool, test_chat_without_sidecar_says_one_line)
{
	char *out, *err;
	int rc = chat("/tmp/rse2e-nobody-listens.sock", (const char *[]){ "hello", NULL }, NULL, &out,
		      &err);
	cr_assert_eq(rc, 3);
	cr_assert_eq(lines(err), 1, "want one line on stderr, got %d:\n%s", lines(err), err);
	free(out);
	free(err);
}

Test(chat_tool, test_chat_unknown_model_exits_4)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	char *out, *err;
	int rc = chat(sc.sock, (const char *[]){ "-m", "no-such-model", "hello", NULL }, NULL, &out,
		      &err);
	cr_assert_eq(rc, 4, "exit %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "");
	cr_assert(strstr(err, "unknown_model"), "stderr: %s", err);
	cr_assert(strstr(err, "no-such-model"), "stderr: %s", err);
	free(out);
	free(err);
	h_stop(&sc);
}

/* The config's default deadline cuts a slow reply short after some text:
 * what was printed stays on stdout, the error goes to stderr, exit 5. */
Test(chat_tool, test_chat_error_after_text_exits_5)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "default_deadline: 500ms", .ttft = "1ms",
				       .interval = "100ms" });
	const char *prompt = "w01 w02 w03 w04 w05 w06 w07 w08 w09 w10 w11 w12 w13 w14 w15 w16 "
			     "w17 w18 w19 w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 w30";
	char *out, *err;
	int rc = chat(sc.sock, (const char *[]){ prompt, NULL }, NULL, &out, &err);
	cr_assert_eq(rc, 5, "exit %d, stdout: %s, stderr: %s", rc, out, err);
	cr_assert(strstr(err, "timeout"), "stderr: %s", err);
	/* Some text (the first token comes 1 ms in, the deadline 500 ms),
	 * a prefix of the reply, and the newline the tool adds. */
	size_t n = strlen(out);
	cr_assert(n >= 2 && out[n - 1] == '\n', "stdout: '%s'", out);
	cr_assert(strncmp(prompt, out, n - 1) == 0, "stdout '%s' is not a prefix of the reply", out);
	cr_assert(n - 1 < strlen(prompt), "the deadline did not cut the reply");
	free(out);
	free(err);
	h_stop(&sc);
}
