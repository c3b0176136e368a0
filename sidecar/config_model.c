/*
 * config_model.c — `models:`: aliases in their simple form (provider +
 * model) or with several targets, their strategy, attempts and hedging;
 * and the deployments every target resolves to (see config.h).
 *
 * Targets name providers that may be defined after them, so a target is
 * read as written and resolved in cfg_ld_models_finish, which also builds
 * cfg.deployments (one per distinct provider + upstream model) and checks
 * that two targets of one deployment do not give it different limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_load.h"
#include "config_value.h"
#include "lb.h"			/* LB_MAX_TARGETS: the balancer's orders are that long */

/* Bounds of the per-target keys: policy, not protocol. A weight ratio of a
 * million is finer than any split anyone configures; the limits go past
 * the largest tiers providers sell (OpenAI's top tier: 30M tpm). */
#define LD_WEIGHT_MAX		1000000u
#define LD_CONCURRENT_MAX	1000000u
#define LD_RPM_MAX		100000000u
#define LD_TPM_MAX		1000000000000ull
#define LD_ATTEMPTS_MAX		16u
/* hedge_after: longer than this is not hedging but a second request. */
#define LD_HEDGE_MAX_MS		600000u

/* Indexed by enum cfg_strategy: the names lb_strategy_name gives too. The
 * loader keeps its own copy so that it needs only the balancer's bounds,
 * not its code. */
static const char *const strategy_names[] = {
	[CFG_STRAT_FALLBACK] = "fallback",
	[CFG_STRAT_WEIGHTED] = "weighted",
	[CFG_STRAT_ROUND_ROBIN] = "round_robin",
	[CFG_STRAT_LEAST_LATENCY] = "least_latency",
};

/* A deployment's limits, in the order of struct cfg_deployment. */
static const char *const limit_keys[] = { "max_concurrent", "rpm", "tpm" };
#define LD_N_LIMITS N_ELEMS(limit_keys)

/* The keys of the simple form that `targets` takes the place of. */
static const char *const simple_keys[] = { "provider", "model", "max_concurrent", "rpm", "tpm" };

/* One alias being read: the simple form's keys land in `simple`. */
struct ld_mod {
	struct cfg_model *m;
	struct cfg_target simple;
	uint32_t max_attempts;
	int targets_line;	/* 0: no `targets` key */
	int hedge_line;		/* 0: no `hedge_after` key */
};

static int ld_strategy(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_targets(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);
static int ld_hedge(struct cfg_ld *ld, struct fy_node *val, int line, const char *path);

#define TARGET_LIMITS(st, pre) \
	FIELD(st, pre max_concurrent, "max_concurrent", CFG_LT_COUNT, 0, LD_CONCURRENT_MAX), \
	FIELD(st, pre rpm, "rpm", CFG_LT_COUNT, 0, LD_RPM_MAX), \
	FIELD(st, pre tpm, "tpm", CFG_LT_COUNT, 0, LD_TPM_MAX)

static const struct cfg_ld_field model_fields[] = {
	FIELD(struct ld_mod, simple.provider, "provider", CFG_LT_NAME, 0, 0),
	FIELD(struct ld_mod, simple.model, "model", CFG_LT_NAME, 0, 0),
	TARGET_LIMITS(struct ld_mod, simple.),
	FIELD(struct ld_mod, max_attempts, "max_attempts", CFG_LT_COUNT, 1, LD_ATTEMPTS_MAX),
	CALL("strategy", ld_strategy),
	CALL("targets", ld_targets),
	CALL("hedge_after", ld_hedge),
};

static const struct cfg_ld_field target_fields[] = {
	FIELD(struct cfg_target, provider, "provider", CFG_LT_NAME, 0, 0),
	FIELD(struct cfg_target, model, "model", CFG_LT_NAME, 0, 0),
	FIELD(struct cfg_target, weight, "weight", CFG_LT_COUNT, 1, LD_WEIGHT_MAX),
	TARGET_LIMITS(struct cfg_target, ),
};

const char *cfg_ld_strategy_name(enum cfg_strategy s)
{
	return (size_t)s < N_ELEMS(strategy_names) ? strategy_names[s] : "?";
}

static void ld_target_free(struct cfg_target *t)
{
	free(t->provider);
	free(t->model);
	t->provider = t->model = NULL;
}

static uint64_t ld_limit(const struct cfg_target *t, size_t k)
{
	return k == 0 ? t->max_concurrent : k == 1 ? t->rpm : t->tpm;
}

/* ---- keys that need more than a table --------------------------------------- */

static int ld_strategy(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ld_mod *mod = ld->cur;
	char shown[CFG_LD_SHOW];
	const char *s, *near;
	size_t len;
	int ret;

	if ((ret = cfg_ld_scalar(ld, &val, line, path, &s, &len)))
		return ret;
	for (size_t i = 0; i < N_ELEMS(strategy_names); i++)
		if (strlen(strategy_names[i]) == len && !memcmp(strategy_names[i], s, len)) {
			mod->m->strategy = (enum cfg_strategy)i;
			return 0;
		}
	cfg_ld_show(shown, sizeof(shown), s, len);
	if ((near = cfg_ld_nearest(s, len, strategy_names, N_ELEMS(strategy_names))))
		return cfg_ld_fail(ld, line, path, "unknown strategy '%s' (did you mean '%s'?)",
				   shown, near);
	return cfg_ld_fail(ld, line, path, "unknown strategy '%s' (known: fallback, weighted, "
			   "round_robin, least_latency)", shown);
}

/* A fixed delay in whole milliseconds, or p95: the deployment's own. */
static int ld_hedge(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ld_mod *mod = ld->cur;
	char shown[CFG_LD_SHOW];
	const char *s, *why = NULL;
	size_t len;
	uint64_t us;
	int ret;

	mod->hedge_line = line;
	if ((ret = cfg_ld_scalar(ld, &val, line, path, &s, &len)))
		return ret;
	if (len == 3 && !memcmp(s, "p95", 3)) {
		mod->m->hedge_p95 = 1;
		mod->m->hedge_after_ms = 0;
		return 0;
	}
	cfg_ld_show(shown, sizeof(shown), s, len);
	if (cfg_parse_duration_us(s, len, &us, &why))
		return cfg_ld_fail(ld, line, path, "'%s' %s (or p95)", shown, why);
	if (us % 1000 || us < 1000 || us / 1000 > LD_HEDGE_MAX_MS)
		return cfg_ld_fail(ld, line, path, "'%s' must be whole milliseconds in 1ms..10m",
				   shown);
	mod->m->hedge_after_ms = (uint32_t)(us / 1000);
	mod->m->hedge_p95 = 0;
	return 0;
}

/* One entry of targets: a mapping with at least a provider. */
static int ld_target(struct cfg_ld *ld, struct cfg_target *t, struct fy_node *n, int line,
		     const char *path)
{
	struct fy_node *pv;
	int ret, pline;

	t->weight = 1;
	t->line = line;
	if ((ret = cfg_ld_mapping(ld, &n, line, path, 0)))
		return ret;
	if ((ret = cfg_ld_section(ld, n, line, path, target_fields, N_ELEMS(target_fields), t)))
		return ret;
	if (!t->provider)
		return cfg_ld_fail(ld, line, path, "missing key 'provider'");
	pline = line;
	cfg_ld_lookup(n, "provider", &pv, &pline);
	t->provider_line = pline;
	return 0;
}

static int ld_targets(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ld_mod *mod = ld->cur;
	struct cfg_model *m = mod->m;
	char sub[CFG_LD_PATH + 16];
	int ret, count;

	if ((ret = cfg_ld_deref(ld, &val, line, path)))
		return ret;
	if (!val || !fy_node_is_sequence(val))
		return cfg_ld_fail(ld, line, path, "must be a list of targets "
				   "(- {provider: NAME, model: MODEL})");
	count = fy_node_sequence_item_count(val);
	if (count <= 0)
		return cfg_ld_fail(ld, line, path, "needs at least one target");
	if (count > LB_MAX_TARGETS)
		return cfg_ld_fail(ld, line, path, "%d targets; at most %d", count, LB_MAX_TARGETS);
	/* A repeated `targets` key (through an alias) replaces the list. */
	for (size_t i = 0; i < m->n_targets; i++)
		ld_target_free(&m->targets[i]);
	free(m->targets);
	m->n_targets = 0;
	if (!(m->targets = calloc((size_t)count, sizeof(*m->targets))))
		return cfg_ld_nomem(ld);
	mod->targets_line = line;
	for (int i = 0; i < count; i++) {
		struct fy_node *item = fy_node_sequence_get_by_index(val, i);
		int iline = cfg_ld_line(item, line);

		snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		m->n_targets++;
		if ((ret = ld_target(ld, &m->targets[i], item, iline, sub)))
			return ret;
	}
	return 0;
}

/* ---- an alias ------------------------------------------------------------------- */

/* The rules between an alias's keys, once they are all read: one form or
 * the other, and hedging only with somewhere to hedge to. */
static int ld_model_form(struct cfg_ld *ld, struct ld_mod *mod, struct fy_node *map,
			 int kline, const char *path)
{
	struct cfg_model *m = mod->m;
	char sub[CFG_LD_PATH + 16];
	struct fy_node *v;
	int line;

	for (size_t i = 0; mod->targets_line && i < N_ELEMS(simple_keys); i++) {
		line = kline;
		if (cfg_ld_lookup(map, simple_keys[i], &v, &line)) {
			snprintf(sub, sizeof(sub), "%s.%s", path, simple_keys[i]);
			return cfg_ld_fail(ld, line, sub, "not with 'targets': give provider, "
					   "model and limits in each target");
		}
	}
	if (!mod->targets_line) {
		if (!mod->simple.provider)
			return cfg_ld_fail(ld, kline, path, "missing key 'provider' (or 'targets')");
		if (!(m->targets = calloc(1, sizeof(*m->targets))))
			return cfg_ld_nomem(ld);
		line = kline;
		cfg_ld_lookup(map, "provider", &v, &line);
		mod->simple.provider_line = line;
		mod->simple.line = kline;
		mod->simple.weight = 1;
		m->targets[0] = mod->simple;
		m->n_targets = 1;
		memset(&mod->simple, 0, sizeof(mod->simple));
	}
	if ((m->hedge_after_ms || m->hedge_p95) && m->n_targets < 2) {
		snprintf(sub, sizeof(sub), "%s.hedge_after", path);
		return cfg_ld_fail(ld, mod->hedge_line, sub, "hedging needs at least two targets");
	}
	return 0;
}

int cfg_ld_model(struct cfg_ld *ld, void *ctx, const char *key, size_t klen, int kline,
		 struct fy_node *val, const char *path)
{
	struct cfg *c = ld->c;
	struct cfg_model *m = &c->models[c->n_models];
	struct ld_mod mod = { .m = m };
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW];
	int ret;

	(void)ctx;
	if ((ret = cfg_ld_check_name(ld, key, klen, kline, path, "alias")))
		return ret;
	cfg_ld_show(shown, sizeof(shown), key, klen);
	if (cfg_find_model(c, key, klen))
		return cfg_ld_fail(ld, kline, path, "duplicate alias '%s'", shown);
	if (!(m->alias = strndup(key, klen)))
		return cfg_ld_nomem(ld);
	m->alias_len = klen;
	c->n_models++;
	m->line = kline;
	cfg_ld_subpath(sub, sizeof(sub), path, key, klen);
	if ((ret = cfg_ld_mapping(ld, &val, kline, sub, 0)))
		return ret;
	ld->cur = &mod;
	ret = cfg_ld_section(ld, val, kline, sub, model_fields, N_ELEMS(model_fields), &mod);
	ld->cur = NULL;
	/* 0 until cfg_ld_models_finish: resilience may come later in the file. */
	m->max_attempts = mod.max_attempts;
	if (!ret)
		ret = ld_model_form(ld, &mod, val, kline, sub);
	ld_target_free(&mod.simple);
	return ret;
}

/* ---- after the whole file ---------------------------------------------------------- */

static size_t ld_provider_index(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (!strcmp(c->providers[i].name, name))
			return i;
	return SIZE_MAX;
}

/* n with its alias followed, if it is a mapping (or a sequence). */
static struct fy_node *ld_follow(struct fy_node *n, int want_map)
{
	if (n && fy_node_is_alias(n))
		n = fy_node_resolve_alias(n);
	if (!n || !(want_map ? fy_node_is_mapping(n) : fy_node_is_sequence(n)))
		return NULL;
	return n;
}

/* The mapping target i of m is written in (the alias's own in the simple
 * form, *simple set), found again in the document: it stays loaded until
 * the load ends, and only messages need it, so no line per key is kept.
 * NULL if not found. */
static struct fy_node *ld_target_node(struct cfg_ld *ld, const struct cfg_model *m, size_t i,
				      int *simple)
{
	struct fy_node *n, *t;
	int unused = 0;

	*simple = 0;
	if (!(n = ld_follow(ld->models_node, 1)) || !cfg_ld_lookup(n, m->alias, &n, &unused) ||
	    !(n = ld_follow(n, 1)))
		return NULL;
	if (!cfg_ld_lookup(n, "targets", &t, &unused)) {
		*simple = 1;
		return n;
	}
	if (!(t = ld_follow(t, 0)))
		return NULL;
	return ld_follow(fy_node_sequence_get_by_index(t, (int)i), 1);
}

/* Put "models.ALIAS[.targets[i]][.key]" in path and return the line of key
 * in target i (of the target when key is NULL or not written there). */
static int ld_target_at(struct cfg_ld *ld, const struct cfg_model *m, size_t i,
			const char *key, char *path, size_t size)
{
	char alias[CFG_LD_PATH];
	struct fy_node *n, *v;
	int simple, line = m->targets[i].line;

	n = ld_target_node(ld, m, i, &simple);
	cfg_ld_subpath(alias, sizeof(alias), "models", m->alias, m->alias_len);
	if (simple)
		snprintf(path, size, "%s%s%s", alias, key ? "." : "", key ? key : "");
	else
		snprintf(path, size, "%s.targets[%zu]%s%s", alias, i, key ? "." : "",
			 key ? key : "");
	if (key && n)
		cfg_ld_lookup(n, key, &v, &line);
	return line;
}

/* Which target gave each limit of one deployment first, and its value. */
struct ld_given {
	uint64_t v[LD_N_LIMITS];
	size_t model[LD_N_LIMITS], target[LD_N_LIMITS];
};

/* A second, different value for one deployment's limit is a contradiction
 * the file must settle: both places are named. */
static int ld_conflict(struct cfg_ld *ld, size_t mi, size_t ti, size_t k,
		       const struct ld_given *g)
{
	const struct cfg *c = ld->c;
	const struct cfg_target *t = &c->models[mi].targets[ti];
	char path[CFG_LD_PATH + 32], first[CFG_LD_PATH + 32], prov[CFG_LD_SHOW], mod[CFG_LD_SHOW];
	int line, fline;

	line = ld_target_at(ld, &c->models[mi], ti, limit_keys[k], path, sizeof(path));
	fline = ld_target_at(ld, &c->models[g->model[k]], g->target[k], limit_keys[k], first,
			     sizeof(first));
	cfg_ld_show(prov, sizeof(prov), t->provider, strlen(t->provider));
	cfg_ld_show(mod, sizeof(mod), t->model, strlen(t->model));
	return cfg_ld_fail(ld, line, path, "conflicts with %llu given at line %d for "
			   "deployment %s/%s", (unsigned long long)g->v[k], fline, prov, mod);
}

/* Find or add target ti's deployment, and add its limits to it. */
static int ld_deployment(struct cfg_ld *ld, size_t mi, size_t ti, struct ld_given *given)
{
	struct cfg *c = ld->c;
	struct cfg_model *m = &c->models[mi];
	struct cfg_target *t = &m->targets[ti];
	char path[CFG_LD_PATH + 32], prov[CFG_LD_SHOW], mod[CFG_LD_SHOW];
	struct cfg_deployment *dep;
	struct ld_given *g;
	size_t d;

	for (d = 0; d < c->n_deployments; d++)
		if (c->deployments[d].provider_idx == t->provider_idx &&
		    !strcmp(c->deployments[d].model, t->model))
			break;
	for (size_t j = 0; j < ti && d < c->n_deployments; j++)
		if (m->targets[j].deployment == d) {
			int line = ld_target_at(ld, m, ti, NULL, path, sizeof(path));

			cfg_ld_show(prov, sizeof(prov), t->provider, strlen(t->provider));
			cfg_ld_show(mod, sizeof(mod), t->model, strlen(t->model));
			return cfg_ld_fail(ld, line, path, "duplicate target: %s/%s is "
					   "targets[%zu] already", prov, mod, j);
		}
	dep = &c->deployments[d];
	if (d == c->n_deployments) {
		if (!(dep->model = strdup(t->model)))
			return cfg_ld_nomem(ld);
		dep->provider_idx = t->provider_idx;
		dep->line = t->line;
		c->n_deployments++;
	}
	t->deployment = d;
	g = &given[d];
	for (size_t k = 0; k < LD_N_LIMITS; k++) {
		uint64_t v = ld_limit(t, k);

		if (v && g->v[k] && g->v[k] != v)
			return ld_conflict(ld, mi, ti, k, g);
		if (v && !g->v[k]) {
			g->v[k] = v;
			g->model[k] = mi;
			g->target[k] = ti;
		}
	}
	dep->max_concurrent = (uint32_t)g->v[0];
	dep->rpm = (uint32_t)g->v[1];
	dep->tpm = g->v[2];
	return 0;
}

/* Resolve target ti of alias mi: its model's default, its provider, its
 * deployment. */
static int ld_resolve_target(struct cfg_ld *ld, size_t mi, size_t ti, struct ld_given *given)
{
	struct cfg *c = ld->c;
	struct cfg_model *m = &c->models[mi];
	struct cfg_target *t = &m->targets[ti];
	char path[CFG_LD_PATH + 32], shown[CFG_LD_SHOW];
	int line;

	if (!t->model && !(t->model = strdup(m->alias)))
		return cfg_ld_nomem(ld);
	t->provider_idx = ld_provider_index(c, t->provider);
	if (t->provider_idx == SIZE_MAX) {
		line = ld_target_at(ld, m, ti, "provider", path, sizeof(path));
		cfg_ld_show(shown, sizeof(shown), t->provider, strlen(t->provider));
		return cfg_ld_fail(ld, line, path, "no provider named '%s'", shown);
	}
	return ld_deployment(ld, mi, ti, given);
}

int cfg_ld_models_finish(struct cfg_ld *ld)
{
	struct cfg *c = ld->c;
	struct ld_given *given = NULL;
	size_t total = 0;
	int ret = 0;

	for (size_t i = 0; i < c->n_models; i++)
		total += c->models[i].n_targets;
	/* At most one deployment per target: neither array ever grows. */
	if (!(c->deployments = calloc(total ? total : 1, sizeof(*c->deployments))) ||
	    !(given = calloc(total ? total : 1, sizeof(*given)))) {
		free(given);
		return cfg_ld_nomem(ld);
	}
	for (size_t i = 0; i < c->n_models && !ret; i++) {
		struct cfg_model *m = &c->models[i];

		for (size_t j = 0; j < m->n_targets && !ret; j++)
			ret = ld_resolve_target(ld, i, j, given);
		if (ret)
			break;
		if (!m->max_attempts)
			m->max_attempts = c->resilience.retry.max_attempts;
		/* The first target stands for the alias where one is enough. */
		m->provider = m->targets[0].provider;
		m->provider_idx = m->targets[0].provider_idx;
		m->model = m->targets[0].model;
		m->provider_line = m->targets[0].provider_line;
	}
	free(given);
	return ret;
}

void cfg_ld_models_free(struct cfg *c)
{
	for (size_t i = 0; i < c->n_models; i++) {
		struct cfg_model *m = &c->models[i];

		free(m->alias);
		for (size_t j = 0; j < m->n_targets; j++)
			ld_target_free(&m->targets[j]);
		free(m->targets);
	}
	free(c->models);
	c->models = NULL;
	c->n_models = 0;
	for (size_t i = 0; i < c->n_deployments; i++)
		free(c->deployments[i].model);
	free(c->deployments);
	c->deployments = NULL;
	c->n_deployments = 0;
}
