/* SPDX-License-Identifier: MIT */
/*
 * quickstart - the first aedb program: open a data directory, create
 * project "demo" (it comes with scope "app"), create table
 *
 *     users (id integer primary key, username text not null)
 *
 * insert (1, 'alice'), select it back by id with a query, and print it.
 * Then the key-value store beside it: set a key and read it back.
 *
 *   quickstart <data-dir>
 *
 * Running it again on the same directory is fine: the project and the
 * table already exist (same definition), and the row is already there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aedb.h>

static int check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "quickstart: %s: %s\n", what, aedb_strerror(rc));
		exit(1);
	}
	return rc;
}

static void create_users(struct aedb *db)
{
	static const struct aedb_column_def cols[] = {
		{ .name = "id", .type = AEDB_TYPE_INTEGER },
		{ .name = "username", .type = AEDB_TYPE_TEXT }, /* nullable = 0: NOT NULL */
	};
	static const char *const pk[] = { "id" };
	struct aedb_table_def def = {
		.name = "users", .columns = cols, .ncolumns = 2, .npk = 1, .pk = pk,
	};

	check(aedb_create_project(db, "demo"), "create project");
	check(aedb_create_table(db, "demo", "app", &def), "create table");
	printf("table demo.app.users (id integer primary key, username text not null)\n");
}

static void insert_alice(struct aedb *db)
{
	struct aedb_value row[2] = {
		{ .type = AEDB_TYPE_INTEGER, .u.i64 = 1 },
		{ .type = AEDB_TYPE_TEXT, .len = 5, .u.bytes = "alice" },
	};
	struct aedb_commit_result res;
	int rc;

	rc = aedb_insert_row(db, "demo", "app", "users", row, 2, AEDB_FINALITY_DURABLE, &res);
	if (rc == -AEDB_EEXIST) {
		printf("insert (1, 'alice'): already there\n");
		return;
	}
	check(rc, "insert");
	printf("insert (1, 'alice') committed at seq %llu\n", (unsigned long long)res.seq);
}

/* SELECT id, username FROM users WHERE id = 1 */
static void select_alice(struct aedb *db)
{
	struct aedb_value one = { .type = AEDB_TYPE_INTEGER, .u.i64 = 1 };
	struct aedb_query_result *r;
	struct aedb_query *q;

	check(aedb_query_create("users", &q), "query");
	check(aedb_query_select(q, "id"), "select");
	check(aedb_query_select(q, "username"), "select");
	check(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "id", &one)), "where");
	check(aedb_query_run(db, "demo", "app", q, AEDB_LATEST, &r), "query run");
	printf("select id, username from users where id = 1 (snapshot %llu):\n",
	       (unsigned long long)r->snapshot_seq);
	for (uint64_t i = 0; i < r->nrows; i++) {
		const struct aedb_value *v = &r->rows[i * r->ncols];

		printf("  %s = %lld, %s = '%.*s'\n", r->names[0], (long long)v[0].u.i64,
		       r->names[1], (int)v[1].len, (const char *)v[1].u.bytes);
	}
	aedb_query_result_free(r);
	aedb_query_free(q);
}

static void kv_tour(struct aedb *db)
{
	struct aedb_kv_item *item;
	uint64_t seq;

	check(aedb_kv_set(db, "demo", "app", "greeting", 8, "hello", 5, AEDB_FINALITY_VISIBLE,
			  &seq), "kv_set");
	check(aedb_kv_get(db, "demo", "app", "greeting", 8, AEDB_LATEST, &item), "kv_get");
	printf("kv greeting = %.*s (version %llu)\n", (int)item->entry.val_len,
	       (const char *)item->entry.val, (unsigned long long)item->entry.version);
	aedb_kv_item_free(item);
}

int main(int argc, char **argv)
{
	struct aedb_config cfg;
	struct aedb *db;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <data-dir>\n", argv[0]);
		return 2;
	}
	printf("aedb %s\n", aedb_version_string());
	aedb_config_init(&cfg);
	check(aedb_open(argv[1], &cfg, &db), "open");
	printf("opened %s with %u shards\n", argv[1], aedb_shard_count(db));
	create_users(db);
	insert_alice(db);
	select_alice(db);
	kv_tour(db);
	check(aedb_close(db), "close");
	return 0;
}
