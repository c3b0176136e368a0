/*
 * server.h — one mockllm worker: a listening socket, an epoll loop, the
 * deadline heap and the connections it owns.
 *
 * Workers share nothing but the stats registry and a stop eventfd. With
 * -t N each has its own SO_REUSEPORT listener on the same port, so the
 * kernel spreads connections and no lock is taken on the request path.
 */
#ifndef ML_SERVER_H
#define ML_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "stats.h"
#include "timer.h"

/* What an epoll event's data.ptr points to: every source starts with one. */
enum ml_src_kind { ML_SRC_CONN, ML_SRC_LISTEN, ML_SRC_STOP, ML_SRC_SIGNAL };

struct ml_src {
	enum ml_src_kind kind;
};

struct ml_conn;

struct ml_worker {
	int id;
	int ep;       /* epoll instance */
	int lfd;      /* listening socket */
	int stop_fd;  /* eventfd shared by all workers: readable means stop */
	int sig_fd;   /* signalfd for SIGTERM/SIGINT (worker 0), else -1 */
	int spare_fd; /* kept open to shed a connection when out of fds */
	bool quiet;
	bool stop;
	uint64_t now; /* CLOCK_MONOTONIC ns, refreshed once per loop turn */
	struct ml_heap timers;
	struct ml_stats stats;
	struct ml_conn *conns; /* open connections */
	struct ml_conn *pool;  /* closed connections kept with their buffers */
	size_t npool;
	struct ml_buf scratch; /* response heads are built here */
	struct ml_src lsn_src, stop_src, sig_src;
	pthread_t thread;
};

/*
 * Set up worker w listening on 127.0.0.1:port (0: ephemeral). reuseport
 * lets the other workers bind the same port. Returns the bound port, or
 * -errno with the reason printed.
 */
int ml_worker_init(struct ml_worker *w, int id, int port, bool reuseport, int stop_fd, int sig_fd,
		   bool quiet);

/* Serve until the stop eventfd or the signalfd fires. */
void ml_worker_run(struct ml_worker *w);

/* Close every connection and descriptor and free everything. */
void ml_worker_fini(struct ml_worker *w);

uint64_t ml_now_ns(void);

#endif
