/*
 * harness.h — what every end-to-end test shares: a real `ringside` process
 * per test on its own socket and config, counters read back through
 * rs_stats, the mock provider's expected replies, stream bookkeeping, and a
 * raw client that speaks the shm/ protocol without libringside.
 *
 * Two kinds of helpers live here:
 *   - h_start, h_stop, h_stat, h_wait_stat*, h_connect, h_submit ... assert
 *     with criterion and may only run in the test process itself;
 *   - h_body, h_expected_reply, h_set_*, h_drain, h_check_* never assert:
 *     they return a status and a reason, so forked children (which must not
 *     call criterion) can use them and report through their exit status.
 *
 * Every wait is bounded (H_WAIT_MS, H_EVENT_MS): a test that waits for the
 * sidecar to free something fails with a message after the bound instead of
 * hanging, and no assertion depends on how fast anything happened.
 */
#ifndef RINGSIDE_E2E_HARNESS_H
#define RINGSIDE_E2E_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ringside.h"
#include "shm/ring.h"
#include "shm/seg.h"

/* How long to wait for a counter, readiness or an exit before calling it a
 * failure. Generous: ASan builds on a loaded 2-core machine are slow. */
#define H_WAIT_MS 15000
/* How long one rs_next may wait before the test calls the sidecar hung. */
#define H_EVENT_MS 20000
/* criterion .timeout for every test, in seconds: a hang fails, never blocks. */
#define H_TEST_TIMEOUT 90

/* The provider and model names every generated config uses, so tests can
 * check that START carries what the config says. */
#define H_PROVIDER "mockprov"
#define H_MODEL "mock"
#define H_UPSTREAM "echo-1"
#define H_MODEL_B "mock-b"
#define H_UPSTREAM_B "echo-2"

/* ---- the sidecar process ------------------------------------------------- */

struct h_sidecar {
	char dir[64];   /* mkdtemp under /tmp; holds the three files below */
	char sock[108];
	char cfg[128];
	char log[128];  /* the sidecar's stderr (its log) and stdout */
	pid_t pid;
	int running;
};

struct h_opts {
	const char *limits;   /* body of the limits flow map, NULL for defaults */
	const char *ttft;     /* mock provider ttft, NULL = "1ms" */
	const char *interval; /* mock provider token_interval, NULL = "1ms" */
	const char *extra;    /* more top-level YAML, appended verbatim */
};

/* Write a config from o (NULL: all defaults), start the sidecar on a fresh
 * socket and wait until rs_stats answers. Asserts. */
void h_start(struct h_sidecar *sc, const struct h_opts *o);

/* Same with the whole config text given. */
void h_start_yaml(struct h_sidecar *sc, const char *yaml);

/* h_start_yaml in steps, for tests that expect start-up to fail or share a
 * socket path between sidecars: make the directory and config (sock NULL:
 * a fresh path inside it), fork+exec, wait until stats answer. */
void h_prepare(struct h_sidecar *sc, const char *yaml, const char *sock);
void h_launch(struct h_sidecar *sc);
void h_wait_ready(struct h_sidecar *sc);

/* Wait (bounded) for a sidecar that is exiting anyway; returns its status. */
int h_reap(struct h_sidecar *sc);

/* Remove the config, the log and the directory (and the socket when it is
 * inside the directory). */
void h_remove_files(const struct h_sidecar *sc);

/* SIGTERM; assert exit status 0, the socket file gone and a log free of
 * sanitizer reports; then remove the temporary files. */
void h_stop(struct h_sidecar *sc);
/* The same with another signal (SIGINT). */
void h_stop_sig(struct h_sidecar *sc, int sig);

/* SIGKILL and reap (the sidecar cannot clean up); removes the stale socket
 * file the way an operator would. The log is still checked. */
void h_kill9(struct h_sidecar *sc);

/* criterion .fini: kill whatever sidecar a failed test left running and say
 * where its files are. */
void h_fini(void);

/* Assert the log has no AddressSanitizer / UBSan / LeakSanitizer report. */
void h_log_assert_clean(const struct h_sidecar *sc);

/* Number of log lines that contain needle. */
int h_log_count(const struct h_sidecar *sc, const char *needle);

/* The last bytes of the log, for failure messages (static buffer). */
const char *h_log_tail(const struct h_sidecar *sc);

/* Write the config used by h_start into buf. */
void h_config_text(char *buf, size_t len, const struct h_opts *o);

/* ---- counters ------------------------------------------------------------- */

/* Find "key value" in rs_stats text. 0 or -1 when absent. */
int h_stat_parse(const char *text, const char *key, uint64_t *out);

/* One counter, now. Asserts the query works and the key exists. */
uint64_t h_stat(const struct h_sidecar *sc, const char *key);

/* Wait (bounded by H_WAIT_MS) until the counter equals / reaches want. */
void h_wait_stat(const struct h_sidecar *sc, const char *key, uint64_t want);
void h_wait_stat_ge(const struct h_sidecar *sc, const char *key, uint64_t want);

/* ---- processes and files ------------------------------------------------------ */

/* $name, asserted set (the Makefile passes RINGSIDE_BIN etc.). */
const char *h_env(const char *name);

/* fork() whose child dies with the test process (PR_SET_PDEATHSIG). */
pid_t h_fork(void);

/* waitpid bounded by ms; returns the status or -1 on timeout. */
int h_wait_pid(pid_t pid, int ms);

/*
 * Run argv[0] with extra environment "K=V" entries (NULL-terminated, may be
 * NULL; "K=" removes K), stdin from in_text (NULL: /dev/null), and capture
 * stdout and stderr (malloc'd, NUL-terminated). Returns the exit status, or
 * 128 + signal. Bounded by H_WAIT_MS; asserts on a hang.
 */
int h_run(const char *const argv[], const char *const env[], const char *in_text,
	  char **out, char **err);

char *h_read_file(const char *path, size_t *len);
void h_write_file(const char *path, const char *text);
uint64_t h_now_ms(void);
void h_sleep_ms(unsigned ms);

/* ---- libringside helpers (assert) ----------------------------------------- */

rs_client *h_connect(const struct h_sidecar *sc);
uint64_t h_submit(rs_client *c, const char *model, const char *body);

/* ---- requests and expected replies (never assert) ----------------------------- */

/* A chat.completions body with one user message `prompt`. Negative numbers
 * leave the knob out. malloc'd. */
char *h_body(const char *prompt, int stream, long tokens, long max_tokens,
	     long ttft_us, long interval_us);

/* The mock's reply to prompt (mock_script.h): words of the prompt joined by
 * single spaces, tokens (when >= 0) of them cycling, cut at max_tokens (when
 * >= 0). malloc'd. */
char *h_expected_reply(const char *prompt, long tokens, long max_tokens);

/* "length" when max_tokens cuts the reply short, else "stop". */
const char *h_expected_finish(const char *prompt, long tokens, long max_tokens);

/* ASCII-whitespace word count, as the sidecar counts prompt words. */
unsigned h_word_count(const char *s);

/* ---- stream bookkeeping (never asserts) --------------------------------------- */

enum h_phase { H_NEW, H_STARTED, H_USAGE, H_ENDED };

struct h_stream {
	uint64_t id;
	enum h_phase phase;
	char *text;
	size_t len, cap;
	unsigned n_start, n_delta, n_usage, n_done, n_error, n_other;
	unsigned n_after_end;     /* events after the terminal one */
	unsigned n_out_of_order;  /* e.g. DELTA before START, USAGE twice */
	char provider[64], model[64];
	uint32_t attempt;
	int cache_hit;
	uint32_t prompt_tokens, completion_tokens, total_tokens;
	char finish[32];
	int err_code;
	char err_msg[256];
	/* Position of the START / terminal event in the set's event sequence,
	 * to prove that streams overlapped. */
	uint64_t seq_start, seq_end;
};

struct h_set {
	struct h_stream *v;
	size_t n, cap;
	uint64_t seq;         /* events seen */
	unsigned foreign;     /* events of ids not in the set */
	unsigned open;        /* streams not ended */
};

struct h_stream *h_set_add(struct h_set *set, uint64_t id);
struct h_stream *h_set_find(struct h_set *set, uint64_t id);
void h_set_event(struct h_set *set, const struct rs_event *ev);
void h_set_free(struct h_set *set);

/* rs_next (each call bounded by timeout_ms) until every stream of set has
 * ended. Returns RS_OK or rs_next's failure. */
int h_drain(rs_client *c, struct h_set *set, int timeout_ms);

/* Did st end well: one START (provider/model when not NULL), DELTAs that add
 * up to text, one USAGE with these counts, one DONE with finish, nothing
 * after it, nothing out of order. 0, or -1 with the reason in why. */
int h_check_done(const struct h_stream *st, const char *provider, const char *model,
		 const char *text, uint32_t prompt_tokens, uint32_t completion_tokens,
		 const char *finish, char *why, size_t whylen);

/* Did st end with exactly one ERROR of code (and no DONE, nothing after). */
int h_check_error(const struct h_stream *st, int code, char *why, size_t whylen);

/* ---- raw protocol client (shm/ only, never asserts) ----------------------------- */

struct h_raw {
	int sock, sub_bell, ev_bell, awake_fd;
	struct seg seg;
	struct ring sub, ev;
	uint64_t client_id;
	uint8_t *buf;        /* private copy of the event being decoded */
	size_t cap;
};

/* Handshake by hand: HELLO, WELCOME + fds, attach the segment. 0 or -errno
 * (-ECONNREFUSED when the sidecar said no). */
int h_raw_connect(const char *sock, struct h_raw *r);
void h_raw_close(struct h_raw *r);

/* Wake the sidecar (write 1 to the submit bell). */
void h_raw_bell(struct h_raw *r);

/* Write one message (fragmented as needed), waiting for room; rings the bell.
 * 0, -ETIMEDOUT or -EPROTO. */
int h_raw_send(struct h_raw *r, uint16_t type, uint64_t stream, const void *p, size_t len);

/* REQUEST frame: proto_request header, model, body. */
int h_raw_request(struct h_raw *r, uint64_t stream, const char *model, const char *body,
		  size_t body_len);

/* Next event decoded into ev (pointers valid until the next call). 1 event,
 * 0 nothing within timeout_ms, -EPIPE the sidecar closed the socket and the
 * ring is empty, -EPROTO a malformed frame. */
int h_raw_next(struct h_raw *r, struct rs_event *ev, int timeout_ms);

/* h_raw_next until every stream of set has ended: 0, -ETIMEDOUT, -EPIPE,
 * -EPROTO. */
int h_raw_drain(struct h_raw *r, struct h_set *set, int timeout_ms);

/* 1 once the sidecar has closed our socket (EOF), 0 if not within ms. */
int h_raw_wait_eof(struct h_raw *r, int ms);

#endif
