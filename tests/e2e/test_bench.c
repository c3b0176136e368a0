/*
 * test_bench.c — `make bench`'s harness keeps working: a small ringside-bench
 * run starts its own mockllm and sidecar, serves every request of every mode
 * and writes the report, the JSON and one SVG chart per load shape. It
 * checks that the harness measures, never what it measured.
 */
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(bench, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

static size_t tb_count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

Test(bench, test_bench_small_run_writes_every_result)
{
	char bindir[512], outdir[64] = "/tmp/rse2e-bench.XXXXXX";
	snprintf(bindir, sizeof bindir, "%s", h_env("RINGSIDE_BIN"));
	dirname(bindir);
	cr_assert(mkdtemp(outdir));
	const char *argv[] = { h_env("RINGSIDE_BENCH"), "-n", "100", "-r", "2", "-b", bindir,
			       "-o", outdir, NULL };
	char *out = NULL, *err = NULL;
	int st = h_run(argv, NULL, NULL, &out, &err);
	cr_assert_eq(st, 0, "ringside-bench failed (%d): %s", st, err);
	static const char *const modes[] = { "floor-spin", "floor-sleep", "shm-mock", "direct", "shm" };
	for (size_t i = 0; i < 5; i++) {
		char row[32];
		snprintf(row, sizeof row, "| %s ", modes[i]);
		cr_assert(strstr(out, row), "no row for %s in:\n%s", modes[i], out);
	}
	cr_assert(strstr(out, "## Overhead"), "no overhead table");

	char path[160];
	snprintf(path, sizeof path, "%s/latest/results.json", outdir);
	char *json = h_read_file(path, NULL);
	cr_assert(json, "no %s", path);
	/* 5 modes x 3 shapes + 3 modes with long replies, every one served. */
	size_t results = tb_count(json, "\"mode\": \"");
	cr_assert_geq(results, 18, "results in JSON: %zu", results);
	cr_assert_eq(tb_count(json, "\"failed\": 0,"), results, "a request failed:\n%s", err);
	free(json);

	snprintf(path, sizeof path, "%s/latest", outdir);
	DIR *d = opendir(path);
	cr_assert(d);
	unsigned svgs = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".svg"))
			continue;
		char p2[512];
		snprintf(p2, sizeof p2, "%s/%s", path, e->d_name);
		char *svg = h_read_file(p2, NULL);
		cr_assert(svg && strstr(svg, "<svg") && strstr(svg, "</svg>"), "%s", p2);
		free(svg);
		svgs++;
	}
	closedir(d);
	cr_assert_eq(svgs, 4, "one chart per load shape");
	free(out);
	free(err);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", outdir);
	cr_assert_eq(system(cmd), 0);
}
