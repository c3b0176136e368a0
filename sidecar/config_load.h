/*
 * config_load.h — the YAML walk behind cfg_load_*: libfyaml parsing with its
 * diagnostics captured, node lines (config_load.c), and a table-driven reader
 * for mappings of known keys (config_field.c). Used by the config module's
 * own files only; not part of the module's face.
 *
 * Every cfg_ld_* function that can fail writes the one error line through
 * cfg_ld_fail and returns a negative errno, so callers just propagate.
 */
#ifndef RINGSIDE_SIDECAR_CONFIG_LOAD_H
#define RINGSIDE_SIDECAR_CONFIG_LOAD_H

#include <libfyaml.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Sizes of the buffers user text is shown in: at most CFG_LD_SHOW_MAX source
 * bytes, each escaped to at most 4 characters, then "...". A key path is a
 * few such names plus fixed key names. */
#define CFG_LD_SHOW_MAX	40
#define CFG_LD_SHOW	(CFG_LD_SHOW_MAX * 4 + 8)
#define CFG_LD_PATH	(CFG_LD_SHOW + 64)

struct cfg_ld {
	const char *name;		/* FILE in messages */
	char *err;
	size_t errlen;
	struct cfg *c;			/* being filled */
	int models_line;		/* where "at least one model" is reported */
	struct fy_diag *diag;
	struct fy_parser *fyp;
	struct fy_document *doc;
	char diag_msg[160];		/* first uncollected libfyaml message */
	/* Non-zero while a mapping that may hold secrets is read: an unknown
	 * key is quoted only if it is at most this long and made of letters,
	 * digits, '_' and '-', i.e. looks like a key name and not a value. */
	size_t shown_key_max;
	void *cur;			/* what a CFG_LT_CALL reads into, when not the cfg */
	/* Nodes looked at again once the whole file is read, to put a message
	 * on the line of the key it is about: the models mapping, and the
	 * resilience sections retry, retry_budget and breaker (with the line
	 * of their key). Valid until cfg_ld_done, like every node. */
	struct fy_node *models_node;
	struct fy_node *res_node[3];
	int res_line[3];
};

/* How a known key's value is read and where it goes. */
enum cfg_ld_type {
	CFG_LT_COUNT,		/* plain integer */
	CFG_LT_SIZE,		/* bytes with optional unit */
	CFG_LT_RING,		/* size that must be a power of two */
	CFG_LT_MS,		/* duration stored in milliseconds */
	CFG_LT_US,		/* duration stored in microseconds */
	CFG_LT_MODE,		/* octal permission bits */
	CFG_LT_LEVEL,		/* log level name */
	CFG_LT_SOCKET,		/* absolute socket path; empty or null = default */
	CFG_LT_GROUP,		/* group name or gid, resolved now; null = unchanged */
	CFG_LT_NAME,		/* provider or model name */
	CFG_LT_TEXT,		/* free text, no control bytes, min..max bytes long */
	CFG_LT_OPAQUE,		/* the same, never shown in messages (keys, URLs) */
	CFG_LT_BOOL,		/* true or false, stored as int 1 or 0 */
	CFG_LT_SKIP,		/* read elsewhere (a provider's kind) */
	CFG_LT_SECTION,		/* nested mapping with its own field table */
	CFG_LT_CALL,		/* anything else: a function */
};

struct cfg_ld;
typedef int (*cfg_ld_call_fn)(struct cfg_ld *ld, struct fy_node *val, int line,
			      const char *path);
typedef int (*cfg_ld_pair_fn)(struct cfg_ld *ld, void *ctx, const char *key,
			      size_t klen, int kline, struct fy_node *val,
			      const char *path);

struct cfg_ld_field {
	const char *key;
	enum cfg_ld_type type;
	size_t off, size;	/* target in the struct the table is read into */
	uint64_t min, max;	/* numbers, in the stored unit; text, its length */
	size_t aux;		/* CFG_LT_GROUP: offset of the gid_t */
	const struct cfg_ld_field *fields;	/* CFG_LT_SECTION */
	size_t n_fields;
	cfg_ld_call_fn call;	/* CFG_LT_CALL */
};

/* Field tables: FIELD(struct, member, "key", CFG_LT_*, min, max). */
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(st, member, key, type, lo, hi) \
	{ key, type, offsetof(st, member), sizeof(((st *)0)->member), lo, hi, 0, NULL, 0, NULL }
#define SECTION(key, fields) \
	{ key, CFG_LT_SECTION, 0, 0, 0, 0, 0, fields, N_ELEMS(fields), NULL }
#define CALL(key, fn) { key, CFG_LT_CALL, 0, 0, 0, 0, 0, NULL, 0, fn }

/* Parse the text; on success *root is the document's non-empty root. The
 * document stays alive (strings point into it) until cfg_ld_done. */
int cfg_ld_parse(struct cfg_ld *ld, const char *yaml, size_t len, struct fy_node **root);
void cfg_ld_done(struct cfg_ld *ld);

/* Write "FILE:LINE: PATH: message" (no "PATH: " when path is empty) and
 * return -EINVAL. */
int cfg_ld_fail(struct cfg_ld *ld, int line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "FILE: strerror(-err)"; returns err. */
int cfg_ld_io_fail(struct cfg_ld *ld, int err);
int cfg_ld_nomem(struct cfg_ld *ld);

/* User text for a message: printable ASCII kept, the rest escaped, cut to
 * CFG_LD_SHOW_MAX bytes. Config text is never printed raw: it may hold
 * control bytes, and a key may be a megabyte long. */
void cfg_ld_show(char *buf, size_t size, const char *s, size_t len);
/* parent + "." + key, the key shown as above. */
void cfg_ld_subpath(char *buf, size_t size, const char *parent, const char *key,
		    size_t klen);

/* 1-based line of a node: its own token, else the first scalar inside it,
 * else fallback (an empty value has no token at all). */
int cfg_ld_line(struct fy_node *n, int fallback);

/* A YAML null: no value at all, or plain ~ / null. */
int cfg_ld_is_null(struct fy_node *n);
/* Follow an alias in *n to its anchored node; fails if it resolves to
 * nothing (no such anchor, or a loop). Other nodes pass through. */
int cfg_ld_deref(struct cfg_ld *ld, struct fy_node **n, int line, const char *path);
/* Follow aliases in *n, then require a mapping. A missing or null value is
 * an error unless allow_null, in which case *n becomes NULL. */
int cfg_ld_mapping(struct cfg_ld *ld, struct fy_node **n, int line, const char *path,
		   int allow_null);
/* Follow aliases, then require a non-null scalar and return its text. */
int cfg_ld_scalar(struct cfg_ld *ld, struct fy_node **n, int line, const char *path,
		  const char **s, size_t *len);
/* Find key in a mapping (aliases in keys followed): 1 with its value and
 * the line to report it at (*line is the fallback on entry), or 0. */
int cfg_ld_lookup(struct fy_node *map, const char *key, struct fy_node **val, int *line);
/* Call fn for every pair of the mapping with the key's text and line; keys
 * must be scalars. Stops at the first error. */
int cfg_ld_each_pair(struct cfg_ld *ld, struct fy_node *map, int line, const char *path,
		     cfg_ld_pair_fn fn, void *ctx);
/* Read a mapping (null = empty) whose keys are all in fields, into base. */
int cfg_ld_section(struct cfg_ld *ld, struct fy_node *n, int line, const char *path,
		   const struct cfg_ld_field *fields, size_t n_fields, void *base);
/* A provider name, model alias or model: non-empty, at most CFG_NAME_MAX
 * bytes, no control characters (names end up in log lines). */
int cfg_ld_check_name(struct cfg_ld *ld, const char *s, size_t len, int line,
		      const char *path, const char *what);

/* config_provider.c: read `providers.NAME` (map, already a mapping) into p,
 * whose name and line are set: the kind, that kind's keys, defaults, and
 * the rules across keys; secrets are resolved here. */
int cfg_ld_provider(struct cfg_ld *ld, struct cfg_provider *p, struct fy_node *map,
		    const char *path);
/* Free what cfg_ld_provider (and the name) allocated; the key is wiped. */
void cfg_ld_provider_free(struct cfg_provider *p);

/* The name of names[0..n) nearest to s[0..len) (a typo of it, within the
 * distance unknown keys get a suggestion at), or NULL. For values taken
 * from a fixed list: strategies, error classes. */
const char *cfg_ld_nearest(const char *s, size_t len, const char *const *names, size_t n);

/* config_model.c: `models.ALIAS` (key and value as ld_named_list gives
 * them) into the next slot of c->models; and, once the whole file is read,
 * providers resolved, deployments built, defaults from resilience applied. */
int cfg_ld_model(struct cfg_ld *ld, void *ctx, const char *key, size_t klen, int kline,
		 struct fy_node *val, const char *path);
int cfg_ld_models_finish(struct cfg_ld *ld);
void cfg_ld_models_free(struct cfg *c);
/* "fallback", "weighted", "round_robin", "least_latency"; "?" out of range. */
const char *cfg_ld_strategy_name(enum cfg_strategy s);

/* config_tenant.c: the `tenants` section, and freeing it. */
int cfg_ld_tenants(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
void cfg_ld_tenants_free(struct cfg *c);

/* config_policy.c: the `resilience` section: its defaults, its reader, and
 * the checks across its keys (run after the whole file is read). */
void cfg_resilience_defaults(struct cfg_resilience *r);
int cfg_ld_resilience(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
int cfg_ld_resilience_finish(struct cfg_ld *ld);

#endif
