/* SPDX-License-Identifier: MIT */
/* The public query API: thin wrappers over table/expr.h and table/query.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/db.h"
#include "api/query.h"
#include "core/assert.h"
#include "table/query_int.h"

/* The public objects are the table layer's: struct aedb_expr is a tv_expr,
 * struct aedb_query a tv_query, struct aedb_value a tv_value. */
#define API_EXPR(e) ((struct tv_expr *)(e))
#define API_PUB(e) ((struct aedb_expr *)(e))
#define API_Q(q) ((struct tv_query *)(q))

AEDB_STATIC_ASSERT((int)AEDB_CMP_EQ == (int)TV_OP_EQ && (int)AEDB_CMP_GE == (int)TV_OP_GE,
		   "comparison operators are the table layer's");
AEDB_STATIC_ASSERT((int)AEDB_AGG_COUNT == (int)TV_AGG_COUNT &&
		   (int)AEDB_AGG_AVG == (int)TV_AGG_AVG, "aggregates are the table layer's");
AEDB_STATIC_ASSERT((int)AEDB_JOIN_INNER == (int)TV_JOIN_INNER &&
		   (int)AEDB_JOIN_LEFT == (int)TV_JOIN_LEFT, "joins are the table layer's");

static struct tv_value api_lit(const struct aedb_value *v)
{
	struct tv_value t;

	memcpy(&t, v, sizeof(t));
	memset(t.reserved, 0, sizeof(t.reserved));
	if (t.type == TV_FLOAT)
		t.u.f64 = tv_f64_canon(t.u.f64);
	return t;
}

AEDB_API struct aedb_expr *aedb_expr_cmp(uint32_t cmp, const char *col,
					 const struct aedb_value *lit)
{
	if (!col || !lit || cmp < AEDB_CMP_EQ || cmp > AEDB_CMP_GE)
		return NULL;
	return API_PUB(tv_expr_cmp((enum tv_op)cmp, col, api_lit(lit)));
}

AEDB_API struct aedb_expr *aedb_expr_in(const char *col, const struct aedb_value *lits,
					size_t n)
{
	struct tv_value *v;
	struct tv_expr *e;

	if (!col || (!lits && n))
		return NULL;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = api_lit(&lits[i]);
	e = tv_expr_in(col, v, n);
	free(v);
	return API_PUB(e);
}

AEDB_API struct aedb_expr *aedb_expr_between(const char *col, const struct aedb_value *lo,
					     const struct aedb_value *hi)
{
	if (!col || !lo || !hi)
		return NULL;
	return API_PUB(tv_expr_between(col, api_lit(lo), api_lit(hi)));
}

AEDB_API struct aedb_expr *aedb_expr_is_null(const char *col)
{
	return col ? API_PUB(tv_expr_is_null(col)) : NULL;
}

AEDB_API struct aedb_expr *aedb_expr_not_null(const char *col)
{
	return col ? API_PUB(tv_expr_not_null(col)) : NULL;
}

AEDB_API struct aedb_expr *aedb_expr_like(const char *col, const void *pattern, size_t len)
{
	return col && (pattern || !len) ? API_PUB(tv_expr_like(col, pattern, len)) : NULL;
}

AEDB_API struct aedb_expr *aedb_expr_prefix(const char *col, const void *prefix, size_t len)
{
	return col && (prefix || !len) ? API_PUB(tv_expr_prefix(col, prefix, len)) : NULL;
}

AEDB_API struct aedb_expr *aedb_expr_and(struct aedb_expr *a, struct aedb_expr *b)
{
	return API_PUB(tv_expr_and(API_EXPR(a), API_EXPR(b)));
}

AEDB_API struct aedb_expr *aedb_expr_or(struct aedb_expr *a, struct aedb_expr *b)
{
	return API_PUB(tv_expr_or(API_EXPR(a), API_EXPR(b)));
}

AEDB_API struct aedb_expr *aedb_expr_not(struct aedb_expr *a)
{
	return API_PUB(tv_expr_not(API_EXPR(a)));
}

AEDB_API void aedb_expr_free(struct aedb_expr *e)
{
	tv_expr_free(API_EXPR(e));
}

AEDB_API int aedb_query_create(const char *table, struct aedb_query **out)
{
	if (!out)
		return -AEDB_EMISUSE;
	return tv_query_create(table, (struct tv_query **)out);
}

AEDB_API void aedb_query_free(struct aedb_query *q)
{
	tv_query_free(API_Q(q));
}

AEDB_API int aedb_query_select(struct aedb_query *q, const char *col)
{
	return tv_query_select(API_Q(q), col);
}

AEDB_API int aedb_query_where(struct aedb_query *q, struct aedb_expr *e)
{
	if (!e) {
		return q ? -ENOMEM : -AEDB_EMISUSE;
	}
	return tv_query_where(API_Q(q), API_EXPR(e));
}

AEDB_API int aedb_query_order_by(struct aedb_query *q, const char *col, bool desc)
{
	return tv_query_order_by(API_Q(q), col, desc);
}

AEDB_API int aedb_query_limit(struct aedb_query *q, uint64_t n)
{
	return tv_query_limit(API_Q(q), n);
}

AEDB_API int aedb_query_clear_limit(struct aedb_query *q)
{
	return tv_query_clear_limit(API_Q(q));
}

AEDB_API int aedb_query_offset(struct aedb_query *q, uint64_t n)
{
	return tv_query_offset(API_Q(q), n);
}

AEDB_API int aedb_query_group_by(struct aedb_query *q, const char *col)
{
	return tv_query_group_by(API_Q(q), col);
}

AEDB_API int aedb_query_aggregate(struct aedb_query *q, uint32_t agg, const char *col)
{
	if (agg < AEDB_AGG_COUNT || agg > AEDB_AGG_AVG)
		return q ? -AEDB_EINVAL : -AEDB_EMISUSE;
	return tv_query_aggregate(API_Q(q), (enum tv_agg)agg, col);
}

AEDB_API int aedb_query_having(struct aedb_query *q, struct aedb_expr *e)
{
	if (!e)
		return q ? -ENOMEM : -AEDB_EMISUSE;
	return tv_query_having(API_Q(q), API_EXPR(e));
}

AEDB_API int aedb_query_join(struct aedb_query *q, uint32_t kind, const char *table,
			     const char *alias, const char *left_col, const char *right_col)
{
	if (kind != AEDB_JOIN_INNER && kind != AEDB_JOIN_LEFT)
		return q ? -AEDB_EINVAL : -AEDB_EMISUSE;
	return tv_query_join(API_Q(q), (enum tv_join_kind)kind, table, alias, left_col,
			     right_col);
}

AEDB_API int aedb_query_set_cursor(struct aedb_query *q, const void *cursor, size_t len)
{
	return tv_query_set_cursor(API_Q(q), cursor, len);
}

AEDB_STATIC_ASSERT((int)AEDB_PATH_EMPTY == (int)TV_PATH_EMPTY &&
		   (int)AEDB_PATH_FULL_SCAN == (int)TV_PATH_FULL_SCAN,
		   "access paths are the table layer's");
AEDB_STATIC_ASSERT(AEDB_PLAN_TEXT_BYTES == TV_PLAN_TEXT_BYTES, "plan text size");
AEDB_STATIC_ASSERT(sizeof(((struct aedb_query_plan *)0)->index) ==
		   sizeof(((struct tv_plan_desc *)0)->index), "plan index name size");
AEDB_STATIC_ASSERT(sizeof(((struct aedb_query_error *)0)->msg) >= TV_QERR_MSG_BYTES,
		   "error message size");

AEDB_API void aedb_query_opts_init(struct aedb_query_opts *o)
{
	if (o)
		memset(o, 0, sizeof(*o));
}

/* The engine's options from the public ones (NULL: defaults). */
static int api_qopts(const struct aedb *db, const struct aedb_query_opts *po,
		     struct tv_query_opts *o)
{
	tv_query_opts_init(o);
	o->max_scan_rows = db->cfg.max_scan_rows;
	/* Public results carry no plan; aedb_query_explain writes its text. */
	o->no_plan_text = true;
	if (!po)
		return 0;
	if ((po->flags & ~AEDB_QUERY_TOTAL) || po->pad || po->reserved[0] || po->reserved[1])
		return -AEDB_EINVAL;
	if (po->max_scan_rows)
		o->max_scan_rows = po->max_scan_rows;
	if (po->max_bytes)
		o->max_bytes = po->max_bytes;
	if (po->max_join_rows)
		o->max_join_rows = po->max_join_rows;
	if (po->max_join_bytes)
		o->max_join_bytes = po->max_join_bytes;
	o->want_total = (po->flags & AEDB_QUERY_TOTAL) != 0;
	return 0;
}

/* Copy the engine's error detail out (code already public). */
static int api_qerr_out(int rc, const struct tv_qerr *e, struct aedb_query_error *err)
{
	if (err) {
		err->code = rc;
		memset(err->msg, 0, sizeof(err->msg));
		if (e->code)
			memcpy(err->msg, e->msg, TV_QERR_MSG_BYTES);
		err->msg[sizeof(err->msg) - 1] = 0;
	}
	return rc;
}

/* Wrap engine result @r in a public one (takes @r; frees it on failure).
 * The wrapper lives in @r's arena: freeing @r frees it. */
static int api_qresult(struct tv_result *r, struct aedb_query_result **out)
{
	struct aedb_query_result *res = tv_result_alloc(r, sizeof(*res));

	if (!res) {
		tv_result_free(r);
		return -ENOMEM;
	}
	memset(res, 0, sizeof(*res));
	res->snapshot_seq = r->snapshot_seq;
	res->nrows = r->nrows;
	res->ncols = r->ncols;
	res->truncated = r->truncated;
	res->names = r->names;
	res->rows = (const struct aedb_value *)r->rows;
	res->cursor = r->cursor;
	res->cursor_len = r->cursor_len;
	res->rows_examined = r->rows_examined;
	res->total = r->total;
	res->priv = r;
	*out = res;
	return 0;
}

AEDB_API int aedb_query_run_ex(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, struct aedb_at at,
			       const struct aedb_query_opts *opts,
			       struct aedb_query_result **out, struct aedb_query_error *err)
{
	struct tv_qerr e = { 0 };
	struct tv_query_opts o;
	struct tv_result *r = NULL;
	int rc;

	if (!db || !q || !out)
		return api_qerr_out(-AEDB_EMISUSE, &e, err);
	*out = NULL;
	rc = api_qopts(db, opts, &o);
	if (rc == 0)
		rc = api_query_run(db, project, scope, (const struct tv_query *)q, at, &o, &r, &e);
	if (rc < 0)
		return api_qerr_out(api_query_public(rc), &e, err);
	return api_qerr_out(api_qresult(r, out), &e, err);
}

AEDB_API int aedb_query_run(struct aedb *db, const char *project, const char *scope,
			    const struct aedb_query *q, struct aedb_at at,
			    struct aedb_query_result **out)
{
	return aedb_query_run_ex(db, project, scope, q, at, NULL, out, NULL);
}

AEDB_API int aedb_query_list_with_total(struct aedb *db, const char *project,
					const char *scope, const struct aedb_query *q,
					struct aedb_at at, struct aedb_query_result **out)
{
	struct aedb_query_opts o = { .flags = AEDB_QUERY_TOTAL };

	return aedb_query_run_ex(db, project, scope, q, at, &o, out, NULL);
}

AEDB_API void aedb_query_result_free(struct aedb_query_result *r)
{
	if (!r)
		return;
	/* @r lives in the engine result's arena (api_qresult) */
	tv_result_free(r->priv);
}

struct api_qcall {
	const struct tv_query *const *qs;
	size_t n;
	const struct tv_query_opts *o;
	struct tv_result **outs;
	size_t *failed;
	bool exists;
	struct tv_plan_desc *plan;
	uint64_t snap;
	struct tv_qerr *err;
};

static int api_qcall_fn(const struct tv_env *env, void *arg)
{
	struct api_qcall *c = arg;

	c->snap = env->snapshot_seq;
	if (c->plan)
		return tv_query_explain(env, c->qs[0], c->o, c->plan, c->err);
	if (c->outs)
		return tv_query_batch(env, c->qs, c->n, c->o, c->outs, c->failed, c->err);
	return tv_query_exists(env, c->qs[0], c->o, &c->exists, c->err);
}

AEDB_API int aedb_query_exists(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, struct aedb_at at,
			       uint64_t *snapshot_seq)
{
	const struct tv_query *tq = (const struct tv_query *)q;
	struct tv_query_opts o;
	struct api_qcall c = { .qs = &tq, .n = 1, .o = &o };
	int rc;

	if (!db || !q)
		return -AEDB_EMISUSE;
	api_qopts(db, NULL, &o);
	if (tq->cursor) {
		uint64_t seq = 0;

		rc = tv_query_cursor_seq(tq->cursor, tq->cursor_len, &seq);
		if (rc < 0)
			return rc;
		at = aedb_at_seq(seq);
	}
	rc = api_query_with(db, project, scope, at, api_qcall_fn, &c);
	if (rc < 0)
		return api_query_public(rc);
	if (snapshot_seq)
		*snapshot_seq = c.snap;
	return c.exists ? 1 : 0;
}

static void api_plan_out(const struct tv_plan_desc *d, uint64_t snap,
			 struct aedb_query_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->snapshot_seq = snap;
	out->path = d->path;
	out->key_eq = d->key_eq;
	out->key_range = d->key_range;
	out->nranges = d->nranges;
	out->filter = d->filter;
	out->order_from_path = d->order_from_path;
	out->sort = d->sort;
	out->aggregate = d->aggregate;
	out->top_k = d->top_k;
	out->njoins = d->njoins;
	memcpy(out->index, d->index, sizeof(out->index));
	memcpy(out->text, d->text, sizeof(out->text));
	out->index[sizeof(out->index) - 1] = 0;
	out->text[sizeof(out->text) - 1] = 0;
}

AEDB_API int aedb_query_explain(struct aedb *db, const char *project, const char *scope,
				const struct aedb_query *q, struct aedb_at at,
				struct aedb_query_plan *out)
{
	const struct tv_query *tq = (const struct tv_query *)q;
	struct tv_plan_desc *d;
	struct tv_query_opts o;
	struct api_qcall c = { .qs = &tq, .n = 1, .o = &o };
	int rc;

	if (!db || !q || !out)
		return -AEDB_EMISUSE;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	c.plan = d;
	api_qopts(db, NULL, &o);
	rc = api_query_with(db, project, scope, at, api_qcall_fn, &c);
	if (rc == 0)
		api_plan_out(d, c.snap, out);
	free(d);
	return rc < 0 ? api_query_public(rc) : 0;
}

AEDB_API int aedb_query_batch(struct aedb *db, const char *project, const char *scope,
			      const struct aedb_query *const *qs, size_t n, struct aedb_at at,
			      const struct aedb_query_opts *opts,
			      struct aedb_query_result **outs, size_t *failed,
			      struct aedb_query_error *err)
{
	struct tv_qerr e = { 0 };
	struct tv_query_opts o;
	struct tv_result **rs;
	struct api_qcall c = { .qs = (const struct tv_query *const *)qs, .n = n, .o = &o,
			       .failed = failed, .err = &e };
	size_t i;
	int rc;

	if (!db || (n && (!qs || !outs)))
		return api_qerr_out(-AEDB_EMISUSE, &e, err);
	for (i = 0; i < n; i++) {
		if (!qs[i])
			return api_qerr_out(-AEDB_EMISUSE, &e, err);
		outs[i] = NULL;
	}
	if (n == 0)
		return 0;
	rc = api_qopts(db, opts, &o);
	if (rc < 0)
		return api_qerr_out(rc, &e, err);
	rs = calloc(n, sizeof(*rs));
	if (!rs)
		return api_qerr_out(-ENOMEM, &e, err);
	c.outs = rs;
	rc = api_query_with(db, project, scope, at, api_qcall_fn, &c);
	for (i = 0; rc == 0 && i < n; i++) {
		rc = api_qresult(rs[i], &outs[i]); /* takes rs[i], also on failure */
		rs[i] = NULL;
	}
	if (rc < 0) {
		/* tv_query_batch frees its results when it fails; after it,
		 * only a wrapping failure leaves some to free */
		for (size_t j = 0; j < n; j++) {
			tv_result_free(rs[j]);
			aedb_query_result_free(outs[j]);
			outs[j] = NULL;
		}
	}
	free(rs);
	return rc < 0 ? api_qerr_out(api_query_public(rc), &e, err) : 0;
}

int api_sq_query(struct aedb *db, const struct aedb_sqe *sqe)
{
	struct aedb_query_req *rq = sqe->out;
	struct aedb_at at = { sqe->at_mode, 0, sqe->at_seq };
	int rc;

	if (!rq)
		return -AEDB_EMISUSE;
	rq->result = NULL;
	rc = aedb_query_run_ex(db, rq->project, rq->scope, rq->q, at, rq->opts, &rq->result,
			       &rq->err);
	if (rc < 0)
		return rc;
	return rq->result->nrows > INT32_MAX ? INT32_MAX : (int)rq->result->nrows;
}

struct api_lth {
	const struct tv_query *src, *hyd;
	const char *src_col, *hyd_col;
	const struct tv_query_opts *o;
	struct tv_result *r1, *r2;
	struct tv_qerr err;
};

/* "@col IN (the non-NULL values of column @c of @r)", or NULL. */
static int api_lth_in(const struct tv_result *r, uint32_t c, const char *col,
		      struct tv_expr **out)
{
	struct tv_value *v = malloc((r->nrows ? r->nrows : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (uint64_t i = 0; i < r->nrows; i++)
		if (r->rows[i * r->ncols + c].type != TV_NULL)
			v[n++] = r->rows[i * r->ncols + c];
	*out = n <= TV_EXPR_IN_MAX ? tv_expr_in(col, v, n) : NULL;
	free(v);
	if (n > TV_EXPR_IN_MAX)
		return -AEDB_ETOOBIG;
	return *out ? 0 : -ENOMEM;
}

static int api_lth_fn(const struct tv_env *env, void *arg)
{
	struct api_lth *a = arg;
	struct tv_query q2;
	struct tv_expr *in = NULL;
	uint32_t c;
	int rc = tv_query_run(env, a->src, a->o, &a->r1, &a->err);

	if (rc < 0)
		return rc;
	for (c = 0; c < a->r1->ncols; c++)
		if (strcmp(a->r1->names[c], a->src_col) == 0)
			break;
	if (c == a->r1->ncols)
		return tv_qerr_set(&a->err, -TV_ENOCOLUMN, "no output column \"%s\"", a->src_col);
	rc = api_lth_in(a->r1, c, a->hyd_col, &in);
	if (rc == 0 && a->hyd->where) {
		in = tv_expr_and(tv_expr_copy(a->hyd->where), in);
		rc = in ? 0 : -ENOMEM;
	}
	if (rc < 0)
		return rc;
	q2 = *a->hyd;   /* shares every field but the WHERE; only read */
	q2.where = in;
	rc = tv_query_run(env, &q2, a->o, &a->r2, &a->err);
	tv_expr_free(in);
	return rc;
}

AEDB_API int aedb_query_lookup_then_hydrate(struct aedb *db, const char *project,
					    const char *scope, const struct aedb_query *source,
					    const char *source_col,
					    const struct aedb_query *hydrate,
					    const char *hydrate_col, struct aedb_at at,
					    struct aedb_query_result **source_out,
					    struct aedb_query_result **hydrate_out)
{
	struct tv_query_opts o;
	struct api_lth a = { .src = (const struct tv_query *)source,
			     .hyd = (const struct tv_query *)hydrate, .src_col = source_col,
			     .hyd_col = hydrate_col, .o = &o };
	int rc;

	if (!db || !source || !hydrate || !source_col || !hydrate_col || !source_out ||
	    !hydrate_out)
		return -AEDB_EMISUSE;
	*source_out = NULL;
	*hydrate_out = NULL;
	api_qopts(db, NULL, &o);
	rc = api_query_with(db, project, scope, at, api_lth_fn, &a);
	if (rc == 0) {
		rc = api_qresult(a.r1, source_out);
		a.r1 = NULL;
	}
	if (rc == 0) {
		rc = api_qresult(a.r2, hydrate_out);
		a.r2 = NULL;
	}
	tv_result_free(a.r1);
	tv_result_free(a.r2);
	if (rc < 0) {
		aedb_query_result_free(*source_out);
		*source_out = NULL;
		return api_query_public(rc);
	}
	return 0;
}
