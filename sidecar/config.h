/*
 * config.h — the sidecar's configuration: one YAML file (or the embedded
 * default), loaded and validated in full before anything starts.
 *
 * Loading is all-or-nothing: a config either passes every check and is handed
 * over whole, or the caller gets one line "FILE:LINE: key.path: what is wrong"
 * and nothing else changes. That is what lets the sidecar refuse to start on
 * a bad file, and keep its old config when a reload fails.
 *
 * The YAML shape, with defaults, is the text cfg_embedded_default() returns
 * plus the keys documented on the fields below. Sizes take B, KiB, MiB, GiB
 * (K, M, G are the same binary units); durations take us, ms, s, m and are
 * milliseconds when bare.
 */
#ifndef RINGSIDE_SIDECAR_CONFIG_H
#define RINGSIDE_SIDECAR_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Longest provider name, model alias or upstream model name, in bytes. Names
 * travel in frame headers and log lines; 255 keeps both bounded. */
#define CFG_NAME_MAX 255

/* Largest config file accepted. Real configs are a few KiB; the bound keeps a
 * wrong path (a disk image, /dev/zero) from eating memory. */
#define CFG_FILE_MAX (16u << 20)

/* Provider adapters. Values are stable: later kinds are appended. */
enum cfg_kind {
	CFG_KIND_MOCK = 1,	/* in-process fake: echoes, no network, no keys */
	CFG_KIND_OPENAI,	/* chat.completions; any OpenAI-compatible server */
	CFG_KIND_AZURE,		/* Azure OpenAI: deployment URLs, api-key header */
	CFG_KIND_ANTHROPIC,	/* Messages API */
	CFG_KIND_GEMINI,	/* generateContent / streamGenerateContent */
	CFG_KIND_OLLAMA,	/* native /api/chat, NDJSON */
};

enum cfg_log_level { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR };

/*
 * One upstream provider, `providers.NAME` in the file. `kind` (required)
 * picks the adapter and the keys allowed; a key of another kind is an
 * unknown key. kind mock takes only ttft and token_interval. The HTTP kinds
 * (openai, azure, anthropic, gemini, ollama) take:
 *
 *   base_url      http:// or https:// URL with a host, optional port and
 *                 path; no user:password@, ?query or #fragment; trailing
 *                 slashes dropped. http:// only to a loopback host
 *                 (127.0.0.0/8, ::1, localhost) unless allow_insecure_http.
 *                 Defaults: openai https://api.openai.com/v1, anthropic
 *                 https://api.anthropic.com, gemini
 *                 https://generativelanguage.googleapis.com/v1beta, ollama
 *                 http://127.0.0.1:11434; azure has none (required:
 *                 https://RESOURCE.openai.azure.com).
 *   api_key       the key itself, or "${NAME}": the value of environment
 *                 variable NAME, which must be set and non-empty.
 *   api_key_file  a file holding the key (one trailing newline dropped),
 *                 read at load; not with api_key. One of the two is
 *                 required for azure, anthropic and gemini, and for openai
 *                 unless base_url is loopback or allow_insecure_http is
 *                 true; optional for ollama. A key is printable ASCII
 *                 without spaces (it goes into a header as it is).
 *   api_version   azure (api-version, default 2024-10-21) and anthropic
 *                 (anthropic-version, default 2023-06-01) only.
 *   ca_file       PEM CA bundle for TLS instead of the system store; must
 *                 be a readable file with a certificate in it at load.
 *   max_connections      pooled connections, 1..4096, default 64
 *   connect_timeout      default 10s
 *   first_chunk_timeout  request sent to the first content (text, reasoning
 *                        or a tool call; pings do not count), default 1m
 *   idle_timeout         between chunks, default 1m
 *   total_timeout        whole request, default 10m
 *   allow_insecure_http  true or false (default): allow http:// to any host
 *
 * api_key_file and ca_file are opened as given (relative to the working
 * directory). Errors name a variable or a path, never a key.
 */
struct cfg_provider {
	char *name;
	enum cfg_kind kind;
	int line;			/* 1-based line of NAME, for later errors */
	/* kind mock: */
	uint32_t mock_ttft_us;		/* `ttft`: time to first token, default 5ms */
	uint32_t mock_interval_us;	/* `token_interval`: between tokens, default 2ms */
	/* HTTP kinds: */
	char *base_url;			/* no trailing slash */
	char *api_key;			/* resolved secret or NULL: never log or dump it */
	char *api_version;		/* azure api-version / anthropic-version */
	char *ca_file;			/* PEM bundle, or NULL for the system store */
	uint32_t max_connections;
	uint32_t connect_timeout_ms;
	uint32_t first_chunk_timeout_ms;
	uint32_t idle_timeout_ms;	/* between chunks */
	uint32_t total_timeout_ms;
	int allow_insecure_http;
	/* Where api_key came from, for cfg_dump; both NULL for a literal key. */
	char *api_key_env;		/* NAME of `api_key: "${NAME}"` */
	char *api_key_file;		/* `api_key_file` as written */
};

/*
 * One deployment: a provider and an upstream model on it. Deployments are
 * what health, retry budgets and rate limits are kept for, so they are
 * shared: every target (of any alias) naming the same provider and model is
 * the same deployment, with one circuit breaker, one retry budget, one set
 * of limits. The limits are written on a target (see cfg_model); two
 * targets of one deployment that both give a limit must give the same
 * value, else the load fails naming both lines.
 */
struct cfg_deployment {
	size_t provider_idx;		/* index in cfg.providers */
	char *model;			/* upstream model name */
	uint32_t max_concurrent;	/* requests in flight at once; 0 = no limit */
	uint32_t rpm;			/* requests per minute; 0 = no limit */
	uint64_t tpm;			/* tokens per minute (prompt + completion); 0 = no limit */
	int line;			/* 1-based line of the first target naming it */
};

/* Alias strategies: how a request picks among an alias's targets. Each is
 * health-aware: a target whose breaker is open (or that is over a rate
 * limit) is skipped, and the request goes on to the next in that order. */
enum cfg_strategy {
	CFG_STRAT_FALLBACK = 0,		/* in the order written (default) */
	CFG_STRAT_WEIGHTED,		/* random by weight, then the rest by weight */
	CFG_STRAT_ROUND_ROBIN,		/* rotate the first choice per request */
	CFG_STRAT_LEAST_LATENCY,	/* lowest moving average time to first chunk */
};

/* One entry of `models.ALIAS.targets` (or the simple form's one target). */
struct cfg_target {
	char *provider;			/* `provider`: a key of providers */
	size_t provider_idx;
	char *model;			/* `model`: upstream model, default ALIAS */
	uint32_t weight;		/* `weight`, 1..1000000, default 1 (weighted only) */
	uint32_t max_concurrent;	/* limits as written here; 0 = not given */
	uint32_t rpm;
	uint64_t tpm;
	size_t deployment;		/* index in cfg.deployments */
	int line;			/* 1-based line of the entry */
	int provider_line;		/* 1-based line of its provider value */
};

/*
 * One model alias clients ask for, `models.ALIAS` in the file. Two forms:
 *
 *   simple:               provider: NAME          one target; model
 *                         model: UPSTREAM         defaults to ALIAS
 *
 *   several deployments:  strategy: fallback | weighted | round_robin | least_latency
 *                         targets:                a sequence, at least one
 *                           - provider: NAME      required
 *                             model: UPSTREAM     default ALIAS
 *                             weight: N           default 1
 *                             max_concurrent: N   the deployment's limits
 *                             rpm: N              (see cfg_deployment)
 *                             tpm: N
 *
 * `provider`/`model` and `targets` do not mix; `max_concurrent`, `rpm` and
 * `tpm` may also be given in the simple form. Both forms take:
 *
 *   max_attempts  attempts per request over retries and fallbacks, the
 *                 first included, 1..16; default resilience.retry.max_attempts
 *   hedge_after   a duration, or "p95": when no first chunk has come after
 *                 that long (or after the deployment's observed p95 time to
 *                 first chunk), send the request to the next healthy target
 *                 too and serve whichever answers first. Default: no hedging.
 *
 * `provider`, `provider_idx` and `model` are the first target's, so code
 * that knows only one deployment per alias keeps working.
 */
struct cfg_model {
	char *alias;
	size_t alias_len;		/* strlen(alias): lookups compare it first */
	char *provider;			/* first target's provider: a key of providers */
	size_t provider_idx;		/* index of that provider in cfg.providers */
	char *model;			/* first target's upstream model name */
	int line;			/* 1-based line of ALIAS */
	int provider_line;		/* 1-based line of its (first) `provider` value */
	enum cfg_strategy strategy;
	struct cfg_target *targets;	/* at least one */
	size_t n_targets;
	uint32_t max_attempts;		/* resolved: never 0 after a load */
	uint32_t hedge_after_ms;	/* 0 = no fixed hedge delay */
	int hedge_p95;			/* hedge_after: p95 */
};

/*
 * `resilience:` — the sidecar-wide policy of retries, breakers and rate
 * limits, every key optional:
 *
 *   retry:
 *     max_attempts: 3        1..16, the first attempt included
 *     backoff_base: 500ms    ceiling of the first retry's jittered delay
 *     backoff_cap: 8s        largest jittered delay (>= backoff_base)
 *     min_time_left: 200ms   no attempt starts with less left before the deadline
 *     retry_on: [...]        error classes retried (errclass.h names); default
 *                            every transient class. "rejected" and
 *                            "cancelled" are refused; [] retries nothing.
 *   retry_budget:
 *     percent: 20            retries as % of a deployment's requests, 0..1000
 *     min_retries: 3         per window whatever the traffic
 *     window: 10s            1s..60s, whole seconds
 *   breaker:
 *     window: 20             calls in the sliding window, 1..256
 *     min_calls: 10          1..window
 *     failure_rate: 50       percent, 0 = never open on failures
 *     slow_call: 30s         first chunk slower than this is slow
 *     slow_call_rate: 80     percent, 0 = never open on slow calls
 *     open_wait: 5s          first wait in open (> 0)
 *     open_max: 1m           cap of the doubling wait (>= open_wait)
 *     probes: 2              half-open probes in flight, 1..16
 *   rate_limit:
 *     on_limit: wait         wait (in a bounded queue, up to the request's
 *                            deadline) or reject (RS_ERR_RATE_LIMITED at once)
 *     max_queue: 1024        requests waiting sidecar-wide, 1..1000000
 *
 * Values are checked with the modules' own checks (bo_config_check,
 * rbud_config_check, brk_config_check) so the config cannot hold what they
 * would refuse.
 */
struct cfg_resilience {
	struct {
		uint32_t max_attempts;
		uint32_t backoff_base_ms, backoff_cap_ms, min_time_left_ms;
		uint32_t retry_on;	/* bit (1u << enum ec_class) per retried class */
	} retry;
	struct {
		uint32_t percent, min_retries, window_s;
	} budget;
	struct {
		uint32_t window, min_calls, failure_pct, slow_pct, probes;
		uint32_t slow_call_ms, open_wait_ms, open_max_ms;
	} breaker;
	struct {
		int reject;		/* on_limit: reject */
		uint32_t max_queue;
	} rate_limit;
};

/*
 * `tenants:` — limits per tenant. A tenant is the Unix user a client runs
 * as (the sidecar reads it from the socket, SO_PEERCRED): one host runs
 * several applications, and one of them must not take every deployment's
 * capacity from the others. Keys are user names or numeric uids, and "*"
 * for every user not named; a user with no entry (and no "*") has no
 * tenant limits.
 *
 *   tenants:
 *     batch: {max_concurrent: 8, rpm: 120, tpm: 200000}
 *     "*":   {max_concurrent: 64}
 *
 * The limits count requests (a request's retries and hedges are one), and
 * tokens as for deployments (estimated up front, corrected from USAGE). A
 * request over its tenant's limit waits or is refused as
 * resilience.rate_limit says.
 */
struct cfg_tenant {
	char *name;			/* as written */
	uid_t uid;			/* resolved at load; unused for "*" */
	int any;			/* the "*" entry */
	uint32_t max_concurrent, rpm;	/* 0 = no limit */
	uint64_t tpm;
	int line;
};

struct cfg {
	char *source;			/* file path, or "<embedded>" */
	struct {
		char *socket;		/* absolute; NULL = default path (sockpath_resolve) */
		unsigned mode;		/* permission bits only, always read as octal; 0660 */
		char *group;		/* name or numeric gid; NULL = leave the group alone */
		gid_t gid;		/* group, resolved (and so known to exist) at load */
	} listen;
	struct {
		uint32_t max_clients;		/* default 256 */
		uint32_t submit_ring, event_ring;/* bytes, power of two, 4 KiB..1 GiB;
						 * defaults 256 KiB and 1 MiB */
		uint64_t max_request;		/* bytes, default 8 MiB, max 1 GiB */
		uint32_t max_streams_per_client;/* default 1024 */
		uint32_t spin_us;		/* loop spin before sleeping; default 50, 0 = never spin */
		uint32_t handshake_timeout_ms;	/* `handshake_timeout`, default 5s */
		uint32_t default_deadline_ms;	/* `default_deadline`, default 10m */
	} limits;
	struct { enum cfg_log_level level; } log;	/* default info */
	struct cfg_provider *providers;
	size_t n_providers;
	struct cfg_model *models;	/* at least one */
	size_t n_models;
	struct cfg_deployment *deployments; /* every distinct provider + model of the targets */
	size_t n_deployments;
	struct cfg_resilience resilience;
	struct cfg_tenant *tenants;
	size_t n_tenants;
};

/* The tenant entry for uid: its own, else "*", else NULL. */
const struct cfg_tenant *cfg_find_tenant(const struct cfg *c, uid_t uid);

/*
 * Load and validate. Return 0 and fill *out, or -EINVAL for a bad config and
 * -errno for an I/O failure (-EFBIG past CFG_FILE_MAX). On error *out is left
 * untouched and err (when errlen > 0) holds one line without a newline:
 * "FILE:LINE: key.path: what is wrong", or "FILE: strerror" for I/O. The YAML
 * library's own diagnostics are captured into err, never printed.
 * cfg_load_string takes `name` for FILE and needs no NUL at yaml[len].
 */
int cfg_load_file(const char *path, struct cfg *out, char *err, size_t errlen);
int cfg_load_string(const char *name, const char *yaml, size_t len,
		    struct cfg *out, char *err, size_t errlen);

/* The YAML text of the built-in config for the current environment: the mock
 * provider and model alias `mock`, so `ringside` runs with no file, no
 * network and no keys; plus, for each of OPENAI_API_KEY, ANTHROPIC_API_KEY
 * and GEMINI_API_KEY that is set and non-empty, that provider (openai,
 * anthropic, gemini; key "${VAR}") and two aliases: gpt-4o-mini and gpt-4o;
 * claude-sonnet and claude-haiku (claude-sonnet-4-5, claude-haiku-4-5);
 * gemini-flash and gemini-pro (gemini-2.5-flash, gemini-2.5-pro). Static
 * text: the pointer stays valid. */
const char *cfg_embedded_default(void);
/* cfg_load_string of that text, named "<embedded>". */
int cfg_load_embedded(struct cfg *out, char *err, size_t errlen);

/* Free everything a successful load allocated and zero *c. Safe on a zeroed
 * struct and twice in a row. */
void cfg_free(struct cfg *c);

/* The model for alias[0..alias_len) (not NUL-terminated: it comes straight
 * from a REQUEST frame), or NULL. */
const struct cfg_model *cfg_find_model(const struct cfg *c, const char *alias,
				       size_t alias_len);

/* 1 when the provider's base_url host is 127.0.0.0/8, ::1 or localhost (so
 * plain http and no key are normal), else 0; 0 for kind mock. */
int cfg_provider_is_loopback(const struct cfg_provider *p);

/* Write the effective config (defaults filled in) as YAML that loads back to
 * the same values. Keys are never written: api_key: "${NAME}" and
 * api_key_file: PATH are, and load back to the same key (given the same
 * environment and file); a literal key is written as api_key: "<redacted>",
 * which the loader refuses. Returns 0 or -EIO. */
int cfg_dump(const struct cfg *c, FILE *f);

/* Names as written in YAML ("mock", "info"), for dumps and log lines. */
const char *cfg_kind_name(enum cfg_kind k);
const char *cfg_log_level_name(enum cfg_log_level l);

#endif
