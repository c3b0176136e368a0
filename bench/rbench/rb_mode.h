/*
 * rb_mode.h — one way of serving a chat request, as ringside-bench's runner
 * sees it. A mode starts requests when told, waits for their events, and
 * reports each content chunk and each end through the sink. The runner owns
 * the clock, the schedule (load shape) and the statistics, so every mode is
 * measured by the same code and a new mode (the HTTP front, cache hits,
 * peers) is one more file implementing these five calls.
 *
 * Threading: everything runs on the runner's one thread.
 */
#ifndef RB_MODE_H
#define RB_MODE_H

#include <stdint.h>
#include <sys/types.h>

/* Where events go. `slot` is the runner's handle for one in-flight request
 * (the value it passed to start). `now` is rb_now_ns() taken by the mode as
 * close to the arrival as it can. The first chunk of a request is its time
 * to first chunk. A request ends exactly once, ok = 1 for a clean end of
 * stream, 0 for any failure (the mode prints why to stderr, once). */
struct rb_sink {
	void (*on_chunk)(void *arg, uint32_t slot, uint64_t now);
	void (*on_end)(void *arg, uint32_t slot, uint64_t now, int ok);
	void *arg;
};

/* What every mode serves: the same request, the same reply. */
struct rb_params {
	const char *url;        /* mockllm's chat.completions URL (direct) */
	const char *socket;     /* the sidecar's socket (shm modes) */
	const char *alias;      /* sidecar alias routed to mockllm, same knobs (shm) */
	const char *mock_alias; /* sidecar alias served by the in-process mock (shm-mock) */
	const char *body;       /* OpenAI chat.completions body, "stream": true,
				   its model carrying the mockllm knobs (direct) */
	const char *shm_body;   /* the same body for the sidecar (model = alias) */
	const char *mock_body;  /* the same prompt for the in-process mock, with
				   "mock":{"tokens":N,"ttft_us":0,"interval_us":0} */
	unsigned tokens;        /* content chunks per reply (floor echoes this many) */
	unsigned max_inflight;  /* the runner never has more slots than this */
};

struct rb_mode_ops {
	const char *name; /* short, as in tables: "direct", "shm", "floor-spin" */
	const char *what; /* one line for the report legend */
	/* Set up (connect, warm nothing yet). Returns a state or NULL (says why). */
	void *(*open)(const struct rb_params *p, const struct rb_sink *sink);
	/* Begin one request now. 0, or -1 (fatal for the run; says why). */
	int (*start)(void *st, uint32_t slot);
	/* Deliver what has arrived; block until at least one event was
	 * delivered or deadline_ns (rb_now_ns clock; UINT64_MAX: no deadline)
	 * passes, whichever is first, with sub-millisecond precision so that
	 * an open-loop schedule is kept. 0, or -1 (fatal; says why). */
	int (*wait)(void *st, uint64_t deadline_ns);
	/* The process that does this mode's gateway work (its CPU time and RSS
	 * are reported), or 0 when there is none. */
	pid_t (*server_pid)(void *st);
	void (*close)(void *st);
};

/* CLOCK_MONOTONIC in nanoseconds (vDSO: no system call). */
uint64_t rb_now_ns(void);

/* The modes ringside-bench knows. */
extern const struct rb_mode_ops rb_mode_direct;     /* mode_direct.c */
extern const struct rb_mode_ops rb_mode_shm;        /* mode_shm.c */
extern const struct rb_mode_ops rb_mode_shm_mock;   /* mode_shm.c */
extern const struct rb_mode_ops rb_mode_floor_spin; /* mode_floor.c */
extern const struct rb_mode_ops rb_mode_floor_sleep;/* mode_floor.c */

/* Look a mode up by name; NULL if unknown (main.c). */
const struct rb_mode_ops *rb_mode_find(const char *name);

#endif
