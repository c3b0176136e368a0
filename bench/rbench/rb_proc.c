/*
 * rb_proc.c — CPU time and memory of a process from /proc, and a one-line
 * description of the machine for the report.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "rb_proc.h"

uint64_t rb_proc_cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	uint64_t sum = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[300];
		snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		unsigned long long run = 0;
		if (fscanf(f, "%llu", &run) == 1)
			sum += run;
		fclose(f);
	}
	closedir(d);
	return sum;
}

uint64_t rb_proc_self_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long rb_proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kb = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

void rb_proc_machine(char *buf, size_t len)
{
	char model[128] = "unknown CPU", line[512];
	int hyper = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			char *c = strchr(line, ':');
			if (!c)
				continue;
			if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown CPU")) {
				snprintf(model, sizeof model, "%s", c + 2);
				model[strcspn(model, "\n")] = 0;
			}
			if (!strncmp(line, "flags", 5) && strstr(c, " hypervisor"))
				hyper = 1;
		}
		fclose(f);
	}
	struct utsname u;
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	snprintf(buf, len, "%s, %ld cores%s, Linux %s", model, sysconf(_SC_NPROCESSORS_ONLN),
		 hyper ? " (virtual machine)" : "", u.release);
}
