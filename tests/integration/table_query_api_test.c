/* SPDX-License-Identifier: MIT */
/*
 * table_query_api_test - the query API completions (issue 5): explain
 * (every access path), exists, batches at one snapshot, list with total,
 * AT_LATEST / AT_SEQ with the snapshot on every result, the scan and memory
 * limits as clear errors (never a silent truncation), error detail.
 */
#include "it_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define T_N 200u

static const char *const t_pk2[] = { "grp", "id" };

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

/* items(grp u64, id u64, val integer) primary key (grp, id); grp = id % 4 */
static struct aedb *t_setup(uint32_t shards)
{
	struct aedb_column_def c[3] = {
		{ .name = "grp", .type = AEDB_TYPE_U64 },
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "val", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	};
	struct aedb_table_def d = { "items", c, 3, 2, t_pk2 };
	struct aedb *db = t_open_p(shards, NULL);
	struct aedb_txn *t;

	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	for (uint32_t i = 0; i < T_N; i++) {
		struct aedb_value r[3] = { t_u64(i % 4), t_u64(i), t_int((int64_t)i * 10) };

		assert_true(aedb_txn_insert(t, T_P, T_S, "items", r, 3) >= 0);
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	return db;
}

static struct aedb_query *t_q(void)
{
	struct aedb_query *q;

	t_assert_rc(aedb_query_create("items", &q), 0);
	return q;
}

static void test_explain_paths(void **state)
{
	struct aedb *db = t_setup(4);
	struct aedb_value g1 = t_u64(1), i5 = t_u64(5), i9 = t_u64(9), v = t_int(50);
	struct aedb_query_plan p;
	struct aedb_query *q;

	(void)state;
	/* pk point: every key column bound */
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_and(aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g1),
						      aedb_expr_cmp(AEDB_CMP_EQ, "id", &i5))), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &p), 0);
	assert_int_equal(p.path, AEDB_PATH_PK_POINT);
	assert_int_equal(p.key_eq, 2);
	assert_true(p.snapshot_seq == aedb_visible_seq(db));
	assert_non_null(strstr(p.text, "access:"));
	aedb_query_free(q);
	/* pk range: the leading column bound, a range on the next */
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_and(aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g1),
						      aedb_expr_cmp(AEDB_CMP_GT, "id", &i9))), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &p), 0);
	assert_int_equal(p.path, AEDB_PATH_PK_RANGE);
	assert_int_equal(p.key_eq, 1);
	assert_int_equal(p.key_range, 1);
	aedb_query_free(q);
	/* full scan with a filter, sorted with a top-k */
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_GE, "val", &v)), 0);
	t_assert_rc(aedb_query_order_by(q, "val", true), 0);
	t_assert_rc(aedb_query_limit(q, 10), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &p), 0);
	assert_int_equal(p.path, AEDB_PATH_FULL_SCAN);
	assert_int_equal(p.filter, 1);
	assert_int_equal(p.sort, 1);
	assert_true(p.top_k == 11);
	aedb_query_free(q);
	/* empty: contradictory equalities read nothing */
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_and(aedb_expr_cmp(AEDB_CMP_EQ, "id", &i5),
						      aedb_expr_cmp(AEDB_CMP_EQ, "id", &i9))), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &p), 0);
	assert_int_equal(p.path, AEDB_PATH_EMPTY);
	aedb_query_free(q);
	/* binding errors */
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "nocol", &v)), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &p), -AEDB_ENOCOLUMN);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, NULL), -AEDB_EMISUSE);
	aedb_query_free(q);
	t_assert_rc(aedb_query_create("nosuch", &q), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &p), -AEDB_ENOTABLE);
	aedb_query_free(q);
	t_close(db);
}

static void test_exists_and_snapshots(void **state)
{
	struct aedb *db = t_setup(3);
	struct aedb_value g2 = t_u64(2), big = t_u64(1000), row[3];
	struct aedb_query_result *r;
	struct aedb_query *q;
	uint64_t snap = aedb_visible_seq(db), seen = 0;

	(void)state;
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g2)), 0);
	t_assert_rc(aedb_query_exists(db, T_P, T_S, q, AEDB_LATEST, &seen), 1);
	assert_true(seen == snap);
	aedb_query_free(q);
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_GE, "id", &big)), 0);
	t_assert_rc(aedb_query_exists(db, T_P, T_S, q, AEDB_LATEST, NULL), 0);
	/* a row appears: AT_LATEST sees it, AT_SEQ(snap) does not */
	row[0] = t_u64(0);
	row[1] = t_u64(1000);
	row[2] = t_int(0);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "items", row, 3, 0, NULL), 0);
	t_assert_rc(aedb_query_exists(db, T_P, T_S, q, AEDB_LATEST, &seen), 1);
	assert_true(seen > snap);
	t_assert_rc(aedb_query_exists(db, T_P, T_S, q, AEDB_SEQ(snap), &seen), 0);
	assert_true(seen == snap);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_SEQ(snap), &r), 0);
	assert_true(r->nrows == 0 && r->snapshot_seq == snap);
	aedb_query_result_free(r);
	t_assert_rc(aedb_query_exists(db, T_P, T_S, q, AEDB_SEQ(aedb_visible_seq(db) + 100),
				      NULL), -AEDB_ESEQFUTURE);
	t_assert_rc(aedb_query_exists(db, T_P, "none", q, AEDB_LATEST, NULL), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_query_exists(db, T_P, T_S, NULL, AEDB_LATEST, NULL), -AEDB_EMISUSE);
	aedb_query_free(q);
	t_close(db);
}

static void test_batch_one_snapshot(void **state)
{
	struct aedb *db = t_setup(4);
	struct aedb_value g0 = t_u64(0), g3 = t_u64(3), row[3];
	struct aedb_query_result *outs[3];
	struct aedb_query_error err;
	struct aedb_query *qs[3];
	uint64_t snap = aedb_visible_seq(db);
	size_t failed = 99;

	(void)state;
	qs[0] = t_q();
	t_assert_rc(aedb_query_where(qs[0], aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g0)), 0);
	qs[1] = t_q();
	t_assert_rc(aedb_query_aggregate(qs[1], AEDB_AGG_COUNT, NULL), 0);
	qs[2] = t_q();
	t_assert_rc(aedb_query_where(qs[2], aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g3)), 0);
	t_assert_rc(aedb_query_limit(qs[2], 5), 0);
	/* a write after snap; a batch at snap sees none of it, in every query */
	row[0] = t_u64(0);
	row[1] = t_u64(5000);
	row[2] = t_int(1);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "items", row, 3, 0, NULL), 0);
	t_assert_rc(aedb_query_batch(db, T_P, T_S, (const struct aedb_query *const *)qs, 3,
				     AEDB_SEQ(snap), NULL, outs, &failed, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_true(outs[i]->snapshot_seq == snap);
	assert_true(outs[0]->nrows == T_N / 4);
	assert_true(outs[1]->rows[0].u.u64 == T_N);
	assert_true(outs[2]->nrows == 5 && outs[2]->truncated);
	for (int i = 0; i < 3; i++)
		aedb_query_result_free(outs[i]);
	/* at the latest snapshot, all of them see the new row */
	t_assert_rc(aedb_query_batch(db, T_P, T_S, (const struct aedb_query *const *)qs, 3,
				     AEDB_LATEST, NULL, outs, NULL, NULL), 0);
	assert_true(outs[0]->snapshot_seq == outs[1]->snapshot_seq);
	assert_true(outs[0]->nrows == T_N / 4 + 1);
	assert_true(outs[1]->rows[0].u.u64 == T_N + 1);
	for (int i = 0; i < 3; i++)
		aedb_query_result_free(outs[i]);
	/* one bad query fails the batch: nothing returned, its index named */
	aedb_query_free(qs[1]);
	t_assert_rc(aedb_query_create("nosuch", &qs[1]), 0);
	t_assert_rc(aedb_query_batch(db, T_P, T_S, (const struct aedb_query *const *)qs, 3,
				     AEDB_LATEST, NULL, outs, &failed, &err), -AEDB_ENOTABLE);
	assert_true(failed == 1);
	assert_true(outs[0] == NULL && outs[1] == NULL && outs[2] == NULL);
	assert_int_equal(err.code, -AEDB_ENOTABLE);
	assert_true(strlen(err.msg) > 0);
	t_assert_rc(aedb_query_batch(db, T_P, T_S, NULL, 0, AEDB_LATEST, NULL, NULL, NULL,
				     NULL), 0);
	t_assert_rc(aedb_query_batch(db, T_P, T_S, NULL, 2, AEDB_LATEST, NULL, outs, NULL,
				     NULL), -AEDB_EMISUSE);
	for (int i = 0; i < 3; i++)
		aedb_query_free(qs[i]);
	t_close(db);
}

static void test_list_with_total(void **state)
{
	struct aedb *db = t_setup(2);
	struct aedb_value g1 = t_u64(1);
	struct aedb_query_result *r;
	struct aedb_query *q;
	uint64_t rows = 0, total = 0;
	uint8_t *cur = NULL;

	(void)state;
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g1)), 0);
	t_assert_rc(aedb_query_limit(q, 7), 0);
	for (;;) {
		t_assert_rc(aedb_query_list_with_total(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
		assert_true(r->total == T_N / 4);
		assert_true(total == 0 || r->total == total);
		total = r->total;
		rows += r->nrows;
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
	assert_true(rows == T_N / 4);
	/* without the flag, total stays 0 */
	t_assert_rc(aedb_query_set_cursor(q, NULL, 0), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->total == 0 && r->nrows == 7);
	aedb_query_result_free(r);
	aedb_query_free(q);
	t_close(db);
}

static void test_limits_are_errors(void **state)
{
	struct aedb *db = t_setup(4);
	struct aedb_query_opts o;
	struct aedb_query_error err;
	struct aedb_query_result *r = (void *)1;
	struct aedb_query *q;

	(void)state;
	q = t_q();
	/* the whole table is 200 rows: a scan limit of 50 is a clear error */
	aedb_query_opts_init(&o);
	o.max_scan_rows = 50;
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, &o, &r, &err),
		    -AEDB_ESCANLIMIT);
	assert_null(r);
	assert_int_equal(err.code, -AEDB_ESCANLIMIT);
	assert_true(strlen(err.msg) > 0);
	/* with a LIMIT that streams, the scan stops early and succeeds */
	t_assert_rc(aedb_query_limit(q, 10), 0);
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, &o, &r, NULL), 0);
	assert_true(r->nrows == 10 && r->truncated);
	aedb_query_result_free(r);
	/* sorting on a non-key column must read every row: over the limit */
	t_assert_rc(aedb_query_order_by(q, "val", true), 0);
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, &o, &r, NULL),
		    -AEDB_ESCANLIMIT);
	/* a materialized-bytes ceiling */
	aedb_query_opts_init(&o);
	o.max_bytes = 512;
	t_assert_rc(aedb_query_clear_limit(q), 0);
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, &o, &r, &err),
		    -AEDB_EMEMLIMIT);
	assert_int_equal(err.code, -AEDB_EMEMLIMIT);
	/* the defaults hold all 200 rows; no truncation without a LIMIT */
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, NULL, &r, NULL), 0);
	assert_true(r->nrows == T_N && !r->truncated);
	aedb_query_result_free(r);
	/* bad options */
	aedb_query_opts_init(&o);
	o.flags = 0x80;
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, &o, &r, NULL),
		    -AEDB_EINVAL);
	aedb_query_opts_init(&o);
	o.reserved[1] = 1;
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, &o, &r, NULL),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_query_run_ex(db, T_P, T_S, q, AEDB_LATEST, NULL, NULL, NULL),
		    -AEDB_EMISUSE);
	aedb_query_free(q);
	t_close(db);
}

static void test_submission_queue(void **state)
{
	struct aedb *db = t_setup(3);
	struct aedb_value g2 = t_u64(2), row[3] = { t_u64(0), t_u64(999), t_int(1) };
	struct aedb_query_req rq[3];
	struct aedb_commit_result res;
	struct aedb_query *q, *bad;
	struct aedb_ring ring;
	struct aedb_cqe *cqe;
	struct aedb_txn *t;
	int32_t got[4] = { 0 };

	(void)state;
	q = t_q();
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g2)), 0);
	t_assert_rc(aedb_query_create("nosuch", &bad), 0);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	assert_true(aedb_txn_insert(t, T_P, T_S, "items", row, 3) >= 0);
	memset(rq, 0, sizeof(rq));
	for (int i = 0; i < 3; i++) {
		rq[i].project = T_P;
		rq[i].scope = T_S;
		rq[i].q = i == 2 ? bad : q;
	}
	t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
	aedb_prep_query(aedb_get_sqe(&ring), AEDB_LATEST, &rq[0]);
	aedb_sqe_set_data64(&ring.sqes[0], 0);
	aedb_prep_commit(aedb_get_sqe(&ring), t, &res);
	aedb_sqe_set_data64(&ring.sqes[1], 1);
	t_assert_rc(aedb_submit(&ring), 2);
	for (int i = 0; i < 2; i++) {
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		got[cqe->user_data] = cqe->res;
		aedb_cqe_seen(&ring, cqe);
	}
	assert_int_equal(got[0], T_N / 4);
	t_assert_rc(got[1], 0);
	assert_true(rq[0].result->nrows == T_N / 4);
	/* after the commit, AT_SEQ(its seq) sees the new row; a bad query fails */
	aedb_prep_query(aedb_get_sqe(&ring), AEDB_SEQ(res.seq), &rq[1]);
	aedb_sqe_set_data64(&ring.sqes[2], 2);
	aedb_prep_query(aedb_get_sqe(&ring), AEDB_LATEST, &rq[2]);
	aedb_sqe_set_data64(&ring.sqes[3], 3);
	t_assert_rc(aedb_submit(&ring), 2);
	for (int i = 0; i < 2; i++) {
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		got[cqe->user_data] = cqe->res;
		aedb_cqe_seen(&ring, cqe);
	}
	assert_int_equal(got[2], T_N / 4);
	assert_true(rq[1].result->snapshot_seq == res.seq);
	t_assert_rc(got[3], -AEDB_ENOTABLE);
	assert_null(rq[2].result);
	assert_int_equal(rq[2].err.code, -AEDB_ENOTABLE);
	aedb_ring_exit(&ring);
	aedb_query_result_free(rq[0].result);
	aedb_query_result_free(rq[1].result);
	aedb_txn_free(t);
	aedb_query_free(q);
	aedb_query_free(bad);
	t_close(db);
}

static void test_lookup_then_hydrate(void **state)
{
	struct aedb *db = t_setup(4);
	struct aedb_value g1 = t_u64(1), v50 = t_int(50), none = t_u64(1000);
	struct aedb_query_result *rs, *rh;
	struct aedb_query *src, *hyd;

	(void)state;
	/* ids of group 1, first five by id: 1, 5, 9, 13, 17 */
	src = t_q();
	t_assert_rc(aedb_query_where(src, aedb_expr_cmp(AEDB_CMP_EQ, "grp", &g1)), 0);
	t_assert_rc(aedb_query_select(src, "id"), 0);
	t_assert_rc(aedb_query_order_by(src, "id", false), 0);
	t_assert_rc(aedb_query_limit(src, 5), 0);
	/* hydrate: those rows whose val >= 50 (id 1 has 10) */
	hyd = t_q();
	t_assert_rc(aedb_query_where(hyd, aedb_expr_cmp(AEDB_CMP_GE, "val", &v50)), 0);
	t_assert_rc(aedb_query_lookup_then_hydrate(db, T_P, T_S, src, "id", hyd, "id",
						   AEDB_LATEST, &rs, &rh), 0);
	assert_true(rs->nrows == 5 && rh->nrows == 4);
	assert_true(rs->snapshot_seq == rh->snapshot_seq);
	for (uint64_t i = 0; i < rh->nrows; i++)
		assert_true(rh->rows[i * rh->ncols + 1].u.u64 == 5 + 4 * i);
	aedb_query_result_free(rs);
	aedb_query_result_free(rh);
	/* errors, and a source with no rows */
	t_assert_rc(aedb_query_lookup_then_hydrate(db, T_P, T_S, src, "val", hyd, "id",
						   AEDB_LATEST, &rs, &rh), -AEDB_ENOCOLUMN);
	assert_null(rs);
	assert_null(rh);
	t_assert_rc(aedb_query_lookup_then_hydrate(db, T_P, T_S, src, "id", hyd, "nocol",
						   AEDB_LATEST, &rs, &rh), -AEDB_ENOCOLUMN);
	t_assert_rc(aedb_query_lookup_then_hydrate(db, T_P, T_S, src, "id", hyd, "id",
						   AEDB_LATEST, NULL, &rh), -AEDB_EMISUSE);
	t_assert_rc(aedb_query_where(src, aedb_expr_cmp(AEDB_CMP_EQ, "id", &none)), 0);
	t_assert_rc(aedb_query_lookup_then_hydrate(db, T_P, T_S, src, "id", hyd, "id",
						   AEDB_LATEST, &rs, &rh), 0);
	assert_true(rs->nrows == 0 && rh->nrows == 0);
	aedb_query_result_free(rs);
	aedb_query_result_free(rh);
	aedb_query_free(src);
	aedb_query_free(hyd);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_explain_paths),
		cmocka_unit_test(test_exists_and_snapshots),
		cmocka_unit_test(test_batch_one_snapshot),
		cmocka_unit_test(test_list_with_total),
		cmocka_unit_test(test_limits_are_errors),
		cmocka_unit_test(test_submission_queue),
		cmocka_unit_test(test_lookup_then_hydrate),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
