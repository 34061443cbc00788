/*
 * An arena: many small allocations that live and die together (a parsed expression's nodes).
 * Memory comes in blocks from malloc and goes back all at once in arena_release.
 */
#ifndef DS_ARENA_H
#define DS_ARENA_H

#include <stddef.h>

struct arena_block;

/* Zero-initialized is an empty arena. */
struct arena {
	struct arena_block *blocks;  /* newest first */
	size_t used;                 /* bytes handed out of the newest block */
};

/* size bytes, zeroed and aligned for any type, that live until arena_release; NULL when out
 * of memory. */
void *arena_alloc(struct arena *a, size_t size) __attribute__((warn_unused_result));

/* Gives back every allocation; a is empty again and may be reused. */
void arena_release(struct arena *a);

#endif
