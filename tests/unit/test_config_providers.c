/*
 * test_config_providers.c — the HTTP providers in the config: each kind's
 * defaults, every key, base_url forms and errors, plain HTTP, api_version,
 * ca_file, connections and timeouts, and keys of one kind in another.
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

/* ---- HTTP providers ------------------------------------------------------------ */

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
	char err[CFGT_ERRLEN];
	size_t i;

	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_eq(c.n_providers, 5);
	for (i = 0; i < 5; i++) {
		const struct cfg_provider *p = &c.providers[i];

		cr_assert_eq(p->kind, want[i].kind, "%zu", i);
		cr_assert_str_eq(cfg_kind_name(p->kind), want[i].name);
		cr_assert_str_eq(p->base_url, want[i].url);
		cfgt_assert_str_same(p->api_key, want[i].key);
		cfgt_assert_str_same(p->api_version, want[i].version);
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
	char yaml[1024], err[CFGT_ERRLEN], *ca = cfgt_temp_file("# bundle\n" CFGT_PEM);
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
		 "    total_timeout: 1h\n" CFGT_MODELS, ca);
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
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
	cfgt_round_trip(&c);
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
		char yaml[512], err[CFGT_ERRLEN];
		struct cfg c;

		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: ollama\n"
			 "    base_url: '%s'\n" CFGT_MODELS, cases[i].url);
		cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s: %s", cases[i].url, err);
		cr_assert_str_eq(c.providers[0].base_url, cases[i].want);
		cr_assert_eq(cfg_provider_is_loopback(&c.providers[0]), cases[i].loopback,
			     "%s", cases[i].url);
		cfgt_round_trip(&c);
		cfg_free(&c);
	}
}

Test(config, base_url_errors_are_reported_without_the_url)
{
	static const struct cfgt_case cases[] = {
		{ "providers:\n  p:\n    kind: ollama\n    base_url: ftp://x\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL does not start with http:// or https://" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: api.openai.com\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL does not start with http:// or https://" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has no host" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://:80/v1\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has no host" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://me:hunter2@h/v1\n"
		  CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL contains user:password@ (put the key "
		  "in api_key or api_key_file)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h/v1?key=AIzaSecret\n"
		  CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has a ?query or #fragment (give "
		  "scheme, host, port and path only)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'https://h/#x'\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has a ?query or #fragment (give "
		  "scheme, host, port and path only)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h st/\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL contains a space, a control or a "
		  "non-ASCII character" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: \"https://h\\u00e9/\"\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL contains a space, a control or a "
		  "non-ASCII character" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: \"https://h/\\t\"\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the value contains a control character" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h:0\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h:65536\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'https://h:'\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://h:8a/\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid port (1..65535)" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[::1'\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid [IPv6] address" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[zz::1]'\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid [IPv6] address" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[::1]x'\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid [IPv6] address" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: https://ex%61mple.com\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the URL has an invalid host name" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: ''\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: the value is empty" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: [a]\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: expected a single value, found a list" },
		{ "providers:\n  p:\n    kind: azure\n    api_key: k\n" CFGT_MODELS,
		  "t.yaml:2: providers.p: missing key 'base_url' (kind azure has no default; "
		  "e.g. https://RESOURCE.openai.azure.com)" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, plain_http_needs_loopback_or_allow_insecure_http)
{
	static const struct cfgt_case cases[] = {
		{ "providers:\n  p:\n    kind: ollama\n    base_url: http://gpu-box:11434\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not 'gpu-box'; use https:// or set "
		  "allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: k\n"
		  "    base_url: http://127.1/v1\n" CFGT_MODELS,
		  "t.yaml:5: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not '127.1'; use https:// or set "
		  "allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: http://localhost.evil.com\n"
		  CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not 'localhost.evil.com'; use https:// "
		  "or set allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: ollama\n    base_url: 'http://[::2]'\n"
		  "    allow_insecure_http: false\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.base_url: plain http:// is allowed only to a loopback "
		  "host (127.0.0.0/8, ::1, localhost), not '::2'; use https:// or set "
		  "allow_insecure_http: true" },
		{ "providers:\n  p:\n    kind: ollama\n    allow_insecure_http: yes\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.allow_insecure_http: 'yes' is not true or false" },
	};
	/* The flag may come after the URL it permits. */
	static const char allowed[] =
		"providers:\n  p:\n    kind: openai\n    base_url: http://vllm.internal:8000/v1\n"
		"    allow_insecure_http: true\n" CFGT_MODELS;
	struct cfg c;
	char err[CFGT_ERRLEN];

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	cr_assert_eq(cfgt_load(allowed, strlen(allowed), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].base_url, "http://vllm.internal:8000/v1");
	cr_assert_eq(c.providers[0].allow_insecure_http, 1);
	cr_assert_null(c.providers[0].api_key);	/* optional with the flag */
	cr_assert_eq(cfg_provider_is_loopback(&c.providers[0]), 0);
	cfgt_round_trip(&c);
	cfg_free(&c);
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
	static const struct cfgt_case cases[] = {
		{ "providers:\n  p:\n    kind: anthropic\n    api_key: k\n"
		  "    api_version: 2023 06 01\n" CFGT_MODELS,
		  "t.yaml:5: providers.p.api_version: '2023 06 01' is not a version like "
		  "2023-06-01 (letters, digits, '-', '.', '_')" },
		{ "providers:\n  p:\n    kind: azure\n    api_key: k\n    base_url: https://r\n"
		  "    api_version: '2024-10-21&x=1'\n" CFGT_MODELS,
		  "t.yaml:6: providers.p.api_version: '2024-10-21&x=1' is not a version like "
		  "2024-10-21 (letters, digits, '-', '.', '_')" },
		{ "providers:\n  p:\n    kind: anthropic\n    api_key: k\n    api_version: ''\n"
		  CFGT_MODELS, "t.yaml:5: providers.p.api_version: the value is empty" },
	};
	const char *kinds[] = { "openai", "gemini", "ollama" };
	char yaml[512], want[CFGT_ERRLEN];
	struct cfg c;
	char err[CFGT_ERRLEN];
	size_t i;

	cr_assert_eq(cfgt_load(ok, strlen(ok), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_version, "2024-10-01-preview");
	cr_assert_str_eq(c.providers[1].api_version, "2023-01-01");
	cfg_free(&c);
	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < 3; i++) {
		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: %s\n    api_key: k\n"
			 "    api_version: '2024-10-21'\n" CFGT_MODELS, kinds[i]);
		snprintf(want, sizeof(want), "t.yaml:5: providers.p: unknown key 'api_version' %s",
			 http_known);
		cfgt_expect_error(yaml, want);
	}
	cfgt_expect_error("providers:\n  p:\n    kind: mock\n    api_version: '1'\n" CFGT_MODELS,
			"t.yaml:4: providers.p: unknown key 'api_version' (known: kind, ttft, "
			"token_interval)");
}

Test(config, ca_file_must_be_a_readable_pem_bundle)
{
	char *good = cfgt_temp_file(CFGT_PEM), *junk = cfgt_temp_file("not a certificate\n");
	char yaml[512], want[CFGT_ERRLEN], err[CFGT_ERRLEN];
	struct cfg c;

	snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: ollama\n    ca_file: %s\n"
		 CFGT_MODELS, good);
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].ca_file, good);
	cfgt_round_trip(&c);
	cfg_free(&c);

	snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: ollama\n    ca_file: %s\n"
		 CFGT_MODELS, junk);
	snprintf(want, sizeof(want), "t.yaml:4: providers.p.ca_file: '%s' holds no PEM "
		 "certificate (-----BEGIN CERTIFICATE-----)", junk);
	cfgt_expect_error(yaml, want);
	cfgt_expect_error("providers:\n  p:\n    kind: ollama\n    ca_file: /nonexistent/ca.pem\n"
			CFGT_MODELS, "t.yaml:4: providers.p.ca_file: cannot open "
			"'/nonexistent/ca.pem': No such file or directory");
	cfgt_expect_error("providers:\n  p:\n    kind: ollama\n    ca_file: /tmp\n" CFGT_MODELS,
			"t.yaml:4: providers.p.ca_file: '/tmp' is not a regular file");
	unlink(good);
	unlink(junk);
	free(good);
	free(junk);
}

Test(config, connections_and_timeouts_parse)
{
	static const struct cfgt_case cases[] = {
		{ "providers:\n  p:\n    kind: ollama\n    max_connections: 0\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.max_connections: '0' is out of range (1..4096)" },
		{ "providers:\n  p:\n    kind: ollama\n    max_connections: 4097\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.max_connections: '4097' is out of range (1..4096)" },
		{ "providers:\n  p:\n    kind: ollama\n    connect_timeout: 0\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.connect_timeout: '0' is out of range "
		  "(1ms..4294967295ms)" },
		{ "providers:\n  p:\n    kind: ollama\n    idle_timeout: 500us\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.idle_timeout: '500us' is not a whole number of "
		  "milliseconds" },
		{ "providers:\n  p:\n    kind: ollama\n    total_timeout: 1 day\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.total_timeout: '1 day' has an unknown unit (use us, ms, "
		  "s, m, h)" },
		{ "providers:\n  p:\n    kind: ollama\n    first_chunk_timeout: -1s\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.first_chunk_timeout: '-1s' must not be negative" },
	};
	static const char yaml[] =
		"providers:\n  p: {kind: ollama, max_connections: 1, connect_timeout: 250,"
		" first_chunk_timeout: 3s, idle_timeout: 1m, total_timeout: 2h}\n" CFGT_MODELS;
	struct cfg c;
	char err[CFGT_ERRLEN];

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_eq(c.providers[0].max_connections, 1);
	cr_assert_eq(c.providers[0].connect_timeout_ms, 250);
	cr_assert_eq(c.providers[0].first_chunk_timeout_ms, 3000);
	cr_assert_eq(c.providers[0].idle_timeout_ms, 60000);
	cr_assert_eq(c.providers[0].total_timeout_ms, 7200000);
	cfgt_round_trip(&c);
	cfg_free(&c);
}

Test(config, keys_of_one_kind_are_unknown_to_another)
{
	static const struct cfgt_case cases[] = {
		{ "providers:\n  p:\n    kind: openai\n    api_key: k\n    ttft: 1ms\n" CFGT_MODELS,
		  "t.yaml:5: providers.p: unknown key 'ttft' (known: kind, base_url, api_key, "
		  "api_key_file, ca_file, max_connections, connect_timeout, first_chunk_timeout, "
		  "idle_timeout, total_timeout, allow_insecure_http)" },
		{ "providers:\n  p:\n    kind: anthropic\n    api_key: k\n    token_interval: 1ms\n"
		  CFGT_MODELS,
		  "t.yaml:5: providers.p: unknown key 'token_interval' (known: kind, base_url, "
		  "api_key, api_key_file, api_version, ca_file, max_connections, connect_timeout, "
		  "first_chunk_timeout, idle_timeout, total_timeout, allow_insecure_http)" },
		{ "providers:\n  p:\n    kind: mock\n    allow_insecure_http: true\n" CFGT_MODELS,
		  "t.yaml:4: providers.p: unknown key 'allow_insecure_http' (known: kind, ttft, "
		  "token_interval)" },
		{ "providers:\n  p:\n    kind: mock\n    max_connections: 1\n" CFGT_MODELS,
		  "t.yaml:4: providers.p: unknown key 'max_connections' (known: kind, ttft, "
		  "token_interval)" },
		{ "providers:\n  p:\n    kind: gemini\n    api_key: k\n    base_ulr: https://x\n"
		  CFGT_MODELS,
		  "t.yaml:5: providers.p: unknown key 'base_ulr' (did you mean 'base_url'?)" },
		/* Only what looks like a key name is quoted in a provider. */
		{ "providers:\n  p:\n    kind: mock\n    ttft 5ms: x\n" CFGT_MODELS,
		  "t.yaml:4: providers.p: unknown key, not shown as it may hold a secret (known: "
		  "kind, ttft, token_interval)" },
		{ "providers:\n  p:\n    kind: mock\n    abcdefghijklmnopqrstuvwxy: 1\n" CFGT_MODELS,
		  "t.yaml:4: providers.p: unknown key, not shown as it may hold a secret (known: "
		  "kind, ttft, token_interval)" },
		{ "providers:\n  p:\n    kind: mock\n    abcdefghijklmnopqrstuvwx: 1\n" CFGT_MODELS,
		  "t.yaml:4: providers.p: unknown key 'abcdefghijklmnopqrstuvwx' (known: kind, "
		  "ttft, token_interval)" },
	};

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}
