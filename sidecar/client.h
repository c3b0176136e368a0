/*
 * client.h — one attached application: its segment, its bells, its socket,
 * the requests it submits and the streams it has open.
 *
 * The sidecar never waits on a client: it reacts only to what the client
 * committed to its submit ring, and a client that breaks the protocol loses
 * its own connection and nothing else. The client's death (socket EOF) drops
 * its streams and frees everything it held.
 */
#ifndef RINGSIDE_CLIENT_H
#define RINGSIDE_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "loop.h"
#include "shm/frag.h"
#include "shm/ring.h"
#include "shm/seg.h"

struct srv;
struct stream;

struct rl;

struct client {
	struct srv *srv;
	uint64_t id;
	int sock;
	int sub_bell;                 /* client rings it; we poll it */
	int ev_bell;                  /* we ring it when the client sleeps */
	pid_t pid;
	uid_t uid;
	struct rl *tenant;            /* its tenant's limits (config.h), or NULL */
	struct seg seg;
	struct ring sub;              /* we consume */
	struct ring ev;               /* we produce */
	struct frag_buf frag;         /* REQUEST reassembly */
	struct loop_op sock_op;
	struct loop_op bell_op;
	int ops_pending;              /* completions still owed to us */
	uint8_t closing;              /* torn down; waiting for ops */
	uint8_t doomed;               /* close at the next safe point */
	uint8_t dirty;                /* events written since the last kick check */
	const char *doom_reason;
	struct stream **map;          /* open streams by id */
	uint32_t map_mask;
	uint32_t n_streams;
	uint32_t max_streams;
	struct stream *blk_head, *blk_tail; /* streams waiting for ring room */
	struct client *next, *prev;   /* srv's list */
	struct client *dirty_next;
};

/* Build a client for an accepted, greeted socket: segment, bells, WELCOME.
 * On failure the socket is left to the caller. */
int client_create(struct srv *srv, int sock, const struct ucred *cred, struct client **out);

/* Consume submitted frames and flush blocked streams. Returns work done. */
int client_poll(struct client *c);

/* Tear down now (drop streams, cancel ops, close fds); memory goes when the
 * last op completes. */
void client_close(struct client *c, const char *why);

/* Close at the next safe point (from inside callbacks that hold streams). */
void client_doom(struct client *c, const char *why);

/* Events were written: remember to check whether the client sleeps. */
void client_mark_dirty(struct client *c);

/* Ring the client's bell if it announced it sleeps (end of a loop pass;
 * takes the client off the dirty list's books). */
void client_kick(struct client *c);

/* The same at once, without touching the dirty list: for the first content
 * of a stream, which should not wait for the rest of the pass. */
void client_kick_now(struct client *c);

/* Stream bookkeeping used by stream.c. */
void client_block(struct client *c, struct stream *s);
void client_forget(struct client *c, struct stream *s);

/* Before the loop sleeps, in two passes around one full fence: first ask
 * for a kick where streams wait for room, then re-check everything.
 * client_has_work is nonzero when the loop must not sleep. */
void client_sleep_arm(struct client *c);
int client_has_work(struct client *c);

#endif
