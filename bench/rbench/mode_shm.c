/*
 * mode_shm.c — the two modes that go through ringside the way an
 * application does: libringside, the shared-memory rings, the sidecar.
 *
 *   shm       the sidecar forwards to mockllm over loopback HTTP: what an
 *             application pays for ringside in front of a real provider,
 *             to be read against "direct" (the same request with libcurl);
 *   shm-mock  the sidecar answers from its in-process mock provider: the
 *             gateway's own round trip (rings, loop, stream bookkeeping,
 *             event encoding) with no network and no provider at all.
 *
 * One client per phase, every request on it. Events carry the sidecar's
 * stream id; a small open-addressed table, sized once at open for the
 * runner's max_inflight, maps it back to the runner's slot, so nothing is
 * allocated per request or per event.
 *
 * Waiting uses rs_next_us with the time left to the runner's deadline, so
 * the open loop's schedule is kept to the microsecond, and never a 0
 * timeout: on an empty ring that arms the sidecar's bell, which would cost
 * the sidecar a write() per event while we are awake anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rb_mode.h"
#include "ringside.h"

/* Room for the sidecar's whole STATS reply: it renders into 8 KiB
 * (sidecar/handshake.c), so this never truncates the pid line away. */
#define SM_STATS_LEN 8192

/* One stream in flight: its sidecar id and the runner's slot. id 0 marks a
 * free entry; libringside numbers streams from 1. */
struct sm_entry {
	uint64_t id;
	uint32_t slot;
};

struct sm_state {
	const char *name; /* the mode's name, for messages */
	const char *alias;
	const char *body;
	size_t body_len;
	struct rb_sink sink;
	rs_client *c;
	pid_t pid; /* the sidecar's, 0 if its stats do not say */
	/* Open addressing, linear probing, backward-shift deletion. At
	 * least twice max_inflight entries, so probes stay short and a free
	 * entry always exists. */
	struct sm_entry *tab;
	uint32_t mask;
	uint32_t n, max;
};

/* Fibonacci hashing: libringside's ids are consecutive, and the multiply
 * spreads them over the table's high bits whatever its size. */
static uint32_t sm_home(const struct sm_state *st, uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & st->mask;
}

static void sm_put(struct sm_state *st, uint64_t id, uint32_t slot)
{
	uint32_t i = sm_home(st, id);
	while (st->tab[i].id)
		i = (i + 1) & st->mask;
	st->tab[i] = (struct sm_entry){ .id = id, .slot = slot };
	st->n++;
}

/* Remove id; its slot in *slot. -1 if it is not in flight. */
static int sm_take(struct sm_state *st, uint64_t id, uint32_t *slot)
{
	uint32_t i = sm_home(st, id);
	while (st->tab[i].id != id) {
		if (!st->tab[i].id)
			return -1;
		i = (i + 1) & st->mask;
	}
	*slot = st->tab[i].slot;
	/* Backward shift: pull later entries of the cluster into the hole
	 * when their home is at or before it, so lookups need no tombstones. */
	for (uint32_t j = i;;) {
		j = (j + 1) & st->mask;
		if (!st->tab[j].id)
			break;
		uint32_t home = sm_home(st, st->tab[j].id);
		if (((j - home) & st->mask) >= ((j - i) & st->mask)) {
			st->tab[i] = st->tab[j];
			i = j;
		}
	}
	st->tab[i].id = 0;
	st->n--;
	return 0;
}

static int sm_find(const struct sm_state *st, uint64_t id, uint32_t *slot)
{
	for (uint32_t i = sm_home(st, id); st->tab[i].id; i = (i + 1) & st->mask)
		if (st->tab[i].id == id) {
			*slot = st->tab[i].slot;
			return 0;
		}
	return -1;
}

/* The sidecar's pid from the `pid` line of its stats, for /proc/<pid>. */
static pid_t sm_sidecar_pid(const char *socket, const char *name)
{
	char buf[SM_STATS_LEN];
	int rc = rs_stats(socket, buf, sizeof buf);
	if (rc != RS_OK) {
		fprintf(stderr, "ringside-bench: %s: rs_stats: %s\n", name, rs_strerror(rc));
		return 0;
	}
	for (const char *line = buf; line && *line;) {
		if (!strncmp(line, "pid ", 4)) {
			long pid = strtol(line + 4, NULL, 10);
			if (pid > 0)
				return (pid_t)pid;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	fprintf(stderr, "ringside-bench: %s: the sidecar's stats carry no pid; "
		"its CPU time and RSS are not reported\n", name);
	return 0;
}

static void sm_close(void *vst)
{
	struct sm_state *st = vst;
	if (!st)
		return;
	rs_close(st->c);
	free(st->tab);
	free(st);
}

static void *sm_open(const struct rb_params *p, const struct rb_sink *sink, const char *name,
		     const char *alias, const char *body)
{
	struct sm_state *st = calloc(1, sizeof *st);
	if (!st)
		goto nomem;
	st->name = name;
	st->alias = alias;
	st->body = body;
	st->body_len = strlen(body);
	st->sink = *sink;
	st->max = p->max_inflight;
	uint32_t cap = 16;
	while (cap < 2 * st->max)
		cap *= 2;
	st->tab = calloc(cap, sizeof *st->tab);
	if (!st->tab)
		goto nomem;
	st->mask = cap - 1;
	int rc = rs_connect(p->socket, &st->c);
	if (rc != RS_OK) {
		fprintf(stderr, "ringside-bench: %s: rs_connect %s: %s\n", name, p->socket,
			rs_strerror(rc));
		goto fail;
	}
	st->pid = sm_sidecar_pid(p->socket, name);
	return st;
nomem:
	fprintf(stderr, "ringside-bench: %s: out of memory\n", name);
fail:
	sm_close(st);
	return NULL;
}

static void *sm_open_shm(const struct rb_params *p, const struct rb_sink *sink)
{
	return sm_open(p, sink, "shm", p->alias, p->shm_body);
}

static void *sm_open_mock(const struct rb_params *p, const struct rb_sink *sink)
{
	return sm_open(p, sink, "shm-mock", p->mock_alias, p->mock_body);
}

static int sm_start(void *vst, uint32_t slot)
{
	struct sm_state *st = vst;
	if (st->n >= st->max) {
		fprintf(stderr, "ringside-bench: %s: more than %u requests in flight\n", st->name,
			st->max);
		return -1;
	}
	struct rs_request req = { .model = st->alias, .body = st->body, .body_len = st->body_len };
	uint64_t id;
	int rc = rs_submit(st->c, &req, &id);
	if (rc != RS_OK) {
		/* RS_EAGAIN included: the sidecar's max_streams_per_client is
		 * below the runner's max_inflight, and waiting here would
		 * distort every figure of the run. */
		fprintf(stderr, "ringside-bench: %s: rs_submit: %s\n", st->name, rs_strerror(rc));
		return -1;
	}
	sm_put(st, id, slot);
	return 0;
}

/* rs_next_us's timeout for the time left to deadline_ns. Never 0: a
 * deadline already passed (the runner is behind, or every slot is busy)
 * gets a 1 us look, which reads what has arrived without arming the bell. */
static long long sm_timeout_us(uint64_t deadline_ns)
{
	if (deadline_ns == UINT64_MAX)
		return -1;
	uint64_t now = rb_now_ns();
	if (deadline_ns <= now)
		return 1;
	/* Rounded up: returning before the deadline would only make the
	 * runner call again. */
	return (long long)((deadline_ns - now + 999) / 1000);
}

/* Deliver the next event the runner cares about: returns after one, or at
 * the deadline. START, USAGE, empty DELTAs and the rest are read past. */
static int sm_wait(void *vst, uint64_t deadline_ns)
{
	struct sm_state *st = vst;
	for (;;) {
		struct rs_event ev;
		int rc = rs_next_us(st->c, &ev, sm_timeout_us(deadline_ns));
		uint64_t now = rb_now_ns();
		if (rc == RS_ETIMEDOUT)
			return 0;
		if (rc != RS_OK) {
			fprintf(stderr, "ringside-bench: %s: rs_next_us: %s\n", st->name,
				rs_strerror(rc));
			return -1;
		}
		int end = ev.type == RS_EV_DONE || ev.type == RS_EV_ERROR;
		if (!end && (ev.type != RS_EV_DELTA || ev.text_len == 0))
			continue;
		uint32_t slot;
		if ((end ? sm_take(st, ev.stream, &slot) : sm_find(st, ev.stream, &slot)) < 0) {
			fprintf(stderr, "ringside-bench: %s: event for stream %llu, not in flight\n",
				st->name, (unsigned long long)ev.stream);
			return -1;
		}
		if (ev.type == RS_EV_DELTA) {
			st->sink.on_chunk(st->sink.arg, slot, now);
		} else if (ev.type == RS_EV_DONE) {
			st->sink.on_end(st->sink.arg, slot, now, 1);
		} else {
			fprintf(stderr, "ringside-bench: %s: stream %llu: %s (http %d): %.*s\n",
				st->name, (unsigned long long)ev.stream,
				rs_errcode_name(ev.error.code), ev.error.http_status,
				(int)ev.text_len, ev.text);
			st->sink.on_end(st->sink.arg, slot, now, 0);
		}
		return 0;
	}
}

static pid_t sm_server_pid(void *vst)
{
	return ((struct sm_state *)vst)->pid;
}

const struct rb_mode_ops rb_mode_shm = {
	.name = "shm",
	.what = "libringside -> sidecar -> mockllm (loopback HTTP, openai stream)",
	.open = sm_open_shm,
	.start = sm_start,
	.wait = sm_wait,
	.server_pid = sm_server_pid,
	.close = sm_close,
};

const struct rb_mode_ops rb_mode_shm_mock = {
	.name = "shm-mock",
	.what = "libringside -> sidecar's in-process mock: the gateway's own round trip, no network",
	.open = sm_open_mock,
	.start = sm_start,
	.wait = sm_wait,
	.server_pid = sm_server_pid,
	.close = sm_close,
};
