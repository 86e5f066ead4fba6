/* SPDX-License-Identifier: MIT */
/*
 * The access path: from the WHERE conjuncts on base columns, collect per
 * column an equality (or IN set), a range and a byte prefix; score the
 * primary key and every usable index by how many leading key columns are
 * bound by equality and whether a range follows; turn the winner into a
 * list of encoded key ranges; decide whether rows then arrive in the
 * requested order (no sort). Rules: docs/TABLES.md "Planner".
 */
#include <errno.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/keyenc.h"
#include "table/query_int.h"

/* What the top-level conjuncts say about one base column. */
struct tv_cons {
	struct tv_bexpr range;         /* merged ranges; op RANGE when set */
	const struct tv_bexpr *in;     /* the smallest IN set */
	const uint8_t *pfx;            /* the longest literal prefix */
	uint32_t pfx_len;
	bool has_range, has_pfx;
};

struct tv_cand {
	uint8_t path;
	const struct tv_index_source *index;
	uint16_t key[TV_PK_COLUMNS_MAX];
	uint32_t nkey, neq;
	bool range, ordered;
	int score;
};

static void tv_cons_range(struct tv_cons *c, const struct tv_bexpr *e)
{
	struct tv_bexpr *r = &c->range;

	if (!c->has_range) {
		*r = *e;
		c->has_range = true;
		return;
	}
	if (e->has_lo) {
		int d = r->has_lo ? tv_cmp(&e->lo, &r->lo) : 1;

		if (d > 0 || (d == 0 && !e->lo_incl)) {
			r->has_lo = true;
			r->lo = e->lo;
			r->lo_incl = e->lo_incl;
		}
	}
	if (e->has_hi) {
		int d = r->has_hi ? tv_cmp(&e->hi, &r->hi) : -1;

		if (d < 0 || (d == 0 && !e->hi_incl)) {
			r->has_hi = true;
			r->hi = e->hi;
			r->hi_incl = e->hi_incl;
		}
	}
}

/* Fold conjunct @e into @cons; *@empty when it admits no row. */
static void tv_cons_collect(const struct tv_plan *p, const struct tv_bexpr *e,
			    struct tv_cons *cons, bool *empty)
{
	struct tv_cons *c;

	if (e->op == TV_B_AND) {
		tv_cons_collect(p, e->a, cons, empty);
		tv_cons_collect(p, e->b, cons, empty);
		return;
	}
	if (e->op == TV_B_FALSE)
		*empty = true;
	if (!tv_bexpr_is_leaf(e) || e->op == TV_B_FALSE || e->col >= p->base_cs.n)
		return;
	c = &cons[e->col];
	if (e->op == TV_B_RANGE) {
		tv_cons_range(c, e);
	} else if (e->op == TV_B_IN) {
		if (!c->in || e->n < c->in->n)
			c->in = e;
	} else if (e->op == TV_B_PREFIX || (e->op == TV_B_LIKE && e->fixed > 0)) {
		uint32_t n = e->op == TV_B_PREFIX ? e->n : e->fixed;

		if (n > 0 && (!c->has_pfx || n > c->pfx_len)) {
			c->has_pfx = true;
			c->pfx = e->pat;
			c->pfx_len = n;
		}
	}
}

/* The values an equality binds column @c to, or 0. */
static uint32_t tv_cons_points(const struct tv_cons *c, const struct tv_value **vals)
{
	if (c->has_range && tv_bexpr_is_point(&c->range)) {
		*vals = &c->range.lo;
		return 1;
	}
	if (c->in) {
		*vals = c->in->set;
		return c->in->n;
	}
	return 0;
}

static bool tv_cons_rangeable(const struct tv_cons *c)
{
	return (c->has_range && (c->range.has_lo || c->range.has_hi)) || c->has_pfx;
}

/* Is @col bound to a single value? */
static bool tv_cons_const(const struct tv_cons *cons, uint32_t col)
{
	const struct tv_value *v;

	return tv_cons_points(&cons[col], &v) == 1;
}

/* Joins keep the base rows' order if each base row makes at most one row
 * (every join a point fetch on the right table's whole PK) and every ORDER
 * BY column is the base table's: a joined row's sort key is then its base
 * row's, and a cursor's access key still names one row. */
static bool tv_joins_keep_order(const struct tv_plan *p)
{
	for (uint32_t k = 0; k < p->njoins; k++)
		if (p->joins[k].algo != TV_JOIN_ALGO_PK)
			return false;
	for (uint32_t i = 0; p->njoins && i < p->norder; i++)
		if (p->order[i] >= p->base->schema->ncols)
			return false;
	return true;
}

/* Rows arrive in sort-key order (ORDER BY keys, then the PK): see the
 * "Planner" section of docs/TABLES.md. Columns bound to one value are
 * constant and drop out of both orders. */
static bool tv_cand_ordered(const struct tv_plan *p, const struct tv_cons *cons,
			    const struct tv_cand *k)
{
	const struct tv_schema *s = p->base->schema;
	uint32_t o[TV_QUERY_ORDER_MAX], a[TV_PK_COLUMNS_MAX], no = 0, na = 0, j = 0;

	if (p->agg || !tv_joins_keep_order(p))
		return false;   /* rows are made after the scan: always sorted */
	if (k->path == TV_PATH_EMPTY)
		return true;
	for (uint32_t i = 0; i < p->norder; i++) {
		if (p->order_desc[i])
			return false;   /* cursors only go forward */
		if (!tv_cons_const(cons, p->order[i]))
			o[no++] = p->order[i];
	}
	for (uint32_t i = 0; i < k->nkey; i++)
		if (!tv_cons_const(cons, k->key[i]))
			a[na++] = k->key[i];
	while (j < no && j < na && o[j] == a[j])
		j++;
	if (k->path != TV_PATH_INDEX)
		return j == no || j == na;      /* the PK is unique */
	if (j < na)
		return false;
	if (k->index->unique)
		return true;
	/* Equal index values come in PK order: the rest must follow the PK. */
	for (uint32_t i = 0; i < s->npk && j < no; i++) {
		if (tv_cons_const(cons, s->pk[i]))
			continue;
		if (o[j] != s->pk[i])
			return false;
		j++;
	}
	return j == no;
}

static void tv_cand_eval(const struct tv_plan *p, const struct tv_cons *cons,
			 struct tv_cand *k)
{
	uint64_t points = 1;

	k->neq = 0;
	while (k->neq < k->nkey) {
		const struct tv_value *v;
		uint32_t n = tv_cons_points(&cons[k->key[k->neq]], &v);

		if (n == 0 || points * n > TV_QUERY_POINTS_MAX)
			break;
		points *= n;
		k->neq++;
	}
	k->range = k->neq < k->nkey && tv_cons_rangeable(&cons[k->key[k->neq]]);
	k->score = 2 * (int)k->neq + k->range;
	if (k->path == TV_PATH_PK_RANGE && k->neq == k->nkey) {
		k->path = TV_PATH_PK_POINT;
		k->score = 1000;
	} else if (k->path == TV_PATH_INDEX && k->index->unique && k->neq == k->nkey) {
		k->score++;     /* at most one row per point */
	} else if (k->path == TV_PATH_PK_RANGE && k->score == 0) {
		k->path = TV_PATH_FULL_SCAN;
	}
	k->ordered = tv_cand_ordered(p, cons, k);
}

/* An index may serve the query: its columns exist, and a partial index's
 * predicate is implied by the WHERE. */
static bool tv_index_usable(struct tv_plan *p, const struct tv_index_source *x,
			    struct tv_cand *k)
{
	const struct tv_bexpr *pred;
	struct tv_qerr ignore;

	if (!x->open || !x->nparts || !x->ncols || x->ncols > TV_PK_COLUMNS_MAX || !x->cols)
		return false;
	for (uint32_t i = 0; i < x->ncols; i++) {
		int c = x->cols[i] ? tv_schema_find(p->base->schema, x->cols[i]) : -1;

		if (c < 0)
			return false;
		k->key[i] = (uint16_t)c;
	}
	k->nkey = x->ncols;
	if (!x->partial)
		return true;
	if (!p->base_filter ||
	    tv_expr_bind(x->partial, &p->base_cs, p->a, &pred, &ignore) != 0)
		return false;
	return tv_bexpr_implies(p->base_filter, pred);
}

/* Is @x better than @best? Score first, then the PK, then order. */
static bool tv_cand_better(const struct tv_cand *x, const struct tv_cand *best)
{
	if (x->score != best->score)
		return x->score > best->score;
	return x->ordered && !best->ordered;
}

/* ---- key ranges ----------------------------------------------------- */

struct tv_gen {
	struct tv_plan *p;
	const struct tv_cons *cons;
	struct tv_access *acc;
	struct tv_buf kb;
	struct tv_buf lo, hi;        /* tv_gen_emit's, reused for every range */
	uint32_t cap;
};

static int tv_gen_add(struct tv_gen *g, const struct tv_buf *lo, const struct tv_buf *hi,
		      bool has_hi)
{
	struct tv_range *r;

	AEDB_ASSERT(lo->len <= UINT32_MAX && hi->len <= UINT32_MAX);
	if (has_hi && tv_key_cmp(lo->p, lo->len, hi->p, hi->len) >= 0)
		return 0;       /* an empty range */
	AEDB_ASSERT(g->acc->nranges < g->cap);
	r = &g->acc->ranges[g->acc->nranges];
	r->lo = tv_arena_dup(g->p->a, lo->p, lo->len);
	r->lo_len = (uint32_t)lo->len;
	r->has_hi = has_hi;
	r->hi = has_hi ? tv_arena_dup(g->p->a, hi->p, hi->len) : NULL;
	r->hi_len = has_hi ? (uint32_t)hi->len : 0;
	if (!r->lo || (has_hi && !r->hi))
		return -ENOMEM;
	g->acc->nranges++;
	return 0;
}

/* The range for one combination of equality values (the prefix in g->kb). */
static int tv_gen_emit(struct tv_gen *g)
{
	const struct tv_access *acc = g->acc;
	const struct tv_cons *c = acc->range ? &g->cons[acc->key[acc->neq]] : NULL;
	struct tv_buf *lo = &g->lo, *hi = &g->hi;
	bool has_hi = true;
	int rc;

	lo->len = hi->len = 0;
	rc = tv_buf_put(lo, g->kb.p, g->kb.len);
	if (rc == 0)
		rc = tv_buf_put(hi, g->kb.p, g->kb.len);
	if (rc == 0 && c && c->has_range && (c->range.has_lo || c->range.has_hi)) {
		const struct tv_bexpr *r = &c->range;
		uint8_t not_null = TV_KEY_TAG_NULL + 1;

		if (r->has_lo)
			rc = tv_buf_put_value(lo, &r->lo, false);
		else
			rc = tv_buf_put(lo, &not_null, 1);
		if (rc == 0 && r->has_lo && !r->lo_incl && !tv_key_successor(lo->p, &lo->len))
			return 0;       /* nothing above the maximum */
		if (rc == 0 && r->has_hi)
			rc = tv_buf_put_value(hi, &r->hi, false);
		if (rc == 0 && (!r->has_hi || r->hi_incl))
			has_hi = tv_key_successor(hi->p, &hi->len);
	} else if (rc == 0 && c) {
		unsigned type = g->p->base_cs.types[acc->key[acc->neq]];

		rc = tv_buf_reserve(lo, c->pfx_len * 2 + 1);
		if (rc == 0)
			rc = tv_key_put_bytes_prefix(type, c->pfx, c->pfx_len, lo->p, lo->cap,
						     &lo->len);
		if (rc == 0)
			rc = tv_buf_put(hi, lo->p + g->kb.len, lo->len - g->kb.len);
		if (rc == 0)
			has_hi = tv_key_successor(hi->p, &hi->len);
	} else if (rc == 0 && acc->path != TV_PATH_PK_POINT) {
		has_hi = tv_key_successor(hi->p, &hi->len);
	}
	if (rc == 0)
		rc = tv_gen_add(g, lo, hi, has_hi && acc->path != TV_PATH_PK_POINT);
	return rc;
}

/* Every combination of the equality columns' values, in key order. */
static int tv_gen_level(struct tv_gen *g, uint32_t level)
{
	const struct tv_value *vals;
	uint32_t n;

	if (level == g->acc->neq)
		return tv_gen_emit(g);
	n = tv_cons_points(&g->cons[g->acc->key[level]], &vals);
	for (uint32_t i = 0; i < n; i++) {
		size_t len = g->kb.len;
		int rc = tv_buf_put_value(&g->kb, &vals[i], false);

		if (rc == 0)
			rc = tv_gen_level(g, level + 1);
		if (rc)
			return rc;
		g->kb.len = len;
	}
	return 0;
}

static int tv_gen_ranges(struct tv_plan *p, const struct tv_cons *cons)
{
	/* The key buffers grow in the plan's arena: no malloc. */
	struct tv_gen g = { .p = p, .cons = cons, .acc = &p->acc, .cap = 1, .kb.a = p->a,
			    .lo.a = p->a, .hi.a = p->a };
	int rc;

	for (uint32_t i = 0; i < p->acc.neq; i++) {
		const struct tv_value *v;

		g.cap *= tv_cons_points(&cons[p->acc.key[i]], &v);
	}
	AEDB_ASSERT(g.cap >= 1 && g.cap <= TV_QUERY_POINTS_MAX);
	p->acc.ranges = tv_arena_alloc(p->a, g.cap * sizeof(*p->acc.ranges));
	if (!p->acc.ranges)
		return -ENOMEM;
	rc = tv_gen_level(&g, 0);
	tv_buf_free(&g.kb);
	return rc;
}

/* ---- choice --------------------------------------------------------- */

static void tv_acc_take(struct tv_access *acc, const struct tv_cand *k)
{
	acc->path = k->path;
	acc->index = k->index;
	memcpy(acc->key, k->key, sizeof(acc->key));
	acc->nkey = k->nkey;
	acc->neq = k->neq;
	acc->range = k->range;
	acc->ordered = k->ordered;
}

static int tv_plan_choose(struct tv_plan *p, const struct tv_cons *cons)
{
	const struct tv_schema *s = p->base->schema;
	struct tv_cand best = { .path = TV_PATH_PK_RANGE, .nkey = s->npk };

	for (uint32_t i = 0; i < s->npk; i++)
		best.key[i] = s->pk[i];
	tv_cand_eval(p, cons, &best);
	for (uint32_t i = 0; i < p->base->nindexes && p->base->indexes; i++) {
		const struct tv_index_source *x = &p->base->indexes[i];
		struct tv_cand k = { .path = TV_PATH_INDEX, .index = x };

		if (!tv_index_usable(p, x, &k))
			continue;
		tv_cand_eval(p, cons, &k);
		if (k.score > 0 && tv_cand_better(&k, &best))
			best = k;
	}
	tv_acc_take(&p->acc, &best);
	return tv_gen_ranges(p, cons);
}

int tv_plan_access(struct tv_plan *p)
{
	struct tv_cons *cons;
	bool empty = false;
	int rc = 0;

	cons = tv_arena_zalloc(p->a, p->base_cs.n * sizeof(*cons));
	if (!cons)
		return tv_qerr_set(p->err, -ENOMEM, "out of memory planning the query");
	if (p->base_filter)
		tv_cons_collect(p, p->base_filter, cons, &empty);
	for (uint32_t i = 0; i < p->base_cs.n && !empty; i++) {
		struct tv_bexpr r = cons[i].range;

		if (cons[i].has_range) {
			r.op = TV_B_RANGE;
			if (r.has_lo && r.has_hi) {
				int d = tv_cmp(&r.lo, &r.hi);

				empty = d > 0 || (d == 0 && !(r.lo_incl && r.hi_incl));
			}
		}
	}
	if (empty) {
		struct tv_cand k = { .path = TV_PATH_EMPTY };

		tv_acc_take(&p->acc, &k);
		p->acc.ordered = !p->agg && tv_joins_keep_order(p);
	} else {
		rc = tv_plan_choose(p, cons);
	}
	if (rc)
		return tv_qerr_set(p->err, rc, "out of memory planning the query");
	return 0;
}
