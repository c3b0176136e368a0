/*
 * stats.h — the sidecar's counters, rendered as "key value" lines for the
 * STATS query (rs_stats). One global instance: the loop is single-threaded.
 */
#ifndef RINGSIDE_STATS_H
#define RINGSIDE_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stats {
	uint64_t start_ns;
	uint64_t clients_connected;   /* attached now */
	uint64_t clients_total;       /* ever attached */
	uint64_t clients_rejected;    /* refused at handshake */
	uint64_t clients_killed;      /* disconnected for a protocol violation */
	uint64_t segments_live;       /* mapped segments */
	uint64_t segment_bytes_live;
	uint64_t streams_active;
	uint64_t streams_total;
	uint64_t streams_done;
	uint64_t streams_error;
	uint64_t streams_cancelled;
	uint64_t streams_dropped;     /* freed without a terminal event: client died */
	uint64_t requests_too_large;
	uint64_t requests_bad;
	uint64_t events_written;
	uint64_t ring_full_pauses;
	uint64_t bell_kicks;          /* eventfd writes to wake a client */
	uint64_t route_attempts;      /* upstream attempts, all kinds */
	uint64_t route_retries;       /* attempts repeating a deployment */
	uint64_t route_fallbacks;     /* attempts moving to another deployment */
	uint64_t route_hedges;        /* hedge attempts started */
	uint64_t route_hedge_wins;    /* ... that served the stream */
	uint64_t route_waits;         /* requests that waited for a target */
	uint64_t route_rejected;      /* refused: on_limit reject, or queue full */
	uint64_t route_rate_limited;  /* ended RATE_LIMITED by the router */
	uint64_t route_unavailable;   /* ended UNAVAILABLE: every target open */
	uint64_t loop_sleeps;
	uint64_t loop_wakeups;
	uint64_t loop_spins_skipped;  /* idle passes that slept at once: spinning had not paid */
};

extern struct stats stats;

/* Render into buf (NUL-terminated, truncated to len). Returns bytes. */
size_t stats_render(char *buf, size_t len);

#endif
