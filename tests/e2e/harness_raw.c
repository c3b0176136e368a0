/*
 * harness_raw.c — a client written directly on the shm/ layer, so tests can
 * send what libringside never would (oversized or corrupt frames) and watch
 * the sidecar's answer frame by frame (see harness.h). Never asserts.
 *
 * It is deliberately simple: it always rings the submit bell after writing
 * and polls for events with short sleeps instead of the futex-style
 * handshake libringside uses; the sidecar must cope with both.
 */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shm/frag.h"
#include "shm/proto.h"

/* Sleep between looks at a ring; the raw client is not about latency. */
#define H_RAW_POLL_MS 1

int h_raw_connect(const char *path, struct h_raw *r)
{
	memset(r, 0, sizeof *r);
	r->sock = r->sub_bell = r->ev_bell = r->awake_fd = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int rc;
	int fds[PROTO_NFDS];
	int nfds = 0;
	r->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (r->sock < 0)
		return -errno;
	if (connect(r->sock, (struct sockaddr *)&sa, sizeof sa) < 0)
		goto fail_errno;
	struct proto_hello h = { .magic = PROTO_MAGIC, .abi = PROTO_ABI, .op = PROTO_OP_HELLO };
	if (send(r->sock, &h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h)
		goto fail_errno;
	struct proto_welcome w;
	union {
		char buf[CMSG_SPACE(sizeof(int) * PROTO_NFDS)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = &w, .iov_len = sizeof w };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof cm.buf };
	struct pollfd p = { .fd = r->sock, .events = POLLIN };
	if (poll(&p, 1, H_WAIT_MS) != 1) {
		rc = -ETIMEDOUT;
		goto fail;
	}
	ssize_t n = recvmsg(r->sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		goto fail_errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && nfds < PROTO_NFDS; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	rc = -EPROTO;
	if (n != (ssize_t)sizeof w || w.magic != PROTO_MAGIC)
		goto fail;
	if (w.status) {
		rc = -ECONNREFUSED;
		goto fail;
	}
	if (nfds != PROTO_NFDS)
		goto fail;
	r->client_id = w.client_id;
	r->sub_bell = fds[PROTO_FD_SUB_BELL];
	r->ev_bell = fds[PROTO_FD_EV_BELL];
	r->awake_fd = fds[PROTO_FD_AWAKE];
	if (seg_attach(&r->seg, fds[PROTO_FD_SEG])) {
		close(fds[PROTO_FD_SEG]);
		nfds = 0;
		goto fail;
	}
	nfds = 0;
	if (ring_init_view(&r->sub, r->seg.sub_ctl, r->seg.sub_data, r->seg.hdr.sub_size, 1) ||
	    ring_init_view(&r->ev, r->seg.ev_ctl, r->seg.ev_data, r->seg.hdr.ev_size, 0))
		goto fail;
	return 0;
fail_errno:
	rc = -errno;
fail:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	h_raw_close(r);
	return rc;
}

void h_raw_close(struct h_raw *r)
{
	seg_detach(&r->seg);
	int fds[] = { r->sock, r->sub_bell, r->ev_bell, r->awake_fd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(r->buf);
	memset(r, 0, sizeof *r);
	r->sock = r->sub_bell = r->ev_bell = r->awake_fd = -1;
}

void h_raw_bell(struct h_raw *r)
{
	uint64_t one = 1;
	ssize_t n = write(r->sub_bell, &one, sizeof one);
	(void)n;
}

int h_raw_send(struct h_raw *r, uint16_t type, uint64_t stream, const void *p, size_t len)
{
	size_t done = 0;
	uint64_t until = h_now_ms() + H_WAIT_MS;
	for (;;) {
		int rc = frag_write(&r->sub, type, stream, p, len, &done);
		h_raw_bell(r);
		if (rc == 1)
			return 0;
		if (rc < 0)
			return -EPROTO;
		if (h_now_ms() >= until)
			return -ETIMEDOUT;
		h_sleep_ms(H_RAW_POLL_MS);
	}
}

int h_raw_request(struct h_raw *r, uint64_t stream, const char *model, const char *body,
		  size_t body_len)
{
	size_t ml = strlen(model);
	struct proto_request h = { .model_len = (uint16_t)ml, .body_len = (uint32_t)body_len };
	size_t total = sizeof h + ml + body_len;
	uint8_t *msg = malloc(total);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, &h, sizeof h);
	memcpy(msg + sizeof h, model, ml);
	memcpy(msg + sizeof h + ml, body, body_len);
	int rc = h_raw_send(r, PROTO_REQUEST, stream, msg, total);
	free(msg);
	return rc;
}

/* Decode a private copy of one event payload, as libringside does. */
static int h_raw_decode(const struct ring_frame *f, const uint8_t *p, struct rs_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->stream = f->stream;
	switch (f->type) {
	case PROTO_START: {
		struct proto_start s;
		if (f->len < sizeof s)
			return -EPROTO;
		memcpy(&s, p, sizeof s);
		if (sizeof s + s.provider_len + s.model_len > f->len)
			return -EPROTO;
		ev->type = RS_EV_START;
		ev->start.provider = (const char *)p + sizeof s;
		ev->start.provider_len = s.provider_len;
		ev->start.model = ev->start.provider + s.provider_len;
		ev->start.model_len = s.model_len;
		ev->start.attempt = s.attempt;
		ev->start.cache_hit = !!(s.flags & PROTO_START_CACHE_HIT);
		return 0;
	}
	case PROTO_DELTA:
		ev->type = RS_EV_DELTA;
		ev->text = (const char *)p;
		ev->text_len = f->len;
		return 0;
	case PROTO_USAGE: {
		struct proto_usage u;
		if (f->len < sizeof u)
			return -EPROTO;
		memcpy(&u, p, sizeof u);
		ev->type = RS_EV_USAGE;
		ev->usage.prompt_tokens = u.prompt_tokens;
		ev->usage.completion_tokens = u.completion_tokens;
		ev->usage.total_tokens = u.total_tokens;
		return 0;
	}
	case PROTO_DONE: {
		struct proto_done d;
		if (f->len < sizeof d)
			return -EPROTO;
		memcpy(&d, p, sizeof d);
		if (sizeof d + d.reason_len > f->len)
			return -EPROTO;
		ev->type = RS_EV_DONE;
		ev->text = (const char *)p + sizeof d;
		ev->text_len = d.reason_len;
		return 0;
	}
	case PROTO_ERROR: {
		struct proto_error e;
		if (f->len < sizeof e)
			return -EPROTO;
		memcpy(&e, p, sizeof e);
		if (sizeof e + e.msg_len > f->len)
			return -EPROTO;
		ev->type = RS_EV_ERROR;
		ev->error.code = e.code;
		ev->error.http_status = e.http_status;
		ev->error.retryable = e.retryable;
		ev->text = (const char *)p + sizeof e;
		ev->text_len = e.msg_len;
		return 0;
	}
	default:
		/* Reported as its raw type so a test sees the unexpected. */
		ev->type = 1000 + f->type;
		return 0;
	}
}

static int h_raw_sock_eof(struct h_raw *r)
{
	struct pollfd p = { .fd = r->sock, .events = POLLIN | POLLRDHUP };
	if (poll(&p, 1, 0) != 1)
		return 0;
	char b[16];
	ssize_t n = recv(r->sock, b, sizeof b, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

int h_raw_next(struct h_raw *r, struct rs_event *ev, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		struct ring_frame f;
		const uint8_t *p;
		int rc = ring_peek(&r->ev, &f, &p);
		if (rc < 0)
			return -EPROTO;
		if (rc > 0) {
			if (f.len > r->cap) {
				free(r->buf);
				r->cap = f.len;
				r->buf = malloc(r->cap);
				if (!r->buf)
					return -ENOMEM;
			}
			memcpy(r->buf, p, f.len);
			ring_release(&r->ev);
			/* The sidecar may have paused on a full ring and wait
			 * for exactly this kick. */
			if (ring_producer_blocked(&r->ev))
				h_raw_bell(r);
			return h_raw_decode(&f, r->buf, ev) ? -EPROTO : 1;
		}
		/* EOF with events still committed: read those first. */
		if (h_raw_sock_eof(r) && !ring_maybe_nonempty(&r->ev))
			return -EPIPE;
		if (h_now_ms() >= until)
			return 0;
		h_sleep_ms(H_RAW_POLL_MS);
	}
}

int h_raw_wait_eof(struct h_raw *r, int ms)
{
	struct pollfd p = { .fd = r->sock, .events = POLLIN | POLLRDHUP };
	uint64_t until = h_now_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t now = h_now_ms();
		if (now >= until)
			return 0;
		int n = poll(&p, 1, (int)(until - now));
		if (n < 0 && errno != EINTR)
			return 0;
		if (n == 1) {
			char b[16];
			ssize_t k = recv(r->sock, b, sizeof b, MSG_DONTWAIT);
			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
				return 1;
		}
	}
}

int h_raw_drain(struct h_raw *r, struct h_set *set, int timeout_ms)
{
	while (set->open) {
		struct rs_event ev;
		int rc = h_raw_next(r, &ev, timeout_ms);
		if (rc <= 0)
			return rc ? rc : -ETIMEDOUT;
		h_set_event(set, &ev);
	}
	return 0;
}
