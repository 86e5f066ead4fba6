/* SPDX-License-Identifier: MIT */
/*
 * txn_cas_test - compare-and-swap and sharded counters (reference §5.9,
 * §5.10), at 1/2/4/8 shards.
 *
 * aedb_kv_compare_and_swap: version 0 for an absent (or deleted) key; a stale
 * version fails with -AEDB_EASSERT and writes nothing; threads incrementing
 * one value by CAS lose no update. aedb_counter_add/aedb_counter_read: the
 * reference example (32 adds over 8 stripes -> 32; 32 more -> 64, the old
 * snapshot still 32), stripe limits, the stripe key layout, overflow, a
 * stripe of the wrong width, and concurrent adders.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

static uint64_t version_of(struct aedb *db, const char *key)
{
	struct aedb_kv_item *it = NULL;
	uint64_t v;
	int rc = aedb_kv_get(db, T_P, T_S, key, strlen(key), AEDB_LATEST, &it);

	if (rc == -AEDB_ENOTFOUND)
		return 0;
	t_assert_rc(rc, 0);
	v = it->entry.version;
	aedb_kv_item_free(it);
	return v;
}

/* ---- compare and swap ---- */

static void test_txn_cas_basic(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		uint64_t v1, v0;

		/* absent: version 0 */
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "one", 3, 0,
						     AEDB_FINALITY_VISIBLE, &res), 0);
		v1 = res.seq;
		t_expect(db, "k", 1, "one", 3, v1, AEDB_LATEST);
		/* absent expected, but present now: fails, nothing written */
		v0 = aedb_visible_seq(db);
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "two", 3, 0,
						     AEDB_FINALITY_VISIBLE, &res), -AEDB_EASSERT);
		assert_int_equal(res.fail_kind, AEDB_FAIL_ASSERTION);
		assert_int_equal(res.failed_index, 0);
		assert_int_equal(aedb_visible_seq(db), v0);
		t_expect(db, "k", 1, "one", 3, v1, AEDB_LATEST);
		/* stale, and from the future: fail */
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "two", 3, v1 - 1,
						     AEDB_FINALITY_VISIBLE, &res), -AEDB_EASSERT);
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "two", 3, v1 + 1,
						     AEDB_FINALITY_VISIBLE, &res), -AEDB_EASSERT);
		t_expect(db, "k", 1, "one", 3, v1, AEDB_LATEST);
		/* current: swaps, durable too */
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "two", 3, v1,
						     AEDB_FINALITY_DURABLE, &res), 0);
		assert_true(res.durable_seq >= res.seq);
		t_expect(db, "k", 1, "two", 3, res.seq, AEDB_LATEST);
		/* the old version again: stale now */
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "three", 5, v1,
						     AEDB_FINALITY_VISIBLE, &res), -AEDB_EASSERT);
		/* deleted: version 0 again */
		t_del(db, "k", 1);
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "four", 4,
						     version_of(db, "k"),
						     AEDB_FINALITY_VISIBLE, &res), 0);
		t_expects(db, "k", "four");
		/* an empty value, an empty key */
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "", 0, "", 0, 0,
						     AEDB_FINALITY_VISIBLE, &res), 0);
		t_expect(db, "", 0, "", 0, res.seq, AEDB_LATEST);
		/* bad input */
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, NULL, 1, "x", 1, 0,
						     AEDB_FINALITY_VISIBLE, &res), -AEDB_EMISUSE);
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, "nope", "x", 1, "x", 1, 0,
						     AEDB_FINALITY_VISIBLE, &res), -AEDB_ENOSCOPE);
		t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "x", 1, "x", 1, 0, 9, &res),
			    -AEDB_EINVAL);
		t_expects(db, "x", NULL);
		t_close(db);
	}
}

#define CAS_THREADS 6
#define CAS_INCS 150

struct cas_arg {
	struct aedb *db;
	uint32_t tid;
	uint64_t wins, losses;
};

/* Read value and version, write value + 1 guarded by the version. */
static void *cas_main(void *p)
{
	struct cas_arg *a = p;

	while (a->wins < CAS_INCS) {
		struct aedb_kv_item *it = NULL;
		uint64_t ver, v = 0;
		char buf[24];
		int rc = aedb_kv_get(a->db, T_P, T_S, "cnt", 3, AEDB_LATEST, &it);

		T_CHECK(rc == 0, "get: %s", aedb_strerror(rc));
		if (rc)
			return NULL;
		ver = it->entry.version;
		memcpy(buf, it->entry.val, it->entry.val_len < 23 ? it->entry.val_len : 23);
		buf[it->entry.val_len < 23 ? it->entry.val_len : 23] = 0;
		aedb_kv_item_free(it);
		v = strtoull(buf, NULL, 10);
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(v + 1));
		rc = aedb_kv_compare_and_swap(a->db, T_P, T_S, "cnt", 3, buf, strlen(buf), ver,
					      AEDB_FINALITY_VISIBLE, NULL);
		if (rc == 0)
			a->wins++;
		else if (rc == -AEDB_EASSERT)
			a->losses++;
		else
			T_CHECK(0, "cas: %s", aedb_strerror(rc));
		if (rc != 0 && rc != -AEDB_EASSERT)
			return NULL;
	}
	return NULL;
}

static void test_txn_cas_no_lost_update(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct cas_arg a[CAS_THREADS];
		pthread_t th[CAS_THREADS];
		uint64_t losses = 0;
		char want[24];

		t_sets(db, "cnt", "0");
		for (uint32_t i = 0; i < CAS_THREADS; i++) {
			a[i] = (struct cas_arg){ .db = db, .tid = i };
			assert_int_equal(pthread_create(&th[i], NULL, cas_main, &a[i]), 0);
		}
		for (uint32_t i = 0; i < CAS_THREADS; i++) {
			pthread_join(th[i], NULL);
			losses += a[i].losses;
		}
		assert_int_equal(t_thread_failed(), 0);
		snprintf(want, sizeof(want), "%u", CAS_THREADS * CAS_INCS);
		t_expects(db, "cnt", want);
		fprintf(stderr, "  %u shards: %u CAS increments, %llu stale retries\n",
			t_shard_counts[si], CAS_THREADS * CAS_INCS, (unsigned long long)losses);
		t_close(db);
	}
}

/* ---- sharded counters ---- */

static void stripe_key(uint8_t *out, size_t *len, const char *key, uint32_t stripe)
{
	static const char prefix[] = "__aedb_counter_shard__";
	size_t kl = strlen(key), p = sizeof(prefix) - 1;

	memcpy(out, prefix, p);
	out[p] = (uint8_t)(kl >> 24);
	out[p + 1] = (uint8_t)(kl >> 16);
	out[p + 2] = (uint8_t)(kl >> 8);
	out[p + 3] = (uint8_t)kl;
	memcpy(out + p + 4, key, kl);
	out[p + 4 + kl] = (uint8_t)(stripe >> 8);
	out[p + 5 + kl] = (uint8_t)stripe;
	*len = p + 6 + kl;
}

/* Reference §5.10 example. */
static void test_txn_counter_reference_example(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		uint64_t sum = 0, mid;

		for (uint32_t h = 0; h < 32; h++)
			t_assert_rc(aedb_counter_add(db, T_P, T_S, "hits", 4, 1, 8, h,
						     AEDB_FINALITY_VISIBLE, &res), 0);
		mid = res.seq;
		t_assert_rc(aedb_counter_read(db, T_P, T_S, "hits", 4, 8, AEDB_SEQ(mid), &sum), 0);
		assert_int_equal(sum, 32);
		for (uint32_t h = 0; h < 32; h++)
			t_assert_rc(aedb_counter_add(db, T_P, T_S, "hits", 4, 1, 8, h,
						     AEDB_FINALITY_VISIBLE, &res), 0);
		t_assert_rc(aedb_counter_read(db, T_P, T_S, "hits", 4, 8, AEDB_LATEST, &sum), 0);
		assert_int_equal(sum, 64);
		t_assert_rc(aedb_counter_read(db, T_P, T_S, "hits", 4, 8, AEDB_SEQ(mid), &sum), 0);
		assert_int_equal(sum, 32);
		/* each stripe got 8: 64 adds with hints 0..31 twice, mod 8 */
		for (uint32_t s = 0; s < 8; s++) {
			uint8_t k[64], v[8] = { 0, 0, 0, 0, 0, 0, 0, 8 };
			size_t kl;

			stripe_key(k, &kl, "hits", s);
			t_expect(db, k, kl, v, 8, 0, AEDB_LATEST);
		}
		/* fewer stripes read than written: misses some */
		t_assert_rc(aedb_counter_read(db, T_P, T_S, "hits", 4, 4, AEDB_LATEST, &sum), 0);
		assert_int_equal(sum, 32);
		/* a counter never added: 0 */
		t_assert_rc(aedb_counter_read(db, T_P, T_S, "none", 4, 8, AEDB_LATEST, &sum), 0);
		assert_int_equal(sum, 0);
		t_close(db);
	}
}

static void test_txn_counter_limits(void **state)
{
	struct aedb *db = t_open_p(4, NULL);
	struct aedb_commit_result res;
	struct aedb_kv_page *pg = NULL;
	struct aedb_txn *t;
	uint64_t sum = 7, v0;
	uint8_t k[64];
	size_t kl;

	(void)state;
	v0 = aedb_visible_seq(db);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "c", 1, 1, 0, 0, AEDB_FINALITY_VISIBLE, &res),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "c", 1, 1, 4097, 0, AEDB_FINALITY_VISIBLE,
				     &res), -AEDB_EINVAL);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "c", 1, 0, AEDB_LATEST, &sum), -AEDB_EINVAL);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "c", 1, 4097, AEDB_LATEST, &sum),
		    -AEDB_EINVAL);
	assert_int_equal(sum, 7);
	assert_int_equal(aedb_visible_seq(db), v0);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	t_assert_rc(aedb_txn_counter_add(t, T_P, T_S, "c", 1, 1, 0, 0), -AEDB_EINVAL);
	t_assert_rc(aedb_txn_counter_add(t, T_P, T_S, "c", 1, 1, 4097, 0), -AEDB_EINVAL);
	assert_int_equal(aedb_txn_mutation_count(t), 0);
	/* 4096 stripes, a hint past them wraps (4096 + 4095 -> stripe 4095) */
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "c", 1, 5, 4096, 4096 + 4095,
				     AEDB_FINALITY_VISIBLE, &res), 0);
	stripe_key(k, &kl, "c", 4095);
	t_expect(db, k, kl, "\0\0\0\0\0\0\0\5", 8, res.seq, AEDB_LATEST);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "c", 1, 4096, AEDB_LATEST, &sum), 0);
	assert_int_equal(sum, 5);
	/* stripes are ordinary KV keys, visible to scans */
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "__aedb_counter_shard__", 22, 10, NULL,
					AEDB_LATEST, &pg), 1);
	assert_int_equal(pg->entries[0].key_len, kl);
	assert_memory_equal(pg->entries[0].key, k, kl);
	aedb_kv_page_free(pg);
	/* one stripe overflows: -AEDB_EOVERFLOW, nothing written */
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "o", 1, UINT64_MAX, 2, 0,
				     AEDB_FINALITY_VISIBLE, &res), 0);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "o", 1, 1, 2, 0, AEDB_FINALITY_VISIBLE,
				     &res), -AEDB_EOVERFLOW);
	/* the sum of stripes overflows on read */
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "o", 1, 1, 2, 1, AEDB_FINALITY_VISIBLE,
				     &res), 0);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "o", 1, 2, AEDB_LATEST, &sum), -AEDB_EOVERFLOW);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "o", 1, 1, AEDB_LATEST, &sum), 0);
	assert_int_equal(sum, UINT64_MAX);
	/* a stripe that is not 8 bytes: read and add fail with -AEDB_ETYPE */
	stripe_key(k, &kl, "w", 1);
	t_set(db, k, kl, "abc", 3);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "w", 1, 4, AEDB_LATEST, &sum), -AEDB_ETYPE);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "w", 1, 1, 4, 1, AEDB_FINALITY_VISIBLE, &res),
		    -AEDB_ETYPE);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "w", 1, 1, 4, 2, AEDB_FINALITY_VISIBLE, &res),
		    0);
	/* counters in a transaction, with other writes: one seq */
	aedb_txn_reset(t);
	t_assert_rc(aedb_txn_counter_add(t, T_P, T_S, "tx", 2, 3, 16, 1), 0);
	t_assert_rc(aedb_txn_counter_add(t, T_P, T_S, "tx", 2, 4, 16, 2), 1);
	t_assert_rc(aedb_txn_counter_add(t, T_P, T_S, "tx", 2, 5, 16, 17), 2);
	aedb_txn_kv_set(t, T_P, T_S, "side", 4, "s", 1);
	t_assert_rc(aedb_commit(db, t, &res), 0);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "tx", 2, 16, AEDB_SEQ(res.seq), &sum), 0);
	assert_int_equal(sum, 12);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "tx", 2, 16, AEDB_SEQ(res.seq - 1), &sum), 0);
	assert_int_equal(sum, 0);
	/* bad input */
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "c", 1, 8, AEDB_LATEST, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, NULL, 1, 8, AEDB_LATEST, &sum),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_counter_read(NULL, T_P, T_S, "c", 1, 8, AEDB_LATEST, &sum),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_counter_read(db, T_P, "nope", "c", 1, 8, AEDB_LATEST, &sum),
		    -AEDB_ENOSCOPE);
	t_assert_rc(aedb_counter_read(db, "nope", T_S, "c", 1, 8, AEDB_LATEST, &sum),
		    -AEDB_ENOPROJECT);
	t_assert_rc(aedb_counter_read(db, T_P, T_S, "c", 1, 8, AEDB_SEQ(UINT64_MAX / 2), &sum),
		    -AEDB_ESEQFUTURE);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, NULL, 1, 1, 8, 0, AEDB_FINALITY_VISIBLE,
				     &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_counter_add(NULL, T_P, T_S, "c", 1, 1, 8, 0, AEDB_FINALITY_VISIBLE,
				     &res), -AEDB_EMISUSE);
	aedb_txn_free(t);
	t_close(db);
}

#define CTR_THREADS 6
#define CTR_ADDS 400

struct ctr_arg {
	struct aedb *db;
	uint32_t tid;
};

static void *ctr_main(void *p)
{
	struct ctr_arg *a = p;

	for (uint32_t i = 0; i < CTR_ADDS; i++) {
		int rc = aedb_counter_add(a->db, T_P, T_S, "par", 3, a->tid + 1, 16,
					  a->tid * 7 + i, AEDB_FINALITY_VISIBLE, NULL);

		T_CHECK(rc == 0, "counter_add: %s", aedb_strerror(rc));
	}
	return NULL;
}

static void test_txn_counter_concurrent(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct ctr_arg a[CTR_THREADS];
		pthread_t th[CTR_THREADS];
		uint64_t sum = 0, want = 0, prev = 0;

		for (uint32_t i = 0; i < CTR_THREADS; i++) {
			a[i] = (struct ctr_arg){ db, i };
			want += (uint64_t)(i + 1) * CTR_ADDS;
			assert_int_equal(pthread_create(&th[i], NULL, ctr_main, &a[i]), 0);
		}
		/* reads while they run never go backwards */
		for (int r = 0; r < 200; r++) {
			t_assert_rc(aedb_counter_read(db, T_P, T_S, "par", 3, 16, AEDB_LATEST,
						      &sum), 0);
			assert_true(sum >= prev && sum <= want);
			prev = sum;
		}
		for (uint32_t i = 0; i < CTR_THREADS; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		t_assert_rc(aedb_counter_read(db, T_P, T_S, "par", 3, 16, AEDB_LATEST, &sum), 0);
		assert_int_equal(sum, want);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_cas_basic),
		cmocka_unit_test(test_txn_cas_no_lost_update),
		cmocka_unit_test(test_txn_counter_reference_example),
		cmocka_unit_test(test_txn_counter_limits),
		cmocka_unit_test(test_txn_counter_concurrent),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
