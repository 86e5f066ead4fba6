/* SPDX-License-Identifier: MIT */
/*
 * table_engine_test - the query engine over the live engine (api/query.c):
 * rows written through the public API on 1..4 shards, read back by
 * tv_query_run over per-shard kvmap cursors at one snapshot: merged PK
 * order, paging with cursors, point and range paths, filters, snapshots,
 * joins, aggregates, missing tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aedb.h"
#include "api/query.h"
#include "t_helpers.h"

#define T_ROWS 300u

static const char *const t_pk_id[] = { "id" };
static const char *const t_pk_oid[] = { "oid" };

static void t_setup(struct aedb *db)
{
	struct aedb_column_def u[3] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "name", .type = AEDB_TYPE_TEXT },
		{ .name = "score", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_column_def o[2] = {
		{ .name = "oid", .type = AEDB_TYPE_U64 },
		{ .name = "uid", .type = AEDB_TYPE_U64 },
	};
	struct aedb_table_def du = { .name = "users", .columns = u, .ncolumns = 3,
				     .npk = 1, .pk = t_pk_id };
	struct aedb_table_def dorders = { .name = "orders", .columns = o, .ncolumns = 2,
					  .npk = 1, .pk = t_pk_oid };
	struct aedb_txn *t;
	char names[T_ROWS][16];

	assert_int_equal(aedb_create_project(db, "p"), 1);
	assert_int_equal(aedb_create_table(db, "p", "app", &du), 1);
	assert_int_equal(aedb_create_table(db, "p", "app", &dorders), 1);
	assert_int_equal(aedb_txn_create(db, &t), 0);
	for (uint32_t i = 0; i < T_ROWS; i++) {
		struct aedb_value r[3] = { { .type = AEDB_TYPE_U64 }, { .type = AEDB_TYPE_TEXT },
					   { .type = AEDB_TYPE_INTEGER } };
		struct aedb_value ord[2] = { { .type = AEDB_TYPE_U64 },
					     { .type = AEDB_TYPE_U64 } };

		snprintf(names[i], sizeof(names[i]), "u%03u", i);
		r[0].u.u64 = i;
		r[1].u.bytes = names[i];
		r[1].len = (uint32_t)strlen(names[i]);
		r[2].u.i64 = (int64_t)(i % 100);
		if (i % 10 == 0)
			r[2].type = AEDB_TYPE_NULL;
		assert_true(aedb_txn_insert(t, "p", "app", "users", r, 3) >= 0);
		if (i % 3 == 0) {
			ord[0].u.u64 = 1000 + i;
			ord[1].u.u64 = i;
			assert_true(aedb_txn_insert(t, "p", "app", "orders", ord, 2) >= 0);
		}
	}
	assert_int_equal(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
}

static struct tv_result *t_run(struct aedb *db, const struct tv_query *q, struct aedb_at at)
{
	struct tv_result *r = NULL;
	struct tv_qerr err;
	int rc = api_query_run(db, "p", "app", q, at, NULL, &r, &err);

	if (rc != 0)
		fail_msg("query: %d (%s)", rc, aedb_strerror(rc));
	return r;
}

/* Every row in PK order, across shards, in pages of 7 with cursors. */
static void t_check_paging(struct aedb *db)
{
	struct tv_query *q;
	uint64_t next = 0;
	int pages = 0;

	assert_int_equal(tv_query_create("users", &q), 0);
	assert_int_equal(tv_query_limit(q, 7), 0);
	for (;;) {
		struct tv_result *r = t_run(db, q, AEDB_LATEST);

		assert_int_equal(r->ncols, 3);
		for (uint64_t i = 0; i < r->nrows; i++)
			assert_true(r->rows[i * 3].u.u64 == next++);
		pages++;
		if (!r->truncated) {
			tv_result_free(r);
			break;
		}
		assert_int_equal(tv_query_set_cursor(q, r->cursor, r->cursor_len), 0);
		tv_result_free(r);
	}
	assert_true(next == T_ROWS);
	assert_int_equal(pages, (T_ROWS + 6) / 7);
	tv_query_free(q);
}

static void test_engine_query_paths(void **state)
{
	static const uint32_t shards[] = { 1, 2, 4 };

	(void)state;
	for (uint32_t k = 0; k < 3; k++) {
		struct aedb *db = t_open(shards[k], NULL);
		struct tv_query *q;
		struct tv_result *r;

		t_setup(db);
		t_check_paging(db);
		/* PK point */
		assert_int_equal(tv_query_create("users", &q), 0);
		assert_int_equal(tv_query_where(q, tv_expr_eq("id", tv_u64(42))), 0);
		r = t_run(db, q, AEDB_LATEST);
		assert_int_equal(r->nrows, 1);
		assert_int_equal(r->plan.path, TV_PATH_PK_POINT);
		assert_memory_equal(r->rows[1].u.bytes, "u042", 4);
		tv_result_free(r);
		tv_query_free(q);
		/* PK range + filter + order by another column */
		assert_int_equal(tv_query_create("users", &q), 0);
		assert_int_equal(tv_query_where(q, tv_expr_lt("id", tv_u64(100))), 0);
		assert_int_equal(tv_query_where(q, tv_expr_ge("score", tv_integer(95))), 0);
		assert_int_equal(tv_query_order_by(q, "score", true), 0);
		r = t_run(db, q, AEDB_LATEST);
		assert_int_equal(r->plan.path, TV_PATH_PK_RANGE);
		assert_int_equal(r->nrows, 5);
		assert_true(r->rows[0].u.u64 == 99 && r->rows[4 * 3].u.u64 == 95);
		tv_result_free(r);
		tv_query_free(q);
		/* aggregate over every shard */
		assert_int_equal(tv_query_create("users", &q), 0);
		assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, "score"), 0);
		r = t_run(db, q, AEDB_LATEST);
		assert_int_equal(r->nrows, 1);
		assert_true(r->rows[0].u.u64 == T_ROWS - T_ROWS / 10);
		tv_result_free(r);
		tv_query_free(q);
		/* join orders -> users on the users PK */
		assert_int_equal(tv_query_create("orders", &q), 0);
		assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "users", NULL, "orders.uid",
					       "id"), 0);
		assert_int_equal(tv_query_where(q, tv_expr_ge("users.id", tv_u64(150))), 0);
		r = t_run(db, q, AEDB_LATEST);
		assert_int_equal(r->nrows, (T_ROWS - 150) / 3);
		tv_result_free(r);
		tv_query_free(q);
		t_close(db);
	}
}

static void test_engine_query_snapshot_and_errors(void **state)
{
	struct aedb *db = t_open(3, NULL);
	struct aedb_value r3[3] = { { .type = AEDB_TYPE_U64 }, { .type = AEDB_TYPE_TEXT },
				    { .type = AEDB_TYPE_NULL } };
	struct aedb_value pk = { .type = AEDB_TYPE_U64 };
	struct tv_result *r = NULL;
	struct tv_query *q;
	uint64_t snap;

	(void)state;
	t_setup(db);
	snap = aedb_visible_seq(db);
	r3[0].u.u64 = 5000;
	r3[1].u.bytes = "late";
	r3[1].len = 4;
	assert_int_equal(aedb_insert_row(db, "p", "app", "users", r3, 3, 0, NULL), 0);
	pk.u.u64 = 0;
	assert_int_equal(aedb_delete_row(db, "p", "app", "users", &pk, 1, 0, NULL), 0);
	assert_int_equal(tv_query_create("users", &q), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, NULL), 0);
	r = t_run(db, q, AEDB_SEQ(snap));
	assert_true(r->rows[0].u.u64 == T_ROWS);
	assert_true(r->snapshot_seq == snap);
	tv_result_free(r);
	r = t_run(db, q, AEDB_LATEST);
	assert_true(r->rows[0].u.u64 == T_ROWS);  /* one in, one out */
	tv_result_free(r);
	tv_query_free(q);
	/* unknown tables, scopes, and a table created after the snapshot */
	assert_int_equal(tv_query_create("nosuch", &q), 0);
	assert_int_equal(api_query_run(db, "p", "app", q, AEDB_LATEST, NULL, &r, NULL),
			 -AEDB_ENOTABLE);
	tv_query_free(q);
	assert_int_equal(tv_query_create("users", &q), 0);
	assert_int_equal(api_query_run(db, "p", "none", q, AEDB_LATEST, NULL, &r, NULL),
			 -AEDB_ENOSCOPE);
	assert_int_equal(api_query_run(db, "p", "app", q, AEDB_SEQ(1), NULL, &r, NULL),
			 -AEDB_ENOTABLE);
	assert_int_equal(api_query_run(db, "p", "app", NULL, AEDB_LATEST, NULL, &r, NULL),
			 -AEDB_EMISUSE);
	tv_query_free(q);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_query_paths),
		cmocka_unit_test(test_engine_query_snapshot_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
