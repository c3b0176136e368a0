/*
 * config_field.c — reading one known key's value into the config: numbers
 * with units and bounds, names, free text, booleans, the socket path, the
 * group; and the walker that matches a mapping's keys against a field
 * table. See config_load.h.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_load.h"
#include "config_value.h"
#include "sockpath.h"		/* SOCKPATH_MAX */

/* How far an unknown key may be from a known one to be suggested. */
#define LD_SUGGEST_DIST 2

/* getgrnam_r buffer bound: big enough for any sane group's member list. */
#define LD_GRBUF_MAX (1u << 20)

int cfg_ld_check_name(struct cfg_ld *ld, const char *s, size_t len, int line,
		      const char *path, const char *what)
{
	char shown[CFG_LD_SHOW];
	size_t i;

	if (len == 0)
		return cfg_ld_fail(ld, line, path, "%s is empty", what);
	cfg_ld_show(shown, sizeof(shown), s, len);
	if (len > CFG_NAME_MAX)
		return cfg_ld_fail(ld, line, path, "%s '%s' is %zu bytes long (max %d)", what,
				   shown, len, CFG_NAME_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cfg_ld_fail(ld, line, path,
					   "%s '%s' contains a control character", what, shown);
	return 0;
}

/* ---- values --------------------------------------------------------------- */

/* Where a field lives in the struct its table is read into. */
static void *ld_at(void *base, size_t off)
{
	return (char *)base + off;
}

static void ld_format(enum cfg_ld_type type, uint64_t v, char *buf, size_t size)
{
	if (type == CFG_LT_SIZE || type == CFG_LT_RING)
		cfg_format_size(v, buf, size);
	else if (type == CFG_LT_MS)
		cfg_format_duration_us(v * 1000, buf, size);
	else if (type == CFG_LT_US)
		cfg_format_duration_us(v, buf, size);
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

static int ld_number(struct cfg_ld *ld, const struct cfg_ld_field *f, const char *s,
		     size_t len, int line, const char *path, void *dst)
{
	char shown[CFG_LD_SHOW], lo[CFG_VALUE_BUF], hi[CFG_VALUE_BUF];
	const char *why = NULL;
	uint64_t v;
	int ret;

	if (f->type == CFG_LT_COUNT)
		ret = cfg_parse_uint(s, len, &v, &why);
	else if (f->type == CFG_LT_SIZE || f->type == CFG_LT_RING)
		ret = cfg_parse_size(s, len, &v, &why);
	else
		ret = cfg_parse_duration_us(s, len, &v, &why);
	cfg_ld_show(shown, sizeof(shown), s, len);
	if (ret)
		return cfg_ld_fail(ld, line, path, "'%s' %s", shown, why);
	if (f->type == CFG_LT_MS) {
		if (v % 1000)
			return cfg_ld_fail(ld, line, path,
					   "'%s' is not a whole number of milliseconds", shown);
		v /= 1000;
	}
	if (v < f->min || v > f->max) {
		ld_format(f->type, f->min, lo, sizeof(lo));
		ld_format(f->type, f->max, hi, sizeof(hi));
		return cfg_ld_fail(ld, line, path, "'%s' is out of range (%s..%s)", shown, lo, hi);
	}
	if (f->type == CFG_LT_RING && (v & (v - 1)))
		return cfg_ld_fail(ld, line, path, "'%s' is not a power of two", shown);
	if (f->size == sizeof(uint64_t))
		*(uint64_t *)dst = v;
	else
		*(uint32_t *)dst = (uint32_t)v;
	return 0;
}

/* Group by name, or by number when no group has that name (as chown does).
 * It must exist now: a typo should stop start-up, not surface at bind. */
static int ld_group(struct cfg_ld *ld, const char *name, int line, const char *path,
		    gid_t *gid)
{
	struct group gr, *res = NULL;
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
		ret = getgrnam_r(name, &gr, buf, size, &res);
		if (ret != ERANGE || size >= LD_GRBUF_MAX)
			break;
		size *= 2;
	}
	cfg_ld_show(shown, sizeof(shown), name, strlen(name));
	if (res) {
		*gid = res->gr_gid;
		ret = 0;
	} else if (cfg_parse_uint(name, strlen(name), &num, &why) == 0 &&
		   num < (gid_t)-1) {
		*gid = (gid_t)num;
		ret = 0;
	} else if (ret && ret != ENOENT && ret != ESRCH) {
		ret = cfg_ld_fail(ld, line, path, "cannot look up group '%s': %s", shown,
				  strerror(ret));
	} else {
		ret = cfg_ld_fail(ld, line, path, "no such group '%s'", shown);
	}
out:
	free(buf);
	return ret;
}

/* Strings: checked, copied out of the document (which is freed after the
 * load), replacing any earlier value from a repeated key. */
static int ld_string(struct cfg_ld *ld, const struct cfg_ld_field *f, const char *s,
		     size_t len, int line, const char *path, void *base)
{
	char **dst = ld_at(base, f->off), *copy;
	char shown[CFG_LD_SHOW];
	gid_t gid = 0;
	int ret = 0;

	cfg_ld_show(shown, sizeof(shown), s, len);
	if (memchr(s, '\0', len))
		return cfg_ld_fail(ld, line, path, "'%s' contains a NUL byte", shown);
	if (f->type == CFG_LT_SOCKET && len > 0 && s[0] != '/')
		return cfg_ld_fail(ld, line, path, "'%s' is not an absolute path", shown);
	if (f->type == CFG_LT_SOCKET && len >= SOCKPATH_MAX)
		return cfg_ld_fail(ld, line, path, "'%s' is longer than a socket path can be "
				   "(%d bytes)", shown, SOCKPATH_MAX - 1);
	if (f->type == CFG_LT_GROUP && len == 0)
		return cfg_ld_fail(ld, line, path, "group name is empty (omit the key to "
				   "keep the socket's group)");
	if (f->type == CFG_LT_NAME && (ret = cfg_ld_check_name(ld, s, len, line, path, "name")))
		return ret;
	if (f->type == CFG_LT_SOCKET && len == 0) {
		copy = NULL;	/* "" means the default path, same as absent */
	} else if (!(copy = strndup(s, len))) {
		return cfg_ld_nomem(ld);
	}
	if (f->type == CFG_LT_GROUP && (ret = ld_group(ld, copy, line, path, &gid))) {
		free(copy);
		return ret;
	}
	if (f->type == CFG_LT_GROUP)
		*(gid_t *)ld_at(base, f->aux) = gid;
	free(*dst);
	*dst = copy;
	return 0;
}

/* Free text kept as written, f->min..f->max bytes. An OPAQUE value may be a
 * key or a URL with a credential in it, so messages say "the value" and
 * never show it; a value it replaces is wiped before it is freed. */
static int ld_text(struct cfg_ld *ld, const struct cfg_ld_field *f, const char *s,
		   size_t len, int line, const char *path, void *base)
{
	char shown[CFG_LD_SHOW], what[CFG_LD_SHOW + 2], **dst = ld_at(base, f->off), *copy;
	size_t i;

	if (f->type == CFG_LT_OPAQUE) {
		snprintf(what, sizeof(what), "the value");
	} else {
		cfg_ld_show(shown, sizeof(shown), s, len);
		snprintf(what, sizeof(what), "'%s'", shown);
	}
	if (len == 0 && f->min > 0)
		return cfg_ld_fail(ld, line, path, "the value is empty");
	if (len > f->max)
		return cfg_ld_fail(ld, line, path, "%s is %zu bytes long (max %llu)", what, len,
				   (unsigned long long)f->max);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cfg_ld_fail(ld, line, path, "%s contains a control character",
					   what);
	if (!(copy = strndup(s, len)))
		return cfg_ld_nomem(ld);
	if (*dst && f->type == CFG_LT_OPAQUE)
		explicit_bzero(*dst, strlen(*dst));
	free(*dst);
	*dst = copy;
	return 0;
}

static int ld_value(struct cfg_ld *ld, const struct cfg_ld_field *f, struct fy_node *val,
		    int line, const char *path, void *base)
{
	char shown[CFG_LD_SHOW];
	const char *s, *why = NULL;
	size_t len, i;
	unsigned mode;
	int ret;

	switch (f->type) {
	case CFG_LT_SECTION:
		return cfg_ld_section(ld, val, line, path, f->fields, f->n_fields, base);
	case CFG_LT_CALL:
		return f->call(ld, val, line, path);
	case CFG_LT_SKIP:
		return 0;
	case CFG_LT_SOCKET:
	case CFG_LT_GROUP:
		if ((ret = cfg_ld_deref(ld, &val, line, path)))
			return ret;
		if (cfg_ld_is_null(val)) {
			char **dst = ld_at(base, f->off);

			free(*dst);
			*dst = NULL;
			return 0;
		}
		break;
	default:
		break;
	}
	if ((ret = cfg_ld_scalar(ld, &val, line, path, &s, &len)))
		return ret;
	switch (f->type) {
	case CFG_LT_MODE:
		if (cfg_parse_mode(s, len, &mode, &why) == 0) {
			*(unsigned *)ld_at(base, f->off) = mode;
			return 0;
		}
		cfg_ld_show(shown, sizeof(shown), s, len);
		return cfg_ld_fail(ld, line, path, "'%s' %s", shown, why);
	case CFG_LT_LEVEL:
		for (i = CFG_LOG_DEBUG; i <= CFG_LOG_ERROR; i++) {
			const char *name = cfg_log_level_name((enum cfg_log_level)i);

			if (strlen(name) == len && memcmp(name, s, len) == 0) {
				*(enum cfg_log_level *)ld_at(base, f->off) = (enum cfg_log_level)i;
				return 0;
			}
		}
		cfg_ld_show(shown, sizeof(shown), s, len);
		return cfg_ld_fail(ld, line, path,
				   "unknown level '%s' (known: debug, info, warn, error)", shown);
	case CFG_LT_SOCKET:
	case CFG_LT_GROUP:
	case CFG_LT_NAME:
		return ld_string(ld, f, s, len, line, path, base);
	case CFG_LT_TEXT:
	case CFG_LT_OPAQUE:
		return ld_text(ld, f, s, len, line, path, base);
	case CFG_LT_BOOL:
		if (cfg_parse_bool(s, len, (int *)ld_at(base, f->off), &why) == 0)
			return 0;
		cfg_ld_show(shown, sizeof(shown), s, len);
		return cfg_ld_fail(ld, line, path, "'%s' %s", shown, why);
	default:
		return ld_number(ld, f, s, len, line, path, ld_at(base, f->off));
	}
}

struct ld_section_ctx {
	const struct cfg_ld_field *fields;
	size_t n_fields;
	void *base;
};

/* Whether an unknown key may be quoted (see cfg_ld.shown_key_max). */
static int ld_key_showable(const struct cfg_ld *ld, const char *key, size_t klen)
{
	size_t i;

	if (!ld->shown_key_max)
		return 1;
	if (klen > ld->shown_key_max)
		return 0;
	for (i = 0; i < klen; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
		      (key[i] >= '0' && key[i] <= '9') || key[i] == '_' || key[i] == '-'))
			return 0;
	return 1;
}

/* An unknown key: suggest the nearest known one, else list them all. */
static int ld_unknown_key(struct cfg_ld *ld, const struct ld_section_ctx *sc,
			  const char *key, size_t klen, int line, const char *path)
{
	char shown[CFG_LD_SHOW], known[256] = "";
	size_t i, d, best = SIZE_MAX, best_i = 0;

	for (i = 0; i < sc->n_fields; i++) {
		d = cfg_edit_distance(key, klen, sc->fields[i].key, LD_SUGGEST_DIST);
		if (d < best) {
			best = d;
			best_i = i;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			 i ? ", " : "", sc->fields[i].key);
	}
	if (!ld_key_showable(ld, key, klen))
		return cfg_ld_fail(ld, line, path, "unknown key, not shown as it may hold a "
				   "secret (known: %s)", known);
	cfg_ld_show(shown, sizeof(shown), key, klen);
	if (best <= LD_SUGGEST_DIST && best < klen)
		return cfg_ld_fail(ld, line, path, "unknown key '%s' (did you mean '%s'?)",
				   shown, sc->fields[best_i].key);
	return cfg_ld_fail(ld, line, path, "unknown key '%s' (known: %s)", shown, known);
}

static int ld_section_pair(struct cfg_ld *ld, void *ctx, const char *key, size_t klen,
			   int kline, struct fy_node *val, const char *path)
{
	const struct ld_section_ctx *sc = ctx;
	const struct cfg_ld_field *f = NULL;
	char sub[CFG_LD_PATH];
	size_t i;

	for (i = 0; i < sc->n_fields && !f; i++)
		if (strlen(sc->fields[i].key) == klen && !memcmp(sc->fields[i].key, key, klen))
			f = &sc->fields[i];
	if (!f)
		return ld_unknown_key(ld, sc, key, klen, kline, path);
	cfg_ld_subpath(sub, sizeof(sub), path, f->key, klen);
	/* A scalar (or an alias) is reported where it is written, which may be
	 * the line after its key; anything else at its key. */
	if (val && fy_node_is_scalar(val))
		return ld_value(ld, f, val, cfg_ld_line(val, kline), sub, sc->base);
	return ld_value(ld, f, val, kline, sub, sc->base);
}

int cfg_ld_section(struct cfg_ld *ld, struct fy_node *n, int line, const char *path,
		   const struct cfg_ld_field *fields, size_t n_fields, void *base)
{
	struct ld_section_ctx sc = { fields, n_fields, base };
	int ret = cfg_ld_mapping(ld, &n, line, path, 1);

	if (ret || !n)
		return ret;
	return cfg_ld_each_pair(ld, n, line, path, ld_section_pair, &sc);
}
