/* SPDX-License-Identifier: MIT */
/*
 * watermark: seq allocation and the visible watermark. The concurrent test
 * has shard threads allocate blocks, mark each seq applied, then publish;
 * a checker thread asserts that every seq <= V is marked, and that V never
 * goes backwards.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "shard/watermark.h"
#include "t_helpers.h"

#define WM_SHARDS 4
#define WM_ROUNDS 20000
#define WM_MAX_SEQ (WM_SHARDS * WM_ROUNDS * 8 + 16)

static struct watermark wm_g;
static uint8_t wm_applied[WM_MAX_SEQ];
static uint32_t wm_done;
static uint64_t wm_seed;

static void *wm_shard(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	uint64_t rng = wm_seed + id;

	for (int r = 0; r < WM_ROUNDS; r++) {
		uint32_t k = (uint32_t)(t_rand(&rng) % 8) + 1;
		uint64_t base = wm_alloc(&wm_g, id, k);

		for (uint32_t j = 0; j < k; j++)
			__atomic_store_n(&wm_applied[base + j], 1, __ATOMIC_RELEASE);
		wm_publish(&wm_g, id, UINT64_MAX);
	}
	__atomic_fetch_add(&wm_done, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

static void *wm_checker(void *arg)
{
	uint64_t last = 0, checked = 0;

	(void)arg;
	while (__atomic_load_n(&wm_done, __ATOMIC_ACQUIRE) < WM_SHARDS) {
		uint64_t v = wm_visible_any(&wm_g);

		assert_true(v >= last);
		for (; checked < v; checked++)
			assert_int_equal(__atomic_load_n(&wm_applied[checked + 1],
							 __ATOMIC_ACQUIRE), 1);
		last = v;
	}
	return NULL;
}

static void test_watermark_visible_is_applied_prefix(void **state)
{
	pthread_t th[WM_SHARDS], chk;

	(void)state;
	wm_seed = t_seed("watermark");
	wm_init(&wm_g, WM_SHARDS);
	assert_int_equal(wm_visible_any(&wm_g), 0);
	pthread_create(&chk, NULL, wm_checker, NULL);
	for (uintptr_t i = 0; i < WM_SHARDS; i++)
		pthread_create(&th[i], NULL, wm_shard, (void *)i);
	for (int i = 0; i < WM_SHARDS; i++)
		pthread_join(th[i], NULL);
	pthread_join(chk, NULL);
	/* Everything published: V is the last allocated seq. */
	assert_int_equal(wm_visible_any(&wm_g), wm_g.next_seq - 1);
	for (uint64_t s = 1; s < wm_g.next_seq; s++)
		assert_int_equal(wm_applied[s], 1);
}

static void test_watermark_held_round_blocks_v(void **state)
{
	struct watermark wm;
	uint64_t a, b;

	(void)state;
	wm_init(&wm, 2);
	a = wm_alloc(&wm, 0, 3);           /* shard 0 holds 1..3 */
	b = wm_alloc(&wm, 1, 2);           /* shard 1 holds 4..5 */
	assert_int_equal(a, 1);
	assert_int_equal(b, 4);
	assert_int_equal(wm_publish(&wm, 1, UINT64_MAX), 0); /* 1..3 not applied yet */
	assert_int_equal(wm_publish(&wm, 0, UINT64_MAX), 5);
	assert_int_equal(wm_raise_floor(&wm, 3), 3);
	assert_int_equal(wm_raise_floor(&wm, 2), 3);   /* never lowers */
	assert_int_equal(wm_raise_floor(&wm, 99), 5);  /* never past V */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watermark_held_round_blocks_v),
		cmocka_unit_test(test_watermark_visible_is_applied_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
