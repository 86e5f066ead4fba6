/* SPDX-License-Identifier: MIT */
/*
 * The collector: every row that survives the filters (and aggregation)
 * arrives here with its sort key = the ORDER BY values (descending ones with
 * inverted bytes) followed by a unique tie-break (the PK; the group key; the
 * PKs of joined rows). Sort keys are distinct, so memcmp gives one total
 * order, and a cursor is simply the last row's sort key.
 *
 * Streaming (rows already arrive in sort-key order): skip the offset, keep
 * LIMIT rows, stop at the next one. A kept row is written straight into the
 * result: its projected values into the row array, their payloads copied
 * into the result's arena; only the last kept row's sort key is kept (the
 * cursor). Otherwise keep everything (no LIMIT) or a bounded max-heap of
 * offset + limit + 1 rows, then sort; such a kept row holds its sort key and
 * its projected values as one key-encoded tuple.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/keyenc.h"
#include "table/query_int.h"

struct tv_centry {
	uint32_t klen, tlen;
	uint8_t data[];              /* sort key, then the tuple */
};

struct tv_coll {
	struct tv_exec *x;
	struct tv_plan *p;
	bool streaming, truncated;
	uint64_t k;                  /* heap bound; 0 = keep all */
	struct tv_centry **e;        /* sorting: the kept entries */
	size_t n, cap;               /* kept rows; capacity of e or rows */
	uint64_t skip, total;
	struct tv_buf key, tuple;
	/* Streaming: the kept rows' values (in the result's arena, or on the
	 * heap when the page size is unknown), the sort and access keys of
	 * the last kept row. */
	struct tv_value *rows;
	bool rows_heap;
	struct tv_buf last, acc;
};


static size_t tv_centry_bytes(const struct tv_centry *e)
{
	return sizeof(*e) + e->klen + e->tlen + sizeof(e);
}

static int tv_centry_cmp(const struct tv_centry *a, const struct tv_centry *b)
{
	return tv_key_cmp(a->data, a->klen, b->data, b->klen);
}

static int tv_centry_qcmp(const void *x, const void *y)
{
	return tv_centry_cmp(*(struct tv_centry *const *)x, *(struct tv_centry *const *)y);
}

int tv_coll_create(struct tv_exec *x, bool streaming, struct tv_coll **out)
{
	struct tv_plan *p = x->p;
	/* In the plan's arena (freed with it); the buffers grow on first use. */
	struct tv_coll *c = tv_arena_zalloc(p->a, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->x = x;
	c->p = p;
	c->streaming = streaming;
	/* the per-row key buffers grow in the plan's arena: no malloc */
	c->key.a = c->last.a = c->acc.a = c->tuple.a = p->a;
	c->skip = p->offset;
	/* A bounded sort keeps offset + limit rows and one more to know
	 * whether the page is the last; beyond 2^32 it keeps everything. */
	if (!streaming && p->has_limit && p->limit < UINT32_MAX && p->offset < UINT32_MAX)
		c->k = p->offset + p->limit + 1;
	*out = c;
	return 0;
}

void tv_coll_free(struct tv_coll *c)
{
	if (!c)
		return;
	AEDB_ASSERT(c->streaming || c->n == 0 || c->e);
	for (size_t i = 0; !c->streaming && i < c->n; i++)
		free(c->e[i]);
	free(c->e);
	if (c->rows_heap)
		free(c->rows);
	tv_buf_free(&c->key);
	tv_buf_free(&c->tuple);
	tv_buf_free(&c->last);
	tv_buf_free(&c->acc);
}

uint64_t tv_coll_total(const struct tv_coll *c)
{
	return c->total;
}

static int tv_coll_sort_key(struct tv_coll *c, const struct tv_value *row, const uint8_t *tie,
			    size_t tie_len)
{
	const struct tv_plan *p = c->p;
	int rc = 0;

	c->key.len = 0;
	for (uint32_t i = 0; rc == 0 && i < p->norder; i++)
		rc = tv_buf_put_value(&c->key, &row[p->order[i]], p->order_desc[i]);
	if (rc == 0)
		rc = tv_buf_put(&c->key, tie, tie_len);
	return rc;
}

/* A new entry from c->key and the projection of @row. */
static int tv_centry_new(struct tv_coll *c, const struct tv_value *row, struct tv_centry **out)
{
	const struct tv_plan *p = c->p;
	struct tv_centry *e;
	int rc = 0;

	c->tuple.len = 0;
	for (uint32_t i = 0; rc == 0 && i < p->nproj; i++)
		rc = tv_buf_put_value(&c->tuple, &row[p->proj[i]], false);
	if (rc)
		return rc;
	if (c->key.len > UINT32_MAX || c->tuple.len > UINT32_MAX)
		return tv_qerr_set(c->x->err, -AEDB_ETOOBIG, "a result row over 4 GiB");
	AEDB_ASSERT(!c->streaming);
	e = malloc(sizeof(*e) + c->key.len + c->tuple.len);
	if (!e)
		return -ENOMEM;
	e->klen = (uint32_t)c->key.len;
	e->tlen = (uint32_t)c->tuple.len;
	if (c->key.len)
		memcpy(e->data, c->key.p, c->key.len);
	if (c->tuple.len)
		memcpy(e->data + e->klen, c->tuple.p, c->tuple.len);
	rc = tv_exec_hold(c->x, (int64_t)tv_centry_bytes(e));
	if (rc) {
		free(e);
		return rc;
	}
	*out = e;
	return 0;
}

static void tv_centry_drop(struct tv_coll *c, struct tv_centry *e)
{
	tv_exec_hold(c->x, -(int64_t)tv_centry_bytes(e));
	free(e);
}

static int tv_coll_push(struct tv_coll *c, struct tv_centry *e)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct tv_centry **v = realloc(c->e, cap * sizeof(*v));

		if (!v) {
			tv_centry_drop(c, e);
			return -ENOMEM;
		}
		c->e = v;
		c->cap = cap;
	}
	c->e[c->n++] = e;
	return 0;
}

/* Max-heap by sort key (the bounded sort's worst kept row on top). */
static void tv_heap_up(struct tv_centry **h, size_t i)
{
	while (i > 0) {
		size_t up = (i - 1) / 2;
		struct tv_centry *t;

		if (tv_centry_cmp(h[up], h[i]) >= 0)
			return;
		t = h[up];
		h[up] = h[i];
		h[i] = t;
		i = up;
	}
}

static void tv_heap_down(struct tv_centry **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, max = i;
		struct tv_centry *t;

		if (l < n && tv_centry_cmp(h[l], h[max]) > 0)
			max = l;
		if (r < n && tv_centry_cmp(h[r], h[max]) > 0)
			max = r;
		if (max == i)
			return;
		t = h[i];
		h[i] = h[max];
		h[max] = t;
		i = max;
	}
}

static int tv_coll_bounded(struct tv_coll *c, const struct tv_value *row)
{
	struct tv_centry *e;
	int rc;

	if (c->n == c->k) {
		const struct tv_centry *top = c->e[0];

		if (tv_key_cmp(c->key.p, c->key.len, top->data, top->klen) >= 0)
			return 0;       /* not among the first k */
	}
	rc = tv_centry_new(c, row, &e);
	if (rc)
		return rc;
	if (c->n == c->k) {
		tv_centry_drop(c, c->e[0]);
		c->e[0] = e;
		tv_heap_down(c->e, c->n, 0);
		return 0;
	}
	rc = tv_coll_push(c, e);
	if (rc == 0)
		tv_heap_up(c->e, c->n - 1);
	return rc;
}

static int tv_coll_keep(struct tv_coll *c, const struct tv_value *row)
{
	struct tv_centry *e;
	int rc = tv_centry_new(c, row, &e);

	return rc ? rc : tv_coll_push(c, e);
}

/* Room for one more streamed row: the whole page at once when LIMIT
 * bounds it, else a heap array that doubles. */
static int tv_coll_rows_room(struct tv_coll *c)
{
	const struct tv_plan *p = c->p;
	size_t cap;
	struct tv_value *v;

	if (c->n < c->cap)
		return 0;
	if (!c->rows && p->has_limit && p->limit <= TV_COLL_ROWS_ONCE) {
		c->rows = tv_arena_alloc(c->x->ra, (size_t)p->limit * p->nproj * sizeof(*v) + 1);
		c->cap = (size_t)p->limit;
		return c->rows ? 0 : -ENOMEM;
	}
	AEDB_ASSERT(!c->rows || c->rows_heap);
	cap = c->cap ? 2 * c->cap : 64;
	v = realloc(c->rows, cap * p->nproj * sizeof(*v) + 1);
	if (!v)
		return -ENOMEM;
	c->rows = v;
	c->rows_heap = true;
	c->cap = cap;
	return 0;
}

/* Keep @row as the next result row: the projected values, with their
 * payloads copied into the result's arena (the source's bytes live only as
 * long as the scan). The same values the key encoding would give back. */
static int tv_coll_put_row(struct tv_coll *c, const struct tv_value *row)
{
	const struct tv_plan *p = c->p;
	struct tv_value *out;
	size_t held = p->nproj * sizeof(*out);
	int rc = tv_coll_rows_room(c);

	if (rc)
		return rc;
	out = c->rows + c->n * p->nproj;
	for (uint32_t i = 0; i < p->nproj; i++) {
		const struct tv_value *v = &row[p->proj[i]];

		out[i] = *v;
		memset(out[i].reserved, 0, sizeof(out[i].reserved));
		if (v->type == TV_FLOAT) {
			out[i].u.f64 = tv_f64_canon(v->u.f64);
		} else if (tv_type_is_var(v->type)) {
			out[i].u.bytes = tv_arena_dup(c->x->ra, v->u.bytes, v->len);
			if (!out[i].u.bytes)
				return -ENOMEM;
			held += v->len;
		}
	}
	rc = tv_exec_hold(c->x, (int64_t)held);
	if (rc == 0)
		c->n++;
	return rc;
}

static int tv_coll_stream(struct tv_coll *c, const struct tv_value *row)
{
	const struct tv_plan *p = c->p;
	struct tv_buf t;
	int rc;

	if (c->skip) {
		c->skip--;
		return 0;
	}
	if (p->has_limit && c->n == p->limit) {
		c->truncated = true;
		return p->o.want_total ? 0 : TV_EXEC_STOP;
	}
	rc = tv_coll_put_row(c, row);
	if (rc)
		return rc;
	/* This row's sort key becomes the last one; the old buffer is reused. */
	t = c->last;
	c->last = c->key;
	c->key = t;
	c->acc.len = 0;
	return tv_buf_put(&c->acc, c->x->acc_key, c->x->acc_len);
}

int tv_coll_add(struct tv_coll *c, const struct tv_value *row, const uint8_t *tie,
		size_t tie_len)
{
	const struct tv_plan *p = c->p;
	int rc;

	AEDB_ASSERT(!c->streaming || !p->agg);
	AEDB_ASSERT(c->k == 0 || c->n <= c->k);
	c->total++;
	if (p->has_limit && p->limit == 0)
		return p->o.want_total ? 0 : TV_EXEC_STOP;
	rc = tv_coll_sort_key(c, row, tie, tie_len);
	if (rc)
		return rc;
	if (p->has_cursor &&
	    tv_key_cmp(c->key.p, c->key.len, p->cur.sort_key, p->cur.sort_len) <= 0)
		return 0;       /* at or before the cursor: an earlier page's */
	if (c->streaming)
		return tv_coll_stream(c, row);
	if (c->k)
		return tv_coll_bounded(c, row);
	return tv_coll_keep(c, row);
}

/* Decode kept entry @e into result row @out (payloads into @ra). */
static int tv_coll_row(struct tv_coll *c, const struct tv_centry *e, struct tv_value *out,
		       struct tv_arena *ra)
{
	uint8_t *t = tv_arena_dup(ra, e->data + e->klen, e->tlen);
	uint8_t *scratch = tv_arena_alloc(ra, e->tlen ? e->tlen : 1);
	size_t n;
	int rc;

	if (!t || !scratch)
		return -ENOMEM;
	rc = tv_key_decode(t, e->tlen, out, c->p->nproj, &n, scratch);
	AEDB_ASSERT(rc != 0 || n == c->p->nproj);
	return rc;
}

/* The cursor after the last row, whose sort key is @key. */
static int tv_coll_cursor(struct tv_coll *c, const uint8_t *key, uint32_t klen,
			  struct tv_result *r, struct tv_arena *ra)
{
	struct tv_cursor_data cd = {
		.seq = c->p->env->snapshot_seq, .fingerprint = tv_plan_fingerprint(c->p),
		.sort_key = key, .sort_len = klen,
	};
	uint8_t *buf;
	size_t len;
	int rc;

	if (c->streaming) {
		cd.acc_key = c->acc.p;
		cd.acc_len = (uint32_t)c->acc.len;
	}
	rc = tv_cursor_encode(&cd, ra, &buf, &len);
	if (rc)
		return tv_qerr_set(c->x->err, rc, "cannot encode the cursor (sort key too long)");
	r->cursor = buf;
	r->cursor_len = len;
	return 0;
}

/* The streamed page: the kept rows are already result rows. */
static int tv_coll_finish_stream(struct tv_coll *c, struct tv_result *r, struct tv_arena *ra)
{
	const struct tv_plan *p = c->p;
	struct tv_value *rows = c->rows;
	int rc = 0;

	AEDB_ASSERT(c->n <= c->cap);
	if (p->has_limit && p->limit == 0)
		c->truncated = false;
	if (!rows || c->rows_heap) {
		/* one copy into the result's arena; the heap array is freed
		 * with the collector */
		rows = tv_arena_dup(ra, c->rows, c->n * p->nproj * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
	}
	r->nrows = c->n;
	if (c->truncated && c->n) {
		AEDB_ASSERT(c->last.len <= UINT32_MAX);
		rc = tv_coll_cursor(c, c->last.p, (uint32_t)c->last.len, r, ra);
	}
	r->rows = rows;
	r->truncated = c->truncated;
	return rc;
}

int tv_coll_finish(struct tv_coll *c, struct tv_result *r, struct tv_arena *ra)
{
	const struct tv_plan *p = c->p;
	size_t start = 0, end = c->n, held = ra->used;
	struct tv_value *rows;
	int rc = 0;

	AEDB_ASSERT(ra == c->x->ra);
	if (c->streaming)
		return tv_coll_finish_stream(c, r, ra);
	if (c->n > 1)
		qsort(c->e, c->n, sizeof(*c->e), tv_centry_qcmp);
	start = p->offset < c->n ? (size_t)p->offset : c->n;
	if (p->has_limit && p->limit < end - start) {
		end = start + (size_t)p->limit;
		c->truncated = true;
	}
	if (p->has_limit && p->limit == 0)
		c->truncated = false;
	r->nrows = end - start;
	rows = tv_arena_alloc(ra, (r->nrows * p->nproj + 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = start; rc == 0 && i < end; i++) {
		rc = tv_coll_row(c, c->e[i], rows + (i - start) * p->nproj, ra);
		if (rc == 0)
			rc = tv_exec_hold(c->x, (int64_t)(ra->used - held));
		held = ra->used;
	}
	if (rc == 0 && c->truncated && end > start)
		rc = tv_coll_cursor(c, c->e[end - 1]->data, c->e[end - 1]->klen, r, ra);
	r->rows = rows;
	r->truncated = c->truncated;
	return rc;
}
