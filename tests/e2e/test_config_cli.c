/*
 * test_config_cli.c — the sidecar's command line and config file: --check
 * says yes or names FILE:LINE, a bad file stops start-up before any socket
 * exists, and $RINGSIDE_SOCKET wins over listen.socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

TestSuite(config_cli, .fini = h_fini, .timeout = H_TEST_TIMEOUT);

struct cfg_dir {
	char dir[64];
	char sock[96];
};

static void cfg_dir_make(struct cfg_dir *d)
{
	snprintf(d->dir, sizeof d->dir, "/tmp/rse2e-cfg.XXXXXX");
	cr_assert(mkdtemp(d->dir));
	snprintf(d->sock, sizeof d->sock, "%s/rs.sock", d->dir);
}

static void cfg_dir_remove(struct cfg_dir *d, const char *const files[])
{
	char p[160];
	for (size_t i = 0; files[i]; i++) {
		snprintf(p, sizeof p, "%s/%s", d->dir, files[i]);
		unlink(p);
	}
	cr_assert(rmdir(d->dir) == 0, "%s not empty: something left files behind", d->dir);
}

/* ringside with args, its socket pointed at d (unless env is given). */
static int ringside(const struct cfg_dir *d, const char *const args[], const char *const env[],
		    char **out, char **err)
{
	const char *argv[12] = { h_env("RINGSIDE_BIN") };
	size_t n = 1;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char env_sock[160];
	snprintf(env_sock, sizeof env_sock, "RINGSIDE_SOCKET=%s", d->sock);
	const char *const def_env[] = { env_sock, NULL };
	return h_run(argv, env ? env : def_env, NULL, out, err);
}

static void write_in(const struct cfg_dir *d, const char *name, const char *text, char *path,
		     size_t len)
{
	snprintf(path, len, "%s/%s", d->dir, name);
	h_write_file(path, text);
}

Test(config_cli, test_check_accepts_good_config)
{
	struct cfg_dir d;
	cfg_dir_make(&d);
	char yaml[2048], path[160];
	h_config_text(yaml, sizeof yaml, &(struct h_opts){ .limits = "max_clients: 3, spin_us: 0" });
	write_in(&d, "good.yaml", yaml, path, sizeof path);
	char *out, *err;
	int rc = ringside(&d, (const char *[]){ "--check", "-c", path, NULL }, NULL, &out, &err);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert(strstr(out, "configuration OK"), "stdout: %s", out);
	free(out);
	free(err);
	/* --dump-config shows what was loaded. */
	rc = ringside(&d, (const char *[]){ "--dump-config", "-c", path, NULL }, NULL, &out, &err);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert(strstr(out, "max_clients: 3"), "dump: %s", out);
	cr_assert(strstr(out, H_PROVIDER), "dump: %s", out);
	free(out);
	free(err);
	cr_assert(access(d.sock, F_OK) < 0, "--check created a socket");
	cfg_dir_remove(&d, (const char *[]){ "good.yaml", NULL });
}

static const struct bad_cfg {
	const char *name;
	const char *yaml;
	int line;
	const char *says; /* a word the message must contain */
} bad_cfgs[] = {
	{ "unknown key",
	  "limits:\n  max_clients: 4\n  bogus_limit: 1\nproviders:\n  p: {kind: mock}\n"
	  "models:\n  m: {provider: p}\n", 3, "bogus_limit" },
	{ "bad size",
	  "providers:\n  p: {kind: mock}\nmodels:\n  m: {provider: p}\nlimits:\n  event_ring: 3KiB\n",
	  6, "event_ring" },
	{ "not a number",
	  "limits:\n  max_clients: lots\nproviders:\n  p: {kind: mock}\nmodels:\n  m: {provider: p}\n",
	  2, "max_clients" },
	{ "unknown provider kind",
	  "providers:\n  p:\n    kind: telepathy\nmodels:\n  m: {provider: p}\n", 3, "telepathy" },
};

Test(config_cli, test_bad_config_names_file_and_line)
{
	for (size_t k = 0; k < sizeof bad_cfgs / sizeof bad_cfgs[0]; k++) {
		const struct bad_cfg *b = &bad_cfgs[k];
		struct cfg_dir d;
		cfg_dir_make(&d);
		char path[160], where[200];
		write_in(&d, "bad.yaml", b->yaml, path, sizeof path);
		snprintf(where, sizeof where, "%s:%d:", path, b->line);
		char *out, *err;
		int rc = ringside(&d, (const char *[]){ "--check", "-c", path, NULL }, NULL, &out, &err);
		cr_assert_neq(rc, 0, "%s: --check accepted it", b->name);
		cr_assert(strstr(err, where), "%s: stderr lacks '%s': %s", b->name, where, err);
		cr_assert(strstr(err, b->says), "%s: stderr lacks '%s': %s", b->name, b->says, err);
		free(out);
		free(err);
		/* Starting on it fails the same way, before any socket exists. */
		rc = ringside(&d, (const char *[]){ "-c", path, NULL }, NULL, &out, &err);
		cr_assert_neq(rc, 0, "%s: started on a bad config", b->name);
		cr_assert(strstr(err, where), "%s: stderr lacks '%s': %s", b->name, where, err);
		cr_assert(access(d.sock, F_OK) < 0 && errno == ENOENT, "%s: socket created", b->name);
		free(out);
		free(err);
		cfg_dir_remove(&d, (const char *[]){ "bad.yaml", NULL });
	}
}

/* An error found after parsing (a reference to a provider that does not
 * exist) still points at the line to fix: the `provider:` value, the key
 * the message names. */
Test(config_cli, test_cross_reference_error_names_its_line)
{
	struct cfg_dir d;
	cfg_dir_make(&d);
	char path[160], where[200];
	write_in(&d, "bad.yaml", "providers:\n  p: {kind: mock}\nmodels:\n  m:\n    provider: nowhere\n",
		 path, sizeof path);
	snprintf(where, sizeof where, "%s:5: models.m.provider:", path);
	char *out, *err;
	int rc = ringside(&d, (const char *[]){ "--check", "-c", path, NULL }, NULL, &out, &err);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "nowhere"), "stderr: %s", err);
	cr_assert(strstr(err, where), "stderr lacks '%s': %s", where, err);
	free(out);
	free(err);
	cfg_dir_remove(&d, (const char *[]){ "bad.yaml", NULL });
}

Test(config_cli, test_missing_config_file_fails)
{
	struct cfg_dir d;
	cfg_dir_make(&d);
	char path[160];
	snprintf(path, sizeof path, "%s/absent.yaml", d.dir);
	char *out, *err;
	int rc = ringside(&d, (const char *[]){ "-c", path, NULL }, NULL, &out, &err);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, path), "stderr: %s", err);
	cr_assert(access(d.sock, F_OK) < 0, "socket created");
	free(out);
	free(err);
	cfg_dir_remove(&d, (const char *[]){ NULL });
}

/* listen.socket is used when $RINGSIDE_SOCKET is unset; the variable wins
 * when set. */
Test(config_cli, test_env_socket_overrides_listen_socket)
{
	struct h_sidecar sc;
	struct cfg_dir d;
	cfg_dir_make(&d);
	char file_sock[128], extra[256], yaml[2048];
	snprintf(file_sock, sizeof file_sock, "%s/from-file.sock", d.dir);
	snprintf(extra, sizeof extra, "listen:\n  socket: %s\n", file_sock);
	h_config_text(yaml, sizeof yaml, &(struct h_opts){ .extra = extra });
	/* h_start_yaml puts RINGSIDE_SOCKET in the sidecar's environment. */
	h_start_yaml(&sc, yaml);
	cr_assert(access(sc.sock, F_OK) == 0, "not listening on $RINGSIDE_SOCKET");
	cr_assert(access(file_sock, F_OK) < 0, "listening on listen.socket despite the variable");
	cr_assert_eq(h_stat(&sc, "clients_connected"), 0);
	h_stop(&sc);

	/* Without the variable, the file's path is used. */
	char path[160];
	write_in(&d, "listen.yaml", yaml, path, sizeof path);
	char log[160];
	snprintf(log, sizeof log, "%s/listen.log", d.dir);
	const char *bin = h_env("RINGSIDE_BIN");
	pid_t pid = h_fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		close_range(3, ~0u, 0);
		unsetenv("RINGSIDE_SOCKET");
		execl(bin, "ringside", "-c", path, (char *)NULL);
		_exit(127);
	}
	char buf[4096];
	int ready = 0;
	for (uint64_t until = h_now_ms() + H_WAIT_MS; !ready && h_now_ms() < until;) {
		ready = rs_stats(file_sock, buf, sizeof buf) == RS_OK;
		if (!ready)
			h_sleep_ms(5);
	}
	kill(pid, SIGTERM);
	int st = h_wait_pid(pid, H_WAIT_MS);
	cr_assert(ready, "not listening on listen.socket");
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	cr_assert(access(file_sock, F_OK) < 0, "socket left behind");
	char *text = h_read_file(log, NULL);
	cr_assert(text && strstr(text, file_sock), "log: %s", text ? text : "(none)");
	cr_assert_null(strstr(text, "Sanitizer"), "log: %s", text);
	cr_assert_null(strstr(text, "runtime error"), "log: %s", text);
	free(text);
	cfg_dir_remove(&d, (const char *[]){ "listen.yaml", "listen.log", NULL });
}
