/* SPDX-License-Identifier: MIT */
/*
 * table_row_test - rows through transactions (issue 5): insert, upsert,
 * delete, point reads, duplicate keys, type and NULL errors, defaults,
 * atomic multi-row commits across shards, dropped tables, reopen.
 */
#include "it_common.h"

#include <stdlib.h>
#include <string.h>

/* users(id u64, name text NOT NULL default "anon", score integer NULL, tag text NULL) */
static struct aedb_column_def t_cols[4];
static const char *const t_pk[] = { "id" };

static void t_cols_init(void)
{
	memset(t_cols, 0, sizeof(t_cols));
	t_cols[0].name = "id";
	t_cols[0].type = AEDB_TYPE_U64;
	t_cols[1].name = "name";
	t_cols[1].type = AEDB_TYPE_TEXT;
	t_cols[1].def.type = AEDB_TYPE_TEXT;
	t_cols[1].def.u.bytes = "anon";
	t_cols[1].def.len = 4;
	t_cols[2].name = "score";
	t_cols[2].type = AEDB_TYPE_INTEGER;
	t_cols[2].nullable = 1;
	t_cols[3].name = "tag";
	t_cols[3].type = AEDB_TYPE_TEXT;
}

static void t_create_users(struct aedb *db)
{
	struct aedb_table_def d = {
		.name = "users", .columns = t_cols, .ncolumns = 4, .npk = 1, .pk = t_pk,
	};

	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
}

static struct aedb_value t_u64(uint64_t x)
{
	struct aedb_value v = { .type = AEDB_TYPE_U64 };

	v.u.u64 = x;
	return v;
}

static struct aedb_value t_int(int64_t x)
{
	struct aedb_value v = { .type = AEDB_TYPE_INTEGER };

	v.u.i64 = x;
	return v;
}

static struct aedb_value t_text(const char *s)
{
	struct aedb_value v = { .type = AEDB_TYPE_TEXT };

	v.u.bytes = s;
	v.len = (uint32_t)strlen(s);
	return v;
}

static struct aedb_value t_null(void)
{
	struct aedb_value v = { .type = AEDB_TYPE_NULL };

	return v;
}

/* A users row. @name NULL = NULL (the default applies). */
static void t_row(struct aedb_value *r, uint64_t id, const char *name, int64_t score,
		  const char *tag)
{
	r[0] = t_u64(id);
	r[1] = name ? t_text(name) : t_null();
	r[2] = t_int(score);
	r[3] = t_text(tag);
}

/* The row with key @id reads as (name, score, tag), or is absent (name NULL). */
static void t_expect_row(struct aedb *db, uint64_t id, const char *name, int64_t score,
			 const char *tag)
{
	struct aedb_value pk = t_u64(id);
	struct aedb_row *row = NULL;
	int rc = aedb_get_row(db, T_P, T_S, "users", &pk, 1, AEDB_LATEST, &row);

	if (!name) {
		t_assert_rc(rc, -AEDB_ENOTFOUND);
		assert_null(row);
		return;
	}
	t_assert_rc(rc, 0);
	assert_int_equal(row->ncols, 4);
	assert_int_equal(row->values[0].type, AEDB_TYPE_U64);
	assert_true(row->values[0].u.u64 == id);
	assert_int_equal(row->values[1].len, strlen(name));
	assert_memory_equal(row->values[1].u.bytes, name, strlen(name));
	assert_true(row->values[2].u.i64 == score);
	assert_int_equal(row->values[3].len, strlen(tag));
	assert_memory_equal(row->values[3].u.bytes, tag, strlen(tag));
	assert_true(row->version > 0 && row->version <= row->snapshot_seq);
	aedb_row_free(row);
}

static void test_row_insert_upsert_delete(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_open_p(t_shard_counts[k], NULL);
		struct aedb_commit_result res;
		struct aedb_value r[4], pk = t_u64(1);

		t_create_users(db);
		t_row(r, 1, "alice", 10, "a");
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", r, 4, 0, &res), 0);
		t_expect_row(db, 1, "alice", 10, "a");
		/* a second insert of the key fails and changes nothing */
		t_row(r, 1, "other", 11, "b");
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", r, 4, 0, &res),
			    -AEDB_EEXIST);
		assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
		assert_int_equal(res.failed_index, 0);
		t_expect_row(db, 1, "alice", 10, "a");
		/* upsert replaces; NULL name takes the default */
		t_row(r, 1, NULL, 12, "c");
		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "users", r, 4, 0, NULL), 0);
		t_expect_row(db, 1, "anon", 12, "c");
		t_row(r, 2, "bob", 20, "d");
		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "users", r, 4, 1, NULL), 0);
		t_expect_row(db, 2, "bob", 20, "d");
		/* delete, and deleting again is fine; then insert works again */
		t_assert_rc(aedb_delete_row(db, T_P, T_S, "users", &pk, 1, 0, NULL), 0);
		t_expect_row(db, 1, NULL, 0, NULL);
		t_assert_rc(aedb_delete_row(db, T_P, T_S, "users", &pk, 1, 0, NULL), 0);
		t_row(r, 1, "carol", 30, "e");
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", r, 4, 0, NULL), 0);
		t_expect_row(db, 1, "carol", 30, "e");
		/* rows are not KV entries of the scope */
		struct aedb_kv_page *page = NULL;

		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "", 0, 10, NULL, AEDB_LATEST,
						&page), 0);
		assert_int_equal(page->count, 0);
		aedb_kv_page_free(page);
		t_close(db);
	}
}

static void test_row_bad_rows(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_value r[5], pk[2];
	struct aedb_txn *t;
	uint64_t v;

	(void)state;
	t_create_users(db);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	v = aedb_visible_seq(db);
	t_row(r, 1, "x", 1, "t");
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 3), -AEDB_EINVAL);
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 5), -AEDB_EINVAL);
	r[2] = t_u64(5);                                   /* u64 in an integer column */
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), -AEDB_ETYPE);
	t_row(r, 1, "x", 1, "t");
	r[0] = t_int(1);                                   /* integer in the u64 key */
	t_assert_rc(aedb_txn_upsert(t, T_P, T_S, "users", r, 4), -AEDB_ETYPE);
	t_row(r, 1, "x", 1, "t");
	r[3] = t_null();                                   /* NOT NULL, no default */
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), -AEDB_ENOTNULL);
	t_row(r, 1, "x", 1, "t");
	r[0] = t_null();                                   /* NULL key */
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), -AEDB_ENOTNULL);
	t_row(r, 1, "x", 1, "t");
	r[1] = t_text("\xc3\x28");                         /* invalid UTF-8 */
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), -AEDB_EINVAL);
	t_row(r, 1, "x", 1, "t");
	r[2] = t_null();                                   /* nullable: fine */
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), 0);
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "nosuch", r, 4), -AEDB_ENOTABLE);
	t_assert_rc(aedb_txn_insert(t, T_P, "nosuch", "users", r, 4), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "bad name", r, 4), -AEDB_ENAME);
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, NULL, r, 4), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", NULL, 4), -AEDB_EMISUSE);
	t_assert_rc(aedb_txn_insert(NULL, T_P, T_S, "users", r, 4), -AEDB_EMISUSE);
	pk[0] = t_u64(1);
	pk[1] = t_u64(2);
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "users", pk, 2), -AEDB_EINVAL);
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "users", pk, 0), -AEDB_EINVAL);
	pk[0] = t_text("1");
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "users", pk, 1), -AEDB_ETYPE);
	pk[0] = t_null();
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "users", pk, 1), -AEDB_ENOTNULL);
	/* only the one good entry was added; nothing committed yet */
	assert_int_equal(aedb_txn_mutation_count(t), 1);
	assert_true(aedb_visible_seq(db) == v);
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	t_expect_row(db, 9, NULL, 0, NULL);
	/* get_row argument errors */
	struct aedb_row *row = NULL;

	pk[0] = t_u64(1);
	t_assert_rc(aedb_get_row(db, T_P, T_S, "users", pk, 2, AEDB_LATEST, &row),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_get_row(db, T_P, T_S, "nosuch", pk, 1, AEDB_LATEST, &row),
		    -AEDB_ENOTABLE);
	t_assert_rc(aedb_get_row(db, T_P, T_S, "users", pk, 1, AEDB_LATEST, NULL),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_get_row(db, T_P, T_S, "users", pk, 1, AEDB_SEQ(1), &row),
		    -AEDB_ENOTABLE);
	t_assert_rc(aedb_get_row(db, T_P, T_S, "users", pk, 1, AEDB_LATEST, &row), 0);
	assert_int_equal(row->values[2].type, AEDB_TYPE_NULL);
	aedb_row_free(row);
	aedb_row_free(NULL);
	t_close(db);
}

/* Many rows on every shard, one duplicate: all or nothing. */
static void test_row_atomic_across_shards(void **state)
{
	struct aedb *db = t_open_p(4, NULL);
	struct aedb_commit_result res;
	struct aedb_value r[4];
	struct aedb_txn *t;
	char name[32];

	(void)state;
	t_create_users(db);
	t_row(r, 1000, "seed", 0, "s");
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", r, 4, 0, NULL), 0);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	for (uint64_t i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "n%llu", (unsigned long long)i);
		t_row(r, i, name, (int64_t)i, "t");
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), (int)i);
	}
	t_row(r, 1000, "dup", 0, "s");
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), 64);
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EEXIST);
	assert_int_equal(res.failed_index, 64);
	assert_true(res.shards > 1);
	for (uint64_t i = 0; i < 64; i++)
		t_expect_row(db, i, NULL, 0, NULL);
	/* without the duplicate it applies at one seq */
	aedb_txn_reset(t);
	for (uint64_t i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "n%llu", (unsigned long long)i);
		t_row(r, i, name, (int64_t)i, "t");
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), (int)i);
	}
	/* the same key twice in one transaction: the second insert fails */
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), 64);
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EEXIST);
	assert_int_equal(res.failed_index, 64);
	t_expect_row(db, 63, NULL, 0, NULL);
	aedb_txn_reset(t);
	for (uint64_t i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "n%llu", (unsigned long long)i);
		t_row(r, i, name, (int64_t)i, "t");
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), (int)i);
	}
	t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "kv", 2, "x", 1), 64);
	t_assert_rc(aedb_commit(db, t, &res), 0);
	for (uint64_t i = 0; i < 64; i++) {
		struct aedb_value pk = t_u64(i);
		struct aedb_row *row = NULL;

		t_assert_rc(aedb_get_row(db, T_P, T_S, "users", &pk, 1, AEDB_LATEST, &row), 0);
		assert_true(row->version == res.seq);
		aedb_row_free(row);
	}
	t_expects(db, "kv", "x");
	aedb_txn_free(t);
	t_close(db);
}

/* A table dropped between add and commit: -AEDB_ENOTABLE; recreated: empty. */
static void test_row_dropped_table(void **state)
{
	struct aedb *db = t_open_p(3, NULL);
	struct aedb_commit_result res;
	struct aedb_value r[4];
	struct aedb_txn *t;

	(void)state;
	t_create_users(db);
	t_row(r, 1, "a", 1, "t");
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", r, 4, 0, NULL), 0);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	t_row(r, 2, "b", 2, "t");
	t_assert_rc(aedb_txn_insert(t, T_P, T_S, "users", r, 4), 0);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "users"), 1);
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_ENOTABLE);
	t_create_users(db);
	t_expect_row(db, 1, NULL, 0, NULL);
	t_expect_row(db, 2, NULL, 0, NULL);
	/* the old builder still names the old table */
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_ENOTABLE);
	aedb_txn_free(t);
	t_close(db);
}

static void test_row_reopen(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_value r[4], pk = t_u64(3);
	struct aedb *db = NULL;

	(void)state;
	t_assert_rc(aedb_open(dir, NULL, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_create_users(db);
	for (uint64_t i = 0; i < 50; i++) {
		t_row(r, i, "r", (int64_t)i, "t");
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", r, 4, 0, NULL), 0);
	}
	t_row(r, 4, "four", -4, "u");
	t_assert_rc(aedb_upsert_row(db, T_P, T_S, "users", r, 4, 0, NULL), 0);
	t_assert_rc(aedb_delete_row(db, T_P, T_S, "users", &pk, 1, 1, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
	t_assert_rc(aedb_open(dir, NULL, &db), 0);
	for (uint64_t i = 0; i < 50; i++) {
		if (i == 3)
			t_expect_row(db, i, NULL, 0, NULL);
		else if (i == 4)
			t_expect_row(db, i, "four", -4, "u");
		else
			t_expect_row(db, i, "r", (int64_t)i, "t");
	}
	t_row(r, 5, "again", 0, "t");
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", r, 4, 0, NULL), -AEDB_EEXIST);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_insert_upsert_delete),
		cmocka_unit_test(test_row_bad_rows),
		cmocka_unit_test(test_row_atomic_across_shards),
		cmocka_unit_test(test_row_dropped_table),
		cmocka_unit_test(test_row_reopen),
	};

	t_cols_init();
	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
