/* SPDX-License-Identifier: MIT */
/* core_pool: size classes, reuse, slabs, large blocks, accounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/pool.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#define T_SLAB_BYTES (64u * 1024u)

static size_t t_class_of(size_t size)
{
	size_t c = 16;

	while (c < size)
		c <<= 1;
	return c;
}

static int t_cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return (x > y) - (x < y);
}

static void test_pool_size_classes(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 31, 32, 33, 64, 100, 128,
					1000, 2048, 2049, 4095, 4096 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct core_pool pool;
	unsigned char *p[N];
	uint64_t used = 0;

	(void)state;
	core_pool_init(&pool);
	assert_int_equal(pool.bytes_in_use, 0);
	assert_int_equal(pool.bytes_reserved, 0);
	for (size_t i = 0; i < N; i++) {
		size_t cls = t_class_of(sizes[i] ? sizes[i] : 1);

		p[i] = core_pool_alloc(&pool, sizes[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		used += cls;
		assert_int_equal(pool.bytes_in_use, used);
		/* The whole class-sized block is the caller's: fill it. */
		memset(p[i], (int)(i + 1), cls);
	}
	assert_true(pool.bytes_reserved >= pool.bytes_in_use);
	assert_int_equal(pool.bytes_reserved % T_SLAB_BYTES, 0);
	/* No block overlapped another: every fill survived. */
	for (size_t i = 0; i < N; i++) {
		size_t cls = t_class_of(sizes[i] ? sizes[i] : 1);

		for (size_t j = 0; j < cls; j++)
			assert_int_equal(p[i][j], (unsigned char)(i + 1));
	}
	for (size_t i = 0; i < N; i++)
		core_pool_free(&pool, p[i], sizes[i]);
	assert_int_equal(pool.bytes_in_use, 0);
	core_pool_destroy(&pool);
}

static void test_pool_reuse_same_class(void **state)
{
	struct core_pool pool;
	void *a, *b, *c, *d;
	uint64_t reserved;

	(void)state;
	core_pool_init(&pool);
	a = core_pool_alloc(&pool, 24);
	c = core_pool_alloc(&pool, 16);
	assert_non_null(a);
	assert_non_null(c);
	reserved = pool.bytes_reserved;
	core_pool_free(&pool, a, 24);
	assert_int_equal(pool.bytes_in_use, 16);
	/* 24 and 32 share the 32-byte class: the freed block comes back. */
	b = core_pool_alloc(&pool, 32);
	assert_ptr_equal(b, a);
	/* Another class never hands out that block. */
	d = core_pool_alloc(&pool, 16);
	assert_ptr_not_equal(d, a);
	assert_ptr_not_equal(d, c);
	assert_int_equal(pool.bytes_reserved, reserved);
	assert_int_equal(pool.bytes_in_use, 32 + 16 + 16);
	core_pool_free(&pool, b, 32);
	core_pool_free(&pool, c, 16);
	core_pool_free(&pool, d, 16);
	assert_int_equal(pool.bytes_in_use, 0);
	core_pool_destroy(&pool);
}

static void test_pool_slab_refill_and_reuse(void **state)
{
	enum { N = 10000 };
	struct core_pool pool;
	void **p = calloc(N, sizeof(*p));
	uint64_t reserved;

	(void)state;
	assert_non_null(p);
	core_pool_init(&pool);
	for (size_t i = 0; i < N; i++) {
		p[i] = core_pool_alloc(&pool, 16);
		assert_non_null(p[i]);
	}
	assert_int_equal(pool.bytes_in_use, (uint64_t)N * 16);
	/* Several slabs, all of them full except possibly the last one. */
	assert_int_equal(pool.bytes_reserved % T_SLAB_BYTES, 0);
	assert_true(pool.bytes_reserved > T_SLAB_BYTES);
	assert_true(pool.bytes_reserved - pool.bytes_in_use < 2 * T_SLAB_BYTES);
	qsort(p, N, sizeof(*p), t_cmp_ptr);
	for (size_t i = 1; i < N; i++)
		assert_true((uintptr_t)p[i] - (uintptr_t)p[i - 1] >= 16);
	for (size_t i = 0; i < N; i++)
		core_pool_free(&pool, p[i], 16);
	assert_int_equal(pool.bytes_in_use, 0);
	reserved = pool.bytes_reserved;
	/* A warm pool serves the same load without new slabs. */
	for (size_t i = 0; i < N; i++)
		p[i] = core_pool_alloc(&pool, 9);
	assert_int_equal(pool.bytes_reserved, reserved);
	for (size_t i = 0; i < N; i++)
		core_pool_free(&pool, p[i], 9);
	core_pool_destroy(&pool);
	free(p);
}

static void test_pool_large_blocks(void **state)
{
	struct core_pool pool;
	unsigned char *a, *b;

	(void)state;
	core_pool_init(&pool);
	a = core_pool_alloc(&pool, 4097);
	assert_non_null(a);
	assert_int_equal(pool.bytes_in_use, 4097);
	assert_int_equal(pool.bytes_reserved, 4097);
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

static void test_pool_free_null_and_destroy_with_blocks(void **state)
{
	struct core_pool pool;
	void *p;

	(void)state;
	core_pool_init(&pool);
	core_pool_free(&pool, NULL, 64);
	assert_int_equal(pool.bytes_in_use, 0);
	assert_int_equal(pool.bytes_reserved, 0);
	/* Small blocks still held die with the pool (LeakSanitizer checks
	 * that the slabs are really freed). */
	for (int i = 0; i < 100; i++)
		assert_non_null(core_pool_alloc(&pool, (size_t)(i * 40 + 1)));
	assert_true(pool.bytes_in_use > 0);
	core_pool_destroy(&pool);
	assert_int_equal(pool.bytes_in_use, 0);
	assert_int_equal(pool.bytes_reserved, 0);
	assert_null(pool.slabs);
	/* Reusable after init. */
	core_pool_init(&pool);
	p = core_pool_alloc(&pool, 100);
	assert_non_null(p);
	core_pool_free(&pool, p, 100);
	core_pool_destroy(&pool);
}

static void test_pool_poisons_free_blocks(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	struct core_pool pool;
	char *p;

	(void)state;
	core_pool_init(&pool);
	p = core_pool_alloc(&pool, 48);
	assert_false(__asan_address_is_poisoned(p));
	assert_false(__asan_address_is_poisoned(p + 63));
	core_pool_free(&pool, p, 48);
	assert_true(__asan_address_is_poisoned(p));
	assert_true(__asan_address_is_poisoned(p + 63));
	core_pool_destroy(&pool);
#else
	(void)state;
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_size_classes),
		cmocka_unit_test(test_pool_reuse_same_class),
		cmocka_unit_test(test_pool_slab_refill_and_reuse),
		cmocka_unit_test(test_pool_large_blocks),
		cmocka_unit_test(test_pool_free_null_and_destroy_with_blocks),
		cmocka_unit_test(test_pool_poisons_free_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
