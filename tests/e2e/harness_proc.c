/*
 * harness_proc.c — processes, files and clocks for the end-to-end tests
 * (see harness.h): forking children that die with the test, bounded waits,
 * running a program with its output captured.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Poll period of a bounded wait for a child. */
#define H_PROC_POLL_MS 5

uint64_t h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void h_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *h_env(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v && v[0], "$%s is not set: run the tests through `make e2e`", name);
	return v;
}

char *h_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *p = realloc(buf, cap * 2);
		if (!p) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = p;
		cap *= 2;
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

void h_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert(fclose(f) == 0, "cannot write %s", path);
}

pid_t h_fork(void)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Whatever happens to the test (timeout, crash), nothing it
		 * started outlives it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
	}
	return pid;
}

int h_wait_pid(pid_t pid, int ms)
{
	uint64_t until = h_now_ms() + (uint64_t)ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -1;
		if (h_now_ms() >= until)
			return -1;
		h_sleep_ms(H_PROC_POLL_MS);
	}
}

/* ---- running programs ---------------------------------------------------------- */

int h_run(const char *const argv[], const char *const env[], const char *in_text,
	  char **out, char **err)
{
	char dir[] = "/tmp/rse2e-run.XXXXXX";
	cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	char in_path[64], out_path[64], err_path[64];
	snprintf(in_path, sizeof in_path, "%s/in", dir);
	snprintf(out_path, sizeof out_path, "%s/out", dir);
	snprintf(err_path, sizeof err_path, "%s/err", dir);
	h_write_file(in_path, in_text ? in_text : "");
	pid_t pid = h_fork();
	if (pid == 0) {
		int i = open(in_text ? in_path : "/dev/null", O_RDONLY);
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (i < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(i, 0);
		dup2(o, 1);
		dup2(e, 2);
		close_range(3, ~0u, 0);
		for (size_t k = 0; env && env[k]; k++) {
			char kv[512];
			snprintf(kv, sizeof kv, "%s", env[k]);
			char *eq = strchr(kv, '=');
			if (!eq)
				_exit(125);
			*eq = 0;
			if (eq[1])
				setenv(kv, eq + 1, 1);
			else
				unsetenv(kv);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = h_wait_pid(pid, H_WAIT_MS);
	if (st < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	char *o = h_read_file(out_path, NULL), *e = h_read_file(err_path, NULL);
	unlink(in_path);
	unlink(out_path);
	unlink(err_path);
	rmdir(dir);
	cr_assert(st >= 0, "%s did not exit within %d ms; stderr:\n%s", argv[0], H_WAIT_MS,
		  e ? e : "");
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
