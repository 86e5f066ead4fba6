/* SPDX-License-Identifier: MIT */
/*
 * GROUP BY and aggregates. Groups live in a hash table keyed by the key
 * encoding of their GROUP BY values (canonical, so equal values mean equal
 * bytes, and NULL is one group). Integer sums are exact in 320 bits (order
 * of rows does not matter; overflow of the result type is reported once, at
 * the end); MIN/MAX keep the key encoding of the best value so far. At the
 * end groups go to the collector sorted by key, after HAVING.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "aedb.h"
#include "core/assert.h"
#include "table/keyenc.h"
#include "table/query_int.h"

#define TV_WIDE_LIMBS 5u

struct tv_aggst {
	uint64_t count;                 /* rows (COUNT(*)) or non-NULL values */
	uint64_t sum[TV_WIDE_LIMBS];    /* two's complement, little-endian limbs */
	double f;                       /* float SUM/AVG */
	uint8_t *mm;                    /* MIN/MAX: key encoding of the value */
	uint32_t mmlen;
};

struct tv_group {
	struct tv_group *next;
	uint64_t hash;
	uint32_t klen;
	struct tv_aggst st[];           /* naggs states, then the key bytes */
};

struct tv_aggr {
	struct tv_exec *x;
	struct tv_plan *p;
	struct tv_group **b;
	size_t nb, n;
	struct tv_buf key, tmp;
};

int tv_agg_type(unsigned fn, unsigned type)
{
	bool num = type == TV_U8 || type == TV_U64 || type == TV_INTEGER || type == TV_U256 ||
		   type == TV_I256 || type == TV_FLOAT;

	switch (fn) {
	case TV_AGG_COUNT:
		return TV_U64;
	case TV_AGG_MIN:
	case TV_AGG_MAX:
		return (int)type;
	case TV_AGG_AVG:
		return num ? TV_FLOAT : -AEDB_ETYPE;
	case TV_AGG_SUM:
		if (!num)
			return -AEDB_ETYPE;
		return type == TV_U8 ? TV_INTEGER : (int)type;
	default:
		return -AEDB_EINVAL;
	}
}

static uint8_t *tv_group_key(struct tv_group *g, uint32_t naggs)
{
	return (uint8_t *)(g->st + naggs);
}

static size_t tv_group_bytes(const struct tv_group *g, uint32_t naggs)
{
	return sizeof(*g) + naggs * sizeof(g->st[0]) + g->klen;
}

/* ---- 320-bit sums --------------------------------------------------- */

static void tv_wide_of(const struct tv_value *v, uint64_t w[TV_WIDE_LIMBS])
{
	uint64_t ext = 0;

	memset(w, 0, TV_WIDE_LIMBS * sizeof(w[0]));
	switch (v->type) {
	case TV_U8:
		w[0] = v->u.u8;
		return;
	case TV_U64:
		w[0] = v->u.u64;
		return;
	case TV_INTEGER:
		w[0] = (uint64_t)v->u.i64;
		ext = v->u.i64 < 0 ? UINT64_MAX : 0;
		for (unsigned i = 1; i < TV_WIDE_LIMBS; i++)
			w[i] = ext;
		return;
	default:        /* u256, i256: 32 big-endian bytes */
		for (unsigned i = 0; i < 4; i++)
			for (unsigned b = 0; b < 8; b++)
				w[i] |= (uint64_t)v->u.w[(3 - i) * 8 + (7 - b)] << (8 * b);
		if (v->type == TV_I256 && (v->u.w[0] & 0x80))
			w[4] = UINT64_MAX;
		return;
	}
}

static void tv_wide_add(uint64_t acc[TV_WIDE_LIMBS], const struct tv_value *v)
{
	uint64_t w[TV_WIDE_LIMBS], carry = 0;

	tv_wide_of(v, w);
	for (unsigned i = 0; i < TV_WIDE_LIMBS; i++) {
		uint64_t s = acc[i] + w[i];
		uint64_t c = s < acc[i];

		acc[i] = s + carry;
		carry = c | (acc[i] < s);
	}
}

static bool tv_wide_fits(const uint64_t a[TV_WIDE_LIMBS], unsigned from, uint64_t ext)
{
	for (unsigned i = from; i < TV_WIDE_LIMBS; i++)
		if (a[i] != ext)
			return false;
	return true;
}

/* The sum as a value of @type, or -AEDB_EOVERFLOW. */
static int tv_wide_value(const uint64_t a[TV_WIDE_LIMBS], unsigned type, struct tv_value *out)
{
	uint64_t sign0 = (a[0] >> 63) ? UINT64_MAX : 0, sign3 = (a[3] >> 63) ? UINT64_MAX : 0;
	uint8_t be[TV_U256_BYTES];

	switch (type) {
	case TV_INTEGER:
		if (!tv_wide_fits(a, 1, sign0))
			return -AEDB_EOVERFLOW;
		*out = tv_integer((int64_t)a[0]);
		return 0;
	case TV_U64:
		if (!tv_wide_fits(a, 1, 0))
			return -AEDB_EOVERFLOW;
		*out = tv_u64(a[0]);
		return 0;
	default:
		if (!tv_wide_fits(a, 4, type == TV_I256 ? sign3 : 0))
			return -AEDB_EOVERFLOW;
		for (unsigned i = 0; i < 4; i++)
			for (unsigned b = 0; b < 8; b++)
				be[(3 - i) * 8 + (7 - b)] = (uint8_t)(a[i] >> (8 * b));
		*out = type == TV_I256 ? tv_i256(be) : tv_u256(be);
		return 0;
	}
}

static double tv_wide_double(const uint64_t a[TV_WIDE_LIMBS])
{
	uint64_t m[TV_WIDE_LIMBS];
	bool neg = a[TV_WIDE_LIMBS - 1] >> 63;
	uint64_t carry = 1;
	double d = 0;

	for (unsigned i = 0; i < TV_WIDE_LIMBS; i++) {
		m[i] = neg ? ~a[i] + carry : a[i];
		carry = neg && carry && m[i] == 0;
	}
	for (unsigned i = TV_WIDE_LIMBS; i-- > 0;)
		d = d * 18446744073709551616.0 + (double)m[i];
	return neg ? -d : d;
}

/* ---- groups --------------------------------------------------------- */

int tv_aggr_create(struct tv_exec *x, struct tv_aggr **out)
{
	struct tv_aggr *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->x = x;
	g->p = x->p;
	g->nb = 64;
	g->b = calloc(g->nb, sizeof(*g->b));
	/* Buffers always own memory: an empty key still has a valid pointer. */
	if (!g->b || tv_buf_reserve(&g->key, 64) || tv_buf_reserve(&g->tmp, 64)) {
		tv_buf_free(&g->key);
		free(g->b);
		free(g);
		return -ENOMEM;
	}
	*out = g;
	return tv_exec_hold(x, (int64_t)(g->nb * sizeof(*g->b)));
}

void tv_aggr_free(struct tv_aggr *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nb; i++) {
		struct tv_group *e = g->b[i];

		while (e) {
			struct tv_group *next = e->next;

			for (uint32_t k = 0; k < g->p->naggs; k++)
				free(e->st[k].mm);
			free(e);
			e = next;
		}
	}
	free(g->b);
	tv_buf_free(&g->key);
	tv_buf_free(&g->tmp);
	free(g);
}

static int tv_aggr_grow(struct tv_aggr *g)
{
	size_t nb = g->nb * 2;
	struct tv_group **b = calloc(nb, sizeof(*b));
	int rc;

	if (!b)
		return -ENOMEM;
	rc = tv_exec_hold(g->x, (int64_t)(g->nb * sizeof(*b)));
	if (rc) {
		free(b);
		return rc;
	}
	for (size_t i = 0; i < g->nb; i++) {
		while (g->b[i]) {
			struct tv_group *e = g->b[i];

			g->b[i] = e->next;
			e->next = b[e->hash % nb];
			b[e->hash % nb] = e;
		}
	}
	free(g->b);
	g->b = b;
	g->nb = nb;
	return 0;
}

/* The group of key g->key (created if new). */
static int tv_aggr_group(struct tv_aggr *g, struct tv_group **out)
{
	uint32_t naggs = g->p->naggs;
	uint64_t h = XXH3_64bits(g->key.p, g->key.len);
	struct tv_group *e;
	int rc;

	for (e = g->b[h % g->nb]; e; e = e->next) {
		if (e->hash == h && e->klen == g->key.len &&
		    memcmp(tv_group_key(e, naggs), g->key.p, e->klen) == 0) {
			*out = e;
			return 0;
		}
	}
	if (g->n >= g->nb && (rc = tv_aggr_grow(g)) != 0)
		return rc;
	e = calloc(1, sizeof(*e) + naggs * sizeof(e->st[0]) + g->key.len);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->klen = (uint32_t)g->key.len;
	if (g->key.len)
		memcpy(tv_group_key(e, naggs), g->key.p, g->key.len);
	rc = tv_exec_hold(g->x, (int64_t)tv_group_bytes(e, naggs));
	e->next = g->b[h % g->nb];
	g->b[h % g->nb] = e;
	g->n++;
	*out = e;
	return rc;
}

static int tv_aggst_minmax(struct tv_aggr *g, struct tv_aggst *st, unsigned fn,
			   const struct tv_value *v)
{
	int rc, c;
	uint8_t *mm;

	g->tmp.len = 0;
	rc = tv_buf_put_value(&g->tmp, v, false);
	if (rc)
		return rc;
	if (st->mm) {
		c = tv_key_cmp(g->tmp.p, g->tmp.len, st->mm, st->mmlen);
		if (fn == TV_AGG_MIN ? c >= 0 : c <= 0)
			return 0;
	}
	mm = realloc(st->mm, g->tmp.len);
	if (!mm)
		return -ENOMEM;
	rc = tv_exec_hold(g->x, (int64_t)g->tmp.len - (int64_t)st->mmlen);
	memcpy(mm, g->tmp.p, g->tmp.len);
	st->mm = mm;
	st->mmlen = (uint32_t)g->tmp.len;
	return rc;
}

int tv_aggr_add(struct tv_aggr *g, const struct tv_value *row)
{
	const struct tv_plan *p = g->p;
	struct tv_group *e;
	int rc = 0;

	g->key.len = 0;
	for (uint32_t i = 0; rc == 0 && i < p->ngroup; i++)
		rc = tv_buf_put_value(&g->key, &row[p->group[i]], false);
	if (rc == 0)
		rc = tv_aggr_group(g, &e);
	for (uint32_t i = 0; rc == 0 && i < p->naggs; i++) {
		const struct tv_aggspec *a = &p->aggs[i];
		struct tv_aggst *st = &e->st[i];
		const struct tv_value *v = a->col == UINT32_MAX ? NULL : &row[a->col];

		if (v && v->type == TV_NULL)
			continue;       /* every aggregate but COUNT(*) skips NULLs */
		st->count++;
		if (a->fn == TV_AGG_MIN || a->fn == TV_AGG_MAX)
			rc = tv_aggst_minmax(g, st, a->fn, v);
		else if ((a->fn == TV_AGG_SUM || a->fn == TV_AGG_AVG) && v->type == TV_FLOAT)
			st->f += v->u.f64;
		else if (a->fn == TV_AGG_SUM || a->fn == TV_AGG_AVG)
			tv_wide_add(st->sum, v);
	}
	return rc;
}

/* ---- finish --------------------------------------------------------- */

static int tv_aggst_value(struct tv_aggr *g, const struct tv_aggspec *a,
			  const struct tv_aggst *st, struct tv_value *out, uint8_t *scratch)
{
	size_t off = 0;
	int rc;

	*out = tv_null();
	if (a->fn == TV_AGG_COUNT) {
		*out = tv_u64(st->count);
		return 0;
	}
	if (st->count == 0)
		return 0;       /* no non-NULL input: NULL */
	switch (a->fn) {
	case TV_AGG_MIN:
	case TV_AGG_MAX:
		rc = tv_key_decode_one(st->mm, st->mmlen, &off, out, scratch);
		return rc;
	case TV_AGG_AVG:
		if (a->in_type == TV_FLOAT)
			*out = tv_float(st->f / (double)st->count);
		else
			*out = tv_float(tv_wide_double(st->sum) / (double)st->count);
		return 0;
	default:
		if (a->in_type == TV_FLOAT) {
			*out = tv_float(st->f);
			return 0;
		}
		rc = tv_wide_value(st->sum, a->out_type, out);
		if (rc)
			return tv_qerr_set(g->x->err, rc, "sum_%s overflows %s",
					   g->p->in.names[a->col], tv_type_name(a->out_type));
		return 0;
	}
}

/* A group with its key, for sorting. */
struct tv_gref {
	const uint8_t *key;
	uint32_t klen;
	struct tv_group *g;
};

static int tv_gref_qcmp(const void *x, const void *y)
{
	const struct tv_gref *a = x, *b = y;

	return tv_key_cmp(a->key, a->klen, b->key, b->klen);
}

/* One finished group: its output row, HAVING, the collector. */
static int tv_aggr_emit(struct tv_aggr *g, struct tv_group *e, struct tv_value *out)
{
	const struct tv_plan *p = g->p;
	uint8_t *key = tv_group_key(e, p->naggs);
	size_t n = 0, scratch = e->klen;
	int rc;

	for (uint32_t i = 0; i < p->naggs; i++)
		scratch += e->st[i].mmlen;
	g->tmp.len = 0;
	rc = tv_buf_reserve(&g->tmp, scratch + 1);
	if (rc == 0)
		rc = tv_key_decode(key, e->klen, out, p->ngroup, &n, g->tmp.p);
	scratch = e->klen;
	for (uint32_t i = 0; rc == 0 && i < p->naggs; i++) {
		rc = tv_aggst_value(g, &p->aggs[i], &e->st[i], &out[p->ngroup + i],
				    g->tmp.p + scratch);
		scratch += e->st[i].mmlen;
	}
	if (rc)
		return rc;
	AEDB_ASSERT(n == p->ngroup);
	if (p->having && !tv_bexpr_eval(p->having, out))
		return 0;
	return tv_coll_add(g->x->coll, out, key, e->klen);
}

int tv_aggr_finish(struct tv_aggr *g)
{
	const struct tv_plan *p = g->p;
	struct tv_gref *all;
	struct tv_group *e;
	struct tv_value *out;
	size_t k = 0;
	int rc = 0;

	g->key.len = 0;
	if (g->n == 0 && p->ngroup == 0)
		rc = tv_aggr_group(g, &e);      /* no rows: one row of COUNT 0, NULLs */
	if (rc)
		return rc;
	all = malloc((g->n + 1) * sizeof(*all));
	out = calloc(p->out.n + 1, sizeof(*out));
	if (!all || !out) {
		free(all);
		free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < g->nb; i++) {
		for (e = g->b[i]; e; e = e->next) {
			all[k++] = (struct tv_gref){ .key = tv_group_key(e, p->naggs),
						     .klen = e->klen, .g = e };
		}
	}
	AEDB_ASSERT(k == g->n);
	qsort(all, k, sizeof(*all), tv_gref_qcmp);
	for (size_t i = 0; rc == 0 && i < k; i++)
		rc = tv_aggr_emit(g, all[i].g, out);
	free(all);
	free(out);
	return rc == TV_EXEC_STOP ? 0 : rc;
}
