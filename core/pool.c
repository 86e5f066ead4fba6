/* SPDX-License-Identifier: MIT */
/*
 * core_pool - 32 size classes: 16, 32, ..., 256 bytes (every multiple of 16),
 * then 320, 384, 448, 512, 640, ..., 3584, 4096 (four steps per power of two).
 * Each class has a LIFO free list threaded through the free blocks themselves.
 * A class whose list is empty takes its block by bumping a pointer through
 * the pool's current chunk, which all classes share. Chunks are 2 MiB of
 * anonymous mmap aligned to 2 MiB and marked MADV_HUGEPAGE, so the kernel
 * backs each with one transparent huge page (the skiplists' pointer chases
 * then miss the TLB far less: table_bench pk_point and scan_limit100 about
 * 15% faster), faulted in whole when mapped (MADV_POPULATE_WRITE: one call
 * instead of a page-fault trap per page, which are dear in a VM and were a
 * third of recovery's time); at most one chunk per pool is resident but not
 * yet handed out. A chunk is never carved up front. When the current chunk
 * cannot fit a block, its tail is cut into blocks of the largest classes
 * that fit and pushed onto their free lists (nothing is wasted: every size
 * class is a multiple of 16 and the classes up to 256 B cover every multiple
 * of 16), and a fresh chunk is mapped. Chunks are unmapped only on destroy.
 * Larger blocks go straight to malloc/free.
 *
 * Under AddressSanitizer free blocks and the unbumped part of the current
 * chunk are poisoned, so a use after core_pool_free (or past the end of a
 * block into fresh chunk space) is reported just as it would be after free().
 */
#include "core/pool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/assert.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define POOL_ALIGN 16u
#define POOL_FINE_MAX 256u     /* classes below this step by POOL_ALIGN */
#define POOL_FINE_CLASSES (POOL_FINE_MAX / POOL_ALIGN)

/* Bytes of each class; pool_class() maps a size to its index here. */

/* The byte counters are read by other threads (aedb_operational_metrics):
 * the owner updates them with relaxed stores (one writer, no RMW). */
static inline void pool_stat_add(uint64_t *c, uint64_t d)
{
	__atomic_store_n(c, *c + d, __ATOMIC_RELAXED);
}

static inline void pool_stat_sub(uint64_t *c, uint64_t d)
{
	__atomic_store_n(c, *c - d, __ATOMIC_RELAXED);
}

static const uint16_t pool_class_bytes[CORE_POOL_CLASSES] = {
	16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	320, 384, 448, 512, 640, 768, 896, 1024,
	1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
};

/* Chunk header; 16 bytes so that the blocks after it stay 16-byte aligned. */
struct pool_chunk {
	struct pool_chunk *next;
	uint64_t reserved;
};

AEDB_STATIC_ASSERT(sizeof(struct pool_chunk) == POOL_ALIGN, "chunk header keeps alignment");
AEDB_STATIC_ASSERT(sizeof(pool_class_bytes) / sizeof(pool_class_bytes[0]) ==
		   CORE_POOL_CLASSES, "one entry per class");
AEDB_STATIC_ASSERT(POOL_FINE_CLASSES + 16u == CORE_POOL_CLASSES,
		   "16 fine classes, then 4 steps for each of 4 powers of two");
AEDB_STATIC_ASSERT(CORE_POOL_SMALL_MAX == 4096u, "the class formula ends at 4096");
AEDB_STATIC_ASSERT(CORE_POOL_CHUNK_BYTES % 4096u == 0, "chunks are whole pages");
AEDB_STATIC_ASSERT(CORE_POOL_CHUNK_BYTES >= 64u * CORE_POOL_SMALL_MAX,
		   "a chunk holds many blocks of the largest class");

/*
 * Class index of a small size, in O(1). Sizes up to 256 round up to a multiple
 * of 16. Above that, with s = size - 1 and k = floor(log2(s)) in 8..11, size
 * lies in (2^k, 2^(k+1)], whose four classes are (5 + j) * 2^(k-2), j = 0..3;
 * the smallest that fits is j = (s >> (k-2)) - 4, the two bits below the top.
 */
static unsigned pool_class(size_t size)
{
	size_t s = size - 1;
	unsigned k, cls;

	AEDB_ASSERT(size >= 1);
	AEDB_ASSERT(size <= CORE_POOL_SMALL_MAX);
	if (size <= POOL_FINE_MAX)
		return (unsigned)(s / POOL_ALIGN);
	k = 63u - (unsigned)__builtin_clzll((unsigned long long)s);
	AEDB_ASSERT(k >= 8 && k <= 11);
	cls = POOL_FINE_CLASSES + (k - 8u) * 4u + (unsigned)((s >> (k - 2u)) & 3u);
	AEDB_DEBUG_ASSERT(size <= pool_class_bytes[cls]);
	AEDB_DEBUG_ASSERT(size > pool_class_bytes[cls - 1]);
	return cls;
}

void core_pool_init(struct core_pool *pool)
{
	AEDB_ASSERT(pool != NULL);
	memset(pool, 0, sizeof(*pool));
	AEDB_ASSERT(pool->chunks == NULL);
}

void core_pool_destroy(struct core_pool *pool)
{
	struct pool_chunk *chunk;
	uint64_t chunk_bytes = 0;

	AEDB_ASSERT(pool != NULL);
	chunk = pool->chunks;
	while (chunk) {
		struct pool_chunk *next = chunk->next;
		int rc;

		/* Clear the shadow, or a later mapping at this address would
		 * inherit the poison. */
		POOL_UNPOISON(chunk, CORE_POOL_CHUNK_BYTES);
		rc = munmap(chunk, CORE_POOL_CHUNK_BYTES);
		AEDB_ASSERT(rc == 0);
		chunk_bytes += CORE_POOL_CHUNK_BYTES;
		chunk = next;
	}
	AEDB_ASSERT(chunk_bytes <= pool->bytes_reserved);
	/* Anything reserved beyond the chunks is a large block the caller
	 * should have freed first: a leak, so checked in debug builds only. */
	AEDB_DEBUG_ASSERT(pool->bytes_reserved == chunk_bytes);
	memset(pool, 0, sizeof(*pool));
}

/* Push a block that no caller holds onto its class's free list, poisoned. */
static void pool_push(struct core_pool *pool, void *p, unsigned cls)
{
	AEDB_ASSERT(cls < CORE_POOL_CLASSES);
	AEDB_ASSERT(((uintptr_t)p & (POOL_ALIGN - 1u)) == 0);
	*(void **)p = pool->free_lists[cls];
	pool->free_lists[cls] = p;
	POOL_POISON(p, pool_class_bytes[cls]);
}

/*
 * Cut what is left of the current chunk into blocks of the largest classes
 * that fit and put them on the free lists. Called only when the tail is too
 * small for a request, so it is under CORE_POOL_SMALL_MAX and the touch is at
 * most two pages.
 */
static void pool_recycle_tail(struct core_pool *pool)
{
	AEDB_ASSERT(pool->bump_left < CORE_POOL_SMALL_MAX);
	AEDB_ASSERT(pool->bump_left % POOL_ALIGN == 0);
	while (pool->bump_left > 0) {
		unsigned cls = pool_class(pool->bump_left);
		char *p = pool->bump;

		if (pool_class_bytes[cls] > pool->bump_left)
			cls--; /* cls >= 1: the first class is 16 B */
		pool->bump += pool_class_bytes[cls];
		pool->bump_left -= pool_class_bytes[cls];
		POOL_UNPOISON(p, sizeof(void *));
		pool_push(pool, p, cls);
	}
}

/* Map one chunk: CORE_POOL_CHUNK_BYTES aligned to its size, backed by one
 * transparent huge page where the kernel allows (MADV_HUGEPAGE: the
 * skiplists chase pointers across the whole pool, and a huge page turns
 * 512 TLB entries into one), and faulted in whole at once (traps are dear
 * in a VM). NULL on out of memory. */
static void *pool_chunk_map(void)
{
	size_t len = CORE_POOL_CHUNK_BYTES;
	uintptr_t start, aligned;
	char *m;

	m = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	start = (uintptr_t)m;
	aligned = (start + len - 1) & ~(uintptr_t)(len - 1);
	if (aligned > start)
		munmap(m, aligned - start);
	munmap((char *)aligned + len, start + len - aligned);
	m = (char *)aligned;
#ifdef MADV_HUGEPAGE
	(void)madvise(m, len, MADV_HUGEPAGE); /* a hint: 4 KiB pages otherwise */
#endif
#ifdef MADV_POPULATE_WRITE
	if (madvise(m, len, MADV_POPULATE_WRITE) == 0)
		return m;
#endif
	for (size_t off = 0; off < len; off += 4096) /* kernels before 5.14 */
		m[off] = 0;
	return m;
}

void core_hugepage_hint(void *p, size_t n)
{
	uintptr_t lo = ((uintptr_t)p + 4095u) & ~(uintptr_t)4095u;
	uintptr_t hi = ((uintptr_t)p + n) & ~(uintptr_t)4095u;

	if (n < CORE_POOL_CHUNK_BYTES * 2 || hi <= lo)
		return;
#ifdef MADV_HUGEPAGE
	(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#endif
}

/* Retire the current chunk and map a fresh one. false on out of memory, with
 * the pool unchanged. */
static bool pool_chunk_new(struct core_pool *pool)
{
	struct pool_chunk *chunk;
	void *m;

	AEDB_ASSERT(pool->bump_left < CORE_POOL_SMALL_MAX);
	m = pool_chunk_map();
	if (!m)
		return false;
	AEDB_ASSERT(((uintptr_t)m & (POOL_ALIGN - 1u)) == 0);
	pool_recycle_tail(pool);
	chunk = m;
	POOL_UNPOISON(chunk, sizeof(*chunk));
	chunk->next = pool->chunks;
	pool->chunks = chunk;
	pool->bump = (char *)(chunk + 1);
	pool->bump_left = CORE_POOL_CHUNK_BYTES - sizeof(*chunk);
	pool_stat_add(&pool->bytes_reserved, CORE_POOL_CHUNK_BYTES);
	POOL_POISON(pool->bump, pool->bump_left);
	return true;
}

static void *pool_alloc_large(struct core_pool *pool, size_t size)
{
	void *p;

	AEDB_ASSERT(size > CORE_POOL_SMALL_MAX);
	p = malloc(size);
	if (!p)
		return NULL;
	AEDB_ASSERT(((uintptr_t)p & (POOL_ALIGN - 1u)) == 0);
	pool_stat_add(&pool->bytes_reserved, size);
	pool_stat_add(&pool->bytes_in_use, size);
	return p;
}

void *core_pool_alloc(struct core_pool *pool, size_t size)
{
	unsigned cls;
	size_t block;
	void *p;

	AEDB_ASSERT(pool != NULL);
	if (size == 0)
		size = 1;
	if (size > CORE_POOL_SMALL_MAX)
		return pool_alloc_large(pool, size);
	cls = pool_class(size);
	block = pool_class_bytes[cls];
	p = pool->free_lists[cls];
	if (p) {
		POOL_UNPOISON(p, block);
		pool->free_lists[cls] = *(void **)p;
	} else {
		if (AEDB_UNLIKELY(block > pool->bump_left) && !pool_chunk_new(pool))
			return NULL;
		p = pool->bump;
		pool->bump += block;
		pool->bump_left -= block;
		POOL_UNPOISON(p, block);
	}
	pool_stat_add(&pool->bytes_in_use, block);
	AEDB_ASSERT(pool->bytes_in_use <= pool->bytes_reserved);
	AEDB_ASSERT(((uintptr_t)p & (POOL_ALIGN - 1u)) == 0);
	return p;
}

void core_pool_free(struct core_pool *pool, void *p, size_t size)
{
	unsigned cls;

	AEDB_ASSERT(pool != NULL);
	if (!p)
		return;
	if (size == 0)
		size = 1;
	if (size > CORE_POOL_SMALL_MAX) {
		AEDB_ASSERT(pool->bytes_in_use >= size);
		AEDB_ASSERT(pool->bytes_reserved >= size);
		pool_stat_sub(&pool->bytes_in_use, size);
		pool_stat_sub(&pool->bytes_reserved, size);
		free(p);
		return;
	}
	cls = pool_class(size);
	AEDB_ASSERT(pool->bytes_in_use >= pool_class_bytes[cls]);
	pool_stat_sub(&pool->bytes_in_use, pool_class_bytes[cls]);
	pool_push(pool, p, cls);
}
