/*
 * test_seg.c — the shared-memory segment: create + attach, everything attach
 * must refuse (bad headers, sizes, seals, files that are not memfds), the
 * private header copy, ring_init_view's index checks, and a round trip
 * between two processes with the fds passed over a socket.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/seg.h"

#define TS_SEALS (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

/* A valid header as seg_create lays it out, for tests to mutate. */
static struct seg_hdr ts_good_hdr(void)
{
	struct seg s;
	cr_assert_eq(seg_create(&s, 8192, 16384, 1 << 20, 32, 7), 0);
	struct seg_hdr h = s.hdr;
	seg_detach(&s);
	return h;
}

/* A memfd of `size` bytes starting with `hdr` (when it fits), with `seals`
 * added. allow_sealing 0 makes a memfd that refuses every seal. */
static int ts_memfd(const struct seg_hdr *hdr, uint64_t size, int seals, int allow_sealing)
{
	int fd = memfd_create("ts", MFD_CLOEXEC | (allow_sealing ? MFD_ALLOW_SEALING : 0));
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (hdr && size >= sizeof *hdr)
		cr_assert_eq(pwrite(fd, hdr, sizeof *hdr, 0), (ssize_t)sizeof *hdr);
	if (seals)
		cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/* seg_attach must leave a rejected fd open and the struct detached. */
static void ts_expect_reject(int fd, int want, const char *what)
{
	struct seg s;
	int rc = seg_attach(&s, fd);
	cr_assert_eq(rc, want, "%s: attach %d, want %d", what, rc, want);
	cr_assert_null(s.base, "%s", what);
	cr_assert_eq(s.fd, -1, "%s", what);
	cr_assert_neq(fcntl(fd, F_GETFD), -1, "%s: fd closed by a failed attach", what);
	seg_detach(&s);
	close(fd);
}

Test(seg, create_attach_round_trip)
{
	struct seg a, b;
	cr_assert_eq(seg_create(&a, 8192, 65536, 1 << 20, 32, 99), 0);
	cr_assert(a.fd >= 0);
	cr_assert_eq(fcntl(a.fd, F_GET_SEALS) & TS_SEALS, TS_SEALS);
	int fd = dup(a.fd);
	cr_assert(fd >= 0);
	cr_assert_eq(seg_attach(&b, fd), 0);
	cr_assert_eq(b.fd, fd);
	cr_assert_eq(b.size, a.size);
	cr_assert_eq(b.size, 3 * SEG_PAGE + 8192 + 65536);
	cr_assert_eq(memcmp(&a.hdr, &b.hdr, sizeof a.hdr), 0);
	cr_assert_eq(b.hdr.client_id, 99);
	cr_assert_eq(b.hdr.max_streams, 32);
	cr_assert_eq(b.hdr.max_request, 1 << 20);
	cr_assert_neq(a.base, b.base, "two mappings of one file");

	/* Client produces on submit, sidecar on events; each through its own
	 * mapping. */
	struct ring cp, sc, sp, cc;
	cr_assert_eq(ring_init_view(&cp, b.sub_ctl, b.sub_data, b.hdr.sub_size, 1), 0);
	cr_assert_eq(ring_init_view(&sc, a.sub_ctl, a.sub_data, a.hdr.sub_size, 0), 0);
	cr_assert_eq(ring_init_view(&sp, a.ev_ctl, a.ev_data, a.hdr.ev_size, 1), 0);
	cr_assert_eq(ring_init_view(&cc, b.ev_ctl, b.ev_data, b.hdr.ev_size, 0), 0);
	for (uint64_t i = 0; i < 10000; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof msg, "request %lu", (unsigned long)i);
		cr_assert_eq(ring_push(&cp, 1, 0, i, msg, (uint32_t)n), 0);
		struct ring_frame h;
		const uint8_t *pl;
		cr_assert_eq(ring_peek(&sc, &h, &pl), 1);
		cr_assert_eq(h.stream, i);
		cr_assert_eq(h.len, (uint32_t)n);
		cr_assert_eq(memcmp(pl, msg, (size_t)n), 0);
		ring_release(&sc);
		cr_assert_eq(ring_push(&sp, 17, 0, i, pl, 0), 0);
		cr_assert_eq(ring_peek(&cc, &h, &pl), 1);
		cr_assert_eq(h.type, 17);
		cr_assert_eq(h.stream, i);
		ring_release(&cc);
	}
	seg_detach(&b);
	seg_detach(&a);
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "detach closes the fd it owns");
}

Test(seg, create_is_sealed)
{
	struct seg a;
	cr_assert_eq(seg_create(&a, 4096, 4096, 1, 1, 1), 0);
	cr_assert_eq(ftruncate(a.fd, (off_t)a.size / 2), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(ftruncate(a.fd, (off_t)a.size * 2), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(fcntl(a.fd, F_ADD_SEALS, F_SEAL_WRITE), -1, "F_SEAL_SEAL is set");
	cr_assert_eq(atomic_load(&a.sub_ctl->tail), 0);
	cr_assert_eq(atomic_load(&a.ev_ctl->head), 0);
	seg_detach(&a);
}

Test(seg, create_rejects_bad_ring_sizes)
{
	static const uint32_t bad[] = { 0, 1, 2048, 4095, 3 * 4096, 65536 + 8, 1u << 31 };
	struct seg a;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(seg_create(&a, bad[i], 4096, 1, 1, 1), -EINVAL, "%u", bad[i]);
		cr_assert_eq(seg_create(&a, 4096, bad[i], 1, 1, 1), -EINVAL, "%u", bad[i]);
		cr_assert_null(a.base);
		seg_detach(&a);
	}
}

Test(seg, attach_rejects_bad_header)
{
	struct seg_hdr g = ts_good_hdr();
	/* Each mutation must be refused with -EPROTO. */
	for (int i = 0;; i++) {
		struct seg_hdr h = g;
		const char *what;
		switch (i) {
		case 0: what = "magic"; h.magic ^= 1; break;
		case 1: what = "abi"; h.abi = SEG_ABI + 1; break;
		case 2: what = "abi 0"; h.abi = 0; break;
		case 3: what = "hdr_size"; h.hdr_size = 2 * SEG_PAGE; break;
		case 4: what = "sub_size not a power of two"; h.sub_size = 12288; break;
		case 5: what = "ev_size too small"; h.ev_size = 2048; break;
		case 6: what = "sub_size too large"; h.sub_size = 1u << 31; break;
		case 7: what = "sub_size 0"; h.sub_size = 0; break;
		case 8: what = "sub_ctl_off"; h.sub_ctl_off = 0; break;
		case 9: what = "ev_ctl_off"; h.ev_ctl_off = h.sub_ctl_off; break;
		case 10: what = "sub_data_off"; h.sub_data_off += 8; break;
		case 11: what = "ev_data_off"; h.ev_data_off = h.sub_data_off; break;
		case 12: what = "data offs swapped";
			h.sub_data_off = g.ev_data_off;
			h.ev_data_off = g.sub_data_off;
			break;
		case 13: what = "ev_data_off past the end"; h.ev_data_off = g.total_size; break;
		case 14: what = "total_size"; h.total_size += SEG_PAGE; break;
		case 15: what = "max_streams 0"; h.max_streams = 0; break;
		case 16: what = "max_request 0"; h.max_request = 0; break;
		case 17:
			/* Sizes that agree with each other and with the total but
			 * not with the layout: sub ring claims the ev ring's room. */
			what = "sizes shifted";
			h.sub_size = 16384;
			h.ev_size = 8192;
			break;
		case 18: what = "all ones"; memset(&h, 0xff, sizeof h); break;
		case 19: what = "all zeros"; memset(&h, 0, sizeof h); break;
		default: what = NULL; break;
		}
		if (!what)
			break;
		ts_expect_reject(ts_memfd(&h, g.total_size, TS_SEALS, 1), -EPROTO, what);
	}
	/* Control: the unmutated header in the same kind of file is accepted. */
	struct seg s;
	int fd = ts_memfd(&g, g.total_size, TS_SEALS, 1);
	cr_assert_eq(seg_attach(&s, fd), 0);
	seg_detach(&s);
}

Test(seg, attach_rejects_wrong_total_size)
{
	struct seg_hdr g = ts_good_hdr();
	ts_expect_reject(ts_memfd(&g, g.total_size + SEG_PAGE, TS_SEALS, 1), -EPROTO, "bigger file");
	ts_expect_reject(ts_memfd(&g, g.total_size - SEG_PAGE, TS_SEALS, 1), -EPROTO, "smaller file");
	ts_expect_reject(ts_memfd(&g, g.total_size + 1, TS_SEALS, 1), -EPROTO, "one byte more");
	/* A header whose total matches a bigger file but whose rings do not. */
	struct seg_hdr h = g;
	h.total_size += 2 * SEG_PAGE;
	ts_expect_reject(ts_memfd(&h, h.total_size, TS_SEALS, 1), -EPROTO, "total != layout");
	/* A file far too large to be any segment. */
	ts_expect_reject(ts_memfd(&g, (uint64_t)8 << 30, TS_SEALS, 1), -EPROTO, "8 GiB");
}

Test(seg, attach_rejects_missing_seals)
{
	struct seg_hdr g = ts_good_hdr();
	ts_expect_reject(ts_memfd(&g, g.total_size, 0, 0), -EPROTO, "no sealing at all");
	ts_expect_reject(ts_memfd(&g, g.total_size, 0, 1), -EPROTO, "sealable, unsealed");
	ts_expect_reject(ts_memfd(&g, g.total_size, F_SEAL_GROW | F_SEAL_SHRINK, 1), -EPROTO,
			 "no F_SEAL_SEAL");
	ts_expect_reject(ts_memfd(&g, g.total_size, F_SEAL_SHRINK | F_SEAL_SEAL, 1), -EPROTO,
			 "no F_SEAL_GROW");
	ts_expect_reject(ts_memfd(&g, g.total_size, F_SEAL_GROW | F_SEAL_SEAL, 1), -EPROTO,
			 "no F_SEAL_SHRINK");
	/* Write-sealed: every seal we need, but we cannot map it writable. */
	struct seg s;
	int fd = ts_memfd(&g, g.total_size, TS_SEALS | F_SEAL_WRITE, 1);
	cr_assert_lt(seg_attach(&s, fd), 0);
	cr_assert_null(s.base);
	close(fd);
}

Test(seg, attach_rejects_other_files)
{
	struct seg_hdr g = ts_good_hdr();
	/* A regular file with a perfect header: files cannot be sealed. */
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		cr_assert_eq(ftruncate(fd, (off_t)g.total_size), 0);
		cr_assert_eq(pwrite(fd, &g, sizeof g, 0), (ssize_t)sizeof g);
		ts_expect_reject(fd, -EPROTO, "regular file");
	}
	int p[2];
	cr_assert_eq(pipe(p), 0);
	close(p[1]);
	ts_expect_reject(p[0], -EPROTO, "pipe");
	struct seg s;
	cr_assert_eq(seg_attach(&s, -1), -EBADF);
	cr_assert_null(s.base);
	seg_detach(&s);
}

Test(seg, attach_rejects_tiny_files)
{
	struct seg_hdr g = ts_good_hdr();
	static const uint64_t sizes[] = { 0, 1, 8, sizeof(struct seg_hdr) - 1,
					  sizeof(struct seg_hdr), SEG_PAGE, 3 * SEG_PAGE - 1,
					  3 * SEG_PAGE, 3 * SEG_PAGE + 4096 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char what[32];
		snprintf(what, sizeof what, "%lu bytes", (unsigned long)sizes[i]);
		ts_expect_reject(ts_memfd(&g, sizes[i], TS_SEALS, 1), -EPROTO, what);
	}
	/* Header claiming a total that matches the tiny file. */
	struct seg_hdr h = g;
	h.total_size = 3 * SEG_PAGE;
	ts_expect_reject(ts_memfd(&h, 3 * SEG_PAGE, TS_SEALS, 1), -EPROTO, "3 pages, no rings");
}

/* After attach, the shared header may change under us at any time: nothing
 * of ours may depend on it. */
Test(seg, attach_keeps_private_header)
{
	struct seg a, b;
	cr_assert_eq(seg_create(&a, 4096, 8192, 1 << 20, 4, 5), 0);
	int fd = dup(a.fd);
	cr_assert_eq(seg_attach(&b, fd), 0);
	struct seg saved = b;
	/* The creator scribbles over the whole header page. */
	memset(a.base, 0xff, SEG_PAGE);
	cr_assert_eq(memcmp(&b.hdr, &saved.hdr, sizeof b.hdr), 0);
	cr_assert_eq(b.hdr.ev_size, 8192);
	cr_assert_eq(b.size, saved.size);
	cr_assert_eq(b.sub_ctl, saved.sub_ctl);
	cr_assert_eq(b.ev_data, saved.ev_data);
	/* The rings still work through the private layout. */
	struct ring p, c;
	cr_assert_eq(ring_init_view(&p, a.ev_ctl, a.ev_data, a.hdr.ev_size, 1), 0);
	cr_assert_eq(ring_init_view(&c, b.ev_ctl, b.ev_data, b.hdr.ev_size, 0), 0);
	cr_assert_eq(ring_push(&p, 16, 0, 3, "abc", 3), 0);
	struct ring_frame h;
	const uint8_t *pl;
	cr_assert_eq(ring_peek(&c, &h, &pl), 1);
	cr_assert_eq(memcmp(pl, "abc", 3), 0);
	/* Detach unmaps what attach mapped, whatever the header says now. */
	seg_detach(&b);
	cr_assert_null(b.base);
	seg_detach(&b);
	seg_detach(&a);
}

Test(seg, detach_is_safe)
{
	/* A zeroed struct has fd 0, which is not the segment's to close. */
	int fd0_before = fcntl(0, F_GETFD);
	struct seg s;
	memset(&s, 0, sizeof s);
	seg_detach(&s);
	cr_assert_eq(s.fd, -1);
	seg_detach(&s);
	cr_assert_eq(fcntl(0, F_GETFD), fd0_before);
}

Test(seg, ring_init_view_rejects_inconsistent_indices)
{
	struct seg a;
	struct ring r;
	cr_assert_eq(seg_create(&a, 4096, 4096, 1, 1, 1), 0);
	struct ring_ctl *ctl = a.sub_ctl;
	static const struct {
		uint64_t head, tail;
	} bad[] = {
		{ 64, 56 },                       /* tail behind head */
		{ 0, 4096 + 8 },                  /* more than a ring of data */
		{ 1ull << 40, (1ull << 40) + 8192 },
		{ 4, 4 },                         /* head not 8-aligned */
		{ 0, 12 },                        /* tail not 8-aligned */
		{ UINT64_MAX - 7, 0 },            /* wrapped 64-bit counter */
		{ 8, UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		atomic_store(&ctl->head, bad[i].head);
		atomic_store(&ctl->tail, bad[i].tail);
		for (int prod = 0; prod < 2; prod++)
			cr_assert_eq(ring_init_view(&r, ctl, a.sub_data, 4096, prod), -EPROTO,
				     "case %zu producer %d", i, prod);
	}
	/* Consistent non-zero indices: each side starts where it left off. */
	atomic_store(&ctl->head, 4096 * 10 + 64);
	atomic_store(&ctl->tail, 4096 * 11);
	cr_assert_eq(ring_init_view(&r, ctl, a.sub_data, 4096, 1), 0);
	cr_assert_eq(r.pos, 4096 * 11);
	cr_assert_eq(r.peer, 4096 * 10 + 64);
	cr_assert_eq(ring_init_view(&r, ctl, a.sub_data, 4096, 0), 0);
	cr_assert_eq(r.pos, 4096 * 10 + 64);
	atomic_store(&ctl->tail, 4096 * 10 + 64 + 4096);
	cr_assert_eq(ring_init_view(&r, ctl, a.sub_data, 4096, 1), 0, "exactly full");
	/* Sizes the caller should have refused. */
	static const uint32_t sizes[] = { 0, 2048, 4096 + 8, 3 * 4096, 1u << 31 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		cr_assert_eq(ring_init_view(&r, ctl, a.sub_data, sizes[i], 0), -EINVAL);
	seg_detach(&a);
}

/* ---- two processes ------------------------------------------------------------ */

#define TS_XFRAMES 200000u
/* Child exit codes, so a failure names its cause. */
enum { TS_OK = 0, TS_ERECV = 10, TS_EATTACH, TS_EHDR, TS_EVIEW, TS_EPEEK, TS_EPUSH };

enum { TS_FD_SEG, TS_FD_SUB_BELL, TS_FD_EV_BELL, TS_FD_EV_SPACE, TS_NFDS };

static void ts_kick(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof one);
	(void)n;
}

static void ts_drain_fd(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof v);
	(void)n;
}

static uint32_t ts_len(uint64_t i, uint32_t mp)
{
	uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
	return (uint32_t)((x >> 40) % (i % 8 ? 200 : mp + 1));
}

static uint8_t ts_byte(uint64_t i, uint32_t k)
{
	return (uint8_t)(i * 31 + k * 7);
}

/* The child: receives the fds, attaches, and echoes every submit frame back
 * on the event ring with its bytes inverted and stream + 1. */
static int ts_child(int sock)
{
	int fds[TS_NFDS];
	char b;
	struct iovec iov = { &b, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof fds)];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof u.buf };
	if (recvmsg(sock, &m, 0) != 1)
		return TS_ERECV;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof fds))
		return TS_ERECV;
	memcpy(fds, CMSG_DATA(c), sizeof fds);
	struct seg s;
	if (seg_attach(&s, fds[TS_FD_SEG]))
		return TS_EATTACH;
	if (s.hdr.client_id != 4242)
		return TS_EHDR;
	struct ring in, out;
	if (ring_init_view(&in, s.sub_ctl, s.sub_data, s.hdr.sub_size, 0) ||
	    ring_init_view(&out, s.ev_ctl, s.ev_data, s.hdr.ev_size, 1))
		return TS_EVIEW;
	uint8_t tmp[8192];
	for (uint64_t n = 0; n < TS_XFRAMES;) {
		struct ring_frame h;
		const uint8_t *pl;
		int rc = ring_peek(&in, &h, &pl);
		if (rc < 0)
			return TS_EPEEK;
		if (rc == 0) {
			rc = ring_sleep_prepare(&in);
			if (rc < 0)
				return TS_EPEEK;
			if (rc == 0) {
				ts_drain_fd(fds[TS_FD_SUB_BELL]);
				ring_sleep_cancel(&in);
			}
			continue;
		}
		if (h.len > sizeof tmp)
			return TS_EPEEK;
		for (uint32_t k = 0; k < h.len; k++)
			tmp[k] = (uint8_t)~pl[k];
		ring_release(&in);
		for (;;) {
			rc = ring_push(&out, h.type, h.flags, h.stream + 1, tmp, h.len);
			if (rc == 0)
				break;
			if (rc != -EAGAIN)
				return TS_EPUSH;
			rc = ring_wait_space_prepare(&out, out.size / 2);
			if (rc < 0)
				return TS_EPUSH;
			if (rc == 0) {
				ts_drain_fd(fds[TS_FD_EV_SPACE]);
				atomic_store_explicit(&out.ctl->prod_waiting, 0,
						      memory_order_relaxed);
			}
		}
		if (ring_consumer_sleeping(&out))
			ts_kick(fds[TS_FD_EV_BELL]);
		n++;
	}
	seg_detach(&s);
	return TS_OK;
}

static void ts_send_fds(int sock, const int *fds)
{
	char b = 'F';
	struct iovec iov = { &b, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * TS_NFDS)];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof u.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * TS_NFDS);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * TS_NFDS);
	cr_assert_eq(sendmsg(sock, &m, 0), 1);
}

/* Wait for the child's kick, or notice that it is gone (socket EOF): 1 then.
 * A child that exits normally kicks for its last echo and then hangs up, so
 * EOF alone is not a failure: the caller looks at the ring once more. */
static int ts_wait_child(int bell, int sock)
{
	struct pollfd p[2] = { { .fd = bell, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
	cr_assert_gt(poll(p, 2, -1), 0);
	if (p[0].revents & POLLIN)
		ts_drain_fd(bell);
	return p[1].revents != 0;
}

Test(seg, cross_process_echo, .timeout = 60)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(ts_child(sv[1]));
	}
	close(sv[1]);

	struct seg a;
	int fds[TS_NFDS];
	cr_assert_eq(seg_create(&a, 16384, 16384, 1 << 20, 8, 4242), 0);
	fds[TS_FD_SEG] = a.fd;
	for (int i = TS_FD_SUB_BELL; i < TS_NFDS; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		cr_assert(fds[i] >= 0);
	}
	ts_send_fds(sv[0], fds);

	struct ring out, in;
	cr_assert_eq(ring_init_view(&out, a.sub_ctl, a.sub_data, a.hdr.sub_size, 1), 0);
	cr_assert_eq(ring_init_view(&in, a.ev_ctl, a.ev_data, a.hdr.ev_size, 0), 0);
	uint32_t mp = out.max_payload;
	uint8_t buf[8192];
	uint64_t sent = 0, got = 0, sleeps = 0;
	int gone = 0;
	while (got < TS_XFRAMES) {
		int progress = 0;
		/* Send what fits... */
		while (sent < TS_XFRAMES) {
			uint32_t len = ts_len(sent, mp);
			for (uint32_t k = 0; k < len; k++)
				buf[k] = ts_byte(sent, k);
			int rc = ring_push(&out, (uint16_t)(1 + sent % 3), 0, sent * 2, buf, len);
			if (rc == -EAGAIN)
				break;
			cr_assert_eq(rc, 0);
			sent++;
			progress = 1;
			if (ring_consumer_sleeping(&out))
				ts_kick(fds[TS_FD_SUB_BELL]);
		}
		/* ...then take every echo there is. */
		struct ring_frame h;
		const uint8_t *pl;
		int rc;
		while ((rc = ring_peek(&in, &h, &pl)) == 1) {
			cr_assert_eq(h.stream, got * 2 + 1);
			cr_assert_eq(h.type, 1 + got % 3);
			cr_assert_eq(h.len, ts_len(got, mp));
			for (uint32_t k = 0; k < h.len; k++)
				cr_assert_eq(pl[k], (uint8_t)~ts_byte(got, k), "frame %lu byte %u",
					     (unsigned long)got, k);
			ring_release(&in);
			if (ring_producer_blocked(&in))
				ts_kick(fds[TS_FD_EV_SPACE]);
			got++;
			progress = 1;
		}
		cr_assert_eq(rc, 0);
		if (progress)
			continue;
		cr_assert_eq(gone, 0, "the child hung up after %lu of %u echoes",
			     (unsigned long)got, TS_XFRAMES);
		/* Nothing to send (ring full or all sent) and nothing to read:
		 * the child owes us an echo. */
		rc = ring_sleep_prepare(&in);
		cr_assert_geq(rc, 0);
		if (rc == 0) {
			gone = ts_wait_child(fds[TS_FD_EV_BELL], sv[0]);
			ring_sleep_cancel(&in);
			sleeps++;
		}
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "child killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), TS_OK, "child failed with %d", WEXITSTATUS(st));
	cr_log_info("cross-process: %u frames echoed, parent slept %lu times", TS_XFRAMES,
		    (unsigned long)sleeps);
	for (int i = TS_FD_SUB_BELL; i < TS_NFDS; i++)
		close(fds[i]);
	close(sv[0]);
	seg_detach(&a);
}
