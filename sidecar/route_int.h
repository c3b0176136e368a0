/*
 * route_int.h — what route.c (the plan: which target next, waiting,
 * giving up) and route_attempt.c (one attempt: launch, commit, its end)
 * share. Not part of the router's face, which is route.h.
 */
#ifndef RINGSIDE_ROUTE_INT_H
#define RINGSIDE_ROUTE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "chatreq.h"
#include "config.h"
#include "deploy.h"
#include "errclass.h"
#include "lb.h"
#include "loop.h"
#include "server.h"
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

static inline uint64_t rt_now(const struct route *rt)
{
	return rt->srv->loop.now;
}

static inline struct dep *rt_dep(const struct route *rt, size_t pos)
{
	return &rt->srv->deps[rt->m->targets[rt->order[pos]].deployment];
}

static inline const struct cfg_resilience *rt_res(const struct route *rt)
{
	return &rt->srv->cfg->resilience;
}

/* route.c */
void rt_arm(struct route *rt, uint64_t when, enum rt_tmode mode);
void rt_disarm(struct route *rt);
/* End the client's stream with the last attempt's error (plus why the
 * plan stops); retry_after_ns UINT64_MAX: the last attempt's, if any. */
void rt_give_up(struct route *rt, const char *why, uint64_t retry_after_ns);
void rt_free(struct route *rt);

/* route_attempt.c */
/* Start an attempt on the target at order position pos (a hedge: a twin of
 * the one in flight). 0, or -EBUSY when the deployment refused it after
 * all (the caller decides again). */
int rt_launch(struct route *rt, size_t pos, int hedge);
/* Stop an attempt that has not ended; no verdict for its breaker. */
void rt_cancel(struct route *rt, struct route_attempt *a);

#endif
