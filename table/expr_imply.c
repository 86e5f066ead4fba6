/* SPDX-License-Identifier: MIT */
/*
 * Structural equality and a conservative implication test over bound
 * expressions: a partial index may serve a query only when every row the
 * query's WHERE accepts is in the index (WHERE implies the index predicate).
 * "Conservative" means a false answer is always safe: the planner then scans
 * another way.
 */
#include "table/expr.h"

#include <string.h>

#include "core/assert.h"

static bool tv_same_value(const struct tv_value *x, const struct tv_value *y)
{
	return tv_cmp(x, y) == 0;
}

static bool tv_same_leaf(const struct tv_bexpr *x, const struct tv_bexpr *y)
{
	if (x->col != y->col || x->n != y->n)
		return false;
	switch (x->op) {
	case TV_B_FALSE:
	case TV_B_ISNULL:
		return true;
	case TV_B_NE:
		return tv_same_value(&x->lo, &y->lo);
	case TV_B_RANGE:
		if (x->has_lo != y->has_lo || x->has_hi != y->has_hi)
			return false;
		if (x->has_lo && (x->lo_incl != y->lo_incl || !tv_same_value(&x->lo, &y->lo)))
			return false;
		return !x->has_hi ||
		       (x->hi_incl == y->hi_incl && tv_same_value(&x->hi, &y->hi));
	case TV_B_IN:
		for (uint32_t i = 0; i < x->n; i++)
			if (!tv_same_value(&x->set[i], &y->set[i]))
				return false;
		return true;
	default:        /* LIKE, PREFIX */
		return x->n == 0 || memcmp(x->pat, y->pat, x->n) == 0;
	}
}

bool tv_bexpr_same(const struct tv_bexpr *x, const struct tv_bexpr *y)
{
	if (x->op != y->op)
		return false;
	if (tv_bexpr_is_leaf(x))
		return tv_same_leaf(x, y);
	if (!tv_bexpr_same(x->a, y->a))
		return false;
	return x->op == TV_B_NOT || tv_bexpr_same(x->b, y->b);
}

/* Range @q lies inside range @p. */
static bool tv_range_within(const struct tv_bexpr *q, const struct tv_bexpr *p)
{
	if (p->has_lo) {
		int c;

		if (!q->has_lo)
			return false;
		c = tv_cmp(&q->lo, &p->lo);
		if (c < 0 || (c == 0 && q->lo_incl && !p->lo_incl))
			return false;
	}
	if (p->has_hi) {
		int c;

		if (!q->has_hi)
			return false;
		c = tv_cmp(&q->hi, &p->hi);
		if (c > 0 || (c == 0 && q->hi_incl && !p->hi_incl))
			return false;
	}
	return true;
}

/* The literal bytes every value accepted by a LIKE or PREFIX leaf starts
 * with; false for other leaves. */
static bool tv_lit_prefix(const struct tv_bexpr *e, const uint8_t **p, uint32_t *n)
{
	if (e->op == TV_B_PREFIX) {
		*p = e->pat;
		*n = e->n;
		return true;
	}
	if (e->op == TV_B_LIKE) {
		*p = e->pat;
		*n = e->fixed;
		return true;
	}
	return false;
}

/* Leaf @q (a conjunct of the query) implies leaf @p. */
static bool tv_leaf_implies(const struct tv_bexpr *q, const struct tv_bexpr *p)
{
	const uint8_t *qp, *pp;
	uint32_t qn, pn;

	if (q->op == TV_B_FALSE || tv_bexpr_same(q, p))
		return true;
	if (q->col != p->col || p->op == TV_B_FALSE || q->op == TV_B_ISNULL)
		return false;
	/* Finite sets: every value the query allows must pass @p. */
	if (tv_bexpr_is_point(q))
		return tv_bexpr_leaf_eval(p, &q->lo);
	if (q->op == TV_B_IN) {
		for (uint32_t i = 0; i < q->n; i++)
			if (!tv_bexpr_leaf_eval(p, &q->set[i]))
				return false;
		return true;
	}
	/* @q is now a RANGE, NE, LIKE or PREFIX: all false on NULL. */
	if (p->op == TV_B_RANGE && !p->has_lo && !p->has_hi)
		return true;
	if (q->op == TV_B_RANGE && p->op == TV_B_RANGE)
		return tv_range_within(q, p);
	if (q->op == TV_B_RANGE && p->op == TV_B_NE)
		return !tv_bexpr_leaf_eval(q, &p->lo);
	if (tv_lit_prefix(q, &qp, &qn) && tv_lit_prefix(p, &pp, &pn) &&
	    (p->op == TV_B_PREFIX || p->prefix_only))
		return qn >= pn && (pn == 0 || memcmp(qp, pp, pn) == 0);
	return false;
}

/* Some top-level conjunct of @q implies @p (a leaf or a whole subtree). */
static bool tv_conj_implies(const struct tv_bexpr *q, const struct tv_bexpr *p)
{
	if (q->op == TV_B_AND)
		return tv_conj_implies(q->a, p) || tv_conj_implies(q->b, p);
	if (q->op == TV_B_FALSE || tv_bexpr_same(q, p))
		return true;
	if (tv_bexpr_is_leaf(q) && tv_bexpr_is_leaf(p))
		return tv_leaf_implies(q, p);
	return false;
}

bool tv_bexpr_implies(const struct tv_bexpr *q, const struct tv_bexpr *p)
{
	AEDB_ASSERT(q && p);
	if (p->op == TV_B_AND)
		return tv_bexpr_implies(q, p->a) && tv_bexpr_implies(q, p->b);
	if (p->op == TV_B_OR && tv_bexpr_implies(q, p->a))
		return true;
	if (p->op == TV_B_OR && tv_bexpr_implies(q, p->b))
		return true;
	return tv_conj_implies(q, p);
}

void tv_bexpr_cols(const struct tv_bexpr *e, uint32_t *lo, uint32_t *hi)
{
	uint32_t alo, ahi, blo, bhi;

	if (tv_bexpr_is_leaf(e)) {
		*lo = e->op == TV_B_FALSE ? UINT32_MAX : e->col;
		*hi = e->op == TV_B_FALSE ? 0 : e->col;
		return;
	}
	tv_bexpr_cols(e->a, &alo, &ahi);
	blo = UINT32_MAX;
	bhi = 0;
	if (e->op != TV_B_NOT)
		tv_bexpr_cols(e->b, &blo, &bhi);
	*lo = alo < blo ? alo : blo;
	*hi = ahi > bhi ? ahi : bhi;
}
