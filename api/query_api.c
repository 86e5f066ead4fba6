/* SPDX-License-Identifier: MIT */
/* The public query API: thin wrappers over table/expr.h and table/query.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/db.h"
#include "api/query.h"
#include "core/assert.h"

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

AEDB_API int aedb_query_run(struct aedb *db, const char *project, const char *scope,
			    const struct aedb_query *q, struct aedb_at at,
			    struct aedb_query_result **out)
{
	struct aedb_query_result *res;
	struct tv_query_opts o;
	struct tv_result *r = NULL;
	int rc;

	if (!db || !q || !out)
		return -AEDB_EMISUSE;
	*out = NULL;
	res = calloc(1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	tv_query_opts_init(&o);
	o.max_scan_rows = db->cfg.max_scan_rows;
	rc = api_query_run(db, project, scope, (const struct tv_query *)q, at, &o, &r, NULL);
	if (rc < 0) {
		free(res);
		return tv_query_error_public(rc);
	}
	res->snapshot_seq = r->snapshot_seq;
	res->nrows = r->nrows;
	res->ncols = r->ncols;
	res->truncated = r->truncated;
	res->names = r->names;
	res->rows = (const struct aedb_value *)r->rows;
	res->cursor = r->cursor;
	res->cursor_len = r->cursor_len;
	res->rows_examined = r->rows_examined;
	res->priv = r;
	*out = res;
	return 0;
}

AEDB_API void aedb_query_result_free(struct aedb_query_result *r)
{
	if (!r)
		return;
	tv_result_free(r->priv);
	free(r);
}
