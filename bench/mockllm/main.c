/*
 * main.c — mockllm's command line: a fake LLM provider (OpenAI, Anthropic,
 * Gemini, Ollama wire formats) for tests and benchmarks.
 *
 * Signals are taken through a signalfd in worker 0's loop (worker 0 runs on
 * the main thread), so with the default single worker the process is one
 * thread and SIGTERM is just another event.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "server.h"

static const char ml_usage[] =
	"usage: mockllm [-p PORT] [-t THREADS] [-q]\n"
	"\n"
	"A fake LLM provider on 127.0.0.1 for tests and benchmarks.\n"
	"  -p PORT     port to listen on (default 0: ephemeral)\n"
	"  -t THREADS  worker threads sharing the port with SO_REUSEPORT (default 1)\n"
	"  -q          quiet: only the 'mockllm listening on' line\n"
	"\n"
	"Endpoints (POST unless noted):\n"
	"  /v1/chat/completions (and any path ending in /chat/completions)   OpenAI\n"
	"  /v1/messages                                                       Anthropic\n"
	"  /v1beta/models/{model}:streamGenerateContent[?alt=sse], :generateContent  Gemini\n"
	"  /api/chat                                                          Ollama\n"
	"  GET /stats   counters as JSON        POST /reset   zero the counters\n"
	"\n"
	"The reply echoes the words of the last user message, one word per token.\n"
	"Knobs: header 'x-mock: k=v,k=v' and/or a model suffix 'model@k=v,k=v':\n"
	"  tokens=N ttft_us=N itl_us=N slow_headers_us=N\n"
	"  status=CODE retry_after=S retry_after_ms=N fail_pct=P seed=N\n"
	"  reset_after=N stall_after=N malformed_after=N error_after=N tool=NAME\n"
	"  chaos=P     fail P% (0..100) of requests, picked by seed and request\n"
	"              counter independently of fail_pct (a request both pick gets\n"
	"              fail_pct's status), each with one of eight faults, drawn\n"
	"              uniformly, before the first content: 500, 503, 429 with\n"
	"              retry-after-ms: 20, overloaded (Anthropic 529, else 503 in\n"
	"              the provider's overloaded shape), RST before the status line,\n"
	"              RST after the head, a malformed first event, an error event\n"
	"              first. Not streamed, the last three are an RST, a cut body\n"
	"              and a 500. /stats: faults_injected.chaos and .chaos_<fault>\n";

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static void *worker_thread(void *arg)
{
	ml_worker_run(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	int port = 0, threads = 1, opt;
	bool quiet = false;
	while ((opt = getopt(argc, argv, "p:t:qh")) != -1) {
		switch (opt) {
		case 'p':
			if (parse_int(optarg, 0, 65535, &port) < 0)
				goto usage;
			break;
		case 't':
			if (parse_int(optarg, 1, ML_MAX_WORKERS, &threads) < 0)
				goto usage;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(ml_usage, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;

	/* Block the stop signals before any thread exists, so every thread
	 * inherits the mask and only the signalfd sees them. */
	sigset_t stop_sigs;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sig_fd = signalfd(-1, &stop_sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	int stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sig_fd < 0 || stop_fd < 0)
		ml_die("signalfd/eventfd: %s", strerror(errno));

	struct ml_worker *w = calloc((size_t)threads, sizeof *w);
	if (!w)
		ml_die("out of memory for %d workers", threads);
	int rc = 1, started = 0, inited = 0;
	for (; inited < threads; inited++) {
		int i = inited;
		int bound = ml_worker_init(&w[i], i, port, threads > 1, stop_fd, i == 0 ? sig_fd : -1, quiet);
		if (bound < 0) {
			ml_worker_fini(&w[i]);
			goto out;
		}
		/* Port 0: the others join the port the first one was given. */
		port = bound;
	}
	printf("mockllm listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	if (!quiet)
		fprintf(stderr, "mockllm: %d worker%s, pid %d\n", threads, threads > 1 ? "s" : "", (int)getpid());
	for (started = 1; started < threads; started++) {
		int e = pthread_create(&w[started].thread, NULL, worker_thread, &w[started]);
		if (e) {
			fprintf(stderr, "mockllm: pthread_create: %s\n", strerror(e));
			uint64_t one = 1;
			if (write(stop_fd, &one, sizeof one) < 0)
				ml_die("cannot stop the workers: %s", strerror(errno));
			break;
		}
	}
	if (started == threads)
		ml_worker_run(&w[0]);
	for (int i = 1; i < started; i++)
		pthread_join(w[i].thread, NULL);
	rc = started == threads ? 0 : 1;
out:
	for (int i = 0; i < inited; i++)
		ml_worker_fini(&w[i]);
	free(w);
	close(sig_fd);
	close(stop_fd);
	return rc;
usage:
	fputs(ml_usage, stderr);
	return 2;
}
