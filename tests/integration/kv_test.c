/* SPDX-License-Identifier: MIT */
/*
 * kv_test - the blocking KV calls: set/get/del/get-many, versions, binary
 * keys and values, size limits, argument checks, a randomized model check.
 * Every test runs on 1, 2, 4 and 8 shards.
 */
#include "it_common.h"

#include <stdlib.h>
#include <string.h>

static void test_kv_set_get_del(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_kv_item sentinel_item;
		struct aedb_kv_item *item = &sentinel_item;
		uint64_t s1, s2, s3, s4;
		struct aedb_stats st0, st1;

		assert_int_equal(aedb_shard_count(db), t_shard_counts[si]);
		st0 = t_stats(db);
		/* absent: -AEDB_ENOTFOUND and *out NULL */
		t_assert_rc(aedb_kv_get(db, T_P, T_S, "k", 1, AEDB_LATEST, &item), -AEDB_ENOTFOUND);
		assert_null(item);

		s1 = t_sets(db, "k", "one");
		/* VISIBLE: readers see it once the call returns */
		assert_true(aedb_visible_seq(db) >= s1);
		t_expects(db, "k", "one");
		t_expect(db, "k", 1, "one", 3, s1, AEDB_LATEST);

		s2 = t_sets(db, "k", "two!");
		assert_true(s2 > s1);
		assert_true(aedb_visible_seq(db) >= s2);
		t_expect(db, "k", 1, "two!", 4, s2, AEDB_LATEST);

		s3 = t_del(db, "k", 1);
		assert_true(s3 > s2);
		assert_true(aedb_visible_seq(db) >= s3);
		t_expects(db, "k", NULL);

		/* deleting an absent key succeeds and commits */
		s4 = t_del(db, "k", 1);
		assert_true(s4 > s3);
		s4 = t_del(db, "never-written", 13);
		assert_true(aedb_visible_seq(db) >= s4);
		t_expects(db, "never-written", NULL);

		/* seq_out may be NULL */
		t_assert_rc(aedb_kv_set(db, T_P, T_S, "n", 1, "x", 1, AEDB_FINALITY_VISIBLE, NULL),
			    0);
		t_expects(db, "n", "x");
		t_assert_rc(aedb_kv_del(db, T_P, T_S, "n", 1, AEDB_FINALITY_VISIBLE, NULL), 0);
		t_expects(db, "n", NULL);

		/* one commit per write */
		st1 = t_stats(db);
		assert_int_equal(st1.commits - st0.commits, 7);
		assert_int_equal(st1.visible_seq, aedb_visible_seq(db));
		t_close(db);
	}
}

/* version is the seq of the write; created_seq is kept by overwrites and reset by
 * delete-then-set. */
static void test_kv_version_created_seq(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_kv_item *item = NULL;
		uint64_t s1, s2, s3, s4, s5;

		s1 = t_sets(db, "key", "a");
		t_assert_rc(aedb_kv_get(db, T_P, T_S, "key", 3, AEDB_LATEST, &item), 0);
		assert_int_equal(item->entry.version, s1);
		assert_int_equal(item->entry.created_seq, s1);
		assert_true(item->snapshot_seq >= s1);
		aedb_kv_item_free(item);

		s2 = t_sets(db, "key", "b");
		t_assert_rc(aedb_kv_get(db, T_P, T_S, "key", 3, AEDB_LATEST, &item), 0);
		assert_int_equal(item->entry.version, s2);
		assert_int_equal(item->entry.created_seq, s1);
		aedb_kv_item_free(item);

		/* the same value again is still a new version */
		s3 = t_sets(db, "key", "b");
		t_assert_rc(aedb_kv_get(db, T_P, T_S, "key", 3, AEDB_LATEST, &item), 0);
		assert_int_equal(item->entry.version, s3);
		assert_int_equal(item->entry.created_seq, s1);
		aedb_kv_item_free(item);

		s4 = t_del(db, "key", 3);
		s5 = t_sets(db, "key", "c");
		assert_true(s5 > s4);
		t_assert_rc(aedb_kv_get(db, T_P, T_S, "key", 3, AEDB_LATEST, &item), 0);
		assert_int_equal(item->entry.version, s5);
		assert_int_equal(item->entry.created_seq, s5);
		aedb_kv_item_free(item);

		/* the old versions still read with their own metadata */
		t_assert_rc(aedb_kv_get(db, T_P, T_S, "key", 3, AEDB_SEQ(s2), &item), 0);
		assert_int_equal(item->entry.version, s2);
		assert_int_equal(item->entry.created_seq, s1);
		assert_int_equal(item->snapshot_seq, s2);
		assert_memory_equal(item->entry.val, "b", 1);
		aedb_kv_item_free(item);

		/* the same in scans and get-many */
		struct aedb_kv_page *page = NULL;

		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "key", 3, 10, NULL, AEDB_LATEST,
						&page), 1);
		assert_int_equal(page->entries[0].version, s5);
		assert_int_equal(page->entries[0].created_seq, s5);
		aedb_kv_page_free(page);
		struct aedb_kv_batch *batch = NULL;
		struct aedb_key keys[] = { { "key", 3 } };

		t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 1, AEDB_SEQ(s3), &batch), 1);
		assert_int_equal(batch->entries[0].version, s3);
		assert_int_equal(batch->entries[0].created_seq, s1);
		assert_int_equal(batch->snapshot_seq, s3);
		aedb_kv_batch_free(batch);
		t_close(db);
	}
}

static void test_kv_binary_keys_and_values(void **state)
{
	static const struct {
		const char *key;
		size_t len;
	} keys[] = {
		{ "", 0 },          { "\0", 1 },         { "\0\0", 2 },     { "a", 1 },
		{ "a\0", 2 },       { "a\0b", 3 },       { "a\0c", 3 },     { "a\x01", 2 },
		{ "\xff", 1 },      { "\xff\xff", 2 },   { "\x80", 1 },     { "ab", 2 },
		{ "user:10", 7 },   { "user:2", 6 },     { "A", 1 },        { "\x7f", 1 },
	};
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	char val[32];

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint64_t seqs[sizeof(keys) / sizeof(keys[0])];

		for (size_t i = 0; i < n; i++) {
			snprintf(val, sizeof(val), "value-%zu", i);
			seqs[i] = t_set(db, keys[i].key, keys[i].len, val, strlen(val));
		}
		for (size_t i = 0; i < n; i++) {
			snprintf(val, sizeof(val), "value-%zu", i);
			t_expect(db, keys[i].key, keys[i].len, val, strlen(val), seqs[i],
				 AEDB_LATEST);
		}
		/* the empty key with a NULL pointer is the same key */
		t_expect(db, NULL, 0, "value-0", 7, seqs[0], AEDB_LATEST);

		/* values of zero bytes: NULL or not */
		uint64_t sz = t_set(db, "empty1", 6, NULL, 0);

		t_expect(db, "empty1", 6, "", 0, sz, AEDB_LATEST);
		sz = t_set(db, "empty2", 6, "ignored", 0);
		t_expect(db, "empty2", 6, "", 0, sz, AEDB_LATEST);
		/* a zero-length value is present, not deleted */
		struct aedb_kv_item *item = NULL;

		t_assert_rc(aedb_kv_get(db, T_P, T_S, "empty1", 6, AEDB_LATEST, &item), 0);
		assert_int_equal(item->entry.val_len, 0);
		aedb_kv_item_free(item);

		/* values with NUL bytes */
		static const char nulval[] = "x\0y\0\0z";

		sz = t_set(db, "nul", 3, nulval, sizeof(nulval));
		t_expect(db, "nul", 3, nulval, sizeof(nulval), sz, AEDB_LATEST);

		/* deleting one binary key leaves its neighbours */
		t_del(db, "a\0", 2);
		t_expect(db, "a\0", 2, NULL, 0, 0, AEDB_LATEST);
		t_expect(db, "a", 1, "value-3", 7, seqs[3], AEDB_LATEST);
		t_expect(db, "a\0b", 3, "value-5", 7, seqs[5], AEDB_LATEST);
		t_del(db, NULL, 0);
		t_expect(db, "", 0, NULL, 0, 0, AEDB_LATEST);
		t_expect(db, "\0", 1, "value-1", 7, seqs[1], AEDB_LATEST);
		t_close(db);
	}
}

static void t_fill_random(uint8_t *buf, size_t len, uint64_t *rng)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = t_rand(rng);
		size_t n = len - i < 8 ? len - i : 8;

		memcpy(buf + i, &r, n);
	}
}

#define T_MIB ((size_t)1 << 20)

/* Default limits: 1024-byte keys and 1 MiB values pass, one more byte fails. */
static void t_limits_default(uint32_t shards, uint8_t *big, const uint8_t *key)
{
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_kv_item *item = NULL;
	struct aedb_kv_batch *batch = NULL;
	struct aedb_key keys[2] = { { "big0", 4 }, { key, 1025 } };
	uint64_t s, v;

	/* exactly at the default limits: accepted */
	s = t_set(db, key, 1024, big, T_MIB);
	t_expect(db, key, 1024, big, T_MIB, s, AEDB_LATEST);
	/* 1 MiB values under small keys, on every shard */
	for (int i = 0; i < 8; i++) {
		char k[8];

		snprintf(k, sizeof(k), "big%d", i);
		big[0] = (uint8_t)i;
		s = t_set(db, k, strlen(k), big, T_MIB);
		t_expect(db, k, strlen(k), big, T_MIB, s, AEDB_LATEST);
	}
	v = aedb_visible_seq(db);
	/* one past: -AEDB_ETOOBIG, nothing written */
	t_assert_rc(aedb_kv_set(db, T_P, T_S, key, 1025, "v", 1, 0, NULL), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "big0", 4, big, T_MIB + 1, 0, NULL), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, key, 1025, big, T_MIB + 1, 0, NULL), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_del(db, T_P, T_S, key, 1025, 0, NULL), -AEDB_ETOOBIG);
	/* lengths are size_t: a huge one must not wrap to a small one */
	t_assert_rc(aedb_kv_set(db, T_P, T_S, key, ((size_t)1 << 32) + 1, "v", 1, 0, NULL),
		    -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "big0", 4, big, ((size_t)1 << 32) + 1, 0, NULL),
		    -AEDB_ETOOBIG);
	assert_int_equal(aedb_visible_seq(db), v);
	big[0] = 0;
	t_expect(db, "big0", 4, big, T_MIB, 0, AEDB_LATEST);
	/* reads with an oversized key are rejected too */
	t_assert_rc(aedb_kv_get(db, T_P, T_S, key, 1025, AEDB_LATEST, &item), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 2, AEDB_LATEST, &batch), -AEDB_ETOOBIG);
	t_close(db);
}

/* Lowered limits: 16-byte keys, 100-byte values. */
static void t_limits_lowered(uint32_t shards, const uint8_t *big, const uint8_t *key)
{
	struct aedb_config cfg;
	struct aedb *db;
	uint64_t s, v;

	aedb_config_init(&cfg);
	cfg.max_key_bytes = 16;
	cfg.max_value_bytes = 100;
	db = t_open_p(shards, &cfg);
	s = t_set(db, key, 16, big, 100);
	t_expect(db, key, 16, big, 100, s, AEDB_LATEST);
	v = aedb_visible_seq(db);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, key, 17, "v", 1, 0, NULL), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, key, 16, big + 1, 101, 0, NULL), -AEDB_ETOOBIG);
	t_assert_rc(aedb_kv_del(db, T_P, T_S, key, 17, 0, NULL), -AEDB_ETOOBIG);
	assert_int_equal(aedb_visible_seq(db), v);
	t_expect(db, key, 16, big, 100, s, AEDB_LATEST);
	t_close(db);
}

/* Key and value sizes at, and one past, the limits. */
static void test_kv_size_limits(void **state)
{
	uint8_t *big = malloc(T_MIB + 1);
	uint8_t *key = malloc(AEDB_KEY_BYTES_LIMIT + 1);
	uint64_t rng = t_seed(__func__);
	struct aedb_config cfg;

	(void)state;
	t_fill_random(big, T_MIB + 1, &rng);
	t_fill_random(key, AEDB_KEY_BYTES_LIMIT + 1, &rng);
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		t_limits_default(t_shard_counts[si], big, key);
		t_limits_lowered(t_shard_counts[si], big, key);
	}
	/* max_value_bytes 0: only empty values */
	aedb_config_init(&cfg);
	cfg.max_value_bytes = 0;
	struct aedb *db = t_open_p(2, &cfg);

	t_set(db, "k", 1, NULL, 0);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "k", 1, "v", 1, 0, NULL), -AEDB_ETOOBIG);
	t_expect(db, "k", 1, "", 0, 0, AEDB_LATEST);
	t_close(db);
	free(key);
	free(big);
}

/* After a rejected write: the value and the visible watermark are unchanged. */
static void t_expect_unchanged(struct aedb *db, uint64_t v, uint64_t version)
{
	assert_int_equal(aedb_visible_seq(db), v);
	t_expect(db, "k", 1, "orig", 4, version, AEDB_LATEST);
}

/* NULL handle, names, key or value with a length, out pointers. */
static void t_bad_nulls(struct aedb *db)
{
	struct aedb_kv_item *item = NULL;
	struct aedb_kv_batch *batch = NULL;
	struct aedb_key keys[2] = { { "k", 1 }, { "x", 1 } };
	struct aedb_key nullkey[2] = { { "k", 1 }, { NULL, 3 } };
	uint64_t seq = 0;

	t_assert_rc(aedb_kv_set(NULL, T_P, T_S, "k", 1, "x", 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_set(db, NULL, T_S, "k", 1, "x", 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_set(db, T_P, NULL, "k", 1, "x", 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, NULL, 1, "x", 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "k", 1, NULL, 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_del(NULL, T_P, T_S, "k", 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_del(db, NULL, T_S, "k", 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_del(db, T_P, NULL, "k", 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_del(db, T_P, T_S, NULL, 1, 0, &seq), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get(NULL, T_P, T_S, "k", 1, AEDB_LATEST, &item), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get(db, NULL, T_S, "k", 1, AEDB_LATEST, &item), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get(db, T_P, NULL, "k", 1, AEDB_LATEST, &item), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get(db, T_P, T_S, NULL, 1, AEDB_LATEST, &item), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get(db, T_P, T_S, "k", 1, AEDB_LATEST, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get_many(NULL, T_P, T_S, keys, 2, AEDB_LATEST, &batch),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get_many(db, NULL, T_S, keys, 2, AEDB_LATEST, &batch),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get_many(db, T_P, NULL, keys, 2, AEDB_LATEST, &batch),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, NULL, 2, AEDB_LATEST, &batch),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 2, AEDB_LATEST, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, nullkey, 2, AEDB_LATEST, &batch),
		    -AEDB_EMISUSE);
}

/* Finality and consistency values, get-many counts. */
static void t_bad_modes(struct aedb *db, uint64_t v)
{
	struct aedb_kv_item *item = NULL;
	struct aedb_kv_batch *batch = NULL;
	struct aedb_key keys[2] = { { "k", 1 }, { "x", 1 } };
	struct aedb_at bad_mode = { 3, 0, 0 }, huge_mode = { 0xffffffffu, 0, 0 };
	struct aedb_at ckpt = { AEDB_AT_CHECKPOINT, 0, 0 }, padded = { AEDB_AT_LATEST, 1, 0 };
	uint64_t seq = 0;
	int rc;

	/* finality: unknown -> EINVAL */
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "k", 1, "x", 1, 2, &seq), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "k", 1, "x", 1, 0xffffffffu, &seq), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_del(db, T_P, T_S, "k", 1, 7, &seq), -AEDB_EINVAL);
	/* consistency: unknown mode -> EINVAL, CHECKPOINT with none taken ->
	 * ESEQGC, future seq */
	t_assert_rc(aedb_kv_get(db, T_P, T_S, "k", 1, bad_mode, &item), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_get(db, T_P, T_S, "k", 1, huge_mode, &item), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_get(db, T_P, T_S, "k", 1, ckpt, &item), -AEDB_ESEQGC);
	t_assert_rc(aedb_kv_get(db, T_P, T_S, "k", 1, AEDB_SEQ(v + 1000), &item),
		    -AEDB_ESEQFUTURE);
	t_assert_rc(aedb_kv_get(db, T_P, T_S, "k", 1, AEDB_SEQ(UINT64_MAX), &item),
		    -AEDB_ESEQFUTURE);
	rc = aedb_kv_get(db, T_P, T_S, "k", 1, padded, &item);
	if (rc != -AEDB_EINVAL && rc != -AEDB_EMISUSE)
		fail_msg("at.pad != 0: %d (%s)", rc, aedb_strerror(rc));
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 2, bad_mode, &batch), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 2, ckpt, &batch), -AEDB_ESEQGC);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 2, AEDB_SEQ(v + 1000), &batch),
		    -AEDB_ESEQFUTURE);
	/* get-many count: 0 and > max_scan_rows are invalid, max_scan_rows is fine */
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, keys, 0, AEDB_LATEST, &batch), -AEDB_EINVAL);
	struct aedb_key *many = calloc(10001, sizeof(*many));

	for (int i = 0; i < 10001; i++)
		many[i] = (struct aedb_key){ "k", 1 };
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, many, 10001, AEDB_LATEST, &batch),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, many, 10000, AEDB_LATEST, &batch), 10000);
	assert_int_equal(batch->count, 10000);
	aedb_kv_batch_free(batch);
	free(many);
}

static void test_kv_bad_arguments(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint64_t s, v;

		s = t_sets(db, "k", "orig");
		v = aedb_visible_seq(db);
		t_bad_nulls(db);
		t_expect_unchanged(db, v, s);
		t_bad_modes(db, v);
		t_expect_unchanged(db, v, s);
		t_close(db);
	}
}

static char t_gkbuf[64][8];
static struct aedb_key t_gkeys[65]; /* g00..g63, then g00 again */

/* Even keys present, odd absent: order, count, found, snapshot. Returns V. */
static uint64_t t_get_many_basic(struct aedb *db)
{
	struct aedb_kv_batch *batch = NULL;
	uint64_t seqs[64] = { 0 };
	uint64_t v0, v1;
	int rc;

	for (int i = 0; i < 64; i += 2)
		seqs[i] = t_set(db, t_gkbuf[i], 3, t_gkbuf[i], 3);
	v0 = aedb_visible_seq(db);
	rc = aedb_kv_get_many(db, T_P, T_S, t_gkeys, 64, AEDB_LATEST, &batch);
	v1 = aedb_visible_seq(db);
	t_assert_rc(rc, 32);
	assert_int_equal(batch->count, 64);
	assert_int_equal(batch->found, 32);
	assert_true(batch->snapshot_seq >= v0 && batch->snapshot_seq <= v1);
	for (int i = 0; i < 64; i++) {
		const struct aedb_kv_entry *e = &batch->entries[i];

		if (i % 2) {
			assert_null(e->key);
			continue;
		}
		assert_non_null(e->key);
		assert_int_equal(e->key_len, 3);
		assert_memory_equal(e->key, t_gkbuf[i], 3);
		assert_int_equal(e->val_len, 3);
		assert_memory_equal(e->val, t_gkbuf[i], 3);
		assert_int_equal(e->version, seqs[i]);
		assert_int_equal(e->created_seq, seqs[i]);
		assert_true(e->version <= batch->snapshot_seq);
	}
	aedb_kv_batch_free(batch);
	return v0;
}

/* Reversed order, duplicates, absent keys, one key; an older seq; the cap. */
static void t_get_many_more(struct aedb *db, uint64_t v0)
{
	struct aedb_kv_batch *batch = NULL;
	struct aedb_key rev[6] = { t_gkeys[10], t_gkeys[3], t_gkeys[10], t_gkeys[0], { "", 0 },
				   { "zz", 2 } };

	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, rev, 6, AEDB_LATEST, &batch), 3);
	assert_int_equal(batch->count, 6);
	assert_int_equal(batch->found, 3);
	assert_memory_equal(batch->entries[0].key, "g10", 3);
	assert_null(batch->entries[1].key);
	assert_memory_equal(batch->entries[2].key, "g10", 3);
	assert_memory_equal(batch->entries[3].key, "g00", 3);
	assert_null(batch->entries[4].key);
	assert_null(batch->entries[5].key);
	aedb_kv_batch_free(batch);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, t_gkeys + 1, 1, AEDB_LATEST, &batch), 0);
	assert_int_equal(batch->count, 1);
	assert_int_equal(batch->found, 0);
	assert_null(batch->entries[0].key);
	aedb_kv_batch_free(batch);
	/* at an older seq; n == max_scan_rows is fine, one more is not */
	t_del(db, t_gkbuf[0], 3);
	t_set(db, t_gkbuf[1], 3, "new", 3);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, t_gkeys, 64, AEDB_SEQ(v0), &batch), 32);
	assert_int_equal(batch->snapshot_seq, v0);
	assert_memory_equal(batch->entries[0].key, "g00", 3);
	assert_null(batch->entries[1].key);
	aedb_kv_batch_free(batch);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, t_gkeys, 64, AEDB_LATEST, &batch), 32);
	assert_null(batch->entries[0].key);
	assert_memory_equal(batch->entries[1].val, "new", 3);
	aedb_kv_batch_free(batch);
	t_assert_rc(aedb_kv_get_many(db, T_P, T_S, t_gkeys, 65, AEDB_LATEST, &batch),
		    -AEDB_EINVAL);
}

static void test_kv_get_many(void **state)
{
	struct aedb_config cfg;

	(void)state;
	aedb_config_init(&cfg);
	cfg.max_scan_rows = 64;
	for (int i = 0; i < 64; i++) {
		snprintf(t_gkbuf[i], sizeof(t_gkbuf[i]), "g%02d", i);
		t_gkeys[i] = (struct aedb_key){ t_gkbuf[i], 3 };
	}
	t_gkeys[64] = t_gkeys[0];
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], &cfg);

		t_get_many_more(db, t_get_many_basic(db));
		t_close(db);
	}
}

/* A model entry for the randomized check. */
struct t_mentry {
	bool live;
	uint32_t val_len;
	uint8_t val[24];
	uint64_t version;
	uint64_t created;
};

/* Key @k of the model: 1..5 bytes, first byte k, others spread over 0..255. */
static uint32_t t_model_key(uint32_t k, uint8_t *key)
{
	uint32_t klen = 1 + k % 5;

	for (uint32_t b = 0; b < klen; b++)
		key[b] = (uint8_t)(k * 37 + b * 101);
	key[0] = (uint8_t)k;
	return klen;
}

/* Every model key reads as the model says, created_seq included. */
static void t_model_check_all(struct aedb *db, const struct t_mentry *model, uint32_t nkeys)
{
	uint8_t key[8];

	for (uint32_t k = 0; k < nkeys; k++) {
		struct aedb_kv_item *item = NULL;
		uint32_t klen = t_model_key(k, key);
		int rc = aedb_kv_get(db, T_P, T_S, key, klen, AEDB_LATEST, &item);

		if (!model[k].live) {
			t_assert_rc(rc, -AEDB_ENOTFOUND);
			continue;
		}
		t_assert_rc(rc, 0);
		assert_int_equal(item->entry.val_len, model[k].val_len);
		if (model[k].val_len)
			assert_memory_equal(item->entry.val, model[k].val, model[k].val_len);
		assert_int_equal(item->entry.version, model[k].version);
		assert_int_equal(item->entry.created_seq, model[k].created);
		aedb_kv_item_free(item);
	}
}

static void test_kv_random_model(void **state)
{
	enum { NKEYS = 200, NOPS = 2500 };
	uint64_t seed = t_seed(__func__);

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct t_mentry *model = calloc(NKEYS, sizeof(*model));
		uint64_t rng = seed + (uint64_t)si;
		uint64_t last = 0;
		uint8_t key[8];

		for (int op = 0; op < NOPS; op++) {
			uint32_t k = (uint32_t)(t_rand(&rng) % NKEYS);
			uint32_t what = (uint32_t)(t_rand(&rng) % 10);
			uint32_t klen = t_model_key(k, key);
			struct t_mentry *m = &model[k];
			uint64_t seq;

			if (what < 5) {
				uint8_t val[24];
				uint32_t vlen = (uint32_t)(t_rand(&rng) % sizeof(val));

				t_fill_random(val, vlen, &rng);
				seq = t_set(db, key, klen, val, vlen);
				if (!m->live)
					m->created = seq;
				m->live = true;
				m->val_len = vlen;
				memcpy(m->val, val, vlen);
				m->version = seq;
			} else if (what < 7) {
				seq = t_del(db, key, klen);
				m->live = false;
			} else {
				t_expect(db, key, klen, m->live ? m->val : NULL, m->val_len,
					 m->version, AEDB_LATEST);
				continue;
			}
			/* one thread's writes get increasing seqs */
			assert_true(seq > last);
			last = seq;
		}
		t_model_check_all(db, model, NKEYS);
		free(model);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_set_get_del),
		cmocka_unit_test(test_kv_version_created_seq),
		cmocka_unit_test(test_kv_binary_keys_and_values),
		cmocka_unit_test(test_kv_size_limits),
		cmocka_unit_test(test_kv_bad_arguments),
		cmocka_unit_test(test_kv_get_many),
		cmocka_unit_test(test_kv_random_model),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
