/*
 * server.c — a worker's listener and event loop (see server.h).
 *
 * Connections are registered once, edge-triggered for both directions, so
 * the loop makes no epoll_ctl call per request or per write. The loop sleeps
 * in epoll_pwait2 with a nanosecond timeout up to the earliest deadline, so
 * inter-token pacing below a millisecond holds without a timerfd.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

/* Events taken per epoll wait. */
#define ML_EVENTS 256
/* Listen backlog: a benchmark opens hundreds of connections at once. */
#define ML_BACKLOG 4096

uint64_t ml_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int watch(struct ml_worker *w, int fd, struct ml_src *src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int listen_on(int port, bool reuseport)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, ML_BACKLOG) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int ml_worker_init(struct ml_worker *w, int id, int port, bool reuseport, int stop_fd, int sig_fd,
		   bool quiet)
{
	memset(w, 0, sizeof *w);
	w->ep = w->lfd = -1;
	w->id = id;
	w->stop_fd = stop_fd;
	w->sig_fd = sig_fd;
	w->quiet = quiet;
	w->lsn_src.kind = ML_SRC_LISTEN;
	w->stop_src.kind = ML_SRC_STOP;
	w->sig_src.kind = ML_SRC_SIGNAL;
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0) {
		int e = errno;
		fprintf(stderr, "mockllm: epoll_create1: %s\n", strerror(e));
		return -e;
	}
	w->lfd = listen_on(port, reuseport);
	if (w->lfd < 0) {
		fprintf(stderr, "mockllm: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(-w->lfd));
		return w->lfd;
	}
	if (watch(w, w->lfd, &w->lsn_src) < 0 || watch(w, stop_fd, &w->stop_src) < 0 ||
	    (sig_fd >= 0 && watch(w, sig_fd, &w->sig_src) < 0)) {
		int e = errno;
		fprintf(stderr, "mockllm: epoll_ctl: %s\n", strerror(e));
		return -e;
	}
	ml_stats_register(&w->stats);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	if (getsockname(w->lfd, (struct sockaddr *)&sa, &sl) < 0)
		return -errno;
	return ntohs(sa.sin_port);
}

/* Out of descriptors: accept with the spare one and close at once, so the
 * level-triggered listener does not spin on a connection it cannot take. */
static void shed_one(struct ml_worker *w)
{
	if (w->spare_fd < 0)
		return;
	close(w->spare_fd);
	int fd = accept(w->lfd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!w->quiet)
		fprintf(stderr, "mockllm: out of file descriptors, dropped a connection\n");
}

static void worker_accept(struct ml_worker *w)
{
	for (;;) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			ml_conn_open(w, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE)
			shed_one(w);
		return;
	}
}

static void worker_signal(struct ml_worker *w)
{
	struct signalfd_siginfo si;
	if (read(w->sig_fd, &si, sizeof si) != (ssize_t)sizeof si)
		return;
	/* Wake every worker: the eventfd stays readable (it is never read),
	 * and each loop watches it level-triggered. */
	uint64_t one = 1;
	if (write(w->stop_fd, &one, sizeof one) < 0 && !w->quiet)
		fprintf(stderr, "mockllm: stop eventfd: %s\n", strerror(errno));
	w->stop = true;
}

/* epoll_pwait2 (Linux 5.11) with a fallback to millisecond epoll_wait. */
static int wait_events(struct ml_worker *w, struct epoll_event *ev, uint64_t next)
{
	static _Atomic int no_pwait2;
	uint64_t d = next == UINT64_MAX ? UINT64_MAX : (next > w->now ? next - w->now : 0);
	if (!no_pwait2) {
		struct timespec ts = { .tv_sec = (time_t)(d / 1000000000u), .tv_nsec = (long)(d % 1000000000u) };
		int n = epoll_pwait2(w->ep, ev, ML_EVENTS, d == UINT64_MAX ? NULL : &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		no_pwait2 = 1;
	}
	/* Round up so a deadline is never missed by waking a little early. */
	int ms = d == UINT64_MAX ? -1 : (int)((d + 999999u) / 1000000u);
	return epoll_wait(w->ep, ev, ML_EVENTS, ms);
}

void ml_worker_run(struct ml_worker *w)
{
	struct epoll_event ev[ML_EVENTS];
	while (!w->stop) {
		w->now = ml_now_ns();
		int n = wait_events(w, ev, ml_heap_next(&w->timers));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ml_die("epoll wait failed: %s", strerror(errno));
		}
		w->now = ml_now_ns();
		for (int i = 0; i < n; i++) {
			struct ml_src *src = ev[i].data.ptr;
			switch (src->kind) {
			case ML_SRC_CONN:
				ml_conn_on_event((struct ml_conn *)src, ev[i].events);
				break;
			case ML_SRC_LISTEN:
				worker_accept(w);
				break;
			case ML_SRC_STOP:
				w->stop = true;
				break;
			case ML_SRC_SIGNAL:
				worker_signal(w);
				break;
			}
		}
		/* Timers armed while running these (now + 1) wait a turn, so
		 * a yielding reply cannot starve the sockets. */
		uint64_t now = w->now;
		struct ml_timer *t;
		while ((t = ml_heap_pop_due(&w->timers, now))) {
			struct ml_conn *c = (struct ml_conn *)((char *)t - offsetof(struct ml_conn, timer));
			ml_conn_on_timer(c);
		}
	}
}

void ml_worker_fini(struct ml_worker *w)
{
	while (w->conns)
		ml_conn_destroy(w->conns);
	ml_conn_pool_free(w);
	ml_heap_free(&w->timers);
	ml_buf_free(&w->scratch);
	if (w->lfd >= 0)
		close(w->lfd);
	if (w->ep >= 0)
		close(w->ep);
	if (w->spare_fd >= 0)
		close(w->spare_fd);
}
