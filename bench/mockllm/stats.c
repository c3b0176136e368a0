/*
 * stats.c — summing, rendering and resetting the counters (see stats.h).
 */
#include "stats.h"

static struct ml_stats *stats_all[ML_MAX_WORKERS];
static int stats_n;
static _Atomic uint64_t stats_req_seq;

static const char *const fmt_names[ML_FMT_COUNT] = { "openai", "anthropic", "gemini", "ollama" };
static const char *const fault_names[ML_FAULT_COUNT] = {
	"status", "fail_pct", "reset_after", "stall_after", "malformed_after", "error_after",
	"chaos",
};
static const char *const chaos_names[ML_CHAOS_COUNT] = {
	"chaos_500", "chaos_503", "chaos_429", "chaos_overloaded", "chaos_rst_head",
	"chaos_rst_body", "chaos_malformed", "chaos_error",
};

const char *ml_fmt_name(enum ml_fmt f)
{
	return fmt_names[f];
}

void ml_stats_register(struct ml_stats *s)
{
	if (stats_n == ML_MAX_WORKERS)
		ml_die("more than %d stats blocks", ML_MAX_WORKERS);
	stats_all[stats_n++] = s;
}

uint64_t ml_stats_next_request(void)
{
	return atomic_fetch_add_explicit(&stats_req_seq, 1, memory_order_relaxed);
}

static uint64_t sum(size_t off)
{
	uint64_t v = 0;
	for (int i = 0; i < stats_n; i++)
		v += atomic_load_explicit((_Atomic uint64_t *)((char *)stats_all[i] + off),
					  memory_order_relaxed);
	return v;
}

#define SUM(field) sum(offsetof(struct ml_stats, field))

static void put_field(struct ml_buf *out, const char *name, uint64_t v, int *first)
{
	if (!*first)
		ml_buf_putc(out, ',');
	*first = 0;
	ml_buf_putc(out, '"');
	ml_buf_puts(out, name);
	ML_PUT(out, "\":");
	ml_buf_u64(out, v);
}

void ml_stats_render(struct ml_buf *out)
{
	int first = 1;
	uint64_t total = 0;
	ml_buf_putc(out, '{');
	put_field(out, "connections_accepted", SUM(connections_accepted), &first);
	put_field(out, "connections_open", SUM(connections_open), &first);
	for (int f = 0; f < ML_FMT_COUNT; f++)
		total += SUM(requests[f]);
	put_field(out, "requests_total", total, &first);
	ML_PUT(out, ",\"requests_by_format\":{");
	first = 1;
	for (int f = 0; f < ML_FMT_COUNT; f++)
		put_field(out, fmt_names[f], SUM(requests[f]), &first);
	ml_buf_putc(out, '}');
	put_field(out, "requests_other", SUM(requests_other), &first);
	put_field(out, "streams_completed", SUM(streams_completed), &first);
	put_field(out, "responses_completed", SUM(responses_completed), &first);
	put_field(out, "requests_cancelled", SUM(requests_cancelled), &first);
	ML_PUT(out, ",\"faults_injected\":{");
	first = 1;
	total = 0;
	for (int k = 0; k < ML_FAULT_COUNT; k++) {
		uint64_t v = SUM(faults[k]);
		put_field(out, fault_names[k], v, &first);
		total += v;
	}
	for (int k = 0; k < ML_CHAOS_COUNT; k++)
		put_field(out, chaos_names[k], SUM(chaos[k]), &first);
	put_field(out, "total", total, &first);
	ml_buf_putc(out, '}');
	put_field(out, "bytes_sent", SUM(bytes_sent), &first);
	ML_PUT(out, "}\n");
}

void ml_stats_reset(void)
{
	for (int i = 0; i < stats_n; i++) {
		struct ml_stats *s = stats_all[i];
		_Atomic uint64_t *keep = &s->connections_open;
		_Atomic uint64_t *c = (_Atomic uint64_t *)(void *)s;
		for (size_t j = 0; j < sizeof *s / sizeof *c; j++)
			if (&c[j] != keep)
				atomic_store_explicit(&c[j], 0, memory_order_relaxed);
	}
	atomic_store_explicit(&stats_req_seq, 0, memory_order_relaxed);
}
