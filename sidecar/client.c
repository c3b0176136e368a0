/*
 * client.c — one attached application (see client.h).
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "chatreq.h"
#include "config.h"
#include "log.h"
#include "provider.h"
#include "ringside.h"
#include "server.h"
#include "shm/proto.h"
#include "stats.h"
#include "ratelimit.h"
#include "route.h"
#include "stream.h"

/* Frames taken from one client's submit ring per loop pass, so that one busy
 * client cannot starve the others. */
#define CLIENT_POLL_BUDGET 256

/* ---- stream map: open addressing by id, backward-shift deletion ---------- */

static inline uint32_t client_slot(const struct client *c, uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & c->map_mask;
}

static struct stream *client_find(const struct client *c, uint64_t id)
{
	for (uint32_t i = client_slot(c, id);; i = (i + 1) & c->map_mask) {
		struct stream *s = c->map[i];
		if (!s)
			return NULL;
		if (s->id == id)
			return s;
	}
}

static void client_map_insert(struct client *c, struct stream *s)
{
	uint32_t i = client_slot(c, s->id);
	while (c->map[i])
		i = (i + 1) & c->map_mask;
	c->map[i] = s;
	c->n_streams++;
}

static void client_unblock(struct client *c, struct stream *s)
{
	struct stream **pp = &c->blk_head, *prev = NULL;
	while (*pp && *pp != s) {
		prev = *pp;
		pp = &(*pp)->blk_next;
	}
	if (!*pp)
		return;
	*pp = s->blk_next;
	if (c->blk_tail == s)
		c->blk_tail = prev;
	s->on_blocked = 0;
	s->blk_next = NULL;
}

void client_forget(struct client *c, struct stream *s)
{
	if (s->on_blocked)
		client_unblock(c, s);
	uint32_t i = client_slot(c, s->id);
	while (c->map[i] != s) {
		if (!c->map[i])
			return;
		i = (i + 1) & c->map_mask;
	}
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & c->map_mask;
		if (!c->map[j])
			break;
		uint32_t home = client_slot(c, c->map[j]->id);
		if (((j - home) & c->map_mask) >= ((j - i) & c->map_mask)) {
			c->map[i] = c->map[j];
			i = j;
		}
	}
	c->map[i] = NULL;
	c->n_streams--;
}

void client_block(struct client *c, struct stream *s)
{
	if (s->on_blocked)
		return;
	s->on_blocked = 1;
	s->blk_next = NULL;
	if (c->blk_tail)
		c->blk_tail->blk_next = s;
	else
		c->blk_head = s;
	c->blk_tail = s;
}

/* ---- kicks and dirt ------------------------------------------------------ */

void client_mark_dirty(struct client *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		srv_mark_dirty(c->srv, c);
	}
}

static void client_ring(int fd)
{
	uint64_t one = 1;
	/* A full counter (EAGAIN) still leaves the fd readable: fine. */
	ssize_t n = write(fd, &one, sizeof one);
	(void)n;
	stats.bell_kicks++;
}

void client_kick_now(struct client *c)
{
	if (!c->closing && ring_consumer_sleeping(&c->ev))
		client_ring(c->ev_bell);
}

void client_kick(struct client *c)
{
	c->dirty = 0;
	if (!c->closing && ring_consumer_sleeping(&c->ev))
		client_ring(c->ev_bell);
}

/* ---- teardown --------------------------------------------------------------- */

static void client_maybe_free(struct client *c)
{
	if (c->closing && c->ops_pending == 0) {
		c->srv->n_pending--;
		free(c);
	}
}

void client_doom(struct client *c, const char *why)
{
	if (!c->doomed) {
		c->doomed = 1;
		c->doom_reason = why;
	}
}

void client_close(struct client *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = 1;
	log_info("client %llu closed: %s (pid=%d, streams=%u)", (unsigned long long)c->id,
		 why, (int)c->pid, c->n_streams);
	/* Drop streams one by one; stream_drop removes each from the map. */
	c->blk_head = c->blk_tail = NULL;
	for (uint32_t i = 0; c->n_streams && i <= c->map_mask; i++) {
		while (c->map[i]) {
			c->map[i]->on_blocked = 0;
			stream_drop(c->map[i]);
		}
	}
	loop_cancel(&c->srv->loop, &c->sock_op);
	loop_cancel(&c->srv->loop, &c->bell_op);
	close(c->sock);
	close(c->sub_bell);
	close(c->ev_bell);
	stats.segments_live--;
	stats.segment_bytes_live -= c->seg.size;
	seg_detach(&c->seg);
	frag_free(&c->frag);
	free(c->map);
	c->map = NULL;
	srv_remove_client(c->srv, c);
	stats.clients_connected--;
	/* Counted as pending until its ops have completed. */
	c->srv->n_pending++;
	client_maybe_free(c);
}

static void client_kill(struct client *c, const char *why)
{
	stats.clients_killed++;
	log_warn("client %llu protocol violation: %s", (unsigned long long)c->id, why);
	client_close(c, why);
}

/* ---- ops ------------------------------------------------------------------- */

static void client_arm_sock(struct client *c);
static void client_arm_bell(struct client *c);

static void client_on_sock(struct loop_op *op, int res, unsigned flags)
{
	struct client *c = (struct client *)((char *)op - offsetof(struct client, sock_op));
	if (!(flags & IORING_CQE_F_MORE))
		c->ops_pending--;
	if (c->closing) {
		client_maybe_free(c);
		return;
	}
	if (res < 0 || (res & (POLLHUP | POLLRDHUP | POLLERR))) {
		client_close(c, res < 0 ? "socket poll failed" : "disconnected");
		return;
	}
	if (res & POLLIN) {
		char b[16];
		ssize_t n = recv(c->sock, b, sizeof b, MSG_DONTWAIT);
		if (n == 0) {
			client_close(c, "disconnected");
			return;
		}
		if (n > 0) {
			client_kill(c, "unexpected data on the socket");
			return;
		}
	}
	if (!(flags & IORING_CQE_F_MORE))
		client_arm_sock(c);
}

static void client_on_bell(struct loop_op *op, int res, unsigned flags)
{
	struct client *c = (struct client *)((char *)op - offsetof(struct client, bell_op));
	if (!(flags & IORING_CQE_F_MORE))
		c->ops_pending--;
	if (c->closing) {
		client_maybe_free(c);
		return;
	}
	/* Nothing to do here: the poll hook runs right after and reads the
	 * ring. A multishot poll that ended must be re-armed. */
	(void)res;
	if (!(flags & IORING_CQE_F_MORE))
		client_arm_bell(c);
}

static void client_arm_sock(struct client *c)
{
	struct io_uring_sqe *sqe = loop_sqe(&c->srv->loop);
	io_uring_prep_poll_multishot(sqe, c->sock, POLLIN | POLLRDHUP);
	c->sock_op.cb = client_on_sock;
	loop_sqe_op(sqe, &c->sock_op);
	c->ops_pending++;
}

/* The bell is an eventfd we never read: a multishot poll posts one
 * completion per write (edge), which is all we need to wake up. */
static void client_arm_bell(struct client *c)
{
	struct io_uring_sqe *sqe = loop_sqe(&c->srv->loop);
	io_uring_prep_poll_multishot(sqe, c->sub_bell, POLLIN);
	c->bell_op.cb = client_on_bell;
	loop_sqe_op(sqe, &c->bell_op);
	c->ops_pending++;
}

/* ---- creation -------------------------------------------------------------- */

static int client_send_welcome(struct client *c, int awake_fd)
{
	struct proto_welcome w = { .magic = PROTO_MAGIC, .abi = PROTO_ABI,
				   .client_id = c->id };
	int fds[PROTO_NFDS];
	fds[PROTO_FD_SEG] = c->seg.fd;
	fds[PROTO_FD_SUB_BELL] = c->sub_bell;
	fds[PROTO_FD_EV_BELL] = c->ev_bell;
	fds[PROTO_FD_AWAKE] = awake_fd;
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} cm;
	memset(&cm, 0, sizeof cm);
	struct iovec iov = { .iov_base = &w, .iov_len = sizeof w };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(h), fds, sizeof fds);
	/* A fresh socket's buffer is empty: this never waits. */
	ssize_t n = sendmsg(c->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n == (ssize_t)sizeof w ? 0 : -errno;
}

int client_create(struct srv *srv, int sock, const struct ucred *cred, struct client **out)
{
	const struct cfg *cfg = srv->cfg;
	struct client *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->id = ++srv->next_client_id;
	c->sock = sock;
	c->pid = cred->pid;
	c->uid = cred->uid;
	const struct cfg_tenant *ten = cfg_find_tenant(cfg, c->uid);
	if (ten && srv->tenant_rl)
		c->tenant = &srv->tenant_rl[ten - cfg->tenants];
	c->sub_bell = c->ev_bell = -1;
	c->max_streams = cfg->limits.max_streams_per_client;
	int rc = seg_create(&c->seg, cfg->limits.submit_ring, cfg->limits.event_ring,
			    cfg->limits.max_request, c->max_streams, c->id);
	if (rc)
		goto fail;
	rc = -errno;
	c->sub_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->ev_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->sub_bell < 0 || c->ev_bell < 0)
		goto fail;
	rc = ring_init_view(&c->sub, c->seg.sub_ctl, c->seg.sub_data, c->seg.hdr.sub_size, 0);
	if (!rc)
		rc = ring_init_view(&c->ev, c->seg.ev_ctl, c->seg.ev_data, c->seg.hdr.ev_size, 1);
	if (rc)
		goto fail;
	uint32_t cap = 16;
	while (cap < 2 * c->max_streams)
		cap <<= 1;
	rc = -ENOMEM;
	c->map = calloc(cap, sizeof *c->map);
	if (!c->map)
		goto fail;
	c->map_mask = cap - 1;
	frag_init(&c->frag, cfg->limits.max_request);
	rc = client_send_welcome(c, srv->awake_fd);
	if (rc)
		goto fail;
	/* The client has its own reference now; the mapping outlives our fd. */
	close(c->seg.fd);
	c->seg.fd = -1;
	client_arm_sock(c);
	client_arm_bell(c);
	srv_add_client(srv, c);
	stats.clients_connected++;
	stats.clients_total++;
	stats.segments_live++;
	stats.segment_bytes_live += c->seg.size;
	log_info("client %llu attached pid=%d uid=%u segment=%zu bytes",
		 (unsigned long long)c->id, (int)c->pid, (unsigned)c->uid, c->seg.size);
	*out = c;
	return 0;
fail:
	if (c->sub_bell >= 0)
		close(c->sub_bell);
	if (c->ev_bell >= 0)
		close(c->ev_bell);
	seg_detach(&c->seg);
	frag_free(&c->frag);
	free(c->map);
	free(c);
	return rc;
}

/* ---- requests ---------------------------------------------------------------- */

/* A stream that fails before it starts still gets its ERROR, in order. */
static struct stream *client_open_stream(struct client *c, uint64_t id, uint32_t deadline_ms)
{
	if (id == 0 || client_find(c, id)) {
		client_kill(c, id ? "duplicate stream id" : "stream id 0");
		return NULL;
	}
	if (!deadline_ms)
		deadline_ms = c->srv->cfg->limits.default_deadline_ms;
	struct stream *s = stream_new(c, id, deadline_ms);
	if (!s) {
		log_error("client %llu: out of memory for a stream", (unsigned long long)c->id);
		client_close(c, "out of memory");
		return NULL;
	}
	client_map_insert(c, s);
	return s;
}

static void client_handle_request(struct client *c, uint64_t id, const uint8_t *buf, size_t len)
{
	struct proto_request rq;
	if (len < sizeof rq) {
		client_kill(c, "short REQUEST frame");
		return;
	}
	memcpy(&rq, buf, sizeof rq);
	if ((uint64_t)sizeof rq + rq.model_len + rq.body_len != len) {
		client_kill(c, "REQUEST lengths do not add up");
		return;
	}
	struct stream *s = client_open_stream(c, id, rq.deadline_ms);
	if (!s)
		return;
	const char *alias = (const char *)buf + sizeof rq;
	const char *body = alias + rq.model_len;
	const struct cfg *cfg = c->srv->cfg;
	const struct cfg_model *m = cfg_find_model(cfg, alias, rq.model_len);
	if (!m) {
		stream_end_error(s, RS_ERR_UNKNOWN_MODEL, 0, 0,
				 "unknown model alias '%.*s'", rq.model_len > 64 ? 64 : (int)rq.model_len, alias);
		return;
	}
	struct chatreq req;
	char err[160];
	if (chatreq_parse(&req, body, rq.body_len, err, sizeof err)) {
		stats.requests_bad++;
		stream_end_error(s, RS_ERR_BAD_REQUEST, 0, 0, "%s", err);
		return;
	}
	route_serve(s, m, &req, rq.body_len);
}

static void client_handle_too_big(struct client *c, uint64_t id)
{
	stats.requests_too_large++;
	struct stream *s = client_open_stream(c, id, 0);
	if (s)
		stream_end_error(s, RS_ERR_TOO_LARGE, 0, 0,
				 "request larger than limits.max_request (%llu bytes)",
				 (unsigned long long)c->srv->cfg->limits.max_request);
}

static void client_handle_cancel(struct client *c, uint64_t id)
{
	struct stream *s = client_find(c, id);
	/* Unknown: it ended already and its terminal event is on its way. */
	if (s)
		stream_end_error(s, RS_ERR_CANCELLED, 0, 0, "cancelled by the client");
}

/* Handle one frame; returns 0 to consume it, 1 to leave it for later. */
static int client_frame(struct client *c, const struct ring_frame *h, const uint8_t *p)
{
	switch (h->type) {
	case PROTO_REQUEST:
		/* At the stream limit a new request waits in the ring: the
		 * client library never sends one, a hostile client only stalls
		 * itself. */
		if (!c->frag.active && c->n_streams >= c->max_streams)
			return 1;
		switch (frag_add(&c->frag, h, p)) {
		case FRAG_COMPLETE:
			client_handle_request(c, h->stream, c->frag.buf, c->frag.len);
			frag_reset(&c->frag);
			break;
		case FRAG_TOOBIG:
			client_handle_too_big(c, h->stream);
			break;
		case FRAG_PARTIAL:
		case FRAG_DISCARDED:
			break;
		case FRAG_EPROTO:
			client_kill(c, "fragments of two messages interleaved");
			break;
		default:
			log_error("client %llu: out of memory reassembling a request",
				  (unsigned long long)c->id);
			client_close(c, "out of memory");
			break;
		}
		return 0;
	case PROTO_CANCEL:
		if (h->len || (h->flags & RING_F_MORE) || c->frag.active)
			client_kill(c, "malformed CANCEL");
		else
			client_handle_cancel(c, h->stream);
		return 0;
	default:
		client_kill(c, "unknown frame type");
		return 0;
	}
}

static int client_flush_blocked(struct client *c)
{
	int64_t fr = ring_refresh_head(&c->ev);
	if (fr < 0) {
		client_kill(c, "corrupt event ring head");
		return 1;
	}
	/* Wait for room for the largest frame, so one pass can flush and a
	 * slowly draining client does not wake us once per event. */
	if ((uint64_t)fr < c->ev.size / 2)
		return 0;
	atomic_store_explicit(&c->ev.ctl->prod_waiting, 0, memory_order_relaxed);
	struct stream *s = c->blk_head;
	c->blk_head = c->blk_tail = NULL;
	while (s && !c->closing && !c->doomed) {
		struct stream *next = s->blk_next;
		s->on_blocked = 0;
		s->blk_next = NULL;
		stream_flush(s);
		s = next;
	}
	/* Closed or doomed meanwhile: the rest is dropped by client_close. */
	while (s) {
		struct stream *next = s->blk_next;
		client_block(c, s);
		s = next;
	}
	return 1;
}

int client_poll(struct client *c)
{
	if (c->closing)
		return 0;
	if (c->doomed) {
		client_kill(c, c->doom_reason);
		return 1;
	}
	int work = 0;
	for (int budget = CLIENT_POLL_BUDGET; budget > 0; budget--) {
		struct ring_frame h;
		const uint8_t *p;
		int r = ring_peek(&c->sub, &h, &p);
		if (r == 0)
			break;
		if (r < 0) {
			client_kill(c, "corrupt submit ring");
			return 1;
		}
		if (client_frame(c, &h, p))
			break;
		if (c->closing)
			return 1;
		ring_release(&c->sub);
		work++;
		if (c->doomed)
			break;
	}
	if (work && ring_producer_blocked(&c->sub))
		client_ring(c->ev_bell);
	if (c->blk_head)
		work += client_flush_blocked(c);
	return work;
}

void client_sleep_arm(struct client *c)
{
	if (c->blk_head && !c->closing)
		atomic_store_explicit(&c->ev.ctl->prod_waiting, 1, memory_order_relaxed);
}

int client_has_work(struct client *c)
{
	if (c->closing)
		return 0;
	if (c->doomed || ring_maybe_nonempty(&c->sub))
		return 1;
	if (c->blk_head) {
		int64_t fr = ring_refresh_head(&c->ev);
		return fr < 0 || (uint64_t)fr >= c->ev.size / 2;
	}
	return 0;
}
