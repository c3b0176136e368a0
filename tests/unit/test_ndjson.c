/*
 * test_ndjson.c — the NDJSON splitter (sidecar/ndjson.c) against a
 * whole-input reference, over the Ollama fixtures and generated inputs, in
 * every chunking: each split point, one byte at a time, random.
 *
 * As for SSE, a run checks that each line comes out of the feed call that
 * holds its LF (ndjson_finish for a last line without one), that a line
 * over the bound fails in the call holding its byte max+1, and that
 * nothing follows a stop.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

#define TN_CANCEL (-4243)
#define TN_NO_CANCEL SIZE_MAX
#define TN_BIG (1u << 20)

/* ---- small helpers ------------------------------------------------------- */

static uint64_t tn_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static size_t tn_below(uint64_t *s, size_t n)
{
	return n ? (size_t)(tn_rand(s) % n) : 0;
}

struct tn_buf {
	char *p;
	size_t len, cap;
};

static void tn_put(struct tn_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 256;
		while (c < b->len + n + 1)
			c *= 2;
		b->p = realloc(b->p, c);
		cr_assert(b->p);
		b->cap = c;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void tn_puts(struct tn_buf *b, const char *s)
{
	tn_put(b, s, strlen(s));
}

static char *tn_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct tn_buf b = { 0 };
	char tmp[4096];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		tn_put(&b, tmp, k);
	fclose(f);
	if (!b.p)
		tn_put(&b, "", 0);
	*len = b.len;
	return b.p;
}

/* ---- the reference -------------------------------------------------------- */

struct tn_line {
	const char *p; /* into the input */
	size_t len;
	size_t at;     /* offset of its LF; input length: from ndjson_finish */
};

struct tn_ref {
	struct tn_line *l;
	size_t n;
	int rc;
	size_t err_at;
	int unterminated;
};

/* Blank: nothing but spaces, tabs and CRs, which no JSON value is. */
static int tn_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/*
 * Split at LF; one CR before the LF (or before EOF) dropped; blank lines
 * skipped; the last line without LF delivered at EOF. The bound counts
 * every byte before the LF, a CR too: at the CR nobody knows yet whether
 * an LF follows, and the splitter fails at the byte that crosses.
 */
static void tn_ref_split(const char *in, size_t len, size_t max, struct tn_ref *r)
{
	memset(r, 0, sizeof *r);
	r->l = calloc(len + 1, sizeof *r->l);
	cr_assert(r->l);
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t e = nl ? (size_t)(nl - in) : len, n = e - pos;
		if (n > max) {
			r->rc = -EMSGSIZE;
			r->err_at = pos + max;
			return;
		}
		size_t k = n && in[e - 1] == '\r' ? n - 1 : n;
		if (!tn_blank(in + pos, k)) {
			r->l[r->n++] = (struct tn_line){ in + pos, k, e };
			r->unterminated = !nl;
		}
		pos = e + 1;
	}
}

/* ---- the splitter in a given chunking ------------------------------------- */

struct tn_run {
	const struct tn_ref *ref;
	size_t len, lo, hi;
	int in_finish;
	size_t got, cancel_at;
	char *why;
	size_t why_len;
};

static void tn_why(struct tn_run *r, const char *fmt, long long a, long long b)
{
	if (!r->why[0])
		snprintf(r->why, r->why_len, fmt, a, b);
}

static int tn_on_line(void *arg, const char *line, size_t len)
{
	struct tn_run *r = arg;
	size_t i = r->got++;
	if (i >= r->ref->n) {
		tn_why(r, "line %lld: the reference has only %lld", (long long)i, (long long)r->ref->n);
		return 0;
	}
	const struct tn_line *e = &r->ref->l[i];
	if (len != e->len || (len && memcmp(line, e->p, len)))
		tn_why(r, "line %lld differs (length %lld)", (long long)i, (long long)len);
	else if (r->in_finish ? e->at != r->len : e->at < r->lo || e->at >= r->hi)
		tn_why(r, "line %lld: delivered by the call at %lld, not the one holding its LF",
		       (long long)i, r->in_finish ? -1 : (long long)r->lo);
	return i == r->cancel_at ? TN_CANCEL : 0;
}

/* The buffer doubles from 256 up to the bound. */
static size_t tn_cap_bound(size_t max)
{
	return 2 * max > 256 ? 2 * max : 256;
}

static int tn_run(const char *in, size_t len, const size_t *sizes, size_t n, size_t max,
		  const struct tn_ref *ref, size_t cancel_at, char *why, size_t why_len)
{
	struct ndjson p;
	struct tn_run r = { .ref = ref, .len = len, .cancel_at = cancel_at, .why = why,
			    .why_len = why_len };
	why[0] = 0;
	size_t stop = SIZE_MAX, want = ref->n;
	int stop_rc = 0, rc;
	if (cancel_at < ref->n) {
		stop = ref->l[cancel_at].at;
		stop_rc = TN_CANCEL;
		want = cancel_at + 1;
	} else if (ref->rc) {
		stop = ref->err_at;
		stop_rc = ref->rc;
	}
	ndjson_init(&p, max);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		r.lo = off;
		r.hi = off + sizes[i];
		rc = ndjson_feed(&p, in + off, sizes[i], tn_on_line, &r);
		if (rc != (stop >= r.lo && stop < r.hi ? stop_rc : 0)) {
			tn_why(&r, "feed at %lld returned %lld", (long long)off, rc);
			goto out;
		}
		if (rc)
			goto out;
		off = r.hi;
	}
	r.lo = r.hi = len;
	r.in_finish = 1;
	rc = ndjson_finish(&p, tn_on_line, &r);
	if (rc != (stop == len ? stop_rc : 0)) {
		tn_why(&r, "finish returned %lld (stop at %lld)", rc, (long long)stop);
		goto out;
	}
	if (!stop_rc && p.unterminated != ref->unterminated)
		tn_why(&r, "unterminated %lld, reference %lld", p.unterminated, ref->unterminated);
out:
	if (r.got != want)
		tn_why(&r, "%lld lines delivered, %lld expected", (long long)r.got, (long long)want);
	if (p.lines != r.got)
		tn_why(&r, "p->lines %lld after %lld callbacks", (long long)p.lines, (long long)r.got);
	if (p.cap > tn_cap_bound(max))
		tn_why(&r, "buffer grew to %lld for max %lld", (long long)p.cap, (long long)max);
	ndjson_free(&p);
	return why[0] != 0;
}

static size_t tn_chunking(uint64_t *rng, size_t len, size_t *sizes)
{
	static const size_t tops[] = { 2, 5, 17, 64, 300, 2048 };
	size_t top = tops[tn_below(rng, sizeof tops / sizeof tops[0])], n = 0, off = 0, empty = 0;
	while (off < len) {
		if (empty < 8 && tn_below(rng, 50) == 0) {
			sizes[n++] = 0;
			empty++;
			continue;
		}
		size_t k = 1 + tn_below(rng, top);
		if (k > len - off)
			k = len - off;
		sizes[n++] = k;
		off += k;
	}
	return n;
}

/* Every split in two (the whole input: NDJSON inputs here are small), one
 * byte at a time, n_random random chunkings, a quarter of them cancelling. */
static void tn_all_chunkings(const char *label, const char *in, size_t len, size_t max,
			     size_t n_random, int every_split, uint64_t seed)
{
	struct tn_ref ref;
	char why[256];
	size_t *sizes = malloc((len + 9) * sizeof *sizes);
	cr_assert(sizes);
	tn_ref_split(in, len, max, &ref);
	sizes[0] = len;
	cr_assert(!tn_run(in, len, sizes, 1, max, &ref, TN_NO_CANCEL, why, sizeof why),
		  "%s (max %zu), one chunk: %s", label, max, why);
	for (size_t k = 0; every_split && k <= len; k++) {
		size_t two[2] = { k, len - k };
		if (tn_run(in, len, two, 2, max, &ref, TN_NO_CANCEL, why, sizeof why))
			cr_assert_fail("%s (max %zu), split at %zu: %s", label, max, k, why);
	}
	for (size_t i = 0; i < len; i++)
		sizes[i] = 1;
	cr_assert(!tn_run(in, len, sizes, len, max, &ref, TN_NO_CANCEL, why, sizeof why),
		  "%s (max %zu), one byte at a time: %s", label, max, why);
	uint64_t rng = seed | 1;
	for (size_t t = 0; t < n_random; t++) {
		size_t n = tn_chunking(&rng, len, sizes);
		size_t cancel = t % 4 == 3 && ref.n ? tn_below(&rng, ref.n) : TN_NO_CANCEL;
		if (tn_run(in, len, sizes, n, max, &ref, cancel, why, sizeof why))
			cr_assert_fail("%s (max %zu), random chunking %zu, cancel %zu: %s", label, max,
				       t, cancel, why);
	}
	free(ref.l);
	free(sizes);
}

/* Hand-written lines for one input: the reference must agree, then every
 * chunking must agree with the reference. NULL ends the list. */
static void tn_expect(const char *in, size_t len, int unterminated, const char *const *lines)
{
	struct tn_ref ref;
	tn_ref_split(in, len, TN_BIG, &ref);
	size_t n = 0;
	for (; lines[n]; n++) {
		cr_assert_lt(n, ref.n, "reference has too few lines");
		cr_assert(ref.l[n].len == strlen(lines[n]) &&
			  !memcmp(ref.l[n].p, lines[n], ref.l[n].len),
			  "line %zu: \"%.*s\", expected \"%s\"", n, (int)ref.l[n].len, ref.l[n].p,
			  lines[n]);
	}
	cr_assert_eq(ref.n, n);
	cr_assert_eq(ref.unterminated, unterminated);
	free(ref.l);
	tn_all_chunkings("hand-written", in, len, TN_BIG, 50, 1, len);
}

#define TN_EXPECT(in, unterm, ...)                                                          \
	do {                                                                                \
		static const char *const tn_lines_[] = { __VA_ARGS__, NULL };               \
		tn_expect(in, sizeof(in) - 1, unterm, tn_lines_);                           \
	} while (0)

/* ---- the rules ---------------------------------------------------------------- */

Test(ndjson, lines_split_at_lf)
{
	TN_EXPECT("{\"a\":1}\n{\"b\":2}\n", 0, "{\"a\":1}", "{\"b\":2}");
}

Test(ndjson, crlf_drops_the_cr_and_lone_cr_is_data)
{
	TN_EXPECT("{\"a\":1}\r\n{\"b\":\r2}\r\n", 0, "{\"a\":1}", "{\"b\":\r2}");
	/* Only one CR goes. */
	TN_EXPECT("x\r\r\n", 0, "x\r");
}

Test(ndjson, blank_lines_skipped)
{
	TN_EXPECT("\n\n{}\n \n\t\r\n\r\n \r \n{}\n\n", 0, "{}", "{}");
	TN_EXPECT("\n \r\n", 0, NULL);
}

Test(ndjson, last_line_without_lf_comes_from_finish)
{
	TN_EXPECT("{\"done\":false}\n{\"done\":true}", 1, "{\"done\":false}", "{\"done\":true}");
	TN_EXPECT("{\"done\":true}\r", 1, "{\"done\":true}");
	/* A blank tail is no line, and not an unterminated one. */
	TN_EXPECT("{}\n  ", 0, "{}");
	TN_EXPECT("", 0, NULL);
}

/* ---- fixtures ------------------------------------------------------------------ */

Test(ndjson, ollama_fixtures_in_every_chunking)
{
	char pat[1024];
	const char *dir = getenv("RINGSIDE_FIXTURES");
	glob_t g;
	snprintf(pat, sizeof pat, "%s/*.ndjson", dir && *dir ? dir : "tests/fixtures");
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no fixtures match %s", pat);
	cr_assert_geq(g.gl_pathc, 2);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		size_t len;
		char *in = tn_read(g.gl_pathv[i], &len);
		cr_assert(in, "cannot read %s", g.gl_pathv[i]);
		/* Each line of Ollama's is one JSON object, and the last says done. */
		struct tn_ref ref;
		tn_ref_split(in, len, TN_BIG, &ref);
		cr_assert_gt(ref.n, 1, "%s", g.gl_pathv[i]);
		for (size_t k = 0; k < ref.n; k++)
			cr_assert(ref.l[k].p[0] == '{' && ref.l[k].p[ref.l[k].len - 1] == '}',
				  "%s line %zu", g.gl_pathv[i], k);
		cr_assert(memmem(ref.l[ref.n - 1].p, ref.l[ref.n - 1].len, "\"done\":true", 11),
			  "%s", g.gl_pathv[i]);
		free(ref.l);
		tn_all_chunkings(g.gl_pathv[i], in, len, TN_BIG, 300, 1, 0x011a3au + i);
		/* The same lines with CRLF, and without the last LF. */
		struct tn_buf b = { 0 };
		for (size_t k = 0; k < len; k++)
			tn_put(&b, in[k] == '\n' ? "\r\n" : in + k, in[k] == '\n' ? 2 : 1);
		tn_all_chunkings("CRLF variant", b.p, b.len, TN_BIG, 100, 1, 0xc41fu + i);
		tn_all_chunkings("no last LF", b.p, b.len - 2, TN_BIG, 100, 1, 0x1a57u + i);
		/* A bound under the longest line: fails where it crosses. */
		tn_all_chunkings("tight bound", in, len, 150, 100, 1, 0xb0du + i);
		free(b.p);
		free(in);
	}
	globfree(&g);
}

/* ---- generated ---------------------------------------------------------------- */

static void tn_gen(uint64_t *rng, struct tn_buf *b, size_t *max)
{
	static const char *const pieces[] = {
		"{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"",
		"\"},\"done\":false}", "{\"done\":true,\"eval_count\":3}", "{\"error\":\"boom\"}",
		" ", "\t", "\r", "a", "\xE2\x80\xA8", "\xD0\xB8", "\xFF", "\xC3", ":", "\"", "{", "}",
	};
	b->len = 0;
	*max = tn_below(rng, 3) ? TN_BIG : 8 + tn_below(rng, 200);
	size_t lines = tn_below(rng, 30);
	int crlf = (int)tn_below(rng, 3); /* 0: LF, 1: CRLF, 2: mixed */
	for (size_t i = 0; i < lines; i++) {
		size_t k = tn_below(rng, 10);
		if (k == 0)
			tn_put(b, " \t\r", tn_below(rng, 4)); /* blank or whitespace-only */
		else if (k == 1)
			for (size_t j = 200 + tn_below(rng, 600); j--;)
				tn_put(b, "x", 1);
		else
			for (size_t j = tn_below(rng, 12); j--;) {
				size_t q = tn_below(rng, sizeof pieces / sizeof pieces[0] + 1);
				if (q < sizeof pieces / sizeof pieces[0])
					tn_puts(b, pieces[q]);
				else
					tn_put(b, "", 1); /* NUL */
			}
		if (i + 1 < lines || tn_below(rng, 3))
			tn_puts(b, crlf == 1 || (crlf == 2 && tn_below(rng, 2)) ? "\r\n" : "\n");
	}
}

Test(ndjson, generated_corpus)
{
	uint64_t rng = 0xD15EA5Eull;
	struct tn_buf b = { 0 };
	size_t errors = 0, lines = 0;
	for (unsigned t = 0; t < 2000; t++) {
		size_t max;
		tn_gen(&rng, &b, &max);
		struct tn_ref ref;
		tn_ref_split(b.p, b.len, max, &ref);
		errors += ref.rc != 0;
		lines += ref.n;
		free(ref.l);
		char label[48];
		snprintf(label, sizeof label, "generated case %u", t);
		tn_all_chunkings(label, b.p, b.len, max, 4, b.len < 120, rng);
	}
	cr_assert_gt(errors, 150, "only %zu generated cases cross the bound", errors);
	cr_assert_gt(lines, 8000, "only %zu lines in the generated corpus", lines);
	free(b.p);
}

/* ---- bounds and stops ------------------------------------------------------------ */

static int tn_count(void *arg, const char *line, size_t len)
{
	(void)line;
	(void)len;
	size_t *n = arg;
	return ++*n == 2 ? -ECANCELED : 0;
}

Test(ndjson, line_of_max_bytes_passes_one_more_fails)
{
	const size_t max = 64;
	struct tn_buf b = { 0 };
	for (size_t i = 0; i < max; i++)
		tn_put(&b, "y", 1);
	tn_puts(&b, "\n{}\n");
	tn_all_chunkings("line of max bytes", b.p, b.len, max, 100, 1, 1);
	b.len = 0;
	for (size_t i = 0; i <= max; i++)
		tn_put(&b, "y", 1);
	tn_puts(&b, "\n{}\n");
	struct tn_ref ref;
	tn_ref_split(b.p, b.len, max, &ref);
	cr_assert_eq(ref.rc, -EMSGSIZE);
	free(ref.l);
	tn_all_chunkings("line of max + 1 bytes", b.p, b.len, max, 100, 1, 2);
	/* Without an LF ever: fails while feeding, not at finish. */
	b.len -= 4;
	tn_all_chunkings("unterminated line of max + 1 bytes", b.p, b.len, max, 100, 1, 3);
	free(b.p);
}

Test(ndjson, megabytes_without_lf_stay_bounded)
{
	const size_t max = 65536, n = 10 * 1000 * 1000, step = 65536;
	char *in = malloc(step);
	cr_assert(in);
	memset(in, 'z', step);
	struct ndjson p;
	size_t got = 0;
	ndjson_init(&p, max);
	/* The first read fills the bound exactly; the second crosses it. */
	cr_assert_eq(ndjson_feed(&p, in, step, tn_count, &got), 0);
	cr_assert_eq(ndjson_feed(&p, in, 1, tn_count, &got), -EMSGSIZE);
	cr_assert_leq(p.cap, tn_cap_bound(max));
	ndjson_free(&p);
	/* 10 MB of bare LFs, and of blank CRLF lines: nothing delivered, no
	 * buffer. */
	char *nl = malloc(n);
	cr_assert(nl);
	for (int crlf = 0; crlf <= 1; crlf++) {
		for (size_t i = 0; i < n; i++)
			nl[i] = crlf && i % 2 == 0 ? '\r' : '\n';
		ndjson_init(&p, max);
		for (size_t off = 0; off < n; off += step - 1)
			cr_assert_eq(ndjson_feed(&p, nl + off, n - off < step - 1 ? n - off : step - 1,
						 tn_count, &got), 0);
		cr_assert_eq(ndjson_finish(&p, tn_count, &got), 0);
		cr_assert_eq(got, 0);
		cr_assert_leq(p.cap, 256);
		ndjson_free(&p);
	}
	free(nl);
	free(in);
}

Test(ndjson, negative_callback_stops_the_feed)
{
	static const char in[] = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
	struct ndjson p;
	size_t n = 0;
	ndjson_init(&p, TN_BIG);
	cr_assert_eq(ndjson_feed(&p, in, sizeof in - 1, tn_count, &n), -ECANCELED);
	cr_assert_eq(n, 2);
	ndjson_free(&p);
	static const char in2[] = "{\"a\":1}\n{\"a\":2}";
	n = 0;
	ndjson_init(&p, TN_BIG);
	cr_assert_eq(ndjson_feed(&p, in2, sizeof in2 - 1, tn_count, &n), 0);
	cr_assert_eq(ndjson_finish(&p, tn_count, &n), -ECANCELED);
	cr_assert_eq(n, 2);
	ndjson_free(&p);
}

Test(ndjson, nul_bytes_invalid_utf8_and_null_feeds)
{
	static const char in[] = "{\"a\":\"x\0y\xFF\xC3(\"}\n";
	struct ndjson p;
	struct tn_ref ref;
	size_t n = 0;
	tn_ref_split(in, sizeof in - 1, TN_BIG, &ref);
	cr_assert_eq(ref.n, 1);
	cr_assert_eq(ref.l[0].len, sizeof in - 2);
	free(ref.l);
	tn_all_chunkings("NUL and invalid UTF-8", in, sizeof in - 1, TN_BIG, 50, 1, 4);
	tn_all_chunkings("a NUL line", "\0\n\0", 3, TN_BIG, 10, 1, 5);
	ndjson_init(&p, TN_BIG);
	cr_assert_eq(ndjson_feed(&p, NULL, 0, tn_count, &n), 0);
	cr_assert_eq(ndjson_feed(&p, "{", 1, tn_count, &n), 0);
	cr_assert_eq(ndjson_feed(&p, NULL, 0, tn_count, &n), 0);
	cr_assert_eq(ndjson_feed(&p, "}\n", 2, tn_count, &n), 0);
	cr_assert_eq(ndjson_finish(&p, tn_count, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(p.unterminated, 0);
	ndjson_free(&p);
	ndjson_free(&p);
}
