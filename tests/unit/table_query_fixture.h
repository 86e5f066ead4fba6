/* SPDX-License-Identifier: MIT */
/*
 * The fixture shared by the table/query unit tests: three tables (users,
 * orders, cities) with indexes (plain, unique, partial) loaded into an
 * in-memory database of N fake shards, and helpers to run queries and read
 * result values. The data are described next to t_db_open().
 */
#ifndef AEDB_TESTS_TABLE_QUERY_FIXTURE_H
#define AEDB_TESTS_TABLE_QUERY_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "aedb.h"
#include "table/query.h"

/* users(id integer PK, name text, age u8?, city text?, score float?,
 * active boolean?); indexes by_city, by_name (unique), adults_active
 * (age) WHERE active = true. */
static struct tv_column t_ucols[] = {
	{ .name = "id", .type = TV_INTEGER },
	{ .name = "name", .type = TV_TEXT },
	{ .name = "age", .type = TV_U8, .nullable = true },
	{ .name = "city", .type = TV_TEXT, .nullable = true },
	{ .name = "score", .type = TV_FLOAT, .nullable = true },
	{ .name = "active", .type = TV_BOOLEAN, .nullable = true },
};
static const char *const t_upk[] = { "id" };
static struct tv_schema t_users = {
	.name = "users", .cols = t_ucols, .ncols = 6, .pk_names = t_upk, .npk = 1,
};

/* orders(uid integer, oid integer, amount u64, big u256?, note text?),
 * PK (uid, oid). */
static struct tv_column t_ocols[] = {
	{ .name = "uid", .type = TV_INTEGER },
	{ .name = "oid", .type = TV_INTEGER },
	{ .name = "amount", .type = TV_U64 },
	{ .name = "big", .type = TV_U256, .nullable = true },
	{ .name = "note", .type = TV_TEXT, .nullable = true },
};
static const char *const t_opk[] = { "uid", "oid" };
static struct tv_schema t_orders = {
	.name = "orders", .cols = t_ocols, .ncols = 5, .pk_names = t_opk, .npk = 2,
};

/* cities(code u64 PK, cname text?). */
static struct tv_column t_ccols[] = {
	{ .name = "code", .type = TV_U64 },
	{ .name = "cname", .type = TV_TEXT, .nullable = true },
};
static const char *const t_cpk[] = { "code" };
static struct tv_schema t_cities = {
	.name = "cities", .cols = t_ccols, .ncols = 2, .pk_names = t_cpk, .npk = 1,
};

static const char *const t_idx_city[] = { "city" };
static const char *const t_idx_name[] = { "name" };
static const char *const t_idx_age[] = { "age" };
static const char *const t_cities_of[] = { "paris", "rome", "oslo" };

#define T_USERS 40

struct t_db {
	struct tv_memdb *db;
	struct tv_env env;
	struct tv_memtable *users, *orders, *cities;
	char names[T_USERS + 1][8];
};

static inline int t_setup(void **state)
{
	(void)state;
	if (tv_schema_check(&t_users, NULL) || tv_schema_check(&t_orders, NULL) ||
	    tv_schema_check(&t_cities, NULL))
		return -1;
	return 0;
}

/* User i: name "n<i>", age NULL every 7th else 20 + i % 30, city cycling
 * paris/rome/oslo/NULL, score i/2 (NULL every 5th), active every 3rd.
 * Orders: user i (i <= 10) has i % 4 orders, amount 10 * oid. */
static inline void t_db_open(struct t_db *d, uint32_t nshards)
{
	struct tv_expr *active = tv_expr_eq("active", tv_boolean(true));

	assert_int_equal(tv_memdb_create(nshards, 77, &d->db), 0);
	assert_int_equal(tv_memdb_table(d->db, &t_users, 1, &d->users), 0);
	assert_int_equal(tv_memdb_table(d->db, &t_orders, 2, &d->orders), 0);
	assert_int_equal(tv_memdb_table(d->db, &t_cities, 3, &d->cities), 0);
	for (int i = 1; i <= T_USERS; i++) {
		struct tv_value row[6];

		snprintf(d->names[i], sizeof(d->names[i]), "n%d", i);
		row[0] = tv_integer(i);
		row[1] = tv_text(d->names[i], (uint32_t)strlen(d->names[i]));
		row[2] = i % 7 == 0 ? tv_null() : tv_u8((uint8_t)(20 + i % 30));
		row[3] = i % 4 == 3 ? tv_null()
				    : tv_text(t_cities_of[i % 4],
					      (uint32_t)strlen(t_cities_of[i % 4]));
		row[4] = i % 5 == 0 ? tv_null() : tv_float(i / 2.0);
		row[5] = tv_boolean(i % 3 == 0);
		assert_int_equal(tv_memtable_insert(d->users, row), 0);
	}
	for (int i = 1; i <= 10; i++) {
		for (int o = 1; o <= i % 4; o++) {
			struct tv_value row[5] = { tv_integer(i), tv_integer(o), tv_u64(10 * o),
						   tv_u256_from_u64(o), tv_null() };

			assert_int_equal(tv_memtable_insert(d->orders, row), 0);
		}
	}
	for (uint64_t c = 0; c < 3; c++) {
		struct tv_value row[2] = { tv_u64(c), tv_text(t_cities_of[c],
						  (uint32_t)strlen(t_cities_of[c])) };

		assert_int_equal(tv_memtable_insert(d->cities, row), 0);
	}
	assert_int_equal(tv_memtable_index(d->users, "by_city", t_idx_city, 1, false, NULL), 0);
	assert_int_equal(tv_memtable_index(d->users, "by_name", t_idx_name, 1, true, NULL), 0);
	assert_int_equal(tv_memtable_index(d->users, "adults_active", t_idx_age, 1, false,
					   active), 0);
	tv_expr_free(active);
	tv_memdb_env(d->db, &d->env);
}

static inline void t_db_close(struct t_db *d)
{
	tv_memdb_free(d->db);
}

static struct tv_query *t_q(const char *table)
{
	struct tv_query *q;

	assert_int_equal(tv_query_create(table, &q), 0);
	return q;
}

static struct tv_result *t_run(struct t_db *d, const struct tv_query *q,
			       const struct tv_query_opts *o)
{
	struct tv_result *r = NULL;
	struct tv_qerr err = { 0 };
	int rc = tv_query_run(&d->env, q, o, &r, &err);

	if (rc)
		fprintf(stderr, "query failed %d: %s\n", rc, err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(r);
	return r;
}

static inline int t_run_err(struct t_db *d, const struct tv_query *q, const struct tv_query_opts *o)
{
	struct tv_result *r = NULL;
	struct tv_qerr err = { 0 };
	int rc = tv_query_run(&d->env, q, o, &r, &err);

	assert_null(r);
	assert_true(rc < 0);
	assert_int_equal(err.code, rc);
	assert_true(strlen(err.msg) > 0);
	return rc;
}

static inline int t_col(const struct tv_result *r, const char *name)
{
	for (uint32_t i = 0; i < r->ncols; i++)
		if (strcmp(r->names[i], name) == 0)
			return (int)i;
	fail_msg("no result column %s", name);
	return -1;
}

static const struct tv_value *t_val(const struct tv_result *r, uint64_t row, const char *col)
{
	assert_true(row < r->nrows);
	return &r->rows[row * r->ncols + (uint32_t)t_col(r, col)];
}

static inline int64_t t_i64(const struct tv_result *r, uint64_t row, const char *col)
{
	const struct tv_value *v = t_val(r, row, col);

	assert_int_equal(v->type, TV_INTEGER);
	return v->u.i64;
}

#endif /* AEDB_TESTS_TABLE_QUERY_FIXTURE_H */
