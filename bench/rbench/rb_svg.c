/*
 * rb_svg.c — one chart per load shape: the distribution of time to first
 * chunk of every mode, as cumulative curves on a log time axis.
 *
 * A CDF shows the whole distribution at once (median, spread and tail) and
 * curves of different modes compare at a glance: the one to the left is
 * faster at that fraction of requests. The time axis is logarithmic because
 * the modes range from the transport floor (about a microsecond) to a
 * provider round trip (a millisecond or more). The file stands alone: no
 * script, no external font or style, every number it needs to be read
 * (what, where, with which parameters, when) is written into it, and each
 * mode has the same colour on every chart (Okabe–Ito palette, which stays
 * distinct under the common kinds of colour blindness; floors are dashed
 * as a second cue).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rb_report.h"

/* Layout in px: plot area, legend column to its right, footer below. */
#define SV_W 900
#define SV_PL 72.0
#define SV_PR 640.0
#define SV_PT 64.0
#define SV_PB 440.0
#define SV_LX 672.0
#define SV_FOOT_Y 506.0
#define SV_FOOT_LH 13.0
/* Footer characters per line: 10 px DejaVu Sans averages 5 px a character
 * in this kind of text, and 860 px are available. */
#define SV_WRAP 155
/* Points per curve: half evenly spaced in q for the body, half evenly in
 * log(1 - q) for the tail, so p99, p99.9 and the maximum keep their shape. */
#define SV_BODY_PTS 200
#define SV_TAIL_PTS 200
/* Shortest time drawn, µs: a log axis has no zero. */
#define SV_MIN_US 0.001

struct sv_axis {
	double lo, hi; /* µs, at 1-2-5 steps */
};

static double sv_x(const struct sv_axis *a, double us)
{
	if (us < a->lo)
		us = a->lo;
	return SV_PL + (log10(us) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) * (SV_PR - SV_PL);
}

static double sv_y(double q)
{
	return SV_PB - q * (SV_PB - SV_PT);
}

/* Length of the UTF-8 sequence at p that XML accepts as a character, or 0
 * (malformed, surrogate, beyond U+10FFFF, U+FFFE/U+FFFF). */
static size_t sv_utf8_len(const unsigned char *p)
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
	    (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90) ||
	    (p[0] == 0xEF && p[1] == 0xBF && p[2] >= 0xBE))
		return 0;
	return n;
}

/* len bytes of text as XML character data. Control characters, which XML
 * 1.0 forbids, become spaces; bytes that are not UTF-8 become U+FFFD. */
static void sv_esc(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		size_t n = sv_utf8_len(p);
		if (n > (size_t)(end - p))
			n = 0;
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (*p < 0x20 || *p == 0x7F)
				fputc(' ', f);
			else if (!n)
				fputs("\xEF\xBF\xBD", f);
			else
				fwrite(p, 1, n, f);
		}
		p += n ? n : 1;
	}
}

static void sv_line(FILE *f, double x1, double y1, double x2, double y2, const char *cls)
{
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"%s\"/>\n",
		x1, y1, x2, y2, cls);
}

/* <text> at (x, y) with extra attributes, the len bytes at s escaped. */
static void sv_textn(FILE *f, double x, double y, const char *attr, const char *s, size_t len)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attr);
	sv_esc(f, s, len);
	fputs("</text>\n", f);
}

static void sv_text(FILE *f, double x, double y, const char *attr, const char *s)
{
	sv_textn(f, x, y, attr, s, strlen(s));
}

/* Lines of at most SV_WRAP characters, broken at spaces, starting at y;
 * with f NULL only counts them. */
static int sv_wrap(FILE *f, double y, const char *s)
{
	int lines = 0;
	while (*s) {
		const char *p = s, *brk = NULL;
		size_t chars = 0;
		while (*p && chars < SV_WRAP) {
			size_t n = sv_utf8_len((const unsigned char *)p);
			if (*p == ' ')
				brk = p;
			p += n ? n : 1;
			chars++;
		}
		if (!*p || *p == ' ' || !brk)
			brk = p; /* the rest fits, or one word longer than a line */
		if (f)
			sv_textn(f, 20, y + lines * SV_FOOT_LH, "class=\"foot\"", s, (size_t)(brk - s));
		lines++;
		s = *brk == ' ' ? brk + 1 : brk;
	}
	return lines;
}

/* Machine, parameters, date and command under the chart, so that it can be
 * read away from the report; with f NULL only counts the lines. */
static int sv_footer(FILE *f, const struct rb_report *r)
{
	char b[700];
	int lines = 0;
	snprintf(b, sizeof b, "machine: %s", r->machine);
	lines += sv_wrap(f, SV_FOOT_Y + lines * SV_FOOT_LH, b);
	snprintf(b, sizeof b, "params: %s", r->params);
	lines += sv_wrap(f, SV_FOOT_Y + lines * SV_FOOT_LH, b);
	snprintf(b, sizeof b, "date: %s · command: %s", r->date, r->command);
	lines += sv_wrap(f, SV_FOOT_Y + lines * SV_FOOT_LH, b);
	return lines;
}

/* A duration for people: the unit changes with the magnitude. */
static void sv_time(char *b, size_t len, double us)
{
	if (us < 1000)
		snprintf(b, len, us < 10 ? "%.2f µs" : "%.1f µs", us);
	else if (us < 1e6)
		snprintf(b, len, "%.2f ms", us / 1e3);
	else
		snprintf(b, len, "%.2f s", us / 1e6);
}

/* The fixed colour and dash of a mode: the same on every chart. */
static void sv_style(const char *mode, const char **color, const char **dash)
{
	static const struct {
		const char *mode, *color, *dash;
	} map[] = {
		{ "shm", "#D55E00", "none" },        /* vermillion */
		{ "direct", "#0072B2", "none" },     /* blue */
		{ "shm-mock", "#CC79A7", "none" },   /* reddish purple */
		{ "floor-spin", "#009E73", "6 3" },  /* bluish green */
		{ "floor-sleep", "#E69F00", "2 3" }, /* orange */
	};
	size_t i = 0, n = sizeof map / sizeof map[0];
	while (i < n && strcmp(map[i].mode, mode))
		i++;
	/* Modes added later: black, dash-dotted, until they get a colour. */
	*color = i < n ? map[i].color : "#000000";
	*dash = i < n ? map[i].dash : "8 3 2 3";
}

/* From v, the largest 1-2-5 step at or below it (up = 0) or the smallest
 * at or above it (up = 1). */
static double sv_step(double v, int up)
{
	static const double m[] = { 1, 2, 5, 10 };
	double base = pow(10, floor(log10(v))), best = up ? 10 * base : base;
	for (int i = 0; i < 4; i++) {
		double c = m[i] * base;
		if (up ? c >= v * (1 - 1e-9) && c < best : c <= v * (1 + 1e-9) && c > best)
			best = c;
	}
	return best;
}

/* Gridlines at every m x 10^k; labels at decades, and also at 2 and 5 (or
 * every step) when the range is too narrow for decades alone to read. */
static void sv_xgrid(FILE *f, const struct sv_axis *a)
{
	double span = log10(a->hi / a->lo);
	for (double dec = pow(10, floor(log10(a->lo))); dec <= a->hi * (1 + 1e-9); dec *= 10) {
		for (int m = 1; m <= 9; m++) {
			double v = m * dec;
			if (v < a->lo * (1 - 1e-9) || v > a->hi * (1 + 1e-9))
				continue;
			double x = sv_x(a, v);
			sv_line(f, x, SV_PT, x, SV_PB, m == 1 ? "grid" : "minor");
			if (!(m == 1 || span <= 1.0 || (span <= 2.5 && (m == 2 || m == 5))))
				continue;
			char b[32];
			if (v >= 1e6)
				snprintf(b, sizeof b, "%g s", v / 1e6);
			else if (v >= 1e3)
				snprintf(b, sizeof b, "%g ms", v / 1e3);
			else
				snprintf(b, sizeof b, "%g", v);
			sv_text(f, x, SV_PB + 16, "text-anchor=\"middle\" class=\"tick\"", b);
		}
	}
}

static void sv_ygrid(FILE *f)
{
	static const double q[] = { 0.5, 0.9, 0.99 };
	static const char *const name[] = { "p50", "p90", "p99" };
	for (int i = 0; i <= 10; i++) {
		double y = sv_y(i / 10.0);
		sv_line(f, SV_PL, y, SV_PR, y, "minor");
		if (i % 2 == 0) {
			char b[16];
			snprintf(b, sizeof b, "%g", i / 10.0);
			sv_text(f, SV_PL - 6, y + 4, "text-anchor=\"end\" class=\"tick\"", b);
		}
	}
	for (int i = 0; i < 3; i++) {
		sv_line(f, SV_PL, sv_y(q[i]), SV_PR, sv_y(q[i]), "pct");
		sv_text(f, SV_PR + 4, sv_y(q[i]) + 3.5, "class=\"tick\"", name[i]);
	}
}

/* The empirical CDF of sorted samples as a staircase through at most
 * SV_BODY_PTS + SV_TAIL_PTS of them. Both index sequences rise, so merging
 * them in step gives the points in order without storing either. */
static void sv_curve(FILE *f, const struct sv_axis *a, const struct rb_samples *s,
		     const char *color, const char *dash)
{
	const size_t n = s->n;
	const double logn = log10((double)n);
	double py = sv_y(0);
	size_t jb = 0, jt = 0, next = 0; /* next: lowest index not drawn yet */
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\""
		   " stroke-linejoin=\"round\" points=\"", color, dash);
	while (jb < SV_BODY_PTS || jt < SV_TAIL_PTS) {
		size_t ib = SIZE_MAX, it = SIZE_MAX, i;
		if (jb < SV_BODY_PTS)
			ib = (size_t)((double)jb * (double)(n - 1) / (SV_BODY_PTS - 1));
		if (jt < SV_TAIL_PTS) {
			/* 1 - q from 1 down to 1/n evenly on a log scale. */
			double q = 1 - pow(10, -logn * (double)jt / (SV_TAIL_PTS - 1));
			double r = ceil(q * (double)n - 1e-9);
			it = r < 1 ? 0 : r > (double)n ? n - 1 : (size_t)r - 1;
		}
		i = ib < it ? ib : it;
		if (i == ib)
			jb++;
		if (i == it)
			jt++;
		if (i < next)
			continue;
		double x = sv_x(a, (double)s->v[i] / 1e3), y = sv_y((double)(i + 1) / (double)n);
		fprintf(f, "%.1f,%.1f %.1f,%.1f ", x, py, x, y);
		py = y;
		next = i + 1;
	}
	fputs("\"/>\n", f);
}

static void sv_legend(FILE *f, double y, const struct rb_result *x, const char *color,
		      const char *dash)
{
	char b[160], p50[32], p99[32];
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\""
		   " stroke-width=\"3\" stroke-dasharray=\"%s\"/>\n",
		SV_LX, y - 4, SV_LX + 28, y - 4, color, dash);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"mode\">", SV_LX + 36, y);
	sv_esc(f, x->mode->name, strlen(x->mode->name));
	snprintf(b, sizeof b, "n=%zu%s", x->sfirst.n, x->unstable ? " ⚠" : "");
	fputs("<tspan dx=\"6\" class=\"n\">", f);
	sv_esc(f, b, strlen(b));
	fputs("</tspan></text>\n", f);
	if (!x->sfirst.n) {
		snprintf(b, sizeof b, "no samples");
	} else {
		sv_time(p50, sizeof p50, x->sfirst.p50);
		sv_time(p99, sizeof p99, x->sfirst.p99);
		snprintf(b, sizeof b, "p50 %s · p99 %s", p50, p99);
	}
	sv_text(f, SV_LX + 36, y + 16, "class=\"stat\"", b);
}

static void sv_chart(FILE *f, const struct rb_report *r, const char *shape, int foot_lines)
{
	struct sv_axis a = { INFINITY, 0 };
	char b[700];
	int curves = 0, unstable = 0;
	for (size_t i = 0; i < r->nres; i++) {
		struct rb_result *x = &r->res[i];
		if (!x->mode || !x->shape || strcmp(x->shape->label, shape) || !x->first.n)
			continue;
		/* rb_summarize sorted the pooled samples already (the report
		 * is const, its sample arrays are not); if a caller skipped it,
		 * sorting changes only their order, which nothing relies on. */
		rb_samples_sort(&x->first);
		double lo = (double)x->first.v[0] / 1e3, hi = (double)x->first.v[x->first.n - 1] / 1e3;
		a.lo = fmin(a.lo, fmax(lo, SV_MIN_US));
		a.hi = fmax(a.hi, fmax(hi, SV_MIN_US));
		curves++;
	}
	if (!curves)
		a = (struct sv_axis){ 1, 1000 }; /* empty frame, still readable */
	a.lo = sv_step(a.lo, 0);
	a.hi = sv_step(a.hi, 1);
	if (a.hi <= a.lo * (1 + 1e-9))
		a.hi = sv_step(a.lo * 1.5, 1);

	int h = (int)(SV_FOOT_Y + foot_lines * SV_FOOT_LH + 6);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
		   " viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
		SV_W, h, SV_W, h);
	snprintf(b, sizeof b, "Time to first chunk — %s", shape);
	fputs("<title>", f);
	sv_esc(f, b, strlen(b));
	fputs("</title>\n<style>\n"
	      ".grid{stroke:#c8c8c8;stroke-width:1}.minor{stroke:#ececec;stroke-width:1}\n"
	      ".pct{stroke:#a0a0a0;stroke-width:1;stroke-dasharray:4 3}\n"
	      ".tick{font-size:11px;fill:#444}.axis{font-size:12px;fill:#222}\n"
	      ".mode{font-size:13px;font-weight:bold;fill:#222}.n{font-weight:normal;fill:#666}\n"
	      ".stat{font-size:11px;fill:#333}.foot{font-size:10px;fill:#555}\n"
	      "</style>\n", f);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", SV_W, h);
	sv_text(f, SV_PL, 30, "font-size=\"18\" font-weight=\"bold\" fill=\"#111\"", b);
	sv_text(f, SV_PL, 48, "font-size=\"12\" fill=\"#555\"",
		"Fraction of requests whose first content chunk arrived within the time on the "
		"x axis (all rounds pooled; left is faster)");

	sv_ygrid(f);
	sv_xgrid(f, &a);
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\""
		   " stroke=\"#333\"/>\n", SV_PL, SV_PT, SV_PR - SV_PL, SV_PB - SV_PT);
	if (!curves)
		sv_text(f, (SV_PL + SV_PR) / 2, sv_y(0.7), "text-anchor=\"middle\" class=\"axis\"",
			"no samples for this shape");
	sv_text(f, (SV_PL + SV_PR) / 2, SV_PB + 40, "text-anchor=\"middle\" class=\"axis\"",
		"time to first chunk (µs unless marked; log scale)");
	fprintf(f, "<text transform=\"translate(22 %.1f) rotate(-90)\" text-anchor=\"middle\""
		   " class=\"axis\">fraction of requests</text>\n", (SV_PT + SV_PB) / 2);

	/* Curves need no clipping: the axis spans every sample and [0, 1]. */
	double ly = SV_PT + 12;
	for (size_t i = 0; i < r->nres; i++) {
		const struct rb_result *x = &r->res[i];
		const char *color, *dash;
		if (!x->mode || !x->shape || strcmp(x->shape->label, shape))
			continue;
		sv_style(x->mode->name, &color, &dash);
		if (x->first.n) {
			sv_curve(f, &a, &x->first, color, dash);
			/* p50 and p99 marked on the curve, as the legend states them. */
			for (int k = 0; k < 2; k++)
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\""
					   " stroke=\"#fff\"/>\n", sv_x(&a, k ? x->sfirst.p99 : x->sfirst.p50),
					sv_y(k ? 0.99 : 0.5), color);
		}
		sv_legend(f, ly, x, color, dash);
		unstable |= x->unstable;
		ly += 44;
	}
	if (unstable)
		sv_text(f, SV_LX, ly, "class=\"stat\"", "⚠ unstable across rounds");
	if (curves)
		sv_text(f, SV_LX, ly + (unstable ? 16 : 0), "class=\"stat\"", "dots: p50 and p99");

	sv_footer(f, r);
	fputs("</svg>\n", f);
}

int rb_report_svg(const char *path, const struct rb_report *r, const char *shape)
{
	int lines = sv_footer(NULL, r); /* the height depends on it */
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	errno = 0;
	sv_chart(f, r, shape, lines);
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
