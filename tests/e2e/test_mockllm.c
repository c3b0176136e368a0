/*
 * test_mockllm.c — the fake provider (bench/mockllm) end to end: a real
 * mockllm process per test, spoken to over plain sockets by a minimal
 * HTTP/1.1 client written here (no libcurl), with the SSE / NDJSON events
 * split and their JSON checked by a small validating walker (the e2e binary
 * does not link a JSON library).
 *
 * The binary is $RINGSIDE_MOCKLLM (set by `make e2e`), else build/mockllm.
 * Every read is bounded (MT_WAIT_MS) so a bug fails instead of hanging; the
 * only timing in an assertion is the stall check's "no byte in 200 ms".
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <criterion/criterion.h>

/* Bound on any one wait: generous for ASan builds on a loaded machine. */
#define MT_WAIT_MS 15000
/* How long a stalled stream must stay silent. */
#define MT_SILENT_MS 200

TestSuite(mockllm, .timeout = 90);

/* ---- the mockllm process ------------------------------------------------ */

struct mt_srv {
	pid_t pid;
	int port;
};

static uint64_t mt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void mt_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Start mockllm on an ephemeral port and read the port from its stdout;
 * threads > 1 adds -t threads. */
static void mt_start_threads(struct mt_srv *s, int threads)
{
	const char *bin = getenv("RINGSIDE_MOCKLLM");
	if (!bin || !bin[0])
		bin = "build/mockllm";
	cr_assert(access(bin, X_OK) == 0, "mockllm binary %s: %s (run `make build/mockllm`)", bin,
		  strerror(errno));
	int p[2];
	cr_assert(pipe(p) == 0);
	pid_t parent = getpid();
	s->pid = fork();
	cr_assert(s->pid >= 0);
	if (s->pid == 0) {
		/* Die with the test process, even when an assertion ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		char t[16];
		snprintf(t, sizeof t, "%d", threads);
		if (threads > 1)
			execl(bin, bin, "-p", "0", "-q", "-t", t, (char *)NULL);
		else
			execl(bin, bin, "-p", "0", "-q", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[128];
	size_t n = 0;
	uint64_t end = mt_now_ms() + MT_WAIT_MS;
	while (n < sizeof line - 1 && !memchr(line, '\n', n)) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		uint64_t now = mt_now_ms();
		cr_assert(now < end && poll(&pfd, 1, (int)(end - now)) == 1, "mockllm did not print its port");
		ssize_t k = read(p[0], line + n, sizeof line - 1 - n);
		cr_assert(k > 0, "mockllm exited before listening");
		n += (size_t)k;
	}
	line[n] = 0;
	close(p[0]);
	cr_assert(sscanf(line, "mockllm listening on 127.0.0.1:%d", &s->port) == 1, "line: %s", line);
}

static void mt_start(struct mt_srv *s)
{
	mt_start_threads(s, 1);
}

/* Wait (bounded) for the process; returns its wait status or -1. */
static int mt_reap(struct mt_srv *s)
{
	uint64_t end = mt_now_ms() + MT_WAIT_MS;
	int st;
	while (mt_now_ms() < end) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid)
			return st;
		mt_sleep_ms(5);
	}
	return -1;
}

/* SIGTERM and assert a clean exit 0 (under ASan: also leak-free). */
static void mt_stop(struct mt_srv *s)
{
	cr_assert(kill(s->pid, SIGTERM) == 0);
	int st = mt_reap(s);
	cr_assert(st != -1, "mockllm did not exit after SIGTERM");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mockllm exit status 0x%x", st);
}

/* ---- a minimal HTTP/1.1 client ------------------------------------------ */

struct mt_conn {
	int fd;
	char *buf; /* received, not yet consumed */
	size_t len, cap;
};

struct mt_resp {
	int status;
	char head[8192];
	char *body; /* de-chunked */
	size_t body_len, body_cap;
	bool complete; /* the framing ended the body */
	int end;       /* 0, or how reading stopped: -ETIMEDOUT, -ECONNRESET, 1 = EOF */
};

static void mt_connect(struct mt_conn *c, const struct mt_srv *s)
{
	memset(c, 0, sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(c->fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s", strerror(errno));
}

static void mt_close(struct mt_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static void mt_send(struct mt_conn *c, const char *data, size_t n)
{
	while (n) {
		ssize_t k = send(c->fd, data, n, MSG_NOSIGNAL);
		cr_assert(k > 0, "send: %s", strerror(errno));
		data += k;
		n -= (size_t)k;
	}
}

/* Send one request; extra is more header lines, each ending in CRLF. */
static void mt_request(struct mt_conn *c, const char *method, const char *path, const char *extra,
		       const char *body)
{
	char head[2048];
	size_t bn = body ? strlen(body) : 0;
	int n = snprintf(head, sizeof head,
			 "%s %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
			 "%scontent-length: %zu\r\n\r\n",
			 method, path, extra ? extra : "", bn);
	cr_assert(n > 0 && (size_t)n < sizeof head);
	mt_send(c, head, (size_t)n);
	if (bn)
		mt_send(c, body, bn);
}

/* Receive more bytes before the deadline: >0 read, 0 EOF, -errno. */
static int mt_fill(struct mt_conn *c, uint64_t deadline)
{
	uint64_t now = mt_now_ms();
	if (now >= deadline)
		return -ETIMEDOUT;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int rc = poll(&pfd, 1, (int)(deadline - now));
	if (rc == 0)
		return -ETIMEDOUT;
	if (rc < 0)
		return -errno;
	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 131072;
		c->buf = realloc(c->buf, c->cap);
		cr_assert(c->buf);
	}
	ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n < 0)
		return -errno;
	c->len += (size_t)n;
	return (int)n;
}

static void mt_consume(struct mt_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static void mt_body_add(struct mt_resp *r, const char *p, size_t n)
{
	if (r->body_cap - r->body_len < n + 1) {
		while (r->body_cap - r->body_len < n + 1)
			r->body_cap = r->body_cap ? r->body_cap * 2 : 4096;
		r->body = realloc(r->body, r->body_cap);
		cr_assert(r->body);
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = 0;
}

static void mt_resp_free(struct mt_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

static size_t mt_count(const char *s, size_t n, const char *needle)
{
	size_t k = 0, nl = strlen(needle);
	for (const char *p = s; s && (p = memmem(p, n - (size_t)(p - s), needle, nl)); p += nl)
		k++;
	return k;
}

/* Value of header name (lower case) in the response head, or NULL. */
static const char *mt_header(const struct mt_resp *r, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			size_t vn = strcspn(v, "\r");
			snprintf(out, cap, "%.*s", (int)vn, v);
			return out;
		}
	}
	return NULL;
}

/*
 * Read one response: skip 1xx, parse the head, then the body until the
 * framing ends it, the connection ends, the deadline passes, or (stop_at
 * non-NULL) the body holds stop_n occurrences of stop_at.
 */
static void mt_read_until(struct mt_conn *c, struct mt_resp *r, const char *stop_at, size_t stop_n)
{
	uint64_t deadline = mt_now_ms() + MT_WAIT_MS;
	memset(r, 0, sizeof *r);
	int rc;
	for (;;) {
		char *e = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		if (!e) {
			if ((rc = mt_fill(c, deadline)) <= 0) {
				r->end = rc == 0 ? 1 : rc;
				return;
			}
			continue;
		}
		size_t hl = (size_t)(e - c->buf) + 4;
		cr_assert(hl < sizeof r->head, "response head too long");
		memcpy(r->head, c->buf, hl);
		r->head[hl] = 0;
		mt_consume(c, hl);
		cr_assert(sscanf(r->head, "HTTP/1.1 %d", &r->status) == 1, "head: %s", r->head);
		if (r->status >= 200)
			break;
	}
	char v[64];
	bool chunked = mt_header(r, "transfer-encoding", v, sizeof v) && strcmp(v, "chunked") == 0;
	long clen = mt_header(r, "content-length", v, sizeof v) ? atol(v) : -1;
	for (;;) {
		if (stop_at && mt_count(r->body, r->body_len, stop_at) >= stop_n)
			return;
		if (chunked) {
			char *le = c->len ? memmem(c->buf, c->len, "\r\n", 2) : NULL;
			if (le) {
				size_t size = strtoul(c->buf, NULL, 16), ll = (size_t)(le - c->buf) + 2;
				if (size == 0 && c->len >= ll + 2) {
					mt_consume(c, ll + 2);
					r->complete = true;
					return;
				}
				if (size && c->len >= ll + size + 2) {
					mt_body_add(r, c->buf + ll, size);
					mt_consume(c, ll + size + 2);
					continue;
				}
			}
		} else if (clen >= 0 && c->len >= (size_t)clen - r->body_len) {
			size_t take = (size_t)clen - r->body_len;
			mt_body_add(r, c->buf, take);
			mt_consume(c, take);
			r->complete = true;
			return;
		} else if (c->len) {
			/* Content-Length not reached yet, or a body that ends
			 * when the connection does (HTTP/1.0). */
			mt_body_add(r, c->buf, c->len);
			mt_consume(c, c->len);
		}
		if ((rc = mt_fill(c, deadline)) <= 0) {
			r->end = rc == 0 ? 1 : rc;
			return;
		}
	}
}

static void mt_read(struct mt_conn *c, struct mt_resp *r)
{
	mt_read_until(c, r, NULL, 0);
}

/* ---- a validating JSON walker ------------------------------------------- */

static const char *js_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at a quote: the byte after the closing quote, or NULL if invalid. */
static const char *js_str_end(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"')
			return p + 1;
		if (ch < 0x20)
			return NULL;
		if (ch == '\\') {
			if (++p >= e)
				return NULL;
			if (*p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++p >= e || !strchr("0123456789abcdefABCDEF", *p))
						return NULL;
			} else if (!strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
	}
	return NULL;
}

static const char *js_lit(const char *p, const char *e, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

/* The end of the value at p, or NULL when it is not valid JSON. */
static const char *js_end(const char *p, const char *e, int depth)
{
	p = js_ws(p, e);
	if (p >= e || depth > 64)
		return NULL;
	if (*p == '{' || *p == '[') {
		bool obj = *p == '{';
		char close = obj ? '}' : ']';
		p = js_ws(p + 1, e);
		if (p < e && *p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				if (p >= e || *p != '"' || !(p = js_str_end(p, e)))
					return NULL;
				p = js_ws(p, e);
				if (p >= e || *p != ':')
					return NULL;
				p++;
			}
			if (!(p = js_end(p, e, depth + 1)))
				return NULL;
			p = js_ws(p, e);
			if (p >= e)
				return NULL;
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = js_ws(p + 1, e);
		}
	}
	if (*p == '"')
		return js_str_end(p, e);
	if (*p == 't')
		return js_lit(p, e, "true");
	if (*p == 'f')
		return js_lit(p, e, "false");
	if (*p == 'n')
		return js_lit(p, e, "null");
	const char *s = p;
	if (p < e && *p == '-')
		p++;
	const char *d = p;
	while (p < e && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
		p++;
	return p > d && p > s ? p : NULL;
}

static bool js_valid(const char *s, size_t n)
{
	const char *p = js_end(s, s + n, 0);
	return p && js_ws(p, s + n) == s + n;
}

/* The raw value at a dotted path ("choices.0.delta.content"). */
static bool js_at(const char *s, size_t n, const char *path, const char **vp, size_t *vn)
{
	const char *e = s + n, *p = js_ws(s, e);
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t seg = dot ? (size_t)(dot - path) : strlen(path);
		if (p < e && *p == '{') {
			p = js_ws(p + 1, e);
			for (;;) {
				if (p >= e || *p != '"')
					return false;
				const char *k = p + 1, *ke = js_str_end(p, e);
				if (!ke)
					return false;
				bool hit = (size_t)(ke - 1 - k) == seg && memcmp(k, path, seg) == 0;
				p = js_ws(ke, e);
				if (p >= e || *p != ':')
					return false;
				p = js_ws(p + 1, e);
				if (hit)
					break;
				if (!(p = js_end(p, e, 0)))
					return false;
				p = js_ws(p, e);
				if (p >= e || *p != ',')
					return false;
				p = js_ws(p + 1, e);
			}
		} else if (p < e && *p == '[') {
			long idx = atol(path);
			p = js_ws(p + 1, e);
			for (long i = 0; i < idx; i++) {
				if (p >= e || *p == ']' || !(p = js_end(p, e, 0)))
					return false;
				p = js_ws(p, e);
				if (p >= e || *p != ',')
					return false;
				p = js_ws(p + 1, e);
			}
			if (p >= e || *p == ']')
				return false;
		} else {
			return false;
		}
		path += seg + (dot ? 1 : 0);
	}
	const char *end = js_end(p, e, 0);
	if (!end)
		return false;
	*vp = p;
	*vn = (size_t)(end - p);
	return true;
}

/* Append the string at path (unescaped) to out; false when absent or not a
 * string. Escapes beyond ASCII \uXXXX are not needed by these tests. */
static bool js_str(const char *s, size_t n, const char *path, char *out, size_t cap)
{
	const char *v;
	size_t vn;
	if (!js_at(s, n, path, &v, &vn) || v[0] != '"')
		return false;
	size_t o = strlen(out);
	for (size_t i = 1; i + 1 < vn && o + 1 < cap; i++) {
		char ch = v[i];
		if (ch == '\\') {
			ch = v[++i];
			if (ch == 'n')
				ch = '\n';
			else if (ch == 't')
				ch = '\t';
			else if (ch == 'u') {
				ch = (char)strtol((char[]){ v[i + 1], v[i + 2], v[i + 3], v[i + 4], 0 }, NULL, 16);
				i += 4;
			}
		}
		out[o++] = ch;
	}
	out[o] = 0;
	return true;
}

/* Replace out with the string at path, when there is one. */
static bool js_set(const char *s, size_t n, const char *path, char *out, size_t cap)
{
	const char *v;
	size_t vn;
	if (!js_at(s, n, path, &v, &vn) || v[0] != '"')
		return false;
	out[0] = 0;
	return js_str(s, n, path, out, cap);
}

static long js_num(const char *s, size_t n, const char *path)
{
	const char *v;
	size_t vn;
	if (!js_at(s, n, path, &v, &vn) || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')))
		return -1;
	return atol(v);
}

/* Is the value at path exactly the literal (true, null, ...)? */
static bool js_is(const char *s, size_t n, const char *path, const char *lit)
{
	const char *v;
	size_t vn;
	return js_at(s, n, path, &v, &vn) && vn == strlen(lit) && memcmp(v, lit, vn) == 0;
}

/* Copy the raw JSON at path into out ("" when absent). */
static void js_raw(const char *s, size_t n, const char *path, char *out, size_t cap)
{
	const char *v;
	size_t vn;
	out[0] = 0;
	if (js_at(s, n, path, &v, &vn))
		snprintf(out, cap, "%.*s", (int)vn, v);
}

/* ---- the four formats ------------------------------------------------------ */

enum mt_fmt { MT_OPENAI, MT_ANTHROPIC, MT_GEMINI, MT_OLLAMA, MT_NFMT };

static const char *const mt_fmt_names[MT_NFMT] = { "openai", "anthropic", "gemini", "ollama" };
static const char *const mt_finish_text[MT_NFMT] = { "stop", "end_turn", "STOP", "stop" };
static const char *const mt_finish_tool[MT_NFMT] = { "tool_calls", "tool_use", "STOP", "stop" };

/* What a client assembles from a reply. */
struct mt_out {
	char text[8192];
	char args[8192]; /* tool-call arguments: streamed fragments joined, or raw JSON */
	char tool[64];
	char tool_id[64];
	char finish[32];
	char error[128]; /* error type / status / message */
	char model[64];
	long prompt, completion;
	int events;     /* events / lines with valid JSON */
	int chunks;     /* of them, carrying content or argument text */
	int bad_json;   /* events whose payload is not JSON */
	int errors;     /* error events */
	bool terminated; /* [DONE] / message_stop / finishReason / done:true */
	bool role_first; /* OpenAI: the first chunk is the role chunk */
};

static void mt_out_init(struct mt_out *o)
{
	memset(o, 0, sizeof *o);
	o->prompt = o->completion = -1;
}

static void mt_take_num(const char *d, size_t n, const char *path, long *out)
{
	long v = js_num(d, n, path);
	if (v >= 0)
		*out = v;
}

/* One event's (or body's) JSON, by format. */
static void mt_event(enum mt_fmt f, const char *name, const char *d, size_t n, struct mt_out *o)
{
	if (f == MT_OPENAI && n == 6 && memcmp(d, "[DONE]", 6) == 0) {
		o->terminated = true;
		return;
	}
	if (!js_valid(d, n)) {
		o->bad_json++;
		return;
	}
	int before = (int)(strlen(o->text) + strlen(o->args));
	o->events++;
	switch (f) {
	case MT_OPENAI:
		if (js_str(d, n, "error.type", o->error, sizeof o->error))
			o->errors++;
		if (o->events == 1) {
			char role[16] = "";
			o->role_first = js_str(d, n, "choices.0.delta.role", role, sizeof role) &&
					strcmp(role, "assistant") == 0;
		}
		js_str(d, n, "choices.0.delta.content", o->text, sizeof o->text);
		js_str(d, n, "choices.0.message.content", o->text, sizeof o->text);
		for (int m = 0; m < 2; m++) {
			const char *base = m ? "choices.0.message.tool_calls.0." : "choices.0.delta.tool_calls.0.";
			char path[96];
			snprintf(path, sizeof path, "%sfunction.arguments", base);
			js_str(d, n, path, o->args, sizeof o->args);
			snprintf(path, sizeof path, "%sfunction.name", base);
			js_str(d, n, path, o->tool, sizeof o->tool);
			snprintf(path, sizeof path, "%sid", base);
			js_str(d, n, path, o->tool_id, sizeof o->tool_id);
		}
		js_str(d, n, "choices.0.finish_reason", o->finish, sizeof o->finish);
		js_set(d, n, "model", o->model, sizeof o->model);
		mt_take_num(d, n, "usage.prompt_tokens", &o->prompt);
		mt_take_num(d, n, "usage.completion_tokens", &o->completion);
		break;
	case MT_ANTHROPIC:
		if (!name || !strcmp(name, "error"))
			if (js_str(d, n, "error.type", o->error, sizeof o->error))
				o->errors++;
		if (!name) { /* the non-streaming Message */
			js_str(d, n, "content.0.text", o->text, sizeof o->text);
			js_str(d, n, "content.0.name", o->tool, sizeof o->tool);
			js_str(d, n, "content.0.id", o->tool_id, sizeof o->tool_id);
			js_raw(d, n, "content.0.input", o->args, sizeof o->args);
			js_str(d, n, "stop_reason", o->finish, sizeof o->finish);
			js_str(d, n, "model", o->model, sizeof o->model);
			mt_take_num(d, n, "usage.input_tokens", &o->prompt);
			mt_take_num(d, n, "usage.output_tokens", &o->completion);
			break;
		}
		if (!strcmp(name, "message_start")) {
			js_str(d, n, "message.model", o->model, sizeof o->model);
			mt_take_num(d, n, "message.usage.input_tokens", &o->prompt);
		} else if (!strcmp(name, "content_block_start")) {
			js_str(d, n, "content_block.name", o->tool, sizeof o->tool);
			js_str(d, n, "content_block.id", o->tool_id, sizeof o->tool_id);
		} else if (!strcmp(name, "content_block_delta")) {
			js_str(d, n, "delta.text", o->text, sizeof o->text);
			js_str(d, n, "delta.partial_json", o->args, sizeof o->args);
		} else if (!strcmp(name, "message_delta")) {
			js_str(d, n, "delta.stop_reason", o->finish, sizeof o->finish);
			mt_take_num(d, n, "usage.output_tokens", &o->completion);
		} else if (!strcmp(name, "message_stop")) {
			o->terminated = true;
		}
		break;
	case MT_GEMINI:
		if (js_str(d, n, "error.status", o->error, sizeof o->error))
			o->errors++;
		js_str(d, n, "candidates.0.content.parts.0.text", o->text, sizeof o->text);
		js_str(d, n, "candidates.0.content.parts.0.functionCall.name", o->tool, sizeof o->tool);
		if (!o->args[0])
			js_raw(d, n, "candidates.0.content.parts.0.functionCall.args", o->args, sizeof o->args);
		if (js_str(d, n, "candidates.0.finishReason", o->finish, sizeof o->finish))
			o->terminated = true;
		js_set(d, n, "modelVersion", o->model, sizeof o->model);
		mt_take_num(d, n, "usageMetadata.promptTokenCount", &o->prompt);
		mt_take_num(d, n, "usageMetadata.candidatesTokenCount", &o->completion);
		break;
	case MT_OLLAMA:
		if (js_str(d, n, "error", o->error, sizeof o->error))
			o->errors++;
		js_str(d, n, "message.content", o->text, sizeof o->text);
		js_str(d, n, "message.tool_calls.0.function.name", o->tool, sizeof o->tool);
		if (!o->args[0])
			js_raw(d, n, "message.tool_calls.0.function.arguments", o->args, sizeof o->args);
		js_set(d, n, "model", o->model, sizeof o->model);
		if (js_is(d, n, "done", "true")) {
			o->terminated = true;
			js_str(d, n, "done_reason", o->finish, sizeof o->finish);
			mt_take_num(d, n, "prompt_eval_count", &o->prompt);
			mt_take_num(d, n, "eval_count", &o->completion);
		}
		break;
	case MT_NFMT:
		break;
	}
	if ((int)(strlen(o->text) + strlen(o->args)) > before)
		o->chunks++;
}

/* Split an SSE body (LF or CRLF lines) into events and feed them. */
static void mt_sse(enum mt_fmt f, const char *s, size_t n, struct mt_out *o)
{
	char name[64] = "", *data = malloc(n + 1);
	size_t dn = 0;
	bool have = false;
	cr_assert(data);
	for (size_t i = 0; i < n;) {
		const char *lf = memchr(s + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - s) : n, next = lf ? end + 1 : n;
		size_t le = end > i && s[end - 1] == '\r' ? end - 1 : end;
		if (le == i) {
			if (have)
				mt_event(f, name[0] ? name : "message", data, dn, o);
			name[0] = 0;
			dn = 0;
			have = false;
		} else if (le - i >= 5 && !memcmp(s + i, "data:", 5)) {
			size_t v = i + 5 + (le - i > 5 && s[i + 5] == ' ');
			if (have)
				data[dn++] = '\n';
			memcpy(data + dn, s + v, le - v);
			dn += le - v;
			have = true;
		} else if (le - i >= 6 && !memcmp(s + i, "event:", 6)) {
			size_t v = i + 6 + (le - i > 6 && s[i + 6] == ' ');
			snprintf(name, sizeof name, "%.*s", (int)(le - v), s + v);
		}
		i = next;
	}
	free(data);
}

static void mt_ndjson(enum mt_fmt f, const char *s, size_t n, struct mt_out *o)
{
	for (size_t i = 0; i < n;) {
		const char *lf = memchr(s + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - s) : n;
		if (end > i)
			mt_event(f, NULL, s + i, end - i, o);
		i = end + 1;
	}
}

/* Assemble whatever body r holds in format f. */
static void mt_collect(enum mt_fmt f, bool stream, const struct mt_resp *r, struct mt_out *o)
{
	mt_out_init(o);
	if (!stream || r->status != 200)
		mt_event(f, NULL, r->body ? r->body : "", r->body_len, o);
	else if (f == MT_OLLAMA)
		mt_ndjson(f, r->body, r->body_len, o);
	else
		mt_sse(f, r->body, r->body_len, o);
}

/* A request body for format f with one user message. */
static void mt_body(enum mt_fmt f, const char *model, const char *text, bool stream, char *out, size_t cap)
{
	switch (f) {
	case MT_OPENAI:
		snprintf(out, cap,
			 "{\"model\":\"%s\",\"stream\":%s,\"stream_options\":{\"include_usage\":true},"
			 "\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
			 "{\"role\":\"user\",\"content\":\"%s\"}]}",
			 model, stream ? "true" : "false", text);
		break;
	case MT_ANTHROPIC:
		snprintf(out, cap,
			 "{\"model\":\"%s\",\"max_tokens\":256,\"stream\":%s,\"system\":\"be brief\","
			 "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"%s\"}]}]}",
			 model, stream ? "true" : "false", text);
		break;
	case MT_GEMINI:
		snprintf(out, cap,
			 "{\"systemInstruction\":{\"parts\":[{\"text\":\"be brief\"}]},"
			 "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"%s\"}]}]}",
			 text);
		break;
	default:
		snprintf(out, cap,
			 "{\"model\":\"%s\",\"stream\":%s,\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
			 "{\"role\":\"user\",\"content\":\"%s\"}]}",
			 model, stream ? "true" : "false", text);
		break;
	}
}

static void mt_path(enum mt_fmt f, const char *model, bool stream, char *out, size_t cap)
{
	switch (f) {
	case MT_OPENAI: snprintf(out, cap, "/v1/chat/completions"); break;
	case MT_ANTHROPIC: snprintf(out, cap, "/v1/messages"); break;
	case MT_GEMINI:
		snprintf(out, cap, "/v1beta/models/%s:%s", model,
			 stream ? "streamGenerateContent?alt=sse" : "generateContent");
		break;
	default: snprintf(out, cap, "/api/chat"); break;
	}
}

/* Send one chat request of format f on c (xmock: x-mock value or NULL). */
static void mt_chat_send(struct mt_conn *c, enum mt_fmt f, const char *model, const char *text,
			 bool stream, const char *xmock)
{
	char body[2048], path[256], extra[512] = "";
	mt_body(f, model, text, stream, body, sizeof body);
	mt_path(f, model, stream, path, sizeof path);
	if (xmock)
		snprintf(extra, sizeof extra, "x-mock: %s\r\n", xmock);
	mt_request(c, "POST", path, extra, body);
}

/* One request on a fresh connection, read and assembled. */
static void mt_chat(const struct mt_srv *s, enum mt_fmt f, const char *model, const char *text,
		    bool stream, const char *xmock, struct mt_resp *r, struct mt_out *o)
{
	struct mt_conn c;
	mt_connect(&c, s);
	mt_chat_send(&c, f, model, text, stream, xmock);
	mt_read(&c, r);
	mt_close(&c);
	mt_collect(f, stream, r, o);
}

/* ---- /stats ----------------------------------------------------------------- */

static long mt_stat(const struct mt_srv *s, const char *path)
{
	struct mt_conn c;
	struct mt_resp r;
	mt_connect(&c, s);
	mt_request(&c, "GET", "/stats", NULL, NULL);
	mt_read(&c, &r);
	mt_close(&c);
	cr_assert(r.status == 200 && r.complete, "GET /stats: %d", r.status);
	cr_assert(js_valid(r.body, r.body_len), "/stats is not JSON: %s", r.body);
	long v = js_num(r.body, r.body_len, path);
	cr_assert(v >= 0, "/stats has no %s: %s", path, r.body);
	mt_resp_free(&r);
	return v;
}

static void mt_reset(const struct mt_srv *s)
{
	struct mt_conn c;
	struct mt_resp r;
	mt_connect(&c, s);
	mt_request(&c, "POST", "/reset", NULL, NULL);
	mt_read(&c, &r);
	mt_close(&c);
	cr_assert_eq(r.status, 200);
	mt_resp_free(&r);
}

/* Wait (bounded) until a counter reaches want; the counters of a closed
 * connection move when the server notices, not when the client closes. */
static void mt_wait_stat(const struct mt_srv *s, const char *path, long want)
{
	uint64_t end = mt_now_ms() + MT_WAIT_MS;
	long v;
	while ((v = mt_stat(s, path)) != want && mt_now_ms() < end)
		mt_sleep_ms(5);
	cr_assert_eq(v, want, "%s is %ld, want %ld", path, v, want);
}

/* ---- tests ------------------------------------------------------------------ */

/* The words of "alpha beta gamma" plus "be brief" in the system prompt. */
#define MT_PROMPT "alpha beta gamma"
#define MT_PROMPT_TOKENS 5

Test(mockllm, test_every_format_streams_the_echoed_words)
{
	struct mt_srv s;
	mt_start(&s);
	for (int f = 0; f < MT_NFMT; f++) {
		struct mt_resp r;
		struct mt_out o;
		mt_chat(&s, f, "m-1", MT_PROMPT, true, NULL, &r, &o);
		const char *fn = mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s: status %d", fn, r.status);
		cr_assert(r.complete, "%s: body not terminated (end %d)", fn, r.end);
		cr_assert_str_eq(o.text, MT_PROMPT, "%s", fn);
		cr_assert_eq(o.chunks, 3, "%s: %d content chunks", fn, o.chunks);
		cr_assert_str_eq(o.finish, mt_finish_text[f], "%s", fn);
		cr_assert(o.terminated, "%s: no terminator", fn);
		cr_assert_eq(o.prompt, MT_PROMPT_TOKENS, "%s: prompt tokens", fn);
		cr_assert_eq(o.completion, 3, "%s: completion tokens", fn);
		cr_assert_str_eq(o.model, "m-1", "%s", fn);
		cr_assert_eq(o.bad_json + o.errors, 0, "%s", fn);
		char ct[64];
		cr_assert(mt_header(&r, "content-type", ct, sizeof ct), "%s", fn);
		cr_assert(strstr(ct, f == MT_OLLAMA ? "application/x-ndjson" : "text/event-stream"), "%s: %s", fn, ct);
		if (f == MT_OPENAI)
			cr_assert(o.role_first, "openai: the first chunk is not the role chunk");
		mt_resp_free(&r);
	}
	mt_stop(&s);
}

Test(mockllm, test_every_format_answers_whole_without_stream)
{
	struct mt_srv s;
	mt_start(&s);
	for (int f = 0; f < MT_NFMT; f++) {
		struct mt_resp r;
		struct mt_out o;
		mt_chat(&s, f, "m-2", MT_PROMPT, false, NULL, &r, &o);
		const char *fn = mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s: status %d", fn, r.status);
		char v[64];
		cr_assert(mt_header(&r, "content-length", v, sizeof v), "%s: no content-length", fn);
		cr_assert(mt_header(&r, "content-type", v, sizeof v) && strstr(v, "application/json"), "%s", fn);
		cr_assert(r.complete && js_valid(r.body, r.body_len), "%s: %s", fn, r.body);
		cr_assert_str_eq(o.text, MT_PROMPT, "%s", fn);
		cr_assert_str_eq(o.finish, mt_finish_text[f], "%s", fn);
		cr_assert_eq(o.prompt, MT_PROMPT_TOKENS, "%s", fn);
		cr_assert_eq(o.completion, 3, "%s", fn);
		mt_resp_free(&r);
	}
	mt_stop(&s);
}

Test(mockllm, test_gemini_without_alt_sse_streams_a_json_array)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	mt_connect(&c, &s);
	mt_request(&c, "POST", "/v1beta/models/g-1:streamGenerateContent", NULL,
		   "{\"contents\":[{\"parts\":[{\"text\":\"one two\"}]}]}");
	mt_read(&c, &r);
	mt_close(&c);
	cr_assert(r.status == 200 && r.complete);
	cr_assert(js_valid(r.body, r.body_len), "not one JSON array: %s", r.body);
	struct mt_out o;
	mt_out_init(&o);
	for (int i = 0; i < 2; i++) {
		char path[8];
		const char *v;
		size_t vn;
		snprintf(path, sizeof path, "%d", i);
		cr_assert(js_at(r.body, r.body_len, path, &v, &vn));
		mt_event(MT_GEMINI, NULL, v, vn, &o);
	}
	cr_assert_str_eq(o.text, "one two");
	cr_assert_str_eq(o.finish, "STOP");
	mt_resp_free(&r);
	mt_stop(&s);
}

Test(mockllm, test_keep_alive_and_pipelining_on_one_connection)
{
	struct mt_srv s;
	mt_start(&s);
	mt_reset(&s);
	struct mt_conn c;
	struct mt_resp r;
	struct mt_out o;
	mt_connect(&c, &s);
	/* Two requests one after the other... */
	for (int i = 0; i < 2; i++) {
		mt_chat_send(&c, MT_OPENAI, "m", i ? "second request" : "first", true, NULL);
		mt_read(&c, &r);
		mt_collect(MT_OPENAI, true, &r, &o);
		cr_assert(r.complete && o.terminated);
		cr_assert_str_eq(o.text, i ? "second request" : "first");
		mt_resp_free(&r);
	}
	/* ... then three in one write: answered in order. */
	char body[3][1024], all[4096] = "";
	const char *words[3] = { "one", "two words", "three little words" };
	for (int i = 0; i < 3; i++) {
		mt_body(MT_OLLAMA, "m", words[i], i != 1, body[i], sizeof body[i]);
		size_t n = strlen(all);
		snprintf(all + n, sizeof all - n, "POST /api/chat HTTP/1.1\r\nhost: x\r\ncontent-length: %zu\r\n\r\n%s",
			 strlen(body[i]), body[i]);
	}
	mt_send(&c, all, strlen(all));
	for (int i = 0; i < 3; i++) {
		mt_read(&c, &r);
		mt_collect(MT_OLLAMA, i != 1, &r, &o);
		cr_assert(r.complete && o.terminated, "pipelined reply %d", i);
		cr_assert_str_eq(o.text, words[i]);
		mt_resp_free(&r);
	}
	mt_close(&c);
	/* One connection for five requests, plus this /stats connection. */
	cr_assert_eq(mt_stat(&s, "connections_accepted"), 2);
	cr_assert_eq(mt_stat(&s, "requests_total"), 5);
	cr_assert_eq(mt_stat(&s, "requests_by_format.openai"), 2);
	cr_assert_eq(mt_stat(&s, "requests_by_format.ollama"), 3);
	cr_assert_eq(mt_stat(&s, "streams_completed"), 4);
	cr_assert_eq(mt_stat(&s, "responses_completed"), 1);
	cr_assert(mt_stat(&s, "bytes_sent") > 0);
	mt_stop(&s);
}

Test(mockllm, test_connection_close_is_honoured)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	mt_connect(&c, &s);
	mt_request(&c, "POST", "/v1/chat/completions", "connection: close\r\n",
		   "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"bye\"}]}");
	mt_read(&c, &r);
	char v[32];
	cr_assert(r.status == 200 && r.complete);
	cr_assert(mt_header(&r, "connection", v, sizeof v) && !strcmp(v, "close"));
	mt_resp_free(&r);
	/* Then the server closes: EOF, not more data. */
	mt_read(&c, &r);
	cr_assert_eq(r.end, 1, "expected EOF, got end %d status %d", r.end, r.status);
	mt_resp_free(&r);
	mt_close(&c);
	mt_stop(&s);
}

Test(mockllm, test_status_knob_uses_each_providers_error_shape)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_resp r;
	struct mt_out o;
	char v[64];

	mt_chat(&s, MT_OPENAI, "m", "x", true, "status=429,retry_after=7,retry_after_ms=6500", &r, &o);
	cr_assert_eq(r.status, 429);
	cr_assert(mt_header(&r, "retry-after", v, sizeof v) && !strcmp(v, "7"));
	cr_assert(mt_header(&r, "retry-after-ms", v, sizeof v) && !strcmp(v, "6500"));
	cr_assert_str_eq(o.error, "requests");
	cr_assert(js_set(r.body, r.body_len, "error.code", v, sizeof v) && !strcmp(v, "rate_limit_exceeded"));
	cr_assert(js_set(r.body, r.body_len, "error.message", v, sizeof v));
	cr_assert(js_is(r.body, r.body_len, "error.param", "null"));
	mt_resp_free(&r);

	mt_chat(&s, MT_ANTHROPIC, "m", "x", true, "status=529", &r, &o);
	cr_assert_eq(r.status, 529);
	cr_assert_str_eq(o.error, "overloaded_error");
	cr_assert(js_set(r.body, r.body_len, "type", v, sizeof v) && !strcmp(v, "error"));
	mt_resp_free(&r);
	mt_chat(&s, MT_ANTHROPIC, "m", "x", false, "status=429", &r, &o);
	cr_assert_str_eq(o.error, "rate_limit_error");
	mt_resp_free(&r);

	mt_chat(&s, MT_GEMINI, "g", "x", true, "status=503", &r, &o);
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(o.error, "UNAVAILABLE");
	cr_assert_eq(js_num(r.body, r.body_len, "error.code"), 503);
	mt_resp_free(&r);

	mt_chat(&s, MT_OLLAMA, "m", "x", true, "status=500", &r, &o);
	cr_assert_eq(r.status, 500);
	cr_assert(o.errors == 1 && o.error[0], "ollama error body: %s", r.body);
	mt_resp_free(&r);

	cr_assert_eq(mt_stat(&s, "faults_injected.status"), 5);
	mt_stop(&s);
}

Test(mockllm, test_reset_after_resets_without_terminator)
{
	struct mt_srv s;
	mt_start(&s);
	for (int f = 0; f < MT_NFMT; f++) {
		struct mt_resp r;
		struct mt_out o;
		mt_chat(&s, f, "m", "a b c d e", true, "reset_after=2", &r, &o);
		const char *fn = mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s", fn);
		cr_assert(!r.complete, "%s: the body ended cleanly", fn);
		cr_assert_eq(r.end, -ECONNRESET, "%s: ended with %d, not a reset", fn, r.end);
		cr_assert_str_eq(o.text, "a b", "%s", fn);
		cr_assert(!o.terminated, "%s: terminator sent", fn);
		mt_resp_free(&r);
	}
	cr_assert_eq(mt_stat(&s, "faults_injected.reset_after"), 4);
	cr_assert_eq(mt_stat(&s, "requests_cancelled"), 0);
	mt_stop(&s);
}

Test(mockllm, test_stall_after_goes_silent_and_counts_the_cancel)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	struct mt_out o;
	mt_connect(&c, &s);
	mt_chat_send(&c, MT_OPENAI, "m@stall_after=2", "a b c d e", true, NULL);
	/* The role chunk and two content chunks. */
	mt_read_until(&c, &r, "data: ", 3);
	mt_collect(MT_OPENAI, true, &r, &o);
	cr_assert_str_eq(o.text, "a b");
	struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, MT_SILENT_MS), 0, "bytes after the stall");
	cr_assert_eq(mt_stat(&s, "faults_injected.stall_after"), 1);
	cr_assert_eq(mt_stat(&s, "requests_cancelled"), 0);
	mt_resp_free(&r);
	mt_close(&c);
	mt_wait_stat(&s, "requests_cancelled", 1);
	cr_assert_eq(mt_stat(&s, "streams_completed"), 0);
	mt_stop(&s);
}

Test(mockllm, test_client_leaving_a_paced_stream_cancels_it)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	mt_connect(&c, &s);
	/* 1000 tokens 20 ms apart: the client leaves after the first. */
	mt_chat_send(&c, MT_ANTHROPIC, "m", "w", true, "tokens=1000,itl_us=20000");
	mt_read_until(&c, &r, "content_block_delta", 1);
	cr_assert_eq(r.status, 200);
	mt_resp_free(&r);
	mt_close(&c);
	mt_wait_stat(&s, "requests_cancelled", 1);
	cr_assert_eq(mt_stat(&s, "connections_open"), 1); /* the /stats one */
	/* The cancelled stream's timer is gone: the server still serves. */
	struct mt_out o;
	mt_chat(&s, MT_ANTHROPIC, "m", "still here", true, NULL, &r, &o);
	cr_assert_str_eq(o.text, "still here");
	mt_resp_free(&r);
	mt_stop(&s);
}

Test(mockllm, test_malformed_after_sends_one_bad_event_then_continues)
{
	struct mt_srv s;
	mt_start(&s);
	for (int f = 0; f < MT_NFMT; f++) {
		struct mt_resp r;
		struct mt_out o;
		mt_chat(&s, f, "m", "a b c d", true, "malformed_after=2", &r, &o);
		const char *fn = mt_fmt_names[f];
		cr_assert(r.complete, "%s", fn);
		cr_assert_eq(o.bad_json, 1, "%s: %d malformed events", fn, o.bad_json);
		cr_assert_str_eq(o.text, "a b c d", "%s", fn);
		cr_assert(o.terminated, "%s", fn);
		mt_resp_free(&r);
	}
	cr_assert_eq(mt_stat(&s, "faults_injected.malformed_after"), 4);
	mt_stop(&s);
}

Test(mockllm, test_error_after_sends_the_providers_error_event)
{
	static const char *const want[MT_NFMT] = { "server_error", "overloaded_error", "INTERNAL", "" };
	struct mt_srv s;
	mt_start(&s);
	for (int f = 0; f < MT_NFMT; f++) {
		struct mt_resp r;
		struct mt_out o;
		mt_chat(&s, f, "m", "a b c d", true, "error_after=2", &r, &o);
		const char *fn = mt_fmt_names[f];
		cr_assert_eq(r.status, 200, "%s", fn);
		cr_assert_str_eq(o.text, "a b", "%s", fn);
		cr_assert_eq(o.errors, 1, "%s: %d error events in %s", fn, o.errors, r.body);
		if (want[f][0])
			cr_assert_str_eq(o.error, want[f], "%s", fn);
		cr_assert(!o.terminated, "%s: a terminator after the error", fn);
		mt_resp_free(&r);
	}
	cr_assert_eq(mt_stat(&s, "faults_injected.error_after"), 4);
	mt_stop(&s);
}

Test(mockllm, test_tool_knob_replies_with_a_tool_call)
{
	struct mt_srv s;
	mt_start(&s);
	for (int stream = 0; stream < 2; stream++) {
		for (int f = 0; f < MT_NFMT; f++) {
			struct mt_resp r;
			struct mt_out o;
			mt_chat(&s, f, "m", "find \\\"the\\\" weather", stream, "tool=get_weather", &r, &o);
			const char *fn = mt_fmt_names[f];
			cr_assert(r.status == 200 && r.complete, "%s", fn);
			cr_assert_str_eq(o.tool, "get_weather", "%s stream=%d", fn, stream);
			cr_assert_str_eq(o.args, "{\"text\":\"find \\\"the\\\" weather\"}", "%s stream=%d", fn, stream);
			cr_assert(js_valid(o.args, strlen(o.args)), "%s", fn);
			cr_assert_str_eq(o.finish, mt_finish_tool[f], "%s stream=%d", fn, stream);
			cr_assert_str_eq(o.text, "", "%s", fn);
			if (f == MT_OPENAI)
				cr_assert_str_eq(o.tool_id, "call_mock_0");
			/* OpenAI and Anthropic stream the arguments in pieces. */
			if (stream && (f == MT_OPENAI || f == MT_ANTHROPIC))
				cr_assert_eq(o.chunks, 3, "%s: %d argument fragments", fn, o.chunks);
			mt_resp_free(&r);
		}
	}
	mt_stop(&s);
}

Test(mockllm, test_tokens_knob_cycles_the_words)
{
	struct mt_srv s;
	mt_start(&s);
	for (int f = 0; f < MT_NFMT; f++) {
		struct mt_resp r;
		struct mt_out o;
		mt_chat(&s, f, "m", "red green", true, "tokens=5", &r, &o);
		cr_assert_str_eq(o.text, "red green red green red", "%s", mt_fmt_names[f]);
		cr_assert_eq(o.completion, 5, "%s", mt_fmt_names[f]);
		cr_assert_eq(o.chunks, 5, "%s", mt_fmt_names[f]);
		mt_resp_free(&r);
	}
	mt_stop(&s);
}

Test(mockllm, test_model_suffix_carries_knobs)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_resp r;
	struct mt_out o;
	/* In the body's model name, with pacing knobs (correct, not timed). */
	mt_chat(&s, MT_OPENAI, "gpt-x@tokens=4,ttft_us=1000,itl_us=500,slow_headers_us=100", "one two", true,
		NULL, &r, &o);
	cr_assert_str_eq(o.text, "one two one two");
	cr_assert_str_eq(o.model, "gpt-x");
	mt_resp_free(&r);
	/* In Gemini's URL path, percent-encoded as clients do. */
	mt_chat(&s, MT_GEMINI, "gemini-x%40tokens%3D3", "one two", true, NULL, &r, &o);
	cr_assert_str_eq(o.text, "one two one");
	cr_assert_str_eq(o.model, "gemini-x");
	mt_resp_free(&r);
	/* The suffix wins over the header; an '@' without '=' is a name. */
	mt_chat(&s, MT_OLLAMA, "claude@20240620@tokens=1", "one two", false, "tokens=2", &r, &o);
	cr_assert_str_eq(o.text, "one");
	cr_assert_str_eq(o.model, "claude@20240620");
	mt_resp_free(&r);
	/* A bad knob is a 400 in the provider's shape, not a silent default. */
	mt_chat(&s, MT_ANTHROPIC, "m@tokenz=3", "x", true, NULL, &r, &o);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(o.error, "invalid_request_error");
	mt_resp_free(&r);
	mt_stop(&s);
}

Test(mockllm, test_azure_deployment_path_is_openai)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	struct mt_out o;
	mt_connect(&c, &s);
	mt_request(&c, "POST", "/openai/deployments/dep-1@tokens=2/chat/completions?api-version=2024-10-21", NULL,
		   "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x y z\"}]}");
	mt_read(&c, &r);
	mt_close(&c);
	mt_collect(MT_OPENAI, true, &r, &o);
	cr_assert(o.terminated);
	cr_assert_str_eq(o.text, "x y");
	cr_assert_str_eq(o.model, "dep-1");
	mt_resp_free(&r);
	mt_stop(&s);
}

Test(mockllm, test_fail_pct_is_deterministic_by_request_counter)
{
	struct mt_srv s;
	mt_start(&s);
	char pattern[2][41];
	for (int run = 0; run < 2; run++) {
		mt_reset(&s);
		for (int i = 0; i < 40; i++) {
			struct mt_resp r;
			struct mt_out o;
			mt_chat(&s, MT_OPENAI, "m@fail_pct=50,seed=7,status=503", "x", false, NULL, &r, &o);
			cr_assert(r.status == 200 || r.status == 503, "status %d", r.status);
			pattern[run][i] = r.status == 200 ? '.' : 'F';
			mt_resp_free(&r);
		}
		pattern[run][40] = 0;
	}
	cr_assert_str_eq(pattern[0], pattern[1]);
	long failed = mt_stat(&s, "faults_injected.fail_pct");
	cr_assert(failed > 0 && failed < 40, "%ld of 40 failed: %s", failed, pattern[0]);
	cr_assert_eq(failed, (long)mt_count(pattern[1], 40, "F"));
	mt_stop(&s);
}

Test(mockllm, test_bad_requests_get_json_errors)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	char v[64];
	/* Unknown path: 404 with a JSON body, connection kept. */
	mt_connect(&c, &s);
	mt_request(&c, "GET", "/v2/nothing", NULL, NULL);
	mt_read(&c, &r);
	cr_assert_eq(r.status, 404);
	cr_assert(js_valid(r.body, r.body_len) && js_set(r.body, r.body_len, "error.message", v, sizeof v));
	mt_resp_free(&r);
	/* Not JSON: 400 in the provider's shape. */
	mt_request(&c, "POST", "/v1/chat/completions", NULL, "{not json");
	mt_read(&c, &r);
	cr_assert_eq(r.status, 400);
	cr_assert(js_set(r.body, r.body_len, "error.type", v, sizeof v) &&
		  !strcmp(v, "invalid_request_error"));
	mt_resp_free(&r);
	/* A chunked request body: 411, then the connection closes. */
	static const char chunked[] = "POST /api/chat HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
				      "2\r\n{}\r\n0\r\n\r\n";
	mt_send(&c, chunked, sizeof chunked - 1);
	mt_read(&c, &r);
	cr_assert_eq(r.status, 411);
	mt_resp_free(&r);
	mt_read(&c, &r);
	cr_assert_eq(r.end, 1, "connection not closed after 411");
	mt_resp_free(&r);
	mt_close(&c);
	cr_assert_eq(mt_stat(&s, "requests_other"), 2);
	cr_assert_eq(mt_stat(&s, "requests_total"), 1);
	mt_stop(&s);
}

Test(mockllm, test_expect_100_continue_gets_an_interim_response)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	struct mt_out o;
	static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"late body\"}]}";
	char head[256];
	snprintf(head, sizeof head,
		 "POST /api/chat HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: %zu\r\n\r\n",
		 sizeof body - 1);
	mt_connect(&c, &s);
	mt_send(&c, head, strlen(head));
	uint64_t deadline = mt_now_ms() + MT_WAIT_MS;
	while (!(c.len && memmem(c.buf, c.len, "\r\n\r\n", 4)))
		cr_assert(mt_fill(&c, deadline) > 0, "no 100 Continue");
	cr_assert(!strncmp(c.buf, "HTTP/1.1 100 ", 13), "got: %.*s", (int)c.len, c.buf);
	mt_send(&c, body, sizeof body - 1);
	mt_read(&c, &r);
	mt_collect(MT_OLLAMA, true, &r, &o);
	cr_assert_str_eq(o.text, "late body");
	mt_resp_free(&r);
	mt_close(&c);
	mt_stop(&s);
}

Test(mockllm, test_sigterm_and_sigint_exit_zero_with_streams_open)
{
	int sigs[2] = { SIGTERM, SIGINT };
	for (int i = 0; i < 2; i++) {
		struct mt_srv s;
		mt_start(&s);
		struct mt_conn c;
		struct mt_resp r;
		mt_connect(&c, &s);
		mt_chat_send(&c, MT_GEMINI, "g@stall_after=1", "a b c", true, NULL);
		mt_read_until(&c, &r, "data: ", 1);
		mt_resp_free(&r);
		cr_assert(kill(s.pid, sigs[i]) == 0);
		int st = mt_reap(&s);
		cr_assert(st != -1, "no exit after signal %d", sigs[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "signal %d: status 0x%x", sigs[i], st);
		mt_close(&c);
	}
}

Test(mockllm, test_http10_stream_is_raw_and_ends_with_close)
{
	struct mt_srv s;
	mt_start(&s);
	struct mt_conn c;
	struct mt_resp r;
	struct mt_out o;
	static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"old client\"}]}";
	char head[256];
	snprintf(head, sizeof head, "POST /api/chat HTTP/1.0\r\ncontent-length: %zu\r\n\r\n", sizeof body - 1);
	mt_connect(&c, &s);
	mt_send(&c, head, strlen(head));
	mt_send(&c, body, sizeof body - 1);
	mt_read(&c, &r);
	char v[32];
	cr_assert_eq(r.status, 200);
	cr_assert(!mt_header(&r, "transfer-encoding", v, sizeof v), "chunked answer to HTTP/1.0");
	cr_assert_eq(r.end, 1, "the body must end with the connection");
	mt_collect(MT_OLLAMA, true, &r, &o);
	cr_assert(o.terminated);
	cr_assert_str_eq(o.text, "old client");
	mt_resp_free(&r);
	mt_close(&c);
	mt_stop(&s);
}

Test(mockllm, test_threads_share_the_port_and_the_counters)
{
	struct mt_srv s;
	mt_start_threads(&s, 2);
	for (int i = 0; i < 8; i++) {
		struct mt_resp r;
		struct mt_out o;
		mt_chat(&s, i % MT_NFMT, "m", "spread me", true, NULL, &r, &o);
		cr_assert_str_eq(o.text, "spread me");
		mt_resp_free(&r);
	}
	/* Counters are summed over both workers. */
	cr_assert_eq(mt_stat(&s, "requests_total"), 8);
	cr_assert_eq(mt_stat(&s, "streams_completed"), 8);
	cr_assert_eq(mt_stat(&s, "connections_accepted"), 11);
	mt_reset(&s);
	cr_assert_eq(mt_stat(&s, "requests_total"), 0);
	mt_stop(&s);
}
