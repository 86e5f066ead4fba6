/* SPDX-License-Identifier: MIT */
/*
 * txn_assert_test - read assertions, read sets and preflight (reference
 * §5.3, §5.4) at 1/2/4/8 shards.
 *
 * Assertions: exists/absent, equals, compare (u256 numeric when both are 32
 * bytes, else bytes), version. A failure returns -AEDB_EASSERT with
 * fail_kind ASSERTION and the failing index and leaves no trace: values,
 * versions and aedb_visible_seq() unchanged. Read sets (aedb_txn_read +
 * aedb_txn_set_base_seq): a newer version fails with -AEDB_ECONFLICT, kind
 * READ. Across shards, the failure reported is the earliest in evaluation
 * order (reads, assertions, mutations), as on one shard. Preflight predicts
 * effects and errors without writing; a plan committed after another commit
 * rewrote what it read conflicts; aedb_commit_with_preflight() against a
 * racing writer.
 */
#include <pthread.h>
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

static uint64_t rdbe(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = len > 8 ? len - 8 : 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

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

static uint64_t u64_of(struct aedb *db, const char *key)
{
	struct aedb_kv_item *it = NULL;
	uint64_t v;

	t_assert_rc(aedb_kv_get(db, T_P, T_S, key, strlen(key), AEDB_LATEST, &it), 0);
	assert_int_equal(it->entry.val_len, 8);
	v = rdbe(it->entry.val, 8);
	aedb_kv_item_free(it);
	return v;
}

static void set_u64(struct aedb *db, const char *key, uint64_t v)
{
	uint8_t b[8];

	ben(b, 8, v);
	t_set(db, key, strlen(key), b, 8);
}

/*
 * Keys grouped by the shard that owns them, found from outside: a commit of
 * [set a] + [assert b has version 2^64-1] always fails, writes nothing, and
 * its result says how many shards took part.
 */
#define KM_SHARDS 8
#define KM_PER 6
struct kmap {
	uint32_t n;
	char k[KM_SHARDS][KM_PER][24];
};

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

/* The other shard's group for @g (itself with one shard). */
static uint32_t other(const struct kmap *m, uint32_t g)
{
	return (g + 1) % m->n;
}

static struct aedb_txn *txn_new(struct aedb *db)
{
	struct aedb_txn *t;

	t_assert_rc(aedb_txn_create(db, &t), 0);
	return t;
}

/* ---- assertions ---- */

enum { A_EXISTS, A_EQUALS, A_CMP, A_VERSION };

struct acase {
	int kind;
	const char *key;   /* "p", "n32", "gone", "absent", "empty" */
	int arg;           /* EXISTS: expected; CMP: aedb_cmp */
	const void *val;
	uint32_t len;
	int ver;           /* VERSION: 0 = zero, 1 = the key's version, 2 = off by one */
	int pass;
};

static uint8_t n100[32], n99[32], n2e64[32], n5_8[8];

static const struct acase acases[] = {
	{ A_EXISTS, "p", 1, NULL, 0, 0, 1 },
	{ A_EXISTS, "p", 0, NULL, 0, 0, 0 },
	{ A_EXISTS, "absent", 0, NULL, 0, 0, 1 },
	{ A_EXISTS, "absent", 1, NULL, 0, 0, 0 },
	{ A_EXISTS, "gone", 0, NULL, 0, 0, 1 },   /* deleted reads as absent */
	{ A_EXISTS, "gone", 1, NULL, 0, 0, 0 },
	{ A_EXISTS, "empty", 1, NULL, 0, 0, 1 },  /* an empty value is present */
	{ A_EQUALS, "p", 0, "hello", 5, 0, 1 },
	{ A_EQUALS, "p", 0, "hellO", 5, 0, 0 },
	{ A_EQUALS, "p", 0, "hell", 4, 0, 0 },
	{ A_EQUALS, "p", 0, "hello!", 6, 0, 0 },
	{ A_EQUALS, "absent", 0, "", 0, 0, 0 },
	{ A_EQUALS, "gone", 0, "old", 3, 0, 0 },
	{ A_EQUALS, "empty", 0, "", 0, 0, 1 },
	{ A_CMP, "p", AEDB_CMP_EQ, "hello", 5, 0, 1 },
	{ A_CMP, "p", AEDB_CMP_NE, "hello", 5, 0, 0 },
	{ A_CMP, "p", AEDB_CMP_LT, "help", 4, 0, 1 },     /* 'l' < 'p' */
	{ A_CMP, "p", AEDB_CMP_GT, "hell", 4, 0, 1 },     /* longer sorts after */
	{ A_CMP, "p", AEDB_CMP_LE, "hell", 4, 0, 0 },
	{ A_CMP, "p", AEDB_CMP_GE, "i", 1, 0, 0 },
	{ A_CMP, "p", AEDB_CMP_LT, "i", 1, 0, 1 },
	{ A_CMP, "absent", AEDB_CMP_NE, "x", 1, 0, 0 },   /* absent fails all */
	{ A_CMP, "absent", AEDB_CMP_LT, "x", 1, 0, 0 },
	{ A_CMP, "n32", AEDB_CMP_EQ, n100, 32, 0, 1 },
	{ A_CMP, "n32", AEDB_CMP_GT, n99, 32, 0, 1 },
	{ A_CMP, "n32", AEDB_CMP_GE, n99, 32, 0, 1 },
	{ A_CMP, "n32", AEDB_CMP_LT, n99, 32, 0, 0 },
	{ A_CMP, "n32", AEDB_CMP_LT, n2e64, 32, 0, 1 },
	{ A_CMP, "n32", AEDB_CMP_GE, n2e64, 32, 0, 0 },
	{ A_CMP, "n32", AEDB_CMP_LE, n100, 32, 0, 1 },
	{ A_CMP, "n32", AEDB_CMP_NE, n100, 32, 0, 0 },
	/* 32-byte value, 8-byte threshold: bytes, and 00.. < 00..05 */
	{ A_CMP, "n32", AEDB_CMP_LT, n5_8, 8, 0, 1 },
	{ A_CMP, "n32", AEDB_CMP_GT, n5_8, 8, 0, 0 },
	{ A_VERSION, "p", 0, NULL, 0, 1, 1 },
	{ A_VERSION, "p", 0, NULL, 0, 2, 0 },
	{ A_VERSION, "p", 0, NULL, 0, 0, 0 },
	{ A_VERSION, "absent", 0, NULL, 0, 0, 1 },
	{ A_VERSION, "gone", 0, NULL, 0, 0, 1 },
	{ A_VERSION, "absent", 0, NULL, 0, 2, 0 },
};

static int add_assert(struct aedb *db, struct aedb_txn *t, const struct acase *c)
{
	const char *k = c->key;
	uint64_t v;

	switch (c->kind) {
	case A_EXISTS:
		return aedb_txn_assert_exists(t, T_P, T_S, k, strlen(k), c->arg);
	case A_EQUALS:
		return aedb_txn_assert_equals(t, T_P, T_S, k, strlen(k), c->val, c->len);
	case A_CMP:
		return aedb_txn_assert_compare(t, T_P, T_S, k, strlen(k), (uint32_t)c->arg,
					       c->val, c->len);
	default:
		v = version_of(db, k);
		v = c->ver == 0 ? 0 : c->ver == 1 ? v : v + 1;
		return aedb_txn_assert_version(t, T_P, T_S, k, strlen(k), v);
	}
}

static void assert_fixture(struct aedb *db)
{
	ben(n100, 32, 100);
	ben(n99, 32, 99);
	ben(n2e64, 32, 0);
	n2e64[23] = 1;
	ben(n5_8, 8, 5);
	t_sets(db, "p", "hello");
	t_set(db, "n32", 3, n100, 32);
	t_sets(db, "gone", "old");
	t_del(db, "gone", 4);
	t_set(db, "empty", 5, "", 0);
}

static void test_txn_assert_kinds(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);

		assert_fixture(db);
		for (size_t i = 0; i < sizeof(acases) / sizeof(acases[0]); i++) {
			const struct acase *c = &acases[i];
			struct aedb_commit_result res;
			struct aedb_txn *t = txn_new(db);
			uint64_t v0 = aedb_visible_seq(db), wv = version_of(db, "w");
			int rc;

			/* an unrelated passing assertion first, so the index is 1 */
			assert_int_equal(aedb_txn_assert_exists(t, T_P, T_S, "p", 1, 1), 0);
			assert_int_equal(add_assert(db, t, c), 1);
			assert_int_equal(aedb_txn_assertion_count(t), 2);
			assert_int_equal(aedb_txn_kv_set(t, T_P, T_S, "w", 1, "x", 1), 0);
			rc = aedb_commit(db, t, &res);
			if (rc != (c->pass ? 0 : -AEDB_EASSERT))
				fail_msg("case %zu (kind %d on %s): rc %d (%s), want %s", i,
					 c->kind, c->key, rc, aedb_strerror(rc),
					 c->pass ? "pass" : "EASSERT");
			if (c->pass) {
				assert_int_equal(version_of(db, "w"), res.seq);
			} else {
				assert_int_equal(res.fail_kind, AEDB_FAIL_ASSERTION);
				assert_int_equal(res.failed_index, 1);
				assert_int_equal(res.seq, 0);
				assert_int_equal(aedb_visible_seq(db), v0);
				assert_int_equal(version_of(db, "w"), wv);
			}
			aedb_txn_free(t);
		}
		t_close(db);
	}
}

/*
 * Assertions on keys of several shards, several failing: the lowest failing
 * index is reported, and nothing is written on any shard.
 */
static void test_txn_assert_cross_shard_first_index(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);
		struct kmap m;

		kmap_fill(db, &m, n, "x");
		for (uint32_t g = 0; g < n; g++)
			for (uint32_t j = 0; j < 2; j++)
				t_sets(db, m.k[g][j], "v");
		for (uint32_t fa = 0; fa < 6; fa++) {
			for (uint32_t fb = fa + 1; fb < 7; fb++) {
				struct aedb_commit_result res;
				struct aedb_txn *t = txn_new(db);
				uint64_t v0 = aedb_visible_seq(db);

				/* assertion i is on group i mod n; fa and fb fail */
				for (uint32_t i = 0; i < 7; i++) {
					const char *k = m.k[i % n][0];

					assert_int_equal(aedb_txn_assert_equals(
						t, T_P, T_S, k, strlen(k),
						i == fa || i == fb ? "no" : "v",
						i == fa || i == fb ? 2 : 1), (int)i);
				}
				for (uint32_t g = 0; g < n; g++)
					aedb_txn_kv_set(t, T_P, T_S, m.k[g][1], strlen(m.k[g][1]),
							"changed", 7);
				t_assert_rc(aedb_commit(db, t, &res), -AEDB_EASSERT);
				assert_int_equal(res.fail_kind, AEDB_FAIL_ASSERTION);
				if (res.failed_index != (int32_t)fa)
					fail_msg("%u shards: failing %u and %u, reported %d", n, fa,
						 fb, res.failed_index);
				assert_int_equal(aedb_visible_seq(db), v0);
				for (uint32_t g = 0; g < n; g++)
					t_expects(db, m.k[g][1], "v");
				aedb_txn_free(t);
			}
		}
		t_close(db);
	}
}

/* ---- read sets ---- */

static void test_txn_read_set(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);
		struct aedb_commit_result res;
		struct kmap m;
		struct aedb_txn *t;
		uint64_t va, vb, v0;
		const char *a, *b, *w;

		kmap_fill(db, &m, n, "r");
		a = m.k[0][0];
		b = m.k[other(&m, 0)][1];
		w = m.k[other(&m, 1) % n][2];
		va = t_sets(db, a, "A");
		vb = t_sets(db, b, "B");
		/* current versions: applies */
		t = txn_new(db);
		assert_int_equal(aedb_txn_read(t, T_P, T_S, a, strlen(a), va), 0);
		assert_int_equal(aedb_txn_read(t, T_P, T_S, b, strlen(b), vb), 1);
		assert_int_equal(aedb_txn_read(t, T_P, T_S, "never", 5, 0), 2);
		assert_int_equal(aedb_txn_assertion_count(t), 0);
		aedb_txn_kv_set(t, T_P, T_S, w, strlen(w), "1", 1);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		/* b rewritten since the read: conflict at read index 1 */
		t_sets(db, b, "B2");
		v0 = aedb_visible_seq(db);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ECONFLICT);
		assert_int_equal(res.fail_kind, AEDB_FAIL_READ);
		assert_int_equal(res.failed_index, 1);
		assert_int_equal(aedb_visible_seq(db), v0);
		t_expects(db, w, "1");
		assert_int_equal(aedb_error_class(-AEDB_ECONFLICT), AEDB_CLASS_CONFLICT);
		/* a key read as absent that now exists: conflict at index 2 */
		aedb_txn_reset(t);
		aedb_txn_read(t, T_P, T_S, a, strlen(a), va);
		aedb_txn_read(t, T_P, T_S, b, strlen(b), version_of(db, b));
		aedb_txn_read(t, T_P, T_S, "never", 5, 0);
		aedb_txn_kv_set(t, T_P, T_S, w, strlen(w), "2", 1);
		t_sets(db, "never", "now");
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ECONFLICT);
		assert_int_equal(res.failed_index, 2);
		t_expects(db, w, "1");
		/* the base seq: anything written after it conflicts, whatever
		 * version the read names */
		aedb_txn_reset(t);
		aedb_txn_read(t, T_P, T_S, a, strlen(a), UINT64_MAX - 1);
		aedb_txn_set_base_seq(t, aedb_visible_seq(db));
		aedb_txn_kv_set(t, T_P, T_S, w, strlen(w), "3", 1);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		t_expects(db, w, "3");
		t_sets(db, a, "A2");
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ECONFLICT);
		assert_int_equal(res.fail_kind, AEDB_FAIL_READ);
		assert_int_equal(res.failed_index, 0);
		/* a reset clears the base seq */
		aedb_txn_reset(t);
		aedb_txn_read(t, T_P, T_S, a, strlen(a), UINT64_MAX - 1);
		aedb_txn_kv_set(t, T_P, T_S, w, strlen(w), "4", 1);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		/* documented limit: a delete after the read is not detected */
		aedb_txn_reset(t);
		aedb_txn_read(t, T_P, T_S, a, strlen(a), version_of(db, a));
		aedb_txn_kv_set(t, T_P, T_S, w, strlen(w), "5", 1);
		t_del(db, a, strlen(a));
		t_assert_rc(aedb_commit(db, t, &res), 0);
		t_expects(db, w, "5");
		aedb_txn_free(t);
		t_close(db);
	}
}

/*
 * The failure a cross-shard commit reports is the earliest in evaluation
 * order - read set, then assertions, then mutations - as when the same
 * entries live on one shard (aedb.h: "the result names the index of the
 * failing entry"; txn/txn.h txn_verdict_merge). Each pair is tried with
 * both entries on one shard and on two shards.
 */
static void test_txn_failure_precedence_across_shards(void **state)
{
	(void)state;
	for (uint32_t si = 1; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);
		struct kmap m;

		kmap_fill(db, &m, n, "f");
		for (int cross = 0; cross < 2; cross++) {
			const char *x = m.k[0][0], *y = cross ? m.k[1][0] : m.k[0][1];
			uint64_t vx, vy;
			uint8_t big[8];

			ben(big, 8, 1000);
			set_u64(db, x, 5);
			set_u64(db, y, 5);
			vx = version_of(db, x);
			vy = version_of(db, y);
			for (int pair = 0; pair < 3; pair++) {
				struct aedb_commit_result res;
				struct aedb_txn *t = txn_new(db);
				int want, kind, rc;

				/* the earlier-class failure on x, the later on y */
				if (pair == 0) {        /* read vs assertion */
					aedb_txn_read(t, T_P, T_S, x, strlen(x), vx - 1);
					aedb_txn_assert_exists(t, T_P, T_S, y, strlen(y), 0);
					aedb_txn_kv_set(t, T_P, T_S, y, strlen(y), "z", 1);
					want = -AEDB_ECONFLICT;
					kind = AEDB_FAIL_READ;
				} else if (pair == 1) { /* assertion vs mutation */
					aedb_txn_assert_exists(t, T_P, T_S, x, strlen(x), 0);
					aedb_txn_kv_num(t, T_P, T_S, y, strlen(y), 8,
							AEDB_NUM_SUB, big, 0, 0);
					want = -AEDB_EASSERT;
					kind = AEDB_FAIL_ASSERTION;
				} else {                /* read vs mutation */
					aedb_txn_read(t, T_P, T_S, x, strlen(x), vx - 1);
					aedb_txn_kv_num(t, T_P, T_S, y, strlen(y), 8,
							AEDB_NUM_SUB, big, 0, 0);
					want = -AEDB_ECONFLICT;
					kind = AEDB_FAIL_READ;
				}
				rc = aedb_commit(db, t, &res);
				if (rc != want || res.fail_kind != (uint32_t)kind)
					fail_msg("%u shards, %s shard, pair %d: got fail_kind %u "
						 "index %d, want kind %d (%s)", n,
						 cross ? "cross" : "same", pair, res.fail_kind,
						 res.failed_index, kind, aedb_strerror(want));
				assert_int_equal(res.failed_index, 0);
				assert_int_equal(version_of(db, x), vx);
				assert_int_equal(version_of(db, y), vy);
				aedb_txn_free(t);
			}
		}
		t_close(db);
	}
}

/* ---- preflight ---- */

static const struct aedb_preflight_effect *pf_effect(const struct aedb_preflight *pf,
						     uint32_t mut)
{
	for (uint32_t i = 0; i < pf->neffects; i++)
		if (pf->effects[i].mutation == mut)
			return &pf->effects[i];
	fail_msg("no effect for mutation %u", mut);
	return NULL;
}

static const struct aedb_preflight_read *pf_read(const struct aedb_preflight *pf,
						 const char *key)
{
	for (uint32_t i = 0; i < pf->nreads; i++)
		if (pf->reads[i].key_len == strlen(key) &&
		    memcmp(pf->reads[i].key, key, strlen(key)) == 0)
			return &pf->reads[i];
	return NULL;
}

static void test_txn_preflight_predicts(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		const struct aedb_preflight_effect *e;
		struct aedb_preflight *pf = NULL;
		struct aedb_stats st0;
		struct aedb_txn *t;
		uint8_t v[8];
		uint64_t v0, va;
		uint32_t ns;

		t_assert_rc(aedb_scope_id(db, T_P, T_S, &ns), 0);
		set_u64(db, "a", 100);
		set_u64(db, "m", 10);
		t_sets(db, "c", "doomed");
		va = version_of(db, "a");
		t = txn_new(db);
		ben(v, 8, 30);
		aedb_txn_kv_num(t, T_P, T_S, "a", 1, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "b", 1, 8, AEDB_NUM_ADD, v, 0, 0);
		aedb_txn_kv_del(t, T_P, T_S, "c", 1);
		aedb_txn_kv_num(t, T_P, T_S, "m", 1, 8, AEDB_NUM_MAX, v + 0, 0, 0); /* 30 > 10 */
		ben(v, 8, 5);
		aedb_txn_kv_num(t, T_P, T_S, "m", 1, 8, AEDB_NUM_MIN, v, 0, 0);    /* -> 5 */
		ben(v, 8, 1);
		aedb_txn_kv_num(t, T_P, T_S, "m", 1, 8, AEDB_NUM_MAX, v, 0, 0);    /* no write */
		aedb_txn_kv_set(t, T_P, T_S, "s", 1, "str", 3);
		v0 = aedb_visible_seq(db);
		st0 = t_stats(db);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_non_null(pf);
		assert_int_equal(pf->snapshot_seq, v0);
		assert_int_equal(pf->error, 0);
		assert_int_equal(pf->fail_kind, AEDB_FAIL_NONE);
		assert_int_equal(pf->failed_index, -1);
		assert_int_equal(pf->neffects, 7);
		e = pf_effect(pf, 0);
		assert_int_equal(e->kind, 1);
		assert_int_equal(e->ns, ns);
		assert_int_equal(e->val_len, 8);
		assert_int_equal(rdbe(e->val, 8), 70);
		assert_memory_equal(e->key, "a", 1);
		e = pf_effect(pf, 1);
		assert_int_equal(e->kind, 1);
		assert_int_equal(rdbe(e->val, 8), 30);
		assert_int_equal(pf_effect(pf, 2)->kind, 2);
		assert_int_equal(rdbe(pf_effect(pf, 3)->val, 8), 30);
		assert_int_equal(rdbe(pf_effect(pf, 4)->val, 8), 5);
		assert_int_equal(pf_effect(pf, 5)->kind, 0);
		e = pf_effect(pf, 6);
		assert_int_equal(e->kind, 1);
		assert_int_equal(e->val_len, 3);
		assert_memory_equal(e->val, "str", 3);
		/* reads: the strict debit, the delete, the set - not the
		 * commutative add or max/min */
		assert_non_null(pf_read(pf, "a"));
		assert_int_equal(pf_read(pf, "a")->version, va);
		assert_int_equal(pf_read(pf, "a")->ns, ns);
		assert_non_null(pf_read(pf, "c"));
		assert_non_null(pf_read(pf, "s"));
		assert_int_equal(pf_read(pf, "s")->version, 0);
		assert_null(pf_read(pf, "b"));
		assert_null(pf_read(pf, "m"));
		/* nothing written; the result outlives the builder */
		aedb_txn_free(t);
		assert_int_equal(aedb_visible_seq(db), v0);
		assert_int_equal(t_stats(db).commits, st0.commits);
		assert_int_equal(u64_of(db, "a"), 100);
		t_expects(db, "b", NULL);
		t_expects(db, "c", "doomed");
		t_expects(db, "s", NULL);
		assert_memory_equal(pf_effect(pf, 6)->key, "s", 1);
		aedb_preflight_free(pf);

		/* predicted failures, each of its kind and index */
		t = txn_new(db);
		ben(v, 8, 101);
		aedb_txn_kv_set(t, T_P, T_S, "z", 1, "z", 1);
		aedb_txn_kv_num(t, T_P, T_S, "a", 1, 8, AEDB_NUM_SUB, v, 0, 0);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, -AEDB_EUNDERFLOW);
		assert_int_equal(pf->fail_kind, AEDB_FAIL_MUTATION);
		assert_int_equal(pf->failed_index, 1);
		aedb_preflight_free(pf);
		aedb_txn_assert_equals(t, T_P, T_S, "c", 1, "nope", 4);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, -AEDB_EASSERT);
		assert_int_equal(pf->fail_kind, AEDB_FAIL_ASSERTION);
		assert_int_equal(pf->failed_index, 0);
		aedb_preflight_free(pf);
		aedb_txn_read(t, T_P, T_S, "a", 1, va - 1);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, -AEDB_ECONFLICT);
		assert_int_equal(pf->fail_kind, AEDB_FAIL_READ);
		assert_int_equal(pf->failed_index, 0);
		aedb_preflight_free(pf);
		assert_int_equal(aedb_visible_seq(db), v0);
		t_expects(db, "z", NULL);
		/* empty: -AEDB_EINVAL */
		aedb_txn_reset(t);
		aedb_txn_assert_exists(t, T_P, T_S, "a", 1, 1);
		pf = (struct aedb_preflight *)&pf;
		t_assert_rc(aedb_preflight(db, t, &pf), -AEDB_EINVAL);
		assert_null(pf);
		aedb_txn_free(t);
		t_close(db);
	}
}

/*
 * Reference §5.3: plan a debit, another commit rewrites the balance, commit
 * the plan -> conflict. The plan's read set is built from aedb_preflight()
 * by hand, and committed later.
 */
static void test_txn_preflight_stale_plan_conflicts(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		for (int rewrite = 0; rewrite < 2; rewrite++) {
			struct aedb_preflight *pf = NULL;
			struct aedb_commit_result res;
			struct aedb_txn *plan = txn_new(db), *commit = txn_new(db);
			uint8_t v[32];
			uint64_t v0;

			ben(v, 32, 1000);
			t_set(db, "balance", 7, v, 32);
			ben(v, 32, 300);
			aedb_txn_kv_num(plan, T_P, T_S, "balance", 7, 32, AEDB_NUM_SUB, v, 0, 0);
			aedb_txn_kv_num(plan, T_P, T_S, "spent", 5, 32, AEDB_NUM_ADD, v, 0, 0);
			t_assert_rc(aedb_preflight(db, plan, &pf), 0);
			assert_int_equal(pf->error, 0);
			assert_int_equal(pf->nreads, 1);
			/* the commit: the same mutations, the plan's reads, its base */
			aedb_txn_kv_num(commit, T_P, T_S, "balance", 7, 32, AEDB_NUM_SUB, v, 0, 0);
			aedb_txn_kv_num(commit, T_P, T_S, "spent", 5, 32, AEDB_NUM_ADD, v, 0, 0);
			for (uint32_t i = 0; i < pf->nreads; i++)
				assert_true(aedb_txn_read(commit, T_P, T_S, pf->reads[i].key,
							  pf->reads[i].key_len,
							  pf->reads[i].version) >= 0);
			aedb_txn_set_base_seq(commit, pf->snapshot_seq);
			if (rewrite) {
				ben(v, 32, 1000); /* same value, new version */
				t_set(db, "balance", 7, v, 32);
			}
			v0 = aedb_visible_seq(db);
			if (rewrite) {
				t_assert_rc(aedb_commit(db, commit, &res), -AEDB_ECONFLICT);
				assert_int_equal(res.fail_kind, AEDB_FAIL_READ);
				assert_int_equal(res.failed_index, 0);
				assert_int_equal(aedb_visible_seq(db), v0);
				t_expects(db, "spent", NULL);
			} else {
				t_assert_rc(aedb_commit(db, commit, &res), 0);
				ben(v, 32, 700);
				t_expect(db, "balance", 7, v, 32, res.seq, AEDB_LATEST);
				t_del(db, "spent", 5);
			}
			aedb_preflight_free(pf);
			aedb_txn_free(plan);
			aedb_txn_free(commit);
		}
		t_close(db);
	}
}

/* aedb_commit_with_preflight(): success, a predicted error, txn unchanged. */
static void test_txn_commit_with_preflight_basic(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		struct aedb_txn *t = txn_new(db);
		uint8_t v[8];
		uint64_t v0;

		set_u64(db, "bal", 100);
		ben(v, 8, 60);
		aedb_txn_kv_num(t, T_P, T_S, "bal", 3, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "out", 3, 8, AEDB_NUM_ADD, v, 0, 0);
		t_assert_rc(aedb_commit_with_preflight(db, t, &res), 0);
		assert_int_equal(res.outcome, AEDB_COMMIT_APPLIED);
		assert_int_equal(u64_of(db, "bal"), 40);
		assert_int_equal(version_of(db, "bal"), res.seq);
		assert_int_equal(version_of(db, "out"), res.seq);
		/* the builder is unchanged: same counts, and a second run now
		 * underflows (predicted, so nothing is committed) */
		assert_int_equal(aedb_txn_mutation_count(t), 2);
		assert_int_equal(aedb_txn_assertion_count(t), 0);
		v0 = aedb_visible_seq(db);
		t_assert_rc(aedb_commit_with_preflight(db, t, &res), -AEDB_EUNDERFLOW);
		assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
		assert_int_equal(res.failed_index, 0);
		assert_int_equal(aedb_visible_seq(db), v0);
		assert_int_equal(u64_of(db, "out"), 60);
		aedb_txn_free(t);
		t_close(db);
	}
}

/*
 * aedb_commit_with_preflight() of [delete k, set k] on an existing key: the
 * set's read of k happens after the txn's own delete, but the commit must
 * not conflict with itself: nothing else wrote k.
 */
static void test_txn_commit_with_preflight_delete_then_set(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		struct aedb_txn *t = txn_new(db);
		int rc;

		t_sets(db, "k", "old");
		aedb_txn_kv_del(t, T_P, T_S, "k", 1);
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "new", 3);
		rc = aedb_commit_with_preflight(db, t, &res);
		if (rc != 0)
			fail_msg("%u shards: [del k, set k] with preflight: %s (fail_kind %u "
				 "index %d); nothing else wrote k", t_shard_counts[si],
				 aedb_strerror(rc), res.fail_kind, res.failed_index);
		t_expects(db, "k", "new");
		aedb_txn_free(t);
		t_close(db);
	}
}

/* commit_with_preflight against a writer that keeps rewriting the balance
 * (adding 0: same value, new version): stale plans conflict, nothing is
 * lost or doubled. */
struct racer {
	struct aedb *db;
	atomic_int stop;
	atomic_ulong writes;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	uint8_t zero[8] = { 0 };

	while (!atomic_load(&r->stop)) {
		int rc = aedb_kv_num(r->db, T_P, T_S, "bal", 3, 8, AEDB_NUM_ADD, zero, 0, 0,
				     AEDB_FINALITY_VISIBLE, NULL);

		T_CHECK(rc == 0, "racer add 0: %s", aedb_strerror(rc));
		atomic_fetch_add(&r->writes, 1);
	}
	return NULL;
}

static void test_txn_commit_with_preflight_racing_writer(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct racer r = { .db = db };
		uint64_t applied = 0, conflicts = 0, deadline;
		struct aedb_txn *t = txn_new(db);
		pthread_t th;
		uint8_t one[8];

		set_u64(db, "bal", 1000000);
		ben(one, 8, 1);
		aedb_txn_kv_num(t, T_P, T_S, "bal", 3, 8, AEDB_NUM_SUB, one, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "spent", 5, 8, AEDB_NUM_ADD, one, 0, 0);
		assert_int_equal(pthread_create(&th, NULL, racer_main, &r), 0);
		deadline = t_now_ns() + 10000000000ull;
		/* until a conflict was seen (bounded), and at least some runs */
		while ((conflicts == 0 || applied + conflicts < 200) && t_now_ns() < deadline) {
			struct aedb_commit_result res;
			int rc = aedb_commit_with_preflight(db, t, &res);

			if (rc == 0) {
				applied++;
			} else {
				t_assert_rc(rc, -AEDB_ECONFLICT);
				assert_int_equal(res.fail_kind, AEDB_FAIL_READ);
				conflicts++;
			}
		}
		atomic_store(&r.stop, 1);
		pthread_join(th, NULL);
		assert_int_equal(t_thread_failed(), 0);
		if (conflicts == 0)
			fail_msg("%u shards: no conflict in 10 s against %lu racing writes "
				 "(%llu applied)", t_shard_counts[si], atomic_load(&r.writes),
				 (unsigned long long)applied);
		assert_int_equal(u64_of(db, "spent"), applied);
		assert_int_equal(u64_of(db, "bal"), 1000000 - applied);
		aedb_txn_free(t);
		t_close(db);
	}
}

/* A scope dropped between building and preflight: -AEDB_ENOSCOPE. */
static void test_txn_preflight_dropped_scope(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_preflight *pf = NULL;
	struct aedb_commit_result res;
	struct aedb_txn *t = txn_new(db);

	(void)state;
	t_assert_rc(aedb_create_scope(db, T_P, "tmp"), 1);
	assert_int_equal(aedb_txn_kv_set(t, T_P, "tmp", "k", 1, "v", 1), 0);
	t_assert_rc(aedb_preflight(db, t, &pf), 0);
	aedb_preflight_free(pf);
	t_assert_rc(aedb_drop_scope(db, T_P, "tmp"), 1);
	t_assert_rc(aedb_preflight(db, t, &pf), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_commit_with_preflight(db, t, &res), -AEDB_ENOSCOPE);
	aedb_txn_free(t);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_assert_kinds),
		cmocka_unit_test(test_txn_assert_cross_shard_first_index),
		cmocka_unit_test(test_txn_read_set),
		cmocka_unit_test(test_txn_failure_precedence_across_shards),
		cmocka_unit_test(test_txn_preflight_predicts),
		cmocka_unit_test(test_txn_preflight_stale_plan_conflicts),
		cmocka_unit_test(test_txn_commit_with_preflight_basic),
		cmocka_unit_test(test_txn_commit_with_preflight_delete_then_set),
		cmocka_unit_test(test_txn_commit_with_preflight_racing_writer),
		cmocka_unit_test(test_txn_preflight_dropped_scope),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
