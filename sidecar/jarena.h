/*
 * jarena.h — a bump arena behind jansson, so decoding one streamed event
 * allocates nothing (DESIGN.md: no allocation per chunk on the hot path).
 *
 * jansson takes one process-wide pair of allocation functions. jarena
 * installs its own pair once; they hand out arena memory while a scope is
 * open (jarena_begin .. jarena_end) and plain malloc memory otherwise, so
 * request bodies, chatreq roots and everything else built outside a scope
 * keep working exactly as before. The free function tells the two apart by
 * address: a pointer inside the arena block is left alone (the whole arena
 * is reset at the end of the scope), anything else goes to free(). An
 * object malloc'd before jarena_init, or outside a scope, may therefore be
 * freed inside one, and the other way round.
 *
 * A scope that needs more than the arena holds gets malloc memory for the
 * rest (counted in fallbacks); the next outermost jarena_begin replaces the
 * block with one big enough for that scope, so the arena settles at the
 * largest event seen and later scopes allocate nothing.
 *
 * Contract:
 *   - single-threaded: the loop thread alone opens scopes, and no other
 *     thread may use jansson while a scope is open;
 *   - nothing allocated by jansson inside a scope (objects, strings,
 *     json_dumps output) may be used, kept, or freed with libc free() after
 *     the outermost jarena_end; memory jansson returns to the caller is
 *     released with jansson's free function (json_get_alloc_funcs), never
 *     with free() directly;
 *   - scopes nest; only the outermost end resets the arena.
 *
 * Under AddressSanitizer the arena is poisoned except for live
 * allocations, so a use after the scope (or after a json_decref inside it)
 * is reported as it would be with malloc.
 */
#ifndef RINGSIDE_JARENA_H
#define RINGSIDE_JARENA_H

#include <stddef.h>
#include <stdint.h>

struct jarena_stats {
	uint64_t scopes;    /* outermost scopes opened */
	uint64_t fallbacks; /* allocations inside a scope the arena could not hold */
	uint64_t grows;     /* times the block was replaced by a bigger one */
	size_t high_water;  /* most arena bytes one scope used */
	size_t size;        /* the arena block's size now (0 before init) */
};

/* Install the allocation functions and allocate the arena block; once per
 * process, later calls do nothing. jarena_begin calls it on first use. */
void jarena_init(void);

/* Open a scope: jansson allocates from the arena until the matching end. */
void jarena_begin(void);

/* Close a scope; the outermost one resets the arena. An end without a
 * begin does nothing. */
void jarena_end(void);

/* Is p inside the arena block? */
int jarena_owns(const void *p);

void jarena_stats(struct jarena_stats *st);

#endif
