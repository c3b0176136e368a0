/*
 * test_idle.c — an idle sidecar sleeps: its loop does not wake up on its own
 * and it burns no CPU, with no clients and with a client that is connected
 * but quiet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(idle, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

/* How long the sidecar is left alone. */
#define IDLE_MS 1000
/* CPU clock ticks (utime + stime) allowed over IDLE_MS: a tick is 10 ms at
 * the usual USER_HZ of 100, so 2 ticks is noise from the stats queries
 * themselves, while a spinning loop would show ~100. */
#define IDLE_TICKS 2
/* Wake-ups beyond what the stats queries cost: an unrelated completion or
 * two (e.g. a timer set by the last request) is fine, a loop that wakes on
 * its own every few milliseconds is not. */
#define IDLE_SLACK 2

/* utime + stime of pid in clock ticks. */
static unsigned long long cpu_ticks(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *s = h_read_file(path, NULL);
	cr_assert(s, "cannot read %s", path);
	/* Fields after the command name, which may itself contain spaces. */
	char *p = strrchr(s, ')');
	cr_assert(p);
	unsigned long long ut = 0, st = 0;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	int n = sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
	cr_assert_eq(n, 2, "cannot parse %s", path);
	free(s);
	return ut + st;
}

/* Wake-ups that one rs_stats query costs the loop, measured, not assumed
 * (accept, the handshake's poll, the reply...). */
static uint64_t query_cost(const struct h_sidecar *sc)
{
	uint64_t worst = 0, prev = h_stat(sc, "loop_wakeups");
	for (int i = 0; i < 3; i++) {
		uint64_t now = h_stat(sc, "loop_wakeups");
		if (now - prev > worst)
			worst = now - prev;
		prev = now;
	}
	return worst;
}

static void assert_sleeps(const struct h_sidecar *sc)
{
	uint64_t cost = query_cost(sc);
	unsigned long long t0 = cpu_ticks(sc->pid);
	uint64_t w0 = h_stat(sc, "loop_wakeups");
	h_sleep_ms(IDLE_MS);
	uint64_t w1 = h_stat(sc, "loop_wakeups");
	unsigned long long t1 = cpu_ticks(sc->pid);
	cr_assert(w1 - w0 <= cost + IDLE_SLACK,
		  "loop woke %llu times in %d ms of idleness (one stats query costs %llu)",
		  (unsigned long long)(w1 - w0), IDLE_MS, (unsigned long long)cost);
	cr_assert(t1 - t0 <= IDLE_TICKS, "idle sidecar used %llu CPU ticks in %d ms",
		  t1 - t0, IDLE_MS);
}

Test(idle, test_idle_sidecar_sleeps)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	assert_sleeps(&sc);
	h_stop(&sc);
}

/* A connected client that submits nothing costs nothing, and neither does
 * one whose streams have all finished. */
Test(idle, test_idle_client_costs_nothing)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	rs_client *c = h_connect(&sc);
	assert_sleeps(&sc);
	struct h_set set = { 0 };
	for (int i = 0; i < 4; i++) {
		char *b = h_body("then silence", 1, -1, -1, -1, -1);
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
	}
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	h_wait_stat(&sc, "streams_active", 0);
	assert_sleeps(&sc);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}

/* Requests SPACED_N apart by SPACED_GAP_MS: each idle gap is far longer
 * than a 50 us spin, and far shorter than a 1 s one. */
#define SPACED_N 24
#define SPACED_GAP_MS 5

static uint64_t spaced_requests(const struct h_sidecar *sc)
{
	rs_client *c = h_connect(sc);
	for (int i = 0; i < SPACED_N; i++) {
		struct h_set set = { 0 };
		char *b = h_body("spaced", 1, -1, -1, -1, -1);
		h_set_add(&set, h_submit(c, H_MODEL, b));
		free(b);
		cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
		h_set_free(&set);
		h_sleep_ms(SPACED_GAP_MS);
	}
	rs_close(c);
	return h_stat(sc, "loop_spins_skipped");
}

/* With nothing in flight the loop stops spinning once spins stop catching
 * the next request (loop.h: fewer than 4 of the last 16 gaps short). */
Test(idle, test_spaced_requests_stop_the_idle_spin)
{
	struct h_sidecar sc;
	h_start(&sc, NULL);
	cr_assert_eq(h_stat(&sc, "loop_spins_skipped"), 0, "skipped before any gap was seen");
	uint64_t skipped = spaced_requests(&sc);
	/* 16 remembered gaps start as hits: 13 misses make it skip, and every
	 * later gap is skipped too. */
	cr_assert_geq(skipped, SPACED_N - 13, "only %llu idle spins skipped",
		      (unsigned long long)skipped);
	h_stop(&sc);
}

/* ... and keeps spinning while spins do catch it: with a 1 s spin every
 * 5 ms gap is short enough. */
Test(idle, test_gaps_within_the_spin_keep_it)
{
	struct h_sidecar sc;
	struct h_opts o = { .limits = "spin_us: 1000000" };
	h_start(&sc, &o);
	cr_assert_eq(spaced_requests(&sc), 0);
	h_stop(&sc);
}

/* A reply written in one burst and read slowly: READ_N events, one every
 * READ_PAUSE_MS, far inside READ_SPIN_US each, and all of them together
 * longer than it. */
#define READ_N 40
#define READ_PAUSE_MS 20
#define READ_SPIN_US "500000"

/* With nothing in flight, a client still reading what the sidecar wrote is
 * activity (loop.h: the progress hook): the loop keeps spinning while it
 * reads, for its next request comes when it is done, and does not fall
 * asleep half a second after writing the last event. */
Test(idle, test_a_client_reading_keeps_the_idle_spin)
{
	struct h_sidecar sc;
	struct h_opts o = { .limits = "spin_us: " READ_SPIN_US };
	h_start(&sc, &o);
	rs_client *c = h_connect(&sc);
	char *b = h_body("slow reader", 1, READ_N, -1, 0, 0);
	uint64_t id = h_submit(c, H_MODEL, b);
	free(b);
	/* the whole reply is in the ring before the reading starts */
	while (h_stat(&sc, "streams_done") < 1)
		h_sleep_ms(1);
	uint64_t sleeps = h_stat(&sc, "loop_sleeps");
	struct h_set set = { 0 };
	h_set_add(&set, id);
	for (unsigned n = 0; set.open; n++) {
		struct rs_event ev;
		cr_assert_eq(rs_next(c, &ev, H_EVENT_MS), RS_OK);
		h_set_event(&set, &ev);
		if (set.open)
			h_sleep_ms(READ_PAUSE_MS);
		cr_assert(n < 4 * READ_N, "no end after %u events", n);
	}
	cr_assert_geq(set.v[0].n_delta, READ_N / 2, "too short a reply to read slowly");
	cr_assert_eq(h_stat(&sc, "loop_sleeps"), sleeps,
		     "the sidecar slept while its client was still reading");
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}
