/*
 * route_attempt.c — one upstream attempt of a routed stream: admitted by
 * its deployment's breaker and rate limits, run as a child stream of the
 * provider's adapter, committed at its first content (START, and its
 * twin cancelled), and judged at its end (breaker verdict, Retry-After
 * cooldown, limits released; then the plan in route.c decides what next).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "provider.h"
#include "ringside.h"
#include "route.h"
#include "route_int.h"
#include "shm/proto.h"
#include "stats.h"

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

/* The client's stream ended, or a twin won: the adapter cuts the transfer,
 * so the upstream sees the request cancelled. */
void rt_cancel(struct route *rt, struct route_attempt *a)
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

int rt_launch(struct route *rt, size_t pos, int hedge)
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
	/* Hedges are rare by design and each one doubles a request's upstream
	 * cost: worth a line each. Other attempts are the router's routine. */
	if (hedge && rt->n_live == 2)
		log_info("client %llu stream %llu: hedging on %s after %llu ms without a first "
			 "chunk from %s", (unsigned long long)rt->s->client->id,
			 (unsigned long long)rt->s->id, d->name,
			 (unsigned long long)((now - rt->live[0]->t_start) / 1000000u),
			 rt->live[0]->d->name);
	else
		log_debug("stream %llu: attempt %u on %s", (unsigned long long)rt->s->id,
			  a->number, d->name);
	rt->busy++;
	stream_start(c, provider_ops_for(d->prov->kind), d->prov, rt->m, &rt->req);
	rt->busy--;
	if (!rt->dead && !hedge && rt->n_live == 1 && rt->live[0] == a)
		rt_hedge_arm(rt, a);
	return 0;
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
