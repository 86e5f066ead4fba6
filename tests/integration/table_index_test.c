/* SPDX-License-Identifier: MIT */
/*
 * table_index_test - secondary indexes (issue 5): create with backfill,
 * ordered / composite / partial / unique indexes through the planner,
 * maintenance by every row write, unique violations on one shard and across
 * shards, concurrent racers on one unique key, drop, recovery on reopen, a
 * stale transaction, bad definitions, and a randomized index-vs-model run.
 * One test arms an internal fault hook (io/fault.h) to hold apply rounds.
 */
#include "it_common.h"
#include "io/fault.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define T_CITIES 5u

static const char *const t_pk[] = { "id" };
static const char *const t_city_names[T_CITIES] = { "oslo", "rome", "lima", "kyiv", "nuuk" };

/* people(id u64, city text, age integer NULL, email text NULL, active bool) */
static const struct aedb_column_def t_cols[5] = {
	{ .name = "id", .type = AEDB_TYPE_U64 },
	{ .name = "city", .type = AEDB_TYPE_TEXT },
	{ .name = "age", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
	{ .name = "email", .type = AEDB_TYPE_TEXT, .nullable = 1 },
	{ .name = "active", .type = AEDB_TYPE_BOOLEAN },
};
static const struct aedb_table_def t_def = { .name = "people", .columns = t_cols,
					     .ncolumns = 5, .npk = 1, .pk = t_pk };

/* The model of one row: what the test wrote. */
struct t_person {
	int live;
	uint32_t city;
	int64_t age;      /* < 0: NULL */
	int64_t email;    /* < 0: NULL; else "e<email>" */
	int active;
};

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

static struct aedb_value t_bool(int b)
{
	struct aedb_value v = { .type = AEDB_TYPE_BOOLEAN };

	v.u.b = b != 0;
	return v;
}

/* Row @id of @p into @r (@buf holds the email text). */
static void t_row(struct aedb_value *r, uint64_t id, const struct t_person *p, char *buf)
{
	r[0] = t_u64(id);
	r[1] = t_text(t_city_names[p->city]);
	r[2] = t_int(p->age);
	if (p->age < 0)
		r[2].type = AEDB_TYPE_NULL;
	snprintf(buf, 24, "e%lld", (long long)p->email);
	r[3] = t_text(buf);
	if (p->email < 0)
		r[3].type = AEDB_TYPE_NULL;
	r[4] = t_bool(p->active);
}

static struct aedb *t_setup(uint32_t shards)
{
	struct aedb *db = t_open_p(shards, NULL);

	t_assert_rc(aedb_create_table(db, T_P, T_S, &t_def), 1);
	return db;
}

static int t_put(struct aedb *db, int upsert, uint64_t id, const struct t_person *p,
		 struct aedb_commit_result *res)
{
	struct aedb_value r[5];
	char buf[24];

	t_row(r, id, p, buf);
	return upsert ? aedb_upsert_row(db, T_P, T_S, "people", r, 5, 0, res)
		      : aedb_insert_row(db, T_P, T_S, "people", r, 5, 0, res);
}

static int t_index(struct aedb *db, const char *name, const char *const *cols, uint32_t n,
		   uint32_t flags, struct aedb_expr *partial)
{
	struct aedb_index_def d = { name, cols, n, flags, partial };
	int rc = aedb_create_index(db, T_P, T_S, "people", &d);

	aedb_expr_free(partial);
	return rc;
}

/* Run "SELECT id WHERE @e ORDER BY id": the ids into @ids (sorted), their
 * count returned; *@path from explain (AEDB_PATH_*), @index its name. */
static uint32_t t_ids(struct aedb *db, struct aedb_expr *e, uint64_t *ids, uint32_t cap,
		      uint32_t *path, char *index)
{
	struct aedb_query_result *r = NULL;
	struct aedb_query_plan plan;
	struct aedb_query *q;
	uint32_t n = 0;

	t_assert_rc(aedb_query_create("people", &q), 0);
	t_assert_rc(aedb_query_where(q, e), 0);
	t_assert_rc(aedb_query_select(q, "id"), 0);
	t_assert_rc(aedb_query_explain(db, T_P, T_S, q, AEDB_LATEST, &plan), 0);
	if (path)
		*path = plan.path;
	if (index)
		strcpy(index, plan.path == AEDB_PATH_INDEX ? plan.index : "");
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	assert_true(r->nrows <= cap);
	for (uint64_t i = 0; i < r->nrows; i++)
		ids[n++] = r->rows[i].u.u64;
	qsort(ids, n, sizeof(*ids), t_u64_cmp);
	aedb_query_result_free(r);
	aedb_query_free(q);
	return n;
}

static struct aedb_expr *t_city_eq(uint32_t c)
{
	struct aedb_value v = t_text(t_city_names[c]);

	return aedb_expr_cmp(AEDB_CMP_EQ, "city", &v);
}

/* Expected ids of a model for a predicate on (city, age). */
static uint32_t t_model(const struct t_person *m, uint32_t n, int city, int64_t age_lo,
			int64_t age_hi, int need_active, uint64_t *ids)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (!m[i].live || (city >= 0 && m[i].city != (uint32_t)city))
			continue;
		if (age_lo != INT64_MIN && (m[i].age < 0 || m[i].age < age_lo || m[i].age > age_hi))
			continue;
		if (need_active && !m[i].active)
			continue;
		ids[k++] = i;
	}
	return k;
}

#define T_ROWS 300u

static void t_fill(struct aedb *db, struct t_person *m, uint32_t n)
{
	struct aedb_txn *t;

	t_assert_rc(aedb_txn_create(db, &t), 0);
	for (uint32_t i = 0; i < n; i++) {
		struct aedb_value r[5];
		char buf[24];

		m[i] = (struct t_person){ 1, i % T_CITIES, i % 9 == 0 ? -1 : (int64_t)(i % 70),
					  i % 4 == 0 ? -1 : (int64_t)i, (int)(i % 3 == 0) };
		t_row(r, i, &m[i], buf);
		assert_true(aedb_txn_insert(t, T_P, T_S, "people", r, 5) >= 0);
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
}

/* Backfill, equality and ranges through the index, explain, maintenance. */
static void test_index_ordered(void **state)
{
	static const char *const c_city[] = { "city" };
	static const char *const c_city_age[] = { "city", "age" };

	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct t_person m[T_ROWS];
		uint64_t got[T_ROWS], want[T_ROWS];
		struct aedb_value lo = t_int(20), hi = t_int(40);
		struct aedb_table_info *info;
		uint32_t n, w, path;
		char idx[140];

		t_fill(db, m, T_ROWS);
		t_assert_rc(t_index(db, "by_city", c_city, 1, 0, NULL), 1);
		t_assert_rc(t_index(db, "by_city", c_city, 1, 0, NULL), 0);  /* same: no-op */
		t_assert_rc(t_index(db, "by_city", c_city_age, 2, 0, NULL), -AEDB_EEXIST);
		t_assert_rc(t_index(db, "by_city_age", c_city_age, 2, 0, NULL), 1);
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "people", &info), 0);
		assert_int_equal(info->nindexes, 2);
		assert_string_equal(info->indexes[0].name, "by_city");
		assert_string_equal(info->indexes[1].name, "by_city_age");
		assert_int_equal(info->indexes[1].ncolumns, 2);
		assert_string_equal(info->indexes[1].columns[1], "age");
		assert_int_equal(info->indexes[1].flags, 0);
		aedb_table_info_free(info);
		for (uint32_t c = 0; c < T_CITIES; c++) {
			n = t_ids(db, t_city_eq(c), got, T_ROWS, &path, idx);
			w = t_model(m, T_ROWS, (int)c, INT64_MIN, 0, 0, want);
			assert_int_equal(path, AEDB_PATH_INDEX);
			assert_int_equal(n, w);
			assert_memory_equal(got, want, n * sizeof(*got));
			/* composite: = on city, range on age */
			n = t_ids(db, aedb_expr_and(t_city_eq(c),
						    aedb_expr_between("age", &lo, &hi)),
				  got, T_ROWS, &path, idx);
			w = t_model(m, T_ROWS, (int)c, 20, 40, 0, want);
			assert_int_equal(path, AEDB_PATH_INDEX);
			assert_string_equal(idx, "by_city_age");
			assert_int_equal(n, w);
			assert_memory_equal(got, want, n * sizeof(*got));
		}
		/* maintenance: move rows between cities, delete some */
		for (uint32_t i = 0; i < T_ROWS; i += 7) {
			struct aedb_value pk = t_u64(i);

			if (i % 2) {
				t_assert_rc(aedb_delete_row(db, T_P, T_S, "people", &pk, 1, 0,
							    NULL), 0);
				m[i].live = 0;
			} else {
				m[i].city = (m[i].city + 1) % T_CITIES;
				m[i].age = m[i].age < 0 ? 30 : -1;
				t_assert_rc(t_put(db, 1, i, &m[i], NULL), 0);
			}
		}
		for (uint32_t c = 0; c < T_CITIES; c++) {
			n = t_ids(db, t_city_eq(c), got, T_ROWS, NULL, NULL);
			w = t_model(m, T_ROWS, (int)c, INT64_MIN, 0, 0, want);
			assert_int_equal(n, w);
			assert_memory_equal(got, want, n * sizeof(*got));
			n = t_ids(db, aedb_expr_and(t_city_eq(c),
						    aedb_expr_between("age", &lo, &hi)),
				  got, T_ROWS, NULL, NULL);
			w = t_model(m, T_ROWS, (int)c, 20, 40, 0, want);
			assert_int_equal(n, w);
			assert_memory_equal(got, want, n * sizeof(*got));
		}
		/* drop: the planner falls back to a scan, same answers */
		t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", "by_city_age"), 1);
		t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", "by_city_age"), 0);
		n = t_ids(db, aedb_expr_and(t_city_eq(2), aedb_expr_between("age", &lo, &hi)),
			  got, T_ROWS, &path, idx);
		w = t_model(m, T_ROWS, 2, 20, 40, 0, want);
		assert_string_equal(idx, "by_city");
		assert_int_equal(n, w);
		assert_memory_equal(got, want, n * sizeof(*got));
		t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", "by_city"), 1);
		n = t_ids(db, t_city_eq(1), got, T_ROWS, &path, NULL);
		assert_int_equal(path, AEDB_PATH_FULL_SCAN);
		assert_int_equal(n, t_model(m, T_ROWS, 1, INT64_MIN, 0, 0, want));
		t_close(db);
	}
}

/* A partial index is used only when the WHERE implies its predicate. */
static void test_index_partial(void **state)
{
	static const char *const c_age[] = { "age" };

	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct t_person m[T_ROWS];
		uint64_t got[T_ROWS], want[T_ROWS];
		struct aedb_value yes = t_bool(1), lo = t_int(10), hi = t_int(30);
		struct aedb_table_info *info;
		uint32_t n, w, path;
		char idx[140];

		t_fill(db, m, T_ROWS);
		t_assert_rc(t_index(db, "active_age", c_age, 1, 0,
				    aedb_expr_cmp(AEDB_CMP_EQ, "active", &yes)), 1);
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "people", &info), 0);
		assert_int_equal(info->indexes[0].flags, AEDB_INDEX_PARTIAL);
		aedb_table_info_free(info);
		n = t_ids(db, aedb_expr_and(aedb_expr_cmp(AEDB_CMP_EQ, "active", &yes),
					    aedb_expr_between("age", &lo, &hi)),
			  got, T_ROWS, &path, idx);
		w = t_model(m, T_ROWS, -1, 10, 30, 1, want);
		assert_int_equal(path, AEDB_PATH_INDEX);
		assert_int_equal(n, w);
		assert_memory_equal(got, want, n * sizeof(*got));
		/* without the predicate: not usable */
		n = t_ids(db, aedb_expr_between("age", &lo, &hi), got, T_ROWS, &path, NULL);
		assert_int_equal(path, AEDB_PATH_FULL_SCAN);
		assert_int_equal(n, t_model(m, T_ROWS, -1, 10, 30, 0, want));
		/* rows move in and out of the index */
		for (uint32_t i = 0; i < T_ROWS; i += 5) {
			m[i].active = !m[i].active;
			t_assert_rc(t_put(db, 1, i, &m[i], NULL), 0);
		}
		n = t_ids(db, aedb_expr_and(aedb_expr_cmp(AEDB_CMP_EQ, "active", &yes),
					    aedb_expr_between("age", &lo, &hi)),
			  got, T_ROWS, &path, NULL);
		w = t_model(m, T_ROWS, -1, 10, 30, 1, want);
		assert_int_equal(n, w);
		assert_memory_equal(got, want, n * sizeof(*got));
		t_close(db);
	}
}

/* Unique: violations on one shard and across shards, NULLs exempt,
 * nothing written by a failed commit, backfill over repeated keys. */
static void test_index_unique(void **state)
{
	static const char *const c_email[] = { "email" };
	static const char *const c_city[] = { "city" };

	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct aedb_commit_result res;
		struct t_person p = { 1, 0, 5, 100, 1 }, q = p;
		struct aedb_table_info *info;
		struct aedb_txn *t;
		uint64_t got[64];
		struct aedb_value e100 = t_text("e100");
		uint32_t path;

		t_assert_rc(t_index(db, "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL), 1);
		t_assert_rc(t_put(db, 0, 1, &p, NULL), 0);
		/* another row, same email: refused wherever the two rows live */
		for (uint64_t id = 2; id < 40; id++) {
			t_assert_rc(t_put(db, 0, id, &p, &res), -AEDB_EUNIQUE);
			assert_int_equal(res.fail_kind, AEDB_FAIL_MUTATION);
			assert_int_equal(res.failed_index, 0);
		}
		assert_int_equal(t_ids(db, aedb_expr_cmp(AEDB_CMP_EQ, "email", &e100), got, 64,
				       &path, NULL), 1);
		assert_int_equal(path, AEDB_PATH_INDEX);
		assert_int_equal(got[0], 1);
		/* NULL emails never conflict */
		q.email = -1;
		for (uint64_t id = 50; id < 60; id++)
			t_assert_rc(t_put(db, 0, id, &q, NULL), 0);
		/* a multi-row transaction with one conflict writes nothing, and
		 * names the failing row entry */
		t_assert_rc(aedb_txn_create(db, &t), 0);
		for (uint64_t id = 100; id < 110; id++) {
			struct aedb_value r[5];
			char buf[24];

			q.email = id == 107 ? 100 : (int64_t)id + 1000;
			t_row(r, id, &q, buf);
			assert_int_equal(aedb_txn_insert(t, T_P, T_S, "people", r, 5),
					 (int)(id - 100));
		}
		assert_int_equal(aedb_txn_mutation_count(t), 10);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EUNIQUE);
		assert_int_equal(res.failed_index, 7);
		aedb_txn_free(t);
		for (uint64_t id = 100; id < 110; id++) {
			struct aedb_value pk = t_u64(id);
			struct aedb_row *row = NULL;

			t_assert_rc(aedb_get_row(db, T_P, T_S, "people", &pk, 1, AEDB_LATEST, &row),
				    -AEDB_ENOTFOUND);
		}
		/* the key frees up once its row lets go of it: change, then reuse */
		p.email = 101;
		t_assert_rc(t_put(db, 1, 1, &p, NULL), 0);
		q.email = 100;
		t_assert_rc(t_put(db, 0, 2, &q, NULL), 0);
		t_assert_rc(t_put(db, 0, 3, &q, NULL), -AEDB_EUNIQUE);
		/* swap inside one transaction: release first, then claim */
		t_assert_rc(aedb_txn_create(db, &t), 0);
		{
			struct aedb_value pk = t_u64(2), r[5];
			char buf[24];

			assert_true(aedb_txn_delete_row(t, T_P, T_S, "people", &pk, 1) >= 0);
			t_row(r, 3, &q, buf);
			assert_true(aedb_txn_insert(t, T_P, T_S, "people", r, 5) >= 0);
		}
		t_assert_rc(aedb_commit(db, t, NULL), 0);
		aedb_txn_free(t);
		t_assert_rc(t_put(db, 0, 4, &q, NULL), -AEDB_EUNIQUE);
		/* a unique index over rows that repeat a key is refused */
		t_assert_rc(t_index(db, "u_city", c_city, 1, AEDB_INDEX_UNIQUE, NULL),
			    -AEDB_EUNIQUE);
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "people", &info), 0);
		assert_int_equal(info->nindexes, 1);
		assert_int_equal(info->indexes[0].flags, AEDB_INDEX_UNIQUE);
		aedb_table_info_free(info);
		/* and the table is writable again */
		q.email = 555;
		t_assert_rc(t_put(db, 0, 500, &q, NULL), 0);
		t_close(db);
	}
}

/* Unique and partial (PostgreSQL's "one active row per email"), and
 * unique over two columns. */
static void test_index_unique_partial_composite(void **state)
{
	static const char *const c_email[] = { "email" };
	static const char *const c_city_age[] = { "city", "age" };

	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct aedb_value yes = t_bool(1);
		struct t_person on = { 1, 0, 1, 5, 1 }, off = { 1, 1, 2, 5, 0 };

		t_assert_rc(t_index(db, "one_active", c_email, 1, AEDB_INDEX_UNIQUE,
				    aedb_expr_cmp(AEDB_CMP_EQ, "active", &yes)), 1);
		t_assert_rc(t_index(db, "u_city_age", c_city_age, 2, AEDB_INDEX_UNIQUE, NULL), 1);
		t_assert_rc(t_put(db, 0, 1, &on, NULL), 0);
		t_assert_rc(t_put(db, 0, 2, &off, NULL), 0);      /* inactive: not indexed */
		off.age = 3;
		t_assert_rc(t_put(db, 0, 3, &off, NULL), 0);
		on.age = 4;
		t_assert_rc(t_put(db, 0, 4, &on, NULL), -AEDB_EUNIQUE);  /* second active */
		off.age = 2;
		off.active = 1;                                  /* activate row 2 */
		t_assert_rc(t_put(db, 1, 2, &off, NULL), -AEDB_EUNIQUE);
		on.active = 0;                                   /* deactivate row 1 */
		on.age = 1;
		t_assert_rc(t_put(db, 1, 1, &on, NULL), 0);
		t_assert_rc(t_put(db, 1, 2, &off, NULL), 0);     /* now it may */
		/* (city, age): (0, 1) and (1, 2) and (1, 3) taken */
		off = (struct t_person){ 1, 0, 1, 77, 0 };
		t_assert_rc(t_put(db, 0, 10, &off, NULL), -AEDB_EUNIQUE);
		off.age = 2;
		t_assert_rc(t_put(db, 0, 10, &off, NULL), 0);     /* (0, 2) is free */
		off.age = -1;                                    /* NULL age: exempt */
		t_assert_rc(t_put(db, 0, 11, &off, NULL), 0);
		t_assert_rc(t_put(db, 0, 12, &off, NULL), 0);
		t_close(db);
	}
}

/* Concurrent inserts of one unique key from several threads: one wins. */
#define T_RACERS 4u
#define T_RACE_KEYS 40u

struct t_racer {
	struct aedb *db;
	uint32_t no;
	uint32_t wins;
};

static void *t_race(void *arg)
{
	struct t_racer *r = arg;

	for (uint32_t k = 0; k < T_RACE_KEYS; k++) {
		struct t_person p = { 1, r->no % T_CITIES, 1, (int64_t)k, 0 };
		int rc = t_put(r->db, 0, 1000 * (r->no + 1) + k, &p, NULL);

		T_CHECK(rc == 0 || rc == -AEDB_EUNIQUE, "key %u: %d", k, rc);
		r->wins += rc == 0;
	}
	return NULL;
}

static void test_index_unique_race(void **state)
{
	static const char *const c_email[] = { "email" };

	(void)state;
	for (uint32_t k = 0; k < 3; k++) {
		uint32_t shards = 1u << k, wins = 0;
		struct aedb *db = t_setup(shards);
		struct t_racer r[T_RACERS];
		pthread_t th[T_RACERS];

		t_assert_rc(t_index(db, "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL), 1);
		for (uint32_t i = 0; i < T_RACERS; i++) {
			r[i] = (struct t_racer){ db, i, 0 };
			assert_int_equal(pthread_create(&th[i], NULL, t_race, &r[i]), 0);
		}
		for (uint32_t i = 0; i < T_RACERS; i++) {
			pthread_join(th[i], NULL);
			wins += r[i].wins;
		}
		assert_int_equal(t_thread_failed(), 0);
		assert_int_equal(wins, T_RACE_KEYS);
		for (uint32_t e = 0; e < T_RACE_KEYS; e++) {
			char buf[24];
			struct aedb_value v;
			uint64_t got[T_RACERS];

			snprintf(buf, sizeof(buf), "e%u", e);
			v = t_text(buf);
			assert_int_equal(t_ids(db, aedb_expr_cmp(AEDB_CMP_EQ, "email", &v), got,
					       T_RACERS, NULL, NULL), 1);
		}
		t_close(db);
	}
}

/* Index DDL while writers run: only retryable errors, and afterwards every
 * index agrees with the rows. */
struct t_loader {
	struct aedb *db;
	uint64_t seed;
	atomic_int *stop;
	uint32_t commits;
};

static void *t_load(void *arg)
{
	struct t_loader *l = arg;

	while (!atomic_load(l->stop)) {
		uint64_t r = t_rand(&l->seed), id = (r >> 32) % 200;
		/* emails never repeat across ids, so the unique index can always
		 * be created again */
		struct t_person p = { 1, (uint32_t)(r % T_CITIES), (int64_t)((r >> 8) % 60),
				      (int64_t)(id + 200 * ((r >> 16) % 5)), (int)((r >> 24) & 1) };
		int rc = t_put(l->db, 1, id, &p, NULL);

		T_CHECK(rc == 0 || rc == -AEDB_EBUSY || rc == -AEDB_ECONFLICT, "upsert: %d", rc);
		l->commits += rc == 0;
	}
	return NULL;
}

/* Six create/drop rounds of both indexes on @shards shards while two
 * threads upsert; then both indexes must agree with the rows. */
static void t_ddl_under_load(uint32_t shards, uint64_t seed)
{
	static const char *const c_city[] = { "city" };
	static const char *const c_email[] = { "email" };
	struct aedb *db = t_setup(shards);
	struct t_loader l[2];
	pthread_t th[2];
	atomic_int stop = 0;
	struct t_person m[200];
	uint64_t got[200], want[200];

	for (int i = 0; i < 2; i++) {
		l[i] = (struct t_loader){ db, seed + (uint64_t)i * 1000, &stop, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, t_load, &l[i]), 0);
	}
	for (int round = 0; round < 6; round++) {
		t_assert_rc(t_index(db, "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL), 1);
		t_assert_rc(t_index(db, "by_city", c_city, 1, 0, NULL), 1);
		t_sleep_ms(20);
		if (round < 5) {
			t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", "u_email"), 1);
			t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", "by_city"), 1);
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
	assert_true(l[0].commits + l[1].commits > 0);
	for (uint64_t id = 0; id < 200; id++) {
		struct aedb_value pk = t_u64(id);
		struct aedb_row *row = NULL;
		int rc = aedb_get_row(db, T_P, T_S, "people", &pk, 1, AEDB_LATEST, &row);

		m[id].live = rc == 0;
		if (rc != 0)
			continue;
		for (uint32_t c = 0; c < T_CITIES; c++)
			if (row->values[1].len == strlen(t_city_names[c]) &&
			    !memcmp(row->values[1].u.bytes, t_city_names[c], row->values[1].len))
				m[id].city = c;
		m[id].email = 0;
		for (uint32_t b = 1; b < row->values[3].len; b++)
			m[id].email = m[id].email * 10 +
				      (((const char *)row->values[3].u.bytes)[b] - '0');
		aedb_row_free(row);
	}
	for (uint32_t c = 0; c < T_CITIES; c++) {
		uint32_t n = t_ids(db, t_city_eq(c), got, 200, NULL, NULL);

		assert_int_equal(n, t_model(m, 200, (int)c, INT64_MIN, 0, 0, want));
		assert_memory_equal(got, want, n * sizeof(*got));
	}
	for (uint64_t id = 0; id < 200; id++) {
		char buf[24];
		struct aedb_value v;

		if (!m[id].live)
			continue;
		snprintf(buf, sizeof(buf), "e%lld", (long long)m[id].email);
		v = t_text(buf);
		assert_int_equal(t_ids(db, aedb_expr_cmp(AEDB_CMP_EQ, "email", &v), got, 200,
				       NULL, NULL), 1);
		assert_int_equal(got[0], id);
	}
	t_close(db);
}

static void test_index_ddl_under_load(void **state)
{
	(void)state;
	for (uint32_t k = 1; k < 3; k++)
		t_ddl_under_load(t_shard_counts[k], 77u + k);
}

/*
 * The same with every apply round of shards 1.. held 200 µs after it took
 * its catalog: an index create commits and unmarks the table inside such a
 * round, whose catalog has no index yet. The round must refuse the
 * table's rows (-AEDB_EBUSY, retried), not write them without their
 * entries (the index would then miss live rows).
 */
static void test_index_ddl_stale_round(void **state)
{
	(void)state;
	io_fault_set(IO_FAULT_ROUND_PAUSE, 200);
	t_ddl_under_load(2, 91);
	t_ddl_under_load(4, 93);
	io_fault_set(IO_FAULT_NONE, 0);
}

/* A transaction built before an index existed cannot commit after it. */
static void test_index_stale_txn(void **state)
{
	static const char *const c_city[] = { "city" };
	struct aedb *db = t_setup(2);
	struct t_person p = { 1, 1, 1, 1, 1 };
	struct aedb_value r[5];
	struct aedb_txn *t;
	char buf[24];

	(void)state;
	t_row(r, 7, &p, buf);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	assert_true(aedb_txn_insert(t, T_P, T_S, "people", r, 5) >= 0);
	t_assert_rc(t_index(db, "by_city", c_city, 1, 0, NULL), 1);
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_ECONFLICT);
	aedb_txn_reset(t);
	assert_true(aedb_txn_insert(t, T_P, T_S, "people", r, 5) >= 0);
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	t_close(db);
}

/* Bad definitions: clear errors, nothing created. */
static void test_index_bad(void **state)
{
	static const char *const c_none[] = { "nope" };
	static const char *const c_twice[] = { "city", "city" };
	static const char *const c_city[] = { "city" };
	struct aedb *db = t_setup(2);
	struct aedb_value txt = t_text("x");
	struct aedb_index_def d = { "i", c_city, 1, 0, NULL };
	struct aedb_table_info *info;

	(void)state;
	t_assert_rc(t_index(db, "i", c_none, 1, 0, NULL), -AEDB_ENOCOLUMN);
	t_assert_rc(t_index(db, "i", c_twice, 2, 0, NULL), -AEDB_EINVAL);
	t_assert_rc(t_index(db, "i", c_city, 0, 0, NULL), -AEDB_EINVAL);
	t_assert_rc(t_index(db, "bad name", c_city, 1, 0, NULL), -AEDB_ENAME);
	t_assert_rc(t_index(db, "i", c_city, 1, 0x80, NULL), -AEDB_EINVAL);
	t_assert_rc(t_index(db, "i", c_city, 1, 0,
			    aedb_expr_cmp(AEDB_CMP_EQ, "age", &txt)), -AEDB_ETYPE);
	t_assert_rc(t_index(db, "i", c_city, 1, 0,
			    aedb_expr_cmp(AEDB_CMP_EQ, "zzz", &txt)), -AEDB_ENOCOLUMN);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "nope", &d), -AEDB_ENOTABLE);
	t_assert_rc(aedb_create_index(db, T_P, "nope", "people", &d), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "people", NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_index(db, T_P, T_S, "nope", "i"), -AEDB_ENOTABLE);
	t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "people", &info), 0);
	assert_int_equal(info->nindexes, 0);
	aedb_table_info_free(info);
	/* index keys over max_key_bytes: refused at create (a row has one)
	 * and at write time (with the index) */
	{
		static char big[2000];
		struct t_person p = { 1, 0, 1, 1, 1 };
		struct aedb_value r[5];
		char buf[24];

		memset(big, 'x', sizeof(big));
		t_row(r, 1, &p, buf);
		r[1].u.bytes = big;
		r[1].len = sizeof(big);
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "people", r, 5, 0, NULL), 0);
		t_assert_rc(t_index(db, "i", c_city, 1, 0, NULL), -AEDB_ETOOBIG);
		t_assert_rc(aedb_delete_row(db, T_P, T_S, "people", &r[0], 1, 0, NULL), 0);
		t_assert_rc(t_index(db, "i", c_city, 1, 0, NULL), 1);
		t_assert_rc(aedb_insert_row(db, T_P, T_S, "people", r, 5, 0, NULL),
			    -AEDB_ETOOBIG);
		t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", "i"), 1);
	}
	/* dropping the table drops its indexes; a new table starts bare */
	t_assert_rc(t_index(db, "i", c_city, 1, 0, NULL), 1);
	t_assert_rc(aedb_drop_table(db, T_P, T_S, "people"), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &t_def), 1);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "people", &info), 0);
	assert_int_equal(info->nindexes, 0);
	aedb_table_info_free(info);
	t_close(db);
}

/* Recovery: indexes (and their entries, backfilled or logged) survive. */
static void test_index_reopen(void **state)
{
	static const char *const c_city[] = { "city" };
	static const char *const c_email[] = { "email" };
	static const char *const c_age[] = { "age" };

	(void)state;
	for (uint32_t k = 1; k < T_NSHARD_COUNTS; k++) {
		struct aedb_value yes, lit, lo, hi;
		struct aedb_expr *pred;
		struct aedb_config cfg;
		char *dir = t_tmpdir();
		struct aedb *db = NULL;
		struct t_person m[T_ROWS], p;
		uint64_t got[T_ROWS], want[T_ROWS];
		struct aedb_table_info *info;
		uint32_t n, path;

		aedb_config_init(&cfg);
		cfg.shards = t_shard_counts[k];
		t_assert_rc(aedb_open(dir, &cfg, &db), 0);
		t_assert_rc(aedb_create_project(db, T_P), 1);
		t_assert_rc(aedb_create_table(db, T_P, T_S, &t_def), 1);
		t_fill(db, m, T_ROWS);                 /* before the indexes */
		for (uint32_t i = 0; i < T_ROWS; i += 11) {   /* some rows change after */
			m[i].city = (m[i].city + 2) % T_CITIES;
			t_assert_rc(t_put(db, 1, i, &m[i], NULL), 0);
		}
		t_assert_rc(t_index(db, "by_city", c_city, 1, 0, NULL), 1);
		t_assert_rc(t_index(db, "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL), 1);
		t_assert_rc(t_index(db, "gone", c_city, 1, 0, NULL), 1);
		yes = t_bool(1);
		lit = t_text("ab\x01c");
		t_assert_rc(t_index(db, "p_active", c_age, 1, 0,
				    aedb_expr_and(aedb_expr_cmp(AEDB_CMP_EQ, "active", &yes),
						  aedb_expr_not(aedb_expr_in("email", &lit, 1)))),
			    1);
		t_assert_rc(aedb_drop_index(db, T_P, T_S, "people", "gone"), 1);
		for (uint32_t i = 0; i < T_ROWS; i += 13) {   /* and after the index */
			m[i].city = (m[i].city + 1) % T_CITIES;
			t_assert_rc(t_put(db, 1, i, &m[i], NULL), 0);
		}
		t_assert_rc(aedb_close(db), 0);
		t_assert_rc(aedb_open(dir, &cfg, &db), 0);
		t_assert_rc(aedb_describe_table(db, T_P, T_S, "people", &info), 0);
		assert_int_equal(info->nindexes, 3);
		assert_string_equal(info->indexes[1].name, "p_active");
		assert_int_equal(info->indexes[1].flags, AEDB_INDEX_PARTIAL);
		aedb_table_info_free(info);
		lo = t_int(10);
		hi = t_int(30);
		pred = aedb_expr_and(aedb_expr_cmp(AEDB_CMP_EQ, "active", &yes),
				     aedb_expr_not(aedb_expr_in("email", &lit, 1)));
		n = t_ids(db, aedb_expr_and(pred, aedb_expr_between("age", &lo, &hi)), got, T_ROWS,
			  &path, NULL);
		assert_int_equal(path, AEDB_PATH_INDEX);
		assert_int_equal(n, t_model(m, T_ROWS, -1, 10, 30, 1, want));
		assert_memory_equal(got, want, n * sizeof(*got));
		for (uint32_t c = 0; c < T_CITIES; c++) {
			n = t_ids(db, t_city_eq(c), got, T_ROWS, &path, NULL);
			assert_int_equal(path, AEDB_PATH_INDEX);
			assert_int_equal(n, t_model(m, T_ROWS, (int)c, INT64_MIN, 0, 0, want));
			assert_memory_equal(got, want, n * sizeof(*got));
		}
		p = m[1];
		t_assert_rc(t_put(db, 0, 5000, &p, NULL), -AEDB_EUNIQUE);
		p.email = 99999;
		t_assert_rc(t_put(db, 0, 5000, &p, NULL), 0);
		t_assert_rc(aedb_close(db), 0);
		t_rmrf(dir);
		free(dir);
	}
}

/* A checkpoint between an index's creation and later writes, a second
 * index after it: the reopened indexes agree with the rows. */
static void test_index_checkpoint(void **state)
{
	static const char *const c_city[] = { "city" };
	static const char *const c_email[] = { "email" };

	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k += 2) {
		struct aedb_open_report rep;
		struct aedb_config cfg;
		char *dir = t_tmpdir();
		struct aedb *db = NULL;
		struct t_person m[T_ROWS];
		uint64_t got[T_ROWS], want[T_ROWS];

		aedb_config_init(&cfg);
		cfg.shards = t_shard_counts[k];
		t_assert_rc(aedb_open(dir, &cfg, &db), 0);
		t_assert_rc(aedb_create_project(db, T_P), 1);
		t_assert_rc(aedb_create_table(db, T_P, T_S, &t_def), 1);
		t_fill(db, m, T_ROWS);
		t_assert_rc(t_index(db, "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL), 1);
		for (uint32_t i = 1; i < T_ROWS; i += 3) {
			m[i].email = m[i].email < 0 ? (int64_t)(10000 + i) : -1;
			m[i].city = (m[i].city + 1) % T_CITIES;
			t_assert_rc(t_put(db, 1, i, &m[i], NULL), 0);
		}
		t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
		t_assert_rc(t_index(db, "by_city", c_city, 1, 0, NULL), 1);
		for (uint32_t i = 2; i < T_ROWS; i += 5) {
			m[i].email = (int64_t)(20000 + i);
			m[i].city = (m[i].city + 2) % T_CITIES;
			t_assert_rc(t_put(db, 1, i, &m[i], NULL), 0);
		}
		t_assert_rc(aedb_close(db), 0);
		t_assert_rc(aedb_open_ex(dir, &cfg, &db, &rep), 0);
		assert_true(rep.checkpoint_seq > 0);
		for (uint32_t c = 0; c < T_CITIES; c++) {
			uint32_t n = t_ids(db, t_city_eq(c), got, T_ROWS, NULL, NULL);

			assert_int_equal(n, t_model(m, T_ROWS, (int)c, INT64_MIN, 0, 0, want));
			assert_memory_equal(got, want, n * sizeof(*got));
		}
		for (uint32_t i = 0; i < T_ROWS; i++) {
			char buf[24];
			struct aedb_value v;

			if (m[i].email < 0)
				continue;
			snprintf(buf, sizeof(buf), "e%lld", (long long)m[i].email);
			v = t_text(buf);
			assert_int_equal(t_ids(db, aedb_expr_cmp(AEDB_CMP_EQ, "email", &v), got,
					       T_ROWS, NULL, NULL), 1);
			assert_int_equal(got[0], i);
		}
		t_assert_rc(t_put(db, 0, T_ROWS + 1, &m[2], NULL), -AEDB_EUNIQUE);
		t_assert_rc(aedb_close(db), 0);
		t_rmrf(dir);
		free(dir);
	}
}

/* Randomized: random writes, then every index query against the model. */
static void test_index_random(void **state)
{
	static const char *const c_city_age[] = { "city", "age" };
	static const char *const c_age[] = { "age" };
	static const char *const c_email[] = { "email" };
	uint64_t seed = t_seed("test_index_random");

	(void)state;
	for (uint32_t k = 0; k < T_NSHARD_COUNTS; k++) {
		struct aedb *db = t_setup(t_shard_counts[k]);
		struct t_person m[T_ROWS] = { 0 };
		uint64_t got[T_ROWS], want[T_ROWS];
		uint32_t n, w;

		t_assert_rc(t_index(db, "ca", c_city_age, 2, 0, NULL), 1);
		t_assert_rc(t_index(db, "a", c_age, 1, 0, NULL), 1);
		t_assert_rc(t_index(db, "u", c_email, 1, AEDB_INDEX_UNIQUE, NULL), 1);
		for (uint32_t op = 0; op < 1500; op++) {
			uint64_t id = t_rand(&seed) % T_ROWS, r = t_rand(&seed);
			struct t_person p = { 1, (uint32_t)(r % T_CITIES),
					      (r >> 8) % 6 == 0 ? -1 : (int64_t)((r >> 16) % 50),
					      (r >> 24) % 3 == 0 ? -1 : (int64_t)((r >> 32) % 400),
					      (int)((r >> 40) & 1) };
			int dup = 0, rc;

			for (uint32_t i = 0; p.email >= 0 && i < T_ROWS; i++)
				dup |= i != id && m[i].live && m[i].email == p.email;
			if ((r >> 48) % 5 == 0) {
				struct aedb_value pk = t_u64(id);

				t_assert_rc(aedb_delete_row(db, T_P, T_S, "people", &pk, 1, 0,
							    NULL), 0);
				m[id].live = 0;
				continue;
			}
			rc = t_put(db, 1, id, &p, NULL);
			t_assert_rc(rc, dup ? -AEDB_EUNIQUE : 0);
			if (!dup)
				m[id] = p;
		}
		for (uint32_t c = 0; c < T_CITIES; c++) {
			for (int64_t lo = 0; lo < 50; lo += 17) {
				struct aedb_value vlo = t_int(lo), vhi = t_int(lo + 12);

				n = t_ids(db, aedb_expr_and(t_city_eq(c),
							    aedb_expr_between("age", &vlo, &vhi)),
					  got, T_ROWS, NULL, NULL);
				w = t_model(m, T_ROWS, (int)c, lo, lo + 12, 0, want);
				assert_int_equal(n, w);
				assert_memory_equal(got, want, n * sizeof(*got));
				n = t_ids(db, aedb_expr_between("age", &vlo, &vhi), got, T_ROWS,
					  NULL, NULL);
				w = t_model(m, T_ROWS, -1, lo, lo + 12, 0, want);
				assert_int_equal(n, w);
				assert_memory_equal(got, want, n * sizeof(*got));
			}
		}
		for (int64_t e = 0; e < 400; e += 7) {   /* IN on the unique index */
			char b0[24], b1[24], b2[24];
			struct aedb_value in[3];
			uint32_t path;

			snprintf(b0, sizeof(b0), "e%lld", (long long)e);
			snprintf(b1, sizeof(b1), "e%lld", (long long)e + 1);
			snprintf(b2, sizeof(b2), "e%lld", (long long)e + 400);   /* never */
			in[0] = t_text(b0);
			in[1] = t_text(b1);
			in[2] = t_text(b2);
			n = t_ids(db, aedb_expr_in("email", in, 3), got, T_ROWS, &path, NULL);
			assert_int_equal(path, AEDB_PATH_INDEX);
			w = 0;
			for (uint32_t i = 0; i < T_ROWS; i++)
				if (m[i].live && (m[i].email == e || m[i].email == e + 1))
					want[w++] = i;
			assert_int_equal(n, w);
			assert_memory_equal(got, want, n * sizeof(*got));
		}
		{       /* pages of one row over IN on the unique index: the cursor
			 * resumes after the last key */
			struct aedb_value in[T_ROWS];
			char bufs[T_ROWS][24];
			struct aedb_query_result *r = NULL;
			struct aedb_query *q;
			uint32_t nin = 0, seen = 0;

			for (uint32_t i = 0; i < T_ROWS; i++) {
				if (!m[i].live || m[i].email < 0)
					continue;
				snprintf(bufs[nin], sizeof(bufs[nin]), "e%lld",
					 (long long)m[i].email);
				in[nin] = t_text(bufs[nin]);
				nin++;
			}
			t_assert_rc(aedb_query_create("people", &q), 0);
			t_assert_rc(aedb_query_where(q, aedb_expr_in("email", in, nin)), 0);
			t_assert_rc(aedb_query_limit(q, 1), 0);
			for (;;) {
				t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
				seen += (uint32_t)r->nrows;
				if (!r->truncated) {
					aedb_query_result_free(r);
					break;
				}
				t_assert_rc(aedb_query_set_cursor(q, r->cursor, r->cursor_len), 0);
				aedb_query_result_free(r);
			}
			assert_int_equal(seen, nin);
			aedb_query_free(q);
		}
		for (int64_t e = 0; e < 400; e += 3) {
			char buf[24];
			struct aedb_value v;

			snprintf(buf, sizeof(buf), "e%lld", (long long)e);
			v = t_text(buf);
			n = t_ids(db, aedb_expr_cmp(AEDB_CMP_EQ, "email", &v), got, T_ROWS, NULL,
				  NULL);
			w = 0;
			for (uint32_t i = 0; i < T_ROWS; i++)
				if (m[i].live && m[i].email == e)
					want[w++] = i;
			assert_int_equal(n, w);
			assert_memory_equal(got, want, n * sizeof(*got));
		}
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_ordered),
		cmocka_unit_test(test_index_partial),
		cmocka_unit_test(test_index_unique),
		cmocka_unit_test(test_index_unique_partial_composite),
		cmocka_unit_test(test_index_unique_race),
		cmocka_unit_test(test_index_ddl_under_load),
		cmocka_unit_test(test_index_ddl_stale_round),
		cmocka_unit_test(test_index_stale_txn),
		cmocka_unit_test(test_index_bad),
		cmocka_unit_test(test_index_reopen),
		cmocka_unit_test(test_index_checkpoint),
		cmocka_unit_test(test_index_random),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
