/*
 * test_config_hostile.c — the config loader's error contract (file errors,
 * untouched output, unterminated input) and hostile input: truncations,
 * garbage, deep nesting, huge scalars, alias bombs, bad UTF-8, and parser
 * noise that must never reach stderr.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_test_util.h"
#include "sidecar/config.h"

/* ---- files and the error contract ------------------------------------------- */

Test(config, file_errors_are_path_and_strerror)
{
	struct cfg c;
	char err[CFGT_ERRLEN], *path;
	FILE *f;

	cr_assert_eq(cfg_load_file("/nonexistent/ringside.yaml", &c, err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, "/nonexistent/ringside.yaml: No such file or directory");
	cr_assert_eq(cfg_load_file("/tmp", &c, err, sizeof(err)), -EISDIR);
	cr_assert_str_eq(err, "/tmp: Is a directory");

	path = cfgt_temp_file("");
	f = fopen(path, "r+");
	cr_assert_not_null(f);
	cr_assert_eq(ftruncate(fileno(f), (off_t)CFG_FILE_MAX + 1), 0);
	fclose(f);
	cr_assert_eq(cfg_load_file(path, &c, err, sizeof(err)), -EFBIG);
	cr_assert_not_null(strstr(err, ": File too large"));
	unlink(path);
	free(path);

	path = cfgt_temp_file("limits:\n  max_clients: x\n" CFGT_TAIL);
	cr_assert_eq(cfg_load_file(path, &c, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, ":2: limits.max_clients: 'x' is not a number"));
	cr_assert_eq(strncmp(err, path, strlen(path)), 0);
	unlink(path);
	free(path);
}

Test(config, failed_load_leaves_out_untouched)
{
	struct cfg c, before;
	char small[12];

	memset(&c, 0x5a, sizeof(c));
	before = c;
	cr_assert_eq(cfg_load_string("t.yaml", "limits: 1\n", 10, &c, small, sizeof(small)),
		     -EINVAL);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
	cr_assert_str_eq(small, "t.yaml:1: l");	/* truncated, still terminated */
	cr_assert_eq(cfg_load_string("t.yaml", "limits: 1\n", 10, &c, NULL, 0), -EINVAL);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
}

Test(config, input_need_not_be_nul_terminated)
{
	size_t len = strlen(cfgt_full);
	char *exact = malloc(len);	/* ASan catches any read past len */
	struct cfg c;
	char err[CFGT_ERRLEN];

	cr_assert_not_null(exact);
	memcpy(exact, cfgt_full, len);
	cr_assert_eq(cfgt_load(exact, len, &c, err), 0, "%s", err);
	cfg_free(&c);
	cr_assert_eq(cfgt_load(exact, len - 3, &c, err), -EINVAL);	/* cut mid-key */
	free(exact);
}

/* ---- hostile input ------------------------------------------------------------- */

Test(config, every_truncation_of_a_valid_file_is_handled)
{
	size_t len = strlen(cfgt_full), i;
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	for (i = 0; i <= len; i++) {
		memcpy(buf, cfgt_full, i);
		cfgt_survive(buf, i);
	}
	free(buf);
}

Test(config, binary_garbage_is_rejected)
{
	char buf[512];
	uint32_t x = 12345;	/* fixed seed: failures reproduce */
	size_t round, i, len;

	for (round = 0; round < 300; round++) {
		len = 1 + round % sizeof(buf);
		for (i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (char)(x >> 16);
		}
		cfgt_survive(buf, len);
	}
	/* Garbage that keeps to YAML's alphabet gets further into the parser. */
	for (round = 0; round < 300; round++) {
		static const char alpha[] = "ab: -?[]{},&*!|>'\"%@`#\n\t0";

		len = 1 + round % sizeof(buf);
		for (i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
		}
		cfgt_survive(buf, len);
	}
}

Test(config, deep_nesting_is_refused_not_recursed)
{
	size_t depth = 100000, i;
	char *flow = malloc(depth * 2 + 16), *block, *p;
	struct cfg c;
	char err[CFGT_ERRLEN];

	cr_assert_not_null(flow);
	for (i = 0; i < depth; i++)
		flow[i] = i % 2 ? '{' : '[';
	cr_assert_eq(cfgt_load(flow, depth, &c, err), -EINVAL);
	cr_assert(strstr(err, "invalid YAML") != NULL, "%s", err);
	free(flow);

	depth = 1000;
	block = malloc(depth * (depth + 16));
	cr_assert_not_null(block);
	for (p = block, i = 0; i < depth; i++) {
		memset(p, ' ', i);
		p += i;
		p += sprintf(p, "k%zu:\n", i);
	}
	cr_assert_eq(cfgt_load(block, (size_t)(p - block), &c, err), -EINVAL);
	cr_assert(strstr(err, "invalid YAML") != NULL, "%s", err);
	free(block);
}

Test(config, megabyte_scalars_are_cut_in_messages)
{
	size_t big = 1u << 20;
	char *yaml = malloc(big + 256), err[CFGT_ERRLEN];
	struct cfg c;
	int n;

	cr_assert_not_null(yaml);
	/* As a key. */
	memset(yaml, 'k', big);
	strcpy(yaml + big, ": 1\n" CFGT_TAIL);
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:1: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' "
			 "(known: listen, limits, log, providers, models, resilience, tenants)");
	/* As a model name. */
	n = sprintf(yaml, CFGT_TAIL "    model: ");
	memset(yaml + n, 'm', big);
	strcpy(yaml + n + big, "\n");
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), -EINVAL);
	cr_assert_not_null(strstr(err, "t.yaml:7: models.mock.model: name 'mmmm"));
	cr_assert_not_null(strstr(err, "...' is 1048576 bytes long (max 255)"));
	/* As a number. */
	n = sprintf(yaml, "limits:\n  max_clients: ");
	memset(yaml + n, '9', big);
	strcpy(yaml + n + big, "\n" CFGT_TAIL);
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), -EINVAL);
	cr_assert_not_null(strstr(err, "...' is too large"));
	free(yaml);
}

Test(config, alias_bombs_are_not_expanded)
{
	/* Nine levels of ten: a parser that expanded aliases would build 10^9
	 * nodes. Both uses must fail fast on the first key or value. */
	char yaml[4096], *p = yaml;
	int i, j;

	p += sprintf(p, "limits:\n  max_clients: 1\n");
	p += sprintf(p, "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 9; i++) {
		p += sprintf(p, "x%d: &a%d [", i, i);
		for (j = 0; j < 10; j++)
			p += sprintf(p, "%s*a%d", j ? ", " : "", i - 1);
		p += sprintf(p, "]\n");
	}
	p += sprintf(p, CFGT_TAIL);
	cfgt_survive(yaml, (size_t)(p - yaml));

	p = yaml;
	p += sprintf(p, "providers:\n  p:\n    kind: mock\n    ttft: &a0 [1, 1, 1, 1]\n");
	p += sprintf(p, "models: {m: {provider: p, model: &a1 [*a0, *a0, *a0, *a0]}}\n");
	cfgt_survive(yaml, (size_t)(p - yaml));
}

Test(config, non_utf8_bytes_are_rejected_or_round_trip)
{
	static const char *const inputs[] = {
		"providers:\n  p: {kind: mock}\nmodels:\n  \xff\xfe: {provider: p}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  \"\xc3\x28\": {provider: p}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  m: {provider: p, model: '\xe0\x80\xaf'}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  m: {provider: p, model: \"\\xff\\x01\"}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  m: {provider: p, model: \"\\0\"}\n",
		("\xef\xbb\xbf" CFGT_TAIL),	/* a UTF-8 byte order mark is fine */
	};
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct cfg c = { 0 };
		char err[CFGT_ERRLEN];
		int ret = cfgt_load(inputs[i], strlen(inputs[i]), &c, err);

		cr_assert(ret == 0 || ret == -EINVAL, "%zu: %d", i, ret);
		if (ret == 0) {
			cfgt_round_trip(&c);
			cfg_free(&c);
		} else {
			cr_assert_eq(strncmp(err, "t.yaml:", 7), 0, "%s", err);
		}
	}
}

/* libfyaml alone would stop at the NUL and load the prefix, or skip stray
 * bytes: the text is checked first, so a corrupt file never half-loads. */
Test(config, control_bytes_and_bad_utf8_are_located)
{
	static const char nul[] = CFGT_TAIL "    model: a\0b\n";
	static const char bell[] = "limits:\n  max_clients: 1\a\n" CFGT_TAIL;
	static const char stray[] = "providers:\n  p: {kind: mock}\nmodels:\n  \xff\xfe: {provider: p}\n";
	static const char overlong[] = "log: {level: '\xc0\xaf'}\n";
	static const char surrogate[] = CFGT_TAIL "    model: \xed\xa0\x80\n";
	struct cfg c;
	char err[CFGT_ERRLEN];

	cr_assert_eq(cfgt_load(nul, sizeof(nul) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:7: control byte 0x00 at column 13 (not a text file?)");
	cr_assert_eq(cfgt_load(bell, sizeof(bell) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:2: control byte 0x07 at column 17 (not a text file?)");
	cr_assert_eq(cfgt_load(stray, sizeof(stray) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:4: invalid UTF-8 at column 3");
	cr_assert_eq(cfgt_load(overlong, sizeof(overlong) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:1: invalid UTF-8 at column 15");
	cr_assert_eq(cfgt_load(surrogate, sizeof(surrogate) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:7: invalid UTF-8 at column 12");
}

/* libfyaml prints diagnostics to stderr unless told otherwise; a sidecar's
 * stderr is its log, so nothing may leak there. */
Test(config, parser_diagnostics_never_reach_stderr, .init = cr_redirect_stderr)
{
	static const char *const bad[] = {
		"", "a: [", "a: 1\na: 2\n", "\xff\xfe\x00", "- a\n- b\n", "{{{{{{{{{{{{",
		"a: 'x\n", "%YAML 9.9\n---\na: 1\n", "a: *b\n", "--- a\n--- b\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cfgt_survive(bad[i], strlen(bad[i]));
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}
