/* SPDX-License-Identifier: MIT */
/*
 * table_query_test - the public query API (issue 5): filters, order, paging
 * with cursors across shards, aggregates, joins, snapshots, errors.
 */
#include "it_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define T_N 120u

static const char *const t_pk_id[] = { "id" };
static const char *const t_pk_oid[] = { "oid" };
static char t_names[T_N][16];

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

/* users(id u64, name text, score integer NULL); orders(oid u64, uid u64) */
static struct aedb *t_setup(uint32_t shards)
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
	struct aedb_table_def du = { "users", u, 3, 1, t_pk_id };
	struct aedb_table_def dor = { "orders", o, 2, 1, t_pk_oid };
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_txn *t;

	t_assert_rc(aedb_create_table(db, T_P, T_S, &du), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &dor), 1);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	for (uint32_t i = 0; i < T_N; i++) {
		struct aedb_value r[3], ord[2];

		snprintf(t_names[i], sizeof(t_names[i]), "name%03u", i);
		r[0] = t_u64(i);
		r[1] = t_text(t_names[i]);
		r[2] = t_int((int64_t)(i % 10));
		if (i % 7 == 0)
			r[2].type = AEDB_TYPE_NULL;
		assert_true(aedb_txn_insert(t, T_P, T_S, "users", r, 3) >= 0);
		if (i % 2 == 0) {
			ord[0] = t_u64(10000 + i);
			ord[1] = t_u64(i);
			assert_true(aedb_txn_insert(t, T_P, T_S, "orders", ord, 2) >= 0);
		}
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	return db;
}

static void test_query_filter_order_page(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct aedb_value three = t_int(3), lo = t_u64(20), hi = t_u64(79);
		struct aedb_query_result *r = NULL;
		struct aedb_query *q;
		uint8_t *cur = NULL;
		uint64_t seen = 0, last = 0;

		/* score = 3 AND id BETWEEN 20 AND 79, by id desc, pages of 2 */
		t_assert_rc(aedb_query_create("users", &q), 0);
		t_assert_rc(aedb_query_where(q, aedb_expr_and(
			aedb_expr_cmp(AEDB_CMP_EQ, "score", &three),
			aedb_expr_between("id", &lo, &hi))), 0);
		t_assert_rc(aedb_query_order_by(q, "id", true), 0);
		t_assert_rc(aedb_query_select(q, "id"), 0);
		t_assert_rc(aedb_query_limit(q, 2), 0);
		for (;;) {
			t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
			assert_int_equal(r->ncols, 1);
			assert_string_equal(r->names[0], "id");
			for (uint64_t i = 0; i < r->nrows; i++) {
				uint64_t id = r->rows[i].u.u64;

				assert_true(id % 10 == 3 && id >= 20 && id <= 79);
				assert_true(seen == 0 || id < last);
				last = id;
				seen++;
			}
			free(cur);
			cur = NULL;
			if (!r->truncated) {
				aedb_query_result_free(r);
				break;
			}
			cur = malloc(r->cursor_len);
			memcpy(cur, r->cursor, r->cursor_len);
			t_assert_rc(aedb_query_set_cursor(q, cur, r->cursor_len), 0);
			aedb_query_result_free(r);
		}
		assert_true(seen == 5); /* 23, 33, 43, 53, 73 (63 is NULL) */
		aedb_query_free(q);
		t_close(db);
	}
}

static void test_query_null_like_agg_join(void **state)
{
	struct aedb *db = t_setup(3);
	struct aedb_query_result *r = NULL;
	struct aedb_query *q;
	struct aedb_value four = t_int(4);

	(void)state;
	/* IS NULL; NOT (score = 4) is true on NULL scores */
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_is_null("score")), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->nrows == (T_N + 6) / 7);
	aedb_query_result_free(r);
	aedb_query_free(q);
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_not(aedb_expr_cmp(AEDB_CMP_EQ, "score",
								     &four))), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	/* score 4: ids 4, 14, ..., 114 but 14 and 84 (NULL): 10 rows */
	assert_true(r->nrows == T_N - 10);
	aedb_query_result_free(r);
	aedb_query_free(q);
	/* LIKE and prefix */
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_like("name", "name1_5", 7)), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->nrows == 2); /* name105, name115 */
	aedb_query_result_free(r);
	aedb_query_free(q);
	/* GROUP BY with COUNT, ordered */
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_group_by(q, "score"), 0);
	t_assert_rc(aedb_query_aggregate(q, AEDB_AGG_COUNT, NULL), 0);
	t_assert_rc(aedb_query_order_by(q, "score", false), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->nrows == 11); /* NULL and 0..9 */
	assert_int_equal(r->ncols, 2);
	aedb_query_result_free(r);
	aedb_query_free(q);
	/* join */
	t_assert_rc(aedb_query_create("orders", &q), 0);
	t_assert_rc(aedb_query_join(q, AEDB_JOIN_INNER, "users", "u", "orders.uid", "id"), 0);
	t_assert_rc(aedb_query_select(q, "u.name"), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->nrows == T_N / 2);
	aedb_query_result_free(r);
	aedb_query_free(q);
	t_close(db);
}

static void test_query_errors_and_snapshot(void **state)
{
	struct aedb *db = t_setup(2);
	struct aedb_query_result *r = NULL;
	struct aedb_value txt = t_text("x"), row[3];
	struct aedb_query *q;
	uint64_t snap = aedb_visible_seq(db);

	(void)state;
	row[0] = t_u64(999);
	row[1] = t_text("late");
	row[2] = t_int(1);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "users", row, 3, 0, NULL), 0);
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_aggregate(q, AEDB_AGG_COUNT, NULL), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_SEQ(snap), &r), 0);
	assert_true(r->rows[0].u.u64 == T_N && r->snapshot_seq == snap);
	aedb_query_result_free(r);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->rows[0].u.u64 == T_N + 1);
	aedb_query_result_free(r);
	aedb_query_free(q);

	t_assert_rc(aedb_query_create("nosuch", &q), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), -AEDB_ENOTABLE);
	assert_null(r);
	aedb_query_free(q);
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_run(db, T_P, "none", q, AEDB_LATEST, &r), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_query_run(db, T_P, T_S, NULL, AEDB_LATEST, &r), -AEDB_EMISUSE);
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "nocol", &txt)), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), -AEDB_ENOCOLUMN);
	aedb_query_free(q);
	t_assert_rc(aedb_query_create("users", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "id", &txt)), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), -AEDB_ETYPE);
	t_assert_rc(aedb_query_where(q, NULL), -ENOMEM);
	t_assert_rc(aedb_query_aggregate(q, 99, NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_query_join(q, 7, "users", NULL, "users.id", "id"), -AEDB_EINVAL);
	t_assert_rc(aedb_query_set_cursor(q, "junk", 4), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), -AEDB_ECURSOR);
	aedb_query_free(q);
	assert_null(aedb_expr_cmp(99, "id", &txt));
	assert_null(aedb_expr_cmp(AEDB_CMP_EQ, NULL, &txt));
	aedb_expr_free(NULL);
	aedb_query_result_free(NULL);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_filter_order_page),
		cmocka_unit_test(test_query_null_like_agg_join),
		cmocka_unit_test(test_query_errors_and_snapshot),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
