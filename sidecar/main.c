/*
 * main.c — the ringside daemon's entry point: arguments, configuration,
 * socket path, then the server loop until SIGINT/SIGTERM.
 *
 *   ringside                  run on the embedded default configuration
 *   ringside -c FILE          run on FILE
 *   ringside --check [-c FILE]   validate and exit (0 = valid)
 *   ringside --dump-config [-c FILE]  print the effective configuration
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "shm/sockpath.h"
#include "upstream.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringside [-c FILE] [--check] [--dump-config]\n"
		"  -c, --config FILE   configuration file (YAML); default: embedded\n"
		"      --check         validate the configuration and exit\n"
		"      --dump-config   print the effective configuration and exit\n"
		"  -h, --help          this text\n"
		"environment: RINGSIDE_SOCKET overrides listen.socket\n");
}

static enum log_level main_log_level(enum cfg_log_level l)
{
	switch (l) {
	case CFG_LOG_DEBUG: return LOG_DEBUG;
	case CFG_LOG_INFO: return LOG_INFO;
	case CFG_LOG_WARN: return LOG_WARN;
	case CFG_LOG_ERROR: return LOG_ERROR;
	}
	return LOG_INFO;
}

/* $RINGSIDE_SOCKET, then listen.socket, then the default path. */
static int main_socket_path(const struct cfg *cfg, char *buf, size_t len)
{
	const char *env = getenv(SOCKPATH_ENV);
	if ((!env || !env[0]) && cfg->listen.socket && cfg->listen.socket[0]) {
		int n = snprintf(buf, len, "%s", cfg->listen.socket);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	return sockpath_resolve(buf, len);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "dump-config", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *file = NULL;
	int check = 0, dump = 0, o;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': file = optarg; break;
		case 'k': check = 1; break;
		case 'd': dump = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	struct cfg cfg;
	char err[512];
	const char *def = cfg_embedded_default();
	int rc = file ? cfg_load_file(file, &cfg, err, sizeof err)
		      : cfg_load_string("<embedded>", def, strlen(def), &cfg, err, sizeof err);
	if (rc) {
		fprintf(stderr, "ringside: %s\n", err);
		return 1;
	}
	if (check || dump) {
		if (dump)
			cfg_dump(&cfg, stdout);
		else
			printf("%s: configuration OK (%zu providers, %zu models)\n", cfg.source,
			       cfg.n_providers, cfg.n_models);
		cfg_free(&cfg);
		return 0;
	}
	log_set_level(main_log_level(cfg.log.level));

	char path[SOCKPATH_MAX];
	if (main_socket_path(&cfg, path, sizeof path)) {
		fprintf(stderr, "ringside: socket path too long (max %d bytes)\n", SOCKPATH_MAX - 1);
		cfg_free(&cfg);
		return 1;
	}
	if (up_global_init()) {
		fprintf(stderr, "ringside: libcurl initialisation failed\n");
		cfg_free(&cfg);
		return 1;
	}
	struct srv srv;
	rc = srv_init(&srv, &cfg, path);
	if (rc == 0) {
		log_info("ringside ready: config %s, %zu model aliases", cfg.source, cfg.n_models);
		fprintf(stderr, "\n  ringside is listening on %s\n  try:  RINGSIDE_SOCKET=%s "
			"build/ringside-chat -m %s \"hello from ringside\"\n\n",
			path, path, cfg.models[0].alias);
		rc = srv_run(&srv);
		log_info("ringside stopped");
	}
	srv_free(&srv);
	cfg_free(&cfg);
	up_global_cleanup();
	return rc ? 1 : 0;
}
