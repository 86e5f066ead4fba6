/* SPDX-License-Identifier: MIT */
/*
 * table_check_test - check constraints inside table definitions
 * (api/tcheck.c, api/tdef.c): the encoding round-trips and is canonical,
 * the section is optional, every truncation and every flipped byte decodes
 * to -AEDB_ECORRUPT or to a valid definition without overreads (ASan), and
 * decoded checks evaluate as written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aedb.h"
#include "api/tcheck.h"
#include "api/tdef.h"
#include "table/value.h"

static const char *const t_pk[] = { "id" };

static const struct aedb_column_def t_cols[3] = {
	{ .name = "id", .type = AEDB_TYPE_U64 },
	{ .name = "bal", .type = AEDB_TYPE_INTEGER },
	{ .name = "kind", .type = AEDB_TYPE_TEXT, .nullable = 1 },
};

static const struct aedb_table_def t_def = {
	.name = "acct", .columns = t_cols, .ncolumns = 3, .npk = 1, .pk = t_pk,
};

/* Encode acct with checks bal >= 0 and (kind IS NULL OR kind LIKE 'a%'). */
static void t_encode(uint8_t **enc, uint32_t *len, uint32_t nchecks)
{
	struct aedb_value zero = { .type = AEDB_TYPE_INTEGER };
	struct aedb_check_def ck[2] = {
		{ "bal_ok", aedb_expr_cmp(AEDB_CMP_GE, "bal", &zero) },
		{ "kind_ok", aedb_expr_or(aedb_expr_is_null("kind"),
					  aedb_expr_like("kind", "a%", 2)) },
	};

	assert_int_equal(cat_tdef_encode_checks(&t_def, ck, nchecks, enc, len), 0);
	aedb_expr_free((struct aedb_expr *)ck[0].expr);
	aedb_expr_free((struct aedb_expr *)ck[1].expr);
}

static void test_round_trip_and_eval(void **state)
{
	struct tv_value row[3];
	struct cat_tdef *t;
	uint8_t *enc, *enc2;
	uint32_t len, len2;
	int32_t failed = -1;

	(void)state;
	t_encode(&enc, &len, 2);
	t_encode(&enc2, &len2, 2);
	assert_int_equal(len, len2);                    /* canonical */
	assert_memory_equal(enc, enc2, len);
	free(enc2);
	assert_int_equal(cat_tdef_decode("acct", enc, len, &t), 0);
	assert_int_equal(t->schema.nchecks, 2);
	assert_string_equal(t->schema.checks[1].name, "kind_ok");
	row[0] = tv_u64(1);
	row[1] = tv_integer(5);
	row[2] = tv_null();
	assert_int_equal(cat_checks_eval(&t->schema, row, &failed), 0);
	row[2] = tv_text("abc", 3);
	assert_int_equal(cat_checks_eval(&t->schema, row, &failed), 0);
	row[2] = tv_text("xyz", 3);
	assert_int_equal(cat_checks_eval(&t->schema, row, &failed), -AEDB_ECHECK);
	assert_int_equal(failed, 1);
	row[1] = tv_integer(-1);
	assert_int_equal(cat_checks_eval(&t->schema, row, &failed), -AEDB_ECHECK);
	assert_int_equal(failed, 0);
	free(t);
	/* without checks: the encoding of aedb_create_table(), no section */
	t_encode(&enc2, &len2, 0);
	assert_true(len2 < len);
	assert_memory_equal(enc, enc2, len2);
	assert_int_equal(cat_tdef_decode("acct", enc2, len2, &t), 0);
	assert_int_equal(t->schema.nchecks, 0);
	assert_int_equal(cat_checks_eval(&t->schema, row, NULL), 0);
	free(t);
	free(enc2);
	free(enc);
}

static void test_damage(void **state)
{
	struct cat_tdef *t;
	uint32_t len, base;
	uint8_t *enc, *enc0;

	(void)state;
	t_encode(&enc0, &base, 0);
	free(enc0);
	t_encode(&enc, &len, 2);
	/* every truncation: corrupt, except exactly before the section */
	for (uint32_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		int rc;

		memcpy(cut, enc, n);
		rc = cat_tdef_decode("acct", cut, n, &t);
		if (n == base) {
			assert_int_equal(rc, 0);
			free(t);
		} else {
			assert_int_equal(rc, -AEDB_ECORRUPT);
		}
		free(cut);
	}
	/* every flipped byte: a valid definition or corrupt, never a crash */
	for (uint32_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			uint8_t *bad = malloc(len);
			int rc;

			memcpy(bad, enc, len);
			bad[i] ^= (uint8_t)(1u << bit);
			rc = cat_tdef_decode("acct", bad, len, &t);
			assert_true(rc == 0 || rc == -AEDB_ECORRUPT);
			if (rc == 0)
				free(t);
			free(bad);
		}
	}
	free(enc);
}

static void test_bad_definitions(void **state)
{
	struct aedb_value txt = { .type = AEDB_TYPE_TEXT, .len = 1, .u.bytes = "x" };
	struct aedb_check_def ck[1] = { { "c", NULL } };
	uint8_t *enc = NULL;
	uint32_t len;

	(void)state;
	ck[0].expr = aedb_expr_is_null("nocol");
	assert_int_equal(cat_tdef_encode_checks(&t_def, ck, 1, &enc, &len), -AEDB_ENOCOLUMN);
	aedb_expr_free((struct aedb_expr *)ck[0].expr);
	ck[0].expr = aedb_expr_cmp(AEDB_CMP_EQ, "bal", &txt);
	assert_int_equal(cat_tdef_encode_checks(&t_def, ck, 1, &enc, &len), -AEDB_ETYPE);
	ck[0].name = "bad name";
	assert_int_equal(cat_tdef_encode_checks(&t_def, ck, 1, &enc, &len), -AEDB_ENAME);
	aedb_expr_free((struct aedb_expr *)ck[0].expr);
	ck[0].expr = NULL;
	assert_int_equal(cat_tdef_encode_checks(&t_def, ck, 1, &enc, &len), -AEDB_EMISUSE);
	assert_int_equal(cat_tdef_encode_checks(&t_def, NULL, 1, &enc, &len), -AEDB_EMISUSE);
	assert_null(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_eval),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_bad_definitions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
