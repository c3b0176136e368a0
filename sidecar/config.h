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
};

enum cfg_log_level { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR };

/* One upstream provider, `providers.NAME` in the file. */
struct cfg_provider {
	char *name;
	enum cfg_kind kind;
	int line;			/* 1-based line of NAME, for later errors */
	/* kind mock: */
	uint32_t mock_ttft_us;		/* `ttft`: time to first token, default 5ms */
	uint32_t mock_interval_us;	/* `token_interval`: between tokens, default 2ms */
};

/* One model alias clients ask for, `models.ALIAS` in the file. */
struct cfg_model {
	char *alias;
	size_t alias_len;		/* strlen(alias): lookups compare it first */
	char *provider;			/* `provider`: a key of providers */
	size_t provider_idx;		/* index of that provider in cfg.providers */
	char *model;			/* `model`: upstream model name, default ALIAS */
	int line;			/* 1-based line of ALIAS */
	int provider_line;		/* 1-based line of its `provider` value */
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
};

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

/* The YAML text of the built-in config: one mock provider and one model alias
 * `mock`, so `ringside` runs with no file, no network and no keys. */
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

/* Write the effective config (defaults filled in) as YAML that loads back to
 * the same values. Secrets, once providers have them, are never written.
 * Returns 0 or -EIO. */
int cfg_dump(const struct cfg *c, FILE *f);

/* Names as written in YAML ("mock", "info"), for dumps and log lines. */
const char *cfg_kind_name(enum cfg_kind k);
const char *cfg_log_level_name(enum cfg_log_level l);

#endif
