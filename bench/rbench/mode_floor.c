/*
 * mode_floor.c — the physical floor of this design on this machine: a bare
 * round trip through the shm rings between two processes, no gateway logic.
 * What separates shm-mock from it is the sidecar's own cost; no gateway on
 * these rings can go below it.
 *
 *   floor-spin   both sides spin and never sleep: the floor of latency,
 *                bought with two busy cores;
 *   floor-sleep  both sides sleep on an eventfd as soon as their ring is
 *                empty: the floor when every wake-up is paid for.
 *
 * open() forks an echo child on one segment (shm/seg.h, two shm/ring.h
 * rings). A request is one frame whose stream id is the runner's slot; the
 * child answers at once with `tokens` one-word chunk frames and an end frame.
 * Wake-ups follow the sidecar's and libringside's protocol exactly: a
 * producer rings the peer's bell only when ring_consumer_sleeping says the
 * peer announced sleep, so the awake path makes no system call.
 *
 * The child dies with us (PR_SET_PDEATHSIG) and at close (SIGKILL: it holds
 * nothing to flush, and a child blocked on a full reply ring would never
 * read a stop frame). It holds the write end of a pipe whose EOF tells us
 * it is gone, so a dead child fails the run instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rb_mode.h"
#include "shm/frag.h"
#include "shm/relax.h"
#include "shm/ring.h"
#include "shm/seg.h"

/* Frame types of this private protocol (not proto.h's: no payload layout). */
enum { FL_T_REQ = 1, FL_T_CHUNK = 2, FL_T_END = 3 };

/* A request's payload: about a REQUEST frame's header and alias. */
#define FL_REQ_LEN 64
/* Spins between two looks at the clock in the spinning wait: pause takes
 * tens of cycles, so the deadline is kept to about a microsecond. */
#define FL_SPIN_BATCH 64
/* Spins between two looks at the child's pipe (a system call): a few ms,
 * so a dead child is noticed at once and the check costs nothing. */
#define FL_LIFE_SPINS 65536u
/* Cap on the reply ring: past it the child waits for room instead of the
 * segment growing with tokens * max_inflight. */
#define FL_REPLY_RING_MAX (1u << 22)

static const uint8_t fl_request[FL_REQ_LEN];
static const char fl_word[8] = "token42 ";

/* One process's view: it produces into tx, consumes rx, rings the peer's
 * bell and sleeps on its own. */
struct fl_side {
	struct ring tx, rx;
	int bell_tx, bell_rx;
	int sleepy;
};

struct fl_state {
	const char *name;
	struct rb_sink sink;
	uint32_t max; /* slots are below this */
	struct fl_side s;
	struct seg seg;
	int bell_parent, bell_child; /* eventfds: ours (non-blocking), the child's */
	int life;                    /* pipe read end: EOF once the child is gone */
	pid_t pid;
};

/* Ring a bell. EAGAIN (counter saturated) still leaves it readable. */
static void fl_ring(int bell)
{
	uint64_t one = 1;
	ssize_t n = write(bell, &one, sizeof one);
	(void)n;
}

/* Take the kicks off a bell: any kick, stale or not, only sends its owner
 * back to its ring. */
static void fl_unring(int bell)
{
	uint64_t v;
	ssize_t n = read(bell, &v, sizeof v);
	(void)n;
}

/* After publishing: wake the peer if, and only if, it announced sleep. */
static void fl_kick(struct fl_side *s)
{
	if (ring_consumer_sleeping(&s->tx))
		fl_ring(s->bell_tx);
}

/* ---- the echo child ------------------------------------------------------- */

static _Noreturn void fl_child_die(const char *why)
{
	fprintf(stderr, "ringside-bench: floor echo child: %s\n", why);
	_exit(1);
}

/* Nothing to do until the parent acts (sends a request, or frees room in
 * the reply ring): spin once, or announce sleep, re-check and block on our
 * bell, which is a blocking eventfd. The spinning child never sleeps:
 * bounding its spin would only add a sleeping floor to the spinning one. */
static void fl_child_idle(struct fl_side *s, int for_space)
{
	if (!s->sleepy) {
		shm_cpu_relax();
		return;
	}
	/* Half the ring fits any frame with its pad (frag.h), and waiting for
	 * that much spares the parent a kick per frame it frees. */
	int rc = for_space ? ring_wait_space_prepare(&s->tx, FRAG_WAIT_SPACE(&s->tx))
			   : ring_sleep_prepare(&s->rx);
	if (rc < 0)
		fl_child_die("corrupt ring");
	if (rc > 0)
		return;
	fl_unring(s->bell_rx);
	if (for_space)
		ring_wait_space_cancel(&s->tx);
	else
		ring_sleep_cancel(&s->rx);
}

/* One reply frame, waiting for room when the parent lags behind. */
static void fl_child_push(struct fl_side *s, uint16_t type, uint64_t slot, const void *p,
			  uint32_t len)
{
	int rc;
	while ((rc = ring_push(&s->tx, type, 0, slot, p, len)) == -EAGAIN) {
		/* The parent frees room only for frames it knows of: those
		 * committed since our last kick may be what it sleeps without. */
		fl_kick(s);
		fl_child_idle(s, 1);
	}
	if (rc < 0)
		fl_child_die("corrupt reply ring");
}

/* Serve requests until killed. */
static _Noreturn void fl_child(struct fl_side *s, unsigned tokens)
{
	struct ring_frame h;
	const uint8_t *p;
	for (;;) {
		int rc = ring_peek(&s->rx, &h, &p);
		if (rc < 0 || (rc > 0 && h.type != FL_T_REQ))
			fl_child_die("corrupt request ring");
		if (rc == 0) {
			fl_child_idle(s, 0);
			continue;
		}
		uint64_t slot = h.stream;
		ring_release(&s->rx);
		for (unsigned i = 0; i < tokens; i++) {
			fl_child_push(s, FL_T_CHUNK, slot, fl_word, sizeof fl_word);
			/* The first chunk is what the runner times: wake the
			 * parent for it now, as the sidecar does, not at the end. */
			if (i == 0)
				fl_kick(s);
		}
		fl_child_push(s, FL_T_END, slot, NULL, 0);
		fl_kick(s);
	}
}

/* ---- the runner's side ---------------------------------------------------- */

/* Say why, once, with the system's reason when err is an errno. */
static int fl_fail(const char *name, const char *why, int err)
{
	fprintf(stderr, "ringside-bench: %s: %s%s%s\n", name, why, err ? ": " : "",
		err ? strerror(err) : "");
	return -1;
}

/* Has the child gone? (its pipe's write end closed: EOF or POLLHUP) */
static int fl_child_gone(struct fl_state *st)
{
	struct pollfd pf = { .fd = st->life, .events = POLLIN };
	return poll(&pf, 1, 0) > 0;
}

/* Deliver every reply frame available. Returns how many, or -1. */
static int fl_drain(struct fl_state *st)
{
	struct ring_frame h;
	const uint8_t *p;
	int n = 0, rc;
	while ((rc = ring_peek(&st->s.rx, &h, &p)) > 0) {
		uint64_t now = rb_now_ns();
		ring_release(&st->s.rx);
		if (h.stream >= st->max)
			return fl_fail(st->name, "reply for a slot that does not exist", 0);
		if (h.type == FL_T_CHUNK)
			st->sink.on_chunk(st->sink.arg, (uint32_t)h.stream, now);
		else if (h.type == FL_T_END)
			st->sink.on_end(st->sink.arg, (uint32_t)h.stream, now, 1);
		else
			return fl_fail(st->name, "unknown frame in the reply ring", 0);
		n++;
	}
	if (rc < 0)
		return fl_fail(st->name, "corrupt reply ring", 0);
	/* Only a sleeping child asks for room (a spinning one sees our head):
	 * once per batch, since it waits for half the ring, not for one frame. */
	if (n && st->s.sleepy && ring_producer_blocked(&st->s.rx))
		fl_ring(st->bell_child);
	return n;
}

/* Announce sleep, re-check, block on our bell and the child's pipe until a
 * kick or deadline_ns. ppoll takes nanoseconds: the deadline is kept to the
 * timer slack (main.c sets it to 1 ns). 0, or -1 when the child is gone. */
static int fl_sleep(struct fl_state *st, uint64_t deadline_ns)
{
	int rc = ring_sleep_prepare(&st->s.rx);
	if (rc != 0)
		return rc < 0 ? fl_fail(st->name, "corrupt reply ring", 0) : 0;
	struct pollfd pf[2] = { { .fd = st->bell_parent, .events = POLLIN },
				{ .fd = st->life, .events = POLLIN } };
	struct timespec ts, *tsp = NULL;
	if (deadline_ns != UINT64_MAX) {
		uint64_t now = rb_now_ns(), left = deadline_ns > now ? deadline_ns - now : 0;
		ts = (struct timespec){ (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
		tsp = &ts;
	}
	int n = ppoll(pf, 2, tsp, NULL);
	ring_sleep_cancel(&st->s.rx);
	if (n < 0 && errno != EINTR)
		return fl_fail(st->name, "ppoll", errno);
	if (n > 0 && pf[1].revents)
		return fl_fail(st->name, "the echo child died", 0);
	/* Take the kick off, or the next sleep would return at once. */
	if (n > 0 && (pf[0].revents & POLLIN))
		fl_unring(st->bell_parent);
	return 0;
}

static int fl_wait(void *vst, uint64_t deadline_ns)
{
	struct fl_state *st = vst;
	for (unsigned batch = 1;; batch++) {
		int n = fl_drain(st);
		if (n)
			return n < 0 ? -1 : 0;
		if (rb_now_ns() >= deadline_ns)
			return 0;
		if (st->s.sleepy) {
			if (fl_sleep(st, deadline_ns) < 0)
				return -1;
			continue;
		}
		for (int i = 0; i < FL_SPIN_BATCH && !ring_maybe_nonempty(&st->s.rx); i++)
			shm_cpu_relax();
		if (batch % (FL_LIFE_SPINS / FL_SPIN_BATCH) == 0 && fl_child_gone(st))
			return fl_fail(st->name, "the echo child died", 0);
	}
}

static int fl_start(void *vst, uint32_t slot)
{
	struct fl_state *st = vst;
	/* open() sized the ring for max_inflight requests: never full for long,
	 * unless the child is gone. */
	for (unsigned spins = 1;; spins++) {
		int rc = ring_push(&st->s.tx, FL_T_REQ, 0, slot, fl_request, sizeof fl_request);
		if (rc == 0)
			break;
		if (rc != -EAGAIN)
			return fl_fail(st->name, "corrupt request ring", 0);
		if (spins % FL_LIFE_SPINS == 0 && fl_child_gone(st))
			return fl_fail(st->name, "the echo child died", 0);
		shm_cpu_relax();
	}
	fl_kick(&st->s);
	return 0;
}

static pid_t fl_server_pid(void *vst)
{
	return ((struct fl_state *)vst)->pid;
}

static void fl_close(void *vst)
{
	struct fl_state *st = vst;
	if (!st)
		return;
	if (st->pid > 0) {
		kill(st->pid, SIGKILL);
		while (waitpid(st->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	seg_detach(&st->seg);
	int fds[] = { st->bell_parent, st->bell_child, st->life };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(st);
}

/* Smallest valid ring size holding `bytes`, or 0 if none does. */
static uint32_t fl_ring_size(uint64_t bytes)
{
	uint64_t n = RING_MIN_SIZE;
	while (n < bytes && n < RING_MAX_SIZE)
		n *= 2;
	return n >= bytes ? (uint32_t)n : 0;
}

static void *fl_open(const struct rb_params *p, const struct rb_sink *sink, const char *name,
		     int sleepy)
{
	int life[2] = { -1, -1 };
	struct fl_state *st = calloc(1, sizeof *st);
	if (!st) {
		fl_fail(name, "out of memory", 0);
		return NULL;
	}
	*st = (struct fl_state){ .name = name, .sink = *sink, .max = p->max_inflight,
				 .bell_parent = -1, .bell_child = -1, .life = -1 };
	/* Twice what max_inflight requests take, so pads at the end of a lap
	 * never make the request ring full; replies as much, up to a cap. */
	uint64_t req = 2ull * p->max_inflight * ring_rec_size(FL_REQ_LEN);
	uint64_t rep = 2ull * p->max_inflight *
		       ((uint64_t)p->tokens * ring_rec_size(sizeof fl_word) + ring_rec_size(0));
	uint32_t req_size = fl_ring_size(req);
	uint32_t rep_size = fl_ring_size(rep < FL_REPLY_RING_MAX ? rep : FL_REPLY_RING_MAX);
	if (!p->max_inflight || !req_size) {
		fl_fail(name, "max_inflight does not fit a ring", 0);
		goto fail;
	}
	int rc = seg_create(&st->seg, req_size, rep_size, FL_REQ_LEN, p->max_inflight, 1);
	if (rc < 0) {
		fl_fail(name, "seg_create", -rc);
		goto fail;
	}
	/* Ours does not block (we ppoll it, then take the kick off); the
	 * child's does, its read being the child's whole sleep. */
	st->bell_parent = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	st->bell_child = eventfd(0, EFD_CLOEXEC);
	if (st->bell_parent < 0 || st->bell_child < 0 || pipe2(life, O_CLOEXEC) < 0) {
		fl_fail(name, "eventfd/pipe", errno);
		goto fail;
	}
	st->life = life[0];
	/* Both sides' views, set up here so the child inherits its own. */
	struct seg *g = &st->seg;
	struct fl_side c = { .bell_tx = st->bell_parent, .bell_rx = st->bell_child, .sleepy = sleepy };
	st->s = (struct fl_side){ .bell_tx = st->bell_child, .bell_rx = st->bell_parent,
				  .sleepy = sleepy };
	if (ring_init_view(&st->s.tx, g->sub_ctl, g->sub_data, g->hdr.sub_size, 1) ||
	    ring_init_view(&st->s.rx, g->ev_ctl, g->ev_data, g->hdr.ev_size, 0) ||
	    ring_init_view(&c.rx, g->sub_ctl, g->sub_data, g->hdr.sub_size, 0) ||
	    ring_init_view(&c.tx, g->ev_ctl, g->ev_data, g->hdr.ev_size, 1)) {
		fl_fail(name, "ring_init_view failed on a fresh segment", 0);
		goto fail;
	}
	pid_t parent = getpid();
	st->pid = fork();
	if (st->pid < 0) {
		fl_fail(name, "fork", errno);
		goto fail;
	}
	if (st->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The parent may have died before prctl: then nobody kills us. */
		if (getppid() != parent)
			_exit(0);
		fl_child(&c, p->tokens);
	}
	/* Only the child may hold the write end, or its EOF never comes. */
	close(life[1]);
	return st;
fail:
	if (life[1] >= 0)
		close(life[1]);
	fl_close(st);
	return NULL;
}

static void *fl_open_spin(const struct rb_params *p, const struct rb_sink *sink)
{
	return fl_open(p, sink, "floor-spin", 0);
}

static void *fl_open_sleep(const struct rb_params *p, const struct rb_sink *sink)
{
	return fl_open(p, sink, "floor-sleep", 1);
}

const struct rb_mode_ops rb_mode_floor_spin = {
	.name = "floor-spin",
	.what = "bare shm round trip to an echo process, both sides spinning: the transport's floor",
	.open = fl_open_spin,
	.start = fl_start,
	.wait = fl_wait,
	.server_pid = fl_server_pid,
	.close = fl_close,
};

const struct rb_mode_ops rb_mode_floor_sleep = {
	.name = "floor-sleep",
	.what = "bare shm round trip to an echo process, both sides sleeping on eventfds when idle",
	.open = fl_open_sleep,
	.start = fl_start,
	.wait = fl_wait,
	.server_pid = fl_server_pid,
	.close = fl_close,
};
