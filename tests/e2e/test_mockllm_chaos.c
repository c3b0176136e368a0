/*
 * test_mockllm_chaos.c — mockllm's chaos=P end to end: a deterministic
 * share of requests (by seed and request counter) failed with one of eight
 * faults, all before any content so a gateway may still retry; each kind is
 * recognised from what a client receives and checked against /stats. The
 * suite (timeout) is declared in test_mockllm.c.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness_http.h"
#include "harness_mt.h"

/* chaos' faults in mockllm's order (enum ml_chaos), as /stats names them. */
enum mt_chaos {
	MT_CHAOS_500, MT_CHAOS_503, MT_CHAOS_429, MT_CHAOS_OVERLOADED, MT_CHAOS_RST_HEAD,
	MT_CHAOS_RST_BODY, MT_CHAOS_MALFORMED, MT_CHAOS_ERROR, MT_CHAOS_N,
	MT_CHAOS_NONE = MT_CHAOS_N, /* a whole, clean reply */
};
static const char *const mt_chaos_stat[MT_CHAOS_N] = {
	"faults_injected.chaos_500",        "faults_injected.chaos_503",
	"faults_injected.chaos_429",        "faults_injected.chaos_overloaded",
	"faults_injected.chaos_rst_head",   "faults_injected.chaos_rst_body",
	"faults_injected.chaos_malformed",  "faults_injected.chaos_error",
};
/* One letter per outcome, for sequences a failed assertion prints. */
static const char mt_chaos_letter[MT_CHAOS_N + 1] = "053OHBME.";

/* What chaos' plain 503 says (reply.c), unlike each provider's overloaded one. */
#define MT_CHAOS_503_MSG "Service Unavailable (mockllm chaos)"
/* The words each streamed chaos request asks to have echoed. */
#define MT_CHAOS_TEXT "a b c"

/* Did the malformed event come before any content? Cut the body where it
 * starts and assemble what came before. */
static bool mt_malformed_first(enum h_mt_fmt f, const struct h_http_resp *r)
{
	/* How each format's malformed event ends: its payload cut short. */
	static const char *const mark[H_MT_NFMT] = {
		"\"content\":\n\n", "\"text\":\n\n", "\"text\":\r\n\r\n", NULL,
	};
	if (f == H_MT_OLLAMA) {
		/* No head events: the malformed line is the first line. */
		const char *nl = memchr(r->body, '\n', r->body_len);
		return nl && !h_http_js_valid(r->body, (size_t)(nl - r->body));
	}
	const char *at = memmem(r->body, r->body_len, mark[f], strlen(mark[f]));
	if (!at)
		return false;
	struct h_http_resp head = *r;
	head.body_len = (size_t)(at - r->body);
	struct h_mt_out o;
	h_mt_collect(f, true, &head, &o);
	return o.chunks == 0;
}

/*
 * Which chaos fault a streamed reply in format f shows, from the outside:
 * MT_CHAOS_NONE for a clean reply, -1 (why says it) for anything else,
 * including a fault after content.
 */
static int mt_chaos_kind(enum h_mt_fmt f, const struct h_http_resp *r, const struct h_mt_out *o,
			 char *why, size_t n)
{
	char v[32];
	bool plain_503 = r->body && memmem(r->body, r->body_len, MT_CHAOS_503_MSG,
					   strlen(MT_CHAOS_503_MSG));
	why[0] = 0;
	switch (r->status) {
	case 0:
		if (r->end == -ECONNRESET)
			return MT_CHAOS_RST_HEAD;
		break;
	case 500:
		return MT_CHAOS_500;
	case 429:
		if (h_http_header(r, "retry-after-ms", v, sizeof v) && !strcmp(v, "20") &&
		    (f != H_MT_OPENAI || strstr(r->body, "try again in 20ms")))
			return MT_CHAOS_429;
		snprintf(why, n, "429 without retry-after-ms: 20 (and, OpenAI, its text): %s", r->body);
		return -1;
	case 529:
		if (f == H_MT_ANTHROPIC && !strcmp(o->error, "overloaded_error"))
			return MT_CHAOS_OVERLOADED;
		break;
	case 503:
		if (plain_503)
			return MT_CHAOS_503;
		if (f == H_MT_OPENAI || f == H_MT_GEMINI) {
			if (strstr(r->body, "overloaded"))
				return MT_CHAOS_OVERLOADED;
		} else if (f == H_MT_OLLAMA && strstr(o->error, "server busy")) {
			return MT_CHAOS_OVERLOADED;
		}
		break;
	case 200:
		if (r->end == -ECONNRESET && !o->chunks)
			return MT_CHAOS_RST_BODY;
		if (o->bad_json == 1 && mt_malformed_first(f, r))
			return MT_CHAOS_MALFORMED;
		if (o->errors == 1 && !o->chunks)
			return MT_CHAOS_ERROR;
		if (r->complete && o->terminated && !o->bad_json && !o->errors &&
		    !strcmp(o->text, MT_CHAOS_TEXT))
			return MT_CHAOS_NONE;
		break;
	default:
		break;
	}
	snprintf(why, n, "%s: status %d, end %d, %d chunks, %d bad, %d errors: %.120s",
		 h_mt_fmt_names[f], r->status, r->end, o->chunks, o->bad_json, o->errors,
		 r->body ? r->body : "");
	return -1;
}

/* n streamed chat requests in format f with the knobs in model; the
 * outcome letters into seq (n + 1 bytes, or NULL), the count of each
 * outcome added to seen (MT_CHAOS_N + 1). Asserts each is recognised. */
static void mt_chaos_run(const struct h_mt_srv *s, enum h_mt_fmt f, const char *model, int n,
			 char *seq, unsigned *seen)
{
	for (int i = 0; i < n; i++) {
		struct h_http_resp r;
		struct h_mt_out o;
		char why[256];
		h_mt_chat(s, f, model, MT_CHAOS_TEXT, true, NULL, &r, &o);
		int k = mt_chaos_kind(f, &r, &o, why, sizeof why);
		cr_assert(k >= 0, "%s, request %d: %s", model, i, why);
		if (seq)
			seq[i] = mt_chaos_letter[k];
		seen[k]++;
		h_http_resp_free(&r);
	}
	if (seq)
		seq[n] = 0;
}

Test(mockllm, test_chaos_zero_never_fails)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	unsigned seen[MT_CHAOS_N + 1] = { 0 };
	for (int f = 0; f < H_MT_NFMT; f++)
		mt_chaos_run(&s, f, "m@chaos=0,seed=3", 50, NULL, seen);
	cr_assert_eq(seen[MT_CHAOS_NONE], 200, "%u of 200 clean", seen[MT_CHAOS_NONE]);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.chaos"), 0);
	cr_assert_eq(h_mt_stat(&s, "streams_completed"), 200);
	h_mt_stop(&s);
}

Test(mockllm, test_chaos_100_fails_every_request_before_content_with_all_eight_faults)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	unsigned seen[MT_CHAOS_N + 1] = { 0 };
	char seq[201];
	mt_chaos_run(&s, H_MT_OPENAI, "m@chaos=100,seed=3", 200, seq, seen);
	cr_assert_eq(seen[MT_CHAOS_NONE], 0, "clean replies under chaos=100: %s", seq);
	/* Each fault shows, and is the one /stats counted: 200 / 8 = 25 each
	 * on average, so a missing one is not bad luck. */
	for (int k = 0; k < MT_CHAOS_N; k++) {
		cr_assert(seen[k] > 0, "%s never seen: %s", mt_chaos_stat[k], seq);
		cr_assert_eq(h_mt_stat(&s, mt_chaos_stat[k]), (long)seen[k], "%s: %s",
			     mt_chaos_stat[k], seq);
	}
	/* Counted once each, as chaos, not also as the knob it acts like. */
	cr_assert_eq(h_mt_stat(&s, "faults_injected.chaos"), 200);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.total"), 200);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.reset_after"), 0);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.malformed_after"), 0);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.error_after"), 0);
	cr_assert_eq(h_mt_stat(&s, "streams_completed"), (long)seen[MT_CHAOS_MALFORMED]);

	/* The other formats: their own shapes (Anthropic's overloaded is a 529,
	 * Gemini's and Ollama's a 503), still all before content. */
	for (int f = H_MT_ANTHROPIC; f < H_MT_NFMT; f++) {
		unsigned fseen[MT_CHAOS_N + 1] = { 0 };
		mt_chaos_run(&s, f, "m@chaos=100,seed=4", 80, seq, fseen);
		cr_assert_eq(fseen[MT_CHAOS_NONE], 0, "%s: %s", h_mt_fmt_names[f], seq);
		cr_assert(fseen[MT_CHAOS_OVERLOADED] > 0, "%s: no overloaded: %s", h_mt_fmt_names[f], seq);
	}
	h_mt_stop(&s);
}

Test(mockllm, test_chaos_not_streamed_never_answers_a_whole_200)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	unsigned rst = 0, cut = 0;
	for (int i = 0; i < 80; i++) {
		struct h_http_resp r;
		struct h_mt_out o;
		h_mt_chat(&s, H_MT_OPENAI, "m@chaos=100,seed=3", MT_CHAOS_TEXT, false, NULL, &r, &o);
		bool is_rst = r.status == 0 && r.end == -ECONNRESET;
		bool is_cut = r.status == 200 && !h_http_js_valid(r.body, r.body_len);
		bool is_err = r.status == 429 || r.status == 500 || r.status == 503;
		cr_assert(is_rst || is_cut || is_err, "request %d: status %d end %d: %.120s", i,
			  r.status, r.end, r.body ? r.body : "");
		rst += is_rst;
		cut += is_cut;
		h_http_resp_free(&r);
	}
	/* RST before the status line and RST after the head are both RSTs here. */
	cr_assert_eq((long)rst, h_mt_stat(&s, "faults_injected.chaos_rst_head") +
				h_mt_stat(&s, "faults_injected.chaos_rst_body"));
	cr_assert_eq((long)cut, h_mt_stat(&s, "faults_injected.chaos_malformed"));
	cr_assert_eq(h_mt_stat(&s, "responses_completed"), (long)cut);
	h_mt_stop(&s);
}

Test(mockllm, test_chaos_30_fails_between_25_and_35_percent)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	unsigned seen[MT_CHAOS_N + 1] = { 0 };
	mt_chaos_run(&s, H_MT_OPENAI, "m@chaos=30,seed=5", 1000, NULL, seen);
	unsigned failed = 1000 - seen[MT_CHAOS_NONE];
	/* 30% of 1000: sigma is 14.5, so 25..35% is 3.4 sigma either side. */
	cr_assert(failed >= 250 && failed <= 350, "chaos=30 failed %u of 1000", failed);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.chaos"), (long)failed);
	h_mt_stop(&s);
}

Test(mockllm, test_chaos_same_seed_gives_the_same_sequence)
{
	enum { N = 64 };
	struct h_mt_srv a, b;
	char seq[4][N + 1];
	unsigned seen[MT_CHAOS_N + 1] = { 0 };
	h_mt_start(&a);
	h_mt_start(&b);
	/* /reset restarts the request counter the choice hangs on; a fresh
	 * process starts it at 0 too. */
	mt_chaos_run(&a, H_MT_OPENAI, "m@chaos=50,seed=9", N, seq[0], seen);
	h_mt_reset(&a);
	mt_chaos_run(&a, H_MT_OPENAI, "m@chaos=50,seed=9", N, seq[1], seen);
	mt_chaos_run(&b, H_MT_OPENAI, "m@chaos=50,seed=9", N, seq[2], seen);
	h_mt_reset(&b);
	mt_chaos_run(&b, H_MT_OPENAI, "m@chaos=50,seed=10", N, seq[3], seen);
	cr_assert_str_eq(seq[0], seq[1], "after /reset");
	cr_assert_str_eq(seq[0], seq[2], "in another process");
	cr_assert_str_neq(seq[0], seq[3], "seed 10 picks like seed 9");
	size_t clean = h_http_count(seq[0], N, ".");
	cr_assert(clean > 0 && clean < N, "chaos=50: %s", seq[0]);
	h_mt_stop(&a);
	h_mt_stop(&b);
}

Test(mockllm, test_chaos_and_fail_pct_pick_independently)
{
	struct h_mt_srv s;
	h_mt_start(&s);
	unsigned by_fail_pct = 0, by_chaos = 0, clean = 0;
	for (int i = 0; i < 400; i++) {
		struct h_http_resp r;
		struct h_mt_out o;
		char why[256];
		h_mt_chat(&s, H_MT_OPENAI, "m@chaos=50,fail_pct=50,status=418,seed=7", MT_CHAOS_TEXT,
			  true, NULL, &r, &o);
		if (r.status == 418) {
			by_fail_pct++;
		} else {
			int k = mt_chaos_kind(H_MT_OPENAI, &r, &o, why, sizeof why);
			cr_assert(k >= 0, "request %d: %s", i, why);
			by_chaos += k != MT_CHAOS_NONE;
			clean += k == MT_CHAOS_NONE;
		}
		h_http_resp_free(&r);
	}
	/* With the same hash both would pick the same half, leaving chaos
	 * nothing: independent, chaos fails about half of what is left. */
	cr_assert(by_fail_pct >= 160 && by_fail_pct <= 240, "fail_pct took %u of 400", by_fail_pct);
	unsigned rest = by_chaos + clean;
	cr_assert(by_chaos * 100 >= rest * 35 && by_chaos * 100 <= rest * 65,
		  "chaos failed %u of the %u fail_pct left", by_chaos, rest);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.fail_pct"), (long)by_fail_pct);
	cr_assert_eq(h_mt_stat(&s, "faults_injected.chaos"), (long)by_chaos);
	h_mt_stop(&s);
}

Test(mockllm, test_chaos_bad_values_are_400)
{
	static const char *const bad[] = { "chaos=101", "chaos=-1", "chaos=x", "chaos=", "chaos=1.5" };
	struct h_mt_srv s;
	h_mt_start(&s);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char model[64];
		snprintf(model, sizeof model, "m@%s", bad[i]);
		for (int in_header = 0; in_header < 2; in_header++) {
			struct h_http_resp r;
			struct h_mt_out o;
			h_mt_chat(&s, H_MT_OPENAI, in_header ? "m" : model, "a", true,
				  in_header ? bad[i] : NULL, &r, &o);
			cr_assert_eq(r.status, 400, "%s (%s): status %d", bad[i],
				     in_header ? "x-mock" : "model", r.status);
			cr_assert(strstr(r.body, "chaos"), "%s: %s", bad[i], r.body);
			h_http_resp_free(&r);
		}
	}
	cr_assert_eq(h_mt_stat(&s, "faults_injected.chaos"), 0);
	h_mt_stop(&s);
}
