/* SPDX-License-Identifier: MIT */
/* core_hist: bucket bounds, the 1/8 width bound, quantiles against a sorted
 * reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/hist.h"

/* Lower bound of bucket @b: one past the upper bound of the one before. */
static uint64_t t_lower(uint32_t b)
{
	return b == 0 ? 0 : core_hist_upper(b - 1) + 1;
}

static void test_hist_buckets_cover_and_bound(void **state)
{
	(void)state;
	for (uint32_t b = 0; b + 1 < CORE_HIST_BUCKETS; b++) {
		uint64_t lo = t_lower(b), hi = core_hist_upper(b);

		assert_true(lo <= hi);
		assert_int_equal(core_hist_bucket(lo), b);
		assert_int_equal(core_hist_bucket(hi), b);
		assert_int_equal(core_hist_bucket(hi + 1), b + 1);
		/* Width at most 1/8 of the lower bound (exact below 16). */
		if (lo >= 16)
			assert_true((hi - lo + 1) * 8 <= lo);
		else
			assert_int_equal(hi, lo);
	}
	assert_int_equal(core_hist_bucket(UINT64_MAX), CORE_HIST_BUCKETS - 1);
	assert_int_equal(core_hist_bucket(1ull << 41), CORE_HIST_BUCKETS - 1);
	assert_int_equal(core_hist_bucket((1ull << 41) - 1), CORE_HIST_BUCKETS - 1);
	assert_int_equal(core_hist_bucket(0), 0);
	assert_int_equal(core_hist_bucket(1000), core_hist_bucket(1023));
	assert_true(core_hist_bucket(1000) != core_hist_bucket(1024));
}

static int t_u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_hist_quantiles_match_reference(void **state)
{
	enum { N = 20000 };
	static uint64_t h[CORE_HIST_BUCKETS], v[N];
	static const uint32_t ppm[] = { 1, 500000, 990000, 999000, 1000000 };
	uint64_t seed = 12345, max = 0;

	(void)state;
	memset(h, 0, sizeof(h));
	assert_int_equal(core_hist_quantile(h, 0, 500000, 0), 0);
	for (uint32_t i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* log-uniform over 2^4 .. 2^34 ns */
		v[i] = (1ull << (4 + (seed >> 59) % 30)) + ((seed >> 20) & 0xfffff);
		core_hist_add_owner(h, v[i]);
		max = v[i] > max ? v[i] : max;
	}
	qsort(v, N, sizeof(v[0]), t_u64cmp);
	for (uint32_t k = 0; k < sizeof(ppm) / sizeof(ppm[0]); k++) {
		uint64_t rank = ((uint64_t)N * ppm[k] + 999999u) / 1000000u;
		uint64_t want = v[(rank ? rank : 1) - 1];
		uint64_t got = core_hist_quantile(h, N, ppm[k], max);

		/* Never below the true value, at most one bucket (1/8) above. */
		assert_true(got >= want);
		assert_true(got <= want + want / 8 + 1);
	}
	assert_int_equal(core_hist_quantile(h, N, 1000000, max), max);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets_cover_and_bound),
		cmocka_unit_test(test_hist_quantiles_match_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
