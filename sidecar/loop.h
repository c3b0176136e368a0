/*
 * loop.h — the sidecar's io_uring event loop, its timers and its spin phase.
 *
 * Every asynchronous operation is an io_uring request whose user_data points
 * at a `struct loop_op` embedded in the object that owns it; the completion
 * calls op->cb. An object that owns ops must not be freed until each of them
 * has delivered its final completion (one without IORING_CQE_F_MORE): the
 * loop does not track objects, owners count their own ops.
 *
 * Timers live in a min-heap in user space; the loop sleeps in one
 * io_uring_submit_and_wait_timeout until the earliest one, so "timers through
 * the ring" costs no request per timer.
 *
 * The loop never blocks anywhere else. While there was work recently it spins
 * (bounded by spin_ns), polling shared memory through the poll hook and
 * peeking the completion queue without entering the kernel; then it asks the
 * before_sleep hook for a last check and sleeps.
 *
 * The spin adapts: while a request is in flight (the busy hook) it always
 * runs, since the answer is on its way; with nothing in flight it runs only
 * if, of the last LOOP_SPIN_HISTORY idle gaps, at least LOOP_SPIN_HITS_MIN
 * ended within spin_ns, i.e. only if spinning would have caught the next
 * request often enough. At 1000 requests/s no gap does, and each spin was
 * spin_ns of CPU for nothing; back-to-back requests keep it on. With
 * nothing in flight, clients reading what we wrote count as activity (the
 * progress hook): a reply of hundreds of chunks is written in a burst and
 * read for longer, and the next request comes when the reading ends.
 */
#ifndef RINGSIDE_LOOP_H
#define RINGSIDE_LOOP_H

#include <liburing.h>
#include <stdint.h>

struct loop_op;
typedef void (*loop_cb)(struct loop_op *op, int res, unsigned flags);

struct loop_op {
	loop_cb cb;
};

struct loop_timer {
	uint64_t when;                    /* CLOCK_MONOTONIC ns */
	void (*fn)(struct loop_timer *t);
	uint32_t idx;                     /* heap slot, LOOP_TIMER_IDLE when not armed */
};
#define LOOP_TIMER_IDLE UINT32_MAX

struct loop_hooks {
	/* Look for work in shared memory; return how much was done. */
	int (*poll)(void *arg);
	/* Announce sleep, fence, re-check; nonzero means work appeared. */
	int (*before_sleep)(void *arg);
	/* Woke up (or decided not to sleep): retract the announcement. */
	void (*after_wake)(void *arg);
	/* Is a request in flight? NULL: always (the spin never adapts). */
	int (*busy)(void *arg);
	/* A count that moves whenever a client reads what we wrote (NULL:
	 * none). With nothing in flight (busy false), a client still reading
	 * a reply is activity like work of our own: it restarts the spin, and
	 * an idle gap begins only once it has stopped, for its next request
	 * follows its reading, not our writing. */
	uint64_t (*progress)(void *arg);
	void *arg;
};

/* Idle gaps remembered, and how many of them must have been short enough
 * for a spin to catch the next work before an idle loop spins. */
#define LOOP_SPIN_HISTORY 16
#define LOOP_SPIN_HITS_MIN 4

struct loop {
	struct io_uring ring;
	unsigned setup_flags;    /* what the kernel accepted */
	int ready;               /* ring set up (loop_free may tear it down) */
	uint64_t now;            /* ns, refreshed every iteration */
	uint64_t spin_ns;
	int stop;
	struct loop_hooks hooks;
	struct loop_timer **heap;
	uint32_t nheap, capheap;
	/* adaptive spin: bit i says whether the i-th latest idle gap (nothing
	 * in flight, until the next work) was shorter than spin_ns */
	uint16_t gap_hits;
	int idle_open;           /* such a gap is being timed, since idle_since */
	uint64_t idle_since;
	uint64_t progress;       /* the progress hook's last value */
	/* counters for stats */
	uint64_t sleeps, wakeups, iterations, spins_skipped;
};

/* Create the ring, probing for the best flags this kernel has. 0 or -errno. */
int loop_init(struct loop *l, unsigned entries, uint64_t spin_ns);
void loop_free(struct loop *l);

/* An SQE to fill; flushes the SQ to the kernel when it is full. Never NULL. */
struct io_uring_sqe *loop_sqe(struct loop *l);

static inline void loop_sqe_op(struct io_uring_sqe *sqe, struct loop_op *op)
{
	io_uring_sqe_set_data(sqe, op);
}

/* Ask the kernel to cancel every request whose user_data is op. Fire and
 * forget: the cancelled request still completes (-ECANCELED) through op. */
void loop_cancel(struct loop *l, struct loop_op *op);

uint64_t loop_clock_ns(void);

/* Arm (or re-arm) t for absolute time `when`; t->fn runs from the loop. */
int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t when);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

/* Run until loop_stop. Returns 0 or -errno on a fatal ring error. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
