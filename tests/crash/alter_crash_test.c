/* SPDX-License-Identifier: MIT */
/*
 * Crash suite for ALTER TABLE: kill -9 around column adds and drops on a
 * populated table, reopen, check that each alteration happened on every
 * row or not at all.
 *
 * A child (this binary with --child) loads 300 rows (id, v = 3 * id) in
 * its first cycle (later cycles first drop a column a killed one left),
 * then loops: add column x<cycle>_<j> (u64 NOT NULL
 * DEFAULT j), print "add x<cycle>_<j>", drop it, print "drop ...". The
 * parent kills it at a random moment, or the child kills itself at the
 * "alter-rewritten" (record queued, shard 0's rows rewritten) or
 * "alter-publish" (every shard rewritten, catalog not yet published) point.
 * After each reopen:
 *  - the table has id, v and at most one added column, and not one whose
 *    drop was acknowledged (an acknowledged add may be undone only by its
 *    drop, which the log may hold unacknowledged);
 *  - all 300 rows are there, v intact, each with the table's width and,
 *    in the added column, exactly its default (no half-rewritten table);
 *  - a row can be written at the new width.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_common.h"

#define AC_ROWS 300

static const char *ac_self;
static char ac_last[64];     /* the child's last line this cycle */

static const char *const ac_pk[] = { "id" };
static const struct aedb_column_def ac_cols[2] = {
	{ .name = "id", .type = AEDB_TYPE_U64 },
	{ .name = "v", .type = AEDB_TYPE_INTEGER },
};
static const struct aedb_table_def ac_def = { "t", ac_cols, 2, 1, ac_pk };

static int ac_child_load(struct aedb *db)
{
	struct aedb_value rows[AC_ROWS * 2];

	memset(rows, 0, sizeof(rows));
	for (uint32_t i = 0; i < AC_ROWS; i++) {
		rows[2 * i].type = AEDB_TYPE_U64;
		rows[2 * i].u.u64 = i;
		rows[2 * i + 1].type = AEDB_TYPE_INTEGER;
		rows[2 * i + 1].u.i64 = 3 * (int64_t)i;
	}
	if (aedb_create_project(db, "al") < 0 || aedb_create_table(db, "al", "app", &ac_def) < 0)
		return -1;
	return aedb_insert_rows(db, "al", "app", "t", rows, AC_ROWS, 2, AEDB_FINALITY_DURABLE,
				NULL);
}

/* A column a killed child added and did not drop: drop it first. */
static int ac_child_drop_left(struct aedb *db)
{
	struct aedb_alter a = { .kind = AEDB_ALTER_DROP_COLUMN };
	struct aedb_table_info *info = NULL;
	int rc = aedb_describe_table(db, "al", "app", "t", &info);

	if (rc == 0 && info->def.ncolumns == 3) {
		a.name = info->def.columns[2].name;
		rc = aedb_alter_table(db, "al", "app", "t", &a);
	}
	aedb_table_info_free(info);
	return rc;
}

static int ac_child_main(char **argv)
{
	struct aedb *db = cr_child_open(argv);
	uint32_t cycle = (uint32_t)atoi(argv[4]);

	if (cycle == 0 && ac_child_load(db) < 0)
		return 2;
	if (ac_child_drop_left(db) < 0)
		return 2;
	printf("ready\n");
	fflush(stdout);
	for (uint32_t j = 0;; j++) {
		struct aedb_alter a = { .kind = AEDB_ALTER_ADD_COLUMN };
		char name[32];
		int rc;

		snprintf(name, sizeof(name), "x%u_%u", cycle, j);
		a.column.name = name;
		a.column.type = AEDB_TYPE_U64;
		a.column.def.type = AEDB_TYPE_U64;
		a.column.def.u.u64 = j;
		rc = aedb_alter_table(db, "al", "app", "t", &a);
		if (rc != 1)
			return fprintf(stderr, "child: add: %s\n", aedb_strerror(rc)), 3;
		printf("add %s\n", name);
		fflush(stdout);
		memset(&a, 0, sizeof(a));
		a.kind = AEDB_ALTER_DROP_COLUMN;
		a.name = name;
		rc = aedb_alter_table(db, "al", "app", "t", &a);
		if (rc != 1)
			return fprintf(stderr, "child: drop: %s\n", aedb_strerror(rc)), 3;
		printf("drop %s\n", name);
		fflush(stdout);
	}
}

static void ac_line(char *line, void *arg)
{
	(void)arg;
	snprintf(ac_last, sizeof(ac_last), "%s", line);
}

/* The checks after a reopen; returns the table's width. */
static uint32_t ac_check(struct aedb *db)
{
	struct aedb_table_info *info = NULL;
	struct aedb_query_result *r = NULL;
	struct aedb_query *q;
	uint32_t ncols;
	uint64_t j = 0;

	cr_assert_rc(aedb_describe_table(db, "al", "app", "t", &info), 0);
	ncols = info->def.ncolumns;
	assert_true(ncols == 2 || ncols == 3);
	if (ncols == 3) {
		const char *name = info->def.columns[2].name;
		unsigned cyc, jj;

		assert_int_equal(sscanf(name, "x%u_%u", &cyc, &jj), 2);
		j = jj;
		/* never a column whose drop was acknowledged */
		if (strncmp(ac_last, "drop ", 5) == 0)
			assert_string_not_equal(ac_last + 5, name);
	}
	aedb_table_info_free(info);
	cr_assert_rc(aedb_query_create("t", &q), 0);
	cr_assert_rc(aedb_query_clear_limit(q), 0);
	cr_assert_rc(aedb_query_run(db, "al", "app", q, AEDB_LATEST, &r), 0);
	assert_int_equal(r->nrows, AC_ROWS);
	assert_int_equal(r->ncols, ncols);
	for (uint64_t i = 0; i < r->nrows; i++) {
		const struct aedb_value *row = r->rows + i * ncols;

		assert_int_equal(row[1].u.i64, 3 * (int64_t)row[0].u.u64);
		if (ncols == 3) {
			assert_int_equal(row[2].type, AEDB_TYPE_U64);
			assert_int_equal(row[2].u.u64, j);
		}
	}
	aedb_query_result_free(r);
	aedb_query_free(q);
	return ncols;
}

static void ac_cycles(uint32_t shards, const char *const *specs, uint32_t nspecs,
		      uint32_t kills)
{
	uint64_t seed = t_seed("alter_crash");
	char *dir = t_tmpdir();

	for (uint32_t cycle = 0; cycle < kills; cycle++) {
		const char *spec = nspecs ? specs[cycle % nspecs] : NULL;
		struct aedb *db = cr_open(dir, shards, NULL);
		struct aedb_value row[3] = { { .type = AEDB_TYPE_U64 },
					     { .type = AEDB_TYPE_INTEGER },
					     { .type = AEDB_TYPE_U64 } };
		uint32_t ncols;

		if (cycle > 0) {
			ncols = ac_check(db);
			row[0].u.u64 = AC_ROWS + cycle;
			cr_assert_rc(aedb_insert_row(db, "al", "app", "t", row, ncols, 0, NULL), 0);
			cr_assert_rc(aedb_delete_row(db, "al", "app", "t", row, 1, 0, NULL), 0);
		}
		cr_assert_rc(aedb_close(db), 0);
		ac_last[0] = '\0';
		cr_run_child(ac_self, dir, shards, cycle, 1 + (uint32_t)(t_rand(&seed) % 60), spec,
			     ac_line, NULL);
	}
	{
		struct aedb *db = cr_open(dir, shards, NULL);

		ac_check(db);
		cr_assert_rc(aedb_close(db), 0);
	}
	t_rmrf(dir);
	free(dir);
}

static void test_alter_random_kills(void **state)
{
	(void)state;
	ac_cycles(2, NULL, 0, 8);
	ac_cycles(3, NULL, 0, 6);
}

static void test_alter_kill_points(void **state)
{
	static const char *const specs[] = {
		NULL, "alter-rewritten:1", "alter-publish:1", "alter-rewritten:4",
		"alter-publish:3",
	};

	(void)state;
	ac_cycles(2, specs, 5, 11);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alter_random_kills),
		cmocka_unit_test(test_alter_kill_points),
	};

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return ac_child_main(argv);
	ac_self = argv[0];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
