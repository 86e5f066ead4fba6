/* SPDX-License-Identifier: MIT */
/*
 * table_fk_test - foreign keys (issue 5): declaration at create (validated,
 * listed by describe, durable across reopen and checkpoint), drop of a
 * referenced table refused, child columns pinned against ALTER TABLE, and
 * every child write path checking that its parent exists at commit
 * (one-row calls, batches, transactions, update-where, on-conflict upserts)
 * with nothing written on failure, at 1, 2 and 4 shards; parent deletes
 * with RESTRICT. The ON DELETE actions: table_fk_act_test.c.
 */
#include "fk_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void test_fk_declare(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_fk_def fk = t_fk("to_parent", "parent"), two[2], many[33];
	static const char *const bad_col[] = { "nope" };
	static const char *const id_col[] = { "id" };
	static const char *const n_col[] = { "n" };
	struct aedb_table_info *info;
	uint64_t v0;

	(void)state;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_ENOTABLE);
	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	v0 = aedb_visible_seq(db);
	/* bad definitions: a clear error, nothing created, no seq */
	fk.columns = bad_col;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_ENOCOLUMN);
	fk = t_fk("to_parent", "parent");
	fk.ncolumns = 0;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	fk = t_fk("to_parent", "parent");
	fk.ref_columns = n_col;   /* not a key column */
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	fk.ref_columns = bad_col;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_ENOCOLUMN);
	fk = t_fk("to_parent", "parent");
	fk.columns = id_col;      /* u64 -> u64: fine; but the name below clashes */
	two[0] = t_fk("same", "parent");
	two[1] = t_fk("same", "parent");
	t_assert_rc(t_create_child_fk(db, T_P, "child", two, 2), -AEDB_EINVAL);
	fk = t_fk("to_parent", "parent");
	fk.on_delete = 99;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	fk.on_delete = AEDB_FK_SET_DEFAULT + 1;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	/* SET NULL / SET DEFAULT cannot rewrite a primary-key column */
	fk.columns = id_col;
	fk.on_delete = AEDB_FK_SET_NULL;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	fk.on_delete = AEDB_FK_SET_DEFAULT;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	fk = t_fk("bad name", "parent");
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_ENAME);
	fk = t_fk("to_parent", NULL);
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EMISUSE);
	fk = t_fk("to_parent", "parent");
	fk.ref_project = "other";  /* another project (not _global) */
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	for (int i = 0; i < 33; i++)
		many[i] = t_fk("x", "parent");
	t_assert_rc(t_create_child_fk(db, T_P, "child", many, 33), -AEDB_ETOOBIG);
	t_assert_rc(t_create_child_fk(db, T_P, "child", NULL, 1), -AEDB_EMISUSE);
	{
		/* a type mismatch: child column integer, parent key u64 */
		static const struct aedb_column_def c[2] = {
			{ .name = "id", .type = AEDB_TYPE_U64 },
			{ .name = "pid", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
		};
		struct aedb_table_def d = { "child", c, 2, 1, t_pk_id };

		fk = t_fk("to_parent", "parent");
		t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &d, NULL, 0, &fk, 1),
			    -AEDB_ETYPE);
	}
	assert_true(aedb_visible_seq(db) == v0);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "child", &info), -AEDB_ENOTABLE);

	/* the good one; the same again is 0, another definition EEXIST */
	fk = t_fk("to_parent", "parent");
	fk.ref_columns = id_col;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 1);
	fk.ref_columns = NULL;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 0);
	t_assert_rc(t_create_child_fk(db, T_P, "child", NULL, 0), -AEDB_EEXIST);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "child", &info), 0);
	assert_int_equal(info->nfks, 1);
	assert_string_equal(info->fks[0].name, "to_parent");
	assert_string_equal(info->fks[0].ref_project, T_P);
	assert_string_equal(info->fks[0].ref_scope, T_S);
	assert_string_equal(info->fks[0].ref_table, "parent");
	assert_int_equal(info->fks[0].ncolumns, 1);
	assert_string_equal(info->fks[0].columns[0], "pid");
	assert_string_equal(info->fks[0].ref_columns[0], "id");
	assert_int_equal(info->fks[0].on_delete, AEDB_FK_RESTRICT);
	aedb_table_info_free(info);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "parent", &info), 0);
	assert_int_equal(info->nfks, 0);
	aedb_table_info_free(info);

	/* the parent cannot go while the child names it; nor its scope */
	v0 = aedb_visible_seq(db);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "parent"), -AEDB_EDEPEND);
	{
		struct aedb_alter a = { .kind = AEDB_ALTER_DROP_COLUMN, .name = "pid" };

		t_assert_rc(aedb_alter_table(db, T_P, T_S, "child", &a), -AEDB_EDEPEND);
		a.kind = AEDB_ALTER_RENAME_COLUMN;
		a.new_name = "pid2";
		t_assert_rc(aedb_alter_table(db, T_P, T_S, "child", &a), -AEDB_EDEPEND);
	}
	assert_true(aedb_visible_seq(db) == v0);
	assert_true(t_exists(db, "parent", 1) == 0);
	/* the child goes first, then the parent */
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "child"), 1);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "parent"), 1);

	/* a project drop that takes parent and child is fine */
	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 1);
	t_assert_rc(aedb_drop_project(db, T_P), 1);
	t_close(db);
}

/* "_global" rules: a project may name a _global table, not with CASCADE;
 * a _global table may not name a project's table. */
static void test_fk_global(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_fk_def fk = t_fk("g", "gparent");
	struct aedb_value pid = t_vu64(7);
	struct aedb_value r[2] = { t_vu64(7), t_vint(0) };

	(void)state;
	t_assert_rc(aedb_create_project(db, "_global"), 1);
	t_assert_rc(t_create_parent(db, "_global", "gparent"), 1);
	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	fk.ref_project = "_global";
	fk.on_delete = AEDB_FK_CASCADE;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), -AEDB_EINVAL);
	fk.on_delete = AEDB_FK_NO_ACTION;
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 1);
	/* _global -> a project table: refused */
	fk = t_fk("p", "parent");
	fk.ref_project = T_P;
	t_assert_rc(t_create_child_fk(db, "_global", "gchild", &fk, 1), -AEDB_EINVAL);
	/* the child checks the _global parent */
	t_assert_rc(t_ins(db, "child", 1, &pid, NULL), -AEDB_EFOREIGN);
	t_assert_rc(aedb_insert_row(db, "_global", T_S, "gparent", r, 2, 0, NULL), 0);
	t_assert_rc(t_ins(db, "child", 1, &pid, NULL), 0);
	/* _global cannot be dropped while a project names it */
	t_assert_rc(aedb_drop_project(db, "_global"), -AEDB_EDEPEND);
	t_assert_rc(aedb_drop_scope(db, "_global", T_S), -AEDB_EDEPEND);
	/* SET NULL into _global is allowed, and deleting the _global row
	 * rewrites the project's child */
	{
		static const struct aedb_column_def c[2] = {
			{ .name = "id", .type = AEDB_TYPE_U64 },
			{ .name = "pid", .type = AEDB_TYPE_U64, .nullable = 1 },
		};
		struct aedb_table_def d = { "gsn", c, 2, 1, t_pk_id };
		struct aedb_value g8[2] = { t_vu64(8), t_vint(0) }, pk8 = t_vu64(8);
		struct aedb_row *row = NULL;

		fk = t_fk("g", "gparent");
		fk.ref_project = "_global";
		fk.on_delete = AEDB_FK_SET_NULL;
		t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &d, NULL, 0, &fk, 1), 1);
		t_assert_rc(aedb_insert_row(db, "_global", T_S, "gparent", g8, 2, 0, NULL), 0);
		pid = t_vu64(8);
		t_assert_rc(t_ins(db, "gsn", 1, &pid, NULL), 0);
		t_assert_rc(aedb_delete_row(db, "_global", T_S, "gparent", &pk8, 1, 0, NULL), 0);
		t_assert_rc(aedb_get_row(db, T_P, T_S, "gsn", &pk8 /* id 8: none */, 1,
					 AEDB_LATEST, &row), -AEDB_ENOTFOUND);
		pk8 = t_vu64(1);
		t_assert_rc(aedb_get_row(db, T_P, T_S, "gsn", &pk8, 1, AEDB_LATEST, &row), 0);
		assert_int_equal(row->values[1].type, AEDB_TYPE_NULL);
		aedb_row_free(row);
	}
	/* _global -> _global may cascade */
	fk = t_fk("gc", "gparent");
	fk.on_delete = AEDB_FK_CASCADE;
	t_assert_rc(t_create_child_fk(db, "_global", "gchild", &fk, 1), 1);
	t_close(db);
}

/* Every child write path at @shards shards. */
static void t_child_writes(uint32_t shards)
{
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_fk_def fk = t_fk("to_parent", "parent");
	struct aedb_commit_result res;
	struct aedb_value pid, nul = t_null(), rows[8];
	struct aedb_txn *t;
	uint64_t v0;

	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 1);
	for (uint64_t i = 1; i <= 20; i++)
		t_assert_rc(t_ins_parent(db, i), 0);
	v0 = aedb_visible_seq(db);
	/* a missing parent: EFOREIGN, the row entry named, nothing written */
	pid = t_vu64(100);
	t_assert_rc(t_ins(db, "child", 1, &pid, &res), -AEDB_EFOREIGN);
	assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
	assert_int_equal(res.failed_index, 0);
	assert_true(aedb_visible_seq(db) == v0);
	assert_false(t_exists(db, "child", 1));
	/* MATCH SIMPLE: NULL is not checked; an existing parent is fine */
	t_assert_rc(t_ins(db, "child", 1, &nul, NULL), 0);
	for (uint64_t i = 2; i <= 20; i++) {
		pid = t_vu64(i);
		t_assert_rc(t_ins(db, "child", i, &pid, NULL), 0);
	}
	/* upsert to a missing parent */
	pid = t_vu64(999);
	{
		struct aedb_value r[2] = { t_vu64(2), pid };

		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "child", r, 2, 0, NULL), -AEDB_EFOREIGN);
	}
	/* a batch with one bad row writes nothing */
	for (uint64_t i = 0; i < 4; i++) {
		rows[2 * i] = t_vu64(100 + i);
		rows[2 * i + 1] = t_vu64(i == 3 ? 555 : i + 1);
	}
	v0 = aedb_visible_seq(db);
	t_assert_rc(aedb_insert_rows(db, T_P, T_S, "child", rows, 4, 2, 0, &res),
		    -AEDB_EFOREIGN);
	assert_int_equal(res.failed_index, 3);
	assert_true(aedb_visible_seq(db) == v0);
	for (uint64_t i = 0; i < 4; i++)
		assert_false(t_exists(db, "child", 100 + i));
	/* a transaction: a parent inserted earlier counts ... */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_value p[2] = { t_vu64(50), t_vint(1) };
		struct aedb_value c[2] = { t_vu64(50), t_vu64(50) };

		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "parent", p, 2), 0);
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "child", c, 2), 1);
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	assert_true(t_exists(db, "child", 50));
	/* ... a later one does not (immediate check, in entry order) */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_value p[2] = { t_vu64(51), t_vint(1) };
		struct aedb_value c[2] = { t_vu64(51), t_vu64(51) };

		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "child", c, 2), 0);
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "parent", p, 2), 1);
	}
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EFOREIGN);
	assert_int_equal(res.failed_index, 0);
	aedb_txn_free(t);
	assert_false(t_exists(db, "parent", 51));
	assert_false(t_exists(db, "child", 51));
	/* a parent deleted earlier in the transaction is gone for the child
	 * (parent 1 has no children: child 1 names NULL) */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_value pk = t_vu64(1), c[2] = { t_vu64(60), t_vu64(1) };

		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk, 1), 0);
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "child", c, 2), 1);
	}
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EFOREIGN);
	assert_int_equal(res.failed_index, 1);
	aedb_txn_free(t);
	assert_true(t_exists(db, "parent", 1));
	/* update-where to a missing parent, and to an existing one */
	{
		struct aedb_query *q;
		struct aedb_value two = t_vu64(2);
		struct aedb_set set = { .col = "pid", .op = AEDB_SET_VALUE };

		set.value = t_vu64(777);
		t_assert_rc(aedb_query_create("child", &q), 0);
		t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "id", &two)), 0);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL),
			    -AEDB_EFOREIGN);
		set.value = t_vu64(3);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL), 1);
		set.value = t_null();
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL), 1);
		aedb_query_free(q);
	}
	/* on-conflict upsert: the new row is checked */
	{
		struct aedb_value r[2] = { t_vu64(3), t_vu64(888) };

		t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "child", r, 1, 2,
						    AEDB_CONFLICT_MERGE, NULL, 0, 0, NULL),
			    -AEDB_EFOREIGN);
	}
	t_close(db);
}

/* Parent deletes (RESTRICT) at @shards shards: refused while a child names
 * the row, allowed once no child does; counts follow every child change. */
static void t_parent_deletes(uint32_t shards)
{
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_fk_def fk = t_fk("to_parent", "parent");
	struct aedb_commit_result res;
	struct aedb_value pid, nul = t_null();
	struct aedb_txn *t;
	uint64_t v0;

	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 1);
	for (uint64_t i = 1; i <= 10; i++)
		t_assert_rc(t_ins_parent(db, i), 0);
	/* children 1..6 name parent 1..3 (two each); parent 4..10 unnamed */
	for (uint64_t i = 1; i <= 6; i++) {
		pid = t_vu64((i + 1) / 2);
		t_assert_rc(t_ins(db, "child", i, &pid, NULL), 0);
	}
	v0 = aedb_visible_seq(db);
	t_assert_rc(t_delr(db, "parent", 1, &res), -AEDB_EFOREIGN);
	assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
	assert_int_equal(res.failed_index, 0);
	assert_true(aedb_visible_seq(db) == v0);
	assert_true(t_exists(db, "parent", 1));
	t_assert_rc(t_delr(db, "parent", 4, NULL), 0);
	assert_false(t_exists(db, "parent", 4));
	/* preflight sees the counts where they live (the parent's shard) */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_preflight *pf;
		struct aedb_value c1 = t_vu64(1), p1 = t_vu64(1);

		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c1, 1), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &p1, 1), 1);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, -AEDB_EFOREIGN);   /* child 2 names it too */
		aedb_preflight_free(pf);
		c1 = t_vu64(2);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c1, 1), 2);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, -AEDB_EFOREIGN);   /* parent deleted first */
		aedb_preflight_free(pf);
	}
	aedb_txn_free(t);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_preflight *pf;
		struct aedb_value c1 = t_vu64(1), c2 = t_vu64(2), p1 = t_vu64(1);

		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c1, 1), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c2, 1), 1);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &p1, 1), 2);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, 0);
		aedb_preflight_free(pf);
	}
	aedb_txn_free(t);
	/* one of two children gone: still refused; both gone: allowed */
	t_assert_rc(t_delr(db, "child", 1, NULL), 0);
	t_assert_rc(t_delr(db, "parent", 1, NULL), -AEDB_EFOREIGN);
	t_assert_rc(t_delr(db, "child", 2, NULL), 0);
	t_assert_rc(t_delr(db, "parent", 1, NULL), 0);
	/* children moved away (upsert, update to NULL): the counts follow */
	{
		struct aedb_value r[2] = { t_vu64(3), t_vu64(5) };

		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "child", r, 2, 0, NULL), 0);
	}
	{
		struct aedb_query *q;
		struct aedb_value four = t_vu64(4);
		struct aedb_set set = { .col = "pid", .op = AEDB_SET_VALUE };

		set.value = nul;
		t_assert_rc(aedb_query_create("child", &q), 0);
		t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "id", &four)), 0);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL), 1);
		aedb_query_free(q);
	}
	t_assert_rc(t_delr(db, "parent", 2, NULL), 0);
	t_assert_rc(t_delr(db, "parent", 5, NULL), -AEDB_EFOREIGN);
	/* a child and its parent deleted in one transaction, child first */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_value c5 = t_vu64(5), c6 = t_vu64(6), p3 = t_vu64(3);

		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c5, 1), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c6, 1), 1);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &p3, 1), 2);
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	assert_false(t_exists(db, "parent", 3));
	/* parent first: refused, nothing written */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_value c3 = t_vu64(3), p5 = t_vu64(5);

		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &p5, 1), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c3, 1), 1);
	}
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EFOREIGN);
	assert_int_equal(res.failed_index, 0);
	aedb_txn_free(t);
	assert_true(t_exists(db, "child", 3));
	/* delete-where over parents, one of them named: nothing deleted */
	{
		struct aedb_query *q;
		struct aedb_value five = t_vu64(5);

		t_assert_rc(aedb_query_create("parent", &q), 0);
		t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_GE, "id", &five)), 0);
		t_assert_rc(aedb_delete_where(db, T_P, T_S, q, 0, NULL), -AEDB_EFOREIGN);
		assert_true(t_exists(db, "parent", 6));
		t_assert_rc(t_delr(db, "child", 3, NULL), 0);
		t_assert_rc(aedb_delete_where(db, T_P, T_S, q, 0, NULL), 6);
		aedb_query_free(q);
	}
	t_close(db);
}

static void test_fk_parent_deletes(void **state)
{
	static const uint32_t shards[] = { 1, 2, 4 };

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		t_parent_deletes(shards[i]);
}

static void test_fk_child_writes(void **state)
{
	static const uint32_t shards[] = { 1, 2, 4 };

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		t_child_writes(shards[i]);
}

/* A composite key of two types, and a table naming itself. */
static void test_fk_composite_self(void **state)
{
	struct aedb *db = t_open_p(3, NULL);
	static const struct aedb_column_def pc[3] = {
		{ .name = "a", .type = AEDB_TYPE_TEXT },
		{ .name = "b", .type = AEDB_TYPE_INTEGER },
		{ .name = "v", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	static const char *const pk_ab[] = { "a", "b" };
	static const struct aedb_column_def cc[3] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "y", .type = AEDB_TYPE_INTEGER },
		{ .name = "x", .type = AEDB_TYPE_TEXT },
	};
	static const char *const cols_yx[] = { "y", "x" }, *const refs_ba[] = { "b", "a" };
	static const struct aedb_column_def ec[2] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "boss", .type = AEDB_TYPE_U64, .nullable = 1 },
	};
	static const char *const boss[] = { "boss" };
	struct aedb_table_def pd = { "pair", pc, 3, 2, pk_ab }, cd = { "cref", cc, 3, 1, t_pk_id };
	struct aedb_table_def ed = { "emp", ec, 2, 1, t_pk_id };
	struct aedb_fk_def fk = { .name = "to_pair", .columns = cols_yx, .ncolumns = 2,
				  .ref_table = "pair", .ref_columns = refs_ba };
	struct aedb_fk_def self = { .name = "to_boss", .columns = boss, .ncolumns = 1,
				    .ref_table = "emp" };
	struct aedb_value p[3] = { { .type = AEDB_TYPE_TEXT }, t_vint(5), t_null() };
	struct aedb_value c[3] = { t_vu64(1), t_vint(5), { .type = AEDB_TYPE_TEXT } };
	struct aedb_table_info *info;

	(void)state;
	p[0].u.bytes = "k";
	p[0].len = 1;
	c[2].u.bytes = "k";
	c[2].len = 1;
	t_assert_rc(aedb_create_table(db, T_P, T_S, &pd), 1);
	t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &cd, NULL, 0, &fk, 1), 1);
	/* stored in the parent key's order */
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "cref", &info), 0);
	assert_string_equal(info->fks[0].columns[0], "x");
	assert_string_equal(info->fks[0].columns[1], "y");
	assert_string_equal(info->fks[0].ref_columns[0], "a");
	assert_string_equal(info->fks[0].ref_columns[1], "b");
	aedb_table_info_free(info);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "cref", c, 3, 0, NULL), -AEDB_EFOREIGN);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "pair", p, 3, 0, NULL), 0);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "cref", c, 3, 0, NULL), 0);
	c[0] = t_vu64(2);
	c[1] = t_vint(6);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "cref", c, 3, 0, NULL), -AEDB_EFOREIGN);

	/* self-reference: the boss must be an employee (or NULL) */
	t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &ed, NULL, 0, &self, 1), 1);
	{
		struct aedb_value e1[2] = { t_vu64(1), t_null() }, e2[2] = { t_vu64(2), t_vu64(1) };
		struct aedb_value e3[2] = { t_vu64(3), t_vu64(3) };
		struct aedb_value e4[2] = { t_vu64(4), t_vu64(9) };

		t_assert_rc(aedb_insert_row(db, T_P, T_S, "emp", e2, 2, 0, NULL), -AEDB_EFOREIGN);
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "emp", e1, 2, 0, NULL), 0);
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "emp", e2, 2, 0, NULL), 0);
		/* a row naming itself: its own entry comes first */
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "emp", e3, 2, 0, NULL), 0);
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "emp", e4, 2, 0, NULL), -AEDB_EFOREIGN);
		/* the boss of 2 stays while 2 does; 3 names only itself */
		t_assert_rc(t_delr(db, "emp", 1, NULL), -AEDB_EFOREIGN);
		t_assert_rc(t_delr(db, "emp", 3, NULL), 0);
		t_assert_rc(t_delr(db, "emp", 2, NULL), 0);
		t_assert_rc(t_delr(db, "emp", 1, NULL), 0);
	}
	/* bad input naming the table itself: an error, no crash */
	{
		static const char *const id_ref[] = { "id" }, *const null_pk[] = { NULL };
		struct aedb_table_def bad = { "emp2", ec, 2, 1, null_pk };
		struct aedb_fk_def sf = self;

		sf.ref_table = "emp2";
		sf.ref_columns = id_ref;
		t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &bad, NULL, 0, &sf, 1),
			    -AEDB_EMISUSE);
		bad.pk = NULL;
		t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &bad, NULL, 0, &sf, 1),
			    -AEDB_EMISUSE);
		bad.pk = t_pk_id;
		bad.columns = NULL;
		t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &bad, NULL, 0, &sf, 1),
			    -AEDB_EMISUSE);
	}
	/* a table naming itself can be dropped */
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "emp"), 1);
	t_close(db);
}

/* The foreign keys survive a reopen, a checkpoint and a reopen after it. */
static void test_fk_reopen(void **state)
{
	struct aedb_fk_def fk = t_fk("to_parent", "parent");
	struct aedb_value pid = t_vu64(5), bad = t_vu64(6);
	struct aedb_config cfg;
	struct aedb *db;
	char *dir = t_tmpdir();

	(void)state;
	aedb_config_init(&cfg);
	cfg.shards = 2;
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 1);
	t_assert_rc(t_ins_parent(db, 5), 0);
	t_assert_rc(t_ins(db, "child", 1, &pid, NULL), 0);
	for (int round = 0; round < 3; round++) {
		struct aedb_table_info *info;

		t_assert_rc(aedb_close(db), 0);
		t_assert_rc(aedb_open(dir, &cfg, &db), 0);
		t_assert_rc(t_ins(db, "child", 10 + (uint64_t)round, &bad, NULL), -AEDB_EFOREIGN);
		t_assert_rc(t_ins(db, "child", 10 + (uint64_t)round, &pid, NULL), 0);
		t_assert_rc(aedb_drop_table(db, T_P, T_S, "parent"), -AEDB_EDEPEND);
		/* the counts came back: parent 5 is named, 7 is not */
		t_assert_rc(t_delr(db, "parent", 5, NULL), -AEDB_EFOREIGN);
		t_assert_rc(t_ins_parent(db, 7), 0);
		t_assert_rc(t_delr(db, "parent", 7, NULL), 0);
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "child", &info), 0);
		assert_int_equal(info->nfks, 1);
		assert_string_equal(info->fks[0].ref_table, "parent");
		aedb_table_info_free(info);
		if (round == 0)
			t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	}
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

/*
 * The race: child inserts, child deletes and parent deletes/re-inserts on
 * three threads at 4 shards (parents and children mostly on different
 * shards, so most commits are cross-shard). Afterwards no child names an
 * absent parent, and a parent can be deleted exactly when no child names it
 * (the counts agree with the rows).
 */
#define T_RACE_PARENTS 8u
#define T_RACE_OPS 300u

static void *t_race(void *arg)
{
	struct t_racer *r = arg;

	for (uint32_t i = 0; i < T_RACE_OPS; i++) {
		uint64_t x = t_rand(&r->seed), p = 1 + x % T_RACE_PARENTS;
		struct aedb_value pid = t_vu64(p);
		int rc;

		if (r->role == 0) {
			rc = t_ins(r->db, "child", r->next_child++, &pid, NULL);
			r->bad += rc != 0 && rc != -AEDB_EFOREIGN && rc != -AEDB_ECONFLICT &&
				  rc != -AEDB_EBUSY;
		} else if (r->role == 1) {
			rc = t_delr(r->db, "child", 1 + (x >> 8) % r->next_child, NULL);
			r->bad += rc != 0 && rc != -AEDB_ECONFLICT && rc != -AEDB_EBUSY;
		} else if ((x >> 20) & 1) {
			rc = t_delr(r->db, "parent", p, NULL);
			r->bad += rc != 0 && rc != -AEDB_EFOREIGN && rc != -AEDB_ECONFLICT &&
				  rc != -AEDB_EBUSY;
		} else {
			rc = t_ins_parent(r->db, p);
			r->bad += rc != 0 && rc != -AEDB_EEXIST && rc != -AEDB_ECONFLICT &&
				  rc != -AEDB_EBUSY;
		}
	}
	return NULL;
}

static void test_fk_race(void **state)
{
	struct aedb *db = t_open_p(4, NULL);
	struct aedb_fk_def fk = t_fk("to_parent", "parent");
	uint64_t seed = t_seed("test_fk_race");
	struct t_racer r[3];
	pthread_t th[3];
	uint32_t named[T_RACE_PARENTS + 1] = { 0 }, orphans = 0;
	uint64_t nchild = 1 + T_RACE_OPS;

	(void)state;
	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_child_fk(db, T_P, "child", &fk, 1), 1);
	for (uint64_t p = 1; p <= T_RACE_PARENTS; p++)
		t_assert_rc(t_ins_parent(db, p), 0);
	for (int i = 0; i < 3; i++) {
		r[i] = (struct t_racer){ .db = db, .seed = seed + (uint64_t)i, .role = i,
					 .next_child = 1 };
		if (i == 1)
			r[i].next_child = nchild;  /* deletes ids 1..T_RACE_OPS */
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, t_race, &r[i]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].bad, 0);
	/* no orphan */
	for (uint64_t c = 1; c < nchild; c++) {
		struct aedb_value pk = t_vu64(c);
		struct aedb_row *row = NULL;
		int rc = aedb_get_row(db, T_P, T_S, "child", &pk, 1, AEDB_LATEST, &row);

		if (rc == -AEDB_ENOTFOUND)
			continue;
		t_assert_rc(rc, 0);
		if (row->values[1].type == AEDB_TYPE_U64) {
			uint64_t p = row->values[1].u.u64;

			named[p]++;
			orphans += !t_exists(db, "parent", p);
		}
		aedb_row_free(row);
	}
	assert_int_equal(orphans, 0);
	/* the counts agree: a parent goes exactly when no child names it */
	for (uint64_t p = 1; p <= T_RACE_PARENTS; p++) {
		if (!t_exists(db, "parent", p))
			continue;
		t_assert_rc(t_delr(db, "parent", p, NULL), named[p] ? -AEDB_EFOREIGN : 0);
	}
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fk_declare),
		cmocka_unit_test(test_fk_global),
		cmocka_unit_test(test_fk_child_writes),
		cmocka_unit_test(test_fk_parent_deletes),
		cmocka_unit_test(test_fk_race),
		cmocka_unit_test(test_fk_composite_self),
		cmocka_unit_test(test_fk_reopen),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
