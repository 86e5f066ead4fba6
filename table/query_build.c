/* SPDX-License-Identifier: MIT */
/* The query builder, its fingerprint, and the pagination cursor's bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/query_int.h"

void tv_query_opts_init(struct tv_query_opts *o)
{
	*o = (struct tv_query_opts){
		.max_scan_rows = TV_QUERY_DEFAULT_SCAN_ROWS,
		.max_bytes = TV_QUERY_DEFAULT_BYTES,
		.max_join_rows = TV_QUERY_DEFAULT_JOIN_ROWS,
		.max_join_bytes = TV_QUERY_DEFAULT_JOIN_BYTES,
	};
}

int tv_query_create(const char *table, struct tv_query **out)
{
	struct tv_query *q;

	if (!table || !out)
		return -AEDB_EMISUSE;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->table = strdup(table);
	if (!q->table) {
		free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

void tv_query_free(struct tv_query *q)
{
	if (!q)
		return;
	free(q->table);
	free(q->alias);
	for (uint32_t i = 0; i < q->nselect; i++)
		free(q->select[i]);
	free(q->select);
	tv_expr_free(q->where);
	tv_expr_free(q->having);
	for (uint32_t i = 0; i < q->norder; i++)
		free(q->order[i].col);
	for (uint32_t i = 0; i < q->ngroup; i++)
		free(q->group[i]);
	for (uint32_t i = 0; i < q->naggs; i++)
		free(q->aggs[i].col);
	for (uint32_t i = 0; i < q->njoins; i++) {
		free(q->joins[i].table);
		free(q->joins[i].alias);
		free(q->joins[i].left);
		free(q->joins[i].right);
	}
	free(q->cursor);
	free(q);
}

/* strdup of an optional name into *@out (NULL stays NULL). */
static int tv_dup(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

int tv_query_alias(struct tv_query *q, const char *alias)
{
	char *a;

	if (!q || !alias)
		return -AEDB_EMISUSE;
	if (tv_dup(alias, &a))
		return -ENOMEM;
	free(q->alias);
	q->alias = a;
	return 0;
}

int tv_query_select(struct tv_query *q, const char *col)
{
	char *c;

	if (!q || !col)
		return -AEDB_EMISUSE;
	if (q->nselect == TV_QUERY_SELECT_MAX)
		return -AEDB_ETOOBIG;
	if (q->nselect == q->select_cap) {
		uint32_t cap = q->select_cap ? 2 * q->select_cap : 8;
		char **s = realloc(q->select, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		q->select = s;
		q->select_cap = cap;
	}
	if (tv_dup(col, &c))
		return -ENOMEM;
	q->select[q->nselect++] = c;
	return 0;
}

/* AND @e into *@slot (taking @e in every case). */
static int tv_query_and(struct tv_query *q, struct tv_expr **slot, struct tv_expr *e)
{
	struct tv_expr *copy, *both;

	if (!q) {
		tv_expr_free(e);
		return -AEDB_EMISUSE;
	}
	if (!e)
		return -ENOMEM;         /* the expression failed to build */
	if (!*slot) {
		*slot = e;
		return 0;
	}
	/* Combine a copy so a failure leaves the query as it was. */
	copy = tv_expr_copy(*slot);
	both = tv_expr_and(copy, e);
	if (!both)
		return -ENOMEM;
	tv_expr_free(*slot);
	*slot = both;
	return 0;
}

int tv_query_where(struct tv_query *q, struct tv_expr *e)
{
	return tv_query_and(q, q ? &q->where : NULL, e);
}

int tv_query_having(struct tv_query *q, struct tv_expr *e)
{
	return tv_query_and(q, q ? &q->having : NULL, e);
}

int tv_query_order_by(struct tv_query *q, const char *col, bool desc)
{
	if (!q || !col)
		return -AEDB_EMISUSE;
	if (q->norder == TV_QUERY_ORDER_MAX)
		return -AEDB_ETOOBIG;
	if (tv_dup(col, &q->order[q->norder].col))
		return -ENOMEM;
	q->order[q->norder++].desc = desc;
	return 0;
}

int tv_query_limit(struct tv_query *q, uint64_t n)
{
	if (!q)
		return -AEDB_EMISUSE;
	q->has_limit = true;
	q->limit = n;
	return 0;
}

int tv_query_clear_limit(struct tv_query *q)
{
	if (!q)
		return -AEDB_EMISUSE;
	q->has_limit = false;
	q->limit = 0;
	return 0;
}

int tv_query_offset(struct tv_query *q, uint64_t n)
{
	if (!q)
		return -AEDB_EMISUSE;
	q->offset = n;
	return 0;
}

int tv_query_group_by(struct tv_query *q, const char *col)
{
	if (!q || !col)
		return -AEDB_EMISUSE;
	if (q->ngroup == TV_QUERY_GROUP_MAX)
		return -AEDB_ETOOBIG;
	if (tv_dup(col, &q->group[q->ngroup]))
		return -ENOMEM;
	q->ngroup++;
	return 0;
}

int tv_query_aggregate(struct tv_query *q, enum tv_agg fn, const char *col)
{
	if (!q)
		return -AEDB_EMISUSE;
	if (fn < TV_AGG_COUNT || fn > TV_AGG_AVG)
		return -AEDB_EINVAL;
	if (!col && fn != TV_AGG_COUNT)
		return -AEDB_EMISUSE;
	if (q->naggs == TV_QUERY_AGG_MAX)
		return -AEDB_ETOOBIG;
	if (tv_dup(col, &q->aggs[q->naggs].col))
		return -ENOMEM;
	q->aggs[q->naggs++].fn = (uint8_t)fn;
	return 0;
}

int tv_query_join(struct tv_query *q, enum tv_join_kind kind, const char *table,
		  const char *alias, const char *left_col, const char *right_col)
{
	struct tv_qjoin j = { .kind = (uint8_t)kind };

	if (!q || !table || !left_col || !right_col)
		return -AEDB_EMISUSE;
	if (kind != TV_JOIN_INNER && kind != TV_JOIN_LEFT)
		return -AEDB_EINVAL;
	if (q->njoins == TV_QUERY_JOIN_MAX)
		return -AEDB_ETOOBIG;
	if (tv_dup(table, &j.table) || tv_dup(alias, &j.alias) || tv_dup(left_col, &j.left) ||
	    tv_dup(right_col, &j.right)) {
		free(j.table);
		free(j.alias);
		free(j.left);
		free(j.right);
		return -ENOMEM;
	}
	q->joins[q->njoins++] = j;
	return 0;
}

int tv_query_set_cursor(struct tv_query *q, const void *cursor, size_t len)
{
	uint8_t *c = NULL;

	if (!q || (len && !cursor))
		return -AEDB_EMISUSE;
	if (len > TV_QUERY_CURSOR_MAX)
		return -AEDB_ETOOBIG;
	if (len && !(c = malloc(len)))
		return -ENOMEM;
	if (len)
		memcpy(c, cursor, len);
	free(q->cursor);
	q->cursor = c;
	q->cursor_len = len;
	return 0;
}

/* ---- fingerprint ---------------------------------------------------- */

static uint64_t tv_fp_str(uint64_t h, const char *s)
{
	return s ? XXH3_64bits_withSeed(s, strlen(s) + 1, h) : XXH3_64bits_withSeed("", 0, h);
}

static uint64_t tv_fp_u32(uint64_t h, uint32_t v)
{
	return XXH3_64bits_withSeed(&v, sizeof(v), h);
}

uint64_t tv_query_fingerprint(const struct tv_query *q)
{
	uint64_t h = tv_fp_str(0x71756572795f6670ull, q->table);

	h = tv_fp_str(h, q->alias);
	h = tv_fp_u32(h, q->njoins);
	for (uint32_t i = 0; i < q->njoins; i++) {
		h = tv_fp_u32(h, q->joins[i].kind);
		h = tv_fp_str(h, q->joins[i].table);
		h = tv_fp_str(h, q->joins[i].alias);
		h = tv_fp_str(h, q->joins[i].left);
		h = tv_fp_str(h, q->joins[i].right);
	}
	h = tv_expr_hash(q->where, h);
	h = tv_fp_u32(h, q->ngroup);
	for (uint32_t i = 0; i < q->ngroup; i++)
		h = tv_fp_str(h, q->group[i]);
	h = tv_fp_u32(h, q->naggs);
	for (uint32_t i = 0; i < q->naggs; i++) {
		h = tv_fp_u32(h, q->aggs[i].fn);
		h = tv_fp_str(h, q->aggs[i].col);
	}
	h = tv_expr_hash(q->having, h);
	h = tv_fp_u32(h, q->norder);
	for (uint32_t i = 0; i < q->norder; i++) {
		h = tv_fp_u32(h, q->order[i].desc);
		h = tv_fp_str(h, q->order[i].col);
	}
	return h;
}

/* ---- cursor bytes --------------------------------------------------- */

static void tv_put_u32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void tv_put_u64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t tv_get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t tv_get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int tv_cursor_encode(const struct tv_cursor_data *c, struct tv_arena *a, uint8_t **out,
		     size_t *len)
{
	size_t n = TV_CURSOR_HEAD_BYTES + (size_t)c->sort_len + c->acc_len +
		   TV_CURSOR_TAIL_BYTES;
	uint8_t *b;

	if (n > TV_QUERY_CURSOR_MAX)
		return -AEDB_ETOOBIG;
	b = tv_arena_zalloc(a, n);
	if (!b)
		return -ENOMEM;
	b[0] = TV_CURSOR_VERSION;
	b[1] = c->acc_len ? 1 : 0;
	tv_put_u64(b + 4, c->seq);
	tv_put_u64(b + 12, c->fingerprint);
	tv_put_u32(b + 20, c->sort_len);
	tv_put_u32(b + 24, c->acc_len);
	if (c->sort_len)
		memcpy(b + TV_CURSOR_HEAD_BYTES, c->sort_key, c->sort_len);
	if (c->acc_len)
		memcpy(b + TV_CURSOR_HEAD_BYTES + c->sort_len, c->acc_key, c->acc_len);
	tv_put_u64(b + n - TV_CURSOR_TAIL_BYTES, XXH3_64bits(b, n - TV_CURSOR_TAIL_BYTES));
	*out = b;
	*len = n;
	return 0;
}

int tv_cursor_decode(const uint8_t *b, size_t len, struct tv_cursor_data *out)
{
	uint64_t body;

	if (!b || len < TV_CURSOR_HEAD_BYTES + TV_CURSOR_TAIL_BYTES || len > TV_QUERY_CURSOR_MAX)
		return -AEDB_ECURSOR;
	if (b[0] != TV_CURSOR_VERSION || b[1] > 1 || b[2] || b[3])
		return -AEDB_ECURSOR;
	out->seq = tv_get_u64(b + 4);
	out->fingerprint = tv_get_u64(b + 12);
	out->sort_len = tv_get_u32(b + 20);
	out->acc_len = tv_get_u32(b + 24);
	body = (uint64_t)TV_CURSOR_HEAD_BYTES + out->sort_len + out->acc_len;
	if (body + TV_CURSOR_TAIL_BYTES != len || (b[1] == 1) != (out->acc_len > 0))
		return -AEDB_ECURSOR;
	if (tv_get_u64(b + body) != XXH3_64bits(b, (size_t)body))
		return -AEDB_ECURSOR;
	out->sort_key = b + TV_CURSOR_HEAD_BYTES;
	out->acc_key = b + TV_CURSOR_HEAD_BYTES + out->sort_len;
	return 0;
}

int tv_query_cursor_seq(const void *cursor, size_t len, uint64_t *seq)
{
	struct tv_cursor_data c;
	int rc;

	if (!seq)
		return -AEDB_EMISUSE;
	rc = tv_cursor_decode(cursor, len, &c);
	if (rc == 0)
		*seq = c.seq;
	return rc;
}
