/*
 * handshake.c — greeting accepted connections (see handshake.h).
 */
#include "handshake.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "deploy.h"
#include "log.h"
#include "server.h"
#include "shm/proto.h"
#include "stats.h"

struct hs_conn {
	struct srv *srv;
	int fd;
	int timed_out;
	struct loop_op op;
	struct loop_timer timer;
};

static void hs_refuse(int fd, int status, const char *msg)
{
	struct proto_welcome w = { .magic = PROTO_MAGIC, .abi = PROTO_ABI, .status = status };
	snprintf(w.msg, sizeof w.msg, "%s", msg);
	ssize_t n = send(fd, &w, sizeof w, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;
	stats.clients_rejected++;
}

static void hs_stats(struct srv *s, int fd)
{
	/* Static: per-deployment lines make it larger than a stack frame
	 * should be; the loop is single-threaded. */
	static char buf[64 * 1024];
	size_t n = stats_render(buf, sizeof buf);
	n += srv_render_pools(s, buf + n, sizeof buf - n);
	n += dep_render(s->deps, s->n_deps, s->loop.now, buf + n, sizeof buf - n);
	ssize_t w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
}

/* Returns 1 if fd now belongs to a client. */
static int hs_process(struct srv *s, int fd)
{
	struct proto_hello h;
	/* One byte more than a HELLO so an oversized message shows. */
	char buf[sizeof h + 1];
	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
	if (n != (ssize_t)sizeof h) {
		log_warn("handshake: %s", n <= 0 ? "connection closed before HELLO"
						: "malformed HELLO");
		return 0;
	}
	memcpy(&h, buf, sizeof h);
	if (h.magic != PROTO_MAGIC) {
		log_warn("handshake: bad magic");
		return 0;
	}
	if (h.abi != PROTO_ABI) {
		hs_refuse(fd, -EPROTONOSUPPORT, "unsupported protocol version");
		log_warn("handshake: client speaks ABI %u, we speak %u", h.abi, PROTO_ABI);
		return 0;
	}
	if (h.op == PROTO_OP_STATS) {
		hs_stats(s, fd);
		return 0;
	}
	if (h.op != PROTO_OP_HELLO) {
		log_warn("handshake: unknown op %u", h.op);
		return 0;
	}
	struct ucred cred;
	socklen_t cl = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		log_warn("handshake: SO_PEERCRED failed: %s", strerror(errno));
		return 0;
	}
	if (s->n_clients >= s->cfg->limits.max_clients) {
		char msg[96];
		snprintf(msg, sizeof msg, "too many clients (limits.max_clients = %u)",
			 s->cfg->limits.max_clients);
		hs_refuse(fd, -EBUSY, msg);
		log_warn("refused pid=%d uid=%u: %s", (int)cred.pid, (unsigned)cred.uid, msg);
		return 0;
	}
	struct client *c;
	int rc = client_create(s, fd, &cred, &c);
	if (rc) {
		hs_refuse(fd, rc, "the sidecar could not set up this client");
		log_error("client setup for pid=%d failed: %s", (int)cred.pid, strerror(-rc));
		return 0;
	}
	return 1;
}

static void hs_on_poll(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct hs_conn *h = (struct hs_conn *)((char *)op - offsetof(struct hs_conn, op));
	struct srv *s = h->srv;
	loop_timer_cancel(&s->loop, &h->timer);
	int kept = 0;
	if (h->timed_out)
		log_warn("handshake: no HELLO within the handshake timeout");
	else if (res > 0 && !s->stopping)
		kept = hs_process(s, h->fd);
	if (!kept)
		close(h->fd);
	s->n_pending--;
	free(h);
}

static void hs_on_timeout(struct loop_timer *t)
{
	struct hs_conn *h = (struct hs_conn *)((char *)t - offsetof(struct hs_conn, timer));
	h->timed_out = 1;
	loop_cancel(&h->srv->loop, &h->op);
}

void hs_begin(struct srv *s, int fd)
{
	struct hs_conn *h = calloc(1, sizeof *h);
	if (!h) {
		close(fd);
		return;
	}
	h->srv = s;
	h->fd = fd;
	h->op.cb = hs_on_poll;
	h->timer.idx = LOOP_TIMER_IDLE;
	h->timer.fn = hs_on_timeout;
	if (loop_timer_arm(&s->loop, &h->timer,
			   s->loop.now + (uint64_t)s->cfg->limits.handshake_timeout_ms * 1000000u)) {
		close(fd);
		free(h);
		return;
	}
	struct io_uring_sqe *sqe = loop_sqe(&s->loop);
	io_uring_prep_poll_add(sqe, fd, POLLIN | POLLRDHUP);
	loop_sqe_op(sqe, &h->op);
	s->n_pending++;
}
