/* SPDX-License-Identifier: MIT */
/*
 * core_pool - a single-threaded size-class allocator, one per shard.
 *
 * Small blocks (<= CORE_POOL_SMALL_MAX bytes) come from per-class free lists
 * refilled from 64 KiB slabs, so the per-operation path does not call malloc
 * once the pool is warm; larger blocks go to malloc. Only the owning shard
 * thread calls these functions (epoch callbacks that free memory also run on
 * it). The caller passes the block size back on free, so blocks carry no
 * header.
 */
#ifndef AEDB_CORE_POOL_H
#define AEDB_CORE_POOL_H

#include <stddef.h>
#include <stdint.h>

#define CORE_POOL_SMALL_MAX 4096u

struct core_pool {
	void *free_lists[16];   /* one per size class (16 B << i), 9 used */
	void *slabs;            /* singly linked list of slabs, for destroy */
	uint64_t bytes_in_use;  /* what callers hold: class size, or exact
				 * size for large blocks */
	uint64_t bytes_reserved;/* slabs + large blocks */
};

void core_pool_init(struct core_pool *pool);
/* Free every slab; blocks still held become invalid. Large blocks still held
 * by callers are the caller's to free first. */
void core_pool_destroy(struct core_pool *pool);
/* NULL on out of memory. size 0 is treated as 1. */
void *core_pool_alloc(struct core_pool *pool, size_t size);
/* size must be what was passed to core_pool_alloc. NULL is a no-op. */
void core_pool_free(struct core_pool *pool, void *p, size_t size);

#endif /* AEDB_CORE_POOL_H */
