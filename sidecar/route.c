/*
 * route.c — the router's plan (see route.h): which target a request tries
 * next, waiting for one, giving up; and the client stream's provider_ops.
 * One attempt's life is route_attempt.c's.
 *
 * Re-entrancy: an attempt ends from inside its adapter, which may be inside
 * a libcurl callback, where starting another transfer on the same multi
 * handle is forbidden. So an attempt's end never starts the next attempt
 * itself: it arms the route's timer for now, and the loop runs the decision
 * on its next pass. Only route_serve (from the client's frame) and the
 * timer start attempts. Ending the client's stream stops the route, which
 * may happen while the route is on the stack (an attempt ended and the
 * route ended the stream): `busy` counts those frames and the last one out
 * frees a route marked dead.
 */
#include "route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "provider.h"
#include "ringside.h"
#include "route_int.h"
#include "shm/proto.h"
#include "stats.h"

/* ---- timer and the waiters' queue ------------------------------------------------ */

void rt_arm(struct route *rt, uint64_t when, enum rt_tmode mode)
{
	rt->tmode = mode;
	if (loop_timer_arm(&rt->srv->loop, &rt->timer, when))
		/* No memory for the timer heap: the loop cannot call us back, so
		 * the stream ends here rather than hang until its deadline. */
		stream_end_error(rt->s, RS_ERR_INTERNAL, 0, 1, "out of memory arming a timer");
}

void rt_disarm(struct route *rt)
{
	loop_timer_cancel(&rt->srv->loop, &rt->timer);
	rt->tmode = RT_T_NONE;
}

static void rt_enqueue(struct route *rt)
{
	if (rt->queued)
		return;
	rt->queued = 1;
	rt->wprev = NULL;
	rt->wnext = rt->srv->waiting;
	if (rt->wnext)
		rt->wnext->wprev = rt;
	rt->srv->waiting = rt;
	rt->srv->n_waiting++;
}

static void rt_dequeue(struct route *rt)
{
	if (!rt->queued)
		return;
	rt->queued = 0;
	if (rt->wprev)
		rt->wprev->wnext = rt->wnext;
	else
		rt->srv->waiting = rt->wnext;
	if (rt->wnext)
		rt->wnext->wprev = rt->wprev;
	rt->wnext = rt->wprev = NULL;
	rt->srv->n_waiting--;
}

void route_wake_waiters(struct srv *srv)
{
	uint64_t now = srv->loop.now;
	for (struct route *rt = srv->waiting; rt; rt = rt->wnext)
		if (rt->tmode == RT_T_DECIDE && rt->timer.when > now)
			rt_arm(rt, now, RT_T_DECIDE);
}

/* ---- the end of the plan --------------------------------------------------------- */

static uint32_t rt_ms_ceil(uint64_t ns)
{
	uint64_t ms = (ns + 999999u) / 1000000u;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

void rt_give_up(struct route *rt, const char *why, uint64_t retry_after_ns)
{
	struct stream *s = rt->s;
	s->attempts = (uint16_t)(rt->attempts > UINT16_MAX ? UINT16_MAX : rt->attempts);
	if (retry_after_ns == UINT64_MAX && rt->last_set)
		retry_after_ns = rt->last_ra_ns;
	s->retry_after_ms = retry_after_ns == UINT64_MAX ? 0 : rt_ms_ceil(retry_after_ns);
	if (!rt->last_set) {
		stream_end_error(s, RS_ERR_INTERNAL, 0, 1, "%s", why ? why : "no attempt was made");
		return;
	}
	if (why)
		stream_end_error(s, rt->last_code, rt->last_status, rt->last_retryable,
				 "%s (%s)", rt->last_text, why);
	else
		stream_end_error(s, rt->last_code, rt->last_status, rt->last_retryable, "%s",
				 rt->last_text);
}

/* Nothing can be tried now: wait for the earliest target if that fits the
 * deadline, else fail at once saying when to come back. */
static void rt_wait_or_fail(struct route *rt, uint64_t wait, enum dep_why why)
{
	const struct cfg_resilience *res = rt_res(rt);
	uint64_t now = rt_now(rt), dl = rt->s->deadline_at, min_left = rt->bo.cfg.min_left_ns;
	uint64_t latest = dl ? (dl > min_left ? dl - min_left : 0) : UINT64_MAX;
	int by_limit = why != DEP_WHY_BREAKER;
	int code = by_limit ? RS_ERR_RATE_LIMITED : RS_ERR_UNAVAILABLE;
	const char *what = why == DEP_WHY_LIMIT ? "over its rate limits"
			   : why == DEP_WHY_COOLDOWN ? "rate limited by its provider (Retry-After)"
			   : why == DEP_WHY_TENANT ? "closed to this tenant: over the tenant's limits"
						     : "unavailable (circuit open)";
	if ((why == DEP_WHY_LIMIT || why == DEP_WHY_TENANT) && res->rate_limit.reject) {
		stats.route_rejected++;
		goto fail;
	}
	if (!rt->queued && rt->srv->n_waiting >= res->rate_limit.max_queue) {
		stats.route_rejected++;
		what = by_limit ? "rate limited, and the wait queue is full"
				: "unavailable, and the wait queue is full";
		goto fail;
	}
	if (wait != UINT64_MAX && now + wait <= latest) {
		rt_enqueue(rt);
		stats.route_waits++;
		rt_arm(rt, now + wait, RT_T_DECIDE);
		return;
	}
	if (wait == UINT64_MAX && latest != UINT64_MAX && now < latest) {
		/* Room comes with some request's end (concurrency limit, probe
		 * verdict): wait on the queue, and give up at the deadline. */
		rt_enqueue(rt);
		stats.route_waits++;
		rt_arm(rt, latest, RT_T_DECIDE);
		return;
	}
fail:
	rt_dequeue(rt);
	if (by_limit)
		stats.route_rate_limited++;
	else
		stats.route_unavailable++;
	struct stream *s = rt->s;
	s->attempts = (uint16_t)(rt->attempts > UINT16_MAX ? UINT16_MAX : rt->attempts);
	s->retry_after_ms = wait == UINT64_MAX ? 0 : rt_ms_ceil(wait);
	if (rt->last_set)
		stream_end_error(s, code, rt->last_status, 1, "every target of '%s' is %s; last error: %s",
				 rt->m->alias, what, rt->last_text);
	else
		stream_end_error(s, code, 0, 1, "every target of '%s' is %s", rt->m->alias, what);
}

/* The first target (in order) available now among those tried (tried = 1)
 * or not yet tried (0); -1 with the shortest wait seen otherwise. */
static int rt_find(struct route *rt, int tried, uint64_t now, uint64_t *wait, enum dep_why *why)
{
	for (size_t pos = 0; pos < rt->n; pos++) {
		if (!!rt->tried[pos] != tried)
			continue;
		enum dep_why y;
		uint64_t w = dep_wait(rt_dep(rt, pos), now, rt->est_tokens, &y);
		if (w == 0)
			return (int)pos;
		if (w < *wait || *wait == UINT64_MAX) {
			*wait = w;
			*why = y;
		}
	}
	return -1;
}

/* What next: a target not tried yet (at once), else a retry (after its
 * backoff, if its budget allows), else wait or fail. */
static void rt_decide(struct route *rt)
{
	uint64_t now = rt_now(rt), wait = UINT64_MAX, delay;
	enum dep_why why = DEP_WHY_BREAKER;
	rt_dequeue(rt);
	if (rt->tenant && !rt->tenant_held) {
		/* The tenant's limits count requests, not attempts: taken once,
		 * before the first. */
		uint64_t w = rl_admit(rt->tenant, now, rt->est_tokens);
		if (w) {
			rt_wait_or_fail(rt, w, DEP_WHY_TENANT);
			return;
		}
		rt->tenant_held = 1;
	}
	for (int guard = 0; guard < LB_MAX_TARGETS * 2; guard++) {
		if (rt->attempts >= rt->m->max_attempts) {
			rt_give_up(rt, rt->attempts > 1 ? "attempts exhausted" : NULL, UINT64_MAX);
			return;
		}
		int pos = rt_find(rt, 0, now, &wait, &why);
		if (pos >= 0) {
			if (rt->attempts) {
				enum bo_verdict v = bo_next(&rt->bo, now, 0, &delay);
				if (v != BO_RETRY) {
					rt_give_up(rt, "no time left for another attempt", UINT64_MAX);
					return;
				}
			}
			if (rt_launch(rt, (size_t)pos, 0) == -EBUSY)
				continue;
			return;
		}
		if (!rt->attempts)
			break;
		/* Retries: the tried targets available now, in order, each if its
		 * retry budget allows. */
		int any_budget = 0, found = 0;
		for (size_t p = 0; p < rt->n && !found; p++) {
			if (!rt->tried[p])
				continue;
			struct dep *d = rt_dep(rt, p);
			enum dep_why y;
			uint64_t w = dep_wait(d, now, rt->est_tokens, &y);
			if (w) {
				if (w < wait || wait == UINT64_MAX) {
					wait = w;
					why = y;
				}
				continue;
			}
			if (!rbud_try_retry(&d->budget, now)) {
				d->st.budget_denied++;
				continue;
			}
			any_budget = found = 1;
			uint64_t fixed = p == rt->last_pos && rt->last_ra_ns != UINT64_MAX
						 ? rt->last_ra_ns : BO_JITTER;
			enum bo_verdict v = bo_next(&rt->bo, now, fixed, &delay);
			if (v == BO_NO_ATTEMPTS) {
				rt_give_up(rt, "attempts exhausted", UINT64_MAX);
				return;
			}
			if (v == BO_NO_TIME) {
				rt_give_up(rt, "no time left for another attempt", UINT64_MAX);
				return;
			}
			rt->next_pos = p;
			rt_arm(rt, now + delay, RT_T_LAUNCH);
			return;
		}
		if (!any_budget && wait == UINT64_MAX) {
			rt_give_up(rt, "retry budget spent", UINT64_MAX);
			return;
		}
		break;
	}
	rt_wait_or_fail(rt, wait, why);
}

static void rt_hedge(struct route *rt)
{
	uint64_t now = rt_now(rt), wait = UINT64_MAX;
	enum dep_why why;
	if (rt->winner || rt->n_live != 1 || rt->attempts >= rt->m->max_attempts)
		return;
	int pos = rt_find(rt, 0, now, &wait, &why);
	if (pos >= 0)
		rt_launch(rt, (size_t)pos, 1);
}

void rt_free(struct route *rt)
{
	if (rt->tenant_held) {
		rl_release(rt->tenant, rt_now(rt), rt->est_tokens, rt->used_tokens);
		if (rt->srv->waiting)
			route_wake_waiters(rt->srv);
	}
	chatreq_free(&rt->req);
	free(rt);
}

static void rt_timer_fired(struct loop_timer *t)
{
	struct route *rt = (struct route *)((char *)t - offsetof(struct route, timer));
	enum rt_tmode mode = rt->tmode;
	rt->tmode = RT_T_NONE;
	rt->busy++;
	switch (mode) {
	case RT_T_DECIDE:
		rt_decide(rt);
		break;
	case RT_T_LAUNCH:
		if (rt_launch(rt, rt->next_pos, 0) == -EBUSY && !rt->dead)
			rt_decide(rt);
		break;
	case RT_T_HEDGE:
		rt_hedge(rt);
		break;
	case RT_T_NONE:
		break;
	}
	if (--rt->busy == 0 && rt->dead)
		rt_free(rt);
}

/* ---- provider_ops of the client's stream ------------------------------------------- */

static int rt_ops_start(struct stream *s, const struct chatreq *req)
{
	(void)s;
	(void)req;
	return -ENOSYS; /* route_serve starts routes */
}

static void rt_ops_resume(struct stream *s)
{
	struct route *rt = s->pstate;
	if (rt && rt->winner && rt->winner->cs.live)
		rt->winner->cs.ops->resume(&rt->winner->cs);
}

static void rt_ops_stop(struct stream *s)
{
	struct route *rt = s->pstate;
	if (!rt)
		return;
	s->pstate = NULL;
	s->attempts = (uint16_t)(rt->attempts > UINT16_MAX ? UINT16_MAX : rt->attempts);
	while (rt->n_live)
		rt_cancel(rt, rt->live[0]);
	rt_disarm(rt);
	rt_dequeue(rt);
	if (rt->busy)
		rt->dead = 1;
	else
		rt_free(rt);
}

static const struct provider_ops route_ops = {
	.kind = "route",
	.start = rt_ops_start,
	.resume = rt_ops_resume,
	.stop = rt_ops_stop,
};

void route_serve(struct stream *s, const struct cfg_model *m, struct chatreq *req,
		 size_t body_len)
{
	struct srv *srv = s->client->srv;
	const struct cfg *cfg = srv->cfg;
	struct route *rt = calloc(1, sizeof *rt);
	if (!rt) {
		chatreq_free(req);
		stream_end_error(s, RS_ERR_INTERNAL, 0, 1, "out of memory routing the request");
		return;
	}
	rt->s = s;
	rt->m = m;
	rt->srv = srv;
	rt->req = *req;
	memset(req, 0, sizeof *req);
	rt->timer.idx = LOOP_TIMER_IDLE;
	rt->timer.fn = rt_timer_fired;
	rt->last_ra_ns = UINT64_MAX;
	rt->used_tokens = -1;
	rt->tenant = s->client->tenant && rl_limited(s->client->tenant) ? s->client->tenant : NULL;
	rt->policy.retry = cfg->resilience.retry.retry_on;
	rt->est_tokens = rl_estimate_tokens(body_len, rt->req.max_tokens);
	struct bo_config bc = {
		.base_ns = (uint64_t)cfg->resilience.retry.backoff_base_ms * 1000000u,
		.cap_ns = (uint64_t)cfg->resilience.retry.backoff_cap_ms * 1000000u,
		.max_attempts = m->max_attempts,
		.min_left_ns = (uint64_t)cfg->resilience.retry.min_time_left_ms * 1000000u,
	};
	if (bo_init(&rt->bo, &bc, NULL, s->deadline_at)) {
		rt_free(rt);
		stream_end_error(s, RS_ERR_INTERNAL, 0, 1, "bad retry settings for '%s'", m->alias);
		return;
	}
	struct lb_cand cand[LB_MAX_TARGETS];
	rt->n = m->n_targets < LB_MAX_TARGETS ? m->n_targets : LB_MAX_TARGETS;
	for (size_t i = 0; i < rt->n; i++) {
		const struct dep *d = &srv->deps[m->targets[i].deployment];
		cand[i] = (struct lb_cand){ .weight = m->targets[i].weight, .latency_ns = d->lat.ewma_ns };
	}
	lb_order(m->strategy, cand, rt->n, &srv->alias_rr[m - cfg->models], NULL, rt->order);
	s->ops = &route_ops;
	s->prov = &cfg->providers[m->provider_idx];
	s->model = m;
	s->pstate = rt;
	s->live = 1;
	rt->busy++;
	rt_decide(rt);
	if (--rt->busy == 0 && rt->dead)
		rt_free(rt);
}
