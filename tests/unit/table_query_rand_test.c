/* SPDX-License-Identifier: MIT */
/*
 * table/query, randomized: random tables (several column types, NULLs,
 * one- or two-column primary keys, random plain/unique/partial indexes) and
 * random queries (nested filters with every operator and cross-kind
 * literals, ORDER BY, LIMIT/OFFSET, aggregates with GROUP BY and HAVING,
 * projections), run on 1, 2, 4 and 8 fake shards and compared with a
 * brute-force reference written here from the rules in docs/TABLES.md (no
 * engine code: its own comparisons, LIKE, sort and grouping). Every query is
 * also paged with cursors and the pages concatenated must equal the unpaged
 * result; list-with-total and exists are checked on the way. Replay a
 * failure with AEDB_TEST_SEED=<printed seed>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "t_helpers.h"
#include "table/query.h"

#define T_COLS_MAX 10
#define T_ROWS_MAX 120
#define T_TABLES 24
#define T_QUERIES 60

static uint64_t t_rng;

static uint64_t t_below(uint64_t n)
{
	return t_rand(&t_rng) % n;
}

/* ---- values ---------------------------------------------------------- */

static uint8_t t_pool[1 << 20];
static size_t t_pool_used;

static const char *const t_syms[] = { "a", "b", "\xc3\xa9", "%", "_", "\0" };

static struct tv_value t_bytes(unsigned type)
{
	size_t n = t_below(4), start = t_pool_used;

	for (size_t i = 0; i < n; i++) {
		if (type == TV_BLOB) {
			static const uint8_t b[] = { 0x00, 0x01, 0x61, 0xff };

			t_pool[t_pool_used++] = b[t_below(4)];
		} else {
			unsigned k = (unsigned)t_below(6);
			size_t len = k == 5 ? 1 : strlen(t_syms[k]);

			memcpy(t_pool + t_pool_used, t_syms[k], len);
			t_pool_used += len;
		}
	}
	assert_true(t_pool_used < sizeof(t_pool) - 64);
	return tv_bytes_of(type, t_pool + start, (uint32_t)(t_pool_used - start));
}

static double t_float(void)
{
	switch (t_below(16)) {
	case 0:
		return NAN;
	case 1:
		return INFINITY;
	case 2:
		return -INFINITY;
	case 3:
		return -0.0;
	default:
		return ((double)t_below(11) - 5) / 2;
	}
}

/* A value of @type from a small domain (so equal values are common), with
 * the type's extremes now and then. */
static struct tv_value t_value(unsigned type)
{
	bool edge = t_below(20) == 0;

	switch (type) {
	case TV_INTEGER:
		if (edge)
			return tv_integer(t_below(2) ? INT64_MAX : INT64_MIN);
		return tv_integer((int64_t)t_below(7) - 3);
	case TV_U64:
		return edge ? tv_u64(UINT64_MAX - t_below(2)) : tv_u64(t_below(6));
	case TV_U8:
		return tv_u8(edge ? 255 : (uint8_t)t_below(6));
	case TV_TIMESTAMP:
		return tv_timestamp(((int64_t)t_below(5) - 2) * 1000);
	case TV_FLOAT:
		return tv_float(t_float());
	case TV_BOOLEAN:
		return tv_boolean(t_below(2));
	case TV_U256:
		return tv_u256_from_u64(edge ? UINT64_MAX : t_below(4));
	case TV_I256:
		return tv_i256_from_i64(edge ? INT64_MIN : (int64_t)t_below(5) - 2);
	default:
		return t_bytes(type);
	}
}

static bool t_numeric(unsigned t)
{
	return t == TV_U8 || t == TV_U64 || t == TV_INTEGER || t == TV_TIMESTAMP || t == TV_FLOAT;
}

/* A literal for a column of @type: usually its own kind, sometimes another
 * numeric kind that converts (reference §3.1), sometimes NULL. */
static struct tv_value t_literal(unsigned type)
{
	if (t_below(25) == 0)
		return tv_null();
	if (t_numeric(type) && t_below(3) == 0) {
		switch (t_below(4)) {
		case 0:         /* u64 columns take no floats */
			if (type != TV_U64)
				return tv_float(t_float());
			return tv_integer((int64_t)t_below(9) - 4);
		case 1:
			return type == TV_U64 ? tv_u8((uint8_t)t_below(4)) : tv_u64(t_below(7));
		case 2:
			return tv_integer((int64_t)t_below(9) - 4);
		default:
			return type == TV_U64 ? tv_integer(-1) : tv_integer(300);
		}
	}
	if (type == TV_U64 && t_below(4) == 0)
		return tv_integer((int64_t)t_below(5) - 2);
	if (type == TV_JSON && t_below(2))
		return t_bytes(TV_TEXT);        /* json columns take text literals */
	return t_value(type);
}

/* ---- tables ---------------------------------------------------------- */

static const char *const t_colnames[T_COLS_MAX] = { "k0", "k1", "c0", "c1", "c2", "c3", "c4",
						    "c5", "c6", "c7" };

struct t_table {
	struct tv_column cols[T_COLS_MAX];
	const char *pk[2];
	struct tv_schema s;
	uint32_t ncols;
	struct tv_value rows[T_ROWS_MAX][T_COLS_MAX];
	uint32_t nrows;
	/* indexes: columns and a partial predicate */
	const char *icols[4][2];
	uint32_t nicols[4];
	bool iunique[4];
	bool ipartial[4];
	uint32_t nidx;
};

static void t_table_gen(struct t_table *t)
{
	static const uint8_t key_types[] = { TV_INTEGER, TV_TEXT, TV_U64 };
	static const uint8_t col_types[] = { TV_INTEGER, TV_U64, TV_U8, TV_FLOAT, TV_TEXT,
					     TV_BOOLEAN, TV_BLOB, TV_TIMESTAMP, TV_U256, TV_I256,
					     TV_JSON };
	uint32_t npk = 1 + (uint32_t)t_below(2);

	memset(t, 0, sizeof(*t));
	t->ncols = 2 + 3 + (uint32_t)t_below(6);
	for (uint32_t i = 0; i < t->ncols; i++) {
		t->cols[i].name = t_colnames[i];
		if (i == 0)
			t->cols[i].type = key_types[t_below(3)];
		else if (i == 1)
			t->cols[i].type = TV_INTEGER;
		else
			t->cols[i].type = col_types[t_below(sizeof(col_types))];
		t->cols[i].nullable = i >= npk;
	}
	t->pk[0] = "k0";
	t->pk[1] = "k1";
	t->s = (struct tv_schema){ .name = "r", .cols = t->cols, .ncols = t->ncols,
				   .pk_names = t->pk, .npk = npk };
	assert_int_equal(tv_schema_check(&t->s, NULL), 0);
	t->nidx = (uint32_t)t_below(4);
	for (uint32_t x = 0; x < t->nidx; x++) {
		t->nicols[x] = 1 + (uint32_t)t_below(2);
		for (uint32_t c = 0; c < t->nicols[x]; c++)
			t->icols[x][c] = t_colnames[1 + t_below(t->ncols - 1)];
		t->ipartial[x] = t_below(3) == 0;
		t->iunique[x] = false;
	}
}

/* Rows with distinct primary keys (the first memdb rejects duplicates). */
static void t_rows_gen(struct t_table *t, struct tv_memtable *mt)
{
	uint32_t want = (uint32_t)t_below(T_ROWS_MAX + 1);

	for (uint32_t tries = 0; t->nrows < want && tries < 4 * T_ROWS_MAX; tries++) {
		struct tv_value *row = t->rows[t->nrows];
		int rc;

		for (uint32_t i = 0; i < t->ncols; i++) {
			bool null = t->cols[i].nullable && t_below(5) == 0;

			row[i] = null ? tv_null() : t_value(t->cols[i].type);
			if (i == 1 && t->s.npk == 2)
				row[i] = tv_integer((int64_t)t_below(4));
		}
		rc = tv_memtable_insert(mt, row);
		if (rc == -AEDB_EEXIST)
			continue;
		assert_int_equal(rc, 0);
		t->nrows++;
	}
}

static struct tv_expr *t_partial_pred(const struct t_table *t, uint32_t x)
{
	const char *col = t->icols[x][0];

	if (t_below(2))
		return tv_expr_not_null(col);
	return tv_expr_or(tv_expr_is_null(col), tv_expr_not_null("k0"));
}

static struct tv_memdb *t_load(struct t_table *t, uint32_t nshards, bool gen,
			       uint64_t idx_seed)
{
	struct tv_memdb *db;
	struct tv_memtable *mt;
	uint64_t saved;

	assert_int_equal(tv_memdb_create(nshards, 5, &db), 0);
	assert_int_equal(tv_memdb_table(db, &t->s, 11, &mt), 0);
	if (gen)
		t_rows_gen(t, mt);
	else
		for (uint32_t r = 0; r < t->nrows; r++)
			assert_int_equal(tv_memtable_insert(mt, t->rows[r]), 0);
	saved = t_rng;
	t_rng = idx_seed;       /* the same partial predicates on every load */
	for (uint32_t x = 0; x < t->nidx; x++) {
		struct tv_expr *p = t->ipartial[x] ? t_partial_pred(t, x) : NULL;
		static const char *const names[] = { "i0", "i1", "i2", "i3" };

		assert_int_equal(tv_memtable_index(mt, names[x], t->icols[x], t->nicols[x],
						   t->iunique[x], p), 0);
		tv_expr_free(p);
	}
	t_rng = saved;
	return db;
}

/* ---- the reference --------------------------------------------------- */

/* A mirror of every expression the generator builds. */
struct t_ref {
	uint8_t op;             /* enum tv_op */
	uint32_t col;
	struct tv_value lit[8];
	uint32_t nlit;
	struct t_ref *a, *b;
};

static struct t_ref t_refs[512];
static uint32_t t_nrefs;

static long double t_ld(const struct tv_value *v)
{
	switch (v->type) {
	case TV_U8:
		return v->u.u8;
	case TV_U64:
		return (long double)v->u.u64;
	case TV_FLOAT:
		return (long double)v->u.f64;
	default:
		return (long double)v->u.i64;
	}
}

/* Compare a column value with a literal by value: numbers mathematically
 * (NaN above everything and equal to itself), text literals against json as
 * bytes, the rest in the total order. */
static int t_ref_cmp(const struct tv_value *v, const struct tv_value *lit)
{
	if (t_numeric(v->type) && t_numeric(lit->type)) {
		bool vn = v->type == TV_FLOAT && isnan(v->u.f64);
		bool ln = lit->type == TV_FLOAT && isnan(lit->u.f64);
		long double a, b;

		if (vn || ln)
			return (int)vn - (int)ln;
		a = t_ld(v);
		b = t_ld(lit);
		return a < b ? -1 : a > b;
	}
	if (v->type == TV_JSON && lit->type == TV_TEXT) {
		struct tv_value j = tv_json(lit->u.bytes, lit->len);

		return tv_cmp(v, &j);
	}
	return tv_cmp(v, lit);
}

static size_t t_u8len(uint8_t c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static bool t_ref_like(const uint8_t *s, size_t n, const uint8_t *p, size_t m)
{
	if (m == 0)
		return n == 0;
	if (p[0] == '%') {
		for (size_t i = 0;; i += t_u8len(s[i])) {
			if (t_ref_like(s + i, n - i, p + 1, m - 1))
				return true;
			if (i >= n)
				return false;
		}
	}
	if (n == 0)
		return false;
	if (p[0] == '_') {
		size_t l = t_u8len(s[0]);

		return t_ref_like(s + l, n - l, p + 1, m - 1);
	}
	return p[0] == s[0] && t_ref_like(s + 1, n - 1, p + 1, m - 1);
}

static bool t_ref_eval(const struct t_ref *e, const struct tv_value *row)
{
	const struct tv_value *v = &row[e->col];
	bool any = false;

	switch (e->op) {
	case TV_OP_AND:
		return t_ref_eval(e->a, row) && t_ref_eval(e->b, row);
	case TV_OP_OR:
		return t_ref_eval(e->a, row) || t_ref_eval(e->b, row);
	case TV_OP_NOT:
		return !t_ref_eval(e->a, row);
	case TV_OP_IS_NULL:
		return v->type == TV_NULL;
	case TV_OP_NOT_NULL:
		return v->type != TV_NULL;
	default:
		break;
	}
	if (v->type == TV_NULL)
		return false;
	for (uint32_t i = 0; i < e->nlit; i++)
		if (e->lit[i].type == TV_NULL && e->op != TV_OP_IN)
			return false;
	switch (e->op) {
	case TV_OP_EQ:
		return t_ref_cmp(v, &e->lit[0]) == 0;
	case TV_OP_NE:
		return t_ref_cmp(v, &e->lit[0]) != 0;
	case TV_OP_LT:
		return t_ref_cmp(v, &e->lit[0]) < 0;
	case TV_OP_LE:
		return t_ref_cmp(v, &e->lit[0]) <= 0;
	case TV_OP_GT:
		return t_ref_cmp(v, &e->lit[0]) > 0;
	case TV_OP_GE:
		return t_ref_cmp(v, &e->lit[0]) >= 0;
	case TV_OP_BETWEEN:
		return t_ref_cmp(v, &e->lit[0]) >= 0 && t_ref_cmp(v, &e->lit[1]) <= 0;
	case TV_OP_IN:
		for (uint32_t i = 0; i < e->nlit; i++)
			any |= e->lit[i].type != TV_NULL && t_ref_cmp(v, &e->lit[i]) == 0;
		return any;
	case TV_OP_LIKE:
		return t_ref_like(v->u.bytes, v->len, e->lit[0].u.bytes, e->lit[0].len);
	default:        /* PREFIX */
		return v->len >= e->lit[0].len &&
		       (e->lit[0].len == 0 ||
			memcmp(v->u.bytes, e->lit[0].u.bytes, e->lit[0].len) == 0);
	}
}

/* ---- random expressions (over a column set, for WHERE and HAVING) ---- */

struct t_cols {
	const char *names[T_COLS_MAX + 16];
	uint8_t types[T_COLS_MAX + 16];
	uint32_t n;
};

static struct t_ref *t_ref_new(uint8_t op, uint32_t col)
{
	struct t_ref *r;

	assert_true(t_nrefs < 512);
	r = &t_refs[t_nrefs++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->col = col;
	return r;
}

static struct tv_expr *t_leaf(const struct t_cols *cs, struct t_ref **ref)
{
	uint32_t c = (uint32_t)t_below(cs->n);
	unsigned type = cs->types[c];
	const char *name = cs->names[c];
	unsigned pick = (unsigned)t_below(tv_type_is_var(type) ? 12 : 10);
	struct t_ref *r;

	if (pick == 10 || (pick == 11 && type != TV_TEXT)) {          /* PREFIX */
		struct tv_value p = t_bytes(type == TV_BLOB ? TV_BLOB : TV_TEXT);

		r = *ref = t_ref_new(TV_OP_PREFIX, c);
		r->lit[0] = p;
		r->nlit = 1;
		return tv_expr_prefix(name, p.u.bytes, p.len);
	}
	if (pick == 11) {                                               /* LIKE */
		struct tv_value p = t_bytes(TV_TEXT);

		r = *ref = t_ref_new(TV_OP_LIKE, c);
		r->lit[0] = p;
		r->nlit = 1;
		return tv_expr_like(name, p.u.bytes, p.len);
	}
	if (pick == 8)
		return *ref = t_ref_new(TV_OP_IS_NULL, c), tv_expr_is_null(name);
	if (pick == 9)
		return *ref = t_ref_new(TV_OP_NOT_NULL, c), tv_expr_not_null(name);
	if (pick == 6) {                                                /* IN */
		r = *ref = t_ref_new(TV_OP_IN, c);
		r->nlit = 1 + (uint32_t)t_below(4);
		for (uint32_t i = 0; i < r->nlit; i++)
			r->lit[i] = t_literal(type);
		return tv_expr_in(name, r->lit, r->nlit);
	}
	if (pick == 7) {                                                /* BETWEEN */
		r = *ref = t_ref_new(TV_OP_BETWEEN, c);
		r->lit[0] = t_literal(type);
		r->lit[1] = t_literal(type);
		r->nlit = 2;
		return tv_expr_between(name, r->lit[0], r->lit[1]);
	}
	r = *ref = t_ref_new((uint8_t)(TV_OP_EQ + pick), c);          /* EQ..GE */
	r->lit[0] = t_literal(type);
	r->nlit = 1;
	return tv_expr_cmp(r->op, name, r->lit[0]);
}

static struct tv_expr *t_expr(const struct t_cols *cs, unsigned depth, struct t_ref **ref)
{
	unsigned pick = depth ? (unsigned)t_below(6) : 0;
	struct t_ref *r;
	struct tv_expr *a, *b;

	if (pick < 3)
		return t_leaf(cs, ref);
	r = *ref = t_ref_new(pick == 3 ? TV_OP_AND : pick == 4 ? TV_OP_OR : TV_OP_NOT, 0);
	a = t_expr(cs, depth - 1, &r->a);
	if (pick == 5)
		return tv_expr_not(a);
	b = t_expr(cs, depth - 1, &r->b);
	return pick == 3 ? tv_expr_and(a, b) : tv_expr_or(a, b);
}

/* ---- random queries and their reference answers ---------------------- */

struct t_agg {
	uint8_t fn;
	int32_t col;            /* -1: COUNT(*) */
};

struct t_query {
	struct tv_query *q;
	struct t_ref *where, *having;
	bool agg;
	uint32_t group[2], ngroup;
	struct t_agg aggs[3];
	uint32_t naggs;
	uint32_t order[3], norder;
	bool desc[3];
	uint32_t proj[T_COLS_MAX + 8], nproj;
	bool has_limit;
	uint64_t limit, offset;
	struct t_cols in, out;
	char names[8][24];
};

static unsigned t_agg_type(unsigned fn, unsigned type)
{
	if (fn == TV_AGG_COUNT)
		return TV_U64;
	if (fn == TV_AGG_AVG)
		return TV_FLOAT;
	if (fn == TV_AGG_SUM)
		return type == TV_U8 ? TV_INTEGER : type;
	return type;
}

static void t_query_aggs(struct t_query *tq)
{
	static const char *const fns[] = { "", "count", "sum", "min", "max", "avg" };

	tq->ngroup = (uint32_t)t_below(3);
	for (uint32_t i = 0; i < tq->ngroup; i++) {
		tq->group[i] = (uint32_t)t_below(tq->in.n);
		assert_int_equal(tv_query_group_by(tq->q, tq->in.names[tq->group[i]]), 0);
		tq->out.names[tq->out.n] = tq->in.names[tq->group[i]];
		tq->out.types[tq->out.n++] = tq->in.types[tq->group[i]];
	}
	tq->naggs = (uint32_t)t_below(4);
	for (uint32_t i = 0; i < tq->naggs; i++) {
		struct t_agg *a = &tq->aggs[i];
		uint32_t c = (uint32_t)t_below(tq->in.n);
		unsigned t = tq->in.types[c];
		bool summable = t == TV_INTEGER || t == TV_U64 || t == TV_U8 || t == TV_FLOAT;

		a->fn = (uint8_t)(1 + t_below(5));
		a->col = (int32_t)c;
		if ((a->fn == TV_AGG_SUM || a->fn == TV_AGG_AVG) && !summable)
			a->fn = TV_AGG_MAX;
		if (a->fn == TV_AGG_COUNT && t_below(2))
			a->col = -1;
		assert_int_equal(tv_query_aggregate(tq->q, a->fn, a->col < 0 ? NULL :
						    tq->in.names[c]), 0);
		snprintf(tq->names[i], sizeof(tq->names[i]), "%s_%s", fns[a->fn],
			 a->col < 0 ? "star" : tq->in.names[c]);
		tq->out.names[tq->out.n] = tq->names[i];
		tq->out.types[tq->out.n++] = (uint8_t)t_agg_type(a->fn, t);
	}
	tq->agg = tq->ngroup + tq->naggs > 0;
	if (!tq->agg) {
		tq->out = tq->in;
		return;
	}
	if (t_below(3) == 0)
		assert_int_equal(tv_query_having(tq->q, t_expr(&tq->out, 1, &tq->having)), 0);
}

static void t_query_gen(struct t_query *tq, const struct t_table *t)
{
	memset(tq, 0, sizeof(*tq));
	assert_int_equal(tv_query_create("r", &tq->q), 0);
	for (uint32_t i = 0; i < t->ncols; i++) {
		tq->in.names[i] = t->cols[i].name;
		tq->in.types[i] = t->cols[i].type;
	}
	tq->in.n = t->ncols;
	if (t_below(5))
		assert_int_equal(tv_query_where(tq->q, t_expr(&tq->in, (unsigned)t_below(4),
							      &tq->where)), 0);
	if (t_below(3) == 0)
		t_query_aggs(tq);
	else
		tq->out = tq->in;
	tq->norder = (uint32_t)t_below(4);
	for (uint32_t i = 0; i < tq->norder; i++) {
		tq->order[i] = (uint32_t)t_below(tq->out.n);
		tq->desc[i] = t_below(2);
		assert_int_equal(tv_query_order_by(tq->q, tq->out.names[tq->order[i]], tq->desc[i]),
				 0);
	}
	tq->nproj = t_below(2) ? 0 : 1 + (uint32_t)t_below(tq->out.n);
	for (uint32_t i = 0; i < tq->nproj; i++) {
		tq->proj[i] = (uint32_t)t_below(tq->out.n);
		assert_int_equal(tv_query_select(tq->q, tq->out.names[tq->proj[i]]), 0);
	}
	if (!tq->nproj) {
		tq->nproj = tq->out.n;
		for (uint32_t i = 0; i < tq->nproj; i++)
			tq->proj[i] = i;
	}
	tq->has_limit = t_below(2);
	tq->limit = t_below(12);
	tq->offset = t_below(3) ? 0 : t_below(6);
	if (tq->has_limit)
		assert_int_equal(tv_query_limit(tq->q, tq->limit), 0);
	assert_int_equal(tv_query_offset(tq->q, tq->offset), 0);
}

/* The reference result: rows of out values (and tie-break values). */
struct t_rrow {
	struct tv_value v[T_COLS_MAX + 8];
	struct tv_value tie[T_COLS_MAX];
	uint32_t ntie;
};

static struct t_rrow t_ref_rows[T_ROWS_MAX + 1];
static const struct t_query *t_sort_q;

static int t_rrow_cmp(const void *x, const void *y)
{
	const struct t_rrow *a = x, *b = y;

	for (uint32_t i = 0; i < t_sort_q->norder; i++) {
		int c = tv_cmp(&a->v[t_sort_q->order[i]], &b->v[t_sort_q->order[i]]);

		if (c)
			return t_sort_q->desc[i] ? -c : c;
	}
	for (uint32_t i = 0; i < a->ntie; i++) {
		int c = tv_cmp(&a->tie[i], &b->tie[i]);

		if (c)
			return c;
	}
	return 0;
}

static int t_group_cmp(const void *x, const void *y)
{
	const struct t_rrow *a = x, *b = y;

	for (uint32_t i = 0; i < a->ntie; i++) {
		int c = tv_cmp(&a->tie[i], &b->tie[i]);

		if (c)
			return c;
	}
	return 0;
}

/* One aggregate over rows [from, to) of t_ref_rows (input values in .v).
 * False on overflow. */
static bool t_ref_agg(const struct t_agg *a, uint32_t from, uint32_t to, struct tv_value *out)
{
	__int128 sum = 0;
	double fsum = 0;
	uint64_t n = 0;
	const struct tv_value *best = NULL;

	for (uint32_t r = from; r < to; r++) {
		const struct tv_value *v = a->col < 0 ? NULL : &t_ref_rows[r].v[a->col];

		if (v && v->type == TV_NULL)
			continue;
		n++;
		if (!v)
			continue;
		if (v->type == TV_FLOAT)
			fsum += v->u.f64;
		else if (v->type == TV_U8)
			sum += v->u.u8;
		else if (v->type == TV_U64)
			sum += v->u.u64;
		else if (v->type == TV_INTEGER || v->type == TV_TIMESTAMP)
			sum += v->u.i64;
		if (!best || (a->fn == TV_AGG_MIN ? tv_cmp(v, best) < 0 : tv_cmp(v, best) > 0))
			best = v;
	}
	*out = tv_null();
	if (a->fn == TV_AGG_COUNT) {
		*out = tv_u64(n);
	} else if (n == 0) {
		return true;
	} else if (a->fn == TV_AGG_MIN || a->fn == TV_AGG_MAX) {
		*out = *best;
	} else if (best->type == TV_FLOAT) {
		*out = tv_float(a->fn == TV_AGG_SUM ? fsum : fsum / (double)n);
	} else if (a->fn == TV_AGG_AVG) {
		*out = tv_float((double)sum / (double)n);
	} else if (best->type == TV_U64) {
		if (sum > (__int128)UINT64_MAX)
			return false;
		*out = tv_u64((uint64_t)sum);
	} else {
		if (sum > INT64_MAX || sum < INT64_MIN)
			return false;
		*out = tv_integer((int64_t)sum);
	}
	return true;
}

/* Group t_ref_rows[0..n) (input rows) into output rows; returns the count,
 * or -1 on a SUM overflow. */
static int t_ref_group(const struct t_query *tq, uint32_t n)
{
	static struct t_rrow groups[T_ROWS_MAX + 1];
	uint32_t ng = 0, from = 0;

	for (uint32_t r = 0; r < n; r++) {
		t_ref_rows[r].ntie = tq->ngroup;
		for (uint32_t g = 0; g < tq->ngroup; g++)
			t_ref_rows[r].tie[g] = t_ref_rows[r].v[tq->group[g]];
	}
	qsort(t_ref_rows, n, sizeof(t_ref_rows[0]), t_group_cmp);
	while (from < n || (n == 0 && tq->ngroup == 0 && ng == 0)) {
		uint32_t to = from + 1;
		struct t_rrow *o = &groups[ng];

		while (to < n && t_group_cmp(&t_ref_rows[from], &t_ref_rows[to]) == 0)
			to++;
		if (n == 0)
			to = 0;
		memset(o, 0, sizeof(*o));
		o->ntie = tq->ngroup;
		for (uint32_t g = 0; g < tq->ngroup; g++)
			o->v[g] = o->tie[g] = t_ref_rows[from].tie[g];
		for (uint32_t i = 0; i < tq->naggs; i++)
			if (!t_ref_agg(&tq->aggs[i], from, to, &o->v[tq->ngroup + i]))
				return -1;
		ng++;
		from = to;
		if (n == 0)
			break;
	}
	memcpy(t_ref_rows, groups, ng * sizeof(groups[0]));
	return (int)ng;
}

/* The whole answer, before OFFSET/LIMIT, sorted; -1 on overflow. */
static int t_ref_run(const struct t_query *tq, const struct t_table *t)
{
	uint32_t n = 0, k = 0;
	int ng;

	for (uint32_t r = 0; r < t->nrows; r++) {
		if (tq->where && !t_ref_eval(tq->where, t->rows[r]))
			continue;
		memcpy(t_ref_rows[n].v, t->rows[r], t->ncols * sizeof(struct tv_value));
		t_ref_rows[n].ntie = t->s.npk;
		for (uint32_t i = 0; i < t->s.npk; i++)
			t_ref_rows[n].tie[i] = t->rows[r][t->s.pk[i]];
		n++;
	}
	if (tq->agg) {
		ng = t_ref_group(tq, n);
		if (ng < 0)
			return -1;
		for (uint32_t g = 0; g < (uint32_t)ng; g++)
			if (!tq->having || t_ref_eval(tq->having, t_ref_rows[g].v))
				t_ref_rows[k++] = t_ref_rows[g];
		n = k;
	}
	t_sort_q = tq;
	qsort(t_ref_rows, n, sizeof(t_ref_rows[0]), t_rrow_cmp);
	return (int)n;
}

/* ---- comparing -------------------------------------------------------- */

static bool t_same(const struct tv_value *a, const struct tv_value *b)
{
	if (a->type == TV_FLOAT && b->type == TV_FLOAT && isfinite(a->u.f64) &&
	    isfinite(b->u.f64)) {
		double x = a->u.f64 < 0 ? -a->u.f64 : a->u.f64;
		double y = b->u.f64 < 0 ? -b->u.f64 : b->u.f64;
		double m = x > y ? x : y, d = a->u.f64 - b->u.f64;

		m = m > 1.0 ? m : 1.0;
		return (d < 0 ? -d : d) <= 1e-9 * m;
	}
	return tv_cmp(a, b) == 0;
}

static void t_check_rows(const struct t_query *tq, const struct tv_result *r, uint64_t from,
			 uint64_t n)
{
	assert_int_equal(r->ncols, tq->nproj);
	assert_int_equal(r->nrows, n);
	for (uint64_t i = 0; i < n; i++) {
		for (uint32_t c = 0; c < tq->nproj; c++) {
			const struct tv_value *got = &r->rows[i * r->ncols + c];
			const struct tv_value *want = &t_ref_rows[from + i].v[tq->proj[c]];

			if (!t_same(got, want))
				fail_msg("row %llu col %s: got type %u, want type %u",
					 (unsigned long long)(from + i), r->names[c], got->type,
					 want->type);
		}
	}
}

static uint64_t t_paths[5], t_pages_run;

/* Pages of @page rows from the offset on must concatenate to ref[offset:]. */
static void t_check_pages(struct t_query *tq, const struct tv_env *env, uint64_t total)
{
	uint64_t page = 1 + t_below(6), at = tq->offset < total ? tq->offset : total;
	uint8_t *cur = NULL;
	size_t len = 0;

	assert_int_equal(tv_query_limit(tq->q, page), 0);
	for (;;) {
		struct tv_result *r = NULL;
		struct tv_qerr err;
		uint64_t want = total - at < page ? total - at : page;
		int rc;

		assert_int_equal(tv_query_set_cursor(tq->q, cur, len), 0);
		rc = tv_query_run(env, tq->q, NULL, &r, &err);
		if (rc)
			fail_msg("page query: %d %s", rc, err.msg);
		t_check_rows(tq, r, at, want);
		at += want;
		t_pages_run++;
		free(cur);
		cur = NULL;
		len = 0;
		assert_int_equal(r->truncated, at < total);
		if (!r->truncated) {
			tv_result_free(r);
			break;
		}
		len = r->cursor_len;
		cur = malloc(len);
		memcpy(cur, r->cursor, len);
		tv_result_free(r);
	}
	assert_int_equal(at, total);
	assert_int_equal(tv_query_set_cursor(tq->q, NULL, 0), 0);
	if (tq->has_limit)
		assert_int_equal(tv_query_limit(tq->q, tq->limit), 0);
	else
		assert_int_equal(tv_query_clear_limit(tq->q), 0);
}

static void t_check_query(struct t_query *tq, const struct tv_env *env, int total)
{
	struct tv_query_opts o;
	struct tv_result *r = NULL;
	struct tv_qerr err;
	uint64_t from, n;
	int rc;

	tv_query_opts_init(&o);
	o.want_total = true;
	rc = tv_query_run(env, tq->q, &o, &r, &err);
	if (total < 0) {
		assert_int_equal(rc, -AEDB_EOVERFLOW);
		return;
	}
	if (rc)
		fail_msg("query: %d %s", rc, err.msg);
	t_paths[r->plan.path]++;
	from = tq->offset < (uint64_t)total ? tq->offset : (uint64_t)total;
	n = (uint64_t)total - from;
	if (tq->has_limit && tq->limit < n)
		n = tq->limit;
	t_check_rows(tq, r, from, n);
	assert_int_equal(r->total, (uint64_t)total);
	assert_int_equal(r->truncated,
			 tq->has_limit && tq->limit > 0 && from + n < (uint64_t)total);
	tv_result_free(r);
	if (!tq->agg) {
		bool yes;

		assert_int_equal(tv_query_exists(env, tq->q, NULL, &yes, NULL), 0);
		assert_int_equal(yes, total > 0);
	}
	t_check_pages(tq, env, (uint64_t)total);
}

static void test_query_random(void **state)
{
	uint64_t seed = t_seed("table_query_random");
	static struct t_table t;
	static struct t_query qs[T_QUERIES];
	static int totals[T_QUERIES];

	(void)state;
	t_rng = seed;
	for (unsigned round = 0; round < T_TABLES; round++) {
		struct tv_memdb *dbs[4];
		uint64_t idx_seed;

		t_pool_used = 0;
		t_table_gen(&t);
		idx_seed = t_rand(&t_rng);
		dbs[0] = t_load(&t, 1, true, idx_seed);
		for (unsigned s = 1; s < 4; s++)
			dbs[s] = t_load(&t, 1u << s, false, idx_seed);
		for (unsigned i = 0; i < T_QUERIES; i++) {
			t_nrefs = 0;
			t_query_gen(&qs[i], &t);
			totals[i] = t_ref_run(&qs[i], &t);
			for (unsigned s = 0; s < 4; s++) {
				struct tv_env env;

				tv_memdb_env(dbs[s], &env);
				/* The reference rows are recomputed: pages reuse them. */
				totals[i] = t_ref_run(&qs[i], &t);
				t_check_query(&qs[i], &env, totals[i]);
			}
			tv_query_free(qs[i].q);
		}
		for (unsigned s = 0; s < 4; s++)
			tv_memdb_free(dbs[s]);
	}
	fprintf(stderr, "paths: empty %llu, pk point %llu, pk range %llu, index %llu, "
		"full %llu; pages %llu\n", (unsigned long long)t_paths[0],
		(unsigned long long)t_paths[1], (unsigned long long)t_paths[2],
		(unsigned long long)t_paths[3], (unsigned long long)t_paths[4],
		(unsigned long long)t_pages_run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
