/*
 * test_sse.c — the incremental SSE parser (sidecar/sse.c) against a
 * whole-input reference parser written here straight from NOTES.md
 * section 6, over the recorded fixtures and a generated corpus, in every
 * chunking we can afford: each split point, one byte at a time, random.
 *
 * A run compares more than the event list: each event must come out of
 * the very feed call that holds the byte which dispatches it, an error
 * must come out of the call that holds the byte crossing the bound, and
 * nothing may follow a stop. That is what "split anywhere" has to mean
 * for a caller that acts on events as they arrive.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

/* What the test callback returns to stop the parser: any negative value
 * that no parser path produces itself. */
#define TS_CANCEL (-4242)
#define TS_NO_CANCEL SIZE_MAX
/* The name buffer in struct sse: names of this length or more fail. */
#define TS_NAME_MAX 64
/* Bound used where bounds are not the point: above any fixture event. */
#define TS_BIG (1u << 20)
#define TS_MIB (1024u * 1024u)
/* Inputs up to this size are split in two at every point as a whole. */
#define TS_WHOLE_SPLIT_MAX 2048

/* ---- small helpers ------------------------------------------------------- */

static uint64_t ts_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static size_t ts_below(uint64_t *s, size_t n)
{
	return n ? (size_t)(ts_rand(s) % n) : 0;
}

struct ts_buf {
	char *p;
	size_t len, cap;
};

static void ts_put(struct ts_buf *b, const void *p, size_t n)
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

static void ts_puts(struct ts_buf *b, const char *s)
{
	ts_put(b, s, strlen(s));
}

static void ts_fill(struct ts_buf *b, char c, size_t n)
{
	char blk[256];
	memset(blk, c, sizeof blk);
	for (size_t k; n; n -= k) {
		k = n < sizeof blk ? n : sizeof blk;
		ts_put(b, blk, k);
	}
}

static char *ts_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct ts_buf b = { 0 };
	char tmp[4096];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		ts_put(&b, tmp, k);
	fclose(f);
	if (!b.p)
		ts_put(&b, "", 0);
	*len = b.len;
	return b.p;
}

static const char *ts_fixture_dir(void)
{
	const char *d = getenv("RINGSIDE_FIXTURES");
	return d && *d ? d : "tests/fixtures";
}

/* ---- the reference: whole input, line by line ----------------------------- */

struct ts_event {
	char name[TS_NAME_MAX];
	size_t name_len;
	char *data;
	size_t data_len;
	size_t at; /* offset of the byte that dispatches it; input length: at EOF */
};

struct ts_ref {
	struct ts_event *ev;
	size_t n, cap;
	int rc;           /* 0 or -EMSGSIZE */
	size_t err_at;    /* offset of the byte crossing the bound; length: at EOF */
	int unterminated; /* EOF dispatched an event that had data lines */
	size_t *clean;    /* line starts after a blank line: nothing pending */
	size_t n_clean, cap_clean;
};

/* Parser state of the reference, separate from the result. */
struct ts_rstate {
	size_t max;
	int stray_mode;
	struct ts_buf data; /* data lines joined with LF (no trailing LF) */
	int have_data;
	char name[TS_NAME_MAX];
	size_t name_len;
	struct ts_buf stray;
};

static void ts_emit(struct ts_ref *r, const char *name, size_t nl, const char *d, size_t dl,
		    size_t at)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->ev = realloc(r->ev, r->cap * sizeof *r->ev);
		cr_assert(r->ev);
	}
	struct ts_event *e = &r->ev[r->n++];
	memset(e, 0, sizeof *e);
	memcpy(e->name, name, nl);
	e->name_len = nl;
	e->data = malloc(dl + 1);
	cr_assert(e->data);
	if (dl)
		memcpy(e->data, d, dl);
	e->data_len = dl;
	e->at = at;
}

static void ts_ref_free(struct ts_ref *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->ev[i].data);
	free(r->ev);
	free(r->clean);
	memset(r, 0, sizeof *r);
}

/* Non-field lines collected in stray mode are one nameless event, given
 * out when a known field, a blank line or EOF follows them. */
static void ts_flush_stray(struct ts_rstate *st, struct ts_ref *r, size_t at)
{
	if (!st->stray.len)
		return;
	ts_emit(r, "", 0, st->stray.p, st->stray.len, at);
	st->stray.len = 0;
}

static void ts_dispatch(struct ts_rstate *st, struct ts_ref *r, size_t at)
{
	/* Strays first: they end at this line, and the event only now. */
	ts_flush_stray(st, r, at);
	if (st->have_data)
		ts_emit(r, st->name, st->name_len, st->data.p, st->data.len, at);
	st->have_data = 0;
	st->data.len = 0;
	st->name_len = 0; /* WHATWG: the name goes with the event, data or not */
}

static int ts_field(const char *l, size_t fl, const char *name)
{
	return fl == strlen(name) && !memcmp(l, name, fl);
}

/*
 * One line l[0..n) that starts at offset off; at is the offset of its
 * terminator, or the input length when EOF ends it (then sse_finish is
 * the call that sees it). Returns -1 after recording a bound error.
 *
 * Where a bound is crossed: a line is too long at its byte max+1; an
 * event's joined data at the first value byte that makes it longer than
 * max (at the colon if the joining LF alone does, at the end of the line
 * for "data" without a colon); a name at its 64th byte; the joined strays
 * only when their line ends, since only a complete line is known to be
 * no field.
 */
static int ts_ref_line(struct ts_rstate *st, struct ts_ref *r, const char *l, size_t n,
		       size_t off, size_t at)
{
	if (n == 0) {
		ts_dispatch(st, r, at);
		return 0;
	}
	if (l[0] == ':')
		return 0;
	const char *colon = memchr(l, ':', n);
	size_t fl = colon ? (size_t)(colon - l) : n;
	const char *v = colon ? colon + 1 : l + n;
	if (v < l + n && *v == ' ')
		v++;
	size_t vl = (size_t)(l + n - v), vs = off + (size_t)(v - l);
	size_t cross = SIZE_MAX;
	if (n > st->max)
		cross = off + st->max;
	int is_data = ts_field(l, fl, "data"), is_event = ts_field(l, fl, "event");
	if (is_data) {
		size_t base = st->have_data ? st->data.len + 1 : 0;
		if (base + vl > st->max) {
			size_t c = base > st->max ? (colon ? off + fl : at) : vs + (st->max - base);
			if (c < cross)
				cross = c;
		}
	}
	if (is_event && vl >= TS_NAME_MAX && vs + TS_NAME_MAX - 1 < cross)
		cross = vs + TS_NAME_MAX - 1;
	if (cross != SIZE_MAX) {
		r->rc = -EMSGSIZE;
		r->err_at = cross;
		return -1;
	}
	if (is_data) {
		ts_flush_stray(st, r, at);
		if (st->have_data)
			ts_put(&st->data, "\n", 1);
		ts_put(&st->data, v, vl);
		st->have_data = 1;
	} else if (is_event) {
		ts_flush_stray(st, r, at);
		memcpy(st->name, v, vl);
		st->name_len = vl;
	} else if (ts_field(l, fl, "id") || ts_field(l, fl, "retry")) {
		ts_flush_stray(st, r, at);
	} else if (st->stray_mode) {
		if ((st->stray.len ? st->stray.len + 1 : 0) + n > st->max) {
			r->rc = -EMSGSIZE;
			r->err_at = at;
			return -1;
		}
		if (st->stray.len)
			ts_put(&st->stray, "\n", 1);
		ts_put(&st->stray, l, n);
	}
	return 0;
}

static void ts_ref_parse(const char *in, size_t len, size_t max, int stray_mode, struct ts_ref *r)
{
	struct ts_rstate st = { .max = max, .stray_mode = stray_mode };
	memset(r, 0, sizeof *r);
	size_t pos = 0;
	if (len >= 3 && !memcmp(in, "\xEF\xBB\xBF", 3))
		pos = 3;
	while (pos < len) {
		size_t e = pos;
		while (e < len && in[e] != '\n' && in[e] != '\r')
			e++;
		if (ts_ref_line(&st, r, in + pos, e - pos, pos, e) < 0)
			goto out;
		if (e == len)
			break;
		size_t start = pos;
		pos = e + (in[e] == '\r' && e + 1 < len && in[e + 1] == '\n' ? 2 : 1);
		/* After a blank line a parser holds nothing but "not at the start
		 * of the stream": a fresh one is the same unless a BOM follows. */
		if (e == start && pos < len && (len - pos < 3 || memcmp(in + pos, "\xEF\xBB\xBF", 3))) {
			if (r->n_clean == r->cap_clean) {
				r->cap_clean = r->cap_clean ? 2 * r->cap_clean : 64;
				r->clean = realloc(r->clean, r->cap_clean * sizeof *r->clean);
				cr_assert(r->clean);
			}
			r->clean[r->n_clean++] = pos;
		}
	}
	r->unterminated = st.have_data;
	ts_dispatch(&st, r, len);
out:
	free(st.data.p);
	free(st.stray.p);
}

/* ---- the incremental parser in a given chunking --------------------------- */

struct ts_run {
	const struct ts_ref *ref;
	size_t len;
	size_t lo, hi;    /* bytes of the feed call in progress */
	int in_finish;
	size_t got;       /* callbacks so far */
	size_t cancel_at; /* event index whose callback returns TS_CANCEL */
	char *why;        /* first difference */
	size_t why_len;
};

static void ts_why(struct ts_run *r, const char *fmt, long long a, long long b)
{
	if (!r->why[0])
		snprintf(r->why, r->why_len, fmt, a, b);
}

static int ts_on_event(void *arg, const char *ev, size_t ev_len, const char *data, size_t data_len)
{
	struct ts_run *r = arg;
	size_t i = r->got++;
	if (i >= r->ref->n) {
		ts_why(r, "event %lld: the reference has only %lld", (long long)i,
		       (long long)r->ref->n);
		return 0;
	}
	const struct ts_event *e = &r->ref->ev[i];
	if (ev_len != e->name_len || (ev_len && memcmp(ev, e->name, ev_len)))
		ts_why(r, "event %lld: name differs (length %lld)", (long long)i, (long long)ev_len);
	else if (data_len != e->data_len || (data_len && memcmp(data, e->data, data_len)))
		ts_why(r, "event %lld: data differs (length %lld)", (long long)i,
		       (long long)data_len);
	else if (r->in_finish ? e->at != r->len : e->at < r->lo || e->at >= r->hi)
		ts_why(r, "event %lld: dispatched by the call at %lld, not the one holding its byte",
		       (long long)i, r->in_finish ? -1 : (long long)r->lo);
	return i == r->cancel_at ? TS_CANCEL : 0;
}

/* Largest buffer the parser may ever hold for bound max: it doubles from
 * 256 up to max plus the NUL and the data's trailing LF. */
static size_t ts_cap_bound(size_t max)
{
	return 2 * max + 4 > 256 ? 2 * max + 4 : 256;
}

/*
 * Feed in[0..len) as chunks of sizes[0..n) (they sum to len, zeros
 * allowed), then sse_finish, and compare with ref. cancel_at: the event
 * whose callback stops the parser. Returns 0, or 1 with why filled.
 */
static int ts_run(const char *in, size_t len, const size_t *sizes, size_t n, size_t max,
		  int stray_mode, const struct ts_ref *ref, size_t cancel_at, char *why,
		  size_t why_len)
{
	struct sse p;
	struct ts_run r = { .ref = ref, .len = len, .cancel_at = cancel_at, .why = why,
			    .why_len = why_len };
	why[0] = 0;
	size_t stop = SIZE_MAX, want = ref->n;
	int stop_rc = 0, rc;
	if (cancel_at < ref->n) {
		stop = ref->ev[cancel_at].at;
		stop_rc = TS_CANCEL;
		want = cancel_at + 1;
	} else if (ref->rc) {
		stop = ref->err_at;
		stop_rc = ref->rc;
	}
	sse_init(&p, max, stray_mode);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		r.lo = off;
		r.hi = off + sizes[i];
		rc = sse_feed(&p, in + off, sizes[i], ts_on_event, &r);
		int expect = stop >= r.lo && stop < r.hi ? stop_rc : 0;
		if (rc != expect) {
			ts_why(&r, "feed at %lld returned %lld", (long long)off, rc);
			goto out;
		}
		if (rc)
			goto out;
		off = r.hi;
	}
	r.lo = r.hi = len;
	r.in_finish = 1;
	rc = sse_finish(&p, ts_on_event, &r);
	if (rc != (stop == len ? stop_rc : 0)) {
		ts_why(&r, "finish returned %lld (stop at %lld)", rc, (long long)stop);
		goto out;
	}
	if (!stop_rc && p.unterminated != ref->unterminated)
		ts_why(&r, "unterminated %lld, reference %lld", p.unterminated, ref->unterminated);
out:
	if (r.got != want)
		ts_why(&r, "%lld events delivered, %lld expected", (long long)r.got, (long long)want);
	if (p.events != r.got)
		ts_why(&r, "p->events %lld after %lld callbacks", (long long)p.events,
		       (long long)r.got);
	size_t bound = ts_cap_bound(max);
	if (p.line_cap > bound || p.data_cap > bound || p.stray_cap > bound)
		ts_why(&r, "a buffer grew to %lld for max %lld",
		       (long long)(p.line_cap > p.data_cap ? p.line_cap : p.data_cap),
		       (long long)max);
	sse_free(&p);
	return why[0] != 0;
}

/* Random chunk sizes for len bytes into sizes (room for len + 8);
 * returns the count. Styles from tiny to large, some empty chunks. */
static size_t ts_chunking(uint64_t *rng, size_t len, size_t *sizes)
{
	static const size_t tops[] = { 2, 5, 17, 64, 300, 2048 };
	size_t top = tops[ts_below(rng, sizeof tops / sizeof tops[0])], n = 0, off = 0, empty = 0;
	while (off < len) {
		if (empty < 8 && ts_below(rng, 50) == 0) {
			sizes[n++] = 0;
			empty++;
			continue;
		}
		size_t k = 1 + ts_below(rng, top);
		if (k > len - off)
			k = len - off;
		sizes[n++] = k;
		off += k;
	}
	return n;
}

/*
 * Every split of in[0..len) into two reads. A short input is split whole.
 * A long one is split as the events around each point: from the clean
 * offset before k to the one after it (see ts_ref_parse), where a fresh
 * parser is in the state the long run has; so each split costs the bytes
 * it can affect, not the whole file again (quadratic in ASan time). The
 * long runs themselves are covered by the byte-at-a-time and random
 * chunkings.
 */
static void ts_every_split(const char *label, const char *in, size_t len, size_t max,
			   int stray_mode, const struct ts_ref *ref)
{
	char why[256];
	struct ts_ref win = { 0 };
	size_t c = 0, wb = SIZE_MAX, we = SIZE_MAX;
	for (size_t k = 0; k <= len; k++) {
		size_t b = 0, e = len;
		if (len > TS_WHOLE_SPLIT_MAX) {
			while (c < ref->n_clean && ref->clean[c] < k)
				c++;
			b = c ? ref->clean[c - 1] : 0;
			size_t j = c;
			while (j < ref->n_clean && ref->clean[j] <= k)
				j++;
			e = j < ref->n_clean ? ref->clean[j] : len;
		}
		if (b != wb || e != we) {
			ts_ref_free(&win);
			ts_ref_parse(in + b, e - b, max, stray_mode, &win);
			wb = b;
			we = e;
		}
		size_t two[2] = { k - b, e - k };
		if (ts_run(in + b, e - b, two, 2, max, stray_mode, &win, TS_NO_CANCEL, why, sizeof why))
			cr_assert_fail("%s (stray %d, max %zu), split at %zu of [%zu, %zu): %s", label,
				       stray_mode, max, k, b, e, why);
	}
	ts_ref_free(&win);
}

/* All chunkings of one input: every split in two, one byte at a time, and
 * n_random random ones (a quarter of them cancelling at a random event). */
static void ts_all_chunkings(const char *label, const char *in, size_t len, size_t max,
			     int stray_mode, size_t n_random, int every_split, uint64_t seed)
{
	struct ts_ref ref;
	char why[256];
	size_t *sizes = malloc((len + 9) * sizeof *sizes);
	cr_assert(sizes);
	ts_ref_parse(in, len, max, stray_mode, &ref);

	sizes[0] = len;
	cr_assert(!ts_run(in, len, sizes, 1, max, stray_mode, &ref, TS_NO_CANCEL, why, sizeof why),
		  "%s (stray %d, max %zu), one chunk: %s", label, stray_mode, max, why);
	if (every_split)
		ts_every_split(label, in, len, max, stray_mode, &ref);
	for (size_t i = 0; i < len; i++)
		sizes[i] = 1;
	cr_assert(!ts_run(in, len, sizes, len, max, stray_mode, &ref, TS_NO_CANCEL, why, sizeof why),
		  "%s (stray %d, max %zu), one byte at a time: %s", label, stray_mode, max, why);
	uint64_t rng = seed | 1;
	for (size_t t = 0; t < n_random; t++) {
		size_t n = ts_chunking(&rng, len, sizes);
		size_t cancel = t % 4 == 3 && ref.n ? ts_below(&rng, ref.n) : TS_NO_CANCEL;
		if (ts_run(in, len, sizes, n, max, stray_mode, &ref, cancel, why, sizeof why))
			cr_assert_fail("%s (stray %d, max %zu), random chunking %zu (seed %llu), "
				       "cancel %zu: %s", label, stray_mode, max, t,
				       (unsigned long long)seed, cancel, why);
	}
	ts_ref_free(&ref);
	free(sizes);
}

/* Hand-written expectations for one input: first the reference must agree
 * with them (so the reference is checked too), then every chunking must
 * agree with the reference. events: name, data pairs; NULL ends. */
static void ts_expect(const char *in, size_t len, int stray_mode, int unterminated,
		      const char *const *events)
{
	struct ts_ref ref;
	ts_ref_parse(in, len, TS_BIG, stray_mode, &ref);
	size_t n = 0;
	for (; events[2 * n]; n++) {
		cr_assert_lt(n, ref.n, "input %zu bytes: reference has too few events", len);
		const char *name = events[2 * n], *data = events[2 * n + 1];
		cr_assert(ref.ev[n].name_len == strlen(name) &&
			  !memcmp(ref.ev[n].name, name, ref.ev[n].name_len),
			  "event %zu: name \"%.*s\", expected \"%s\"", n, (int)ref.ev[n].name_len,
			  ref.ev[n].name, name);
		cr_assert(ref.ev[n].data_len == strlen(data) &&
			  !memcmp(ref.ev[n].data, data, ref.ev[n].data_len),
			  "event %zu: data \"%.*s\", expected \"%s\"", n, (int)ref.ev[n].data_len,
			  ref.ev[n].data, data);
	}
	cr_assert_eq(ref.n, n, "reference has %zu events, expected %zu", ref.n, n);
	cr_assert_eq(ref.unterminated, unterminated);
	ts_ref_free(&ref);
	ts_all_chunkings("hand-written", in, len, TS_BIG, stray_mode, 50, 1, len);
}

#define TS_EXPECT(in, stray, unterm, ...)                                                   \
	do {                                                                                \
		static const char *const ts_evs_[] = { __VA_ARGS__, NULL };                 \
		ts_expect(in, sizeof(in) - 1, stray, unterm, ts_evs_);                      \
	} while (0)
#define TS_NONE NULL

/* ---- the rules, one by one (reference and parser both) -------------------- */

Test(sse, line_ends_crlf_lf_and_lone_cr)
{
	TS_EXPECT("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\r\n", 0, 0,
		  "", "a", "", "b", "", "c", "", "d");
}

Test(sse, one_leading_space_stripped)
{
	/* TGI writes data:{...} and data:[DONE]; the rest write a space. */
	TS_EXPECT("data:[DONE]\n\ndata: [DONE]\n\ndata:  x\n\ndata:\tx\n\n", 0, 0,
		  "", "[DONE]", "", "[DONE]", "", " x", "", "\tx");
}

Test(sse, multi_line_data_joined_with_lf)
{
	TS_EXPECT("data: {\"a\":\ndata: 1}\n\ndata\ndata\n\ndata:\n\n", 0, 0,
		  "", "{\"a\":\n1}", "", "\n", "", "");
}

Test(sse, event_names_reset_per_event)
{
	TS_EXPECT("event: ping\ndata: {}\n\ndata: x\n\nevent:a\nevent: b\ndata: y\n\n", 0, 0,
		  "ping", "{}", "", "x", "b", "y");
}

Test(sse, no_data_no_event_and_the_name_is_dropped)
{
	TS_EXPECT("event: ping\n\ndata: x\n\nevent: lonely\n\n\n\n", 0, 0, "", "x");
}

Test(sse, comments_ignored_and_keep_state)
{
	/* A keep-alive between two data lines must not split the event. */
	TS_EXPECT(":\n: keep-alive\ndata: a\n:\ndata: b\n: x\n\n:", 0, 0, "", "a\nb");
}

Test(sse, id_retry_and_unknown_fields_ignored)
{
	TS_EXPECT("id: 7\nretry: 10\nfoo: bar\nData: no\ndata : no\n data: no\ndatax: no\n"
		  "data: yes\nid\n\n", 0, 0, "", "yes");
}

Test(sse, bom_stripped_once_at_the_start)
{
	TS_EXPECT("\xEF\xBB\xBF" "data: a\n\n", 0, 0, "", "a");
	/* A second BOM belongs to the field name, which is then unknown. */
	TS_EXPECT("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", 0, 0, "", "b");
	/* Not at the start: part of the value. */
	TS_EXPECT("data: \xEF\xBB\xBF" "a\n\n", 0, 0, "", "\xEF\xBB\xBF" "a");
}

Test(sse, trailing_event_at_eof_is_dispatched_and_flagged)
{
	TS_EXPECT("data: a\n\ndata: b", 0, 1, "", "a", "", "b");
	TS_EXPECT("data: a\n\ndata: b\n", 0, 1, "", "a", "", "b");
	TS_EXPECT("data: a\n\ndata: b\r", 0, 1, "", "a", "", "b");
	TS_EXPECT("data: a\n\nevent: x\n", 0, 0, "", "a");
	TS_EXPECT("data: a\n\n", 0, 0, "", "a");
}

Test(sse, stray_lines_are_a_nameless_event)
{
	/* Gemini's bare error object after the data events. */
	TS_EXPECT("data: {\"a\":1}\n\n{\n  \"error\": {\n    \"code\": 499\n  }\n}\n", 1, 0,
		  "", "{\"a\":1}", "", "{\n  \"error\": {\n    \"code\": 499\n  }\n}");
	/* A known field ends the strays; comments do not. */
	TS_EXPECT("oops\n: c\nmore\ndata: x\nid: 1\nnope\nretry: 5\n\n", 1, 0,
		  "", "oops\nmore", "", "nope", "", "x");
	/* At a blank line the strays come out before the event they interrupt. */
	TS_EXPECT("data: x\n{\n\n", 1, 0, "", "{", "", "x");
	/* Without stray mode the same lines are unknown fields. */
	TS_EXPECT("data: {\"a\":1}\n\n{\n}\n", 0, 0, "", "{\"a\":1}");
}

/* ---- recorded fixtures --------------------------------------------------- */

/* "key": value from an expected.json's stream_facts; -1 when absent. A
 * string search is enough: the keys occur once, and this keeps the test
 * free of a JSON library. */
static long ts_fact(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\"", key);
	const char *p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (!strncmp(p, "true", 4))
		return 1;
	if (!strncmp(p, "false", 5))
		return 0;
	return strtol(p, NULL, 10);
}

struct ts_fixture {
	char *path;
	char *data;
	size_t len;
	long event_count, unterminated; /* -1: the expected file does not say */
};

static size_t ts_fixtures(struct ts_fixture **out)
{
	char pat[1024];
	glob_t g;
	snprintf(pat, sizeof pat, "%s/*.sse", ts_fixture_dir());
	cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no fixtures match %s", pat);
	struct ts_fixture *f = calloc(g.gl_pathc, sizeof *f);
	cr_assert(f);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		f[i].path = strdup(g.gl_pathv[i]);
		f[i].data = ts_read(g.gl_pathv[i], &f[i].len);
		cr_assert(f[i].path && f[i].data, "cannot read %s", g.gl_pathv[i]);
		char exp[1100];
		snprintf(exp, sizeof exp, "%.*s.expected.json", (int)(strlen(f[i].path) - 4), f[i].path);
		size_t el;
		char *e = ts_read(exp, &el);
		f[i].event_count = e ? ts_fact(e, "event_count") : -1;
		f[i].unterminated = e ? ts_fact(e, "unterminated_trailing_event") : -1;
		free(e);
	}
	size_t n = g.gl_pathc;
	globfree(&g);
	*out = f;
	return n;
}

static void ts_fixtures_free(struct ts_fixture *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].data);
	}
	free(f);
}

/*
 * The expected files count events the WHATWG way: every dispatched event,
 * Anthropic's ping and OpenAI's [DONE] included, and Gemini's bare error
 * object not (it is no SSE field). That is stray mode off. With stray mode
 * on, the bare object is one more event and nothing else changes.
 */
Test(sse, fixture_event_counts_match_stream_facts)
{
	struct ts_fixture *f;
	size_t n = ts_fixtures(&f), checked = 0;
	cr_assert_geq(n, 14, "only %zu .sse fixtures under %s", n, ts_fixture_dir());
	for (size_t i = 0; i < n; i++) {
		struct ts_ref plain, stray;
		ts_ref_parse(f[i].data, f[i].len, TS_BIG, 0, &plain);
		ts_ref_parse(f[i].data, f[i].len, TS_BIG, 1, &stray);
		cr_assert_eq(plain.rc, 0, "%s", f[i].path);
		cr_assert_eq(stray.rc, 0, "%s", f[i].path);
		if (f[i].event_count >= 0) {
			cr_assert_eq((long)plain.n, f[i].event_count, "%s: %zu events, facts say %ld",
				     f[i].path, plain.n, f[i].event_count);
			checked++;
		}
		if (f[i].unterminated >= 0)
			cr_assert_eq(plain.unterminated, f[i].unterminated, "%s", f[i].path);
		if (strstr(f[i].path, "gemini_stream_error_midstream"))
			cr_assert_eq(stray.n, plain.n + 1, "%s: stray mode gives %zu events",
				     f[i].path, stray.n);
		else
			cr_assert_geq(stray.n, plain.n, "%s", f[i].path);
		/* The parser itself, once, so a count failure names the parser. */
		struct sse p;
		struct ts_run r = { .ref = &plain, .len = f[i].len, .hi = f[i].len,
				    .cancel_at = TS_NO_CANCEL };
		char why[256] = "";
		r.why = why;
		r.why_len = sizeof why;
		sse_init(&p, TS_BIG, 0);
		cr_assert_eq(sse_feed(&p, f[i].data, f[i].len, ts_on_event, &r), 0);
		r.lo = r.hi = f[i].len;
		r.in_finish = 1;
		cr_assert_eq(sse_finish(&p, ts_on_event, &r), 0);
		cr_assert_eq(p.events, plain.n, "%s: parser counted %zu", f[i].path, p.events);
		cr_assert_eq(p.unterminated, plain.unterminated, "%s", f[i].path);
		cr_assert(!why[0], "%s: %s", f[i].path, why);
		sse_free(&p);
		ts_ref_free(&plain);
		ts_ref_free(&stray);
	}
	cr_assert_geq(checked, 14, "only %zu fixtures state an event_count", checked);
	ts_fixtures_free(f, n);
}

/* Fixtures with a line that is no field: stray mode changes what they give
 * (each such line ends up in some nameless event); for the others it is
 * the same parse. */
static int ts_has_strays(const struct ts_fixture *f)
{
	struct ts_ref plain, stray;
	ts_ref_parse(f->data, f->len, TS_BIG, 0, &plain);
	ts_ref_parse(f->data, f->len, TS_BIG, 1, &stray);
	int r = stray.n != plain.n;
	ts_ref_free(&plain);
	ts_ref_free(&stray);
	return r;
}

/* Every fixture, and again in stray mode where that changes anything:
 * every split point in two, one byte at a time, 300 random chunkings (a
 * quarter of them cancelling somewhere). */
Test(sse, fixtures_in_every_chunking)
{
	struct ts_fixture *f;
	size_t n = ts_fixtures(&f), with_strays = 0;
	for (size_t i = 0; i < n; i++) {
		int strays = ts_has_strays(&f[i]);
		with_strays += (size_t)strays;
		for (int stray = 0; stray <= strays; stray++)
			ts_all_chunkings(f[i].path, f[i].data, f[i].len, TS_BIG, stray, 300, 1,
					 0x5eed0000u + i * 2 + (unsigned)stray);
	}
	cr_assert_geq(with_strays, 1, "no fixture has a bare JSON error any more");
	ts_fixtures_free(f, n);
}

/* A fixture bound so tight that some line or event crosses it: the error
 * must come out of the call holding the crossing byte, in any chunking. */
Test(sse, fixtures_with_tight_bounds)
{
	struct ts_fixture *f;
	size_t n = ts_fixtures(&f);
	static const size_t maxes[] = { 40, 100, 250, 600 };
	for (size_t i = 0; i < n; i++)
		for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++)
			ts_all_chunkings(f[i].path, f[i].data, f[i].len, maxes[m], (int)(m & 1), 40,
					 0, 0xb0d0u + i * 8 + m);
	ts_fixtures_free(f, n);
}

/* ---- generated corpus ----------------------------------------------------- */

static void ts_gen_bytes(uint64_t *rng, struct ts_buf *b, size_t n, int allow_eol)
{
	/* Bytes a value can hold: JSON punctuation, the colon and space the
	 * field parser looks at, NUL, U+2028 (which str.splitlines breaks on),
	 * multibyte and invalid UTF-8. */
	static const char *const pieces[] = {
		"a", "b", "z", "0", "9", ":", " ", "  ", "{", "}", "\"", ",", "[DONE]", "\t",
		"\xE2\x80\xA8", "\xD0\xB8", "\xE7\x95\x8C", "\xF0\x9F\x98\x80", "\xFF", "\xC3",
		"\xEF\xBB\xBF", "data", "event",
	};
	size_t np = sizeof pieces / sizeof pieces[0];
	for (size_t i = 0; i < n; i++) {
		size_t k = ts_below(rng, np + 3);
		if (k < np) {
			ts_puts(b, pieces[k]);
		} else if (k == np) {
			ts_put(b, "", 1); /* NUL */
		} else if (allow_eol) {
			ts_put(b, k == np + 1 ? "\r" : "\n", 1);
		} else {
			char c = (char)(0x80 + ts_below(rng, 0x80));
			ts_put(b, &c, 1);
		}
	}
}

static size_t ts_gen_len(uint64_t *rng)
{
	size_t k = ts_below(rng, 20);
	if (k == 0)
		return 100 + ts_below(rng, 1500); /* long: crosses the small bounds */
	if (k < 4)
		return ts_below(rng, 70);
	return ts_below(rng, 12);
}

/* One random SSE-ish input; max and stray mode chosen with it. */
static void ts_gen(uint64_t *rng, struct ts_buf *b, size_t *max, int *stray_mode)
{
	static const char *const eols[] = { "\n", "\r\n", "\r" };
	static const char *const data_pfx[] = { "data:", "data: ", "data:  ", "data" };
	static const char *const event_pfx[] = { "event:", "event: ", "event" };
	static const char *const other[] = {
		"id: 42", "id", "id:", "retry: 1000", "retry", "foo: bar", "Data: x", "datum:x",
		"eventx: y", "dat", " data: x", "data : x", "{", "  \"error\": {", "}", "[DONE]",
	};
	b->len = 0;
	*max = ts_below(rng, 3) ? TS_BIG : 16 + ts_below(rng, 400);
	*stray_mode = (int)ts_below(rng, 2);
	int eol_mode = (int)ts_below(rng, 4); /* 0..2: one style, 3: mixed */
	size_t bom = ts_below(rng, 16);
	if (bom < 3)
		ts_put(b, "\xEF\xBB\xBF", 3);
	else if (bom == 3)
		ts_put(b, "\xEF\xBB\xBF", 1 + ts_below(rng, 2));
	else if (bom == 4)
		ts_put(b, "\xEF\xBB\xBF\xEF\xBB\xBF", 6);
	size_t lines = ts_below(rng, 40);
	for (size_t i = 0; i < lines; i++) {
		size_t kind = ts_below(rng, 20);
		if (kind < 6) {
			ts_puts(b, data_pfx[ts_below(rng, 4)]);
			ts_gen_bytes(rng, b, ts_gen_len(rng), 0);
		} else if (kind < 8) {
			ts_puts(b, event_pfx[ts_below(rng, 3)]);
			/* Names around the 64-byte limit now and then. */
			size_t nl = ts_below(rng, 4) ? ts_below(rng, 12) : 58 + ts_below(rng, 10);
			ts_fill(b, (char)('a' + ts_below(rng, 26)), nl);
		} else if (kind < 10) {
			ts_puts(b, ":");
			ts_gen_bytes(rng, b, ts_below(rng, 8) ? ts_below(rng, 10) : 600, 0);
		} else if (kind < 14) {
			/* blank line: only the terminator below */
		} else if (kind < 18) {
			ts_puts(b, other[ts_below(rng, sizeof other / sizeof other[0])]);
		} else {
			/* Garbage, line ends included. */
			ts_gen_bytes(rng, b, 1 + ts_below(rng, 30), 1);
		}
		if (i + 1 < lines || ts_below(rng, 3))
			ts_puts(b, eols[eol_mode < 3 ? eol_mode : (int)ts_below(rng, 3)]);
	}
}

/*
 * Thousands of generated inputs, each in several random chunkings, one
 * byte at a time, and (while short) split at every point. About a third
 * have a bound small enough to be crossed somewhere.
 */
Test(sse, generated_corpus)
{
	uint64_t rng = 0xC0FFEEull;
	struct ts_buf b = { 0 };
	size_t errors = 0, events = 0;
	for (unsigned t = 0; t < 2000; t++) {
		size_t max;
		int stray_mode;
		ts_gen(&rng, &b, &max, &stray_mode);
		char label[64];
		snprintf(label, sizeof label, "generated case %u", t);
		struct ts_ref ref;
		ts_ref_parse(b.p, b.len, max, stray_mode, &ref);
		errors += ref.rc != 0;
		events += ref.n;
		ts_ref_free(&ref);
		ts_all_chunkings(label, b.p, b.len, max, stray_mode, 4, b.len < 160, rng);
	}
	/* The corpus is only worth something if it reaches both outcomes. */
	cr_assert_gt(errors, 150, "only %zu generated cases cross a bound", errors);
	cr_assert_gt(events, 5000, "only %zu events in the generated corpus", events);
	free(b.p);
}

/* Counts callbacks into *(size_t *)arg. */
static int ts_never(void *arg, const char *ev, size_t ev_len, const char *data, size_t data_len)
{
	(void)ev;
	(void)ev_len;
	(void)data;
	(void)data_len;
	++*(size_t *)arg;
	return 0;
}

/* ---- bounds ---------------------------------------------------------------- */

/* One input at one bound: reference outcome as stated, then all chunkings. */
static void ts_bound_case(const char *label, const struct ts_buf *b, size_t max, int want_err)
{
	for (int stray = 0; stray <= 1; stray++) {
		struct ts_ref ref;
		ts_ref_parse(b->p, b->len, max, stray, &ref);
		cr_assert_eq(ref.rc, want_err ? -EMSGSIZE : 0, "%s: reference rc %d", label, ref.rc);
		ts_ref_free(&ref);
		ts_all_chunkings(label, b->p, b->len, max, stray, 100, b->len < 2000, 7);
	}
}

Test(sse_bounds, line_of_max_bytes_passes_one_more_fails)
{
	const size_t max = 300;
	struct ts_buf b = { 0 };
	ts_puts(&b, "data: ");
	ts_fill(&b, 'x', max - 6);
	ts_puts(&b, "\n\n");
	ts_bound_case("line of max bytes", &b, max, 0);
	b.len = 0;
	ts_puts(&b, "data: ");
	ts_fill(&b, 'x', max - 5);
	ts_puts(&b, "\n\n");
	ts_bound_case("line of max + 1 bytes", &b, max, 1);
	/* Ignored lines are bounded too: they are buffered until known. */
	b.len = 0;
	ts_puts(&b, "id: ");
	ts_fill(&b, '7', max);
	ts_puts(&b, "\ndata: a\n\n");
	ts_bound_case("long id line", &b, max, 1);

	/* The same line complete in one read must fail like a split one. */
	b.len = 0;
	ts_puts(&b, "data: ");
	ts_fill(&b, 'x', max);
	ts_puts(&b, "\n\n");
	struct sse p;
	size_t got = 0;
	sse_init(&p, max, 0);
	cr_assert_eq(sse_feed(&p, b.p, b.len, ts_never, &got), -EMSGSIZE);
	cr_assert_eq(got, 0);
	sse_free(&p);
	free(b.p);
}

Test(sse_bounds, joined_data_of_max_bytes_passes_one_more_fails)
{
	const size_t max = 100;
	struct ts_buf b = { 0 };
	/* 3 lines of 32 and 2 joining LFs, then a 1-byte line and its LF: 100. */
	for (int i = 0; i < 3; i++) {
		ts_puts(&b, "data:");
		ts_fill(&b, 'a' + (char)i, 32);
		ts_puts(&b, "\n");
	}
	ts_puts(&b, "data: z\n\n");
	ts_bound_case("joined data of max bytes", &b, max, 0);
	b.len -= 2;
	ts_puts(&b, "\ndata:\n\n"); /* one more LF and an empty line: 101 */
	ts_bound_case("joined data of max + 1 bytes", &b, max, 1);
	b.len = 0;
	for (int i = 0; i < 4; i++) {
		ts_puts(&b, "data:");
		ts_fill(&b, 'a' + (char)i, 30);
		ts_puts(&b, i == 3 ? "\r\n\r\n" : "\r\n");
	}
	ts_bound_case("joined data over max, CRLF", &b, max, 1);
	free(b.p);
}

Test(sse_bounds, event_name_of_64_bytes_fails)
{
	struct ts_buf b = { 0 };
	ts_puts(&b, "event: ");
	ts_fill(&b, 'n', TS_NAME_MAX - 1);
	ts_puts(&b, "\ndata: x\n\n");
	ts_bound_case("event name of 63 bytes", &b, TS_BIG, 0);
	b.len = 0;
	ts_puts(&b, "event:");
	ts_fill(&b, 'n', TS_NAME_MAX);
	ts_puts(&b, "\ndata: x\n\n");
	ts_bound_case("event name of 64 bytes", &b, TS_BIG, 1);
	/* Strays before the long name must not come out first in any chunking. */
	b.len = 0;
	ts_puts(&b, "{\n\"x\": 1\nevent: ");
	ts_fill(&b, 'n', 200);
	ts_puts(&b, "\ndata: x\n\n");
	ts_bound_case("event name of 200 bytes after strays", &b, TS_BIG, 1);
	free(b.p);
}

Test(sse_bounds, strays_are_bounded)
{
	const size_t max = 64;
	struct ts_buf b = { 0 };
	for (int i = 0; i < 10; i++)
		ts_puts(&b, "  \"field\": 12345,\n");
	ts_puts(&b, "data: x\n\n");
	struct ts_ref ref;
	ts_ref_parse(b.p, b.len, max, 1, &ref);
	cr_assert_eq(ref.rc, -EMSGSIZE);
	ts_ref_free(&ref);
	ts_all_chunkings("joined strays over max", b.p, b.len, max, 1, 100, 1, 9);
	/* Ignored when stray mode is off. */
	ts_ref_parse(b.p, b.len, max, 0, &ref);
	cr_assert_eq(ref.rc, 0);
	cr_assert_eq(ref.n, 1);
	ts_ref_free(&ref);
	free(b.p);
}

/* Long streams of near-max events: the buffers stop growing at the bound,
 * checked by ts_run after every chunking. */
Test(sse_bounds, buffers_stay_within_the_bound)
{
	const size_t max = 2048;
	uint64_t rng = 77;
	struct ts_buf b = { 0 };
	for (int i = 0; i < 60; i++) {
		ts_puts(&b, "data: ");
		ts_fill(&b, 'q', ts_below(&rng, max - 6));
		ts_puts(&b, "\n\n");
	}
	ts_all_chunkings("near-max events", b.p, b.len, max, 0, 50, 0, 11);
	free(b.p);
}

static int ts_count_cb(void *arg, const char *ev, size_t ev_len, const char *data,
		       size_t data_len)
{
	(void)ev;
	(void)ev_len;
	(void)data;
	(void)data_len;
	size_t *n = arg;
	return ++*n == 2 ? -ECANCELED : 0;
}

Test(sse_bounds, negative_callback_stops_the_feed)
{
	/* Three events in one read: the second callback stops; the third is
	 * never seen, and the stop is the feed's return value. */
	static const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	struct sse p;
	size_t n = 0;
	sse_init(&p, TS_BIG, 0);
	cr_assert_eq(sse_feed(&p, in, sizeof in - 1, ts_count_cb, &n), -ECANCELED);
	cr_assert_eq(n, 2);
	sse_free(&p);
	/* From sse_finish too. */
	static const char in2[] = "data: 1\n\ndata: 2";
	n = 0;
	sse_init(&p, TS_BIG, 0);
	cr_assert_eq(sse_feed(&p, in2, sizeof in2 - 1, ts_count_cb, &n), 0);
	cr_assert_eq(sse_finish(&p, ts_count_cb, &n), -ECANCELED);
	cr_assert_eq(n, 2);
	sse_free(&p);
}

/* ---- hostile input ---------------------------------------------------------- */

Test(sse_hostile, nul_bytes_and_invalid_utf8_pass_through)
{
	static const char in[] = "event: a\0b\ndata: x\0y\xFF\xC3(\xED\xA0\x80\ndata: \0\n\n";
	struct ts_ref ref;
	ts_ref_parse(in, sizeof in - 1, TS_BIG, 0, &ref);
	cr_assert_eq(ref.n, 1);
	cr_assert_eq(ref.ev[0].name_len, 3);
	cr_assert(!memcmp(ref.ev[0].name, "a\0b", 3));
	cr_assert_eq(ref.ev[0].data_len, 11);
	cr_assert(!memcmp(ref.ev[0].data, "x\0y\xFF\xC3(\xED\xA0\x80\n\0", 11));
	ts_ref_free(&ref);
	ts_all_chunkings("NUL and invalid UTF-8", in, sizeof in - 1, TS_BIG, 0, 100, 1, 3);
}

Test(sse_hostile, binary_garbage)
{
	uint64_t rng = 0xBAD;
	struct ts_buf b = { 0 };
	for (int t = 0; t < 6; t++) {
		b.len = 0;
		size_t n = 4096 + ts_below(&rng, 8192);
		for (size_t i = 0; i < n; i++) {
			/* Line ends and colons often enough to make fields of it. */
			size_t k = ts_below(&rng, 16);
			char c = k == 0 ? '\n' : k == 1 ? '\r' : k == 2 ? ':' : (char)ts_rand(&rng);
			ts_put(&b, &c, 1);
		}
		char label[32];
		snprintf(label, sizeof label, "garbage %d", t);
		ts_all_chunkings(label, b.p, b.len, t & 1 ? 64 : TS_BIG, t >> 1 & 1, 30, 0, rng);
	}
	free(b.p);
}

/* 10 MB of bare line ends in reads of step bytes: no events and no growth
 * (at most the first, smallest buffer). */
static void ts_line_ends(char c, size_t step)
{
	const size_t n = 10 * 1000 * 1000;
	char *in = malloc(n);
	cr_assert(in);
	memset(in, c, n);
	struct sse p;
	size_t got = 0;
	sse_init(&p, 1024, c == '\r');
	for (size_t off = 0, k; off < n; off += k) {
		k = n - off < step ? n - off : step;
		cr_assert_eq(sse_feed(&p, in + off, k, ts_never, &got), 0);
	}
	cr_assert_eq(sse_finish(&p, ts_never, &got), 0);
	cr_assert_eq(got, 0);
	cr_assert_leq(p.line_cap + p.data_cap + p.stray_cap, 256);
	sse_free(&p);
	free(in);
}

Test(sse_hostile, ten_mb_of_lf)
{
	ts_line_ends('\n', SIZE_MAX);
}

Test(sse_hostile, ten_mb_of_cr)
{
	/* Reads of 64 KiB: a CR ends each one, waiting for an LF. */
	ts_line_ends('\r', 65536);
}

/*
 * Comment lines are never buffered, whole or split, however long: the
 * parser skips to the line end. So a 1 MB keep-alive comment passes under
 * a 64 KiB bound in any chunking, and the line buffer never grows past
 * its first 256 bytes. (Before, a comment split across reads was buffered
 * like any line, and failed the bound only when it arrived in pieces.)
 */
Test(sse_hostile, megabyte_comment_lines_are_not_buffered)
{
	const size_t max = 65536, clen = TS_MIB;
	struct ts_buf b = { 0 };
	for (int i = 0; i < 3; i++) {
		ts_puts(&b, ":");
		ts_fill(&b, i == 1 ? ' ' : 'k', clen);
		ts_puts(&b, i == 2 ? "\r" : "\r\n");
		ts_puts(&b, "data: after\n\n");
	}
	static const size_t steps[] = { SIZE_MAX, 65536, 4093, 61 };
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		struct sse p;
		size_t got = 0;
		sse_init(&p, max, 1);
		for (size_t off = 0, k; off < b.len; off += k) {
			k = b.len - off < steps[s] ? b.len - off : steps[s];
			int rc = sse_feed(&p, b.p + off, k, ts_never, &got);
			if (rc || p.line_cap > 256)
				cr_assert_fail("chunks of %zu, at %zu: rc %d, line buffer %zu",
					       steps[s], off, rc, p.line_cap);
		}
		cr_assert_eq(sse_finish(&p, ts_never, &got), 0);
		cr_assert_eq(got, 3);
		sse_free(&p);
	}
	free(b.p);
}

Test(sse_hostile, bom_only_partial_bom_and_split_bom)
{
	TS_EXPECT("\xEF\xBB\xBF", 0, 0, TS_NONE);
	TS_EXPECT("\xEF\xBB\xBF", 1, 0, TS_NONE);
	/* A partial BOM at EOF is a line of its own: an unknown field, or a
	 * stray in stray mode; never a crash, never a hang. */
	TS_EXPECT("\xEF", 0, 0, TS_NONE);
	TS_EXPECT("\xEF\xBB", 0, 0, TS_NONE);
	TS_EXPECT("\xEF\xBB", 1, 0, "", "\xEF\xBB");
	TS_EXPECT("\xEF\xBB" "data: x\n\n", 1, 0, "", "\xEF\xBB" "data: x");
	TS_EXPECT("\xEF\n" "data: x\n\n", 0, 0, "", "x");
	TS_EXPECT("\xEF\xBB\r\n" "data: x\n\n", 1, 0, "", "\xEF\xBB", "", "x");
	TS_EXPECT("\xEF\xBB\xBF" ":c\r\n" "data: x", 0, 1, "", "x");
}

Test(sse_hostile, empty_and_null_feeds)
{
	struct sse p;
	size_t got = 0;
	sse_init(&p, TS_BIG, 0);
	cr_assert_eq(sse_feed(&p, NULL, 0, ts_never, &got), 0);
	cr_assert_eq(sse_feed(&p, "\xEF\xBB", 2, ts_never, &got), 0);
	cr_assert_eq(sse_feed(&p, NULL, 0, ts_never, &got), 0);
	cr_assert_eq(sse_feed(&p, "\xBF" "data: x\r", 9, ts_never, &got), 0);
	cr_assert_eq(sse_feed(&p, NULL, 0, ts_never, &got), 0);
	cr_assert_eq(sse_feed(&p, "\n\r", 2, ts_never, &got), 0);
	cr_assert_eq(got, 1);
	cr_assert_eq(sse_finish(&p, ts_never, &got), 0);
	cr_assert_eq(got, 1);
	cr_assert_eq(p.unterminated, 0);
	sse_free(&p);
	/* Finish on a fresh parser, and free twice (sse_free resets). */
	sse_init(&p, TS_BIG, 1);
	cr_assert_eq(sse_finish(&p, ts_never, &got), 0);
	sse_free(&p);
	sse_free(&p);
	cr_assert_eq(got, 1);
}
