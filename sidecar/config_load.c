/*
 * config_load.c — the YAML walk behind cfg_load_*; see config_load.h.
 *
 * libfyaml 0.7.12 (Debian 12) knows lines only for scalar tokens: there is no
 * node start mark. So a collection is located by the first scalar inside it,
 * and an empty value (which has no token) by its key.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_load.h"

/* ---- messages ------------------------------------------------------------- */

int cfg_ld_fail(struct cfg_ld *ld, int line, const char *path, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int w;

	if (!ld->err || ld->errlen == 0)
		return -EINVAL;
	w = snprintf(ld->err, ld->errlen, "%s:%d: %s%s", ld->name, line > 0 ? line : 1,
		     path, *path ? ": " : "");
	n = w < 0 ? 0 : (size_t)w;
	if (n < ld->errlen) {
		va_start(ap, fmt);
		vsnprintf(ld->err + n, ld->errlen - n, fmt, ap);
		va_end(ap);
	}
	/* One line, whatever libfyaml or the file name put in it. */
	for (char *p = ld->err; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return -EINVAL;
}

int cfg_ld_io_fail(struct cfg_ld *ld, int err)
{
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s: %s", ld->name, strerror(-err));
	return err;
}

int cfg_ld_nomem(struct cfg_ld *ld)
{
	return cfg_ld_io_fail(ld, -ENOMEM);
}

void cfg_ld_show(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, o = 0, n = len > CFG_LD_SHOW_MAX ? CFG_LD_SHOW_MAX : len;

	for (i = 0; i < n && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	if (i < len && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

void cfg_ld_subpath(char *buf, size_t size, const char *parent, const char *key,
		    size_t klen)
{
	char shown[CFG_LD_SHOW];

	cfg_ld_show(shown, sizeof(shown), key, klen);
	snprintf(buf, size, "%s%s%s", parent, *parent ? "." : "", shown);
}

/* ---- parsing -------------------------------------------------------------- */

/* libfyaml sends messages it does not collect (few, generic) here instead of
 * stderr; the first is kept in case no collected error explains a failure. */
static void ld_diag_out(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	struct cfg_ld *ld = user;
	const char *tag = len > 0 && buf[0] == '[' ? memchr(buf, ']', len) : NULL;
	size_t n;

	(void)diag;
	if (ld->diag_msg[0])
		return;
	/* Drop the "[ERR]: " level tag: the message is reported as an error. */
	if (tag && (size_t)(tag - buf) + 2 < len && tag[1] == ':') {
		len -= (size_t)(tag - buf) + 2;
		buf = tag + 2;
		while (len > 0 && *buf == ' ') {
			buf++;
			len--;
		}
	}
	n = len < sizeof(ld->diag_msg) - 1 ? len : sizeof(ld->diag_msg) - 1;
	memcpy(ld->diag_msg, buf, n);
	while (n > 0 && (ld->diag_msg[n - 1] == '\n' || ld->diag_msg[n - 1] == ' '))
		n--;
	ld->diag_msg[n] = '\0';
}

/* The token a parser error points at, if it may be shown. A scalar may be a
 * value, and an API key written in the file is exactly what an unterminated
 * quote swallows; an input marker is a raw span of the text. So only
 * structure ('-', ']'), anchor and alias names, and the scalar of a
 * duplicate key (a name) are shown; the line says where the rest is. */
static const char *ld_error_token(const struct fy_diag_error *e, size_t *len)
{
	enum fy_token_type type;

	*len = 0;
	if (!e->fyt)
		return NULL;
	type = fy_token_get_type(e->fyt);
	if (type > FYTT_SCALAR ||
	    (type == FYTT_SCALAR && (!e->msg || strcmp(e->msg, "duplicate key") != 0)))
		return NULL;
	return fy_token_get_text(e->fyt, len);
}

/* The parser failed: report its first error with its line. libfyaml's
 * messages are short phrases ("duplicate key"), so the token it points at is
 * added when it may be shown. */
static int ld_syntax_error(struct cfg_ld *ld)
{
	struct fy_diag_error *e;
	void *it = NULL;
	char shown[CFG_LD_SHOW];
	const char *t;
	size_t tlen = 0;

	while ((e = fy_diag_errors_iterate(ld->diag, &it))) {
		if (e->type < FYET_ERROR)
			continue;
		t = ld_error_token(e, &tlen);
		if (t && tlen) {
			cfg_ld_show(shown, sizeof(shown), t, tlen);
			return cfg_ld_fail(ld, e->line, "", "invalid YAML: %s ('%s')",
					   e->msg, shown);
		}
		return cfg_ld_fail(ld, e->line, "", "invalid YAML: %s", e->msg);
	}
	if (ld->diag_msg[0])
		return cfg_ld_fail(ld, 1, "", "invalid YAML: %s", ld->diag_msg);
	return cfg_ld_fail(ld, 1, "", "invalid YAML");
}

int cfg_ld_is_null(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (!n)
		return 1;
	if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
		return 0;
	s = fy_node_get_scalar(n, &len);
	if (!s || len == 0)
		return 1;
	return (len == 1 && s[0] == '~') ||
	       (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
			     !memcmp(s, "NULL", 4)));
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t ld_utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * YAML text is UTF-8 without control characters. libfyaml does not reject
 * all of them: it stops at a NUL as if the file ended there, and skips some
 * invalid bytes, so a corrupt file could load a silent prefix of itself.
 * Checking the bytes first also gives binary garbage a plain message.
 */
static int ld_check_text(struct cfg_ld *ld, const char *yaml, size_t len)
{
	const unsigned char *s = (const unsigned char *)yaml;
	size_t i = 0, n, line_start = 0;
	int line = 1;

	while (i < len) {
		if (s[i] == '\n') {
			line++;
			line_start = ++i;
			continue;
		}
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\r') || s[i] == 0x7f)
			return cfg_ld_fail(ld, line, "", "control byte 0x%02x at column %zu "
					   "(not a text file?)", s[i], i - line_start + 1);
		if (!(n = ld_utf8_len(s + i, len - i)))
			return cfg_ld_fail(ld, line, "", "invalid UTF-8 at column %zu",
					   i - line_start + 1);
		i += n;
	}
	return 0;
}

int cfg_ld_parse(struct cfg_ld *ld, const char *yaml, size_t len, struct fy_node **root)
{
	struct fy_diag_cfg dcfg;
	/* Depth stays limited (the default 64): a file of ten thousand '{' must
	 * fail, not exhaust the stack. */
	struct fy_parse_cfg pcfg = { .flags = FYPCF_QUIET };
	struct fy_document *extra;
	int ret = ld_check_text(ld, yaml, len);

	if (ret)
		return ret;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;		/* NULL fp selects output_fn: nothing reaches stderr */
	dcfg.output_fn = ld_diag_out;
	dcfg.user = ld;
	dcfg.colorize = false;
	if (!(ld->diag = fy_diag_create(&dcfg)))
		return cfg_ld_nomem(ld);
	fy_diag_set_collect_errors(ld->diag, true);
	pcfg.diag = ld->diag;
	if (!(ld->fyp = fy_parser_create(&pcfg)))
		return cfg_ld_nomem(ld);
	if (fy_parser_set_string(ld->fyp, yaml, len))
		return ld_syntax_error(ld);
	ld->doc = fy_parse_load_document(ld->fyp);
	if (!ld->doc) {
		if (fy_parser_get_stream_error(ld->fyp) || fy_diag_got_error(ld->diag))
			return ld_syntax_error(ld);
		goto empty;
	}
	/* A second document would be silently ignored: refuse it, unless it is
	 * empty (a stray trailing "---"). */
	while ((extra = fy_parse_load_document(ld->fyp))) {
		const struct fy_mark *m =
			fy_document_state_start_mark(fy_document_get_document_state(extra));
		int line = m ? m->line + 1 : 1, more = !cfg_ld_is_null(fy_document_root(extra));

		fy_parse_document_destroy(ld->fyp, extra);
		if (more)
			return cfg_ld_fail(ld, line, "",
					   "a second YAML document starts here; the "
					   "configuration must be a single document");
	}
	if (fy_parser_get_stream_error(ld->fyp) || fy_diag_got_error(ld->diag))
		return ld_syntax_error(ld);
	*root = fy_document_root(ld->doc);
	if (cfg_ld_is_null(*root))
		goto empty;
	return 0;
empty:
	return cfg_ld_fail(ld, 1, "", "empty configuration (at least one entry under "
			   "'models' is required)");
}

void cfg_ld_done(struct cfg_ld *ld)
{
	if (ld->doc)
		fy_parse_document_destroy(ld->fyp, ld->doc);
	if (ld->fyp)
		fy_parser_destroy(ld->fyp);
	if (ld->diag)
		fy_diag_destroy(ld->diag);
	ld->doc = NULL;
	ld->fyp = NULL;
	ld->diag = NULL;
}

/* ---- nodes ---------------------------------------------------------------- */

int cfg_ld_line(struct fy_node *n, int fallback)
{
	struct fy_token *t;
	const struct fy_mark *m;

	/* Aliases are scalars here (not followed), and libfyaml bounds nesting,
	 * so this descent ends. */
	while (n && !fy_node_is_scalar(n)) {
		void *it = NULL;

		if (fy_node_is_mapping(n)) {
			struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);

			n = p ? fy_node_pair_key(p) : NULL;
		} else {
			n = fy_node_sequence_iterate(n, &it);
		}
	}
	t = n ? fy_node_get_scalar_token(n) : NULL;
	m = t ? fy_token_start_mark(t) : NULL;
	return m ? m->line + 1 : fallback;
}

static const char *ld_type_name(struct fy_node *n)
{
	if (cfg_ld_is_null(n))
		return "nothing";
	if (fy_node_is_mapping(n))
		return "a mapping";
	if (fy_node_is_sequence(n))
		return "a list";
	return "a single value";
}

/* fy_node_resolve_alias detects cycles and long chains; NULL means the alias
 * names no anchor or loops. */
int cfg_ld_deref(struct cfg_ld *ld, struct fy_node **n, int line, const char *path)
{
	struct fy_node *t;
	const char *s;
	size_t len = 0;
	char shown[CFG_LD_SHOW];

	if (!*n || !fy_node_is_alias(*n))
		return 0;
	if ((t = fy_node_resolve_alias(*n))) {
		*n = t;
		return 0;
	}
	s = fy_node_get_scalar(*n, &len);
	cfg_ld_show(shown, sizeof(shown), s ? s : "", s ? len : 0);
	return cfg_ld_fail(ld, cfg_ld_line(*n, line), path,
			   "alias '*%s' does not resolve (no such anchor, or a loop)", shown);
}

int cfg_ld_mapping(struct cfg_ld *ld, struct fy_node **n, int line, const char *path,
		   int allow_null)
{
	int ret = cfg_ld_deref(ld, n, line, path);

	if (ret)
		return ret;
	if (cfg_ld_is_null(*n) && allow_null) {
		*n = NULL;
		return 0;
	}
	if (!*n || !fy_node_is_mapping(*n))
		return cfg_ld_fail(ld, line, path,
				   "expected a mapping, found %s", ld_type_name(*n));
	return 0;
}

int cfg_ld_scalar(struct cfg_ld *ld, struct fy_node **n, int line, const char *path,
		  const char **s, size_t *len)
{
	int ret = cfg_ld_deref(ld, n, line, path);

	if (ret)
		return ret;
	if (cfg_ld_is_null(*n))
		return cfg_ld_fail(ld, line, path, "missing value");
	if (!fy_node_is_scalar(*n))
		return cfg_ld_fail(ld, line, path, "expected a single value, found %s",
				   ld_type_name(*n));
	*s = fy_node_get_scalar(*n, len);
	if (!*s) {
		*s = "";
		*len = 0;
	}
	return 0;
}

/* A key's text, aliases followed; NULL for a key that is not a scalar. */
static const char *ld_key_text(struct fy_node *k, size_t *len)
{
	if (k && fy_node_is_alias(k))
		k = fy_node_resolve_alias(k);
	if (!k || !fy_node_is_scalar(k))
		return NULL;
	return fy_node_get_scalar(k, len);
}

int cfg_ld_lookup(struct fy_node *map, const char *key, struct fy_node **val,
		  int *line)
{
	struct fy_node_pair *p;
	void *it = NULL;
	size_t klen = strlen(key), len;
	const char *s;

	while ((p = fy_node_mapping_iterate(map, &it))) {
		s = ld_key_text(fy_node_pair_key(p), &len);
		if (s && len == klen && memcmp(s, key, klen) == 0) {
			*val = fy_node_pair_value(p);
			/* Where the value is written if it is a scalar, else
			 * at the key, as cfg_ld_section reports. */
			*line = cfg_ld_line(fy_node_pair_key(p), *line);
			if (*val && fy_node_is_scalar(*val))
				*line = cfg_ld_line(*val, *line);
			return 1;
		}
	}
	return 0;
}

int cfg_ld_each_pair(struct cfg_ld *ld, struct fy_node *map, int line, const char *path,
		     cfg_ld_pair_fn fn, void *ctx)
{
	struct fy_node_pair *p;
	void *it = NULL;
	const char *s;
	size_t len = 0;
	int ret, kline;

	while ((p = fy_node_mapping_iterate(map, &it))) {
		struct fy_node *k = fy_node_pair_key(p);

		kline = cfg_ld_line(k, line);
		if ((ret = cfg_ld_deref(ld, &k, kline, path)))
			return ret;
		if (!(s = ld_key_text(k, &len)))
			return cfg_ld_fail(ld, kline, path, "keys must be names, found %s",
					   ld_type_name(k));
		if ((ret = fn(ld, ctx, s, len, kline, fy_node_pair_value(p), path)))
			return ret;
	}
	return 0;
}
