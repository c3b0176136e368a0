/*
 * proto.h — what travels between libringside and the sidecar.
 *
 * Two channels:
 *   1. The Unix socket (SOCK_SEQPACKET): one HELLO, one WELCOME carrying four
 *      fds by SCM_RIGHTS, then silence until one side closes. Its EOF is how
 *      each side learns the other died. A connection may instead send STATS
 *      and read one text reply.
 *   2. The segment's rings: frames {u32 len, u16 type, u16 flags, u64 stream}
 *      whose payloads are laid out below. All integers are host order: both
 *      ends are on one host by construction.
 *
 * Every stream the client opens with REQUEST ends with exactly one DONE or
 * ERROR from the sidecar, whatever happens (cancel, bad input, limits).
 */
#ifndef RINGSIDE_SHM_PROTO_H
#define RINGSIDE_SHM_PROTO_H

#include <stdint.h>

#define PROTO_MAGIC 0x3144494e47524e52ull /* "RNRGNID1" */
#define PROTO_ABI 2u /* 2: attempts in DONE and ERROR, retry_after_ms in ERROR */

/* ---- handshake (socket) ---------------------------------------------------- */

enum proto_op {
	PROTO_OP_HELLO = 1, /* attach: reply is WELCOME + fds */
	PROTO_OP_STATS = 2, /* reply is one text message, then EOF */
};

struct proto_hello {
	uint64_t magic;
	uint32_t abi;
	uint32_t op;
};

/* fds passed with WELCOME, in this order. */
enum proto_fd {
	PROTO_FD_SEG = 0,    /* memfd: the segment */
	PROTO_FD_SUB_BELL,   /* eventfd: client writes to wake the sidecar */
	PROTO_FD_EV_BELL,    /* eventfd: sidecar writes to wake the client */
	PROTO_FD_AWAKE,      /* memfd: one page, read-only for clients */
	PROTO_NFDS
};

struct proto_welcome {
	uint64_t magic;
	uint32_t abi;
	int32_t status;      /* 0, or -errno with msg saying why */
	uint64_t client_id;
	char msg[112];
};

/* The sidecar's shared "awake" page (PROTO_FD_AWAKE). `sleeping` is 1 while
 * the sidecar's loop is asleep (or always 1 if the kernel could not seal the
 * page read-only, which means: always ring the bell). One word for all
 * clients, so the sidecar goes to sleep with one store, not one per client. */
struct proto_awake {
	_Alignas(64) uint32_t sleeping;
};

/* ---- ring frames ---------------------------------------------------------- */

enum proto_type {
	/* client -> sidecar */
	PROTO_REQUEST = 1,
	PROTO_CANCEL = 2,
	/* sidecar -> client */
	PROTO_START = 16,
	PROTO_DELTA = 17,
	PROTO_TOOL_DELTA = 18,
	PROTO_REASONING = 19,
	PROTO_USAGE = 20,
	PROTO_DONE = 21,
	PROTO_ERROR = 22,
};

/* REQUEST payload: this header, then model alias bytes, then the OpenAI
 * chat.completions JSON body. A request larger than one frame travels as
 * fragments (RING_F_MORE on all but the last) that are contiguous in the
 * ring; `body_len` lets the sidecar refuse an oversized one at the first. */
struct proto_request {
	uint32_t flags;        /* RS_REQ_* */
	uint32_t deadline_ms;  /* total deadline, 0 = sidecar default */
	uint16_t model_len;
	uint16_t cache_policy; /* RS_CACHE_* */
	uint32_t body_len;
};

/* START payload: header, provider name, upstream model. Sent once, right
 * before the stream's first other event: by then the deployment that serves
 * the stream is known (an attempt that fails before its first content is
 * retried or falls back, and the client never hears of it but in the
 * attempt counts). */
struct proto_start {
	uint16_t provider_len;
	uint16_t model_len;
	uint32_t flags;        /* PROTO_START_CACHE_HIT */
	uint32_t attempt;      /* which upstream attempt serves the stream, from 1 */
	uint32_t pad;
};
#define PROTO_START_CACHE_HIT 0x1u

/* DELTA and REASONING payloads: UTF-8 text, no header. */

/* TOOL_DELTA payload: header, id, name, argument fragment. */
struct proto_tool_delta {
	uint32_t index;
	uint16_t id_len;
	uint16_t name_len;
};

struct proto_usage {
	uint32_t prompt_tokens;
	uint32_t completion_tokens;
	uint32_t total_tokens;
	uint32_t pad;
	uint64_t cost_nano_usd;
};

/* DONE payload: header, finish reason text ("stop", "length", ...). */
struct proto_done {
	uint16_t reason_len;
	uint16_t attempts;     /* upstream attempts made (retries, fallbacks, hedges) */
	uint32_t pad1;
};

/* ERROR payload: header, message text (never contains secrets). */
struct proto_error {
	uint16_t code;         /* RS_ERR_* */
	uint16_t http_status;  /* upstream status, 0 when none */
	uint8_t retryable;
	uint8_t pad0;
	uint16_t msg_len;
	uint16_t attempts;     /* upstream attempts made; 0 when none was */
	uint16_t pad1;
	uint32_t retry_after_ms; /* when trying again may succeed; 0 = unknown */
};

#endif
