/*
 * route.c — the router (see route.h): one plan per client stream, each
 * upstream attempt a child stream served by its provider's adapter.
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

#include "backoff.h"
#include "chatreq.h"
#include "client.h"
#include "deploy.h"
#include "errclass.h"
#include "lb.h"
#include "log.h"
#include "provider.h"
#include "ringside.h"
#include "server.h"
#include "shm/proto.h"
#include "stats.h"
#include "stream.h"

/* Attempts in flight at once: the primary and one hedge. */
#define RT_LIVE_MAX 2

enum rt_tmode { RT_T_NONE = 0, RT_T_DECIDE, RT_T_LAUNCH, RT_T_HEDGE };

struct route;

struct route_attempt {
	struct stream cs;          /* the child stream its adapter serves */
	struct route *rt;
	struct dep *d;
	struct brk_ticket tk;
	uint32_t number;           /* 1-based, over the whole plan */
	size_t pos;                /* in the route's order */
	uint64_t t_start;
	uint64_t first_ns;         /* time to its first content; 0 = none yet */
	int64_t used_tokens;       /* from its USAGE; -1 = none seen */
	uint8_t rl_held;           /* admitted by the deployment's rate limits */
	uint8_t hedge;
};

struct route {
	struct stream *s;          /* the client's stream */
	const struct cfg_model *m;
	struct srv *srv;
	struct chatreq req;        /* owned: every attempt is built from it */
	uint64_t est_tokens;
	struct rl *tenant;         /* the client's tenant limits, or NULL */
	uint8_t tenant_held;       /* admitted by them: released when the route ends */
	int64_t used_tokens;       /* from the winner's USAGE; -1 = none */
	uint32_t order[LB_MAX_TARGETS];
	uint8_t tried[LB_MAX_TARGETS];
	size_t n;
	struct bo bo;
	struct ec_policy policy;
	uint32_t attempts;
	struct route_attempt *live[RT_LIVE_MAX];
	size_t n_live;
	struct route_attempt *winner;
	struct loop_timer timer;
	enum rt_tmode tmode;
	size_t next_pos;           /* RT_T_LAUNCH: which target */
	struct route *wnext, *wprev; /* srv's waiters, while waiting for room */
	uint8_t queued;
	uint8_t dead;
	uint32_t busy;
	/* the last failed attempt, for the final ERROR */
	int last_set;
	uint16_t last_code, last_status;
	uint8_t last_retryable;
	uint64_t last_ra_ns;       /* its Retry-After, UINT64_MAX = none */
	size_t last_pos;
	char last_text[STREAM_END_TEXT];
};

static void rt_decide(struct route *rt);

static uint64_t rt_now(const struct route *rt)
{
	return rt->srv->loop.now;
}

static struct dep *rt_dep(const struct route *rt, size_t pos)
{
	return &rt->srv->deps[rt->m->targets[rt->order[pos]].deployment];
}

static const struct cfg_resilience *rt_res(const struct route *rt)
{
	return &rt->srv->cfg->resilience;
}

/* ---- timer and the waiters' queue ------------------------------------------------ */

static void rt_arm(struct route *rt, uint64_t when, enum rt_tmode mode)
{
	rt->tmode = mode;
	if (loop_timer_arm(&rt->srv->loop, &rt->timer, when))
		/* No memory for the timer heap: the loop cannot call us back, so
		 * the stream ends here rather than hang until its deadline. */
		stream_end_error(rt->s, RS_ERR_INTERNAL, 0, 1, "out of memory arming a timer");
}

static void rt_disarm(struct route *rt)
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

/* End the client's stream with the last attempt's error (plus why the
 * plan stops, when that is not the attempt's own fault). */
static void rt_give_up(struct route *rt, const char *why, uint64_t retry_after_ns)
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

/* ---- attempts ------------------------------------------------------------------------ */

static void rt_unlink(struct route *rt, struct route_attempt *a)
{
	for (size_t i = 0; i < rt->n_live; i++)
		if (rt->live[i] == a) {
			rt->live[i] = rt->live[--rt->n_live];
			rt->live[rt->n_live] = NULL;
			return;
		}
}

static void rt_release_limits(struct route *rt, struct route_attempt *a, uint64_t now)
{
	if (!a->rl_held)
		return;
	a->rl_held = 0;
	rl_release(&a->d->rl, now, rt->est_tokens, a->used_tokens);
	if (rt->srv->waiting)
		route_wake_waiters(rt->srv);
}

/* Stop an attempt that has not ended (the client's stream ended, or a twin
 * won): its adapter cuts the transfer, so the upstream sees the request
 * cancelled. No verdict for its breaker. */
static void rt_cancel(struct route *rt, struct route_attempt *a)
{
	rt_unlink(rt, a);
	if (a->cs.live) {
		a->cs.live = 0;
		a->cs.ops->stop(&a->cs);
	}
	brk_on_abandon(&a->d->brk, a->tk);
	rt_release_limits(rt, a, rt_now(rt));
	free(a);
}

/* a's first content: it serves the stream. */
static void rt_commit(struct route *rt, struct route_attempt *a)
{
	uint64_t now = rt_now(rt);
	rt->winner = a;
	a->first_ns = now - a->t_start;
	lb_lat_add(&a->d->lat, a->first_ns);
	if (rt->tmode == RT_T_HEDGE)
		rt_disarm(rt);
	for (size_t i = rt->n_live; i-- > 0;)
		if (rt->live[i] != a)
			rt_cancel(rt, rt->live[i]);
	if (a->hedge)
		stats.route_hedge_wins++;
	stream_set_start(rt->s, a->d->prov->name, a->d->cfg->model, a->number);
}

static void rt_hedge_arm(struct route *rt, struct route_attempt *a)
{
	const struct cfg_model *m = rt->m;
	if (rt->n < 2 || rt->n_live != 1 || rt->winner || rt->tmode != RT_T_NONE ||
	    rt->attempts >= m->max_attempts)
		return;
	uint64_t after = m->hedge_p95 ? lb_lat_p95(&a->d->lat)
				       : (uint64_t)m->hedge_after_ms * 1000000u;
	if (after)
		rt_arm(rt, a->t_start + after, RT_T_HEDGE);
}

/* Start an attempt on the target at order position pos. Returns 0, or
 * -EBUSY when the deployment refused it after all (the caller decides
 * again). */
static int rt_launch(struct route *rt, size_t pos, int hedge)
{
	struct dep *d = rt_dep(rt, pos);
	uint64_t now = rt_now(rt);
	struct brk_ticket tk;
	enum brk_admit ad = brk_allow(&d->brk, now, &tk);
	if (ad == BRK_DENY_OPEN || ad == BRK_DENY_PROBING)
		return -EBUSY;
	int held = 0;
	if (rl_limited(&d->rl)) {
		if (rl_admit(&d->rl, now, rt->est_tokens)) {
			brk_on_abandon(&d->brk, tk);
			return -EBUSY;
		}
		held = 1;
	}
	struct route_attempt *a = calloc(1, sizeof *a);
	if (!a) {
		brk_on_abandon(&d->brk, tk);
		if (held)
			rl_release(&d->rl, now, rt->est_tokens, 0);
		stream_end_error(rt->s, RS_ERR_INTERNAL, 0, 1, "out of memory starting an attempt");
		return 0;
	}
	if (!rt->tried[pos])
		rbud_on_request(&d->budget, now);
	d->st.attempts++;
	stats.route_attempts++;
	if (hedge) {
		d->st.hedges++;
		stats.route_hedges++;
		rt->bo.attempts++;
	} else if (rt->tried[pos]) {
		d->st.retries++;
		stats.route_retries++;
	} else if (rt->attempts) {
		d->st.fallbacks++;
		stats.route_fallbacks++;
	}
	a->rt = rt;
	a->d = d;
	a->tk = tk;
	a->pos = pos;
	a->t_start = now;
	a->used_tokens = -1;
	a->rl_held = (uint8_t)held;
	a->hedge = (uint8_t)hedge;
	a->number = ++rt->attempts;
	if (rt->tried[pos] < UINT8_MAX)
		rt->tried[pos]++;
	struct stream *c = &a->cs;
	c->id = rt->s->id;
	c->client = rt->s->client;
	c->parent = rt->s;
	c->att = a;
	c->umodel = d->cfg->model;
	c->t_created = now;
	c->deadline.idx = LOOP_TIMER_IDLE;
	c->fail_retry_after_ns = UINT64_MAX;
	rt->live[rt->n_live++] = a;
	log_debug("stream %llu: attempt %u on %s%s", (unsigned long long)rt->s->id, a->number,
		  d->name, hedge ? " (hedge)" : "");
	rt->busy++;
	stream_start(c, provider_ops_for(d->prov->kind), d->prov, rt->m, &rt->req);
	rt->busy--;
	if (!rt->dead && !hedge && rt->n_live == 1 && rt->live[0] == a)
		rt_hedge_arm(rt, a);
	return 0;
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

static void rt_free(struct route *rt)
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

/* ---- what stream.c calls ---------------------------------------------------------- */

int route_emit(struct stream *child, uint16_t type, const void *a, size_t alen,
	       const void *b, size_t blen, const void *c, size_t clen)
{
	struct route_attempt *at = child->att;
	struct route *rt = at->rt;
	if (type == PROTO_START)
		return 0; /* ours is written at the commit, with the attempt number */
	if (rt->winner != at) {
		if (rt->winner)
			return -EPIPE;
		rt_commit(rt, at);
	}
	if (type == PROTO_USAGE && alen >= sizeof(struct proto_usage)) {
		struct proto_usage u;
		memcpy(&u, a, sizeof u);
		at->used_tokens = rt->used_tokens = u.total_tokens;
	}
	return stream_emit_frame(rt->s, type, a, alen, b, blen, c, clen);
}

void route_attempt_end(struct stream *child)
{
	struct route_attempt *a = child->att;
	struct route *rt = a->rt;
	struct dep *d = a->d;
	uint64_t now = rt_now(rt);
	rt_unlink(rt, a);
	rt->busy++;
	if (child->end_type == PROTO_DONE) {
		if (!rt->winner)
			rt_commit(rt, a);
		brk_on_result(&d->brk, now, a->tk, BRK_SUCCESS, a->first_ns ? a->first_ns : now - a->t_start);
		d->st.successes++;
		rt_release_limits(rt, a, now);
		rt->s->attempts = (uint16_t)(rt->attempts > UINT16_MAX ? UINT16_MAX : rt->attempts);
		stream_end_done(rt->s, child->end_text);
		goto out;
	}
	struct ec_report rep = { .rs_code = child->err_code, .http_status = child->http_status,
				 .retryable = child->retryable, .curl_code = child->fail_curl,
				 .deadline = (enum ec_deadline)child->fail_deadline };
	enum ec_class cls = ec_classify(&rep);
	uint64_t ra = child->fail_retry_after_ns;
	if (ec_is_fault(cls)) {
		brk_on_result(&d->brk, now, a->tk, BRK_FAILURE, 0);
		d->st.failures++;
	} else {
		brk_on_abandon(&d->brk, a->tk);
		if (cls != EC_CANCELLED)
			d->st.failures++;
	}
	if (cls == EC_HTTP_429 && ra != UINT64_MAX && ra > 0) {
		/* The provider said when: nobody on this host asks before then. */
		dep_cooldown(d, now, now + ra);
	}
	rt_release_limits(rt, a, now);
	rt->last_set = 1;
	rt->last_code = child->err_code;
	rt->last_status = child->http_status;
	rt->last_retryable = child->retryable;
	rt->last_ra_ns = ra;
	rt->last_pos = a->pos;
	memcpy(rt->last_text, child->end_text, child->end_len);
	rt->last_text[child->end_len] = 0;
	log_debug("stream %llu: attempt %u on %s failed (%s): %s", (unsigned long long)rt->s->id,
		  a->number, d->name, ec_name(cls), rt->last_text);
	if (rt->winner == a) {
		/* The client has seen content: a retry would repeat it. */
		rt->s->attempts = (uint16_t)(rt->attempts > UINT16_MAX ? UINT16_MAX : rt->attempts);
		stream_end_error(rt->s, child->err_code, child->http_status, child->retryable, "%s",
				 rt->last_text);
	} else if (rt->n_live) {
		/* A twin still runs: it may yet serve the stream. */
	} else if (!ec_retryable(&rt->policy, cls)) {
		rt_give_up(rt, NULL, UINT64_MAX);
	} else if (!rt->dead) {
		rt_arm(rt, now, RT_T_DECIDE);
	}
out:
	free(a);
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
