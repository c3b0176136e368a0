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
	uint64_t loop_sleeps;
	uint64_t loop_wakeups;
};

extern struct stats stats;

/* Render into buf (NUL-terminated, truncated to len). Returns bytes. */
size_t stats_render(char *buf, size_t len);

#endif
