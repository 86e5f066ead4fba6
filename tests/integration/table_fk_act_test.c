/* SPDX-License-Identifier: MIT */
/*
 * table_fk_act_test - foreign-key ON DELETE actions (issue 5): CASCADE
 * (recursive, across shards, by a scan or through an index on the child
 * columns, a depth limit), SET NULL and SET DEFAULT (with and without a
 * default, NOT NULL refused), children changed between build and commit
 * (-AEDB_ECONFLICT, nothing written), and a cascade racing child and
 * grandchild inserts with no orphan left, at 1, 2 and 4 shards.
 */
#include "fk_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
	struct aedb_value r[3] = { t_vu64(id), pid == T_NONE ? t_null() : t_vu64(pid), t_vint(n) };

	return aedb_insert_row(db, T_P, T_S, table, r, 3, 0, NULL);
}

/* Row @id of @table: 1 with its pid (T_NONE for NULL) and n, or 0. */
static int t_get3(struct aedb *db, const char *table, uint64_t id, uint64_t *pid, int64_t *n)
{
	struct aedb_value pk = t_vu64(id);
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
		struct aedb_value c[3] = { t_vu64(3000), t_vu64(3), t_vint(0) };
		struct aedb_value g[3] = { t_vu64(3001), t_vu64(3000), t_vint(0) };
		struct aedb_value pk = t_vu64(3);

		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "child", c, 3), 0);
		t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk, 1), 1);
		t_assert_rc(aedb_txn_insert(t, T_P, T_S, "grand", g, 3), 2);
	}
	/* the grandchild names a child the delete took: refused */
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_EFOREIGN);
	assert_true(t_exists(db, "parent", 3));
	aedb_txn_reset(t);
	{
		struct aedb_value c[3] = { t_vu64(3000), t_vu64(3), t_vint(0) };
		struct aedb_value pk = t_vu64(3);

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
		struct aedb_value r[3] = { t_vu64(7), t_vu64(7), t_vint(1) };

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
	struct aedb_value nine = t_vu64(9);
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
		struct aedb_value r[3] = { t_vu64(2), t_vu64(2), t_vint(5) };

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
		struct aedb_value eight = t_vu64(8);

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
	struct aedb_value pk1 = t_vu64(1), pk2 = t_vu64(2);
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
		struct aedb_value r[3] = { t_vu64(1), t_vu64(1), t_vint(99) };

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
	/* ... and so is the child table dropped meanwhile: built again, the
	 * delete has nothing to cascade */
	aedb_txn_reset(t);
	t_assert_rc(t_ins_parent(db, 2), 0);
	t_assert_rc(t_ins3(db, "child", 3, 2, 0), 0);
	t_assert_rc(aedb_txn_delete_row(t, T_P, T_S, "parent", &pk2, 1), 0);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "child"), 1);
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_ECONFLICT);
	assert_true(t_exists(db, "parent", 2));
	t_assert_rc(t_delr(db, "parent", 2, NULL), 0);
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
		cmocka_unit_test(test_fk_cascade),
		cmocka_unit_test(test_fk_cascade_depth),
		cmocka_unit_test(test_fk_set_actions),
		cmocka_unit_test(test_fk_action_conflicts),
		cmocka_unit_test(test_fk_cascade_race),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
