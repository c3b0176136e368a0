/*
 * cfg_test_util.c — helpers shared by the config tests; see cfg_test_util.h.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_test_util.h"

int cfgt_load(const char *yaml, size_t len, struct cfg *c, char *err)
{
	return cfg_load_string("t.yaml", yaml, len, c, err, CFGT_ERRLEN);
}

/* Every case must fail with -EINVAL and exactly the expected line. */
void cfgt_expect_errors(const struct cfgt_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct cfg c = { 0 };
		char err[CFGT_ERRLEN];
		int ret = cfgt_load(cases[i].yaml, strlen(cases[i].yaml), &c, err);

		cr_expect_eq(ret, -EINVAL, "case %zu: ret %d for:\n%s", i, ret, cases[i].yaml);
		cr_expect_str_eq(err, cases[i].want, "case %zu: got\n%s\nwant\n%s", i, err,
				 cases[i].want);
		if (ret == 0)
			cfg_free(&c);
	}
}

void cfgt_expect_outcomes(const struct cfgt_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cfg c = { 0 };
		char err[CFGT_ERRLEN];
		int ret = cfgt_load(cases[i].yaml, strlen(cases[i].yaml), &c, err);

		if (!cases[i].want) {
			cr_expect_eq(ret, 0, "case %zu: %s for:\n%s", i, err, cases[i].yaml);
		} else {
			cr_expect_eq(ret, -EINVAL, "case %zu: ret %d for:\n%s", i, ret,
				     cases[i].yaml);
			cr_expect_str_eq(err, cases[i].want, "case %zu: got\n%s\nwant\n%s", i, err,
					 cases[i].want);
		}
		if (ret == 0)
			cfg_free(&c);
	}
}

void cfgt_load_ok(const char *yaml, struct cfg *c)
{
	char err[CFGT_ERRLEN];

	cr_assert_eq(cfgt_load(yaml, strlen(yaml), c, err), 0, "%s\n---\n%s", err, yaml);
}

/* Hostile input: any result is fine except a crash, a leak, or an error that
 * is not one well-formed line naming the file. */
void cfgt_survive(const char *yaml, size_t len)
{
	struct cfg c = { 0 };
	char err[CFGT_ERRLEN];
	int ret = cfgt_load(yaml, len, &c, err);

	if (ret == 0) {
		cfg_free(&c);
		return;
	}
	cr_assert_eq(ret, -EINVAL, "ret %d err %s", ret, err);
	cr_assert_eq(strncmp(err, "t.yaml:", 7), 0, "err: %s", err);
	cr_assert_null(strchr(err, '\n'));
}

char *cfgt_temp_file(const char *text)
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
void cfgt_no_key_env(void)
{
	unsetenv("OPENAI_API_KEY");
	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("GEMINI_API_KEY");
}

void cfgt_assert_str_same(const char *a, const char *b)
{
	cr_assert_eq(!!a, !!b, "%s vs %s", a ? a : "NULL", b ? b : "NULL");
	if (a)
		cr_assert_str_eq(a, b);
}

static void cfgt_assert_provider_same(const struct cfg_provider *a, const struct cfg_provider *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(a->kind, b->kind);
	cr_assert_eq(a->mock_ttft_us, b->mock_ttft_us);
	cr_assert_eq(a->mock_interval_us, b->mock_interval_us);
	cfgt_assert_str_same(a->base_url, b->base_url);
	cfgt_assert_str_same(a->api_key, b->api_key);
	cfgt_assert_str_same(a->api_key_env, b->api_key_env);
	cfgt_assert_str_same(a->api_key_file, b->api_key_file);
	cfgt_assert_str_same(a->api_version, b->api_version);
	cfgt_assert_str_same(a->ca_file, b->ca_file);
	cr_assert_eq(a->max_connections, b->max_connections);
	cr_assert_eq(a->connect_timeout_ms, b->connect_timeout_ms);
	cr_assert_eq(a->first_chunk_timeout_ms, b->first_chunk_timeout_ms);
	cr_assert_eq(a->idle_timeout_ms, b->idle_timeout_ms);
	cr_assert_eq(a->total_timeout_ms, b->total_timeout_ms);
	cr_assert_eq(a->allow_insecure_http, b->allow_insecure_http);
}

void cfgt_assert_same(const struct cfg *a, const struct cfg *b)
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
		cfgt_assert_provider_same(&a->providers[i], &b->providers[i]);
	cr_assert_eq(a->n_models, b->n_models);
	for (i = 0; i < a->n_models; i++) {
		cr_assert_str_eq(a->models[i].alias, b->models[i].alias);
		cr_assert_eq(a->models[i].alias_len, b->models[i].alias_len);
		cr_assert_str_eq(a->models[i].provider, b->models[i].provider);
		cr_assert_str_eq(a->models[i].model, b->models[i].model);
		cr_assert_eq(a->models[i].provider_idx, b->models[i].provider_idx);
		cr_assert_eq(a->models[i].strategy, b->models[i].strategy);
		cr_assert_eq(a->models[i].max_attempts, b->models[i].max_attempts);
		cr_assert_eq(a->models[i].hedge_after_ms, b->models[i].hedge_after_ms);
		cr_assert_eq(a->models[i].hedge_p95, b->models[i].hedge_p95);
		cr_assert_eq(a->models[i].n_targets, b->models[i].n_targets);
		for (size_t j = 0; j < a->models[i].n_targets; j++) {
			const struct cfg_target *x = &a->models[i].targets[j], *y = &b->models[i].targets[j];

			cr_assert_str_eq(x->provider, y->provider);
			cr_assert_eq(x->provider_idx, y->provider_idx);
			cr_assert_str_eq(x->model, y->model);
			cr_assert_eq(x->weight, y->weight);
			cr_assert_eq(x->max_concurrent, y->max_concurrent);
			cr_assert_eq(x->rpm, y->rpm);
			cr_assert_eq(x->tpm, y->tpm);
			cr_assert_eq(x->deployment, y->deployment);
		}
	}
	cr_assert_eq(a->n_deployments, b->n_deployments);
	for (i = 0; i < a->n_deployments; i++) {
		cr_assert_str_eq(a->deployments[i].model, b->deployments[i].model);
		cr_assert_eq(a->deployments[i].provider_idx, b->deployments[i].provider_idx);
		cr_assert_eq(a->deployments[i].max_concurrent, b->deployments[i].max_concurrent);
		cr_assert_eq(a->deployments[i].rpm, b->deployments[i].rpm);
		cr_assert_eq(a->deployments[i].tpm, b->deployments[i].tpm);
	}
	cr_assert_eq(memcmp(&a->resilience, &b->resilience, sizeof(a->resilience)), 0);
	cr_assert_eq(a->n_tenants, b->n_tenants);
	for (i = 0; i < a->n_tenants; i++) {
		cr_assert_str_eq(a->tenants[i].name, b->tenants[i].name);
		cr_assert_eq(a->tenants[i].uid, b->tenants[i].uid);
		cr_assert_eq(a->tenants[i].any, b->tenants[i].any);
		cr_assert_eq(a->tenants[i].max_concurrent, b->tenants[i].max_concurrent);
		cr_assert_eq(a->tenants[i].rpm, b->tenants[i].rpm);
		cr_assert_eq(a->tenants[i].tpm, b->tenants[i].tpm);
	}
}

/* cfg_dump's text, NUL-terminated; the caller frees it. */
char *cfgt_dump(const struct cfg *c)
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
void cfgt_round_trip(const struct cfg *a)
{
	struct cfg b = { 0 };
	char *text = cfgt_dump(a), err[CFGT_ERRLEN];

	cr_assert_eq(cfg_load_string("dump", text, strlen(text), &b, err, sizeof(err)), 0,
		     "%s\n---\n%s", err, text);
	cfgt_assert_same(a, &b);
	cfg_free(&b);
	free(text);
}

void cfgt_dump_fixed_point(const struct cfg *a)
{
	struct cfg b = { 0 };
	char *t1 = cfgt_dump(a), *t2;

	cfgt_round_trip(a);
	cfgt_load_ok(t1, &b);
	t2 = cfgt_dump(&b);
	cr_assert_str_eq(t1 + strcspn(t1, "\n"), t2 + strcspn(t2, "\n"), "first:\n%s\nsecond:\n%s",
			 t1, t2);
	cfg_free(&b);
	free(t1);
	free(t2);
}

const char cfgt_full[] =
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

/* One load that must fail with exactly the line want. */
void cfgt_expect_error(const char *yaml, const char *want)
{
	struct cfgt_case one = { yaml, want };

	cfgt_expect_errors(&one, 1);
}
