/*
 * conn.h — one client connection: its buffers, where its current response
 * stands, and the calls between the I/O side (conn.c) and the reply pacing
 * side (reply.c).
 *
 * HTTP/1.1 answers in order, so a connection has at most one reply in
 * progress; pipelined requests wait, unparsed, in the input buffer until
 * it is done.
 */
#ifndef ML_CONN_H
#define ML_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "formats.h"
#include "http.h"
#include "server.h"
#include "timer.h"

/* Unsent output above which a reply stops rendering until the socket
 * drains: bounds memory per slow reader. */
#define ML_OUT_HIGH (64u * 1024u)

enum ml_phase {
	ML_PH_IDLE,    /* between requests */
	ML_PH_HEAD,    /* a reply waits for its status line (or, not streaming, its body) */
	ML_PH_STREAM,  /* streaming content chunks on their schedule */
	ML_PH_STALLED, /* stall_after: silent until the client goes away */
	ML_PH_LINGER,  /* done and write side shut: draining until the client closes */
};

struct ml_conn {
	struct ml_src src; /* first: epoll data points here */
	int fd;
	struct ml_worker *w;
	struct ml_conn *prev, *next;
	struct ml_timer timer;
	struct ml_buf in;
	size_t in_off;     /* start of unconsumed input */
	size_t need;       /* bytes the request whose head is parsed needs, 0: unknown */
	struct ml_buf out;
	size_t out_off;    /* start of unsent output */
	enum ml_phase phase;
	bool keep_alive;     /* the current request allows another one after it */
	bool http10;         /* the current request is HTTP/1.0 */
	bool close_after;    /* close once the output is sent */
	bool rst;            /* abort with RST once the output is sent */
	bool peer_gone;      /* read EOF or a reset: the client left */
	bool read_paused;    /* input bounded: read again once idle */
	bool continue_sent;  /* 100 Continue already sent for the pending request */
	bool malformed_done;
	int status;          /* error status of the current reply, 0 for 200 */
	uint64_t t_head;     /* when the status line is due */
	uint64_t t_first;    /* when the first content chunk is due */
	struct ml_reply reply;
	char err[256];       /* message of an error status (a 400, chaos'), or empty */
};

/* Take ownership of an accepted socket. */
void ml_conn_open(struct ml_worker *w, int fd);

/* An epoll event or the connection's timer; may close (and free) c. */
void ml_conn_on_event(struct ml_conn *c, uint32_t events);
void ml_conn_on_timer(struct ml_conn *c);

/* Close c at worker shutdown (not counted as a cancellation). */
void ml_conn_destroy(struct ml_conn *c);

/* Free the worker's pool of recycled connections. */
void ml_conn_pool_free(struct ml_worker *w);

/* ---- between conn.c and reply.c ----------------------------------------- */

static inline size_t ml_conn_pending(const struct ml_conn *c)
{
	return c->out.len - c->out_off;
}

/* Send what the output holds; 0, or -1 when the client is gone. */
int ml_conn_send(struct ml_conn *c);

/* Arm c's timer. */
void ml_conn_arm(struct ml_conn *c, uint64_t at);

/*
 * Finish a fixed-length response whose body the caller appended to c->out
 * from body_mark on: put the head (built in w->scratch, ending with the
 * blank line) in front of it.
 */
void ml_conn_insert_head(struct ml_conn *c, size_t body_mark);

/* Start the reply to an LLM request (reply.c). */
void ml_reply_begin(struct ml_conn *c, const struct ml_route *rt, const struct ml_http_req *req);

/* Move the current reply forward as far as time and the socket allow. */
void ml_reply_step(struct ml_conn *c);

#endif
