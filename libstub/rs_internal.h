/*
 * rs_internal.h — the client's private state, shared by the libstub files.
 * Not installed; applications see only ringside.h.
 */
#ifndef RINGSIDE_RS_INTERNAL_H
#define RINGSIDE_RS_INTERNAL_H

#include <stdint.h>

#include "ringside.h"
#include "shm/proto.h"
#include "shm/ring.h"
#include "shm/seg.h"

/* How long rs_next and a blocked rs_submit spin before sleeping. A sleeping
 * hop costs ~25-30 us on the machines we measured (DESIGN.md); a short spin
 * catches the next event while the sidecar is still producing. Override with
 * $RINGSIDE_SPIN_US. */
#define RS_SPIN_NS_DEFAULT 20000u

/* How long the handshake may take before we call the sidecar wedged. */
#define RS_HANDSHAKE_TIMEOUT_MS 5000

enum rs_state { RS_ST_OK = 0, RS_ST_DRAIN, RS_ST_DEAD };

struct rs_client {
	int sock;
	int epfd;
	int sub_bell;
	int ev_bell;
	struct seg seg;
	const struct proto_awake *awake; /* sidecar's read-only awake page */
	struct ring sub;                 /* we produce */
	struct ring ev;                  /* we consume */
	uint64_t next_stream;
	uint64_t spin_ns;
	uint8_t rang;            /* our last kick found the sidecar asleep: do not spin */
	uint32_t max_streams;
	uint64_t max_request;
	int held;   /* an event frame is peeked: release it on the next call */
	int armed;  /* we asked the sidecar for a kick (ev cons_waiting) */
	/* After the sidecar died (or broke the protocol): first drain what it
	 * committed, then end every open stream ourselves, then final_rc. */
	enum rs_state state;
	int final_rc;
	int final_code;
	/* Open streams: open addressing, linear probing, 0 = empty slot. */
	uint64_t *open;
	uint32_t open_mask;
	uint32_t n_open;
	/* Growing buffer for requests that must be assembled (prompt JSON,
	 * messages larger than one frame). */
	char *scratch;
	size_t scratch_cap;
};

int rs_open_insert(struct rs_client *c, uint64_t id);
int rs_open_remove(struct rs_client *c, uint64_t id);
int rs_open_has(const struct rs_client *c, uint64_t id);

/* Wait until the rings may have news for us or the sidecar died, spinning
 * first. deadline_ns: absolute CLOCK_MONOTONIC time, or UINT64_MAX. Returns
 * RS_OK (look again), RS_ETIMEDOUT, RS_EDISCONNECTED, RS_EPROTO.
 * `for_space` waits for room in the submit ring instead of events. */
int rs_wait(struct rs_client *c, uint64_t deadline_ns, int for_space);

/* Without blocking: consume pending bell edges and notice the sidecar's
 * death (then RS_EDISCONNECTED and the client drains). */
int rs_poll_now(struct rs_client *c);

/* Ring the sidecar's bell if it sleeps. Call after publishing. */
void rs_kick_sidecar(struct rs_client *c);

uint64_t rs_now_ns(void);

/* The sidecar went away or broke the protocol: switch to draining. */
void rs_mark_dead(struct rs_client *c, int final_rc, int code);

#endif
