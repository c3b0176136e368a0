/*
 * sse_ref.h — the SSE tests' reference: a whole-input parser written
 * straight from NOTES.md section 6, and the harness that feeds the
 * incremental parser (sidecar/sse.c) in a given chunking and compares it
 * with the reference event by event, byte by byte. Shared by test_sse*.c.
 *
 * A run compares more than the event list: each event must come out of
 * the very feed call that holds the byte which dispatches it, an error
 * must come out of the call that holds the byte crossing the bound, and
 * nothing may follow a stop.
 */
#ifndef RINGSIDE_TEST_SSE_REF_H
#define RINGSIDE_TEST_SSE_REF_H

#include <stddef.h>
#include <stdint.h>

/* What the test callback returns to stop the parser: any negative value
 * that no parser path produces itself. */
#define SREF_CANCEL (-4242)
#define SREF_NO_CANCEL SIZE_MAX
/* The name buffer in struct sse: names of this length or more fail. */
#define SREF_NAME_MAX 64
/* Bound used where bounds are not the point: above any fixture event. */
#define SREF_BIG (1u << 20)
#define SREF_MIB (1024u * 1024u)
/* Inputs up to this size are split in two at every point as a whole. */
#define SREF_WHOLE_SPLIT_MAX 2048

/* ---- small helpers ------------------------------------------------------- */

/* xorshift64*, and a value below n from it (0 for n == 0). */
uint64_t sref_rand(uint64_t *s);
size_t sref_below(uint64_t *s, size_t n);

struct sref_buf {
	char *p;
	size_t len, cap;
};

/* Append to a growing, NUL-terminated buffer. */
void sref_put(struct sref_buf *b, const void *p, size_t n);
void sref_puts(struct sref_buf *b, const char *s);
void sref_fill(struct sref_buf *b, char c, size_t n);

/* A whole file (caller frees), and the fixture directory. */
char *sref_read(const char *path, size_t *len);
const char *sref_fixture_dir(void);

/* ---- the reference: whole input, line by line ----------------------------- */

struct sref_event {
	char name[SREF_NAME_MAX];
	size_t name_len;
	char *data;
	size_t data_len;
	size_t at; /* offset of the byte that dispatches it; input length: at EOF */
};

struct sref_ref {
	struct sref_event *ev;
	size_t n, cap;
	int rc;           /* 0 or -EMSGSIZE */
	size_t err_at;    /* offset of the byte crossing the bound; length: at EOF */
	int unterminated; /* EOF dispatched an event that had data lines */
	size_t *clean;    /* line starts after a blank line: nothing pending */
	size_t n_clean, cap_clean;
};

/* Parse in[0..len) at bound max into r; free with sref_ref_free. */
void sref_ref_parse(const char *in, size_t len, size_t max, int stray_mode, struct sref_ref *r);
void sref_ref_free(struct sref_ref *r);

/* ---- the incremental parser in a given chunking --------------------------- */

struct sref_run {
	const struct sref_ref *ref;
	size_t len;
	size_t lo, hi;    /* bytes of the feed call in progress */
	int in_finish;
	size_t got;       /* callbacks so far */
	size_t cancel_at; /* event index whose callback returns SREF_CANCEL */
	char *why;        /* first difference */
	size_t why_len;
};

/* The sse callback that compares each event with r->ref (arg: struct sref_run). */
int sref_on_event(void *arg, const char *ev, size_t ev_len, const char *data, size_t data_len);

/*
 * Feed in[0..len) as chunks of sizes[0..n), then sse_finish, and compare
 * with ref. cancel_at: the event whose callback stops the parser. Returns
 * 0, or 1 with why filled.
 */
int sref_run(const char *in, size_t len, const size_t *sizes, size_t n, size_t max,
	   int stray_mode, const struct sref_ref *ref, size_t cancel_at, char *why,
	   size_t why_len);

/* All chunkings of one input: every split in two (when every_split), one
 * byte at a time, and n_random random ones. */
void sref_all_chunkings(const char *label, const char *in, size_t len, size_t max,
		      int stray_mode, size_t n_random, int every_split, uint64_t seed);

/* Hand-written expectations for one input: the reference must agree with
 * them, then every chunking with the reference. events: name, data pairs;
 * NULL ends. */
void sref_expect(const char *in, size_t len, int stray_mode, int unterminated,
	       const char *const *events);

#define SREF_EXPECT(in, stray, unterm, ...)                                                   \
	do {                                                                                \
		static const char *const sref_evs_[] = { __VA_ARGS__, NULL };                 \
		sref_expect(in, sizeof(in) - 1, stray, unterm, sref_evs_);                      \
	} while (0)
#define SREF_NONE NULL

/* An sse callback that counts callbacks into *(size_t *)arg. */
int sref_never(void *arg, const char *ev, size_t ev_len, const char *data, size_t data_len);

#endif
