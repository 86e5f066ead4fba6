/* SPDX-License-Identifier: MIT */
/*
 * Expressions of the query layer (issue 5): WHERE, HAVING and partial-index
 * predicates. Two forms:
 *
 *  - struct tv_expr, built by the caller (tv_expr_eq(...), tv_expr_and(...)):
 *    names columns by name and holds literals as given. It owns copies of
 *    every name, literal payload and pattern, so the caller's buffers need
 *    not outlive the call. Combinators take ownership of their operands (a
 *    NULL operand, from a failed allocation, makes the result NULL and frees
 *    the other), so a whole tree can be built in one expression.
 *
 *  - struct tv_bexpr, bound against a column set (tv_expr_bind): columns are
 *    indexes, every literal is converted to its column's type with
 *    tv_convert(), and each comparison is normalised into a range, so `int_col
 *    < 5.5` becomes `int_col <= 5` and `int_col = 5.5` the constant FALSE.
 *    Lives in an arena.
 *
 * NULL semantics are the reference's two-valued logic (§3.1), written down
 * in docs/TABLES.md: a comparison, IN, BETWEEN, LIKE or prefix test on a NULL
 * value is false, and NOT negates (so NOT (c = 5) is true on a NULL c). A
 * NULL literal makes a comparison false (use IS NULL); NULL elements of an
 * IN list are ignored (the reference's IN [NULL] matching NULL was a quirk).
 *
 * Pure functions; owner thread of the objects.
 */
#ifndef AEDB_TABLE_EXPR_H
#define AEDB_TABLE_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table/query_arena.h"
#include "table/value.h"

/* Limits (the reference's HEAD caps; -AEDB_ETOOBIG / -AEDB_EINVAL at bind). */
#define TV_EXPR_DEPTH_MAX 32u       /* nesting of AND/OR/NOT */
#define TV_EXPR_IN_MAX 10000u       /* values in one IN list */
#define TV_EXPR_PATTERN_MAX 256u    /* bytes of a LIKE pattern or prefix */

/* Operators of the unbound form. Numbers are stable (fingerprints). */
enum tv_op {
	TV_OP_EQ = 1,
	TV_OP_NE,
	TV_OP_LT,
	TV_OP_LE,
	TV_OP_GT,
	TV_OP_GE,
	TV_OP_IN,
	TV_OP_BETWEEN,    /* inclusive on both ends */
	TV_OP_IS_NULL,
	TV_OP_NOT_NULL,
	TV_OP_LIKE,       /* % any sequence, _ one character (UTF-8 code point) */
	TV_OP_PREFIX,     /* starts with these bytes (text, json, blob) */
	TV_OP_AND,
	TV_OP_OR,
	TV_OP_NOT,
	TV_OP_LAST = TV_OP_NOT
};

struct tv_expr;

/* ---- building (NULL on allocation failure; never validates names) ----- */

/* @op one of EQ..GE. @lit is copied (payload too). */
struct tv_expr *tv_expr_cmp(enum tv_op op, const char *col, struct tv_value lit);
struct tv_expr *tv_expr_in(const char *col, const struct tv_value *lits, size_t n);
struct tv_expr *tv_expr_between(const char *col, struct tv_value lo, struct tv_value hi);
struct tv_expr *tv_expr_is_null(const char *col);
struct tv_expr *tv_expr_not_null(const char *col);
struct tv_expr *tv_expr_like(const char *col, const void *pattern, size_t len);
struct tv_expr *tv_expr_prefix(const char *col, const void *prefix, size_t len);
/* Take ownership of @a and @b (also on failure). */
struct tv_expr *tv_expr_and(struct tv_expr *a, struct tv_expr *b);
struct tv_expr *tv_expr_or(struct tv_expr *a, struct tv_expr *b);
struct tv_expr *tv_expr_not(struct tv_expr *a);
/* A deep copy, or NULL. */
struct tv_expr *tv_expr_copy(const struct tv_expr *e);
void tv_expr_free(struct tv_expr *e);
/*
 * Serialise @e (a partial-index predicate in a catalog record): the bytes
 * go to @buf when @cap suffices; *@len is always the size needed. 0, or
 * -AEDB_ETOOBIG (@cap too small), -AEDB_EINVAL (an unknown operator).
 */
int tv_expr_encode(const struct tv_expr *e, uint8_t *buf, size_t cap, size_t *len);
/* The expression encoded in @p[0..@len): 0 and *@out (free it), or
 * -AEDB_ECORRUPT, -ENOMEM. */
int tv_expr_decode(const uint8_t *p, size_t len, struct tv_expr **out);
/* Fold @e's whole shape (operators, names, literals) into hash @h. */
uint64_t tv_expr_hash(const struct tv_expr *e, uint64_t h);

static inline struct tv_expr *tv_expr_eq(const char *c, struct tv_value v)
{
	return tv_expr_cmp(TV_OP_EQ, c, v);
}

static inline struct tv_expr *tv_expr_ne(const char *c, struct tv_value v)
{
	return tv_expr_cmp(TV_OP_NE, c, v);
}

static inline struct tv_expr *tv_expr_lt(const char *c, struct tv_value v)
{
	return tv_expr_cmp(TV_OP_LT, c, v);
}

static inline struct tv_expr *tv_expr_le(const char *c, struct tv_value v)
{
	return tv_expr_cmp(TV_OP_LE, c, v);
}

static inline struct tv_expr *tv_expr_gt(const char *c, struct tv_value v)
{
	return tv_expr_cmp(TV_OP_GT, c, v);
}

static inline struct tv_expr *tv_expr_ge(const char *c, struct tv_value v)
{
	return tv_expr_cmp(TV_OP_GE, c, v);
}

/* ---- binding ---------------------------------------------------------- */

/* The columns an expression may name: @n names with their types. */
struct tv_colset {
	const char *const *names;
	const uint8_t *types;     /* enum tv_type of each column */
	uint32_t n;
};

/* Bound operators. */
enum tv_bop {
	TV_B_FALSE = 0,  /* no row */
	TV_B_RANGE,      /* non-NULL and within [lo, hi] (each end optional, incl or
			  * excl); with no end at all: IS NOT NULL */
	TV_B_NE,         /* non-NULL and != lo */
	TV_B_IN,         /* non-NULL and in set[0..n) (sorted by tv_cmp, distinct) */
	TV_B_ISNULL,
	TV_B_LIKE,       /* text matching pat[0..n) */
	TV_B_PREFIX,     /* bytes starting with pat[0..n) */
	TV_B_AND,
	TV_B_OR,
	TV_B_NOT,
};

struct tv_bexpr {
	uint8_t op;            /* enum tv_bop */
	uint8_t src;           /* enum tv_op it came from */
	bool has_lo, has_hi, lo_incl, hi_incl;
	bool prefix_only;      /* LIKE: pattern is pat[0..fixed) then only '%' */
	uint32_t col;          /* leaves: index in the column set */
	uint32_t n;            /* IN: values; LIKE, PREFIX: pattern bytes */
	uint32_t fixed;        /* LIKE: bytes before the first wildcard */
	struct tv_value lo, hi;       /* of the column's type */
	const struct tv_value *set;
	const uint8_t *pat;
	const struct tv_bexpr *a, *b; /* AND, OR: both; NOT: a */
};

/*
 * Bind @e against @cs into *@out (allocated in @a; literal payloads point
 * into @e, which must outlive *@out). Errors, each with a message in @err:
 * -TV_ENOCOLUMN (unknown name), -AEDB_ETYPE (a literal that does not convert
 * to its column's type; LIKE on a non-text column; PREFIX on a non-bytes
 * column), -TV_EVALUE (invalid UTF-8 in a text literal or pattern),
 * -AEDB_ETOOBIG (an IN list or pattern over the limits), -AEDB_EINVAL (nesting
 * deeper than TV_EXPR_DEPTH_MAX, an unknown operator), -AEDB_EMISUSE (a NULL
 * name), -ENOMEM.
 */
int tv_expr_bind(const struct tv_expr *e, const struct tv_colset *cs, struct tv_arena *a,
		 const struct tv_bexpr **out, struct tv_qerr *err);

/* Evaluate on a row of the column set (values NULL or of the column's type). */
bool tv_bexpr_eval(const struct tv_bexpr *e, const struct tv_value *row);

/* A leaf evaluated on @v as the value of its column. */
bool tv_bexpr_leaf_eval(const struct tv_bexpr *e, const struct tv_value *v);

/* True when @e is a leaf (RANGE..PREFIX or FALSE). */
static inline bool tv_bexpr_is_leaf(const struct tv_bexpr *e)
{
	return e->op < TV_B_AND;
}

/* RANGE with lo == hi, both inclusive: an equality. */
bool tv_bexpr_is_point(const struct tv_bexpr *e);

/* Structural equality of two bound expressions over the same column set. */
bool tv_bexpr_same(const struct tv_bexpr *x, const struct tv_bexpr *y);

/*
 * Conservative implication: true only if every row satisfying @q also
 * satisfies @p (partial indexes: the query's WHERE must imply the index
 * predicate). Looks at @q's top-level conjuncts; see docs/TABLES.md.
 */
bool tv_bexpr_implies(const struct tv_bexpr *q, const struct tv_bexpr *p);

/* The smallest and largest column index @e reads (*lo > *hi if none). */
void tv_bexpr_cols(const struct tv_bexpr *e, uint32_t *lo, uint32_t *hi);

/* SQL LIKE of @s[0..@n) against @p[0..@m): % any sequence, _ one UTF-8 code
 * point, everything else itself (case-sensitive, no escape). */
bool tv_like_match(const uint8_t *s, size_t n, const uint8_t *p, size_t m);

#endif /* AEDB_TABLE_EXPR_H */
