/* SPDX-License-Identifier: MIT */
/*
 * table_bench - the query shapes of issue 5 on tables of N rows (default
 * 100,000), one client thread, latency per call (building the query, running
 * it, freeing the result):
 *   pk_point         aedb_get_row() by primary key
 *   pk_query         SELECT * WHERE id = ?
 *   index_eq_unique  SELECT * WHERE email = ? (unique index)
 *   index_eq_10rows  SELECT * WHERE grp = ? (non-unique index, 10 rows)
 *   scan_limit100    SELECT * WHERE id >= ? ORDER BY id LIMIT 100
 *   join             SELECT o.id, o.amount, u.email FROM orders o JOIN users u
 *                    ON o.user_id = u.id WHERE o.id = ?  (1 row)
 *   join_limit100    the same join, WHERE orders.id >= ? ORDER BY orders.id
 *                    LIMIT 100 (streams: stops at the limit)
 *   agg_all          SELECT COUNT(*), SUM(amount), MAX(amount) FROM orders
 *                    (every row)
 *   agg_group        ... GROUP BY grp-of-user over orders (N/10 groups)
 * One line per result:
 *   table_bench op=<name> rows=<n> shards=<s> ops=<n> p50_ns=<> p99_ns=<> mean_ns=<>
 * Usage: table_bench [--rows N] [--shards S] [--ops N] [--only OP]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aedb.h"

static uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bench_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void bench_report(const char *op, uint64_t *lat, uint32_t n, uint64_t rows,
			 uint32_t shards)
{
	uint64_t sum = 0;

	qsort(lat, n, sizeof(*lat), bench_u64_cmp);
	for (uint32_t i = 0; i < n; i++)
		sum += lat[i];
	printf("table_bench op=%s rows=%llu shards=%u ops=%u p50_ns=%llu p99_ns=%llu "
	       "mean_ns=%llu\n",
	       op, (unsigned long long)rows, shards, n, (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[(uint64_t)n * 99 / 100], (unsigned long long)(sum / n));
	fflush(stdout);
}

static uint64_t bench_rng = 0x9e3779b97f4a7c15ull;

static uint64_t bench_rand(void)
{
	uint64_t z = (bench_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct aedb_value bench_u64(uint64_t v)
{
	struct aedb_value x = { .type = AEDB_TYPE_U64 };

	x.u.u64 = v;
	return x;
}

static struct aedb_value bench_int(int64_t v)
{
	struct aedb_value x = { .type = AEDB_TYPE_INTEGER };

	x.u.i64 = v;
	return x;
}

static struct aedb_value bench_text(const char *t)
{
	struct aedb_value x = { .type = AEDB_TYPE_TEXT };

	x.u.bytes = t;
	x.len = (uint32_t)strlen(t);
	return x;
}

static int bench_schema(struct aedb *db)
{
	static const char *const pk[] = { "id" };
	static const char *const c_email[] = { "email" };
	static const char *const c_grp[] = { "grp" };
	struct aedb_column_def ucols[4] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "email", .type = AEDB_TYPE_TEXT },
		{ .name = "grp", .type = AEDB_TYPE_INTEGER },
		{ .name = "note", .type = AEDB_TYPE_TEXT },
	};
	struct aedb_column_def ocols[4] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "user_id", .type = AEDB_TYPE_U64 },
		{ .name = "grp", .type = AEDB_TYPE_INTEGER },
		{ .name = "amount", .type = AEDB_TYPE_INTEGER },
	};
	struct aedb_table_def users = { .name = "users", .columns = ucols, .ncolumns = 4,
					.npk = 1, .pk = pk };
	struct aedb_table_def orders = { .name = "orders", .columns = ocols, .ncolumns = 4,
					 .npk = 1, .pk = pk };
	struct aedb_index_def ue = { "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL };
	struct aedb_index_def ig = { "by_grp", c_grp, 1, 0, NULL };
	int rc = aedb_create_project(db, "bench");

	if (rc >= 0)
		rc = aedb_create_table(db, "bench", "app", &users);
	if (rc >= 0)
		rc = aedb_create_table(db, "bench", "app", &orders);
	if (rc >= 0)
		rc = aedb_create_index(db, "bench", "app", "users", &ue);
	if (rc >= 0)
		rc = aedb_create_index(db, "bench", "app", "users", &ig);
	return rc;
}

/* Row @j of users and of orders: ~10 users per group, order j of user
 * (j * 7919) mod rows, amounts 0..999. */
static int bench_rows(struct aedb_txn *t, uint64_t j, uint64_t rows)
{
	uint64_t groups = rows / 10 + 1;
	char email[48];
	struct aedb_value u[4], o[4];
	int rc;

	snprintf(email, sizeof(email), "user%llu@example.com", (unsigned long long)j);
	u[0] = bench_u64(j);
	u[1] = bench_text(email);
	u[2] = bench_int((int64_t)(j % groups));
	u[3] = bench_text("some note");
	o[0] = bench_u64(j);
	o[1] = bench_u64(j * 7919 % rows);
	o[2] = bench_int((int64_t)(j * 7919 % rows % groups));
	o[3] = bench_int((int64_t)(j % 1000));
	rc = aedb_txn_insert(t, "bench", "app", "users", u, 4);
	return rc < 0 ? rc : aedb_txn_insert(t, "bench", "app", "orders", o, 4);
}

static int bench_load(struct aedb *db, uint64_t rows)
{
	int rc = bench_schema(db);

	for (uint64_t i = 0; rc >= 0 && i < rows; i += 500) {
		struct aedb_txn *t;

		rc = aedb_txn_create(db, &t);
		for (uint64_t j = i; rc >= 0 && j < i + 500 && j < rows; j++)
			rc = bench_rows(t, j, rows);
		if (rc >= 0)
			rc = aedb_commit(db, t, NULL);
		aedb_txn_free(t);
	}
	return rc < 0 ? rc : 0;
}

enum bench_op {
	OP_PK_QUERY, OP_INDEX_UNIQUE, OP_INDEX_10, OP_SCAN100, OP_JOIN, OP_JOIN100,
	OP_AGG_ALL, OP_AGG_GROUP,
};

/* Build query @op for a random argument: the rows it must return in *@want
 * (0: not checked). NULL on error. */
static struct aedb_query *bench_build(enum bench_op op, uint64_t rows, uint64_t *want)
{
	uint64_t x = bench_rand() % rows;
	const char *table = op >= OP_JOIN ? "orders" : "users";
	struct aedb_query *q = NULL;
	struct aedb_value v;
	char email[48];
	int rc = aedb_query_create(table, &q);

	*want = 1;
	switch (op) {
	case OP_PK_QUERY:
		v = bench_u64(x);
		rc = rc ? rc : aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "id", &v));
		break;
	case OP_INDEX_UNIQUE:
		snprintf(email, sizeof(email), "user%llu@example.com", (unsigned long long)x);
		v = bench_text(email);
		rc = rc ? rc : aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "email", &v));
		break;
	case OP_INDEX_10:
		v = bench_int((int64_t)(x % (rows / 10)));
		*want = 0;
		rc = rc ? rc : aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "grp", &v));
		break;
	case OP_SCAN100:
		v = bench_u64(x % (rows - 100));
		*want = 100;
		rc = rc ? rc : aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_GE, "id", &v));
		rc = rc ? rc : aedb_query_order_by(q, "id", false);
		rc = rc ? rc : aedb_query_limit(q, 100);
		break;
	case OP_JOIN:
	case OP_JOIN100:
		rc = rc ? rc : aedb_query_join(q, AEDB_JOIN_INNER, "users", "u",
					       "orders.user_id", "id");
		rc = rc ? rc : aedb_query_select(q, "orders.id");
		rc = rc ? rc : aedb_query_select(q, "orders.amount");
		rc = rc ? rc : aedb_query_select(q, "u.email");
		if (op == OP_JOIN) {
			v = bench_u64(x);
			rc = rc ? rc : aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "orders.id",
									 &v));
			break;
		}
		v = bench_u64(x % (rows - 100));
		*want = 100;
		rc = rc ? rc : aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_GE, "orders.id", &v));
		rc = rc ? rc : aedb_query_order_by(q, "orders.id", false);
		rc = rc ? rc : aedb_query_limit(q, 100);
		break;
	case OP_AGG_GROUP:
		*want = rows / 10 + 1 < rows ? rows / 10 + 1 : 0;
		rc = rc ? rc : aedb_query_group_by(q, "grp");
		/* fall through */
	case OP_AGG_ALL:
		rc = rc ? rc : aedb_query_aggregate(q, AEDB_AGG_COUNT, NULL);
		rc = rc ? rc : aedb_query_aggregate(q, AEDB_AGG_SUM, "amount");
		rc = rc ? rc : aedb_query_aggregate(q, AEDB_AGG_MAX, "amount");
		rc = rc ? rc : aedb_query_clear_limit(q);
		break;
	}
	if (rc < 0) {
		fprintf(stderr, "building query %d: %s\n", (int)op, aedb_strerror(rc));
		aedb_query_free(q);
		return NULL;
	}
	return q;
}

/* Run query @op once: its latency, or UINT64_MAX on error. */
static uint64_t bench_query(struct aedb *db, enum bench_op op, uint64_t rows)
{
	struct aedb_query_result *r = NULL;
	struct aedb_query_opts opts;
	struct aedb_query_error err;
	uint64_t t0 = bench_now_ns(), t1, want;
	struct aedb_query *q = bench_build(op, rows, &want);
	int rc = q ? 0 : -1;

	aedb_query_opts_init(&opts);
	/* The aggregates read every row: lift the scan limit past them. */
	opts.max_scan_rows = 2 * rows + 1;
	opts.max_bytes = 1ull << 30;
	if (rc == 0)
		rc = aedb_query_run_ex(db, "bench", "app", q, AEDB_LATEST, &opts, &r, &err);
	t1 = bench_now_ns();
	if (rc < 0 || (want && r->nrows != want)) {
		fprintf(stderr, "query %d: %s (%s), %llu rows\n", (int)op, aedb_strerror(rc),
			rc < 0 ? err.msg : "", r ? (unsigned long long)r->nrows : 0ull);
		t1 = UINT64_MAX;
	}
	aedb_query_result_free(r);
	aedb_query_free(q);
	return t1 == UINT64_MAX ? t1 : t1 - t0;
}

static const struct {
	const char *name;
	enum bench_op op;
	uint32_t div;           /* run ops / div times */
} bench_ops[] = {
	{ "pk_query", OP_PK_QUERY, 1 },
	{ "index_eq_unique", OP_INDEX_UNIQUE, 1 },
	{ "index_eq_10rows", OP_INDEX_10, 4 },
	{ "scan_limit100", OP_SCAN100, 20 },
	{ "join", OP_JOIN, 1 },
	{ "join_limit100", OP_JOIN100, 20 },
	{ "agg_all", OP_AGG_ALL, 400 },
	{ "agg_group", OP_AGG_GROUP, 4000 },
};

static int bench_pk_point(struct aedb *db, uint64_t *lat, uint32_t ops, uint64_t rows)
{
	for (uint32_t i = 0; i < ops; i++) {
		struct aedb_value pk = bench_u64(bench_rand() % rows);
		struct aedb_row *row = NULL;
		uint64_t t0 = bench_now_ns();
		int rc = aedb_get_row(db, "bench", "app", "users", &pk, 1, AEDB_LATEST, &row);

		lat[i] = bench_now_ns() - t0;
		if (rc < 0 || !row) {
			fprintf(stderr, "get_row: %s\n", aedb_strerror(rc));
			return -1;
		}
		aedb_row_free(row);
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t rows = 100000;
	uint32_t shards = 2, ops = 200000;
	char dir[] = "/tmp/aedb-table-bench-XXXXXX";
	struct aedb_config cfg;
	struct aedb *db = NULL;
	uint64_t *lat;
	const char *only = NULL;
	char cmd[128];
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rows") == 0)
			rows = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--shards") == 0)
			shards = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--ops") == 0)
			ops = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--only") == 0)
			only = argv[i + 1];
	}
	if (rows < 1000 || ops < 4000 || !mkdtemp(dir))
		return 2;
	aedb_config_init(&cfg);
	cfg.shards = shards;
	cfg.durability = AEDB_DURABILITY_OS;
	rc = aedb_open(dir, &cfg, &db);
	if (rc == -ENOSYS || rc == -EPERM)
		return 77;
	lat = malloc(ops * sizeof(*lat));
	if (rc < 0 || !lat || bench_load(db, rows) < 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	rc = only && strcmp(only, "pk_point") ? 0 : bench_pk_point(db, lat, ops, rows);
	if (rc == 0 && (!only || !strcmp(only, "pk_point")))
		bench_report("pk_point", lat, ops, rows, shards);
	for (size_t k = 0; rc == 0 && k < sizeof(bench_ops) / sizeof(bench_ops[0]); k++) {
		uint32_t n = ops / bench_ops[k].div;

		if (only && strcmp(only, bench_ops[k].name))
			continue;

		for (uint32_t i = 0; rc == 0 && i < n; i++) {
			lat[i] = bench_query(db, bench_ops[k].op, rows);
			rc = lat[i] == UINT64_MAX ? -1 : 0;
		}
		if (rc == 0)
			bench_report(bench_ops[k].name, lat, n, rows, shards);
	}
	free(lat);
	aedb_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 && rc == 0 ? 0 : 1;
}
