/*
 * codec_fast_util.c — the differential runs shared by the fast paths'
 * tests (see codec_fast_util.h).
 */
#include "codec_fast_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fx.h"
#include "jmut.h"
#include "sidecar/codec_openai.h"
#include "sidecar/sse.h"

/* Room for everything one run reports, the huge-content cases included. */
#define OF_LOG_MAX (1u << 20)
/* Framing bound for the whole-stream runs: larger than any fixture event. */
#define OF_MAX_EVENT (1u << 20)
/* Events of one of_same_events run, [DONE] included. */
#define OF_MAX_EVENTS 8

/* ---- a sink that writes down every call ------------------------------------------ */

struct of_rec {
	char log[OF_LOG_MAX];
	size_t len;
	int fail_text; /* the text callback fails, as a full ring would */
};

static void of_put(struct of_rec *r, const char *p, size_t n)
{
	cr_assert_leq(n, sizeof r->log - r->len, "log overflow");
	memcpy(r->log + r->len, p, n);
	r->len += n;
}

__attribute__((format(printf, 2, 3))) static void of_putf(struct of_rec *r, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	of_put(r, buf, (size_t)n);
}

static int of_text(void *arg, enum uev_text kind, const char *p, size_t n)
{
	struct of_rec *r = arg;
	of_putf(r, "text %d %zu:", (int)kind, n);
	of_put(r, p, n);
	of_put(r, "\n", 1);
	return r->fail_text ? -EIO : 0;
}

static int of_tool(void *arg, uint32_t index, const char *id, size_t id_len, const char *name,
		   size_t name_len, const char *args, size_t args_len)
{
	struct of_rec *r = arg;
	of_putf(r, "tool %u %zu %zu %zu:", index, id_len, name_len, args_len);
	of_put(r, id ? id : "", id_len);
	of_put(r, name ? name : "", name_len);
	of_put(r, args ? args : "", args_len);
	of_put(r, "\n", 1);
	return 0;
}

static int of_usage(void *arg, uint32_t prompt, uint32_t completion)
{
	of_putf(arg, "usage %u %u\n", prompt, completion);
	return 0;
}

static int of_finish(void *arg, const char *reason, const char *raw)
{
	of_putf(arg, "finish %s [%s]\n", reason, raw);
	return 0;
}

static int of_error(void *arg, int code, int status, int retryable, const char *msg, size_t n)
{
	struct of_rec *r = arg;
	of_putf(r, "error %d %d %d %zu:", code, status, retryable, n);
	of_put(r, msg, n);
	of_put(r, "\n", 1);
	return 0;
}

/* ---- runs -------------------------------------------------------------------------- */

struct of_run {
	struct pc_dec d;
	struct uev_sink s;
	struct of_rec *r;
	int fast;
};

static const struct pc_codec *of_codec = &pc_openai;
static of_event_fn of_fast_fn = oa_on_event, of_slow_fn = oa_on_event_slow;

void of_use(const struct pc_codec *c, of_event_fn fast, of_event_fn slow)
{
	of_codec = c;
	of_fast_fn = fast;
	of_slow_fn = slow;
}

static void of_begin(struct of_run *x, struct of_rec *r, int fast, int fail_text)
{
	r->len = 0;
	r->fail_text = fail_text;
	x->r = r;
	x->fast = fast;
	x->d = (struct pc_dec){ .codec = of_codec };
	x->s = (struct uev_sink){ .arg = r, .text = of_text, .tool = of_tool, .usage = of_usage,
				  .finish = of_finish, .error = of_error };
	cr_assert_eq(of_codec->dec_init(&x->d), 0);
}

static int of_event(void *arg, const char *ev, size_t ev_len, const char *data, size_t n)
{
	struct of_run *x = arg;
	int rc = (x->fast ? of_fast_fn : of_slow_fn)(&x->d, ev, ev_len, data, n, &x->s);
	of_putf(x->r, "rc %d\n", rc);
	return rc;
}

static void of_end(struct of_run *x, int rc)
{
	if (!rc)
		rc = of_codec->on_end(&x->d, &x->s);
	of_putf(x->r, "end %d\n", rc);
	of_codec->dec_free(&x->d);
}

/* Events handed to the decoder as they are: no framing in between. */
static void of_events(const char *const *ev, const size_t *n, size_t count, struct of_rec *r,
		      int fast, int fail_text)
{
	struct of_run x;
	int rc = 0;

	of_begin(&x, r, fast, fail_text);
	for (size_t i = 0; i < count && !rc; i++)
		rc = of_event(&x, NULL, 0, ev[i], n[i]);
	of_end(&x, rc);
}

/* A whole SSE stream through the framing. */
static void of_stream(const char *sse, size_t len, struct of_rec *r, int fast, int fail_text)
{
	struct of_run x;
	struct sse sp;
	int rc;

	of_begin(&x, r, fast, fail_text);
	sse_init(&sp, OF_MAX_EVENT, 0);
	rc = sse_feed(&sp, sse, len, of_event, &x);
	if (!rc)
		rc = sse_finish(&sp, of_event, &x);
	sse_free(&sp);
	of_end(&x, rc);
}

static struct of_rec of_fast, of_slow;

static void of_same_logs(const char *what, size_t which)
{
	size_t i = 0, from;

	while (i < of_fast.len && i < of_slow.len && of_fast.log[i] == of_slow.log[i])
		i++;
	if (i == of_fast.len && i == of_slow.len)
		return;
	from = i > 120 ? i - 120 : 0;
	cr_assert_fail("%s %zu: fast and slow differ at byte %zu\n fast: %.*s\n slow: %.*s", what, which, i,
		(int)(of_fast.len - from < 400 ? of_fast.len - from : 400), of_fast.log + from,
		(int)(of_slow.len - from < 400 ? of_slow.len - from : 400), of_slow.log + from);
}

void of_same_events(const char *const *ev, const size_t *n, size_t count, const char *what,
			   size_t which)
{
	const char *with_done[OF_MAX_EVENTS];
	size_t with_done_n[OF_MAX_EVENTS];

	cr_assert_lt(count, OF_MAX_EVENTS);
	memcpy(with_done, ev, count * sizeof *ev);
	memcpy(with_done_n, n, count * sizeof *n);
	with_done[count] = "[DONE]";
	with_done_n[count] = 6;
	for (int fail = 0; fail < 2; fail++) {
		of_events(ev, n, count, &of_fast, 1, fail);
		of_events(ev, n, count, &of_slow, 0, fail);
		of_same_logs(what, which);
		of_events(with_done, with_done_n, count + 1, &of_fast, 1, fail);
		of_events(with_done, with_done_n, count + 1, &of_slow, 0, fail);
		of_same_logs(what, which);
	}
}

static void of_named(const char *const *name, const char *const *ev, const size_t *n,
		     size_t count, struct of_rec *r, int fast, int fail_text)
{
	struct of_run x;
	int rc = 0;

	of_begin(&x, r, fast, fail_text);
	for (size_t i = 0; i < count && !rc; i++)
		rc = of_event(&x, name[i], name[i] ? strlen(name[i]) : 0, ev[i], n[i]);
	of_end(&x, rc);
}

void of_same_named(const char *const *name, const char *const *ev, const size_t *n,
		   size_t count, const char *what, size_t which)
{
	cr_assert_lt(count, OF_MAX_EVENTS);
	for (int fail = 0; fail < 2; fail++) {
		of_named(name, ev, n, count, &of_fast, 1, fail);
		of_named(name, ev, n, count, &of_slow, 0, fail);
		of_same_logs(what, which);
	}
}

int of_takes(const char *data, size_t n)
{
	static struct oa_fast f;
	return oa_fast_scan(data, n, &f);
}

static int of_q_text(void *arg, enum uev_text kind, const char *p, size_t n)
{
	(void)arg, (void)kind, (void)p, (void)n;
	return 0;
}

static int of_q_tool(void *arg, uint32_t index, const char *id, size_t id_len, const char *name,
		     size_t name_len, const char *args, size_t args_len)
{
	(void)arg, (void)index, (void)id, (void)id_len, (void)name, (void)name_len, (void)args;
	(void)args_len;
	return 0;
}

static int of_q_usage(void *arg, uint32_t prompt, uint32_t completion)
{
	(void)arg, (void)prompt, (void)completion;
	return 0;
}

static int of_q_finish(void *arg, const char *reason, const char *raw)
{
	(void)arg, (void)reason, (void)raw;
	return 0;
}

static int of_q_error(void *arg, int code, int status, int retryable, const char *msg, size_t n)
{
	(void)arg, (void)code, (void)status, (void)retryable, (void)msg, (void)n;
	return 0;
}

void of_quiet_sink(struct uev_sink *s)
{
	*s = (struct uev_sink){ .text = of_q_text, .tool = of_q_tool, .usage = of_q_usage,
				.finish = of_q_finish, .error = of_q_error };
}

const char *const of_hostile[] = {
	"\"",                                    /* ends the string early */
	"a\",\"finish_reason\":\"stop",          /* a key smuggled in */
	"a\"},\"logprobs\":null,\"finish_reason\":\"stop\"}]}, {\"x\":\"",
	"a\"},\"type\":\"tool_use\",\"x\":\"",
	"\\",                                   /* escapes the closing quote */
	"\\\\",                               /* a backslash, closed */
	"\\x",        "\\u12",          "\\ud800",    "\\udc00",    "\\ud800\\u0041",
	"\x01",        "\x1f",            "\x7f",        "\xc3\x28",    "\xc0\xaf",
	"\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80",       "\xff",        "\xe2\x82",
	"\\u0000",    "tab\there",       "\\/",        "\\b\\f\\r",
};
const size_t of_n_hostile = sizeof of_hostile / sizeof of_hostile[0];

int of_tpl_takes(const char *learn, size_t ln, const char *data, size_t n)
{
	static struct oa_fast f;
	static struct oa_tpl t;
	jtpl_clear(&t.t);
	if (oa_fast_scan(learn, ln, &f))
		oa_tpl_learn(&t, learn, ln, &f);
	return oa_tpl_match(&t, data, n, &f);
}

void of_same_stream(const char *sse, size_t len, const char *what, size_t which)
{
	for (int fail = 0; fail < 2; fail++) {
		of_stream(sse, len, &of_fast, 1, fail);
		of_stream(sse, len, &of_slow, 0, fail);
		of_same_logs(what, which);
	}
}

void of_same_fixtures(const char *const *files, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		char path[512];
		size_t len;
		char *sse = fx_read(fx_path(files[i], path, sizeof path), &len);
		cr_assert_not_null(sse, "%s", path);
		of_same_stream(sse, len, files[i], i);
		free(sse);
	}
}

void of_long_text(char *buf, size_t cap, size_t n, int escaped)
{
	size_t w = escaped ? 2 : 1;
	cr_assert(w * n < cap, "%zu bytes of text do not fit in %zu", w * n, cap);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + w * i, escaped ? "\\n" : "a", w);
	buf[w * n] = 0;
}

char *of_long_event(const char *prefix, size_t n, int escaped, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), w = escaped ? 2 : 1;
	char *s = malloc(lp + w * n + ls + 1);
	cr_assert_not_null(s);
	memcpy(s, prefix, lp);
	of_long_text(s + lp, w * n + 1, n, escaped);
	memcpy(s + lp + w * n, suffix, ls + 1);
	return s;
}

size_t of_mutated_after_themselves(const char *const *files, size_t count, int mutations,
				   unsigned seed, of_pair_fn same, of_tpl_fn takes, size_t *pairs)
{
	static char out[JM_MAX];
	size_t matched = 0;

	*pairs = 0;
	for (size_t f = 0; f < count; f++) {
		struct jm_lines l;
		jm_lines(files[f], &l);
		for (size_t i = 0; i < l.count; i++) {
			for (int m = 0; m < mutations; m++) {
				size_t n = jm_mutate(l.p[i], l.n[i], out, &seed);
				same(l.p[i], l.n[i], out, n, files[f], i);
				matched += (size_t)takes(l.p[i], l.n[i], out, n);
				(*pairs)++;
			}
		}
		jm_lines_free(&l);
	}
	return matched;
}
