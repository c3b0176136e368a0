/*
 * stats.h — the counters behind GET /stats.
 *
 * Each worker owns one struct ml_stats and is the only one that adds to it;
 * /stats sums every worker's block and /reset zeroes them (from whichever
 * worker serves it), so the counters are relaxed atomics: exact for a
 * single worker, and never torn with several.
 */
#ifndef ML_STATS_H
#define ML_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"

/* Most worker threads (-t); far more than cores on the machines we use. */
#define ML_MAX_WORKERS 64

/* The request formats, in the order /stats lists them. */
enum ml_fmt { ML_FMT_OPENAI, ML_FMT_ANTHROPIC, ML_FMT_GEMINI, ML_FMT_OLLAMA, ML_FMT_COUNT };

enum ml_fault {
	ML_FAULT_STATUS,    /* status= */
	ML_FAULT_FAIL_PCT,  /* a request chosen by fail_pct= */
	ML_FAULT_RESET,     /* reset_after= */
	ML_FAULT_STALL,     /* stall_after= */
	ML_FAULT_MALFORMED, /* malformed_after= */
	ML_FAULT_ERROR,     /* error_after= */
	ML_FAULT_CHAOS,     /* a request chosen by chaos= (any of its faults) */
	ML_FAULT_COUNT
};

/* The faults chaos= draws from, each before the first content chunk; /stats
 * lists them as faults_injected.chaos_<name>, outside its total (each is
 * already in "chaos"). */
enum ml_chaos {
	ML_CHAOS_500,        /* HTTP 500 */
	ML_CHAOS_503,        /* HTTP 503, not the "overloaded" text */
	ML_CHAOS_429,        /* HTTP 429 with retry-after-ms: 20 */
	ML_CHAOS_OVERLOADED, /* Anthropic 529, else 503 in the provider's overloaded shape */
	ML_CHAOS_RST_HEAD,   /* RST before the status line */
	ML_CHAOS_RST_BODY,   /* RST after the head, before content (reset_after=0) */
	ML_CHAOS_MALFORMED,  /* invalid-JSON first event (malformed_after=0) */
	ML_CHAOS_ERROR,      /* in-stream error event first (error_after=0) */
	ML_CHAOS_COUNT
};

struct ml_stats {
	_Atomic uint64_t connections_accepted;
	_Atomic uint64_t connections_open; /* a gauge: /reset leaves it */
	_Atomic uint64_t requests[ML_FMT_COUNT];
	_Atomic uint64_t requests_other; /* 404, 405, unparseable HTTP */
	_Atomic uint64_t streams_completed;
	_Atomic uint64_t responses_completed; /* non-streaming 200s */
	_Atomic uint64_t requests_cancelled;
	_Atomic uint64_t faults[ML_FAULT_COUNT];
	_Atomic uint64_t chaos[ML_CHAOS_COUNT]; /* faults[ML_FAULT_CHAOS] by kind */
	_Atomic uint64_t bytes_sent;
};

static inline void ml_stat_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static inline void ml_stat_sub(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_sub_explicit(c, v, memory_order_relaxed);
}

/* Add a worker's block to the set /stats reports (before threads start). */
void ml_stats_register(struct ml_stats *s);

/* The next request number, from 0 after start or /reset; drives response
 * ids and the choices of fail_pct and chaos, so a test can predict them. */
uint64_t ml_stats_next_request(void);

/* The /stats JSON body. */
void ml_stats_render(struct ml_buf *out);

/* Zero every counter but the connections_open gauge. */
void ml_stats_reset(void);

/* The name /stats uses for a format ("openai", ...). */
const char *ml_fmt_name(enum ml_fmt f);

#endif
