/* SPDX-License-Identifier: MIT */
/*
 * shard/idem.h: the per-shard idempotency table. Lookups on an empty table,
 * put/get, overwrite, expiry in seq order (an older FIFO entry for a key that
 * was re-put must not remove the newer one), growth past the first capacity,
 * FIFO wrap-around while growing, and a randomized run against a model (put,
 * expire, get) that exercises backward-shift deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shard/idem.h"
#include "t_helpers.h"

static void key_of(uint8_t k[16], uint64_t n)
{
	memset(k, 0, 16);
	for (int i = 0; i < 8; i++)
		k[i] = (uint8_t)(n >> (8 * i));
	k[15] = 0x5a;
}

static void test_idem_empty_and_basic(void **state)
{
	struct idem_table t;
	uint8_t a[16], b[16];

	(void)state;
	idem_init(&t);
	key_of(a, 1);
	key_of(b, 2);
	assert_int_equal(idem_get(&t, a), 0); /* no storage yet */
	idem_expire(&t, 100);                  /* nothing to expire */
	assert_int_equal(idem_put(&t, a, 5), 0);
	assert_int_equal(idem_get(&t, a), 5);
	assert_int_equal(idem_get(&t, b), 0);
	assert_int_equal(idem_put(&t, b, 6), 0);
	assert_int_equal(idem_get(&t, b), 6);
	/* expiry is inclusive of @upto and in seq order */
	idem_expire(&t, 4);
	assert_int_equal(idem_get(&t, a), 5);
	idem_expire(&t, 5);
	assert_int_equal(idem_get(&t, a), 0);
	assert_int_equal(idem_get(&t, b), 6);
	idem_expire(&t, 6);
	assert_int_equal(idem_get(&t, b), 0);
	/* reusable after it emptied */
	assert_int_equal(idem_put(&t, a, 9), 0);
	assert_int_equal(idem_get(&t, a), 9);
	idem_free(&t);
	assert_int_equal(idem_get(&t, a), 0);
	idem_free(&t); /* twice is harmless */
}

static void test_idem_reput_survives_old_expiry(void **state)
{
	struct idem_table t;
	uint8_t a[16];

	(void)state;
	idem_init(&t);
	key_of(a, 7);
	assert_int_equal(idem_put(&t, a, 3), 0);
	assert_int_equal(idem_put(&t, a, 10), 0);
	assert_int_equal(idem_get(&t, a), 10);
	idem_expire(&t, 3); /* the first record goes; the key was renewed at 10 */
	assert_int_equal(idem_get(&t, a), 10);
	idem_expire(&t, 9);
	assert_int_equal(idem_get(&t, a), 10);
	idem_expire(&t, 10);
	assert_int_equal(idem_get(&t, a), 0);
	idem_free(&t);
}

static void test_idem_grow_and_wrap(void **state)
{
	enum { N = 20000 };
	struct idem_table t;
	uint8_t k[16];

	(void)state;
	idem_init(&t);
	/* fill past several growths */
	for (uint64_t i = 0; i < N; i++) {
		key_of(k, i);
		assert_int_equal(idem_put(&t, k, i + 1), 0);
	}
	for (uint64_t i = 0; i < N; i++) {
		key_of(k, i);
		assert_int_equal(idem_get(&t, k), i + 1);
	}
	/* expire most, then keep putting so the FIFO head wraps around its
	 * buffer, and grow again while wrapped */
	idem_expire(&t, N - 100);
	for (uint64_t i = 0; i < N; i++) {
		key_of(k, i);
		assert_int_equal(idem_get(&t, k), i + 1 > N - 100 ? i + 1 : 0);
	}
	for (uint64_t i = N; i < 3 * N; i++) {
		key_of(k, i);
		assert_int_equal(idem_put(&t, k, i + 1), 0);
		if (i % 7 == 0)
			idem_expire(&t, i + 1 - 5000);
	}
	for (uint64_t i = 0; i < 3 * N; i++) {
		uint64_t got;

		key_of(k, i);
		got = idem_get(&t, k);
		/* keys applied after the last expiry bound are all still there */
		if (i + 1 > 3 * N - 4000)
			assert_int_equal(got, i + 1);
		else if (i + 1 <= 3 * N - 5008)
			assert_int_equal(got, 0);
		else
			assert_true(got == 0 || got == i + 1);
	}
	idem_free(&t);
}

/* Randomized, against a model: keys from a small space (so re-puts and
 * colliding probe runs are common), ascending seqs, expiries. */
static void test_idem_random_vs_model(void **state)
{
	enum { KEYS = 3000, OPS = 300000 };
	uint64_t seed = t_seed("idem_random");
	uint64_t *model = calloc(KEYS, sizeof(*model));
	struct idem_table t;
	uint64_t seq = 0, floor_seq = 0;
	uint8_t k[16];

	(void)state;
	assert_non_null(model);
	idem_init(&t);
	for (int op = 0; op < OPS; op++) {
		uint64_t r = t_rand(&seed), n = r % KEYS;

		if (r % 100 < 60) {
			key_of(k, n);
			assert_int_equal(idem_put(&t, k, ++seq), 0);
			model[n] = seq;
		} else if (r % 100 < 65) {
			floor_seq += (r >> 20) % 500;
			if (floor_seq > seq)
				floor_seq = seq;
			idem_expire(&t, floor_seq);
			for (uint64_t i = 0; i < KEYS; i++)
				if (model[i] <= floor_seq)
					model[i] = 0;
		} else {
			key_of(k, n);
			if (idem_get(&t, k) != model[n])
				fail_msg("op %d key %llu: got %llu want %llu", op,
					 (unsigned long long)n,
					 (unsigned long long)idem_get(&t, k),
					 (unsigned long long)model[n]);
		}
	}
	for (uint64_t i = 0; i < KEYS; i++) {
		key_of(k, i);
		assert_int_equal(idem_get(&t, k), model[i]);
	}
	idem_free(&t);
	free(model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idem_empty_and_basic),
		cmocka_unit_test(test_idem_reput_survives_old_expiry),
		cmocka_unit_test(test_idem_grow_and_wrap),
		cmocka_unit_test(test_idem_random_vs_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
