/*
 * test_lib_symbols.c — libringside's surface: the shared object and the
 * archive export the documented rs_ API and nothing else, and the shared
 * object needs nothing but libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(lib_symbols, .timeout = H_TEST_TIMEOUT);

#define MAX_SYMS 256

struct names {
	char *v[MAX_SYMS];
	size_t n;
};

static void names_add(struct names *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && !memcmp(s->v[i], name, len))
			return;
	cr_assert(s->n < MAX_SYMS);
	s->v[s->n++] = strndup(name, len);
}

static int names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return 1;
	return 0;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

/* Defined global symbols per `nm` output: "ADDR TYPE NAME[@VERSION]". */
static void nm_globals(const char *const argv[], struct names *out)
{
	char *text, *err;
	int rc = h_run(argv, NULL, NULL, &text, &err);
	cr_assert_eq(rc, 0, "%s failed: %s", argv[0], err);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char addr[64], type[8], name[256];
		if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3)
			continue; /* "libringside.o:" headers and blank lines */
		/* Lower-case types are local symbols. */
		if (type[0] >= 'a' && type[0] <= 'z')
			continue;
		char *at = strchr(name, '@');
		names_add(out, name, at ? (size_t)(at - name) : strlen(name));
	}
	free(text);
	free(err);
}

/* The functions ringside.h documents: every "RS_API ... rs_x(" declaration. */
static void header_api(struct names *out)
{
	char path[512];
	snprintf(path, sizeof path, "%s", __FILE__);
	char *slash = strstr(path, "tests/e2e/");
	cr_assert(slash, "cannot locate the source tree from %s", __FILE__);
	strcpy(slash, "libstub/ringside.h");
	char *h = h_read_file(path, NULL);
	cr_assert(h, "cannot read %s", path);
	for (char *p = h; (p = strstr(p, "RS_API ")); p++) {
		char *eol = strchr(p, '\n');
		char *rs = strstr(p, "rs_");
		char *paren = rs ? strchr(rs, '(') : NULL;
		if (!paren || (eol && paren > eol))
			continue;
		names_add(out, rs, (size_t)(paren - rs));
	}
	free(h);
}

static void assert_only_api(const struct names *got, const char *what)
{
	struct names api = { 0 };
	header_api(&api);
	cr_assert(api.n >= 10, "found only %zu API functions in ringside.h", api.n);
	for (size_t i = 0; i < got->n; i++) {
		/* The version script's node name, an absolute symbol. */
		if (!strcmp(got->v[i], "RINGSIDE_1"))
			continue;
		cr_assert(!strncmp(got->v[i], "rs_", 3), "%s exports '%s'", what, got->v[i]);
		cr_assert(names_has(&api, got->v[i]), "%s exports undocumented '%s'", what, got->v[i]);
	}
	for (size_t i = 0; i < api.n; i++)
		cr_assert(names_has(got, api.v[i]), "%s does not export '%s'", what, api.v[i]);
	names_free(&api);
}

Test(lib_symbols, test_shared_object_exports_only_rs)
{
	const char *so = h_env("RINGSIDE_LIBSO");
	struct names got = { 0 };
	nm_globals((const char *[]){ "/usr/bin/nm", "-D", "--defined-only", so, NULL }, &got);
	assert_only_api(&got, so);
	names_free(&got);
}

Test(lib_symbols, test_archive_exports_only_rs)
{
	const char *a = h_env("RINGSIDE_LIBA");
	struct names got = { 0 };
	nm_globals((const char *[]){ "/usr/bin/nm", "-g", "--defined-only", a, NULL }, &got);
	assert_only_api(&got, a);
	names_free(&got);
}

/* The sanitizer runtimes are what `make SAN=1` links on purpose; a plain
 * build needs libc alone. */
static int allowed_needed(const char *lib)
{
	if (!strcmp(lib, "libc.so.6"))
		return 1;
#if defined(__SANITIZE_ADDRESS__)
	if (!strncmp(lib, "libasan.so", 10) || !strncmp(lib, "libubsan.so", 11))
		return 1;
#endif
	return 0;
}

Test(lib_symbols, test_shared_object_needs_only_libc)
{
	const char *so = h_env("RINGSIDE_LIBSO");
	char *text, *err;
	int rc = h_run((const char *[]){ "/usr/bin/readelf", "-d", so, NULL }, NULL, NULL, &text, &err);
	cr_assert_eq(rc, 0, "readelf failed: %s", err);
	int libc = 0;
	for (char *p = text; (p = strstr(p, "(NEEDED)")); p++) {
		char *lb = strchr(p, '['), *rb = lb ? strchr(lb, ']') : NULL;
		cr_assert(lb && rb, "cannot parse readelf output:\n%s", text);
		*rb = 0;
		cr_assert(allowed_needed(lb + 1), "%s needs %s", so, lb + 1);
		libc += !strcmp(lb + 1, "libc.so.6");
		*rb = ']';
	}
	cr_assert_eq(libc, 1, "libc.so.6 not in NEEDED:\n%s", text);
	free(text);
	free(err);
}
