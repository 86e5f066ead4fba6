/* SPDX-License-Identifier: MIT */
/* core_pool: size classes, reuse, lazy chunks, tail recycling, large blocks,
 * accounting, poisoning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/pool.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#define T_CHUNK_BYTES ((size_t)2 << 20)
#define T_CHUNK_HEADER_BYTES 16u /* the chunk's link, before its first block */
#define T_PAGE_BYTES 4096u

/* The specification, written out rather than computed as pool.c does. */
static const size_t t_classes[] = {
	16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	320, 384, 448, 512, 640, 768, 896, 1024,
	1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
};
enum { T_CLASSES = sizeof(t_classes) / sizeof(t_classes[0]) };

/* Index of the smallest class that holds size (0 is treated as 1). */
static size_t t_class_index(size_t size)
{
	size_t i = 0;

	while (t_classes[i] < size)
		i++;
	return i;
}

static size_t t_class_of(size_t size)
{
	return t_classes[t_class_index(size)];
}

static int t_cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return (x > y) - (x < y);
}

static int t_in_chunk(const void *p, const void *chunk)
{
	uintptr_t x = (uintptr_t)p, base = (uintptr_t)chunk;

	return x >= base + T_CHUNK_HEADER_BYTES && x < base + T_CHUNK_BYTES;
}

static void test_pool_class_table(void **state)
{
	(void)state;
	assert_int_equal(T_CLASSES, CORE_POOL_CLASSES);
	assert_int_equal(t_classes[T_CLASSES - 1], CORE_POOL_SMALL_MAX);
	assert_int_equal(T_CHUNK_BYTES, CORE_POOL_CHUNK_BYTES);
	for (size_t i = 0; i < T_CLASSES; i++) {
		assert_int_equal(t_classes[i] % 16, 0);
		if (i > 0)
			assert_true(t_classes[i] > t_classes[i - 1]);
	}
}

/*
 * Every size 1..4096: the pool charges exactly the smallest class >= size, so
 * rounding wastes at most 15 B or a quarter of the size; the block is wholly
 * writable; once freed it comes back for the class's own size (same class)
 * and never for the next smaller class's size.
 */
static void test_pool_every_size_maps_to_smallest_class(void **state)
{
	struct core_pool pool;

	(void)state;
	core_pool_init(&pool);
	for (size_t n = 1; n <= CORE_POOL_SMALL_MAX; n++) {
		size_t idx = t_class_index(n), cls = t_classes[idx];
		unsigned char *p, *q;

		p = core_pool_alloc(&pool, n);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_int_equal(pool.bytes_in_use, cls);
		assert_true(cls - n < 16 || (cls - n) * 4 <= n);
		memset(p, 0xab, cls);
		core_pool_free(&pool, p, n);
		assert_int_equal(pool.bytes_in_use, 0);
		if (idx > 0) {
			q = core_pool_alloc(&pool, t_classes[idx - 1]);
			assert_ptr_not_equal(q, p);
			core_pool_free(&pool, q, t_classes[idx - 1]);
		}
		q = core_pool_alloc(&pool, cls);
		assert_ptr_equal(q, p);
		core_pool_free(&pool, q, cls);
	}
	assert_int_equal(pool.bytes_reserved % T_CHUNK_BYTES, 0);
	core_pool_destroy(&pool);
}

/* Blocks at both sides of every class boundary, held at once, never overlap. */
static void test_pool_class_boundaries_disjoint(void **state)
{
	enum { N = 2 + 2 * T_CLASSES };
	size_t sizes[N], n = 0;
	unsigned char *p[N];
	struct core_pool pool;
	uint64_t used = 0;

	(void)state;
	sizes[n++] = 0;
	sizes[n++] = 1;
	for (size_t i = 0; i < T_CLASSES; i++) {
		sizes[n++] = t_classes[i];
		if (t_classes[i] < CORE_POOL_SMALL_MAX)
			sizes[n++] = t_classes[i] + 1;
	}
	core_pool_init(&pool);
	for (size_t i = 0; i < n; i++) {
		size_t cls = t_class_of(sizes[i] ? sizes[i] : 1);

		p[i] = core_pool_alloc(&pool, sizes[i]);
		assert_non_null(p[i]);
		used += cls;
		assert_int_equal(pool.bytes_in_use, used);
		memset(p[i], (int)(i + 1), cls);
	}
	assert_int_equal(pool.bytes_reserved, T_CHUNK_BYTES);
	for (size_t i = 0; i < n; i++) {
		size_t cls = t_class_of(sizes[i] ? sizes[i] : 1);

		for (size_t j = 0; j < cls; j++)
			assert_int_equal(p[i][j], (unsigned char)(i + 1));
		core_pool_free(&pool, p[i], sizes[i]);
	}
	assert_int_equal(pool.bytes_in_use, 0);
	core_pool_destroy(&pool);
}

static void test_pool_reuse_same_class(void **state)
{
	struct core_pool pool;
	void *a, *b, *c, *d, *e, *f;
	uint64_t reserved;

	(void)state;
	core_pool_init(&pool);
	a = core_pool_alloc(&pool, 24);
	c = core_pool_alloc(&pool, 16);
	e = core_pool_alloc(&pool, 300);
	assert_non_null(a);
	assert_non_null(c);
	assert_non_null(e);
	reserved = pool.bytes_reserved;
	core_pool_free(&pool, a, 24);
	core_pool_free(&pool, e, 300);
	assert_int_equal(pool.bytes_in_use, 16);
	/* 24 and 32 share the 32-byte class: the freed block comes back. */
	d = core_pool_alloc(&pool, 33); /* the 48 B class: not a */
	assert_ptr_not_equal(d, a);
	b = core_pool_alloc(&pool, 32);
	assert_ptr_equal(b, a);
	/* 321 is in the 384 B class, 320 shares e's. */
	f = core_pool_alloc(&pool, 321);
	assert_ptr_not_equal(f, e);
	core_pool_free(&pool, f, 321);
	f = core_pool_alloc(&pool, 320);
	assert_ptr_equal(f, e);
	assert_int_equal(pool.bytes_reserved, reserved);
	assert_int_equal(pool.bytes_in_use, 32 + 16 + 48 + 320);
	core_pool_free(&pool, b, 32);
	core_pool_free(&pool, c, 16);
	core_pool_free(&pool, d, 33);
	core_pool_free(&pool, f, 320);
	assert_int_equal(pool.bytes_in_use, 0);
	core_pool_destroy(&pool);
}

/*
 * Many blocks of one size: exact bytes_in_use, whole chunks reserved, at most
 * one chunk plus a block's worth per chunk unused, distinct addresses; a warm
 * pool serves the same load again without new chunks.
 */
static void t_fill_one_size(size_t size, size_t count)
{
	size_t cls = t_class_of(size);
	void **p = calloc(count, sizeof(*p));
	struct core_pool pool;
	uint64_t reserved, chunks;

	assert_non_null(p);
	core_pool_init(&pool);
	for (size_t i = 0; i < count; i++) {
		p[i] = core_pool_alloc(&pool, size);
		assert_non_null(p[i]);
	}
	assert_int_equal(pool.bytes_in_use, (uint64_t)count * cls);
	assert_int_equal(pool.bytes_reserved % T_CHUNK_BYTES, 0);
	chunks = pool.bytes_reserved / T_CHUNK_BYTES;
	assert_true(pool.bytes_reserved - pool.bytes_in_use <
		    T_CHUNK_BYTES + chunks * (cls + T_CHUNK_HEADER_BYTES));
	qsort(p, count, sizeof(*p), t_cmp_ptr);
	for (size_t i = 1; i < count; i++)
		assert_true((uintptr_t)p[i] - (uintptr_t)p[i - 1] >= cls);
	for (size_t i = 0; i < count; i += 2)
		core_pool_free(&pool, p[i], size);
	reserved = pool.bytes_reserved;
	for (size_t i = 0; i < count; i += 2)
		p[i] = core_pool_alloc(&pool, size);
	assert_int_equal(pool.bytes_reserved, reserved);
	for (size_t i = 0; i < count; i++)
		core_pool_free(&pool, p[i], size);
	assert_int_equal(pool.bytes_in_use, 0);
	core_pool_destroy(&pool);
	free(p);
}

static void test_pool_chunk_accounting(void **state)
{
	(void)state;
	t_fill_one_size(16, 200000);   /* 3.2 MB: four chunks */
	t_fill_one_size(80, 30000);
	t_fill_one_size(156, 20000);
	t_fill_one_size(1000, 3000);
	t_fill_one_size(4096, 1000);
}

/*
 * The 512th 4096 B block does not fit in the first chunk (2 MiB less its
 * header holds 511 and 4080 B over); those 4080 B are cut into 3584 + 448 + 48
 * and served to smaller requests instead of being wasted.
 */
static void test_pool_chunk_tail_recycled(void **state)
{
	struct core_pool pool;
	void *first, *p[513], *q[3];
	static const size_t tail[3] = { 3584, 448, 48 };

	(void)state;
	core_pool_init(&pool);
	p[0] = core_pool_alloc(&pool, 4096);
	first = pool.chunks;
	for (size_t i = 1; i < 511; i++)
		p[i] = core_pool_alloc(&pool, 4096);
	assert_int_equal(pool.bytes_reserved, T_CHUNK_BYTES);
	assert_true(t_in_chunk(p[510], first));
	p[511] = core_pool_alloc(&pool, 4096);
	assert_int_equal(pool.bytes_reserved, 2 * T_CHUNK_BYTES);
	assert_false(t_in_chunk(p[511], first));
	for (size_t i = 0; i < 3; i++) {
		q[i] = core_pool_alloc(&pool, tail[i]);
		assert_true(t_in_chunk(q[i], first));
		memset(q[i], 0x11, tail[i]);
	}
	assert_int_equal(pool.bytes_reserved, 2 * T_CHUNK_BYTES);
	assert_int_equal(pool.bytes_in_use, 512 * 4096 + 3584 + 448 + 48);
	/* Exhausted: another 48 B block is bumped from the second chunk. */
	p[512] = core_pool_alloc(&pool, 48);
	assert_false(t_in_chunk(p[512], first));
	core_pool_destroy(&pool);
}

/* Number of resident pages in [base, base + T_CHUNK_BYTES), or -1. */
static long t_resident_pages(void *base, unsigned char *vec)
{
	long n = 0;

	if (mincore(base, T_CHUNK_BYTES, vec) != 0)
		return -1;
	for (size_t i = 0; i < T_CHUNK_BYTES / T_PAGE_BYTES; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * A fresh chunk is faulted in whole when it is mapped (MAP_POPULATE), so the
 * hot path never takes a page fault: after the first allocation every page of
 * the chunk is resident. If mincore is unavailable (ENOSYS in some
 * sandboxes) the check is skipped.
 */
static void test_pool_chunk_prefaulted(void **state)
{
	static unsigned char vec[T_CHUNK_BYTES / T_PAGE_BYTES];
	struct core_pool pool;
	char *p;
	long pages;

	(void)state;
	if (sysconf(_SC_PAGESIZE) != T_PAGE_BYTES)
		skip();
	core_pool_init(&pool);
	p = core_pool_alloc(&pool, 16);
	assert_non_null(p);
	assert_int_equal(pool.bytes_reserved, T_CHUNK_BYTES);
	assert_true(t_in_chunk(p, pool.chunks));
	pages = t_resident_pages(pool.chunks, vec);
	if (pages < 0 && errno == ENOSYS) {
		core_pool_destroy(&pool);
		skip();
	}
	assert_int_equal(pages, T_CHUNK_BYTES / T_PAGE_BYTES);
	core_pool_destroy(&pool);
}

static void test_pool_large_blocks(void **state)
{
	struct core_pool pool;
	unsigned char *a, *b;

	(void)state;
	core_pool_init(&pool);
	a = core_pool_alloc(&pool, 4097);
	assert_non_null(a);
	assert_int_equal((uintptr_t)a % 16, 0);
	assert_int_equal(pool.bytes_in_use, 4097);
	assert_int_equal(pool.bytes_reserved, 4097);
	assert_null(pool.chunks);
	b = core_pool_alloc(&pool, 1u << 20);
	assert_non_null(b);
	assert_int_equal(pool.bytes_in_use, 4097 + (1u << 20));
	assert_int_equal(pool.bytes_reserved, 4097 + (1u << 20));
	memset(a, 0xa5, 4097);
	memset(b, 0x5a, 1u << 20);
	assert_int_equal(a[4096], 0xa5);
	core_pool_free(&pool, a, 4097);
	assert_int_equal(pool.bytes_in_use, 1u << 20);
	assert_int_equal(pool.bytes_reserved, 1u << 20);
	core_pool_free(&pool, b, 1u << 20);
	assert_int_equal(pool.bytes_in_use, 0);
	assert_int_equal(pool.bytes_reserved, 0);
	core_pool_destroy(&pool);
}

/*
 * Small blocks still held die with the pool, and every chunk is unmapped:
 * mincore fails with ENOMEM on an address range that is not mapped.
 */
static void test_pool_free_null_and_destroy_with_blocks(void **state)
{
	enum { MAXC = 8 };
	void *chunk[MAXC];
	size_t nchunk = 0;
	static unsigned char vec[T_CHUNK_BYTES / T_PAGE_BYTES];
	struct core_pool pool;
	void *p;

	(void)state;
	core_pool_init(&pool);
	core_pool_free(&pool, NULL, 64);
	assert_int_equal(pool.bytes_in_use, 0);
	assert_int_equal(pool.bytes_reserved, 0);
	for (int i = 0; i < 1000; i++) {
		assert_non_null(core_pool_alloc(&pool, (size_t)(i * 40 % 4096 + 1)));
		if (nchunk == 0 || chunk[nchunk - 1] != pool.chunks) {
			assert_true(nchunk < MAXC);
			chunk[nchunk++] = pool.chunks;
		}
	}
	assert_true(nchunk >= 2);
	assert_int_equal(pool.bytes_reserved, nchunk * T_CHUNK_BYTES);
	core_pool_destroy(&pool);
	for (size_t i = 0; i < nchunk; i++) {
		assert_int_equal(mincore(chunk[i], T_CHUNK_BYTES, vec), -1);
		assert_true(errno == ENOMEM || errno == ENOSYS);
	}
	assert_int_equal(pool.bytes_in_use, 0);
	assert_int_equal(pool.bytes_reserved, 0);
	assert_null(pool.chunks);
	/* Reusable after init. */
	core_pool_init(&pool);
	p = core_pool_alloc(&pool, 100);
	assert_non_null(p);
	core_pool_free(&pool, p, 100);
	core_pool_destroy(&pool);
}

static uint64_t t_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random alloc/free of sizes 0..5000 against a model: each live block is
 * filled with a tag that must survive until its free (no overlap), and
 * bytes_in_use always equals the sum of class sizes plus exact large sizes.
 */
static void test_pool_random_model(void **state)
{
	enum { SLOTS = 4096, STEPS = 200000 };
	static unsigned char *blk[SLOTS];
	static size_t len[SLOTS];
	uint64_t seed = 0x9e3779b97f4a7c15u, s = seed, used = 0;
	struct core_pool pool;

	(void)state;
	core_pool_init(&pool);
	for (long step = 0; step < STEPS; step++) {
		size_t i = t_rand(&s) % SLOTS, n = len[i];
		size_t cap = n > CORE_POOL_SMALL_MAX ? n : t_class_of(n ? n : 1);

		if (blk[i]) {
			if (blk[i][0] != (unsigned char)i || blk[i][cap - 1] != (unsigned char)i)
				fail_msg("seed %llx step %ld: block %zu overwritten",
					 (unsigned long long)seed, step, i);
			core_pool_free(&pool, blk[i], n);
			blk[i] = NULL;
			used -= cap;
			continue;
		}
		n = t_rand(&s) % 5001;
		cap = n > CORE_POOL_SMALL_MAX ? n : t_class_of(n ? n : 1);
		blk[i] = core_pool_alloc(&pool, n);
		assert_non_null(blk[i]);
		memset(blk[i], (int)(i & 0xff), cap);
		len[i] = n;
		used += cap;
		assert_int_equal(pool.bytes_in_use, used);
	}
	for (size_t i = 0; i < SLOTS; i++)
		core_pool_free(&pool, blk[i], len[i]);
	assert_int_equal(pool.bytes_in_use, 0);
	assert_int_equal(pool.bytes_reserved % T_CHUNK_BYTES, 0);
	core_pool_destroy(&pool);
}

static void test_pool_poisons_free_blocks(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	struct core_pool pool;
	char *p, *chunk;

	(void)state;
	core_pool_init(&pool);
	p = core_pool_alloc(&pool, 48);
	chunk = pool.chunks;
	assert_false(__asan_address_is_poisoned(p));
	assert_false(__asan_address_is_poisoned(p + 47));
	/* Not yet bumped: the rest of the chunk, up to its last byte. */
	assert_true(__asan_address_is_poisoned(p + 48));
	assert_true(__asan_address_is_poisoned(p + 4096));
	assert_true(__asan_address_is_poisoned(chunk + T_CHUNK_BYTES - 1));
	core_pool_free(&pool, p, 48);
	assert_true(__asan_address_is_poisoned(p));
	assert_true(__asan_address_is_poisoned(p + 47));
	p = core_pool_alloc(&pool, 40);
	assert_false(__asan_address_is_poisoned(p + 47));
	core_pool_destroy(&pool);
	/* Destroy clears the shadow of the unmapped chunk. */
	assert_false(__asan_address_is_poisoned(chunk + 4096));
#else
	(void)state;
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_class_table),
		cmocka_unit_test(test_pool_every_size_maps_to_smallest_class),
		cmocka_unit_test(test_pool_class_boundaries_disjoint),
		cmocka_unit_test(test_pool_reuse_same_class),
		cmocka_unit_test(test_pool_chunk_accounting),
		cmocka_unit_test(test_pool_chunk_tail_recycled),
		cmocka_unit_test(test_pool_chunk_prefaulted),
		cmocka_unit_test(test_pool_large_blocks),
		cmocka_unit_test(test_pool_free_null_and_destroy_with_blocks),
		cmocka_unit_test(test_pool_random_model),
		cmocka_unit_test(test_pool_poisons_free_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
