/* SPDX-License-Identifier: MIT */
/*
 * Binding a query against its tables: column sets (qualified with joins),
 * WHERE split into the stages where its conjuncts can be decided, join
 * strategies, aggregates, HAVING, ORDER BY, projection and the cursor. The
 * access path is chosen in query_access.c; explain text is written here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/query_int.h"

static int tv_nomem(struct tv_plan *p)
{
	return tv_qerr_set(p->err, -ENOMEM, "out of memory planning the query");
}

static const char *tv_strcat3(struct tv_arena *a, const char *x, const char *y, const char *z)
{
	size_t lx = strlen(x), ly = strlen(y), lz = strlen(z);
	char *s = tv_arena_alloc(a, lx + ly + lz + 1);

	if (s) {
		memcpy(s, x, lx);
		memcpy(s + lx, y, ly);
		memcpy(s + lx + ly, z, lz + 1);
	}
	return s;
}

static int tv_cs_find(const struct tv_colset *cs, uint32_t limit, const char *name)
{
	for (uint32_t i = 0; i < limit && i < cs->n; i++)
		if (strcmp(cs->names[i], name) == 0)
			return (int)i;
	return -1;
}

static int tv_plan_table(struct tv_plan *p, const char *name,
			 const struct tv_table_source **out)
{
	int rc = p->env->table(p->env->ctx, name, out);

	if (rc)
		return tv_qerr_set(p->err, rc, "no table \"%s\"", name);
	if (!(*out)->schema || !(*out)->schema->checked || !(*out)->open || !(*out)->get)
		return tv_qerr_set(p->err, -AEDB_EMISUSE, "table \"%s\": incomplete source", name);
	return 0;
}

/* The input column set: the base schema's names, or "alias.col" for every
 * table when there are joins. */
static int tv_plan_colsets(struct tv_plan *p, const struct tv_table_source **srcs,
			   const char **aliases)
{
	const struct tv_schema *s = p->base->schema;
	uint32_t n = 0, k = 0;
	const char **names;
	uint8_t *types;

	for (uint32_t t = 0; t <= p->njoins; t++)
		n += srcs[t]->schema->ncols;
	names = tv_arena_alloc(p->a, (size_t)n * sizeof(*names));
	types = tv_arena_alloc(p->a, n);
	if (!names || !types)
		return tv_nomem(p);
	for (uint32_t t = 0; t <= p->njoins; t++) {
		const struct tv_schema *ts = srcs[t]->schema;

		if (t > 0) {
			p->joins[t - 1].off = k;
			p->joins[t - 1].ncols = ts->ncols;
		}
		for (uint32_t i = 0; i < ts->ncols; i++, k++) {
			names[k] = p->njoins ? tv_strcat3(p->a, aliases[t], ".", ts->cols[i].name)
					     : ts->cols[i].name;
			types[k] = ts->cols[i].type;
			if (!names[k])
				return tv_nomem(p);
		}
	}
	p->in = (struct tv_colset){ .names = names, .types = types, .n = n };
	p->base_cs.n = s->ncols;
	p->base_cs.types = types;
	if (!p->njoins) {
		p->base_cs.names = names;
		return 0;
	}
	p->base_cs.names = tv_arena_alloc(p->a, s->ncols * sizeof(char *));
	if (!p->base_cs.names)
		return tv_nomem(p);
	for (uint32_t i = 0; i < s->ncols; i++)
		((const char **)p->base_cs.names)[i] = s->cols[i].name;
	return 0;
}

/* How join @k finds its rows: by PK, PK prefix, an index, or a hash table. */
static void tv_plan_join_algo(struct tv_jplan *j)
{
	const struct tv_schema *s = j->src->schema;

	j->algo = TV_JOIN_ALGO_HASH;
	if (s->pk[0] == j->rcol) {
		j->algo = s->npk == 1 ? TV_JOIN_ALGO_PK : TV_JOIN_ALGO_PREFIX;
		return;
	}
	for (uint32_t i = 0; i < j->src->nindexes; i++) {
		const struct tv_index_source *x = &j->src->indexes[i];

		if (x->ncols && !x->partial && x->open && x->nparts &&
		    tv_schema_find(s, x->cols[0]) == (int)j->rcol) {
			j->algo = TV_JOIN_ALGO_INDEX;
			j->index = x;
			return;
		}
	}
}

static int tv_plan_join_cols(struct tv_plan *p, uint32_t k, const char *alias)
{
	const struct tv_qjoin *qj = &p->q->joins[k];
	struct tv_jplan *j = &p->joins[k];
	const char *right = qj->right;
	size_t al = strlen(alias);
	struct tv_value zero = tv_null(), tmp;
	enum tv_conv how;
	int c = tv_cs_find(&p->in, j->off, qj->left);

	if (c < 0)
		return tv_qerr_set(p->err, -TV_ENOCOLUMN,
				   "join %u: no column \"%s\" in an earlier table", k + 1,
				   qj->left);
	j->lcol = (uint32_t)c;
	if (strncmp(right, alias, al) == 0 && right[al] == '.')
		right += al + 1;
	c = tv_schema_find(j->src->schema, right);
	if (c < 0)
		return tv_qerr_set(p->err, -TV_ENOCOLUMN, "join %u: no column \"%s\" in \"%s\"",
				   k + 1, qj->right, alias);
	j->rcol = (uint32_t)c;
	zero.type = p->in.types[j->lcol];
	if (tv_convert(&zero, j->src->schema->cols[c].type, &tmp, &how))
		return tv_qerr_set(p->err, -AEDB_ETYPE,
				   "join %u: %s (%s) and %s (%s) do not compare", k + 1, qj->left,
				   tv_type_name(zero.type), qj->right,
				   tv_type_name(j->src->schema->cols[c].type));
	tv_plan_join_algo(j);
	return 0;
}

static int tv_plan_tables(struct tv_plan *p)
{
	const struct tv_table_source *srcs[TV_QUERY_JOIN_MAX + 1];
	const char *aliases[TV_QUERY_JOIN_MAX + 1];
	int rc = tv_plan_table(p, p->q->table, &p->base);

	if (rc)
		return rc;
	srcs[0] = p->base;
	aliases[0] = p->q->alias ? p->q->alias : p->q->table;
	p->njoins = p->q->njoins;
	for (uint32_t k = 0; k < p->njoins; k++) {
		const struct tv_qjoin *qj = &p->q->joins[k];

		rc = tv_plan_table(p, qj->table, &srcs[k + 1]);
		if (rc)
			return rc;
		aliases[k + 1] = qj->alias ? qj->alias : qj->table;
		for (uint32_t t = 0; t <= k; t++)
			if (strcmp(aliases[t], aliases[k + 1]) == 0)
				return tv_qerr_set(p->err, -AEDB_EINVAL,
						   "duplicate table alias \"%s\"", aliases[t]);
		p->joins[k].kind = qj->kind;
		p->joins[k].src = srcs[k + 1];
	}
	rc = tv_plan_colsets(p, srcs, aliases);
	for (uint32_t k = 0; rc == 0 && k < p->njoins; k++)
		rc = tv_plan_join_cols(p, k, aliases[k + 1]);
	return rc;
}

/* AND @e onto *@chain (arena nodes). */
static int tv_plan_and(struct tv_plan *p, const struct tv_bexpr **chain,
		       const struct tv_bexpr *e)
{
	struct tv_bexpr *n;

	if (!*chain) {
		*chain = e;
		return 0;
	}
	n = tv_arena_zalloc(p->a, sizeof(*n));
	if (!n)
		return tv_nomem(p);
	n->op = TV_B_AND;
	n->src = TV_OP_AND;
	n->a = *chain;
	n->b = e;
	*chain = n;
	return 0;
}

/* Give each top-level conjunct to the first stage where all its columns
 * are known: the base row, or the row of join k. */
static int tv_plan_split(struct tv_plan *p, const struct tv_bexpr *e)
{
	uint32_t lo, hi, stage = 0;

	if (e->op == TV_B_AND) {
		int rc = tv_plan_split(p, e->a);

		return rc ? rc : tv_plan_split(p, e->b);
	}
	tv_bexpr_cols(e, &lo, &hi);
	while (lo <= hi && stage < p->njoins && hi >= p->joins[stage].off)
		stage++;
	if (stage == 0)
		return tv_plan_and(p, &p->base_filter, e);
	return tv_plan_and(p, &p->joins[stage - 1].filter, e);
}

static int tv_plan_where(struct tv_plan *p)
{
	int rc;

	if (!p->q->where)
		return 0;
	rc = tv_expr_bind(p->q->where, &p->in, p->a, &p->where, p->err);
	if (rc)
		return rc;
	if (!p->njoins) {
		p->base_filter = p->where;
		return 0;
	}
	return tv_plan_split(p, p->where);
}

static const char *const tv_agg_names[] = { "", "count", "sum", "min", "max", "avg" };

static int tv_plan_aggs(struct tv_plan *p)
{
	const struct tv_query *q = p->q;
	uint32_t n = q->ngroup + q->naggs;
	const char **names;
	uint8_t *types;

	p->agg = n > 0;
	if (!p->agg) {
		p->out = p->in;
		return 0;
	}
	names = tv_arena_alloc(p->a, n * sizeof(*names));
	types = tv_arena_alloc(p->a, n);
	if (!names || !types)
		return tv_nomem(p);
	for (uint32_t i = 0; i < q->ngroup; i++) {
		int c = tv_cs_find(&p->in, p->in.n, q->group[i]);

		if (c < 0)
			return tv_qerr_set(p->err, -TV_ENOCOLUMN, "group by: no column \"%s\"",
					   q->group[i]);
		p->group[i] = (uint32_t)c;
		names[i] = p->in.names[c];
		types[i] = p->in.types[c];
	}
	p->ngroup = q->ngroup;
	for (uint32_t i = 0; i < q->naggs; i++) {
		struct tv_aggspec *g = &p->aggs[i];
		const char *col = q->aggs[i].col;
		int c = col ? tv_cs_find(&p->in, p->in.n, col) : -1, t;

		if (col && c < 0)
			return tv_qerr_set(p->err, -TV_ENOCOLUMN, "%s: no column \"%s\"",
					   tv_agg_names[q->aggs[i].fn], col);
		g->fn = q->aggs[i].fn;
		g->col = col ? (uint32_t)c : UINT32_MAX;
		g->in_type = col ? p->in.types[c] : TV_NULL;
		t = col ? tv_agg_type(g->fn, g->in_type) : TV_U64;
		if (t < 0)
			return tv_qerr_set(p->err, t, "%s over column \"%s\" of type %s",
					   tv_agg_names[g->fn], col, tv_type_name(g->in_type));
		g->out_type = (uint8_t)t;
		names[q->ngroup + i] = tv_strcat3(p->a, tv_agg_names[g->fn], "_",
						  col ? col : "star");
		types[q->ngroup + i] = g->out_type;
		if (!names[q->ngroup + i])
			return tv_nomem(p);
	}
	p->naggs = q->naggs;
	p->out = (struct tv_colset){ .names = names, .types = types, .n = n };
	return 0;
}

static int tv_plan_output(struct tv_plan *p)
{
	const struct tv_query *q = p->q;
	int rc;

	if (q->having && !p->agg)
		return tv_qerr_set(p->err, -AEDB_EINVAL, "HAVING needs aggregates or GROUP BY");
	if (q->having) {
		rc = tv_expr_bind(q->having, &p->out, p->a, &p->having, p->err);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < q->norder; i++) {
		int c = tv_cs_find(&p->out, p->out.n, q->order[i].col);

		if (c < 0)
			return tv_qerr_set(p->err, -TV_ENOCOLUMN, "order by: no column \"%s\"",
					   q->order[i].col);
		p->order[i] = (uint32_t)c;
		p->order_desc[i] = q->order[i].desc;
	}
	p->norder = q->norder;
	p->nproj = q->nselect ? q->nselect : p->out.n;
	p->proj = tv_arena_alloc(p->a, p->nproj * sizeof(*p->proj));
	p->res_names = tv_arena_alloc(p->a, p->nproj * sizeof(*p->res_names));
	p->res_types = tv_arena_alloc(p->a, p->nproj);
	if (!p->proj || !p->res_names || !p->res_types)
		return tv_nomem(p);
	for (uint32_t i = 0; i < p->nproj; i++) {
		int c = q->nselect ? tv_cs_find(&p->out, p->out.n, q->select[i]) : (int)i;

		if (c < 0)
			return tv_qerr_set(p->err, -TV_ENOCOLUMN, "select: no column \"%s\"",
					   q->select[i]);
		p->proj[i] = (uint32_t)c;
		p->res_names[i] = p->out.names[c];
		p->res_types[i] = p->out.types[c];
	}
	return 0;
}

static int tv_plan_cursor(struct tv_plan *p)
{
	const struct tv_query *q = p->q;

	p->has_limit = q->has_limit;
	p->limit = q->limit;
	p->offset = q->offset;
	if (!q->cursor_len)
		return 0;
	if (tv_cursor_decode(q->cursor, q->cursor_len, &p->cur))
		return tv_qerr_set(p->err, -AEDB_ECURSOR, "not a query cursor (or damaged)");
	if (p->cur.seq != p->env->snapshot_seq)
		return tv_qerr_set(p->err, -AEDB_ECURSOR,
				   "cursor is for snapshot %" PRIu64 ", this read is at %" PRIu64,
				   p->cur.seq, p->env->snapshot_seq);
	if (p->cur.fingerprint != tv_plan_fingerprint(p))
		return tv_qerr_set(p->err, -AEDB_ECURSOR, "cursor belongs to another query");
	p->has_cursor = true;
	p->offset = 0;          /* the cursor is past the first page's offset */
	return 0;
}

static void tv_plan_describe(struct tv_plan *p);

uint64_t tv_plan_fingerprint(struct tv_plan *p)
{
	if (!p->has_fingerprint) {
		p->fingerprint = tv_query_fingerprint(p->q);
		p->has_fingerprint = true;
	}
	return p->fingerprint;
}

static int tv_plan_opts(struct tv_plan *p, const struct tv_query_opts *o)
{
	if (o)
		p->o = *o;
	else
		tv_query_opts_init(&p->o);
	if (!p->o.max_scan_rows || !p->o.max_bytes || !p->o.max_join_rows ||
	    !p->o.max_join_bytes)
		return tv_qerr_set(p->err, -AEDB_EINVAL, "query limits must be > 0");
	return 0;
}

int tv_plan_build(struct tv_plan *p, const struct tv_env *env, const struct tv_query *q,
		  const struct tv_query_opts *o, struct tv_arena *a, struct tv_qerr *err)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->env = env;
	p->q = q;
	p->a = a;
	p->err = err;
	if (!env || !q || !env->table)
		return tv_qerr_set(err, -AEDB_EMISUSE, "NULL environment or query");
	rc = tv_plan_opts(p, o);
	if (rc == 0)
		rc = tv_plan_tables(p);
	if (rc == 0)
		rc = tv_plan_where(p);
	if (rc == 0)
		rc = tv_plan_aggs(p);
	if (rc == 0)
		rc = tv_plan_output(p);
	if (rc == 0)
		rc = tv_plan_cursor(p);
	if (rc == 0)
		rc = tv_plan_access(p);
	if (rc)
		return rc;
	tv_plan_describe(p);
	return 0;
}

/* ---- explain text --------------------------------------------------- */

struct tv_text {
	char *p;
	size_t len, cap;
};

static void tv_text_add(struct tv_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tv_text_add(struct tv_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

static const char *const tv_path_names[] = {
	"empty (the WHERE admits no row)", "pk point", "pk range", "index", "full scan",
};
static const char *const tv_algo_names[] = { "", "pk lookup", "pk prefix lookup",
					     "index lookup", "hash" };

static void tv_describe_access(struct tv_plan *p, struct tv_text *t)
{
	const struct tv_access *acc = &p->acc;

	tv_text_add(t, "access: %s", tv_path_names[acc->path]);
	if (acc->path == TV_PATH_INDEX)
		tv_text_add(t, " %s%s", acc->index->name,
			    acc->index->unique ? " (unique)" : "");
	if (acc->path == TV_PATH_PK_POINT)
		tv_text_add(t, " (%u key%s)", acc->nranges, acc->nranges == 1 ? "" : "s");
	if (acc->path == TV_PATH_PK_RANGE || acc->path == TV_PATH_INDEX)
		tv_text_add(t, " (= on %u col%s%s; %u range%s)", acc->neq,
			    acc->neq == 1 ? "" : "s", acc->range ? ", range on the next" : "",
			    acc->nranges, acc->nranges == 1 ? "" : "s");
	if (acc->path == TV_PATH_FULL_SCAN && p->base->rows_estimate)
		tv_text_add(t, " (~%" PRIu64 " rows)", p->base->rows_estimate);
	tv_text_add(t, "\n");
	if (p->base_filter)
		tv_text_add(t, "filter: where on each candidate row\n");
}

static void tv_plan_describe(struct tv_plan *p)
{
	struct tv_plan_desc *d = &p->desc;

	d->path = p->acc.path;
	if (p->acc.index)
		snprintf(d->index, sizeof(d->index), "%s", p->acc.index->name);
	d->key_eq = p->acc.neq;
	d->key_range = p->acc.range;
	d->nranges = p->acc.nranges;
	d->filter = p->where != NULL;
	d->order_from_path = p->acc.ordered;
	d->sort = !p->acc.ordered;
	d->top_k = d->sort && p->has_limit ? p->offset + p->limit + 1 : 0;
	d->aggregate = p->agg;
	d->ngroup = p->ngroup;
	d->naggs = p->naggs;
	d->having = p->having != NULL;
	d->njoins = p->njoins;
	for (uint32_t k = 0; k < p->njoins; k++)
		d->join_algo[k] = p->joins[k].algo;
	d->rows_estimate = p->base->rows_estimate;
}

void tv_plan_describe_text(struct tv_plan *p)
{
	struct tv_plan_desc *d = &p->desc;
	struct tv_text t = { .p = d->text, .cap = sizeof(d->text) };

	tv_describe_access(p, &t);
	for (uint32_t k = 0; k < p->njoins; k++)
		tv_text_add(&t, "join %u: %s %s on %s (%s%s%s)%s\n", k + 1,
			    p->joins[k].kind == TV_JOIN_LEFT ? "left" : "inner",
			    p->q->joins[k].table, p->in.names[p->joins[k].lcol],
			    tv_algo_names[p->joins[k].algo],
			    p->joins[k].index ? " " : "",
			    p->joins[k].index ? p->joins[k].index->name : "",
			    p->joins[k].filter ? "; filter" : "");
	if (p->agg)
		tv_text_add(&t, "aggregate: group by %u col%s, %u aggregate%s%s\n", p->ngroup,
			    p->ngroup == 1 ? "" : "s", p->naggs, p->naggs == 1 ? "" : "s",
			    p->having ? "; having" : "");
	if (d->order_from_path)
		tv_text_add(&t, "order: from the access path\n");
	else if (d->top_k)
		tv_text_add(&t, "order: sort, keep top %" PRIu64 "\n", d->top_k);
	else
		tv_text_add(&t, "order: sort all rows\n");
	if (p->has_limit)
		tv_text_add(&t, "limit: %" PRIu64 " offset %" PRIu64 "\n", p->limit, p->offset);
	tv_text_add(&t, "project: %u column%s\n", p->nproj, p->nproj == 1 ? "" : "s");
}
