/*
 * An arena: many small allocations freed together. A parsed unit keeps all
 * its strings and arrays in one, so dropping a unit is one call and a parse
 * that fails half-way leaks nothing.
 *
 * The struct belongs to the caller; ARENA_INIT is an empty arena. Every
 * allocation returns NULL on failure and leaves the arena usable.
 */
#ifndef PITH_ARENA_H
#define PITH_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used;		/* bytes handed out, for accounting */
};

#define ARENA_INIT { 0, 0 }

/* n bytes, zeroed, aligned for any object. */
void *arena_alloc(struct arena *a, size_t n);
/* n elements of size sz, zeroed; NULL also when n * sz overflows. */
void *arena_array(struct arena *a, size_t n, size_t sz);
char *arena_strdup(struct arena *a, const char *s);
/* The first n bytes of s (which need not be terminated there), terminated. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

#endif
