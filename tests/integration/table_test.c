/* SPDX-License-Identifier: MIT */
/*
 * table_test - table DDL (issue 5): create/describe/list/drop, bad
 * definitions, duplicates, drops that cascade from scopes and projects,
 * durability across reopen, drop then recreate.
 */
#include "it_common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const t_pk_id[] = { "id" };

/* users(id u64 pk, name text not null, score integer default 7, note json null) */
static struct aedb_column_def t_cols[4];

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
	t_cols[2].def.type = AEDB_TYPE_INTEGER;
	t_cols[2].def.u.i64 = -7;
	t_cols[3].name = "note";
	t_cols[3].type = AEDB_TYPE_JSON;
	t_cols[3].nullable = 1;
}

static struct aedb_table_def t_def(const char *name)
{
	struct aedb_table_def d = {
		.name = name, .columns = t_cols, .ncolumns = 4, .npk = 1, .pk = t_pk_id,
	};

	return d;
}

static void t_expect_tables(struct aedb *db, const char *scope, const char *const *want,
			    uint32_t n)
{
	struct aedb_names *names = NULL;

	t_assert_rc(aedb_list_tables(db, T_P, scope, &names), 0);
	assert_int_equal(names->count, n);
	for (uint32_t i = 0; i < n; i++)
		assert_string_equal(names->names[i], want[i]);
	aedb_names_free(names);
}

/* The description of "users"-like table @name matches t_def(). */
static void t_expect_described(struct aedb *db, const char *name)
{
	struct aedb_table_info *info = NULL;

	t_assert_rc(aedb_describe_table(db, T_P, T_S, name, &info), 0);
	assert_string_equal(info->def.name, name);
	assert_true(info->id > 0);
	assert_true(info->created_seq > 0);
	assert_int_equal(info->def.ncolumns, 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_string_equal(info->def.columns[i].name, t_cols[i].name);
		assert_int_equal(info->def.columns[i].type, t_cols[i].type);
		assert_int_equal(info->def.columns[i].nullable, t_cols[i].nullable);
		assert_int_equal(info->def.columns[i].def.type, t_cols[i].def.type);
	}
	assert_int_equal(info->def.columns[1].def.len, 4);
	assert_memory_equal(info->def.columns[1].def.u.bytes, "anon", 4);
	assert_true(info->def.columns[2].def.u.i64 == -7);
	assert_int_equal(info->def.npk, 1);
	assert_string_equal(info->def.pk[0], "id");
	aedb_table_info_free(info);
}

static void test_table_create_describe_list_drop(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_open_p(t_shard_counts[k], NULL);
		struct aedb_table_def d = t_def("users");
		struct aedb_table_def e = t_def("events");
		const char *const both[] = { "events", "users" };
		struct aedb_table_info *info = NULL;
		struct aedb_names *scopes = NULL;
		uint64_t v0 = aedb_visible_seq(db);
		uint32_t sid;

		t_expect_tables(db, T_S, NULL, 0);
		t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
		assert_true(aedb_visible_seq(db) > v0);
		t_expect_described(db, "users");
		t_assert_rc(aedb_create_table(db, T_P, T_S, &e), 1);
		t_expect_tables(db, T_S, both, 2);
		/* tables are not scopes, and their ids are not scope ids */
		t_assert_rc(aedb_list_scopes(db, T_P, &scopes), 0);
		assert_int_equal(scopes->count, 1);
		aedb_names_free(scopes);
		t_assert_rc(aedb_scope_id(db, T_P, T_S, &sid), 0);
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), 0);
		assert_true(info->id != sid);
		aedb_table_info_free(info);
		/* KV in the scope is untouched */
		t_sets(db, "k", "v");
		t_expects(db, "k", "v");

		t_assert_rc(aedb_drop_table(db, T_P, T_S, "users"), 1);
		t_assert_rc(aedb_drop_table(db, T_P, T_S, "users"), 0);
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), -AEDB_ENOTABLE);
		t_expect_tables(db, T_S, both, 1);
		t_expects(db, "k", "v");
		t_close(db);
	}
}

static void test_table_duplicates(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_table_def d = t_def("users");
	struct aedb_column_def other[4];
	uint64_t v;

	(void)state;
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	v = aedb_visible_seq(db);
	/* the same definition again: no change, no seq */
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 0);
	assert_true(aedb_visible_seq(db) == v);
	/* the same name, another definition */
	memcpy(other, t_cols, sizeof(other));
	other[3].nullable = 0;
	d.columns = other;
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), -AEDB_EEXIST);
	other[3].nullable = 1;
	other[2].def.u.i64 = 8;
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), -AEDB_EEXIST);
	/* the same name in another scope is another table */
	t_assert_rc(aedb_create_scope(db, T_P, "other"), 1);
	t_assert_rc(aedb_create_table(db, T_P, "other", &d), 1);
	t_expect_described(db, "users");
	t_close(db);
}

/* A table's namespace id is not a KV scope: SQE KV requests on it fail. */
static void test_table_id_is_not_kv(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_table_def d = t_def("users");
	struct aedb_table_info *info = NULL;
	struct aedb_kv_read rd = { 0 };
	struct aedb_ring ring;
	struct aedb_cqe *cqe;

	(void)state;
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), 0);
	t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
	aedb_prep_kv_set(aedb_get_sqe(&ring), info->id, "k", 1, "v", 1, 0, NULL);
	aedb_prep_kv_get(aedb_get_sqe(&ring), info->id, "k", 1, AEDB_LATEST, &rd);
	t_assert_rc(aedb_submit(&ring), 2);
	for (int i = 0; i < 2; i++) {
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		t_assert_rc(cqe->res, -AEDB_ENOSCOPE);
		aedb_cqe_seen(&ring, cqe);
	}
	aedb_ring_exit(&ring);
	aedb_table_info_free(info);
	t_close(db);
}

static void test_table_bad_definitions(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_column_def c[4];
	struct aedb_table_def d;
	const char *const pk_name[] = { "name" };
	const char *const pk_note[] = { "note" };
	const char *const pk_none[] = { "nope" };
	const char *const pk_twice[] = { "id", "id" };
	uint64_t v;

	(void)state;
	v = aedb_visible_seq(db);
#define T_BAD(want)                                                                 \
	do {                                                                        \
		t_assert_rc(aedb_create_table(db, T_P, T_S, &d), (want));            \
		memcpy(c, t_cols, sizeof(c));                                       \
		d = t_def("t");                                                     \
		d.columns = c;                                                      \
	} while (0)
	memcpy(c, t_cols, sizeof(c));
	d = t_def("t");
	d.columns = c;
	d.name = "bad name";
	T_BAD(-AEDB_ENAME);
	d.name = "__kv_index";
	T_BAD(-AEDB_ERESERVED);
	d.ncolumns = 0;
	T_BAD(-AEDB_EINVAL);
	c[1].type = 0;
	T_BAD(-AEDB_EINVAL);
	c[1].type = 99;
	T_BAD(-AEDB_EINVAL);
	c[1].name = "id";
	T_BAD(-AEDB_EINVAL);
	c[1].name = "";
	T_BAD(-AEDB_ENAME);
	c[2].def.type = AEDB_TYPE_U64;
	T_BAD(-AEDB_ETYPE);
	c[1].def.u.bytes = "\xff\xfe";
	c[1].def.len = 2;
	T_BAD(-AEDB_EINVAL);
	d.npk = 0;
	T_BAD(-AEDB_EINVAL);
	d.pk = pk_none;
	T_BAD(-AEDB_EINVAL);
	d.pk = pk_twice;
	d.npk = 2;
	T_BAD(-AEDB_EINVAL);
	d.pk = pk_note;
	T_BAD(-AEDB_EINVAL);
	d.ncolumns = 2000;
	T_BAD(-AEDB_ETOOBIG);
	d.columns = NULL;
	T_BAD(-AEDB_EMISUSE);
	c[0].name = NULL;
	T_BAD(-AEDB_EMISUSE);
	t_assert_rc(aedb_create_table(db, T_P, T_S, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_create_table(db, T_P, "nosuch", &d), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_create_table(db, "nosuch", T_S, &d), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_create_table(NULL, T_P, T_S, &d), -AEDB_EMISUSE);
#undef T_BAD
	/* nothing was created, no seq taken */
	assert_true(aedb_visible_seq(db) == v);
	t_expect_tables(db, T_S, NULL, 0);
	/* a text primary key is fine */
	d.pk = pk_name;
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	t_close(db);
}

static void test_table_missing_and_bad_names(void **state)
{
	struct aedb *db = t_open_p(1, NULL);
	struct aedb_table_info *info = NULL;
	struct aedb_names *names = NULL;

	(void)state;
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "none", &info), -AEDB_ENOTABLE);
	t_assert_rc(aedb_describe_table(db, T_P, "none", "none", &info), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_describe_table(db, "none", T_S, "none", &info), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "a b", &info), -AEDB_ENAME);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, NULL, &info), -AEDB_EMISUSE);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "x", NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_list_tables(db, T_P, "none", &names), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_list_tables(db, "none", T_S, &names), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_list_tables(db, T_P, T_S, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_table(db, T_P, "none", "x"), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_drop_table(db, "none", T_S, "x"), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "a b"), -AEDB_ENAME);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_table(NULL, T_P, T_S, "x"), -AEDB_EMISUSE);
	aedb_table_info_free(NULL);
	t_close(db);
}

static void test_table_drop_cascades(void **state)
{
	struct aedb *db = t_open_p(3, NULL);
	struct aedb_table_def d = t_def("users");
	struct aedb_table_info *info = NULL;

	(void)state;
	t_assert_rc(aedb_create_scope(db, T_P, "s2"), 1);
	t_assert_rc(aedb_create_table(db, T_P, "s2", &d), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	t_assert_rc(aedb_drop_scope(db, T_P, "s2"), 1);
	t_assert_rc(aedb_create_scope(db, T_P, "s2"), 1);
	t_expect_tables(db, "s2", NULL, 0);
	t_expect_described(db, "users");
	t_assert_rc(aedb_drop_project(db, T_P), 1);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), -AEDB_ENOTABLE);
	t_close(db);
}

/* Recreated tables get new ids; everything survives reopen. */
static void test_table_reopen_and_recreate(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_table_def d = t_def("users");
	struct aedb_table_def e = t_def("events");
	const char *const names[] = { "events", "users" };
	struct aedb_table_info *info = NULL;
	struct aedb *db = NULL;
	uint32_t id1, id2;

	(void)state;
	t_assert_rc(aedb_open(dir, NULL, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), 0);
	id1 = info->id;
	aedb_table_info_free(info);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "users"), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &e), 1);
	t_assert_rc(aedb_create_scope(db, T_P, "gone"), 1);
	t_assert_rc(aedb_create_table(db, T_P, "gone", &e), 1);
	t_assert_rc(aedb_drop_scope(db, T_P, "gone"), 1);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), 0);
	id2 = info->id;
	assert_true(id2 != id1);
	aedb_table_info_free(info);
	t_assert_rc(aedb_close(db), 0);

	for (int round = 0; round < 2; round++) {
		t_assert_rc(aedb_open(dir, NULL, &db), 0);
		t_expect_tables(db, T_S, names, 2);
		t_expect_described(db, "users");
		t_expect_described(db, "events");
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), 0);
		assert_int_equal(info->id, id2);
		aedb_table_info_free(info);
		t_assert_rc(aedb_describe_table(db, T_P, "gone", "events", &info),
			    -AEDB_ENOSCOPE);
		/* a table made after reopen takes a fresh id */
		if (round == 0) {
			struct aedb_table_def f = t_def("later");

			t_assert_rc(aedb_create_table(db, T_P, T_S, &f), 1);
			t_assert_rc(aedb_describe_table(db, T_P, T_S, "later", &info), 0);
			assert_true(info->id > id2);
			aedb_table_info_free(info);
			t_assert_rc(aedb_drop_table(db, T_P, T_S, "later"), 1);
		}
		t_assert_rc(aedb_close(db), 0);
	}
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_create_describe_list_drop),
		cmocka_unit_test(test_table_duplicates),
		cmocka_unit_test(test_table_id_is_not_kv),
		cmocka_unit_test(test_table_bad_definitions),
		cmocka_unit_test(test_table_missing_and_bad_names),
		cmocka_unit_test(test_table_drop_cascades),
		cmocka_unit_test(test_table_reopen_and_recreate),
	};

	t_cols_init();
	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
