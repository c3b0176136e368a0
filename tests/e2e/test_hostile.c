/*
 * test_hostile.c — a client that scribbles on its own segment, or otherwise
 * breaks the protocol, loses its own connection and nothing else: the
 * sidecar closes it (EOF on its socket, clients_killed, a "protocol
 * violation" log line) while a well-behaved client mid-stream on the same
 * sidecar finishes with exactly the right text.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "shm/proto.h"

TestSuite(hostile, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

static void push(struct h_raw *r, uint16_t type, uint16_t flags, uint64_t stream,
		 const void *p, uint32_t len)
{
	cr_assert_eq(ring_push(&r->sub, type, flags, stream, p, len), 0);
}

static void push_request(struct h_raw *r, uint64_t stream, const char *body)
{
	cr_assert_eq(h_raw_request(r, stream, H_MODEL, body, strlen(body)), 0);
}

/* The submit ring's tail jumps past anything the ring can hold. */
static void g_tail_huge(struct h_raw *r)
{
	atomic_store(&r->sub.ctl->tail, 1ull << 60);
}

/* A frame header that claims more payload than a frame may carry. */
static void g_frame_too_long(struct h_raw *r)
{
	struct ring_frame f = { .len = r->sub.max_payload + 64, .type = PROTO_REQUEST, .stream = 1 };
	memcpy(r->sub.data + (r->sub.pos & r->sub.mask), &f, sizeof f);
	atomic_store(&r->sub.ctl->tail, r->sub.pos + ring_rec_size(f.len));
}

static void g_unknown_type(struct h_raw *r)
{
	push(r, 0x77, 0, 1, "zz", 2);
}

static void g_short_request(struct h_raw *r)
{
	push(r, PROTO_REQUEST, 0, 1, "abcd", 4);
}

/* Header says 4 + 1000 bytes follow; 6 do. */
static void g_lengths_mismatch(struct h_raw *r)
{
	uint8_t buf[sizeof(struct proto_request) + 6];
	struct proto_request h = { .model_len = 4, .body_len = 1000 };
	memcpy(buf, &h, sizeof h);
	memcpy(buf + sizeof h, "mock{}", 6);
	push(r, PROTO_REQUEST, 0, 1, buf, sizeof buf);
}

static void g_stream_zero(struct h_raw *r)
{
	char *b = h_body("zero is not an id", 1, -1, -1, -1, -1);
	push_request(r, 0, b);
	free(b);
}

/* The first stream 7 is live (it never ends by itself) when the second
 * REQUEST claims its id. */
static void g_duplicate_id(struct h_raw *r)
{
	char *b = h_body("seven", 1, 1000000, -1, 0, 1000);
	push_request(r, 7, b);
	push_request(r, 7, b);
	free(b);
}

/* A REQUEST fragment with more to come, then another stream's REQUEST. */
static void g_interleaved_fragments(struct h_raw *r)
{
	push(r, PROTO_REQUEST, RING_F_MORE, 3, "0123456789", 10);
	push(r, PROTO_REQUEST, 0, 4, "0123456789", 10);
}

static void g_cancel_with_payload(struct h_raw *r)
{
	push(r, PROTO_CANCEL, 0, 1, "abcd", 4);
}

/* After the handshake the sidecar expects silence on the socket. */
static void g_socket_data(struct h_raw *r)
{
	cr_assert_eq(send(r->sock, "hi", 2, MSG_NOSIGNAL), 2);
}

/* The event ring's head (ours to write) jumps ahead of anything the sidecar
 * wrote; it finds out when the ring looks full, so ask for more than the
 * 64 KiB event ring holds. */
static void g_event_head_corrupt(struct h_raw *r)
{
	atomic_store(&r->ev.ctl->head, 1ull << 40);
	char *b = h_body("abc", 0, 40000, -1, -1, -1);
	push_request(r, 1, b);
	free(b);
}

static const struct garbage {
	const char *name;
	void (*fn)(struct h_raw *r);
	const char *reason; /* what the sidecar logs */
	unsigned dropped;   /* streams of the victim it must drop */
} garbage[] = {
	{ "tail_huge", g_tail_huge, "corrupt submit ring", 0 },
	{ "frame_too_long", g_frame_too_long, "corrupt submit ring", 0 },
	{ "unknown_type", g_unknown_type, "unknown frame type", 0 },
	{ "short_request", g_short_request, "short REQUEST frame", 0 },
	{ "lengths_mismatch", g_lengths_mismatch, "REQUEST lengths do not add up", 0 },
	{ "stream_zero", g_stream_zero, "stream id 0", 0 },
	{ "duplicate_id", g_duplicate_id, "duplicate stream id", 1 },
	{ "interleaved_fragments", g_interleaved_fragments, "fragments of two messages interleaved", 0 },
	{ "cancel_with_payload", g_cancel_with_payload, "malformed CANCEL", 0 },
	{ "socket_data", g_socket_data, "unexpected data on the socket", 0 },
	{ "event_head_corrupt", g_event_head_corrupt, "corrupt event ring head", 1 },
};

/* Take whatever the good client has without waiting. */
static void pump(rs_client *c, struct h_set *set)
{
	struct rs_event ev;
	int rc;
	while ((rc = rs_next(c, &ev, 0)) == RS_OK)
		h_set_event(set, &ev);
	cr_assert_eq(rc, RS_ETIMEDOUT, "good client: %s", rs_strerror(rc));
}

Test(hostile, test_hostile_client_loses_only_itself)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "event_ring: 64KiB" });
	rs_client *c = h_connect(&sc);
	/* Two good streams: one that ends by itself (its whole text is
	 * checked) and one that cannot, proving the good client is still
	 * mid-stream after every attack. */
	const char *prompt = "steady stream across hostile neighbours";
	const char *eprompt = "endless good stream";
	char *b = h_body(prompt, 1, 3000, -1, 0, 1000);
	struct h_set set = { 0 };
	struct h_stream *good = h_set_add(&set, h_submit(c, H_MODEL, b));
	free(b);
	b = h_body(eprompt, 1, 1000000, -1, 0, 1000);
	uint64_t endless_id = h_submit(c, H_MODEL, b);
	free(b);
	h_set_add(&set, endless_id);
	while (good->n_delta == 0) {
		struct rs_event ev;
		cr_assert_eq(rs_next(c, &ev, H_EVENT_MS), RS_OK);
		h_set_event(&set, &ev);
	}
	size_t n = sizeof garbage / sizeof garbage[0];
	uint64_t dropped = 0;
	for (size_t k = 0; k < n; k++) {
		const struct garbage *g = &garbage[k];
		struct h_raw r;
		int rc = h_raw_connect(sc.sock, &r);
		cr_assert(rc == 0, "%s: raw connect: %s", g->name, strerror(-rc));
		g->fn(&r);
		h_raw_bell(&r);
		cr_assert(h_raw_wait_eof(&r, H_WAIT_MS), "%s: the sidecar kept the connection", g->name);
		h_wait_stat(&sc, "clients_killed", k + 1);
		char line[128];
		snprintf(line, sizeof line, "protocol violation: %s", g->reason);
		cr_assert(h_log_count(&sc, line) >= 1, "%s: no '%s' in the log:\n%s", g->name, line,
			  h_log_tail(&sc));
		h_raw_close(&r);
		dropped += g->dropped;
		h_wait_stat(&sc, "clients_connected", 1);
		h_wait_stat(&sc, "streams_dropped", dropped);
		pump(c, &set);
		const struct h_stream *e = h_set_find(&set, endless_id);
		cr_assert(e->phase != H_ENDED, "%s: the good endless stream ended: %s", g->name,
			  e->err_msg);
	}
	cr_assert_eq(h_log_count(&sc, "protocol violation"), (int)n);
	while (good->phase != H_ENDED) {
		struct rs_event ev;
		cr_assert_eq(rs_next(c, &ev, H_EVENT_MS), RS_OK);
		h_set_event(&set, &ev);
	}
	char *want = h_expected_reply(prompt, 3000, -1);
	char why[512];
	cr_assert(h_check_done(good, H_PROVIDER, H_UPSTREAM, want, h_word_count(prompt), 3000, "stop",
			       why, sizeof why) == 0, "good client: %s", why);
	free(want);
	cr_assert_eq(rs_cancel(c, endless_id), RS_OK);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	const struct h_stream *e = h_set_find(&set, endless_id);
	cr_assert(h_check_error(e, RS_ERR_CANCELLED, why, sizeof why) == 0, "%s", why);
	want = h_expected_reply(eprompt, e->n_delta, -1);
	cr_assert_str_eq(e->text, want);
	free(want);
	cr_assert_eq(set.foreign, 0);
	h_wait_stat(&sc, "segments_live", 1);
	h_wait_stat(&sc, "streams_active", 0);
	rs_close(c);
	h_wait_stat(&sc, "clients_connected", 0);
	h_set_free(&set);
	h_stop(&sc);
}

/* A handshake that is not one: wrong magic, wrong ABI, a truncated HELLO, or
 * nothing at all. Each costs only that connection. */
Test(hostile, test_bad_handshakes_are_refused)
{
	struct h_sidecar sc;
	h_start(&sc, &(struct h_opts){ .limits = "handshake_timeout: 200ms" });
	struct {
		const char *name;
		struct proto_hello h;
		size_t len;
	} bad[] = {
		{ "bad magic", { .magic = 0x1234, .abi = PROTO_ABI, .op = PROTO_OP_HELLO }, sizeof(struct proto_hello) },
		{ "other ABI", { .magic = PROTO_MAGIC, .abi = PROTO_ABI + 7, .op = PROTO_OP_HELLO }, sizeof(struct proto_hello) },
		{ "unknown op", { .magic = PROTO_MAGIC, .abi = PROTO_ABI, .op = 99 }, sizeof(struct proto_hello) },
		{ "truncated", { .magic = PROTO_MAGIC, .abi = PROTO_ABI, .op = PROTO_OP_HELLO }, 5 },
		{ "silence", { 0 }, 0 },
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, sc.sock);
		cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
		if (bad[k].len)
			cr_assert_eq(send(fd, &bad[k].h, bad[k].len, MSG_NOSIGNAL), (ssize_t)bad[k].len);
		/* Whatever the sidecar answers, it ends with EOF and no fds. */
		struct h_raw r = { .sock = fd, .sub_bell = -1, .ev_bell = -1, .awake_fd = -1 };
		cr_assert(h_raw_wait_eof(&r, H_WAIT_MS), "%s: connection left open", bad[k].name);
		close(fd);
	}
	cr_assert_eq(h_stat(&sc, "clients_connected"), 0);
	cr_assert_eq(h_stat(&sc, "clients_total"), 0);
	/* Still serving. */
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	char *b = h_body("still here", 1, -1, -1, -1, -1);
	h_set_add(&set, h_submit(c, H_MODEL, b));
	free(b);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char why[512];
	cr_assert(h_check_done(&set.v[0], H_PROVIDER, H_UPSTREAM, "still here", 2, 2, "stop", why,
			       sizeof why) == 0, "%s", why);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
}
