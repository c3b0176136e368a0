/*
 * test_config_keys.c — provider API keys: literal, from the environment and
 * from key files, their errors (naming the source, never the value), the
 * dump that never contains one, and the embedded default's providers from
 * the environment.
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

/* ---- API keys ------------------------------------------------------------------ */

Test(config, api_key_literal_environment_and_file)
{
	char yaml[512], err[CFGT_ERRLEN], *f1 = cfgt_temp_file("sk-file-456\n"),
	     *f2 = cfgt_temp_file("sk-crlf-789\r\n"), *f3 = cfgt_temp_file("sk-bare");
	const char *files[] = { f1, f2, f3 }, *keys[] = { "sk-file-456", "sk-crlf-789", "sk-bare" };
	static const char literal[] =
		"providers:\n  p: {kind: openai, api_key: 'sk-lit-123'}\n" CFGT_MODELS;
	static const char env[] =
		"providers:\n  p: {kind: gemini, api_key: \"${TC_RINGSIDE_KEY}\"}\n" CFGT_MODELS;
	struct cfg c;
	size_t i;

	cr_assert_eq(cfgt_load(literal, strlen(literal), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_key, "sk-lit-123");
	cr_assert_null(c.providers[0].api_key_env);
	cr_assert_null(c.providers[0].api_key_file);
	cfg_free(&c);

	cr_assert_eq(setenv("TC_RINGSIDE_KEY", "AIza-env-123", 1), 0);
	cr_assert_eq(cfgt_load(env, strlen(env), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_key, "AIza-env-123");
	cr_assert_str_eq(c.providers[0].api_key_env, "TC_RINGSIDE_KEY");
	cr_assert_null(c.providers[0].api_key_file);
	cfg_free(&c);

	for (i = 0; i < 3; i++) {
		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: azure\n"
			 "    base_url: https://r.openai.azure.com\n    api_key_file: %s\n"
			 CFGT_MODELS, files[i]);
		cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
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
	static const struct cfgt_case cases[] = {
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${TC_RINGSIDE_UNSET}\"\n"
		  CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: environment variable TC_RINGSIDE_UNSET is not set" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${TC_RINGSIDE_EMPTY}\"\n"
		  CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: environment variable TC_RINGSIDE_EMPTY is empty" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${TC_RINGSIDE_BAD}\"\n"
		  CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: environment variable TC_RINGSIDE_BAD does not "
		  "hold a key (printable ASCII without spaces, at most 16384 bytes)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: $OPENAI_API_KEY\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${1X}\"\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${}\"\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"${A}x\"\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: a value starting with '$' must be a whole "
		  "\"${NAME}\" (NAME: letters, digits, '_'; not a digit first)" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: sk-has space\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: the key contains a space, a control or a "
		  "non-ASCII character" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"sk-x\\r\\nX-Evil: 1\"\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: the value contains a control character" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: ''\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: the value is empty" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: \"<redacted>\"\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key: '<redacted>' is what --dump-config writes for a "
		  "key given literally; put the key back, or use \"${NAME}\" or api_key_file" },
		{ "providers:\n  p:\n    kind: openai\n    api_key: sk-1\n"
		  "    api_key_file: /etc/hostname\n" CFGT_MODELS,
		  "t.yaml:5: providers.p.api_key_file: give api_key or api_key_file, not both" },
		{ "providers:\n  p:\n    kind: openai\n    api_key_file: /nonexistent/ringside-key\n"
		  CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key_file: cannot open '/nonexistent/ringside-key': "
		  "No such file or directory" },
		{ "providers:\n  p:\n    kind: openai\n    api_key_file: /tmp\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key_file: '/tmp' is not a regular file" },
		{ "providers:\n  p:\n    kind: openai\n    api_key_file: ''\n" CFGT_MODELS,
		  "t.yaml:4: providers.p.api_key_file: the value is empty" },
		{ "providers:\n  p:\n    kind: mock\n    api_key: sk-1\n" CFGT_MODELS,
		  "t.yaml:4: providers.p: unknown key 'api_key' (known: kind, ttft, token_interval)" },
	};

	cr_assert_eq(setenv("TC_RINGSIDE_EMPTY", "", 1), 0);
	cr_assert_eq(setenv("TC_RINGSIDE_BAD", "sk-env\nX-Evil: 1", 1), 0);
	unsetenv("TC_RINGSIDE_UNSET");
	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(config, api_key_file_contents_are_checked)
{
	char big[(16 << 10) + 2], *path, yaml[512], want[CFGT_ERRLEN];
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
		path = cfgt_temp_file(cases[i].text);
		snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: anthropic\n"
			 "    api_key_file: %s\n" CFGT_MODELS, path);
		snprintf(want, sizeof(want), "t.yaml:4: providers.p.api_key_file: '%s' %s", path,
			 cases[i].why);
		cfgt_expect_error(yaml, want);
		unlink(path);
		free(path);
	}

	/* A FIFO is refused, not waited on. */
	path = cfgt_temp_file("");
	unlink(path);
	cr_assert_eq(mkfifo(path, 0600), 0);
	snprintf(yaml, sizeof(yaml), "providers:\n  p:\n    kind: anthropic\n"
		 "    api_key_file: %s\n" CFGT_MODELS, path);
	snprintf(want, sizeof(want), "t.yaml:4: providers.p.api_key_file: '%s' is not a "
		 "regular file", path);
	cfgt_expect_error(yaml, want);
	unlink(path);
	free(path);
}

Test(config, a_key_is_required_per_kind)
{
	static const struct cfgt_case cases[] = {
		{ "providers:\n  p:\n    kind: openai\n" CFGT_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind openai needs one "
		  "unless base_url is a loopback address or allow_insecure_http is true)" },
		{ "providers:\n  p:\n    kind: openai\n    base_url: https://vllm.example.com/v1\n"
		  CFGT_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind openai needs one "
		  "unless base_url is a loopback address or allow_insecure_http is true)" },
		{ "providers:\n  p:\n    kind: azure\n    base_url: https://r.openai.azure.com\n"
		  CFGT_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind azure needs one)" },
		{ "providers:\n  p:\n    kind: anthropic\n" CFGT_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind anthropic needs one)" },
		{ "providers:\n  p:\n    kind: gemini\n    base_url: http://localhost:9\n" CFGT_MODELS,
		  "t.yaml:2: providers.p: missing api_key or api_key_file (kind gemini needs one)" },
	};
	/* Local OpenAI-compatible servers and Ollama need no key. */
	static const char *const keyless[] = {
		"providers:\n  p: {kind: openai, base_url: 'http://localhost:8000/v1'}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, base_url: 'https://[::1]:8443/v1'}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, base_url: 'http://127.0.0.1:8080'}\n" CFGT_MODELS,
		"providers:\n  p: {kind: ollama}\n" CFGT_MODELS,
		"providers:\n  p: {kind: ollama, base_url: 'https://ollama.example.com',"
		" api_key: proxy-key}\n" CFGT_MODELS,
	};
	size_t i;

	cfgt_expect_errors(cases, sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < sizeof(keyless) / sizeof(keyless[0]); i++) {
		struct cfg c;
		char err[CFGT_ERRLEN];

		cr_assert_eq(cfgt_load(keyless[i], strlen(keyless[i]), &c, err), 0, "%s", err);
		cfg_free(&c);
	}
}

/* A key must not reach a dump, whichever way it was given; the dump says
 * where it came from instead, and loads back to the same key. */
Test(config, dump_never_contains_a_key)
{
	static const char secret_lit[] = "sk-tc-literal-0123456789";
	static const char secret_env[] = "sk-tc-environment-0123456789";
	static const char secret_file[] = "sk-tc-file-0123456789";
	char *path = cfgt_temp_file("sk-tc-file-0123456789\n"), yaml[1024], err[CFGT_ERRLEN],
	     *text, want[256];
	struct cfg c, back;

	cr_assert_eq(setenv("TC_RINGSIDE_KEY", secret_env, 1), 0);
	snprintf(yaml, sizeof(yaml),
		 "providers:\n"
		 "  env: {kind: openai, api_key: \"${TC_RINGSIDE_KEY}\"}\n"
		 "  file: {kind: gemini, api_key_file: %s}\n"
		 "  ollama: {kind: ollama}\n"
		 "models: {m: {provider: env}}\n", path);
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	cr_assert_str_eq(c.providers[0].api_key, secret_env);
	cr_assert_str_eq(c.providers[1].api_key, secret_file);
	text = cfgt_dump(&c);
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
	cfgt_assert_same(&c, &back);
	cfg_free(&back);
	free(text);
	cfg_free(&c);

	/* A literal key: written as a placeholder that does not load. */
	snprintf(yaml, sizeof(yaml), "providers:\n  lit:\n    kind: anthropic\n"
		 "    api_key: %s\nmodels: {m: {provider: lit}}\n", secret_lit);
	cr_assert_eq(cfgt_load(yaml, strlen(yaml), &c, err), 0, "%s", err);
	text = cfgt_dump(&c);
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
		CFGT_MODELS,
		"providers:\n  p: {kind: openai, api_key: sk-tc-SECRET, ttft: 1}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, api_key: \"sk-tc-SECRET\\x01\"}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, api_key: \"sk-tc-SECRET\\u00e9\"}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, api_key: sk-tc-SECRET, api_key_file: /x}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, api_key: [sk-tc-SECRET]}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, base_url: 'https://u:sk-tc-SECRET@h'}\n" CFGT_MODELS,
		"providers:\n  p: {kind: gemini, base_url: 'https://h/?key=sk-tc-SECRET'}\n" CFGT_MODELS,
		/* Syntax errors: libfyaml points at the scalar it could not end. */
		"providers:\n  p:\n    kind: openai\n    api_key: \"sk-tc-SECRET\n" CFGT_MODELS,
		"providers:\n  p:\n    kind: openai\n    api_key: 'sk-tc-SECRET\n" CFGT_MODELS,
		"providers:\n  p:\n    kind: openai\n    api_key: |\n  sk-tc-SECRET\n" CFGT_MODELS,
		"providers:\n  p:\n    kind: openai\n    api_key: \"sk-tc-SECRET\\q\"\n" CFGT_MODELS,
		/* A missing colon makes the key a key name. */
		"providers:\n  p: {kind: openai, api_key sk-tc-SECRET}\n" CFGT_MODELS,
		"providers:\n  p: {kind: openai, sk-proj-tc-SECRET-0123456789abcdef}\n" CFGT_MODELS,
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg c;
		char err[CFGT_ERRLEN];

		cr_assert_eq(cfgt_load(bad[i], strlen(bad[i]), &c, err), -EINVAL, "%s", bad[i]);
		cr_assert_null(strstr(err, "SECRET"), "%zu: %s", i, err);
	}
}

/* ---- embedded default and the environment ------------------------------------------ */

Test(config, embedded_default_without_keys_is_the_mock_only)
{
	struct cfg c;
	char err[CFGT_ERRLEN];

	cfgt_no_key_env();
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
	char err[CFGT_ERRLEN], *text;
	const struct cfg_provider *p;

	cfgt_no_key_env();
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
	text = cfgt_dump(&c);
	cr_assert_null(strstr(text, secret), "%s", text);
	cr_assert_not_null(strstr(text, "api_key: \"${OPENAI_API_KEY}\""), "%s", text);
	free(text);
	cfgt_round_trip(&c);
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
	char err[CFGT_ERRLEN], *text;
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
	text = cfgt_dump(&c);
	for (i = 0; i < 3; i++)
		cr_assert_null(strstr(text, secrets[i]), "%s", text);
	free(text);
	cfgt_round_trip(&c);
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
