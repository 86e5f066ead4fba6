/* SPDX-License-Identifier: MIT */
/*
 * table_check_test - check constraints (issue 5): validated at create,
 * enforced on every row written (insert, upsert, batches, on-conflict
 * updates, update-where), with defaults applied first; a failing row
 * writes nothing; the definition (checks included) survives a reopen.
 */
#include "it_common.h"

#include <errno.h>
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

/* acct(id u64 pk, bal integer not null default 5, kind text null) with
 * bal >= 0 and (kind IS NULL OR kind IN ('a', 'b')). */
static int t_create(struct aedb *db, struct aedb_expr *c0, struct aedb_expr *c1,
		    const char *n0, const char *n1, uint32_t nchecks)
{
	struct aedb_column_def c[3] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "bal", .type = AEDB_TYPE_INTEGER },
		{ .name = "kind", .type = AEDB_TYPE_TEXT, .nullable = 1 },
	};
	struct aedb_check_def ck[2] = { { n0, c0 }, { n1, c1 } };
	struct aedb_table_def d = { "acct", c, 3, 1, t_pk_id };
	int rc;

	c[1].def = t_int(5);
	rc = aedb_create_table_checked(db, T_P, T_S, &d, ck, nchecks);
	aedb_expr_free(c0);
	aedb_expr_free(c1);
	return rc;
}

static struct aedb_expr *t_bal_ok(void)
{
	struct aedb_value zero = t_int(0);

	return aedb_expr_cmp(AEDB_CMP_GE, "bal", &zero);
}

static struct aedb_expr *t_kind_ok(void)
{
	struct aedb_value ab[2] = { t_text("a"), t_text("b") };

	return aedb_expr_or(aedb_expr_is_null("kind"), aedb_expr_in("kind", ab, 2));
}

static void t_row(struct aedb_value *r, uint64_t id, int64_t bal, const char *kind)
{
	r[0] = t_u64(id);
	r[1] = t_int(bal);
	r[2] = kind ? t_text(kind) : t_null();
}

static int64_t t_bal(struct aedb *db, uint64_t id)
{
	struct aedb_value pk = t_u64(id);
	struct aedb_row *r;
	int64_t b;

	t_assert_rc(aedb_get_row(db, T_P, T_S, "acct", &pk, 1, AEDB_LATEST, &r), 0);
	b = r->values[1].u.i64;
	aedb_row_free(r);
	return b;
}

static void t_enforced(struct aedb *db)
{
	struct aedb_value r[6];
	struct aedb_set add = { .col = "bal", .op = AEDB_SET_ADD };
	struct aedb_commit_result res;
	struct aedb_query *q;
	uint64_t v0 = aedb_visible_seq(db);
	struct aedb_value one = t_u64(1);

	t_row(r, 1, -1, NULL);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "acct", r, 3, 0, NULL), -AEDB_ECHECK);
	t_row(r, 1, 10, "c");
	t_assert_rc(aedb_upsert_row(db, T_P, T_S, "acct", r, 3, 0, &res), -AEDB_ECHECK);
	/* a batch with one bad row writes nothing */
	t_row(r, 2, 1, "a");
	t_row(&r[3], 3, -5, "b");
	t_assert_rc(aedb_insert_rows(db, T_P, T_S, "acct", r, 2, 3, 0, NULL), -AEDB_ECHECK);
	/* update-where and on-conflict updates are checked too */
	add.value = t_int(-1000);
	t_assert_rc(aedb_query_create("acct", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "id", &one)), 0);
	t_assert_rc(aedb_update_where(db, T_P, T_S, q, &add, 1, 0, NULL), -AEDB_ECHECK);
	aedb_query_free(q);
	t_row(r, 1, 0, NULL);
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "acct", r, 1, 3,
					    AEDB_CONFLICT_UPDATE, &add, 1, 0, NULL), -AEDB_ECHECK);
	assert_true(aedb_visible_seq(db) == v0);
}

static void test_check_constraints(void **state)
{
	struct aedb *db;
	struct aedb_value r[3];
	struct aedb_config cfg;
	struct aedb_table_info *info;
	char *dir;

	(void)state;
	dir = t_tmpdir();
	aedb_config_init(&cfg);
	cfg.shards = 3;
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(t_create(db, t_bal_ok(), t_kind_ok(), "bal_ok", "kind_ok", 2), 1);
	/* the same definition again: nothing changes; another check: EEXIST */
	t_assert_rc(t_create(db, t_bal_ok(), t_kind_ok(), "bal_ok", "kind_ok", 2), 0);
	t_assert_rc(t_create(db, t_bal_ok(), t_kind_ok(), "bal_ok", "kind2", 2), -AEDB_EEXIST);
	/* describe lists the checks; they recreate the same definition */
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "acct", &info), 0);
	assert_int_equal(info->nchecks, 2);
	assert_string_equal(info->checks[0].name, "bal_ok");
	assert_string_equal(info->checks[1].name, "kind_ok");
	t_assert_rc(aedb_create_table_checked(db, T_P, T_S, &info->def, info->checks,
					      info->nchecks), 0);
	t_assert_rc(aedb_create_table_checked(db, T_P, T_S, &info->def, info->checks, 1),
		    -AEDB_EEXIST);
	aedb_table_info_free(info);
	/* good rows; NULL takes the default 5 first, which passes */
	t_row(r, 1, 10, NULL);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "acct", r, 3, 0, NULL), 0);
	t_row(r, 2, 0, "b");
	r[1] = t_null();
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "acct", r, 3, 0, NULL), 0);
	assert_true(t_bal(db, 2) == 5);
	t_enforced(db);
	assert_true(t_bal(db, 1) == 10);
	/* after a reopen the checks are still there */
	t_assert_rc(aedb_close(db), 0);
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	t_enforced(db);
	t_row(r, 4, 7, "a");
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "acct", r, 3, 0, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_bad_checks(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_value txt = t_text("x");
	struct aedb_column_def c[2] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "bal", .type = AEDB_TYPE_INTEGER },
	};
	struct aedb_check_def many[65];
	struct aedb_expr *e = t_bal_ok();
	struct aedb_table_def d = { "t2", c, 2, 1, t_pk_id };
	struct aedb_table_info *info;

	(void)state;
	t_assert_rc(t_create(db, aedb_expr_is_null("nocol"), t_kind_ok(), "a", "b", 2),
		    -AEDB_ENOCOLUMN);
	t_assert_rc(t_create(db, aedb_expr_cmp(AEDB_CMP_EQ, "bal", &txt), t_kind_ok(), "a", "b",
			     2), -AEDB_ETYPE);
	t_assert_rc(t_create(db, t_bal_ok(), t_kind_ok(), "same", "same", 2), -AEDB_EINVAL);
	t_assert_rc(t_create(db, t_bal_ok(), t_kind_ok(), "bad name", "b", 2), -AEDB_ENAME);
	t_assert_rc(t_create(db, NULL, t_kind_ok(), "a", "b", 2), -AEDB_EMISUSE);
	for (int i = 0; i < 65; i++) {
		many[i].name = "x";
		many[i].expr = e;
	}
	t_assert_rc(aedb_create_table_checked(db, T_P, T_S, &d, many, 65), -AEDB_ETOOBIG);
	t_assert_rc(aedb_create_table_checked(db, T_P, T_S, &d, NULL, 1), -AEDB_EMISUSE);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "acct", &info), -AEDB_ENOTABLE);
	aedb_expr_free(e);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_constraints),
		cmocka_unit_test(test_bad_checks),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
