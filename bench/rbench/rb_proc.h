/*
 * rb_proc.h — what /proc says about a process: CPU time and resident memory.
 */
#ifndef RB_PROC_H
#define RB_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* CPU time of every thread of pid, in ns (the schedstat run time: exact,
 * not the 10 ms ticks of /proc/PID/stat). 0 if pid is gone. */
uint64_t rb_proc_cpu_ns(pid_t pid);
/* CPU time of this process, ns. */
uint64_t rb_proc_self_cpu_ns(void);
/* Resident set size in KiB, -1 if unknown. */
long rb_proc_rss_kb(pid_t pid);
/* One line about this machine: CPU model, cores, kernel, virtualisation. */
void rb_proc_machine(char *buf, size_t len);

#endif
