/*
 * seg.c — creating, sealing, attaching and validating segments.
 */
#include "seg.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Seals the client requires before it trusts a segment's size. */
#define SEG_SEALS (F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

int seg_ring_size_ok(uint64_t n)
{
	return n >= RING_MIN_SIZE && n <= RING_MAX_SIZE && (n & (n - 1)) == 0;
}

static void seg_layout(struct seg_hdr *h, uint32_t sub_size, uint32_t ev_size)
{
	h->hdr_size = SEG_PAGE;
	h->sub_ctl_off = SEG_PAGE;
	h->ev_ctl_off = 2 * SEG_PAGE;
	h->sub_data_off = 3 * SEG_PAGE;
	h->ev_data_off = h->sub_data_off + sub_size;
	h->sub_size = sub_size;
	h->ev_size = ev_size;
	h->total_size = h->ev_data_off + ev_size;
}

static void seg_map_parts(struct seg *s)
{
	uint8_t *b = s->base;
	s->sub_ctl = (struct ring_ctl *)(void *)(b + s->hdr.sub_ctl_off);
	s->ev_ctl = (struct ring_ctl *)(void *)(b + s->hdr.ev_ctl_off);
	s->sub_data = b + s->hdr.sub_data_off;
	s->ev_data = b + s->hdr.ev_data_off;
}

int seg_create(struct seg *s, uint32_t sub_size, uint32_t ev_size,
	       uint64_t max_request, uint32_t max_streams, uint64_t client_id)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	if (!seg_ring_size_ok(sub_size) || !seg_ring_size_ok(ev_size))
		return -EINVAL;
	struct seg_hdr h = { .magic = SEG_MAGIC, .abi = SEG_ABI,
			     .max_request = max_request, .max_streams = max_streams,
			     .client_id = client_id };
	seg_layout(&h, sub_size, ev_size);

	int rc;
	int fd = memfd_create("ringside-seg", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)h.total_size) < 0)
		goto fail_errno;
	if (fcntl(fd, F_ADD_SEALS, SEG_SEALS) < 0)
		goto fail_errno;
	void *base = mmap(NULL, h.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto fail_errno;
	s->fd = fd;
	s->base = base;
	s->size = h.total_size;
	s->hdr = h;
	memcpy(base, &h, sizeof h);
	seg_map_parts(s);
	ring_ctl_reset(s->sub_ctl);
	ring_ctl_reset(s->ev_ctl);
	return 0;
fail_errno:
	rc = -errno;
	close(fd);
	return rc;
}

int seg_hdr_validate(const struct seg_hdr *h, uint64_t real_size)
{
	if (h->magic != SEG_MAGIC || h->abi != SEG_ABI || h->hdr_size != SEG_PAGE)
		return -EPROTO;
	if (!seg_ring_size_ok(h->sub_size) || !seg_ring_size_ok(h->ev_size))
		return -EPROTO;
	/* We only accept the one layout we create: anything else is either a
	 * newer ABI (which would bump abi) or corruption. */
	struct seg_hdr want = *h;
	seg_layout(&want, h->sub_size, h->ev_size);
	if (memcmp(&want, h, sizeof want) != 0)
		return -EPROTO;
	if (h->total_size != real_size)
		return -EPROTO;
	if (h->max_streams == 0 || h->max_request == 0)
		return -EPROTO;
	return 0;
}

int seg_attach(struct seg *s, int fd)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	/* Seals first, size second: once GROW and SHRINK are set the size can
	 * never change again, so the size we map is the size we get. Read in
	 * the other order, the peer could shrink the file between the two calls
	 * and seal it afterwards, and we would map pages that fault (SIGBUS). */
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 && errno == EBADF)
		return -EBADF;
	if (seals < 0 || (seals & SEG_SEALS) != SEG_SEALS)
		return -EPROTO;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)SEG_PAGE * 3 || (uint64_t)st.st_size > (uint64_t)4 * RING_MAX_SIZE)
		return -EPROTO;
	size_t size = (size_t)st.st_size;
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	struct seg_hdr h;
	memcpy(&h, base, sizeof h);
	int rc = seg_hdr_validate(&h, size);
	if (rc) {
		munmap(base, size);
		return rc;
	}
	s->fd = fd;
	s->base = base;
	s->size = size;
	s->hdr = h;
	seg_map_parts(s);
	return 0;
}

void seg_detach(struct seg *s)
{
	/* base and fd are set together on success; a zeroed struct has fd 0,
	 * which is not ours to close. */
	if (s->base) {
		munmap(s->base, s->size);
		if (s->fd >= 0)
			close(s->fd);
	}
	s->base = NULL;
	s->fd = -1;
}
