/* SPDX-License-Identifier: MIT */
/*
 * txn_bad_test - bad input to the transaction API. NULL arguments
 * (-AEDB_EMISUSE), names (-AEDB_ENAME, -AEDB_ERESERVED, -AEDB_ENOPROJECT,
 * -AEDB_ENOSCOPE at add time), sizes (-AEDB_ETOOBIG: key, value, entry count,
 * max_txn_bytes at commit), enums and flags (-AEDB_EINVAL), empty commits, a
 * builder committed on another instance, a scope dropped (or dropped and made
 * again) between building and committing. Each failure leaves the builder as
 * it was and usable, and writes nothing. Blocking and submission-queue paths.
 */
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

struct counts {
	uint32_t muts, asserts;
	uint64_t v;
};

static struct counts counts_of(struct aedb *db, struct aedb_txn *t)
{
	struct counts c = { aedb_txn_mutation_count(t), aedb_txn_assertion_count(t),
			    aedb_visible_seq(db) };

	return c;
}

static void same_counts(struct aedb *db, struct aedb_txn *t, struct counts c)
{
	assert_int_equal(aedb_txn_mutation_count(t), c.muts);
	assert_int_equal(aedb_txn_assertion_count(t), c.asserts);
	assert_int_equal(aedb_visible_seq(db), c.v);
}

/* The builder still works: one more write commits. */
static void still_usable(struct aedb *db, struct aedb_txn *t, const char *key)
{
	struct aedb_commit_result res;

	assert_true(aedb_txn_kv_set(t, T_P, T_S, key, strlen(key), "ok", 2) >= 0);
	t_assert_rc(aedb_commit(db, t, &res), 0);
	t_expect(db, key, strlen(key), "ok", 2, res.seq, AEDB_LATEST);
	aedb_txn_reset(t);
}

static void test_txn_bad_null_args(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_txn *t = NULL;
	struct aedb_commit_result res;
	struct aedb_preflight *pf;
	uint8_t op[32] = { 0 }, key16[16] = { 0 };
	struct counts c;

	(void)state;
	t_assert_rc(aedb_txn_create(NULL, &t), -AEDB_EMISUSE);
	assert_null(t);
	t_assert_rc(aedb_txn_create(db, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	assert_int_equal(aedb_txn_kv_set(t, T_P, T_S, "k0", 2, "v", 1), 0);
	c = counts_of(db, t);
	/* a NULL builder */
	t_assert_rc(aedb_txn_kv_set(NULL, T_P, T_S, "k", 1, "v", 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_del(NULL, T_P, T_S, "k", 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_num(NULL, T_P, T_S, "k", 1, 8, AEDB_NUM_ADD, op, 0, 0),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_counter_add(NULL, T_P, T_S, "k", 1, 1, 4, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_exists(NULL, T_P, T_S, "k", 1, 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_equals(NULL, T_P, T_S, "k", 1, "v", 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_compare(NULL, T_P, T_S, "k", 1, AEDB_CMP_EQ, "v", 1),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_version(NULL, T_P, T_S, "k", 1, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_read(NULL, T_P, T_S, "k", 1, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_set_finality(NULL, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_set_idempotency_key(NULL, key16), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_set_base_seq(NULL, 1), -AEDB_EMISUSE);
	assert_int_equal(aedb_txn_mutation_count(NULL), 0);
	assert_int_equal(aedb_txn_assertion_count(NULL), 0);
	aedb_txn_reset(NULL);
	aedb_txn_free(NULL);
	/* NULL names, keys with a length, values with a length, operands */
	t_assert_rc(aedb_txn_kv_set(t, NULL, T_S, "k", 1, "v", 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_set(t, T_P, NULL, "k", 1, "v", 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, NULL, 1, "v", 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "k", 1, NULL, 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_del(t, T_P, T_S, NULL, 3), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_num(t, T_P, T_S, "k", 1, 8, AEDB_NUM_ADD, NULL, 0, 0),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_kv_num(t, NULL, T_S, "k", 1, 8, AEDB_NUM_ADD, op, 0, 0),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_counter_add(t, T_P, T_S, NULL, 2, 1, 4, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_counter_add(t, NULL, T_S, "k", 1, 1, 4, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_exists(t, T_P, NULL, "k", 1, 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_equals(t, T_P, T_S, "k", 1, NULL, 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_compare(t, T_P, T_S, "k", 1, AEDB_CMP_EQ, NULL, 1),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_assert_version(t, T_P, T_S, NULL, 1, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_read(t, NULL, T_S, "k", 1, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_set_idempotency_key(t, NULL), -AEDB_EMISUSE);
	same_counts(db, t, c);
	/* NULL with length 0 is an empty key or value, not misuse */
	assert_int_equal(aedb_txn_kv_set(t, T_P, T_S, NULL, 0, NULL, 0), 1);
	assert_int_equal(aedb_txn_assert_exists(t, T_P, T_S, NULL, 0, 0), 0);
	assert_int_equal(aedb_txn_read(t, T_P, T_S, NULL, 0, 0), 0);
	t_assert_rc(aedb_txn_set_idempotency_key(t, key16), 0);
	c = counts_of(db, t);
	/* commits */
	t_assert_rc(aedb_commit(NULL, t, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_commit(db, NULL, &res), -AEDB_EMISUSE);
	assert_int_equal(res.failed_index, -1);
	assert_int_equal(res.fail_kind, AEDB_FAIL_NONE);
	t_assert_rc(aedb_commit_action_envelope(NULL, t, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_commit_action_envelope(db, NULL, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_commit_with_preflight(NULL, t, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_commit_with_preflight(db, NULL, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_preflight(NULL, t, &pf), -AEDB_EMISUSE);
	t_assert_rc(aedb_preflight(db, NULL, &pf), -AEDB_EMISUSE);
	t_assert_rc(aedb_preflight(db, t, NULL), -AEDB_EMISUSE);
	aedb_preflight_free(NULL);
	t_assert_rc(aedb_kv_num(NULL, T_P, T_S, "k", 1, 8, AEDB_NUM_ADD, op, 0, 0,
				AEDB_FINALITY_VISIBLE, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "k", 1, 8, AEDB_NUM_ADD, NULL, 0, 0,
				AEDB_FINALITY_VISIBLE, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_compare_and_swap(NULL, T_P, T_S, "k", 1, "v", 1, 0,
					     AEDB_FINALITY_VISIBLE, &res), -AEDB_EMISUSE);
	same_counts(db, t, c);
	t_expects(db, "k0", NULL);
	/* the builder commits fine after all that */
	t_assert_rc(aedb_commit(db, t, &res), 0);
	t_expects(db, "k0", "v");
	t_expect(db, "", 0, "", 0, res.seq, AEDB_LATEST);
	aedb_txn_free(t);
	t_close(db);
}

static void test_txn_bad_names_and_sizes(void **state)
{
	struct aedb_config cfg;
	struct aedb *db;
	struct aedb_txn *t;
	uint8_t op[32] = { 0 }, *big;
	struct counts c;

	(void)state;
	aedb_config_init(&cfg);
	cfg.max_key_bytes = 64;
	cfg.max_value_bytes = 256;
	db = t_open_p(4, &cfg);
	big = calloc(1, 1024);
	assert_non_null(big);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	aedb_txn_kv_set(t, T_P, T_S, "first", 5, "1", 1);
	c = counts_of(db, t);
	/* names */
	t_assert_rc(aedb_txn_kv_set(t, "nope", T_S, "k", 1, "v", 1), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_txn_kv_set(t, T_P, "nope", "k", 1, "v", 1), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_txn_kv_del(t, "nope", T_S, "k", 1), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_txn_kv_num(t, T_P, "nope", "k", 1, 8, AEDB_NUM_ADD, op, 0, 0),
		    -AEDB_ENOSCOPE);
	t_assert_rc(aedb_txn_counter_add(t, T_P, "nope", "k", 1, 1, 4, 0), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_txn_assert_exists(t, "nope", T_S, "k", 1, 1), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_txn_assert_equals(t, T_P, "nope", "k", 1, "v", 1), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_txn_assert_compare(t, T_P, "nope", "k", 1, AEDB_CMP_LT, "v", 1),
		    -AEDB_ENOSCOPE);
	t_assert_rc(aedb_txn_assert_version(t, "nope", T_S, "k", 1, 0), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_txn_read(t, T_P, "nope", "k", 1, 0), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_txn_kv_set(t, "bad name", T_S, "k", 1, "v", 1), -AEDB_ENAME);
	t_assert_rc(aedb_txn_kv_set(t, T_P, "", "k", 1, "v", 1), -AEDB_ENAME);
	t_assert_rc(aedb_txn_kv_set(t, "_system", T_S, "k", 1, "v", 1), -AEDB_ERESERVED);
	same_counts(db, t, c);
	/* sizes: exactly the maximum is fine, one more is too big */
	assert_true(aedb_txn_kv_set(t, T_P, T_S, big, 64, big, 256) >= 0);
	c = counts_of(db, t);
	t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, big, 65, "v", 1), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "k", 1, big, 257), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_kv_del(t, T_P, T_S, big, 65), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_kv_num(t, T_P, T_S, big, 65, 8, AEDB_NUM_ADD, op, 0, 0),
		    -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_counter_add(t, T_P, T_S, big, 65, 1, 4, 0), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_assert_exists(t, T_P, T_S, big, 65, 1), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_assert_equals(t, T_P, T_S, "k", 1, big, 257), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_assert_compare(t, T_P, T_S, "k", 1, AEDB_CMP_EQ, big, 257),
		    -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_assert_version(t, T_P, T_S, big, 65, 0), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_read(t, T_P, T_S, big, 65, 0), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, big, 65, 8, AEDB_NUM_ADD, op, 0, 0,
				AEDB_FINALITY_VISIBLE, NULL), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, big, 257, 0,
					     AEDB_FINALITY_VISIBLE, NULL), -AEDB_ETOOBIG);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, big, 65, 1, 4, 0, AEDB_FINALITY_VISIBLE,
				     NULL), -AEDB_ETOOBIG);
	same_counts(db, t, c);
	still_usable(db, t, "after-sizes");
	t_expects(db, "first", "1");
	free(big);
	aedb_txn_free(t);
	t_close(db);
}

static void test_txn_bad_enums_and_flags(void **state)
{
	static const uint32_t widths[] = { 0, 1, 4, 7, 9, 16, 31, 33, 64 };
	static const uint32_t ops[] = { 0, 6, 255, 0x80000001u };
	static const uint32_t flags[] = { 0x10, 0x20, 0x80000000u, 0x1f };
	static const uint32_t cmps[] = { 0, 7, 100 };
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_commit_result res;
	struct aedb_txn *t;
	uint8_t op[64] = { 0 };
	struct counts c;

	(void)state;
	t_assert_rc(aedb_txn_create(db, &t), 0);
	c = counts_of(db, t);
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		t_assert_rc(aedb_txn_kv_num(t, T_P, T_S, "k", 1, widths[i], AEDB_NUM_ADD, op, 0,
					    0), -AEDB_EINVAL);
		t_assert_rc(aedb_kv_num(db, T_P, T_S, "k", 1, widths[i], AEDB_NUM_ADD, op, 0, 0,
					AEDB_FINALITY_VISIBLE, &res), -AEDB_EINVAL);
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		t_assert_rc(aedb_txn_kv_num(t, T_P, T_S, "k", 1, 8, ops[i], op, 0, 0),
			    -AEDB_EINVAL);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		t_assert_rc(aedb_txn_kv_num(t, T_P, T_S, "k", 1, 32, AEDB_NUM_SUB, op, flags[i],
					    0), -AEDB_EINVAL);
	for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++)
		t_assert_rc(aedb_txn_assert_compare(t, T_P, T_S, "k", 1, cmps[i], "v", 1),
			    -AEDB_EINVAL);
	t_assert_rc(aedb_txn_set_finality(t, 2), -AEDB_EINVAL);
	t_assert_rc(aedb_txn_set_finality(t, UINT32_MAX), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_num(db, T_P, T_S, "k", 1, 8, AEDB_NUM_ADD, op, 0, 0, 2, &res),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_kv_compare_and_swap(db, T_P, T_S, "k", 1, "v", 1, 0, 5, &res),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_counter_add(db, T_P, T_S, "k", 1, 1, 4, 0, 3, &res), -AEDB_EINVAL);
	same_counts(db, t, c);
	t_expects(db, "k", NULL);
	/* every valid combination of flags is accepted */
	for (uint32_t f = 0; f <= 0xf; f++)
		assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, "k", 1, 8, AEDB_NUM_SET, op, f, 0),
				 (int)f);
	aedb_txn_reset(t);
	still_usable(db, t, "after-enums");
	aedb_txn_free(t);
	t_close(db);
}

static void test_txn_bad_empty_and_too_many(void **state)
{
	struct aedb *db = t_open_p(4, NULL);
	struct aedb_commit_result res;
	struct aedb_preflight *pf;
	struct aedb_txn *t;
	uint8_t k16[16] = { 1 };
	uint64_t v0;

	(void)state;
	t_assert_rc(aedb_txn_create(db, &t), 0);
	v0 = aedb_visible_seq(db);
	/* no mutations: -AEDB_EINVAL, with or without assertions, reads, key */
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EINVAL);
	assert_int_equal(res.failed_index, -1);
	aedb_txn_assert_exists(t, T_P, T_S, "k", 1, 0);
	aedb_txn_read(t, T_P, T_S, "k", 1, 0);
	aedb_txn_set_idempotency_key(t, k16);
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EINVAL);
	t_assert_rc(aedb_commit_action_envelope(db, t, &res), -AEDB_EINVAL);
	t_assert_rc(aedb_commit_with_preflight(db, t, &res), -AEDB_EINVAL);
	t_assert_rc(aedb_preflight(db, t, &pf), -AEDB_EINVAL);
	assert_int_equal(aedb_visible_seq(db), v0);
	/* the failed attempts did not record the key */
	still_usable(db, t, "after-empty");
	/* AEDB_TXN_MAX_ENTRIES entries, of any kind; one more is too big */
	for (uint32_t i = 0; i < AEDB_TXN_MAX_ENTRIES; i++) {
		int rc = i % 2 ? aedb_txn_assert_exists(t, T_P, T_S, "k", 1, 0)
			       : aedb_txn_kv_set(t, T_P, T_S, &i, sizeof(i), "", 0);

		if (rc < 0)
			fail_msg("entry %u: %s", i, aedb_strerror(rc));
	}
	assert_int_equal(aedb_txn_mutation_count(t), AEDB_TXN_MAX_ENTRIES / 2);
	t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "x", 1, "x", 1), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_assert_exists(t, T_P, T_S, "x", 1, 0), -AEDB_ETOOBIG);
	t_assert_rc(aedb_txn_read(t, T_P, T_S, "x", 1, 0), -AEDB_ETOOBIG);
	assert_int_equal(aedb_txn_mutation_count(t), AEDB_TXN_MAX_ENTRIES / 2);
	assert_int_equal(aedb_txn_assertion_count(t), AEDB_TXN_MAX_ENTRIES / 2);
	/* and it commits */
	t_assert_rc(aedb_commit(db, t, &res), 0);
	assert_int_equal(res.shards, 4);
	{
		uint32_t i = AEDB_TXN_MAX_ENTRIES - 2;

		t_expect(db, &i, sizeof(i), "", 0, res.seq, AEDB_LATEST);
	}
	aedb_txn_reset(t);
	still_usable(db, t, "after-many");
	aedb_txn_free(t);
	t_close(db);
}

/* max_txn_bytes: a transaction whose log record would be bigger fails at
 * commit with -AEDB_ETOOBIG (blocking and SQ), writing nothing. */
static void test_txn_bad_max_txn_bytes(void **state)
{
	struct aedb_config cfg;
	struct aedb *db;
	struct aedb_commit_result res;
	struct aedb_ring ring;
	struct aedb_sqe *sqe;
	struct aedb_cqe *cqe;
	struct aedb_txn *t;
	char *val;
	uint64_t v0;

	(void)state;
	aedb_config_init(&cfg);
	cfg.max_txn_bytes = 4096;
	db = t_open_p(2, &cfg);
	val = calloc(1, 2000);
	assert_non_null(val);
	memset(val, 'v', 2000);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	/* one value under the limit: fine */
	aedb_txn_kv_set(t, T_P, T_S, "a", 1, val, 2000);
	t_assert_rc(aedb_commit(db, t, &res), 0);
	/* three: over */
	aedb_txn_kv_set(t, T_P, T_S, "b", 1, val, 2000);
	aedb_txn_kv_set(t, T_P, T_S, "c", 1, val, 2000);
	v0 = aedb_visible_seq(db);
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_ETOOBIG);
	t_assert_rc(aedb_commit_with_preflight(db, t, &res), -AEDB_ETOOBIG);
	t_assert_rc(aedb_ring_init(db, 2, &ring, 0), 0);
	sqe = aedb_get_sqe(&ring);
	aedb_prep_commit(sqe, t, &res);
	assert_int_equal(aedb_submit(&ring), 1);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	t_assert_rc(cqe->res, -AEDB_ETOOBIG);
	aedb_cqe_seen(&ring, cqe);
	aedb_ring_exit(&ring);
	assert_int_equal(aedb_visible_seq(db), v0);
	t_expects(db, "b", NULL);
	assert_int_equal(aedb_txn_mutation_count(t), 3);
	/* numeric mutations count too: many small ones go over */
	aedb_txn_reset(t);
	for (int i = 0; i < 200; i++) {
		uint8_t op[32] = { 0 };
		char k[8];

		snprintf(k, sizeof(k), "n%d", i);
		aedb_txn_kv_num(t, T_P, T_S, k, strlen(k), 32, AEDB_NUM_ADD, op, 0, 0);
	}
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_ETOOBIG);
	t_expects(db, "n0", NULL);
	aedb_txn_reset(t);
	still_usable(db, t, "after-bytes");
	free(val);
	aedb_txn_free(t);
	t_close(db);
}

/* A builder belongs to the instance it was made for. */
static void test_txn_bad_other_instance(void **state)
{
	struct aedb *a = t_open_p(2, NULL), *b = t_open_p(2, NULL);
	struct aedb_commit_result res;
	struct aedb_preflight *pf = NULL;
	struct aedb_ring ring;
	struct aedb_sqe *sqe;
	struct aedb_cqe *cqe;
	struct aedb_txn *t;
	uint8_t k16[16] = { 3 };

	(void)state;
	t_assert_rc(aedb_txn_create(a, &t), 0);
	aedb_txn_kv_set(t, T_P, T_S, "k", 1, "v", 1);
	aedb_txn_set_idempotency_key(t, k16);
	t_assert_rc(aedb_commit(b, t, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_commit_action_envelope(b, t, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_commit_with_preflight(b, t, &res), -AEDB_EMISUSE);
	t_assert_rc(aedb_preflight(b, t, &pf), -AEDB_EMISUSE);
	assert_null(pf);
	t_assert_rc(aedb_ring_init(b, 2, &ring, 0), 0);
	sqe = aedb_get_sqe(&ring);
	aedb_prep_commit(sqe, t, &res);
	assert_int_equal(aedb_submit(&ring), 1);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	t_assert_rc(cqe->res, -AEDB_EMISUSE);
	aedb_cqe_seen(&ring, cqe);
	/* a commit SQE without a transaction */
	sqe = aedb_get_sqe(&ring);
	aedb_prep_commit(sqe, NULL, &res);
	assert_int_equal(aedb_submit(&ring), 1);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	t_assert_rc(cqe->res, -AEDB_EMISUSE);
	aedb_cqe_seen(&ring, cqe);
	aedb_ring_exit(&ring);
	t_expects(b, "k", NULL);
	t_expects(a, "k", NULL);
	/* on its own instance it works, and its key was not recorded */
	t_assert_rc(aedb_commit(a, t, &res), AEDB_COMMIT_APPLIED);
	t_expects(a, "k", "v");
	aedb_txn_free(t);
	t_close(a);
	t_close(b);
}

/* A scope dropped between building and committing: -AEDB_ENOSCOPE, nothing
 * written - also once a scope of the same name exists again (ids are not
 * reused), and for a cross-shard transaction. */
static void test_txn_bad_scope_dropped(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		struct aedb_kv_page *pg = NULL;
		struct aedb_txn *t, *wide;
		struct aedb_ring ring;
		struct aedb_sqe *sqe;
		struct aedb_cqe *cqe;
		uint64_t v0;

		t_assert_rc(aedb_create_scope(db, T_P, "tmp"), 1);
		t_assert_rc(aedb_txn_create(db, &t), 0);
		t_assert_rc(aedb_txn_create(db, &wide), 0);
		assert_int_equal(aedb_txn_kv_set(t, T_P, "tmp", "k", 1, "v", 1), 0);
		for (int i = 0; i < 16; i++) {
			char k[8];

			snprintf(k, sizeof(k), "w%d", i);
			aedb_txn_kv_set(wide, T_P, i % 2 ? "tmp" : T_S, k, strlen(k), "v", 1);
		}
		t_assert_rc(aedb_drop_scope(db, T_P, "tmp"), 1);
		v0 = aedb_visible_seq(db);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ENOSCOPE);
		t_assert_rc(aedb_commit(db, wide, &res), -AEDB_ENOSCOPE);
		t_expects(db, "w0", NULL);
		t_assert_rc(aedb_ring_init(db, 2, &ring, 0), 0);
		sqe = aedb_get_sqe(&ring);
		aedb_prep_commit(sqe, wide, &res);
		assert_int_equal(aedb_submit(&ring), 1);
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		t_assert_rc(cqe->res, -AEDB_ENOSCOPE);
		aedb_cqe_seen(&ring, cqe);
		aedb_ring_exit(&ring);
		assert_int_equal(aedb_visible_seq(db), v0);
		/* adding to the dropped scope now fails at add time */
		t_assert_rc(aedb_txn_kv_set(t, T_P, "tmp", "k2", 2, "v", 1), -AEDB_ENOSCOPE);
		/* a new scope of that name: the old builder still refers to the
		 * dropped one */
		t_assert_rc(aedb_create_scope(db, T_P, "tmp"), 1);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ENOSCOPE);
		t_assert_rc(aedb_commit(db, wide, &res), -AEDB_ENOSCOPE);
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, "tmp", "", 0, 10, NULL, AEDB_LATEST,
						&pg), 0);
		aedb_kv_page_free(pg);
		t_expects(db, "w0", NULL);
		/* the project dropped: -AEDB_ENOSCOPE at commit too */
		aedb_txn_reset(t);
		t_assert_rc(aedb_create_project(db, "p2"), 1);
		aedb_txn_kv_set(t, "p2", "app", "k", 1, "v", 1);
		aedb_txn_kv_set(t, T_P, T_S, "k", 1, "v", 1);
		t_assert_rc(aedb_drop_project(db, "p2"), 1);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ENOSCOPE);
		t_expects(db, "k", NULL);
		aedb_txn_free(t);
		aedb_txn_free(wide);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_bad_null_args),
		cmocka_unit_test(test_txn_bad_names_and_sizes),
		cmocka_unit_test(test_txn_bad_enums_and_flags),
		cmocka_unit_test(test_txn_bad_empty_and_too_many),
		cmocka_unit_test(test_txn_bad_max_txn_bytes),
		cmocka_unit_test(test_txn_bad_other_instance),
		cmocka_unit_test(test_txn_bad_scope_dropped),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
