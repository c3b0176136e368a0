/*
 * route.h — the router: serves a client's stream from an alias's targets,
 * with retries, fallbacks, hedging, circuit breakers and rate limits.
 *
 * The router is the adapter (provider_ops) of every client stream. It runs
 * each upstream attempt as a child stream (stream.h) served by the
 * provider's own adapter, so adapters know nothing of retries. One request
 * has one plan: the alias's strategy orders its targets (lb.h), attempts
 * across retries, fallbacks and hedges share one count (max_attempts) and
 * one deadline (the stream's), and backoff (backoff.h) spaces the retries.
 *
 *   pick      the first target in the order that is available now: breaker
 *             admits (breaker.h) and rate limits allow (ratelimit.h);
 *             targets not tried yet in this request come before retries of
 *             tried ones, and a retry needs the deployment's retry budget
 *             (retry_budget.h) and waits its backoff (or its Retry-After)
 *   wait      nothing available: wait for the earliest target to become so
 *             if that is within the deadline (a rate limit with on_limit:
 *             reject fails at once); else fail at once with a typed ERROR
 *             whose retry_after_ms says when to come back
 *   commit    the first content event of an attempt (text, reasoning, tool
 *             call, usage) makes it the winner: START is written (which
 *             deployment, which attempt), then the event; every other
 *             attempt in flight (a hedge) is cancelled
 *   fail      an attempt that fails before committing is classified
 *             (errclass.h), counted in its breaker, and retried or fallen
 *             back from if its class is retryable; after committing, its
 *             failure ends the stream with a typed ERROR, never retried
 *   hedge     with hedge_after, an attempt with no first content after that
 *             long (or after its deployment's p95) gets a twin on the next
 *             available target; the first to commit wins
 *
 * DONE and ERROR carry the number of attempts made; an ERROR from a plan
 * that gave up carries the last attempt's code, status and message.
 */
#ifndef RINGSIDE_ROUTE_H
#define RINGSIDE_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct stream;
struct cfg_model;
struct chatreq;
struct srv;

/* Serve stream s for alias m. Takes *req over (it is zeroed) and keeps it
 * for every attempt. body_len: the request body's size, for the token
 * estimate of rate limits. Ends s with an error itself if it cannot. */
void route_serve(struct stream *s, const struct cfg_model *m, struct chatreq *req,
		 size_t body_len);

/* For stream.c: a non-terminal event of attempt `child`. Same returns as
 * stream_emit_frame: 0, -EAGAIN (resume follows), -EPIPE (stop follows). */
int route_emit(struct stream *child, uint16_t type, const void *a, size_t alen,
	       const void *b, size_t blen, const void *c, size_t clen);

/* For stream.c: attempt `child` ended (its end_* fields are set and its
 * adapter is stopped). Frees child. */
void route_attempt_end(struct stream *child);

/* A rate-limited deployment freed room: waiting requests look again. */
void route_wake_waiters(struct srv *srv);

#endif
