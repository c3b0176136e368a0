/*
 * ringside-bench — what ringside costs, against talking to the provider
 * directly, on the same machine in the same run.
 *
 *   ringside-bench -u URL -m MODEL [-n N] [-w WARMUP]
 *
 * Modes, interleaved request by request so machine drift hits both alike:
 *   direct  the application's own warm keep-alive libcurl handle streams
 *           chat.completions from URL (mockllm, an OpenAI-shaped server)
 *   shm     the same request through the sidecar ($RINGSIDE_SOCKET) for
 *           model alias MODEL, which must point at the same server
 *
 * Time to first chunk = from starting the request to the first non-empty
 * content delta; total = to the end of the stream. Prints percentiles and
 * ringside's overhead (shm minus direct) per percentile. It measures; it
 * asserts nothing.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ringside.h"

static uint64_t rb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int rb_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t rb_pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* ---- direct -------------------------------------------------------------------- */

struct rb_direct {
	CURL *easy;
	struct curl_slist *hdrs;
	uint64_t t0, first;
	char tail[16]; /* last bytes, so a marker split across reads is found */
};

/* First content: `"content":"` followed by something other than `"`. */
static size_t rb_write(char *p, size_t sz, size_t n, void *ud)
{
	struct rb_direct *d = ud;
	size_t len = sz * n;
	if (!d->first) {
		static const char mark[] = "\"content\":\"";
		char buf[4096 + sizeof d->tail];
		size_t tl = strlen(d->tail);
		size_t k = len < 4096 ? len : 4096;
		memcpy(buf, d->tail, tl);
		memcpy(buf + tl, p, k);
		buf[tl + k] = 0;
		for (char *q = strstr(buf, mark); q; q = strstr(q + 1, mark)) {
			char c = q[sizeof mark - 1];
			if (c && c != '"') {
				d->first = rb_now();
				break;
			}
		}
		size_t keep = tl + k < sizeof d->tail - 1 ? tl + k : sizeof d->tail - 1;
		memcpy(d->tail, buf + tl + k - keep, keep);
		d->tail[keep] = 0;
	}
	return len;
}

static int rb_direct_once(struct rb_direct *d, uint64_t *first, uint64_t *total)
{
	d->first = 0;
	d->tail[0] = 0;
	d->t0 = rb_now();
	CURLcode rc = curl_easy_perform(d->easy);
	uint64_t end = rb_now();
	if (rc != CURLE_OK || !d->first) {
		fprintf(stderr, "ringside-bench: direct request failed: %s\n", curl_easy_strerror(rc));
		return -1;
	}
	*first = d->first - d->t0;
	*total = end - d->t0;
	return 0;
}

/* ---- through the sidecar ------------------------------------------------------------ */

static int rb_shm_once(rs_client *c, const struct rs_request *req, uint64_t *first, uint64_t *total)
{
	uint64_t id, t0 = rb_now(), t1 = 0;
	int rc = rs_submit(c, req, &id);
	if (rc) {
		fprintf(stderr, "ringside-bench: %s\n", rs_strerror(rc));
		return -1;
	}
	struct rs_event ev;
	for (;;) {
		if ((rc = rs_next(c, &ev, 10000))) {
			fprintf(stderr, "ringside-bench: %s\n", rs_strerror(rc));
			return -1;
		}
		if (ev.type == RS_EV_DELTA && !t1 && ev.text_len)
			t1 = rb_now();
		if (ev.type == RS_EV_ERROR) {
			fprintf(stderr, "ringside-bench: stream error: %.*s\n", (int)ev.text_len, ev.text);
			return -1;
		}
		if (ev.type == RS_EV_DONE)
			break;
	}
	*first = t1 - t0;
	*total = rb_now() - t0;
	return 0;
}

static void rb_row(const char *name, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, rb_cmp);
	printf("| %-22s | %8.1f | %8.1f | %8.1f | %8.1f | %8.1f |\n", name,
	       rb_pct(v, n, 0.5) / 1e3, rb_pct(v, n, 0.9) / 1e3, rb_pct(v, n, 0.99) / 1e3,
	       rb_pct(v, n, 0.999) / 1e3, v[n - 1] / 1e3);
}

static void rb_overhead(const char *name, const uint64_t *shm, const uint64_t *dir, size_t n)
{
	static const double ps[] = { 0.5, 0.9, 0.99, 0.999 };
	printf("| %-22s |", name);
	for (size_t i = 0; i < 4; i++)
		printf(" %8.1f |", ((double)rb_pct(shm, n, ps[i]) - (double)rb_pct(dir, n, ps[i])) / 1e3);
	printf("          |\n");
}

int main(int argc, char **argv)
{
	const char *url = NULL, *model = NULL;
	size_t n = 2000, warm = 200;
	int o;
	while ((o = getopt(argc, argv, "u:m:n:w:")) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 'm': model = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'w': warm = strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (!url || !model || n < 10)
		goto usage;

	static const char body_tpl[] =
		"{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":"
		"\"the quick brown fox jumps over the lazy dog\"}],\"stream\":true}";
	char body[512];
	snprintf(body, sizeof body, body_tpl, model);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct rb_direct d = { .easy = curl_easy_init() };
	d.hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(d.easy, CURLOPT_URL, url);
	curl_easy_setopt(d.easy, CURLOPT_HTTPHEADER, d.hdrs);
	curl_easy_setopt(d.easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(d.easy, CURLOPT_WRITEFUNCTION, rb_write);
	curl_easy_setopt(d.easy, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(d.easy, CURLOPT_TCP_NODELAY, 1L);

	rs_client *c;
	int rc = rs_connect(NULL, &c);
	if (rc) {
		fprintf(stderr, "ringside-bench: %s\n", rs_strerror(rc));
		return 1;
	}
	struct rs_request req = { .model = model, .body = body, .body_len = strlen(body) };

	uint64_t *df = malloc(n * sizeof *df), *dt = malloc(n * sizeof *dt);
	uint64_t *sf = malloc(n * sizeof *sf), *st = malloc(n * sizeof *st);
	for (size_t i = 0; i < warm + n; i++) {
		uint64_t f, t, f2, t2;
		/* Alternate which goes first so neither always runs on a warmer cache. */
		int a = (i & 1) ? rb_direct_once(&d, &f, &t) : rb_shm_once(c, &req, &f2, &t2);
		int b = (i & 1) ? rb_shm_once(c, &req, &f2, &t2) : rb_direct_once(&d, &f, &t);
		if (a || b)
			return 1;
		if (i >= warm) {
			df[i - warm] = f;
			dt[i - warm] = t;
			sf[i - warm] = f2;
			st[i - warm] = t2;
		}
	}
	printf("sequential, %zu requests per mode (after %zu warm-up), times in µs\n\n", n, warm);
	printf("| %-22s | %8s | %8s | %8s | %8s | %8s |\n", "", "p50", "p90", "p99", "p99.9", "max");
	printf("|------------------------|----------|----------|----------|----------|----------|\n");
	rb_row("direct first chunk", df, n);
	rb_row("shm first chunk", sf, n);
	rb_overhead("overhead first chunk", sf, df, n);
	rb_row("direct total", dt, n);
	rb_row("shm total", st, n);
	rb_overhead("overhead total", st, dt, n);
	rs_close(c);
	curl_slist_free_all(d.hdrs);
	curl_easy_cleanup(d.easy);
	curl_global_cleanup();
	free(df);
	free(dt);
	free(sf);
	free(st);
	return 0;
usage:
	fprintf(stderr, "usage: ringside-bench -u URL -m MODEL [-n N] [-w WARMUP]\n");
	return 2;
}
