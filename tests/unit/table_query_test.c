/* SPDX-License-Identifier: MIT */
/*
 * table/query: the planner's access paths and explain, projection, ORDER BY
 * with NULLs, LIMIT/OFFSET, keyset cursors and their misuse, limits with
 * their errors, exists, list-with-total, batches, and the builder's
 * argument checks (aggregates, joins and damaged sources are in
 * table_query_ops_test.c). Each case runs over 1, 2, 4 and 8 fake shards
 * where the shard count could matter.
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

/* ---- access paths ---------------------------------------------------- */

static void test_query_full_scan(void **state)
{
	for (uint32_t ns = 1; ns <= 8; ns *= 2) {
		struct t_db d;
		struct tv_query *q;
		struct tv_result *r;

		(void)state;
		t_db_open(&d, ns);
		q = t_q("users");
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.path, TV_PATH_FULL_SCAN);
		assert_true(r->plan.order_from_path);
		assert_int_equal(r->nrows, T_USERS);
		assert_int_equal(r->ncols, 6);
		assert_string_equal(r->names[1], "name");
		assert_int_equal(r->types[2], TV_U8);
		assert_false(r->truncated);
		assert_null(r->cursor);
		assert_int_equal(r->snapshot_seq, 77);
		assert_int_equal(r->rows_examined, T_USERS);
		for (uint64_t i = 0; i < r->nrows; i++)
			assert_int_equal(t_i64(r, i, "id"), (int64_t)i + 1);
		assert_int_equal(t_val(r, 6, "age")->type, TV_NULL);  /* id 7 */
		assert_memory_equal(t_val(r, 0, "name")->u.bytes, "n1", 2);
		tv_result_free(r);
		tv_query_free(q);
		t_db_close(&d);
	}
}

static void test_query_pk_point(void **state)
{
	struct tv_value ids[4] = { tv_integer(9), tv_integer(3), tv_u64(99), tv_float(4.5) };
	struct t_db d;
	struct tv_query *q;
	struct tv_result *r;

	(void)state;
	t_db_open(&d, 4);
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_eq("id", tv_u64(5))), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.path, TV_PATH_PK_POINT);
	assert_int_equal(r->plan.nranges, 1);
	assert_int_equal(r->nrows, 1);
	assert_int_equal(r->rows_examined, 1);
	assert_int_equal(t_i64(r, 0, "id"), 5);
	assert_non_null(strstr(r->plan.text, "pk point (1 key)"));
	tv_result_free(r);
	tv_query_free(q);
	/* IN: points in key order; 99 is missing, 4.5 never matches. */
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_in("id", ids, 4)), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.path, TV_PATH_PK_POINT);
	assert_int_equal(r->plan.nranges, 3);
	assert_int_equal(r->nrows, 2);
	assert_int_equal(t_i64(r, 0, "id"), 3);
	assert_int_equal(t_i64(r, 1, "id"), 9);
	tv_result_free(r);
	tv_query_free(q);
	/* A point plus a residual filter. */
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_eq("id", tv_integer(6))), 0);
	assert_int_equal(tv_query_where(q, tv_expr_eq("active", tv_boolean(false))), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.path, TV_PATH_PK_POINT);
	assert_true(r->plan.filter);
	assert_int_equal(r->nrows, 0);
	tv_result_free(r);
	tv_query_free(q);
	/* Contradictions read nothing. */
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_and(tv_expr_eq("id", tv_integer(6)),
						       tv_expr_eq("id", tv_integer(7)))), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.path, TV_PATH_EMPTY);
	assert_int_equal(r->nrows, 0);
	assert_int_equal(r->rows_examined, 0);
	tv_result_free(r);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_eq("id", tv_float(2.5))), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.path, TV_PATH_EMPTY);
	assert_int_equal(r->nrows, 0);
	tv_result_free(r);
	tv_query_free(q);
	t_db_close(&d);
}

static void test_query_pk_range(void **state)
{
	struct tv_value uids[2] = { tv_integer(7), tv_integer(3) };

	(void)state;
	for (uint32_t ns = 1; ns <= 8; ns *= 2) {
		struct t_db d;
		struct tv_query *q;
		struct tv_result *r;

		t_db_open(&d, ns);
		q = t_q("users");
		assert_int_equal(tv_query_where(q, tv_expr_gt("id", tv_float(10.5))), 0);
		assert_int_equal(tv_query_where(q, tv_expr_le("id", tv_integer(20))), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.path, TV_PATH_PK_RANGE);
		assert_true(r->plan.key_range);
		assert_int_equal(r->plan.key_eq, 0);
		assert_int_equal(r->nrows, 10);
		assert_int_equal(r->rows_examined, 10);
		for (uint64_t i = 0; i < 10; i++)
			assert_int_equal(t_i64(r, i, "id"), 11 + (int64_t)i);
		tv_result_free(r);
		tv_query_free(q);
		/* Composite PK: a bound prefix, then a range on the next column. */
		q = t_q("orders");
		assert_int_equal(tv_query_where(q, tv_expr_eq("uid", tv_integer(7))), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.path, TV_PATH_PK_RANGE);
		assert_int_equal(r->plan.key_eq, 1);
		assert_int_equal(r->nrows, 3);
		assert_int_equal(r->rows_examined, 3);
		tv_result_free(r);
		tv_query_free(q);
		q = t_q("orders");
		assert_int_equal(tv_query_where(q, tv_expr_in("uid", uids, 2)), 0);
		assert_int_equal(tv_query_where(q, tv_expr_ge("oid", tv_integer(2))), 0);
		assert_int_equal(tv_query_order_by(q, "uid", false), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.key_eq, 1);
		assert_true(r->plan.key_range);
		assert_int_equal(r->plan.nranges, 2);
		assert_true(r->plan.order_from_path);
		assert_int_equal(r->nrows, 4);      /* (3,2) (3,3) (7,2) (7,3) */
		assert_int_equal(t_i64(r, 0, "uid"), 3);
		assert_int_equal(t_i64(r, 1, "oid"), 3);
		assert_int_equal(t_i64(r, 2, "uid"), 7);
		assert_int_equal(r->rows_examined, 4);
		tv_result_free(r);
		tv_query_free(q);
		/* A range on the second PK column alone cannot use the PK. */
		q = t_q("orders");
		assert_int_equal(tv_query_where(q, tv_expr_eq("oid", tv_integer(1))), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.path, TV_PATH_FULL_SCAN);
		assert_int_equal(r->nrows, 8);
		tv_result_free(r);
		tv_query_free(q);
		t_db_close(&d);
	}
}

static void test_query_index(void **state)
{
	(void)state;
	for (uint32_t ns = 1; ns <= 8; ns *= 2) {
		struct t_db d;
		struct tv_query *q;
		struct tv_result *r;

		t_db_open(&d, ns);
		q = t_q("users");
		assert_int_equal(tv_query_where(q, tv_expr_eq("city", tv_text("rome", 4))), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.path, TV_PATH_INDEX);
		assert_string_equal(r->plan.index, "by_city");
		assert_int_equal(r->nrows, 10);
		assert_int_equal(r->rows_examined, 10);
		/* Non-unique index entries come in PK order for one value. */
		assert_true(r->plan.order_from_path);
		for (uint64_t i = 0; i < r->nrows; i++)
			assert_int_equal(t_i64(r, i, "id") % 4, 1);
		assert_int_equal(t_i64(r, 0, "id"), 1);
		tv_result_free(r);
		tv_query_free(q);
		/* Unique index point. */
		q = t_q("users");
		assert_int_equal(tv_query_where(q, tv_expr_eq("name", tv_text("n12", 3))), 0);
		r = t_run(&d, q, NULL);
		assert_string_equal(r->plan.index, "by_name");
		assert_int_equal(r->nrows, 1);
		assert_int_equal(t_i64(r, 0, "id"), 12);
		tv_result_free(r);
		tv_query_free(q);
		/* LIKE prefix and a byte prefix use the index range. */
		q = t_q("users");
		assert_int_equal(tv_query_where(q, tv_expr_like("name", "n1_", 3)), 0);
		r = t_run(&d, q, NULL);
		assert_string_equal(r->plan.index, "by_name");
		assert_true(r->plan.key_range);
		assert_int_equal(r->nrows, 10);     /* n10..n19 */
		assert_int_equal(r->rows_examined, 11); /* n1 is in range, fails the filter */
		tv_result_free(r);
		tv_query_free(q);
		q = t_q("users");
		assert_int_equal(tv_query_where(q, tv_expr_prefix("name", "n3", 2)), 0);
		assert_int_equal(tv_query_order_by(q, "id", true), 0);
		r = t_run(&d, q, NULL);
		assert_string_equal(r->plan.index, "by_name");
		assert_false(r->plan.order_from_path);
		assert_int_equal(r->nrows, 11);     /* n3, n30..n39 */
		assert_int_equal(t_i64(r, 0, "id"), 39);
		assert_int_equal(t_i64(r, 10, "id"), 3);
		tv_result_free(r);
		tv_query_free(q);
		/* IS NULL never uses an index. */
		q = t_q("users");
		assert_int_equal(tv_query_where(q, tv_expr_is_null("city")), 0);
		r = t_run(&d, q, NULL);
		assert_int_equal(r->plan.path, TV_PATH_FULL_SCAN);
		assert_int_equal(r->nrows, 10);
		tv_result_free(r);
		tv_query_free(q);
		t_db_close(&d);
	}
}

static void test_query_partial_index(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_result *r;

	(void)state;
	t_db_open(&d, 2);
	/* The WHERE implies active = true: the partial index serves it. */
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_gt("age", tv_integer(40))), 0);
	assert_int_equal(tv_query_where(q, tv_expr_eq("active", tv_boolean(true))), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.path, TV_PATH_INDEX);
	assert_string_equal(r->plan.index, "adults_active");
	for (uint64_t i = 0; i < r->nrows; i++)
		assert_int_equal(t_i64(r, i, "id") % 3, 0);
	/* ids 3..39 step 3 with 20 + id % 30 > 40: 24(44), 27(47); 21 has none */
	assert_int_equal(r->nrows, 2);
	tv_result_free(r);
	tv_query_free(q);
	/* Without active = true it would miss rows: full scan. */
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_gt("age", tv_integer(40))), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.path, TV_PATH_FULL_SCAN);
	assert_int_equal(r->nrows, 7);      /* 21..29 but not 21, 28 */
	tv_result_free(r);
	tv_query_free(q);
	t_db_close(&d);
}

/* ---- output ---------------------------------------------------------- */

static void test_query_projection_order(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_result *r;

	(void)state;
	t_db_open(&d, 8);
	q = t_q("users");
	assert_int_equal(tv_query_select(q, "name"), 0);
	assert_int_equal(tv_query_select(q, "id"), 0);
	assert_int_equal(tv_query_order_by(q, "age", false), 0);
	assert_int_equal(tv_query_order_by(q, "id", true), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->ncols, 2);
	assert_string_equal(r->names[0], "name");
	assert_int_equal(r->types[1], TV_INTEGER);
	assert_int_equal(r->nrows, T_USERS);
	/* NULL ages first (ids 35, 28, 21, 14, 7), then ascending age. */
	assert_int_equal(t_i64(r, 0, "id"), 35);
	assert_int_equal(t_i64(r, 4, "id"), 7);
	assert_int_equal(t_i64(r, 5, "id"), 30);        /* age 20 */
	assert_int_equal(t_i64(r, 6, "id"), 31);        /* age 21, id 31 before 1 */
	assert_int_equal(t_i64(r, 7, "id"), 1);
	assert_false(r->plan.order_from_path);
	tv_result_free(r);
	tv_query_free(q);
	/* Descending puts NULLs last. */
	q = t_q("users");
	assert_int_equal(tv_query_order_by(q, "score", true), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(t_i64(r, 0, "id"), 39);
	assert_int_equal(t_val(r, T_USERS - 1, "score")->type, TV_NULL);
	assert_int_equal(t_i64(r, T_USERS - 8, "id"), 5);  /* NULL ties by PK */
	assert_int_equal(t_i64(r, T_USERS - 1, "id"), 40);
	tv_result_free(r);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_select(q, "nope"), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOCOLUMN);
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_order_by(q, "nope", false), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOCOLUMN);
	tv_query_free(q);
	q = t_q("nosuch");
	assert_int_equal(t_run_err(&d, q, NULL), -TV_ENOTABLE);
	tv_query_free(q);
	t_db_close(&d);
}

static void test_query_limit_offset(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_result *r;

	(void)state;
	t_db_open(&d, 4);
	/* Streaming: stops after limit + 1 rows. */
	q = t_q("users");
	assert_int_equal(tv_query_limit(q, 5), 0);
	assert_int_equal(tv_query_offset(q, 3), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->nrows, 5);
	assert_int_equal(t_i64(r, 0, "id"), 4);
	assert_true(r->truncated);
	assert_non_null(r->cursor);
	assert_int_equal(r->rows_examined, 9);
	assert_true(r->plan.order_from_path);
	tv_result_free(r);
	/* Sorted: top-k. */
	assert_int_equal(tv_query_order_by(q, "id", true), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->plan.top_k, 9);
	assert_int_equal(t_i64(r, 0, "id"), 37);
	assert_int_equal(t_i64(r, 4, "id"), 33);
	assert_true(r->truncated);
	tv_result_free(r);
	/* Offset past the end; limit past the end. */
	assert_int_equal(tv_query_offset(q, 100), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->nrows, 0);
	assert_false(r->truncated);
	tv_result_free(r);
	assert_int_equal(tv_query_offset(q, 38), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->nrows, 2);
	assert_false(r->truncated);
	assert_null(r->cursor);
	tv_result_free(r);
	/* LIMIT 0: empty, no cursor, not truncated ([rec] §3.2). */
	assert_int_equal(tv_query_limit(q, 0), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(r->nrows, 0);
	assert_false(r->truncated);
	assert_null(r->cursor);
	assert_int_equal(r->rows_examined, 0);
	tv_result_free(r);
	tv_query_free(q);
	t_db_close(&d);
}

/* Page through @q with page size @page; the concatenation must equal the
 * unpaged result (compared on column @col). */
static void t_pages_equal(struct t_db *d, struct tv_query *q, uint64_t page, const char *col)
{
	struct tv_result *all, *r;
	uint64_t seen = 0, pages = 0;
	uint8_t *cur = NULL;
	size_t cur_len = 0;

	all = t_run(d, q, NULL);
	assert_int_equal(tv_query_limit(q, page), 0);
	for (;;) {
		assert_int_equal(tv_query_set_cursor(q, cur, cur_len), 0);
		r = t_run(d, q, NULL);
		pages++;
		assert_true(r->nrows <= page);
		for (uint64_t i = 0; i < r->nrows; i++, seen++) {
			assert_true(seen < all->nrows);
			assert_int_equal(tv_cmp(t_val(r, i, col), t_val(all, seen, col)), 0);
		}
		free(cur);
		cur = NULL;
		cur_len = 0;
		if (!r->truncated) {
			assert_null(r->cursor);
			tv_result_free(r);
			break;
		}
		assert_int_equal(r->nrows, page);
		cur = malloc(r->cursor_len);
		memcpy(cur, r->cursor, r->cursor_len);
		cur_len = r->cursor_len;
		tv_result_free(r);
	}
	assert_int_equal(seen, all->nrows);
	assert_true(pages >= all->nrows / page);
	tv_result_free(all);
	assert_int_equal(tv_query_set_cursor(q, NULL, 0), 0);
	assert_int_equal(tv_query_clear_limit(q), 0);
}

static void test_query_cursor_pages(void **state)
{
	(void)state;
	for (uint32_t ns = 1; ns <= 8; ns *= 2) {
		struct t_db d;
		struct tv_query *q;

		t_db_open(&d, ns);
		q = t_q("users");
		t_pages_equal(&d, q, 7, "id");           /* streaming, PK order */
		assert_int_equal(tv_query_order_by(q, "age", true), 0);
		t_pages_equal(&d, q, 3, "id");           /* sorted, NULL ties */
		tv_query_free(q);
		q = t_q("users");
		assert_int_equal(tv_query_where(q, tv_expr_eq("city", tv_text("paris", 5))), 0);
		t_pages_equal(&d, q, 4, "id");           /* index stream, seek past cursor */
		tv_query_free(q);
		q = t_q("orders");
		assert_int_equal(tv_query_order_by(q, "amount", false), 0);
		t_pages_equal(&d, q, 2, "uid");
		tv_query_free(q);
		q = t_q("users");
		assert_int_equal(tv_query_group_by(q, "city"), 0);
		assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, NULL), 0);
		t_pages_equal(&d, q, 1, "count_star");
		tv_query_free(q);
		t_db_close(&d);
	}
}

static void test_query_cursor_misuse(void **state)
{
	struct t_db d;
	struct tv_query *q, *other;
	struct tv_result *r;
	uint8_t *cur;
	size_t len;
	uint64_t seq = 0;

	(void)state;
	t_db_open(&d, 2);
	q = t_q("users");
	assert_int_equal(tv_query_limit(q, 3), 0);
	r = t_run(&d, q, NULL);
	len = r->cursor_len;
	cur = malloc(len);
	memcpy(cur, r->cursor, len);
	tv_result_free(r);
	assert_int_equal(tv_query_cursor_seq(cur, len, &seq), 0);
	assert_int_equal(seq, 77);
	/* Another query's cursor. */
	other = t_q("users");
	assert_int_equal(tv_query_where(other, tv_expr_gt("id", tv_integer(0))), 0);
	assert_int_equal(tv_query_set_cursor(other, cur, len), 0);
	assert_int_equal(t_run_err(&d, other, NULL), -AEDB_ECURSOR);
	tv_query_free(other);
	/* Another snapshot. */
	assert_int_equal(tv_query_set_cursor(q, cur, len), 0);
	d.env.snapshot_seq = 78;
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_ECURSOR);
	d.env.snapshot_seq = 77;
	/* Changing the limit between pages is fine. */
	assert_int_equal(tv_query_limit(q, 10), 0);
	r = t_run(&d, q, NULL);
	assert_int_equal(t_i64(r, 0, "id"), 4);
	tv_result_free(r);
	/* Any changed byte or length is refused. */
	for (size_t i = 0; i < len; i++) {
		cur[i] ^= 0x20;
		assert_int_equal(tv_query_set_cursor(q, cur, len), 0);
		assert_int_equal(t_run_err(&d, q, NULL), -AEDB_ECURSOR);
		cur[i] ^= 0x20;
	}
	assert_int_equal(tv_query_set_cursor(q, cur, len - 1), 0);
	assert_int_equal(t_run_err(&d, q, NULL), -AEDB_ECURSOR);
	assert_int_equal(tv_query_cursor_seq(cur, 3, &seq), -AEDB_ECURSOR);
	assert_int_equal(tv_query_set_cursor(q, cur, TV_QUERY_CURSOR_MAX + 1), -AEDB_ETOOBIG);
	free(cur);
	tv_query_free(q);
	t_db_close(&d);
}

/* ---- limits, exists, totals, batches ---------------------------------- */

static void test_query_limits(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_query_opts o;
	struct tv_result *r;

	(void)state;
	t_db_open(&d, 4);
	q = t_q("users");
	tv_query_opts_init(&o);
	o.max_scan_rows = 39;
	assert_int_equal(t_run_err(&d, q, &o), -TV_ESCANLIMIT);
	o.max_scan_rows = 40;
	r = t_run(&d, q, &o);       /* no limit: all rows, never a silent cut */
	assert_int_equal(r->nrows, T_USERS);
	assert_false(r->truncated);
	assert_true(r->bytes_peak > 0);
	tv_result_free(r);
	/* A LIMIT that streams stops early, within the scan limit. */
	o.max_scan_rows = 6;
	assert_int_equal(tv_query_limit(q, 5), 0);
	r = t_run(&d, q, &o);
	assert_int_equal(r->nrows, 5);
	tv_result_free(r);
	tv_query_opts_init(&o);
	o.max_bytes = 512;
	assert_int_equal(tv_query_clear_limit(q), 0);
	assert_int_equal(t_run_err(&d, q, &o), -TV_EMEMLIMIT);
	o.max_bytes = 0;
	assert_int_equal(t_run_err(&d, q, &o), -AEDB_EINVAL);
	tv_query_free(q);
	assert_int_equal(tv_query_error_public(-TV_ESCANLIMIT), -AEDB_ETOOBIG);
	assert_int_equal(tv_query_error_public(-TV_EMEMLIMIT), -AEDB_ETOOBIG);
	assert_int_equal(tv_query_error_public(-TV_EJOINROWS), -AEDB_ETOOBIG);
	assert_int_equal(tv_query_error_public(-TV_EJOINBYTES), -AEDB_ETOOBIG);
	assert_int_equal(tv_query_error_public(-TV_ENOTABLE), -AEDB_EINVAL);
	assert_int_equal(tv_query_error_public(-TV_ENOCOLUMN), -AEDB_EINVAL);
	assert_int_equal(tv_query_error_public(-AEDB_ECURSOR), -AEDB_ECURSOR);
	t_db_close(&d);
}

static void test_query_exists_total_batch(void **state)
{
	struct t_db d;
	struct tv_query *q, *q2, *bad;
	struct tv_query_opts o;
	struct tv_result *r, *out[3];
	const struct tv_query *batch[3];
	struct tv_qerr err;
	size_t failed = 99;
	bool yes = false;

	(void)state;
	t_db_open(&d, 8);
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_eq("city", tv_text("oslo", 4))), 0);
	assert_int_equal(tv_query_exists(&d.env, q, NULL, &yes, NULL), 0);
	assert_true(yes);
	q2 = t_q("users");
	assert_int_equal(tv_query_where(q2, tv_expr_eq("city", tv_text("kyiv", 4))), 0);
	assert_int_equal(tv_query_exists(&d.env, q2, NULL, &yes, NULL), 0);
	assert_false(yes);
	/* List with total: a page plus the count of every match. */
	tv_query_opts_init(&o);
	o.want_total = true;
	assert_int_equal(tv_query_limit(q, 3), 0);
	r = t_run(&d, q, &o);
	assert_int_equal(r->nrows, 3);
	assert_int_equal(r->total, 10);
	assert_true(r->truncated);
	assert_int_equal(tv_query_set_cursor(q, r->cursor, r->cursor_len), 0);
	tv_result_free(r);
	r = t_run(&d, q, &o);
	assert_int_equal(r->total, 10);
	assert_int_equal(t_i64(r, 0, "id"), 14);
	tv_result_free(r);
	assert_int_equal(tv_query_set_cursor(q, NULL, 0), 0);
	/* Batch: one snapshot, input order; the first error fails it. */
	bad = t_q("nosuch");
	batch[0] = q;
	batch[1] = q2;
	batch[2] = q;
	assert_int_equal(tv_query_batch(&d.env, batch, 3, NULL, out, &failed, NULL), 0);
	assert_int_equal(out[0]->nrows, 3);
	assert_int_equal(out[1]->nrows, 0);
	assert_int_equal(out[2]->snapshot_seq, out[0]->snapshot_seq);
	for (int i = 0; i < 3; i++)
		tv_result_free(out[i]);
	batch[1] = bad;
	assert_int_equal(tv_query_batch(&d.env, batch, 3, NULL, out, &failed, &err),
			 -TV_ENOTABLE);
	assert_int_equal(failed, 1);
	assert_null(out[0]);
	assert_int_equal(tv_query_batch(&d.env, batch, 0, NULL, out, &failed, &err), 0);
	tv_query_free(bad);
	tv_query_free(q2);
	tv_query_free(q);
	t_db_close(&d);
}

static void test_query_explain(void **state)
{
	struct t_db d;
	struct tv_query *q;
	struct tv_plan_desc pd;
	struct tv_qerr err;

	(void)state;
	t_db_open(&d, 2);
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_eq("city", tv_text("rome", 4))), 0);
	assert_int_equal(tv_query_order_by(q, "age", false), 0);
	assert_int_equal(tv_query_limit(q, 10), 0);
	assert_int_equal(tv_query_explain(&d.env, q, NULL, &pd, &err), 0);
	assert_int_equal(pd.path, TV_PATH_INDEX);
	assert_string_equal(pd.index, "by_city");
	assert_int_equal(pd.key_eq, 1);
	assert_true(pd.sort);
	assert_int_equal(pd.top_k, 11);
	assert_int_equal(pd.rows_estimate, T_USERS);
	assert_non_null(strstr(pd.text, "access: index by_city (= on 1 col; 1 range)"));
	assert_non_null(strstr(pd.text, "order: sort, keep top 11"));
	assert_non_null(strstr(pd.text, "limit: 10 offset 0"));
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, "orders", NULL, "users.id", "uid"), 0);
	assert_int_equal(tv_query_explain(&d.env, q, NULL, &pd, &err), 0);
	assert_int_equal(pd.njoins, 1);
	assert_non_null(strstr(pd.text, "join 1: inner orders on users.id (pk prefix lookup)"));
	assert_non_null(strstr(pd.text, "access: full scan (~40 rows)"));
	tv_query_free(q);
	q = t_q("users");
	assert_int_equal(tv_query_where(q, tv_expr_eq("nope", tv_integer(1))), 0);
	assert_int_equal(tv_query_explain(&d.env, q, NULL, &pd, &err), -TV_ENOCOLUMN);
	assert_non_null(strstr(err.msg, "nope"));
	tv_query_free(q);
	t_db_close(&d);
}

static void test_query_builder_errors(void **state)
{
	struct tv_query *q;
	struct tv_result *r;
	struct tv_plan_desc pd;
	bool yes;

	(void)state;
	assert_int_equal(tv_query_create(NULL, &q), -AEDB_EMISUSE);
	assert_int_equal(tv_query_create("t", NULL), -AEDB_EMISUSE);
	q = t_q("users");
	assert_int_equal(tv_query_select(q, NULL), -AEDB_EMISUSE);
	assert_int_equal(tv_query_select(NULL, "x"), -AEDB_EMISUSE);
	assert_int_equal(tv_query_where(q, NULL), -ENOMEM);
	assert_int_equal(tv_query_where(NULL, tv_expr_is_null("x")), -AEDB_EMISUSE);
	assert_int_equal(tv_query_order_by(q, NULL, false), -AEDB_EMISUSE);
	for (unsigned i = 0; i < TV_QUERY_ORDER_MAX; i++)
		assert_int_equal(tv_query_order_by(q, "id", false), 0);
	assert_int_equal(tv_query_order_by(q, "id", false), -AEDB_ETOOBIG);
	for (unsigned i = 0; i < TV_QUERY_GROUP_MAX; i++)
		assert_int_equal(tv_query_group_by(q, "id"), 0);
	assert_int_equal(tv_query_group_by(q, "id"), -AEDB_ETOOBIG);
	assert_int_equal(tv_query_aggregate(q, 0, "id"), -AEDB_EINVAL);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_AVG + 1, "id"), -AEDB_EINVAL);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_SUM, NULL), -AEDB_EMISUSE);
	for (unsigned i = 0; i < TV_QUERY_AGG_MAX; i++)
		assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, NULL), 0);
	assert_int_equal(tv_query_aggregate(q, TV_AGG_COUNT, NULL), -AEDB_ETOOBIG);
	assert_int_equal(tv_query_join(q, 0, "t", NULL, "a", "b"), -AEDB_EINVAL);
	assert_int_equal(tv_query_join(q, TV_JOIN_INNER, NULL, NULL, "a", "b"), -AEDB_EMISUSE);
	for (unsigned i = 0; i < TV_QUERY_JOIN_MAX; i++)
		assert_int_equal(tv_query_join(q, TV_JOIN_LEFT, "t", NULL, "a", "b"), 0);
	assert_int_equal(tv_query_join(q, TV_JOIN_LEFT, "t", NULL, "a", "b"), -AEDB_ETOOBIG);
	assert_int_equal(tv_query_set_cursor(q, NULL, 3), -AEDB_EMISUSE);
	assert_int_equal(tv_query_alias(q, NULL), -AEDB_EMISUSE);
	assert_int_equal(tv_query_limit(NULL, 1), -AEDB_EMISUSE);
	assert_int_equal(tv_query_run(NULL, q, NULL, &r, NULL), -AEDB_EMISUSE);
	assert_int_equal(tv_query_explain(NULL, q, NULL, &pd, NULL), -AEDB_EMISUSE);
	assert_int_equal(tv_query_exists(NULL, q, NULL, &yes, NULL), -AEDB_EMISUSE);
	tv_query_free(q);
	tv_query_free(NULL);
	tv_result_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_full_scan),
		cmocka_unit_test(test_query_pk_point),
		cmocka_unit_test(test_query_pk_range),
		cmocka_unit_test(test_query_index),
		cmocka_unit_test(test_query_partial_index),
		cmocka_unit_test(test_query_projection_order),
		cmocka_unit_test(test_query_limit_offset),
		cmocka_unit_test(test_query_cursor_pages),
		cmocka_unit_test(test_query_cursor_misuse),
		cmocka_unit_test(test_query_limits),
		cmocka_unit_test(test_query_exists_total_batch),
		cmocka_unit_test(test_query_explain),
		cmocka_unit_test(test_query_builder_errors),
	};

	return cmocka_run_group_tests(tests, t_setup, NULL);
}
