/* SPDX-License-Identifier: MIT */
/*
 * index_bench - point reads on a table of N rows (default 100,000): by
 * primary key (aedb_get_row), and by secondary-index equality
 * (aedb_query_run on a unique and on a non-unique index), one client thread,
 * latency per call. One line per result:
 *   index_bench op=<name> rows=<n> shards=<s> p50_ns=<> p99_ns=<> mean_ns=<>
 * Usage: index_bench [--rows N] [--shards S] [--ops N]
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
	printf("index_bench op=%s rows=%llu shards=%u p50_ns=%llu p99_ns=%llu mean_ns=%llu\n", op,
	       (unsigned long long)rows, shards, (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[(uint64_t)n * 99 / 100], (unsigned long long)(sum / n));
}

static uint64_t bench_rng = 0x9e3779b97f4a7c15ull;

static uint64_t bench_rand(void)
{
	uint64_t z = (bench_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int bench_load(struct aedb *db, uint64_t rows)
{
	static const char *const pk[] = { "id" };
	static const char *const c_email[] = { "email" };
	static const char *const c_grp[] = { "grp" };
	struct aedb_column_def cols[4] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "email", .type = AEDB_TYPE_TEXT },
		{ .name = "grp", .type = AEDB_TYPE_INTEGER },
		{ .name = "note", .type = AEDB_TYPE_TEXT },
	};
	struct aedb_table_def def = { .name = "users", .columns = cols, .ncolumns = 4,
				      .npk = 1, .pk = pk };
	struct aedb_index_def ue = { "u_email", c_email, 1, AEDB_INDEX_UNIQUE, NULL };
	struct aedb_index_def ig = { "by_grp", c_grp, 1, 0, NULL };
	int rc = aedb_create_project(db, "bench");

	if (rc >= 0)
		rc = aedb_create_table(db, "bench", "app", &def);
	if (rc >= 0)
		rc = aedb_create_index(db, "bench", "app", "users", &ue);
	if (rc >= 0)
		rc = aedb_create_index(db, "bench", "app", "users", &ig);
	for (uint64_t i = 0; rc >= 0 && i < rows; i += 1000) {
		struct aedb_txn *t;

		rc = aedb_txn_create(db, &t);
		for (uint64_t j = i; rc >= 0 && j < i + 1000 && j < rows; j++) {
			struct aedb_value r[4] = { { .type = AEDB_TYPE_U64 },
						   { .type = AEDB_TYPE_TEXT },
						   { .type = AEDB_TYPE_INTEGER },
						   { .type = AEDB_TYPE_TEXT } };
			char email[48];

			snprintf(email, sizeof(email), "user%llu@example.com",
				 (unsigned long long)j);
			r[0].u.u64 = j;
			r[1].u.bytes = email;
			r[1].len = (uint32_t)strlen(email);
			r[2].u.i64 = (int64_t)(j % (rows / 10 + 1)); /* ~10 rows per group */
			r[3].u.bytes = "some note";
			r[3].len = 9;
			rc = aedb_txn_insert(t, "bench", "app", "users", r, 4);
		}
		if (rc >= 0)
			rc = aedb_commit(db, t, NULL);
		aedb_txn_free(t);
	}
	return rc < 0 ? rc : 0;
}

/* One query "SELECT * WHERE col = v": its latency, or 0 on error. */
static uint64_t bench_query(struct aedb *db, const char *col, struct aedb_value v,
			    uint64_t want)
{
	struct aedb_query_result *r = NULL;
	struct aedb_query *q;
	uint64_t t0 = bench_now_ns(), t1;
	int rc = aedb_query_create("users", &q);

	if (rc == 0)
		rc = aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, col, &v));
	if (rc == 0)
		rc = aedb_query_run(db, "bench", "app", q, AEDB_LATEST, &r);
	t1 = bench_now_ns();
	if (rc < 0 || (want && r->nrows != want)) {
		fprintf(stderr, "query on %s: %s, %llu rows\n", col, aedb_strerror(rc),
			r ? (unsigned long long)r->nrows : 0ull);
		t1 = t0;
	}
	aedb_query_result_free(r);
	aedb_query_free(q);
	return t1 - t0;
}

int main(int argc, char **argv)
{
	uint64_t rows = 100000;
	uint32_t shards = 2, ops = 200000;
	char dir[] = "/tmp/aedb-index-bench-XXXXXX";
	struct aedb_config cfg;
	struct aedb *db = NULL;
	uint64_t *lat;
	char cmd[128];
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rows") == 0)
			rows = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--shards") == 0)
			shards = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--ops") == 0)
			ops = (uint32_t)strtoul(argv[i + 1], NULL, 10);
	}
	if (rows < 10 || !ops || !mkdtemp(dir))
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
	for (uint32_t i = 0; i < ops; i++) {
		struct aedb_value pk = { .type = AEDB_TYPE_U64 };
		struct aedb_row *row = NULL;
		uint64_t t0;

		pk.u.u64 = bench_rand() % rows;
		t0 = bench_now_ns();
		rc = aedb_get_row(db, "bench", "app", "users", &pk, 1, AEDB_LATEST, &row);
		lat[i] = bench_now_ns() - t0;
		aedb_row_free(row);
		if (rc < 0)
			return 1;
	}
	bench_report("pk_point", lat, ops, rows, shards);
	for (uint32_t i = 0; i < ops; i++) {
		struct aedb_value v = { .type = AEDB_TYPE_U64 };

		v.u.u64 = bench_rand() % rows;
		lat[i] = bench_query(db, "id", v, 1);
	}
	bench_report("pk_query", lat, ops, rows, shards);
	for (uint32_t i = 0; i < ops; i++) {
		char email[48];
		struct aedb_value v = { .type = AEDB_TYPE_TEXT };

		snprintf(email, sizeof(email), "user%llu@example.com",
			 (unsigned long long)(bench_rand() % rows));
		v.u.bytes = email;
		v.len = (uint32_t)strlen(email);
		lat[i] = bench_query(db, "email", v, 1);
	}
	bench_report("index_eq_unique", lat, ops, rows, shards);
	for (uint32_t i = 0; i < ops; i++) {
		struct aedb_value v = { .type = AEDB_TYPE_INTEGER };

		v.u.i64 = (int64_t)(bench_rand() % (rows / 10));
		lat[i] = bench_query(db, "grp", v, 0);
	}
	bench_report("index_eq_10rows", lat, ops, rows, shards);
	free(lat);
	aedb_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
