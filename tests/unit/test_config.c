/*
 * test_config.c — the YAML config: defaults, a full file, every validation
 * rule with its "file:line: key: message", hostile input, dump round trips,
 * and the HTTP providers: URLs, keys from the file, the environment and key
 * files (never shown in a message or a dump), and the embedded default's
 * providers from the environment.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sidecar/config.h"

#define TC_ERRLEN 512

/* The smallest valid tail: appended to snippets that test something else. */
#define TC_TAIL "providers:\n  mock:\n    kind: mock\nmodels:\n  mock:\n    provider: mock\n"

struct tc_case {
	const char *yaml;
	const char *want;	/* the whole error line */
};

static int tc_load(const char *yaml, size_t len, struct cfg *c, char *err)
{
	return cfg_load_string("t.yaml", yaml, len, c, err, TC_ERRLEN);
}

/* Every case must fail with -EINVAL and exactly the expected line. */
static void tc_expect_errors(const struct tc_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct cfg c = { 0 };
		char err[TC_ERRLEN];
		int ret = tc_load(cases[i].yaml, strlen(cases[i].yaml), &c, err);

		cr_expect_eq(ret, -EINVAL, "case %zu: ret %d for:\n%s", i, ret, cases[i].yaml);
		cr_expect_str_eq(err, cases[i].want, "case %zu: got\n%s\nwant\n%s", i, err,
				 cases[i].want);
		if (ret == 0)
			cfg_free(&c);
	}
}

/* Hostile input: any result is fine except a crash, a leak, or an error that
 * is not one well-formed line naming the file. */
static void tc_survive(const char *yaml, size_t len)
{
	struct cfg c = { 0 };
	char err[TC_ERRLEN];
	int ret = tc_load(yaml, len, &c, err);

	if (ret == 0) {
		cfg_free(&c);
		return;
	}
	cr_assert_eq(ret, -EINVAL, "ret %d err %s", ret, err);
	cr_assert_eq(strncmp(err, "t.yaml:", 7), 0, "err: %s", err);
	cr_assert_null(strchr(err, '\n'));
}

static char *tc_temp_file(const char *text)
{
	char *path = strdup("/tmp/ringside-cfg-XXXXXX");
	int fd;

	cr_assert_not_null(path);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* The variables that add providers to the embedded default: tests that
 * expect the plain default must not see the developer's own keys. */
static void tc_no_key_env(void)
{
	unsetenv("OPENAI_API_KEY");
	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("GEMINI_API_KEY");
}

static void tc_assert_str_same(const char *a, const char *b)
{
	cr_assert_eq(!!a, !!b, "%s vs %s", a ? a : "NULL", b ? b : "NULL");
	if (a)
		cr_assert_str_eq(a, b);
}

static void tc_assert_provider_same(const struct cfg_provider *a, const struct cfg_provider *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(a->kind, b->kind);
	cr_assert_eq(a->mock_ttft_us, b->mock_ttft_us);
	cr_assert_eq(a->mock_interval_us, b->mock_interval_us);
	tc_assert_str_same(a->base_url, b->base_url);
	tc_assert_str_same(a->api_key, b->api_key);
	tc_assert_str_same(a->api_key_env, b->api_key_env);
	tc_assert_str_same(a->api_key_file, b->api_key_file);
	tc_assert_str_same(a->api_version, b->api_version);
	tc_assert_str_same(a->ca_file, b->ca_file);
	cr_assert_eq(a->max_connections, b->max_connections);
	cr_assert_eq(a->connect_timeout_ms, b->connect_timeout_ms);
	cr_assert_eq(a->first_chunk_timeout_ms, b->first_chunk_timeout_ms);
	cr_assert_eq(a->idle_timeout_ms, b->idle_timeout_ms);
	cr_assert_eq(a->total_timeout_ms, b->total_timeout_ms);
	cr_assert_eq(a->allow_insecure_http, b->allow_insecure_http);
}

static void tc_assert_same(const struct cfg *a, const struct cfg *b)
{
	size_t i;

	cr_assert_eq(!!a->listen.socket, !!b->listen.socket);
	if (a->listen.socket)
		cr_assert_str_eq(a->listen.socket, b->listen.socket);
	cr_assert_eq(a->listen.mode, b->listen.mode);
	cr_assert_eq(!!a->listen.group, !!b->listen.group);
	if (a->listen.group) {
		cr_assert_str_eq(a->listen.group, b->listen.group);
		cr_assert_eq(a->listen.gid, b->listen.gid);
	}
	cr_assert_eq(memcmp(&a->limits, &b->limits, sizeof(a->limits)), 0);
	cr_assert_eq(a->log.level, b->log.level);
	cr_assert_eq(a->n_providers, b->n_providers);
	for (i = 0; i < a->n_providers; i++)
		tc_assert_provider_same(&a->providers[i], &b->providers[i]);
	cr_assert_eq(a->n_models, b->n_models);
	for (i = 0; i < a->n_models; i++) {
		cr_assert_str_eq(a->models[i].alias, b->models[i].alias);
		cr_assert_eq(a->models[i].alias_len, b->models[i].alias_len);
		cr_assert_str_eq(a->models[i].provider, b->models[i].provider);
		cr_assert_str_eq(a->models[i].model, b->models[i].model);
		cr_assert_eq(a->models[i].provider_idx, b->models[i].provider_idx);
	}
}

/* cfg_dump's text, NUL-terminated; the caller frees it. */
static char *tc_dump(const struct cfg *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	cr_assert_eq(cfg_dump(c, f), 0);
	fclose(f);
	return text;
}

/* Dump a, load the dump, compare. */
static void tc_round_trip(const struct cfg *a)
{
	struct cfg b = { 0 };
	char *text = tc_dump(a), err[TC_ERRLEN];

	cr_assert_eq(cfg_load_string("dump", text, strlen(text), &b, err, sizeof(err)), 0,
		     "%s\n---\n%s", err, text);
	tc_assert_same(a, &b);
	cfg_free(&b);
	free(text);
}

/* ---- loading ------------------------------------------------------------- */

Test(config, embedded_default_has_documented_values)
{
	struct cfg c;
	char err[TC_ERRLEN];

	tc_no_key_env();
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.source, "<embedded>");
	cr_assert_null(c.listen.socket);
	cr_assert_eq(c.listen.mode, 0660);
	cr_assert_null(c.listen.group);
	cr_assert_eq(c.limits.max_clients, 256);
	cr_assert_eq(c.limits.submit_ring, 256 * 1024);
	cr_assert_eq(c.limits.event_ring, 1024 * 1024);
	cr_assert_eq(c.limits.max_request, 8 * 1024 * 1024);
	cr_assert_eq(c.limits.max_streams_per_client, 1024);
	cr_assert_eq(c.limits.spin_us, 50);
	cr_assert_eq(c.limits.handshake_timeout_ms, 5000);
	cr_assert_eq(c.limits.default_deadline_ms, 600000);
	cr_assert_eq(c.log.level, CFG_LOG_INFO);
	cr_assert_eq(c.n_providers, 1);
	cr_assert_str_eq(c.providers[0].name, "mock");
	cr_assert_eq(c.providers[0].kind, CFG_KIND_MOCK);
	cr_assert_eq(c.providers[0].mock_ttft_us, 5000);
	cr_assert_eq(c.providers[0].mock_interval_us, 2000);
	cr_assert_eq(c.n_models, 1);
	cr_assert_str_eq(c.models[0].alias, "mock");
	cr_assert_str_eq(c.models[0].provider, "mock");
	cr_assert_eq(c.models[0].provider_idx, 0);
	cr_assert_str_eq(c.models[0].model, "echo");
	cfg_free(&c);
	cfg_free(&c);	/* documented as safe */
}

Test(config, embedded_default_equals_bare_minimum)
{
	/* Every value the embedded text spells out is also the default. */
	struct cfg a, b;
	char err[TC_ERRLEN];
	static const char bare[] = TC_TAIL "    model: echo\n";

	tc_no_key_env();
	cr_assert_eq(cfg_load_embedded(&a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(tc_load(bare, strlen(bare), &b, err), 0, "%s", err);
	tc_assert_same(&a, &b);
	cfg_free(&a);
	cfg_free(&b);
	cr_assert_str_eq(strstr(cfg_embedded_default(), "models:"),
			 "models:\n  mock:\n    provider: mock\n    model: echo\n");
}

static const char tc_full[] =
	"# every key, none at its default\n"
	"listen:\n"
	"  socket: /tmp/ringside-test.sock\n"
	"  mode: 0600\n"
	"  group: root\n"
	"limits:\n"
	"  max_clients: 100\n"
	"  submit_ring: 64KiB\n"
	"  event_ring: 4M\n"
	"  max_request: 1048576\n"
	"  max_streams_per_client: 16\n"
	"  spin_us: 0\n"
	"  handshake_timeout: 2s\n"
	"  default_deadline: 90000\n"
	"log:\n"
	"  level: debug\n"
	"providers:\n"
	"  fast:\n"
	"    kind: mock\n"
	"    ttft: 1ms\n"
	"    token_interval: 500us\n"
	"  slow:\n"
	"    token_interval: 1s\n"
	"    kind: mock\n"
	"models:\n"
	"  small:\n"
	"    provider: fast\n"
	"    model: tiny-echo\n"
	"  big:\n"
	"    provider: slow\n"
	"  \"with space\": {provider: fast, model: \"x: y\"}\n";

Test(config, full_file_loads_every_value)
{
	struct cfg c;
	char err[TC_ERRLEN], *path = tc_temp_file(tc_full);

	cr_assert_eq(cfg_load_file(path, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.source, path);
	cr_assert_str_eq(c.listen.socket, "/tmp/ringside-test.sock");
	cr_assert_eq(c.listen.mode, 0600);
	cr_assert_str_eq(c.listen.group, "root");
	cr_assert_eq(c.listen.gid, 0);
	cr_assert_eq(c.limits.max_clients, 100);
	cr_assert_eq(c.limits.submit_ring, 64 * 1024);
	cr_assert_eq(c.limits.event_ring, 4 * 1024 * 1024);
	cr_assert_eq(c.limits.max_request, 1048576);
	cr_assert_eq(c.limits.max_streams_per_client, 16);
	cr_assert_eq(c.limits.spin_us, 0);
	cr_assert_eq(c.limits.handshake_timeout_ms, 2000);
	cr_assert_eq(c.limits.default_deadline_ms, 90000);
	cr_assert_eq(c.log.level, CFG_LOG_DEBUG);

	cr_assert_eq(c.n_providers, 2);
	cr_assert_str_eq(c.providers[0].name, "fast");
	cr_assert_eq(c.providers[0].line, 18);
	cr_assert_eq(c.providers[0].mock_ttft_us, 1000);
	cr_assert_eq(c.providers[0].mock_interval_us, 500);
	cr_assert_str_eq(c.providers[1].name, "slow");
	cr_assert_eq(c.providers[1].mock_ttft_us, 5000);	/* default */
	cr_assert_eq(c.providers[1].mock_interval_us, 1000000);

	cr_assert_eq(c.n_models, 3);
	cr_assert_str_eq(c.models[0].alias, "small");
	cr_assert_eq(c.models[0].line, 26);
	cr_assert_str_eq(c.models[0].model, "tiny-echo");
	cr_assert_eq(c.models[0].provider_idx, 0);
	cr_assert_str_eq(c.models[1].alias, "big");
	cr_assert_str_eq(c.models[1].model, "big");		/* defaults to the alias */
	cr_assert_str_eq(c.models[1].provider, "slow");
	cr_assert_eq(c.models[1].provider_idx, 1);
	cr_assert_str_eq(c.models[2].alias, "with space");
	cr_assert_str_eq(c.models[2].model, "x: y");

	tc_round_trip(&c);
	cfg_free(&c);
	unlink(path);
	free(path);
}

Test(config, find_model_matches_exact_alias_only)
{
	struct cfg c;
	char err[TC_ERRLEN];
	static const char req[] = "smallXYZ";	/* alias bytes from a frame: no NUL */

	cr_assert_eq(tc_load(tc_full, strlen(tc_full), &c, err), 0, "%s", err);
	cr_assert_eq(cfg_find_model(&c, req, 5), &c.models[0]);
	cr_assert_eq(cfg_find_model(&c, "big", 3), &c.models[1]);
	cr_assert_null(cfg_find_model(&c, "smal", 4));
	cr_assert_null(cfg_find_model(&c, req, 6));
	cr_assert_null(cfg_find_model(&c, "", 0));
	/* Client bytes: a NUL inside must not end the compare early. */
	cr_assert_null(cfg_find_model(&c, "big\0xxxxxxxx", 12));
	cr_assert_null(cfg_find_model(&c, "big\0", 4));
	cr_assert_eq(c.models[2].alias_len, strlen("with space"));
	cfg_free(&c);
}

Test(config, values_accept_every_documented_form)
{
	static const char yaml[] =
		"listen:\n  socket: ''\n  mode: \"0o640\"\n  group: ~\n"
		"limits:\n  submit_ring: 8 KiB\n  event_ring: 1g\n  max_request: 2048B\n"
		"  handshake_timeout: 1500ms\n  default_deadline: 2m\n"
		"log: {level: error}\n" TC_TAIL "    model: \"\\u00e9cho\"\n";
	struct cfg c;
	char err[TC_ERRLEN];

	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_null(c.listen.socket);
	cr_assert_eq(c.listen.mode, 0640);
	cr_assert_null(c.listen.group);
	cr_assert_eq(c.limits.submit_ring, 8192);
	cr_assert_eq(c.limits.event_ring, 1u << 30);
	cr_assert_eq(c.limits.max_request, 2048);
	cr_assert_eq(c.limits.handshake_timeout_ms, 1500);
	cr_assert_eq(c.limits.default_deadline_ms, 120000);
	cr_assert_eq(c.log.level, CFG_LOG_ERROR);
	cr_assert_str_eq(c.models[0].model, "\xc3\xa9" "cho");
	tc_round_trip(&c);
	cfg_free(&c);
}

Test(config, anchors_and_aliases_are_followed)
{
	static const char yaml[] =
		"providers:\n"
		"  a: &shared\n"
		"    kind: mock\n"
		"    ttft: &t 7ms\n"
		"  b: *shared\n"
		"models:\n"
		"  m1: &m {provider: a}\n"
		"  m2: *m\n"
		"limits:\n"
		"  handshake_timeout: *t\n";
	struct cfg c;
	char err[TC_ERRLEN];

	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_eq(c.n_providers, 2);
	cr_assert_eq(c.providers[1].mock_ttft_us, 7000);
	cr_assert_str_eq(c.models[1].alias, "m2");
	cr_assert_str_eq(c.models[1].model, "m2");
	cr_assert_str_eq(c.models[1].provider, "a");
	cr_assert_eq(c.limits.handshake_timeout_ms, 7);
	cfg_free(&c);
}

/* ---- validation: each rule, its line and key path --------------------------- */

Test(config, unknown_keys_are_named_with_a_suggestion)
{
	static const struct tc_case cases[] = {
		{ "limits:\n  max_client: 5\n" TC_TAIL,
		  "t.yaml:2: limits: unknown key 'max_client' (did you mean 'max_clients'?)" },
		{ "lisen: {}\n" TC_TAIL,
		  "t.yaml:1: unknown key 'lisen' (did you mean 'listen'?)" },
		{ TC_TAIL "backend: x\n",
		  "t.yaml:7: unknown key 'backend' (known: listen, limits, log, providers, models)" },
		{ "listen:\n  sockt: /x\n" TC_TAIL,
		  "t.yaml:2: listen: unknown key 'sockt' (did you mean 'socket'?)" },
		{ "providers:\n  p:\n    kind: mock\n    base_url: http://x\n"
		  "models: {m: {provider: p}}\n",
		  "t.yaml:4: providers.p: unknown key 'base_url' (known: kind, ttft, token_interval)" },
		{ TC_TAIL "    modle: x\n",
		  "t.yaml:7: models.mock: unknown key 'modle' (did you mean 'model'?)" },
		{ "log:\n  lvl: info\n" TC_TAIL,
		  "t.yaml:2: log: unknown key 'lvl' (did you mean 'level'?)" },
		{ "log:\n  verbosity: 3\n" TC_TAIL,
		  "t.yaml:2: log: unknown key 'verbosity' (known: level)" },
		{ "<<: {limits: {}}\n" TC_TAIL,
		  "t.yaml:1: unknown key '<<' (known: listen, limits, log, providers, models)" },
	};

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, wrong_types_are_reported)
{
	static const struct tc_case cases[] = {
		{ "limits: 5\n" TC_TAIL, "t.yaml:1: limits: expected a mapping, found a single value" },
		{ "limits: [1]\n" TC_TAIL, "t.yaml:1: limits: expected a mapping, found a list" },
		{ "limits:\n  max_clients: [1, 2]\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: expected a single value, found a list" },
		{ "limits:\n  max_clients:\n    a: 1\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: expected a single value, found a mapping" },
		{ "limits:\n  max_clients:\n" TC_TAIL, "t.yaml:2: limits.max_clients: missing value" },
		{ "providers: {p: {kind: mock}}\nmodels:\n  - m\n",
		  "t.yaml:2: models: expected a mapping, found a list" },
		{ "providers:\n  p: mock\nmodels: {m: {provider: p}}\n",
		  "t.yaml:2: providers.p: expected a mapping, found a single value" },
		{ TC_TAIL "  other:\n",
		  "t.yaml:7: models.other: expected a mapping, found nothing" },
		{ "- listen\n- limits\n",
		  "t.yaml:1: the top level must be a mapping of sections (listen, limits, log, "
		  "providers, models)" },
		{ "# a comment first\njust a string\n",
		  "t.yaml:2: the top level must be a mapping of sections (listen, limits, log, "
		  "providers, models)" },
		{ "? [a, b]\n: 1\n" TC_TAIL, "t.yaml:1: keys must be names, found a list" },
		{ "limits:\n  max_clients: *nope\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: alias '*nope' does not resolve (no such anchor, "
		  "or a loop)" },
		{ "limits: &l\n  max_clients: *l\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: expected a single value, found a mapping" },
	};

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, bad_numbers_are_reported)
{
	static const struct tc_case cases[] = {
		{ "limits:\n  max_clients: abc\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: 'abc' is not a number" },
		{ "limits:\n  max_clients: -5\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: '-5' must not be negative" },
		{ "limits:\n  max_clients: 99999999999999999999999\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: '99999999999999999999999' is too large" },
		{ "limits:\n  max_clients: 70000\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: '70000' is out of range (1..65536)" },
		{ "limits:\n  max_clients: 0\n" TC_TAIL,
		  "t.yaml:2: limits.max_clients: '0' is out of range (1..65536)" },
		{ "limits:\n  spin_us: 1.5\n" TC_TAIL,
		  "t.yaml:2: limits.spin_us: '1.5' is not a whole number" },
		{ "limits:\n  spin_us: 0x10\n" TC_TAIL,
		  "t.yaml:2: limits.spin_us: '0x10' is not a whole number" },
		{ "limits:\n  max_request: 2GiB\n" TC_TAIL,
		  "t.yaml:2: limits.max_request: '2GiB' is out of range (1KiB..1GiB)" },
		{ "limits:\n  max_request: 12XB\n" TC_TAIL,
		  "t.yaml:2: limits.max_request: '12XB' has an unknown unit (use B, KiB, MiB, GiB)" },
		{ "limits:\n  max_request: 18446744073709551615G\n" TC_TAIL,
		  "t.yaml:2: limits.max_request: '18446744073709551615G' is too large" },
		{ "limits:\n  handshake_timeout: 1500us\n" TC_TAIL,
		  "t.yaml:2: limits.handshake_timeout: '1500us' is not a whole number of "
		  "milliseconds" },
		{ "limits:\n  handshake_timeout: 5 parsecs\n" TC_TAIL,
		  "t.yaml:2: limits.handshake_timeout: '5 parsecs' has an unknown unit "
		  "(use us, ms, s, m, h)" },
		{ "limits:\n  handshake_timeout: 0s\n" TC_TAIL,
		  "t.yaml:2: limits.handshake_timeout: '0s' is out of range (1ms..4294967295ms)" },
		{ "limits:\n  default_deadline: 2000h\n" TC_TAIL,
		  "t.yaml:2: limits.default_deadline: '2000h' is out of range (1ms..4294967295ms)" },
		{ "providers:\n  p:\n    kind: mock\n    ttft: 2h\nmodels: {m: {provider: p}}\n",
		  "t.yaml:4: providers.p.ttft: '2h' is out of range (0us..4294967295us)" },
		{ "listen:\n  mode: \"0999\"\n" TC_TAIL,
		  "t.yaml:2: listen.mode: '0999' is not an octal mode like 0660" },
		{ "listen:\n  mode: 04755\n" TC_TAIL,
		  "t.yaml:2: listen.mode: '04755' has bits beyond 0777 (only permission bits are "
		  "allowed)" },
	};

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, ring_sizes_must_be_powers_of_two_in_bounds)
{
	static const struct tc_case cases[] = {
		{ "limits:\n  submit_ring: 5000\n" TC_TAIL,
		  "t.yaml:2: limits.submit_ring: '5000' is not a power of two" },
		{ "limits:\n  event_ring: 96KiB\n" TC_TAIL,
		  "t.yaml:2: limits.event_ring: '96KiB' is not a power of two" },
		{ "limits:\n  submit_ring: 2KiB\n" TC_TAIL,
		  "t.yaml:2: limits.submit_ring: '2KiB' is out of range (4KiB..1GiB)" },
		{ "limits:\n  event_ring: 2GiB\n" TC_TAIL,
		  "t.yaml:2: limits.event_ring: '2GiB' is out of range (4KiB..1GiB)" },
	};

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, log_listen_provider_and_model_rules)
{
	char long_alias[600];
	struct tc_case cases[] = {
		{ "log:\n  level: verbose\n" TC_TAIL,
		  "t.yaml:2: log.level: unknown level 'verbose' (known: debug, info, warn, error)" },
		{ "listen:\n  group: ringside-no-such-group\n" TC_TAIL,
		  "t.yaml:2: listen.group: no such group 'ringside-no-such-group'" },
		{ "listen:\n  group: ''\n" TC_TAIL,
		  "t.yaml:2: listen.group: group name is empty (omit the key to keep the "
		  "socket's group)" },
		{ "listen:\n  socket: run/x.sock\n" TC_TAIL,
		  "t.yaml:2: listen.socket: 'run/x.sock' is not an absolute path" },
		{ "providers:\n  p:\n    kind: foo\nmodels: {m: {provider: p}}\n",
		  "t.yaml:3: providers.p.kind: unknown kind 'foo' (known: mock, openai, azure, "
		  "anthropic, gemini, ollama)" },
		{ "providers:\n  p:\n    ttft: 1ms\nmodels: {m: {provider: p}}\n",
		  "t.yaml:2: providers.p: missing key 'kind' (known: mock, openai, azure, "
		  "anthropic, gemini, ollama)" },
		{ "providers:\n  p:\n    kind:\n      - mock\nmodels: {m: {provider: p}}\n",
		  "t.yaml:3: providers.p.kind: expected a single value, found a list" },
		{ "providers:\n  p:\n    kind:\nmodels: {m: {provider: p}}\n",
		  "t.yaml:3: providers.p.kind: missing value" },
		{ "providers:\n  p: {kind: mock}\nmodels:\n  m:\n    provider: q\n",
		  "t.yaml:5: models.m.provider: no provider named 'q'" },
		{ "providers:\n  p: {kind: mock}\nmodels:\n  m:\n    model: x\n",
		  "t.yaml:4: models.m: missing key 'provider'" },
		{ "providers:\n  p: {kind: mock}\n", "t.yaml:1: models: at least one model alias is required" },
		{ "providers:\n  p: {kind: mock}\nmodels: {}\n",
		  "t.yaml:3: models: at least one model alias is required" },
		{ "providers:\n  p: {kind: mock}\nmodels:\n  '': {provider: p}\n",
		  "t.yaml:4: models: alias is empty" },
		{ TC_TAIL "    model: ''\n", "t.yaml:7: models.mock.model: name is empty" },
		{ "providers:\n  p: {kind: mock}\nmodels:\n  \"a\\tb\": {provider: p}\n",
		  "t.yaml:4: models: alias 'a\\x09b' contains a control character" },
		{ long_alias,
		  "t.yaml:4: models: alias 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is 256 "
		  "bytes long (max 255)" },
	};
	char a256[257];

	memset(a256, 'a', 256);
	a256[256] = '\0';
	snprintf(long_alias, sizeof(long_alias),
		 "providers:\n  p: {kind: mock}\nmodels:\n  %s: {provider: p}\n", a256);
	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, alias_of_255_bytes_is_accepted)
{
	char yaml[600], a255[256];
	struct cfg c;
	char err[TC_ERRLEN];

	memset(a255, 'b', 255);
	a255[255] = '\0';
	snprintf(yaml, sizeof(yaml), "providers:\n  p: {kind: mock}\nmodels:\n  %s: {provider: p}\n",
		 a255);
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_eq(strlen(c.models[0].alias), 255);
	cr_assert_eq(cfg_find_model(&c, a255, 255), &c.models[0]);
	cfg_free(&c);
}

Test(config, yaml_errors_carry_the_parser_line)
{
	static const struct tc_case cases[] = {
		{ "limits:\n  max_clients: 1\n  max_clients: 2\n" TC_TAIL,
		  "t.yaml:3: invalid YAML: duplicate key ('max_clients')" },
		{ TC_TAIL "  mock:\n    provider: mock\n",
		  "t.yaml:7: invalid YAML: duplicate key ('mock')" },
		{ "", "t.yaml:1: empty configuration (at least one entry under 'models' is required)" },
		{ "# nothing but a comment\n\n",
		  "t.yaml:1: empty configuration (at least one entry under 'models' is required)" },
		{ "---\n", "t.yaml:1: empty configuration (at least one entry under 'models' is required)" },
		{ TC_TAIL "---\nlog: {level: debug}\n",
		  "t.yaml:7: a second YAML document starts here; the configuration must be a "
		  "single document" },
	};

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, yaml_syntax_errors_name_file_and_line)
{
	static const char *const bad[] = {
		"limits:\n  max_clients: [1, 2\n",
		"limits:\n  max_clients: 'unterminated\n",
		"limits:\n\tmax_clients: 1\n",
		"models: {a: {provider: mock}\n",
		"a: b: c\n",
		"%YAML 9.9\n---\na: 1\n",
	};
	static const int lines[] = { 3, 2, 2, 2, 1, 1 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg c = { 0 };
		char err[TC_ERRLEN], want[32];

		cr_expect_eq(tc_load(bad[i], strlen(bad[i]), &c, err), -EINVAL, "%s", bad[i]);
		snprintf(want, sizeof(want), "t.yaml:%d: invalid YAML: ", lines[i]);
		cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%zu: %s", i, err);
		cr_expect_null(strstr(err, "[ERR]"), "%s", err);
	}
}

Test(config, trailing_empty_document_is_harmless)
{
	static const char yaml[] = TC_TAIL "---\n...\n";
	struct cfg c;
	char err[TC_ERRLEN];

	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cfg_free(&c);
}

/* ---- files and the error contract ------------------------------------------- */

Test(config, file_errors_are_path_and_strerror)
{
	struct cfg c;
	char err[TC_ERRLEN], *path;
	FILE *f;

	cr_assert_eq(cfg_load_file("/nonexistent/ringside.yaml", &c, err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, "/nonexistent/ringside.yaml: No such file or directory");
	cr_assert_eq(cfg_load_file("/tmp", &c, err, sizeof(err)), -EISDIR);
	cr_assert_str_eq(err, "/tmp: Is a directory");

	path = tc_temp_file("");
	f = fopen(path, "r+");
	cr_assert_not_null(f);
	cr_assert_eq(ftruncate(fileno(f), (off_t)CFG_FILE_MAX + 1), 0);
	fclose(f);
	cr_assert_eq(cfg_load_file(path, &c, err, sizeof(err)), -EFBIG);
	cr_assert_not_null(strstr(err, ": File too large"));
	unlink(path);
	free(path);

	path = tc_temp_file("limits:\n  max_clients: x\n" TC_TAIL);
	cr_assert_eq(cfg_load_file(path, &c, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, ":2: limits.max_clients: 'x' is not a number"));
	cr_assert_eq(strncmp(err, path, strlen(path)), 0);
	unlink(path);
	free(path);
}

Test(config, failed_load_leaves_out_untouched)
{
	struct cfg c, before;
	char small[12];

	memset(&c, 0x5a, sizeof(c));
	before = c;
	cr_assert_eq(cfg_load_string("t.yaml", "limits: 1\n", 10, &c, small, sizeof(small)),
		     -EINVAL);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
	cr_assert_str_eq(small, "t.yaml:1: l");	/* truncated, still terminated */
	cr_assert_eq(cfg_load_string("t.yaml", "limits: 1\n", 10, &c, NULL, 0), -EINVAL);
	cr_assert_eq(memcmp(&c, &before, sizeof(c)), 0);
}

Test(config, input_need_not_be_nul_terminated)
{
	size_t len = strlen(tc_full);
	char *exact = malloc(len);	/* ASan catches any read past len */
	struct cfg c;
	char err[TC_ERRLEN];

	cr_assert_not_null(exact);
	memcpy(exact, tc_full, len);
	cr_assert_eq(tc_load(exact, len, &c, err), 0, "%s", err);
	cfg_free(&c);
	cr_assert_eq(tc_load(exact, len - 3, &c, err), -EINVAL);	/* cut mid-key */
	free(exact);
}

/* ---- hostile input ------------------------------------------------------------- */

Test(config, every_truncation_of_a_valid_file_is_handled)
{
	size_t len = strlen(tc_full), i;
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	for (i = 0; i <= len; i++) {
		memcpy(buf, tc_full, i);
		tc_survive(buf, i);
	}
	free(buf);
}

Test(config, binary_garbage_is_rejected)
{
	char buf[512];
	uint32_t x = 12345;	/* fixed seed: failures reproduce */
	size_t round, i, len;

	for (round = 0; round < 300; round++) {
		len = 1 + round % sizeof(buf);
		for (i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (char)(x >> 16);
		}
		tc_survive(buf, len);
	}
	/* Garbage that keeps to YAML's alphabet gets further into the parser. */
	for (round = 0; round < 300; round++) {
		static const char alpha[] = "ab: -?[]{},&*!|>'\"%@`#\n\t0";

		len = 1 + round % sizeof(buf);
		for (i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
		}
		tc_survive(buf, len);
	}
}

Test(config, deep_nesting_is_refused_not_recursed)
{
	size_t depth = 100000, i;
	char *flow = malloc(depth * 2 + 16), *block, *p;
	struct cfg c;
	char err[TC_ERRLEN];

	cr_assert_not_null(flow);
	for (i = 0; i < depth; i++)
		flow[i] = i % 2 ? '{' : '[';
	cr_assert_eq(tc_load(flow, depth, &c, err), -EINVAL);
	cr_assert(strstr(err, "invalid YAML") != NULL, "%s", err);
	free(flow);

	depth = 1000;
	block = malloc(depth * (depth + 16));
	cr_assert_not_null(block);
	for (p = block, i = 0; i < depth; i++) {
		memset(p, ' ', i);
		p += i;
		p += sprintf(p, "k%zu:\n", i);
	}
	cr_assert_eq(tc_load(block, (size_t)(p - block), &c, err), -EINVAL);
	cr_assert(strstr(err, "invalid YAML") != NULL, "%s", err);
	free(block);
}

Test(config, megabyte_scalars_are_cut_in_messages)
{
	size_t big = 1u << 20;
	char *yaml = malloc(big + 256), err[TC_ERRLEN];
	struct cfg c;
	int n;

	cr_assert_not_null(yaml);
	/* As a key. */
	memset(yaml, 'k', big);
	strcpy(yaml + big, ": 1\n" TC_TAIL);
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:1: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' "
			 "(known: listen, limits, log, providers, models)");
	/* As a model name. */
	n = sprintf(yaml, TC_TAIL "    model: ");
	memset(yaml + n, 'm', big);
	strcpy(yaml + n + big, "\n");
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), -EINVAL);
	cr_assert_not_null(strstr(err, "t.yaml:7: models.mock.model: name 'mmmm"));
	cr_assert_not_null(strstr(err, "...' is 1048576 bytes long (max 255)"));
	/* As a number. */
	n = sprintf(yaml, "limits:\n  max_clients: ");
	memset(yaml + n, '9', big);
	strcpy(yaml + n + big, "\n" TC_TAIL);
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), -EINVAL);
	cr_assert_not_null(strstr(err, "...' is too large"));
	free(yaml);
}

Test(config, alias_bombs_are_not_expanded)
{
	/* Nine levels of ten: a parser that expanded aliases would build 10^9
	 * nodes. Both uses must fail fast on the first key or value. */
	char yaml[4096], *p = yaml;
	int i, j;

	p += sprintf(p, "limits:\n  max_clients: 1\n");
	p += sprintf(p, "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 9; i++) {
		p += sprintf(p, "x%d: &a%d [", i, i);
		for (j = 0; j < 10; j++)
			p += sprintf(p, "%s*a%d", j ? ", " : "", i - 1);
		p += sprintf(p, "]\n");
	}
	p += sprintf(p, TC_TAIL);
	tc_survive(yaml, (size_t)(p - yaml));

	p = yaml;
	p += sprintf(p, "providers:\n  p:\n    kind: mock\n    ttft: &a0 [1, 1, 1, 1]\n");
	p += sprintf(p, "models: {m: {provider: p, model: &a1 [*a0, *a0, *a0, *a0]}}\n");
	tc_survive(yaml, (size_t)(p - yaml));
}

Test(config, non_utf8_bytes_are_rejected_or_round_trip)
{
	static const char *const inputs[] = {
		"providers:\n  p: {kind: mock}\nmodels:\n  \xff\xfe: {provider: p}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  \"\xc3\x28\": {provider: p}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  m: {provider: p, model: '\xe0\x80\xaf'}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  m: {provider: p, model: \"\\xff\\x01\"}\n",
		"providers:\n  p: {kind: mock}\nmodels:\n  m: {provider: p, model: \"\\0\"}\n",
		("\xef\xbb\xbf" TC_TAIL),	/* a UTF-8 byte order mark is fine */
	};
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct cfg c = { 0 };
		char err[TC_ERRLEN];
		int ret = tc_load(inputs[i], strlen(inputs[i]), &c, err);

		cr_assert(ret == 0 || ret == -EINVAL, "%zu: %d", i, ret);
		if (ret == 0) {
			tc_round_trip(&c);
			cfg_free(&c);
		} else {
			cr_assert_eq(strncmp(err, "t.yaml:", 7), 0, "%s", err);
		}
	}
}

/* libfyaml alone would stop at the NUL and load the prefix, or skip stray
 * bytes: the text is checked first, so a corrupt file never half-loads. */
Test(config, control_bytes_and_bad_utf8_are_located)
{
	static const char nul[] = TC_TAIL "    model: a\0b\n";
	static const char bell[] = "limits:\n  max_clients: 1\a\n" TC_TAIL;
	static const char stray[] = "providers:\n  p: {kind: mock}\nmodels:\n  \xff\xfe: {provider: p}\n";
	static const char overlong[] = "log: {level: '\xc0\xaf'}\n";
	static const char surrogate[] = TC_TAIL "    model: \xed\xa0\x80\n";
	struct cfg c;
	char err[TC_ERRLEN];

	cr_assert_eq(tc_load(nul, sizeof(nul) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:7: control byte 0x00 at column 13 (not a text file?)");
	cr_assert_eq(tc_load(bell, sizeof(bell) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:2: control byte 0x07 at column 17 (not a text file?)");
	cr_assert_eq(tc_load(stray, sizeof(stray) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:4: invalid UTF-8 at column 3");
	cr_assert_eq(tc_load(overlong, sizeof(overlong) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:1: invalid UTF-8 at column 15");
	cr_assert_eq(tc_load(surrogate, sizeof(surrogate) - 1, &c, err), -EINVAL);
	cr_assert_str_eq(err, "t.yaml:7: invalid UTF-8 at column 12");
}

/* libfyaml prints diagnostics to stderr unless told otherwise; a sidecar's
 * stderr is its log, so nothing may leak there. */
Test(config, parser_diagnostics_never_reach_stderr, .init = cr_redirect_stderr)
{
	static const char *const bad[] = {
		"", "a: [", "a: 1\na: 2\n", "\xff\xfe\x00", "- a\n- b\n", "{{{{{{{{{{{{",
		"a: 'x\n", "%YAML 9.9\n---\na: 1\n", "a: *b\n", "--- a\n--- b\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tc_survive(bad[i], strlen(bad[i]));
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}

/* ---- dump ------------------------------------------------------------------------ */

Test(config, dump_reloads_to_an_equal_config)
{
	static const char odd_names[] =
		"providers:\n"
		"  \"null\": {kind: mock, ttft: 0us, token_interval: 1h}\n"
		"  '0660': {kind: mock, ttft: 61s}\n"
		"models:\n"
		"  \"a \\\"quoted\\\" # not a comment\": {provider: \"null\", model: 'back\\slash'}\n"
		"  \"true\": {provider: '0660', model: \"- list?\"}\n"
		"  \"k\\u00e9y: v\": {provider: \"null\"}\n"
		"limits: {max_request: 1025, event_ring: 4096, default_deadline: 1}\n"
		"log: {level: warn}\n";
	struct cfg c;
	char err[TC_ERRLEN];

	tc_no_key_env();
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	tc_round_trip(&c);
	cfg_free(&c);

	cr_assert_eq(tc_load(odd_names, strlen(odd_names), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].name, "null");
	cr_assert_str_eq(c.models[0].alias, "a \"quoted\" # not a comment");
	cr_assert_str_eq(c.models[0].model, "back\\slash");
	tc_round_trip(&c);
	cfg_free(&c);
}

Test(config, dump_names_every_section)
{
	struct cfg c;
	char err[TC_ERRLEN], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	tc_no_key_env();
	cr_assert_not_null(f);
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg_dump(&c, f), 0);
	fclose(f);
	cr_assert_not_null(strstr(text, "loaded from <embedded>\n"));
	cr_assert_not_null(strstr(text, "  mode: \"0660\"\n"));
	cr_assert_not_null(strstr(text, "  submit_ring: 256KiB\n"));
	cr_assert_not_null(strstr(text, "  default_deadline: 10m\n"));
	cr_assert_not_null(strstr(text, "    ttft: 5ms\n"));
	cr_assert_not_null(strstr(text, "    model: \"echo\"\n"));
	free(text);
	cfg_free(&c);
}

/* ---- HTTP providers ------------------------------------------------------------ */

#define TC_MODELS "models: {m: {provider: p}}\n"
#define TC_PEM "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"

/* One load that must fail with exactly the line want. */
static void tc_expect_error(const char *yaml, const char *want)
{
	struct tc_case one = { yaml, want };

	tc_expect_errors(&one, 1);
}

Test(config, http_kinds_have_documented_defaults)
{
	static const char yaml[] =
		"providers:\n"
		"  o: {kind: openai, api_key: sk-o}\n"
		"  z: {kind: azure, api_key: az-key, base_url: 'https://res.openai.azure.com/'}\n"
		"  a: {kind: anthropic, api_key: sk-ant-a}\n"
		"  g: {kind: gemini, api_key: AIza-g}\n"
		"  l: {kind: ollama}\n"
		"models: {m: {provider: o}}\n";
	static const struct {
		enum cfg_kind kind;
		const char *name, *url, *key, *version;
	} want[] = {
		{ CFG_KIND_OPENAI, "openai", "https://api.openai.com/v1", "sk-o", NULL },
		{ CFG_KIND_AZURE, "azure", "https://res.openai.azure.com", "az-key", "2024-10-21" },
		{ CFG_KIND_ANTHROPIC, "anthropic", "https://api.anthropic.com", "sk-ant-a",
		  "2023-06-01" },
		{ CFG_KIND_GEMINI, "gemini", "https://generativelanguage.googleapis.com/v1beta",
		  "AIza-g", NULL },
		{ CFG_KIND_OLLAMA, "ollama", "http://127.0.0.1:11434", NULL, NULL },
	};
	struct cfg c;
	char err[TC_ERRLEN];
	size_t i;

	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_eq(c.n_providers, 5);
	for (i = 0; i < 5; i++) {
		const struct cfg_provider *p = &c.providers[i];

		cr_assert_eq(p->kind, want[i].kind, "%zu", i);
		cr_assert_str_eq(cfg_kind_name(p->kind), want[i].name);
		cr_assert_str_eq(p->base_url, want[i].url);
		tc_assert_str_same(p->api_key, want[i].key);
		tc_assert_str_same(p->api_version, want[i].version);
		cr_assert_null(p->api_key_env);
		cr_assert_null(p->api_key_file);
		cr_assert_null(p->ca_file);
		cr_assert_eq(p->max_connections, 64);
		cr_assert_eq(p->connect_timeout_ms, 10000);
		cr_assert_eq(p->first_chunk_timeout_ms, 60000);
		cr_assert_eq(p->idle_timeout_ms, 60000);
		cr_assert_eq(p->total_timeout_ms, 600000);
		cr_assert_eq(p->allow_insecure_http, 0);
		cr_assert_eq(p->mock_ttft_us, 0);
		cr_assert_eq(cfg_provider_is_loopback(p), want[i].kind == CFG_KIND_OLLAMA);
	}
	cr_assert_str_eq(cfg_kind_name(CFG_KIND_MOCK), "mock");
	cfg_free(&c);
}

Test(config, http_provider_loads_every_key)
{
	char yaml[1024], err[TC_ERRLEN], *ca = tc_temp_file("# bundle\n" TC_PEM);
	struct cfg c;
	const struct cfg_provider *p;

	cr_assert_eq(setenv("TC_RINGSIDE_KEY", "sk-every-key-0123", 1), 0);
	snprintf(yaml, sizeof(yaml),
		 "providers:\n"
		 "  p:\n"
		 "    allow_insecure_http: false\n"
		 "    kind: anthropic\n"
		 "    base_url: HTTPS://Gateway.example.com:8443/anthropic//\n"
		 "    api_key: \"${TC_RINGSIDE_KEY}\"\n"
		 "    api_version: 2024-01-01-beta\n"
		 "    ca_file: %s\n"
		 "    max_connections: 4096\n"
		 "    connect_timeout: 1500ms\n"
		 "    first_chunk_timeout: 2m\n"
		 "    idle_timeout: 30000\n"
		 "    total_timeout: 1h\n" TC_MODELS, ca);
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	p = &c.providers[0];
	cr_assert_str_eq(p->base_url, "https://Gateway.example.com:8443/anthropic");
	cr_assert_str_eq(p->api_key, "sk-every-key-0123");
	cr_assert_str_eq(p->api_key_env, "TC_RINGSIDE_KEY");
	cr_assert_str_eq(p->api_version, "2024-01-01-beta");
	cr_assert_str_eq(p->ca_file, ca);
	cr_assert_eq(p->max_connections, 4096);
	cr_assert_eq(p->connect_timeout_ms, 1500);
	cr_assert_eq(p->first_chunk_timeout_ms, 120000);
	cr_assert_eq(p->idle_timeout_ms, 30000);
	cr_assert_eq(p->total_timeout_ms, 3600000);
	cr_assert_eq(p->allow_insecure_http, 0);
	cr_assert_eq(cfg_provider_is_loopback(p), 0);
	tc_round_trip(&c);
	cfg_free(&c);
	unlink(ca);
	free(ca);
}

Test(config, base_url_forms_are_accepted_and_normalised)
{
	static const struct {
		const char *url, *want;
		int loopback;
	} cases[] = {
		{ "http://localhost:8000/v1/", "http://localhost:8000/v1", 1 },
		{ "HTTP://LocalHost", "http://LocalHost", 1 },
		{ "http://127.0.0.1", "http://127.0.0.1", 1 },
		{ "http://127.255.0.9:1/x/y", "http://127.255.0.9:1/x/y", 1 },
		{ "http://[::1]:11434/", "http://[::1]:11434", 1 },
		{ "http://[::ffff:127.0.0.2]", "http://[::ffff:127.0.0.2]", 1 },
		{ "https://10.0.0.5:8443", "https://10.0.0.5:8443", 0 },
		{ "https://[2001:db8::1]/v1", "https://[2001:db8::1]/v1", 0 },
		{ "https://my_service-1.internal/a/@b/", "https://my_service-1.internal/a/@b", 0 },
		{ "https://host:65535///", "https://host:65535", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[512], err[TC_ERRLEN];
		struct cfg c;

		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: ollama\n"
			 "    base_url: '%s'\n" TC_MODELS, cases[i].url);
		cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s: %s", cases[i].url, err);
		cr_assert_str_eq(c.providers[0].base_url, cases[i].want);
		cr_assert_eq(cfg_provider_is_loopback(&c.providers[0]), cases[i].loopback,
			     "%s", cases[i].url);
		tc_round_trip(&c);
		cfg_free(&c);
	}
}

Test(config, base_url_errors_are_reported_without_the_url)
{
	static const struct tc_case cases[] = {
		{ "providers:\n  p:\n    kind: ollama\n    base_url: ftp://x\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL does not start with http:// or https://" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: api.openai.com\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL does not start with http:// or https://" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has no host" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://:80/v1\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has no host" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://me:hunter2@h/v1\n"
		  TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL contains user:password@ (put the key "
		  "in api_key or api_key_file)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h/v1?key=AIzaSecret\n"
		  TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has a ?query or #fragment (give "
		  "scheme, host, port and path only)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'https://h/#x'\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has a ?query or #fragment (give "
		  "scheme, host, port and path only)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h st/\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL contains a space, a control or a "
		  "non-ASCII character" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: \"https://h\\u00e9/\"\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL contains a space, a control or a "
		  "non-ASCII character" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: \"https://h/\\t\"\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the value contains a control character" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h:0\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h:65536\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'https://h:'\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h:8a/\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[::1'\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid [IPv6] address" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[zz::1]'\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid [IPv6] address" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[::1]x'\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid [IPv6] address" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://ex%61mple.com\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid host name" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: ''\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: the value is empty" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: [a]\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: expected a single value, found a list" },
		{ "providers:\n  p:\n    kind: azure\n    api_key: k\n" TC_MODELS,
		  "t.yaml:2: providers.p: missing key 'base_url' (kind azure has no default; "
		  "e.g. https://RESOURCE.openai.azure.com)" },
	};

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, plain_http_needs_loopback_or_allow_insecure_http)
{
	static const struct tc_case cases[] = {
		{ "providers:\n  p:\n    kind: ollama\n    base_url: http://gpu-box:11434\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not 'gpu-box'; use https:// or set "
		  "allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: k\n"
		  "    base_url: http://127.1/v1\n" TC_MODELS,
		  "t.yaml:5: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not '127.1'; use https:// or set "
		  "allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: http://localhost.evil.com\n"
		  TC_MODELS,
		  "t.yaml:4: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not 'localhost.evil.com'; use https:// "
		  "or set allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[::2]'\n"
		  "    allow_insecure_http: false\n" TC_MODELS,
		  "t.yaml:4: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not '::2'; use https:// or set "
		  "allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: ollama\n    allow_insecure_http: yes\n" TC_MODELS,
		  "t.yaml:4: providers.p.allow_insecure_http: 'yes' is not true or false" },
	};
	/* The flag may come after the URL it permits. */
	static const char allowed[] =
		"providers:\n  p:\n    kind: openai\n    base_url: http://vllm.internal:8000/v1\n"
		"    allow_insecure_http: true\n" TC_MODELS;
	struct cfg c;
	char err[TC_ERRLEN];

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	cr_assert_eq(tc_load(allowed, strlen(allowed), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].base_url, "http://vllm.internal:8000/v1");
	cr_assert_eq(c.providers[0].allow_insecure_http, 1);
	cr_assert_null(c.providers[0].api_key);	/* optional with the flag */
	cr_assert_eq(cfg_provider_is_loopback(&c.providers[0]), 0);
	tc_round_trip(&c);
	cfg_free(&c);
}

Test(config, api_key_literal_environment_and_file)
{
	char yaml[512], err[TC_ERRLEN], *f1 = tc_temp_file("sk-file-456\n"),
	     *f2 = tc_temp_file("sk-crlf-789\r\n"), *f3 = tc_temp_file("sk-bare");
	const char *files[] = { f1, f2, f3 }, *keys[] = { "sk-file-456", "sk-crlf-789", "sk-bare" };
	static const char literal[] =
		"providers:\n  p: {kind: openai, api_key: 'sk-lit-123'}\n" TC_MODELS;
	static const char env[] =
		"providers:\n  p: {kind: gemini, api_key: \"${TC_RINGSIDE_KEY}\"}\n" TC_MODELS;
	struct cfg c;
	size_t i;

	cr_assert_eq(tc_load(literal, strlen(literal), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_key, "sk-lit-123");
	cr_assert_null(c.providers[0].api_key_env);
	cr_assert_null(c.providers[0].api_key_file);
	cfg_free(&c);

	cr_assert_eq(setenv("TC_RINGSIDE_KEY", "AIza-env-123", 1), 0);
	cr_assert_eq(tc_load(env, strlen(env), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_key, "AIza-env-123");
	cr_assert_str_eq(c.providers[0].api_key_env, "TC_RINGSIDE_KEY");
	cr_assert_null(c.providers[0].api_key_file);
	cfg_free(&c);

	for (i = 0; i < 3; i++) {
		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: azure\n"
			 "    base_url: https://r.openai.azure.com\n    api_key_file: %s\n"
			 TC_MODELS, files[i]);
		cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
		cr_assert_str_eq(c.providers[0].api_key, keys[i]);
		cr_assert_str_eq(c.providers[0].api_key_file, files[i]);
		cr_assert_null(c.providers[0].api_key_env);
		cfg_free(&c);
		unlink(files[i]);
	}
	free(f1);
	free(f2);
	free(f3);
}

Test(config, api_key_errors_name_the_source_never_the_value)
{
	static const struct tc_case cases[] = {
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${TC_RINGSIDE_UNSET}\"\n"
		  TC_MODELS,
		  "t.yaml:4: providers.p.api_key: environment variable TC_RINGSIDE_UNSET is not set" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${TC_RINGSIDE_EMPTY}\"\n"
		  TC_MODELS,
		  "t.yaml:4: providers.p.api_key: environment variable TC_RINGSIDE_EMPTY is empty" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${TC_RINGSIDE_BAD}\"\n"
		  TC_MODELS,
		  "t.yaml:4: providers.p.api_key: environment variable TC_RINGSIDE_BAD does not "
		  "hold a key (printable ASCII without spaces, at most 16384 bytes)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: $OPENAI_API_KEY\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${1X}\"\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${}\"\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${A}x\"\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: sk-has space\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: the key contains a space, a control or a "
		  "non-ASCII character" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"sk-x\\r\\nX-Evil: 1\"\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: the value contains a control character" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: ''\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: the value is empty" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"<redacted>\"\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key: '<redacted>' is what --dump-config writes for a "
		  "key given literally; put the key back, or use \"${NAME}\" or api_key_file" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: sk-1\n"
		  "    api_key_file: /etc/hostname\n" TC_MODELS,
		  "t.yaml:5: providers.p.api_key_file: give api_key or api_key_file, not both" },
		{ "providers:\n  p:\n    kind: openai\n    api_key_file: /nonexistent/ringside-key\n"
		  TC_MODELS,
		  "t.yaml:4: providers.p.api_key_file: cannot open '/nonexistent/ringside-key': "
		  "No such file or directory" },
		{ "providers:\n  p:\n    kind: openai\n    api_key_file: /tmp\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key_file: '/tmp' is not a regular file" },
		{ "providers:\n  p:\n    kind: openai\n    api_key_file: ''\n" TC_MODELS,
		  "t.yaml:4: providers.p.api_key_file: the value is empty" },
		{ "providers:\n  p:\n    kind: mock\n    api_key: sk-1\n" TC_MODELS,
		  "t.yaml:4: providers.p: unknown key 'api_key' (known: kind, ttft, token_interval)" },
	};

	cr_assert_eq(setenv("TC_RINGSIDE_EMPTY", "", 1), 0);
	cr_assert_eq(setenv("TC_RINGSIDE_BAD", "sk-env\nX-Evil: 1", 1), 0);
	unsetenv("TC_RINGSIDE_UNSET");
	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, api_key_file_contents_are_checked)
{
	char big[(16 << 10) + 2], *path, yaml[512], want[TC_ERRLEN];
	const struct {
		const char *text, *why;
	} cases[] = {
		{ "", "is empty" },
		{ "\n", "is empty" },
		{ "sk-line-1\nsk-line-2\n", "does not hold a key (one line of printable ASCII "
		  "without spaces)" },
		{ "sk-secret with space\n", "does not hold a key (one line of printable ASCII "
		  "without spaces)" },
		{ big, "is larger than 16384 bytes" },
	};
	size_t i;

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path = tc_temp_file(cases[i].text);
		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: anthropic\n"
			 "    api_key_file: %s\n" TC_MODELS, path);
		snprintf(want, sizeof(want), "t.yaml:4: providers.p.api_key_file: '%s' %s", path,
			 cases[i].why);
		tc_expect_error(yaml, want);
		unlink(path);
		free(path);
	}

	/* A FIFO is refused, not waited on. */
	path = tc_temp_file("");
	unlink(path);
	cr_assert_eq(mkfifo(path, 0600), 0);
	snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: anthropic\n"
		 "    api_key_file: %s\n" TC_MODELS, path);
	snprintf(want, sizeof(want), "t.yaml:4: providers.p.api_key_file: '%s' is not a "
		 "regular file", path);
	tc_expect_error(yaml, want);
	unlink(path);
	free(path);
}

Test(config, a_key_is_required_per_kind)
{
	static const struct tc_case cases[] = {
		{ "providers:\n  p:\n    kind: openai\n" TC_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind openai needs one "
		  "unless base_url is a loopback address or allow_insecure_http is true)" },
		{ "providers:\n  p:\n    kind: openai\n    base_url: https://vllm.example.com/v1\n"
		  TC_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind openai needs one "
		  "unless base_url is a loopback address or allow_insecure_http is true)" },
		{ "providers:\n  p:\n    kind: azure\n    base_url: https://r.openai.azure.com\n"
		  TC_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind azure needs one)" },
		{ "providers:\n  p:\n    kind: anthropic\n" TC_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind anthropic needs one)" },
		{ "providers:\n  p:\n    kind: gemini\n    base_url: http://localhost:9\n" TC_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind gemini needs one)" },
	};
	/* Local OpenAI-compatible servers and Ollama need no key. */
	static const char *const keyless[] = {
		"providers:\n  p: {kind: openai, base_url: 'http://localhost:8000/v1'}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, base_url: 'https://[::1]:8443/v1'}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, base_url: 'http://127.0.0.1:8080'}\n" TC_MODELS,
		"providers:\n  p: {kind: ollama}\n" TC_MODELS,
		"providers:\n  p: {kind: ollama, base_url: 'https://ollama.example.com',"
		" api_key: proxy-key}\n" TC_MODELS,
	};
	size_t i;

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < sizeof(keyless) / sizeof(keyless[0]); i++) {
		struct cfg c;
		char err[TC_ERRLEN];

		cr_assert_eq(tc_load(keyless[i], strlen(keyless[i]), &c, err), 0, "%s", err);
		cfg_free(&c);
	}
}

Test(config, api_version_only_for_azure_and_anthropic)
{
	static const char ok[] =
		"providers:\n"
		"  z: {kind: azure, api_key: k, base_url: 'https://r.openai.azure.com',"
		" api_version: 2024-10-01-preview}\n"
		"  a: {kind: anthropic, api_key: k, api_version: '2023-01-01'}\n"
		"models: {m: {provider: z}}\n";
	static const char http_known[] =
		"(known: kind, base_url, api_key, api_key_file, ca_file, max_connections, "
		"connect_timeout, first_chunk_timeout, idle_timeout, total_timeout, "
		"allow_insecure_http)";
	static const struct tc_case cases[] = {
		{ "providers:\n  p:\n    kind: anthropic\n    api_key: k\n"
		  "    api_version: 2023 06 01\n" TC_MODELS,
		  "t.yaml:5: providers.p.api_version: '2023 06 01' is not a version like "
		  "2023-06-01 (letters, digits, '-', '.', '_')" },
		{ "providers:\n  p:\n    kind: azure\n    api_key: k\n    base_url: https://r\n"
		  "    api_version: '2024-10-21&x=1'\n" TC_MODELS,
		  "t.yaml:6: providers.p.api_version: '2024-10-21&x=1' is not a version like "
		  "2024-10-21 (letters, digits, '-', '.', '_')" },
		{ "providers:\n  p:\n    kind: anthropic\n    api_key: k\n    api_version: ''\n"
		  TC_MODELS, "t.yaml:5: providers.p.api_version: the value is empty" },
	};
	const char *kinds[] = { "openai", "gemini", "ollama" };
	char yaml[512], want[TC_ERRLEN];
	struct cfg c;
	char err[TC_ERRLEN];
	size_t i;

	cr_assert_eq(tc_load(ok, strlen(ok), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_version, "2024-10-01-preview");
	cr_assert_str_eq(c.providers[1].api_version, "2023-01-01");
	cfg_free(&c);
	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < 3; i++) {
		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: %s\n    api_key: k\n"
			 "    api_version: '2024-10-21'\n" TC_MODELS, kinds[i]);
		snprintf(want, sizeof(want), "t.yaml:5: providers.p: unknown key 'api_version' %s",
			 http_known);
		tc_expect_error(yaml, want);
	}
	tc_expect_error("providers:\n  p:\n    kind: mock\n    api_version: '1'\n" TC_MODELS,
			"t.yaml:4: providers.p: unknown key 'api_version' (known: kind, ttft, "
			"token_interval)");
}

Test(config, ca_file_must_be_a_readable_pem_bundle)
{
	char *good = tc_temp_file(TC_PEM), *junk = tc_temp_file("not a certificate\n");
	char yaml[512], want[TC_ERRLEN], err[TC_ERRLEN];
	struct cfg c;

	snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: ollama\n    ca_file: %s\n"
		 TC_MODELS, good);
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].ca_file, good);
	tc_round_trip(&c);
	cfg_free(&c);

	snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: ollama\n    ca_file: %s\n"
		 TC_MODELS, junk);
	snprintf(want, sizeof(want), "t.yaml:4: providers.p.ca_file: '%s' holds no PEM "
		 "certificate (-----BEGIN CERTIFICATE-----)", junk);
	tc_expect_error(yaml, want);
	tc_expect_error("providers:\n  p:\n    kind: ollama\n    ca_file: /nonexistent/ca.pem\n"
			TC_MODELS, "t.yaml:4: providers.p.ca_file: cannot open "
			"'/nonexistent/ca.pem': No such file or directory");
	tc_expect_error("providers:\n  p:\n    kind: ollama\n    ca_file: /tmp\n" TC_MODELS,
			"t.yaml:4: providers.p.ca_file: '/tmp' is not a regular file");
	unlink(good);
	unlink(junk);
	free(good);
	free(junk);
}

Test(config, connections_and_timeouts_parse)
{
	static const struct tc_case cases[] = {
		{ "providers:\n  p:\n    kind: ollama\n    max_connections: 0\n" TC_MODELS,
		  "t.yaml:4: providers.p.max_connections: '0' is out of range (1..4096)" },
		{ "providers:\n  p:\n    kind: ollama\n    max_connections: 4097\n" TC_MODELS,
		  "t.yaml:4: providers.p.max_connections: '4097' is out of range (1..4096)" },
		{ "providers:\n  p:\n    kind: ollama\n    connect_timeout: 0\n" TC_MODELS,
		  "t.yaml:4: providers.p.connect_timeout: '0' is out of range "
		  "(1ms..4294967295ms)" },
		{ "providers:\n  p:\n    kind: ollama\n    idle_timeout: 500us\n" TC_MODELS,
		  "t.yaml:4: providers.p.idle_timeout: '500us' is not a whole number of "
		  "milliseconds" },
		{ "providers:\n  p:\n    kind: ollama\n    total_timeout: 1 day\n" TC_MODELS,
		  "t.yaml:4: providers.p.total_timeout: '1 day' has an unknown unit (use us, ms, "
		  "s, m, h)" },
		{ "providers:\n  p:\n    kind: ollama\n    first_chunk_timeout: -1s\n" TC_MODELS,
		  "t.yaml:4: providers.p.first_chunk_timeout: '-1s' must not be negative" },
	};
	static const char yaml[] =
		"providers:\n  p: {kind: ollama, max_connections: 1, connect_timeout: 250,"
		" first_chunk_timeout: 3s, idle_timeout: 1m, total_timeout: 2h}\n" TC_MODELS;
	struct cfg c;
	char err[TC_ERRLEN];

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_eq(c.providers[0].max_connections, 1);
	cr_assert_eq(c.providers[0].connect_timeout_ms, 250);
	cr_assert_eq(c.providers[0].first_chunk_timeout_ms, 3000);
	cr_assert_eq(c.providers[0].idle_timeout_ms, 60000);
	cr_assert_eq(c.providers[0].total_timeout_ms, 7200000);
	tc_round_trip(&c);
	cfg_free(&c);
}

Test(config, keys_of_one_kind_are_unknown_to_another)
{
	static const struct tc_case cases[] = {
		{ "providers:\n  p:\n    kind: openai\n    api_key: k\n    ttft: 1ms\n" TC_MODELS,
		  "t.yaml:5: providers.p: unknown key 'ttft' (known: kind, base_url, api_key, "
		  "api_key_file, ca_file, max_connections, connect_timeout, first_chunk_timeout, "
		  "idle_timeout, total_timeout, allow_insecure_http)" },
		{ "providers:\n  p:\n    kind: anthropic\n    api_key: k\n    token_interval: 1ms\n"
		  TC_MODELS,
		  "t.yaml:5: providers.p: unknown key 'token_interval' (known: kind, base_url, "
		  "api_key, api_key_file, api_version, ca_file, max_connections, connect_timeout, "
		  "first_chunk_timeout, idle_timeout, total_timeout, allow_insecure_http)" },
		{ "providers:\n  p:\n    kind: mock\n    allow_insecure_http: true\n" TC_MODELS,
		  "t.yaml:4: providers.p: unknown key 'allow_insecure_http' (known: kind, ttft, "
		  "token_interval)" },
		{ "providers:\n  p:\n    kind: mock\n    max_connections: 1\n" TC_MODELS,
		  "t.yaml:4: providers.p: unknown key 'max_connections' (known: kind, ttft, "
		  "token_interval)" },
		{ "providers:\n  p:\n    kind: gemini\n    api_key: k\n    base_ulr: https://x\n"
		  TC_MODELS,
		  "t.yaml:5: providers.p: unknown key 'base_ulr' (did you mean 'base_url'?)" },
		/* Only what looks like a key name is quoted in a provider. */
		{ "providers:\n  p:\n    kind: mock\n    ttft 5ms: x\n" TC_MODELS,
		  "t.yaml:4: providers.p: unknown key, not shown as it may hold a secret (known: "
		  "kind, ttft, token_interval)" },
		{ "providers:\n  p:\n    kind: mock\n    abcdefghijklmnopqrstuvwxy: 1\n" TC_MODELS,
		  "t.yaml:4: providers.p: unknown key, not shown as it may hold a secret (known: "
		  "kind, ttft, token_interval)" },
		{ "providers:\n  p:\n    kind: mock\n    abcdefghijklmnopqrstuvwx: 1\n" TC_MODELS,
		  "t.yaml:4: providers.p: unknown key 'abcdefghijklmnopqrstuvwx' (known: kind, "
		  "ttft, token_interval)" },
	};

	tc_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A key must not reach a dump, whichever way it was given; the dump says
 * where it came from instead, and loads back to the same key. */
Test(config, dump_never_contains_a_key)
{
	static const char secret_lit[] = "sk-tc-literal-0123456789";
	static const char secret_env[] = "sk-tc-environment-0123456789";
	static const char secret_file[] = "sk-tc-file-0123456789";
	char *path = tc_temp_file("sk-tc-file-0123456789\n"), yaml[1024], err[TC_ERRLEN],
	     *text, want[256];
	struct cfg c, back;

	cr_assert_eq(setenv("TC_RINGSIDE_KEY", secret_env, 1), 0);
	snprintf(yaml, sizeof(yaml),
		 "providers:\n"
		 "  env: {kind: openai, api_key: \"${TC_RINGSIDE_KEY}\"}\n"
		 "  file: {kind: gemini, api_key_file: %s}\n"
		 "  ollama: {kind: ollama}\n"
		 "models: {m: {provider: env}}\n", path);
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_key, secret_env);
	cr_assert_str_eq(c.providers[1].api_key, secret_file);
	text = tc_dump(&c);
	cr_assert_null(strstr(text, secret_env), "%s", text);
	cr_assert_null(strstr(text, secret_file), "%s", text);
	cr_assert_not_null(strstr(text, "    api_key: \"${TC_RINGSIDE_KEY}\"\n"), "%s", text);
	snprintf(want, sizeof(want), "    api_key_file: \"%s\"\n", path);
	cr_assert_not_null(strstr(text, want), "%s", text);
	cr_assert_not_null(strstr(text, "    base_url: \"http://127.0.0.1:11434\"\n"
				  "    max_connections: 64\n"), "%s", text);
	cr_assert_not_null(strstr(text, "    connect_timeout: 10s\n"
				  "    first_chunk_timeout: 1m\n    idle_timeout: 1m\n"
				  "    total_timeout: 10m\n    allow_insecure_http: false\n"), "%s", text);
	cr_assert_eq(cfg_load_string("dump", text, strlen(text), &back, err, sizeof(err)), 0,
		     "%s", err);
	tc_assert_same(&c, &back);
	cfg_free(&back);
	free(text);
	cfg_free(&c);

	/* A literal key: written as a placeholder that does not load. */
	snprintf(yaml, sizeof(yaml), "providers:\n  lit:\n    kind: anthropic\n"
		 "    api_key: %s\nmodels: {m: {provider: lit}}\n", secret_lit);
	cr_assert_eq(tc_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	text = tc_dump(&c);
	cr_assert_null(strstr(text, secret_lit), "%s", text);
	cr_assert_not_null(strstr(text, "    api_key: \"<redacted>\"\n"), "%s", text);
	cr_assert_not_null(strstr(text, "    api_version: \"2023-06-01\"\n"), "%s", text);
	cr_assert_eq(cfg_load_string("dump", text, strlen(text), &back, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "providers.lit.api_key: '<redacted>' is what "
				  "--dump-config writes"), "%s", err);
	free(text);
	cfg_free(&c);
	unlink(path);
	free(path);
}

/* Whatever else is wrong in a provider, its key is not in the message. */
Test(config, errors_after_a_key_do_not_show_it)
{
	static const char *const bad[] = {
		"providers:\n  p: {kind: openai, api_key: sk-tc-SECRET, base_url: 'ftp://x'}\n"
		TC_MODELS,
		"providers:\n  p: {kind: openai, api_key: sk-tc-SECRET, ttft: 1}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, api_key: \"sk-tc-SECRET\\x01\"}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, api_key: \"sk-tc-SECRET\\u00e9\"}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, api_key: sk-tc-SECRET, api_key_file: /x}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, api_key: [sk-tc-SECRET]}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, base_url: 'https://u:sk-tc-SECRET@h'}\n" TC_MODELS,
		"providers:\n  p: {kind: gemini, base_url: 'https://h/?key=sk-tc-SECRET'}\n" TC_MODELS,
		/* Syntax errors: libfyaml points at the scalar it could not end. */
		"providers:\n  p:\n    kind: openai\n    api_key: \"sk-tc-SECRET\n" TC_MODELS,
		"providers:\n  p:\n    kind: openai\n    api_key: 'sk-tc-SECRET\n" TC_MODELS,
		"providers:\n  p:\n    kind: openai\n    api_key: |\n  sk-tc-SECRET\n" TC_MODELS,
		"providers:\n  p:\n    kind: openai\n    api_key: \"sk-tc-SECRET\\q\"\n" TC_MODELS,
		/* A missing colon makes the key a key name. */
		"providers:\n  p: {kind: openai, api_key sk-tc-SECRET}\n" TC_MODELS,
		"providers:\n  p: {kind: openai, sk-proj-tc-SECRET-0123456789abcdef}\n" TC_MODELS,
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg c;
		char err[TC_ERRLEN];

		cr_assert_eq(tc_load(bad[i], strlen(bad[i]), &c, err), -EINVAL, "%s", bad[i]);
		cr_assert_null(strstr(err, "SECRET"), "%zu: %s", i, err);
	}
}

/* ---- embedded default and the environment ------------------------------------------ */

Test(config, embedded_default_without_keys_is_the_mock_only)
{
	struct cfg c;
	char err[TC_ERRLEN];

	tc_no_key_env();
	cr_assert_eq(setenv("OPENAI_API_KEY", "", 1), 0);	/* empty = not set */
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.n_providers, 1);
	cr_assert_eq(c.n_models, 1);
	cr_assert_str_eq(c.models[0].alias, "mock");
	cr_assert_null(strstr(cfg_embedded_default(), "openai"));
	cfg_free(&c);
}

Test(config, embedded_default_adds_openai_from_the_environment)
{
	static const char secret[] = "sk-tc-embedded-openai-42";
	struct cfg c;
	char err[TC_ERRLEN], *text;
	const struct cfg_provider *p;

	tc_no_key_env();
	cr_assert_eq(setenv("OPENAI_API_KEY", secret, 1), 0);
	cr_assert_null(strstr(cfg_embedded_default(), secret));
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.n_providers, 2);
	cr_assert_str_eq(c.providers[0].name, "mock");
	p = &c.providers[1];
	cr_assert_str_eq(p->name, "openai");
	cr_assert_eq(p->kind, CFG_KIND_OPENAI);
	cr_assert_str_eq(p->base_url, "https://api.openai.com/v1");
	cr_assert_str_eq(p->api_key, secret);
	cr_assert_str_eq(p->api_key_env, "OPENAI_API_KEY");
	cr_assert_eq(c.n_models, 3);
	cr_assert_str_eq(c.models[0].alias, "mock");	/* still first */
	cr_assert_str_eq(c.models[1].alias, "gpt-4o-mini");
	cr_assert_str_eq(c.models[1].model, "gpt-4o-mini");
	cr_assert_eq(c.models[1].provider_idx, 1);
	cr_assert_str_eq(c.models[2].alias, "gpt-4o");
	cr_assert_str_eq(c.models[2].model, "gpt-4o");
	text = tc_dump(&c);
	cr_assert_null(strstr(text, secret), "%s", text);
	cr_assert_not_null(strstr(text, "api_key: \"${OPENAI_API_KEY}\""), "%s", text);
	free(text);
	tc_round_trip(&c);
	cfg_free(&c);
}

Test(config, embedded_default_adds_every_provider_with_a_key)
{
	static const char *const vars[] = { "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
					    "GEMINI_API_KEY" };
	static const char *const secrets[] = { "sk-tc-o-1", "sk-ant-tc-a-2", "AIza-tc-g-3" };
	static const struct {
		const char *alias, *provider, *model;
	} models[] = {
		{ "mock", "mock", "echo" },
		{ "gpt-4o-mini", "openai", "gpt-4o-mini" },
		{ "gpt-4o", "openai", "gpt-4o" },
		{ "claude-sonnet", "anthropic", "claude-sonnet-4-5" },
		{ "claude-haiku", "anthropic", "claude-haiku-4-5" },
		{ "gemini-flash", "gemini", "gemini-2.5-flash" },
		{ "gemini-pro", "gemini", "gemini-2.5-pro" },
	};
	struct cfg c;
	char err[TC_ERRLEN], *text;
	size_t i;

	for (i = 0; i < 3; i++)
		cr_assert_eq(setenv(vars[i], secrets[i], 1), 0);
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.n_providers, 4);
	for (i = 0; i < 3; i++) {
		cr_assert_str_eq(c.providers[i + 1].api_key, secrets[i]);
		cr_assert_str_eq(c.providers[i + 1].api_key_env, vars[i]);
	}
	cr_assert_eq(c.providers[2].kind, CFG_KIND_ANTHROPIC);
	cr_assert_str_eq(c.providers[2].api_version, "2023-06-01");
	cr_assert_eq(c.providers[3].kind, CFG_KIND_GEMINI);
	cr_assert_eq(c.n_models, 7);
	for (i = 0; i < 7; i++) {
		cr_assert_str_eq(c.models[i].alias, models[i].alias);
		cr_assert_str_eq(c.models[i].provider, models[i].provider);
		cr_assert_str_eq(c.models[i].model, models[i].model);
		cr_assert_str_eq(c.providers[c.models[i].provider_idx].name, models[i].provider);
	}
	text = tc_dump(&c);
	for (i = 0; i < 3; i++)
		cr_assert_null(strstr(text, secrets[i]), "%s", text);
	free(text);
	tc_round_trip(&c);
	cfg_free(&c);

	/* Only Gemini: the others' aliases are absent, not broken. */
	unsetenv("OPENAI_API_KEY");
	unsetenv("ANTHROPIC_API_KEY");
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.n_providers, 2);
	cr_assert_str_eq(c.providers[1].name, "gemini");
	cr_assert_eq(c.n_models, 3);
	cr_assert_str_eq(c.models[1].alias, "gemini-flash");
	cfg_free(&c);
}
