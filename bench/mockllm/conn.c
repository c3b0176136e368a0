/*
 * conn.c — connection I/O: reading and parsing pipelined requests, routing
 * them (LLM endpoints to reply.c, /stats and /reset here), sending the
 * output, and every way a connection ends (see conn.h).
 */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Read granularity: one recv fills up to this much fresh buffer. */
#define ML_READ_CHUNK (16u * 1024u)
/* Input kept while a reply is in progress (pipelined requests beyond it
 * wait in the kernel, which pushes back on the client). */
#define ML_IN_BUSY_MAX (256u * 1024u)
/* Requests served back to back on one connection before others get a turn. */
#define ML_PIPELINE_BUDGET 64u
/* How long a closing connection waits for the client's FIN before closing
 * anyway; closing with unread input would send RST and could destroy the
 * response the client has not read yet. */
#define ML_LINGER_NS (2u * 1000000000ull)
/* Connections kept for reuse, and the largest buffer a kept one may hold. */
#define ML_POOL_MAX 1024u
#define ML_POOL_BUF_MAX (256u * 1024u)

static int conn_run(struct ml_conn *c);

void ml_conn_arm(struct ml_conn *c, uint64_t at)
{
	ml_heap_set(&c->w->timers, &c->timer, at);
}

void ml_conn_open(struct ml_worker *w, int fd)
{
	struct ml_conn *c = w->pool;
	if (c) {
		w->pool = c->next;
		w->npool--;
	} else if (!(c = calloc(1, sizeof *c))) {
		ml_die("out of memory for a connection");
	}
	int one = 1;
	/* Each batch of events is one send: Nagle would only add latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct ml_buf in = c->in, out = c->out;
	struct ml_reply reply = c->reply;
	memset(c, 0, sizeof *c);
	c->in = in;
	c->out = out;
	c->reply = reply;
	c->in.len = c->out.len = 0;
	c->src.kind = ML_SRC_CONN;
	c->fd = fd;
	c->w = w;
	ml_timer_init(&c->timer);
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = &c->src,
	};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		ml_die("epoll_ctl(ADD) failed: %s", strerror(errno));
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	ml_stat_add(&w->stats.connections_accepted, 1);
	ml_stat_add(&w->stats.connections_open, 1);
}

static void pool_put(struct ml_worker *w, struct ml_conn *c)
{
	if (w->npool >= ML_POOL_MAX) {
		ml_buf_free(&c->in);
		ml_buf_free(&c->out);
		ml_reply_free(&c->reply);
		free(c);
		return;
	}
	/* A connection that once carried a huge body gives the memory back. */
	if (c->in.cap > ML_POOL_BUF_MAX)
		ml_buf_free(&c->in);
	if (c->out.cap > ML_POOL_BUF_MAX)
		ml_buf_free(&c->out);
	if (c->reply.text.cap > ML_POOL_BUF_MAX)
		ml_reply_free(&c->reply);
	c->next = w->pool;
	w->pool = c;
	w->npool++;
}

/* Close and recycle c; rst aborts the connection (SO_LINGER 0). */
static void conn_close(struct ml_conn *c, bool rst, bool cancelled)
{
	struct ml_worker *w = c->w;
	ml_heap_del(&w->timers, &c->timer);
	if (rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(c->fd);
	if (cancelled)
		ml_stat_add(&w->stats.requests_cancelled, 1);
	ml_stat_sub(&w->stats.connections_open, 1);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pool_put(w, c);
}

void ml_conn_destroy(struct ml_conn *c)
{
	conn_close(c, false, false);
}

void ml_conn_pool_free(struct ml_worker *w)
{
	while (w->pool) {
		struct ml_conn *c = w->pool;
		w->pool = c->next;
		ml_buf_free(&c->in);
		ml_buf_free(&c->out);
		ml_reply_free(&c->reply);
		free(c);
	}
	w->npool = 0;
}

int ml_conn_send(struct ml_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			ml_stat_add(&c->w->stats.bytes_sent, (uint64_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		c->peer_gone = true;
		return -1;
	}
	c->out.len = c->out_off = 0;
	return 0;
}

/* Read what the socket holds (all of it when hup says EOF is queued). */
static void conn_read(struct ml_conn *c, bool hup)
{
	for (;;) {
		if (c->phase == ML_PH_LINGER) {
			char sink[4096];
			ssize_t n = recv(c->fd, sink, sizeof sink, 0);
			if (n > 0 || (n < 0 && errno == EINTR))
				continue;
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				c->peer_gone = true;
			return;
		}
		size_t avail = c->in.len - c->in_off;
		size_t limit = c->phase == ML_PH_IDLE ? ML_HTTP_MAX_HEAD + ML_HTTP_MAX_BODY : ML_IN_BUSY_MAX;
		if (avail >= limit) {
			/* Not reading means not seeing the EOF: a hang-up
			 * while the buffer is full ends the connection. */
			c->read_paused = true;
			c->peer_gone |= hup;
			return;
		}
		c->read_paused = false;
		if (c->in_off && c->in.cap - c->in.len < ML_READ_CHUNK) {
			memmove(c->in.p, c->in.p + c->in_off, avail);
			c->in.len = avail;
			c->in_off = 0;
		}
		ml_buf_reserve(&c->in, ML_READ_CHUNK);
		size_t room = c->in.cap - c->in.len;
		ssize_t n = recv(c->fd, c->in.p + c->in.len, room, 0);
		if (n > 0) {
			c->in.len += (size_t)n;
			/* A short read drained the socket: with edge-triggered
			 * epoll, new data brings a new event, so stop here. */
			if ((size_t)n < room && !hup)
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->peer_gone = true;
		return;
	}
}

void ml_conn_insert_head(struct ml_conn *c, size_t body_mark)
{
	struct ml_buf *h = &c->w->scratch;
	size_t body = c->out.len - body_mark;
	ml_buf_reserve(&c->out, h->len);
	memmove(c->out.p + body_mark + h->len, c->out.p + body_mark, body);
	memcpy(c->out.p + body_mark, h->p, h->len);
	c->out.len += h->len;
}

/* Finish a JSON response of mockllm's own (admin endpoints, routing
 * errors) whose body was appended to c->out from mark on. */
static void conn_json(struct ml_conn *c, int status, size_t mark)
{
	struct ml_buf *h = &c->w->scratch;
	h->len = 0;
	ml_http_head(h, status, "application/json", NULL, 0, !c->keep_alive);
	ML_PUT(h, "content-length: ");
	ml_buf_u64(h, c->out.len - mark);
	ML_PUT(h, "\r\n\r\n");
	ml_conn_insert_head(c, mark);
	if (!c->keep_alive)
		c->close_after = true;
}

static void conn_error(struct ml_conn *c, int status, const char *what)
{
	size_t mark = c->out.len;
	ml_stat_add(&c->w->stats.requests_other, 1);
	ML_PUT(&c->out, "{\"error\":{\"message\":\"mockllm: ");
	ml_buf_puts(&c->out, what);
	ML_PUT(&c->out, "\",\"type\":\"");
	ml_buf_puts(&c->out, status == 404 ? "not_found_error" : "invalid_request_error");
	ML_PUT(&c->out, "\",\"code\":");
	ml_buf_u64(&c->out, (uint64_t)status);
	ML_PUT(&c->out, "}}\n");
	conn_json(c, status, mark);
}

static bool path_is(const struct ml_http_req *q, const char *lit)
{
	return q->path_len == strlen(lit) && memcmp(q->path, lit, q->path_len) == 0;
}

static bool method_is(const struct ml_http_req *q, const char *lit)
{
	return q->method_len == strlen(lit) && memcmp(q->method, lit, q->method_len) == 0;
}

static void conn_dispatch(struct ml_conn *c, const struct ml_http_req *q)
{
	struct ml_route rt;
	size_t mark = c->out.len;
	if (path_is(q, "/stats")) {
		if (!method_is(q, "GET")) {
			conn_error(c, 405, "use GET /stats");
			return;
		}
		/* /stats reports what happened before it: it counts nothing
		 * for itself but the connection and the bytes. */
		ml_stats_render(&c->out);
		conn_json(c, 200, mark);
	} else if (path_is(q, "/reset")) {
		if (!method_is(q, "POST")) {
			conn_error(c, 405, "use POST /reset");
			return;
		}
		ml_stats_reset();
		ML_PUT(&c->out, "{\"reset\":true}\n");
		conn_json(c, 200, mark);
	} else if (ml_route(q->path, q->path_len, q->query, q->query_len, &rt) < 0) {
		conn_error(c, 404, "no such endpoint");
	} else if (!method_is(q, "POST")) {
		conn_error(c, 405, "use POST");
	} else {
		ml_reply_begin(c, &rt, q);
	}
}

/* Parse and start the next buffered request: 1 when one started (or was
 * answered), 0 when none is complete yet. */
static int conn_next_request(struct ml_conn *c)
{
	size_t n = c->in.len - c->in_off;
	if (n == 0 || (c->need && n < c->need))
		return 0;
	struct ml_http_req q;
	long rc = ml_http_parse(c->in.p + c->in_off, n, &q);
	if (rc == 0) {
		if (q.head_len) {
			c->need = q.head_len + q.body_len;
			/* curl waits up to a second for this before sending a
			 * large body. */
			if (q.expect_continue && !c->continue_sent) {
				ML_PUT(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				c->continue_sent = true;
			}
		}
		return 0;
	}
	c->need = 0;
	c->continue_sent = false;
	if (rc < 0) {
		/* The framing is lost: answer and close, ignoring the rest. */
		c->keep_alive = false;
		conn_error(c, (int)-rc, "malformed or unsupported HTTP request");
		c->in_off = c->in.len;
		return 1;
	}
	c->keep_alive = q.keep_alive;
	c->http10 = q.http10;
	conn_dispatch(c, &q);
	c->in_off += (size_t)rc;
	if (c->in_off == c->in.len)
		c->in_off = c->in.len = 0;
	return 1;
}

/*
 * The client left with a whole LLM request still unread by us (it sent the
 * request and closed before we got to it): count it, and count it as
 * cancelled, so /stats sees every request that arrived.
 */
static bool conn_count_abandoned(struct ml_conn *c)
{
	struct ml_http_req q;
	struct ml_route rt;
	if (c->phase != ML_PH_IDLE || c->in.len == c->in_off)
		return false;
	if (ml_http_parse(c->in.p + c->in_off, c->in.len - c->in_off, &q) <= 0 ||
	    ml_route(q.path, q.path_len, q.query, q.query_len, &rt) < 0)
		return false;
	ml_stat_add(&c->w->stats.requests[rt.fmt], 1);
	return true;
}

/* After the work: send, and end the connection if that is what is left. */
static int conn_settle(struct ml_conn *c)
{
	if (!c->peer_gone)
		ml_conn_send(c);
	if (c->peer_gone) {
		bool active = c->phase == ML_PH_HEAD || c->phase == ML_PH_STREAM || c->phase == ML_PH_STALLED;
		conn_close(c, false, active || conn_count_abandoned(c));
		return -1;
	}
	if (ml_conn_pending(c))
		return 0;
	if (c->rst) {
		conn_close(c, true, false);
		return -1;
	}
	if (c->close_after && c->phase != ML_PH_LINGER) {
		shutdown(c->fd, SHUT_WR);
		c->phase = ML_PH_LINGER;
		ml_conn_arm(c, c->w->now + ML_LINGER_NS);
		/* The client's FIN may already be queued. */
		conn_read(c, true);
		if (c->peer_gone) {
			conn_close(c, false, false);
			return -1;
		}
	}
	return 0;
}

static int conn_run(struct ml_conn *c)
{
	unsigned budget = ML_PIPELINE_BUDGET;
	while (!c->peer_gone && !c->rst && !c->close_after) {
		/* Drain first: a reply held back by a full socket resumes here,
		 * on the EPOLLOUT edge that said there is room again. */
		if (ml_conn_pending(c) && ml_conn_send(c) < 0)
			break;
		if (c->phase == ML_PH_HEAD || c->phase == ML_PH_STREAM)
			ml_reply_step(c);
		if (c->phase != ML_PH_IDLE || c->peer_gone || c->rst || c->close_after)
			break;
		if (ml_conn_pending(c) >= ML_OUT_HIGH) {
			/* Let the client read before serving its next request. */
			if (ml_conn_send(c) < 0 || ml_conn_pending(c) >= ML_OUT_HIGH)
				break;
		}
		if (budget-- == 0) {
			ml_conn_arm(c, c->w->now + 1);
			break;
		}
		if (c->read_paused)
			conn_read(c, false);
		if (!conn_next_request(c))
			break;
	}
	return conn_settle(c);
}

void ml_conn_on_event(struct ml_conn *c, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_read(c, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
	if (c->phase == ML_PH_LINGER) {
		if (c->peer_gone)
			conn_close(c, false, false);
		return;
	}
	conn_run(c);
}

void ml_conn_on_timer(struct ml_conn *c)
{
	if (c->phase == ML_PH_LINGER) {
		conn_close(c, false, false);
		return;
	}
	conn_run(c);
}
