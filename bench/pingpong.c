/*
 * pingpong — the transport's physical floor and the sidecar's round trip.
 *
 *   pingpong floor [N]          two processes, one segment, no gateway:
 *                               round trip with spinning and with sleeping
 *                               consumers, plus one-way frames per second
 *   pingpong sidecar [N]        through a running sidecar ($RINGSIDE_SOCKET):
 *                               submit -> first DELTA and -> DONE, sequential,
 *                               with the mock replying at once (ttft 0)
 *   pingpong stream [N]         one unpaced stream of N tokens through the
 *                               sidecar: DELTA events per second
 *
 * Prints percentiles in microseconds. A benchmark, not a test: it asserts
 * nothing about speed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ringside.h"
#include "shm/ring.h"
#include "shm/seg.h"

static uint64_t pp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int pp_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void pp_report(const char *what, uint64_t *ns, size_t n)
{
	qsort(ns, n, sizeof *ns, pp_cmp);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)ns[i];
	printf("%-34s n=%-7zu p50 %8.2f  p90 %8.2f  p99 %8.2f  p99.9 %8.2f  max %9.2f  mean %8.2f us\n",
	       what, n, ns[n / 2] / 1e3, ns[n * 9 / 10] / 1e3, ns[n * 99 / 100] / 1e3,
	       ns[n * 999 / 1000] / 1e3, ns[n - 1] / 1e3, sum / (double)n / 1e3);
}

/* ---- floor: two processes, no gateway ------------------------------------- */

struct pp_side {
	struct ring tx, rx;
	int bell_tx, bell_rx; /* eventfds: ring the peer / be rung */
	int sleepy;
};

static void pp_kick(struct pp_side *s)
{
	if (ring_consumer_sleeping(&s->tx)) {
		uint64_t one = 1;
		ssize_t w = write(s->bell_tx, &one, sizeof one);
		(void)w;
	}
}

/* Wait for one frame: spin (or not), then announce sleep and block. */
static void pp_recv(struct pp_side *s)
{
	struct ring_frame h;
	const uint8_t *p;
	for (int spins = 0;; spins++) {
		if (ring_peek(&s->rx, &h, &p) > 0)
			break;
		if (s->sleepy || spins > 200000) {
			if (ring_sleep_prepare(&s->rx))
				continue;
			uint64_t v;
			ssize_t r = read(s->bell_rx, &v, sizeof v);
			(void)r;
			ring_sleep_cancel(&s->rx);
			spins = 0;
		}
	}
	ring_release(&s->rx);
}

static void pp_send(struct pp_side *s, uint64_t v)
{
	while (ring_push(&s->tx, 1, 0, v, &v, sizeof v) == -EAGAIN)
		;
	pp_kick(s);
}

static void pp_floor_rtt(struct seg *sg, int b1, int b2, int sleepy, size_t n, const char *label)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct pp_side s = { .bell_tx = b2, .bell_rx = b1, .sleepy = sleepy };
		ring_init_view(&s.rx, sg->sub_ctl, sg->sub_data, sg->hdr.sub_size, 0);
		ring_init_view(&s.tx, sg->ev_ctl, sg->ev_data, sg->hdr.ev_size, 1);
		for (size_t i = 0; i < n + 1000; i++) {
			pp_recv(&s);
			pp_send(&s, i);
		}
		_exit(0);
	}
	struct pp_side s = { .bell_tx = b1, .bell_rx = b2, .sleepy = sleepy };
	ring_init_view(&s.tx, sg->sub_ctl, sg->sub_data, sg->hdr.sub_size, 1);
	ring_init_view(&s.rx, sg->ev_ctl, sg->ev_data, sg->hdr.ev_size, 0);
	uint64_t *ns = malloc(n * sizeof *ns);
	for (size_t i = 0; i < n + 1000; i++) {
		uint64_t t0 = pp_now();
		pp_send(&s, i);
		pp_recv(&s);
		if (i >= 1000)
			ns[i - 1000] = pp_now() - t0;
	}
	waitpid(pid, NULL, 0);
	pp_report(label, ns, n);
	free(ns);
	ring_ctl_reset(sg->sub_ctl);
	ring_ctl_reset(sg->ev_ctl);
}

static void pp_floor_throughput(struct seg *sg, size_t n)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct ring rx;
		ring_init_view(&rx, sg->sub_ctl, sg->sub_data, sg->hdr.sub_size, 0);
		struct ring_frame h;
		const uint8_t *p;
		for (size_t i = 0; i < n;) {
			if (ring_peek(&rx, &h, &p) > 0) {
				ring_release(&rx);
				i++;
			}
		}
		_exit(0);
	}
	struct ring tx;
	ring_init_view(&tx, sg->sub_ctl, sg->sub_data, sg->hdr.sub_size, 1);
	char payload[48] = "a token of text, about the size of a DELTA";
	uint64_t t0 = pp_now();
	for (size_t i = 0; i < n; i++)
		while (ring_push(&tx, 2, 0, i, payload, sizeof payload) == -EAGAIN)
			;
	waitpid(pid, NULL, 0);
	double s = (double)(pp_now() - t0) / 1e9;
	printf("%-34s %.1f M frames/s (%zu frames of %zu bytes in %.3f s)\n",
	       "one-way throughput, spinning", (double)n / s / 1e6, n, sizeof payload, s);
	ring_ctl_reset(sg->sub_ctl);
}

static int pp_floor(size_t n)
{
	struct seg sg;
	if (seg_create(&sg, 1u << 18, 1u << 18, 1u << 20, 16, 1)) {
		perror("seg_create");
		return 1;
	}
	int b1 = eventfd(0, 0), b2 = eventfd(0, 0);
	pp_floor_rtt(&sg, b1, b2, 0, n, "floor round trip, spinning");
	pp_floor_rtt(&sg, b1, b2, 1, n / 10, "floor round trip, sleeping");
	pp_floor_throughput(&sg, n * 100);
	seg_detach(&sg);
	return 0;
}

/* ---- through the sidecar -------------------------------------------------- */

static int pp_sidecar(size_t n)
{
	rs_client *c;
	int rc = rs_connect(NULL, &c);
	if (rc) {
		fprintf(stderr, "pingpong: %s\n", rs_strerror(rc));
		return 1;
	}
	static const char body[] =
		"{\"messages\":[{\"role\":\"user\",\"content\":\"pong\"}],\"stream\":true,"
		"\"mock\":{\"ttft_us\":0,\"interval_us\":0}}";
	struct rs_request req = { .model = "mock", .body = body, .body_len = sizeof body - 1 };
	uint64_t *first = malloc(n * sizeof *first), *done = malloc(n * sizeof *done);
	for (size_t i = 0; i < n + 1000; i++) {
		uint64_t id, t0 = pp_now(), t1 = 0;
		if ((rc = rs_submit(c, &req, &id))) {
			fprintf(stderr, "pingpong: %s\n", rs_strerror(rc));
			return 1;
		}
		struct rs_event ev;
		for (;;) {
			if ((rc = rs_next(c, &ev, -1))) {
				fprintf(stderr, "pingpong: %s\n", rs_strerror(rc));
				return 1;
			}
			if (ev.type == RS_EV_DELTA && !t1)
				t1 = pp_now();
			if (ev.type == RS_EV_DONE || ev.type == RS_EV_ERROR)
				break;
		}
		if (i >= 1000) {
			first[i - 1000] = t1 - t0;
			done[i - 1000] = pp_now() - t0;
		}
	}
	pp_report("sidecar submit -> first DELTA", first, n);
	pp_report("sidecar submit -> DONE", done, n);
	rs_close(c);
	free(first);
	free(done);
	return 0;
}

/* One long stream, no pacing: how many DELTA events per second reach the
 * application through the sidecar. */
static int pp_stream(size_t n)
{
	rs_client *c;
	int rc = rs_connect(NULL, &c);
	if (rc) {
		fprintf(stderr, "pingpong: %s\n", rs_strerror(rc));
		return 1;
	}
	char body[256];
	int len = snprintf(body, sizeof body,
			   "{\"messages\":[{\"role\":\"user\",\"content\":\"tok\"}],"
			   "\"stream\":true,\"mock\":{\"tokens\":%zu,\"ttft_us\":0,\"interval_us\":0}}",
			   n);
	struct rs_request req = { .model = "mock", .body = body, .body_len = (size_t)len };
	uint64_t id, t0 = pp_now(), deltas = 0, bytes = 0;
	if ((rc = rs_submit(c, &req, &id))) {
		fprintf(stderr, "pingpong: %s\n", rs_strerror(rc));
		return 1;
	}
	struct rs_event ev;
	while ((rc = rs_next(c, &ev, -1)) == RS_OK && ev.type != RS_EV_DONE && ev.type != RS_EV_ERROR) {
		if (ev.type == RS_EV_DELTA) {
			deltas++;
			bytes += ev.text_len;
		}
	}
	double s = (double)(pp_now() - t0) / 1e9;
	printf("%-34s %.2f M DELTA/s (%llu events, %llu bytes in %.3f s)\n",
	       "sidecar one stream, unpaced", (double)deltas / s / 1e6,
	       (unsigned long long)deltas, (unsigned long long)bytes, s);
	rs_close(c);
	return rc == RS_OK && ev.type == RS_EV_DONE ? 0 : 1;
}

int main(int argc, char **argv)
{
	size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
	if (argc > 1 && !strcmp(argv[1], "floor"))
		return pp_floor(n);
	if (argc > 1 && !strcmp(argv[1], "sidecar"))
		return pp_sidecar(n);
	if (argc > 1 && !strcmp(argv[1], "stream"))
		return pp_stream(n);
	fprintf(stderr, "usage: pingpong floor|sidecar|stream [N]\n");
	return 2;
}
