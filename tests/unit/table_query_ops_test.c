/* SPDX-License-Identifier: MIT */
/*
 * table/query: aggregates with GROUP BY/HAVING (types, NULLs, empty input,
 * overflow), inner and left joins with each strategy (PK lookup, PK prefix,
 * index, hash) and their budgets and errors, and damaged sources (an index
 * entry without its row, a corrupt row).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "table/query.h"
#include "table/query_arena.h"
#include "table_query_fixture.h"

/* ---- aggregates ------------------------------------------------------ */

static void test_query_aggregates(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_result *r;

	(void)state;
	t_db_open(&d, 4);
	q = t_q("users");
	assert_int_equal(tv_query_group_by(q, "city"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, NULL), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, "age"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "id"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_MIN, "age"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_MAX, "name"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_AVG, "id"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "age"), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->ncols, 8);
	assert_string_equal(r->names[1], "count_star");
	assert_string_equal(r->names[2], "count_age");
	assert_string_equal(r->names[3], "sum_id");
	assert_string_equal(r->names[6], "avg_id");
	assert_int_equal(r->types[3], TV_INTEGER);
	assert_int_equal(r->types[7], TV_INTEGER);  /* SUM(u8) is an integer */
	assert_int_equal(r->types[6], TV_FLOAT);
	assert_int_equal(r->nrows, 4);               /* NULL, oslo, paris, rome */
	assert_int_equal(t_val(r, 0, "city")->type, TV_NULL);
	assert_int_equal(t_val(r, 0, "count_star")->u.u64, 10);
	/* NULL city: ids 3, 7, ..., 39: sum 210, ages NULL for 7, 35. */
	assert_int_equal(t_i64(r, 0, "sum_id"), 210);
	assert_int_equal(t_val(r, 0, "count_age")->u.u64, 8);
	assert_true(t_val(r, 0, "avg_id")->u.f64 == 21.0);
	assert_memory_equal(t_val(r, 1, "city")->u.bytes, "oslo", 4);
	assert_memory_equal(t_val(r, 3, "max_name")->u.bytes, "n9", 2);
	assert_int_equal(t_val(r, 3, "min_age")->u.u8, 21);
	assert_int_equal(r->plan.aggregate, true);
	assert_int_equal(r->plan.ngroup, 1);
	tv_result_free(r);
	/* HAVING, ORDER BY an aggregate, LIMIT. */
	assert_int_equal(tv_query_having(q, tv_expr_gt("sum_id", tv_integer(195))), 0);
	assert_int_equal(tv_query_order_by(q, "sum_id", true), 0);
	assert_int_equal(tv_query_limit(q, 2), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->nrows, 2);
	assert_true(r->truncated);
	assert_int_equal(t_i64(r, 0, "sum_id"), 220);   /* paris */
	assert_int_equal(t_i64(r, 1, "sum_id"), 210);   /* NULL city */
	tv_result_free(r);
	tv_query_free(q);
	t_db_close(&d);
}

static void test_query_aggregates_global(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_result *r;

	(void)state;
	t_db_open(&d, 2);
	/* A global aggregate over no rows: one row, COUNT 0, the rest NULL. */
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_gt("id", tv_integer(1000))), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, NULL), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "score"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_MAX, "score"), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->nrows, 1);
	assert_int_equal(t_val(r, 0, "count_star")->u.u64, 0);
	assert_int_equal(t_val(r, 0, "sum_score")->type, TV_NULL);
	assert_int_equal(t_val(r, 0, "max_score")->type, TV_NULL);
	tv_result_free(r);
	tv_query_free(q);
	/* u64 and u256 sums; float sum. */
	q = t_q("orders");
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "amount"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "big"), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_AVG, "big"), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(t_val(r, 0, "sum_amount")->type, TV_U64);
	assert_int_equal(t_val(r, 0, "sum_amount")->u.u64, 240);
	assert_int_equal(t_val(r, 0, "sum_big")->type, TV_U256);
	assert_int_equal(t_val(r, 0, "sum_big")->u.w[31], 24);
	assert_true(t_val(r, 0, "avg_big")->u.f64 == 24.0 / 15);
	tv_result_free(r);
	tv_query_free(q);
	t_db_close(&d);
}

static void test_query_aggregate_errors(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_memtable *t;
	static struct tv_column cols[] = {
		{ .name = "k", .type = TV_INTEGER },
		{ .name = "v", .type = TV_INTEGER },
		{ .name = "u", .type = TV_U64 },
	};
	static const char *const pk[] = { "k" };
	static struct tv_schema s = { .name = "big", .cols = cols, .ncols = 3, .pk_names = pk,
				      .npk = 1 };

	(void)state;
	t_db_open(&d, 1);
	assert_int_equal(tv_schema_check(&s, NULL), 0);
	assert_int_equal(tv_memdb_table(d.db, &s, 9, &t), 0);
	for (int i = 0; i < 3; i++) {
		struct tv_value row[3] = { tv_integer(i), tv_integer(INT64_MAX - 1),
					   tv_u64(UINT64_MAX - 1) };

		assert_int_equal(tv_memtable_insert(t, row), 0);
	}
	q = t_q("big");
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "v"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_EOVERFLOW);
	tv_query_free(q);
	q = t_q("big");
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "u"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_EOVERFLOW);
	tv_query_free(q);
	/* The exact sum does not overflow when later rows bring it back. */
	q = t_q("big");
	assert_int_equal(tv_query_aggregate(q, TV_AGG_AVG, "v"), 0);
	{
		struct tv_result *r = t_run(&d, q, NULL);

		assert_true(t_val(r, 0, "avg_v")->u.f64 > 9.2e18);
		tv_result_free(r);
	}
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, "name"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_ETYPE);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_aggregate(q, TV_AGG_AVG, "active"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_ETYPE);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_aggregate(q, TV_AGG_MIN, "nope"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOCOLUMN);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_having(q, tv_expr_gt("id", tv_integer(1))), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_EINVAL);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_group_by(q, "city"), 0);
	assert_int_equal(tv_query_select(q, "id"), 0);   /* not an output column */
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOCOLUMN);
	tv_query_free(q);
	t_db_close(&d);
}

/* ---- joins ----------------------------------------------------------- */

static void test_query_joins(void **state)
{
	(void)state;
	for (uint32_t ns = 1; ns <= 8; ns *= 2) {
		struct t_db d;
		struct tv_query *q;
		struct tv_result *r;

		t_db_open(&d, ns);
		/* users -> orders on the leading PK column: prefix lookups. */
		q = t_q("users");
		assert_int_equal(tv_query_alias(q, "u"), 0);
		assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "orders", "o", "u.id", "o.uid"),
				 0);
		assert_int_equal(tv_query_where(q, tv_expr_le("u.id", tv_integer(5))), 0);
		assert_int_equal(tv_query_select(q, "u.name"), 0);
		assert_int_equal(tv_query_select(q, "o.oid"), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.join_algo[0], TV_JOIN_ALGO_PREFIX);
		assert_int_equal(r->plan.path, TV_PATH_PK_RANGE);
		assert_int_equal(r->nrows, 1 + 2 + 3 + 1);      /* users 1, 2, 3, 5 */
		assert_memory_equal(t_val(r, 0, "u.name")->u.bytes, "n1", 2);
		assert_int_equal(t_i64(r, 2, "o.oid"), 2);
		tv_result_free(r);
		tv_query_free(q);
		/* Left join: users without orders get NULLs. */
		q = t_q("users");
		assert_int_equal(tv_query_join(q, TV_JOIN_LEFT, "orders", NULL, "users.id",
					       "uid"), 0);
		assert_int_equal(tv_query_where(q, tv_expr_le("users.id", tv_integer(4))), 0);
		assert_int_equal(tv_query_order_by(q, "orders.oid", true), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->nrows, 1 + 2 + 3 + 1);
		assert_int_equal(t_i64(r, 0, "orders.oid"), 3);
		assert_int_equal(t_val(r, 6, "orders.oid")->type, TV_NULL);
		assert_int_equal(t_i64(r, 6, "users.id"), 4);
		tv_result_free(r);
		/* A WHERE on the right table filters the NULL-extended row too. */
		assert_int_equal(tv_query_where(q, tv_expr_is_null("orders.oid")), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->nrows, 1);
		assert_int_equal(t_i64(r, 0, "users.id"), 4);
		assert_non_null(strstr(r->plan.text, "filter"));
		tv_result_free(r);
		tv_query_free(q);
		t_db_close(&d);
	}
}

/* A PK-lookup join ordered by the base table's key streams: it stops at
 * the LIMIT, so a join budget below the whole join is enough; ordered by a
 * joined column it must join everything first. */
static void t_join_pk_streams(struct t_db *d)
{
	struct tv_query_opts o;
	struct tv_query *q;
	struct tv_result *r;

	tv_query_opts_init(&o);
	o.max_join_rows = 4;    /* the whole join has 15 rows */
	q = t_q("orders");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "users", "u", "orders.uid", "id"), 0);
	assert_int_equal(tv_query_order_by(q, "orders.uid", false), 0);
	assert_int_equal(tv_query_order_by(q, "orders.oid", false), 0);
	assert_int_equal(tv_query_limit(q, 2), 0);
	r = t_run(d, q, &o);
	assert_true(r->plan.order_from_path);
	assert_int_equal(r->nrows, 2);
	assert_true(r->truncated);
	assert_int_equal(t_i64(r, 0, "orders.uid"), 1);
	assert_int_equal(t_i64(r, 1, "orders.uid"), 2);
	assert_int_equal(t_i64(r, 0, "orders.oid"), t_i64(r, 1, "orders.oid"));
	tv_result_free(r);
	assert_int_equal(tv_query_order_by(q, "u.city", false), 0);
	assert_int_equal(t_run_err(d, q, &o), -TV_EJOINROWS);
	tv_query_free(q);
}

static void test_query_joins_algos(void **state)
{
	(void)state;
	for (uint32_t ns = 1; ns <= 8; ns *= 2) {
		struct t_db d;
		struct tv_query *q;
		struct tv_result *r;

		t_db_open(&d, ns);
		/* orders -> users on the whole PK: point lookups. */
		q = t_q("orders");
		assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "users", "u", "orders.uid",
					       "id"), 0);
		assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, NULL), 0);
		assert_int_equal(tv_query_group_by(q, "u.city"), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.join_algo[0], TV_JOIN_ALGO_PK);
		assert_int_equal(r->nrows, 3);  /* orders of users 1,2,3,5,6,7,9,10 */
		tv_result_free(r);
		tv_query_free(q);
		t_join_pk_streams(&d);
		/* users -> cities on a non-key column: hash join; u64 vs integer. */
		q = t_q("users");
		assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "cities", "c", "users.city",
					       "c.cname"), 0);
		assert_int_equal(tv_query_join(q, TV_JOIN_LEFT, "orders", "o", "c.code",
					       "o.uid"), 0);
		assert_int_equal(tv_query_where(q, tv_expr_eq("c.code", tv_integer(1))), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.join_algo[0], TV_JOIN_ALGO_HASH);
		assert_int_equal(r->plan.join_algo[1], TV_JOIN_ALGO_PREFIX);
		assert_int_equal(r->nrows, 10);         /* the rome users x order (1,1) */
		for (uint64_t i = 0; i < r->nrows; i++)
			assert_int_equal(t_i64(r, i, "o.oid"), 1);
		tv_result_free(r);
		tv_query_free(q);
		/* Through the unique index on name. */
		q = t_q("orders");
		assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "users", "u", "orders.note",
					       "u.name"), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.join_algo[0], TV_JOIN_ALGO_INDEX);
		assert_int_equal(r->nrows, 0);          /* every note is NULL */
		tv_result_free(r);
		tv_query_free(q);
		t_db_close(&d);
	}
}

static void test_query_join_errors(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_query_opts o;

	(void)state;
	t_db_open(&d, 2);
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "orders", "o", "id", "uid"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOCOLUMN);   /* unqualified */
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "orders", "users", "users.id",
				       "uid"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_EINVAL);    /* duplicate alias */
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "nosuch", NULL, "users.id", "x"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOTABLE);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "orders", NULL, "users.name",
				       "uid"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_ETYPE);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "orders", NULL, "users.id",
				       "nope"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOCOLUMN);
	tv_query_free(q);
	/* Budgets. */
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_LEFT, "orders", NULL, "users.id", "uid"), 0);
	tv_query_opts_init(&o);
	o.max_join_rows = 20;
	assert_int_equal(t_run_err(&d, q, &o), -TV_EJOINROWS);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "cities", NULL, "users.city",
				       "cname"), 0);
	tv_query_opts_init(&o);
	o.max_join_bytes = 64;
	assert_int_equal(t_run_err(&d, q, &o), -TV_EJOINBYTES);
	o.max_join_bytes = 1 << 20;
	{
		struct tv_result *r = t_run(&d, q, &o);

		assert_int_equal(r->nrows, 30);
		tv_result_free(r);
	}
	tv_query_free(q);
	t_db_close(&d);
}

/* ---- damaged sources -------------------------------------------------- */

static const struct tv_table_source *t_inner;
static struct tv_table_source t_wrapped;
static int t_get_miss(void *ctx, const uint8_t *pk, size_t len, struct tv_kv *out)
{
	(void)ctx;
	(void)pk;
	(void)len;
	(void)out;
	return 0;
}

struct t_badcur {
	struct tv_cursor c;
	bool done;
};

static int t_badcur_seek(struct tv_cursor *c, const uint8_t *k, size_t n, bool after)
{
	static const uint8_t key[] = { 0x05, 0x80, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t row[] = { 1, 0, 6, 0, 0xff };

	(void)k;
	(void)n;
	(void)after;
	c->kv = (struct tv_kv){ .key = key, .key_len = sizeof(key), .val = row,
				.val_len = sizeof(row) };
	return 1;
}

static int t_badcur_next(struct tv_cursor *c)
{
	(void)c;
	return 0;
}

static void t_badcur_close(struct tv_cursor *c)
{
	free(c);
}

static const struct tv_cursor_ops t_badcur_ops = { t_badcur_seek, t_badcur_next,
						   t_badcur_close };

static int t_badcur_open(void *ctx, uint32_t part, struct tv_cursor **out)
{
	struct t_badcur *c = calloc(1, sizeof(*c));

	(void)ctx;
	(void)part;
	c->c.ops = &t_badcur_ops;
	*out = &c->c;
	return 0;
}

static int t_wrapped_table(void *ctx, const char *name, const struct tv_table_source **out)
{
	(void)ctx;
	if (strcmp(name, "users"))
		return -TV_ENOTABLE;
	*out = &t_wrapped;
	return 0;
}

static void test_query_damaged_sources(void **state)
{
	struct t_db d;
	struct tv_env env;
	struct tv_query *q;
	struct tv_result *r = NULL;
	struct tv_qerr err;

	(void)state;
	t_db_open(&d, 2);
	assert_int_equal(d.env.table(d.env.ctx, "users", &t_inner), 0);
	t_wrapped = *t_inner;
	t_wrapped.get = t_get_miss;
	env = (struct tv_env){ .snapshot_seq = 77, .table = t_wrapped_table };
	/* An index entry whose row is gone. */
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_eq("city", tv_text("rome", 4))), 0);
	assert_int_equal(tv_query_run(&env, q, NULL, &r, &err), -AEDB_ECORRUPT);
	assert_non_null(strstr(err.msg, "by_city"));
	tv_query_free(q);
	/* A damaged row from a cursor. */
	t_wrapped.open = t_badcur_open;
	t_wrapped.nindexes = 0;
	q = t_q("users");
	assert_int_equal(tv_query_run(&env, q, NULL, &r, &err), -AEDB_ECORRUPT);
	assert_null(r);
	tv_query_free(q);
	t_db_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_aggregates),
		cmocka_unit_test(test_query_aggregates_global),
		cmocka_unit_test(test_query_aggregate_errors),
		cmocka_unit_test(test_query_joins),
		cmocka_unit_test(test_query_joins_algos),
		cmocka_unit_test(test_query_join_errors),
		cmocka_unit_test(test_query_damaged_sources),
	};

	return cmocka_run_group_tests(tests, t_setup, NULL);
}
