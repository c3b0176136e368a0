/*
 * server.h — the hub: the listening socket, signals, the shared "awake"
 * page, the list of clients, and the loop hooks that tie them together.
 */
#ifndef RINGSIDE_SERVER_H
#define RINGSIDE_SERVER_H

#include <stdint.h>
#include <sys/signalfd.h>

#include "config.h"
#include "loop.h"
#include "shm/proto.h"
#include "shm/sockpath.h"

struct client;
struct cfg_provider;
struct up_pool;
struct dep;
struct rl;
struct route;

struct srv {
	struct loop loop;
	const struct cfg *cfg;
	char sock_path[SOCKPATH_MAX];
	int listen_fd;
	struct loop_op accept_op;
	int accept_live;
	int sig_fd;
	struct loop_op sig_op;
	struct signalfd_siginfo sig_buf;
	int sig_live;
	int awake_fd;                 /* memfd, handed to clients read-only */
	struct proto_awake *awake;
	int awake_always;             /* could not seal read-only: clients always ring */
	struct client *clients;
	uint32_t n_clients;
	uint32_t n_pending;           /* connections still in the handshake */
	struct client *dirty;
	uint64_t next_client_id;
	int stopping;
	struct up_pool **pools;       /* per provider index; NULL for mock */
	struct dep *deps;             /* per cfg->deployments index (deploy.h) */
	size_t n_deps;
	uint32_t *alias_rr;           /* per model alias: round-robin counter */
	struct rl *tenant_rl;         /* per cfg->tenants index: its limits' state */
	struct route *waiting;        /* routes waiting for a target (route.c) */
	uint32_t n_waiting;
};

/* Set up everything up to a listening socket. sock_path: the path to use
 * (already resolved from $RINGSIDE_SOCKET / config / default). 0 or -errno,
 * with a log line saying what failed. */
int srv_init(struct srv *s, const struct cfg *cfg, const char *sock_path);

/* Run until SIGINT/SIGTERM. Returns 0 or -errno. */
int srv_run(struct srv *s);

/* Close everything and unlink the socket. */
void srv_free(struct srv *s);

/* Client list management for client.c and handshake.c. */
void srv_add_client(struct srv *s, struct client *c);
void srv_remove_client(struct srv *s, struct client *c);
void srv_mark_dirty(struct srv *s, struct client *c);

/* Per-provider upstream counters as "key value" lines (for STATS). */
size_t srv_render_pools(const struct srv *s, char *buf, size_t len);

/* The connection pool of an HTTP provider (NULL for mock). */
struct up_pool *srv_pool(const struct srv *s, const struct cfg_provider *p);

#endif
