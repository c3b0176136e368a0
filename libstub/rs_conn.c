/*
 * rs_conn.c — connecting to the sidecar: the socket handshake, attaching the
 * segment it hands us, closing, and the one-shot stats query.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rs_internal.h"
#include "shm/sockpath.h"

static int rs_dial(const char *path, int *out)
{
	char buf[SOCKPATH_MAX];
	if (!path || !path[0]) {
		if (sockpath_resolve(buf, sizeof buf))
			return RS_EINVAL;
		path = buf;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return RS_EINVAL;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return RS_ESYS;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			return RS_ENOSIDECAR;
		if (e == EACCES || e == EPERM)
			return RS_EREFUSED;
		return RS_ESYS;
	}
	*out = fd;
	return RS_OK;
}

static int rs_send_hello(int fd, uint32_t op)
{
	struct proto_hello h = { .magic = PROTO_MAGIC, .abi = PROTO_ABI, .op = op };
	ssize_t n = send(fd, &h, sizeof h, MSG_NOSIGNAL);
	return n == (ssize_t)sizeof h ? RS_OK : RS_EDISCONNECTED;
}

/* Wait for the socket to become readable within the handshake timeout. */
static int rs_wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		int n = poll(&p, 1, RS_HANDSHAKE_TIMEOUT_MS);
		if (n > 0)
			return RS_OK;
		if (n == 0)
			return RS_ETIMEDOUT;
		if (errno != EINTR)
			return RS_ESYS;
	}
}

/* Receive WELCOME and its fds. On success fds[] holds PROTO_NFDS open fds. */
static int rs_recv_welcome(int fd, struct proto_welcome *w, int fds[PROTO_NFDS])
{
	int rc = rs_wait_readable(fd);
	if (rc)
		return rc;
	union {
		char buf[CMSG_SPACE(sizeof(int) * PROTO_NFDS)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = w, .iov_len = sizeof *w };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return RS_EDISCONNECTED;
	int nfds = 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *p = (int *)(void *)CMSG_DATA(h);
		for (int i = 0; i < k; i++) {
			if (nfds < PROTO_NFDS)
				fds[nfds++] = p[i];
			else
				close(p[i]);
		}
	}
	rc = RS_EPROTO;
	if (n != (ssize_t)sizeof *w || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    w->magic != PROTO_MAGIC)
		goto fail;
	if (w->abi != PROTO_ABI) {
		rc = RS_EVERSION;
		goto fail;
	}
	if (w->status != 0) {
		rc = RS_EREFUSED;
		goto fail;
	}
	if (nfds != PROTO_NFDS)
		goto fail;
	return RS_OK;
fail:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return rc;
}

static int rs_map_awake(struct rs_client *c, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct proto_awake))
		return RS_EPROTO;
	void *p = mmap(NULL, sizeof(struct proto_awake), PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return RS_EPROTO;
	c->awake = p;
	return RS_OK;
}

static uint64_t rs_spin_ns_from_env(void)
{
	const char *s = getenv("RINGSIDE_SPIN_US");
	if (!s || !*s)
		return RS_SPIN_NS_DEFAULT;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > 1000000)
		return RS_SPIN_NS_DEFAULT;
	return (uint64_t)v * 1000;
}

static int rs_epoll_setup(struct rs_client *c)
{
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return RS_ESYS;
	/* Edge-triggered bell: each kick is one edge, consumed by epoll_wait,
	 * so we never need a read() to reset the eventfd. The socket is level:
	 * once the sidecar is gone it stays readable. */
	struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.u32 = 1 };
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->ev_bell, &e) < 0)
		return RS_ESYS;
	e.events = EPOLLIN | EPOLLRDHUP;
	e.data.u32 = 2;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->sock, &e) < 0)
		return RS_ESYS;
	return RS_OK;
}

RS_API int rs_connect(const char *socket_path, rs_client **out)
{
	if (!out)
		return RS_EINVAL;
	*out = NULL;
	struct rs_client *c = calloc(1, sizeof *c);
	if (!c)
		return RS_ENOMEM;
	c->sock = c->epfd = c->sub_bell = c->ev_bell = -1;
	c->next_stream = 1;
	c->spin_ns = rs_spin_ns_from_env();

	int fds[PROTO_NFDS];
	struct proto_welcome w;
	int rc = rs_dial(socket_path, &c->sock);
	if (rc)
		goto fail;
	rc = rs_send_hello(c->sock, PROTO_OP_HELLO);
	if (rc)
		goto fail;
	rc = rs_recv_welcome(c->sock, &w, fds);
	if (rc)
		goto fail;
	c->sub_bell = fds[PROTO_FD_SUB_BELL];
	c->ev_bell = fds[PROTO_FD_EV_BELL];
	rc = rs_map_awake(c, fds[PROTO_FD_AWAKE]);
	close(fds[PROTO_FD_AWAKE]);
	if (rc) {
		close(fds[PROTO_FD_SEG]);
		goto fail;
	}
	if (seg_attach(&c->seg, fds[PROTO_FD_SEG])) {
		close(fds[PROTO_FD_SEG]);
		rc = RS_EPROTO;
		goto fail;
	}
	rc = RS_EPROTO;
	if (ring_init_view(&c->sub, c->seg.sub_ctl, c->seg.sub_data, c->seg.hdr.sub_size, 1) ||
	    ring_init_view(&c->ev, c->seg.ev_ctl, c->seg.ev_data, c->seg.hdr.ev_size, 0))
		goto fail;
	if (c->seg.hdr.max_streams > (1u << 24))
		goto fail;
	c->max_streams = c->seg.hdr.max_streams;
	c->max_request = c->seg.hdr.max_request;
	uint32_t cap = 16;
	while (cap < 2 * c->max_streams)
		cap <<= 1;
	c->open = calloc(cap, sizeof *c->open);
	rc = RS_ENOMEM;
	if (!c->open)
		goto fail;
	c->open_mask = cap - 1;
	rc = rs_epoll_setup(c);
	if (rc)
		goto fail;
	*out = c;
	return RS_OK;
fail:
	rs_close(c);
	return rc;
}

RS_API void rs_close(rs_client *c)
{
	if (!c)
		return;
	seg_detach(&c->seg);
	if (c->awake)
		munmap((void *)c->awake, sizeof(struct proto_awake));
	int fds[] = { c->sock, c->epfd, c->sub_bell, c->ev_bell };
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(c->open);
	free(c->scratch);
	free(c);
}

RS_API int rs_fd(const rs_client *c)
{
	return c ? c->epfd : -1;
}

RS_API int rs_stats(const char *socket_path, char *buf, size_t len)
{
	if (!buf || len == 0)
		return RS_EINVAL;
	buf[0] = 0;
	int fd;
	int rc = rs_dial(socket_path, &fd);
	if (rc)
		return rc;
	rc = rs_send_hello(fd, PROTO_OP_STATS);
	if (!rc)
		rc = rs_wait_readable(fd);
	if (!rc) {
		ssize_t n = recv(fd, buf, len - 1, 0);
		if (n <= 0)
			rc = RS_EDISCONNECTED;
		else
			buf[n] = 0;
	}
	close(fd);
	return rc;
}
