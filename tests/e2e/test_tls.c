/*
 * test_tls.c — TLS and HTTP/2 to a provider.
 *
 * TLS is verified, always: a server whose certificate the sidecar cannot
 * verify gets no request, and naming the CA (`ca_file`) makes the very same
 * server work. Where the server offers HTTP/2, streams to one provider
 * share one connection.
 *
 * The servers are real: socat (TLS, HTTP/1.1) or nghttpx (TLS with ALPN h2)
 * in front of mockllm, with a certificate made for the test by openssl.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_mockllm.h"

struct tls_env {
	struct h_ml ml;
	char dir[64], cert[96], key[96];
	pid_t socat;
	int port;
};

static void tls_cert(struct tls_env *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/rse2e-tls.XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(t->cert, sizeof t->cert, "%s/cert.pem", t->dir);
	snprintf(t->key, sizeof t->key, "%s/key.pem", t->dir);
	const char *argv[] = { "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
			       "-keyout", t->key, "-out", t->cert, "-days", "1",
			       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
			       NULL };
	char *out = NULL, *err = NULL;
	int st = h_run(argv, NULL, NULL, &out, &err);
	cr_assert_eq(st, 0, "openssl req failed: %s", err);
	free(out);
	free(err);
}

/* The TLS front on a free port, in front of mockllm: socat (HTTP/1.1) or,
 * with h2, nghttpx (ALPN h2, HTTP/1.1 to mockllm). Ready once it accepts. */
static void tls_front_kind(struct tls_env *t, int h2)
{
	t->port = h_ml_dead_port();
	char listen[512], target[64], front[64], back[64];
	snprintf(listen, sizeof listen,
		 "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s,verify=0",
		 t->port, t->cert, t->key);
	snprintf(target, sizeof target, "TCP:127.0.0.1:%d", t->ml.port);
	snprintf(front, sizeof front, "-f127.0.0.1,%d", t->port);
	snprintf(back, sizeof back, "-b127.0.0.1,%d", t->ml.port);
	t->socat = h_fork();
	if (t->socat == 0) {
		/* Our readiness probes and the refused handshake make the
		 * front complain; that is expected, not test output. */
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, STDERR_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		if (h2)
			execl("/usr/sbin/nghttpx", "nghttpx", "--conf=/dev/null", front, back,
			      "--no-ocsp", "--workers=1", "--single-process", t->key, t->cert,
			      (char *)NULL);
		else
			execlp("socat", "socat", listen, target, (char *)NULL);
		_exit(127);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "exec 3<>/dev/tcp/127.0.0.1/%d", t->port);
	uint64_t until = h_now_ms() + H_WAIT_MS;
	for (;;) {
		const char *argv[] = { "/bin/bash", "-c", cmd, NULL };
		char *out = NULL, *err = NULL;
		int st = h_run(argv, NULL, NULL, &out, &err);
		free(out);
		free(err);
		if (st == 0)
			break;
		cr_assert_lt(h_now_ms(), until, "socat never listened on %d", t->port);
		h_sleep_ms(20);
	}
}

static void tls_front(struct tls_env *t)
{
	tls_front_kind(t, 0);
}

static void tls_down(struct tls_env *t)
{
	kill(t->socat, SIGTERM);
	h_wait_pid(t->socat, H_WAIT_MS);
	h_ml_stop(&t->ml);
	unlink(t->cert);
	unlink(t->key);
	rmdir(t->dir);
}

/* A sidecar with one openai provider at https://127.0.0.1:PORT/v1, and
 * aliases tls-model (plain) and tls-slow (long paced replies). */
static void tls_sidecar_conns(struct h_sidecar *sc, const struct tls_env *t, const char *ca,
			      int max_conns)
{
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "providers:\n"
		 "  tlsp:\n"
		 "    kind: openai\n"
		 "    base_url: https://127.0.0.1:%d/v1\n"
		 "    api_key: test-key\n"
		 "    max_connections: %d\n"
		 "%s%s%s"
		 "models:\n"
		 "  tls-model:\n"
		 "    provider: tlsp\n"
		 "    model: tls-upstream\n"
		 "  tls-slow:\n"
		 "    provider: tlsp\n"
		 "    model: \"tls-upstream@tokens=100,itl_us=20000\"\n",
		 t->port, max_conns, ca ? "    ca_file: " : "", ca ? ca : "", ca ? "\n" : "");
	h_start_yaml(sc, yaml);
}

static void tls_sidecar(struct h_sidecar *sc, const struct tls_env *t, const char *ca)
{
	tls_sidecar_conns(sc, t, ca, 64);
}

static void tls_one(rs_client *c, struct h_set *set)
{
	char *body = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
	uint64_t id = h_submit(c, "tls-model", body);
	free(body);
	h_set_add(set, id);
	cr_assert_eq(h_drain(c, set, H_EVENT_MS), RS_OK);
}

Test(tls, test_unverifiable_certificate_is_refused, .timeout = H_TEST_TIMEOUT, .fini = h_fini)
{
	struct tls_env t = { 0 };
	h_ml_start(&t.ml);
	tls_cert(&t);
	tls_front(&t);
	struct h_sidecar sc;
	tls_sidecar(&sc, &t, NULL);
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	tls_one(c, &set);
	char why[256];
	struct h_stream *st = &set.v[0];
	cr_assert_eq(st->n_done, 0, "a stream over an unverified TLS connection must not succeed");
	cr_assert_eq(h_check_error(st, st->err_code, why, sizeof why), 0, "%s", why);
	cr_assert(strstr(st->err_msg, "certificate") || strstr(st->err_msg, "SSL"),
		  "the error should say why: %s", st->err_msg);
	/* Nothing reached the provider: the handshake failed first. */
	cr_assert_eq(h_ml_stat(&t.ml, "requests_total"), 0);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
	tls_down(&t);
}

Test(tls, test_ca_file_makes_the_same_server_work, .timeout = H_TEST_TIMEOUT, .fini = h_fini)
{
	struct tls_env t = { 0 };
	h_ml_start(&t.ml);
	tls_cert(&t);
	tls_front(&t);
	struct h_sidecar sc;
	tls_sidecar(&sc, &t, t.cert);
	rs_client *c = h_connect(&sc);
	char why[256];
	for (int i = 0; i < 3; i++) {
		struct h_set set = { 0 };
		tls_one(c, &set);
		cr_assert_eq(h_check_done(&set.v[0], "tlsp", "tls-upstream", H_ML_PROMPT, H_ML_WORDS,
					  H_ML_WORDS, "stop", why, sizeof why),
			     0, "%s", why);
		h_set_free(&set);
	}
	/* Warm requests reuse the TLS connection: one handshake for three. */
	char key[96];
	cr_assert_eq(h_stat(&sc, h_ml_pool_key(key, sizeof key, "upstream_conns_new", "tlsp")), 1);
	cr_assert_eq(h_stat(&sc, h_ml_pool_key(key, sizeof key, "upstream_conns_reused", "tlsp")), 2);
	rs_close(c);
	h_stop(&sc);
	tls_down(&t);
}

/*
 * With one connection allowed and an HTTP/2 server, eight long streams run
 * at once: all eight requests reach the provider before the first reply is
 * complete (over HTTP/1.1 the eighth would wait for seven whole replies).
 */
Test(tls, test_http2_multiplexes_streams_on_one_connection, .timeout = H_TEST_TIMEOUT,
     .fini = h_fini)
{
	enum { N = 8 };
	struct tls_env t = { 0 };
	h_ml_start(&t.ml);
	tls_cert(&t);
	tls_front_kind(&t, 1);
	struct h_sidecar sc;
	tls_sidecar_conns(&sc, &t, t.cert, 1);
	rs_client *c = h_connect(&sc);
	struct h_set set = { 0 };
	char *body = h_body(H_ML_PROMPT, 1, -1, -1, -1, -1);
	for (int i = 0; i < N; i++)
		h_set_add(&set, h_submit(c, "tls-slow", body));
	free(body);
	h_ml_wait_stat(&t.ml, "requests_total", N);
	cr_assert_eq(h_ml_stat(&t.ml, "streams_completed"), 0,
		     "all %d requests should be in flight at once", N);
	cr_assert_eq(h_drain(c, &set, H_EVENT_MS), RS_OK);
	char want[1024], why[256], key[96];
	size_t n = 0;
	static const char *const words[] = { "the", "quick", "brown", "fox", "jumps" };
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(want + n, sizeof want - n, "%s%s", i ? " " : "", words[i % 5]);
	for (int i = 0; i < N; i++)
		cr_assert_eq(h_check_done(&set.v[i], "tlsp", "tls-upstream@tokens=100,itl_us=20000",
					  want, H_ML_WORDS, 100, "stop", why, sizeof why),
			     0, "stream %d: %s", i, why);
	cr_assert_eq(h_stat(&sc, h_ml_pool_key(key, sizeof key, "upstream_conns_new", "tlsp")), 1);
	cr_assert_eq(h_stat(&sc, h_ml_pool_key(key, sizeof key, "upstream_h2", "tlsp")), N);
	h_set_free(&set);
	rs_close(c);
	h_stop(&sc);
	tls_down(&t);
}
