/*
 * seg.h — the shared-memory segment between one client and the sidecar.
 *
 * Layout (every part page aligned):
 *
 *   [ header page ][ submit ctl ][ event ctl ][ submit data ][ event data ]
 *
 * The sidecar creates the segment with memfd_create, sizes it and seals it
 * against growing and shrinking (so neither side can make the other fault
 * with SIGBUS by truncating), then hands the fd to the client. The client
 * attaches: it checks the seals, the size, and every field of the header
 * before it touches a ring. Each side keeps a private copy of the header and
 * never re-reads the shared one: the peer may change it at any time.
 */
#ifndef RINGSIDE_SHM_SEG_H
#define RINGSIDE_SHM_SEG_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

#define SEG_MAGIC 0x314547534e525352ull /* "RSRNSEG1" little-endian */
#define SEG_ABI 1u
#define SEG_PAGE 4096u

struct seg_hdr {
	uint64_t magic;
	uint32_t abi;
	uint32_t hdr_size;
	uint64_t total_size;
	uint64_t sub_ctl_off, ev_ctl_off;
	uint64_t sub_data_off, ev_data_off;
	uint32_t sub_size, ev_size;  /* ring data bytes, powers of two */
	uint64_t max_request;        /* largest REQUEST the sidecar accepts */
	uint32_t max_streams;        /* streams one client may have open */
	uint32_t flags;
	uint64_t client_id;
};

struct seg {
	int fd;
	void *base;
	size_t size;
	struct seg_hdr hdr; /* private, validated copy */
	struct ring_ctl *sub_ctl, *ev_ctl;
	uint8_t *sub_data, *ev_data;
};

/* Sidecar: create, map and seal a segment. Returns 0 or -errno. */
int seg_create(struct seg *s, uint32_t sub_size, uint32_t ev_size,
	       uint64_t max_request, uint32_t max_streams, uint64_t client_id);

/* Client: map the segment behind fd and validate it. Takes ownership of fd
 * on success only. Returns 0, -EPROTO (bad header or seals) or -errno. */
int seg_attach(struct seg *s, int fd);

/* Pure check of a header copy against the real size of the mapping. */
int seg_hdr_validate(const struct seg_hdr *h, uint64_t real_size);

/* Unmap, and close fd unless it was set to -1 (the mapping outlives the fd).
 * Safe on a zeroed or already detached struct. */
void seg_detach(struct seg *s);

/* Valid ring data size: a power of two within the ring's bounds. */
int seg_ring_size_ok(uint64_t n);

#endif
