/* SPDX-License-Identifier: MIT */
/*
 * txn_atomic_test - all-or-nothing across shards, at 1/2/4/8 shards.
 *
 * A transaction whose failing entry lives on another shard than its writes
 * leaves nothing anywhere (values, versions, visible seq), and the error
 * names the failing entry; every failure type is tried at the start, middle
 * and end. Mixed sets, numeric ops and deletes publish at one seq and become
 * visible together (nothing of them at seq - 1). 5,000 mutations across
 * shards in one transaction, applied or (one bad entry) not at all. Several
 * mutations of one key in one transaction see the earlier ones' effects, while
 * assertions see the state before the transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

/* ---- helpers ---- */

static void ben(uint8_t *out, uint32_t w, uint64_t v)
{
	memset(out, 0, w);
	for (uint32_t i = 0; i < 8; i++)
		out[w - 1 - i] = (uint8_t)(v >> (8 * i));
}

struct kvs {
	int present;
	uint32_t len;
	uint8_t val[64];
	uint64_t version, created;
};

static struct kvs st_get(struct aedb *db, const void *key, size_t klen)
{
	struct aedb_kv_item *it = NULL;
	struct kvs s;
	int rc = aedb_kv_get(db, T_P, T_S, key, klen, AEDB_LATEST, &it);

	memset(&s, 0, sizeof(s));
	if (rc == -AEDB_ENOTFOUND)
		return s;
	t_assert_rc(rc, 0);
	s.present = 1;
	s.len = it->entry.val_len;
	assert_true(s.len <= sizeof(s.val));
	memcpy(s.val, it->entry.val, s.len);
	s.version = it->entry.version;
	s.created = it->entry.created_seq;
	aedb_kv_item_free(it);
	return s;
}

static int kvs_same(const struct kvs *a, const struct kvs *b)
{
	return a->present == b->present && a->len == b->len && a->version == b->version &&
	       a->created == b->created && memcmp(a->val, b->val, a->len) == 0;
}

#define KM_SHARDS 8
#define KM_PER 7
struct kmap {
	uint32_t n;
	char k[KM_SHARDS][KM_PER][24];
};

/* Shards a failing commit of [set a] + [assert b version 2^64-1] touches. */
static uint32_t probe_pair(struct aedb *db, const char *a, const char *b)
{
	struct aedb_commit_result res;
	struct aedb_txn *t;

	t_assert_rc(aedb_txn_create(db, &t), 0);
	assert_true(aedb_txn_kv_set(t, T_P, T_S, a, strlen(a), "p", 1) >= 0);
	assert_true(aedb_txn_assert_version(t, T_P, T_S, b, strlen(b), UINT64_MAX) >= 0);
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EASSERT);
	aedb_txn_free(t);
	assert_true(res.shards == 1 || res.shards == 2);
	return res.shards;
}

/* KM_PER keys per shard, grouped by owning shard, named prefix<i>. */
static void kmap_fill(struct aedb *db, struct kmap *m, uint32_t nshards, const char *prefix)
{
	uint32_t have[KM_SHARDS] = { 0 }, groups = 0, full = 0;

	m->n = nshards;
	for (uint32_t i = 0; full < nshards && i < 100000; i++) {
		char cand[24];
		uint32_t g;

		snprintf(cand, sizeof(cand), "%s%u", prefix, i);
		for (g = 0; g < groups; g++)
			if (probe_pair(db, m->k[g][0], cand) == 1)
				break;
		if (g == groups) {
			assert_true(groups < nshards);
			groups++;
		}
		if (have[g] < KM_PER) {
			strcpy(m->k[g][have[g]++], cand);
			if (have[g] == KM_PER)
				full++;
		}
	}
	assert_int_equal(full, nshards);
}

/* ---- a failing entry on another shard than the writes ---- */

enum { F_UNDERFLOW, F_OVERFLOW, F_NOTFOUND, F_TYPE, F_EXPECT, F_ASSERT, F_READ, F_N };

static const int f_err[F_N] = { -AEDB_EUNDERFLOW, -AEDB_EOVERFLOW, -AEDB_ENOTFOUND,
				-AEDB_ETYPE, -AEDB_EASSERT, -AEDB_EASSERT, -AEDB_ECONFLICT };

/* Add the failing entry of type @f on key @k (the caller set it up: a u64 5,
 * 3 bytes for F_TYPE, absent for F_NOTFOUND). Returns its index in its
 * class. */
static int add_failing(struct aedb_txn *t, int f, const char *k, uint64_t kver)
{
	uint8_t v[8];

	switch (f) {
	case F_UNDERFLOW:
		ben(v, 8, 6);
		return aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), 8, AEDB_NUM_SUB, v, 0, 0);
	case F_OVERFLOW:
		memset(v, 0xff, 8);
		return aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), 8, AEDB_NUM_ADD, v, 0, 0);
	case F_NOTFOUND:
		ben(v, 8, 1);
		return aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), 8, AEDB_NUM_ADD, v,
				       AEDB_NUM_MISSING_REJECT, 0);
	case F_TYPE:
		ben(v, 8, 1);
		return aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), 8, AEDB_NUM_ADD, v, 0, 0);
	case F_EXPECT:
		ben(v, 8, 1);
		return aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), 8, AEDB_NUM_ADD, v,
				       AEDB_NUM_EXPECT_VERSION, kver - 1);
	case F_ASSERT:
		return aedb_txn_assert_version(t, T_P, T_S, k, strlen(k), kver + 1);
	default:
		return aedb_txn_read(t, T_P, T_S, k, strlen(k), kver - 1);
	}
}

static const uint32_t f_kind[F_N] = { AEDB_FAIL_MUTATION, AEDB_FAIL_MUTATION,
				      AEDB_FAIL_MUTATION, AEDB_FAIL_MUTATION,
				      AEDB_FAIL_MUTATION, AEDB_FAIL_ASSERTION, AEDB_FAIL_READ };

/*
 * Writes on every group but @fg (all of them with one shard) in three steps
 * - sets, numeric adds, adds and deletes - with the failing entry of type @f
 * on @fk inserted before step @pos. Returns the failing entry's index.
 */
static int build_elsewhere(struct aedb *db, struct aedb_txn *t, const struct kmap *m, int f,
			   int pos, uint32_t fg, const char *fk)
{
	int idx = -1;
	uint8_t v[8];

	ben(v, 8, 7);
	for (int step = 0; step < 3; step++) {
		if (step == pos)
			idx = add_failing(t, f, fk, st_get(db, fk, strlen(fk)).version);
		for (uint32_t g = 0; g < m->n; g++) {
			const char *k = m->k[g][step];

			if (g == fg && m->n > 1)
				continue;
			if (step == 0)
				aedb_txn_kv_set(t, T_P, T_S, k, strlen(k), "new", 3);
			else
				aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), 8, AEDB_NUM_ADD, v, 0,
						0);
			if (step == 2)
				aedb_txn_kv_del(t, T_P, T_S, m->k[g][3], strlen(m->k[g][3]));
		}
	}
	return idx;
}

/* One attempt: failure @f before step @pos on the last group's shard; the
 * commit fails naming it, and nothing changed anywhere. */
static void elsewhere_once(struct aedb *db, const struct kmap *m, struct kvs before[][6], int f,
			   int pos)
{
	uint32_t n = m->n, fg = n - 1;
	const char *fk = m->k[fg][f == F_TYPE ? 5 : f == F_NOTFOUND ? 6 : 4];
	struct aedb_commit_result res;
	uint64_t v0 = aedb_visible_seq(db);
	struct aedb_txn *t;
	int idx, rc;

	t_assert_rc(aedb_txn_create(db, &t), 0);
	idx = build_elsewhere(db, t, m, f, pos, fg, fk);
	assert_true(idx >= 0);
	rc = aedb_commit(db, t, &res);
	if (rc != f_err[f] || res.fail_kind != f_kind[f] || res.failed_index != idx)
		fail_msg("%u shards, failure %d at step %d: rc %d (%s) kind %u index %d, want "
			 "%d kind %u index %d", n, f, pos, rc, aedb_strerror(rc), res.fail_kind,
			 res.failed_index, f_err[f], f_kind[f], idx);
	assert_int_equal(res.seq, 0);
	assert_int_equal(aedb_visible_seq(db), v0);
	for (uint32_t g = 0; g < n * 6; g++) {
		const char *k = m->k[g / 6][g % 6];
		struct kvs now = st_get(db, k, strlen(k));

		if (!kvs_same(&now, &before[g / 6][g % 6]))
			fail_msg("%u shards, failure %d: %s changed", n, f, k);
	}
	t_expects(db, m->k[fg][6], NULL);
	aedb_txn_free(t);
}

static void test_txn_atomic_failure_elsewhere(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);
		struct kvs before[KM_SHARDS][6];
		struct kmap m;
		uint8_t v[8];

		kmap_fill(db, &m, n, "a");
		/* group g: keys 0..2 written by the txn, key 3 deleted by it,
		 * key 4 (u64 5), 5 (3 bytes) and 6 (absent) for the failing
		 * entry */
		ben(v, 8, 5);
		for (uint32_t g = 0; g < n; g++) {
			for (uint32_t j = 0; j < 5; j++)
				t_set(db, m.k[g][j], strlen(m.k[g][j]), v, 8);
			t_set(db, m.k[g][5], strlen(m.k[g][5]), "abc", 3);
		}
		for (uint32_t g = 0; g < n; g++)
			for (uint32_t j = 0; j < 6; j++)
				before[g][j] = st_get(db, m.k[g][j], strlen(m.k[g][j]));
		for (int f = 0; f < F_N; f++)
			for (int pos = 0; pos < 3; pos++)
				elsewhere_once(db, &m, before, f, pos);
		t_close(db);
	}
}

/* ---- mixed writes publish together ---- */

static void test_txn_atomic_mixed_one_seq(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);
		struct aedb_commit_result res;
		struct aedb_kv_batch *b = NULL;
		struct aedb_key keys[KM_SHARDS * 3];
		struct aedb_txn *t;
		struct kmap m;
		uint32_t nk = 0;
		uint8_t v[32];

		kmap_fill(db, &m, n, "m");
		for (uint32_t g = 0; g < n; g++) {
			t_sets(db, m.k[g][2], "to-delete");
			ben(v, 32, 40);
			t_set(db, m.k[g][1], strlen(m.k[g][1]), v, 32);
		}
		t_assert_rc(aedb_txn_create(db, &t), 0);
		for (uint32_t g = 0; g < n; g++) {
			ben(v, 32, 2);
			aedb_txn_kv_set(t, T_P, T_S, m.k[g][0], strlen(m.k[g][0]), "set", 3);
			aedb_txn_kv_num(t, T_P, T_S, m.k[g][1], strlen(m.k[g][1]), 32,
					AEDB_NUM_SUB, v, 0, 0);
			aedb_txn_kv_del(t, T_P, T_S, m.k[g][2], strlen(m.k[g][2]));
			for (uint32_t j = 0; j < 3; j++)
				keys[nk++] = (struct aedb_key){ m.k[g][j],
								(uint32_t)strlen(m.k[g][j]) };
		}
		aedb_txn_kv_del(t, T_P, T_S, "never-existed", 13);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		assert_int_equal(res.shards, n);
		assert_int_equal(res.outcome, AEDB_COMMIT_APPLIED);
		assert_int_equal(res.fail_kind, AEDB_FAIL_NONE);
		assert_int_equal(res.failed_index, -1);
		/* at seq: all of it */
		t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, nk, AEDB_SEQ(res.seq), &b),
			    (int)(2 * n));
		for (uint32_t g = 0; g < n; g++) {
			const struct aedb_kv_entry *e = &b->entries[3 * g];

			assert_int_equal(e[0].version, res.seq);
			assert_int_equal(e[0].created_seq, res.seq);
			assert_memory_equal(e[0].val, "set", 3);
			assert_int_equal(e[1].version, res.seq);
			ben(v, 32, 38);
			assert_int_equal(e[1].val_len, 32);
			assert_memory_equal(e[1].val, v, 32);
			assert_null(e[2].key);
		}
		aedb_kv_batch_free(b);
		/* at seq - 1: none of it */
		t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, nk, AEDB_SEQ(res.seq - 1), &b),
			    (int)(2 * n));
		for (uint32_t g = 0; g < n; g++) {
			const struct aedb_kv_entry *e = &b->entries[3 * g];

			assert_null(e[0].key);
			assert_true(e[1].version < res.seq);
			assert_true(e[2].version < res.seq);
			assert_memory_equal(e[2].val, "to-delete", 9);
		}
		aedb_kv_batch_free(b);
		aedb_txn_free(t);
		t_close(db);
	}
}

/* ---- 5,000 mutations in one transaction ---- */

#define BIG_N 5000

static void test_txn_atomic_many_mutations(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);
		struct aedb_commit_result res;
		struct aedb_kv_page *pg = NULL;
		struct aedb_kv_cursor cur;
		struct aedb_txn *t;
		uint32_t seen = 0;
		uint64_t v0;
		uint8_t v[8];
		int more = 1;

		t_assert_rc(aedb_txn_create(db, &t), 0);
		/* first with a bad entry at the very end: nothing */
		for (uint32_t i = 0; i < BIG_N; i++) {
			char k[16], val[16];

			snprintf(k, sizeof(k), "big%05u", i);
			snprintf(val, sizeof(val), "v%u", i);
			assert_int_equal(aedb_txn_kv_set(t, T_P, T_S, k, strlen(k), val,
							 strlen(val)), (int)i);
		}
		ben(v, 8, 1);
		assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, "nothing", 7, 8, AEDB_NUM_SUB, v,
						 0, 0), BIG_N);
		v0 = aedb_visible_seq(db);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EUNDERFLOW);
		assert_int_equal(res.failed_index, BIG_N);
		assert_int_equal(res.shards, n);
		assert_int_equal(aedb_visible_seq(db), v0);
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "big", 3, 10, NULL, AEDB_LATEST,
						&pg), 0);
		aedb_kv_page_free(pg);
		pg = NULL;
		/* then the same, applicable */
		aedb_txn_reset(t);
		for (uint32_t i = 0; i < BIG_N; i++) {
			char k[16], val[16];

			snprintf(k, sizeof(k), "big%05u", i);
			snprintf(val, sizeof(val), "v%u", i);
			aedb_txn_kv_set(t, T_P, T_S, k, strlen(k), val, strlen(val));
		}
		assert_int_equal(aedb_txn_mutation_count(t), BIG_N);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		assert_int_equal(res.shards, n);
		while (more) {
			struct aedb_kv_page *next = NULL;
			int rc = aedb_kv_scan_prefix(db, T_P, T_S, "big", 3, 1000,
						     pg ? &cur : NULL, AEDB_LATEST, &next);

			assert_true(rc >= 0);
			for (uint32_t j = 0; j < next->count; j++) {
				char k[16], val[16];

				snprintf(k, sizeof(k), "big%05u", seen);
				snprintf(val, sizeof(val), "v%u", seen);
				assert_int_equal(next->entries[j].key_len, strlen(k));
				assert_memory_equal(next->entries[j].key, k, strlen(k));
				assert_int_equal(next->entries[j].val_len, strlen(val));
				assert_memory_equal(next->entries[j].val, val, strlen(val));
				assert_int_equal(next->entries[j].version, res.seq);
				seen++;
			}
			more = next->truncated;
			aedb_kv_page_free(pg);
			pg = next;
			cur = pg->cursor;
		}
		aedb_kv_page_free(pg);
		assert_int_equal(seen, BIG_N);
		/* and all of them deleted in one more */
		aedb_txn_reset(t);
		for (uint32_t i = 0; i < BIG_N; i++) {
			char k[16];

			snprintf(k, sizeof(k), "big%05u", i);
			aedb_txn_kv_del(t, T_P, T_S, k, strlen(k));
		}
		t_assert_rc(aedb_commit(db, t, &res), 0);
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "big", 3, 10, NULL, AEDB_LATEST,
						&pg), 0);
		aedb_kv_page_free(pg);
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "big", 3, 10, NULL,
						AEDB_SEQ(res.seq - 1), &pg), 10);
		aedb_kv_page_free(pg);
		aedb_txn_free(t);
		t_close(db);
	}
}

/* ---- several mutations of one key ---- */

static void test_txn_atomic_same_key_chain(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);
		struct aedb_commit_result res;
		struct aedb_txn *t;
		struct kvs s;
		uint64_t c0;
		uint8_t v[8];

		t_assert_rc(aedb_txn_create(db, &t), 0);
		/* set, set: the last wins, one version */
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "a", 1);
		aedb_txn_kv_set(t, T_P, T_S, "other", 5, "o", 1);
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "bb", 2);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		s = st_get(db, "k", 1);
		assert_int_equal(s.len, 2);
		assert_memory_equal(s.val, "bb", 2);
		assert_int_equal(s.version, res.seq);
		assert_int_equal(s.created, res.seq);
		c0 = res.seq;
		/* history has no intermediate "a": nothing at an older seq */
		t_expect(db, "k", 1, NULL, 0, 0, AEDB_SEQ(res.seq - 1));
		/* set then delete: absent after */
		aedb_txn_reset(t);
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "x", 1);
		aedb_txn_kv_del(t, T_P, T_S, "k", 1);
		aedb_txn_kv_set(t, T_P, T_S, "other", 5, "o2", 2);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		t_expects(db, "k", NULL);
		t_expects(db, "other", "o2");
		/* assertions see the state before the txn, not its own writes */
		aedb_txn_reset(t);
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "new", 3);
		aedb_txn_assert_exists(t, T_P, T_S, "k", 1, 0);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		t_expects(db, "k", "new");
		aedb_txn_reset(t);
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "newer", 5);
		aedb_txn_assert_equals(t, T_P, T_S, "k", 1, "newer", 5);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EASSERT);
		t_expects(db, "k", "new");
		/* numeric after set after delete: each sees the previous */
		aedb_txn_reset(t);
		ben(v, 8, 10);
		aedb_txn_kv_del(t, T_P, T_S, "n", 1);
		aedb_txn_kv_set(t, T_P, T_S, "n", 1, v, 8);
		ben(v, 8, 4);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_SUB, v, AEDB_NUM_UNDERFLOW_NOOP,
				0);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_ADD, v, 0, 0);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		ben(v, 8, 6);
		t_expect(db, "n", 1, v, 8, res.seq, AEDB_LATEST);
		/* the third strict subtract would underflow: none of it */
		aedb_txn_reset(t);
		ben(v, 8, 3);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_set(t, T_P, T_S, "other", 5, "o3", 2);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EUNDERFLOW);
		assert_int_equal(res.failed_index, 2);
		ben(v, 8, 6);
		t_expect(db, "n", 1, v, 8, 0, AEDB_LATEST);
		t_expects(db, "other", "o2");
		/* a numeric op on a value set earlier in the txn with another
		 * width: -AEDB_ETYPE */
		aedb_txn_reset(t);
		aedb_txn_kv_set(t, T_P, T_S, "n", 1, "abcd", 4);
		aedb_txn_kv_num(t, T_P, T_S, "n", 1, 8, AEDB_NUM_ADD, v, 0, 0);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ETYPE);
		assert_int_equal(res.failed_index, 1);
		(void)c0;
		aedb_txn_free(t);
		t_close(db);
	}
}

/*
 * Delete then set of an existing key in one transaction: the key's current
 * incarnation is created by this commit, so its created_seq is the commit's
 * seq (aedb.h: "created_seq ... reset by delete then set"), as with a delete
 * and a set in two commits.
 */
static void test_txn_atomic_delete_then_set_recreates(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		struct aedb_txn *t;
		struct kvs s;
		uint64_t c0 = t_sets(db, "k", "first");

		t_assert_rc(aedb_txn_create(db, &t), 0);
		aedb_txn_kv_del(t, T_P, T_S, "k", 1);
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "second", 6);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		s = st_get(db, "k", 1);
		assert_int_equal(s.version, res.seq);
		if (s.created != res.seq)
			fail_msg("%u shards: created_seq %llu after delete+set at %llu (first "
				 "created at %llu)", t_shard_counts[si],
				 (unsigned long long)s.created, (unsigned long long)res.seq,
				 (unsigned long long)c0);
		aedb_txn_free(t);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_atomic_failure_elsewhere),
		cmocka_unit_test(test_txn_atomic_mixed_one_seq),
		cmocka_unit_test(test_txn_atomic_many_mutations),
		cmocka_unit_test(test_txn_atomic_same_key_chain),
		cmocka_unit_test(test_txn_atomic_delete_then_set_recreates),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
