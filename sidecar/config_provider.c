/*
 * config_provider.c — `providers.NAME`: its kind, the keys that kind takes,
 * the defaults, and the rules that span keys (base_url's scheme against
 * allow_insecure_http, api_key against api_key_file, a key's requirement
 * against the host), checked once the provider's mapping is read.
 *
 * Secrets are resolved here, from the file, the environment or a key file.
 * A message may name a variable or a path, never a value: every check on a
 * key says what is wrong with it without quoting it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_load.h"
#include "config_value.h"

/* Bounds that are policy rather than protocol. */
#define LD_MAX_CONNECTIONS 4096u	/* each is a socket and a TLS session */
#define LD_URL_MAX	2048u		/* what browsers and most proxies accept */
#define LD_VERSION_MAX	64u		/* "2024-10-01-preview" is 18 */
/* An API key is under 200 bytes; Entra ID bearer tokens run to a few KiB.
 * The bound keeps a wrong api_key_file (a log) from becoming a header. */
#define LD_KEY_MAX	(16u << 10)
/* Debian's whole CA bundle is ~220 KiB; the bound (a config file's) keeps
 * a wrong path from being read into memory whole. */
#define LD_CA_MAX	(16u << 20)

/* Defaults for the HTTP kinds. A reasoning model may think for a minute
 * before its first chunk and stream for minutes after; the total matches
 * limits.default_deadline. */
#define LD_DEF_CONNECTIONS	64u
#define LD_DEF_CONNECT_MS	10000u
#define LD_DEF_FIRST_CHUNK_MS	60000u
#define LD_DEF_IDLE_MS		60000u
#define LD_DEF_TOTAL_MS		600000u

/* Longest unknown key quoted in a provider's message: the longest known key
 * (19) and a typo's worth more. API keys are 32 bytes and up, so a key
 * pasted where a name goes (`{api_key sk-...}` is a key with no value) is
 * not shown. */
#define LD_SHOWN_KEY_MAX 24

/* The text cfg_dump writes in place of a key given literally. */
#define LD_REDACTED "<redacted>"

enum ld_key_rule {
	LD_KEY_NONE,		/* mock: there is nothing to authenticate to */
	LD_KEY_OPTIONAL,	/* ollama: no auth unless a proxy in front adds it */
	LD_KEY_REQUIRED,
	LD_KEY_UNLESS_LOCAL,	/* openai: local compatible servers (vLLM, llama.cpp)
				 * usually take none */
};

/* Endpoints and versions are each vendor's documented defaults. */
static const struct ld_kind {
	const char *name;
	const char *base_url;		/* default; NULL: required */
	const char *url_example;	/* shown when a required base_url is missing */
	const char *api_version;	/* default; NULL: the key is not taken */
	enum ld_key_rule key;
} ld_kinds[] = {
	[CFG_KIND_MOCK] = { "mock", NULL, NULL, NULL, LD_KEY_NONE },
	[CFG_KIND_OPENAI] = { "openai", "https://api.openai.com/v1", NULL, NULL,
			      LD_KEY_UNLESS_LOCAL },
	/* 2024-10-21: the newest GA data-plane api-version of Azure OpenAI. */
	[CFG_KIND_AZURE] = { "azure", NULL, "https://RESOURCE.openai.azure.com",
			     "2024-10-21", LD_KEY_REQUIRED },
	/* 2023-06-01: the anthropic-version every current model accepts. */
	[CFG_KIND_ANTHROPIC] = { "anthropic", "https://api.anthropic.com", NULL,
				 "2023-06-01", LD_KEY_REQUIRED },
	[CFG_KIND_GEMINI] = { "gemini", "https://generativelanguage.googleapis.com/v1beta",
			      NULL, NULL, LD_KEY_REQUIRED },
	[CFG_KIND_OLLAMA] = { "ollama", "http://127.0.0.1:11434", NULL, NULL,
			      LD_KEY_OPTIONAL },
};

#define LD_FIRST_KIND CFG_KIND_MOCK
#define LD_LAST_KIND CFG_KIND_OLLAMA

const char *cfg_kind_name(enum cfg_kind k)
{
	if (k >= LD_FIRST_KIND && k <= LD_LAST_KIND)
		return ld_kinds[k].name;
	return "?";
}

/* ---- field tables ----------------------------------------------------------- */

/* `kind` is read before the table is chosen; it is listed so that it is not
 * an unknown key. */
static const struct cfg_ld_field mock_fields[] = {
	FIELD(struct cfg_provider, kind, "kind", CFG_LT_SKIP, 0, 0),
	FIELD(struct cfg_provider, mock_ttft_us, "ttft", CFG_LT_US, 0, UINT32_MAX),
	FIELD(struct cfg_provider, mock_interval_us, "token_interval", CFG_LT_US,
	      0, UINT32_MAX),
};

#define LD_HTTP_HEAD \
	FIELD(struct cfg_provider, kind, "kind", CFG_LT_SKIP, 0, 0), \
	FIELD(struct cfg_provider, base_url, "base_url", CFG_LT_OPAQUE, 1, LD_URL_MAX), \
	FIELD(struct cfg_provider, api_key, "api_key", CFG_LT_OPAQUE, 1, LD_KEY_MAX), \
	FIELD(struct cfg_provider, api_key_file, "api_key_file", CFG_LT_TEXT, 1, PATH_MAX - 1)
#define LD_HTTP_TAIL \
	FIELD(struct cfg_provider, ca_file, "ca_file", CFG_LT_TEXT, 1, PATH_MAX - 1), \
	FIELD(struct cfg_provider, max_connections, "max_connections", CFG_LT_COUNT, \
	      1, LD_MAX_CONNECTIONS), \
	FIELD(struct cfg_provider, connect_timeout_ms, "connect_timeout", CFG_LT_MS, \
	      1, UINT32_MAX), \
	FIELD(struct cfg_provider, first_chunk_timeout_ms, "first_chunk_timeout", CFG_LT_MS, \
	      1, UINT32_MAX), \
	FIELD(struct cfg_provider, idle_timeout_ms, "idle_timeout", CFG_LT_MS, 1, UINT32_MAX), \
	FIELD(struct cfg_provider, total_timeout_ms, "total_timeout", CFG_LT_MS, 1, UINT32_MAX), \
	FIELD(struct cfg_provider, allow_insecure_http, "allow_insecure_http", CFG_LT_BOOL, 0, 1)

static const struct cfg_ld_field http_fields[] = { LD_HTTP_HEAD, LD_HTTP_TAIL };
static const struct cfg_ld_field versioned_fields[] = {
	LD_HTTP_HEAD,
	FIELD(struct cfg_provider, api_version, "api_version", CFG_LT_TEXT, 1, LD_VERSION_MAX),
	LD_HTTP_TAIL,
};

/* ---- kind ------------------------------------------------------------------- */

static void ld_kind_list(char *buf, size_t size)
{
	int k;

	buf[0] = '\0';
	for (k = LD_FIRST_KIND; k <= LD_LAST_KIND; k++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
			 k == LD_FIRST_KIND ? "" : ", ", ld_kinds[k].name);
}

/* The kind decides which keys are valid and it may come last, so it is read
 * first; the kind's defaults go in before its keys are read over them. */
static int ld_kind(struct cfg_ld *ld, struct cfg_provider *p, struct fy_node *map,
		   const char *path, const struct cfg_ld_field **fields, size_t *n_fields)
{
	struct fy_node *val;
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW], known[128];
	const char *s;
	size_t len;
	int line = p->line, ret, k;

	ld_kind_list(known, sizeof(known));
	if (!cfg_ld_lookup(map, "kind", &val, &line))
		return cfg_ld_fail(ld, p->line, path, "missing key 'kind' (known: %s)", known);
	cfg_ld_subpath(sub, sizeof(sub), path, "kind", 4);
	if ((ret = cfg_ld_scalar(ld, &val, line, sub, &s, &len)))
		return ret;
	for (k = LD_FIRST_KIND; k <= LD_LAST_KIND; k++)
		if (strlen(ld_kinds[k].name) == len && memcmp(ld_kinds[k].name, s, len) == 0)
			break;
	if (k > LD_LAST_KIND) {
		cfg_ld_show(shown, sizeof(shown), s, len);
		return cfg_ld_fail(ld, line, sub, "unknown kind '%s' (known: %s)", shown, known);
	}
	p->kind = (enum cfg_kind)k;
	if (p->kind == CFG_KIND_MOCK) {
		p->mock_ttft_us = 5000;
		p->mock_interval_us = 2000;
		*fields = mock_fields;
		*n_fields = N_ELEMS(mock_fields);
		return 0;
	}
	p->max_connections = LD_DEF_CONNECTIONS;
	p->connect_timeout_ms = LD_DEF_CONNECT_MS;
	p->first_chunk_timeout_ms = LD_DEF_FIRST_CHUNK_MS;
	p->idle_timeout_ms = LD_DEF_IDLE_MS;
	p->total_timeout_ms = LD_DEF_TOTAL_MS;
	if (ld_kinds[k].api_version) {
		*fields = versioned_fields;
		*n_fields = N_ELEMS(versioned_fields);
	} else {
		*fields = http_fields;
		*n_fields = N_ELEMS(http_fields);
	}
	return 0;
}

/* ---- files -------------------------------------------------------------------- */

/* Buffers that may hold a key are wiped before they go back to malloc. */
static void ld_wipe_free(char *buf, size_t size)
{
	if (buf)
		explicit_bzero(buf, size);
	free(buf);
}

/*
 * Read a whole regular file of at most max bytes into *out (*size bytes
 * allocated, *len used; free with ld_wipe_free). Errors name the path. The
 * open is non-blocking so that a FIFO is refused rather than waited on.
 */
static int ld_read_file(struct cfg_ld *ld, const char *file, size_t max, int line,
			const char *path, char **out, size_t *size, size_t *len)
{
	char shown[CFG_LD_SHOW], *buf = NULL, *grow;
	size_t cap = 0, used = 0;
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	cfg_ld_show(shown, sizeof(shown), file, strlen(file));
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return cfg_ld_fail(ld, line, path, "cannot open '%s': %s", shown, strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = cfg_ld_fail(ld, line, path, "cannot read '%s': %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = cfg_ld_fail(ld, line, path, "'%s' is not a regular file", shown);
		goto out;
	}
	/* Sized from fstat so a key is normally read without a regrow (which
	 * would leave a copy behind); one byte past max is how "too big" shows. */
	cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	if (!(buf = malloc(cap))) {
		ret = cfg_ld_nomem(ld);
		goto out;
	}
	for (;;) {
		if (used == cap) {
			size_t grown = cap * 2 > max + 1 ? max + 1 : cap * 2;

			if (cap > max) {
				ret = cfg_ld_fail(ld, line, path, "'%s' is larger than %zu bytes",
						  shown, max);
				goto out;
			}
			if (!(grow = malloc(grown))) {
				ret = cfg_ld_nomem(ld);
				goto out;
			}
			memcpy(grow, buf, used);
			ld_wipe_free(buf, cap);
			buf = grow;
			cap = grown;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = cfg_ld_fail(ld, line, path, "cannot read '%s': %s", shown,
					  strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*out = buf;
	*size = cap;
	*len = used;
	buf = NULL;
out:
	ld_wipe_free(buf, cap);
	close(fd);
	return ret;
}

/* ---- keys ----------------------------------------------------------------------- */

/* A key goes into an HTTP header as it is: printable ASCII without spaces,
 * or a CR/LF in it would be a header of its own. */
static int ld_key_chars_ok(const char *k, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
			return 0;
	return 1;
}

static int ld_env_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int ld_set_key(struct cfg_ld *ld, struct cfg_provider *p, const char *k, size_t len)
{
	char *copy = strndup(k, len);

	if (!copy)
		return cfg_ld_nomem(ld);
	explicit_bzero(p->api_key, strlen(p->api_key));
	free(p->api_key);
	p->api_key = copy;
	return 0;
}

/* `api_key`: a literal, or "${NAME}" replaced by that variable's value. */
static int ld_key_value(struct cfg_ld *ld, struct cfg_provider *p, int line, const char *path)
{
	const char *v = p->api_key, *env;
	size_t len = strlen(v);
	char *name, shown[CFG_LD_SHOW];

	if (strcmp(v, LD_REDACTED) == 0)
		return cfg_ld_fail(ld, line, path, "'" LD_REDACTED "' is what --dump-config "
				   "writes for a key given literally; put the key back, or use "
				   "\"${NAME}\" or api_key_file");
	if (v[0] != '$') {
		if (!ld_key_chars_ok(v, len))
			return cfg_ld_fail(ld, line, path, "the key contains a space, a control "
					   "or a non-ASCII character");
		return 0;
	}
	/* No key starts with '$': this was meant as a reference. */
	if (len < 4 || v[1] != '{' || v[len - 1] != '}' || !ld_env_name_ok(v + 2, len - 3))
		return cfg_ld_fail(ld, line, path, "a value starting with '$' must be a whole "
				   "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)");
	if (!(name = strndup(v + 2, len - 3)))
		return cfg_ld_nomem(ld);
	free(p->api_key_env);
	p->api_key_env = name;
	cfg_ld_show(shown, sizeof(shown), name, len - 3);
	if (!(env = getenv(name)))
		return cfg_ld_fail(ld, line, path, "environment variable %s is not set", shown);
	if (!*env)
		return cfg_ld_fail(ld, line, path, "environment variable %s is empty", shown);
	if (strlen(env) > LD_KEY_MAX || !ld_key_chars_ok(env, strlen(env)))
		return cfg_ld_fail(ld, line, path, "environment variable %s does not hold a "
				   "key (printable ASCII without spaces, at most %u bytes)",
				   shown, LD_KEY_MAX);
	return ld_set_key(ld, p, env, strlen(env));
}

/* `api_key_file`: the whole file is the key, but for one line ending. */
static int ld_key_file(struct cfg_ld *ld, struct cfg_provider *p, int line, const char *path)
{
	char shown[CFG_LD_SHOW], *buf = NULL;
	size_t size = 0, len = 0;
	int ret;

	if ((ret = ld_read_file(ld, p->api_key_file, LD_KEY_MAX, line, path, &buf, &size, &len)))
		return ret;
	cfg_ld_show(shown, sizeof(shown), p->api_key_file, strlen(p->api_key_file));
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0)
		ret = cfg_ld_fail(ld, line, path, "'%s' is empty", shown);
	else if (!ld_key_chars_ok(buf, len))
		ret = cfg_ld_fail(ld, line, path, "'%s' does not hold a key (one line of "
				  "printable ASCII without spaces)", shown);
	else if (!(p->api_key = strndup(buf, len)))
		ret = cfg_ld_nomem(ld);
	ld_wipe_free(buf, size);
	return ret;
}

/* The key path and the line to report key at: where it is written, else
 * the provider's name. */
static int ld_key_at(struct fy_node *map, const char *key, int fallback, const char *path,
		     char *sub, size_t size)
{
	struct fy_node *val;
	int line = fallback;

	cfg_ld_subpath(sub, size, path, key, strlen(key));
	cfg_ld_lookup(map, key, &val, &line);
	return line;
}

static int ld_api_key(struct cfg_ld *ld, struct cfg_provider *p, struct fy_node *map,
		      const char *path)
{
	const struct ld_kind *k = &ld_kinds[p->kind];
	char sub[CFG_LD_PATH];
	int line, ret;

	if (p->api_key && p->api_key_file) {
		line = ld_key_at(map, "api_key_file", p->line, path, sub, sizeof(sub));
		return cfg_ld_fail(ld, line, sub, "give api_key or api_key_file, not both");
	}
	if (p->api_key) {
		line = ld_key_at(map, "api_key", p->line, path, sub, sizeof(sub));
		if ((ret = ld_key_value(ld, p, line, sub)))
			return ret;
	} else if (p->api_key_file) {
		line = ld_key_at(map, "api_key_file", p->line, path, sub, sizeof(sub));
		if ((ret = ld_key_file(ld, p, line, sub)))
			return ret;
	}
	if (p->api_key || k->key == LD_KEY_OPTIONAL)
		return 0;
	if (k->key == LD_KEY_UNLESS_LOCAL) {
		if (p->allow_insecure_http || cfg_provider_is_loopback(p))
			return 0;
		return cfg_ld_fail(ld, p->line, path, "missing api_key or api_key_file (kind "
				   "%s needs one unless base_url is a loopback address or "
				   "allow_insecure_http is true)", k->name);
	}
	return cfg_ld_fail(ld, p->line, path, "missing api_key or api_key_file (kind %s "
			   "needs one)", k->name);
}

/* ---- the rest --------------------------------------------------------------------- */

/* Parse, apply the http:// rule, store normalised: scheme in lower case, no
 * trailing slash. The URL is never shown (it might carry a credential);
 * the host is, once userinfo and queries are ruled out. */
static int ld_base_url(struct cfg_ld *ld, struct cfg_provider *p, struct fy_node *map,
		       const char *path)
{
	const struct ld_kind *k = &ld_kinds[p->kind];
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW], *url;
	const char *why = NULL, *scheme;
	struct cfg_url u;
	size_t n;
	int line = ld_key_at(map, "base_url", p->line, path, sub, sizeof(sub));

	if (!p->base_url && !k->base_url)
		return cfg_ld_fail(ld, p->line, path, "missing key 'base_url' (kind %s has no "
				   "default; e.g. %s)", k->name, k->url_example);
	if (!p->base_url && !(p->base_url = strdup(k->base_url)))
		return cfg_ld_nomem(ld);
	if (cfg_parse_url(p->base_url, strlen(p->base_url), &u, &why))
		return cfg_ld_fail(ld, line, sub, "the URL %s", why);
	if (!u.https && !p->allow_insecure_http &&
	    !cfg_host_is_loopback(p->base_url + u.host_off, u.host_len)) {
		cfg_ld_show(shown, sizeof(shown), p->base_url + u.host_off, u.host_len);
		return cfg_ld_fail(ld, line, sub, "plain http:// is allowed only to a loopback "
				   "host (127.0.0.0/8, ::1, localhost), not '%s'; use https:// or "
				   "set allow_insecure_http: true", shown);
	}
	scheme = u.https ? "https://" : "http://";
	n = strlen(scheme) + (u.len - u.rest_off) + 1;
	if (!(url = malloc(n)))
		return cfg_ld_nomem(ld);
	snprintf(url, n, "%s%.*s", scheme, (int)(u.len - u.rest_off), p->base_url + u.rest_off);
	free(p->base_url);
	p->base_url = url;
	return 0;
}

/* The version goes into a query string (azure) or a header (anthropic). */
static int ld_api_version(struct cfg_ld *ld, struct cfg_provider *p, struct fy_node *map,
			  const char *path)
{
	const char *dflt = ld_kinds[p->kind].api_version, *v;
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW];

	if (!dflt)
		return 0;
	if (!p->api_version && !(p->api_version = strdup(dflt)))
		return cfg_ld_nomem(ld);
	for (v = p->api_version; *v; v++) {
		if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		    (*v >= '0' && *v <= '9') || *v == '-' || *v == '.' || *v == '_')
			continue;
		cfg_ld_show(shown, sizeof(shown), p->api_version, strlen(p->api_version));
		return cfg_ld_fail(ld, ld_key_at(map, "api_version", p->line, path, sub,
						 sizeof(sub)),
				   sub, "'%s' is not a version like %s (letters, digits, '-', "
				   "'.', '_')", shown, dflt);
	}
	return 0;
}

/* A wrong ca_file would fail every TLS handshake with a message far from
 * here: read it now and look for a certificate in it. */
static int ld_ca_file(struct cfg_ld *ld, struct cfg_provider *p, struct fy_node *map,
		      const char *path)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----";
	char sub[CFG_LD_PATH], shown[CFG_LD_SHOW], *buf = NULL;
	size_t size = 0, len = 0;
	int line, ret;

	if (!p->ca_file)
		return 0;
	line = ld_key_at(map, "ca_file", p->line, path, sub, sizeof(sub));
	if ((ret = ld_read_file(ld, p->ca_file, LD_CA_MAX, line, sub, &buf, &size, &len)))
		return ret;
	if (!memmem(buf, len, pem, sizeof(pem) - 1)) {
		cfg_ld_show(shown, sizeof(shown), p->ca_file, strlen(p->ca_file));
		ret = cfg_ld_fail(ld, line, sub, "'%s' holds no PEM certificate (%s)", shown, pem);
	}
	ld_wipe_free(buf, size);
	return ret;
}

int cfg_ld_provider(struct cfg_ld *ld, struct cfg_provider *p, struct fy_node *map,
		    const char *path)
{
	const struct cfg_ld_field *fields;
	size_t n_fields;
	int ret;

	if ((ret = ld_kind(ld, p, map, path, &fields, &n_fields)))
		return ret;
	ld->shown_key_max = LD_SHOWN_KEY_MAX;
	ret = cfg_ld_section(ld, map, p->line, path, fields, n_fields, p);
	ld->shown_key_max = 0;
	if (ret)
		return ret;
	if (p->kind == CFG_KIND_MOCK)
		return 0;
	/* base_url first: whether a key is needed depends on its host. */
	if ((ret = ld_base_url(ld, p, map, path)) || (ret = ld_api_key(ld, p, map, path)) ||
	    (ret = ld_api_version(ld, p, map, path)) || (ret = ld_ca_file(ld, p, map, path)))
		return ret;
	return 0;
}

void cfg_ld_provider_free(struct cfg_provider *p)
{
	if (p->api_key)
		explicit_bzero(p->api_key, strlen(p->api_key));
	free(p->api_key);
	free(p->api_key_env);
	free(p->api_key_file);
	free(p->base_url);
	free(p->api_version);
	free(p->ca_file);
	free(p->name);
}

int cfg_provider_is_loopback(const struct cfg_provider *p)
{
	struct cfg_url u;
	const char *why;

	if (!p->base_url || cfg_parse_url(p->base_url, strlen(p->base_url), &u, &why))
		return 0;
	return cfg_host_is_loopback(p->base_url + u.host_off, u.host_len);
}
