/*
 * rs_next.c — reading events: decode frames of the event ring in place into
 * struct rs_event, and end every open stream ourselves when the sidecar is
 * gone so that each stream still ends with exactly one DONE or ERROR.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "rs_internal.h"

/* Decode the payload of a validated frame. Returns 1 for a known event,
 * 0 for a type we do not know (skipped: newer sidecar), -1 if malformed. */
static int rs_decode(const struct ring_frame *h, const uint8_t *p, struct rs_event *ev)
{
	uint32_t len = h->len;
	memset(ev, 0, sizeof *ev);
	ev->stream = h->stream;
	switch (h->type) {
	case PROTO_START: {
		struct proto_start s;
		if (len < sizeof s)
			return -1;
		memcpy(&s, p, sizeof s);
		if ((uint64_t)sizeof s + s.provider_len + s.model_len > len)
			return -1;
		ev->type = RS_EV_START;
		ev->start.provider = (const char *)p + sizeof s;
		ev->start.provider_len = s.provider_len;
		ev->start.model = ev->start.provider + s.provider_len;
		ev->start.model_len = s.model_len;
		ev->start.attempt = s.attempt;
		ev->start.cache_hit = !!(s.flags & PROTO_START_CACHE_HIT);
		return 1;
	}
	case PROTO_DELTA:
	case PROTO_REASONING:
		ev->type = h->type == PROTO_DELTA ? RS_EV_DELTA : RS_EV_REASONING;
		ev->text = (const char *)p;
		ev->text_len = len;
		return 1;
	case PROTO_TOOL_DELTA: {
		struct proto_tool_delta t;
		if (len < sizeof t)
			return -1;
		memcpy(&t, p, sizeof t);
		if ((uint64_t)sizeof t + t.id_len + t.name_len > len)
			return -1;
		ev->type = RS_EV_TOOL_DELTA;
		ev->tool.index = t.index;
		ev->tool.id = (const char *)p + sizeof t;
		ev->tool.id_len = t.id_len;
		ev->tool.name = ev->tool.id + t.id_len;
		ev->tool.name_len = t.name_len;
		ev->text = ev->tool.name + t.name_len;
		ev->text_len = len - sizeof t - t.id_len - t.name_len;
		return 1;
	}
	case PROTO_USAGE: {
		struct proto_usage u;
		if (len < sizeof u)
			return -1;
		memcpy(&u, p, sizeof u);
		ev->type = RS_EV_USAGE;
		ev->usage.prompt_tokens = u.prompt_tokens;
		ev->usage.completion_tokens = u.completion_tokens;
		ev->usage.total_tokens = u.total_tokens;
		ev->usage.cost_nano_usd = u.cost_nano_usd;
		return 1;
	}
	case PROTO_DONE: {
		struct proto_done d;
		if (len < sizeof d)
			return -1;
		memcpy(&d, p, sizeof d);
		if ((uint64_t)sizeof d + d.reason_len > len)
			return -1;
		ev->type = RS_EV_DONE;
		ev->done.attempts = d.attempts;
		ev->text = (const char *)p + sizeof d;
		ev->text_len = d.reason_len;
		return 1;
	}
	case PROTO_ERROR: {
		struct proto_error e;
		if (len < sizeof e)
			return -1;
		memcpy(&e, p, sizeof e);
		if ((uint64_t)sizeof e + e.msg_len > len)
			return -1;
		ev->type = RS_EV_ERROR;
		ev->error.code = e.code;
		ev->error.http_status = e.http_status;
		ev->error.retryable = e.retryable;
		ev->error.attempts = e.attempts;
		ev->error.retry_after_ms = e.retry_after_ms;
		ev->text = (const char *)p + sizeof e;
		ev->text_len = e.msg_len;
		return 1;
	}
	default:
		return 0;
	}
}

/* We asked for a kick and now found data ourselves. If the sidecar already
 * took our request (cleared the flag), it rang the bell: consume that edge
 * so rs_fd() does not stay readable for nothing. */
static void rs_disarm(struct rs_client *c)
{
	if (!c->armed)
		return;
	c->armed = 0;
	if (atomic_exchange_explicit(&c->ev.ctl->cons_waiting, 0, memory_order_relaxed) == 0) {
		struct epoll_event e[2];
		(void)epoll_wait(c->epfd, e, 2, 0);
	}
}

static void rs_release_held(struct rs_client *c)
{
	if (!c->held)
		return;
	c->held = 0;
	ring_release(&c->ev);
	/* The sidecar may have paused streams on a full event ring and gone to
	 * sleep. Tell it once half the ring is free again: it waits for that
	 * much (client.c), so an earlier kick would only wake it for nothing.
	 * The fence pairs with the sidecar's store of prod_waiting + fence +
	 * re-read of our head before it sleeps. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&c->ev.ctl->prod_waiting, memory_order_relaxed) ||
	    !__atomic_load_n(&c->awake->sleeping, __ATOMIC_RELAXED))
		return;
	uint64_t tail = atomic_load_explicit(&c->ev.ctl->tail, memory_order_relaxed);
	if (tail - c->ev.pos > c->ev.size / 2)
		return;
	if (atomic_exchange_explicit(&c->ev.ctl->prod_waiting, 0, memory_order_relaxed)) {
		uint64_t one = 1;
		ssize_t n = write(c->sub_bell, &one, sizeof one);
		(void)n;
	}
}

/* The sidecar is gone: end one open stream per call, then final_rc. */
static int rs_next_dead(struct rs_client *c, struct rs_event *ev)
{
	static const char msg_gone[] = "the ringside sidecar went away";
	static const char msg_proto[] = "the ringside sidecar broke the protocol";
	for (uint32_t i = 0; c->n_open && i <= c->open_mask; i++) {
		if (!c->open[i])
			continue;
		memset(ev, 0, sizeof *ev);
		ev->type = RS_EV_ERROR;
		ev->stream = c->open[i];
		ev->error.code = c->final_code;
		ev->error.retryable = 1;
		ev->text = c->final_rc == RS_EPROTO ? msg_proto : msg_gone;
		ev->text_len = strlen(ev->text);
		rs_open_remove(c, ev->stream);
		return RS_OK;
	}
	c->state = RS_ST_DEAD;
	return c->final_rc;
}

RS_API int rs_next_us(rs_client *c, struct rs_event *ev, long long timeout_us)
{
	if (!c || !ev)
		return RS_EINVAL;
	rs_release_held(c);
	/* Any negative timeout waits forever, as rs_next's always did; one so
	 * long that the deadline would not fit in 64-bit nanoseconds (~584
	 * years of uptime) is the same thing. */
	uint64_t deadline = UINT64_MAX;
	if (timeout_us >= 0) {
		uint64_t now = rs_now_ns();
		if ((uint64_t)timeout_us < (UINT64_MAX - now) / 1000u)
			deadline = now + (uint64_t)timeout_us * 1000u;
	}
	for (;;) {
		if (c->state == RS_ST_DEAD || (c->state == RS_ST_DRAIN && c->final_rc == RS_EPROTO))
			return rs_next_dead(c, ev);
		struct ring_frame h;
		const uint8_t *p;
		int r = ring_peek(&c->ev, &h, &p);
		if (r > 0) {
			int d = rs_decode(&h, p, ev);
			if (d < 0 || (d > 0 && !rs_open_has(c, h.stream))) {
				rs_mark_dead(c, RS_EPROTO, RS_ERR_INTERNAL);
				continue;
			}
			if (d == 0) {
				ring_release(&c->ev);
				continue;
			}
			c->held = 1;
			rs_disarm(c);
			if (ev->type == RS_EV_DONE || ev->type == RS_EV_ERROR)
				rs_open_remove(c, h.stream);
			return RS_OK;
		}
		if (r < 0) {
			rs_mark_dead(c, RS_EPROTO, RS_ERR_INTERNAL);
			continue;
		}
		/* Empty. A dead sidecar's committed events are all read now. */
		if (c->state == RS_ST_DRAIN) {
			c->state = RS_ST_DEAD;
			continue;
		}
		if (timeout_us == 0) {
			/* The application may be here because rs_fd() turned
			 * readable: for an event (the ring shows it) or for the
			 * sidecar's death, which only the socket shows. Look
			 * before arming, or a kick landing in between would be
			 * consumed and lost. */
			if (rs_poll_now(c) == RS_EDISCONNECTED)
				continue;
			if (ring_maybe_nonempty(&c->ev))
				continue;
			/* Arm the bell so rs_fd() turns readable on the next event. */
			int s = ring_sleep_prepare(&c->ev);
			if (s < 0) {
				rs_mark_dead(c, RS_EPROTO, RS_ERR_INTERNAL);
				continue;
			}
			if (s > 0)
				continue;
			c->armed = 1;
			return RS_ETIMEDOUT;
		}
		rs_disarm(c);
		r = rs_wait(c, deadline, 0);
		if (r == RS_ETIMEDOUT || r == RS_ESYS)
			return r;
		/* RS_OK: look again; disconnected/proto: drain, then end streams. */
	}
}

RS_API int rs_next(rs_client *c, struct rs_event *ev, int timeout_ms)
{
	return rs_next_us(c, ev, timeout_ms < 0 ? -1 : timeout_ms * 1000LL);
}
