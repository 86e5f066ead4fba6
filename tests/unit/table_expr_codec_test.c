/* SPDX-License-Identifier: MIT */
/* The catalog encoding of expressions (partial-index predicates) and of
 * index definitions: round trips over every operator and literal type,
 * damaged bytes (truncated, flipped) refused or decoded without overreads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "api/idef.h"
#include "table/expr.h"

static struct tv_value t_lit(uint8_t type, int k)
{
	static const uint8_t bytes[] = { 'a', 0, 'b', 0xff, 'c' };
	struct tv_value v;

	memset(&v, 0, sizeof(v));
	v.type = type;
	switch (type) {
	case TV_TEXT:
	case TV_JSON:
	case TV_BLOB:
		v.u.bytes = bytes;
		v.len = type == TV_BLOB ? sizeof(bytes) : (uint32_t)k % 2;
		break;
	case TV_U8:
		v.u.u8 = (uint8_t)(200 + k);
		break;
	case TV_BOOLEAN:
		v.u.b = k & 1;
		break;
	case TV_U256:
	case TV_I256:
		memset(v.u.w, 0x80 + k, sizeof(v.u.w));
		break;
	case TV_FLOAT:
		v.u.f64 = -1.5 * k;
		break;
	default:
		v.u.i64 = -1234567890123ll * (k + 1);
	}
	return v;
}

/* Every operator, every literal type (NULL included), nested. */
static struct tv_expr *t_big(void)
{
	struct tv_expr *e = tv_expr_is_null("n");
	struct tv_value in[TV_TYPE_LAST + 1];

	for (uint8_t t = 0; t <= TV_TYPE_LAST; t++) {
		in[t] = t_lit(t, t);
		e = tv_expr_and(e, tv_expr_cmp((enum tv_op)(TV_OP_EQ + t % 6), "c", t_lit(t, 1)));
	}
	e = tv_expr_or(e, tv_expr_in("c", in, TV_TYPE_LAST + 1));
	e = tv_expr_or(e, tv_expr_between("c", t_lit(TV_INTEGER, 1), t_lit(TV_FLOAT, 2)));
	e = tv_expr_and(e, tv_expr_not(tv_expr_not_null("x")));
	e = tv_expr_and(e, tv_expr_like("t", "a%b_", 4));
	e = tv_expr_and(e, tv_expr_prefix("t", "\0\xff", 2));
	return tv_expr_and(e, tv_expr_in("c", NULL, 0));
}

static uint8_t *t_encode(const struct tv_expr *e, size_t *len)
{
	uint8_t *buf;

	assert_int_equal(tv_expr_encode(e, NULL, 0, len), -AEDB_ETOOBIG);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(tv_expr_encode(e, buf, *len, len), 0);
	return buf;
}

static void test_expr_roundtrip(void **state)
{
	struct tv_expr *e = t_big(), *d = NULL;
	size_t len, len2;
	uint8_t *buf, *buf2;

	(void)state;
	assert_non_null(e);
	buf = t_encode(e, &len);
	assert_int_equal(tv_expr_decode(buf, len, &d), 0);
	assert_true(tv_expr_hash(d, 7) == tv_expr_hash(e, 7));
	buf2 = t_encode(d, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	/* a trailing byte, and every truncation, are damage */
	tv_expr_free(d);
	d = NULL;
	buf = realloc(buf, len + 1);
	assert_non_null(buf);
	buf[len] = 0;
	assert_int_equal(tv_expr_decode(buf, len + 1, &d), -AEDB_ECORRUPT);
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		assert_int_equal(tv_expr_decode(cut, n, &d), -AEDB_ECORRUPT);
		assert_null(d);
		free(cut);
	}
	/* flipped bytes: refused, or decoded into some expression (no overread:
	 * run under ASan) */
	for (size_t i = 0; i < len; i++) {
		uint8_t *bad = malloc(len);

		memcpy(bad, buf, len);
		bad[i] ^= (uint8_t)(1u << (i % 8));
		if (tv_expr_decode(bad, len, &d) == 0)
			tv_expr_free(d);
		else
			assert_null(d);
		d = NULL;
		free(bad);
	}
	free(buf);
	free(buf2);
	tv_expr_free(e);
}

static void test_expr_encode_errors(void **state)
{
	struct tv_expr *e = tv_expr_cmp(0, "c", t_lit(TV_U8, 1));
	size_t len = 0;

	(void)state;
	assert_int_equal(tv_expr_encode(e, NULL, 0, &len), -AEDB_EINVAL); /* bad operator */
	assert_int_equal(tv_expr_encode(NULL, NULL, 0, &len), -AEDB_EINVAL);
	tv_expr_free(e);
}

/* t(id u64, name text, age integer NULL) */
static struct tv_column t_cols[3];
static const char *t_pk[] = { "id" };
static struct tv_schema t_schema;

static void t_schema_init(void)
{
	memset(t_cols, 0, sizeof(t_cols));
	t_cols[0].name = "id";
	t_cols[0].type = TV_U64;
	t_cols[1].name = "name";
	t_cols[1].type = TV_TEXT;
	t_cols[2].name = "age";
	t_cols[2].type = TV_INTEGER;
	t_cols[2].nullable = true;
	memset(&t_schema, 0, sizeof(t_schema));
	t_schema.name = "t";
	t_schema.cols = t_cols;
	t_schema.ncols = 3;
	t_schema.pk_names = t_pk;
	t_schema.npk = 1;
	assert_int_equal(tv_schema_check(&t_schema, NULL), 0);
}

static void test_idef_roundtrip(void **state)
{
	static const char *const cols[] = { "age", "name" };
	struct tv_value ten = tv_integer(10);
	struct aedb_expr *p = (struct aedb_expr *)tv_expr_ge("age", ten);
	struct aedb_index_def def = { "by_age", cols, 2, AEDB_INDEX_UNIQUE, p };
	struct tv_value row[3] = { tv_u64(7), tv_text("bo", 2), tv_integer(12) };
	struct cat_idef *x = NULL;
	uint8_t *enc = NULL, key[256];
	size_t klen = 0;
	uint32_t len = 0;

	(void)state;
	t_schema_init();
	assert_int_equal(cat_idef_encode(&t_schema, &def, &enc, &len), 0);
	assert_int_equal(cat_idef_decode(&t_schema, enc, len, &x), 0);
	assert_string_equal(x->name, "by_age");
	assert_int_equal(x->ncols, 2);
	assert_int_equal(x->cols[0], 2);
	assert_int_equal(x->cols[1], 1);
	assert_true(x->unique);
	assert_non_null(x->bound);
	assert_int_equal(cat_idef_key(x, row, (const uint8_t *)"PK", 2, key, sizeof(key), &klen),
			 1);
	row[2] = tv_integer(9);   /* the predicate is false: no entry */
	assert_int_equal(cat_idef_key(x, row, (const uint8_t *)"PK", 2, key, sizeof(key), &klen),
			 0);
	row[2] = tv_integer(12);
	row[1] = tv_null();       /* NULL in a unique index: no entry */
	assert_int_equal(cat_idef_key(x, row, (const uint8_t *)"PK", 2, key, sizeof(key), &klen),
			 0);
	cat_idef_free(x);
	for (uint32_t n = 0; n < len; n++) {
		x = NULL;
		assert_int_equal(cat_idef_decode(&t_schema, enc, n, &x), -AEDB_ECORRUPT);
	}
	free(enc);
	/* bad definitions */
	def.partial = NULL;
	def.ncolumns = 0;
	assert_int_equal(cat_idef_encode(&t_schema, &def, &enc, &len), -AEDB_EINVAL);
	def.ncolumns = 1;
	def.columns = (const char *const[]){ "zzz" };
	assert_int_equal(cat_idef_encode(&t_schema, &def, &enc, &len), -AEDB_ENOCOLUMN);
	def.columns = cols;
	def.name = "no good";
	assert_int_equal(cat_idef_encode(&t_schema, &def, &enc, &len), -AEDB_ENAME);
	tv_expr_free((struct tv_expr *)p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expr_roundtrip),
		cmocka_unit_test(test_expr_encode_errors),
		cmocka_unit_test(test_idef_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
