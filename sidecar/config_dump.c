/*
 * config_dump.c — the effective config written back as YAML, for
 * `ringside --dump-config` and for checking what a reload will do.
 *
 * Every value is written, defaults included, in the same units the loader
 * reads, so the output loads back to an equal config. Names and paths are
 * always double-quoted: a provider called "null", "0660" or "a: b" must stay
 * a string. A provider's key is never written: what is written is where it
 * came from, "${NAME}" or api_key_file, which loads back to the same key; a
 * key given literally becomes "<redacted>", which the loader refuses, so a
 * dump is never mistaken for a working config with a fake key in it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_load.h"	/* cfg_ld_strategy_name */
#include "config_value.h"
#include "errclass.h"

/* A YAML double-quoted scalar. Control bytes become \xNN escapes, which YAML
 * reads back as the same code point; everything else is already UTF-8. */
static void dump_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The source path goes in a comment, where nothing can be escaped: control
 * bytes (a newline would end the comment) are replaced. */
static void dump_comment(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void dump_size(FILE *f, const char *key, uint64_t v)
{
	char buf[CFG_VALUE_BUF];

	cfg_format_size(v, buf, sizeof(buf));
	fprintf(f, "  %s: %s\n", key, buf);
}

static void dump_duration_us(FILE *f, const char *indent, const char *key, uint64_t us)
{
	char buf[CFG_VALUE_BUF];

	cfg_format_duration_us(us, buf, sizeof(buf));
	fprintf(f, "%s%s: %s\n", indent, key, buf);
}

static void dump_key_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, "    %s: ", key);
	dump_str(f, s);
	fputc('\n', f);
}

/* An HTTP provider's keys in the loader's order: each value, and for the
 * key, its source. */
static void dump_http(FILE *f, const struct cfg_provider *p)
{
	dump_key_str(f, "base_url", p->base_url);
	if (p->api_key_env)
		fprintf(f, "    api_key: \"${%s}\"\n", p->api_key_env);
	else if (p->api_key_file)
		dump_key_str(f, "api_key_file", p->api_key_file);
	else if (p->api_key)
		fputs("    api_key: \"<redacted>\"\n", f);
	if (p->api_version)
		dump_key_str(f, "api_version", p->api_version);
	if (p->ca_file)
		dump_key_str(f, "ca_file", p->ca_file);
	fprintf(f, "    max_connections: %u\n", p->max_connections);
	dump_duration_us(f, "    ", "connect_timeout", (uint64_t)p->connect_timeout_ms * 1000);
	dump_duration_us(f, "    ", "first_chunk_timeout",
			 (uint64_t)p->first_chunk_timeout_ms * 1000);
	dump_duration_us(f, "    ", "idle_timeout", (uint64_t)p->idle_timeout_ms * 1000);
	dump_duration_us(f, "    ", "total_timeout", (uint64_t)p->total_timeout_ms * 1000);
	fprintf(f, "    allow_insecure_http: %s\n", p->allow_insecure_http ? "true" : "false");
}

/* A target's keys (limits only when given), separated by sep: ", " in a
 * flow mapping, a newline and indent as block keys. */
static void dump_target_body(FILE *f, const struct cfg_target *t, int weight, const char *sep)
{
	fputs("provider: ", f);
	dump_str(f, t->provider);
	fprintf(f, "%smodel: ", sep);
	dump_str(f, t->model);
	if (weight)
		fprintf(f, "%sweight: %u", sep, t->weight);
	if (t->max_concurrent)
		fprintf(f, "%smax_concurrent: %u", sep, t->max_concurrent);
	if (t->rpm)
		fprintf(f, "%srpm: %u", sep, t->rpm);
	if (t->tpm)
		fprintf(f, "%stpm: %llu", sep, (unsigned long long)t->tpm);
}

/* The simple form when it says everything (one target of weight 1, the
 * default strategy), the targets list otherwise; strategy, attempts and
 * hedging always. */
static void dump_model(FILE *f, const struct cfg_model *m)
{
	fputs("  ", f);
	dump_str(f, m->alias);
	fputs(":\n", f);
	fprintf(f, "    strategy: %s\n", cfg_ld_strategy_name(m->strategy));
	fprintf(f, "    max_attempts: %u\n", m->max_attempts);
	if (m->hedge_p95)
		fputs("    hedge_after: p95\n", f);
	else if (m->hedge_after_ms)
		dump_duration_us(f, "    ", "hedge_after", (uint64_t)m->hedge_after_ms * 1000);
	if (m->n_targets == 1 && m->targets[0].weight == 1 && m->strategy == CFG_STRAT_FALLBACK) {
		fputs("    ", f);
		dump_target_body(f, &m->targets[0], 0, "\n    ");
		fputc('\n', f);
		return;
	}
	fputs("    targets:\n", f);
	for (size_t j = 0; j < m->n_targets; j++) {
		fputs("      - {", f);
		dump_target_body(f, &m->targets[j], 1, ", ");
		fputs("}\n", f);
	}
}

static void dump_retry_on(FILE *f, uint32_t mask)
{
	int first = 1;

	fputs("    retry_on: [", f);
	for (int k = 0; k < EC_COUNT; k++)
		if (mask & (1u << k)) {
			fprintf(f, "%s%s", first ? "" : ", ", ec_name((enum ec_class)k));
			first = 0;
		}
	fputs("]\n", f);
}

static void dump_resilience(FILE *f, const struct cfg_resilience *r)
{
	fputs("resilience:\n  retry:\n", f);
	fprintf(f, "    max_attempts: %u\n", r->retry.max_attempts);
	dump_duration_us(f, "    ", "backoff_base", (uint64_t)r->retry.backoff_base_ms * 1000);
	dump_duration_us(f, "    ", "backoff_cap", (uint64_t)r->retry.backoff_cap_ms * 1000);
	dump_duration_us(f, "    ", "min_time_left", (uint64_t)r->retry.min_time_left_ms * 1000);
	dump_retry_on(f, r->retry.retry_on);
	fputs("  retry_budget:\n", f);
	fprintf(f, "    percent: %u\n    min_retries: %u\n", r->budget.percent,
		r->budget.min_retries);
	dump_duration_us(f, "    ", "window", (uint64_t)r->budget.window_s * 1000000);
	fputs("  breaker:\n", f);
	fprintf(f, "    window: %u\n    min_calls: %u\n    failure_rate: %u\n",
		r->breaker.window, r->breaker.min_calls, r->breaker.failure_pct);
	dump_duration_us(f, "    ", "slow_call", (uint64_t)r->breaker.slow_call_ms * 1000);
	fprintf(f, "    slow_call_rate: %u\n", r->breaker.slow_pct);
	dump_duration_us(f, "    ", "open_wait", (uint64_t)r->breaker.open_wait_ms * 1000);
	dump_duration_us(f, "    ", "open_max", (uint64_t)r->breaker.open_max_ms * 1000);
	fprintf(f, "    probes: %u\n", r->breaker.probes);
	fprintf(f, "  rate_limit:\n    on_limit: %s\n    max_queue: %u\n",
		r->rate_limit.reject ? "reject" : "wait", r->rate_limit.max_queue);
}

int cfg_dump(const struct cfg *c, FILE *f)
{
	size_t i;

	fputs("# ringside effective configuration, loaded from ", f);
	dump_comment(f, c->source ? c->source : "?");
	fputs("\nlisten:\n", f);
	if (c->listen.socket) {
		fputs("  socket: ", f);
		dump_str(f, c->listen.socket);
		fputc('\n', f);
	}
	fprintf(f, "  mode: \"%04o\"\n", c->listen.mode);
	if (c->listen.group) {
		fputs("  group: ", f);
		dump_str(f, c->listen.group);
		fprintf(f, "    # gid %lu\n", (unsigned long)c->listen.gid);
	}

	fputs("limits:\n", f);
	fprintf(f, "  max_clients: %u\n", c->limits.max_clients);
	dump_size(f, "submit_ring", c->limits.submit_ring);
	dump_size(f, "event_ring", c->limits.event_ring);
	dump_size(f, "max_request", c->limits.max_request);
	fprintf(f, "  max_streams_per_client: %u\n", c->limits.max_streams_per_client);
	fprintf(f, "  spin_us: %u\n", c->limits.spin_us);
	dump_duration_us(f, "  ", "handshake_timeout",
			 (uint64_t)c->limits.handshake_timeout_ms * 1000);
	dump_duration_us(f, "  ", "default_deadline",
			 (uint64_t)c->limits.default_deadline_ms * 1000);

	fprintf(f, "log:\n  level: %s\n", cfg_log_level_name(c->log.level));

	fputs("providers:\n", f);
	for (i = 0; i < c->n_providers; i++) {
		const struct cfg_provider *p = &c->providers[i];

		fputs("  ", f);
		dump_str(f, p->name);
		fprintf(f, ":\n    kind: %s\n", cfg_kind_name(p->kind));
		if (p->kind == CFG_KIND_MOCK) {
			dump_duration_us(f, "    ", "ttft", p->mock_ttft_us);
			dump_duration_us(f, "    ", "token_interval", p->mock_interval_us);
		} else {
			dump_http(f, p);
		}
	}

	fputs("models:\n", f);
	for (i = 0; i < c->n_models; i++)
		dump_model(f, &c->models[i]);
	dump_resilience(f, &c->resilience);
	if (c->n_tenants)
		fputs("tenants:\n", f);
	for (i = 0; i < c->n_tenants; i++) {
		const struct cfg_tenant *t = &c->tenants[i];

		fputs("  ", f);
		dump_str(f, t->name);
		fprintf(f, ": {max_concurrent: %u, rpm: %u, tpm: %llu}\n", t->max_concurrent, t->rpm,
			(unsigned long long)t->tpm);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
