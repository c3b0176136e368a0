/*
 * cfg_test_util.h — helpers shared by the config tests (test_config*.c):
 * load a snippet, expect exact error lines, survive hostile input, compare
 * two configs field by field, and round-trip through cfg_dump.
 */
#ifndef RINGSIDE_TEST_CFG_TEST_UTIL_H
#define RINGSIDE_TEST_CFG_TEST_UTIL_H

#include <stddef.h>

#include "sidecar/config.h"

#define CFGT_ERRLEN 512

/* The smallest valid tail: appended to snippets that test something else. */
#define CFGT_TAIL "providers:\n  mock:\n    kind: mock\nmodels:\n  mock:\n    provider: mock\n"

/* The models section the HTTP-provider snippets end with, and a PEM-shaped
 * CA bundle for ca_file. */
#define CFGT_MODELS "models: {m: {provider: p}}\n"
#define CFGT_PEM "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"

struct cfgt_case {
	const char *yaml;
	const char *want;	/* the whole error line */
};

/* A file with every key, none at its default. */
extern const char cfgt_full[];

/* cfg_load_string of a snippet named "t.yaml" (err holds CFGT_ERRLEN). */
int cfgt_load(const char *yaml, size_t len, struct cfg *c, char *err);

/* Every case must fail with -EINVAL and exactly the expected line. */
void cfgt_expect_errors(const struct cfgt_case *cases, size_t n);

/* One load that must fail with exactly the line want. */
void cfgt_expect_error(const char *yaml, const char *want);

/* Each case loads (want NULL) or fails with exactly the line want: for
 * bounds, where the value just inside and the one just outside sit side by
 * side. */
void cfgt_expect_outcomes(const struct cfgt_case *cases, size_t n);

/* A load that must succeed. */
void cfgt_load_ok(const char *yaml, struct cfg *c);

/* Hostile input: any result but a crash, a leak or a malformed error line. */
void cfgt_survive(const char *yaml, size_t len);

/* A temporary file holding text; the caller unlinks and frees the path. */
char *cfgt_temp_file(const char *text);

/* Unset the variables that add providers to the embedded default. */
void cfgt_no_key_env(void);

/* Two optional strings are both NULL or equal. */
void cfgt_assert_str_same(const char *a, const char *b);

/* Two configs are equal field by field. */
void cfgt_assert_same(const struct cfg *a, const struct cfg *b);

/* cfg_dump's text, NUL-terminated; the caller frees it. */
char *cfgt_dump(const struct cfg *c);

/* Dump a, load the dump, compare. */
void cfgt_round_trip(const struct cfg *a);

/* cfgt_round_trip, and the dump of the loaded dump is the same text (but
 * for the first line, which names the source). */
void cfgt_dump_fixed_point(const struct cfg *a);

#endif
