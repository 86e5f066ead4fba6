/* SPDX-License-Identifier: MIT */
/*
 * Running a plan: read the access path's key ranges through the merged
 * shard cursors (or point fetches), decode and filter each row, hand it to
 * the joins, the aggregation or straight to the collector, and build the
 * result. Also the entry points: run, explain, exists, batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/keyenc.h"
#include "table/query_int.h"
#include "table/row.h"

/* ---- byte buffers --------------------------------------------------- */

int tv_buf_reserve(struct tv_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 64;
	uint8_t *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	if (b->a) {
		/* doubling: the arena holds at most twice the final size */
		p = tv_arena_alloc(b->a, cap);
		if (p && b->len)
			memcpy(p, b->p, b->len);
	} else {
		p = realloc(b->p, cap);
	}
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int tv_buf_put(struct tv_buf *b, const void *p, size_t n)
{
	int rc = tv_buf_reserve(b, n);

	if (rc == 0 && n) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
	return rc;
}

int tv_buf_put_value(struct tv_buf *b, const struct tv_value *v, bool desc)
{
	size_t n = tv_key_size(v);
	int rc = tv_buf_reserve(b, n);

	if (rc)
		return rc;
	tv_key_put(v, b->p + b->len);
	/* Components are prefix-free, so inverting the bytes reverses their
	 * order without touching the order of what follows. */
	if (desc)
		for (size_t i = 0; i < n; i++)
			b->p[b->len + i] = (uint8_t)~b->p[b->len + i];
	b->len += n;
	return 0;
}

void tv_buf_free(struct tv_buf *b)
{
	if (!b->a)
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- accounting ----------------------------------------------------- */

int tv_exec_scanned(struct tv_exec *x, uint64_t n)
{
	x->scanned += n;
	if (x->scanned > x->p->o.max_scan_rows)
		return tv_qerr_set(x->err, -TV_ESCANLIMIT,
				   "the query read more than max_scan_rows (%" PRIu64 ") rows",
				   x->p->o.max_scan_rows);
	return 0;
}

int tv_exec_hold(struct tv_exec *x, int64_t n)
{
	AEDB_ASSERT(n >= 0 || (uint64_t)-n <= x->bytes);
	x->bytes += (uint64_t)n;
	if (x->bytes > x->peak)
		x->peak = x->bytes;
	if (n > 0 && x->bytes > x->p->o.max_bytes)
		return tv_qerr_set(x->err, -TV_EMEMLIMIT,
				   "the query would hold more than max_bytes (%" PRIu64 ") bytes",
				   x->p->o.max_bytes);
	return 0;
}

int tv_exec_emit(struct tv_exec *x)
{
	if (x->p->agg)
		return tv_aggr_add(x->aggr, x->vals);
	return tv_coll_add(x->coll, x->vals, x->tie.p, x->tie.len);
}

/* ---- scanning ------------------------------------------------------- */

struct tv_scan {
	struct tv_exec *x;
	struct tv_buf row;               /* copy of the base row (joins) */
	bool resume;                     /* seek past the cursor's access key */
};

/* One base row: decode, filter, pass on. @acc is its access-path key. */
static int tv_scan_row(struct tv_scan *s, const uint8_t *pk, size_t pklen,
		       const uint8_t *row, size_t rowlen, const uint8_t *acc, size_t acclen)
{
	struct tv_exec *x = s->x;
	struct tv_plan *p = x->p;
	int rc;

	AEDB_ASSERT(pk && row);
	if (p->njoins) {
		/* Joins fetch more rows from the sources; keep ours stable. */
		s->row.len = 0;
		rc = tv_buf_put(&s->row, row, rowlen);
		if (rc)
			return rc;
		row = s->row.p;
	}
	rc = tv_row_decode(p->base->schema, row, rowlen, x->vals);
	if (rc)
		return tv_qerr_set(x->err, rc, "table \"%s\": damaged row", p->q->table);
	if (p->base_filter && !tv_bexpr_eval(p->base_filter, x->vals))
		return 0;
	x->tie.len = 0;
	rc = tv_buf_put(&x->tie, pk, pklen);
	if (rc)
		return rc;
	x->acc_key = acc;
	x->acc_len = acclen;
	if (p->njoins)
		return tv_joins_expand(x->joins);
	return tv_exec_emit(x);
}

static int tv_scan_points(struct tv_scan *s)
{
	const struct tv_access *acc = &s->x->p->acc;
	const struct tv_table_source *t = s->x->p->base;
	const struct tv_cursor_data *cur = &s->x->p->cur;

	for (uint32_t i = 0; i < acc->nranges; i++) {
		const struct tv_range *r = &acc->ranges[i];
		struct tv_kv kv;
		int rc;

		if (s->resume && tv_key_cmp(r->lo, r->lo_len, cur->acc_key, cur->acc_len) <= 0)
			continue;
		rc = tv_exec_scanned(s->x, 1);
		if (rc == 0)
			rc = t->get(t->ctx, r->lo, r->lo_len, &kv);
		if (rc > 0)
			rc = tv_scan_row(s, r->lo, r->lo_len, kv.val, kv.val_len, r->lo, r->lo_len);
		if (rc)
			return rc;
	}
	return 0;
}

static int tv_scan_entry(struct tv_scan *s, const struct tv_kv *kv);

/* A unique index with every column bound: each range is one key, looked
 * up with the index's get() (one partition) instead of a merged seek. */
static int tv_scan_index_points(struct tv_scan *s)
{
	const struct tv_access *acc = &s->x->p->acc;
	const struct tv_index_source *ix = acc->index;
	const struct tv_cursor_data *cur = &s->x->p->cur;

	for (uint32_t i = 0; i < acc->nranges; i++) {
		const struct tv_range *r = &acc->ranges[i];
		struct tv_kv kv;
		int rc;

		if (s->resume && tv_key_cmp(r->lo, r->lo_len, cur->acc_key, cur->acc_len) <= 0)
			continue;
		rc = ix->get(ix->ctx, r->lo, r->lo_len, &kv);
		if (rc > 0) {
			kv.key = r->lo;
			kv.key_len = r->lo_len;
			rc = tv_scan_entry(s, &kv);
		} else if (rc == 0) {
			rc = tv_exec_scanned(s->x, 1);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* One entry of the merged cursor: a row, or an index entry to fetch. */
static int tv_scan_entry(struct tv_scan *s, const struct tv_kv *kv)
{
	const struct tv_access *acc = &s->x->p->acc;
	const struct tv_table_source *t = s->x->p->base;
	struct tv_kv row;
	int rc = tv_exec_scanned(s->x, 1);

	if (rc)
		return rc;
	if (acc->path != TV_PATH_INDEX)
		return tv_scan_row(s, kv->key, kv->key_len, kv->val, kv->val_len, kv->key,
				   kv->key_len);
	rc = t->get(t->ctx, kv->val, kv->val_len, &row);
	if (rc == 0)
		return tv_qerr_set(s->x->err, -AEDB_ECORRUPT, "index \"%s\": entry without its row",
				   acc->index->name);
	if (rc < 0)
		return rc;
	return tv_scan_row(s, kv->val, kv->val_len, row.val, row.val_len, kv->key, kv->key_len);
}

static int tv_scan_range(struct tv_scan *s, struct tv_merge *m, const struct tv_range *r)
{
	const struct tv_cursor_data *cur = &s->x->p->cur;
	const uint8_t *lo = r->lo;
	size_t lo_len = r->lo_len;
	bool after = false;
	int rc;

	if (s->resume) {
		if (r->has_hi && tv_key_cmp(cur->acc_key, cur->acc_len, r->hi, r->hi_len) >= 0)
			return 0;
		if (tv_key_cmp(cur->acc_key, cur->acc_len, lo, lo_len) >= 0) {
			lo = cur->acc_key;
			lo_len = cur->acc_len;
			after = true;
		}
	}
	rc = tv_merge_seek(m, lo, lo_len, after);
	while (rc == 1) {
		const struct tv_kv *kv = tv_merge_kv(m);

		if (r->has_hi && tv_key_cmp(kv->key, kv->key_len, r->hi, r->hi_len) >= 0)
			break;
		rc = tv_scan_entry(s, kv);
		if (rc)
			return rc;
		rc = tv_merge_next(m);
	}
	return rc < 0 ? rc : 0;
}

static int tv_exec_scan(struct tv_exec *x)
{
	struct tv_plan *p = x->p;
	const struct tv_access *acc = &p->acc;
	struct tv_scan s = { .x = x };
	struct tv_merge m;
	int rc = 0;

	if (acc->path == TV_PATH_EMPTY)
		return 0;
	if (p->has_limit && p->limit == 0 && !p->o.want_total)
		return 0;       /* LIMIT 0: nothing to read */
	s.resume = acc->ordered && p->has_cursor && p->cur.acc_len && !p->o.want_total;
	if (acc->path == TV_PATH_PK_POINT) {
		rc = tv_scan_points(&s);
	} else if (acc->path == TV_PATH_INDEX && acc->index->unique && acc->index->get &&
		   acc->neq == acc->nkey) {
		rc = tv_scan_index_points(&s);
	} else {
		if (acc->path == TV_PATH_INDEX)
			rc = tv_merge_open(&m, acc->index->nparts, acc->index->open,
					   acc->index->ctx);
		else
			rc = tv_merge_open(&m, p->base->nshards, p->base->open, p->base->ctx);
		for (uint32_t i = 0; rc == 0 && i < acc->nranges; i++)
			rc = tv_scan_range(&s, &m, &acc->ranges[i]);
		tv_merge_close(&m);     /* safe after a failed open too */
	}
	tv_buf_free(&s.row);
	return rc == TV_EXEC_STOP ? 0 : rc;
}

/* ---- running -------------------------------------------------------- */

/* A result and its arena, whose first block follows in the same
 * allocation: a small result (a point query's row, its names and types, a
 * caller's wrapper) costs one malloc. */
struct tv_result_box {
	struct tv_result r;
	struct tv_arena a;
	_Alignas(16) unsigned char first[];
};

/* Bytes of a result's first block: room for the rows the plan expects
 * (the keys of a point lookup, a LIMIT up to the collector's one-shot
 * page), their names and some payload; more goes to further blocks. */
#define TV_RESULT_FIRST_MIN 1024u
#define TV_RESULT_FIRST_MAX (64u * 1024u)

static size_t tv_result_first_bytes(const struct tv_plan *p)
{
	uint64_t rows = 16, n;

	if (p->acc.path == TV_PATH_PK_POINT || p->acc.path == TV_PATH_EMPTY)
		rows = p->acc.nranges;
	if (p->has_limit && (p->limit < rows || (!p->agg && p->limit <= TV_COLL_ROWS_ONCE)))
		rows = p->limit;
	n = TV_RESULT_FIRST_MIN + (uint64_t)p->nproj * 64 +
	    rows * p->nproj * (sizeof(struct tv_value) + 24);
	return n < TV_RESULT_FIRST_MAX ? (size_t)n : TV_RESULT_FIRST_MAX;
}

static struct tv_result_box *tv_result_box_new(const struct tv_plan *p)
{
	size_t first = tv_result_first_bytes(p);
	struct tv_result_box *b = malloc(sizeof(*b) + first);

	if (!b)
		return NULL;
	/* All but the plan text, which stays an empty string. */
	memset(b, 0, offsetof(struct tv_result_box, r.plan.text));
	b->r.plan.text[0] = 0;
	memset(&b->r.plan + 1, 0, sizeof(*b) - offsetof(struct tv_result_box, r.plan) -
				      sizeof(b->r.plan));
	tv_arena_init_buf(&b->a, b->first, first);
	return b;
}

void tv_result_free(struct tv_result *r)
{
	struct tv_result_box *b = (struct tv_result_box *)r;

	if (!b)
		return;
	tv_arena_free(&b->a);
	free(b);
}

void *tv_result_alloc(struct tv_result *r, size_t n)
{
	struct tv_result_box *b = (struct tv_result_box *)r;

	AEDB_ASSERT(b != NULL);
	return tv_arena_alloc(&b->a, n);
}

static int tv_exec_result(struct tv_exec *x, struct tv_result_box *b)
{
	struct tv_plan *p = x->p;
	struct tv_result *r = &b->r;
	const char **names = tv_arena_alloc(&b->a, p->nproj * sizeof(*names) + 1);
	uint8_t *types = tv_arena_alloc(&b->a, p->nproj + 1);

	if (!names || !types)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->nproj; i++) {
		names[i] = tv_arena_dup(&b->a, p->res_names[i], strlen(p->res_names[i]) + 1);
		types[i] = p->res_types[i];
		if (!names[i])
			return -ENOMEM;
	}
	r->ncols = p->nproj;
	r->names = names;
	r->types = types;
	r->snapshot_seq = p->env->snapshot_seq;
	if (p->o.no_plan_text)  /* the text stays empty (tv_result_box_new) */
		memcpy(&r->plan, &p->desc, offsetof(struct tv_plan_desc, text));
	else
		r->plan = p->desc;
	return tv_coll_finish(x->coll, r, &b->a);
}

static int tv_exec_run(struct tv_plan *p, struct tv_result_box *b, struct tv_qerr *err)
{
	struct tv_exec x = { .p = p, .err = err, .ra = &b->a, .tie.a = p->a };
	int rc;

	x.vals = tv_arena_zalloc(p->a, (p->in.n + 1) * sizeof(*x.vals));
	rc = x.vals && tv_buf_reserve(&x.tie, 64) == 0 ? 0 : -ENOMEM;
	if (rc == 0)
		rc = tv_coll_create(&x, p->acc.ordered, &x.coll);
	if (rc == 0 && p->agg)
		rc = tv_aggr_create(&x, &x.aggr);
	if (rc == 0 && p->njoins)
		rc = tv_joins_create(&x, &x.joins);
	if (rc == 0)
		rc = tv_exec_scan(&x);
	if (rc == 0 && p->agg)
		rc = tv_aggr_finish(x.aggr);
	if (rc == 0)
		rc = tv_exec_result(&x, b);
	b->r.rows_examined = x.scanned;
	b->r.bytes_peak = x.peak;
	b->r.total = x.coll && p->o.want_total ? tv_coll_total(x.coll) : 0;
	tv_joins_free(x.joins);
	tv_aggr_free(x.aggr);
	tv_coll_free(x.coll);
	tv_buf_free(&x.tie);
	if (rc == -ENOMEM)
		tv_qerr_set(err, rc, "out of memory running the query");
	else if (rc > 0)
		rc = tv_qerr_set(err, -AEDB_EINVAL, "source returned %d", rc);
	return rc;
}

/* Stack bytes for planning: a simple query's plan fits, so it plans
 * without malloc; a larger one continues in heap blocks. */
#define TV_PLAN_STACK_BYTES 4096u

/* Plan and run; @exists_only forces LIMIT 1 without offset or total. */
static int tv_query_go(const struct tv_env *env, const struct tv_query *q,
		       const struct tv_query_opts *o, bool exists_only, struct tv_result **out,
		       struct tv_qerr *err)
{
	_Alignas(16) unsigned char plan_buf[TV_PLAN_STACK_BYTES];
	struct tv_result_box *b = NULL;
	struct tv_arena a;
	struct tv_plan p;
	int rc;

	if (!out)
		return tv_qerr_set(err, -AEDB_EMISUSE, "NULL result pointer");
	*out = NULL;
	tv_arena_init_buf(&a, plan_buf, sizeof(plan_buf));
	rc = tv_plan_build(&p, env, q, o, &a, err);
	if (rc == 0 && !p.o.no_plan_text)
		tv_plan_describe_text(&p);
	if (rc == 0 && exists_only) {
		p.has_limit = true;
		p.limit = 1;
		p.offset = 0;
		p.o.want_total = false;
	}
	if (rc == 0) {
		b = tv_result_box_new(&p);
		if (!b)
			rc = tv_qerr_set(err, -ENOMEM, "out of memory");
	}
	if (rc == 0)
		rc = tv_exec_run(&p, b, err);
	tv_arena_free(&a);
	if (rc) {
		tv_result_free(b ? &b->r : NULL);
		return rc;
	}
	*out = &b->r;
	return 0;
}

int tv_query_run(const struct tv_env *env, const struct tv_query *q,
		 const struct tv_query_opts *o, struct tv_result **out, struct tv_qerr *err)
{
	return tv_query_go(env, q, o, false, out, err);
}

int tv_query_exists(const struct tv_env *env, const struct tv_query *q,
		    const struct tv_query_opts *o, bool *out, struct tv_qerr *err)
{
	struct tv_result *r;
	int rc;

	if (!out)
		return tv_qerr_set(err, -AEDB_EMISUSE, "NULL output");
	rc = tv_query_go(env, q, o, true, &r, err);
	if (rc)
		return rc;
	*out = r->nrows > 0;
	tv_result_free(r);
	return 0;
}

int tv_query_explain(const struct tv_env *env, const struct tv_query *q,
		     const struct tv_query_opts *o, struct tv_plan_desc *out,
		     struct tv_qerr *err)
{
	struct tv_arena a;
	struct tv_plan p;
	int rc;

	if (!out)
		return tv_qerr_set(err, -AEDB_EMISUSE, "NULL output");
	tv_arena_init(&a);
	rc = tv_plan_build(&p, env, q, o, &a, err);
	if (rc == 0) {
		tv_plan_describe_text(&p);
		*out = p.desc;
	}
	tv_arena_free(&a);
	return rc;
}

int tv_query_batch(const struct tv_env *env, const struct tv_query *const *qs, size_t n,
		   const struct tv_query_opts *o, struct tv_result **outs, size_t *failed,
		   struct tv_qerr *err)
{
	if (n && (!qs || !outs))
		return tv_qerr_set(err, -AEDB_EMISUSE, "NULL batch");
	for (size_t i = 0; i < n; i++) {
		int rc = tv_query_run(env, qs[i], o, &outs[i], err);

		if (rc) {
			for (size_t j = 0; j < i; j++) {
				tv_result_free(outs[j]);
				outs[j] = NULL;
			}
			if (failed)
				*failed = i;
			return rc;
		}
	}
	return 0;
}
