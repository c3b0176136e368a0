/*
 * ringside-chat — talk to a model through the local ringside sidecar.
 *
 *   ringside-chat [-m MODEL] [-v] [-t MS] [PROMPT...]   (stdin when no prompt)
 *
 * The reply streams to stdout as it arrives. With -v, the provider, usage and
 * time to first chunk go to stderr. Exit codes let scripts tell failures
 * apart; text already printed stays printed when a stream ends in error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringside.h"

enum {
	CHAT_OK = 0,
	CHAT_EXIT_OTHER = 1,
	CHAT_EXIT_USAGE = 2,
	CHAT_EXIT_UNREACHABLE = 3, /* no sidecar, or it went away */
	CHAT_EXIT_REJECTED = 4,    /* the request itself was refused */
	CHAT_EXIT_UPSTREAM = 5,    /* the model/provider failed */
};

/* Largest prompt read from stdin; the sidecar has its own limit too. */
#define CHAT_STDIN_MAX (64u << 20)

static double chat_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void chat_usage(FILE *f)
{
	fprintf(f, "usage: ringside-chat [-m MODEL] [-v] [-t TIMEOUT_MS] [-s SOCKET] [PROMPT...]\n"
		   "  reads the prompt from stdin when none is given\n"
		   "exit: 0 ok, 2 usage, 3 sidecar unreachable, 4 request rejected, 5 upstream failure\n");
}

static char *chat_read_stdin(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, stdin);
		len += n;
		if (n == 0)
			break;
		if (len + 1 == cap) {
			if (cap >= CHAT_STDIN_MAX) {
				fprintf(stderr, "ringside-chat: prompt on stdin is larger than %u bytes\n",
					CHAT_STDIN_MAX);
				free(buf);
				return NULL;
			}
			char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

static char *chat_join(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *p = malloc(len);
	if (!p)
		return NULL;
	p[0] = 0;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(p, " ");
		strcat(p, argv[i]);
	}
	return p;
}

static int chat_exit_for_rc(int rc)
{
	switch (rc) {
	case RS_ENOSIDECAR:
	case RS_EDISCONNECTED:
	case RS_EREFUSED:
	case RS_EVERSION:
		return CHAT_EXIT_UNREACHABLE;
	case RS_ETOOBIG:
	case RS_EINVAL:
		return CHAT_EXIT_REJECTED;
	default:
		return CHAT_EXIT_OTHER;
	}
}

static int chat_exit_for_code(int code)
{
	switch (code) {
	case RS_ERR_BAD_REQUEST:
	case RS_ERR_UNKNOWN_MODEL:
	case RS_ERR_TOO_LARGE:
		return CHAT_EXIT_REJECTED;
	case RS_ERR_DISCONNECTED:
	case RS_ERR_SHUTDOWN:
		return CHAT_EXIT_UNREACHABLE;
	default:
		return CHAT_EXIT_UPSTREAM;
	}
}

int main(int argc, char **argv)
{
	const char *model = "mock", *sock = NULL;
	int verbose = 0, timeout_ms = -1, o;
	while ((o = getopt(argc, argv, "m:s:t:vh")) != -1) {
		switch (o) {
		case 'm': model = optarg; break;
		case 's': sock = optarg; break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'v': verbose = 1; break;
		case 'h': chat_usage(stdout); return 0;
		default: chat_usage(stderr); return CHAT_EXIT_USAGE;
		}
	}
	char *prompt = optind < argc ? chat_join(argc - optind, argv + optind) : chat_read_stdin();
	if (!prompt) {
		fprintf(stderr, "ringside-chat: cannot read the prompt\n");
		return CHAT_EXIT_OTHER;
	}
	rs_client *c;
	int rc = rs_connect(sock, &c);
	if (rc) {
		char path[128];
		if (!sock && rs_default_socket(path, sizeof path) == RS_OK && !getenv("RINGSIDE_SOCKET"))
			sock = path;
		if (!sock)
			sock = getenv("RINGSIDE_SOCKET");
		fprintf(stderr, "ringside-chat: cannot reach the ringside sidecar at %s (%s); "
				"start it with `make run` or set RINGSIDE_SOCKET\n",
			sock, rs_strerror(rc));
		free(prompt);
		return chat_exit_for_rc(rc);
	}
	double t0 = chat_now_ms(), t_first = -1;
	uint64_t stream;
	rc = rs_submit_prompt(c, model, prompt, &stream);
	free(prompt);
	if (rc) {
		fprintf(stderr, "ringside-chat: request not sent: %s\n", rs_strerror(rc));
		rs_close(c);
		return chat_exit_for_rc(rc);
	}
	int code = CHAT_EXIT_OTHER, printed = 0;
	struct rs_event ev;
	for (;;) {
		rc = rs_next(c, &ev, timeout_ms);
		if (rc) {
			if (printed)
				fputc('\n', stdout);
			fprintf(stderr, "ringside-chat: %s\n", rs_strerror(rc));
			code = rc == RS_ETIMEDOUT ? CHAT_EXIT_UPSTREAM : chat_exit_for_rc(rc);
			break;
		}
		if (ev.type == RS_EV_START && verbose) {
			fprintf(stderr, "[%.*s / %.*s]\n", (int)ev.start.provider_len, ev.start.provider,
				(int)ev.start.model_len, ev.start.model);
		} else if (ev.type == RS_EV_DELTA) {
			if (t_first < 0)
				t_first = chat_now_ms();
			fwrite(ev.text, 1, ev.text_len, stdout);
			fflush(stdout);
			printed = 1;
		} else if (ev.type == RS_EV_USAGE && verbose) {
			fprintf(stderr, "\n[usage: prompt %u, completion %u, total %u tokens]\n",
				ev.usage.prompt_tokens, ev.usage.completion_tokens, ev.usage.total_tokens);
		} else if (ev.type == RS_EV_DONE) {
			if (printed)
				fputc('\n', stdout);
			if (verbose)
				fprintf(stderr, "[finish: %.*s, first chunk %.3f ms, total %.3f ms]\n",
					(int)ev.text_len, ev.text, t_first < 0 ? 0 : t_first - t0,
					chat_now_ms() - t0);
			code = CHAT_OK;
			break;
		} else if (ev.type == RS_EV_ERROR) {
			if (printed)
				fputc('\n', stdout);
			fprintf(stderr, "ringside-chat: %s error: %.*s\n",
				rs_errcode_name(ev.error.code), (int)ev.text_len, ev.text);
			code = chat_exit_for_code(ev.error.code);
			break;
		}
	}
	rs_close(c);
	return code;
}
