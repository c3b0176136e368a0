/*
 * harness_mockllm.c — mockllm as a test's upstream (see harness_mockllm.h):
 * its process, its /stats over a tiny HTTP/1.1 client of our own (the e2e
 * binary links no HTTP or JSON library), and the sidecar config pointing at
 * it.
 */
#include "harness_mockllm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Poll period of the bounded waits on mockllm's counters. */
#define H_ML_POLL_MS 10
/* Largest /stats answer kept; mockllm's is a few hundred bytes. */
#define H_ML_RESP_MAX 16384

/* ---- the process ----------------------------------------------------------------- */

void h_ml_start(struct h_ml *m)
{
	h_ml_start_on(m, 0);
}

void h_ml_start_on(struct h_ml *m, int port)
{
	const char *bin = h_env("RINGSIDE_MOCKLLM");
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	int p[2];
	cr_assert(pipe(p) == 0, "pipe: %s", strerror(errno));
	m->pid = h_fork();
	if (m->pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		/* stderr stays the test's: sanitizer reports reach tests/run.sh. */
		close_range(3, ~0u, 0);
		execl(bin, "mockllm", "-p", ps, "-q", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[128];
	size_t n = 0;
	uint64_t until = h_now_ms() + H_WAIT_MS;
	while (n < sizeof line - 1 && !memchr(line, '\n', n)) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		uint64_t now = h_now_ms();
		cr_assert(now < until && poll(&pfd, 1, (int)(until - now)) == 1,
			  "mockllm did not print its port within %d ms", H_WAIT_MS);
		ssize_t k = read(p[0], line + n, sizeof line - 1 - n);
		cr_assert(k > 0, "mockllm exited before listening");
		n += (size_t)k;
	}
	line[n] = 0;
	close(p[0]);
	cr_assert(sscanf(line, "mockllm listening on 127.0.0.1:%d", &m->port) == 1,
		  "unexpected first line from mockllm: %s", line);
}

void h_ml_stop(struct h_ml *m)
{
	cr_assert(kill(m->pid, SIGTERM) == 0, "kill mockllm: %s", strerror(errno));
	int st = h_wait_pid(m->pid, H_WAIT_MS);
	if (st < 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		cr_assert_fail("mockllm did not exit within %d ms of SIGTERM", H_WAIT_MS);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mockllm exit status 0x%x", st);
}

int h_ml_dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind: %s", strerror(errno));
	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	/* Never listened on: a connect to it is refused at once, and the
	 * kernel does not hand an ephemeral port out again right away. */
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- its HTTP admin endpoints ------------------------------------------------------ */

/* One request on a fresh connection with Connection: close, read to EOF.
 * Returns the body (static buffer) of a 200 answer. */
static const char *h_ml_http(const struct h_ml *m, const char *method, const char *path)
{
	static char resp[H_ML_RESP_MAX];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)m->port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect to mockllm: %s",
		  strerror(errno));
	char req[256];
	int rn = snprintf(req, sizeof req,
			  "%s %s HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
			  "content-length: 0\r\n\r\n", method, path);
	cr_assert(send(fd, req, (size_t)rn, MSG_NOSIGNAL) == rn, "send to mockllm: %s",
		  strerror(errno));
	size_t n = 0;
	uint64_t until = h_now_ms() + H_WAIT_MS;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = h_now_ms();
		cr_assert(now < until && poll(&pfd, 1, (int)(until - now)) == 1,
			  "mockllm did not answer %s %s within %d ms", method, path, H_WAIT_MS);
		cr_assert(n < sizeof resp - 1, "mockllm's answer to %s is too long", path);
		ssize_t k = recv(fd, resp + n, sizeof resp - 1 - n, 0);
		cr_assert(k >= 0, "recv from mockllm: %s", strerror(errno));
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	resp[n] = 0;
	cr_assert(!strncmp(resp, "HTTP/1.1 200", 12), "%s %s: %.80s", method, path, resp);
	const char *body = strstr(resp, "\r\n\r\n");
	cr_assert(body, "%s %s: no end of headers", method, path);
	return body + 4;
}

/* "key": <integer> in a JSON text: 0 and *out, or -1. */
static int h_ml_json_u64(const char *json, const char *key, uint64_t *out)
{
	char pat[96];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || end == p)
		return -1;
	*out = v;
	return 0;
}

uint64_t h_ml_stat(const struct h_ml *m, const char *key)
{
	const char *body = h_ml_http(m, "GET", "/stats");
	uint64_t v = 0;
	cr_assert(h_ml_json_u64(body, key, &v) == 0, "no counter \"%s\" in mockllm's /stats: %s",
		  key, body);
	return v;
}

static void h_ml_wait_cmp(const struct h_ml *m, const char *key, uint64_t want, int ge)
{
	uint64_t until = h_now_ms() + H_WAIT_MS, v = 0;
	for (;;) {
		v = h_ml_stat(m, key);
		if (ge ? v >= want : v == want)
			return;
		if (h_now_ms() >= until)
			break;
		h_sleep_ms(H_ML_POLL_MS);
	}
	cr_assert_fail("mockllm's %s stayed %llu for %d ms, waited for %s%llu", key,
		       (unsigned long long)v, H_WAIT_MS, ge ? ">= " : "", (unsigned long long)want);
}

void h_ml_wait_stat(const struct h_ml *m, const char *key, uint64_t want)
{
	h_ml_wait_cmp(m, key, want, 0);
}

void h_ml_wait_stat_ge(const struct h_ml *m, const char *key, uint64_t want)
{
	h_ml_wait_cmp(m, key, want, 1);
}

void h_ml_reset(const struct h_ml *m)
{
	const char *body = h_ml_http(m, "POST", "/reset");
	cr_assert(strstr(body, "\"reset\":true"), "POST /reset: %s", body);
}

/* ---- the sidecar's config ------------------------------------------------------------ */

const struct h_ml_kind h_ml_kinds[H_ML_NKINDS] = {
	[H_ML_KIND_OPENAI] = { "openai", H_ML_OPENAI, "gpt-x" },
	[H_ML_KIND_AZURE] = { "azure", H_ML_AZURE, "dep-x" },
	[H_ML_KIND_ANTHROPIC] = { "anthropic", H_ML_ANTHROPIC, "claude-x" },
	[H_ML_KIND_GEMINI] = { "gemini", H_ML_GEMINI, "gemini-x" },
	[H_ML_KIND_OLLAMA] = { "ollama", H_ML_OLLAMA, "llama-x" },
};

/* More top-level YAML for h_ml_config (h_ml_extra_yaml); a test is a
 * process of its own, so this static is per test. */
static const char *h_ml_extra;

void h_ml_extra_yaml(const char *yaml)
{
	h_ml_extra = yaml;
}

void h_ml_config(char *buf, size_t len, int port, const char *limits, const char *prov_extra,
		 const struct h_ml_alias *a, size_t n)
{
	const char *sep = prov_extra ? ", " : "", *x = prov_extra ? prov_extra : "";
	int w = snprintf(buf, len,
			 "limits: {%s}\n"
			 "log: {level: info}\n"
			 "providers:\n"
			 "  " H_ML_OPENAI ": {kind: openai, base_url: \"http://127.0.0.1:%d/v1\"%s%s}\n"
			 "  " H_ML_AZURE ": {kind: azure, base_url: \"http://127.0.0.1:%d\", "
			 "api_key: " H_ML_KEY "%s%s}\n"
			 "  " H_ML_ANTHROPIC ": {kind: anthropic, base_url: \"http://127.0.0.1:%d\", "
			 "api_key: " H_ML_KEY "%s%s}\n"
			 "  " H_ML_GEMINI ": {kind: gemini, base_url: \"http://127.0.0.1:%d/v1beta\", "
			 "api_key: " H_ML_KEY "%s%s}\n"
			 "  " H_ML_OLLAMA ": {kind: ollama, base_url: \"http://127.0.0.1:%d\"%s%s}\n"
			 "models:\n",
			 limits ? limits : "", port, sep, x, port, sep, x, port, sep, x, port, sep, x,
			 port, sep, x);
	cr_assert(w > 0 && (size_t)w < len, "config text too long");
	size_t used = (size_t)w;
	for (size_t i = 0; i < n; i++) {
		w = snprintf(buf + used, len - used, "  %s: {provider: %s, model: \"%s\"}\n",
			     a[i].alias, a[i].provider, a[i].model);
		cr_assert(w > 0 && (size_t)w < len - used, "config text too long");
		used += (size_t)w;
	}
	if (h_ml_extra) {
		w = snprintf(buf + used, len - used, "%s", h_ml_extra);
		cr_assert(w >= 0 && (size_t)w < len - used, "config text too long");
	}
}

void h_ml_sidecar(struct h_sidecar *sc, int port, const char *limits, const char *prov_extra,
		  const struct h_ml_alias *a, size_t n)
{
	char yaml[8192];
	h_ml_config(yaml, sizeof yaml, port, limits, prov_extra, a, n);
	h_start_yaml(sc, yaml);
}

const char *h_ml_pool_key(char *buf, size_t len, const char *counter, const char *provider)
{
	snprintf(buf, len, "%s{provider=\"%s\"}", counter, provider);
	return buf;
}
