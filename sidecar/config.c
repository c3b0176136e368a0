/*
 * config.c — load the YAML config, check every value, report the first
 * problem as "FILE:LINE: key.path: what is wrong".
 *
 * This file is the schema: each mapping the file may contain is a table of
 * known keys (struct cfg_ld_field), read by one generic walker in
 * config_load.c that has the key path and line in hand for every error. What
 * a table cannot say (provider kinds, names as keys, cross-references) is
 * here; a provider's kinds and keys are in config_provider.c. Scalar forms
 * live in config_value.c, the YAML writer in config_dump.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_load.h"
#include "config_value.h"
#include "ring.h"		/* RING_MIN_SIZE, RING_MAX_SIZE */

/*
 * The built-in configuration. The mock provider and its alias are always
 * there, first, so `make run` and the tests work on any machine with no
 * network and no keys. Each of OPENAI_API_KEY, ANTHROPIC_API_KEY and
 * GEMINI_API_KEY that is set (and not empty) adds that provider, its key
 * read from the variable, and two aliases. The eight texts are put together
 * at compile time and picked at each load, so what --dump-config shows is
 * what the environment gave.
 */
#define EMB_HEAD \
	"# ringside built-in configuration: what runs when no file is given.\n" \
	"# The in-process mock reaches no network and needs no keys. Each of\n" \
	"# OPENAI_API_KEY, ANTHROPIC_API_KEY and GEMINI_API_KEY that is set\n" \
	"# adds that provider (its key read from the variable) and two aliases.\n" \
	"listen:\n" \
	"  mode: \"0660\"           # socket path: $RINGSIDE_SOCKET or the per-user default\n" \
	"limits:\n" \
	"  max_clients: 256\n" \
	"  submit_ring: 256KiB     # client -> sidecar, per client\n" \
	"  event_ring: 1MiB        # sidecar -> client, per client\n" \
	"  max_request: 8MiB\n" \
	"  max_streams_per_client: 1024\n" \
	"  spin_us: 50             # busy-poll before sleeping: a sleeping hop costs ~30us here\n" \
	"  handshake_timeout: 5s\n" \
	"  default_deadline: 10m\n" \
	"log:\n" \
	"  level: info\n" \
	"providers:\n" \
	"  mock:\n" \
	"    kind: mock\n" \
	"    ttft: 5ms             # time to first token\n" \
	"    token_interval: 2ms   # time between tokens\n"
#define EMB_PROVIDER(kind, var) \
	"  " kind ":\n" \
	"    kind: " kind "\n" \
	"    api_key: \"${" var "}\"\n"
#define EMB_OPENAI_P EMB_PROVIDER("openai", "OPENAI_API_KEY")
#define EMB_ANTHROPIC_P EMB_PROVIDER("anthropic", "ANTHROPIC_API_KEY")
#define EMB_GEMINI_P EMB_PROVIDER("gemini", "GEMINI_API_KEY")
#define EMB_MODELS \
	"models:\n" \
	"  mock:\n" \
	"    provider: mock\n" \
	"    model: echo\n"
#define EMB_ALIAS(alias, provider, model) \
	"  " alias ":\n" \
	"    provider: " provider "\n" \
	"    model: " model "\n"
#define EMB_OPENAI_M \
	EMB_ALIAS("gpt-4o-mini", "openai", "gpt-4o-mini") \
	EMB_ALIAS("gpt-4o", "openai", "gpt-4o")
#define EMB_ANTHROPIC_M \
	EMB_ALIAS("claude-sonnet", "anthropic", "claude-sonnet-4-5") \
	EMB_ALIAS("claude-haiku", "anthropic", "claude-haiku-4-5")
#define EMB_GEMINI_M \
	EMB_ALIAS("gemini-flash", "gemini", "gemini-2.5-flash") \
	EMB_ALIAS("gemini-pro", "gemini", "gemini-2.5-pro")
#define EMB_NONE_P ""
#define EMB_NONE_M ""
#define EMB(o, a, g) \
	EMB_HEAD EMB_##o##_P EMB_##a##_P EMB_##g##_P \
	EMB_MODELS EMB_##o##_M EMB_##a##_M EMB_##g##_M

/* Indexed by which variables are set: 1 OpenAI, 2 Anthropic, 4 Gemini. */
static const char *const embedded_yaml[] = {
	EMB(NONE, NONE, NONE), EMB(OPENAI, NONE, NONE),
	EMB(NONE, ANTHROPIC, NONE), EMB(OPENAI, ANTHROPIC, NONE),
	EMB(NONE, NONE, GEMINI), EMB(OPENAI, NONE, GEMINI),
	EMB(NONE, ANTHROPIC, GEMINI), EMB(OPENAI, ANTHROPIC, GEMINI),
};

static unsigned env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

const char *cfg_embedded_default(void)
{
	return embedded_yaml[env_set("OPENAI_API_KEY") | env_set("ANTHROPIC_API_KEY") << 1 |
			     env_set("GEMINI_API_KEY") << 2];
}

int cfg_load_embedded(struct cfg *out, char *err, size_t errlen)
{
	const char *yaml = cfg_embedded_default();

	return cfg_load_string("<embedded>", yaml, strlen(yaml), out, err, errlen);
}

static const char *const level_names[] = {
	[CFG_LOG_DEBUG] = "debug", [CFG_LOG_INFO] = "info",
	[CFG_LOG_WARN] = "warn", [CFG_LOG_ERROR] = "error",
};

const char *cfg_log_level_name(enum cfg_log_level l)
{
	if ((size_t)l < N_ELEMS(level_names))
		return level_names[l];
	return "?";
}

/* How far a misspelt value may be from a known one to be suggested: as far
 * as an unknown key (config_field.c). */
#define LD_NEAREST_DIST	2

/* A tie is no suggestion: http_500 is as near to http_408 as to http_5xx,
 * and naming either would mislead. */
const char *cfg_ld_nearest(const char *s, size_t len, const char *const *names, size_t n)
{
	size_t i, d, best = SIZE_MAX;
	const char *near = NULL;

	for (i = 0; i < n; i++) {
		d = cfg_edit_distance(s, len, names[i], LD_NEAREST_DIST);
		if (d == best)
			near = NULL;
		if (d < best) {
			best = d;
			near = names[i];
		}
	}
	/* Not when every character would change: "ab" is not a typo of "xy". */
	return best <= LD_NEAREST_DIST && best < len ? near : NULL;
}

/* ---- schema --------------------------------------------------------------- */

/* Bounds that are policy rather than protocol. */
#define LD_MAX_CLIENTS	65536u		/* each client holds a socket, a memfd, an eventfd */
#define LD_MAX_STREAMS	65536u		/* per client: each open stream holds a transfer */
#define LD_MAX_SPIN_US	1000000u	/* spinning a full second is never intended */
#define LD_MIN_REQUEST	1024u		/* anything smaller cannot hold a chat request */
#define LD_MAX_REQUEST	(1ull << 30)

static int ld_providers(struct cfg_ld *ld, struct fy_node *n, int line, const char *path);
static int ld_models(struct cfg_ld *ld, struct fy_node *n, int line, const char *path);

static const struct cfg_ld_field listen_fields[] = {
	FIELD(struct cfg, listen.socket, "socket", CFG_LT_SOCKET, 0, 0),
	FIELD(struct cfg, listen.mode, "mode", CFG_LT_MODE, 0, 0777),
	{ "group", CFG_LT_GROUP, offsetof(struct cfg, listen.group), sizeof(char *), 0, 0,
	  offsetof(struct cfg, listen.gid), NULL, 0, NULL },
};

static const struct cfg_ld_field limits_fields[] = {
	FIELD(struct cfg, limits.max_clients, "max_clients", CFG_LT_COUNT, 1, LD_MAX_CLIENTS),
	FIELD(struct cfg, limits.submit_ring, "submit_ring", CFG_LT_RING,
	      RING_MIN_SIZE, RING_MAX_SIZE),
	FIELD(struct cfg, limits.event_ring, "event_ring", CFG_LT_RING,
	      RING_MIN_SIZE, RING_MAX_SIZE),
	FIELD(struct cfg, limits.max_request, "max_request", CFG_LT_SIZE,
	      LD_MIN_REQUEST, LD_MAX_REQUEST),
	FIELD(struct cfg, limits.max_streams_per_client, "max_streams_per_client",
	      CFG_LT_COUNT, 1, LD_MAX_STREAMS),
	FIELD(struct cfg, limits.spin_us, "spin_us", CFG_LT_COUNT, 0, LD_MAX_SPIN_US),
	FIELD(struct cfg, limits.handshake_timeout_ms, "handshake_timeout", CFG_LT_MS,
	      1, UINT32_MAX),
	FIELD(struct cfg, limits.default_deadline_ms, "default_deadline", CFG_LT_MS,
	      1, UINT32_MAX),
};

static const struct cfg_ld_field log_fields[] = {
	FIELD(struct cfg, log.level, "level", CFG_LT_LEVEL, 0, 0),
};

static const struct cfg_ld_field top_fields[] = {
	SECTION("listen", listen_fields),
	SECTION("limits", limits_fields),
	SECTION("log", log_fields),
	CALL("providers", ld_providers),
	CALL("models", ld_models),
	CALL("resilience", cfg_ld_resilience),
	CALL("tenants", cfg_ld_tenants),
};


static void cfg_defaults(struct cfg *c)
{
	c->listen.mode = 0660;
	c->limits.max_clients = 256;
	c->limits.submit_ring = 256u << 10;
	c->limits.event_ring = 1u << 20;
	c->limits.max_request = 8u << 20;
	c->limits.max_streams_per_client = 1024;
	c->limits.spin_us = 50;
	c->limits.handshake_timeout_ms = 5000;
	c->limits.default_deadline_ms = 600000;
	c->log.level = CFG_LOG_INFO;
	cfg_resilience_defaults(&c->resilience);
}

/* ---- providers and models ------------------------------------------------- */

static size_t provider_index(const struct cfg *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->n_providers; i++)
		if (strlen(c->providers[i].name) == len && !memcmp(c->providers[i].name, name, len))
			return i;
	return SIZE_MAX;
}

static int ld_provider(struct cfg_ld *ld, void *ctx, const char *key, size_t klen,
		       int kline, struct fy_node *val, const char *path)
{
	struct cfg *c = ld->c;
	struct cfg_provider *p = &c->providers[c->n_providers];
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW];
	int ret;

	(void)ctx;
	if ((ret = cfg_ld_check_name(ld, key, klen, kline, path, "provider name")))
		return ret;
	cfg_ld_show(shown, sizeof(shown), key, klen);
	/* libfyaml catches a repeated key, but not one spelled through an alias. */
	if (provider_index(c, key, klen) != SIZE_MAX)
		return cfg_ld_fail(ld, kline, path, "duplicate provider '%s'", shown);
	if (!(p->name = strndup(key, klen)))
		return cfg_ld_nomem(ld);
	c->n_providers++;
	p->line = kline;
	cfg_ld_subpath(sub, sizeof(sub), path, key, klen);
	if ((ret = cfg_ld_mapping(ld, &val, kline, sub, 0)))
		return ret;
	return cfg_ld_provider(ld, p, val, sub);
}

static void free_providers(struct cfg *c)
{
	size_t i;

	for (i = 0; i < c->n_providers; i++)
		cfg_ld_provider_free(&c->providers[i]);
	free(c->providers);
	c->providers = NULL;
	c->n_providers = 0;
}

/* providers: and models: are both a mapping of names to settings, stored in
 * an array sized from the item count so entries never move. An empty section
 * is fine here; "at least one model" is checked once the whole file is read. */
static int ld_named_list(struct cfg_ld *ld, struct fy_node *n, int line, const char *path,
			 void **arr, size_t elem, cfg_ld_pair_fn fn)
{
	int count, ret = cfg_ld_mapping(ld, &n, line, path, 1);

	if (ret || !n)
		return ret;
	count = fy_node_mapping_item_count(n);
	if (count <= 0)
		return 0;
	if (!(*arr = calloc((size_t)count, elem)))
		return cfg_ld_nomem(ld);
	return cfg_ld_each_pair(ld, n, line, path, fn, NULL);
}

/* A section key repeated through an alias replaces the earlier section. */
static int ld_providers(struct cfg_ld *ld, struct fy_node *n, int line, const char *path)
{
	free_providers(ld->c);
	return ld_named_list(ld, n, line, path, (void **)&ld->c->providers,
			     sizeof(struct cfg_provider), ld_provider);
}

/* The mapping is kept: the checks after the whole file is read look up
 * the line of the key they are about in it. */
static int ld_models(struct cfg_ld *ld, struct fy_node *n, int line, const char *path)
{
	int ret = cfg_ld_deref(ld, &n, line, path);

	if (ret)
		return ret;
	ld->models_line = line;
	ld->models_node = n;
	cfg_ld_models_free(ld->c);
	return ld_named_list(ld, n, line, path, (void **)&ld->c->models,
			     sizeof(struct cfg_model), cfg_ld_model);
}

/* Rules that span sections, checked once everything is read. */
static int ld_finish(struct cfg_ld *ld)
{
	int ret;

	if (ld->c->n_models == 0)
		return cfg_ld_fail(ld, ld->models_line, "models",
				   "at least one model alias is required");
	if ((ret = cfg_ld_resilience_finish(ld)))
		return ret;
	return cfg_ld_models_finish(ld);
}

/* ---- entry points ---------------------------------------------------------- */

int cfg_load_string(const char *name, const char *yaml, size_t len, struct cfg *out,
		    char *err, size_t errlen)
{
	struct cfg c = { 0 };
	struct cfg_ld ld = { .name = name ? name : "<string>", .err = err, .errlen = errlen,
			     .c = &c, .models_line = 1 };
	struct fy_node *root = NULL;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	/* Also keeps len away from (size_t)-1, which libfyaml reads as "NUL
	 * terminated". */
	if (len > CFG_FILE_MAX)
		return cfg_ld_io_fail(&ld, -EFBIG);
	cfg_defaults(&c);
	if (!(c.source = strdup(ld.name))) {
		ret = cfg_ld_nomem(&ld);
		goto out;
	}
	if ((ret = cfg_ld_parse(&ld, yaml ? yaml : "", yaml ? len : 0, &root)))
		goto out;
	if (!fy_node_is_mapping(root)) {
		ret = cfg_ld_fail(&ld, cfg_ld_line(root, 1), "", "the top level must be a "
				  "mapping of sections (listen, limits, log, providers, models, resilience, tenants)");
		goto out;
	}
	if ((ret = cfg_ld_section(&ld, root, 1, "", top_fields, N_ELEMS(top_fields), &c)))
		goto out;
	if ((ret = ld_finish(&ld)))
		goto out;
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	cfg_ld_done(&ld);
	cfg_free(&c);
	return ret;
}

/* Read the whole file, then parse it as a string: I/O errors stay plain
 * errno values with the path, and the size bound holds for pipes too. */
int cfg_load_file(const char *path, struct cfg *out, char *err, size_t errlen)
{
	struct cfg_ld ld = { .name = path, .err = err, .errlen = errlen };
	size_t len = 0, cap = 0;
	char *buf = NULL, *grow;
	ssize_t n;
	int fd, ret;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cfg_ld_io_fail(&ld, -errno);
	for (;;) {
		if (len == cap) {
			/* One byte past the limit is how "too big" is seen. */
			if (cap > CFG_FILE_MAX) {
				ret = cfg_ld_io_fail(&ld, -EFBIG);
				goto out;
			}
			cap = cap ? cap * 2 : 64u << 10;
			if (cap > (size_t)CFG_FILE_MAX + 1)
				cap = (size_t)CFG_FILE_MAX + 1;
			if (!(grow = realloc(buf, cap))) {
				ret = cfg_ld_nomem(&ld);
				goto out;
			}
			buf = grow;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = cfg_ld_io_fail(&ld, -errno);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = cfg_load_string(path, buf, len, out, err, errlen);
out:
	/* The text may hold a key written literally. */
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
	close(fd);
	return ret;
}

void cfg_free(struct cfg *c)
{
	free_providers(c);
	cfg_ld_models_free(c);
	cfg_ld_tenants_free(c);
	free(c->source);
	free(c->listen.socket);
	free(c->listen.group);
	memset(c, 0, sizeof(*c));
}

/* A linear scan: configs have a handful of aliases and the compare is a
 * length check first, so this beats hashing until there are hundreds. The
 * alias comes from a client and may hold any bytes, NULs included: only
 * alias_len bytes of it are read. */
const struct cfg_model *cfg_find_model(const struct cfg *c, const char *alias,
				       size_t alias_len)
{
	size_t i;

	for (i = 0; i < c->n_models; i++)
		if (c->models[i].alias_len == alias_len &&
		    memcmp(c->models[i].alias, alias, alias_len) == 0)
			return &c->models[i];
	return NULL;
}
