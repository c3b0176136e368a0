/*
 * jarena.c — the bump arena behind jansson (see jarena.h).
 *
 * One block, a bump offset, and a depth counter. Inside a scope an
 * allocation is an add and a compare; jansson's frees of arena memory are
 * no-ops and the outermost end drops everything at once. Nothing here
 * allocates or makes a system call in steady state: the block is only
 * replaced at the first begin after a scope outgrew it.
 */
#include "jarena.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#if defined(__SANITIZE_ADDRESS__)
#define JARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JARENA_ASAN 1
#endif
#endif

#ifdef JARENA_ASAN
#include <sanitizer/asan_interface.h>
/* Each allocation carries its size in front of it, so a free inside the
 * scope can poison exactly what it releases. 16 keeps the payload aligned. */
#define JARENA_HDR 16u
#define JARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define JARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define JARENA_HDR 0u
#define JARENA_POISON(p, n) ((void)(p), (void)(n))
#define JARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* What malloc guarantees on x86-64 and aarch64 (max_align_t), and so what
 * jansson's structures (with long long and double members) may assume. */
#define JARENA_ALIGN 16u
/* One streamed event parses into a few KiB (a chunk's object tree plus the
 * lexer's string buffer); 256 KiB holds every recorded fixture's largest
 * event many times over, so growth is for outliers only. */
#define JARENA_INITIAL (256u << 10)
/* Growth stops here: http.c accepts events of up to 4 MiB, and jansson's
 * lexer buffer doubles while it reads a string, so the largest event needs
 * about three times its size. Beyond this a scope falls back to malloc
 * rather than pin more memory for the life of the process. */
#define JARENA_MAX (16u << 20)

static struct {
	unsigned char *base;
	size_t size;    /* bytes in the block */
	size_t used;    /* bump offset in the current outermost scope */
	size_t need;    /* bytes the current scope asked for, arena or not */
	size_t grow_to; /* a scope overflowed: the next begin's block size */
	unsigned depth;
	int ready;
	struct jarena_stats st;
} ja;

int jarena_owns(const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)ja.base;

	return ja.base && a >= b && a - b < ja.size;
}

static void *jarena_malloc(size_t n)
{
	size_t r = (n + JARENA_HDR + JARENA_ALIGN - 1) & ~(size_t)(JARENA_ALIGN - 1);
	unsigned char *p;

	/* Outside a scope, and for sizes no arena holds (r wrapped), jansson
	 * gets what it always had. */
	if (!ja.depth || r < n)
		return malloc(n);
	ja.need = r > SIZE_MAX - ja.need ? SIZE_MAX : ja.need + r;
	if (r > ja.size - ja.used) {
		ja.st.fallbacks++;
		return malloc(n);
	}
	p = ja.base + ja.used;
	ja.used += r;
	if (ja.used > ja.st.high_water)
		ja.st.high_water = ja.used;
#ifdef JARENA_ASAN
	JARENA_UNPOISON(p, JARENA_HDR + n);
	memcpy(p, &n, sizeof n);
	p += JARENA_HDR;
#endif
	return p;
}

static void jarena_free(void *p)
{
	if (!jarena_owns(p)) {
		free(p);
		return;
	}
#ifdef JARENA_ASAN
	/* Poison what was released, header included: a use after
	 * json_decref, or a second free (which reads the header), is
	 * reported. Outside a scope arena memory is poisoned already. */
	if (ja.depth && (unsigned char *)p < ja.base + ja.used) {
		size_t n;
		memcpy(&n, (unsigned char *)p - JARENA_HDR, sizeof n);
		JARENA_POISON((unsigned char *)p - JARENA_HDR, JARENA_HDR + n);
	}
#endif
}

/* Replace the block with one of ja.grow_to bytes. Only with no scope open:
 * nothing then lives in the old block. On failure the old block stays and
 * the next overflow asks again. */
static void jarena_grow(void)
{
	size_t size = ja.grow_to;
	unsigned char *b;

	ja.grow_to = 0;
	b = aligned_alloc(JARENA_ALIGN, size);
	if (!b)
		return;
	if (ja.base) {
		JARENA_UNPOISON(ja.base, ja.size);
		free(ja.base);
		ja.st.grows++;
	}
	ja.base = b;
	ja.size = size;
	JARENA_POISON(b, size);
}

void jarena_init(void)
{
	if (ja.ready)
		return;
	ja.ready = 1;
	/* Without a block every scope falls back to malloc until a later
	 * begin manages to allocate one: slower, never wrong. */
	ja.grow_to = JARENA_INITIAL;
	jarena_grow();
	json_set_alloc_funcs(jarena_malloc, jarena_free);
}

void jarena_begin(void)
{
	if (ja.depth++)
		return;
	jarena_init();
	if (ja.grow_to)
		jarena_grow();
	ja.st.scopes++;
}

void jarena_end(void)
{
	if (!ja.depth || --ja.depth)
		return;
	if (ja.need > ja.size) {
		/* Doubling settles in a few steps however the need grows. */
		size_t s = ja.size ? ja.size : JARENA_INITIAL;
		while (s < ja.need && s < JARENA_MAX)
			s *= 2;
		if (s > JARENA_MAX)
			s = JARENA_MAX;
		if (s > ja.size)
			ja.grow_to = s;
	}
	JARENA_POISON(ja.base, ja.used);
	ja.used = 0;
	ja.need = 0;
}

void jarena_stats(struct jarena_stats *st)
{
	*st = ja.st;
	st->size = ja.size;
}
