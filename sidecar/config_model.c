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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_load.h"
#include "config_value.h"
#include "lb.h"

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

/* One alias being read: the simple form's keys land in `simple`. */
struct ld_mod {
	struct cfg_model *m;
	struct cfg_target simple;
	uint32_t max_attempts;
	int targets_line;	/* 0: no `targets` key */
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

static void ld_target_free(struct cfg_target *t)
{
	free(t->provider);
	free(t->model);
	t->provider = t->model = NULL;
}

/* ---- keys that need more than a table --------------------------------------- */

static int ld_strategy(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ld_mod *mod = ld->cur;
	char shown[CFG_LD_SHOW];
	const char *s;
	size_t len;
	int ret, st;

	if ((ret = cfg_ld_scalar(ld, &val, line, path, &s, &len)))
		return ret;
	if ((st = lb_strategy_from_name(s, len)) < 0) {
		cfg_ld_show(shown, sizeof(shown), s, len);
		return cfg_ld_fail(ld, line, path, "unknown strategy '%s' (known: fallback, "
				   "weighted, round_robin, least_latency)", shown);
	}
	mod->m->strategy = (enum cfg_strategy)st;
	return 0;
}

static int ld_hedge(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ld_mod *mod = ld->cur;
	char shown[CFG_LD_SHOW];
	const char *s, *why = NULL;
	size_t len;
	uint64_t us;
	int ret;

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
	t->provider_line = cfg_ld_line(pv, pline);
	return 0;
}

static int ld_targets(struct cfg_ld *ld, struct fy_node *val, int line, const char *path)
{
	struct ld_mod *mod = ld->cur;
	struct cfg_model *m = mod->m;
	char sub[CFG_LD_PATH];
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
	m->max_attempts = mod.max_attempts;
	if (ret)
		goto out;
	if (mod.targets_line && (mod.simple.provider || mod.simple.model || mod.simple.rpm ||
				 mod.simple.tpm || mod.simple.max_concurrent)) {
		ret = cfg_ld_fail(ld, mod.targets_line, sub, "'targets' replaces provider, model "
				  "and limits at the alias: give those in each target");
		goto out;
	}
	if (!mod.targets_line) {
		struct fy_node *pv;
		int pline = kline;

		if (!mod.simple.provider) {
			ret = cfg_ld_fail(ld, kline, sub, "missing key 'provider' (or 'targets')");
			goto out;
		}
		if (!(m->targets = calloc(1, sizeof(*m->targets)))) {
			ret = cfg_ld_nomem(ld);
			goto out;
		}
		cfg_ld_lookup(val, "provider", &pv, &pline);
		mod.simple.provider_line = cfg_ld_line(pv, pline);
		mod.simple.line = kline;
		mod.simple.weight = 1;
		m->targets[0] = mod.simple;
		m->n_targets = 1;
		memset(&mod.simple, 0, sizeof(mod.simple));
	}
out:
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

/* "models.ALIAS.targets[i]" (or "models.ALIAS" for the simple form). */
static void ld_target_path(char *buf, size_t size, const struct cfg_model *m, size_t i)
{
	char alias[CFG_LD_PATH];

	cfg_ld_subpath(alias, sizeof(alias), "models", m->alias, m->alias_len);
	if (m->n_targets == 1 && m->targets[0].line == m->line)
		snprintf(buf, size, "%s", alias);
	else
		snprintf(buf, size, "%s.targets[%zu]", alias, i);
}

/* A limit given on a target joins its deployment's; a second, different
 * value for the same deployment is a contradiction the file must settle. */
static int ld_limit(struct cfg_ld *ld, uint64_t *dep_v, int *dep_line, uint64_t v,
		    const struct cfg_model *m, size_t i, const char *key,
		    const struct cfg_deployment *d)
{
	char path[CFG_LD_PATH + 16], shown[CFG_LD_SHOW];

	if (!v)
		return 0;
	if (*dep_v && *dep_v != v) {
		ld_target_path(path, sizeof(path), m, i);
		strncat(path, ".", sizeof(path) - strlen(path) - 1);
		strncat(path, key, sizeof(path) - strlen(path) - 1);
		cfg_ld_show(shown, sizeof(shown), d->model, strlen(d->model));
		return cfg_ld_fail(ld, m->targets[i].line, path, "conflicts with %llu given at line "
				   "%d for deployment %s/%s", (unsigned long long)*dep_v, *dep_line,
				   ld->c->providers[d->provider_idx].name, shown);
	}
	*dep_v = v;
	*dep_line = m->targets[i].line;
	return 0;
}

struct ld_dep_lines {
	uint64_t conc, rpm, tpm;
	int conc_line, rpm_line, tpm_line;
};

static int ld_deployment(struct cfg_ld *ld, struct cfg_model *m, size_t i,
			 struct ld_dep_lines *lines)
{
	struct cfg *c = ld->c;
	struct cfg_target *t = &m->targets[i];
	char path[CFG_LD_PATH + 16];
	size_t d;
	int ret;

	for (d = 0; d < c->n_deployments; d++)
		if (c->deployments[d].provider_idx == t->provider_idx &&
		    !strcmp(c->deployments[d].model, t->model))
			break;
	for (size_t j = 0; j < i && d < c->n_deployments; j++)
		if (m->targets[j].deployment == d) {
			ld_target_path(path, sizeof(path), m, i);
			return cfg_ld_fail(ld, t->line, path, "duplicate target: %s/%s is "
					   "targets[%zu] already", t->provider, t->model, j);
		}
	if (d == c->n_deployments) {
		struct cfg_deployment *nd = &c->deployments[d];

		if (!(nd->model = strdup(t->model)))
			return cfg_ld_nomem(ld);
		nd->provider_idx = t->provider_idx;
		nd->line = t->line;
		c->n_deployments++;
	}
	t->deployment = d;
	struct ld_dep_lines *l = &lines[d];
	if ((ret = ld_limit(ld, &l->conc, &l->conc_line, t->max_concurrent, m, i,
			    "max_concurrent", &c->deployments[d])) ||
	    (ret = ld_limit(ld, &l->rpm, &l->rpm_line, t->rpm, m, i, "rpm", &c->deployments[d])) ||
	    (ret = ld_limit(ld, &l->tpm, &l->tpm_line, t->tpm, m, i, "tpm", &c->deployments[d])))
		return ret;
	c->deployments[d].max_concurrent = (uint32_t)l->conc;
	c->deployments[d].rpm = (uint32_t)l->rpm;
	c->deployments[d].tpm = l->tpm;
	return 0;
}

int cfg_ld_models_finish(struct cfg_ld *ld)
{
	struct cfg *c = ld->c;
	char path[CFG_LD_PATH + 16], shown[CFG_LD_SHOW];
	size_t total = 0;
	struct ld_dep_lines *lines;
	int ret = 0;

	for (size_t i = 0; i < c->n_models; i++)
		total += c->models[i].n_targets;
	if (!(c->deployments = calloc(total ? total : 1, sizeof(*c->deployments))) ||
	    !(lines = calloc(total ? total : 1, sizeof(*lines))))
		return cfg_ld_nomem(ld);
	for (size_t i = 0; i < c->n_models && !ret; i++) {
		struct cfg_model *m = &c->models[i];

		for (size_t j = 0; j < m->n_targets && !ret; j++) {
			struct cfg_target *t = &m->targets[j];

			if (!t->model && !(t->model = strdup(m->alias))) {
				ret = cfg_ld_nomem(ld);
				break;
			}
			t->provider_idx = ld_provider_index(c, t->provider);
			if (t->provider_idx == SIZE_MAX) {
				ld_target_path(path, sizeof(path), m, j);
				strncat(path, ".provider", sizeof(path) - strlen(path) - 1);
				cfg_ld_show(shown, sizeof(shown), t->provider, strlen(t->provider));
				ret = cfg_ld_fail(ld, t->provider_line, path, "no provider named '%s'",
						  shown);
				break;
			}
			ret = ld_deployment(ld, m, j, lines);
		}
		if (ret)
			break;
		if ((m->hedge_after_ms || m->hedge_p95) && m->n_targets < 2) {
			cfg_ld_subpath(path, sizeof(path), "models", m->alias, m->alias_len);
			ret = cfg_ld_fail(ld, m->line, path, "hedge_after needs at least two targets");
			break;
		}
		if (!m->max_attempts)
			m->max_attempts = c->resilience.retry.max_attempts;
		/* The first target stands for the alias where one is enough. */
		m->provider = m->targets[0].provider;
		m->provider_idx = m->targets[0].provider_idx;
		m->model = m->targets[0].model;
		m->provider_line = m->targets[0].provider_line;
	}
	free(lines);
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
