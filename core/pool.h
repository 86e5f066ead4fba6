/* SPDX-License-Identifier: MIT */
/*
 * core_pool - a single-threaded size-class allocator, one per shard.
 *
 * Small blocks (<= CORE_POOL_SMALL_MAX bytes) are rounded up to one of
 * CORE_POOL_CLASSES size classes: every multiple of 16 B up to 256 B, then
 * four steps per power of two up to 4096 B, so rounding wastes at most 15 B
 * or 25%. Freed blocks go on per-class LIFO free lists; a class with an empty
 * list bumps a pointer through the pool's current 1 MiB chunk (mmap'd, shared
 * by all classes), so pages are touched only as blocks are handed out and the
 * per-operation path never calls malloc or mmap once the pool is warm. Larger
 * blocks go to malloc. Only the owning shard thread calls these functions
 * (epoch callbacks that free memory also run on it). The caller passes the
 * block size back on free, so blocks carry no header. Every block is 16-byte
 * aligned.
 */
#ifndef AEDB_CORE_POOL_H
#define AEDB_CORE_POOL_H

#include <stddef.h>
#include <stdint.h>

#define CORE_POOL_SMALL_MAX 4096u
#define CORE_POOL_CLASSES 32u
#define CORE_POOL_CHUNK_BYTES (2u << 20)

struct core_pool {
	void *free_lists[CORE_POOL_CLASSES]; /* LIFO of freed blocks, per class */
	char *bump;             /* next unhanded byte of the current chunk */
	size_t bump_left;       /* bytes from bump to the end of that chunk */
	void *chunks;           /* newest chunk (its base address); each chunk
				 * links to the previous one, for destroy */
	uint64_t bytes_in_use;  /* what callers hold: class size, or exact
				 * size for large blocks */
	uint64_t bytes_reserved;/* chunks mapped + large blocks */
};

void core_pool_init(struct core_pool *pool);
/* Unmap every chunk; blocks still held become invalid. Large blocks still
 * held by callers are the caller's to free first. */
void core_pool_destroy(struct core_pool *pool);
/* NULL on out of memory. size 0 is treated as 1. */
void *core_pool_alloc(struct core_pool *pool, size_t size);
/* size must be what was passed to core_pool_alloc. NULL is a no-op. */
void core_pool_free(struct core_pool *pool, void *p, size_t size);

/* Ask for transparent huge pages under the whole pages of [@p, @p + @n),
 * memory not touched yet (a large calloc: the kernel then faults huge
 * pages in). Only a hint; small ranges are left alone. */
void core_hugepage_hint(void *p, size_t n);

#endif /* AEDB_CORE_POOL_H */
