/* SPDX-License-Identifier: MIT */
/*
 * table_fk_test - foreign keys (issue 5): declaration at create (validated,
 * listed by describe, durable across reopen and checkpoint), drop of a
 * referenced table refused, child columns pinned against ALTER TABLE, and
 * every child write path checking that its parent exists at commit
 * (one-row calls, batches, transactions, update-where, on-conflict upserts)
 * with nothing written on failure, at 1, 2 and 4 shards.
 */
#include "it_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const t_pk_id[] = { "id" };
static const char *const t_pid[] = { "pid" };

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

static struct aedb_value t_null(void)
{
	struct aedb_value v = { .type = AEDB_TYPE_NULL };

	return v;
}

/* parent(id u64 pk, n integer) */
static int t_create_parent(struct aedb *db, const char *project, const char *name)
{
	static const struct aedb_column_def c[2] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "n", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_table_def d = { name, c, 2, 1, t_pk_id };

	return aedb_create_table(db, project, T_S, &d);
}

/* child(id u64 pk, pid u64 null) with foreign key @fk (pid -> parent). */
static int t_create_child_fk(struct aedb *db, const char *project, const char *name,
			     const struct aedb_fk_def *fk, uint32_t nfk)
{
	static const struct aedb_column_def c[2] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "pid", .type = AEDB_TYPE_U64, .nullable = 1 },
	};
	struct aedb_table_def d = { name, c, 2, 1, t_pk_id };

	return aedb_create_table_ex(db, project, T_S, &d, NULL, 0, fk, nfk);
}

static struct aedb_fk_def t_fk(const char *name, const char *parent)
{
	struct aedb_fk_def fk = {
		.name = name, .columns = t_pid, .ncolumns = 1, .ref_table = parent,
		.on_delete = AEDB_FK_RESTRICT,
	};

	return fk;
}

static int t_ins(struct aedb *db, const char *table, uint64_t id, const struct aedb_value *pid,
		 struct aedb_commit_result *res)
{
	struct aedb_value r[2] = { t_u64(id), *pid };

	return aedb_insert_row(db, T_P, T_S, table, r, 2, 0, res);
}

static int t_ins_parent(struct aedb *db, uint64_t id)
{
	struct aedb_value r[2] = { t_u64(id), t_int(0) };

	return aedb_insert_row(db, T_P, T_S, "parent", r, 2, 0, NULL);
}

static int t_exists(struct aedb *db, const char *table, uint64_t id)
{
	struct aedb_value pk = t_u64(id);
	struct aedb_row *r = NULL;
	int rc = aedb_get_row(db, T_P, T_S, table, &pk, 1, AEDB_LATEST, &r);

	aedb_row_free(r);
	assert_true(rc == 0 || rc == -AEDB_ENOTFOUND);
	return rc == 0;
}

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
	struct aedb_value pid = t_u64(7);
	struct aedb_value r[2] = { t_u64(7), t_int(0) };

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
		struct aedb_value g8[2] = { t_u64(8), t_int(0) }, pk8 = t_u64(8);
		struct aedb_row *row = NULL;

		fk = t_fk("g", "gparent");
		fk.ref_project = "_global";
		fk.on_delete = AEDB_FK_SET_NULL;
		t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &d, NULL, 0, &fk, 1), 1);
		t_assert_rc(aedb_insert_row(db, "_global", T_S, "gparent", g8, 2, 0, NULL), 0);
		pid = t_u64(8);
		t_assert_rc(t_ins(db, "gsn", 1, &pid, NULL), 0);
		t_assert_rc(aedb_delete_row(db, "_global", T_S, "gparent", &pk8, 1, 0, NULL), 0);
		t_assert_rc(aedb_get_row(db, T_P, T_S, "gsn", &pk8 /* id 8: none */, 1,
					 AEDB_LATEST, &row), -AEDB_ENOTFOUND);
		pk8 = t_u64(1);
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
	pid = t_u64(100);
	t_assert_rc(t_ins(db, "child", 1, &pid, &res), -AEDB_EFOREIGN);
	assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
	assert_int_equal(res.failed_index, 0);
	assert_true(aedb_visible_seq(db) == v0);
	assert_false(t_exists(db, "child", 1));
	/* MATCH SIMPLE: NULL is not checked; an existing parent is fine */
	t_assert_rc(t_ins(db, "child", 1, &nul, NULL), 0);
	for (uint64_t i = 2; i <= 20; i++) {
		pid = t_u64(i);
		t_assert_rc(t_ins(db, "child", i, &pid, NULL), 0);
	}
	/* upsert to a missing parent */
	pid = t_u64(999);
	{
		struct aedb_value r[2] = { t_u64(2), pid };

		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "child", r, 2, 0, NULL), -AEDB_EFOREIGN);
	}
	/* a batch with one bad row writes nothing */
	for (uint64_t i = 0; i < 4; i++) {
		rows[2 * i] = t_u64(100 + i);
		rows[2 * i + 1] = t_u64(i == 3 ? 555 : i + 1);
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
		struct aedb_value p[2] = { t_u64(50), t_int(1) }, c[2] = { t_u64(50), t_u64(50) };

		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "parent", p, 2), 0);
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "child", c, 2), 1);
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	assert_true(t_exists(db, "child", 50));
	/* ... a later one does not (immediate check, in entry order) */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_value p[2] = { t_u64(51), t_int(1) }, c[2] = { t_u64(51), t_u64(51) };

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
		struct aedb_value pk = t_u64(1), c[2] = { t_u64(60), t_u64(1) };

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
		struct aedb_value two = t_u64(2);
		struct aedb_set set = { .col = "pid", .op = AEDB_SET_VALUE };

		set.value = t_u64(777);
		t_assert_rc(aedb_query_create("child", &q), 0);
		t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "id", &two)), 0);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL),
			    -AEDB_EFOREIGN);
		set.value = t_u64(3);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL), 1);
		set.value = t_null();
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL), 1);
		aedb_query_free(q);
	}
	/* on-conflict upsert: the new row is checked */
	{
		struct aedb_value r[2] = { t_u64(3), t_u64(888) };

		t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "child", r, 1, 2,
						    AEDB_CONFLICT_MERGE, NULL, 0, 0, NULL),
			    -AEDB_EFOREIGN);
	}
	t_close(db);
}

static int t_delr(struct aedb *db, const char *table, uint64_t id,
		 struct aedb_commit_result *res)
{
	struct aedb_value pk = t_u64(id);

	return aedb_delete_row(db, T_P, T_S, table, &pk, 1, 0, res);
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
		pid = t_u64((i + 1) / 2);
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
		struct aedb_value c1 = t_u64(1), p1 = t_u64(1);

		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c1, 1), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &p1, 1), 1);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, -AEDB_EFOREIGN);   /* child 2 names it too */
		aedb_preflight_free(pf);
		c1 = t_u64(2);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "child", &c1, 1), 2);
		t_assert_rc(aedb_preflight(db, t, &pf), 0);
		assert_int_equal(pf->error, -AEDB_EFOREIGN);   /* parent deleted first */
		aedb_preflight_free(pf);
	}
	aedb_txn_free(t);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_preflight *pf;
		struct aedb_value c1 = t_u64(1), c2 = t_u64(2), p1 = t_u64(1);

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
		struct aedb_value r[2] = { t_u64(3), t_u64(5) };

		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "child", r, 2, 0, NULL), 0);
	}
	{
		struct aedb_query *q;
		struct aedb_value four = t_u64(4);
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
		struct aedb_value c5 = t_u64(5), c6 = t_u64(6), p3 = t_u64(3);

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
		struct aedb_value c3 = t_u64(3), p5 = t_u64(5);

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
		struct aedb_value five = t_u64(5);

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
	struct aedb_value p[3] = { { .type = AEDB_TYPE_TEXT }, t_int(5), t_null() };
	struct aedb_value c[3] = { t_u64(1), t_int(5), { .type = AEDB_TYPE_TEXT } };
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
	c[0] = t_u64(2);
	c[1] = t_int(6);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "cref", c, 3, 0, NULL), -AEDB_EFOREIGN);

	/* self-reference: the boss must be an employee (or NULL) */
	t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &ed, NULL, 0, &self, 1), 1);
	{
		struct aedb_value e1[2] = { t_u64(1), t_null() }, e2[2] = { t_u64(2), t_u64(1) };
		struct aedb_value e3[2] = { t_u64(3), t_u64(3) }, e4[2] = { t_u64(4), t_u64(9) };

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
	struct aedb_value pid = t_u64(5), bad = t_u64(6);
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

/* ---- ON DELETE actions: CASCADE, SET NULL, SET DEFAULT ---- */

#define T_NONE UINT64_MAX   /* t_get3: the pid is NULL */

/* @name(id u64 pk, pid u64, n integer), pid -> @parent ON DELETE @action;
 * pid NOT NULL if @notnull, with default @def (NULL: none). */
static int t_create_act(struct aedb *db, const char *project, const char *name,
			const char *parent, uint32_t action, int notnull,
			const struct aedb_value *def)
{
	struct aedb_column_def c[3] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "pid", .type = AEDB_TYPE_U64, .nullable = !notnull },
		{ .name = "n", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_table_def d = { name, c, 3, 1, t_pk_id };
	struct aedb_fk_def fk = t_fk("up", parent);

	fk.on_delete = action;
	if (def)
		c[1].def = *def;
	return aedb_create_table_ex(db, project, T_S, &d, NULL, 0, &fk, 1);
}

/* Insert (@id, @pid or NULL if T_NONE, @n) into @table. */
static int t_ins3(struct aedb *db, const char *table, uint64_t id, uint64_t pid, int64_t n)
{
	struct aedb_value r[3] = { t_u64(id), pid == T_NONE ? t_null() : t_u64(pid), t_int(n) };

	return aedb_insert_row(db, T_P, T_S, table, r, 3, 0, NULL);
}

/* Row @id of @table: 1 with its pid (T_NONE for NULL) and n, or 0. */
static int t_get3(struct aedb *db, const char *table, uint64_t id, uint64_t *pid, int64_t *n)
{
	struct aedb_value pk = t_u64(id);
	struct aedb_row *r = NULL;
	int rc = aedb_get_row(db, T_P, T_S, table, &pk, 1, AEDB_LATEST, &r);

	if (rc == -AEDB_ENOTFOUND)
		return 0;
	t_assert_rc(rc, 0);
	assert_int_equal(r->ncols, 3);
	*pid = r->values[1].type == AEDB_TYPE_NULL ? T_NONE : r->values[1].u.u64;
	*n = r->values[2].u.i64;
	aedb_row_free(r);
	return 1;
}

static void t_assert_row3(struct aedb *db, const char *table, uint64_t id, uint64_t pid,
			  int64_t n)
{
	uint64_t p = 0;
	int64_t x = 0;

	assert_true(t_get3(db, table, id, &p, &x));
	assert_int_equal(p, pid);
	assert_int_equal(x, n);
}

static void t_assert_gone3(struct aedb *db, const char *table, uint64_t id)
{
	uint64_t p;
	int64_t x;

	assert_false(t_get3(db, table, id, &p, &x));
}

#define T_ACT_ROWS 24u

/* An index on @table's (pid[, n]): the actions find the children through
 * it instead of scanning the table. */
static void t_index_pid(struct aedb *db, const char *table, int unique, int with_n)
{
	static const char *const cols[] = { "pid", "n" };
	struct aedb_index_def d = { .name = "by_pid", .columns = cols,
				    .ncolumns = with_n ? 2 : 1,
				    .flags = unique ? AEDB_INDEX_UNIQUE : 0 };

	t_assert_rc(aedb_create_index(db, T_P, T_S, table, &d), 1);
}

/* CASCADE at @shards (children found by a scan, or with @ix through an
 * index): children on every shard, grandchildren, a RESTRICT grandchild
 * blocking the whole delete, counts right afterwards, a child of the same
 * transaction, the caller's indexes. */
static void t_cascade(uint32_t shards, int ix)
{
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_txn *t;
	uint64_t seq, p;
	int64_t n;

	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_act(db, T_P, "child", "parent", AEDB_FK_CASCADE, 0, NULL), 1);
	t_assert_rc(t_create_act(db, T_P, "grand", "child", AEDB_FK_CASCADE, 0, NULL), 1);
	t_assert_rc(t_create_act(db, T_P, "keep", "child", AEDB_FK_RESTRICT, 0, NULL), 1);
	if (ix) {
		t_index_pid(db, "child", 0, 1);
		t_index_pid(db, "grand", 0, 0);
	}
	for (uint64_t i = 1; i <= 3; i++)
		t_assert_rc(t_ins_parent(db, i), 0);
	/* children 1..24 of parents 1 (even) and 2 (odd); grandchild 100+i of i */
	for (uint64_t i = 1; i <= T_ACT_ROWS; i++) {
		t_assert_rc(t_ins3(db, "child", i, 1 + i % 2, (int64_t)i), 0);
		t_assert_rc(t_ins3(db, "grand", 100 + i, i, (int64_t)i), 0);
	}
	t_assert_rc(t_ins3(db, "child", 50, T_NONE, 50), 0);
	t_assert_rc(t_delr(db, "parent", 1, NULL), 0);
	assert_false(t_exists(db, "parent", 1));
	for (uint64_t i = 1; i <= T_ACT_ROWS; i++) {
		int kept = i % 2 == 1;

		assert_int_equal(t_get3(db, "child", i, &p, &n), kept);
		assert_int_equal(t_get3(db, "grand", 100 + i, &p, &n), kept);
	}
	t_assert_row3(db, "child", 50, T_NONE, 50);
	assert_true(t_exists(db, "parent", 2));

	/* the counts went down with the rows: a new child of a re-created
	 * parent, and the parent deleted again (a count left above zero
	 * would make the delete fail) */
	t_assert_rc(t_ins_parent(db, 1), 0);
	t_assert_rc(t_ins3(db, "child", 1000, 1, 0), 0);
	t_assert_rc(t_ins3(db, "grand", 2000, 1000, 0), 0);
	t_assert_rc(t_delr(db, "parent", 1, NULL), 0);
	t_assert_gone3(db, "child", 1000);
	t_assert_gone3(db, "grand", 2000);
	t_assert_rc(t_ins_parent(db, 1), 0);
	t_assert_rc(t_delr(db, "parent", 1, NULL), 0);
	/* ... and a RESTRICT table naming child 2 still holds */
	t_assert_rc(t_ins3(db, "keep", 1, 1, 0), 0);
	t_assert_rc(t_delr(db, "child", 1, NULL), -AEDB_EFOREIGN);

	/* a RESTRICT grandchild refuses the whole cascade: nothing changes */
	seq = aedb_visible_seq(db);
	t_assert_rc(t_delr(db, "parent", 2, NULL), -AEDB_EFOREIGN);
	assert_int_equal(aedb_visible_seq(db), seq);
	assert_true(t_exists(db, "parent", 2));
	for (uint64_t i = 1; i <= T_ACT_ROWS; i += 2) {
		t_assert_row3(db, "child", i, 2, (int64_t)i);
		t_assert_row3(db, "grand", 100 + i, i, (int64_t)i);
	}
	t_assert_rc(t_delr(db, "keep", 1, NULL), 0);
	t_assert_rc(t_delr(db, "parent", 2, NULL), 0);
	for (uint64_t i = 1; i <= T_ACT_ROWS; i++) {
		t_assert_gone3(db, "child", i);
		t_assert_gone3(db, "grand", 100 + i);
	}
	t_assert_row3(db, "child", 50, T_NONE, 50);

	/* a child written earlier in the same transaction is covered too,
	 * and the caller's mutation indexes stay 0, 1, 2 */
	t_assert_rc(aedb_txn_create(db, &t), 0);
	{
		struct aedb_value c[3] = { t_u64(3000), t_u64(3), t_int(0) };
		struct aedb_value g[3] = { t_u64(3001), t_u64(3000), t_int(0) };
		struct aedb_value pk = t_u64(3);

		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "child", c, 3), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk, 1), 1);
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "grand", g, 3), 2);
	}
	/* the grandchild names a child the delete took: refused */
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_EFOREIGN);
	assert_true(t_exists(db, "parent", 3));
	aedb_txn_reset(t);
	{
		struct aedb_value c[3] = { t_u64(3000), t_u64(3), t_int(0) };
		struct aedb_value pk = t_u64(3);

		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "child", c, 3), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk, 1), 1);
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	assert_false(t_exists(db, "parent", 3));
	t_assert_gone3(db, "child", 3000);
	t_assert_rc(t_ins_parent(db, 3), 0);
	t_assert_rc(t_delr(db, "parent", 3, NULL), 0);
	t_close(db);
}

static void test_fk_cascade(void **state)
{
	static const uint32_t shards[] = { 1, 2, 4 };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		t_cascade(shards[i], 0);
		t_cascade(shards[i], 1);
	}
}

/* A table naming itself ON DELETE CASCADE: a chain node 1 <- 2 <- ... A
 * chain deeper than the limit (16 levels of actions) is refused whole. */
static void test_fk_cascade_depth(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	uint64_t seq;

	(void)state;
	t_assert_rc(t_create_act(db, T_P, "node", "node", AEDB_FK_CASCADE, 0, NULL), 1);
	t_assert_rc(t_ins3(db, "node", 1, T_NONE, 0), 0);
	for (uint64_t i = 2; i <= 18; i++)
		t_assert_rc(t_ins3(db, "node", i, i - 1, 0), 0);
	seq = aedb_visible_seq(db);
	t_assert_rc(t_delr(db, "node", 1, NULL), -AEDB_ETOOBIG);
	assert_int_equal(aedb_visible_seq(db), seq);
	for (uint64_t i = 1; i <= 18; i++)
		t_assert_row3(db, "node", i, i == 1 ? T_NONE : i - 1, 0);
	/* 17 nodes: 16 levels below the first, within the limit */
	t_assert_rc(t_delr(db, "node", 18, NULL), 0);
	t_assert_rc(t_delr(db, "node", 1, NULL), 0);
	for (uint64_t i = 1; i <= 18; i++)
		t_assert_gone3(db, "node", i);
	/* a row naming itself goes with its own delete */
	t_assert_rc(t_ins3(db, "node", 7, T_NONE, 0), 0);
	{
		struct aedb_value r[3] = { t_u64(7), t_u64(7), t_int(1) };

		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "node", r, 3, 0, NULL), 0);
	}
	t_assert_rc(t_ins3(db, "node", 8, 7, 0), 0);
	t_assert_rc(t_delr(db, "node", 7, NULL), 0);
	t_assert_gone3(db, "node", 7);
	t_assert_gone3(db, "node", 8);
	t_close(db);
}

/* SET NULL and SET DEFAULT at @shards. */
static void t_set_actions(uint32_t shards)
{
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_value nine = t_u64(9);
	uint64_t seq;

	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_act(db, T_P, "sn", "parent", AEDB_FK_SET_NULL, 0, NULL), 1);
	t_assert_rc(t_create_act(db, T_P, "sd", "parent", AEDB_FK_SET_DEFAULT, 1, &nine), 1);
	t_assert_rc(t_create_act(db, T_P, "sd0", "parent", AEDB_FK_SET_DEFAULT, 0, NULL), 1);
	t_assert_rc(t_create_act(db, T_P, "snn", "parent", AEDB_FK_SET_NULL, 1, NULL), 1);
	/* SET NULL into a column with a default writes the default, as any
	 * NULL written there does */
	t_assert_rc(t_create_act(db, T_P, "snd", "parent", AEDB_FK_SET_NULL, 0, &nine), 1);
	for (uint64_t i = 1; i <= 2; i++)
		t_assert_rc(t_ins_parent(db, i), 0);
	t_assert_rc(t_ins_parent(db, 9), 0);
	for (uint64_t i = 1; i <= T_ACT_ROWS; i++) {
		t_assert_rc(t_ins3(db, "sn", i, 1 + i % 2, 10 * (int64_t)i), 0);
		t_assert_rc(t_ins3(db, "sd", i, 1 + i % 2, 10 * (int64_t)i), 0);
		t_assert_rc(t_ins3(db, "sd0", i, 1 + i % 2, 10 * (int64_t)i), 0);
		t_assert_rc(t_ins3(db, "snd", i, 1 + i % 2, 10 * (int64_t)i), 0);
	}
	t_assert_rc(t_delr(db, "parent", 1, NULL), 0);
	for (uint64_t i = 1; i <= T_ACT_ROWS; i++) {
		int hit = i % 2 == 0;   /* named parent 1 */

		t_assert_row3(db, "sn", i, hit ? T_NONE : 2, 10 * (int64_t)i);
		t_assert_row3(db, "sd", i, hit ? 9 : 2, 10 * (int64_t)i);
		t_assert_row3(db, "sd0", i, hit ? T_NONE : 2, 10 * (int64_t)i);
		t_assert_row3(db, "snd", i, hit ? 9 : 2, 10 * (int64_t)i);
	}
	/* the counts moved: parent 1 again has no child, parent 9 has the
	 * defaulted ones (sd RESTRICT-like: its default names 9 itself) */
	t_assert_rc(t_ins_parent(db, 1), 0);
	t_assert_rc(t_delr(db, "parent", 1, NULL), 0);
	/* a child set to NULL can name a parent again */
	{
		struct aedb_value r[3] = { t_u64(2), t_u64(2), t_int(5) };

		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "sn", r, 3, 0, NULL), 0);
	}
	/* SET DEFAULT naming the row being deleted: refused, nothing changes */
	seq = aedb_visible_seq(db);
	t_assert_rc(t_delr(db, "parent", 9, NULL), -AEDB_EFOREIGN);
	assert_int_equal(aedb_visible_seq(db), seq);
	t_assert_row3(db, "sd", 2, 9, 20);
	t_assert_row3(db, "snd", 2, 9, 20);
	assert_true(t_exists(db, "parent", 9));

	/* SET NULL into a NOT NULL column: -AEDB_ENOTNULL, nothing changes */
	t_assert_rc(t_ins3(db, "snn", 1, 2, 7), 0);
	seq = aedb_visible_seq(db);
	t_assert_rc(t_delr(db, "parent", 2, NULL), -AEDB_ENOTNULL);
	assert_int_equal(aedb_visible_seq(db), seq);
	assert_true(t_exists(db, "parent", 2));
	t_assert_row3(db, "snn", 1, 2, 7);
	t_assert_row3(db, "sn", 1, 2, 10);
	t_assert_row3(db, "sn", 2, 2, 5);
	t_assert_row3(db, "sd", 1, 2, 10);
	t_assert_rc(t_delr(db, "snn", 1, NULL), 0);
	t_assert_rc(t_delr(db, "parent", 2, NULL), 0);
	for (uint64_t i = 1; i <= T_ACT_ROWS; i++) {
		t_assert_row3(db, "sn", i, T_NONE, i == 2 ? 5 : 10 * (int64_t)i);
		t_assert_row3(db, "sd", i, 9, 10 * (int64_t)i);
		t_assert_row3(db, "sd0", i, T_NONE, 10 * (int64_t)i);
	}
	/* SET DEFAULT with the default's parent absent: -AEDB_EFOREIGN, and
	 * nothing changes; with it there, the default is written */
	{
		struct aedb_value eight = t_u64(8);

		t_assert_rc(t_create_act(db, T_P, "sdx", "parent", AEDB_FK_SET_DEFAULT, 0,
					 &eight), 1);
	}
	t_assert_rc(t_ins_parent(db, 4), 0);
	t_assert_rc(t_ins3(db, "sdx", 1, 4, 3), 0);
	/* SET NULL found through a unique index on the child column (NULLs
	 * are exempt from uniqueness), and SET DEFAULT through a plain one */
	t_assert_rc(t_create_act(db, T_P, "su", "parent", AEDB_FK_SET_NULL, 0, NULL), 1);
	t_index_pid(db, "su", 1, 0);
	t_index_pid(db, "sdx", 0, 0);
	t_assert_rc(t_ins3(db, "su", 1, 4, 1), 0);
	t_assert_rc(t_ins3(db, "su", 2, 9, 2), 0);
	seq = aedb_visible_seq(db);
	t_assert_rc(t_delr(db, "parent", 4, NULL), -AEDB_EFOREIGN);
	assert_int_equal(aedb_visible_seq(db), seq);
	t_assert_row3(db, "sdx", 1, 4, 3);
	t_assert_rc(t_ins_parent(db, 8), 0);
	t_assert_rc(t_delr(db, "parent", 4, NULL), 0);
	t_assert_row3(db, "sdx", 1, 8, 3);
	t_assert_row3(db, "su", 1, T_NONE, 1);
	t_assert_row3(db, "su", 2, 9, 2);
	t_assert_rc(t_ins_parent(db, 4), 0);
	t_assert_rc(t_delr(db, "parent", 4, NULL), 0);
	t_close(db);
}

/* A delete built, then the children changed by other commits, then the
 * commit: each change makes it -AEDB_ECONFLICT with nothing written, and
 * the delete built again goes through. */
static void t_action_conflicts(uint32_t shards)
{
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_value pk1 = t_u64(1), pk2 = t_u64(2);
	struct aedb_txn *t;
	uint64_t seq;

	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_act(db, T_P, "sn", "parent", AEDB_FK_SET_NULL, 0, NULL), 1);
	t_assert_rc(t_create_act(db, T_P, "child", "parent", AEDB_FK_CASCADE, 0, NULL), 1);
	t_assert_rc(t_ins_parent(db, 1), 0);
	t_assert_rc(t_ins_parent(db, 2), 0);
	t_assert_rc(t_ins3(db, "sn", 1, 1, 10), 0);
	t_assert_rc(aedb_txn_create(db, &t), 0);

	/* SET NULL: the child's other column changed meanwhile; the rewrite
	 * built from the old row must not overwrite it */
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk1, 1), 0);
	{
		struct aedb_value r[3] = { t_u64(1), t_u64(1), t_int(99) };

		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "sn", r, 3, 0, NULL), 0);
	}
	seq = aedb_visible_seq(db);
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_ECONFLICT);
	assert_int_equal(aedb_visible_seq(db), seq);
	assert_true(t_exists(db, "parent", 1));
	t_assert_row3(db, "sn", 1, 1, 99);
	aedb_txn_reset(t);
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk1, 1), 0);
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	t_assert_row3(db, "sn", 1, T_NONE, 99);

	/* CASCADE: a child inserted meanwhile is a conflict, not an orphan
	 * and not -AEDB_EFOREIGN (building again covers it) */
	aedb_txn_reset(t);
	t_assert_rc(t_ins3(db, "child", 1, 2, 0), 0);
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk2, 1), 0);
	t_assert_rc(t_ins3(db, "child", 2, 2, 0), 0);
	seq = aedb_visible_seq(db);
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_ECONFLICT);
	assert_int_equal(aedb_visible_seq(db), seq);
	assert_true(t_exists(db, "parent", 2));
	t_assert_row3(db, "child", 1, 2, 0);
	t_assert_row3(db, "child", 2, 2, 0);
	/* ... and so is a child deleted meanwhile */
	aedb_txn_reset(t);
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk2, 1), 0);
	t_assert_rc(t_delr(db, "child", 1, NULL), 0);
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_ECONFLICT);
	t_assert_row3(db, "child", 2, 2, 0);
	aedb_txn_reset(t);
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk2, 1), 0);
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	t_assert_gone3(db, "child", 2);
	assert_false(t_exists(db, "parent", 2));
	aedb_txn_free(t);
	t_close(db);
}

static void test_fk_action_conflicts(void **state)
{
	static const uint32_t shards[] = { 1, 2, 4 };

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		t_action_conflicts(shards[i]);
}

static void test_fk_set_actions(void **state)
{
	static const uint32_t shards[] = { 1, 2, 4 };

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		t_set_actions(shards[i]);
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

struct t_racer {
	struct aedb *db;
	uint64_t seed;
	int role;                 /* 0 child inserts, 1 child deletes, 2 parent churn */
	uint64_t next_child;      /* role 0: ids role-0 owns: 1000 * k + n */
	uint32_t bad;             /* unexpected results */
};

static void *t_race(void *arg)
{
	struct t_racer *r = arg;

	for (uint32_t i = 0; i < T_RACE_OPS; i++) {
		uint64_t x = t_rand(&r->seed), p = 1 + x % T_RACE_PARENTS;
		struct aedb_value pid = t_u64(p);
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
		struct aedb_value pk = t_u64(c);
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

/*
 * The cascade race at @shards: parent deletes (CASCADE to child, and on to
 * grand) and re-inserts on one thread, child inserts naming random parents
 * on a second, grandchild inserts naming random children on a third. No
 * child may outlive its parent, nor a grandchild its child; afterwards
 * deleting every parent takes every child and grandchild with it.
 */
#define T_CRACE_PARENTS 6u
#define T_CRACE_OPS 240u

static uint64_t t_crace_children;   /* atomic: child ids 1.. tried so far */

static void *t_crace(void *arg)
{
	struct t_racer *r = arg;

	for (uint32_t i = 0; i < T_CRACE_OPS; i++) {
		uint64_t x = t_rand(&r->seed), p = 1 + x % T_CRACE_PARENTS;
		int rc;

		if (r->role == 1) {
			rc = t_ins3(r->db, "child", r->next_child++, p, 0);
			__atomic_store_n(&t_crace_children, r->next_child, __ATOMIC_RELEASE);
			r->bad += rc != 0 && rc != -AEDB_EFOREIGN && rc != -AEDB_ECONFLICT &&
				  rc != -AEDB_EBUSY;
		} else if (r->role == 2) {
			uint64_t nc = __atomic_load_n(&t_crace_children, __ATOMIC_ACQUIRE);

			/* a child id among the last 16 tried: most exist */
			rc = t_ins3(r->db, "grand", r->next_child++,
				    nc > 16 ? nc - 1 - (x >> 8) % 16 : 1 + (x >> 8) % 16, 0);
			r->bad += rc != 0 && rc != -AEDB_EFOREIGN && rc != -AEDB_ECONFLICT &&
				  rc != -AEDB_EBUSY;
		} else if ((x >> 20) % 4 != 0) {
			rc = t_ins_parent(r->db, p);
			r->bad += rc != 0 && rc != -AEDB_EEXIST && rc != -AEDB_ECONFLICT &&
				  rc != -AEDB_EBUSY;
		} else {
			/* never -AEDB_EFOREIGN: a child that appeared meanwhile
			 * is a conflict, and the call builds the cascade again */
			rc = t_delr(r->db, "parent", p, NULL);
			r->bad += rc != 0 && rc != -AEDB_ECONFLICT && rc != -AEDB_EBUSY;
		}
	}
	return NULL;
}

static void t_cascade_race(uint32_t shards, int ix)
{
	struct aedb *db = t_open_p(shards, NULL);
	uint64_t seed = t_seed("test_fk_cascade_race");
	struct t_racer r[3];
	pthread_t th[3];
	uint32_t children = 0, grands = 0;
	uint64_t pid;
	int64_t n;

	t_assert_rc(t_create_parent(db, T_P, "parent"), 1);
	t_assert_rc(t_create_act(db, T_P, "child", "parent", AEDB_FK_CASCADE, 0, NULL), 1);
	t_assert_rc(t_create_act(db, T_P, "grand", "child", AEDB_FK_CASCADE, 0, NULL), 1);
	if (ix) {
		t_index_pid(db, "child", 0, 0);
		t_index_pid(db, "grand", 0, 1);
	}
	for (uint64_t p = 1; p <= T_CRACE_PARENTS; p++)
		t_assert_rc(t_ins_parent(db, p), 0);
	__atomic_store_n(&t_crace_children, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		r[i] = (struct t_racer){ .db = db, .seed = seed + (uint64_t)i, .role = i,
					 .next_child = 1 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, t_crace, &r[i]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].bad, 0);
	/* no orphan at either level */
	for (uint64_t c = 1; c <= T_CRACE_OPS; c++) {
		if (t_get3(db, "child", c, &pid, &n)) {
			children++;
			assert_true(t_exists(db, "parent", pid));
		}
		if (t_get3(db, "grand", c, &pid, &n)) {
			grands++;
			assert_true(t_get3(db, "child", pid, &pid, &n));
		}
	}
	/* every parent goes, with all its descendants (the counts agree) */
	for (uint64_t p = 1; p <= T_CRACE_PARENTS; p++)
		t_assert_rc(t_delr(db, "parent", p, NULL), 0);
	for (uint64_t c = 1; c <= T_CRACE_OPS; c++) {
		t_assert_gone3(db, "child", c);
		t_assert_gone3(db, "grand", c);
	}
	print_message("fk cascade race: %u shards%s, %u children and %u grandchildren left\n",
		      shards, ix ? " (indexed)" : "", children, grands);
	t_close(db);
}

static void test_fk_cascade_race(void **state)
{
	static const uint32_t shards[] = { 1, 2, 4 };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		t_cascade_race(shards[i], 0);
		t_cascade_race(shards[i], 1);
	}
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
		cmocka_unit_test(test_fk_cascade),
		cmocka_unit_test(test_fk_cascade_depth),
		cmocka_unit_test(test_fk_set_actions),
		cmocka_unit_test(test_fk_action_conflicts),
		cmocka_unit_test(test_fk_cascade_race),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
