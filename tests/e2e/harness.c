/*
 * harness.c — the sidecar under test: its config, start-up, shutdown and
 * log, and its counters read back through rs_stats (see harness.h).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Sidecars a test started and has not stopped; h_fini kills them. Each test
 * runs in its own process, so this is per test. Copies, not pointers: a
 * failed assertion leaves the test's stack frame before h_fini runs. */
#define H_MAX_LIVE 8
static struct h_live {
	pid_t pid;
	char dir[64];
} h_live[H_MAX_LIVE];

/* Poll period of every bounded wait: short enough not to slow tests down,
 * long enough not to burn a core that the sidecar needs. */
#define H_POLL_MS 5

/* ---- the sidecar ---------------------------------------------------------- */

void h_config_text(char *buf, size_t len, const struct h_opts *o)
{
	static const struct h_opts none;
	if (!o)
		o = &none;
	int n = snprintf(buf, len,
			 "limits: {%s}\n"
			 "log: {level: info}\n"
			 "providers:\n"
			 "  " H_PROVIDER ":\n"
			 "    kind: mock\n"
			 "    ttft: %s\n"
			 "    token_interval: %s\n"
			 "models:\n"
			 "  " H_MODEL ":\n"
			 "    provider: " H_PROVIDER "\n"
			 "    model: " H_UPSTREAM "\n"
			 "  " H_MODEL_B ":\n"
			 "    provider: " H_PROVIDER "\n"
			 "    model: " H_UPSTREAM_B "\n"
			 "%s",
			 o->limits ? o->limits : "", o->ttft ? o->ttft : "1ms",
			 o->interval ? o->interval : "1ms", o->extra ? o->extra : "");
	cr_assert(n > 0 && (size_t)n < len, "config text too long");
}

static void h_track(const struct h_sidecar *sc)
{
	for (int i = 0; i < H_MAX_LIVE; i++) {
		if (!h_live[i].pid) {
			h_live[i].pid = sc->pid;
			snprintf(h_live[i].dir, sizeof h_live[i].dir, "%s", sc->dir);
			return;
		}
	}
	cr_assert_fail("more than %d sidecars in one test", H_MAX_LIVE);
}

static void h_untrack(const struct h_sidecar *sc)
{
	for (int i = 0; i < H_MAX_LIVE; i++)
		if (h_live[i].pid == sc->pid)
			h_live[i].pid = 0;
}

/* Exec the sidecar with its log on stdout+stderr. Never returns. */
static void h_exec_sidecar(const struct h_sidecar *sc, const char *bin)
{
	int fd = open(sc->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	int in = open("/dev/null", O_RDONLY);
	if (fd < 0 || in < 0)
		_exit(126);
	dup2(in, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	/* Only stdio: criterion's own pipes must not be held open by us. */
	close_range(3, ~0u, 0);
	setenv("RINGSIDE_SOCKET", sc->sock, 1);
	execl(bin, "ringside", "-c", sc->cfg, (char *)NULL);
	_exit(127);
}

void h_prepare(struct h_sidecar *sc, const char *yaml, const char *sock)
{
	memset(sc, 0, sizeof *sc);
	snprintf(sc->dir, sizeof sc->dir, "/tmp/rse2e.XXXXXX");
	cr_assert(mkdtemp(sc->dir), "mkdtemp: %s", strerror(errno));
	if (sock)
		snprintf(sc->sock, sizeof sc->sock, "%s", sock);
	else
		snprintf(sc->sock, sizeof sc->sock, "%s/rs.sock", sc->dir);
	snprintf(sc->cfg, sizeof sc->cfg, "%s/ringside.yaml", sc->dir);
	snprintf(sc->log, sizeof sc->log, "%s/ringside.log", sc->dir);
	h_write_file(sc->cfg, yaml);
}

void h_launch(struct h_sidecar *sc)
{
	const char *bin = h_env("RINGSIDE_BIN");
	sc->pid = h_fork();
	if (sc->pid == 0)
		h_exec_sidecar(sc, bin);
	sc->running = 1;
	h_track(sc);
}

void h_wait_ready(struct h_sidecar *sc)
{
	/* Ready when it answers a stats query; waiting, not timing. */
	char buf[4096];
	uint64_t until = h_now_ms() + H_WAIT_MS;
	for (;;) {
		if (rs_stats(sc->sock, buf, sizeof buf) == RS_OK)
			return;
		int st;
		if (waitpid(sc->pid, &st, WNOHANG) == sc->pid) {
			sc->running = 0;
			h_untrack(sc);
			cr_assert_fail("ringside exited during start-up (status 0x%x); log:\n%s",
				       st, h_log_tail(sc));
		}
		cr_assert(h_now_ms() < until, "ringside not ready after %d ms; log:\n%s",
			  H_WAIT_MS, h_log_tail(sc));
		h_sleep_ms(H_POLL_MS);
	}
}

int h_reap(struct h_sidecar *sc)
{
	int st = h_wait_pid(sc->pid, H_WAIT_MS);
	cr_assert(st >= 0, "ringside (pid %d) did not exit within %d ms", (int)sc->pid, H_WAIT_MS);
	sc->running = 0;
	h_untrack(sc);
	return st;
}

void h_start_yaml(struct h_sidecar *sc, const char *yaml)
{
	h_prepare(sc, yaml, NULL);
	h_launch(sc);
	h_wait_ready(sc);
}

void h_start(struct h_sidecar *sc, const struct h_opts *o)
{
	char yaml[2048];
	h_config_text(yaml, sizeof yaml, o);
	h_start_yaml(sc, yaml);
}

const char *h_log_tail(const struct h_sidecar *sc)
{
	static char tail[3072];
	size_t n;
	char *all = h_read_file(sc->log, &n);
	if (!all)
		return "(no log)";
	const char *p = n > sizeof tail - 1 ? all + n - (sizeof tail - 1) : all;
	snprintf(tail, sizeof tail, "%s", p);
	free(all);
	return tail;
}

int h_log_count(const struct h_sidecar *sc, const char *needle)
{
	char *all = h_read_file(sc->log, NULL);
	if (!all)
		return 0;
	int count = 0;
	for (char *line = all, *end; *line; line = end) {
		end = strchr(line, '\n');
		end = end ? end + 1 : line + strlen(line);
		char save = *end;
		*end = 0;
		if (strstr(line, needle))
			count++;
		*end = save;
	}
	free(all);
	return count;
}

void h_log_assert_clean(const struct h_sidecar *sc)
{
	static const char *const reports[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error",
		"WARNING: AddressSanitizer",
	};
	for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++)
		cr_assert(h_log_count(sc, reports[i]) == 0, "sanitizer report (%s) in %s:\n%s",
			  reports[i], sc->log, h_log_tail(sc));
}

void h_remove_files(const struct h_sidecar *sc)
{
	unlink(sc->cfg);
	unlink(sc->log);
	/* A socket path shared with another sidecar is not ours to remove. */
	if (!strncmp(sc->sock, sc->dir, strlen(sc->dir)))
		unlink(sc->sock);
	rmdir(sc->dir);
}

void h_stop(struct h_sidecar *sc)
{
	h_stop_sig(sc, SIGTERM);
}

void h_stop_sig(struct h_sidecar *sc, int sig)
{
	cr_assert(sc->running, "h_stop: sidecar not running");
	cr_assert(kill(sc->pid, sig) == 0, "kill: %s", strerror(errno));
	int st = h_wait_pid(sc->pid, H_WAIT_MS);
	if (st < 0) {
		kill(sc->pid, SIGKILL);
		waitpid(sc->pid, NULL, 0);
		sc->running = 0;
		h_untrack(sc);
		cr_assert_fail("ringside did not exit within %d ms of %s; log:\n%s",
			       H_WAIT_MS, strsignal(sig), h_log_tail(sc));
	}
	sc->running = 0;
	h_untrack(sc);
	h_log_assert_clean(sc);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "ringside did not exit 0 on %s (status 0x%x); log:\n%s", strsignal(sig), st,
		  h_log_tail(sc));
	cr_assert(access(sc->sock, F_OK) < 0 && errno == ENOENT,
		  "ringside left its socket %s behind", sc->sock);
	h_remove_files(sc);
}

void h_kill9(struct h_sidecar *sc)
{
	cr_assert(sc->running, "h_kill9: sidecar not running");
	cr_assert(kill(sc->pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	int st = h_wait_pid(sc->pid, H_WAIT_MS);
	cr_assert(st >= 0, "SIGKILLed ringside not reaped");
	sc->running = 0;
	h_untrack(sc);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
	h_log_assert_clean(sc);
	h_remove_files(sc);
}

void h_fini(void)
{
	for (int i = 0; i < H_MAX_LIVE; i++) {
		if (!h_live[i].pid)
			continue;
		kill(h_live[i].pid, SIGKILL);
		waitpid(h_live[i].pid, NULL, 0);
		fprintf(stderr, "e2e: test left ringside running; killed it; files kept in %s\n",
			h_live[i].dir);
		h_live[i].pid = 0;
	}
}

/* ---- counters ----------------------------------------------------------------- */

int h_stat_parse(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + kl + 1, &end, 10);
			if (errno || (*end != '\n' && *end != 0))
				return -1;
			*out = v;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

uint64_t h_stat(const struct h_sidecar *sc, const char *key)
{
	char buf[4096];
	int rc = rs_stats(sc->sock, buf, sizeof buf);
	cr_assert(rc == RS_OK, "rs_stats: %s", rs_strerror(rc));
	uint64_t v;
	cr_assert(h_stat_parse(buf, key, &v) == 0, "no counter '%s' in:\n%s", key, buf);
	return v;
}

static void h_wait_stat_cmp(const struct h_sidecar *sc, const char *key, uint64_t want, int ge)
{
	uint64_t until = h_now_ms() + H_WAIT_MS, v;
	for (;;) {
		v = h_stat(sc, key);
		if (ge ? v >= want : v == want)
			return;
		if (h_now_ms() >= until)
			break;
		h_sleep_ms(H_POLL_MS);
	}
	cr_assert_fail("%s stayed %llu for %d ms, waited for %s%llu; log:\n%s", key,
		       (unsigned long long)v, H_WAIT_MS, ge ? ">= " : "", (unsigned long long)want,
		       h_log_tail(sc));
}

void h_wait_stat(const struct h_sidecar *sc, const char *key, uint64_t want)
{
	h_wait_stat_cmp(sc, key, want, 0);
}

void h_wait_stat_ge(const struct h_sidecar *sc, const char *key, uint64_t want)
{
	h_wait_stat_cmp(sc, key, want, 1);
}

/* ---- libringside -------------------------------------------------------------- */

rs_client *h_connect(const struct h_sidecar *sc)
{
	rs_client *c = NULL;
	int rc = rs_connect(sc->sock, &c);
	cr_assert(rc == RS_OK, "rs_connect(%s): %s", sc->sock, rs_strerror(rc));
	return c;
}

uint64_t h_submit(rs_client *c, const char *model, const char *body)
{
	struct rs_request rq = { .model = model, .body = body, .body_len = strlen(body) };
	uint64_t id = 0;
	int rc = rs_submit(c, &rq, &id);
	cr_assert(rc == RS_OK, "rs_submit: %s", rs_strerror(rc));
	return id;
}
