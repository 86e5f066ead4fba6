/* SPDX-License-Identifier: MIT */
/* table/schema: definition rules and their error codes, layout, row checks
 * (positional and named), defaults, primary-key extraction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "aedb.h"
#include "table/keyenc.h"
#include "table/row.h"
#include "table/schema.h"

static int t_dummy_expr;

/* A fresh copy of a valid definition for each test to break. */
struct t_def {
	struct tv_column cols[5];
	const char *pk[3];
	struct tv_check checks[2];
	struct tv_schema s;
};

static void t_def_init(struct t_def *d)
{
	const struct tv_column cols[5] = {
		{ .name = "tenant", .type = TV_TEXT },
		{ .name = "id", .type = TV_U64 },
		{ .name = "qty", .type = TV_INTEGER, .def = tv_integer(1) },
		{ .name = "note", .type = TV_JSON, .nullable = true },
		{ .name = "flag", .type = TV_BOOLEAN, .nullable = true,
		  .def = tv_boolean(true) },
	};

	memset(d, 0, sizeof(*d));
	memcpy(d->cols, cols, sizeof(cols));
	/* Key order differs from column order on purpose. */
	d->pk[0] = "id";
	d->pk[1] = "tenant";
	d->checks[0] = (struct tv_check){ .name = "qty_pos", .expr = &t_dummy_expr };
	d->checks[1] = (struct tv_check){ .name = "note-ok", .expr = &t_dummy_expr };
	d->s = (struct tv_schema){
		.name = "orders", .cols = d->cols, .ncols = 5, .pk_names = d->pk, .npk = 2,
		.checks = d->checks, .nchecks = 2,
	};
}

static void t_expect(struct t_def *d, int rc, int32_t column)
{
	int32_t col = 99;

	assert_int_equal(tv_schema_check(&d->s, &col), rc);
	assert_int_equal(col, column);
	assert_int_equal(d->s.checked, rc == 0);
}

static void test_schema_valid_layout(void **state)
{
	struct t_def d;

	(void)state;
	t_def_init(&d);
	t_expect(&d, 0, -1);
	assert_int_equal(d.s.pk[0], 1);
	assert_int_equal(d.s.pk[1], 0);
	assert_int_equal(d.s.nvar, 2);
	assert_int_equal(d.s.fixed_bytes, 8 + 8 + 1);
	assert_int_equal(d.cols[0].slot, 0);    /* var index */
	assert_int_equal(d.cols[3].slot, 1);
	assert_int_equal(d.cols[1].slot, 0);    /* fixed offset */
	assert_int_equal(d.cols[2].slot, 8);
	assert_int_equal(d.cols[4].slot, 16);
	assert_int_equal(tv_schema_find(&d.s, "note"), 3);
	assert_int_equal(tv_schema_find(&d.s, "nope"), -TV_ENOCOLUMN);
	assert_int_equal(tv_schema_find(&d.s, "Note"), -TV_ENOCOLUMN);
	/* Checks are optional. */
	d.s.nchecks = 0;
	d.s.checks = NULL;
	t_expect(&d, 0, -1);
}

static void test_schema_table_rules(void **state)
{
	char long_name[AEDB_NAME_MAX + 2];
	struct tv_column many[TV_COLUMNS_MAX + 1];
	struct t_def d;

	(void)state;
	assert_int_equal(tv_schema_check(NULL, NULL), -AEDB_EMISUSE);
	t_def_init(&d);
	d.s.name = "bad name";
	t_expect(&d, -AEDB_ENAME, -1);
	d.s.name = "";
	t_expect(&d, -AEDB_ENAME, -1);
	d.s.name = NULL;
	t_expect(&d, -AEDB_EMISUSE, -1);
	memset(long_name, 'x', sizeof(long_name));
	long_name[AEDB_NAME_MAX + 1] = '\0';
	d.s.name = long_name;
	t_expect(&d, -AEDB_ENAME, -1);
	long_name[AEDB_NAME_MAX] = '\0';
	t_expect(&d, 0, -1);
	d.s.name = TV_TABLE_KV_INDEX;
	t_expect(&d, -AEDB_ERESERVED, -1);
	t_def_init(&d);
	d.s.ncols = 0;
	t_expect(&d, -AEDB_EINVAL, -1);
	d.s.ncols = 5;
	d.s.cols = NULL;
	t_expect(&d, -AEDB_EMISUSE, -1);
	/* Column count limit. */
	t_def_init(&d);
	memset(many, 0, sizeof(many));
	d.s.cols = many;
	d.s.ncols = TV_COLUMNS_MAX + 1;
	t_expect(&d, -AEDB_ETOOBIG, -1);
}

static void test_schema_column_rules(void **state)
{
	struct t_def d;

	(void)state;
	t_def_init(&d);
	d.cols[2].name = "q.ty";
	t_expect(&d, -AEDB_ENAME, 2);
	t_def_init(&d);
	d.cols[3].name = "tenant";
	t_expect(&d, -TV_EDUPNAME, 3);
	t_def_init(&d);
	d.cols[4].type = TV_NULL;
	t_expect(&d, -AEDB_EINVAL, 4);
	d.cols[4].type = TV_TYPE_LAST + 1;
	t_expect(&d, -AEDB_EINVAL, 4);
	t_def_init(&d);
	d.cols[1].def = tv_integer(5);          /* no coercion, even for defaults */
	t_expect(&d, -AEDB_ETYPE, 1);
	t_def_init(&d);
	d.cols[3].def = tv_json("\xff", 1);
	t_expect(&d, -TV_EVALUE, 3);
}

static void test_schema_pk_and_check_rules(void **state)
{
	const char *pk[TV_PK_COLUMNS_MAX + 1];
	struct t_def d;

	(void)state;
	t_def_init(&d);
	d.s.npk = 0;
	t_expect(&d, -TV_ENOPK, -1);
	t_def_init(&d);
	d.pk[1] = "missing";
	t_expect(&d, -TV_ENOCOLUMN, 1);
	t_def_init(&d);
	d.pk[1] = "id";
	t_expect(&d, -TV_EDUPNAME, 1);
	t_def_init(&d);
	d.pk[1] = "note";                       /* nullable */
	t_expect(&d, -TV_EPKNULLABLE, 1);
	t_def_init(&d);
	d.pk[0] = NULL;
	t_expect(&d, -AEDB_EMISUSE, 0);
	t_def_init(&d);
	d.s.pk_names = NULL;
	t_expect(&d, -AEDB_EMISUSE, -1);
	t_def_init(&d);
	for (unsigned i = 0; i <= TV_PK_COLUMNS_MAX; i++)
		pk[i] = "id";
	d.s.pk_names = pk;
	d.s.npk = TV_PK_COLUMNS_MAX + 1;
	t_expect(&d, -AEDB_ETOOBIG, -1);
	/* Every type may be a key column, floats and json included. */
	t_def_init(&d);
	d.cols[3].nullable = false;
	d.pk[1] = "note";
	t_expect(&d, 0, -1);

	t_def_init(&d);
	d.checks[1].name = "qty_pos";
	t_expect(&d, -TV_EDUPNAME, 1);
	t_def_init(&d);
	d.checks[0].name = "";
	t_expect(&d, -AEDB_ENAME, 0);
	t_def_init(&d);
	d.checks[1].expr = NULL;
	t_expect(&d, -AEDB_EINVAL, 1);
	t_def_init(&d);
	d.s.nchecks = TV_CHECKS_MAX + 1;
	t_expect(&d, -AEDB_ETOOBIG, -1);
	t_def_init(&d);
	d.s.checks = NULL;
	t_expect(&d, -AEDB_EMISUSE, -1);
}

static void test_schema_row_check(void **state)
{
	struct tv_value v[5];
	int32_t col;
	struct t_def d;

	(void)state;
	t_def_init(&d);
	t_expect(&d, 0, -1);
#define ROW(a, b, c, e, f) do { v[0] = a; v[1] = b; v[2] = c; v[3] = e; v[4] = f; } while (0)
	ROW(tv_text("acme", 4), tv_u64(1), tv_integer(3), tv_json("{}", 2), tv_boolean(false));
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, &col), 0);
	assert_int_equal(col, -1);
	assert_int_equal(tv_schema_row_check(&d.s, v, 4, &col), -TV_ECOUNT);
	assert_int_equal(col, -1);
	/* Defaults fill NULLs, also in NOT NULL columns; nullable without a
	 * default stays NULL. */
	ROW(tv_text("acme", 4), tv_u64(1), tv_null(), tv_null(), tv_null());
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, &col), 0);
	assert_true(v[2].type == TV_INTEGER && v[2].u.i64 == 1);
	assert_int_equal(v[3].type, TV_NULL);
	assert_true(v[4].type == TV_BOOLEAN && v[4].u.b);
	/* Errors name the first bad column. */
	ROW(tv_text("acme", 4), tv_integer(1), tv_null(), tv_null(), tv_null());
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, &col), -AEDB_ETYPE);
	assert_int_equal(col, 1);
	ROW(tv_null(), tv_u64(1), tv_null(), tv_null(), tv_null());
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, &col), -TV_ENULL);
	assert_int_equal(col, 0);
	ROW(tv_text("acme", 4), tv_u64(1), tv_null(), tv_text("{}", 2), tv_null());
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, &col), -AEDB_ETYPE);
	assert_int_equal(col, 3);
	ROW(tv_text("ac\xc3", 3), tv_u64(1), tv_null(), tv_null(), tv_null());
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, &col), -TV_EVALUE);
	assert_int_equal(col, 0);
	ROW(tv_text("acme", 4), tv_u64(1), tv_null(), tv_null(), tv_null());
	v[2].type = 12;
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, &col), -AEDB_ETYPE);
	assert_int_equal(col, 2);
#undef ROW
}

static void test_schema_row_named(void **state)
{
	struct tv_named in[4];
	struct tv_value out[5];
	int32_t col;
	struct t_def d;

	(void)state;
	t_def_init(&d);
	t_expect(&d, 0, -1);
	in[0] = (struct tv_named){ "id", tv_u64(9) };
	in[1] = (struct tv_named){ "tenant", tv_text("x", 1) };
	assert_int_equal(tv_schema_row_named(&d.s, in, 2, out, &col), 0);
	assert_true(out[1].type == TV_U64 && out[1].u.u64 == 9);
	assert_true(out[2].type == TV_INTEGER && out[2].u.i64 == 1);    /* default */
	assert_int_equal(out[3].type, TV_NULL);
	assert_true(out[4].type == TV_BOOLEAN && out[4].u.b);
	in[2] = (struct tv_named){ "colour", tv_u64(9) };
	assert_int_equal(tv_schema_row_named(&d.s, in, 3, out, &col), -TV_ENOCOLUMN);
	assert_int_equal(col, 2);               /* position in the input */
	in[2] = (struct tv_named){ "id", tv_u64(10) };
	assert_int_equal(tv_schema_row_named(&d.s, in, 3, out, &col), -TV_EDUPNAME);
	assert_int_equal(col, 2);
	in[2] = (struct tv_named){ NULL, tv_u64(10) };
	assert_int_equal(tv_schema_row_named(&d.s, in, 3, out, &col), -AEDB_EMISUSE);
	/* Leaving out a NOT NULL column without a default. */
	assert_int_equal(tv_schema_row_named(&d.s, in, 1, out, &col), -TV_ENULL);
	assert_int_equal(col, 0);               /* the column index */
	in[1] = (struct tv_named){ "tenant", tv_blob("x", 1) };
	assert_int_equal(tv_schema_row_named(&d.s, in, 2, out, &col), -AEDB_ETYPE);
	assert_int_equal(col, 0);
}

static void test_schema_pk(void **state)
{
	struct tv_value v[5], key[2];
	uint8_t pk[64], want[64], row[256];
	size_t pk_len, want_len, row_len;
	struct t_def d;

	(void)state;
	t_def_init(&d);
	t_expect(&d, 0, -1);
	v[0] = tv_text("a\0c", 3);
	v[1] = tv_u64(42);
	v[2] = tv_integer(3);
	v[3] = tv_null();
	v[4] = tv_null();
	assert_int_equal(tv_schema_row_check(&d.s, v, 5, NULL), 0);
	key[0] = v[1];
	key[1] = v[0];
	assert_int_equal(tv_key_encode(key, 2, want, sizeof(want), &want_len), 0);
	assert_int_equal(tv_schema_pk_encode(&d.s, v, pk, sizeof(pk), &pk_len), 0);
	assert_int_equal(pk_len, want_len);
	assert_memory_equal(pk, want, pk_len);
	assert_int_equal(tv_schema_pk_encode(&d.s, v, pk, 4, &pk_len), -AEDB_ETOOBIG);
	assert_int_equal(pk_len, want_len);
	/* Straight from the stored row. */
	assert_int_equal(tv_row_encode(&d.s, v, row, sizeof(row), &row_len, NULL), 0);
	memset(pk, 0, sizeof(pk));
	assert_int_equal(tv_schema_pk_from_row(&d.s, row, row_len, pk, sizeof(pk), &pk_len), 0);
	assert_int_equal(pk_len, want_len);
	assert_memory_equal(pk, want, pk_len);
	assert_int_equal(tv_schema_pk_from_row(&d.s, row, 3, pk, sizeof(pk), &pk_len),
			 -AEDB_ECORRUPT);
	/* A NULL key column: unchecked values, or a damaged row. */
	v[1] = tv_null();
	assert_int_equal(tv_schema_pk_encode(&d.s, v, pk, sizeof(pk), &pk_len), -TV_ENULL);
	assert_int_equal(tv_row_encode(&d.s, v, row, sizeof(row), &row_len, NULL), 0);
	assert_int_equal(tv_schema_pk_from_row(&d.s, row, row_len, pk, sizeof(pk), &pk_len),
			 -AEDB_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_valid_layout),
		cmocka_unit_test(test_schema_table_rules),
		cmocka_unit_test(test_schema_column_rules),
		cmocka_unit_test(test_schema_pk_and_check_rules),
		cmocka_unit_test(test_schema_row_check),
		cmocka_unit_test(test_schema_row_named),
		cmocka_unit_test(test_schema_pk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
