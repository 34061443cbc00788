/*
 * The arena (arena.h): bump allocation in blocks of at least ARENA_BLOCK bytes.
 */
#include "proxy/base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 4096

struct arena_block {
	struct arena_block *next;
	size_t size;                              /* bytes in data[] */
	alignas(max_align_t) unsigned char data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_block *b = a->blocks;
	size_t at = (a->used + align - 1) & ~(align - 1);

	if (size > SIZE_MAX / 2)
		return NULL;
	if (b == NULL || at > b->size || size > b->size - at) {
		size_t n = size > ARENA_BLOCK ? size : ARENA_BLOCK;

		b = malloc(sizeof(*b) + n);
		if (b == NULL)
			return NULL;
		b->next = a->blocks;
		b->size = n;
		a->blocks = b;
		at = 0;
	}
	a->used = at + size;
	memset(b->data + at, 0, size);
	return b->data + at;
}

void arena_release(struct arena *a)
{
	struct arena_block *b = a->blocks;

	while (b != NULL) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
	a->blocks = NULL;
	a->used = 0;
}
