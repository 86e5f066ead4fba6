/* SPDX-License-Identifier: MIT */
/* table/expr: every operator on every relevant type, two-valued NULL logic,
 * literal conversion into ranges, LIKE, binding errors and limits, the
 * implication test used for partial indexes, hashing and copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "table/expr.h"

/* Columns: i integer, u u64, f float, t text, b blob, j json, o boolean,
 * w u256, s i256, ts timestamp, small u8. */
static const char *const t_names[] = { "i", "u", "f", "t", "b", "j", "o", "w", "s", "ts",
				       "small" };
static const uint8_t t_types[] = { TV_INTEGER, TV_U64, TV_FLOAT, TV_TEXT, TV_BLOB, TV_JSON,
				   TV_BOOLEAN, TV_U256, TV_I256, TV_TIMESTAMP, TV_U8 };
static const struct tv_colset t_cs = { .names = t_names, .types = t_types, .n = 11 };

enum { C_I, C_U, C_F, C_T, C_B, C_J, C_O, C_W, C_S, C_TS, C_SMALL, C_N };

static struct tv_value t_row[C_N];

static void t_row_reset(void)
{
	for (int i = 0; i < C_N; i++)
		t_row[i] = tv_null();
}

/* Bind @e (freed here) and evaluate it on t_row; asserts a clean bind. */
static bool t_eval(struct tv_expr *e)
{
	struct tv_arena a;
	const struct tv_bexpr *b;
	struct tv_qerr err = { 0 };
	bool r;

	assert_non_null(e);
	tv_arena_init(&a);
	assert_int_equal(tv_expr_bind(e, &t_cs, &a, &b, &err), 0);
	r = tv_bexpr_eval(b, t_row);
	tv_arena_free(&a);
	tv_expr_free(e);
	return r;
}

/* The bind error of @e (freed here), with its message checked non-empty. */
static int t_bind_err(struct tv_expr *e)
{
	struct tv_arena a;
	const struct tv_bexpr *b;
	struct tv_qerr err = { 0 };
	int rc;

	tv_arena_init(&a);
	rc = tv_expr_bind(e, &t_cs, &a, &b, &err);
	if (rc)
		assert_true(strlen(err.msg) > 0);
	tv_arena_free(&a);
	tv_expr_free(e);
	return rc;
}

static void test_expr_compare_integer(void **state)
{
	(void)state;
	t_row_reset();
	t_row[C_I] = tv_integer(5);
	assert_true(t_eval(tv_expr_eq("i", tv_integer(5))));
	assert_false(t_eval(tv_expr_eq("i", tv_integer(4))));
	assert_true(t_eval(tv_expr_ne("i", tv_integer(4))));
	assert_false(t_eval(tv_expr_ne("i", tv_integer(5))));
	assert_true(t_eval(tv_expr_lt("i", tv_integer(6))));
	assert_false(t_eval(tv_expr_lt("i", tv_integer(5))));
	assert_true(t_eval(tv_expr_le("i", tv_integer(5))));
	assert_false(t_eval(tv_expr_le("i", tv_integer(4))));
	assert_true(t_eval(tv_expr_gt("i", tv_integer(4))));
	assert_false(t_eval(tv_expr_gt("i", tv_integer(5))));
	assert_true(t_eval(tv_expr_ge("i", tv_integer(5))));
	assert_false(t_eval(tv_expr_ge("i", tv_integer(6))));
	assert_true(t_eval(tv_expr_between("i", tv_integer(5), tv_integer(5))));
	assert_true(t_eval(tv_expr_between("i", tv_integer(-3), tv_integer(9))));
	assert_false(t_eval(tv_expr_between("i", tv_integer(6), tv_integer(9))));
	assert_false(t_eval(tv_expr_between("i", tv_integer(9), tv_integer(1))));
}

/* Cross-kind literals compare by value (reference §1.3), through the
 * conversion's BETWEEN / BELOW / ABOVE answers. */
static void test_expr_compare_cross_kind(void **state)
{
	(void)state;
	t_row_reset();
	t_row[C_I] = tv_integer(5);
	assert_true(t_eval(tv_expr_eq("i", tv_u64(5))));
	assert_true(t_eval(tv_expr_eq("i", tv_float(5.0))));
	assert_false(t_eval(tv_expr_eq("i", tv_float(5.5))));
	assert_true(t_eval(tv_expr_ne("i", tv_float(5.5))));
	assert_true(t_eval(tv_expr_lt("i", tv_float(5.5))));
	assert_true(t_eval(tv_expr_le("i", tv_float(5.5))));
	assert_false(t_eval(tv_expr_gt("i", tv_float(5.5))));
	assert_false(t_eval(tv_expr_ge("i", tv_float(5.5))));
	assert_true(t_eval(tv_expr_gt("i", tv_float(4.5))));
	assert_true(t_eval(tv_expr_ge("i", tv_float(4.5))));
	assert_false(t_eval(tv_expr_lt("i", tv_float(4.5))));
	/* Above every integer: u64 max; below: -inf. */
	assert_true(t_eval(tv_expr_lt("i", tv_u64(UINT64_MAX))));
	assert_false(t_eval(tv_expr_gt("i", tv_u64(UINT64_MAX))));
	assert_false(t_eval(tv_expr_eq("i", tv_u64(UINT64_MAX))));
	assert_true(t_eval(tv_expr_gt("i", tv_float(-1.0 / 0.0))));
	assert_false(t_eval(tv_expr_le("i", tv_float(-1.0 / 0.0))));
	assert_true(t_eval(tv_expr_between("i", tv_float(4.5), tv_float(5.5))));
	assert_false(t_eval(tv_expr_between("i", tv_float(5.1), tv_float(5.9))));
	/* u64 column, negative integer literal: below every value. */
	t_row[C_U] = tv_u64(0);
	assert_true(t_eval(tv_expr_gt("u", tv_integer(-1))));
	assert_false(t_eval(tv_expr_eq("u", tv_integer(-1))));
	assert_true(t_eval(tv_expr_ne("u", tv_integer(-1))));
	/* u8 column with a literal over 255. */
	t_row[C_SMALL] = tv_u8(255);
	assert_true(t_eval(tv_expr_lt("small", tv_integer(256))));
	assert_false(t_eval(tv_expr_ge("small", tv_integer(256))));
	/* float column with integer literals. */
	t_row[C_F] = tv_float(2.5);
	assert_true(t_eval(tv_expr_gt("f", tv_integer(2))));
	assert_true(t_eval(tv_expr_lt("f", tv_u8(3))));
	/* u256 / i256 columns take integer literals. */
	t_row[C_W] = tv_u256_from_u64(7);
	t_row[C_S] = tv_i256_from_i64(-7);
	assert_true(t_eval(tv_expr_eq("w", tv_integer(7))));
	assert_true(t_eval(tv_expr_gt("w", tv_integer(-1))));
	assert_true(t_eval(tv_expr_lt("s", tv_integer(-6))));
	assert_true(t_eval(tv_expr_eq("s", tv_integer(-7))));
	/* Timestamps and integers interconvert. */
	t_row[C_TS] = tv_timestamp(1000);
	assert_true(t_eval(tv_expr_eq("ts", tv_integer(1000))));
	/* json column takes a text literal. */
	t_row[C_J] = tv_json("{}", 2);
	assert_true(t_eval(tv_expr_eq("j", tv_text("{}", 2))));
}

static void test_expr_compare_other_types(void **state)
{
	(void)state;
	t_row_reset();
	t_row[C_T] = tv_text("abc", 3);
	t_row[C_B] = tv_blob("\x00\x01", 2);
	t_row[C_O] = tv_boolean(true);
	assert_true(t_eval(tv_expr_eq("t", tv_text("abc", 3))));
	assert_true(t_eval(tv_expr_lt("t", tv_text("abd", 3))));
	assert_true(t_eval(tv_expr_gt("t", tv_text("ab", 2))));
	assert_true(t_eval(tv_expr_eq("b", tv_blob("\x00\x01", 2))));
	assert_true(t_eval(tv_expr_gt("b", tv_blob("\x00", 1))));
	assert_true(t_eval(tv_expr_eq("o", tv_boolean(true))));
	assert_true(t_eval(tv_expr_gt("o", tv_boolean(false))));
	/* Floats: NaN is one value above +inf; -0.0 equals 0.0. */
	t_row[C_F] = tv_float(0.0 / 0.0);
	assert_true(t_eval(tv_expr_eq("f", tv_float(0.0 / 0.0))));
	assert_true(t_eval(tv_expr_gt("f", tv_float(1.0 / 0.0))));
	t_row[C_F] = tv_float(0.0);
	assert_true(t_eval(tv_expr_eq("f", tv_float(-0.0))));
}

/* Two-valued logic: a comparison on NULL is false; NOT negates. */
static void test_expr_null_semantics(void **state)
{
	struct tv_value in[3] = { tv_integer(1), tv_null(), tv_integer(3) };

	(void)state;
	t_row_reset();
	assert_false(t_eval(tv_expr_eq("i", tv_integer(5))));
	assert_false(t_eval(tv_expr_ne("i", tv_integer(5))));
	assert_false(t_eval(tv_expr_lt("i", tv_integer(5))));
	assert_false(t_eval(tv_expr_ge("i", tv_integer(5))));
	assert_false(t_eval(tv_expr_between("i", tv_integer(0), tv_integer(9))));
	assert_false(t_eval(tv_expr_in("i", in, 3)));
	assert_false(t_eval(tv_expr_like("t", "%", 1)));
	assert_false(t_eval(tv_expr_prefix("t", "", 0)));
	assert_true(t_eval(tv_expr_is_null("i")));
	assert_false(t_eval(tv_expr_not_null("i")));
	assert_true(t_eval(tv_expr_not(tv_expr_eq("i", tv_integer(5)))));
	assert_true(t_eval(tv_expr_not(tv_expr_ne("i", tv_integer(5)))));
	/* NULL literals: comparisons are false, even on a NULL value; NULL
	 * elements of IN are ignored. */
	assert_false(t_eval(tv_expr_eq("i", tv_null())));
	assert_false(t_eval(tv_expr_ne("i", tv_null())));
	assert_false(t_eval(tv_expr_between("i", tv_null(), tv_integer(3))));
	t_row[C_I] = tv_integer(3);
	assert_false(t_eval(tv_expr_eq("i", tv_null())));
	assert_false(t_eval(tv_expr_ne("i", tv_null())));
	assert_false(t_eval(tv_expr_lt("i", tv_null())));
	assert_true(t_eval(tv_expr_in("i", in, 3)));
	assert_false(t_eval(tv_expr_in("i", in + 1, 1)));
}

static void test_expr_in(void **state)
{
	struct tv_value in[5] = { tv_integer(9), tv_float(2.5), tv_u64(4), tv_integer(4),
				  tv_integer(-1) };

	(void)state;
	t_row_reset();
	for (int v = -2; v <= 10; v++) {
		t_row[C_I] = tv_integer(v);
		assert_int_equal(t_eval(tv_expr_in("i", in, 5)), v == 9 || v == 4 || v == -1);
	}
	assert_false(t_eval(tv_expr_in("i", NULL, 0)));
	t_row[C_T] = tv_text("b", 1);
	{
		struct tv_value ts[2] = { tv_text("a", 1), tv_text("b", 1) };

		assert_true(t_eval(tv_expr_in("t", ts, 2)));
	}
}

static void test_expr_like(void **state)
{
	static const struct {
		const char *s, *p;
		bool m;
	} cases[] = {
		{ "abc", "abc", true }, { "abc", "ab", false }, { "abc", "a%", true },
		{ "abc", "%c", true }, { "abc", "%b%", true }, { "abc", "a_c", true },
		{ "abc", "a__", true }, { "abc", "a_", false }, { "abc", "%", true },
		{ "", "%", true }, { "", "_", false }, { "", "", true }, { "abc", "%%%", true },
		{ "aXbXc", "a%b%c", true }, { "abcabd", "%abd", true }, { "abcab", "%abd", false },
		{ "mississippi", "%iss%ppi", true }, { "mississippi", "m%s_s%i", true },
		{ "ABC", "abc", false }, { "a%c", "a%c", true }, { "h\xc3\xa9llo", "h_llo", true },
		{ "h\xc3\xa9llo", "h__llo", false }, { "\xf0\x9f\x98\x80", "_", true },
		{ "x\xf0\x9f\x98\x80y", "%_y", true }, { "ab", "a%b%", true },
		{ "aaa", "a%a%a%a", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s, *p = cases[i].p;

		assert_int_equal(tv_like_match((const uint8_t *)s, strlen(s), (const uint8_t *)p,
					       strlen(p)), cases[i].m);
		t_row_reset();
		t_row[C_T] = tv_text(s, (uint32_t)strlen(s));
		assert_int_equal(t_eval(tv_expr_like("t", p, strlen(p))), cases[i].m);
	}
	/* LIKE only on text columns; json is not text. */
	assert_int_equal(t_bind_err(tv_expr_like("j", "a%", 2)), -AEDB_ETYPE);
	assert_int_equal(t_bind_err(tv_expr_like("i", "a%", 2)), -AEDB_ETYPE);
	assert_int_equal(t_bind_err(tv_expr_like("t", "\xff%", 2)), -TV_EVALUE);
}

static void test_expr_prefix(void **state)
{
	(void)state;
	t_row_reset();
	t_row[C_T] = tv_text("user:12", 7);
	t_row[C_B] = tv_blob("\x00\xff\x01", 3);
	t_row[C_J] = tv_json("{\"a\":1}", 7);
	assert_true(t_eval(tv_expr_prefix("t", "user:", 5)));
	assert_true(t_eval(tv_expr_prefix("t", "user:12", 7)));
	assert_false(t_eval(tv_expr_prefix("t", "user:123", 8)));
	assert_false(t_eval(tv_expr_prefix("t", "usr", 3)));
	assert_true(t_eval(tv_expr_prefix("t", "", 0)));
	assert_true(t_eval(tv_expr_prefix("b", "\x00\xff", 2)));
	assert_false(t_eval(tv_expr_prefix("b", "\x00\x00", 2)));
	assert_true(t_eval(tv_expr_prefix("j", "{", 1)));
	/* "_" and "%" are plain bytes for prefix. */
	t_row[C_T] = tv_text("a_%", 3);
	assert_true(t_eval(tv_expr_prefix("t", "a_%", 3)));
	assert_false(t_eval(tv_expr_prefix("t", "ab", 2)));
	assert_int_equal(t_bind_err(tv_expr_prefix("i", "a", 1)), -AEDB_ETYPE);
}

static void test_expr_boolean(void **state)
{
	(void)state;
	t_row_reset();
	t_row[C_I] = tv_integer(1);
	t_row[C_T] = tv_text("x", 1);
	assert_true(t_eval(tv_expr_and(tv_expr_eq("i", tv_integer(1)),
				       tv_expr_eq("t", tv_text("x", 1)))));
	assert_false(t_eval(tv_expr_and(tv_expr_eq("i", tv_integer(1)),
					tv_expr_eq("t", tv_text("y", 1)))));
	assert_true(t_eval(tv_expr_or(tv_expr_eq("i", tv_integer(2)),
				      tv_expr_eq("t", tv_text("x", 1)))));
	assert_false(t_eval(tv_expr_or(tv_expr_eq("i", tv_integer(2)),
				       tv_expr_eq("t", tv_text("y", 1)))));
	assert_true(t_eval(tv_expr_not(tv_expr_or(tv_expr_eq("i", tv_integer(2)),
						  tv_expr_is_null("t")))));
	/* Constant folding keeps meaning: x OR FALSE = x. */
	assert_true(t_eval(tv_expr_or(tv_expr_eq("i", tv_float(1.5)),
				      tv_expr_eq("i", tv_integer(1)))));
	assert_false(t_eval(tv_expr_and(tv_expr_eq("i", tv_float(1.5)),
					tv_expr_eq("i", tv_integer(1)))));
	assert_true(t_eval(tv_expr_not(tv_expr_eq("i", tv_float(1.5)))));
}

static void test_expr_bind_errors(void **state)
{
	struct tv_expr *deep = tv_expr_eq("i", tv_integer(1));
	struct tv_value *big;

	(void)state;
	assert_int_equal(t_bind_err(tv_expr_eq("nope", tv_integer(1))), -TV_ENOCOLUMN);
	assert_int_equal(t_bind_err(tv_expr_eq(NULL, tv_integer(1))), -AEDB_EMISUSE);
	assert_int_equal(t_bind_err(tv_expr_eq("i", tv_text("1", 1))), -AEDB_ETYPE);
	assert_int_equal(t_bind_err(tv_expr_eq("u", tv_float(1.0))), -AEDB_ETYPE);
	assert_int_equal(t_bind_err(tv_expr_eq("t", tv_integer(1))), -AEDB_ETYPE);
	assert_int_equal(t_bind_err(tv_expr_eq("t", tv_json("1", 1))), -AEDB_ETYPE);
	assert_int_equal(t_bind_err(tv_expr_eq("o", tv_integer(1))), -AEDB_ETYPE);
	assert_int_equal(t_bind_err(tv_expr_eq("t", tv_text("\xc3", 1))), -TV_EVALUE);
	assert_int_equal(t_bind_err(tv_expr_cmp(TV_OP_IN, "i", tv_integer(1))), -AEDB_EINVAL);
	/* An IN with one bad literal fails as a whole. */
	{
		struct tv_value in[2] = { tv_integer(1), tv_text("x", 1) };

		assert_int_equal(t_bind_err(tv_expr_in("i", in, 2)), -AEDB_ETYPE);
	}
	/* Limits. */
	for (unsigned i = 0; i <= TV_EXPR_DEPTH_MAX; i++)
		deep = tv_expr_not(deep);
	assert_int_equal(t_bind_err(deep), -AEDB_EINVAL);
	deep = tv_expr_eq("i", tv_integer(1));
	for (unsigned i = 0; i < TV_EXPR_DEPTH_MAX; i++)
		deep = tv_expr_not(deep);
	assert_int_equal(t_bind_err(deep), 0);
	big = calloc(TV_EXPR_IN_MAX + 1, sizeof(*big));
	assert_non_null(big);
	for (unsigned i = 0; i <= TV_EXPR_IN_MAX; i++)
		big[i] = tv_integer(i);
	assert_int_equal(t_bind_err(tv_expr_in("i", big, TV_EXPR_IN_MAX + 1)), -AEDB_ETOOBIG);
	assert_int_equal(t_bind_err(tv_expr_in("i", big, TV_EXPR_IN_MAX)), 0);
	free(big);
	{
		char pat[TV_EXPR_PATTERN_MAX + 2];

		memset(pat, 'a', sizeof(pat));
		assert_int_equal(t_bind_err(tv_expr_like("t", pat, TV_EXPR_PATTERN_MAX + 1)),
				 -AEDB_ETOOBIG);
		assert_int_equal(t_bind_err(tv_expr_prefix("t", pat, TV_EXPR_PATTERN_MAX + 1)),
				 -AEDB_ETOOBIG);
		assert_int_equal(t_bind_err(tv_expr_like("t", pat, TV_EXPR_PATTERN_MAX)), 0);
	}
	/* NULL operands propagate as allocation failures. */
	assert_null(tv_expr_and(NULL, tv_expr_eq("i", tv_integer(1))));
	assert_null(tv_expr_or(tv_expr_eq("i", tv_integer(1)), NULL));
	assert_null(tv_expr_not(NULL));
	assert_null(tv_expr_copy(NULL));
}

/* Comparisons become ranges in the column's type. */
static void test_expr_normalised_ranges(void **state)
{
	struct tv_arena a;
	const struct tv_bexpr *b;
	struct tv_expr *e;

	(void)state;
	tv_arena_init(&a);
	e = tv_expr_lt("i", tv_float(5.5));
	assert_int_equal(tv_expr_bind(e, &t_cs, &a, &b, NULL), 0);
	assert_int_equal(b->op, TV_B_RANGE);
	assert_true(b->has_hi && b->hi_incl && !b->has_lo);
	assert_int_equal(b->hi.type, TV_INTEGER);
	assert_int_equal(b->hi.u.i64, 5);
	tv_expr_free(e);
	e = tv_expr_ge("i", tv_float(-5.5));
	assert_int_equal(tv_expr_bind(e, &t_cs, &a, &b, NULL), 0);
	assert_true(b->has_lo && !b->lo_incl && b->lo.u.i64 == -6);
	tv_expr_free(e);
	e = tv_expr_eq("i", tv_float(0.5));
	assert_int_equal(tv_expr_bind(e, &t_cs, &a, &b, NULL), 0);
	assert_int_equal(b->op, TV_B_FALSE);
	tv_expr_free(e);
	e = tv_expr_like("t", "abc", 3);           /* no wildcard: equality */
	assert_int_equal(tv_expr_bind(e, &t_cs, &a, &b, NULL), 0);
	assert_true(tv_bexpr_is_point(b));
	tv_expr_free(e);
	e = tv_expr_like("t", "ab%%", 4);
	assert_int_equal(tv_expr_bind(e, &t_cs, &a, &b, NULL), 0);
	assert_int_equal(b->op, TV_B_LIKE);
	assert_true(b->prefix_only);
	assert_int_equal(b->fixed, 2);
	tv_expr_free(e);
	e = tv_expr_like("t", "ab_%", 4);
	assert_int_equal(tv_expr_bind(e, &t_cs, &a, &b, NULL), 0);
	assert_false(b->prefix_only);
	tv_expr_free(e);
	tv_arena_free(&a);
}

static struct tv_expr *t_keep[64];
static unsigned t_nkeep;

/* Bind @e, which stays alive (in t_keep) as long as the bound form. */
static const struct tv_bexpr *t_bind(struct tv_arena *a, struct tv_expr *e)
{
	const struct tv_bexpr *b;

	assert_non_null(e);
	assert_true(t_nkeep < 64);
	t_keep[t_nkeep++] = e;
	assert_int_equal(tv_expr_bind(e, &t_cs, a, &b, NULL), 0);
	return b;
}

static void test_expr_implies(void **state)
{
	struct tv_arena a;
	struct tv_value in2[2] = { tv_integer(3), tv_integer(4) };
	struct tv_value in3[3] = { tv_integer(3), tv_integer(4), tv_integer(50) };

#define B(e) t_bind(&a, (e))
	(void)state;
	tv_arena_init(&a);
	/* Same predicate, and conjunctions. */
	assert_true(tv_bexpr_implies(B(tv_expr_eq("o", tv_boolean(true))),
				     B(tv_expr_eq("o", tv_boolean(true)))));
	assert_true(tv_bexpr_implies(B(tv_expr_and(tv_expr_eq("i", tv_integer(1)),
						   tv_expr_eq("o", tv_boolean(true)))),
				     B(tv_expr_eq("o", tv_boolean(true)))));
	assert_false(tv_bexpr_implies(B(tv_expr_eq("o", tv_boolean(false))),
				      B(tv_expr_eq("o", tv_boolean(true)))));
	assert_false(tv_bexpr_implies(B(tv_expr_or(tv_expr_eq("i", tv_integer(1)),
						   tv_expr_eq("o", tv_boolean(true)))),
				      B(tv_expr_eq("o", tv_boolean(true)))));
	/* IS NOT NULL from any comparison on the column. */
	assert_true(tv_bexpr_implies(B(tv_expr_gt("i", tv_integer(1))), B(tv_expr_not_null("i"))));
	assert_true(tv_bexpr_implies(B(tv_expr_like("t", "a%", 2)), B(tv_expr_not_null("t"))));
	assert_false(tv_bexpr_implies(B(tv_expr_not_null("i")), B(tv_expr_gt("i", tv_integer(1)))));
	assert_false(tv_bexpr_implies(B(tv_expr_is_null("i")), B(tv_expr_not_null("i"))));
	/* Ranges inside ranges, points, IN sets. */
	assert_true(tv_bexpr_implies(B(tv_expr_gt("i", tv_integer(10))),
				     B(tv_expr_gt("i", tv_integer(5)))));
	assert_true(tv_bexpr_implies(B(tv_expr_ge("i", tv_integer(6))),
				     B(tv_expr_gt("i", tv_float(5.5)))));
	assert_false(tv_bexpr_implies(B(tv_expr_ge("i", tv_integer(5))),
				      B(tv_expr_gt("i", tv_integer(5)))));
	assert_true(tv_bexpr_implies(B(tv_expr_between("i", tv_integer(2), tv_integer(3))),
				     B(tv_expr_lt("i", tv_integer(10)))));
	assert_true(tv_bexpr_implies(B(tv_expr_eq("i", tv_integer(7))),
				     B(tv_expr_ne("i", tv_integer(8)))));
	assert_true(tv_bexpr_implies(B(tv_expr_in("i", in2, 2)), B(tv_expr_in("i", in3, 3))));
	assert_false(tv_bexpr_implies(B(tv_expr_in("i", in3, 3)), B(tv_expr_in("i", in2, 2))));
	assert_true(tv_bexpr_implies(B(tv_expr_in("i", in2, 2)),
				     B(tv_expr_between("i", tv_integer(0), tv_integer(4)))));
	assert_true(tv_bexpr_implies(B(tv_expr_lt("i", tv_integer(3))),
				     B(tv_expr_ne("i", tv_integer(3)))));
	assert_false(tv_bexpr_implies(B(tv_expr_lt("i", tv_integer(4))),
				      B(tv_expr_ne("i", tv_integer(3)))));
	/* Prefixes. */
	assert_true(tv_bexpr_implies(B(tv_expr_prefix("t", "abc", 3)),
				     B(tv_expr_prefix("t", "ab", 2))));
	assert_true(tv_bexpr_implies(B(tv_expr_like("t", "abc_%", 5)),
				     B(tv_expr_like("t", "ab%", 3))));
	assert_false(tv_bexpr_implies(B(tv_expr_prefix("t", "ab", 2)),
				      B(tv_expr_prefix("t", "abc", 3))));
	assert_true(tv_bexpr_implies(B(tv_expr_eq("t", tv_text("abz", 3))),
				     B(tv_expr_like("t", "a_z", 3))));
	/* An index predicate with OR or AND. */
	assert_true(tv_bexpr_implies(B(tv_expr_eq("i", tv_integer(1))),
				     B(tv_expr_or(tv_expr_eq("i", tv_integer(1)),
						  tv_expr_eq("i", tv_integer(2))))));
	assert_true(tv_bexpr_implies(B(tv_expr_and(tv_expr_eq("i", tv_integer(1)),
						   tv_expr_is_null("t"))),
				     B(tv_expr_and(tv_expr_is_null("t"),
						   tv_expr_ge("i", tv_integer(0))))));
	/* An unsatisfiable WHERE implies anything. */
	assert_true(tv_bexpr_implies(B(tv_expr_eq("i", tv_float(0.5))),
				     B(tv_expr_is_null("t"))));
	/* Other columns never imply. */
	assert_false(tv_bexpr_implies(B(tv_expr_gt("u", tv_integer(1))), B(tv_expr_not_null("i"))));
	for (unsigned i = 0; i < t_nkeep; i++)
		tv_expr_free(t_keep[i]);
	t_nkeep = 0;
	tv_arena_free(&a);
#undef B
}

static void test_expr_hash_copy(void **state)
{
	struct tv_value in[2] = { tv_text("a", 1), tv_text("b", 1) };
	char name[4] = "t";
	char lit[4] = "xyz";
	struct tv_expr *e = tv_expr_and(tv_expr_in(name, in, 2), tv_expr_eq(name, tv_text(lit, 3)));
	struct tv_expr *c = tv_expr_copy(e);
	struct tv_expr *d = tv_expr_and(tv_expr_in("t", in, 2), tv_expr_eq("t", tv_text("xyw", 3)));

	(void)state;
	assert_non_null(c);
	/* The expression owns copies of names and payloads. */
	name[0] = 'q';
	lit[0] = 'q';
	assert_int_equal(tv_expr_hash(e, 1), tv_expr_hash(c, 1));
	assert_int_not_equal(tv_expr_hash(e, 1), tv_expr_hash(d, 1));
	assert_int_not_equal(tv_expr_hash(e, 1), tv_expr_hash(e, 2));
	t_row_reset();
	t_row[C_T] = tv_text("xyz", 3);
	assert_false(t_eval(e));
	t_row[C_T] = tv_text("b", 1);
	assert_false(t_eval(c));
	tv_expr_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expr_compare_integer),
		cmocka_unit_test(test_expr_compare_cross_kind),
		cmocka_unit_test(test_expr_compare_other_types),
		cmocka_unit_test(test_expr_null_semantics),
		cmocka_unit_test(test_expr_in),
		cmocka_unit_test(test_expr_like),
		cmocka_unit_test(test_expr_prefix),
		cmocka_unit_test(test_expr_boolean),
		cmocka_unit_test(test_expr_bind_errors),
		cmocka_unit_test(test_expr_normalised_ranges),
		cmocka_unit_test(test_expr_implies),
		cmocka_unit_test(test_expr_hash_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
