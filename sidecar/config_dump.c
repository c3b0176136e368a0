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
#include "config_value.h"

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
	for (i = 0; i < c->n_models; i++) {
		const struct cfg_model *m = &c->models[i];

		fputs("  ", f);
		dump_str(f, m->alias);
		fputs(":\n    provider: ", f);
		dump_str(f, m->provider);
		fputs("\n    model: ", f);
		dump_str(f, m->model);
		fputc('\n', f);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
