/* SPDX-License-Identifier: MIT */
/*
 * Inner and left equi-joins, one level per joined table, depth-first: for
 * each base row, find the right rows whose key equals the left value
 * (converted to the right column's type; NULL matches nothing), attach each
 * one (or NULLs for a left join without a match), decide the WHERE
 * conjuncts that became decidable, and go on to the next join. Finding the
 * rows: a point fetch when the right column is the whole PK, a range when it
 * leads the PK or an index, else a hash table over the right table built
 * once. Budgets: rows produced (max_join_rows) and build bytes
 * (max_join_bytes), each with its own error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/keyenc.h"
#include "table/query_int.h"
#include "table/row.h"

struct tv_hent {
	struct tv_hent *next;
	uint64_t hash;
	uint32_t klen, pklen, rowlen;
	uint8_t data[];                 /* key, PK, row */
};

struct tv_jlevel {
	struct tv_jplan *jp;
	bool built, open;
	struct tv_hent **b;             /* hash join buckets */
	size_t nb, n;
	struct tv_merge m;              /* PK prefix or index lookups */
	struct tv_buf key, row;
};

struct tv_joins {
	struct tv_exec *x;
	struct tv_plan *p;
	struct tv_jlevel lv[TV_QUERY_JOIN_MAX];
};

int tv_joins_create(struct tv_exec *x, struct tv_joins **out)
{
	struct tv_joins *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->x = x;
	j->p = x->p;
	*out = j;
	for (uint32_t k = 0; k < j->p->njoins; k++) {
		j->lv[k].jp = &j->p->joins[k];
		if (tv_buf_reserve(&j->lv[k].key, 64) || tv_buf_reserve(&j->lv[k].row, 64))
			return -ENOMEM;
	}
	return 0;
}

void tv_joins_free(struct tv_joins *j)
{
	if (!j)
		return;
	for (uint32_t k = 0; k < j->p->njoins; k++) {
		struct tv_jlevel *L = &j->lv[k];

		for (size_t i = 0; i < L->nb; i++) {
			while (L->b[i]) {
				struct tv_hent *e = L->b[i];

				L->b[i] = e->next;
				free(e);
			}
		}
		free(L->b);
		if (L->open)
			tv_merge_close(&L->m);
		tv_buf_free(&L->key);
		tv_buf_free(&L->row);
	}
	free(j);
}

static int tv_join_bytes(struct tv_joins *j, uint64_t n)
{
	j->x->join_bytes += n;
	if (j->x->join_bytes > j->p->o.max_join_bytes)
		return tv_qerr_set(j->x->err, -TV_EJOINBYTES,
				   "join tables would hold more than max_join_bytes (%" PRIu64 ")",
				   j->p->o.max_join_bytes);
	return 0;
}

/* ---- hash join build ------------------------------------------------ */

static int tv_hash_grow(struct tv_joins *j, struct tv_jlevel *L)
{
	size_t nb = L->nb ? L->nb * 2 : 256;
	struct tv_hent **b = calloc(nb, sizeof(*b));
	int rc;

	if (!b)
		return -ENOMEM;
	rc = tv_join_bytes(j, (nb - L->nb) * sizeof(*b));
	if (rc) {
		free(b);
		return rc;
	}
	for (size_t i = 0; i < L->nb; i++) {
		while (L->b[i]) {
			struct tv_hent *e = L->b[i];

			L->b[i] = e->next;
			e->next = b[e->hash % nb];
			b[e->hash % nb] = e;
		}
	}
	free(L->b);
	L->b = b;
	L->nb = nb;
	return 0;
}

static int tv_hash_insert(struct tv_joins *j, struct tv_jlevel *L, const struct tv_kv *kv)
{
	const struct tv_schema *s = L->jp->src->schema;
	struct tv_value v;
	struct tv_hent *e;
	int rc = tv_row_get(s, kv->val, kv->val_len, L->jp->rcol, &v);

	if (rc)
		return tv_qerr_set(j->x->err, rc, "table \"%s\": damaged row", s->name);
	if (v.type == TV_NULL)
		return 0;       /* NULL keys never match */
	/* L->key holds the probe that started the build: encode in L->row. */
	L->row.len = 0;
	rc = tv_buf_put_value(&L->row, &v, false);
	if (rc == 0 && L->n >= L->nb)
		rc = tv_hash_grow(j, L);
	if (rc == 0)
		rc = tv_join_bytes(j, sizeof(*e) + L->row.len + kv->key_len + kv->val_len);
	if (rc)
		return rc;
	e = malloc(sizeof(*e) + L->row.len + kv->key_len + kv->val_len);
	if (!e)
		return -ENOMEM;
	e->hash = XXH3_64bits(L->row.p, L->row.len);
	e->klen = (uint32_t)L->row.len;
	e->pklen = (uint32_t)kv->key_len;
	e->rowlen = (uint32_t)kv->val_len;
	memcpy(e->data, L->row.p, e->klen);
	memcpy(e->data + e->klen, kv->key, e->pklen);
	memcpy(e->data + e->klen + e->pklen, kv->val, e->rowlen);
	e->next = L->b[e->hash % L->nb];
	L->b[e->hash % L->nb] = e;
	L->n++;
	return 0;
}

static int tv_hash_build(struct tv_joins *j, struct tv_jlevel *L)
{
	const struct tv_table_source *t = L->jp->src;
	struct tv_merge m;
	int rc = tv_merge_open(&m, t->nshards, t->open, t->ctx);

	if (rc)
		return rc;
	rc = tv_hash_grow(j, L);
	if (rc == 0)
		rc = tv_merge_seek(&m, NULL, 0, false);
	while (rc == 1) {
		rc = tv_exec_scanned(j->x, 1);
		if (rc == 0)
			rc = tv_hash_insert(j, L, tv_merge_kv(&m));
		if (rc == 0)
			rc = tv_merge_next(&m);
	}
	tv_merge_close(&m);
	L->built = true;
	return rc;
}

/* ---- levels --------------------------------------------------------- */

static int tv_join_level(struct tv_joins *j, uint32_t k);

/* Attach one right row (or NULLs when @row is NULL) at level @k. */
static int tv_join_attach(struct tv_joins *j, uint32_t k, const uint8_t *pk, size_t pklen,
			  const uint8_t *row, size_t rowlen, size_t tie_len)
{
	struct tv_exec *x = j->x;
	struct tv_jlevel *L = &j->lv[k];
	const struct tv_jplan *jp = L->jp;
	uint8_t null_tag = TV_KEY_TAG_NULL;
	int rc;

	if (++x->join_rows > j->p->o.max_join_rows)
		return tv_qerr_set(x->err, -TV_EJOINROWS,
				   "joins produced more than max_join_rows (%" PRIu64 ") rows",
				   j->p->o.max_join_rows);
	x->tie.len = tie_len;
	if (!row) {
		for (uint32_t i = 0; i < jp->ncols; i++)
			x->vals[jp->off + i] = tv_null();
		rc = tv_buf_put(&x->tie, &null_tag, 1);
	} else {
		rc = tv_row_decode(jp->src->schema, row, rowlen, x->vals + jp->off);
		if (rc)
			return tv_qerr_set(x->err, rc, "table \"%s\": damaged row",
					   jp->src->schema->name);
		rc = tv_buf_put(&x->tie, pk, pklen);
	}
	if (rc)
		return rc;
	if (jp->filter && !tv_bexpr_eval(jp->filter, x->vals))
		return 0;
	return tv_join_level(j, k + 1);
}

/* Copy a fetched row so deeper levels may fetch again, then attach it. */
static int tv_join_copy(struct tv_joins *j, uint32_t k, const uint8_t *pk, size_t pklen,
			const struct tv_kv *row, size_t tie_len)
{
	struct tv_jlevel *L = &j->lv[k];
	int rc;

	L->row.len = 0;
	rc = tv_buf_put(&L->row, pk, pklen);
	if (rc == 0)
		rc = tv_buf_put(&L->row, row->val, row->val_len);
	if (rc)
		return rc;
	return tv_join_attach(j, k, L->row.p, pklen, L->row.p + pklen, row->val_len, tie_len);
}

/* Rows whose key starts with L->key through a merged cursor. */
static int tv_join_range(struct tv_joins *j, uint32_t k, size_t tie_len, uint64_t *matched)
{
	struct tv_jlevel *L = &j->lv[k];
	const struct tv_jplan *jp = L->jp;
	const struct tv_table_source *t = jp->src;
	int rc = 0;

	if (!L->open) {
		const struct tv_index_source *x = jp->index;

		if (jp->algo == TV_JOIN_ALGO_INDEX)
			rc = tv_merge_open(&L->m, x->nparts, x->open, x->ctx);
		else
			rc = tv_merge_open(&L->m, t->nshards, t->open, t->ctx);
		if (rc)
			return rc;
		L->open = true;
	}
	rc = tv_merge_seek(&L->m, L->key.p, L->key.len, false);
	while (rc == 1) {
		const struct tv_kv *kv = tv_merge_kv(&L->m);
		struct tv_kv row = *kv;

		if (kv->key_len < L->key.len || memcmp(kv->key, L->key.p, L->key.len) != 0)
			break;
		rc = tv_exec_scanned(j->x, 1);
		if (rc == 0 && jp->algo == TV_JOIN_ALGO_INDEX) {
			rc = t->get(t->ctx, kv->val, kv->val_len, &row);
			if (rc == 0)
				rc = tv_qerr_set(j->x->err, -AEDB_ECORRUPT,
						 "index \"%s\": entry without its row",
						 jp->index->name);
			rc = rc == 1 ? 0 : rc;
			row.key = kv->val;
			row.key_len = kv->val_len;
		}
		if (rc == 0) {
			(*matched)++;
			rc = tv_join_copy(j, k, row.key, row.key_len, &row, tie_len);
		}
		if (rc)
			return rc;      /* an error, or TV_EXEC_STOP */
		rc = tv_merge_next(&L->m);
	}
	return rc < 0 ? rc : 0;
}

static int tv_join_matches(struct tv_joins *j, uint32_t k, size_t tie_len, uint64_t *matched)
{
	struct tv_jlevel *L = &j->lv[k];
	const struct tv_jplan *jp = L->jp;
	const struct tv_table_source *t = jp->src;
	struct tv_kv row;
	uint64_t h;
	int rc = 0;

	switch (jp->algo) {
	case TV_JOIN_ALGO_PK:
		rc = tv_exec_scanned(j->x, 1);
		if (rc == 0)
			rc = t->get(t->ctx, L->key.p, L->key.len, &row);
		if (rc <= 0)
			return rc;
		(*matched)++;
		return tv_join_copy(j, k, L->key.p, L->key.len, &row, tie_len);
	case TV_JOIN_ALGO_HASH:
		if (!L->built)
			rc = tv_hash_build(j, L);
		h = XXH3_64bits(L->key.p, L->key.len);
		for (struct tv_hent *e = rc ? NULL : L->b[h % L->nb]; e && rc == 0; e = e->next) {
			if (e->hash != h || e->klen != L->key.len ||
			    memcmp(e->data, L->key.p, e->klen) != 0)
				continue;
			(*matched)++;
			rc = tv_join_attach(j, k, e->data + e->klen, e->pklen,
					    e->data + e->klen + e->pklen, e->rowlen, tie_len);
		}
		return rc;
	default:
		return tv_join_range(j, k, tie_len, matched);
	}
}

static int tv_join_level(struct tv_joins *j, uint32_t k)
{
	struct tv_exec *x = j->x;
	struct tv_jlevel *L;
	struct tv_value cv;
	enum tv_conv how;
	size_t tie_len = x->tie.len;
	uint64_t matched = 0;
	int rc = 0;

	if (k == j->p->njoins)
		return tv_exec_emit(x);
	AEDB_ASSERT(k < TV_QUERY_JOIN_MAX);
	L = &j->lv[k];
	AEDB_ASSERT(L->jp->lcol < L->jp->off);
	/* The left value in the right column's type; inexact never matches. */
	if (x->vals[L->jp->lcol].type != TV_NULL &&
	    tv_convert(&x->vals[L->jp->lcol], L->jp->src->schema->cols[L->jp->rcol].type, &cv,
		       &how) == 0 && how == TV_CONV_EXACT) {
		L->key.len = 0;
		rc = tv_buf_put_value(&L->key, &cv, false);
		if (rc == 0)
			rc = tv_join_matches(j, k, tie_len, &matched);
	}
	if (rc == 0 && matched == 0 && L->jp->kind == TV_JOIN_LEFT)
		rc = tv_join_attach(j, k, NULL, 0, NULL, 0, tie_len);
	x->tie.len = tie_len;
	return rc;
}

int tv_joins_expand(struct tv_joins *j)
{
	return tv_join_level(j, 0);
}
