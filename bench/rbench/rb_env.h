/*
 * rb_env.h — the processes a benchmark needs: mockllm (the provider) and a
 * ringside sidecar configured to reach it, started from a build directory
 * in a private temporary directory and stopped (SIGTERM, then SIGKILL)
 * when the benchmark ends, whatever way it ends.
 */
#ifndef RB_ENV_H
#define RB_ENV_H

#include <sys/types.h>

#define RB_ENV_MAX_ALIASES 4

struct rb_env {
	char dir[64];     /* private temporary directory */
	char socket[100]; /* the sidecar's socket (fits sun_path) */
	char url[128];    /* mockllm's chat.completions URL */
	pid_t mockllm, sidecar;
	int port;
};

/* One sidecar alias routed to mockllm with these mockllm knobs. */
struct rb_alias {
	const char *name;  /* e.g. "bench-9" */
	const char *model; /* upstream model with knobs, "bench-model@tokens=9" */
};

/*
 * Start mockllm and the sidecar found in bindir. The sidecar serves every
 * alias given (provider "mockllm") and "mock" (its in-process provider);
 * spin_us >= 0 sets its limits.spin_us, < 0 keeps its default.
 * Returns 0, or -1 after saying why on stderr (nothing left running).
 */
int rb_env_start(struct rb_env *e, const char *bindir, const struct rb_alias *aliases,
		 unsigned naliases, long spin_us);
/* Stop both and remove the temporary directory. Safe to call twice. */
void rb_env_stop(struct rb_env *e);

#endif
