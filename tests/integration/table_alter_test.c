/* SPDX-License-Identifier: MIT */
/*
 * table_alter_test - ALTER TABLE (issue 5): add (nullable, NOT NULL with a
 * default), drop and rename columns on populated tables at 1, 2 and 4
 * shards; rows rewritten (defaults filled, dropped values gone), indexes
 * and queries after, reads at a snapshot before the change, bad
 * alterations that change nothing, a transaction built before the change
 * (-AEDB_ECONFLICT), writers racing the change, a reopen (recovery) and a
 * checkpoint between two changes.
 */
#include "it_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define T_ROWS 120

static const char *const t_pk_id[] = { "id" };

/* users(id integer pk, name text not null, score integer null), a unique
 * index on name, a non-unique one on score, T_ROWS rows. */
static void t_users(struct aedb *db)
{
	struct aedb_column_def c[3] = {
		{ .name = "id", .type = AEDB_TYPE_INTEGER },
		{ .name = "name", .type = AEDB_TYPE_TEXT },
		{ .name = "score", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_table_def d = { "users", c, 3, 1, t_pk_id };
	const char *uname[] = { "name" }, *uscore[] = { "score" };
	struct aedb_index_def by_name = { "by_name", uname, 1, AEDB_INDEX_UNIQUE, NULL };
	struct aedb_index_def by_score = { "by_score", uscore, 1, 0, NULL };
	static char names[T_ROWS][16];
	struct aedb_value rows[T_ROWS * 3];

	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "users", &by_name), 1);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "users", &by_score), 1);
	for (int i = 0; i < T_ROWS; i++) {
		snprintf(names[i], sizeof(names[i]), "u%03d", i);
		rows[3 * i] = t_vint(i);
		rows[3 * i + 1] = t_vtext(names[i]);
		rows[3 * i + 2] = i % 3 ? t_vint(i % 10) : t_vnull();
	}
	t_assert_rc(aedb_insert_rows(db, T_P, T_S, "users", rows, T_ROWS, 3, 0, NULL), 0);
}

static struct aedb_row *t_get(struct aedb *db, int64_t id, struct aedb_at at)
{
	struct aedb_value pk = t_vint(id);
	struct aedb_row *r = NULL;

	t_assert_rc(aedb_get_row(db, T_P, T_S, "users", &pk, 1, at, &r), 0);
	return r;
}

/* Rows of users WHERE @w (owned), at @at; with @ncols, each row's width. */
static uint64_t t_count(struct aedb *db, struct aedb_expr *w, struct aedb_at at, uint32_t ncols)
{
	struct aedb_query *q;
	struct aedb_query_result *res;
	uint64_t n;

	t_assert_rc(aedb_query_create("users", &q), 0);
	if (w)
		t_assert_rc(aedb_query_where(q, w), 0);
	t_assert_rc(aedb_query_clear_limit(q), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, at, &res), 0);
	if (ncols)
		assert_int_equal(res->ncols, ncols);
	n = res->nrows;
	aedb_query_result_free(res);
	aedb_query_free(q);
	return n;
}

static int t_alter(struct aedb *db, uint32_t kind, const char *name, const char *to)
{
	struct aedb_alter a = { .kind = kind, .name = name, .new_name = to };

	return aedb_alter_table(db, T_P, T_S, "users", &a);
}

static int t_add(struct aedb *db, const char *name, uint32_t type, int nullable,
		 struct aedb_value def)
{
	struct aedb_alter a = { .kind = AEDB_ALTER_ADD_COLUMN };

	a.column.name = name;
	a.column.type = type;
	a.column.nullable = (uint32_t)nullable;
	a.column.def = def;
	return aedb_alter_table(db, T_P, T_S, "users", &a);
}

static uint64_t t_seq(struct aedb *db)
{
	struct aedb_row *r = t_get(db, 0, AEDB_LATEST);
	uint64_t s = r->snapshot_seq;

	aedb_row_free(r);
	return s;
}

/* After add level (u64 not null default 7) and note (text null). */
static void t_check_added(struct aedb *db, struct aedb_at at)
{
	struct aedb_value seven = t_vu64(7);

	assert_int_equal(t_count(db, aedb_expr_cmp(AEDB_CMP_EQ, "level", &seven), at, 5),
			 T_ROWS);
	assert_int_equal(t_count(db, aedb_expr_is_null("note"), at, 5), T_ROWS);
	for (int64_t id = 0; id < T_ROWS; id += 17) {
		struct aedb_row *r = t_get(db, id, at);

		assert_int_equal(r->ncols, 5);
		assert_int_equal(r->values[0].u.i64, id);
		assert_int_equal(r->values[3].type, AEDB_TYPE_U64);
		assert_int_equal(r->values[3].u.u64, 7);
		assert_int_equal(r->values[4].type, AEDB_TYPE_NULL);
		aedb_row_free(r);
	}
}

/* An index on the added column level: used, and it finds every row. */
static void t_index_level(struct aedb *db)
{
	const char *ulevel[] = { "level" };
	struct aedb_index_def by_level = { "by_level", ulevel, 1, 0, NULL };
	struct aedb_value seven = t_vu64(7);
	struct aedb_query_plan plan;
	struct aedb_query *q;

	t_assert_rc(aedb_create_index(db, T_P, T_S, "users", &by_level), 1);
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "level", &seven)), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &plan), 0);
	assert_int_equal(plan.path, AEDB_PATH_INDEX);
	assert_string_equal(plan.index, "by_level");
	aedb_query_free(q);
	assert_int_equal(t_count(db, aedb_expr_cmp(AEDB_CMP_EQ, "level", &seven), AEDB_LATEST, 5),
			 T_ROWS + 1);
}

/* Drop score (after its index) and rename note: the rows follow. */
static void t_drop_rename(struct aedb *db)
{
	struct aedb_value name = t_vtext("u005");
	struct aedb_row *r;
	uint64_t mid;

	/* an index on an added column is built from the rewritten rows */
	t_index_level(db);
	/* drop: refused while an index names the column, then allowed */
	mid = t_seq(db);
	t_assert_rc(t_alter(db, AEDB_ALTER_DROP_COLUMN, "score", NULL), -AEDB_EDEPEND);
	t_assert_rc(aedb_drop_index(db, T_P, T_S, "users", "by_score"), 1);
	t_assert_rc(t_alter(db, AEDB_ALTER_DROP_COLUMN, "score", NULL), 1);
	t_assert_rc(t_alter(db, AEDB_ALTER_RENAME_COLUMN, "note", "memo"), 1);
	r = t_get(db, 1000, AEDB_LATEST);
	assert_int_equal(r->ncols, 4);
	assert_int_equal(r->values[2].u.u64, 7);
	assert_int_equal(r->values[3].len, 2);
	aedb_row_free(r);
	r = t_get(db, 1000, AEDB_SEQ(mid));
	assert_int_equal(r->ncols, 5);
	assert_int_equal(r->values[2].u.i64, 9);
	aedb_row_free(r);
	assert_int_equal(t_count(db, aedb_expr_is_null("memo"), AEDB_LATEST, 4), T_ROWS);
	assert_int_equal(t_count(db, aedb_expr_cmp(AEDB_CMP_EQ, "name", &name), AEDB_LATEST, 4),
			 1);
}

static void t_alter_run(uint32_t shards)
{
	char *dir = t_tmpdir();
	struct aedb_config cfg;
	struct aedb *db;
	struct aedb_value row[5], nine = t_vint(9), name = t_vtext("u005");
	struct aedb_row *r;
	uint64_t before;

	aedb_config_init(&cfg);
	cfg.shards = shards;
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_users(db);
	before = t_seq(db);
	t_assert_rc(t_add(db, "level", AEDB_TYPE_U64, 0, t_vu64(7)), 1);
	t_assert_rc(t_add(db, "note", AEDB_TYPE_TEXT, 1, t_vnull()), 1);
	t_check_added(db, AEDB_LATEST);
	/* a snapshot from before reads the rows as they were */
	r = t_get(db, 5, AEDB_SEQ(before));
	assert_int_equal(r->ncols, 3);
	assert_int_equal(r->values[2].u.i64, 5);
	aedb_row_free(r);
	assert_int_equal(t_count(db, NULL, AEDB_SEQ(before), 3), T_ROWS);
	/* writes take the new width only; indexes still work */
	row[0] = t_vint(1000);
	row[1] = t_vtext("new");
	row[2] = t_vint(9);
	row[3] = t_vnull(); /* the default */
	row[4] = t_vtext("hi");
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", row, 3, 0, NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", row, 5, 0, NULL), 0);
	row[0] = t_vint(1001);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", row, 5, 0, NULL), -AEDB_EUNIQUE);
	assert_int_equal(t_count(db, aedb_expr_cmp(AEDB_CMP_EQ, "score", &nine), AEDB_LATEST, 5),
			 T_ROWS / 10 - T_ROWS / 30 + 1);
	assert_int_equal(t_count(db, aedb_expr_cmp(AEDB_CMP_EQ, "name", &name), AEDB_LATEST, 5),
			 1);
	t_drop_rename(db);
	/* recovery: the definitions and the rewritten rows come back */
	t_assert_rc(aedb_close(db), 0);
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	assert_int_equal(t_count(db, aedb_expr_is_null("memo"), AEDB_LATEST, 4), T_ROWS);
	assert_int_equal(t_count(db, aedb_expr_cmp(AEDB_CMP_EQ, "name", &name), AEDB_LATEST, 4),
			 1);
	r = t_get(db, 7, AEDB_LATEST);
	assert_int_equal(r->ncols, 4);
	assert_int_equal(r->values[2].u.u64, 7);
	aedb_row_free(r);
	row[0] = t_vint(1002);
	row[1] = t_vtext("later");
	row[2] = t_vu64(1);
	row[3] = t_vnull();
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", row, 4, 0, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_alter_add_drop_rename(void **state)
{
	(void)state;
	t_alter_run(1);
	t_alter_run(2);
	t_alter_run(4);
}

/* Add level and note on a 3-shard table (with a checkpoint between the
 * two when @ckpt), then reopen twice (a checkpoint before the second when
 * @ckpt): the rows a reopen recovers in an older format are converted, a
 * checkpoint holds the definition of its seq and rows in its format. */
static void t_alter_reopen(int ckpt)
{
	char *dir = t_tmpdir();
	struct aedb_config cfg;
	struct aedb *db;

	aedb_config_init(&cfg);
	cfg.shards = 3;
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_users(db);
	t_assert_rc(t_add(db, "level", AEDB_TYPE_U64, 0, t_vu64(7)), 1);
	if (ckpt)
		t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	t_assert_rc(t_add(db, "note", AEDB_TYPE_TEXT, 1, t_vnull()), 1);
	for (int i = 0; i < 2; i++) {
		t_assert_rc(aedb_close(db), 0);
		t_assert_rc(aedb_open(dir, &cfg, &db), 0);
		t_check_added(db, AEDB_LATEST);
		if (ckpt)
			t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	}
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_alter_recovery(void **state)
{
	(void)state;
	t_alter_reopen(0);
}

static void test_alter_checkpoint(void **state)
{
	(void)state;
	t_alter_reopen(1);
}

/* Every refused alteration leaves the definition and the rows as they were. */
static void test_alter_bad(void **state)
{
	struct aedb_config cfg;
	struct aedb *db;
	struct aedb_alter a = { .kind = AEDB_ALTER_DROP_COLUMN, .name = "score" };
	struct aedb_value big = t_vtext("0123456789012345678901234567890123456789"
				       "0123456789012345678901234567890123456789");
	struct aedb_table_info *info;
	struct aedb_row *r;
	uint64_t seq;

	(void)state;
	aedb_config_init(&cfg);
	cfg.max_value_bytes = 100;
	db = t_open_p(2, &cfg);
	t_users(db);
	seq = t_seq(db);
	t_assert_rc(aedb_alter_table(db, T_P, T_S, "nope", &a), -AEDB_ENOTABLE);
	t_assert_rc(aedb_alter_table(db, T_P, "nos", "users", &a), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_alter_table(db, T_P, T_S, "users", NULL), -AEDB_EMISUSE);
	t_assert_rc(t_add(db, "name", AEDB_TYPE_TEXT, 1, t_vnull()), -AEDB_EEXIST);
	t_assert_rc(t_add(db, "lvl", AEDB_TYPE_U64, 0, t_vnull()), -AEDB_ENOTNULL);
	t_assert_rc(t_add(db, "lvl", AEDB_TYPE_U64, 0, t_vint(1)), -AEDB_ETYPE);
	t_assert_rc(t_add(db, "lvl", 99, 1, t_vnull()), -AEDB_EINVAL);
	t_assert_rc(t_add(db, "bad name", AEDB_TYPE_U64, 1, t_vnull()), -AEDB_ENAME);
	t_assert_rc(t_add(db, "big", AEDB_TYPE_TEXT, 0, big), -AEDB_ETOOBIG);
	t_assert_rc(t_alter(db, AEDB_ALTER_DROP_COLUMN, "nocol", NULL), -AEDB_ENOCOLUMN);
	t_assert_rc(t_alter(db, AEDB_ALTER_DROP_COLUMN, "id", NULL), -AEDB_EDEPEND);
	t_assert_rc(t_alter(db, AEDB_ALTER_DROP_COLUMN, "name", NULL), -AEDB_EDEPEND);
	t_assert_rc(t_alter(db, AEDB_ALTER_RENAME_COLUMN, "id", "key"), -AEDB_EDEPEND);
	t_assert_rc(t_alter(db, AEDB_ALTER_RENAME_COLUMN, "name", "nm"), -AEDB_EDEPEND);
	t_assert_rc(t_alter(db, AEDB_ALTER_RENAME_COLUMN, "score", "name"), -AEDB_EEXIST);
	t_assert_rc(t_alter(db, AEDB_ALTER_RENAME_COLUMN, "score", NULL), -AEDB_EMISUSE);
	t_assert_rc(t_alter(db, 42, "score", NULL), -AEDB_EINVAL);
	a.pad = 1;
	t_assert_rc(aedb_alter_table(db, T_P, T_S, "users", &a), -AEDB_EINVAL);
	/* nothing changed, and no seq was used */
	assert_int_equal(t_seq(db), seq);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "users", &info), 0);
	assert_int_equal(info->def.ncolumns, 3);
	assert_string_equal(info->def.columns[2].name, "score");
	aedb_table_info_free(info);
	r = t_get(db, 4, AEDB_LATEST);
	assert_int_equal(r->ncols, 3);
	assert_int_equal(r->values[2].u.i64, 4);
	aedb_row_free(r);
	t_close(db);
}

/* A check constraint's column cannot be dropped or renamed. */
static void test_alter_check_dep(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_column_def c[3] = {
		{ .name = "id", .type = AEDB_TYPE_INTEGER },
		{ .name = "bal", .type = AEDB_TYPE_INTEGER },
		{ .name = "other", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_table_def d = { "acct", c, 3, 1, t_pk_id };
	struct aedb_value zero = t_vint(0), row[3] = { t_vint(1), t_vint(5), t_vnull() };
	struct aedb_check_def ck = { "bal_ok", aedb_expr_cmp(AEDB_CMP_GE, "bal", &zero) };
	struct aedb_alter a = { .kind = AEDB_ALTER_DROP_COLUMN, .name = "bal" };

	(void)state;
	t_assert_rc(aedb_create_table_checked(db, T_P, T_S, &d, &ck, 1), 1);
	aedb_expr_free((struct aedb_expr *)ck.expr);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "acct", row, 3, 0, NULL), 0);
	t_assert_rc(aedb_alter_table(db, T_P, T_S, "acct", &a), -AEDB_EDEPEND);
	a.kind = AEDB_ALTER_RENAME_COLUMN;
	a.new_name = "b2";
	t_assert_rc(aedb_alter_table(db, T_P, T_S, "acct", &a), -AEDB_EDEPEND);
	a.kind = AEDB_ALTER_DROP_COLUMN;
	a.name = "other";
	t_assert_rc(aedb_alter_table(db, T_P, T_S, "acct", &a), 1);
	/* the check still holds after the drop */
	row[1] = t_vint(-1);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "acct", row, 2, 0, NULL), -AEDB_ECHECK);
	row[0] = t_vint(2);
	row[1] = t_vint(3);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "acct", row, 2, 0, NULL), 0);
	t_close(db);
}

/* A transaction built before the change and committed after conflicts. */
static void test_alter_stale_txn(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_value row[3] = { t_vint(500), t_vtext("stale"), t_vint(1) };
	struct aedb_value pk = t_vint(500);
	struct aedb_txn *txn;
	struct aedb_row *r = NULL;

	(void)state;
	t_users(db);
	t_assert_rc(aedb_txn_create(db, &txn), 0);
	t_assert_rc(aedb_txn_insert(txn, T_P, T_S, "users", row, 3), 0);
	t_assert_rc(t_add(db, "level", AEDB_TYPE_U64, 0, t_vu64(7)), 1);
	t_assert_rc(aedb_commit(db, txn, NULL), -AEDB_ECONFLICT);
	t_assert_rc(aedb_get_row(db, T_P, T_S, "users", &pk, 1, AEDB_LATEST, &r),
		    -AEDB_ENOTFOUND);
	aedb_txn_free(txn);
	t_close(db);
}

struct t_writer {
	struct aedb *db;
	int64_t base;
	atomic_int *stop;
	int ok;
};

/* Upserts at whatever width the table has (3, then 4 columns), every one
 * of its 64 keys at least twice. */
static void *t_writer_main(void *arg)
{
	struct t_writer *w = arg;
	int64_t i = 0;

	while (!atomic_load(w->stop) || i < 128) {
		struct aedb_value row[4] = { t_vint(w->base + i % 64), t_vtext("w"), t_vint(i),
					     t_vnull() };
		int rc = aedb_upsert_row(w->db, T_P, T_S, "users", row, 4, 0, NULL);

		if (rc == -AEDB_EINVAL)
			rc = aedb_upsert_row(w->db, T_P, T_S, "users", row, 3, 0, NULL);
		T_CHECK(rc == 0 || rc == -AEDB_EBUSY || rc == -AEDB_ECONFLICT ||
			rc == -AEDB_EINVAL || rc == -AEDB_EUNIQUE, "upsert: %d", rc);
		w->ok += rc == 0;
		i++;
	}
	return NULL;
}

/* Writers on every shard while columns are added: afterwards every row
 * has the final width and its default (or the value written after). */
static void test_alter_racing_writers(void **state)
{
	struct aedb *db = t_open_p(3, NULL);
	struct aedb_column_def c[3] = {
		{ .name = "id", .type = AEDB_TYPE_INTEGER },
		{ .name = "name", .type = AEDB_TYPE_TEXT },
		{ .name = "score", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_table_def d = { "users", c, 3, 1, t_pk_id };
	struct t_writer w[2] = { { .db = db, .base = 0 }, { .db = db, .base = 1000 } };
	pthread_t th[2];
	atomic_int stop = 0;

	(void)state;
	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	for (int i = 0; i < 2; i++) {
		w[i].stop = &stop;
		assert_int_equal(pthread_create(&th[i], NULL, t_writer_main, &w[i]), 0);
	}
	t_sleep_ms(20);
	t_assert_rc(t_add(db, "level", AEDB_TYPE_U64, 0, t_vu64(7)), 1);
	t_sleep_ms(20);
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
	assert_true(w[0].ok > 0 && w[1].ok > 0);
	assert_int_equal(t_count(db, NULL, AEDB_LATEST, 4), 128);
	assert_int_equal(t_count(db, aedb_expr_is_null("level"), AEDB_LATEST, 4), 0);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alter_add_drop_rename),
		cmocka_unit_test(test_alter_recovery),
		cmocka_unit_test(test_alter_checkpoint),
		cmocka_unit_test(test_alter_bad),
		cmocka_unit_test(test_alter_check_dep),
		cmocka_unit_test(test_alter_stale_txn),
		cmocka_unit_test(test_alter_racing_writers),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
