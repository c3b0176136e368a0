/*
 * rs_wait.c — sleeping and waking on the client side.
 *
 * Awake path: no system calls. We spin on the ring for a bounded budget
 * (clock_gettime is a vDSO call, not a system call), then announce that we
 * sleep (ring cons_waiting / prod_waiting), re-check, and block on our epoll
 * fd, which holds the sidecar's bell (an eventfd it writes only when it saw
 * our announcement) and the socket (EOF = the sidecar died).
 *
 * The block is epoll_pwait2, whose timespec timeout keeps a deadline to the
 * microsecond; epoll_wait's whole milliseconds would turn a 300 us wait into
 * a 1 ms sleep. Kernels before 5.11 lack it: then epoll_wait, rounding up.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rs_internal.h"
#include "shm/frag.h"
#include "shm/relax.h"

uint64_t rs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rs_kick_sidecar(struct rs_client *c)
{
	/* Pairs with the sidecar's store of `sleeping` + fence + re-check of
	 * every ring: either it sees what we published or we see it sleeps. */
	atomic_thread_fence(memory_order_seq_cst);
	if (__atomic_load_n(&c->awake->sleeping, __ATOMIC_RELAXED)) {
		uint64_t one = 1;
		/* EAGAIN (counter saturated) still means the sidecar will wake. */
		ssize_t n = write(c->sub_bell, &one, sizeof one);
		(void)n;
		c->rang = 1;
	} else {
		c->rang = 0;
	}
}

void rs_mark_dead(struct rs_client *c, int final_rc, int code)
{
	if (c->state != RS_ST_OK)
		return;
	c->state = RS_ST_DRAIN;
	c->final_rc = final_rc;
	c->final_code = code;
}

/* The socket is readable: after the handshake the sidecar never sends, so
 * this is EOF (or an error): it is gone. */
static int rs_check_socket(struct rs_client *c)
{
	char b[64];
	ssize_t n = recv(c->sock, b, sizeof b, MSG_DONTWAIT);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return RS_OK;
	rs_mark_dead(c, RS_EDISCONNECTED, RS_ERR_DISCONNECTED);
	return RS_EDISCONNECTED;
}

/* News: an event to read, or enough room for any next fragment (or a
 * corrupt head, which the caller's next ring call reports). */
int rs_poll_now(struct rs_client *c)
{
	struct epoll_event evs[2];
	int n = epoll_wait(c->epfd, evs, 2, 0);
	for (int i = 0; i < n; i++)
		if (evs[i].data.u32 == 2 && rs_check_socket(c))
			return RS_EDISCONNECTED;
	return RS_OK;
}

static int rs_has_news(struct rs_client *c, int for_space)
{
	if (for_space) {
		int64_t fr = ring_refresh_head(&c->sub);
		return fr < 0 || (uint64_t)fr >= FRAG_WAIT_SPACE(&c->sub);
	}
	return ring_maybe_nonempty(&c->ev);
}

/* Set once epoll_pwait2 turned out to be missing, so that later waits, on
 * any client and thread, go straight to epoll_wait. Relaxed: a thread that
 * has not seen the store yet only pays one more failed call. */
static atomic_int rs_no_pwait2;

/* Block on epfd until deadline_ns (absolute CLOCK_MONOTONIC; UINT64_MAX:
 * none). Result and errno as epoll_wait's. */
static int rs_epoll_until(int epfd, struct epoll_event *evs, int max, uint64_t deadline_ns)
{
	uint64_t now = rs_now_ns();
	uint64_t left = deadline_ns == UINT64_MAX || deadline_ns <= now ? 0 : deadline_ns - now;
	if (!atomic_load_explicit(&rs_no_pwait2, memory_order_relaxed)) {
		struct timespec ts = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
		int n = epoll_pwait2(epfd, evs, max, deadline_ns == UINT64_MAX ? NULL : &ts, NULL);
		/* ENOSYS: a kernel before 5.11. EPERM: a seccomp filter that
		 * predates the call (epoll_pwait2 itself never returns it). */
		if (n >= 0 || (errno != ENOSYS && errno != EPERM))
			return n;
		atomic_store_explicit(&rs_no_pwait2, 1, memory_order_relaxed);
	}
	int ms;
	if (deadline_ns == UINT64_MAX)
		ms = -1;
	else if (left >= (uint64_t)INT_MAX * 1000000u)
		ms = INT_MAX;
	else
		/* Rounded up: waking before the deadline would only sleep again. */
		ms = (int)((left + 999999) / 1000000);
	return epoll_wait(epfd, evs, max, ms);
}

int rs_wait(struct rs_client *c, uint64_t deadline_ns, int for_space)
{
	uint64_t now = rs_now_ns();
	uint64_t spin_end = now + c->spin_ns;
	/* Spin only while the sidecar is awake, and not while it serves what
	 * we woke it for (rang: our last kick found it asleep; the next one
	 * that finds it awake clears it). A sleeping sidecar must be woken
	 * before it can answer, which takes longer than any spin budget, and
	 * our spinning slows the woken sidecar down on a small machine:
	 * measured on 2 vCPUs, a request to a sidecar that had gone to sleep
	 * took 96 us p50 to its first content with a 50 us spin and 26 us
	 * without; back-to-back requests (sidecar awake) stay at 3 us. */
	while (!c->rang && now < spin_end && now < deadline_ns &&
	       !__atomic_load_n(&c->awake->sleeping, __ATOMIC_RELAXED)) {
		for (int i = 0; i < 64; i++) {
			if (rs_has_news(c, for_space))
				return RS_OK;
			shm_cpu_relax();
		}
		now = rs_now_ns();
	}
	for (;;) {
		int r = for_space ? ring_wait_space_prepare(&c->sub, FRAG_WAIT_SPACE(&c->sub))
				  : ring_sleep_prepare(&c->ev);
		if (r < 0) {
			rs_mark_dead(c, RS_EPROTO, RS_ERR_INTERNAL);
			return RS_EPROTO;
		}
		if (r > 0)
			return RS_OK;
		struct epoll_event evs[2];
		int n = rs_epoll_until(c->epfd, evs, 2, deadline_ns);
		if (!for_space)
			ring_sleep_cancel(&c->ev);
		else
			ring_wait_space_cancel(&c->sub);
		if (n < 0 && errno != EINTR)
			return RS_ESYS;
		for (int i = 0; i < n; i++)
			if (evs[i].data.u32 == 2 && rs_check_socket(c))
				return RS_EDISCONNECTED;
		if (rs_has_news(c, for_space))
			return RS_OK;
		if (rs_now_ns() >= deadline_ns)
			return RS_ETIMEDOUT;
	}
}
