/*
 * test_config.c — the YAML config: defaults, a full file, every validation
 * rule with its "file:line: key: message", and dump round trips. Hostile
 * input is in test_config_hostile.c, the HTTP providers in
 * test_config_providers.c and their keys in test_config_keys.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_test_util.h"
#include "sidecar/config.h"

/* ---- loading ------------------------------------------------------------- */

Test(config, embedded_default_has_documented_values)
{
	struct cfg c;
	char err[CFGT_ERRLEN];

	cfgt_no_key_env();
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
	char err[CFGT_ERRLEN];
	static const char bare[] = CFGT_TAIL "    model: echo\n";

	cfgt_no_key_env();
	cr_assert_eq(cfg_load_embedded(&a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfgt_load(bare, strlen(bare), &b, err), 0, "%s", err);
	cfgt_assert_same(&a, &b);
	cfg_free(&a);
	cfg_free(&b);
	cr_assert_str_eq(strstr(cfg_embedded_default(), "models:"),
			 "models:\n  mock:\n    provider: mock\n    model: echo\n");
}

Test(config, full_file_loads_every_value)
{
	struct cfg c;
	char err[CFGT_ERRLEN], *path = cfgt_temp_file(cfgt_full);

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

	cfgt_round_trip(&c);
	cfg_free(&c);
	unlink(path);
	free(path);
}

Test(config, find_model_matches_exact_alias_only)
{
	struct cfg c;
	char err[CFGT_ERRLEN];
	static const char req[] = "smallXYZ";	/* alias bytes from a frame: no NUL */

	cr_assert_eq(cfgt_load(cfgt_full, strlen(cfgt_full), &c, err), 0, "%s", err);
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
		"log: {level: error}\n" CFGT_TAIL "    model: \"\\u00e9cho\"\n";
	struct cfg c;
	char err[CFGT_ERRLEN];

	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
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
	cfgt_round_trip(&c);
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
	char err[CFGT_ERRLEN];

	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
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
	static const struct cfgt_case cases[] = {
		{ "limits:\n  max_client: 5\n" CFGT_TAIL,
		  "t.yaml:2: limits: unknown key 'max_client' (did you mean 'max_clients'?)" },
		{ "lisen: {}\n" CFGT_TAIL,
		  "t.yaml:1: unknown key 'lisen' (did you mean 'listen'?)" },
		{ CFGT_TAIL "backend: x\n",
		  "t.yaml:7: unknown key 'backend' (known: listen, limits, log, providers, models, resilience, tenants)" },
		{ "listen:\n  sockt: /x\n" CFGT_TAIL,
		  "t.yaml:2: listen: unknown key 'sockt' (did you mean 'socket'?)" },
		{ "providers:\n  p:\n    kind: mock\n    base_url: http://x\n"
		  "models: {m: {provider: p}}\n",
		  "t.yaml:4: providers.p: unknown key 'base_url' (known: kind, ttft, token_interval)" },
		{ CFGT_TAIL "    modle: x\n",
		  "t.yaml:7: models.mock: unknown key 'modle' (did you mean 'model'?)" },
		{ "log:\n  lvl: info\n" CFGT_TAIL,
		  "t.yaml:2: log: unknown key 'lvl' (did you mean 'level'?)" },
		{ "log:\n  verbosity: 3\n" CFGT_TAIL,
		  "t.yaml:2: log: unknown key 'verbosity' (known: level)" },
		{ "<<: {limits: {}}\n" CFGT_TAIL,
		  "t.yaml:1: unknown key '<<' (known: listen, limits, log, providers, models, resilience, tenants)" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, wrong_types_are_reported)
{
	static const struct cfgt_case cases[] = {
		{ "limits: 5\n" CFGT_TAIL, "t.yaml:1: limits: expected a mapping, found a single value" },
		{ "limits: [1]\n" CFGT_TAIL, "t.yaml:1: limits: expected a mapping, found a list" },
		{ "limits:\n  max_clients: [1, 2]\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: expected a single value, found a list" },
		{ "limits:\n  max_clients:\n    a: 1\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: expected a single value, found a mapping" },
		{ "limits:\n  max_clients:\n" CFGT_TAIL, "t.yaml:2: limits.max_clients: missing value" },
		{ "providers: {p: {kind: mock}}\nmodels:\n  - m\n",
		  "t.yaml:2: models: expected a mapping, found a list" },
		{ "providers:\n  p: mock\nmodels: {m: {provider: p}}\n",
		  "t.yaml:2: providers.p: expected a mapping, found a single value" },
		{ CFGT_TAIL "  other:\n",
		  "t.yaml:7: models.other: expected a mapping, found nothing" },
		{ "- listen\n- limits\n",
		  "t.yaml:1: the top level must be a mapping of sections (listen, limits, log, "
		  "providers, models, resilience, tenants)" },
		{ "# a comment first\njust a string\n",
		  "t.yaml:2: the top level must be a mapping of sections (listen, limits, log, "
		  "providers, models, resilience, tenants)" },
		{ "? [a, b]\n: 1\n" CFGT_TAIL, "t.yaml:1: keys must be names, found a list" },
		{ "limits:\n  max_clients: *nope\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: alias '*nope' does not resolve (no such anchor, "
		  "or a loop)" },
		{ "limits: &l\n  max_clients: *l\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: expected a single value, found a mapping" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, bad_numbers_are_reported)
{
	static const struct cfgt_case cases[] = {
		{ "limits:\n  max_clients: abc\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: 'abc' is not a number" },
		{ "limits:\n  max_clients: -5\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: '-5' must not be negative" },
		{ "limits:\n  max_clients: 99999999999999999999999\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: '99999999999999999999999' is too large" },
		{ "limits:\n  max_clients: 70000\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: '70000' is out of range (1..65536)" },
		{ "limits:\n  max_clients: 0\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_clients: '0' is out of range (1..65536)" },
		{ "limits:\n  spin_us: 1.5\n" CFGT_TAIL,
		  "t.yaml:2: limits.spin_us: '1.5' is not a whole number" },
		{ "limits:\n  spin_us: 0x10\n" CFGT_TAIL,
		  "t.yaml:2: limits.spin_us: '0x10' is not a whole number" },
		{ "limits:\n  max_request: 2GiB\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_request: '2GiB' is out of range (1KiB..1GiB)" },
		{ "limits:\n  max_request: 12XB\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_request: '12XB' has an unknown unit (use B, KiB, MiB, GiB)" },
		{ "limits:\n  max_request: 18446744073709551615G\n" CFGT_TAIL,
		  "t.yaml:2: limits.max_request: '18446744073709551615G' is too large" },
		{ "limits:\n  handshake_timeout: 1500us\n" CFGT_TAIL,
		  "t.yaml:2: limits.handshake_timeout: '1500us' is not a whole number of "
		  "milliseconds" },
		{ "limits:\n  handshake_timeout: 5 parsecs\n" CFGT_TAIL,
		  "t.yaml:2: limits.handshake_timeout: '5 parsecs' has an unknown unit "
		  "(use us, ms, s, m, h)" },
		{ "limits:\n  handshake_timeout: 0s\n" CFGT_TAIL,
		  "t.yaml:2: limits.handshake_timeout: '0s' is out of range (1ms..4294967295ms)" },
		{ "limits:\n  default_deadline: 2000h\n" CFGT_TAIL,
		  "t.yaml:2: limits.default_deadline: '2000h' is out of range (1ms..4294967295ms)" },
		{ "providers:\n  p:\n    kind: mock\n    ttft: 2h\nmodels: {m: {provider: p}}\n",
		  "t.yaml:4: providers.p.ttft: '2h' is out of range (0us..4294967295us)" },
		{ "listen:\n  mode: \"0999\"\n" CFGT_TAIL,
		  "t.yaml:2: listen.mode: '0999' is not an octal mode like 0660" },
		{ "listen:\n  mode: 04755\n" CFGT_TAIL,
		  "t.yaml:2: listen.mode: '04755' has bits beyond 0777 (only permission bits are "
		  "allowed)" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, ring_sizes_must_be_powers_of_two_in_bounds)
{
	static const struct cfgt_case cases[] = {
		{ "limits:\n  submit_ring: 5000\n" CFGT_TAIL,
		  "t.yaml:2: limits.submit_ring: '5000' is not a power of two" },
		{ "limits:\n  event_ring: 96KiB\n" CFGT_TAIL,
		  "t.yaml:2: limits.event_ring: '96KiB' is not a power of two" },
		{ "limits:\n  submit_ring: 2KiB\n" CFGT_TAIL,
		  "t.yaml:2: limits.submit_ring: '2KiB' is out of range (4KiB..1GiB)" },
		{ "limits:\n  event_ring: 2GiB\n" CFGT_TAIL,
		  "t.yaml:2: limits.event_ring: '2GiB' is out of range (4KiB..1GiB)" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, log_listen_provider_and_model_rules)
{
	char long_alias[600];
	struct cfgt_case cases[] = {
		{ "log:\n  level: verbose\n" CFGT_TAIL,
		  "t.yaml:2: log.level: unknown level 'verbose' (known: debug, info, warn, error)" },
		{ "listen:\n  group: ringside-no-such-group\n" CFGT_TAIL,
		  "t.yaml:2: listen.group: no such group 'ringside-no-such-group'" },
		{ "listen:\n  group: ''\n" CFGT_TAIL,
		  "t.yaml:2: listen.group: group name is empty (omit the key to keep the "
		  "socket's group)" },
		{ "listen:\n  socket: run/x.sock\n" CFGT_TAIL,
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
		  "t.yaml:4: models.m: missing key 'provider' (or 'targets')" },
		{ "providers:\n  p: {kind: mock}\n", "t.yaml:1: models: at least one model alias is required" },
		{ "providers:\n  p: {kind: mock}\nmodels: {}\n",
		  "t.yaml:3: models: at least one model alias is required" },
		{ "providers:\n  p: {kind: mock}\nmodels:\n  '': {provider: p}\n",
		  "t.yaml:4: models: alias is empty" },
		{ CFGT_TAIL "    model: ''\n", "t.yaml:7: models.mock.model: name is empty" },
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
	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, alias_of_255_bytes_is_accepted)
{
	char yaml[600], a255[256];
	struct cfg c;
	char err[CFGT_ERRLEN];

	memset(a255, 'b', 255);
	a255[255] = '\0';
	snprintf(yaml, sizeof(yaml), "providers:\n  p: {kind: mock}\nmodels:\n  %s: {provider: p}\n",
		 a255);
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_eq(strlen(c.models[0].alias), 255);
	cr_assert_eq(cfg_find_model(&c, a255, 255), &c.models[0]);
	cfg_free(&c);
}

Test(config, yaml_errors_carry_the_parser_line)
{
	static const struct cfgt_case cases[] = {
		{ "limits:\n  max_clients: 1\n  max_clients: 2\n" CFGT_TAIL,
		  "t.yaml:3: invalid YAML: duplicate key ('max_clients')" },
		{ CFGT_TAIL "  mock:\n    provider: mock\n",
		  "t.yaml:7: invalid YAML: duplicate key ('mock')" },
		{ "", "t.yaml:1: empty configuration (at least one entry under 'models' is required)" },
		{ "# nothing but a comment\n\n",
		  "t.yaml:1: empty configuration (at least one entry under 'models' is required)" },
		{ "---\n", "t.yaml:1: empty configuration (at least one entry under 'models' is required)" },
		{ CFGT_TAIL "---\nlog: {level: debug}\n",
		  "t.yaml:7: a second YAML document starts here; the configuration must be a "
		  "single document" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
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
		char err[CFGT_ERRLEN], want[32];

		cr_expect_eq(cfgt_load(bad[i], strlen(bad[i]), &c, err), -EINVAL, "%s", bad[i]);
		snprintf(want, sizeof(want), "t.yaml:%d: invalid YAML: ", lines[i]);
		cr_expect_eq(strncmp(err, want, strlen(want)), 0, "%zu: %s", i, err);
		cr_expect_null(strstr(err, "[ERR]"), "%s", err);
	}
}

Test(config, trailing_empty_document_is_harmless)
{
	static const char yaml[] = CFGT_TAIL "---\n...\n";
	struct cfg c;
	char err[CFGT_ERRLEN];

	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cfg_free(&c);
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
	char err[CFGT_ERRLEN];

	cfgt_no_key_env();
	cr_assert_eq(cfg_load_embedded(&c, err, sizeof(err)), 0, "%s", err);
	cfgt_round_trip(&c);
	cfg_free(&c);

	cr_assert_eq(cfgt_load(odd_names, strlen(odd_names), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].name, "null");
	cr_assert_str_eq(c.models[0].alias, "a \"quoted\" # not a comment");
	cr_assert_str_eq(c.models[0].model, "back\\slash");
	cfgt_round_trip(&c);
	cfg_free(&c);
}

Test(config, dump_names_every_section)
{
	struct cfg c;
	char err[CFGT_ERRLEN], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cfgt_no_key_env();
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
