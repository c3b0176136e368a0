/*
 * mode_direct.c — "direct": the application talks to mockllm itself, as it
 * would with no gateway: libcurl, warm keep-alive HTTP/1.1 connections, one
 * per request in flight. "shm" is read against it, so it costs what a
 * careful libcurl application costs: nothing allocated per request, no
 * spinning, no polling tick.
 *
 * Slot i uses easy handle i, its options set once at open (setting the URL
 * per request would copy it each time). Connections live in the multi
 * handle's cache, sized max_inflight, so requests find a warm one. The
 * multi_socket API names the sockets and the timer; we sleep on them in
 * our epoll set with epoll_pwait2, whose nanosecond timeout keeps the open
 * loop's deadlines (main.c sets the timer slack to 1 ns). Before Linux 5.11
 * epoll_wait's millisecond timeout, rounded down so no deadline is
 * overslept, re-polls through the last millisecond before one.
 *
 * The reply is OpenAI's SSE stream (bench/mockllm/fmt_openai.c). A byte
 * state machine per handle, blind to how libcurl splits the body, counts
 * each event with a non-empty "content" as one chunk and a line opening
 * with `data: [DONE]` as the clean end.
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "rb_mode.h"

#define MD_MAX_EVENTS 64    /* per epoll call; the rest come with the next */
#define MD_NEVER UINT64_MAX /* no timer, no deadline */
#define MD_NS_PER_MS 1000000u

/* A delta's content key and the quote opening its value, as fmt_openai.c
 * writes it; the byte after it is '"' only for empty content. Quotes inside
 * JSON strings are escaped, so the marker cannot match inside a word; and
 * since a closing quote is never followed by 'c', a failed partial match
 * can only hide a new one at the '"' that broke it: no KMP table needed. */
static const char md_mark[] = "\"content\":\"";
#define MD_MARK_LEN (sizeof md_mark - 1)
static const char md_done[] = "data: [DONE]";
#define MD_DONE_LEN (sizeof md_done - 1)
#define MD_LINE_OFF 0xff /* this line is not md_done (> MD_DONE_LEN) */

struct md_state;

struct md_req {
	CURL *easy;
	struct md_state *st;
	uint32_t slot;
	uint8_t busy;
	/* The stream scanner; start() zeroes it. */
	uint8_t mark;    /* bytes of md_mark matched; all of it: the next byte tells if empty */
	uint8_t counted; /* this event's chunk is reported */
	uint8_t lpos;    /* bytes of md_done this line opens with; MD_LINE_OFF: not it */
	uint8_t done;    /* data: [DONE] seen */
	char err[CURL_ERROR_SIZE]; /* libcurl's words for a failure */
};

struct md_state {
	struct rb_sink sink;
	CURLM *multi;
	struct curl_slist *hdrs;
	int ep;
	int no_pwait2;     /* epoll_pwait2 said ENOSYS once: do not ask again */
	int global;        /* curl_global_init succeeded (it counts its callers) */
	uint64_t timer_ns; /* libcurl's timer, absolute; MD_NEVER when none */
	uint64_t events;   /* chunks and ends delivered: wait watches it move */
	uint32_t max;
	struct md_req req[];
};

/* The write callback. Its state lives in r between calls, so an event (or
 * the marker, or [DONE]) split at any byte is seen whole. */
static size_t md_write(char *p, size_t size, size_t n, void *ud)
{
	struct md_req *r = ud;
	size_t len = size * n;
	/* Locals, so the loop runs in registers (on_chunk might alias r). */
	unsigned mark = r->mark, lpos = r->lpos, counted = r->counted;
	uint64_t now = 0;
	for (size_t i = 0; i < len; i++) {
		/* Nothing pending: only a quote or a line's end can matter. */
		if (!mark && lpos >= MD_DONE_LEN)
			while (i < len - 1 && p[i] != '"' && p[i] != '\n')
				i++;
		char c = p[i];
		if (c == '\n') {
			if (!lpos)
				counted = 0; /* a blank line ends the event */
			lpos = mark = 0;
			continue;
		}
		if (c == '\r')
			continue; /* CRLF framing is SSE too */
		if (lpos < MD_DONE_LEN) {
			lpos = c == md_done[lpos] ? lpos + 1 : MD_LINE_OFF;
			if (lpos == MD_DONE_LEN)
				r->done = 1;
		}
		if (mark == MD_MARK_LEN) {
			mark = 0;
			if (c != '"' && !counted) {
				counted = 1;
				if (!now)
					now = rb_now_ns();
				r->st->sink.on_chunk(r->st->sink.arg, r->slot, now);
				r->st->events++;
			}
		}
		mark = c == md_mark[mark] ? mark + 1 : c == '"';
	}
	r->mark = (uint8_t)mark;
	r->lpos = (uint8_t)lpos;
	r->counted = (uint8_t)counted;
	return len;
}

/* libcurl: watch fd for `what`; its assigned pointer says it is in our set. */
static int md_sock(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct md_state *st = userp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		/* Said before fd is closed; failing, fd had left the set. */
		epoll_ctl(st->ep, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(st->multi, fd, NULL);
		return 0;
	}
	struct epoll_event ev = { .events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
					   ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u),
				  .data.fd = fd };
	if (epoll_ctl(st->ep, sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
		fprintf(stderr, "ringside-bench: direct: epoll_ctl: %s\n", strerror(errno));
		return -1;
	}
	curl_multi_assign(st->multi, fd, st);
	return 0;
}

/* libcurl: act in ms milliseconds (-1: never); not from in here. */
static int md_timer(CURLM *multi, long ms, void *userp)
{
	struct md_state *st = userp;
	(void)multi;
	st->timer_ns = ms < 0 ? MD_NEVER : rb_now_ns() + (uint64_t)ms * MD_NS_PER_MS;
	return 0;
}

static int md_act(struct md_state *st, curl_socket_t fd, int mask)
{
	int running;
	/* One-shot: libcurl re-arms it if needed, but after a timeout action
	 * it does not say -1 when it needs none (it would spin us). */
	if (fd == CURL_SOCKET_TIMEOUT)
		st->timer_ns = MD_NEVER;
	CURLMcode mc = curl_multi_socket_action(st->multi, fd, mask, &running);
	if (mc == CURLM_OK)
		return 0;
	fprintf(stderr, "ringside-bench: direct: curl_multi_socket_action: %s\n",
		curl_multi_strerror(mc));
	return -1;
}

/* End every finished transfer and put its handle back for reuse. */
static void md_reap(struct md_state *st)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(st->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		uint64_t now = rb_now_ns();
		/* m dies with remove_handle: copy what we need first. */
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		char *priv = NULL;
		long status = 0;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		struct md_req *r = (struct md_req *)priv;
		curl_multi_remove_handle(st->multi, easy);
		r->busy = 0;
		int ok = rc == CURLE_OK && status == 200 && r->done;
		if (!ok)
			fprintf(stderr, "ringside-bench: direct: slot %u: %s (HTTP %ld)\n", r->slot,
				rc != CURLE_OK ? (r->err[0] ? r->err : curl_easy_strerror(rc))
				: status != 200 ? "unexpected status"
						: "stream ended without data: [DONE]", status);
		st->sink.on_end(st->sink.arg, r->slot, now, ok);
		st->events++;
	}
}

/* Sleep until a socket is ready or until_ns. How many, or -1. */
static int md_poll(struct md_state *st, struct epoll_event *evs, uint64_t until_ns)
{
	struct timespec ts, *tsp = NULL;
	uint64_t left = 0;
	if (until_ns != MD_NEVER) {
		uint64_t now = rb_now_ns();
		left = until_ns > now ? until_ns - now : 0;
		ts = (struct timespec){ (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
		tsp = &ts;
	}
	int n = -1;
	if (!st->no_pwait2) {
		n = epoll_pwait2(st->ep, evs, MD_MAX_EVENTS, tsp, NULL);
		if (n < 0 && errno == ENOSYS)
			st->no_pwait2 = 1;
	}
	if (st->no_pwait2) {
		/* Down: an early wake costs a re-poll, a late one the schedule. */
		uint64_t ms = left / MD_NS_PER_MS;
		n = epoll_wait(st->ep, evs, MD_MAX_EVENTS,
			       !tsp ? -1 : ms > INT_MAX ? INT_MAX : (int)ms);
	}
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0)
		fprintf(stderr, "ringside-bench: direct: epoll_wait: %s\n", strerror(errno));
	return n;
}

/* Returns once something was delivered and nothing more is ready, or at
 * deadline_ns. A deadline already passed (the runner is behind) still gets
 * one look at what is ready, but no more sweeps, so starts wait for no
 * stream of arrivals. */
static int md_wait(void *vst, uint64_t deadline_ns)
{
	struct md_state *st = vst;
	struct epoll_event evs[MD_MAX_EVENTS];
	const uint64_t before = st->events;
	for (int looked = 0;; looked = 1) {
		uint64_t now = rb_now_ns();
		if (st->timer_ns <= now && md_act(st, CURL_SOCKET_TIMEOUT, 0) < 0)
			return -1;
		/* Ends queued by start()'s kick are delivered here too. */
		md_reap(st);
		int got = st->events != before;
		if (now >= deadline_ns && (got || looked))
			return 0;
		/* Having delivered (or late), only look; else sleep to the
		 * deadline or libcurl's timer, whichever is first. */
		uint64_t until = got || now >= deadline_ns ? now
			       : deadline_ns < st->timer_ns ? deadline_ns : st->timer_ns;
		int n = md_poll(st, evs, until);
		if (n < 0)
			return -1;
		if (n == 0 && got)
			return 0;
		for (int i = 0; i < n; i++) {
			uint32_t e = evs[i].events;
			int mask = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
				   ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
				   ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
			if (md_act(st, evs[i].data.fd, mask) < 0)
				return -1;
		}
	}
}

static int md_start(void *vst, uint32_t slot)
{
	struct md_state *st = vst;
	if (slot >= st->max || st->req[slot].busy) {
		fprintf(stderr, "ringside-bench: direct: slot %u is not free\n", slot);
		return -1;
	}
	struct md_req *r = &st->req[slot];
	r->mark = r->lpos = r->counted = r->done = 0;
	CURLMcode mc = curl_multi_add_handle(st->multi, r->easy);
	if (mc != CURLM_OK) {
		fprintf(stderr, "ringside-bench: direct: curl_multi_add_handle: %s\n",
			curl_multi_strerror(mc));
		return -1;
	}
	r->busy = 1;
	/* Adding set libcurl's timer to 0: act now, so the request is sent
	 * when the runner scheduled it, not at the next wait. */
	return md_act(st, CURL_SOCKET_TIMEOUT, 0);
}

static pid_t md_server_pid(void *vst)
{
	(void)vst;
	return 0;
}

static void md_close(void *vst)
{
	struct md_state *st = vst;
	if (!st)
		return;
	/* libcurl's order: out of the multi, easy handles, then the multi
	 * (its connections leave our epoll set, still open, as they close). */
	for (uint32_t i = 0; i < st->max; i++) {
		struct md_req *r = &st->req[i];
		if (r->busy)
			curl_multi_remove_handle(st->multi, r->easy);
		if (r->easy)
			curl_easy_cleanup(r->easy);
	}
	if (st->multi)
		curl_multi_cleanup(st->multi);
	curl_slist_free_all(st->hdrs);
	if (st->ep >= 0)
		close(st->ep);
	if (st->global)
		curl_global_cleanup();
	free(st);
}

/* Everything a request needs, set once for the handle's whole life. */
static int md_easy_init(struct md_state *st, struct md_req *r, const struct rb_params *p)
{
	CURL *e = r->easy = curl_easy_init();
	if (!e)
		return -1;
	int bad = 0;
	bad |= curl_easy_setopt(e, CURLOPT_URL, p->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, p->body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(p->body)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, st->hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, md_write) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->err) != CURLE_OK;
	return bad ? -1 : 0;
}

static void *md_open(const struct rb_params *p, const struct rb_sink *sink)
{
	struct md_state *st = calloc(1, sizeof *st + (size_t)p->max_inflight * sizeof st->req[0]);
	if (!st) {
		fprintf(stderr, "ringside-bench: direct: out of memory\n");
		return NULL;
	}
	st->sink = *sink;
	st->ep = -1;
	st->timer_ns = MD_NEVER;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail;
	st->global = 1;
	st->ep = epoll_create1(EPOLL_CLOEXEC);
	if (st->ep < 0) {
		fprintf(stderr, "ringside-bench: direct: epoll_create1: %s\n", strerror(errno));
		goto out;
	}
	/* "Expect:": never a 100-continue round trip, whatever the body size. */
	st->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!st->hdrs || !curl_slist_append(st->hdrs, "Expect:"))
		goto fail;
	CURLM *m = st->multi = curl_multi_init();
	if (!m)
		goto fail;
	/* A connection per slot, idle ones kept (the default cache, 4 per
	 * handle in the multi, closes some whenever few are in flight). */
	long conns = (long)p->max_inflight;
	int bad = 0;
	bad |= curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, md_sock) != CURLM_OK;
	bad |= curl_multi_setopt(m, CURLMOPT_SOCKETDATA, st) != CURLM_OK;
	bad |= curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, md_timer) != CURLM_OK;
	bad |= curl_multi_setopt(m, CURLMOPT_TIMERDATA, st) != CURLM_OK;
	bad |= curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conns) != CURLM_OK;
	bad |= curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns) != CURLM_OK;
	if (bad)
		goto fail;
	for (uint32_t i = 0; i < p->max_inflight; i++) {
		struct md_req *r = &st->req[i];
		r->st = st;
		r->slot = i;
		st->max = i + 1; /* close() cleans what exists */
		if (md_easy_init(st, r, p) < 0)
			goto fail;
	}
	return st;
fail:
	fprintf(stderr, "ringside-bench: direct: libcurl setup failed\n");
out:
	md_close(st);
	return NULL;
}

const struct rb_mode_ops rb_mode_direct = {
	.name = "direct",
	.what = "the application's own warm keep-alive libcurl handles -> mockllm (no gateway)",
	.open = md_open,
	.start = md_start,
	.wait = md_wait,
	.server_pid = md_server_pid,
	.close = md_close,
};
