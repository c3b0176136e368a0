/*
 * ringside-bench — what ringside costs on this machine, against talking to
 * the provider directly and against the physical floor of the transport.
 *
 *   ringside-bench [-q] [-r ROUNDS] [-m MODES] [-o OUTDIR] [-b BINDIR]
 *                  [-n N] [-c CONC] [-R RATE] [-t TOKENS] [-T LONG_TOKENS] [-S SPIN_US]
 *
 * It starts mockllm and a sidecar from BINDIR (default: its own directory),
 * runs the suite, stops them, prints a Markdown report and writes JSON and
 * SVG CDFs under OUTDIR/<UTC time>/ (OUTDIR/latest points there).
 *
 * The suite: each load shape (sequential, closed loop, open loop) runs
 * every mode (rb_mode.h), ROUNDS times; within a round the modes take turns
 * and the order rotates from round to round, so machine drift and caches
 * hit all of them alike, and the spread between rounds says how far a
 * figure can be trusted. A last sequential shape with long replies feeds
 * the fit of the sidecar's CPU time as a + b * chunks per request.
 *
 * It measures; it asserts nothing.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rb_env.h"
#include "rb_mode.h"
#include "rb_proc.h"
#include "rb_report.h"
#include "rb_run.h"

/* Spreads between rounds beyond which a figure is flagged: medians of a
 * quiet machine agree within a few percent, tails within tens of percent. */
#define RB_SPREAD_P50 0.25
#define RB_SPREAD_P99 0.50
/* Slots for requests in flight: the closed loop's concurrency and the open
 * loop's backlog are bounded by it. */
#define RB_MAX_INFLIGHT 256

static const struct rb_mode_ops *const rb_all_modes[] = {
	&rb_mode_floor_spin, &rb_mode_floor_sleep, &rb_mode_shm_mock,
	&rb_mode_direct,     &rb_mode_shm,
};
#define RB_NMODES (sizeof rb_all_modes / sizeof rb_all_modes[0])

/* The prompt has nine words, so the in-process mock's echo is as long as
 * mockllm's reply at the default tokens=9. */
static const char rb_prompt[] = "the quick brown fox jumps over the lazy dog";

uint64_t rb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const struct rb_mode_ops *rb_mode_find(const char *name)
{
	for (size_t i = 0; i < RB_NMODES; i++)
		if (!strcmp(rb_all_modes[i]->name, name))
			return rb_all_modes[i];
	return NULL;
}

/* One line of the suite: a load shape, a reply length, the modes it runs. */
struct rb_entry {
	struct rb_shape shape;
	unsigned tokens;
	char alias[32];
	char model[64];
	char body[512], shm_body[512], mock_body[512];
	const struct rb_mode_ops *modes[RB_NMODES];
	size_t nmodes;
	struct rb_result *res; /* one per mode, in the report's array */
};

struct rb_opts {
	unsigned rounds, n, conc, tokens, long_tokens;
	long spin_us; /* the sidecar's limits.spin_us; < 0: its default */
	double rate;
	const char *outdir, *bindir;
	int quick;
	const struct rb_mode_ops *modes[RB_NMODES];
	size_t nmodes;
};

static int rb_parse_modes(struct rb_opts *o, char *list)
{
	o->nmodes = 0;
	for (char *sv, *t = strtok_r(list, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
		const struct rb_mode_ops *m = rb_mode_find(t);
		if (!m || o->nmodes == RB_NMODES) {
			fprintf(stderr, "ringside-bench: unknown mode '%s' (modes:", t);
			for (size_t i = 0; i < RB_NMODES; i++)
				fprintf(stderr, " %s", rb_all_modes[i]->name);
			fprintf(stderr, ")\n");
			return -1;
		}
		o->modes[o->nmodes++] = m;
	}
	return o->nmodes ? 0 : -1;
}

static void rb_entry_init(struct rb_entry *e, enum rb_shape_kind kind, unsigned n,
			  unsigned tokens, const struct rb_opts *o, int long_only)
{
	memset(e, 0, sizeof *e);
	e->shape.kind = kind;
	e->shape.n = n;
	e->shape.warm = n / 10 > 20 ? n / 10 : 20;
	e->shape.conc = o->conc;
	e->shape.rate = o->rate;
	e->tokens = tokens;
	const char *kname = kind == RB_SEQUENTIAL ? "sequential" : kind == RB_CLOSED ? "closed" : "open";
	int len = 0;
	if (kind == RB_SEQUENTIAL)
		len = snprintf(e->shape.label, sizeof e->shape.label, "%s", kname);
	else if (kind == RB_CLOSED)
		len = snprintf(e->shape.label, sizeof e->shape.label, "closed c=%u", o->conc);
	else
		len = snprintf(e->shape.label, sizeof e->shape.label, "open %.0f/s", o->rate);
	if (tokens != o->tokens)
		snprintf(e->shape.label + len, sizeof e->shape.label - (size_t)len, ", %u tok", tokens);
	snprintf(e->alias, sizeof e->alias, "bench-%u", tokens);
	snprintf(e->model, sizeof e->model, "bench-model@tokens=%u,ttft_us=0,itl_us=0", tokens);
	static const char tpl[] = "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":"
				  "\"%s\"}],\"stream\":true%s}";
	char mock[128];
	snprintf(e->body, sizeof e->body, tpl, e->model, rb_prompt, "");
	snprintf(e->shm_body, sizeof e->shm_body, tpl, e->alias, rb_prompt, "");
	snprintf(mock, sizeof mock, ",\"mock\":{\"tokens\":%u,\"ttft_us\":0,\"interval_us\":0}", tokens);
	snprintf(e->mock_body, sizeof e->mock_body, tpl, "mock", rb_prompt, mock);
	for (size_t i = 0; i < o->nmodes; i++) {
		const char *nm = o->modes[i]->name;
		/* Long replies only feed the CPU fit and chunk throughput: the
		 * floors have no per-chunk gateway work to fit. */
		if (long_only && strncmp(nm, "shm", 3) && strcmp(nm, "direct"))
			continue;
		e->modes[e->nmodes++] = o->modes[i];
	}
}

/* Pool one round's phase into the result. */
static void rb_absorb(struct rb_result *res, struct rb_phase *ph, double *wall, double *srv,
		      double *cli)
{
	struct rb_summary s;
	rb_summarize(&ph->first, &s);
	if (res->rounds < RB_MAX_ROUNDS) {
		res->round_p50[res->rounds] = s.p50;
		res->round_p99[res->rounds] = s.p99;
	}
	res->rounds++;
	rb_samples_merge(&res->first, &ph->first);
	rb_samples_merge(&res->gap, &ph->gap);
	rb_samples_merge(&res->total, &ph->total);
	rb_samples_merge(&res->lag, &ph->lag);
	res->ok += ph->ok;
	res->failed += ph->failed;
	res->late += ph->late;
	res->chunks += ph->chunks;
	*wall += (double)ph->wall_ns;
	*srv += (double)ph->srv_cpu_ns;
	*cli += (double)ph->cli_cpu_ns;
	if (ph->srv_rss_kb > res->srv_rss_kb)
		res->srv_rss_kb = ph->srv_rss_kb;
}

static void rb_finish(struct rb_result *res, double wall, double srv, double cli, int has_srv)
{
	rb_summarize(&res->first, &res->sfirst);
	rb_summarize(&res->gap, &res->sgap);
	rb_summarize(&res->total, &res->stotal);
	rb_summarize(&res->lag, &res->slag);
	double reqs = (double)(res->ok + res->failed);
	res->rps = wall > 0 ? (double)res->ok / (wall / 1e9) : 0;
	res->cps = wall > 0 ? (double)res->chunks / (wall / 1e9) : 0;
	res->srv_cpu_us_req = has_srv && reqs > 0 ? srv / reqs / 1e3 : -1;
	res->srv_cpu_us_chunk = has_srv && res->chunks ? srv / (double)res->chunks / 1e3 : -1;
	res->cli_cpu_us_req = reqs > 0 ? cli / reqs / 1e3 : -1;
	if (!has_srv)
		res->srv_rss_kb = -1;
	unsigned k = res->rounds < RB_MAX_ROUNDS ? res->rounds : RB_MAX_ROUNDS;
	res->spread_p50 = rb_spread(res->round_p50, k);
	res->spread_p99 = rb_spread(res->round_p99, k);
	res->unstable = res->spread_p50 > RB_SPREAD_P50 || res->spread_p99 > RB_SPREAD_P99 ||
			res->failed > 0;
}

/* a + b * chunks from the shm results of two reply lengths. */
static void rb_fit(struct rb_report *rep, const struct rb_entry *shortr, const struct rb_entry *longr)
{
	const struct rb_result *a = rb_report_find(rep, "shm", shortr->shape.label);
	const struct rb_result *b = rb_report_find(rep, "shm", longr->shape.label);
	if (!a || !b || !a->ok || !b->ok || a->srv_cpu_us_req < 0 || b->srv_cpu_us_req < 0)
		return;
	double ca = (double)a->chunks / a->ok, cb = (double)b->chunks / b->ok;
	if (cb - ca < 1)
		return;
	rep->fit.us_per_chunk = (b->srv_cpu_us_req - a->srv_cpu_us_req) / (cb - ca);
	rep->fit.us_per_req = a->srv_cpu_us_req - rep->fit.us_per_chunk * ca;
	rep->fit.tokens_short = shortr->tokens;
	rep->fit.tokens_long = longr->tokens;
	rep->fit.valid = 1;
}

static int rb_mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Results go to OUTDIR/<stamp>/; OUTDIR/latest points at the newest. */
static int rb_write(const struct rb_report *rep, const struct rb_entry *ents, size_t nents,
		    const char *outdir, const char *stamp)
{
	char dir[PATH_MAX - 128], path[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/%s", outdir, stamp);
	if (rb_mkdirs(dir) < 0) {
		fprintf(stderr, "ringside-bench: mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/results.json", dir);
	if (rb_report_json(path, rep) < 0)
		goto fail;
	printf("\nresults: %s\n", path);
	snprintf(path, sizeof path, "%s/report.md", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		goto fail;
	rb_report_md(f, rep);
	fclose(f);
	printf("report:  %s\n", path);
	for (size_t i = 0; i < nents; i++) {
		char slug[64];
		size_t k = 0;
		for (const char *c = ents[i].shape.label; *c && k < sizeof slug - 1; c++)
			slug[k++] = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? *c : '-';
		slug[k] = 0;
		snprintf(path, sizeof path, "%s/cdf-%s.svg", dir, slug);
		if (rb_report_svg(path, rep, ents[i].shape.label) < 0)
			goto fail;
		printf("chart:   %s\n", path);
	}
	snprintf(path, sizeof path, "%s/latest", outdir);
	unlink(path);
	if (symlink(stamp, path) < 0)
		fprintf(stderr, "ringside-bench: symlink %s: %s\n", path, strerror(errno));
	return 0;
fail:
	fprintf(stderr, "ringside-bench: writing %s: %s\n", path, strerror(errno));
	return -1;
}

static int rb_run_entry(struct rb_entry *e, const struct rb_env *env, struct rb_run *run,
			unsigned round, unsigned rounds, struct rb_phase *ph, double (*acc)[3])
{
	struct rb_params p = {
		.url = env->url, .socket = env->socket, .alias = e->alias, .mock_alias = "mock",
		.body = e->body, .shm_body = e->shm_body, .mock_body = e->mock_body,
		.tokens = e->tokens, .max_inflight = RB_MAX_INFLIGHT,
	};
	for (size_t k = 0; k < e->nmodes; k++) {
		/* Rotate, and reverse every other round: no mode always runs
		 * first, or always right after the same neighbour. */
		size_t i = (k + round) % e->nmodes;
		if (round & 1)
			i = e->nmodes - 1 - i;
		const struct rb_mode_ops *m = e->modes[i];
		void *st = m->open(&p, rb_run_sink(run));
		if (!st)
			return -1;
		int rc = rb_run_phase(run, m, st, &e->shape, ph);
		m->close(st);
		if (rc < 0) {
			fprintf(stderr, "ringside-bench: %s / %s failed\n", m->name, e->shape.label);
			return -1;
		}
		struct rb_summary s;
		rb_summarize(&ph->first, &s);
		fprintf(stderr, "round %u/%u  %-22s %-12s first chunk p50 %9.1f p99 %9.1f us  (%u ok, %u failed)\n",
			round + 1, rounds, e->shape.label, m->name, s.p50, s.p99, ph->ok, ph->failed);
		rb_absorb(&e->res[i], ph, &acc[i][0], &acc[i][1], &acc[i][2]);
	}
	return 0;
}

static void rb_usage(void)
{
	fprintf(stderr,
		"usage: ringside-bench [-q] [-r ROUNDS] [-m MODES] [-o OUTDIR] [-b BINDIR]\n"
		"                      [-n N] [-c CONC] [-R RATE] [-t TOKENS] [-T LONG_TOKENS] [-S SPIN_US]\n"
		"  -q  quick: a tenth of the requests, two rounds (a smoke run, not a result)\n"
		"  -r  rounds of the whole suite (default 3)\n"
		"  -m  modes, comma-separated (default floor-spin,floor-sleep,shm-mock,direct,shm)\n"
		"  -o  results directory (default bench/results)\n"
		"  -b  where ringside and mockllm are (default: next to ringside-bench)\n"
		"  -n  sequential requests per round (default 2000; the others scale)\n"
		"  -c  closed-loop concurrency (default 16)   -R open-loop rate (default 1000/s)\n"
		"  -t  reply tokens (default 9)   -T long reply tokens for the CPU fit (default 256)\n"
		"  -S  the sidecar's spin_us (default: its own default, 50)\n");
}

int main(int argc, char **argv)
{
	struct rb_opts o = { .rounds = 3, .n = 2000, .conc = 16, .rate = 1000, .tokens = 9,
			     .long_tokens = 256, .spin_us = -1, .outdir = "bench/results" };
	char selfdir[PATH_MAX] = ".", modes_all[] = "floor-spin,floor-sleep,shm-mock,direct,shm";
	ssize_t sl = readlink("/proc/self/exe", selfdir, sizeof selfdir - 1);
	if (sl > 0) {
		selfdir[sl] = 0;
		*strrchr(selfdir, '/') = 0;
	}
	o.bindir = selfdir;
	rb_parse_modes(&o, modes_all);
	int c;
	while ((c = getopt(argc, argv, "qr:m:o:b:n:c:R:t:T:S:h")) != -1) {
		switch (c) {
		case 'q': o.quick = 1; break;
		case 'r': o.rounds = (unsigned)atoi(optarg); break;
		case 'm': if (rb_parse_modes(&o, optarg) < 0) return 2; break;
		case 'o': o.outdir = optarg; break;
		case 'b': o.bindir = optarg; break;
		case 'n': o.n = (unsigned)atoi(optarg); break;
		case 'c': o.conc = (unsigned)atoi(optarg); break;
		case 'R': o.rate = atof(optarg); break;
		case 't': o.tokens = (unsigned)atoi(optarg); break;
		case 'T': o.long_tokens = (unsigned)atoi(optarg); break;
		case 'S': o.spin_us = atol(optarg); break;
		default: rb_usage(); return 2;
		}
	}
	if (o.quick) {
		o.n /= 10;
		o.rounds = 2;
	}
	if (!o.rounds || o.rounds > RB_MAX_ROUNDS || o.n < 10 || !o.conc ||
	    o.conc > RB_MAX_INFLIGHT || o.rate <= 0 || !o.tokens || o.long_tokens <= o.tokens) {
		rb_usage();
		return 2;
	}
	/* Sleeps end when asked, not up to 50 µs later (the default slack):
	 * the open loop's schedule depends on it. */
	prctl(PR_SET_TIMERSLACK, 1UL);

	/* The suite. The open loop runs as long as the sequential one does at
	 * ~100 µs a request, so it costs about as much time. */
	struct rb_entry ents[4];
	rb_entry_init(&ents[0], RB_SEQUENTIAL, o.n, o.tokens, &o, 0);
	rb_entry_init(&ents[1], RB_CLOSED, o.n * 2, o.tokens, &o, 0);
	rb_entry_init(&ents[2], RB_OPEN, o.n, o.tokens, &o, 0);
	rb_entry_init(&ents[3], RB_SEQUENTIAL, o.n / 8, o.long_tokens, &o, 1);
	const size_t nents = 4;

	struct rb_report rep = { .spread_limit_p50 = RB_SPREAD_P50, .spread_limit_p99 = RB_SPREAD_P99 };
	size_t nres = 0;
	for (size_t i = 0; i < nents; i++)
		nres += ents[i].nmodes;
	rep.res = calloc(nres, sizeof *rep.res);
	double (*acc)[3] = calloc(nres, sizeof *acc);
	struct rb_run *run = rb_run_new(RB_MAX_INFLIGHT);
	if (!rep.res || !acc || !run)
		return 1;
	for (size_t i = 0; i < nents; i++) {
		ents[i].res = rep.res + rep.nres;
		for (size_t k = 0; k < ents[i].nmodes; k++) {
			ents[i].res[k].mode = ents[i].modes[k];
			ents[i].res[k].shape = &ents[i].shape;
			ents[i].res[k].srv_rss_kb = -1;
		}
		rep.nres += ents[i].nmodes;
	}

	struct rb_alias aliases[2] = { { ents[0].alias, ents[0].model },
				       { ents[3].alias, ents[3].model } };
	struct rb_env env;
	if (rb_env_start(&env, o.bindir, aliases, 2, o.spin_us) < 0)
		return 1;
	struct rb_phase ph = { 0 };
	int rc = 0;
	uint64_t t0 = rb_now_ns();
	for (unsigned r = 0; r < o.rounds && !rc; r++)
		for (size_t i = 0; i < nents && !rc; i++)
			rc = rb_run_entry(&ents[i], &env, run, r, o.rounds, &ph,
					  acc + (ents[i].res - rep.res));
	rb_env_stop(&env);
	if (rc)
		return 1;
	for (size_t i = 0; i < rep.nres; i++) {
		struct rb_result *res = &rep.res[i];
		rb_finish(res, acc[i][0], acc[i][1], acc[i][2],
			  res->mode != &rb_mode_direct);
	}
	rb_fit(&rep, &ents[0], &ents[3]);

	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[32];
	strftime(rep.date, sizeof rep.date, "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	snprintf(rep.title, sizeof rep.title, "ringside-bench: %s", o.quick ? "quick run" : "standard suite");
	rb_proc_machine(rep.machine, sizeof rep.machine);
	snprintf(rep.params, sizeof rep.params,
		 "mockllm openai stream, %u tokens (%u for the CPU fit), ttft 0, itl 0; "
		 "%u rounds; sequential n=%u, closed c=%u n=%u, open %.0f/s n=%u; "
		 "%.0f s of measurement",
		 o.tokens, o.long_tokens, o.rounds, ents[0].shape.n, o.conc, ents[1].shape.n,
		 o.rate, ents[2].shape.n, (double)(rb_now_ns() - t0) / 1e9);
	size_t cl = 0;
	for (int i = 0; i < argc && cl < sizeof rep.command - 1; i++)
		cl += (size_t)snprintf(rep.command + cl, sizeof rep.command - cl, "%s%s",
				       i ? " " : "", argv[i]);
	rb_report_md(stdout, &rep);
	rc = rb_write(&rep, ents, nents, o.outdir, stamp);
	for (size_t i = 0; i < rep.nres; i++) {
		rb_samples_free(&rep.res[i].first);
		rb_samples_free(&rep.res[i].gap);
		rb_samples_free(&rep.res[i].total);
		rb_samples_free(&rep.res[i].lag);
	}
	rb_phase_free(&ph);
	rb_run_free(run);
	free(rep.res);
	free(acc);
	return rc ? 1 : 0;
}
