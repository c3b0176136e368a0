/*
 * stats.c — counter rendering (see stats.h).
 */
#include "stats.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loop.h"

struct stats stats;

size_t stats_render(char *buf, size_t len)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t now = loop_clock_ns();
	const struct {
		const char *k;
		uint64_t v;
	} rows[] = {
		/* For tools that read /proc/<pid> (ringside-bench: CPU, RSS). */
		{ "pid", (uint64_t)getpid() },
		{ "uptime_ms", (now - stats.start_ns) / 1000000u },
		{ "clients_connected", stats.clients_connected },
		{ "clients_total", stats.clients_total },
		{ "clients_rejected", stats.clients_rejected },
		{ "clients_killed", stats.clients_killed },
		{ "segments_live", stats.segments_live },
		{ "segment_bytes_live", stats.segment_bytes_live },
		{ "streams_active", stats.streams_active },
		{ "streams_total", stats.streams_total },
		{ "streams_done", stats.streams_done },
		{ "streams_error", stats.streams_error },
		{ "streams_cancelled", stats.streams_cancelled },
		{ "streams_dropped", stats.streams_dropped },
		{ "requests_too_large", stats.requests_too_large },
		{ "requests_bad", stats.requests_bad },
		{ "events_written", stats.events_written },
		{ "ring_full_pauses", stats.ring_full_pauses },
		{ "bell_kicks", stats.bell_kicks },
		{ "route_attempts", stats.route_attempts },
		{ "route_retries", stats.route_retries },
		{ "route_fallbacks", stats.route_fallbacks },
		{ "route_hedges", stats.route_hedges },
		{ "route_hedge_wins", stats.route_hedge_wins },
		{ "route_waits", stats.route_waits },
		{ "route_rejected", stats.route_rejected },
		{ "route_rate_limited", stats.route_rate_limited },
		{ "route_unavailable", stats.route_unavailable },
		{ "loop_sleeps", stats.loop_sleeps },
		{ "loop_wakeups", stats.loop_wakeups },
		{ "loop_spins_skipped", stats.loop_spins_skipped },
		{ "cpu_user_us", (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec },
		{ "cpu_sys_us", (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec },
		{ "maxrss_kb", (uint64_t)ru.ru_maxrss },
	};
	size_t n = 0;
	if (len == 0)
		return 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int w = snprintf(buf + n, len - n, "%s %llu\n", rows[i].k,
				 (unsigned long long)rows[i].v);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	return n;
}
