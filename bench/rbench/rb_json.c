/*
 * rb_json.c — the report as JSON, for scripts that compare runs or plot
 * them again: every figure of the Markdown report plus the per-round
 * values behind the stability verdicts.
 *
 * Written by hand with stdio because ringside-bench links only libc, libm,
 * libcurl and libringside. Latencies and CPU times are in µs (keys end in
 * _us), RSS in KiB; a figure that does not exist (no server process, no
 * samples, a non-finite spread) is null rather than a sentinel number.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rb_report.h"

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 if it is not
 * one: overlong forms, surrogates and code points past U+10FFFF count as
 * malformed, as RFC 3629 says. */
static size_t js_utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
	if (!n || p[0] > 0xF4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
	    (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* A JSON string. Bytes that are not UTF-8 (a machine name or an argv from
 * a Latin-1 locale) become U+FFFD, so the file always parses. */
static void js_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	fputc('"', f);
	while (*p) {
		size_t n = js_utf8_len(p);
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7F)
			fprintf(f, "\\u%04x", *p);
		else if (!n)
			fputs("\\ufffd", f);
		else
			fwrite(p, 1, n, f);
		p += n ? n : 1;
	}
	fputc('"', f);
}

/* A number, or null when it does not exist. Four decimals keep a
 * nanosecond in µs figures; trailing zeros go, so 12.5000 prints as 12.5. */
static void js_num(FILE *f, double v, int exists)
{
	if (!exists || !isfinite(v)) {
		fputs("null", f);
		return;
	}
	char b[64];
	int len = snprintf(b, sizeof b, "%.4f", v);
	while (len > 1 && b[len - 1] == '0')
		b[--len] = 0;
	if (b[len - 1] == '.')
		b[--len] = 0;
	fputs(strcmp(b, "-0") ? b : "0", f);
}

static void js_key(FILE *f, const char *indent, const char *k, int first)
{
	fprintf(f, "%s\n%s", first ? "" : ",", indent);
	js_str(f, k);
	fputs(": ", f);
}

static void js_summary(FILE *f, const char *k, const struct rb_summary *s)
{
	const int e = s->n > 0;
	js_key(f, "      ", k, 0);
	fprintf(f, "{\"n\": %zu, \"p50_us\": ", s->n);
	js_num(f, s->p50, e);
	fputs(", \"p90_us\": ", f);
	js_num(f, s->p90, e);
	fputs(", \"p99_us\": ", f);
	js_num(f, s->p99, e);
	fputs(", \"p999_us\": ", f);
	js_num(f, s->p999, e);
	fputs(", \"max_us\": ", f);
	js_num(f, s->max, e);
	fputs(", \"mean_us\": ", f);
	js_num(f, s->mean, e);
	fputc('}', f);
}

/* Per-round latencies; a round without samples has 0 there (what
 * rb_summarize gives for an empty set), null here. */
static void js_list(FILE *f, const double *v, unsigned n)
{
	fputc('[', f);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		js_num(f, v[i], v[i] > 0);
	}
	fputc(']', f);
}

static void js_shape(FILE *f, const struct rb_shape *sh)
{
	static const char *const kind[] = { "sequential", "closed", "open" };
	js_key(f, "      ", "shape", 0);
	fputs("{\"kind\": ", f);
	js_str(f, (unsigned)sh->kind < 3 ? kind[sh->kind] : "unknown");
	fputs(", \"label\": ", f);
	js_str(f, sh->label);
	/* Concurrency is what the runner keeps in flight: one for a
	 * sequential run, none fixed for the open loop. */
	fputs(", \"conc\": ", f);
	js_num(f, sh->kind == RB_SEQUENTIAL ? 1 : sh->conc, sh->kind != RB_OPEN);
	fputs(", \"rate_per_s\": ", f);
	js_num(f, sh->rate, sh->kind == RB_OPEN);
	fprintf(f, ", \"n\": %u, \"warm\": %u}", sh->n, sh->warm);
}

static void js_result(FILE *f, const struct rb_result *x)
{
	unsigned k = x->rounds < RB_MAX_ROUNDS ? x->rounds : RB_MAX_ROUNDS;
	fputs("\n    {", f);
	js_key(f, "      ", "mode", 1);
	js_str(f, x->mode ? x->mode->name : "");
	if (x->shape)
		js_shape(f, x->shape);
	js_summary(f, "first", &x->sfirst);
	js_summary(f, "gap", &x->sgap);
	js_summary(f, "total", &x->stotal);
	/* How late the benchmark itself started the open loop's requests:
	 * part of every latency above, and not the mode's doing. */
	if (x->shape && x->shape->kind == RB_OPEN)
		js_summary(f, "start_lag", &x->slag);
	fprintf(f, ",\n      \"ok\": %u, \"failed\": %u, \"late\": %u, \"chunks\": %" PRIu64,
		x->ok, x->failed, x->late, x->chunks);
	js_key(f, "      ", "rps", 0);
	js_num(f, x->rps, 1);
	fputs(", \"cps\": ", f);
	js_num(f, x->cps, 1);
	js_key(f, "      ", "srv_cpu_us_per_req", 0);
	js_num(f, x->srv_cpu_us_req, x->srv_cpu_us_req >= 0);
	fputs(", \"srv_cpu_us_per_chunk\": ", f);
	js_num(f, x->srv_cpu_us_chunk, x->srv_cpu_us_chunk >= 0);
	fputs(", \"cli_cpu_us_per_req\": ", f);
	js_num(f, x->cli_cpu_us_req, x->cli_cpu_us_req >= 0);
	fputs(", \"srv_rss_kib\": ", f);
	if (x->srv_rss_kb < 0)
		fputs("null", f);
	else
		fprintf(f, "%ld", x->srv_rss_kb);
	/* Per-round values are those of the time to first chunk, the figure
	 * the stability verdict is made on. */
	js_key(f, "      ", "rounds", 0);
	fprintf(f, "{\"n\": %u, \"first_p50_us\": ", x->rounds);
	js_list(f, x->round_p50, k);
	fputs(", \"first_p99_us\": ", f);
	js_list(f, x->round_p99, k);
	fputs(", \"spread_p50\": ", f);
	js_num(f, x->spread_p50, 1);
	fputs(", \"spread_p99\": ", f);
	js_num(f, x->spread_p99, 1);
	fputc('}', f);
	js_key(f, "      ", "unstable", 0);
	fputs(x->unstable ? "true" : "false", f);
	fputs("\n    }", f);
}

static void js_report(FILE *f, const struct rb_report *r)
{
	fputc('{', f);
	js_key(f, "  ", "title", 1);
	js_str(f, r->title);
	js_key(f, "  ", "date", 0);
	js_str(f, r->date);
	js_key(f, "  ", "machine", 0);
	js_str(f, r->machine);
	js_key(f, "  ", "params", 0);
	js_str(f, r->params);
	js_key(f, "  ", "command", 0);
	js_str(f, r->command);
	js_key(f, "  ", "spread_limit", 0);
	fputs("{\"p50\": ", f);
	js_num(f, r->spread_limit_p50, 1);
	fputs(", \"p99\": ", f);
	js_num(f, r->spread_limit_p99, 1);
	fputc('}', f);
	js_key(f, "  ", "cpu_fit", 0);
	if (r->fit.valid) {
		fputs("{\"us_per_req\": ", f);
		js_num(f, r->fit.us_per_req, 1);
		fputs(", \"us_per_chunk\": ", f);
		js_num(f, r->fit.us_per_chunk, 1);
		fprintf(f, ", \"tokens_short\": %u, \"tokens_long\": %u}", r->fit.tokens_short,
			r->fit.tokens_long);
	} else {
		fputs("null", f);
	}
	/* What each mode is, once, so a reader of the file alone knows. */
	js_key(f, "  ", "modes", 0);
	fputc('[', f);
	for (size_t i = 0, n = 0; i < r->nres; i++) {
		const struct rb_mode_ops *m = r->res[i].mode;
		size_t j = 0;
		while (m && j < i && r->res[j].mode != m)
			j++;
		if (!m || j < i)
			continue;
		fputs(n++ ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
		js_str(f, m->name);
		fputs(", \"what\": ", f);
		js_str(f, m->what);
		fputc('}', f);
	}
	fputs("\n  ]", f);
	js_key(f, "  ", "results", 0);
	fputc('[', f);
	for (size_t i = 0; i < r->nres; i++) {
		if (i)
			fputc(',', f);
		js_result(f, &r->res[i]);
	}
	fputs("\n  ]\n}\n", f);
}

int rb_report_json(const char *path, const struct rb_report *r)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	errno = 0; /* so that a failed write's errno is the one reported */
	js_report(f, r);
	int err = ferror(f) ? (errno ? errno : EIO) : 0;
	if (fclose(f) != 0 && !err)
		err = errno;
	/* A short file is left as it is: the path may be a device or a
	 * symlink the caller chose, which is not ours to remove. */
	if (!err)
		return 0;
	errno = err;
	return -1;
}
