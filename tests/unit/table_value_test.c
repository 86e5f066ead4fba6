/* SPDX-License-Identifier: MIT */
/* table/value: the total order, floats, i256, UTF-8, value checks, literal
 * conversion (fixed cases and a randomized exactness check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "aedb.h"
#include "table/value.h"
#include "table_gen.h"

static uint64_t t_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static void test_value_kind_rank(void **state)
{
	/* One value of each kind, in the reference's rank order. */
	uint8_t w[TV_U256_BYTES];
	struct tv_value v[12];

	(void)state;
	memset(w, 0, sizeof(w));
	v[0] = tv_null();
	v[1] = tv_boolean(true);
	v[2] = tv_u8(255);
	v[3] = tv_u64(0);
	v[4] = tv_integer(INT64_MIN);
	v[5] = tv_u256(w);
	v[6] = tv_i256(w);
	v[7] = tv_timestamp(-5);
	v[8] = tv_float(-INFINITY);
	v[9] = tv_text("zzz", 3);
	v[10] = tv_json("", 0);
	v[11] = tv_blob("", 0);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(tv_type_rank(v[i].type), i);
		for (int j = 0; j < 12; j++)
			assert_int_equal(tv_cmp(&v[i], &v[j]), (i > j) - (i < j));
	}
	/* Kinds differ even where values read alike. */
	v[0] = tv_integer(5);
	v[1] = tv_u64(5);
	assert_false(tv_equal(&v[0], &v[1]));
	v[0] = tv_text("{}", 2);
	v[1] = tv_json("{}", 2);
	assert_false(tv_equal(&v[0], &v[1]));
	assert_string_equal(tv_type_name(TV_I256), "i256");
	assert_string_equal(tv_type_name(99), "?");
	assert_int_equal(tv_type_fixed_bytes(TV_U256), 32);
	assert_int_equal(tv_type_fixed_bytes(TV_TEXT), 0);
}

static void test_value_floats(void **state)
{
	struct tv_value a, b;
	double order[] = { -INFINITY, -DBL_MAX, -1.0, -DBL_MIN, -4.9e-324, 0.0,
			   4.9e-324, DBL_MIN, 1.0, DBL_MAX, INFINITY, NAN };
	size_t n = sizeof(order) / sizeof(order[0]);

	(void)state;
	/* Canonical: -0.0 -> +0.0, every NaN -> one quiet NaN. */
	a = tv_float(-0.0);
	assert_int_equal(t_bits(a.u.f64), 0);
	a = tv_float(-NAN);
	assert_int_equal(t_bits(a.u.f64), TV_F64_NAN_BITS);
	memcpy(&a.u.f64, &(uint64_t){ 0x7ff0000000000001ull }, 8); /* raw signalling */
	b = tv_float(NAN);
	assert_int_equal(tv_cmp(&a, &b), 0);    /* cmp canonicalizes raw input too */
	a.u.f64 = -0.0;
	b = tv_float(0.0);
	assert_int_equal(tv_cmp(&a, &b), 0);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			a = tv_float(order[i]);
			b = tv_float(order[j]);
			assert_int_equal(tv_cmp(&a, &b), (i > j) - (i < j));
		}
}

static void test_value_wide(void **state)
{
	uint8_t w[TV_U256_BYTES];
	struct tv_value min, m1, zero, one, max, u;

	(void)state;
	memset(w, 0, sizeof(w));
	w[0] = 0x80;
	min = tv_i256(w);
	memset(w, 0xff, sizeof(w));
	m1 = tv_i256(w);
	w[0] = 0x7f;
	max = tv_i256(w);
	zero = tv_i256_from_i64(0);
	one = tv_i256_from_i64(1);
	assert_true(tv_cmp(&min, &m1) < 0);
	assert_true(tv_cmp(&m1, &zero) < 0);
	assert_true(tv_cmp(&zero, &one) < 0);
	assert_true(tv_cmp(&one, &max) < 0);
	u = tv_i256_from_i64(-1);
	assert_true(tv_equal(&u, &m1));
	u = tv_i256_from_i64(INT64_MIN);
	assert_true(tv_cmp(&min, &u) < 0 && tv_cmp(&u, &m1) < 0);
	assert_int_equal(u.u.w[23], 0xff);
	assert_int_equal(u.u.w[24], 0x80);
	/* u256 is unsigned: 0xff.. is the largest. */
	memset(w, 0xff, sizeof(w));
	u = tv_u256(w);
	one = tv_u256_from_u64(UINT64_MAX);
	assert_true(tv_cmp(&one, &u) < 0);
	assert_int_equal(one.u.w[23], 0);
	assert_int_equal(one.u.w[24], 0xff);
}

static void test_value_bytes_order(void **state)
{
	struct tv_value a = tv_text("", 0), b = tv_text("\0", 1), c = tv_text("a", 1),
			d = tv_text("a\0", 2), e = tv_text("ab", 2), f = tv_blob("\xff", 1);

	(void)state;
	assert_true(tv_cmp(&a, &b) < 0);
	assert_true(tv_cmp(&b, &c) < 0);
	assert_true(tv_cmp(&c, &d) < 0);
	assert_true(tv_cmp(&d, &e) < 0);
	f.type = TV_BLOB;
	b = tv_blob("\x01\x02", 2);
	assert_true(tv_cmp(&b, &f) < 0);        /* unsigned, lexicographic */
}

static void test_value_utf8_and_check(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		bool ok;
	} cases[] = {
		{ "", 0, true }, { "a\0b", 3, true }, { "\xc3\xa9", 2, true },
		{ "\xe2\x82\xac", 3, true }, { "\xf0\x9f\x98\x80", 4, true },
		{ "\xf4\x8f\xbf\xbf", 4, true }, { "\xed\x9f\xbf", 3, true },
		{ "\xc0\x80", 2, false },       /* overlong NUL */
		{ "\xc1\xbf", 2, false },
		{ "\xe0\x80\x80", 3, false },   /* overlong */
		{ "\xed\xa0\x80", 3, false },   /* surrogate */
		{ "\xf0\x80\x80\x80", 4, false },
		{ "\xf4\x90\x80\x80", 4, false }, /* past U+10FFFF */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\x80", 1, false }, { "\xc3", 1, false }, { "\xe2\x82", 2, false },
		{ "\xc3\x28", 2, false }, { "\xff", 1, false },
	};
	struct tv_value v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tv_utf8_valid((const uint8_t *)cases[i].s, cases[i].n),
				 cases[i].ok);
		v = tv_text(cases[i].s, (uint32_t)cases[i].n);
		assert_int_equal(tv_value_check(&v), cases[i].ok ? 0 : -TV_EVALUE);
		v.type = TV_JSON;
		assert_int_equal(tv_value_check(&v), cases[i].ok ? 0 : -TV_EVALUE);
		v.type = TV_BLOB;
		assert_int_equal(tv_value_check(&v), 0);
	}
	v = tv_integer(1);
	v.type = 12;
	assert_int_equal(tv_value_check(&v), -AEDB_EINVAL);
	v = tv_integer(1);
	v.len = 3;              /* a length on a fixed kind */
	assert_int_equal(tv_value_check(&v), -AEDB_EINVAL);
	v = tv_blob(NULL, 2);
	assert_int_equal(tv_value_check(&v), -AEDB_EINVAL);
	v = tv_blob(NULL, 0);
	assert_int_equal(tv_value_check(&v), 0);
}

struct t_conv_case {
	struct tv_value lit;
	unsigned col;
	int rc;
	enum tv_conv how;
	struct tv_value out;
};

static void t_run_conv(const struct t_conv_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tv_value out = tv_null();
		enum tv_conv how = TV_CONV_EXACT;
		int rc = tv_convert(&cases[i].lit, cases[i].col, &out, &how);

		if (rc != cases[i].rc || (rc == 0 && (how != cases[i].how ||
						      !tv_equal(&out, &cases[i].out)))) {
			print_error("case %zu: rc %d how %d\n", i, rc, (int)how);
			fail();
		}
	}
}

/* Integer columns: u64 (u8/u64/integer only), integer, timestamp, u8. */
static void test_value_convert_integers(void **state)
{
	const struct t_conv_case cases[] = {
		{ tv_integer(5), TV_U64, 0, TV_CONV_EXACT, tv_u64(5) },
		{ tv_integer(-1), TV_U64, 0, TV_CONV_BELOW, tv_u64(0) },
		{ tv_u8(7), TV_U64, 0, TV_CONV_EXACT, tv_u64(7) },
		{ tv_float(5.0), TV_U64, -AEDB_ETYPE, 0, tv_null() },
		{ tv_timestamp(5), TV_U64, -AEDB_ETYPE, 0, tv_null() },
		{ tv_u64(UINT64_MAX), TV_INTEGER, 0, TV_CONV_ABOVE, tv_integer(INT64_MAX) },
		{ tv_u64(5), TV_INTEGER, 0, TV_CONV_EXACT, tv_integer(5) },
		{ tv_float(5.5), TV_INTEGER, 0, TV_CONV_BETWEEN, tv_integer(5) },
		{ tv_float(-5.5), TV_INTEGER, 0, TV_CONV_BETWEEN, tv_integer(-6) },
		{ tv_float(-6.0), TV_INTEGER, 0, TV_CONV_EXACT, tv_integer(-6) },
		{ tv_float(1e19), TV_INTEGER, 0, TV_CONV_ABOVE, tv_integer(INT64_MAX) },
		{ tv_float(-1e19), TV_INTEGER, 0, TV_CONV_BELOW, tv_integer(INT64_MIN) },
		{ tv_float(-9223372036854775808.0), TV_INTEGER, 0, TV_CONV_EXACT,
		  tv_integer(INT64_MIN) },
		{ tv_float(NAN), TV_INTEGER, 0, TV_CONV_ABOVE, tv_integer(INT64_MAX) },
		{ tv_float(-INFINITY), TV_INTEGER, 0, TV_CONV_BELOW, tv_integer(INT64_MIN) },
		{ tv_timestamp(9), TV_INTEGER, 0, TV_CONV_EXACT, tv_integer(9) },
		{ tv_integer(9), TV_TIMESTAMP, 0, TV_CONV_EXACT, tv_timestamp(9) },
		{ tv_float(1.5), TV_TIMESTAMP, 0, TV_CONV_BETWEEN, tv_timestamp(1) },
		{ tv_text("2024", 4), TV_TIMESTAMP, -AEDB_ETYPE, 0, tv_null() },
		{ tv_integer(300), TV_U8, 0, TV_CONV_ABOVE, tv_u8(255) },
		{ tv_integer(-3), TV_U8, 0, TV_CONV_BELOW, tv_u8(0) },
		{ tv_float(255.5), TV_U8, 0, TV_CONV_ABOVE, tv_u8(255) },
		{ tv_float(254.5), TV_U8, 0, TV_CONV_BETWEEN, tv_u8(254) },
		{ tv_float(-0.5), TV_U8, 0, TV_CONV_BELOW, tv_u8(0) },
		{ tv_float(-0.0), TV_U8, 0, TV_CONV_EXACT, tv_u8(0) },
		{ tv_u64(255), TV_U8, 0, TV_CONV_EXACT, tv_u8(255) },
	};

	(void)state;
	t_run_conv(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Float, wide and non-numeric columns, NULL literals, bad column types. */
static void test_value_convert_others(void **state)
{
	double big = 9007199254740992.0;        /* 2^53 */
	const struct t_conv_case cases[] = {
		{ tv_integer(3), TV_FLOAT, 0, TV_CONV_EXACT, tv_float(3.0) },
		{ tv_integer(9007199254740993), TV_FLOAT, 0, TV_CONV_BETWEEN, tv_float(big) },
		{ tv_integer(INT64_MAX), TV_FLOAT, 0, TV_CONV_BETWEEN,
		  tv_float(9223372036854774784.0) },
		{ tv_u64(UINT64_MAX), TV_FLOAT, 0, TV_CONV_BETWEEN,
		  tv_float(18446744073709549568.0) },
		{ tv_integer(INT64_MIN), TV_FLOAT, 0, TV_CONV_EXACT,
		  tv_float(-9223372036854775808.0) },
		{ tv_integer(-9007199254740993), TV_FLOAT, 0, TV_CONV_BETWEEN,
		  tv_float(-9007199254740994.0) },
		{ tv_float(-0.0), TV_FLOAT, 0, TV_CONV_EXACT, tv_float(0.0) },
		{ tv_integer(-3), TV_I256, 0, TV_CONV_EXACT, tv_i256_from_i64(-3) },
		{ tv_integer(-3), TV_U256, 0, TV_CONV_BELOW, tv_u256_from_u64(0) },
		{ tv_u64(UINT64_MAX), TV_U256, 0, TV_CONV_EXACT, tv_u256_from_u64(UINT64_MAX) },
		{ tv_u8(2), TV_I256, 0, TV_CONV_EXACT, tv_i256_from_i64(2) },
		{ tv_float(1.0), TV_U256, -AEDB_ETYPE, 0, tv_null() },
		{ tv_timestamp(1), TV_I256, -AEDB_ETYPE, 0, tv_null() },
		{ tv_text("x", 1), TV_JSON, 0, TV_CONV_EXACT, tv_json("x", 1) },
		{ tv_json("x", 1), TV_TEXT, -AEDB_ETYPE, 0, tv_null() },
		{ tv_blob("x", 1), TV_TEXT, -AEDB_ETYPE, 0, tv_null() },
		{ tv_text("x", 1), TV_BLOB, -AEDB_ETYPE, 0, tv_null() },
		{ tv_boolean(true), TV_INTEGER, -AEDB_ETYPE, 0, tv_null() },
		{ tv_integer(1), TV_BOOLEAN, -AEDB_ETYPE, 0, tv_null() },
		{ tv_boolean(true), TV_BOOLEAN, 0, TV_CONV_EXACT, tv_boolean(true) },
		{ tv_null(), TV_U64, 0, TV_CONV_EXACT, tv_null() },
		{ tv_null(), TV_BLOB, 0, TV_CONV_EXACT, tv_null() },
		{ tv_integer(1), TV_NULL, -AEDB_EINVAL, 0, tv_null() },
		{ tv_integer(1), 12, -AEDB_EINVAL, 0, tv_null() },
	};

	(void)state;
	t_run_conv(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Randomized: a numeric literal converted to a numeric column lies exactly
 * where *how says. long double (64-bit mantissa on x86) holds every i64,
 * u64 and double exactly, so it is the referee. */
static long double t_num(const struct tv_value *v)
{
	switch (v->type) {
	case TV_U8:
		return v->u.u8;
	case TV_U64:
		return v->u.u64;
	case TV_FLOAT:
		return v->u.f64;
	default:
		return v->u.i64;
	}
}

static long double t_next(const struct tv_value *v)
{
	uint64_t b;
	double d;

	if (v->type != TV_FLOAT)
		return t_num(v) + 1;
	b = t_bits(v->u.f64);
	b = (b >> 63) ? (b == 0x8000000000000000ull ? 1 : b - 1) : b + 1;
	memcpy(&d, &b, sizeof(d));
	return d;
}

static void test_value_convert_random(void **state)
{
	static const unsigned kinds[] = { TV_U8, TV_U64, TV_INTEGER, TV_TIMESTAMP, TV_FLOAT };
	uint64_t seed = t_seed("value_convert_random");
	struct tg g;

	(void)state;
	if (LDBL_MANT_DIG < 64)
		skip();
	tg_init(&g, seed, 1024);
	for (int i = 0; i < 200000; i++) {
		struct tv_value lit = tg_value(&g, kinds[tg_below(&g, 5)]), out;
		unsigned col = kinds[tg_below(&g, 5)];
		enum tv_conv how;
		int rc = tv_convert(&lit, col, &out, &how);
		long double l = t_num(&lit), o;

		if (rc) {
			assert_int_equal(rc, -AEDB_ETYPE);
			assert_true(col == TV_U64 && (lit.type == TV_FLOAT ||
						      lit.type == TV_TIMESTAMP));
			continue;
		}
		assert_int_equal(out.type, col);
		o = t_num(&out);
		if (lit.type == TV_FLOAT && isnan(lit.u.f64)) {
			assert_int_equal(how, col == TV_FLOAT ? TV_CONV_EXACT : TV_CONV_ABOVE);
			continue;
		}
		if (col == TV_FLOAT && isnan(out.u.f64))
			fail();
		switch (how) {
		case TV_CONV_EXACT:
			assert_true(o == l);
			break;
		case TV_CONV_BETWEEN:
			assert_true(o < l && l < t_next(&out));
			break;
		case TV_CONV_BELOW:
			assert_true(l < o);
			break;
		default:
			assert_true(l > o);
			break;
		}
	}
	tg_free(&g);
}

static void test_value_error_public(void **state)
{
	(void)state;
	assert_int_equal(tv_error_public(-AEDB_ETYPE), -AEDB_ETYPE);
	assert_int_equal(tv_error_public(-TV_ENULL), -AEDB_EINVAL);
	assert_int_equal(tv_error_public(-TV_ECOUNT), -AEDB_EINVAL);
	assert_int_equal(tv_error_public(-AEDB_ENAME), -AEDB_ENAME);
	assert_int_equal(tv_error_public(0), 0);
	assert_true((int)TV_ERRNO_BASE > (int)AEDB_ERRNO_LAST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_kind_rank),
		cmocka_unit_test(test_value_floats),
		cmocka_unit_test(test_value_wide),
		cmocka_unit_test(test_value_bytes_order),
		cmocka_unit_test(test_value_utf8_and_check),
		cmocka_unit_test(test_value_convert_integers),
		cmocka_unit_test(test_value_convert_others),
		cmocka_unit_test(test_value_convert_random),
		cmocka_unit_test(test_value_error_public),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
