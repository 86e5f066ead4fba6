/* SPDX-License-Identifier: MIT */
/*
 * txn_num_test - numeric KV mutations through aedb_kv_num() and
 * aedb_txn_kv_num() (reference §5.8): every operator x policy, u64 and u256,
 * at 1/2/4/8 shards. For each case: the return code, the commit result, the
 * stored value, whether the key was written (version, created_seq) or left
 * untouched, and that a failure consumed no seq. Then the reference examples,
 * several numeric mutations of one key in one transaction, u256 values past
 * 2^64, and the submission-queue path.
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

/* The key holds a @w-byte big-endian value: @max (all ones) or @v. */
static void expect_num(struct aedb *db, const char *key, uint32_t w, uint64_t v, int max)
{
	struct kvs s = st_get(db, key, strlen(key));
	uint8_t want[32];

	if (!s.present)
		fail_msg("%s: absent, want a %u-byte value", key, w);
	if (max)
		memset(want, 0xff, w);
	else
		ben(want, w, v);
	assert_int_equal(s.len, w);
	if (memcmp(s.val, want, w) != 0)
		fail_msg("%s: stored value differs (want %s%llu)", key, max ? "max/" : "",
			 (unsigned long long)v);
}

static uint64_t num_set(struct aedb *db, const char *key, uint32_t w, uint64_t v, int max)
{
	struct aedb_commit_result res;
	uint8_t op[32];

	if (max)
		memset(op, 0xff, w);
	else
		ben(op, w, v);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, key, strlen(key), w, AEDB_NUM_SET, op, 0, 0,
				AEDB_FINALITY_VISIBLE, &res), 0);
	assert_int_equal(res.outcome, AEDB_COMMIT_APPLIED);
	assert_true(res.seq > 0);
	return res.seq;
}

/* ---- the operator x policy table ---- */

enum { EV_NONE, EV_CUR, EV_STALE, EV_ZERO, EV_SEVEN };

struct ncase {
	const char *name;
	uint32_t op, flags;
	int present;
	uint64_t cur;
	int cur_max;
	uint64_t operand;
	int operand_max;
	int ev;            /* expected_version: EV_* */
	int rc;
	int writes;        /* 1: the key is written at the commit's seq */
	uint64_t result;   /* the value after (written, or untouched) */
	int result_max;
};

static const struct ncase ncases[] = {
	{ "add-missing-zero", AEDB_NUM_ADD, 0, 0, 0, 0, 5, 0, 0, 0, 1, 5, 0 },
	{ "add-missing-reject", AEDB_NUM_ADD, AEDB_NUM_MISSING_REJECT, 0, 0, 0, 5, 0, 0,
	  -AEDB_ENOTFOUND, 0, 0, 0 },
	{ "add-present-reject-policy", AEDB_NUM_ADD, AEDB_NUM_MISSING_REJECT, 1, 10, 0, 5, 0, 0,
	  0, 1, 15, 0 },
	{ "add", AEDB_NUM_ADD, 0, 1, 10, 0, 5, 0, 0, 0, 1, 15, 0 },
	{ "add-zero-missing-creates", AEDB_NUM_ADD, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 },
	{ "add-zero-writes", AEDB_NUM_ADD, 0, 1, 9, 0, 0, 0, 0, 0, 1, 9, 0 },
	{ "add-overflow", AEDB_NUM_ADD, 0, 1, 0, 1, 1, 0, 0, -AEDB_EOVERFLOW, 0, 0, 1 },
	{ "add-overflow-max-max", AEDB_NUM_ADD, 0, 1, 0, 1, 0, 1, 0, -AEDB_EOVERFLOW, 0, 0, 1 },
	{ "add-saturate", AEDB_NUM_ADD, AEDB_NUM_SATURATE, 1, 3, 0, 0, 1, 0, 0, 1, 0, 1 },
	{ "add-saturate-no-overflow", AEDB_NUM_ADD, AEDB_NUM_SATURATE, 1, 3, 0, 4, 0, 0, 0, 1, 7,
	  0 },
	{ "sub", AEDB_NUM_SUB, 0, 1, 10, 0, 3, 0, 0, 0, 1, 7, 0 },
	{ "sub-to-zero", AEDB_NUM_SUB, 0, 1, 10, 0, 10, 0, 0, 0, 1, 0, 0 },
	{ "sub-underflow", AEDB_NUM_SUB, 0, 1, 3, 0, 10, 0, 0, -AEDB_EUNDERFLOW, 0, 3, 0 },
	{ "sub-underflow-noop", AEDB_NUM_SUB, AEDB_NUM_UNDERFLOW_NOOP, 1, 3, 0, 10, 0, 0, 0, 0, 3,
	  0 },
	{ "sub-noop-policy-ok", AEDB_NUM_SUB, AEDB_NUM_UNDERFLOW_NOOP, 1, 10, 0, 3, 0, 0, 0, 1, 7,
	  0 },
	{ "sub-missing-strict", AEDB_NUM_SUB, 0, 0, 0, 0, 1, 0, 0, -AEDB_EUNDERFLOW, 0, 0, 0 },
	{ "sub-missing-noop", AEDB_NUM_SUB, AEDB_NUM_UNDERFLOW_NOOP, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 },
	{ "sub-missing-reject", AEDB_NUM_SUB, AEDB_NUM_MISSING_REJECT, 0, 0, 0, 1, 0, 0,
	  -AEDB_ENOTFOUND, 0, 0, 0 },
	{ "sub-max", AEDB_NUM_SUB, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0 },
	{ "max-raises", AEDB_NUM_MAX, 0, 1, 10, 0, 12, 0, 0, 0, 1, 12, 0 },
	{ "max-unchanged", AEDB_NUM_MAX, 0, 1, 10, 0, 5, 0, 0, 0, 0, 10, 0 },
	{ "max-equal", AEDB_NUM_MAX, 0, 1, 10, 0, 10, 0, 0, 0, 0, 10, 0 },
	{ "max-missing-writes", AEDB_NUM_MAX, 0, 0, 0, 0, 7, 0, 0, 0, 1, 7, 0 },
	{ "max-missing-zero-writes", AEDB_NUM_MAX, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 },
	{ "max-missing-reject", AEDB_NUM_MAX, AEDB_NUM_MISSING_REJECT, 0, 0, 0, 7, 0, 0,
	  -AEDB_ENOTFOUND, 0, 0, 0 },
	{ "min-lowers", AEDB_NUM_MIN, 0, 1, 10, 0, 3, 0, 0, 0, 1, 3, 0 },
	{ "min-unchanged", AEDB_NUM_MIN, 0, 1, 10, 0, 12, 0, 0, 0, 0, 10, 0 },
	{ "min-equal", AEDB_NUM_MIN, 0, 1, 10, 0, 10, 0, 0, 0, 0, 10, 0 },
	{ "min-missing-writes-zero", AEDB_NUM_MIN, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0 },
	{ "min-missing-reject", AEDB_NUM_MIN, AEDB_NUM_MISSING_REJECT, 0, 0, 0, 7, 0, 0,
	  -AEDB_ENOTFOUND, 0, 0, 0 },
	{ "set", AEDB_NUM_SET, 0, 1, 10, 0, 3, 0, 0, 0, 1, 3, 0 },
	{ "set-same-writes", AEDB_NUM_SET, 0, 1, 10, 0, 10, 0, 0, 0, 1, 10, 0 },
	{ "set-missing", AEDB_NUM_SET, 0, 0, 0, 0, 3, 0, 0, 0, 1, 3, 0 },
	{ "set-max", AEDB_NUM_SET, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1 },
	{ "expect-current", AEDB_NUM_ADD, AEDB_NUM_EXPECT_VERSION, 1, 10, 0, 1, 0, EV_CUR, 0, 1,
	  11, 0 },
	{ "expect-stale", AEDB_NUM_ADD, AEDB_NUM_EXPECT_VERSION, 1, 10, 0, 1, 0, EV_STALE,
	  -AEDB_EASSERT, 0, 10, 0 },
	{ "expect-zero-present", AEDB_NUM_SET, AEDB_NUM_EXPECT_VERSION, 1, 10, 0, 1, 0, EV_ZERO,
	  -AEDB_EASSERT, 0, 10, 0 },
	{ "expect-zero-absent", AEDB_NUM_SET, AEDB_NUM_EXPECT_VERSION, 0, 0, 0, 4, 0, EV_ZERO, 0,
	  1, 4, 0 },
	{ "expect-seven-absent", AEDB_NUM_SET, AEDB_NUM_EXPECT_VERSION, 0, 0, 0, 4, 0, EV_SEVEN,
	  -AEDB_EASSERT, 0, 0, 0 },
	{ "expect-current-sub-underflow", AEDB_NUM_SUB, AEDB_NUM_EXPECT_VERSION, 1, 3, 0, 4, 0,
	  EV_CUR, -AEDB_EUNDERFLOW, 0, 3, 0 },
	{ "expect-without-flag-ignored", AEDB_NUM_ADD, 0, 1, 10, 0, 1, 0, EV_SEVEN, 0, 1, 11, 0 },
};

static void run_ncase(struct aedb *db, const struct ncase *c, uint32_t w, uint32_t n)
{
	struct aedb_commit_result res;
	uint8_t operand[32];
	uint64_t expv = 0, v0;
	struct kvs before, after;
	char key[64];
	int rc;

	snprintf(key, sizeof(key), "n:%s:%u:%u", c->name, w, n);
	if (c->present)
		num_set(db, key, w, c->cur, c->cur_max);
	before = st_get(db, key, strlen(key));
	assert_int_equal(before.present, c->present);
	switch (c->ev) {
	case EV_CUR: expv = before.version; break;
	case EV_STALE: expv = before.version - 1; break;
	case EV_SEVEN: expv = 7; break;
	default: expv = 0; break;
	}
	if (c->operand_max)
		memset(operand, 0xff, w);
	else
		ben(operand, w, c->operand);
	v0 = aedb_visible_seq(db);
	memset(&res, 0xa5, sizeof(res));
	rc = aedb_kv_num(db, T_P, T_S, key, strlen(key), w, c->op, operand, c->flags, expv,
			 AEDB_FINALITY_VISIBLE, &res);
	if (rc != c->rc)
		fail_msg("%s (width %u, %u shards): rc %d (%s), want %d (%s)", c->name, w, n, rc,
			 aedb_strerror(rc), c->rc, aedb_strerror(c->rc));
	after = st_get(db, key, strlen(key));
	if (rc < 0) {
		/* no trace: nothing written, no seq consumed */
		assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
		assert_int_equal(res.failed_index, 0);
		assert_int_equal(res.seq, 0);
		assert_int_equal(aedb_visible_seq(db), v0);
	} else {
		assert_int_equal(res.outcome, AEDB_COMMIT_APPLIED);
		assert_int_equal(res.fail_kind, AEDB_FAIL_NONE);
		assert_int_equal(res.failed_index, -1);
		assert_int_equal(res.shards, 1);
		assert_true(res.seq > v0);
		assert_true(aedb_visible_seq(db) >= res.seq);
	}
	if (c->writes) {
		assert_int_equal(rc, 0);
		if (!after.present || after.version != res.seq)
			fail_msg("%s (width %u): not written at seq %llu", c->name, w,
				 (unsigned long long)res.seq);
		/* created_seq is kept by an overwrite, set by a creation */
		assert_int_equal(after.created, before.present ? before.created : res.seq);
		expect_num(db, key, w, c->result, c->result_max);
		return;
	}
	/* untouched: not created, version unchanged */
	if (after.present != before.present)
		fail_msg("%s (width %u): presence changed %d -> %d", c->name, w, before.present,
			 after.present);
	if (!before.present)
		return;
	assert_int_equal(after.version, before.version);
	assert_int_equal(after.created, before.created);
	expect_num(db, key, w, c->result, c->result_max);
}

static void test_txn_num_ops_by_policy(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		struct aedb *db = t_open_p(n, NULL);

		for (uint32_t w = 8; w <= 32; w += 24)
			for (size_t i = 0; i < sizeof(ncases) / sizeof(ncases[0]); i++)
				run_ncase(db, &ncases[i], w, n);
		t_close(db);
	}
}

/* A stored value of another width than the operation: -AEDB_ETYPE for every
 * operator and policy, nothing written. */
static void test_txn_num_wrong_width(void **state)
{
	static const uint32_t ops[] = { AEDB_NUM_ADD, AEDB_NUM_SUB, AEDB_NUM_MAX, AEDB_NUM_MIN,
					AEDB_NUM_SET };
	static const uint32_t flags[] = { 0, AEDB_NUM_SATURATE | AEDB_NUM_UNDERFLOW_NOOP,
					  AEDB_NUM_MISSING_REJECT };
	struct aedb *db = t_open_p(4, NULL);
	uint8_t raw[40] = { 0 }, operand[32] = { 0 };
	static const uint32_t lens[] = { 0, 3, 7, 9, 31, 33 };

	(void)state;
	operand[31] = 1;
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		char key[32];
		uint64_t ver, v0;

		snprintf(key, sizeof(key), "raw%u", lens[l]);
		ver = t_set(db, key, strlen(key), raw, lens[l]);
		for (uint32_t w = 8; w <= 32; w += 24)
			for (size_t o = 0; o < 5; o++)
				for (size_t f = 0; f < 3; f++) {
					struct aedb_commit_result res;

					v0 = aedb_visible_seq(db);
					t_assert_rc(aedb_kv_num(db, T_P, T_S, key, strlen(key), w,
								ops[o], operand + 32 - w,
								flags[f], 0,
								AEDB_FINALITY_VISIBLE, &res),
						    -AEDB_ETYPE);
					assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
					assert_int_equal(aedb_visible_seq(db), v0);
					t_expect(db, key, strlen(key), raw, lens[l], ver,
						 AEDB_LATEST);
				}
	}
	/* a u64 stored, a u256 operation (and the other way round) */
	num_set(db, "w8", 8, 5, 0);
	num_set(db, "w32", 32, 5, 0);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "w8", 2, 32, AEDB_NUM_ADD, operand, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), -AEDB_ETYPE);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "w32", 3, 8, AEDB_NUM_ADD, operand + 24, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), -AEDB_ETYPE);
	expect_num(db, "w8", 8, 5, 0);
	expect_num(db, "w32", 32, 5, 0);
	t_close(db);
}

/* Reference §5.8 examples. */
static void test_txn_num_reference_examples(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);

		for (uint32_t w = 8; w <= 32; w += 24) {
			struct aedb_commit_result res;
			uint8_t v[32];
			char k[16];
			uint64_t v0;

			/* set 10, Max 12, Min 3 -> 3 */
			snprintf(k, sizeof(k), "mm%u", w);
			num_set(db, k, w, 10, 0);
			ben(v, w, 12);
			t_assert_rc(aedb_kv_num(db, T_P, T_S, k, strlen(k), w, AEDB_NUM_MAX, v, 0,
						0, AEDB_FINALITY_VISIBLE, &res), 0);
			expect_num(db, k, w, 12, 0);
			ben(v, w, 3);
			t_assert_rc(aedb_kv_num(db, T_P, T_S, k, strlen(k), w, AEDB_NUM_MIN, v, 0,
						0, AEDB_FINALITY_VISIBLE, &res), 0);
			expect_num(db, k, w, 3, 0);
			/* soft NoOp on a missing key: ok, still absent */
			snprintf(k, sizeof(k), "soft%u", w);
			ben(v, w, 1);
			t_assert_rc(aedb_kv_num(db, T_P, T_S, k, strlen(k), w, AEDB_NUM_SUB, v,
						AEDB_NUM_UNDERFLOW_NOOP, 0, AEDB_FINALITY_VISIBLE,
						&res), 0);
			assert_int_equal(res.outcome, AEDB_COMMIT_APPLIED);
			t_expects(db, k, NULL);
			/* strict on a missing key: underflow, visible seq unchanged */
			snprintf(k, sizeof(k), "strict%u", w);
			v0 = aedb_visible_seq(db);
			t_assert_rc(aedb_kv_num(db, T_P, T_S, k, strlen(k), w, AEDB_NUM_SUB, v, 0,
						0, AEDB_FINALITY_VISIBLE, &res), -AEDB_EUNDERFLOW);
			assert_int_equal(aedb_visible_seq(db), v0);
			assert_int_equal(t_stats(db).visible_seq, v0);
			t_expects(db, k, NULL);
		}
		t_close(db);
	}
}

/* Several numeric mutations of one key in one transaction: each sees the
 * previous one's result; all publish at one seq. */
static void test_txn_num_chain_in_one_txn(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		struct aedb_txn *t;
		uint8_t v[32];
		uint64_t v0;

		t_assert_rc(aedb_txn_create(db, &t), 0);
		for (uint32_t w = 8; w <= 32; w += 24) {
			char k[8], k2[8];
			struct kvs s;

			snprintf(k, sizeof(k), "c%u", w);
			snprintf(k2, sizeof(k2), "d%u", w);
			aedb_txn_reset(t);
			ben(v, w, 10);
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w,
							 AEDB_NUM_SET, v, 0, 0), 0);
			ben(v, w, 5);
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w,
							 AEDB_NUM_ADD, v, 0, 0), 1);
			ben(v, w, 20);   /* 15 - 20: a no-op, the chain goes on at 15 */
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w,
							 AEDB_NUM_SUB, v,
							 AEDB_NUM_UNDERFLOW_NOOP, 0), 2);
			ben(v, w, 100);
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w,
							 AEDB_NUM_MAX, v, 0, 0), 3);
			ben(v, w, 40);
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w,
							 AEDB_NUM_MIN, v, 0, 0), 4);
			ben(v, w, 1);
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w,
							 AEDB_NUM_SUB, v, 0, 0), 5);
			/* another key in the same txn, from zero */
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k2, strlen(k2), w,
							 AEDB_NUM_ADD, v, 0, 0), 6);
			assert_int_equal(aedb_txn_mutation_count(t), 7);
			t_assert_rc(aedb_commit(db, t, &res), 0);
			expect_num(db, k, w, 39, 0);
			expect_num(db, k2, w, 1, 0);
			s = st_get(db, k, strlen(k));
			assert_int_equal(s.version, res.seq);
			assert_int_equal(s.created, res.seq);
			assert_int_equal(st_get(db, k2, strlen(k2)).version, res.seq);
			/* a strict subtract that underflows only because of an earlier
			 * mutation of the same txn: nothing applies */
			aedb_txn_reset(t);
			ben(v, w, 30);
			aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w, AEDB_NUM_SUB, v, 0, 0);
			aedb_txn_kv_num(t, T_P, T_S, k2, strlen(k2), w, AEDB_NUM_ADD, v, 0, 0);
			assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w,
							 AEDB_NUM_SUB, v, 0, 0), 2);
			v0 = aedb_visible_seq(db);
			t_assert_rc(aedb_commit(db, t, &res), -AEDB_EUNDERFLOW);
			assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
			assert_int_equal(res.failed_index, 2);
			assert_int_equal(aedb_visible_seq(db), v0);
			expect_num(db, k, w, 39, 0);
			expect_num(db, k2, w, 1, 0);
			/* a byte-string set, then a numeric op on it: wrong width */
			aedb_txn_reset(t);
			aedb_txn_kv_set(t, T_P, T_S, k, strlen(k), "abc", 3);
			aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w, AEDB_NUM_ADD, v, 0, 0);
			t_assert_rc(aedb_commit(db, t, &res), -AEDB_ETYPE);
			assert_int_equal(res.failed_index, 1);
			expect_num(db, k, w, 39, 0);
			/* delete, then add: from zero (a deleted key is missing) */
			aedb_txn_reset(t);
			aedb_txn_kv_del(t, T_P, T_S, k, strlen(k));
			aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w, AEDB_NUM_ADD, v, 0, 0);
			t_assert_rc(aedb_commit(db, t, &res), 0);
			expect_num(db, k, w, 30, 0);
			assert_int_equal(st_get(db, k, strlen(k)).version, res.seq);
			/* ... and with MISSING_REJECT after the delete: not found */
			aedb_txn_reset(t);
			aedb_txn_kv_del(t, T_P, T_S, k, strlen(k));
			aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), w, AEDB_NUM_ADD, v,
					AEDB_NUM_MISSING_REJECT, 0);
			t_assert_rc(aedb_commit(db, t, &res), -AEDB_ENOTFOUND);
			assert_int_equal(res.failed_index, 1);
			expect_num(db, k, w, 30, 0);
		}
		aedb_txn_free(t);
		t_close(db);
	}
}

/* u256 beyond 64 bits: carries and borrows across limbs, the top limb's
 * overflow, and big-number max/min. */
static void test_txn_num_u256_wide(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	uint8_t v[32], want[32];
	struct kvs s;

	(void)state;
	num_set(db, "big", 32, UINT64_MAX, 0);
	ben(v, 32, 1);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "big", 3, 32, AEDB_NUM_ADD, v, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), 0);
	memset(want, 0, 32);
	want[23] = 1; /* 2^64 */
	s = st_get(db, "big", 3);
	assert_memory_equal(s.val, want, 32);
	/* 2^64 - 2^64-1 = 1 */
	ben(v, 32, UINT64_MAX);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "big", 3, 32, AEDB_NUM_SUB, v, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), 0);
	expect_num(db, "big", 32, 1, 0);
	/* 2^255 + 2^255 overflows; saturates to 2^256-1 */
	memset(v, 0, 32);
	v[0] = 0x80;
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "top", 3, 32, AEDB_NUM_SET, v, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), 0);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "top", 3, 32, AEDB_NUM_ADD, v, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), -AEDB_EOVERFLOW);
	s = st_get(db, "top", 3);
	assert_memory_equal(s.val, v, 32);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "top", 3, 32, AEDB_NUM_ADD, v, AEDB_NUM_SATURATE,
				0, AEDB_FINALITY_VISIBLE, NULL), 0);
	expect_num(db, "top", 32, 0, 1);
	/* max with 2^200 over 2^64-1 (memcmp would agree; so does the number) */
	num_set(db, "mx", 32, UINT64_MAX, 0);
	memset(v, 0, 32);
	v[6] = 1;
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "mx", 2, 32, AEDB_NUM_MAX, v, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), 0);
	s = st_get(db, "mx", 2);
	assert_memory_equal(s.val, v, 32);
	/* a strict subtract of 2^200 + 1 from 2^200 underflows */
	v[31] = 1;
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "mx", 2, 32, AEDB_NUM_SUB, v, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), -AEDB_EUNDERFLOW);
	/* u64 edge: max - max = 0, max + 0 saturate = max */
	num_set(db, "u", 8, 0, 1);
	memset(v, 0xff, 8);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "u", 1, 8, AEDB_NUM_SUB, v, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), 0);
	expect_num(db, "u", 8, 0, 0);
	t_close(db);
}

/* DURABLE finality and the submission-queue path for numeric commits. */
static void test_txn_num_durable_and_sq(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res[4];
		struct aedb_txn *t[4];
		struct aedb_ring ring;
		uint8_t v[8];

		ben(v, 8, 7);
		t_assert_rc(aedb_kv_num(db, T_P, T_S, "d", 1, 8, AEDB_NUM_ADD, v, 0, 0,
					AEDB_FINALITY_DURABLE, &res[0]), 0);
		assert_true(res[0].durable_seq >= res[0].seq);
		assert_true(aedb_durable_seq(db) >= res[0].seq);
		t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
		for (int i = 0; i < 4; i++) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);
			char k[4] = { 's', (char)('0' + i), 0, 0 };

			t_assert_rc(aedb_txn_create(db, &t[i]), 0);
			ben(v, 8, (uint64_t)i + 1);
			/* i == 3: a strict debit of a missing key */
			assert_int_equal(aedb_txn_kv_num(t[i], T_P, T_S, k, 2, 8,
							 i == 3 ? AEDB_NUM_SUB : AEDB_NUM_ADD, v,
							 0, 0), 0);
			aedb_prep_commit(sqe, t[i], &res[i]);
			aedb_sqe_set_data64(sqe, (uint64_t)i);
		}
		assert_int_equal(aedb_submit(&ring), 4);
		for (int i = 0; i < 4; i++) {
			struct aedb_cqe *cqe;
			uint64_t ud;
			int r;

			t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
			ud = cqe->user_data;
			r = cqe->res;
			aedb_cqe_seen(&ring, cqe);
			assert_true(ud < 4);
			if (ud == 3) {
				t_assert_rc(r, -AEDB_EUNDERFLOW);
				assert_int_equal(res[3].fail_kind, AEDB_FAIL_MUTATION);
				assert_int_equal(res[3].failed_index, 0);
			} else {
				char k[4] = { 's', (char)('0' + ud), 0, 0 };

				t_assert_rc(r, AEDB_COMMIT_APPLIED);
				assert_int_equal(st_get(db, k, 2).version, res[ud].seq);
				expect_num(db, k, 8, ud + 1, 0);
			}
		}
		t_expects(db, "s3", NULL);
		aedb_ring_exit(&ring);
		for (int i = 0; i < 4; i++)
			aedb_txn_free(t[i]);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_num_ops_by_policy),
		cmocka_unit_test(test_txn_num_wrong_width),
		cmocka_unit_test(test_txn_num_reference_examples),
		cmocka_unit_test(test_txn_num_chain_in_one_txn),
		cmocka_unit_test(test_txn_num_u256_wide),
		cmocka_unit_test(test_txn_num_durable_and_sq),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
