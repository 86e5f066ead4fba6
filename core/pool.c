/* SPDX-License-Identifier: MIT */
/*
 * core_pool - size classes 16, 32, ..., 4096 bytes, each with a LIFO free
 * list threaded through the free blocks themselves. An empty list is refilled
 * by carving one 64 KiB slab (from malloc) into blocks of that class; slabs
 * are only returned on destroy. Larger blocks go straight to malloc/free.
 *
 * Under AddressSanitizer free blocks are poisoned, so a use after
 * core_pool_free is reported just as it would be after free().
 */
#include "core/pool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define POOL_SHIFT_MIN 4u        /* 16 B, the smallest class */
#define POOL_SHIFT_MAX 12u       /* 4096 B == CORE_POOL_SMALL_MAX */
#define POOL_CLASSES (POOL_SHIFT_MAX - POOL_SHIFT_MIN + 1u)
#define POOL_SLAB_BYTES (64u * 1024u)

/* Slab header; 16 bytes so that blocks after it keep malloc's alignment. */
struct pool_slab {
	struct pool_slab *next;
	uint64_t class_shift;
};

AEDB_STATIC_ASSERT(sizeof(struct pool_slab) == 16, "slab header keeps 16 B alignment");
AEDB_STATIC_ASSERT((1u << POOL_SHIFT_MAX) == CORE_POOL_SMALL_MAX, "largest class");
AEDB_STATIC_ASSERT(POOL_CLASSES <= sizeof(((struct core_pool *)0)->free_lists) /
		   sizeof(void *), "free_lists has a slot per class");

/* Class index for a small size: ceil(log2(size)) - 4, sizes <= 16 -> 0. */
static unsigned pool_class(size_t size)
{
	unsigned shift;

	AEDB_ASSERT(size <= CORE_POOL_SMALL_MAX);
	if (size <= (1u << POOL_SHIFT_MIN))
		return 0;
	shift = 64u - (unsigned)__builtin_clzll((unsigned long long)size - 1u);
	AEDB_ASSERT(shift > POOL_SHIFT_MIN && shift <= POOL_SHIFT_MAX);
	return shift - POOL_SHIFT_MIN;
}

void core_pool_init(struct core_pool *pool)
{
	AEDB_ASSERT(pool != NULL);
	memset(pool, 0, sizeof(*pool));
}

void core_pool_destroy(struct core_pool *pool)
{
	struct pool_slab *slab;
	uint64_t slab_bytes = 0;

	AEDB_ASSERT(pool != NULL);
	slab = pool->slabs;
	while (slab) {
		struct pool_slab *next = slab->next;

		POOL_UNPOISON(slab, POOL_SLAB_BYTES);
		free(slab);
		slab_bytes += POOL_SLAB_BYTES;
		slab = next;
	}
	/* Anything reserved beyond the slabs is a large block the caller
	 * should have freed first: a leak, so checked in debug builds only. */
	AEDB_DEBUG_ASSERT(pool->bytes_reserved == slab_bytes);
	(void)slab_bytes;
	memset(pool, 0, sizeof(*pool));
}

/* Carve a fresh slab into blocks of class @cls. false on out of memory. */
static bool pool_refill(struct core_pool *pool, unsigned cls)
{
	size_t block = (size_t)1 << (cls + POOL_SHIFT_MIN);
	size_t count = (POOL_SLAB_BYTES - sizeof(struct pool_slab)) / block;
	struct pool_slab *slab;
	char *base;

	AEDB_ASSERT(pool->free_lists[cls] == NULL);
	AEDB_ASSERT(count >= 1);
	slab = malloc(POOL_SLAB_BYTES);
	if (!slab)
		return false;
	slab->next = pool->slabs;
	slab->class_shift = cls + POOL_SHIFT_MIN;
	pool->slabs = slab;
	pool->bytes_reserved += POOL_SLAB_BYTES;

	/* Push from the top down so the lowest address is handed out first. */
	base = (char *)(slab + 1);
	for (size_t i = count; i-- > 0;) {
		void *p = base + i * block;

		*(void **)p = pool->free_lists[cls];
		pool->free_lists[cls] = p;
		POOL_POISON(p, block);
	}
	return true;
}

void *core_pool_alloc(struct core_pool *pool, size_t size)
{
	unsigned cls;
	size_t block;
	void *p;

	AEDB_ASSERT(pool != NULL);
	if (size == 0)
		size = 1;
	if (size > CORE_POOL_SMALL_MAX) {
		p = malloc(size);
		if (!p)
			return NULL;
		pool->bytes_reserved += size;
		pool->bytes_in_use += size;
		return p;
	}
	cls = pool_class(size);
	block = (size_t)1 << (cls + POOL_SHIFT_MIN);
	if (!pool->free_lists[cls] && !pool_refill(pool, cls))
		return NULL;
	p = pool->free_lists[cls];
	POOL_UNPOISON(p, block);
	pool->free_lists[cls] = *(void **)p;
	pool->bytes_in_use += block;
	AEDB_ASSERT(pool->bytes_in_use <= pool->bytes_reserved);
	AEDB_ASSERT(((uintptr_t)p & 15u) == 0);
	return p;
}

void core_pool_free(struct core_pool *pool, void *p, size_t size)
{
	unsigned cls;
	size_t block;

	AEDB_ASSERT(pool != NULL);
	if (!p)
		return;
	if (size == 0)
		size = 1;
	if (size > CORE_POOL_SMALL_MAX) {
		AEDB_ASSERT(pool->bytes_in_use >= size);
		AEDB_ASSERT(pool->bytes_reserved >= size);
		pool->bytes_in_use -= size;
		pool->bytes_reserved -= size;
		free(p);
		return;
	}
	cls = pool_class(size);
	block = (size_t)1 << (cls + POOL_SHIFT_MIN);
	AEDB_ASSERT(pool->bytes_in_use >= block);
	AEDB_ASSERT(((uintptr_t)p & 15u) == 0);
	pool->bytes_in_use -= block;
	*(void **)p = pool->free_lists[cls];
	pool->free_lists[cls] = p;
	POOL_POISON(p, block);
}
