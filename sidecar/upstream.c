/*
 * upstream.c — curl multi_socket on the io_uring loop (see upstream.h).
 *
 * Sockets: every socket curl wants watched gets an up_sock with a one-shot
 * poll request on the ring, re-armed after each readiness with whatever
 * curl wants then. One-shot polls are level-triggered each time they are
 * armed, so bytes curl left unread (a paused transfer, a read budget) are
 * never forgotten, at the price of one SQE per readiness, which rides the
 * loop's batched submit. A poll is cancelled by its op (never by fd), and an
 * up_sock lives until its poll has completed, so a completion for a socket
 * that curl already closed, or whose fd number curl already reused, lands
 * on the right (dead) object and is dropped.
 */
#include "upstream.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pcodec.h"

/* Body bytes curl hands over per write callback: bounds what one callback
 * can make us emit, and so what a paused stream may hold. */
#define UP_BUFFER_SIZE (16 * 1024)

struct up_sock {
	struct up_pool *pool;
	curl_socket_t fd;
	int want;        /* CURL_POLL_IN/OUT/INOUT; 0 once curl let go */
	int armed;       /* a poll is in flight */
	int armed_mask;
	int busy;        /* inside curl for this socket: free later */
	struct loop_op op;
};

struct up_xfer {
	struct up_pool *pool;
	CURL *easy;
	const struct up_xfer_ops *ops;
	void *owner;
	/* The request, owned until the handle is recycled: curl reads the
	 * body and the header lines in place, no copies. hnodes is the
	 * header list curl walks, its last node the "Expect:" line. */
	struct pc_http req;
	struct curl_slist hnodes[PC_MAX_HEADERS + 1];
	struct up_xfer *qnext;     /* pool's work queue */
	struct up_xfer *anext, *aprev; /* pool's list of transfers in curl */
	uint8_t queued;
	uint8_t in_multi;
	uint8_t resume_req;
	uint8_t released;
	uint8_t keep_reading;
	uint8_t finished;
	uint8_t accounted;
	char err[CURL_ERROR_SIZE];
};

struct up_pool {
	struct loop *loop;
	CURLM *multi;
	const struct cfg_provider *prov;
	struct loop_timer timer;
	int timeout_zero;
	struct up_xfer *queue;
	struct up_xfer *active;
	struct up_xfer *idle;      /* recycled easy handles */
	unsigned n_idle;
	struct up_stats st;
	int live_socks;            /* up_socks not yet freed */
	int closing;
};

/* curl's own total timeout trails the adapter's deadline by this much, so
 * the adapter's typed TIMEOUT always wins the race. */
#define UP_BACKSTOP_SLACK_MS 5000

/* Recycled easy handles kept per pool; beyond that they are freed. */
#define UP_IDLE_MAX 64

/* Sockets with a poll still owed to us, across pools (shutdown waits). */
static int up_socks_live;

static uint64_t up_ms_to_ns(long ms)
{
	return (uint64_t)ms * 1000000u;
}

/* ---- sockets ------------------------------------------------------------------- */

static void up_sock_cb(struct loop_op *op, int res, unsigned flags);
static void up_action(struct up_pool *p, curl_socket_t fd, int bits);
static void up_pool_maybe_free(struct up_pool *p);

static int up_mask(int what)
{
	return ((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0);
}

static void up_sock_arm(struct up_sock *k)
{
	struct io_uring_sqe *sqe = loop_sqe(k->pool->loop);
	k->armed_mask = up_mask(k->want);
	io_uring_prep_poll_add(sqe, k->fd, (unsigned)k->armed_mask);
	loop_sqe_op(sqe, &k->op);
	k->armed = 1;
}

static void up_sock_free(struct up_sock *k)
{
	struct up_pool *p = k->pool;
	p->live_socks--;
	up_socks_live--;
	free(k);
	up_pool_maybe_free(p);
}

static int up_on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)e;
	struct up_pool *p = userp;
	struct up_sock *k = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (!k)
			return 0;
		curl_multi_assign(p->multi, s, NULL);
		k->want = 0;
		if (k->armed)
			loop_cancel(p->loop, &k->op);
		else if (!k->busy)
			up_sock_free(k);
		return 0;
	}
	if (!k) {
		k = calloc(1, sizeof *k);
		if (!k)
			return -1;
		k->pool = p;
		k->fd = s;
		k->op.cb = up_sock_cb;
		p->live_socks++;
		up_socks_live++;
		curl_multi_assign(p->multi, s, k);
	}
	k->want = what;
	if (k->armed) {
		/* Interest changed under a poll in flight: cancel it; its
		 * completion re-arms with the new mask. */
		if (k->armed_mask != up_mask(what))
			loop_cancel(p->loop, &k->op);
	} else if (!k->busy) {
		up_sock_arm(k);
	}
	return 0;
}

static void up_sock_cb(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct up_sock *k = (struct up_sock *)((char *)op - offsetof(struct up_sock, op));
	struct up_pool *p = k->pool;
	k->armed = 0;
	if (!k->want || p->closing) {
		up_sock_free(k);
		return;
	}
	int bits = 0;
	if (res > 0) {
		bits = ((res & POLLIN) ? CURL_CSELECT_IN : 0) | ((res & POLLOUT) ? CURL_CSELECT_OUT : 0) |
		       ((res & (POLLERR | POLLHUP)) ? CURL_CSELECT_ERR : 0);
	} else if (res != -ECANCELED) {
		bits = CURL_CSELECT_ERR;
	}
	if (bits) {
		k->busy = 1;
		up_action(p, k->fd, bits);
		k->busy = 0;
		if (!k->want) {
			up_sock_free(k);
			return;
		}
	}
	if (!k->armed)
		up_sock_arm(k);
}

/* ---- timer ----------------------------------------------------------------------- */

static void up_timer_fired(struct loop_timer *t)
{
	struct up_pool *p = (struct up_pool *)((char *)t - offsetof(struct up_pool, timer));
	up_action(p, CURL_SOCKET_TIMEOUT, 0);
}

static int up_on_timer(CURLM *m, long ms, void *userp)
{
	(void)m;
	struct up_pool *p = userp;
	loop_timer_cancel(p->loop, &p->timer);
	p->timeout_zero = 0;
	if (ms == 0)
		p->timeout_zero = 1; /* run from the loop, never from here */
	else if (ms > 0 && loop_timer_arm(p->loop, &p->timer, loop_clock_ns() + up_ms_to_ns(ms)))
		p->timeout_zero = 1; /* no memory for the heap: poll instead */
	return 0;
}

/* ---- transfers ----------------------------------------------------------------- */

static void up_queue(struct up_xfer *x)
{
	if (x->queued)
		return;
	x->queued = 1;
	x->qnext = x->pool->queue;
	x->pool->queue = x;
}

static void up_active_unlink(struct up_pool *p, struct up_xfer *x)
{
	if (x->aprev)
		x->aprev->anext = x->anext;
	else
		p->active = x->anext;
	if (x->anext)
		x->anext->aprev = x->aprev;
	x->anext = x->aprev = NULL;
}

/* Count how a transfer used its connection, once, when it leaves curl
 * (finished or aborted). */
static void up_account(struct up_pool *p, struct up_xfer *x, int code, long status)
{
	if (x->accounted)
		return;
	x->accounted = 1;
	long conns = 0, ver = 0;
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &ver);
	if (conns > 0)
		p->st.conns_new++;
	else if (code == CURLE_OK || status)
		p->st.conns_reused++;
	if (ver == CURL_HTTP_VERSION_2_0)
		p->st.h2++;
	if (x->released && !x->keep_reading)
		p->st.aborted++; /* we cut it (cancel, deadline, client death) */
	else if (code != CURLE_OK && !status)
		p->st.failures++;
}

/* Free the request the handle pointed into, and point it at nothing. */
static void up_xfer_drop_req(struct up_xfer *x)
{
	if (x->req.url || x->req.body) {
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, NULL);
	}
	pc_http_free(&x->req);
}

/* Take x out of curl (aborting it if it still runs) and keep its handle. */
static void up_recycle(struct up_xfer *x)
{
	struct up_pool *p = x->pool;
	if (x->in_multi) {
		long status = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		up_account(p, x, CURLE_ABORTED_BY_CALLBACK, status);
		curl_multi_remove_handle(p->multi, x->easy);
		x->in_multi = 0;
		up_active_unlink(p, x);
		p->st.active--;
	}
	up_xfer_drop_req(x);
	if (x->queued)
		return; /* still linked in the queue: up_pool_poll frees it */
	if (p->n_idle < UP_IDLE_MAX && !p->closing) {
		/* The handle keeps its pool-wide options (up_easy_init). */
		x->qnext = p->idle;
		p->idle = x;
		p->n_idle++;
		return;
	}
	curl_easy_cleanup(x->easy);
	free(x);
}

static void up_drain(struct up_pool *p)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(p->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct up_xfer *x;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		int code = (int)m->data.result;
		long status = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		up_account(p, x, code, status);
		curl_multi_remove_handle(p->multi, x->easy);
		x->in_multi = 0;
		up_active_unlink(p, x);
		p->st.active--;
		x->finished = 1;
		if (x->released) {
			up_recycle(x);
			continue;
		}
		x->ops->on_done(x->owner, code, status, x->err[0] ? x->err : curl_easy_strerror(code));
	}
}

static void up_action(struct up_pool *p, curl_socket_t fd, int bits)
{
	int running;
	curl_multi_socket_action(p->multi, fd, bits, &running);
	up_drain(p);
}

static size_t up_on_write(char *ptr, size_t sz, size_t n, void *ud)
{
	struct up_xfer *x = ud;
	size_t len = sz * n;
	if (x->released)
		return x->keep_reading ? len : 0;
	size_t r = x->ops->on_data(x->owner, ptr, len);
	if (r == UP_PAUSE)
		return CURL_WRITEFUNC_PAUSE;
	return r;
}

static size_t up_on_header(char *ptr, size_t sz, size_t n, void *ud)
{
	struct up_xfer *x = ud;
	size_t len = sz * n;
	if (!x->released && x->ops->on_header) {
		size_t l = len;
		while (l && (ptr[l - 1] == '\n' || ptr[l - 1] == '\r'))
			l--;
		x->ops->on_header(x->owner, ptr, l);
	}
	return len;
}

/*
 * The options every transfer of this pool shares, set once per easy
 * handle: the handle and its up_xfer are recycled together (the struct's
 * address stays), so the callbacks' data pointers stay right, and a
 * recycled handle is not reset and set up again per request (a reset and
 * twenty options were ~6 k instructions of every request).
 */
static void up_easy_init(struct up_xfer *x)
{
	const struct cfg_provider *pr = x->pool->prov;
	CURL *e = x->easy;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, up_on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, up_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)UP_BUFFER_SIZE);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* A backstop only: the adapter's own deadlines end streams earlier;
	 * this bounds a released transfer left to finish reading. */
	if (pr->total_timeout_ms)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
				 (long)pr->total_timeout_ms + UP_BACKSTOP_SLACK_MS);
	if (pr->connect_timeout_ms)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)pr->connect_timeout_ms);
	if (pr->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, pr->ca_file);
}

static struct up_xfer *up_xfer_alloc(struct up_pool *p)
{
	struct up_xfer *x = p->idle;
	if (x) {
		p->idle = x->qnext;
		p->n_idle--;
		CURL *e = x->easy;
		memset(x, 0, sizeof *x);
		x->easy = e;
		x->pool = p;
		return x;
	}
	x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->easy = curl_easy_init();
	if (!x->easy) {
		free(x);
		return NULL;
	}
	x->pool = p;
	up_easy_init(x);
	return x;
}

struct up_xfer *up_xfer_start(struct up_pool *p, struct pc_http *req,
			      const struct up_xfer_ops *ops, void *owner)
{
	struct up_xfer *x = up_xfer_alloc(p);
	if (!x) {
		pc_http_free(req);
		return NULL;
	}
	x->ops = ops;
	x->owner = owner;
	x->req = *req;
	memset(req, 0, sizeof *req);
	unsigned n = x->req.n_headers;
	for (unsigned i = 0; i < n; i++) {
		x->hnodes[i].data = x->req.headers[i];
		x->hnodes[i].next = &x->hnodes[i + 1];
	}
	/* Without this curl would send "Expect: 100-continue" for large bodies
	 * and wait a round trip before sending them. */
	x->hnodes[n].data = (char *)"Expect:";
	x->hnodes[n].next = NULL;
	CURL *e = x->easy;
	curl_easy_setopt(e, CURLOPT_URL, x->req.url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, &x->hnodes[0]);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req.body_len);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req.body ? x->req.body : "");
	/* Waiting for a connection that may multiplex only pays where HTTP/2
	 * can happen (TLS, ALPN). Over plain http it would queue every new
	 * transfer behind the first one until that one ends. */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, strncmp(x->req.url, "https://", 8) ? 0L : 1L);
	if (curl_multi_add_handle(p->multi, e) != CURLM_OK)
		goto fail;
	x->in_multi = 1;
	x->anext = p->active;
	if (p->active)
		p->active->aprev = x;
	p->active = x;
	p->st.requests++;
	p->st.active++;
	return x;
fail:
	up_xfer_drop_req(x);
	curl_easy_cleanup(x->easy);
	free(x);
	return NULL;
}

long up_xfer_status(const struct up_xfer *x)
{
	long status = 0;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

const char *up_xfer_content_type(const struct up_xfer *x)
{
	char *ct = NULL;
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
	return ct;
}

void up_xfer_resume(struct up_xfer *x)
{
	if (x->released || x->finished)
		return;
	x->resume_req = 1;
	up_queue(x);
}

void up_xfer_release(struct up_xfer *x, int keep_reading)
{
	x->released = 1;
	x->owner = NULL;
	x->keep_reading = (uint8_t)!!keep_reading;
	x->resume_req = 0;
	up_queue(x);
}

/* ---- pool -------------------------------------------------------------------------- */

int up_pool_poll(struct up_pool *p)
{
	int work = 0;
	if (p->timeout_zero) {
		p->timeout_zero = 0;
		up_action(p, CURL_SOCKET_TIMEOUT, 0);
		work++;
	}
	struct up_xfer *x = p->queue;
	p->queue = NULL;
	while (x) {
		struct up_xfer *next = x->qnext;
		x->queued = 0;
		work++;
		if (x->released) {
			if (x->finished || !x->keep_reading) {
				up_recycle(x);
			} else {
				/* Let it finish quietly; its completion recycles it. A
				 * paused transfer must be unpaused to finish. */
				curl_easy_pause(x->easy, CURLPAUSE_CONT);
			}
		} else if (x->resume_req) {
			x->resume_req = 0;
			curl_easy_pause(x->easy, CURLPAUSE_CONT);
		}
		x = next;
	}
	if (work)
		up_drain(p);
	return work;
}

int up_pool_pending(const struct up_pool *p)
{
	return p->timeout_zero || p->queue;
}

const struct up_stats *up_pool_stats(const struct up_pool *p)
{
	return &p->st;
}

struct up_pool *up_pool_new(struct loop *l, const struct cfg_provider *pr)
{
	struct up_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->loop = l;
	p->prov = pr;
	p->timer.idx = LOOP_TIMER_IDLE;
	p->timer.fn = up_timer_fired;
	p->multi = curl_multi_init();
	if (!p->multi) {
		free(p);
		log_error("provider %s: cannot create a curl multi handle", pr->name);
		return NULL;
	}
	long cap = pr->max_connections ? (long)pr->max_connections : 64;
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, up_on_socket);
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, up_on_timer);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
	curl_multi_setopt(p->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, cap);
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, cap);
	curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, cap);
	curl_multi_setopt(p->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return p;
}

static void up_pool_maybe_free(struct up_pool *p)
{
	if (p->closing && p->live_socks == 0)
		free(p);
}

/* Shutdown: abort every transfer, let curl close its sockets (which cancels
 * their polls), and free the pool once the last poll has come back. */
void up_pool_free(struct up_pool *p)
{
	if (!p)
		return;
	while (p->active) {
		struct up_xfer *x = p->active;
		x->released = 1;
		x->queued = 0;
		up_recycle(x);
	}
	while (p->queue) {
		struct up_xfer *x = p->queue;
		p->queue = x->qnext;
		x->queued = 0;
		if (!x->in_multi && x->released)
			up_recycle(x);
	}
	while (p->idle) {
		struct up_xfer *x = p->idle;
		p->idle = x->qnext;
		curl_easy_cleanup(x->easy);
		free(x);
	}
	loop_timer_cancel(p->loop, &p->timer);
	/* curl closes its sockets here and tells us (REMOVE), which cancels
	 * their polls. Only then may the pool wait to be freed. */
	curl_multi_cleanup(p->multi);
	p->multi = NULL;
	loop_timer_cancel(p->loop, &p->timer);
	p->closing = 1;
	up_pool_maybe_free(p);
}

int up_live_socks(void)
{
	return up_socks_live;
}

int up_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void up_global_cleanup(void)
{
	curl_global_cleanup();
}
