/*
 * harness_mockllm.h — the real-provider half of the end-to-end tests: a
 * mockllm process (bench/mockllm, $RINGSIDE_MOCKLLM) per test on an
 * ephemeral port, its /stats counters, a sidecar config whose HTTP
 * providers point at it, and a stream collector that keeps what h_stream
 * does not (tool-call fragments, the error's status and retryability).
 *
 * Like harness.h: h_ml_start, h_ml_stop, h_ml_stat*, h_ml_config, h_ml_up,
 * h_ml_run ... assert and belong to the test process; h_ml_obs_* and
 * h_ml_collect never assert, so forked clients can use them.
 *
 * harness_mockllm.c has the process, its counters and the config;
 * harness_mockllm_run.c the test's world, single requests and the collector.
 */
#ifndef RINGSIDE_E2E_HARNESS_MOCKLLM_H
#define RINGSIDE_E2E_HARNESS_MOCKLLM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* ---- the mockllm process ------------------------------------------------------ */

struct h_ml {
	pid_t pid;
	int port;
};

/* Start mockllm -p 0 -q and read its port from the line it prints. */
void h_ml_start(struct h_ml *m);
/* The same on a given port (0: ephemeral), e.g. one h_ml_dead_port gave:
 * a provider that comes back. */
void h_ml_start_on(struct h_ml *m, int port);

/* SIGTERM; assert exit 0 within H_WAIT_MS (an ASan leak report fails it). */
void h_ml_stop(struct h_ml *m);

/* One counter of GET /stats: the integer after "key": (top level names are
 * unique in mockllm's JSON). Asserts the request and the key. Each query is
 * a connection of its own, so it adds one to connections_accepted. */
uint64_t h_ml_stat(const struct h_ml *m, const char *key);

/* Wait (bounded by H_WAIT_MS) until the counter equals / reaches want. */
void h_ml_wait_stat(const struct h_ml *m, const char *key, uint64_t want);
void h_ml_wait_stat_ge(const struct h_ml *m, const char *key, uint64_t want);

/* POST /reset: every counter but connections_open back to 0. */
void h_ml_reset(const struct h_ml *m);

/* A TCP port on 127.0.0.1 that nothing listens on: bound, then closed. */
int h_ml_dead_port(void);

/* ---- the sidecar's config --------------------------------------------------------- */

/* Provider names of the generated config, one per HTTP kind, all pointing at
 * the same mockllm. */
#define H_ML_OPENAI "oa"
#define H_ML_AZURE "az"
#define H_ML_ANTHROPIC "an"
#define H_ML_GEMINI "gm"
#define H_ML_OLLAMA "ol"
/* The key of the providers that need one: distinctive, so a test can show it
 * never reaches a client. */
#define H_ML_KEY "e2e-key-4e1f"

/* The five kinds in a fixed order, each with its provider name and an
 * upstream model name (for azure: the deployment). */
enum { H_ML_KIND_OPENAI, H_ML_KIND_AZURE, H_ML_KIND_ANTHROPIC, H_ML_KIND_GEMINI, H_ML_KIND_OLLAMA,
       H_ML_NKINDS };
struct h_ml_kind {
	const char *kind, *provider, *model;
};
extern const struct h_ml_kind h_ml_kinds[H_ML_NKINDS];

/* One model alias: alias -> provider (an H_ML_* name), upstream model (with
 * any "@knobs" suffix mockllm should see). */
struct h_ml_alias {
	const char *alias, *provider, *model;
};

/*
 * The config text: limits (flow-map body, NULL for defaults), the five
 * providers on port (prov_extra, e.g. "first_chunk_timeout: 200ms", is added
 * to each of them as more keys of the provider's flow map), and the aliases.
 * Asserts the text fits.
 */
void h_ml_config(char *buf, size_t len, int port, const char *limits, const char *prov_extra,
		 const struct h_ml_alias *a, size_t n);

/* Top-level YAML appended to every config h_ml_config writes from now on
 * in this test (NULL: none), e.g. a resilience section. */
void h_ml_extra_yaml(const char *yaml);

/* A policy of one attempt per request, for tests of what one attempt does
 * (its deadlines, its error typing) rather than of the router. */
#define H_ML_ONE_ATTEMPT "resilience: {retry: {max_attempts: 1}}\n"

/* h_ml_config + h_start_yaml. */
void h_ml_sidecar(struct h_sidecar *sc, int port, const char *limits, const char *prov_extra,
		  const struct h_ml_alias *a, size_t n);

/* "upstream_aborted{provider=\"oa\"}" into buf: the sidecar's pool counters. */
const char *h_ml_pool_key(char *buf, size_t len, const char *counter, const char *provider);

/* ---- a test's world (assert) -------------------------------------------------------- */

/* Room for the aliases of one test. */
#define H_ML_MAX_ALIASES 24

struct h_ml_aliases {
	struct h_ml_alias a[H_ML_MAX_ALIASES];
	char alias[H_ML_MAX_ALIASES][32];
	char model[H_ML_MAX_ALIASES][160];
	size_t n;
};

/* Add alias -> kd's provider, model "<kd->model>@<knobs>" (knobs NULL: the
 * bare model). Returns the upstream model name as START should carry it. */
const char *h_ml_alias_add(struct h_ml_aliases *as, const char *alias, const struct h_ml_kind *kd,
			   const char *knobs);

/* A mockllm, a sidecar on it, and one connected client. */
struct h_ml_env {
	struct h_ml ml;
	struct h_sidecar sc;
	rs_client *c;
};

void h_ml_up(struct h_ml_env *e, const char *limits, const char *prov_extra,
	     const struct h_ml_aliases *as);
/* Close the client, stop the sidecar (exit 0, clean log), stop mockllm. */
void h_ml_down(struct h_ml_env *e);

/* The prompt most tests send: five words, so five prompt tokens. */
#define H_ML_PROMPT "the quick brown fox jumps"
#define H_ML_WORDS 5

/* ---- what a stream said (never asserts) ---------------------------------------------- */

/* What h_stream leaves out. Fed by h_ml_obs_event next to h_set_event. */
struct h_ml_obs {
	uint64_t id;
	unsigned n_tool;          /* TOOL_DELTA events */
	unsigned n_tool_bad;      /* a TOOL_DELTA with index != 0, or id/name after the first */
	char tool_id[64], tool_name[64]; /* from the first TOOL_DELTA */
	char *args;               /* the fragments, concatenated, NUL-terminated */
	size_t args_len, args_cap;
	int http_status, retryable; /* of the ERROR, -1 before one */
};

void h_ml_obs_init(struct h_ml_obs *o, uint64_t id);
void h_ml_obs_event(struct h_ml_obs *o, const struct rs_event *ev);
void h_ml_obs_free(struct h_ml_obs *o);

/*
 * Submit body for alias, read to the stream's end into set (which gets the
 * one stream) and o. RS_OK, or the failing rs_submit / rs_next code.
 */
int h_ml_collect(rs_client *c, const char *alias, const char *body, struct h_set *set,
		 struct h_ml_obs *o);

/* ---- one request, read to its end (assert) --------------------------------------------- */

struct h_ml_res {
	struct h_set set;
	struct h_ml_obs o;
	struct h_stream *st;  /* set.v[0] */
};

/* H_ML_PROMPT to alias, streamed or not, read to the end. */
void h_ml_run(struct h_ml_env *e, const char *alias, int stream, struct h_ml_res *r);
void h_ml_res_free(struct h_ml_res *r);

/* START (kd's provider, model), DELTAs adding up to text, USAGE
 * H_ML_WORDS + completion, DONE finish; nothing else. */
void h_ml_assert_done(const struct h_ml_res *r, const struct h_ml_kind *kd, const char *model,
		      const char *text, uint32_t completion, const char *finish);

#endif
