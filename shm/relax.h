/*
 * relax.h — the pause a spinning waiter takes between two looks at shared
 * memory: it lets the sibling hyperthread run and saves power, and keeps
 * the loop from flooding the memory bus. Shared by every spinner: the
 * sidecar's loop, libringside's wait, and the benchmark's floor and
 * open-loop runner.
 */
#ifndef RINGSIDE_SHM_RELAX_H
#define RINGSIDE_SHM_RELAX_H

static inline void shm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

#endif
