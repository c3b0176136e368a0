/*
 * sse_ref.c — the SSE tests' reference parser and chunking harness; see
 * sse_ref.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "sse_ref.h"

uint64_t sref_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

size_t sref_below(uint64_t *s, size_t n)
{
	return n ? (size_t)(sref_rand(s) % n) : 0;
}

void sref_put(struct sref_buf *b, const void *p, size_t n)
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

void sref_puts(struct sref_buf *b, const char *s)
{
	sref_put(b, s, strlen(s));
}

void sref_fill(struct sref_buf *b, char c, size_t n)
{
	char blk[256];
	memset(blk, c, sizeof blk);
	for (size_t k; n; n -= k) {
		k = n < sizeof blk ? n : sizeof blk;
		sref_put(b, blk, k);
	}
}

char *sref_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct sref_buf b = { 0 };
	char tmp[4096];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		sref_put(&b, tmp, k);
	fclose(f);
	if (!b.p)
		sref_put(&b, "", 0);
	*len = b.len;
	return b.p;
}

const char *sref_fixture_dir(void)
{
	const char *d = getenv("RINGSIDE_FIXTURES");
	return d && *d ? d : "tests/fixtures";
}

/* ---- the reference: whole input, line by line ----------------------------- */

/* Parser state of the reference, separate from the result. */
struct sref_rstate {
	size_t max;
	int stray_mode;
	struct sref_buf data; /* data lines joined with LF (no trailing LF) */
	int have_data;
	char name[SREF_NAME_MAX];
	size_t name_len;
	struct sref_buf stray;
};

static void sref_emit(struct sref_ref *r, const char *name, size_t nl, const char *d, size_t dl,
		    size_t at)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->ev = realloc(r->ev, r->cap * sizeof *r->ev);
		cr_assert(r->ev);
	}
	struct sref_event *e = &r->ev[r->n++];
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

void sref_ref_free(struct sref_ref *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->ev[i].data);
	free(r->ev);
	free(r->clean);
	memset(r, 0, sizeof *r);
}

/* Non-field lines collected in stray mode are one nameless event, given
 * out when a known field, a blank line or EOF follows them. */
static void sref_flush_stray(struct sref_rstate *st, struct sref_ref *r, size_t at)
{
	if (!st->stray.len)
		return;
	sref_emit(r, "", 0, st->stray.p, st->stray.len, at);
	st->stray.len = 0;
}

static void sref_dispatch(struct sref_rstate *st, struct sref_ref *r, size_t at)
{
	/* Strays first: they end at this line, and the event only now. */
	sref_flush_stray(st, r, at);
	if (st->have_data)
		sref_emit(r, st->name, st->name_len, st->data.p, st->data.len, at);
	st->have_data = 0;
	st->data.len = 0;
	st->name_len = 0; /* WHATWG: the name goes with the event, data or not */
}

static int sref_field(const char *l, size_t fl, const char *name)
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
static int sref_ref_line(struct sref_rstate *st, struct sref_ref *r, const char *l, size_t n,
		       size_t off, size_t at)
{
	if (n == 0) {
		sref_dispatch(st, r, at);
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
	int is_data = sref_field(l, fl, "data"), is_event = sref_field(l, fl, "event");
	if (is_data) {
		size_t base = st->have_data ? st->data.len + 1 : 0;
		if (base + vl > st->max) {
			size_t c = base > st->max ? (colon ? off + fl : at) : vs + (st->max - base);
			if (c < cross)
				cross = c;
		}
	}
	if (is_event && vl >= SREF_NAME_MAX && vs + SREF_NAME_MAX - 1 < cross)
		cross = vs + SREF_NAME_MAX - 1;
	if (cross != SIZE_MAX) {
		r->rc = -EMSGSIZE;
		r->err_at = cross;
		return -1;
	}
	if (is_data) {
		sref_flush_stray(st, r, at);
		if (st->have_data)
			sref_put(&st->data, "\n", 1);
		sref_put(&st->data, v, vl);
		st->have_data = 1;
	} else if (is_event) {
		sref_flush_stray(st, r, at);
		memcpy(st->name, v, vl);
		st->name_len = vl;
	} else if (sref_field(l, fl, "id") || sref_field(l, fl, "retry")) {
		sref_flush_stray(st, r, at);
	} else if (st->stray_mode) {
		if ((st->stray.len ? st->stray.len + 1 : 0) + n > st->max) {
			r->rc = -EMSGSIZE;
			r->err_at = at;
			return -1;
		}
		if (st->stray.len)
			sref_put(&st->stray, "\n", 1);
		sref_put(&st->stray, l, n);
	}
	return 0;
}

void sref_ref_parse(const char *in, size_t len, size_t max, int stray_mode, struct sref_ref *r)
{
	struct sref_rstate st = { .max = max, .stray_mode = stray_mode };
	memset(r, 0, sizeof *r);
	size_t pos = 0;
	if (len >= 3 && !memcmp(in, "\xEF\xBB\xBF", 3))
		pos = 3;
	while (pos < len) {
		size_t e = pos;
		while (e < len && in[e] != '\n' && in[e] != '\r')
			e++;
		if (sref_ref_line(&st, r, in + pos, e - pos, pos, e) < 0)
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
	sref_dispatch(&st, r, len);
out:
	free(st.data.p);
	free(st.stray.p);
}

/* ---- the incremental parser in a given chunking --------------------------- */

static void sref_why(struct sref_run *r, const char *fmt, long long a, long long b)
{
	if (!r->why[0])
		snprintf(r->why, r->why_len, fmt, a, b);
}

int sref_on_event(void *arg, const char *ev, size_t ev_len, const char *data, size_t data_len)
{
	struct sref_run *r = arg;
	size_t i = r->got++;
	if (i >= r->ref->n) {
		sref_why(r, "event %lld: the reference has only %lld", (long long)i,
		       (long long)r->ref->n);
		return 0;
	}
	const struct sref_event *e = &r->ref->ev[i];
	if (ev_len != e->name_len || (ev_len && memcmp(ev, e->name, ev_len)))
		sref_why(r, "event %lld: name differs (length %lld)", (long long)i, (long long)ev_len);
	else if (data_len != e->data_len || (data_len && memcmp(data, e->data, data_len)))
		sref_why(r, "event %lld: data differs (length %lld)", (long long)i,
		       (long long)data_len);
	else if (r->in_finish ? e->at != r->len : e->at < r->lo || e->at >= r->hi)
		sref_why(r, "event %lld: dispatched by the call at %lld, not the one holding its byte",
		       (long long)i, r->in_finish ? -1 : (long long)r->lo);
	return i == r->cancel_at ? SREF_CANCEL : 0;
}

/* Largest buffer the parser may ever hold for bound max: it doubles from
 * 256 up to max plus the NUL and the data's trailing LF. */
static size_t sref_cap_bound(size_t max)
{
	return 2 * max + 4 > 256 ? 2 * max + 4 : 256;
}

/*
 * Feed in[0..len) as chunks of sizes[0..n) (they sum to len, zeros
 * allowed), then sse_finish, and compare with ref. cancel_at: the event
 * whose callback stops the parser. Returns 0, or 1 with why filled.
 */
int sref_run(const char *in, size_t len, const size_t *sizes, size_t n, size_t max,
		  int stray_mode, const struct sref_ref *ref, size_t cancel_at, char *why,
		  size_t why_len)
{
	struct sse p;
	struct sref_run r = { .ref = ref, .len = len, .cancel_at = cancel_at, .why = why,
			    .why_len = why_len };
	why[0] = 0;
	size_t stop = SIZE_MAX, want = ref->n;
	int stop_rc = 0, rc;
	if (cancel_at < ref->n) {
		stop = ref->ev[cancel_at].at;
		stop_rc = SREF_CANCEL;
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
		rc = sse_feed(&p, in + off, sizes[i], sref_on_event, &r);
		int expect = stop >= r.lo && stop < r.hi ? stop_rc : 0;
		if (rc != expect) {
			sref_why(&r, "feed at %lld returned %lld", (long long)off, rc);
			goto out;
		}
		if (rc)
			goto out;
		off = r.hi;
	}
	r.lo = r.hi = len;
	r.in_finish = 1;
	rc = sse_finish(&p, sref_on_event, &r);
	if (rc != (stop == len ? stop_rc : 0)) {
		sref_why(&r, "finish returned %lld (stop at %lld)", rc, (long long)stop);
		goto out;
	}
	if (!stop_rc && p.unterminated != ref->unterminated)
		sref_why(&r, "unterminated %lld, reference %lld", p.unterminated, ref->unterminated);
out:
	if (r.got != want)
		sref_why(&r, "%lld events delivered, %lld expected", (long long)r.got, (long long)want);
	if (p.events != r.got)
		sref_why(&r, "p->events %lld after %lld callbacks", (long long)p.events,
		       (long long)r.got);
	size_t bound = sref_cap_bound(max);
	if (p.line_cap > bound || p.data_cap > bound || p.stray_cap > bound)
		sref_why(&r, "a buffer grew to %lld for max %lld",
		       (long long)(p.line_cap > p.data_cap ? p.line_cap : p.data_cap),
		       (long long)max);
	sse_free(&p);
	return why[0] != 0;
}

/* Random chunk sizes for len bytes into sizes (room for len + 8);
 * returns the count. Styles from tiny to large, some empty chunks. */
static size_t sref_chunking(uint64_t *rng, size_t len, size_t *sizes)
{
	static const size_t tops[] = { 2, 5, 17, 64, 300, 2048 };
	size_t top = tops[sref_below(rng, sizeof tops / sizeof tops[0])], n = 0, off = 0, empty = 0;
	while (off < len) {
		if (empty < 8 && sref_below(rng, 50) == 0) {
			sizes[n++] = 0;
			empty++;
			continue;
		}
		size_t k = 1 + sref_below(rng, top);
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
 * offset before k to the one after it (see sref_ref_parse), where a fresh
 * parser is in the state the long run has; so each split costs the bytes
 * it can affect, not the whole file again (quadratic in ASan time). The
 * long runs themselves are covered by the byte-at-a-time and random
 * chunkings.
 */
static void sref_every_split(const char *label, const char *in, size_t len, size_t max,
			   int stray_mode, const struct sref_ref *ref)
{
	char why[256];
	struct sref_ref win = { 0 };
	size_t c = 0, wb = SIZE_MAX, we = SIZE_MAX;
	for (size_t k = 0; k <= len; k++) {
		size_t b = 0, e = len;
		if (len > SREF_WHOLE_SPLIT_MAX) {
			while (c < ref->n_clean && ref->clean[c] < k)
				c++;
			b = c ? ref->clean[c - 1] : 0;
			size_t j = c;
			while (j < ref->n_clean && ref->clean[j] <= k)
				j++;
			e = j < ref->n_clean ? ref->clean[j] : len;
		}
		if (b != wb || e != we) {
			sref_ref_free(&win);
			sref_ref_parse(in + b, e - b, max, stray_mode, &win);
			wb = b;
			we = e;
		}
		size_t two[2] = { k - b, e - k };
		if (sref_run(in + b, e - b, two, 2, max, stray_mode, &win, SREF_NO_CANCEL, why, sizeof why))
			cr_assert_fail("%s (stray %d, max %zu), split at %zu of [%zu, %zu): %s", label,
				       stray_mode, max, k, b, e, why);
	}
	sref_ref_free(&win);
}

/* All chunkings of one input: every split in two, one byte at a time, and
 * n_random random ones (a quarter of them cancelling at a random event). */
void sref_all_chunkings(const char *label, const char *in, size_t len, size_t max,
			     int stray_mode, size_t n_random, int every_split, uint64_t seed)
{
	struct sref_ref ref;
	char why[256];
	size_t *sizes = malloc((len + 9) * sizeof *sizes);
	cr_assert(sizes);
	sref_ref_parse(in, len, max, stray_mode, &ref);

	sizes[0] = len;
	cr_assert(!sref_run(in, len, sizes, 1, max, stray_mode, &ref, SREF_NO_CANCEL, why, sizeof why),
		  "%s (stray %d, max %zu), one chunk: %s", label, stray_mode, max, why);
	if (every_split)
		sref_every_split(label, in, len, max, stray_mode, &ref);
	for (size_t i = 0; i < len; i++)
		sizes[i] = 1;
	cr_assert(!sref_run(in, len, sizes, len, max, stray_mode, &ref, SREF_NO_CANCEL, why, sizeof why),
		  "%s (stray %d, max %zu), one byte at a time: %s", label, stray_mode, max, why);
	uint64_t rng = seed | 1;
	for (size_t t = 0; t < n_random; t++) {
		size_t n = sref_chunking(&rng, len, sizes);
		size_t cancel = t % 4 == 3 && ref.n ? sref_below(&rng, ref.n) : SREF_NO_CANCEL;
		if (sref_run(in, len, sizes, n, max, stray_mode, &ref, cancel, why, sizeof why))
			cr_assert_fail("%s (stray %d, max %zu), random chunking %zu (seed %llu), "
				       "cancel %zu: %s", label, stray_mode, max, t,
				       (unsigned long long)seed, cancel, why);
	}
	sref_ref_free(&ref);
	free(sizes);
}

/* Hand-written expectations for one input: first the reference must agree
 * with them (so the reference is checked too), then every chunking must
 * agree with the reference. events: name, data pairs; NULL ends. */
void sref_expect(const char *in, size_t len, int stray_mode, int unterminated,
		      const char *const *events)
{
	struct sref_ref ref;
	sref_ref_parse(in, len, SREF_BIG, stray_mode, &ref);
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
	sref_ref_free(&ref);
	sref_all_chunkings("hand-written", in, len, SREF_BIG, stray_mode, 50, 1, len);
}

/* Counts callbacks into *(size_t *)arg. */
int sref_never(void *arg, const char *ev, size_t ev_len, const char *data, size_t data_len)
{
	(void)ev;
	(void)ev_len;
	(void)data;
	(void)data_len;
	++*(size_t *)arg;
	return 0;
}
