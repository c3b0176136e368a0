/*
 * test_startup.c — the socket path across sidecar lifetimes: a live
 * sidecar's socket is never stolen, a crashed one's stale socket is reused,
 * and clients of the old sidecar learn it is gone while new ones connect.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(startup, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

static void serve_one(const struct h_sidecar *sc, const char *prompt)
{
	rs_client *c = h_connect(sc);
	struct h_set set = { 0 };
	char *b = h_body(prompt, 1, -1, -1, -1, -1);
	h_set_add(&set, h_submit(c, H_MODEL, b));
	free(b);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char why[512];
	cr_assert(h_check_done(&set.v[0], H_PROVIDER, H_UPSTREAM, prompt, h_word_count(prompt),
			       h_word_count(prompt), "stop", why, sizeof why) == 0, "%s", why);
	h_set_free(&set);
	rs_close(c);
}

Test(startup, test_second_sidecar_refuses_live_socket)
{
	struct h_sidecar a, b;
	h_start(&a, NULL);
	char yaml[2048];
	h_config_text(yaml, sizeof yaml, NULL);
	h_prepare(&b, yaml, a.sock);
	h_launch(&b);
	int st = h_reap(&b);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "second sidecar status 0x%x", st);
	cr_assert(h_log_count(&b, "already listening") == 1, "log:\n%s", h_log_tail(&b));
	h_log_assert_clean(&b);
	h_remove_files(&b);
	/* The first one still owns its socket and serves. */
	cr_assert(access(a.sock, F_OK) == 0, "the live socket was removed");
	serve_one(&a, "first one still serving");
	h_stop(&a);
}

Test(startup, test_stale_socket_is_reused)
{
	struct h_sidecar a, b;
	h_start(&a, NULL);
	rs_client *old = h_connect(&a);
	int rc;
	cr_assert_eq(kill(a.pid, SIGKILL), 0);
	int st = h_reap(&a);
	cr_assert(WIFSIGNALED(st), "status 0x%x", st);
	cr_assert(access(a.sock, F_OK) == 0, "a SIGKILLed sidecar cannot have removed its socket");
	/* The kernel tears down a dead process's io_uring (which holds the
	 * listening socket) shortly after the exit: until then a connect
	 * still succeeds and is then dropped. Wait for the refusal. */
	char buf[64];
	uint64_t until = h_now_ms() + H_WAIT_MS;
	while ((rc = rs_stats(a.sock, buf, sizeof buf)) != RS_ENOSIDECAR && h_now_ms() < until)
		h_sleep_ms(5);
	cr_assert_eq(rc, RS_ENOSIDECAR, "rs_stats on a stale socket: %s", rs_strerror(rc));

	char yaml[2048];
	h_config_text(yaml, sizeof yaml, NULL);
	h_prepare(&b, yaml, a.sock);
	h_launch(&b);
	h_wait_ready(&b);
	serve_one(&b, "new sidecar on the old path");
	/* The old client's sidecar is gone for good, even though a new one
	 * listens at the same path. */
	struct rs_event ev;
	cr_assert_eq(rs_next(old, &ev, H_EVENT_MS), RS_EDISCONNECTED);
	cr_assert_eq(rs_submit_prompt(old, H_MODEL, "hello?", &(uint64_t){ 0 }), RS_EDISCONNECTED);
	rs_close(old);
	h_wait_stat(&b, "clients_connected", 0);
	cr_assert_eq(h_stat(&b, "clients_total"), 1);
	h_stop(&b);
	h_log_assert_clean(&a);
	h_remove_files(&a);
}
