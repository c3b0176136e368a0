/*
 * harness_mt.h — bench/mockllm as the test_mockllm*.c tests drive it: a real
 * process per test on an ephemeral port, chat requests in each of the four
 * provider formats over harness_http.h's client, the replies assembled
 * (SSE / NDJSON events split, their JSON checked), and /stats.
 *
 * The binary is $RINGSIDE_MOCKLLM (set by `make e2e`), else build/mockllm.
 */
#ifndef RINGSIDE_TEST_HARNESS_MT_H
#define RINGSIDE_TEST_HARNESS_MT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness_http.h"

/* The words of "alpha beta gamma" plus "be brief" in the system prompt. */
#define H_MT_PROMPT "alpha beta gamma"
#define H_MT_PROMPT_TOKENS 5

/* ---- the mockllm process ------------------------------------------------ */

struct h_mt_srv {
	pid_t pid;
	int port;
};

/* Start mockllm on an ephemeral port and read the port from its stdout;
 * threads > 1 adds -t threads. h_mt_start: one thread. */
void h_mt_start_threads(struct h_mt_srv *s, int threads);
void h_mt_start(struct h_mt_srv *s);

/* Wait (bounded) for the process; returns its wait status or -1. */
int h_mt_reap(struct h_mt_srv *s);

/* SIGTERM and assert a clean exit 0 (under ASan: also leak-free). */
void h_mt_stop(struct h_mt_srv *s);

/* ---- the four formats ------------------------------------------------------ */

enum h_mt_fmt { H_MT_OPENAI, H_MT_ANTHROPIC, H_MT_GEMINI, H_MT_OLLAMA, H_MT_NFMT };

extern const char *const h_mt_fmt_names[H_MT_NFMT];
extern const char *const h_mt_finish_text[H_MT_NFMT];
extern const char *const h_mt_finish_tool[H_MT_NFMT];

/* What a client assembles from a reply. */
struct h_mt_out {
	char text[8192];
	char args[8192]; /* tool-call arguments: streamed fragments joined, or raw JSON */
	char tool[64];
	char tool_id[64];
	char finish[32];
	char error[128]; /* error type / status / message */
	char model[64];
	long prompt, completion;
	int events;     /* events / lines with valid JSON */
	int chunks;     /* of them, carrying content or argument text */
	int bad_json;   /* events whose payload is not JSON */
	int errors;     /* error events */
	bool terminated; /* [DONE] / message_stop / finishReason / done:true */
	bool role_first; /* OpenAI: the first chunk is the role chunk */
};

void h_mt_out_init(struct h_mt_out *o);

/* One event's (or body's) JSON, by format. */
void h_mt_event(enum h_mt_fmt f, const char *name, const char *d, size_t n, struct h_mt_out *o);

/* Assemble whatever body r holds in format f. */
void h_mt_collect(enum h_mt_fmt f, bool stream, const struct h_http_resp *r, struct h_mt_out *o);

/* A request body for format f with one user message. */
void h_mt_body(enum h_mt_fmt f, const char *model, const char *text, bool stream, char *out,
	       size_t cap);

/* Send one chat request of format f on c (xmock: x-mock value or NULL). */
void h_mt_chat_send(struct h_http_conn *c, enum h_mt_fmt f, const char *model, const char *text,
		    bool stream, const char *xmock);

/* One request on a fresh connection, read and assembled. */
void h_mt_chat(const struct h_mt_srv *s, enum h_mt_fmt f, const char *model, const char *text,
	       bool stream, const char *xmock, struct h_http_resp *r, struct h_mt_out *o);

/* ---- /stats ----------------------------------------------------------------- */

/* The counter at path in GET /stats. */
long h_mt_stat(const struct h_mt_srv *s, const char *path);

/* POST /reset. */
void h_mt_reset(const struct h_mt_srv *s);

/* Wait (bounded) until a counter reaches want; the counters of a closed
 * connection move when the server notices, not when the client closes. */
void h_mt_wait_stat(const struct h_mt_srv *s, const char *path, long want);

#endif
