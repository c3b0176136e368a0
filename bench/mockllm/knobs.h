/*
 * knobs.h — per-request behaviour switches.
 *
 * A request carries knobs in an `x-mock: key=value,key=value` header and/or
 * as a suffix of its model name, `"model": "gpt-x@tokens=50,itl_us=1000"`,
 * so they survive a gateway that forwards neither custom headers nor
 * unknown body fields. The header is applied first, the model suffix after
 * it (the suffix wins on conflicts). An unknown key or a bad value fails the
 * request with 400: a typo must not silently test the wrong thing.
 */
#ifndef ML_KNOBS_H
#define ML_KNOBS_H

#include <stddef.h>
#include <stdint.h>

/* Unset integer knob. */
#define ML_UNSET (-1L)
/* Longest tool name accepted; names are [A-Za-z0-9_.-] so need no escaping. */
#define ML_TOOL_MAX 64

struct ml_knobs {
	long tokens;          /* content tokens; default: words of the prompt */
	long ttft_us;         /* request arrival to first content chunk */
	long itl_us;          /* between content chunks */
	long slow_headers_us; /* request arrival to the status line */
	long status;          /* answer with this HTTP error status */
	long retry_after;     /* seconds, adds `retry-after` */
	long retry_after_ms;  /* adds `retry-after-ms` */
	long reset_after;     /* RST after N content chunks */
	long stall_after;     /* go silent after N content chunks */
	long malformed_after; /* one invalid-JSON event after N chunks */
	long error_after;     /* in-stream error event after N chunks, then end */
	long fail_pct;        /* fail this percentage of requests ... */
	long seed;            /* ... chosen by this seed and the request counter */
	long chaos;           /* fail this percentage with a mix of faults, see below */
	char tool[ML_TOOL_MAX + 1]; /* non-empty: reply with a call to this tool */
	/* Not a knob: the fault (enum ml_chaos) chaos drew for this request, or
	 * ML_UNSET. Set by reply.c so that fault is counted once, as chaos. */
	long chaos_fault;
};

/*
 * chaos=P (0..100) fails P% of requests, each with one fault drawn
 * uniformly from enum ml_chaos (stats.h), all of them before the first
 * content chunk so a gateway may still retry. The choice is deterministic:
 * one splitmix64 hash of (seed, request counter) salted differently from
 * fail_pct's, its low 32 bits mod 100 picking the request and its high 32
 * bits mod 8 the fault. So chaos and fail_pct pick independently; a request
 * that fail_pct (or status= alone) already fails keeps that status. The
 * stream faults set reset_after=0, malformed_after=0 or error_after=0 (over
 * any value given) and act as those do, also when not streamed: RST before
 * any byte, a 200 whose body is cut short (invalid JSON), and a 500. The
 * request counter restarts at /reset, so a seed replays its sequence.
 */

void ml_knobs_init(struct ml_knobs *k);

/*
 * Apply "key=value,key=value" (spaces around items allowed). Returns 0, or
 * -1 with a message in err naming the offending item.
 */
int ml_knobs_parse(struct ml_knobs *k, const char *s, size_t n, char *err, size_t errlen);

/*
 * Where the knob suffix of a model name starts: the offset of the last '@'
 * followed by something containing '=', else n. Vertex model names such as
 * "claude-3-5-sonnet@20240620" keep their '@'.
 */
size_t ml_knobs_model_split(const char *model, size_t n);

#endif
