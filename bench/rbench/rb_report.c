/*
 * rb_report.c — the Markdown report: what a person reads first, in the
 * terminal right after a run and as a GitHub comment or file later.
 *
 * Tables are padded to their widest cell so that they line up on a
 * terminal as well as render on GitHub. Every cell is formatted twice
 * (once to measure, once to print) rather than stored: the report needs
 * no allocation, so it prints even when the run ended short of memory.
 */
#include <math.h>
#include <string.h>

#include "rb_report.h"

#define RP_MAXCOL 20
#define RP_CELL 48
/* Shown where a figure does not exist (no server, no samples). */
#define RP_NONE "—"

typedef char rp_row[RP_MAXCOL][RP_CELL];
/* Fill the cells of row i; 0 when result i has no row in this table. */
typedef int (*rp_row_fn)(const struct rb_report *r, size_t i, rp_row cells);

const struct rb_result *rb_report_find(const struct rb_report *r, const char *mode,
				       const char *shape)
{
	for (size_t i = 0; i < r->nres; i++) {
		const struct rb_result *res = &r->res[i];
		if (res->mode && res->shape && !strcmp(res->mode->name, mode) &&
		    !strcmp(res->shape->label, shape))
			return res;
	}
	return NULL;
}

/* Columns a terminal gives the text: one per code point, which is right
 * for the few non-ASCII characters used here (µ, —, −, ×, ⚠). */
static size_t rp_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

static void rp_pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

/* Print a table whose rows come from row(r, i, ...) for every result i.
 * align: 'l' or 'r' per column. Returns the number of rows printed; with
 * none, nothing is printed. */
static size_t rp_table(FILE *f, const struct rb_report *r, size_t ncol, const char *const *head,
		       const char *align, rp_row_fn row)
{
	size_t w[RP_MAXCOL], nrow = 0;
	rp_row cells;
	for (size_t c = 0; c < ncol; c++)
		w[c] = rp_width(head[c]) > 3 ? rp_width(head[c]) : 3; /* "---" */
	for (size_t i = 0; i < r->nres; i++) {
		if (!row(r, i, cells))
			continue;
		nrow++;
		for (size_t c = 0; c < ncol; c++)
			if (rp_width(cells[c]) > w[c])
				w[c] = rp_width(cells[c]);
	}
	if (!nrow)
		return 0;
	for (size_t c = 0; c < ncol; c++) {
		fprintf(f, "| %s", head[c]);
		rp_pad(f, w[c] - rp_width(head[c]) + 1);
	}
	fputs("|\n", f);
	for (size_t c = 0; c < ncol; c++) {
		fputs(align[c] == 'r' ? "| " : "| :", f);
		for (size_t k = align[c] == 'r' ? 1 : 2; k < w[c]; k++)
			fputc('-', f);
		fputs(align[c] == 'r' ? ": " : "- ", f);
	}
	fputs("|\n", f);
	for (size_t i = 0; i < r->nres; i++) {
		if (!row(r, i, cells))
			continue;
		for (size_t c = 0; c < ncol; c++) {
			size_t pad = w[c] - rp_width(cells[c]);
			fputs("| ", f);
			if (align[c] == 'r')
				rp_pad(f, pad);
			fputs(cells[c], f);
			rp_pad(f, align[c] == 'r' ? 1 : pad + 1);
		}
		fputs("|\n", f);
	}
	return nrow;
}

/* A latency in µs: three significant figures or more, whole µs once the
 * decimals stop meaning anything. */
static void rp_us(char *b, double v, size_t n)
{
	if (!n)
		snprintf(b, RP_CELL, RP_NONE);
	else
		snprintf(b, RP_CELL, v < 10 ? "%.2f" : v < 10000 ? "%.1f" : "%.0f", v);
}

static void rp_diff(char *b, double shm, double direct)
{
	snprintf(b, RP_CELL, fabs(shm - direct) < 10000 ? "%+.1f" : "%+.0f", shm - direct);
	if (b[0] == '-') { /* a real minus sign reads better next to "+" */
		memmove(b + 3, b + 1, strlen(b));
		memcpy(b, "−", 3);
	}
}

static void rp_opt(char *b, double v, const char *fmt)
{
	if (v < 0 || !isfinite(v))
		snprintf(b, RP_CELL, RP_NONE);
	else
		snprintf(b, RP_CELL, fmt, v);
}

static int rp_row_all(const struct rb_report *r, size_t i, rp_row c)
{
	const struct rb_result *x = &r->res[i];
	if (!x->mode || !x->shape)
		return 0;
	snprintf(c[0], RP_CELL, "%s", x->mode->name);
	snprintf(c[1], RP_CELL, "%s", x->shape->label);
	rp_us(c[2], x->sfirst.p50, x->sfirst.n);
	rp_us(c[3], x->sfirst.p90, x->sfirst.n);
	rp_us(c[4], x->sfirst.p99, x->sfirst.n);
	rp_us(c[5], x->sfirst.p999, x->sfirst.n);
	rp_us(c[6], x->sfirst.max, x->sfirst.n);
	rp_us(c[7], x->sgap.p50, x->sgap.n);
	rp_us(c[8], x->sgap.p99, x->sgap.n);
	rp_us(c[9], x->stotal.p50, x->stotal.n);
	rp_us(c[10], x->stotal.p99, x->stotal.n);
	snprintf(c[11], RP_CELL, "%.0f", x->rps);
	snprintf(c[12], RP_CELL, "%.0f", x->cps);
	rp_opt(c[13], x->srv_cpu_us_req, "%.1f");
	rp_opt(c[14], x->cli_cpu_us_req, "%.1f");
	rp_opt(c[15], x->srv_rss_kb < 0 ? -1 : (double)x->srv_rss_kb / 1024, "%.1f");
	snprintf(c[16], RP_CELL, "%u", x->failed);
	snprintf(c[17], RP_CELL, "%s", x->unstable ? "⚠" : "");
	return 1;
}

/* Row of shm minus direct, on the shm result of each shape that has both. */
static int rp_row_overhead(const struct rb_report *r, size_t i, rp_row c)
{
	const struct rb_result *s = &r->res[i], *d;
	if (!s->mode || !s->shape || rb_report_find(r, "shm", s->shape->label) != s ||
	    !(d = rb_report_find(r, "direct", s->shape->label)))
		return 0;
	snprintf(c[0], RP_CELL, "%s", s->shape->label);
	const struct rb_summary *ss[2] = { &s->sfirst, &s->stotal }, *ds[2] = { &d->sfirst, &d->stotal };
	for (int k = 0; k < 2; k++) {
		const double sv[4] = { ss[k]->p50, ss[k]->p90, ss[k]->p99, ss[k]->p999 };
		const double dv[4] = { ds[k]->p50, ds[k]->p90, ds[k]->p99, ds[k]->p999 };
		for (int j = 0; j < 4; j++) {
			if (ss[k]->n && ds[k]->n)
				rp_diff(c[1 + 4 * k + j], sv[j], dv[j]);
			else
				snprintf(c[1 + 4 * k + j], RP_CELL, RP_NONE);
		}
	}
	return 1;
}

static void rp_ratio(char *b, double num, double den, int valid)
{
	if (!valid || !(den > 0))
		snprintf(b, RP_CELL, RP_NONE);
	else
		snprintf(b, RP_CELL, num / den < 10 ? "%.2f×" : "%.1f×", num / den);
}

/* Row of shm-mock against one floor, on each floor result whose shape also
 * ran shm-mock. */
static int rp_row_floor(const struct rb_report *r, size_t i, rp_row c)
{
	const struct rb_result *fl = &r->res[i], *m;
	if (!fl->mode || !fl->shape || strncmp(fl->mode->name, "floor-", 6) ||
	    rb_report_find(r, fl->mode->name, fl->shape->label) != fl ||
	    !(m = rb_report_find(r, "shm-mock", fl->shape->label)))
		return 0;
	int ok = fl->sfirst.n && m->sfirst.n;
	snprintf(c[0], RP_CELL, "%s", fl->shape->label);
	snprintf(c[1], RP_CELL, "%s", fl->mode->name);
	rp_us(c[2], m->sfirst.p50, m->sfirst.n);
	rp_us(c[3], fl->sfirst.p50, fl->sfirst.n);
	rp_ratio(c[4], m->sfirst.p50, fl->sfirst.p50, ok);
	rp_us(c[5], m->sfirst.p99, m->sfirst.n);
	rp_us(c[6], fl->sfirst.p99, fl->sfirst.n);
	rp_ratio(c[7], m->sfirst.p99, fl->sfirst.p99, ok);
	return 1;
}

/* `text` as a code span, fenced by more backticks than it contains in a
 * row, so a command line with backticks still renders as typed. */
static void rp_code(FILE *f, const char *s)
{
	size_t run = 0, most = 0;
	for (const char *p = s; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > most)
			most = run;
	}
	/* A span that starts or ends with a backtick needs a space inside
	 * its fence, which the renderer strips. */
	const char *sp = most ? " " : "";
	for (size_t k = 0; k <= most; k++)
		fputc('`', f);
	fprintf(f, "%s%s%s", sp, s, sp);
	for (size_t k = 0; k <= most; k++)
		fputc('`', f);
}

static void rp_spread(FILE *f, double v, double limit)
{
	if (isinf(v))
		fprintf(f, "spread ∞ > %.2f", limit);
	else
		fprintf(f, "spread %.2f %s %.2f", v, v > limit ? ">" : "≤", limit);
}

static void rp_rounds(FILE *f, const double *v, unsigned rounds)
{
	unsigned k = rounds < RB_MAX_ROUNDS ? rounds : RB_MAX_ROUNDS;
	for (unsigned i = 0; i < k; i++) {
		char b[RP_CELL];
		rp_us(b, v[i], v[i] > 0); /* 0: the round had no sample */
		fprintf(f, "%s%s", i ? ", " : "", b);
	}
	fputs(" µs", f);
	if (rounds > k)
		fprintf(f, " (first %u of %u rounds)", k, rounds);
}

/* How late the runner started open-loop requests: it is inside every
 * open-loop latency, and the benchmark's lateness, not the mode's. */
static void rp_lag(FILE *f, const struct rb_report *r)
{
	int any = 0;
	for (size_t i = 0; i < r->nres; i++) {
		const struct rb_result *x = &r->res[i];
		char p50[RP_CELL], p99[RP_CELL];
		if (!x->mode || !x->shape || x->shape->kind != RB_OPEN || !x->slag.n)
			continue;
		if (!any)
			fputs("\nOpen loop: the benchmark started its requests this late after "
			      "their scheduled arrival (p50 / p99, µs; included above): ", f);
		rp_us(p50, x->slag.p50, 1);
		rp_us(p99, x->slag.p99, 1);
		fprintf(f, "%s%s %s / %s", any ? ", " : "", x->mode->name, p50, p99);
		any = 1;
	}
	if (any)
		fputs(".\n", f);
}

static void rp_unstable(FILE *f, const struct rb_report *r)
{
	size_t n = 0;
	fputs("\n## Unstable results\n\n", f);
	for (size_t i = 0; i < r->nres; i++) {
		const struct rb_result *x = &r->res[i];
		if (!x->unstable || !x->mode || !x->shape)
			continue;
		n++;
		fprintf(f, "- **%s / %s**: first chunk p50 by round ", x->mode->name, x->shape->label);
		rp_rounds(f, x->round_p50, x->rounds);
		fputs(", ", f);
		rp_spread(f, x->spread_p50, r->spread_limit_p50);
		fputs("; p99 by round ", f);
		rp_rounds(f, x->round_p99, x->rounds);
		fputs(", ", f);
		rp_spread(f, x->spread_p99, r->spread_limit_p99);
		if (x->failed)
			fprintf(f, "; %u failed", x->failed);
		fputs("\n", f);
	}
	if (!n)
		fprintf(f, "None: every result's first-chunk p50 agrees across rounds within "
			   "%.0f%% and p99 within %.0f%%, with no failed request.\n",
			r->spread_limit_p50 * 100, r->spread_limit_p99 * 100);
}

void rb_report_md(FILE *f, const struct rb_report *r)
{
	static const char *const h_all[] = {
		"mode", "shape", "first p50", "p90", "p99", "p99.9", "max", "gap p50", "gap p99",
		"total p50", "total p99", "req/s", "chunks/s", "srv CPU/req", "cli CPU/req",
		"srv RSS MiB", "failed", "",
	};
	static const char *const h_over[] = {
		"shape", "first p50", "p90", "p99", "p99.9", "total p50", "p90", "p99", "p99.9",
	};
	static const char *const h_floor[] = {
		"shape", "floor", "shm-mock p50", "floor p50", "ratio", "shm-mock p99", "floor p99",
		"ratio",
	};

	fprintf(f, "# %s\n\n", r->title[0] ? r->title : "ringside-bench");
	fprintf(f, "- date: %s\n- machine: %s\n- params: %s\n- command: ",
		r->date[0] ? r->date : RP_NONE, r->machine[0] ? r->machine : RP_NONE,
		r->params[0] ? r->params : RP_NONE);
	rp_code(f, r->command);
	fputs("\n\n## Results\n\n"
	      "Latencies in µs: *first* = time to first chunk, *gap* = between chunks, "
	      "*total* = whole stream. CPU in µs per request: *srv* is the process doing "
	      "the mode's gateway work (the sidecar for shm modes), *cli* is the benchmark "
	      "itself. ⚠ = unstable across rounds (see the end).\n\n", f);
	if (!rp_table(f, r, 18, h_all, "llrrrrrrrrrrrrrrrl", rp_row_all))
		fputs("No results.\n", f);

	fputs("\nModes:\n\n", f);
	for (size_t i = 0; i < r->nres; i++) {
		const struct rb_mode_ops *m = r->res[i].mode;
		size_t j = 0;
		while (m && j < i && r->res[j].mode != m)
			j++;
		if (m && j == i)
			fprintf(f, "- `%s`: %s\n", m->name, m->what ? m->what : "");
	}

	fputs("\n## Overhead: shm − direct\n\n"
	      "What ringside adds to a request against talking to the provider directly, "
	      "per percentile, in µs (negative: shm was faster).\n\n", f);
	if (!rp_table(f, r, 9, h_over, "lrrrrrrrr", rp_row_overhead))
		fputs("No shape ran both shm and direct.\n", f);

	fputs("\n## Gateway round trip vs floor\n\n"
	      "Time to first chunk of shm-mock (the sidecar answering from its in-process "
	      "mock: the gateway's own round trip) against the bare transport floors, in µs, "
	      "and how many times the floor it takes.\n\n", f);
	if (!rp_table(f, r, 8, h_floor, "llrrrrrr", rp_row_floor))
		fputs("No shape ran shm-mock and a floor mode.\n", f);

	rp_lag(f, r);

	if (r->fit.valid) {
		fputs("\n## Sidecar CPU\n\n", f);
		fprintf(f, "Sidecar CPU per request ≈ **%.1f µs + %.3f µs × chunks** "
			   "(fitted from sequential shm runs of %u and %u tokens).\n",
			r->fit.us_per_req, r->fit.us_per_chunk, r->fit.tokens_short,
			r->fit.tokens_long);
	}
	rp_unstable(f, r);
}
