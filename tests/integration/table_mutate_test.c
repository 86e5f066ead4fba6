/* SPDX-License-Identifier: MIT */
/*
 * table_mutate_test - the row mutation family (issue 5): insert and upsert
 * batches, upsert on conflict (nothing / update with every kind of
 * assignment / merge; the primary key or a unique index as the target,
 * also raced by threads on one key), update-where, delete-where, the returning form,
 * claim-one; every error leaves the table unchanged; concurrent
 * where-mutations lose no update and never claim a row twice.
 */
#include "it_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const t_pk_id[] = { "id" };

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

static struct aedb_value t_null(void)
{
	struct aedb_value v = { .type = AEDB_TYPE_NULL };

	return v;
}

/* jobs(id u64 pk, status text not null, n integer not null, note text null) */
#define T_NC 4

static struct aedb *t_setup(uint32_t shards)
{
	struct aedb_column_def c[T_NC] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "status", .type = AEDB_TYPE_TEXT },
		{ .name = "n", .type = AEDB_TYPE_INTEGER },
		{ .name = "note", .type = AEDB_TYPE_TEXT, .nullable = 1 },
	};
	struct aedb_table_def d = { "jobs", c, T_NC, 1, t_pk_id };
	struct aedb *db = t_open_p(shards, NULL);

	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	return db;
}

static void t_row(struct aedb_value *r, uint64_t id, const char *status, int64_t n)
{
	r[0] = t_u64(id);
	r[1] = t_text(status);
	r[2] = t_int(n);
	r[3] = t_null();
}

/* Fill ids [0, n) with status "open" and n = id. */
static void t_fill(struct aedb *db, uint32_t n)
{
	struct aedb_value *rows = calloc((size_t)n * T_NC, sizeof(*rows));

	for (uint32_t i = 0; i < n; i++)
		t_row(&rows[i * T_NC], i, "open", (int64_t)i);
	t_assert_rc(aedb_insert_rows(db, T_P, T_S, "jobs", rows, n, T_NC, 0, NULL), 0);
	free(rows);
}

/* Row @id, or NULL if absent. */
static struct aedb_row *t_get(struct aedb *db, uint64_t id)
{
	struct aedb_value pk = t_u64(id);
	struct aedb_row *r = NULL;
	int rc = aedb_get_row(db, T_P, T_S, "jobs", &pk, 1, AEDB_LATEST, &r);

	assert_true(rc == 0 || rc == -AEDB_ENOTFOUND);
	return r;
}

static int64_t t_n(struct aedb *db, uint64_t id)
{
	struct aedb_row *r = t_get(db, id);
	int64_t n;

	assert_non_null(r);
	n = r->values[2].u.i64;
	aedb_row_free(r);
	return n;
}

static uint64_t t_count(struct aedb *db)
{
	struct aedb_query_result *r;
	struct aedb_query *q;
	uint64_t n;

	t_assert_rc(aedb_query_create("jobs", &q), 0);
	t_assert_rc(aedb_query_aggregate(q, AEDB_AGG_COUNT, NULL), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	n = r->rows[0].u.u64;
	aedb_query_result_free(r);
	aedb_query_free(q);
	return n;
}

static void test_batches(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct aedb_value rows[3 * T_NC];
		struct aedb_commit_result res;
		struct aedb_txn *t;
		uint64_t v0;

		t_fill(db, 10);
		assert_true(t_count(db) == 10);
		v0 = aedb_visible_seq(db);
		/* a key twice in one insert batch: nothing written */
		t_row(&rows[0], 20, "a", 1);
		t_row(&rows[T_NC], 21, "b", 2);
		t_row(&rows[2 * T_NC], 20, "c", 3);
		t_assert_rc(aedb_insert_rows(db, T_P, T_S, "jobs", rows, 3, T_NC, 0, &res),
			    -AEDB_EEXIST);
		assert_true(res.fail_kind == AEDB_FAIL_MUTATION);
		/* an existing key */
		t_row(&rows[2 * T_NC], 5, "c", 3);
		t_assert_rc(aedb_insert_rows(db, T_P, T_S, "jobs", rows, 3, T_NC, 0, NULL),
			    -AEDB_EEXIST);
		/* bad values: the builder keeps nothing of the batch */
		t_assert_rc(aedb_txn_create(db, &t), 0);
		t_row(&rows[2 * T_NC], 22, "c", 3);
		rows[2 * T_NC + 2] = t_text("x");
		t_assert_rc(aedb_txn_insert_batch(t, T_P, T_S, "jobs", rows, 3, T_NC),
			    -AEDB_ETYPE);
		rows[2 * T_NC + 2] = t_null();
		t_assert_rc(aedb_txn_insert_batch(t, T_P, T_S, "jobs", rows, 3, T_NC),
			    -AEDB_ENOTNULL);
		t_assert_rc(aedb_txn_insert_batch(t, T_P, T_S, "jobs", rows, 3, T_NC - 1),
			    -AEDB_EINVAL);
		t_assert_rc(aedb_txn_insert_batch(t, T_P, T_S, "nosuch", rows, 3, T_NC),
			    -AEDB_ENOTABLE);
		t_assert_rc(aedb_txn_insert_batch(t, T_P, T_S, "jobs", NULL, 3, T_NC),
			    -AEDB_EMISUSE);
		assert_int_equal(aedb_txn_mutation_count(t), 0);
		aedb_txn_free(t);
		assert_true(aedb_visible_seq(db) == v0 && t_count(db) == 10);
		/* upsert batch: the last row of a key wins */
		t_row(&rows[2 * T_NC], 20, "last", 3);
		t_assert_rc(aedb_upsert_rows(db, T_P, T_S, "jobs", rows, 3, T_NC, 0, &res), 0);
		assert_true(t_count(db) == 12 && t_n(db, 20) == 3);
		/* insert batch inside a transaction, with a KV write, at one seq */
		t_assert_rc(aedb_txn_create(db, &t), 0);
		t_row(&rows[0], 30, "a", 1);
		t_row(&rows[T_NC], 31, "b", 2);
		t_assert_rc(aedb_txn_insert_batch(t, T_P, T_S, "jobs", rows, 2, T_NC), 0);
		t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "k", 1, "v", 1), 2);
		t_assert_rc(aedb_commit(db, t, &res), 0);
		aedb_txn_free(t);
		assert_true(t_count(db) == 14);
		t_close(db);
	}
}

static void test_upsert_on_conflict(void **state)
{
	struct aedb *db = t_setup(4);
	struct aedb_value rows[3 * T_NC];
	struct aedb_set sets[3];
	struct aedb_commit_result res;
	struct aedb_row *r;
	uint64_t v0;

	(void)state;
	t_fill(db, 5);
	/* NOTHING: 2 kept, 7 inserted */
	t_row(&rows[0], 2, "new", 100);
	t_row(&rows[T_NC], 7, "new", 700);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 2, T_NC,
					    AEDB_CONFLICT_NOTHING, NULL, 0, 0, &res), 1);
	assert_true(t_n(db, 2) == 2 && t_n(db, 7) == 700);
	/* NOTHING where every key exists: no commit */
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 2, T_NC,
					    AEDB_CONFLICT_NOTHING, NULL, 0, 0, &res), 0);
	assert_true(res.seq == 0);
	/* UPDATE: n = n + proposed n, status = proposed status, note = 'x' */
	memset(sets, 0, sizeof(sets));
	sets[0].col = "n";
	sets[0].op = AEDB_SET_ADD_PROPOSED;
	sets[1].col = "status";
	sets[1].op = AEDB_SET_PROPOSED;
	sets[2].col = "note";
	sets[2].op = AEDB_SET_COALESCE;
	sets[2].value = t_text("x");
	t_row(&rows[0], 3, "upd", 10);
	t_row(&rows[T_NC], 8, "ins", 80);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 2, T_NC,
					    AEDB_CONFLICT_UPDATE, sets, 3, 0, &res), 2);
	r = t_get(db, 3);
	assert_true(r->values[2].u.i64 == 13);
	assert_true(r->values[1].len == 3 && memcmp(r->values[1].u.bytes, "upd", 3) == 0);
	assert_true(r->values[3].len == 1);
	assert_true(r->version == res.seq);
	aedb_row_free(r);
	assert_true(t_n(db, 8) == 80);
	/* MERGE: non-NULL proposed values replace */
	t_row(&rows[0], 4, "merged", 44);
	rows[3] = t_text("note");
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_MERGE, NULL, 0, 0, NULL), 1);
	assert_true(t_n(db, 4) == 44);
	/* a key twice: UPDATE refuses, NOTHING skips the later row */
	t_row(&rows[0], 40, "a", 1);
	t_row(&rows[T_NC], 40, "b", 2);
	v0 = aedb_visible_seq(db);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 2, T_NC,
					    AEDB_CONFLICT_UPDATE, sets, 1, 0, NULL), -AEDB_EINVAL);
	assert_true(aedb_visible_seq(db) == v0 && t_get(db, 40) == NULL);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 2, T_NC,
					    AEDB_CONFLICT_NOTHING, NULL, 0, 0, NULL), 1);
	assert_true(t_n(db, 40) == 1);
	/* errors change nothing */
	v0 = aedb_visible_seq(db);
	t_row(&rows[0], 1, "a", 1);
	sets[0].col = "nocol";
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_UPDATE, sets, 1, 0, NULL),
		    -AEDB_ENOCOLUMN);
	sets[0].col = "id";
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_UPDATE, sets, 1, 0, NULL), -AEDB_EINVAL);
	sets[0].col = "n";
	sets[0].op = AEDB_SET_VALUE;
	sets[0].value = t_text("x");
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_UPDATE, sets, 1, 0, NULL), -AEDB_ETYPE);
	sets[0].value = t_null();
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_UPDATE, sets, 1, 0, NULL),
		    -AEDB_ENOTNULL);
	sets[0].op = AEDB_SET_ADD;
	sets[0].value = t_int(INT64_MAX);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_UPDATE, sets, 1, 0, NULL),
		    -AEDB_EOVERFLOW);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_UPDATE, NULL, 0, 0, NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC, 9, NULL, 0, 0,
					    NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC - 1,
					    AEDB_CONFLICT_NOTHING, NULL, 0, 0, NULL),
		    -AEDB_EINVAL);
	rows[2] = t_text("bad");
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_NOTHING, NULL, 0, 0, NULL), -AEDB_ETYPE);
	assert_true(aedb_visible_seq(db) == v0 && t_n(db, 1) == 1);
	t_close(db);
}

static struct aedb_query *t_where_lt(uint64_t lim)
{
	struct aedb_value v = t_u64(lim);
	struct aedb_query *q;

	t_assert_rc(aedb_query_create("jobs", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_LT, "id", &v)), 0);
	return q;
}

static void test_update_delete_where(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct aedb_query *q = t_where_lt(10), *bad;
		struct aedb_commit_result res;
		struct aedb_set set[2];
		struct aedb_row *r;
		uint64_t v0;

		t_fill(db, 30);
		memset(set, 0, sizeof(set));
		set[0].col = "n";
		set[0].op = AEDB_SET_ADD;
		set[0].value = t_int(1000);
		set[1].col = "note";
		set[1].op = AEDB_SET_EXISTING;
		set[1].src = "status";
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 2, 0, &res), 10);
		assert_true(res.seq > 0);
		for (uint64_t i = 0; i < 30; i++)
			assert_true(t_n(db, i) == (int64_t)i + (i < 10 ? 1000 : 0));
		r = t_get(db, 3);
		assert_true(r->values[3].len == 4 && r->version == res.seq);
		aedb_row_free(r);
		/* ORDER BY + LIMIT pick which rows */
		t_assert_rc(aedb_query_order_by(q, "id", true), 0);
		t_assert_rc(aedb_query_limit(q, 2), 0);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 1, 0, NULL), 2);
		assert_true(t_n(db, 9) == 2009 && t_n(db, 8) == 2008 && t_n(db, 7) == 1007);
		/* errors: nothing written */
		v0 = aedb_visible_seq(db);
		set[0].col = "nocol";
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 1, 0, NULL), -AEDB_ENOCOLUMN);
		set[0].col = "id";
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 1, 0, NULL), -AEDB_EINVAL);
		set[0].col = "status";
		set[0].op = AEDB_SET_VALUE;
		set[0].value = t_null();
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 1, 0, NULL), -AEDB_ENOTNULL);
		set[0].value = t_int(1);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 1, 0, NULL), -AEDB_ETYPE);
		set[0].col = "n";
		set[0].op = AEDB_SET_ADD;
		set[0].value = t_int(INT64_MAX);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 1, 0, NULL), -AEDB_EOVERFLOW);
		set[0].op = AEDB_SET_PROPOSED;
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, set, 1, 0, NULL), -AEDB_EINVAL);
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, NULL, 0, 0, NULL), -AEDB_EINVAL);
		t_assert_rc(aedb_query_create("jobs", &bad), 0);
		t_assert_rc(aedb_query_select(bad, "id"), 0);
		t_assert_rc(aedb_delete_where(db, T_P, T_S, bad, 0, NULL), -AEDB_EINVAL);
		aedb_query_free(bad);
		t_assert_rc(aedb_query_create("nosuch", &bad), 0);
		t_assert_rc(aedb_delete_where(db, T_P, T_S, bad, 0, NULL), -AEDB_ENOTABLE);
		aedb_query_free(bad);
		assert_true(aedb_visible_seq(db) == v0);
		/* delete-where; then nothing matches: 0, no commit */
		aedb_query_free(q);
		q = t_where_lt(10);
		t_assert_rc(aedb_delete_where(db, T_P, T_S, q, 0, &res), 10);
		assert_true(t_count(db) == 20 && t_get(db, 5) == NULL);
		t_assert_rc(aedb_delete_where(db, T_P, T_S, q, 0, &res), 0);
		assert_true(res.seq == 0);
		aedb_query_free(q);
		t_close(db);
	}
}

static void test_returning_and_claim(void **state)
{
	struct aedb *db = t_setup(4);
	struct aedb_value open = t_text("open");
	struct aedb_mutation *m;
	struct aedb_query *q;
	struct aedb_set set[1];

	(void)state;
	t_fill(db, 6);
	memset(set, 0, sizeof(set));
	set[0].col = "status";
	set[0].op = AEDB_SET_VALUE;
	set[0].value = t_text("taken");
	q = t_where_lt(3);
	t_assert_rc(aedb_mutate_where_returning(db, T_P, T_S, q, AEDB_MUTATE_UPDATE, set, 1, 0,
						&m), 3);
	assert_true(m->nrows == 3 && m->ncols == T_NC && m->seq > 0);
	assert_true(m->snapshot_seq < m->seq);
	assert_string_equal(m->names[1], "status");
	for (uint64_t i = 0; i < 3; i++) {
		assert_true(m->before[i * T_NC].u.u64 == i);
		assert_true(m->before[i * T_NC + 1].len == 4);
		assert_true(m->after[i * T_NC + 1].len == 5);
		assert_true(memcmp(m->after[i * T_NC + 1].u.bytes, "taken", 5) == 0);
	}
	aedb_mutation_free(m);
	t_assert_rc(aedb_mutate_where_returning(db, T_P, T_S, q, AEDB_MUTATE_DELETE, NULL, 0, 0,
						&m), 3);
	assert_true(m->after == NULL && m->nrows == 3);
	aedb_mutation_free(m);
	t_assert_rc(aedb_mutate_where_returning(db, T_P, T_S, q, 7, NULL, 0, 0, &m),
		    -AEDB_EINVAL);
	assert_null(m);
	aedb_query_free(q);
	/* claim-one: first open row in key order, until none is left */
	t_assert_rc(aedb_query_create("jobs", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "status", &open)), 0);
	for (uint64_t want = 3; want < 6; want++) {
		t_assert_rc(aedb_claim_one(db, T_P, T_S, q, set, 1, 0, &m), 1);
		assert_true(m->nrows == 1 && m->before[0].u.u64 == want);
		aedb_mutation_free(m);
	}
	t_assert_rc(aedb_claim_one(db, T_P, T_S, q, set, 1, 0, &m), 0);
	assert_null(m);
	aedb_query_free(q);
	t_close(db);
}

/* ---- concurrency ---- */

#define T_THREADS 4
#define T_ROUNDS 25
#define T_JOBS 60

struct t_worker {
	struct aedb *db;
	int id;
	uint64_t claimed[T_JOBS];
	int nclaimed;
};

static void *t_adder(void *arg)
{
	struct t_worker *w = arg;
	struct aedb_set set = { .col = "n", .op = AEDB_SET_ADD };
	struct aedb_value lim = t_u64(8);
	struct aedb_query *q;

	set.value = t_int(1);
	T_CHECK(aedb_query_create("jobs", &q) == 0, "query");
	T_CHECK(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_LT, "id", &lim)) == 0, "where");
	for (int i = 0; i < T_ROUNDS; i++) {
		int rc;

		do {
			rc = aedb_update_where(w->db, T_P, T_S, q, &set, 1, 0, NULL);
		} while (rc == -AEDB_ECONFLICT);
		T_CHECK(rc == 8, "update_where: %d (%s)", rc, aedb_strerror(rc));
	}
	aedb_query_free(q);
	return NULL;
}

static void *t_claimer(void *arg)
{
	struct t_worker *w = arg;
	struct aedb_set set = { .col = "status", .op = AEDB_SET_VALUE };
	struct aedb_value open = t_text("open");
	struct aedb_query *q;

	set.value = t_text("taken");
	T_CHECK(aedb_query_create("jobs", &q) == 0, "query");
	T_CHECK(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "status", &open)) == 0, "where");
	for (;;) {
		struct aedb_mutation *m;
		int rc = aedb_claim_one(w->db, T_P, T_S, q, &set, 1, 0, &m);

		if (rc == -AEDB_ECONFLICT)
			continue;
		T_CHECK(rc == 0 || rc == 1, "claim: %d (%s)", rc, aedb_strerror(rc));
		if (rc != 1)
			break;
		T_CHECK(w->nclaimed < T_JOBS, "too many claims");
		if (w->nclaimed < T_JOBS)
			w->claimed[w->nclaimed++] = m->before[0].u.u64;
		aedb_mutation_free(m);
	}
	aedb_query_free(q);
	return NULL;
}

static void test_concurrent_no_lost_update(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k += 2) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct t_worker w[T_THREADS];
		pthread_t th[T_THREADS];
		int seen[T_JOBS] = { 0 }, total = 0;

		t_fill(db, T_JOBS);
		memset(w, 0, sizeof(w));
		for (int i = 0; i < T_THREADS; i++) {
			w[i].db = db;
			w[i].id = i;
			assert_int_equal(pthread_create(&th[i], NULL, t_adder, &w[i]), 0);
		}
		for (int i = 0; i < T_THREADS; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		for (uint64_t i = 0; i < 8; i++)
			assert_true(t_n(db, i) == (int64_t)i + T_THREADS * T_ROUNDS);
		assert_true(t_n(db, 8) == 8);
		/* claimers: every job claimed exactly once */
		for (int i = 0; i < T_THREADS; i++)
			assert_int_equal(pthread_create(&th[i], NULL, t_claimer, &w[i]), 0);
		for (int i = 0; i < T_THREADS; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		for (int i = 0; i < T_THREADS; i++) {
			for (int j = 0; j < w[i].nclaimed; j++) {
				assert_true(w[i].claimed[j] < T_JOBS);
				seen[w[i].claimed[j]]++;
				total++;
			}
		}
		assert_int_equal(total, T_JOBS);
		for (int i = 0; i < T_JOBS; i++)
			assert_int_equal(seen[i], 1);
		t_close(db);
	}
}

/* Upsert whose conflict target is a unique index (on "note"). */
static int t_oc_ix(struct aedb *db, const char *index, struct aedb_value *rows, uint32_t n,
		   uint32_t action, const struct aedb_set *sets, uint32_t nsets)
{
	return aedb_upsert_on_conflict_index(db, T_P, T_S, "jobs", index, rows, n, T_NC, action,
					     sets, nsets, 0, NULL);
}

static void t_row_note(struct aedb_value *r, uint64_t id, const char *status, int64_t n,
		       const char *note)
{
	t_row(r, id, status, n);
	r[3] = note ? t_text(note) : t_null();
}

static void test_upsert_on_conflict_index(void **state)
{
	static const char *const c_note[] = { "note" };
	static const char *const c_status[] = { "status" };
	struct aedb_index_def du = { "u_note", c_note, 1, AEDB_INDEX_UNIQUE, NULL };
	struct aedb_index_def ds = { "by_status", c_status, 1, 0, NULL };
	struct aedb *db = t_setup(4);
	struct aedb_value rows[3 * T_NC];
	struct aedb_set add = { .col = "n", .op = AEDB_SET_ADD_PROPOSED };
	struct aedb_row *r;
	uint64_t v0;

	(void)state;
	t_fill(db, 5);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "jobs", &du), 1);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "jobs", &ds), 1);
	for (uint64_t id = 0; id < 3; id++) {
		char note[8];

		snprintf(note, sizeof(note), "n%u", (unsigned)id);
		t_row_note(rows, id, "open", (int64_t)id, note);
		t_assert_rc(aedb_upsert_rows(db, T_P, T_S, "jobs", rows, 1, T_NC, 0, NULL), 0);
	}
	/* UPDATE on the row holding "n1" (id 1), not on the proposed id 100 */
	t_row_note(rows, 100, "x", 5, "n1");
	t_assert_rc(t_oc_ix(db, "u_note", rows, 1, AEDB_CONFLICT_UPDATE, &add, 1), 1);
	assert_true(t_n(db, 1) == 6 && t_get(db, 100) == NULL);
	/* no conflict: inserted; a NULL key never conflicts */
	t_row_note(rows, 101, "x", 1, "zz");
	t_row_note(&rows[T_NC], 102, "x", 2, NULL);
	t_assert_rc(t_oc_ix(db, "u_note", rows, 2, AEDB_CONFLICT_UPDATE, &add, 1), 2);
	assert_true(t_n(db, 101) == 1 && t_n(db, 102) == 2);
	/* MERGE onto id 0 (holding "n0"): its key stays 0 */
	t_row_note(rows, 200, "merged", 9, "n0");
	t_assert_rc(t_oc_ix(db, "u_note", rows, 1, AEDB_CONFLICT_MERGE, NULL, 0), 1);
	r = t_get(db, 0);
	assert_non_null(r);
	assert_true(r->values[2].u.i64 == 9 && r->values[1].len == 6 &&
		    memcmp(r->values[1].u.bytes, "merged", 6) == 0);
	aedb_row_free(r);
	assert_null(t_get(db, 200));
	/* NOTHING on "n2": nothing written, no commit */
	v0 = aedb_visible_seq(db);
	t_row_note(rows, 300, "x", 1, "n2");
	t_assert_rc(t_oc_ix(db, "u_note", rows, 1, AEDB_CONFLICT_NOTHING, NULL, 0), 0);
	assert_true(aedb_visible_seq(db) == v0 && t_get(db, 300) == NULL && t_n(db, 2) == 2);
	/* a conflict outside the target: id 2 exists, "new" is free */
	t_row_note(rows, 2, "x", 1, "new");
	t_assert_rc(t_oc_ix(db, "u_note", rows, 1, AEDB_CONFLICT_UPDATE, &add, 1),
		    -AEDB_EEXIST);
	/* one primary key twice among the inserts */
	t_row_note(rows, 500, "x", 1, "p");
	t_row_note(&rows[T_NC], 500, "x", 1, "q");
	t_assert_rc(t_oc_ix(db, "u_note", rows, 2, AEDB_CONFLICT_NOTHING, NULL, 0),
		    -AEDB_EEXIST);
	/* one target key twice: UPDATE refuses, NOTHING skips the later row */
	t_row_note(rows, 400, "x", 1, "q");
	t_row_note(&rows[T_NC], 401, "x", 1, "q");
	t_assert_rc(t_oc_ix(db, "u_note", rows, 2, AEDB_CONFLICT_UPDATE, &add, 1),
		    -AEDB_EINVAL);
	/* not a unique index of the table */
	t_assert_rc(t_oc_ix(db, "by_status", rows, 2, AEDB_CONFLICT_NOTHING, NULL, 0),
		    -AEDB_EINVAL);
	t_assert_rc(t_oc_ix(db, "nope", rows, 2, AEDB_CONFLICT_NOTHING, NULL, 0), -AEDB_EINVAL);
	t_assert_rc(aedb_upsert_on_conflict_index(db, T_P, T_S, NULL, "u_note", rows, 1, T_NC,
						  AEDB_CONFLICT_NOTHING, NULL, 0, 0, NULL),
		    -AEDB_EMISUSE);
	t_assert_rc(t_oc_ix(db, "u_note", rows, 1, 9, NULL, 0), -AEDB_EINVAL);
	assert_true(aedb_visible_seq(db) == v0);
	assert_true(t_get(db, 500) == NULL && t_get(db, 400) == NULL && t_n(db, 2) == 2);
	t_assert_rc(t_oc_ix(db, "u_note", rows, 2, AEDB_CONFLICT_NOTHING, NULL, 0), 1);
	assert_true(t_n(db, 400) == 1 && t_get(db, 401) == NULL);
	/* NULL index: the primary key is the target (id 400 exists) */
	t_row_note(rows, 400, "x", 10, "other");
	t_assert_rc(t_oc_ix(db, NULL, rows, 1, AEDB_CONFLICT_UPDATE, &add, 1), 1);
	assert_true(t_n(db, 400) == 11);
	t_close(db);
}

/* Threads upsert one unique key under fresh primary keys, each adding 1:
 * one row ends with it, holding every addition. */
#define T_HOT_ROUNDS 30

static void *t_hot(void *arg)
{
	struct t_worker *w = arg;
	struct aedb_set add = { .col = "n", .op = AEDB_SET_ADD_PROPOSED };
	struct aedb_value row[T_NC];

	for (int i = 0; i < T_HOT_ROUNDS; i++) {
		int rc;

		t_row_note(row, 1000u * (uint64_t)(w->id + 1) + (uint64_t)i, "hot", 1, "hot");
		do {
			rc = t_oc_ix(w->db, "u_note", row, 1, AEDB_CONFLICT_UPDATE, &add, 1);
		} while (rc == -AEDB_ECONFLICT);
		T_CHECK(rc == 1, "upsert on u_note: %d (%s)", rc, aedb_strerror(rc));
	}
	return NULL;
}

static void test_upsert_on_conflict_index_race(void **state)
{
	static const char *const c_note[] = { "note" };
	struct aedb_index_def du = { "u_note", c_note, 1, AEDB_INDEX_UNIQUE, NULL };

	(void)state;
	for (uint32_t k = 0; k < 3; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct t_worker w[T_THREADS];
		pthread_t th[T_THREADS];
		struct aedb_value note = t_text("hot");
		struct aedb_query_result *res;
		struct aedb_query *q;

		t_assert_rc(aedb_create_index(db, T_P, T_S, "jobs", &du), 1);
		memset(w, 0, sizeof(w));
		for (int i = 0; i < T_THREADS; i++) {
			w[i].db = db;
			w[i].id = i;
			assert_int_equal(pthread_create(&th[i], NULL, t_hot, &w[i]), 0);
		}
		for (int i = 0; i < T_THREADS; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		assert_true(t_count(db) == 1);
		t_assert_rc(aedb_query_create("jobs", &q), 0);
		t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "note", &note)), 0);
		t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &res), 0);
		assert_int_equal(res->nrows, 1);
		assert_true(res->rows[2].u.i64 == T_THREADS * T_HOT_ROUNDS);
		aedb_query_result_free(res);
		aedb_query_free(q);
		t_close(db);
	}
}

/* Where-mutations and upserts keep secondary indexes right: they are made
 * of ordinary row entries, which maintain them. */
static void test_indexes_follow(void **state)
{
	static const char *const by_status[] = { "status" };
	static const char *const by_note[] = { "note" };
	struct aedb_index_def ds = { "by_status", by_status, 1, 0, NULL };
	struct aedb_index_def dn = { "by_note", by_note, 1, AEDB_INDEX_UNIQUE, NULL };
	struct aedb_value open = t_text("open"), taken = t_text("taken"), rows[T_NC];
	struct aedb_set set = { .col = "status", .op = AEDB_SET_VALUE };
	struct aedb_set note = { .col = "note", .op = AEDB_SET_VALUE };
	struct aedb_query_result *r;
	struct aedb_query_plan plan;
	struct aedb_query *q;
	struct aedb *db = t_setup(4);
	uint64_t v0;

	(void)state;
	t_fill(db, 20);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "jobs", &ds), 1);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "jobs", &dn), 1);
	set.value = taken;
	q = t_where_lt(5);
	t_assert_rc(aedb_update_where(db, T_P, T_S, q, &set, 1, 0, NULL), 5);
	aedb_query_free(q);
	t_assert_rc(aedb_query_create("jobs", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "status", &open)), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &plan), 0);
	assert_int_equal(plan.path, AEDB_PATH_INDEX);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->nrows == 15);
	aedb_query_result_free(r);
	t_assert_rc(aedb_delete_where(db, T_P, T_S, q, 0, NULL), 15);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->nrows == 0);
	aedb_query_result_free(r);
	aedb_query_free(q);
	/* a unique index refuses a duplicate made by an upsert: nothing written */
	note.value = t_text("same");
	t_row(rows, 1, "x", 0);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "jobs", rows, 1, T_NC,
					    AEDB_CONFLICT_UPDATE, &note, 1, 0, NULL), 1);
	v0 = aedb_visible_seq(db);
	q = t_where_lt(5);
	t_assert_rc(aedb_update_where(db, T_P, T_S, q, &note, 1, 0, NULL), -AEDB_EUNIQUE);
	assert_true(aedb_visible_seq(db) == v0);
	aedb_query_free(q);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_upsert_on_conflict),
		cmocka_unit_test(test_upsert_on_conflict_index),
		cmocka_unit_test(test_upsert_on_conflict_index_race),
		cmocka_unit_test(test_update_delete_where),
		cmocka_unit_test(test_returning_and_claim),
		cmocka_unit_test(test_indexes_follow),
		cmocka_unit_test(test_concurrent_no_lost_update),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
