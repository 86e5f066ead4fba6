/* SPDX-License-Identifier: MIT */
/*
 * Crash suite for foreign keys: kill -9 while child rows are inserted and
 * deleted and parent rows deleted and re-inserted, reopen, and check that
 * the foreign key still holds and its reference counts agree with the rows.
 *
 * A child (this binary with --child) creates parent(id) with 16 rows and
 * child(id, pid -> parent) in its first cycle, then loops over random
 * operations: insert a child naming a random parent (or NULL), delete a
 * random child, delete a random parent (refused while named), re-insert
 * it; every 200 operations of an odd cycle it takes a checkpoint. The
 * parent kills it at a random moment. After each reopen:
 *  - no child row names an absent parent;
 *  - for every parent, a transaction deleting all its children and then
 *    the parent passes preflight, and one that leaves one child fails
 *    with -AEDB_EFOREIGN: the count is exactly the children;
 *  - the foreign key is still declared, and still enforced on a write.
 * A second child table, casc(id, pid -> parent ON DELETE CASCADE), gets
 * inserts too: a parent delete that goes through takes its casc rows in
 * the same commit. After each reopen no casc row names an absent parent,
 * and a delete of the parent building the cascade again passes preflight
 * (its count is not above its rows: the cascade's decrements and deletes
 * were recovered together).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_common.h"

#define FC_PARENTS 16u
#define FC_ROWS_MAX 4096u

static const char *fc_self;
static uint64_t fc_rows_seen;   /* child rows seen by the checks: the run did work */
static uint64_t fc_casc_seen;   /* casc rows seen by the checks */

static const char *const fc_pk[] = { "id" }, *const fc_pid[] = { "pid" };
static const struct aedb_column_def fc_pcols[1] = { { .name = "id", .type = AEDB_TYPE_U64 } };
static const struct aedb_column_def fc_ccols[2] = {
	{ .name = "id", .type = AEDB_TYPE_U64 },
	{ .name = "pid", .type = AEDB_TYPE_U64, .nullable = 1 },
};

static struct aedb_value fc_u64(uint64_t x)
{
	struct aedb_value v = { .type = AEDB_TYPE_U64 };

	v.u.u64 = x;
	return v;
}

static int fc_child_load(struct aedb *db)
{
	struct aedb_table_def pd = { "parent", fc_pcols, 1, 1, fc_pk };
	struct aedb_table_def cd = { "child", fc_ccols, 2, 1, fc_pk };
	struct aedb_fk_def fk = { .name = "to_parent", .columns = fc_pid, .ncolumns = 1,
				  .ref_table = "parent" };
	int rc = aedb_create_project(db, "fk");

	if (rc >= 0)
		rc = aedb_create_table(db, "fk", "app", &pd);
	if (rc >= 0)
		rc = aedb_create_table_ex(db, "fk", "app", &cd, NULL, 0, &fk, 1);
	cd.name = "casc";
	fk.on_delete = AEDB_FK_CASCADE;
	if (rc >= 0)
		rc = aedb_create_table_ex(db, "fk", "app", &cd, NULL, 0, &fk, 1);
	for (uint64_t p = 1; rc >= 0 && p <= FC_PARENTS; p++) {
		struct aedb_value v = fc_u64(p);

		rc = aedb_insert_row(db, "fk", "app", "parent", &v, 1, 0, NULL);
	}
	return rc;
}

static int fc_ok(int rc)
{
	return rc >= 0 || rc == -AEDB_EFOREIGN || rc == -AEDB_EEXIST || rc == -AEDB_ECONFLICT;
}

static int fc_child_main(char **argv)
{
	struct aedb *db = cr_child_open(argv);
	uint32_t cycle = (uint32_t)atoi(argv[4]);
	uint64_t seed = 0x9e3779b97f4a7c15ull * (cycle + 1);

	if (cycle == 0 && fc_child_load(db) < 0)
		return 2;
	printf("ready\n");
	fflush(stdout);
	for (uint32_t j = 1;; j++) {
		uint64_t x = t_rand(&seed), p = 1 + x % FC_PARENTS, c = 1 + (x >> 8) % FC_ROWS_MAX;
		struct aedb_value row[2] = { fc_u64(c), fc_u64(p) };
		int rc;

		switch ((x >> 20) % 5) {
		case 0:
		case 1:
			if ((x >> 30) % 8 == 0)
				row[1].type = AEDB_TYPE_NULL;
			rc = aedb_upsert_row(db, "fk", "app", "child", row, 2, 0, NULL);
			break;
		case 4:
			rc = aedb_upsert_row(db, "fk", "app", "casc", row, 2, 0, NULL);
			break;
		case 2:
			rc = aedb_delete_row(db, "fk", "app", "child", row, 1, 0, NULL);
			break;
		default:
			rc = (x >> 40) & 1 ? aedb_delete_row(db, "fk", "app", "parent", &row[1], 1,
							     0, NULL)
					   : aedb_insert_row(db, "fk", "app", "parent", &row[1],
							     1, 0, NULL);
			break;
		}
		if (!fc_ok(rc))
			return fprintf(stderr, "child: op: %s\n", aedb_strerror(rc)), 3;
		if (cycle % 2 && j % 200 == 0 && aedb_checkpoint_now(db, NULL) < 0)
			return fprintf(stderr, "child: checkpoint failed\n"), 3;
		if (j % 50 == 0) {
			printf("op %u\n", j);
			fflush(stdout);
		}
	}
}

static void fc_line(char *line, void *arg)
{
	(void)line;
	(void)arg;
}

/* Preflight: delete @n of parent @p's children @kids, then @p (its casc
 * rows by the cascade). */
static int fc_preflight(struct aedb *db, uint64_t p, const uint64_t *kids, uint32_t n)
{
	struct aedb_preflight *pf = NULL;
	struct aedb_value pk = fc_u64(p);
	struct aedb_txn *t;
	int err;

	cr_assert_rc(aedb_txn_create(db, &t), 0);
	for (uint32_t i = 0; i < n; i++) {
		struct aedb_value k = fc_u64(kids[i]);

		assert_true(aedb_txn_delete_row(t, "fk", "app", "child", &k, 1) >= 0);
	}
	assert_true(aedb_txn_delete_row(t, "fk", "app", "parent", &pk, 1) >= 0);
	cr_assert_rc(aedb_preflight(db, t, &pf), 0);
	err = pf->error;
	aedb_preflight_free(pf);
	aedb_txn_free(t);
	return err;
}

static void fc_check(struct aedb *db)
{
	static uint64_t kids[FC_PARENTS + 1][FC_ROWS_MAX];
	uint32_t nkids[FC_PARENTS + 1] = { 0 };
	struct aedb_query_result *r = NULL;
	struct aedb_table_info *info = NULL;
	struct aedb_query *q;

	cr_assert_rc(aedb_describe_table(db, "fk", "app", "child", &info), 0);
	assert_int_equal(info->nfks, 1);
	aedb_table_info_free(info);
	cr_assert_rc(aedb_query_create("child", &q), 0);
	cr_assert_rc(aedb_query_clear_limit(q), 0);
	cr_assert_rc(aedb_query_run(db, "fk", "app", q, AEDB_LATEST, &r), 0);
	for (uint64_t i = 0; i < r->nrows; i++) {
		const struct aedb_value *row = r->rows + i * 2;
		struct aedb_row *pr = NULL;
		uint64_t p;

		if (row[1].type == AEDB_TYPE_NULL)
			continue;
		p = row[1].u.u64;
		assert_true(p >= 1 && p <= FC_PARENTS);
		/* no orphan */
		cr_assert_rc(aedb_get_row(db, "fk", "app", "parent", &row[1], 1, AEDB_LATEST, &pr),
			     0);
		aedb_row_free(pr);
		kids[p][nkids[p]++] = row[0].u.u64;
	}
	fc_rows_seen += r->nrows;
	aedb_query_result_free(r);
	aedb_query_free(q);
	/* no casc row outlived its parent */
	cr_assert_rc(aedb_query_create("casc", &q), 0);
	cr_assert_rc(aedb_query_clear_limit(q), 0);
	cr_assert_rc(aedb_query_run(db, "fk", "app", q, AEDB_LATEST, &r), 0);
	for (uint64_t i = 0; i < r->nrows; i++) {
		const struct aedb_value *row = r->rows + i * 2;
		struct aedb_row *pr = NULL;

		assert_int_equal(row[1].type, AEDB_TYPE_U64);
		cr_assert_rc(aedb_get_row(db, "fk", "app", "parent", &row[1], 1, AEDB_LATEST, &pr),
			     0);
		aedb_row_free(pr);
	}
	fc_casc_seen += r->nrows;
	aedb_query_result_free(r);
	aedb_query_free(q);
	/* the counts are exactly the children */
	for (uint64_t p = 1; p <= FC_PARENTS; p++) {
		cr_assert_rc(fc_preflight(db, p, kids[p], nkids[p]), 0);
		if (nkids[p])
			cr_assert_rc(fc_preflight(db, p, kids[p], nkids[p] - 1), -AEDB_EFOREIGN);
	}
}

static void fc_cycles(uint32_t shards, uint32_t kills)
{
	uint64_t seed = t_seed("fk_crash");
	char *dir = t_tmpdir();

	for (uint32_t cycle = 0; cycle < kills; cycle++) {
		struct aedb *db = cr_open(dir, shards, NULL);

		if (cycle > 0) {
			struct aedb_value row[2] = { fc_u64(FC_ROWS_MAX + cycle),
						     fc_u64(FC_PARENTS + 1) };

			fc_check(db);
			cr_assert_rc(aedb_insert_row(db, "fk", "app", "child", row, 2, 0, NULL),
				     -AEDB_EFOREIGN);
		}
		cr_assert_rc(aedb_close(db), 0);
		cr_run_child(fc_self, dir, shards, cycle, 1 + (uint32_t)(t_rand(&seed) % 200),
			     NULL, fc_line, NULL);
	}
	{
		struct aedb *db = cr_open(dir, shards, NULL);

		fc_check(db);
		cr_assert_rc(aedb_close(db), 0);
	}
	print_message("fk_crash: %u shards, %" PRIu64 " child and %" PRIu64
		      " casc rows checked\n", shards, fc_rows_seen, fc_casc_seen);
	assert_true(fc_rows_seen > 0);
	assert_true(fc_casc_seen > 0);
	fc_rows_seen = 0;
	fc_casc_seen = 0;
	t_rmrf(dir);
	free(dir);
}

static void test_fk_random_kills(void **state)
{
	(void)state;
	fc_cycles(2, 6);
	fc_cycles(3, 5);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fk_random_kills),
	};

	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		return fc_child_main(argv);
	fc_self = argv[0];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
