/*
 * config_tenant.c — `tenants:`: rate limits per Unix user (see config.h).
 *
 * A name is looked up as a user now, like listen.group: a typo must stop
 * start-up, not silently leave a tenant unlimited. A number that is no
 * user's name is taken as a uid (a container may run as a uid with no
 * passwd entry).
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_load.h"
#include "config_value.h"

/* Bounds as for a deployment's limits (config_model.c). */
#define LD_T_CONCURRENT_MAX	1000000u
#define LD_T_RPM_MAX		100000000u
#define LD_T_TPM_MAX		1000000000000ull
/* getpwnam_r's buffer may grow to this; real entries need a few hundred. */
#define LD_PWBUF_MAX		(1u << 20)

static const struct cfg_ld_field tenant_fields[] = {
	FIELD(struct cfg_tenant, max_concurrent, "max_concurrent", CFG_LT_COUNT, 0, LD_T_CONCURRENT_MAX),
	FIELD(struct cfg_tenant, rpm, "rpm", CFG_LT_COUNT, 0, LD_T_RPM_MAX),
	FIELD(struct cfg_tenant, tpm, "tpm", CFG_LT_COUNT, 0, LD_T_TPM_MAX),
};

static int ld_user(struct cfg_ld *ld, const char *name, int line, const char *path, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	size_t size = 1024;
	char *buf = NULL, *grow, shown[CFG_LD_SHOW];
	const char *why = NULL;
	uint64_t num;
	int ret;

	for (;;) {
		if (!(grow = realloc(buf, size))) {
			ret = cfg_ld_nomem(ld);
			goto out;
		}
		buf = grow;
		ret = getpwnam_r(name, &pw, buf, size, &res);
		if (ret != ERANGE || size >= LD_PWBUF_MAX)
			break;
		size *= 2;
	}
	cfg_ld_show(shown, sizeof(shown), name, strlen(name));
	if (res) {
		*uid = res->pw_uid;
		ret = 0;
	} else if (cfg_parse_uint(name, strlen(name), &num, &why) == 0 && num < (uid_t)-1) {
		*uid = (uid_t)num;
		ret = 0;
	} else if (ret && ret != ENOENT && ret != ESRCH) {
		ret = cfg_ld_fail(ld, line, path, "cannot look up user '%s': %s", shown, strerror(ret));
	} else {
		ret = cfg_ld_fail(ld, line, path, "no such user '%s'", shown);
	}
out:
	free(buf);
	return ret;
}

static int ld_tenant(struct cfg_ld *ld, void *ctx, const char *key, size_t klen, int kline,
		     struct fy_node *val, const char *path)
{
	struct cfg *c = ld->c;
	struct cfg_tenant *t = &c->tenants[c->n_tenants];
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW];
	int ret;

	(void)ctx;
	if ((ret = cfg_ld_check_name(ld, key, klen, kline, path, "tenant")))
		return ret;
	if (!(t->name = strndup(key, klen)))
		return cfg_ld_nomem(ld);
	c->n_tenants++;
	t->line = kline;
	cfg_ld_subpath(sub, sizeof(sub), path, key, klen);
	t->any = klen == 1 && key[0] == '*';
	if (!t->any && (ret = ld_user(ld, t->name, kline, sub, &t->uid)))
		return ret;
	for (size_t i = 0; i + 1 < c->n_tenants; i++) {
		const struct cfg_tenant *o = &c->tenants[i];

		if (o->any == t->any && (t->any || o->uid == t->uid)) {
			cfg_ld_show(shown, sizeof(shown), key, klen);
			return cfg_ld_fail(ld, kline, sub, "'%s' is the same tenant as '%s' at line %d",
					   shown, o->name, o->line);
		}
	}
	return cfg_ld_section(ld, val, kline, sub, tenant_fields, N_ELEMS(tenant_fields), t);
}

int cfg_ld_tenants(struct cfg_ld *ld, struct fy_node *n, int line, const char *path)
{
	int count, ret;

	cfg_ld_tenants_free(ld->c);
	if ((ret = cfg_ld_mapping(ld, &n, line, path, 1)) || !n)
		return ret;
	count = fy_node_mapping_item_count(n);
	if (count <= 0)
		return 0;
	if (!(ld->c->tenants = calloc((size_t)count, sizeof(*ld->c->tenants))))
		return cfg_ld_nomem(ld);
	return cfg_ld_each_pair(ld, n, line, path, ld_tenant, NULL);
}

void cfg_ld_tenants_free(struct cfg *c)
{
	for (size_t i = 0; i < c->n_tenants; i++)
		free(c->tenants[i].name);
	free(c->tenants);
	c->tenants = NULL;
	c->n_tenants = 0;
}

const struct cfg_tenant *cfg_find_tenant(const struct cfg *c, uid_t uid)
{
	const struct cfg_tenant *any = NULL;

	for (size_t i = 0; i < c->n_tenants; i++) {
		if (c->tenants[i].any)
			any = &c->tenants[i];
		else if (c->tenants[i].uid == uid)
			return &c->tenants[i];
	}
	return any;
}
