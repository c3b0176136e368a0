/*
 * server.c — the hub (see server.h): listening socket, signals, the shared
 * awake page, the client list, and the loop hooks.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "deploy.h"
#include "ratelimit.h"
#include "handshake.h"
#include "log.h"
#include "ringside.h"
#include "stats.h"
#include "stream.h"
#include "upstream.h"

/* Submission queue entries: enough for a burst of accepts and client ops
 * between two submits; loop_sqe flushes when it runs out anyway. */
#define SRV_RING_ENTRIES 1024

/* How long shutdown waits for the kernel to return cancelled requests. */
#define SRV_DRAIN_MS 2000

/* ---- client list ------------------------------------------------------------- */

void srv_add_client(struct srv *s, struct client *c)
{
	c->prev = NULL;
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
}

void srv_remove_client(struct srv *s, struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	s->n_clients--;
	if (c->dirty) {
		struct client **pp = &s->dirty;
		while (*pp && *pp != c)
			pp = &(*pp)->dirty_next;
		if (*pp)
			*pp = c->dirty_next;
		c->dirty = 0;
	}
}

void srv_mark_dirty(struct srv *s, struct client *c)
{
	c->dirty_next = s->dirty;
	s->dirty = c;
}

/* Kick every client we wrote events to and that sleeps: one check per
 * client per loop pass, not one per event. */
static void srv_flush_dirty(struct srv *s)
{
	struct client *c = s->dirty;
	s->dirty = NULL;
	while (c) {
		struct client *next = c->dirty_next;
		client_kick(c);
		c = next;
	}
}

/* ---- loop hooks ------------------------------------------------------------- */

struct up_pool *srv_pool(const struct srv *s, const struct cfg_provider *p)
{
	size_t i = (size_t)(p - s->cfg->providers);
	return s->pools && i < s->cfg->n_providers ? s->pools[i] : NULL;
}

size_t srv_render_pools(const struct srv *s, char *buf, size_t len)
{
	size_t n = 0;
	if (len)
		buf[0] = 0;
	for (size_t i = 0; s->pools && i < s->cfg->n_providers; i++) {
		if (!s->pools[i])
			continue;
		const struct up_stats *st = up_pool_stats(s->pools[i]);
		const char *name = s->cfg->providers[i].name;
		int w = snprintf(buf + n, len - n,
				 "upstream_requests{provider=\"%s\"} %llu\n"
				 "upstream_conns_new{provider=\"%s\"} %llu\n"
				 "upstream_conns_reused{provider=\"%s\"} %llu\n"
				 "upstream_failures{provider=\"%s\"} %llu\n"
				 "upstream_aborted{provider=\"%s\"} %llu\n"
				 "upstream_h2{provider=\"%s\"} %llu\n"
				 "upstream_active{provider=\"%s\"} %u\n",
				 name, (unsigned long long)st->requests, name,
				 (unsigned long long)st->conns_new, name,
				 (unsigned long long)st->conns_reused, name,
				 (unsigned long long)st->failures, name,
				 (unsigned long long)st->aborted, name, (unsigned long long)st->h2, name,
				 st->active);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	return n;
}

static int srv_poll(void *arg)
{
	struct srv *s = arg;
	int work = 0;
	for (struct client *c = s->clients, *next; c; c = next) {
		next = c->next;
		work += client_poll(c);
	}
	/* After the clients: a request they just submitted asked curl for a
	 * 0 ms timer, and running it in this same pass sends the request
	 * before we spend time waking anybody. */
	for (size_t i = 0; s->pools && i < s->cfg->n_providers; i++)
		if (s->pools[i])
			work += up_pool_poll(s->pools[i]);
	srv_flush_dirty(s);
	return work;
}

static int srv_before_sleep(void *arg)
{
	struct srv *s = arg;
	srv_flush_dirty(s);
	__atomic_store_n(&s->awake->sleeping, 1, __ATOMIC_RELAXED);
	for (struct client *c = s->clients; c; c = c->next)
		client_sleep_arm(c);
	/* Pairs with the fence each client issues between publishing and
	 * reading `sleeping` (rs_kick_sidecar): one of us sees the other. */
	atomic_thread_fence(memory_order_seq_cst);
	for (struct client *c = s->clients; c; c = c->next)
		if (client_has_work(c))
			return 1;
	for (size_t i = 0; s->pools && i < s->cfg->n_providers; i++)
		if (s->pools[i] && up_pool_pending(s->pools[i]))
			return 1;
	return 0;
}

static void srv_after_wake(void *arg)
{
	struct srv *s = arg;
	if (!s->awake_always)
		__atomic_store_n(&s->awake->sleeping, 0, __ATOMIC_RELAXED);
	stats.loop_wakeups++;
	stats.loop_sleeps = s->loop.sleeps;
	stats.loop_spins_skipped = s->loop.spins_skipped;
}

/* A stream open (a client's, or an upstream attempt) means an answer is on
 * its way: the loop keeps spinning for it (loop.h). */
static int srv_busy(void *arg)
{
	(void)arg;
	return stats.streams_active != 0;
}

/* How far the clients have read their event rings, summed: moves whenever
 * one of them reads (loop.h: the progress hook). */
static uint64_t srv_progress(void *arg)
{
	const struct srv *s = arg;
	uint64_t sum = 0;
	for (const struct client *c = s->clients; c; c = c->next)
		if (!c->closing)
			sum += ring_consumed(&c->ev);
	return sum;
}

/* ---- listening and signals ---------------------------------------------------- */

static void srv_arm_accept(struct srv *s);

static void srv_on_accept(struct loop_op *op, int res, unsigned flags)
{
	struct srv *s = (struct srv *)((char *)op - offsetof(struct srv, accept_op));
	if (!(flags & IORING_CQE_F_MORE))
		s->accept_live = 0;
	if (res >= 0) {
		if (s->stopping)
			close(res);
		else
			hs_begin(s, res);
	} else if (res != -ECANCELED) {
		log_warn("accept failed: %s", strerror(-res));
	}
	if (!s->accept_live && !s->stopping)
		srv_arm_accept(s);
}

static void srv_arm_accept(struct srv *s)
{
	struct io_uring_sqe *sqe = loop_sqe(&s->loop);
	io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	s->accept_op.cb = srv_on_accept;
	loop_sqe_op(sqe, &s->accept_op);
	s->accept_live = 1;
}

static void srv_arm_signal(struct srv *s);

static void srv_on_signal(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct srv *s = (struct srv *)((char *)op - offsetof(struct srv, sig_op));
	s->sig_live = 0;
	if (res == (int)sizeof s->sig_buf) {
		log_info("received %s, shutting down", strsignal((int)s->sig_buf.ssi_signo));
		s->stopping = 1;
		loop_stop(&s->loop);
		return;
	}
	if (res != -ECANCELED && !s->stopping)
		srv_arm_signal(s);
}

static void srv_arm_signal(struct srv *s)
{
	struct io_uring_sqe *sqe = loop_sqe(&s->loop);
	io_uring_prep_read(sqe, s->sig_fd, &s->sig_buf, sizeof s->sig_buf, 0);
	s->sig_op.cb = srv_on_signal;
	loop_sqe_op(sqe, &s->sig_op);
	s->sig_live = 1;
}

/* A just-killed sidecar's socket still accepts connections for a few
 * milliseconds while the kernel tears its io_uring down: only a peer that
 * answers a STATS query is alive. Start-up only, so blocking is fine. */
#define SRV_PROBE_MS 1000

static int srv_peer_answers(int fd)
{
	struct proto_hello h = { .magic = PROTO_MAGIC, .abi = PROTO_ABI, .op = PROTO_OP_STATS };
	if (send(fd, &h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h)
		return 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, SRV_PROBE_MS) <= 0)
		return 1; /* alive but slow: still not ours to take */
	char b[64];
	return recv(fd, b, sizeof b, MSG_DONTWAIT) > 0;
}

static int srv_listen(struct srv *s, const char *path)
{
	const struct cfg *cfg = s->cfg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		log_error("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	snprintf(s->sock_path, sizeof s->sock_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket file from a crashed sidecar: reuse the path only if
	 * nobody answers on it, never steal a live sidecar's socket. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		if (srv_peer_answers(fd)) {
			log_error("another ringside is already listening on %s", path);
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);
	} else if (errno == ECONNREFUSED) {
		unlink(path);
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Create the file with no permissions for others, then open it up to
	 * exactly the configured mode: no window where it is wider. */
	mode_t old = umask(0777 & ~0700);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0) {
		rc = -errno;
		log_error("cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (cfg->listen.group && cfg->listen.group[0] &&
	    chown(path, (uid_t)-1, cfg->listen.gid) < 0) {
		rc = -errno;
		log_error("cannot give %s to group %s: %s", path, cfg->listen.group, strerror(errno));
		goto fail;
	}
	if (chmod(path, cfg->listen.mode) < 0 || listen(fd, 512) < 0) {
		rc = -errno;
		log_error("cannot set up %s: %s", path, strerror(errno));
		goto fail;
	}
	s->listen_fd = fd;
	return 0;
fail:
	close(fd);
	unlink(path);
	return rc;
}

/* The page clients read to learn whether we sleep. Sealed against future
 * writable mappings so no client can map it writable and lie to the others
 * about our state; on a kernel without F_SEAL_FUTURE_WRITE it says "asleep"
 * forever, which costs clients a bell write per submit but stays correct. */
static int srv_awake_page(struct srv *s)
{
	int fd = memfd_create("ringside-awake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, SEG_PAGE) < 0)
		goto fail;
	void *p = mmap(NULL, SEG_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	s->awake = p;
	s->awake_fd = fd;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
		log_warn("kernel cannot seal the awake page read-only (%s): clients will always ring",
			 strerror(errno));
		s->awake_always = 1;
		__atomic_store_n(&s->awake->sleeping, 1, __ATOMIC_RELAXED);
	}
	return 0;
fail:
	close(fd);
	return -errno;
}

/* Each client holds four descriptors here; make room for max_clients. */
static void srv_raise_nofile(const struct cfg *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = (rlim_t)cfg->limits.max_clients * 4 + 64;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		log_warn("open file limit %llu is below what max_clients=%u needs (%llu)",
			 (unsigned long long)rl.rlim_cur, cfg->limits.max_clients,
			 (unsigned long long)want);
}

int srv_init(struct srv *s, const struct cfg *cfg, const char *sock_path)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->listen_fd = s->sig_fd = s->awake_fd = -1;
	stats.start_ns = loop_clock_ns();
	srv_raise_nofile(cfg);
	int rc = loop_init(&s->loop, SRV_RING_ENTRIES, (uint64_t)cfg->limits.spin_us * 1000u);
	if (rc) {
		log_error("io_uring setup failed: %s", strerror(-rc));
		return rc;
	}
	s->loop.hooks = (struct loop_hooks){ .poll = srv_poll, .before_sleep = srv_before_sleep,
					     .after_wake = srv_after_wake, .busy = srv_busy,
					     .progress = srv_progress, .arg = s };
	rc = srv_awake_page(s);
	if (rc) {
		log_error("cannot create the awake page: %s", strerror(-rc));
		return rc;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		return -errno;
	s->pools = calloc(cfg->n_providers ? cfg->n_providers : 1, sizeof *s->pools);
	if (!s->pools)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_providers; i++) {
		if (cfg->providers[i].kind == CFG_KIND_MOCK)
			continue;
		s->pools[i] = up_pool_new(&s->loop, &cfg->providers[i]);
		if (!s->pools[i])
			return -ENOMEM;
	}
	s->deps = dep_new_all(cfg, loop_clock_ns(), &s->n_deps);
	s->alias_rr = calloc(cfg->n_models ? cfg->n_models : 1, sizeof *s->alias_rr);
	if ((cfg->n_deployments && !s->deps) || !s->alias_rr)
		return -ENOMEM;
	s->tenant_rl = calloc(cfg->n_tenants ? cfg->n_tenants : 1, sizeof *s->tenant_rl);
	if (!s->tenant_rl)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_tenants; i++) {
		const struct cfg_tenant *t = &cfg->tenants[i];
		struct rl_limits lim = { .max_concurrent = t->max_concurrent, .rpm = t->rpm,
					 .tpm = t->tpm };
		rl_init(&s->tenant_rl[i], &lim, loop_clock_ns());
	}
	rc = srv_listen(s, sock_path);
	if (rc)
		return rc;
	srv_arm_accept(s);
	srv_arm_signal(s);
	log_info("listening on %s (io_uring flags 0x%x, spin %u us)", s->sock_path,
		 s->loop.setup_flags, cfg->limits.spin_us);
	return 0;
}

/* Shutdown: every open stream gets ERROR(shutdown) if its ring has room,
 * clients are closed (they see EOF), and we wait for the kernel to hand back
 * every cancelled request so that nothing is freed under it. */
static void srv_shutdown(struct srv *s)
{
	s->stopping = 1;
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		s->listen_fd = -1;
		unlink(s->sock_path);
	}
	if (s->accept_live)
		loop_cancel(&s->loop, &s->accept_op);
	if (s->sig_live)
		loop_cancel(&s->loop, &s->sig_op);
	for (struct client *c = s->clients; c; c = c->next) {
		/* Ending a stream may free it and shift another into slot i. */
		for (uint32_t i = 0; i <= c->map_mask; i++) {
			struct stream *st;
			while ((st = c->map[i]) && !st->ending)
				stream_end_error(st, RS_ERR_SHUTDOWN, 0, 1, "the sidecar is shutting down");
		}
	}
	srv_flush_dirty(s);
	while (s->clients)
		client_close(s->clients, "sidecar shutting down");
	/* Streams are gone; their transfers were released. Close the pools:
	 * curl closes its sockets and their polls come back below. */
	for (size_t i = 0; s->pools && i < s->cfg->n_providers; i++) {
		if (s->pools[i])
			up_pool_poll(s->pools[i]);
		up_pool_free(s->pools[i]);
		s->pools[i] = NULL;
	}
	uint64_t until = loop_clock_ns() + (uint64_t)SRV_DRAIN_MS * 1000000u;
	while ((s->n_pending || s->accept_live || s->sig_live || up_live_socks()) &&
	       loop_clock_ns() < until) {
		struct __kernel_timespec ts = { .tv_nsec = 10 * 1000000 };
		struct io_uring_cqe *cqe;
		io_uring_submit_and_wait_timeout(&s->loop.ring, &cqe, 1, &ts, NULL);
		struct io_uring_cqe *cqes[64];
		unsigned n = io_uring_peek_batch_cqe(&s->loop.ring, cqes, 64);
		for (unsigned i = 0; i < n; i++) {
			struct loop_op *op = io_uring_cqe_get_data(cqes[i]);
			if (op)
				op->cb(op, cqes[i]->res, cqes[i]->flags);
		}
		io_uring_cq_advance(&s->loop.ring, n);
		/* Handshakes still waiting: their timers will not run now. */
		s->loop.now = loop_clock_ns() + (uint64_t)SRV_DRAIN_MS * 1000000u * 10;
		while (s->loop.nheap) {
			struct loop_timer *t = s->loop.heap[0];
			loop_timer_cancel(&s->loop, t);
			t->fn(t);
		}
	}
	if (s->n_pending)
		log_warn("shutdown: %u requests did not come back from the kernel", s->n_pending);
}

int srv_run(struct srv *s)
{
	int rc = loop_run(&s->loop);
	srv_shutdown(s);
	return rc;
}

void srv_free(struct srv *s)
{
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->sock_path);
	}
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->awake)
		munmap(s->awake, SEG_PAGE);
	if (s->awake_fd >= 0)
		close(s->awake_fd);
	if (s->pools) {
		for (size_t i = 0; i < s->cfg->n_providers; i++)
			up_pool_free(s->pools[i]);
		free(s->pools);
	}
	dep_free_all(s->deps);
	free(s->alias_rr);
	free(s->tenant_rl);
	loop_free(&s->loop);
}
