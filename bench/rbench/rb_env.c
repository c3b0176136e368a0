/*
 * rb_env.c — start and stop mockllm and the sidecar for a benchmark run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rb_env.h"

/* How long a process gets to come up before we give up on it. */
#define RE_START_MS 5000

static void re_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* fork + exec argv with stdout to out_path and stderr to err_path; the child
 * dies with us (PR_SET_PDEATHSIG) so an interrupted benchmark leaves
 * nothing behind. */
static pid_t re_spawn(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (o < 0 || e < 0)
		_exit(127);
	dup2(o, 1);
	dup2(e, 2);
	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void re_kill(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		re_sleep_ms(10);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static int re_alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* mockllm prints "mockllm listening on 127.0.0.1:PORT" once it accepts. */
static int re_mockllm_port(const struct rb_env *e, const char *out)
{
	for (int ms = 0; ms < RE_START_MS; ms += 10) {
		FILE *f = fopen(out, "r");
		char line[256];
		int port = 0;
		if (f) {
			while (fgets(line, sizeof line, f)) {
				char *c = strrchr(line, ':');
				if (strstr(line, "listening") && c)
					port = atoi(c + 1);
			}
			fclose(f);
		}
		if (port > 0)
			return port;
		if (!re_alive(e->mockllm))
			return -1;
		re_sleep_ms(10);
	}
	return -1;
}

static int re_connectable(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static int re_write_config(const struct rb_env *e, const char *path,
			   const struct rb_alias *aliases, unsigned n, long spin_us)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	if (spin_us >= 0)
		fprintf(f, "limits:\n  spin_us: %ld\n", spin_us);
	fprintf(f,
		"listen:\n  socket: %s\n"
		"log:\n  level: warn\n"
		"providers:\n"
		"  mock:\n    kind: mock\n    ttft: 0ms\n    token_interval: 0ms\n"
		"  mockllm:\n    kind: openai\n    base_url: http://127.0.0.1:%d/v1\n"
		"models:\n  mock:\n    provider: mock\n    model: echo\n",
		e->socket, e->port);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "  %s:\n    provider: mockllm\n    model: \"%s\"\n", aliases[i].name,
			aliases[i].model);
	return fclose(f);
}

int rb_env_start(struct rb_env *e, const char *bindir, const struct rb_alias *aliases,
		 unsigned naliases, long spin_us)
{
	memset(e, 0, sizeof *e);
	snprintf(e->dir, sizeof e->dir, "/tmp/ringside-bench.XXXXXX");
	if (!mkdtemp(e->dir)) {
		fprintf(stderr, "ringside-bench: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	char bin[512], out[160], err[160], cfg[160];
	snprintf(bin, sizeof bin, "%s/mockllm", bindir);
	snprintf(out, sizeof out, "%s/mockllm.out", e->dir);
	snprintf(err, sizeof err, "%s/mockllm.err", e->dir);
	char *ml_argv[] = { bin, "-p", "0", "-q", NULL };
	e->mockllm = re_spawn(ml_argv, out, err);
	if (e->mockllm < 0 || (e->port = re_mockllm_port(e, out)) < 0) {
		fprintf(stderr, "ringside-bench: %s did not start (see %s)\n", bin, err);
		goto fail;
	}
	snprintf(e->url, sizeof e->url, "http://127.0.0.1:%d/v1/chat/completions", e->port);
	snprintf(e->socket, sizeof e->socket, "%s/rs.sock", e->dir);
	snprintf(cfg, sizeof cfg, "%s/ringside.yaml", e->dir);
	if (re_write_config(e, cfg, aliases, naliases, spin_us) < 0) {
		fprintf(stderr, "ringside-bench: writing %s: %s\n", cfg, strerror(errno));
		goto fail;
	}
	snprintf(bin, sizeof bin, "%s/ringside", bindir);
	snprintf(out, sizeof out, "%s/ringside.out", e->dir);
	snprintf(err, sizeof err, "%s/ringside.log", e->dir);
	char *rs_argv[] = { bin, "-c", cfg, NULL };
	e->sidecar = re_spawn(rs_argv, out, err);
	for (int ms = 0; e->sidecar > 0 && ms < RE_START_MS; ms += 10) {
		if (re_connectable(e->socket))
			return 0;
		if (!re_alive(e->sidecar))
			break;
		re_sleep_ms(10);
	}
	fprintf(stderr, "ringside-bench: %s did not start (see %s)\n", bin, err);
fail:
	rb_env_stop(e);
	return -1;
}

void rb_env_stop(struct rb_env *e)
{
	re_kill(&e->sidecar);
	re_kill(&e->mockllm);
	if (e->dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "ringside-bench: could not remove %s\n", e->dir);
		e->dir[0] = 0;
	}
}
